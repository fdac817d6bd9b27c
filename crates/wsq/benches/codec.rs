//! WSQ decode and encode speed on the shared fingerprint images, and the ratio against NBIS in the same run.
//!
//! `cargo bench -p garita-wsq` runs criterion on "decode all files" and "encode all images" (0.75 bpp), then times
//! the same work in-process with best-of-N wall time and asks scripts/wsq_nbis.py (NBIS through PyPI `wsq`, see
//! scripts/wsq-reference.sh) for NBIS's best-of-N on the same inputs, and prints the NBIS/garita time ratio (above 1
//! means garita is faster). The NBIS times are measured around the C call inside Python, so they exclude process
//! start-up; Python's call overhead per image is microseconds against milliseconds of codec work.
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

fn best_of<F: FnMut()>(mut f: F) -> Duration {
    (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Sum over inputs of NBIS's best-of-N seconds, or `None` when the reference is not installed.
fn nbis_seconds(args: &[String]) -> Option<f64> {
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
    // {"seconds": [a, b, ...]}: sum the numbers without a JSON dependency.
    let list = text.split('[').nth(1)?.split(']').next()?;
    list.split(',').map(|s| s.trim().parse::<f64>().ok()).sum()
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

    let ours_decode = best_of(|| {
        inputs
            .iter()
            .for_each(|d| drop(black_box(decode(d).unwrap())))
    })
    .as_secs_f64();
    let ours_encode = best_of(|| {
        images
            .iter()
            .for_each(|i| drop(black_box(encode(i, &options).unwrap())))
    })
    .as_secs_f64();
    println!(
        "garita-wsq: {} images, {megapixels:.2} Mpx: decode {:.1} ms ({:.1} Mpx/s), encode {:.1} ms ({:.1} Mpx/s)",
        images.len(),
        ours_decode * 1e3,
        megapixels / ours_decode,
        ours_encode * 1e3,
        megapixels / ours_encode
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
        (Some(nbis_decode), Some(nbis_encode)) => println!(
            "NBIS (PyPI wsq): decode {:.1} ms, encode {:.1} ms; speed ratio NBIS time / garita time: decode {:.2}x, \
             encode {:.2}x",
            nbis_decode * 1e3,
            nbis_encode * 1e3,
            nbis_decode / ours_decode,
            nbis_encode / ours_encode
        ),
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
