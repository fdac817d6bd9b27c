//! The one mapping from failures to HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garita_model::ModelError;
use garita_store::StoreError;
use serde::Serialize;

/// An error as the API reports it: `{"error": code, "message": text, "field": path?}` with a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// The offending field, for input errors.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 422: a field's value is not acceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", message)
        }
    }

    /// 401: who are you?
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: your role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    /// 500 with no detail for the client; the detail goes to the log.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong; the server log has the details",
        )
    }

    /// The audit outcome word for this error.
    pub fn outcome(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "denied",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::CONFLICT => "conflict",
            status if status.is_client_error() => "invalid",
            _ => "error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ModelError> for ApiError {
    fn from(err: ModelError) -> Self {
        match err {
            ModelError::Invalid { field, reason } => ApiError::invalid(field, reason),
            ModelError::BadSignature => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad-signature",
                "the envelope signature does not verify under the device's registered key",
            ),
            other => ApiError::invalid("body", other.to_string()),
        }
    }
}

impl From<garita_share::ShareError> for ApiError {
    fn from(err: garita_share::ShareError) -> Self {
        use garita_share::ShareError as E;
        let message = err.to_string();
        let (status, code) = match &err {
            E::Agreement { field, .. } => {
                return ApiError::invalid(field.clone(), message);
            }
            E::Key { what, .. } => return ApiError::invalid(format!("partner.{what}"), message),
            E::Foreign { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "foreign-bundle"),
            E::Decrypt => (StatusCode::UNPROCESSABLE_ENTITY, "tampered-bundle"),
            E::Signature => (StatusCode::UNPROCESSABLE_ENTITY, "bad-bundle-signature"),
            E::UnknownSender { .. } => (StatusCode::FORBIDDEN, "unknown-partner"),
            E::Replayed { .. } => (StatusCode::CONFLICT, "replayed-bundle"),
            E::Gap { .. } => (StatusCode::CONFLICT, "bundle-gap"),
            E::Checkpoint { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "inconsistent-checkpoint"),
            E::Proof { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "bad-proof"),
            E::NotAllowed { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not-allowed-by-agreement"),
            E::Message { .. } => (StatusCode::FORBIDDEN, "bad-partner-signature"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "bad-bundle"),
        };
        ApiError::new(status, code, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => ApiError::not_found(what),
            StoreError::Duplicate { what } => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!("{what} already exists"),
            ),
            other => ApiError::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_chosen_in_one_place() {
        assert_eq!(
            ApiError::from(StoreError::Duplicate { what: "site name" }).status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from(StoreError::NotFound { what: "site" }).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from(ModelError::BadSignature).status,
            StatusCode::UNAUTHORIZED
        );
        let invalid = ApiError::from(ModelError::invalid("lines[0].hs_code", "bad"));
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(invalid.field.as_deref(), Some("lines[0].hs_code"));
        let internal = ApiError::from(StoreError::Corrupt {
            table: "users",
            detail: "secret detail".into(),
        });
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.message.contains("secret"));
    }
}
