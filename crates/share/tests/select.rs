//! The export filter never lets out what the agreement does not allow (issue #10, deliverable 5).

use garita_model::{CountryCode, Modality};
use garita_share::{
    Agreement, Direction, KindRule, Partner, RecordKind, SharingKey, SourceRecord, allows, select,
};
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

const COUNTRIES: &[&str] = &["MEX", "GTM", "HND", "SLV", "USA", "COL"];
const CATEGORIES: &[&str] = &[
    "gang-member",
    "prior-removal",
    "special-interest",
    "smuggler",
];
/// Field names a record may carry that are in no kind's vocabulary (must never leave).
const EXTRA_FIELDS: &[&str] = &[
    "internal_notes",
    "officer_id",
    "passport_number",
    "image_raw",
];

fn country(idx: usize) -> CountryCode {
    CountryCode::new(COUNTRIES[idx % COUNTRIES.len()]).unwrap()
}

fn at(offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + offset).unwrap()
}

fn partner() -> Partner {
    let key = SharingKey::from_seed(&[9; 32]);
    Partner {
        name: "partner".into(),
        sign_key: key.sign_key_b64(),
        encrypt_key: key.encrypt_key_b64(),
        log_vkey: None,
    }
}

/// A random (valid) outgoing agreement.
fn agreement() -> impl Strategy<Value = Agreement> {
    let rule = |kind: RecordKind| {
        (
            proptest::sample::subsequence(kind.fields().to_vec(), 0..=kind.fields().len()),
            proptest::sample::subsequence(Modality::ALL.to_vec(), 1..=Modality::ALL.len()),
        )
            .prop_map(move |(fields, modalities)| KindRule {
                kind,
                modalities: if kind == RecordKind::Sample {
                    modalities
                } else {
                    Vec::new()
                },
                fields: fields.into_iter().map(str::to_owned).collect(),
            })
    };
    let rules = proptest::sample::subsequence(RecordKind::ALL.to_vec(), 1..=RecordKind::ALL.len())
        .prop_flat_map(move |kinds| kinds.into_iter().map(rule).collect::<Vec<_>>());
    (
        rules,
        proptest::sample::subsequence((0..COUNTRIES.len()).collect::<Vec<_>>(), 0..3),
        proptest::sample::subsequence(CATEGORIES.to_vec(), 0..2),
        0i64..1000,
        1i64..2000,
    )
        .prop_map(|(kinds, excluded, categories, from, length)| Agreement {
            id: Uuid::new_v4(),
            direction: Direction::Outgoing,
            partner: partner(),
            kinds,
            excluded_citizenships: excluded.into_iter().map(country).collect(),
            excluded_categories: categories.into_iter().map(str::to_owned).collect(),
            valid_from: at(from),
            valid_until: at(from + length),
            purpose: "property test".into(),
        })
}

/// A random record of any kind with random fields (allowed names, names in no vocabulary, binary content).
fn record() -> impl Strategy<Value = (SourceRecord, Option<usize>)> {
    (
        proptest::sample::select(RecordKind::ALL.to_vec()),
        proptest::option::weighted(0.85, 0..COUNTRIES.len()),
        proptest::sample::subsequence(CATEGORIES.to_vec(), 0..2),
        proptest::sample::select(Modality::ALL.to_vec()),
        -100i64..3100,
        proptest::collection::vec(any::<u8>(), 0..8),
        proptest::option::of(0usize..64),
    )
        .prop_map(
            |(kind, citizenship, categories, modality, offset, noise, parent)| {
                let mut fields = BTreeMap::new();
                let mut files = BTreeMap::new();
                for (idx, name) in kind.fields().iter().chain(EXTRA_FIELDS).enumerate() {
                    if noise
                        .get(idx % noise.len().max(1))
                        .is_some_and(|b| b % 3 == 0)
                    {
                        continue;
                    }
                    if name.starts_with("image") {
                        files.insert(
                            (*name).to_owned(),
                            ("application/octet-stream".to_owned(), noise.clone()),
                        );
                    } else {
                        fields.insert((*name).to_owned(), json!(format!("{name}-{offset}")));
                    }
                }
                let record = SourceRecord {
                    kind,
                    id: Uuid::new_v4(),
                    parent: None,
                    at: at(offset),
                    citizenship: citizenship.map(country),
                    categories: categories.into_iter().map(str::to_owned).collect(),
                    modality: (kind == RecordKind::Sample).then_some(modality),
                    fields,
                    files,
                };
                (record, parent)
            },
        )
}

fn records() -> impl Strategy<Value = Vec<SourceRecord>> {
    proptest::collection::vec(record(), 0..40).prop_map(|drafts| {
        let ids: Vec<Uuid> = drafts.iter().map(|(record, _)| record.id).collect();
        drafts
            .into_iter()
            .map(|(mut record, parent)| {
                // Children point at an earlier record, as samples point at their encounter.
                record.parent = parent
                    .filter(|_| !ids.is_empty())
                    .map(|idx| ids[idx % ids.len()])
                    .filter(|parent| *parent != record.id);
                record
            })
            .collect()
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn no_own_citizen_and_no_disallowed_field_ever_leaves(
        agreement in agreement(),
        own in 0..COUNTRIES.len(),
        records in records(),
    ) {
        let own = country(own);
        let exported = select(&agreement, &own, &records);
        let by_id: BTreeMap<Uuid, &SourceRecord> = records.iter().map(|r| (r.id, r)).collect();
        let refused: BTreeSet<Uuid> = records
            .iter()
            .filter(|r| allows(&agreement, &own, r).is_err())
            .map(|r| r.id)
            .collect();
        for out in &exported {
            let source = by_id[&out.source_id];
            let rule = agreement.rule(out.kind).expect("only allowed kinds leave");
            if out.kind.is_personal() {
                let citizenship = source.citizenship.as_ref().expect("unknown citizenship never leaves");
                prop_assert_ne!(citizenship, &own, "an own citizen was exported");
                prop_assert!(!agreement.excluded_citizenships.contains(citizenship));
            }
            for name in out.fields.keys().chain(out.files.keys()) {
                prop_assert!(rule.fields.contains(name), "field {name} is not allowed but left");
                prop_assert!(!EXTRA_FIELDS.contains(&name.as_str()));
            }
            prop_assert!(source.categories.iter().all(|c| !agreement.excluded_categories.contains(c)));
            prop_assert!(agreement.in_window(source.at));
            if out.kind == RecordKind::Sample {
                prop_assert!(rule.modalities.contains(&source.modality.unwrap()));
            }
            if let Some(parent) = source.parent {
                prop_assert!(!refused.contains(&parent), "child of a refused record left");
            }
        }
        // And the filter is not simply empty: everything allowed leaves, with exactly its allowed fields.
        for source in &records {
            let parent_ok = source.parent.is_none_or(|parent| !refused.contains(&parent));
            let out = exported.iter().find(|out| out.source_id == source.id);
            if allows(&agreement, &own, source).is_ok() && parent_ok {
                let out = out.expect("an allowed record is exported");
                let rule = agreement.rule(source.kind).unwrap();
                let want: BTreeSet<&String> = source.fields.keys().chain(source.files.keys())
                    .filter(|name| rule.fields.contains(name)).collect();
                let got: BTreeSet<&String> = out.fields.keys().chain(out.files.keys()).collect();
                prop_assert_eq!(want, got);
            } else {
                prop_assert!(out.is_none());
            }
        }
    }
}

#[test]
fn unknown_fields_and_bad_windows_are_refused_by_validation() {
    let mut agreement = Agreement {
        id: Uuid::new_v4(),
        direction: Direction::Outgoing,
        partner: partner(),
        kinds: vec![KindRule {
            kind: RecordKind::Encounter,
            modalities: Vec::new(),
            fields: vec!["captured_at".into()],
        }],
        excluded_citizenships: Vec::new(),
        excluded_categories: Vec::new(),
        valid_from: at(0),
        valid_until: at(10),
        purpose: "test".into(),
    };
    agreement.validate().unwrap();
    agreement.kinds[0].fields.push("passport_number".into());
    let err = agreement.validate().unwrap_err().to_string();
    assert!(err.contains("kinds[0].fields"), "{err}");
    agreement.kinds[0].fields.pop();
    agreement.valid_until = at(0);
    assert!(
        agreement
            .validate()
            .unwrap_err()
            .to_string()
            .contains("valid_until")
    );
    agreement.valid_until = at(10);
    agreement.kinds.push(KindRule {
        kind: RecordKind::Sample,
        modalities: Vec::new(),
        fields: vec![],
    });
    assert!(
        agreement
            .validate()
            .unwrap_err()
            .to_string()
            .contains("kinds[1].modalities")
    );
    agreement.kinds.pop();
    agreement.direction = Direction::Incoming;
    assert!(
        agreement
            .validate()
            .unwrap_err()
            .to_string()
            .contains("partner.log_vkey")
    );
}
