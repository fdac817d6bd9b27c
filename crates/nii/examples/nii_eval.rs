//! Full evaluation on simulated scenes (too slow for the test suite):
//! `cargo run --release -p garita-nii --example nii_eval -- FIRST_SEED COUNT [--json]`.
//! Tuning used seeds 0..100; the held-out report uses 1000..1100.

use std::time::Instant;

use garita_nii::{AnalysisConfig, SimConfig, eval_seeds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let first: u64 = args.get(1).map_or(Ok(0), |s| s.parse())?;
    let count: u64 = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let json = args.iter().any(|a| a == "--json");
    let start = Instant::now();
    let report = eval_seeds(
        first..first + count,
        &SimConfig::default(),
        &AnalysisConfig::default(),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "seeds {first}..{}: {} images, {} concealments, detected {} ({:.1} %), false alarms {} ({:.3} per image), {:.2} s/image",
        first + count,
        report.images,
        report.concealments,
        report.detected,
        100.0 * report.detection_rate,
        report.false_alarms,
        report.false_alarms_per_image,
        start.elapsed().as_secs_f64() / count.max(1) as f64
    );
    for k in &report.per_kind {
        println!("  {:?}: {}/{}", k.kind, k.detected, k.planted);
    }
    println!(
        "  mass mismatches flagged {}/{}, false mass flags {}",
        report.mass_mismatches.1, report.mass_mismatches.0, report.mass_false_flags
    );
    println!("  false alarms by kind: {:?}", report.false_alarm_kinds);
    println!("  threshold  detection  FA/image  images-with-FA");
    for p in &report.roc {
        println!(
            "  {:9.2}  {:9.3}  {:8.3}  {:14.3}",
            p.threshold, p.detection_rate, p.false_alarms_per_image, p.images_with_false_alarm
        );
    }
    Ok(())
}
