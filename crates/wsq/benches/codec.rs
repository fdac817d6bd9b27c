//! WSQ decode and encode speed on the shared fingerprint images, and the ratio against NBIS in the same run.
//!
//! `cargo bench -p garita-wsq` runs criterion on "decode all files" and "encode all images" (0.75 bpp), then times
//! each file in-process, best of N, and asks scripts/wsq_nbis.py (NBIS through PyPI `wsq`, see
//! scripts/wsq-reference.sh) for NBIS's best of N on the same inputs, and prints the NBIS/garita time ratio (above 1
//! means garita is faster). Both sides are timed in thread CPU time (user + system, Linux `schedstat` here, Python's
//! `thread_time` there) as well as wall time: the development machines are shared by several builds, and CPU time is
//! what stays comparable under that load. NBIS is timed around the C call inside Python, so process start-up is
//! excluded; Python's call overhead is microseconds against milliseconds of codec work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use garita_wsq::{EncodeOptions, GrayImage, decode, encode};

const REPEATS: usize = 7;

fn data_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wsq");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wsq"))
        .collect();
    files.sort();
    (!files.is_empty()).then_some(files)
}

/// CPU time of the calling thread in seconds (Linux), if available.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Best of N (wall seconds, CPU seconds) for one call.
fn best_of<F: FnMut()>(mut f: F) -> (f64, f64) {
    let mut best = (f64::INFINITY, f64::INFINITY);
    for _ in 0..REPEATS {
        let (t, c) = (Instant::now(), thread_cpu_seconds());
        f();
        let wall = t.elapsed().as_secs_f64();
        let cpu = match (c, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall,
        };
        best = (best.0.min(wall), best.1.min(cpu));
    }
    best
}

fn sum(times: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    times.fold((0.0, 0.0), |acc, t| (acc.0 + t.0, acc.1 + t.1))
}

/// Sum over inputs of NBIS's best-of-N (wall, CPU) seconds, or `None` when the reference is not installed.
fn nbis_seconds(args: &[String]) -> Option<(f64, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/wsq_nbis.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    // {"seconds": [a, ...], "cpu_seconds": [b, ...]}: sum the numbers without a JSON dependency.
    let list = |i: usize| -> Option<f64> {
        let body = text.split('[').nth(i)?.split(']').next()?;
        body.split(',').map(|s| s.trim().parse::<f64>().ok()).sum()
    };
    Some((list(1)?, list(2)?))
}

fn bench(c: &mut Criterion) {
    let Some(files) = data_files() else {
        eprintln!("skipping: shared WSQ data not found");
        return;
    };
    let inputs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let images: Vec<GrayImage> = inputs.iter().map(|d| decode(d).unwrap()).collect();
    let options = EncodeOptions::default();
    let megapixels: f64 = images
        .iter()
        .map(|i| f64::from(i.width() * i.height()))
        .sum::<f64>()
        / 1e6;

    let mut group = c.benchmark_group("wsq");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("decode_all", |b| {
        b.iter(|| {
            inputs
                .iter()
                .for_each(|d| drop(black_box(decode(d).unwrap())))
        })
    });
    group.bench_function("encode_all", |b| {
        b.iter(|| {
            images
                .iter()
                .for_each(|i| drop(black_box(encode(i, &options).unwrap())))
        })
    });
    group.finish();

    let ours_decode = sum(inputs
        .iter()
        .map(|d| best_of(|| drop(black_box(decode(d).unwrap())))));
    let ours_encode = sum(images
        .iter()
        .map(|i| best_of(|| drop(black_box(encode(i, &options).unwrap())))));
    println!(
        "garita-wsq: {} images, {megapixels:.2} Mpx: decode {:.1} ms wall / {:.1} ms CPU ({:.1} Mpx/s CPU), \
         encode {:.1} ms wall / {:.1} ms CPU ({:.1} Mpx/s CPU)",
        images.len(),
        ours_decode.0 * 1e3,
        ours_decode.1 * 1e3,
        megapixels / ours_decode.1,
        ours_encode.0 * 1e3,
        ours_encode.1 * 1e3,
        megapixels / ours_encode.1
    );

    let tmp = tempfile::tempdir().unwrap();
    let mut decode_args = vec!["time-decode".to_string(), REPEATS.to_string()];
    decode_args.extend(files.iter().map(|p| p.display().to_string()));
    let mut encode_args = vec!["time-encode".to_string(), REPEATS.to_string()];
    for (n, image) in images.iter().enumerate() {
        let raw = tmp.path().join(format!("{n}.raw"));
        std::fs::write(&raw, image.pixels()).unwrap();
        encode_args.push(format!(
            "{}:{}:{}",
            raw.display(),
            image.width(),
            image.height()
        ));
    }
    match (nbis_seconds(&decode_args), nbis_seconds(&encode_args)) {
        (Some(nbis_decode), Some(nbis_encode)) => {
            println!(
                "NBIS (PyPI wsq): decode {:.1} ms wall / {:.1} ms CPU, encode {:.1} ms wall / {:.1} ms CPU",
                nbis_decode.0 * 1e3,
                nbis_decode.1 * 1e3,
                nbis_encode.0 * 1e3,
                nbis_encode.1 * 1e3
            );
            println!(
                "speed ratio NBIS time / garita time (>1: garita faster): decode {:.2}x CPU ({:.2}x wall), \
                 encode {:.2}x CPU ({:.2}x wall)",
                nbis_decode.1 / ours_decode.1,
                nbis_decode.0 / ours_decode.0,
                nbis_encode.1 / ours_encode.1,
                nbis_encode.0 / ours_encode.0
            );
        }
        _ => println!("NBIS reference not available (run scripts/wsq-reference.sh): no ratio"),
    }
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
