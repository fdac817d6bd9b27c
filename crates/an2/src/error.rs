//! The one error type of the crate: a kind plus where it happened (byte offset, record, field).

use std::fmt;

/// A field tag `T.FFF`: record type and field number (ANSI/NIST-ITL 1-2011 Update 2015, Annex B: the traditional
/// encoding labels every field of a tagged record with `record-type.field-number:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// Logical record type (1 to 99).
    pub record_type: u8,
    /// Field number within the record (1 to 999 999 999).
    pub field: u32,
}

impl Tag {
    /// The tag `record_type.field`.
    #[must_use]
    pub const fn new(record_type: u8, field: u32) -> Self {
        Self { record_type, field }
    }
}

impl fmt::Display for Tag {
    /// Canonical form: the field number has at least three digits (`1.003`, `10.999`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.record_type, self.field)
    }
}

/// An error found while reading, validating or building a transaction.
///
/// `offset` is the byte offset in the input (for [`crate::Transaction::validate`] and the builder: in the bytes the
/// writer produces) where the problem was detected; `record` is `(record type, index in the transaction)` where index
/// 0 is the Type-1 record; `field` is the field involved, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct An2Error {
    /// Byte offset of the problem.
    pub offset: usize,
    /// `(record type, record index)` of the record involved; index 0 is the Type-1 record.
    pub record: Option<(u8, usize)>,
    /// The field involved.
    pub field: Option<Tag>,
    /// What went wrong.
    pub kind: An2ErrorKind,
}

impl An2Error {
    pub(crate) fn new(offset: usize, kind: An2ErrorKind) -> Self {
        Self {
            offset,
            record: None,
            field: None,
            kind,
        }
    }

    pub(crate) fn in_record(mut self, record_type: u8, index: usize) -> Self {
        if self.record.is_none() {
            self.record = Some((record_type, index));
        }
        self
    }

    pub(crate) fn in_field(mut self, tag: Tag) -> Self {
        if self.field.is_none() {
            self.field = Some(tag);
        }
        self
    }

    /// Stable operator-facing code of the kind, e.g. `AN2-011`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for An2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.kind)?;
        if let Some((record_type, index)) = self.record {
            write!(f, " (record {index}, type {record_type}")?;
            if let Some(tag) = self.field {
                write!(f, ", field {tag}")?;
            }
            write!(f, ", byte offset {})", self.offset)
        } else if let Some(tag) = self.field {
            write!(f, " (field {tag}, byte offset {})", self.offset)
        } else {
            write!(f, " (byte offset {})", self.offset)
        }
    }
}

impl std::error::Error for An2Error {}

/// What went wrong. Each variant names the rule of ANSI/NIST-ITL 1-2011 (Update 2015) it enforces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum An2ErrorKind {
    /// The input is larger than [`crate::Limits::max_transaction_bytes`]; checked before anything else.
    #[error("transaction is {len} bytes, more than the limit of {max}")]
    InputTooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ended before the structure it announced (Annex B).
    #[error("input ends early: {expected}")]
    Truncated {
        /// What was being read.
        expected: &'static str,
    },
    /// A field tag is not `digits.digits:` (Annex B: "record-type.field-number:" in 7-bit ASCII).
    #[error("malformed field tag {found:?}: expected record-type.field-number followed by ':'")]
    BadTag {
        /// The bytes found (printable ASCII shown, others escaped).
        found: String,
    },
    /// A tag names another record type than the one being read (the type comes from field 1.003, §8.1.3).
    #[error("field tag has record type {found}, expected {expected}")]
    RecordTypeMismatch {
        /// Record type listed in 1.003.
        expected: u8,
        /// Record type in the tag.
        found: u8,
    },
    /// The first field of a tagged record is not `n.001` LEN (§7.1, Annex B).
    #[error("first field is {found}, expected the record length field n.001")]
    LengthFieldNotFirst {
        /// Tag found first.
        found: Tag,
    },
    /// The second field of a tagged record other than Type-1 is not `n.002` IDC (§7.3.1, Annex B).
    #[error("second field is {found}, expected the IDC field n.002")]
    IdcFieldNotSecond {
        /// Tag found second.
        found: Tag,
    },
    /// A record length (n.001 or the 4-byte binary LEN) is not a usable number.
    #[error("record length {found:?} is not a positive decimal integer")]
    BadLength {
        /// The value found.
        found: String,
    },
    /// A record length is smaller than the record's own fixed part.
    #[error("record length {declared} is smaller than the minimum of {min} bytes")]
    LengthTooSmall {
        /// Declared length.
        declared: u64,
        /// Minimum for this record type.
        min: u64,
    },
    /// A record length runs past the end of the input.
    #[error("record length {declared} runs past the end of the input ({available} bytes remain)")]
    LengthBeyondEnd {
        /// Declared length.
        declared: u64,
        /// Bytes left from the start of the record.
        available: usize,
    },
    /// The byte at the end of a tagged record's declared length is not the FS separator (Annex B).
    #[error("record does not end with FS at its declared length (found byte 0x{found:02X})")]
    RecordNotTerminated {
        /// The byte found instead of FS.
        found: u8,
    },
    /// A FS separator appears inside a tagged record before its declared end: the declared length is wrong.
    #[error("FS separator inside the record before its declared end of {declared} bytes")]
    EarlyRecordEnd {
        /// Declared length.
        declared: u64,
    },
    /// A field occurs twice in one record (each field occurs at most once per record, §7.1).
    #[error("field occurs more than once in the record")]
    DuplicateField,
    /// A mandatory field is absent (the record's field table in §8).
    #[error("mandatory field {tag} is missing")]
    MissingField {
        /// The missing field.
        tag: Tag,
    },
    /// Field 1.003 CNT is malformed (§8.1.3).
    #[error("field 1.003 CNT is malformed: {reason}")]
    BadCnt {
        /// What is wrong.
        reason: &'static str,
    },
    /// The record count in the first subfield of 1.003 does not match the subfields that follow (§8.1.3).
    #[error("field 1.003 CNT declares {declared} records but lists {listed}")]
    CntCountMismatch {
        /// Count in the first subfield (CRC).
        declared: usize,
        /// Number of record subfields listed.
        listed: usize,
    },
    /// 1.003 lists a record type that cannot follow Type-1 (0, 1, or over 99).
    #[error("field 1.003 CNT lists record type {found}, which cannot follow the Type-1 record")]
    BadCntRecordType {
        /// The record type.
        found: u32,
    },
    /// A record's IDC differs from the one listed for it in 1.003 (§7.3.1).
    #[error("record IDC is {found}, but field 1.003 lists {expected}")]
    IdcMismatch {
        /// IDC listed in 1.003.
        expected: u8,
        /// IDC in the record.
        found: u8,
    },
    /// Bytes remain after the last record listed in 1.003.
    #[error("{count} bytes follow the last record listed in field 1.003")]
    TrailingBytes {
        /// Number of extra bytes.
        count: usize,
    },
    /// More records, fields, subfields or items than [`crate::Limits`] allows.
    #[error("more than {max} {what}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A byte outside 7-bit ASCII in a field that must be ASCII (Type-1 and the default DCS, §5.5, Annex A.1).
    #[error("byte 0x{byte:02X} is not 7-bit ASCII")]
    NonAscii {
        /// The offending byte.
        byte: u8,
    },
    /// A control character in a text field (only the four separators and TAB, LF and CR are allowed outside
    /// Type-1, none at all in Type-1).
    #[error("control character 0x{byte:02X} in a text field")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
    },
    /// A text field is not valid UTF-8 although 1.015 DCS declares UTF-8 (Annex A.2).
    #[error("text is not valid UTF-8 as declared by field 1.015")]
    InvalidUtf8,
    /// A field value has the wrong form for its field.
    #[error("invalid value {found:?}: expected {expected}")]
    InvalidValue {
        /// What the standard asks for.
        expected: &'static str,
        /// What was found (printable ASCII shown, others escaped, cut at 40 characters).
        found: String,
    },
    /// An uncompressed image's data length disagrees with its declared dimensions.
    #[error(
        "uncompressed image has {actual} bytes of data, but its dimensions call for {expected}"
    )]
    ImageSizeMismatch {
        /// Bytes required by HLL × VLL × depth.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A value given to the builder or a constructor cannot be encoded (e.g. contains a separator).
    #[error("cannot encode: {reason}")]
    Unencodable {
        /// Why.
        reason: &'static str,
    },
}

impl An2ErrorKind {
    /// Stable code for operators and logs.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InputTooLarge { .. } => "AN2-001",
            Self::Truncated { .. } => "AN2-002",
            Self::BadTag { .. } => "AN2-003",
            Self::RecordTypeMismatch { .. } => "AN2-004",
            Self::LengthFieldNotFirst { .. } => "AN2-005",
            Self::IdcFieldNotSecond { .. } => "AN2-006",
            Self::BadLength { .. } => "AN2-007",
            Self::LengthTooSmall { .. } => "AN2-008",
            Self::LengthBeyondEnd { .. } => "AN2-009",
            Self::RecordNotTerminated { .. } => "AN2-010",
            Self::EarlyRecordEnd { .. } => "AN2-011",
            Self::DuplicateField => "AN2-012",
            Self::MissingField { .. } => "AN2-013",
            Self::BadCnt { .. } => "AN2-014",
            Self::CntCountMismatch { .. } => "AN2-015",
            Self::BadCntRecordType { .. } => "AN2-016",
            Self::IdcMismatch { .. } => "AN2-017",
            Self::TrailingBytes { .. } => "AN2-018",
            Self::LimitExceeded { .. } => "AN2-019",
            Self::NonAscii { .. } => "AN2-020",
            Self::ControlCharacter { .. } => "AN2-021",
            Self::InvalidUtf8 => "AN2-022",
            Self::InvalidValue { .. } => "AN2-023",
            Self::ImageSizeMismatch { .. } => "AN2-024",
            Self::Unencodable { .. } => "AN2-025",
        }
    }
}

/// Printable rendering of raw bytes for error messages: ASCII graphic characters as they are, others as `\xNN`,
/// cut at 40 characters so an error never carries a whole field.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &byte in bytes.iter().take(40) {
        if byte.is_ascii_graphic() || byte == b' ' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    if bytes.len() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_record_field_and_offset() {
        let err = An2Error::new(17, An2ErrorKind::DuplicateField)
            .in_record(14, 3)
            .in_field(Tag::new(14, 13));
        assert_eq!(
            err.to_string(),
            "AN2-012: field occurs more than once in the record (record 3, type 14, field 14.013, byte offset 17)"
        );
    }

    #[test]
    fn show_bytes_escapes_and_cuts() {
        assert_eq!(show_bytes(b"a\x1Fb"), "a\\x1Fb");
        assert!(show_bytes(&[b'x'; 50]).ends_with('…'));
    }
}
