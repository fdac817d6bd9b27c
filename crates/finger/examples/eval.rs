//! Runs the FVC and all-pairs protocols on folders of `<finger>_<impression>.<ext>` images and prints a
//! markdown table row per folder: `cargo run --release -p garita-finger --example eval -- DIR...`.
//! With `--scores FILE` the impostor scores of all folders are written one per line (threshold calibration).
use std::io::Write;

fn interval(r: &garita_finger::Rates) -> String {
    r.eer_interval
        .map(|[lo, hi]| format!("{lo:.1}–{hi:.1}"))
        .unwrap_or_default()
}

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut scores_out = None;
    if args.first().map(String::as_str) == Some("--scores") && args.len() > 1 {
        scores_out = Some(args[1].clone());
        args.drain(0..2);
    }
    println!(
        "| set | EER (95 % interval) | FMR100 | FMR1000 | FVC EER (95 % interval) | FVC FMR100 | gen/imp | mean minutiae | extract ms | compare µs | failures |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut all_impostors = Vec::new();
    let mut status = std::process::ExitCode::SUCCESS;
    for dir in &args {
        match garita_finger::eval_dir(std::path::Path::new(dir)) {
            Ok(r) => {
                let name = std::path::Path::new(dir)
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                println!(
                    "| `{name}` | {:.2} ({}) | {:.2} | {:.2} | {:.2} ({}) | {:.2} | {}/{} | {:.0} | {:.0} | {:.0} | {} |",
                    r.all_pairs.eer,
                    interval(&r.all_pairs),
                    r.all_pairs.fmr100,
                    r.all_pairs.fmr1000,
                    r.fvc.eer,
                    interval(&r.fvc),
                    r.fvc.fmr100,
                    r.all_pairs.genuine,
                    r.all_pairs.impostor,
                    r.mean_minutiae,
                    r.extract_ms,
                    r.compare_us,
                    r.failures.len()
                );
                for f in &r.failures {
                    eprintln!("  failure: {f}");
                }
                all_impostors.extend(r.impostor_scores.iter().copied());
            }
            Err(e) => {
                eprintln!("{dir}: {e}");
                status = std::process::ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = scores_out
        && let Ok(mut f) = std::fs::File::create(&path)
    {
        for s in &all_impostors {
            let _ = writeln!(f, "{s}");
        }
    }
    status
}
