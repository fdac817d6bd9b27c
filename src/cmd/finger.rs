//! `garita finger ...`: fingerprint templates, 1:1 scores and the FVC evaluation.

use anyhow::Context;
use garita_finger::{MccTemplate, Template, ViewInfo, compare, eval_dir, extract, load_image};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Extract minutiae from a fingerprint image (PNG, TIFF, BMP or WSQ).
    Extract {
        /// The image
        image: PathBuf,
        /// Print the template as JSON (minutiae x, y, angle, kind, quality)
        #[arg(long)]
        json: bool,
        /// Also write an ISO/IEC 19794-2:2005 finger minutiae record here
        #[arg(long)]
        iso: Option<PathBuf>,
        /// Resolution when the file does not give one [default: 500]
        #[arg(long)]
        ppi: Option<u32>,
    },
    /// Score pairs of images: each input line `A<TAB>B`, each output line `A<TAB>B<TAB>score` (higher = more
    /// alike; an image that cannot be read scores 0).
    ScorePairs {
        /// File of pairs (`-` for standard input)
        pairs: PathBuf,
    },
    /// Run the FVC protocol on a folder of `<finger>_<impression>.<ext>` images: EER, FMR100, FMR1000, timing.
    Eval {
        /// The folder
        dir: PathBuf,
        /// Print the whole report as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Where the all-pairs errors come from: the fingers and pairs to look at first (`--json` lists ten of each).
fn print_error_sources(errors: &garita_finger::ErrorSources) {
    let pairs = |list: &[garita_finger::PairScore]| {
        list.iter()
            .take(5)
            .map(|p| format!("{} × {} {:.3}", p.a, p.b, p.score))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "where the errors come from (all pairs, threshold {:.4} at FMR ≤ 1 %):",
        errors.fmr100_threshold
    );
    let fingers: Vec<String> = errors
        .rejected_by_finger
        .iter()
        .map(|(finger, rejected, of)| format!("{finger} {rejected}/{of}"))
        .collect();
    println!(
        "  genuine pairs rejected, by finger: {}",
        if fingers.is_empty() {
            "none".to_owned()
        } else {
            fingers.join(", ")
        }
    );
    println!("  lowest genuine: {}", pairs(&errors.lowest_genuine));
    println!("  highest impostor: {}", pairs(&errors.highest_impostor));
}

/// Reads and extracts one image.
pub fn template_of(path: &Path, ppi: Option<u32>) -> anyhow::Result<Template> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let image = load_image(&bytes, ppi)
        .with_context(|| format!("{} is not a usable fingerprint image", path.display()))?;
    extract(&image).with_context(|| format!("extracting minutiae from {}", path.display()))
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Extract {
            image,
            json,
            iso,
            ppi,
        } => {
            let template = template_of(&image, ppi)?;
            if let Some(advice) = garita_finger::capture_advice(Ok(&template)) {
                eprintln!("warning: {}: {advice}", image.display());
            }
            if let Some(out) = iso {
                let record = garita_finger::to_iso_19794_2(&template, ViewInfo::default())?;
                std::fs::write(&out, record)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&template)?);
            } else {
                println!(
                    "{}: {} minutiae, quality {}, {}x{} at {} ppi",
                    image.display(),
                    template.minutiae.len(),
                    template.quality,
                    template.width,
                    template.height,
                    template.ppi
                );
            }
        }
        Command::ScorePairs { pairs } => {
            let reader: Box<dyn BufRead> = if pairs.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&pairs)
                        .with_context(|| format!("opening {}", pairs.display()))?,
                ))
            };
            let mut cache: HashMap<String, Option<MccTemplate>> = HashMap::new();
            let mut prepared = |path: &str| {
                cache
                    .entry(path.to_owned())
                    .or_insert_with(|| match template_of(Path::new(path), None) {
                        Ok(template) => Some(MccTemplate::new(&template)),
                        Err(err) => {
                            eprintln!("garita: {err:#}");
                            None
                        }
                    })
                    .clone()
            };
            let mut out = std::io::stdout().lock();
            for (line_no, line) in reader.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let (a, b) = line.split_once('\t').with_context(|| {
                    format!("{}:{}: expected A<TAB>B", pairs.display(), line_no + 1)
                })?;
                let score = match (prepared(a), prepared(b)) {
                    (Some(left), Some(right)) => compare(&left, &right),
                    _ => 0.0,
                };
                writeln!(out, "{a}\t{b}\t{score:.6}")?;
            }
        }
        Command::Eval { dir, json } => {
            eprintln!(
                "evaluating {} (all pairs and FVC protocol)...",
                dir.display()
            );
            let report = eval_dir(&dir).with_context(|| format!("evaluating {}", dir.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{}: {} images, {} failed to enrol, mean {:.1} minutiae",
                    dir.display(),
                    report.images,
                    report.failures.len(),
                    report.mean_minutiae
                );
                for (name, rates) in [
                    ("FVC protocol", &report.fvc),
                    ("all pairs", &report.all_pairs),
                ] {
                    let interval = rates
                        .eer_interval
                        .map(|[lo, hi]| format!(" (95 % interval {lo:.1}–{hi:.1})"))
                        .unwrap_or_default();
                    println!(
                        "{name:>12}: EER {:.2} %{interval}  FMR100 {:.2} %  FMR1000 {:.2} %  ({} genuine, {} impostor)",
                        rates.eer, rates.fmr100, rates.fmr1000, rates.genuine, rates.impostor
                    );
                }
                println!(
                    "timing: extraction {:.1} ms/image, comparison {:.1} µs/pair",
                    report.extract_ms, report.compare_us
                );
                print_error_sources(&report.errors);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
