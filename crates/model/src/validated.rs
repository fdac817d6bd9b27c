//! Newtypes whose constructors validate, so a value that exists is a value that was checked.

use crate::ModelError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

macro_rules! string_newtype {
    ($name:ident, $field:literal) => {
        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::new(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An ISO 3166-1 alpha-3 country code (e.g. `MEX`), checked against the standard's list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);
string_newtype!(CountryCode, "country");

impl CountryCode {
    /// Validates an alpha-3 code; lower case is accepted and normalised.
    ///
    /// # Errors
    /// When the code is not an assigned ISO 3166-1 alpha-3 code.
    pub fn new(code: &str) -> Result<Self, ModelError> {
        let upper = code.trim().to_ascii_uppercase();
        match isocountry::CountryCode::for_alpha3(&upper) {
            Ok(_) => Ok(CountryCode(upper)),
            Err(_) => Err(ModelError::invalid(
                "country",
                format!("{code:?} is not an ISO 3166-1 alpha-3 country code (e.g. MEX, USA, GTM)"),
            )),
        }
    }
}

/// A freight container number per ISO 6346: owner code (3 letters), category (U, J or Z), serial (6 digits) and
/// check digit, e.g. `CSQU3054383`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerNumber(String);
string_newtype!(ContainerNumber, "container_number");

impl ContainerNumber {
    /// Validates the layout and the check digit (ISO 6346 Annex A).
    ///
    /// # Errors
    /// When the layout is wrong or the check digit does not match.
    pub fn new(text: &str) -> Result<Self, ModelError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let compact = compact.to_ascii_uppercase();
        let bytes = compact.as_bytes();
        let layout_ok = bytes.len() == 11
            && bytes.iter().take(3).all(u8::is_ascii_uppercase)
            && matches!(bytes.get(3), Some(b'U' | b'J' | b'Z'))
            && bytes.iter().skip(4).all(u8::is_ascii_digit);
        if !layout_ok {
            return Err(ModelError::invalid(
                "container_number",
                "expected 4 letters (owner code + U/J/Z) then 7 digits, e.g. CSQU3054383",
            ));
        }
        let expected = iso6346_check_digit(&compact[..10]);
        let given = bytes.get(10).map(|b| u32::from(b - b'0'));
        if given != Some(expected) {
            return Err(ModelError::invalid(
                "container_number",
                format!("check digit is {expected}, not {}", char::from(bytes[10])),
            ));
        }
        Ok(ContainerNumber(compact))
    }
}

/// ISO 6346 check digit over the first ten characters: letters take values 10.. skipping multiples of 11, each
/// character is weighted by 2^position, and the sum is reduced mod 11 then mod 10.
fn iso6346_check_digit(first_ten: &str) -> u32 {
    let sum: u32 = first_ten
        .bytes()
        .enumerate()
        .map(|(position, byte)| {
            let value = if byte.is_ascii_digit() {
                u32::from(byte - b'0')
            } else {
                let mut value = 10;
                for _ in b'A'..byte {
                    value += 1;
                    if value % 11 == 0 {
                        value += 1;
                    }
                }
                value
            };
            value << position
        })
        .sum();
    sum % 11 % 10
}

/// A Harmonized System code at 6-digit (subheading) precision, e.g. `260111` (iron ores, non-agglomerated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsCode(String);
string_newtype!(HsCode, "hs_code");

impl HsCode {
    /// Accepts exactly six digits, optionally written with dots (`2601.11`); chapter 00 and 98/99 national
    /// chapters below 01 are rejected.
    ///
    /// # Errors
    /// When the text is not a 6-digit HS subheading.
    pub fn new(text: &str) -> Result<Self, ModelError> {
        let digits: String = text.chars().filter(|c| *c != '.').collect();
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ModelError::invalid(
                "hs_code",
                format!("{text:?} is not a 6-digit HS code (e.g. 260111)"),
            ));
        }
        let chapter: u32 = digits[..2].parse().unwrap_or(0);
        if chapter == 0 || chapter > 97 {
            return Err(ModelError::invalid(
                "hs_code",
                format!("HS chapter {chapter:02} does not exist (chapters are 01-97)"),
            ));
        }
        Ok(HsCode(digits))
    }

    /// The 2-digit chapter.
    pub fn chapter(&self) -> &str {
        &self.0[..2]
    }
}

/// A login name: 1–64 characters of `a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);
string_newtype!(Username, "username");

impl Username {
    /// Validates a username.
    ///
    /// # Errors
    /// When empty, longer than 64 or containing other characters.
    pub fn new(text: &str) -> Result<Self, ModelError> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(Username(text.to_owned()))
        } else {
            Err(ModelError::invalid(
                "username",
                "use 1-64 characters of a-z, 0-9, '.', '_' or '-'",
            ))
        }
    }
}

/// A lower-case hex SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);
string_newtype!(Sha256Hex, "sha256");

impl Sha256Hex {
    /// Validates 64 lower-case hex characters.
    ///
    /// # Errors
    /// When the text is not 64 hex characters.
    pub fn new(text: &str) -> Result<Self, ModelError> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(text.to_ascii_lowercase()))
        } else {
            Err(ModelError::invalid("sha256", "expected 64 hex characters"))
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Hex(sha256_hex(bytes))
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A friction-ridge position code from ANSI/NIST-ITL 1-2011 Table 8 (fingers 0–15, palms 20–38, EJI and tips
/// 19 and 40–50); other modalities use 0 (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct NistPosition(u8);

impl NistPosition {
    /// Position 0: unknown finger, or not applicable to the modality.
    pub const UNKNOWN: NistPosition = NistPosition(0);

    /// Validates a position code.
    ///
    /// # Errors
    /// When the code is not assigned in Table 8.
    pub fn new(code: u8) -> Result<Self, ModelError> {
        if matches!(code, 0..=15 | 19..=38 | 40..=50) {
            Ok(NistPosition(code))
        } else {
            Err(ModelError::invalid(
                "position",
                format!(
                    "{code} is not an ANSI/NIST-ITL friction ridge position (0-15, 19-38, 40-50)"
                ),
            ))
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for NistPosition {
    type Error = ModelError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        NistPosition::new(value)
    }
}

impl From<NistPosition> for u8 {
    fn from(value: NistPosition) -> u8 {
        value.0
    }
}

/// A sample quality score 0–100 (ISO/IEC 29794 scale), or 254 "not computed" / 255 "failed", as ANSI/NIST-ITL
/// quality metrics allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Quality(u8);

impl Quality {
    /// Validates a quality value.
    ///
    /// # Errors
    /// When the value is between 101 and 253.
    pub fn new(value: u8) -> Result<Self, ModelError> {
        if value <= 100 || value >= 254 {
            Ok(Quality(value))
        } else {
            Err(ModelError::invalid(
                "quality",
                "use 0-100, 254 (not computed) or 255 (failed)",
            ))
        }
    }

    /// The numeric value.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Quality {
    type Error = ModelError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Quality::new(value)
    }
}

impl From<Quality> for u8 {
    fn from(value: Quality) -> u8 {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso6346_accepts_real_numbers_and_rejects_wrong_digits() {
        // Published examples: CSQU3054383 (ISO 6346 Annex A), MSKU9070323, TGHU8866090.
        for good in ["CSQU3054383", "MSKU9070323", "csqu 305438 3"] {
            assert!(ContainerNumber::new(good).is_ok(), "{good}");
        }
        for bad in [
            "CSQU3054384",
            "CSQX3054383",
            "CSQU305438",
            "1234U3054383",
            "",
        ] {
            assert!(ContainerNumber::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hs_codes() {
        assert_eq!(HsCode::new("2601.11").unwrap().as_str(), "260111");
        assert_eq!(HsCode::new("240220").unwrap().chapter(), "24");
        for bad in ["26011", "2601111", "abcdef", "001234", "990000"] {
            assert!(HsCode::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries() {
        assert_eq!(CountryCode::new("mex").unwrap().as_str(), "MEX");
        assert!(CountryCode::new("XXX").is_err());
        assert!(CountryCode::new("MX").is_err());
    }

    #[test]
    fn positions_and_quality() {
        assert!(NistPosition::new(10).is_ok());
        assert!(NistPosition::new(16).is_err());
        assert!(NistPosition::new(39).is_err());
        assert!(Quality::new(100).is_ok());
        assert!(Quality::new(180).is_err());
        assert!(Quality::new(255).is_ok());
    }
}
