//! Capture payloads: what a device says in the body of a signed envelope.
//!
//! Each [`crate::PayloadType`] has a JSON (or binary) body. JSON bodies are parsed with
//! [`parse_json`], which names the path of the first bad field (`lines[2].hs_code`), and then
//! [`Validate`]d for rules serde cannot express.

use crate::{
    ContainerNumber, CountryCode, HsCode, Modality, ModelError, NistPosition, Quality, SampleFormat,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Longest free-text field accepted (names, descriptions, reasons), in bytes.
pub const MAX_TEXT: usize = 1024;
/// Most samples one encounter capture may carry (ten fingers, palms, face, iris, SMTs).
pub const MAX_SAMPLES: usize = 64;
/// Most manifest lines one consignment may carry.
pub const MAX_LINES: usize = 1000;

/// Checks beyond what the types express.
pub trait Validate {
    /// # Errors
    /// The first rule broken, naming its field.
    fn validate(&self) -> Result<(), ModelError>;
}

/// The field a JSON error is about, from serde_path_to_error's path and serde's message: `body` for the whole
/// document, and for a missing field its own path (serde reports it at the parent, naming it in the message).
pub fn error_field(path: &str, message: &str) -> String {
    let parent = (path != "." && path != "?").then_some(path);
    match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(name) => parent.map_or(name.to_owned(), |parent| format!("{parent}.{name}")),
        None => parent.unwrap_or("body").to_owned(),
    }
}

/// Parses a JSON payload, reporting the path of the field that failed.
///
/// # Errors
/// `Invalid { field, reason }` with the JSON path of the offending field (`.` for the whole document).
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ModelError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let reason = err.into_inner().to_string();
        ModelError::invalid(error_field(&path, &reason), reason)
    })?;
    deserializer
        .end()
        .map_err(|err| ModelError::invalid("body", err.to_string()))?;
    value.validate()?;
    Ok(value)
}

fn check_text(field: &str, text: &str, required: bool) -> Result<(), ModelError> {
    if required && text.trim().is_empty() {
        return Err(ModelError::invalid(field, "must not be empty"));
    }
    if text.len() > MAX_TEXT {
        return Err(ModelError::invalid(
            field,
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ModelError::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Payload of type `encounter`: a person met at a site, with samples carried as the envelope's blobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncounterCapture {
    /// What the person declares.
    pub subject: SubjectClaim,
    /// The samples; each names the envelope blob holding its bytes.
    pub samples: Vec<SampleSpec>,
}

/// Identity data the person declares (personal data: stored, never put in the ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectClaim {
    /// Claimed citizenship.
    #[serde(default)]
    pub claimed_citizenship: Option<CountryCode>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
}

/// One sample of an encounter capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// Modality.
    pub modality: Modality,
    /// NIST position code (0 = unknown / not applicable).
    #[serde(default = "unknown_position")]
    pub position: NistPosition,
    /// Encoding of the blob.
    pub format: SampleFormat,
    /// Quality when the device measured it.
    #[serde(default)]
    pub quality: Option<Quality>,
    /// Index into the envelope's `blobs`.
    pub blob: usize,
}

fn unknown_position() -> NistPosition {
    NistPosition::UNKNOWN
}

impl Validate for EncounterCapture {
    fn validate(&self) -> Result<(), ModelError> {
        if let Some(name) = &self.subject.given_name {
            check_text("subject.given_name", name, false)?;
        }
        if let Some(name) = &self.subject.family_name {
            check_text("subject.family_name", name, false)?;
        }
        if self.samples.is_empty() {
            return Err(ModelError::invalid(
                "samples",
                "at least one sample is required",
            ));
        }
        if self.samples.len() > MAX_SAMPLES {
            return Err(ModelError::invalid(
                "samples",
                format!("more than {MAX_SAMPLES} samples"),
            ));
        }
        for (index, sample) in self.samples.iter().enumerate() {
            let finger_like = matches!(sample.modality, Modality::Finger | Modality::Palm);
            if !finger_like && sample.position.code() != 0 {
                return Err(ModelError::invalid(
                    format!("samples[{index}].position"),
                    "only finger and palm samples carry a position",
                ));
            }
        }
        Ok(())
    }
}

/// Payload of type `consignment`: a declaration with its manifest, sent by an NII site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentCapture {
    /// Container number when containerised.
    #[serde(default)]
    pub container_number: Option<ContainerNumber>,
    /// Vessel, truck plate or train.
    pub conveyance: String,
    /// Declarant.
    pub declarant: String,
    /// Country of origin.
    #[serde(default)]
    pub origin: Option<CountryCode>,
    /// Manifest lines.
    pub lines: Vec<ManifestLine>,
}

/// One declared line of goods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLine {
    /// HS code, 6 digits.
    pub hs_code: HsCode,
    /// Description as declared.
    pub description: String,
    /// Declared gross mass in kilograms.
    pub declared_mass_kg: f64,
    /// Number of packages or units.
    pub quantity: u64,
    /// Declared value.
    #[serde(default)]
    pub value: Option<f64>,
    /// ISO 4217 currency of `value`.
    #[serde(default)]
    pub currency: Option<String>,
}

impl Validate for ConsignmentCapture {
    fn validate(&self) -> Result<(), ModelError> {
        check_text("conveyance", &self.conveyance, true)?;
        check_text("declarant", &self.declarant, true)?;
        if self.lines.is_empty() {
            return Err(ModelError::invalid(
                "lines",
                "a manifest needs at least one line",
            ));
        }
        if self.lines.len() > MAX_LINES {
            return Err(ModelError::invalid(
                "lines",
                format!("more than {MAX_LINES} lines"),
            ));
        }
        for (index, line) in self.lines.iter().enumerate() {
            check_text(
                &format!("lines[{index}].description"),
                &line.description,
                true,
            )?;
            if !(line.declared_mass_kg.is_finite() && line.declared_mass_kg > 0.0) {
                return Err(ModelError::invalid(
                    format!("lines[{index}].declared_mass_kg"),
                    "must be a positive number of kilograms",
                ));
            }
            if let Some(value) = line.value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(ModelError::invalid(
                    format!("lines[{index}].value"),
                    "must be zero or more",
                ));
            }
            if let Some(currency) = &line.currency
                && !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
            {
                return Err(ModelError::invalid(
                    format!("lines[{index}].currency"),
                    "use an ISO 4217 code such as USD or MXN",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consignment_errors_name_the_field() {
        let good =
            br#"{"container_number":"CSQU3054383","conveyance":"MSC ANNA","declarant":"Acme",
            "origin":"ZAF","lines":[{"hs_code":"843049","description":"iron ore extractor",
            "declared_mass_kg":12000,"quantity":1}]}"#;
        let parsed: ConsignmentCapture = parse_json(good).unwrap();
        assert_eq!(parsed.lines[0].hs_code.as_str(), "843049");

        let cases: &[(&[u8], &str)] = &[
            (br#"{"container_number":"CSQU3054384","conveyance":"x","declarant":"y","lines":[]}"#, "container_number"),
            (br#"{"conveyance":"x","declarant":"y","lines":[{"hs_code":"12345","description":"d","declared_mass_kg":1,"quantity":1}]}"#, "lines[0].hs_code"),
            (br#"{"conveyance":"x","declarant":"y","lines":[{"hs_code":"123456","description":"d","declared_mass_kg":-1,"quantity":1}]}"#, "lines[0].declared_mass_kg"),
            (br#"{"conveyance":"x","declarant":"y","lines":[]}"#, "lines"),
            (br#"{"conveyance":"","declarant":"y","lines":[]}"#, "conveyance"),
            (br#"{"conveyance":"x","declarant":"y","lines":[],"extra":1}"#, "extra"),
            (br#"{"conveyance":"x""#, "body"),
        ];
        for (body, field) in cases {
            let err = parse_json::<ConsignmentCapture>(body).unwrap_err();
            assert_eq!(
                err.field(),
                Some(*field),
                "{}: {err}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn encounter_rules() {
        let ok = br#"{"subject":{"claimed_citizenship":"GTM"},"samples":[{"modality":"finger","position":2,"format":"wsq","blob":0}]}"#;
        assert!(parse_json::<EncounterCapture>(ok).is_ok());
        let bad_pos = br#"{"subject":{},"samples":[{"modality":"finger","position":17,"format":"wsq","blob":0}]}"#;
        assert_eq!(
            parse_json::<EncounterCapture>(bad_pos).unwrap_err().field(),
            Some("samples[0].position")
        );
        let face_pos = br#"{"subject":{},"samples":[{"modality":"face","position":2,"format":"jpeg","blob":0}]}"#;
        assert_eq!(
            parse_json::<EncounterCapture>(face_pos)
                .unwrap_err()
                .field(),
            Some("samples[0].position")
        );
        let bad_country = br#"{"subject":{"claimed_citizenship":"ZZZ"},"samples":[]}"#;
        assert_eq!(
            parse_json::<EncounterCapture>(bad_country)
                .unwrap_err()
                .field(),
            Some("subject.claimed_citizenship")
        );
    }
}
