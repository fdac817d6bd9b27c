//! Fits the matcher's score fusion ([`garita_finger::FUSION`]) and checks it set by set.
//!
//! `cargo run --release -p garita-finger --example fusion -- [--cache CACHE] DIR...` extracts every
//! `<finger>_<impression>` image of each folder (with `--cache`, once: templates are kept under `CACHE/<set>/`, so
//! matcher changes re-run in seconds; delete it after an extractor change), measures
//! every i<j pair with [`garita_finger::compare_detail`], then fits a logistic model of "same finger" on the
//! features by Newton's method, with genuine and impostor pairs weighted equally. It prints the all-pairs EER
//! per set of: the LSS-R score alone, the fusion fit on the *other* sets (leave one set out: what a new sensor
//! would see without retuning), the fusion fit on all sets, and the compiled-in [`garita_finger::FUSION`]; then
//! the all-sets weights to paste into `mcc.rs`.
use std::path::Path;
use std::process::ExitCode;

mod common;

use garita_finger::{FUSION, MccTemplate, N_FEATURES, Template, compare_detail, fuse, rates};

const N_WEIGHTS: usize = N_FEATURES + 1;

/// One measured pair: genuine or not, and its features.
struct Pair {
    genuine: bool,
    lss: f32,
    features: [f32; N_FEATURES],
}

fn templates(cache: Option<&Path>, dir: &str) -> Result<Vec<(String, Template)>, String> {
    let dir = Path::new(dir);
    let cache = cache.map(|c| c.join(common::set_name(dir)));
    garita_finger::set_images(dir)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|image| {
            Ok((
                image.finger,
                common::template(&image.path, cache.as_deref())?,
            ))
        })
        .collect()
}

fn measure(items: &[(String, Template)]) -> Vec<Pair> {
    let prepared: Vec<MccTemplate> = items.iter().map(|(_, t)| MccTemplate::new(t)).collect();
    let mut pairs = Vec::new();
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            let d = compare_detail(&prepared[i], &prepared[j]);
            pairs.push(Pair {
                genuine: items[i].0 == items[j].0,
                lss: d.lss,
                features: d.features(),
            });
        }
    }
    pairs
}

/// Weighted logistic regression by Newton's method (a small ridge keeps the Hessian invertible).
fn fit(pairs: &[&Pair]) -> [f32; N_WEIGHTS] {
    let n_gen = pairs.iter().filter(|p| p.genuine).count().max(1) as f64;
    let n_imp = pairs.iter().filter(|p| !p.genuine).count().max(1) as f64;
    let mut w = [0.0f64; N_WEIGHTS];
    for _ in 0..30 {
        let mut grad = [0.0f64; N_WEIGHTS];
        let mut hess = [[0.0f64; N_WEIGHTS]; N_WEIGHTS];
        for p in pairs {
            let mut x = [1.0f64; N_WEIGHTS];
            for (k, f) in p.features.iter().enumerate() {
                x[k] = f64::from(*f);
            }
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let prob = 1.0 / (1.0 + (-z).exp());
            let (y, weight) = if p.genuine {
                (1.0, 0.5 / n_gen)
            } else {
                (0.0, 0.5 / n_imp)
            };
            for r in 0..N_WEIGHTS {
                grad[r] += weight * (prob - y) * x[r];
                for c in 0..N_WEIGHTS {
                    hess[r][c] += weight * prob * (1.0 - prob) * x[r] * x[c];
                }
            }
        }
        for (r, row) in hess.iter_mut().enumerate() {
            grad[r] += 1e-4 * w[r];
            row[r] += 1e-4;
        }
        let step = solve(hess, grad);
        for (wk, sk) in w.iter_mut().zip(step) {
            *wk -= sk;
        }
    }
    w.map(|v| v as f32)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; N_WEIGHTS]; N_WEIGHTS], mut b: [f64; N_WEIGHTS]) -> [f64; N_WEIGHTS] {
    for col in 0..N_WEIGHTS {
        let pivot = (col..N_WEIGHTS)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-12 {
            continue;
        }
        let pivot_row = a[col];
        let pivot_b = b[col];
        for (row, (a_row, b_row)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            if row != col {
                let factor = a_row[col] / d;
                for (x, p) in a_row.iter_mut().zip(pivot_row).skip(col) {
                    *x -= factor * p;
                }
                *b_row -= factor * pivot_b;
            }
        }
    }
    std::array::from_fn(|k| {
        if a[k][k].abs() < 1e-12 {
            0.0
        } else {
            b[k] / a[k][k]
        }
    })
}

fn eer(pairs: &[Pair], score: impl Fn(&Pair) -> f32) -> f64 {
    let genuine: Vec<f32> = pairs.iter().filter(|p| p.genuine).map(&score).collect();
    let impostor: Vec<f32> = pairs.iter().filter(|p| !p.genuine).map(&score).collect();
    rates(&genuine, &impostor).eer
}

/// The impostor tail of the compiled-in fusion over all sets: `(FMR, threshold)` rows for `calibration.rs`.
fn print_calibration(all: &[&Pair]) {
    let mut impostor: Vec<f32> = all
        .iter()
        .filter(|p| !p.genuine)
        .map(|p| fuse(&p.features, &FUSION))
        .collect();
    impostor.sort_by(|a, b| b.total_cmp(a));
    println!(
        "calibration of the compiled-in FUSION ({} impostor scores):",
        impostor.len()
    );
    for fmr in [1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4] {
        let k = ((fmr * impostor.len() as f64).round() as usize).max(1);
        if let Some(t) = impostor.get(k - 1) {
            println!("    ({fmr:e}, {t:.4}), // {k} impostors at or above");
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cache, dirs) = match args.first().map(String::as_str) {
        Some("--cache") if args.len() > 1 => (Some(Path::new(&args[1])), &args[2..]),
        _ => (None, &args[..]),
    };
    if dirs.is_empty() {
        eprintln!("usage: fusion [--cache CACHE] DIR...");
        return ExitCode::FAILURE;
    }
    let mut sets = Vec::new();
    for dir in dirs {
        match templates(cache, dir) {
            Ok(items) => sets.push(measure(&items)),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let all: Vec<&Pair> = sets.iter().flatten().collect();
    let all_fit = fit(&all);
    let mut rows: Vec<(&str, Vec<f64>)> = vec![
        ("LSS-R alone", Vec::new()),
        ("fusion, fit without this set", Vec::new()),
        ("fusion, fit on all sets", Vec::new()),
        ("fusion, compiled-in FUSION", Vec::new()),
    ];
    for (k, pairs) in sets.iter().enumerate() {
        let others: Vec<&Pair> = sets
            .iter()
            .enumerate()
            .filter(|(o, _)| *o != k)
            .flat_map(|(_, s)| s.iter())
            .collect();
        let held_out = fit(&others);
        rows[0].1.push(eer(pairs, |p| p.lss));
        rows[1].1.push(eer(pairs, |p| fuse(&p.features, &held_out)));
        rows[2].1.push(eer(pairs, |p| fuse(&p.features, &all_fit)));
        rows[3].1.push(eer(pairs, |p| fuse(&p.features, &FUSION)));
    }
    let names: Vec<String> = dirs
        .iter()
        .map(|d| common::set_name(Path::new(d)))
        .collect();
    println!("| EER (all pairs), % | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for (label, eers) in rows {
        let cells: Vec<String> = eers.iter().map(|e| format!("{e:.2}")).collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!("weights fit on all sets: {all_fit:?}");
    print_calibration(&all);
    ExitCode::SUCCESS
}
