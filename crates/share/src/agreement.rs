//! Sharing agreements as data: who the partner is, which record kinds and fields may go to it, which subjects never
//! do, for how long and why.

use crate::ShareError;
use crate::keys::{parse_encrypt_key, parse_sign_key};
use garita_model::{CountryCode, Modality};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest purpose text.
pub const MAX_PURPOSE: usize = 1000;
/// Most excluded categories or countries in one agreement.
pub const MAX_EXCLUSIONS: usize = 300;

/// Whether we send under the agreement or receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// We export to the partner.
    Outgoing,
    /// The partner exports to us.
    Incoming,
}

impl Direction {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outgoing => "outgoing",
            Direction::Incoming => "incoming",
        }
    }
}

/// A kind of record that can be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A person met at a site (no biometrics: those are samples).
    Encounter,
    /// One biometric sample of an encounter, by modality.
    Sample,
    /// An alert raised on an encounter.
    Alert,
    /// A consignment with its manifest.
    Consignment,
    /// An NII scan of a consignment (DICOS).
    Scan,
    /// A finding on a scan.
    Finding,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: &'static [RecordKind] = &[
        RecordKind::Encounter,
        RecordKind::Sample,
        RecordKind::Alert,
        RecordKind::Consignment,
        RecordKind::Scan,
        RecordKind::Finding,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Encounter => "encounter",
            RecordKind::Sample => "sample",
            RecordKind::Alert => "alert",
            RecordKind::Consignment => "consignment",
            RecordKind::Scan => "scan",
            RecordKind::Finding => "finding",
        }
    }

    /// Records about a person: they are shared only when the person's citizenship is known and not excluded.
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            RecordKind::Encounter | RecordKind::Sample | RecordKind::Alert
        )
    }

    /// The fields an agreement may allow for this kind. `image` is the binary content (ANSI/NIST for samples,
    /// DICOS for scans).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Encounter => &[
                "captured_at",
                "claimed_citizenship",
                "given_name",
                "family_name",
                "site_kind",
            ],
            RecordKind::Sample => &["modality", "position", "format", "quality", "image"],
            RecordKind::Alert => &["category", "score", "status", "created_at"],
            RecordKind::Consignment => &[
                "container_number",
                "conveyance",
                "declarant",
                "origin",
                "lines",
                "lane",
                "created_at",
            ],
            RecordKind::Scan => &["created_at", "image"],
            RecordKind::Finding => &["region", "kind", "score", "source", "reason", "created_at"],
        }
    }
}

/// The other agency and its public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// Short name (1..=64 of `A-Za-z0-9._-`): its witness cosigner name and what our records call it.
    pub name: String,
    /// Its Ed25519 sharing key, standard base64 of 32 bytes: bundles, answers and cosignatures it signs.
    pub sign_key: String,
    /// Its X25519 key (HPKE), standard base64 of 32 bytes: what bundles to it are encrypted to.
    pub encrypt_key: String,
    /// Its transparency log's verifier key (`origin+id+key`); required for incoming agreements, whose bundles
    /// carry proofs from that log.
    #[serde(default)]
    pub log_vkey: Option<String>,
}

/// What may be shared of one record kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRule {
    /// The kind.
    pub kind: RecordKind,
    /// For samples: the modalities allowed (at least one). Empty for other kinds.
    #[serde(default)]
    pub modalities: Vec<Modality>,
    /// The fields allowed (a subset of [`RecordKind::fields`]); every other field is stripped.
    pub fields: Vec<String>,
}

/// A sharing agreement. Created by an admin, recorded in the ledger, and held by both sides (one `outgoing`, the
/// other `incoming`, same id), so each can check a bundle against its own copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Identifier, the same on both sides.
    pub id: Uuid,
    /// Whether we send or receive under it.
    pub direction: Direction,
    /// The other agency.
    pub partner: Partner,
    /// Kinds and fields allowed; anything not listed is never shared.
    pub kinds: Vec<KindRule>,
    /// Citizenships never shared, besides the sending agency's own (always excluded).
    #[serde(default)]
    pub excluded_citizenships: Vec<CountryCode>,
    /// Categories never shared: a record carrying one (an alert's or finding's category, a watchlist category of
    /// the subject) is left out.
    #[serde(default)]
    pub excluded_categories: Vec<String>,
    /// Records captured before this are not shared.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    /// Records captured at or after this are not shared, and nothing is exported or imported after it.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    /// Why the data is shared (legal basis, programme).
    pub purpose: String,
}

fn check_name(name: &str) -> Result<(), ShareError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ShareError::agreement(
            "partner.name",
            "use 1 to 64 characters of A-Z a-z 0-9 . _ -",
        ))
    }
}

impl Agreement {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ShareError::Agreement`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ShareError> {
        check_name(&self.partner.name)?;
        parse_sign_key(&self.partner.sign_key)
            .map_err(|err| ShareError::agreement("partner.sign_key", err.to_string()))?;
        parse_encrypt_key(&self.partner.encrypt_key)
            .map_err(|err| ShareError::agreement("partner.encrypt_key", err.to_string()))?;
        match (&self.partner.log_vkey, self.direction) {
            (None, Direction::Incoming) => {
                return Err(ShareError::agreement(
                    "partner.log_vkey",
                    "required for an incoming agreement (its bundles carry proofs from that log)",
                ));
            }
            (Some(vkey), _) => {
                // The witness parser is the ledger's one strict reader of log verifier keys.
                let probe = ed25519_dalek::SigningKey::from_bytes(&[0; 32]);
                garita_ledger::Witness::new("probe", probe)
                    .add_log(vkey)
                    .map_err(|_| {
                        ShareError::agreement("partner.log_vkey", "not a log verifier key")
                    })?;
            }
            (None, Direction::Outgoing) => {}
        }
        if self.kinds.is_empty() {
            return Err(ShareError::agreement("kinds", "allow at least one kind"));
        }
        for (idx, rule) in self.kinds.iter().enumerate() {
            self.check_rule(idx, rule)?;
        }
        if self.excluded_citizenships.len() > MAX_EXCLUSIONS {
            return Err(ShareError::agreement(
                "excluded_citizenships",
                format!("more than {MAX_EXCLUSIONS}"),
            ));
        }
        if self.excluded_categories.len() > MAX_EXCLUSIONS {
            return Err(ShareError::agreement(
                "excluded_categories",
                format!("more than {MAX_EXCLUSIONS}"),
            ));
        }
        for (idx, category) in self.excluded_categories.iter().enumerate() {
            if category.is_empty() || category.len() > 64 || category.chars().any(char::is_control)
            {
                return Err(ShareError::agreement(
                    format!("excluded_categories[{idx}]"),
                    "use 1 to 64 printable characters",
                ));
            }
        }
        if self.valid_from >= self.valid_until {
            return Err(ShareError::agreement(
                "valid_until",
                "must be after valid_from",
            ));
        }
        if self.purpose.trim().is_empty()
            || self.purpose.len() > MAX_PURPOSE
            || self.purpose.chars().any(char::is_control)
        {
            return Err(ShareError::agreement(
                "purpose",
                format!("state it in 1 to {MAX_PURPOSE} printable characters"),
            ));
        }
        Ok(())
    }

    fn check_rule(&self, idx: usize, rule: &KindRule) -> Result<(), ShareError> {
        let at = |what: &str| format!("kinds[{idx}].{what}");
        if self.kinds.iter().filter(|r| r.kind == rule.kind).count() > 1 {
            return Err(ShareError::agreement(at("kind"), "listed twice"));
        }
        for field in &rule.fields {
            if !rule.kind.fields().contains(&field.as_str()) {
                return Err(ShareError::agreement(
                    at("fields"),
                    format!(
                        "{field:?} is not a field of {}: use {}",
                        rule.kind.as_str(),
                        rule.kind.fields().join(", ")
                    ),
                ));
            }
        }
        match (rule.kind, rule.modalities.is_empty()) {
            (RecordKind::Sample, true) => Err(ShareError::agreement(
                at("modalities"),
                "list the modalities that may be shared",
            )),
            (RecordKind::Sample, false) | (_, true) => Ok(()),
            (_, false) => Err(ShareError::agreement(
                at("modalities"),
                "only samples have modalities",
            )),
        }
    }

    /// The rule for `kind`, if the agreement allows it.
    pub fn rule(&self, kind: RecordKind) -> Option<&KindRule> {
        self.kinds.iter().find(|rule| rule.kind == kind)
    }

    /// Whether `at` falls in the agreement's time window.
    pub fn in_window(&self, at: OffsetDateTime) -> bool {
        self.valid_from <= at && at < self.valid_until
    }
}
