//! Bounded property test: mutated and truncated real transactions never panic the reader, and whatever it accepts
//! writes back to bytes it reads as the same transaction.

use garita_an2::{Limits, Transaction};
use proptest::prelude::*;

use crate::util::reference_files;

/// The reference files, smallest first, loaded once.
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = reference_files();
        files.sort_by_key(|(_, bytes)| bytes.len());
        files
    })
}

#[derive(Debug, Clone)]
enum Edit {
    /// Overwrite the byte at a fraction of the length (structure lives near the record starts, so positions are
    /// biased towards the headers by taking them modulo a small window half of the time).
    Set {
        at: u32,
        near_start: bool,
        byte: u8,
    },
    Insert {
        at: u32,
        byte: u8,
    },
    Delete {
        at: u32,
    },
    Truncate {
        at: u32,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let separator_or_any = prop_oneof![
        Just(0x1Cu8),
        Just(0x1D),
        Just(0x1E),
        Just(0x1F),
        Just(b':'),
        Just(b'.'),
        any::<u8>(),
        b'0'..=b'9'
    ];
    prop_oneof![
        4 => (any::<u32>(), any::<bool>(), separator_or_any.clone()).prop_map(|(at, near_start, byte)| Edit::Set { at, near_start, byte }),
        1 => (any::<u32>(), separator_or_any).prop_map(|(at, byte)| Edit::Insert { at, byte }),
        1 => any::<u32>().prop_map(|at| Edit::Delete { at }),
        1 => any::<u32>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        return;
    }
    let position = |at: u32, len: usize| (at as usize) % len;
    match *edit {
        Edit::Set {
            at,
            near_start,
            byte,
        } => {
            let len = if near_start {
                bytes.len().min(400)
            } else {
                bytes.len()
            };
            let index = position(at, len);
            bytes[index] = byte;
        }
        Edit::Insert { at, byte } => {
            let index = position(at, bytes.len());
            bytes.insert(index, byte);
        }
        Edit::Delete { at } => {
            let index = position(at, bytes.len());
            bytes.remove(index);
        }
        Edit::Truncate { at } => {
            let index = position(at, bytes.len());
            bytes.truncate(index);
        }
    }
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = Transaction::check_bytes(bytes, &Limits::default());
    if let Ok(tx) = Transaction::from_bytes(bytes) {
        let written = tx.to_bytes();
        match Transaction::from_bytes(&written) {
            Ok(again) => prop_assert_eq!(&again, &tx),
            Err(error) => prop_assert!(
                false,
                "accepted input rewrites to rejected bytes: {}",
                error
            ),
        }
        let _ = tx.images();
        let _ = tx.to_dump_json();
    }
    Ok(())
}

proptest! {
    // 400 cases by default (a few seconds); PROPTEST_CASES raises it for a longer local run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_reference_files_never_panic(file in 0usize..30, edits in prop::collection::vec(edit(), 1..6)) {
        // Two thirds of the cases use the 12 smallest files, so that mutations hit headers more often than pixels.
        let corpus = corpus();
        let index = if file % 3 == 0 { file } else { file % 12 };
        let mut bytes = corpus[index].1.clone();
        for edit in &edits {
            apply(&mut bytes, edit);
        }
        check(&bytes)?;
    }
}

/// Fuzz finding 1 (docs/fuzzing.md): a 1.003 spelled `02␟0` instead of `2␟00` is accepted, and must survive
/// parse → write → parse unchanged. Inputs found by the `an2_roundtrip` target.
#[test]
fn non_canonical_cnt_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/regressions");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let tx = Transaction::from_bytes(&bytes)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let again = Transaction::from_bytes(&tx.to_bytes()).unwrap();
        assert_eq!(again, tx, "{}", path.display());
        check(&bytes).unwrap();
        checked += 1;
    }
    assert_eq!(checked, 2);
}
