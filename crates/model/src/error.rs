//! The one error type of the domain model.

/// A value failed validation. `field` names the offending field where the caller knows it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// A field's value is not acceptable; `reason` says why in words a user can act on.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `lines[2].hs_code`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The envelope's signature does not verify under the device key.
    #[error("signature does not verify")]
    BadSignature,
}

impl ModelError {
    /// Shorthand for [`ModelError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ModelError::Invalid { field, .. } => Some(field),
            ModelError::BadSignature => None,
        }
    }
}
