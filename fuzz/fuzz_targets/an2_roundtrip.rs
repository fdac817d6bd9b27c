//! Fuzz target for `garita_an2::Transaction::from_bytes`, the ANSI/NIST-ITL reader.
//!
//! Properties, for any input:
//! * the reader (strict and report modes) and `probe_image` never panic;
//! * a transaction the strict reader accepts is also accepted by the report mode, with no findings and the same
//!   records;
//! * parse → write → parse gives equal records and fields (`Transaction: PartialEq` compares records, not lengths);
//! * the writer is a fixed point: writing the re-read transaction gives the same bytes again, and the record lengths
//!   read back add up to the written length;
//! * the enrollment view and the JSON dump of an accepted transaction never panic.
#![no_main]

use garita_an2::{Limits, Transaction, probe_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_image(data);
    let report = Transaction::check_bytes(data, &Limits::default());
    let Ok(tx) = Transaction::from_bytes(data) else {
        return;
    };

    match report {
        Ok((reported, findings)) => {
            assert!(
                findings.is_empty(),
                "strict reader accepted what report mode flags: {findings:?}"
            );
            assert_eq!(
                reported, tx,
                "report mode reads other records than strict mode"
            );
        }
        Err(error) => panic!("strict reader accepted what report mode rejects: {error}"),
    }

    let written = tx.to_bytes();
    let again = match Transaction::from_bytes(&written) {
        Ok(again) => again,
        Err(error) => panic!("accepted input rewrites to rejected bytes: {error}"),
    };
    assert_eq!(again, tx, "parse -> write -> parse changed the records");
    assert_eq!(again.records().len(), tx.records().len());
    assert_eq!(again.to_bytes(), written, "writing is not a fixed point");
    assert_eq!(
        again.record_lengths().iter().sum::<usize>(),
        written.len(),
        "record lengths do not add up to the written transaction"
    );
    assert!(
        tx.validate().is_ok(),
        "validate() rejects an accepted transaction"
    );

    for image in tx.images() {
        let _ = format!("{image:?}");
    }
    let _ = tx.to_dump_json().to_string();
});
