//! Development aid: the lowest-scoring genuine pairs and highest-scoring impostor pairs of one set, and how often
//! each image takes part in a genuine pair rejected at FMR = 1 % (all-pairs protocol).
//! `cargo run --release -p garita-finger --example worst -- DIR [N]`
use std::collections::BTreeMap;
use std::process::ExitCode;

use garita_finger::{MccTemplate, compare};

mod common;

struct Item {
    name: String,
    finger: String,
    minutiae: usize,
    template: MccTemplate,
}

fn load(dir: &str) -> Result<Vec<Item>, String> {
    garita_finger::set_images(std::path::Path::new(dir))
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|image| {
            let template = common::template(&image.path, None)?;
            Ok(Item {
                name: image
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                finger: image.finger,
                minutiae: template.minutiae.len(),
                template: MccTemplate::new(&template),
            })
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: worst DIR [N]");
        return ExitCode::FAILURE;
    };
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let items = match load(dir) {
        Ok(items) => items,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            let row = (compare(&items[i].template, &items[j].template), i, j);
            if items[i].finger == items[j].finger {
                genuine.push(row);
            } else {
                impostor.push(row);
            }
        }
    }
    if impostor.is_empty() {
        eprintln!("{dir}: no impostor pairs");
        return ExitCode::FAILURE;
    }
    genuine.sort_by(|a, b| a.0.total_cmp(&b.0));
    impostor.sort_by(|a, b| b.0.total_cmp(&a.0));
    let describe = |i: usize| {
        let it = &items[i];
        format!(
            "{} ({} min, {} cyl)",
            it.name,
            it.minutiae,
            it.template.n_cylinders()
        )
    };
    for (label, rows) in [("worst genuine", &genuine), ("best impostor", &impostor)] {
        println!("{label}");
        for (s, i, j) in rows.iter().take(n) {
            println!("  {s:.4}  {}  {}", describe(*i), describe(*j));
        }
    }
    let threshold = impostor[impostor.len() / 100].0;
    let mut misses: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, i, j) in &genuine {
        if *s < threshold {
            *misses.entry(&items[*i].name).or_default() += 1;
            *misses.entry(&items[*j].name).or_default() += 1;
        }
    }
    println!("FMR 1 % threshold {threshold:.4}; rejected genuine pairs per image: {misses:?}");
    ExitCode::SUCCESS
}
