//! Reference implementation of the `garita finger` subcommands on the library API, for the root binary to
//! mirror (and to use before it does):
//!
//! ```text
//! cargo run --release -p garita-finger --example cli -- extract IMG [--json] [--iso OUT] [--ppi N]
//! cargo run --release -p garita-finger --example cli -- score-pairs PAIRS      # lines "A<TAB>B" -> "A<TAB>B<TAB>score"
//! cargo run --release -p garita-finger --example cli -- eval DIR
//! ```
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use garita_finger::{
    FingerError, MccTemplate, Template, ViewInfo, compare, eval_dir, extract, load_image,
};

fn extract_path(path: &str, ppi: Option<u32>) -> Result<Template, FingerError> {
    let bytes = std::fs::read(path).map_err(|source| FingerError::Io {
        path: path.into(),
        source,
    })?;
    load_image(&bytes, ppi)
        .and_then(|img| extract(&img))
        .map_err(|e| e.with_path(path))
}

fn run(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match args.first().map(String::as_str) {
        Some("extract") => {
            let path = args
                .get(1)
                .ok_or("usage: extract IMG [--json] [--iso OUT] [--ppi N]")?;
            let ppi = flag("--ppi")
                .map(|v| v.parse::<u32>())
                .transpose()
                .map_err(|e| format!("--ppi: {e}"))?;
            let t = extract_path(path, ppi).map_err(|e| format!("{e:#}"))?;
            if let Some(out) = flag("--iso") {
                let record = garita_finger::to_iso_19794_2(&t, ViewInfo::default())
                    .map_err(|e| e.to_string())?;
                std::fs::write(&out, record).map_err(|e| format!("{out}: {e}"))?;
            }
            if args.iter().any(|a| a == "--json") {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&t).map_err(|e| e.to_string())?
                );
            } else {
                println!(
                    "{path}: {} minutiae, quality {}, {}x{} at {} ppi",
                    t.minutiae.len(),
                    t.quality,
                    t.width,
                    t.height,
                    t.ppi
                );
            }
            Ok(())
        }
        Some("score-pairs") => {
            let path = args.get(1).ok_or("usage: score-pairs PAIRS")?;
            let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
            let mut cache: HashMap<String, Option<MccTemplate>> = HashMap::new();
            let mut prepared = |p: &str| -> Option<MccTemplate> {
                cache
                    .entry(p.to_owned())
                    .or_insert_with(|| match extract_path(p, None) {
                        Ok(t) => Some(MccTemplate::new(&t)),
                        Err(e) => {
                            eprintln!("{e}");
                            None
                        }
                    })
                    .clone()
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for (line_no, line) in std::io::BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| format!("{path}: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                let (a, b) = line
                    .split_once('\t')
                    .ok_or_else(|| format!("{path}:{}: expected A<TAB>B", line_no + 1))?;
                // An image that cannot be read scores 0, like a failure to enrol in FVC.
                let score = match (prepared(a), prepared(b)) {
                    (Some(ta), Some(tb)) => compare(&ta, &tb),
                    _ => 0.0,
                };
                writeln!(out, "{a}\t{b}\t{score:.6}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Some("eval") => {
            let dir = args.get(1).ok_or("usage: eval DIR")?;
            let r = eval_dir(std::path::Path::new(dir)).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        _ => Err("usage: cli extract|score-pairs|eval ...".to_owned()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
