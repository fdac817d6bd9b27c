//! `cargo bench -p garita-finger [-- SIZES...]`: 1:1 MCC comparisons/s/core, the pre-filter's inner loop and
//! gallery search times for grown galleries (default 10000 and 100000; pass 1000000 for the full target).
//! Seeds are the real shared fingerprint sets; prints JSON. NIST NBIS bozorth3 is timed on the same seed pairs
//! when `GARITA_BOZORTH3` names it or it is on PATH.
use std::path::Path;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fingerprints");
    let mut seeds = Vec::new();
    for set in ["FVC2000_DB1_B", "FVC2000_DB3_B", "FVC2000_DB4_B", "toy_PNG"] {
        let Ok(entries) = std::fs::read_dir(root.join(set)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if let Ok(t) =
                garita_finger::load_image(&bytes, None).and_then(|i| garita_finger::extract(&i))
            {
                seeds.push(t);
            }
        }
    }
    if seeds.is_empty() {
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    let report = garita_finger::run_bench(&seeds, &sizes, 200);
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    println!("{}", report.bozorth3);
}
