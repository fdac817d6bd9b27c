//! Entities and their closed vocabularies.
//!
//! Every enum serialises as kebab-case text, the same spelling the API, the store and the CLI use; `FromStr` and
//! `as_str` round-trip it.

use crate::{ContainerNumber, CountryCode, ModelError, NistPosition, Quality, Sha256Hex, Username};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }
        impl std::str::FromStr for $name {
            type Err = ModelError;
            fn from_str(text: &str) -> Result<Self, ModelError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ModelError::invalid($field, format!(
                        "{text:?} is not one of: {}",
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What kind of place a site is.
    SiteKind, "kind" {
        /// A seaport or airport cargo terminal.
        Port = "port",
        /// A land border crossing.
        LandCrossing = "land-crossing",
        /// A migrant detention or processing facility.
        DetentionFacility = "detention-facility",
    }
);

text_enum!(
    /// Whether a site stays put.
    Mobility, "mobility" {
        /// A fixed installation.
        Fixed = "fixed",
        /// A mobile team or kit.
        Mobile = "mobile",
    }
);

text_enum!(
    /// What a device is.
    DeviceKind, "kind" {
        /// Cargo or vehicle X-ray (non-intrusive inspection) scanner.
        NiiScanner = "nii-scanner",
        /// A fixed biometric enrollment terminal.
        BiometricTerminal = "biometric-terminal",
        /// A portable biometric kit that may work offline.
        MobileKit = "mobile-kit",
    }
);

text_enum!(
    /// Whether a device's signatures are accepted.
    DeviceStatus, "status" {
        /// Captures are accepted.
        Active = "active",
        /// Captures are refused with 403.
        Revoked = "revoked",
    }
);

text_enum!(
    /// What a user may do. See docs/api.md for the route × role matrix.
    Role, "role" {
        /// Works the alert and inspection queues, records decisions and seizures.
        Officer = "officer",
        /// An officer who also manages the watchlist and reviews decisions.
        Supervisor = "supervisor",
        /// Reads encounters and alerts and curates the watchlist; records no decisions.
        Analyst = "analyst",
        /// Reads the audit trail and the ledger; sees no biometric content.
        Auditor = "auditor",
        /// Manages users, sites and devices; sees no personal data.
        Admin = "admin",
    }
);

text_enum!(
    /// Biometric modality of a sample.
    Modality, "modality" {
        /// A finger (rolled, flat, slap or tip).
        Finger = "finger",
        /// A palm.
        Palm = "palm",
        /// An iris.
        Iris = "iris",
        /// A face.
        Face = "face",
        /// A scar, mark or tattoo.
        ScarMarkTattoo = "scar-mark-tattoo",
    }
);

text_enum!(
    /// How a sample's bytes are encoded.
    SampleFormat, "format" {
        /// FBI WSQ (fingerprints).
        Wsq = "wsq",
        /// PNG.
        Png = "png",
        /// JPEG.
        Jpeg = "jpeg",
        /// JPEG 2000.
        Jp2 = "jp2",
        /// Uncompressed 8-bit grey.
        Raw = "raw",
        /// ISO/IEC 19794-2 finger minutiae record.
        Iso19794_2 = "iso-19794-2",
    }
);

impl SampleFormat {
    /// The media type a sample of this format is served and shared as. ISO/IEC 19794-2 has no registered one:
    /// `application/x-iso-19794-2`, so a partner can still tell a minutiae record from raw bytes.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            SampleFormat::Wsq => "image/x-wsq",
            SampleFormat::Png => "image/png",
            SampleFormat::Jpeg => "image/jpeg",
            SampleFormat::Jp2 => "image/jp2",
            SampleFormat::Raw => "application/octet-stream",
            SampleFormat::Iso19794_2 => ISO_19794_2_MEDIA_TYPE,
        }
    }
}

/// Media type of an ISO/IEC 19794-2 finger minutiae record ([`SampleFormat::media_type`]).
pub const ISO_19794_2_MEDIA_TYPE: &str = "application/x-iso-19794-2";

text_enum!(
    /// Why a watchlist entry exists, and so what kind of alert a match raises.
    WatchlistCategory, "category" {
        /// A prior illegal crossing.
        PriorCrossing = "prior-crossing",
        /// A known smuggler.
        Smuggler = "smuggler",
        /// A gang member.
        GangMember = "gang-member",
        /// A special-interest subject.
        SpecialInterest = "special-interest",
        /// Wanted by a judicial authority.
        Wanted = "wanted",
        /// Removed (deported) before.
        PriorRemoval = "prior-removal",
        /// Anything else, explained in the entry's reason.
        Other = "other",
    }
);

text_enum!(
    /// Where an alert stands.
    AlertStatus, "status" {
        /// Waiting for an officer.
        Open = "open",
        /// An officer confirmed the match.
        Confirmed = "confirmed",
        /// An officer dismissed it as a false match.
        Dismissed = "dismissed",
    }
);

text_enum!(
    /// An officer's decision on a consignment.
    DecisionKind, "decision" {
        /// Let it go.
        Release = "release",
        /// Keep it for further checks.
        Hold = "hold",
        /// Open and examine it.
        PhysicalExam = "physical-exam",
        /// Seize it.
        Seize = "seize",
    }
);

text_enum!(
    /// Customs selectivity lane.
    Lane, "lane" {
        /// Physical examination.
        Red = "red",
        /// Document check.
        Yellow = "yellow",
        /// Post-clearance audit.
        Blue = "blue",
        /// Release.
        Green = "green",
    }
);

text_enum!(
    /// What an envelope's payload is; docs/envelope.md gives each body's schema.
    PayloadType, "payload_type" {
        /// JSON [`crate::payload::EncounterCapture`]; samples travel as blobs.
        Encounter = "encounter",
        /// JSON [`crate::payload::ConsignmentCapture`].
        Consignment = "consignment",
        /// An ANSI/NIST-ITL traditional-encoding transaction (binary).
        An2 = "an2",
    }
);

text_enum!(
    /// Who produced a finding.
    FindingSource, "source" {
        /// The automatic analysis.
        Algorithm = "algorithm",
        /// An officer drew it.
        Officer = "officer",
    }
);

/// The agency that owns this garita installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Display name.
    pub name: String,
    /// The agency's own country: subjects claiming it are never shared with partners.
    pub country: CountryCode,
}

/// A place where captures happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Identifier.
    pub id: Uuid,
    /// Unique display name.
    pub name: String,
    /// Kind of place.
    pub kind: SiteKind,
    /// Fixed or mobile.
    pub mobility: Mobility,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A capture device with its signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Identifier, which the device puts in every envelope.
    pub id: Uuid,
    /// Site it belongs to.
    pub site_id: Uuid,
    /// Kind of device.
    pub kind: DeviceKind,
    /// Ed25519 public key, standard base64 of the 32 bytes.
    pub public_key: String,
    /// Active or revoked.
    pub status: DeviceStatus,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A person who uses the console or the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Identifier.
    pub id: Uuid,
    /// Login name.
    pub username: Username,
    /// What they may do.
    pub role: Role,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// When the account was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A person encountered at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Identifier.
    pub id: Uuid,
    /// Citizenship the person claims (ISO 3166-1 alpha-3).
    pub claimed_citizenship: Option<CountryCode>,
    /// Given name as declared.
    pub given_name: Option<String>,
    /// Family name as declared.
    pub family_name: Option<String>,
    /// First time seen.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One meeting with a subject at a site, with its samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encounter {
    /// Identifier.
    pub id: Uuid,
    /// Who was met.
    pub subject_id: Uuid,
    /// Where.
    pub site_id: Uuid,
    /// Which device captured it.
    pub device_id: Uuid,
    /// The capture it came from.
    pub capture_id: Uuid,
    /// When it was captured (device clock).
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
}

/// A biometric sample of an encounter; its bytes are a blob in the content-addressed store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Identifier.
    pub id: Uuid,
    /// Encounter it belongs to.
    pub encounter_id: Uuid,
    /// Modality.
    pub modality: Modality,
    /// NIST position code (0 when not applicable).
    pub position: NistPosition,
    /// Encoding of the bytes.
    pub format: SampleFormat,
    /// Quality score when known.
    pub quality: Option<Quality>,
    /// SHA-256 of the bytes (the blob's name).
    pub blob_sha256: Sha256Hex,
}

/// Someone the agency or a partner wants to know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistEntry {
    /// Identifier.
    pub id: Uuid,
    /// The subject listed.
    pub subject_id: Uuid,
    /// Why.
    pub category: WatchlistCategory,
    /// Agency that listed them (free text, e.g. "INM", "CBP").
    pub source_agency: String,
    /// Explanation for officers.
    pub reason: String,
    /// When listed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A possible match that an officer must confirm or dismiss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identifier.
    pub id: Uuid,
    /// The encounter that raised it.
    pub encounter_id: Uuid,
    /// The subject matched against.
    pub candidate_subject_id: Uuid,
    /// Alert category: the watchlist category, or prior-crossing for a match to an earlier encounter.
    pub category: WatchlistCategory,
    /// Match score.
    pub score: f64,
    /// Where it stands.
    pub status: AlertStatus,
    /// Who last changed the status.
    pub decided_by: Option<Uuid>,
    /// When the status last changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// The officer's reason.
    pub reason: Option<String>,
    /// When it was raised.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A consignment crossing the border, with its declared manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consignment {
    /// Identifier.
    pub id: Uuid,
    /// Container number (ISO 6346) when containerised.
    pub container_number: Option<ContainerNumber>,
    /// Vessel, truck plate or train.
    pub conveyance: String,
    /// Declarant (importer/broker).
    pub declarant: String,
    /// Country of origin.
    pub origin: Option<CountryCode>,
    /// Manifest lines.
    pub lines: Vec<crate::payload::ManifestLine>,
    /// Risk lane, once assigned.
    pub lane: Option<Lane>,
    /// Site where it was declared.
    pub site_id: Uuid,
    /// When it was captured.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A region of an NII scan that deserves attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Identifier.
    pub id: Uuid,
    /// Consignment.
    pub consignment_id: Uuid,
    /// Region in image pixels: x, y, width, height.
    pub region: [u32; 4],
    /// What it looks like (e.g. "organic-in-metal", "void", "person").
    pub kind: String,
    /// Confidence 0..1.
    pub score: f64,
    /// Algorithm or officer.
    pub source: FindingSource,
    /// A sentence a person can read.
    pub reason: String,
    /// The officer who rejected it, if one did (the finding stays, marked).
    #[serde(default)]
    pub rejected_by: Option<Uuid>,
    /// Why it was rejected.
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

/// An officer's decision on a consignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Identifier.
    pub id: Uuid,
    /// Consignment.
    pub consignment_id: Uuid,
    /// The decision.
    pub decision: DecisionKind,
    /// Why.
    pub reason: String,
    /// Who decided.
    pub officer_id: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// Goods seized from a consignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seizure {
    /// Identifier.
    pub id: Uuid,
    /// Consignment.
    pub consignment_id: Uuid,
    /// What was seized (e.g. "cocaine").
    pub substance: String,
    /// How much, in kilograms.
    pub quantity_kg: f64,
    /// Where it was hidden.
    pub concealment: String,
    /// Who recorded it.
    pub officer_id: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn enums_round_trip_their_wire_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::from_str(role.as_str()).unwrap(), *role);
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(
            WatchlistCategory::from_str("gang-member").unwrap(),
            WatchlistCategory::GangMember
        );
        let err = DecisionKind::from_str("shred").unwrap_err();
        assert_eq!(err.field(), Some("decision"));
    }
}
