//! The export filter: which records an agreement lets go to the partner, with which fields. Pure, so it can be
//! property-tested over random data (tests/select.rs).

use crate::agreement::{Agreement, Direction, RecordKind};
use garita_model::{CountryCode, Modality};
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// A record as the store has it, before filtering: every field it has, binary content included.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Kind.
    pub kind: RecordKind,
    /// Local identifier (never exported: the bundle carries a fresh reference instead).
    pub id: Uuid,
    /// The local record it belongs to (a sample's or alert's encounter, a scan's or finding's consignment).
    pub parent: Option<Uuid>,
    /// When it was captured or created: checked against the agreement's window.
    pub at: OffsetDateTime,
    /// For personal kinds: the subject's claimed citizenship (`None`: unknown, never shared).
    pub citizenship: Option<CountryCode>,
    /// Categories the record carries (alert or finding category, the subject's watchlist categories).
    pub categories: Vec<String>,
    /// For samples: the modality.
    pub modality: Option<Modality>,
    /// JSON fields by name.
    pub fields: BTreeMap<String, Value>,
    /// Binary fields by name (`image`), with their media type.
    pub files: BTreeMap<String, (String, Vec<u8>)>,
}

/// A record that may go to the partner, with only the allowed fields left.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    /// Kind.
    pub kind: RecordKind,
    /// Local identifier of the source record.
    pub source_id: Uuid,
    /// Local identifier of its parent.
    pub parent: Option<Uuid>,
    /// Allowed JSON fields.
    pub fields: BTreeMap<String, Value>,
    /// Allowed binary fields.
    pub files: BTreeMap<String, (String, Vec<u8>)>,
}

/// Why [`allows`] refused a record (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The agreement is not outgoing.
    NotOutgoing,
    /// The kind is not allowed.
    Kind,
    /// Outside the time window.
    Window,
    /// A personal record whose citizenship is unknown.
    UnknownCitizenship,
    /// A personal record of an own citizen.
    OwnCitizen,
    /// A personal record of an excluded citizenship.
    ExcludedCitizenship,
    /// It carries an excluded category.
    Category,
    /// A sample of a modality not allowed.
    Modality,
}

/// Whether `agreement` lets `record` go to the partner of an agency whose own country is `own_country`.
///
/// # Errors
/// The first rule the record breaks.
pub fn allows(
    agreement: &Agreement,
    own_country: &CountryCode,
    record: &SourceRecord,
) -> Result<(), Refusal> {
    if agreement.direction != Direction::Outgoing {
        return Err(Refusal::NotOutgoing);
    }
    let rule = agreement.rule(record.kind).ok_or(Refusal::Kind)?;
    if !agreement.in_window(record.at) {
        return Err(Refusal::Window);
    }
    if record.kind.is_personal() {
        // Unknown citizenship fails closed: the person may be one of our own.
        let citizenship = record
            .citizenship
            .as_ref()
            .ok_or(Refusal::UnknownCitizenship)?;
        if citizenship == own_country {
            return Err(Refusal::OwnCitizen);
        }
        if agreement.excluded_citizenships.contains(citizenship) {
            return Err(Refusal::ExcludedCitizenship);
        }
    }
    if record
        .categories
        .iter()
        .any(|category| agreement.excluded_categories.contains(category))
    {
        return Err(Refusal::Category);
    }
    if record.kind == RecordKind::Sample {
        let modality = record.modality.ok_or(Refusal::Modality)?;
        if !rule.modalities.contains(&modality) {
            return Err(Refusal::Modality);
        }
    }
    Ok(())
}

/// The records `agreement` lets go, each stripped to the fields it allows. A child whose parent is refused is
/// refused too (no sample of an encounter that is not shared). Records keep their order.
pub fn select(
    agreement: &Agreement,
    own_country: &CountryCode,
    records: &[SourceRecord],
) -> Vec<ExportRecord> {
    let refused: std::collections::BTreeSet<Uuid> = records
        .iter()
        .filter(|record| allows(agreement, own_country, record).is_err())
        .map(|record| record.id)
        .collect();
    records
        .iter()
        .filter(|record| !refused.contains(&record.id))
        .filter(|record| {
            record
                .parent
                .is_none_or(|parent| !refused.contains(&parent))
        })
        .filter_map(|record| {
            let rule = agreement.rule(record.kind)?;
            let allowed = |name: &String| rule.fields.contains(name);
            Some(ExportRecord {
                kind: record.kind,
                source_id: record.id,
                parent: record.parent,
                fields: record
                    .fields
                    .iter()
                    .filter(|(name, _)| allowed(name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
                files: record
                    .files
                    .iter()
                    .filter(|(name, _)| allowed(name))
                    .map(|(name, file)| (name.clone(), file.clone()))
                    .collect(),
            })
        })
        .collect()
}
