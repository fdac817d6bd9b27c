//! Side-by-side runs of NIST NBIS `bozorth3`, the reference minutiae matcher, on garita's own templates.
//!
//! NBIS is not part of garita and is never built by it: when a user has a `bozorth3` executable (environment
//! variable `GARITA_BOZORTH3`, else `bozorth3` on `PATH`), [`crate::run_bench`] writes its seed templates as
//! NBIS `.xyt` files and times `bozorth3` on a fixed list of pairs next to garita's MCC on the same pairs.
//!
//! `.xyt` is NBIS's plain minutiae file, one minutia per line, `x y theta quality`, in the "NIST internal"
//! representation that `mindtct` writes and `bozorth3` reads by default (NBIS `lfs2nist_minutia_XYT`):
//! pixels with the origin at the **bottom**-left (y up, `y = height - row`), theta in whole degrees
//! counter-clockwise from east, pointing **out of** the ridge ending or bifurcation valley, which is opposite to
//! the ISO/ANSI-378 direction that [`Template`] holds. So an ISO angle `a` becomes `deg(a) + 180` mod 360. The
//! matcher works in 500 ppi pixels, so coordinates are scaled to 500 ppi.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Serialize;

use crate::error::FingerError;
use crate::mcc::{MccTemplate, compare};
use crate::template::{Minutia, MinutiaKind, Template, wrap_angle};

/// Environment variable naming the `bozorth3` executable; when unset, `bozorth3` is looked up on `PATH`.
pub const BOZORTH3_ENV: &str = "GARITA_BOZORTH3";

/// Most pairs [`bench_bozorth3`] times (bozorth3 takes 1–5 ms a pair, so this stays under about ten seconds).
pub const BOZORTH3_BENCH_PAIRS: usize = 2000;

/// One minutia in NBIS "NIST internal" `.xyt` units: `(x, y, theta, quality)` (see the module docs).
#[must_use]
pub fn xyt_minutia(m: &Minutia, template: &Template) -> (i32, i32, i32, u8) {
    let scale = 500.0 / template.ppi.max(1) as f32;
    let x = (m.x * scale).round() as i32;
    let y = ((template.height as f32 - m.y) * scale).round() as i32;
    let theta = (m.angle.to_degrees() + 180.0).round().rem_euclid(360.0) as i32;
    (x.max(0), y.max(0), theta, m.quality.min(100))
}

/// The template as the text of an NBIS `.xyt` file (`x y theta quality` per line).
#[must_use]
pub fn to_xyt(template: &Template) -> String {
    let mut out = String::with_capacity(16 * template.minutiae.len());
    for m in &template.minutiae {
        let (x, y, theta, quality) = xyt_minutia(m, template);
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{x} {y} {theta} {quality}");
    }
    out
}

/// Reads an NBIS `.xyt` file (as `mindtct` writes it: "NIST internal", 500 ppi pixels) back into a [`Template`]
/// in garita's convention, for an image of `width` × `height` pixels at `ppi`: the inverse of [`to_xyt`].
/// Minutia kinds are unknown in `.xyt` ([`MinutiaKind::Other`]); a missing quality column reads as 0.
///
/// # Errors
/// [`FingerError::Malformed`] (offset = line number) for a line that is not 3 or 4 integers.
pub fn from_xyt(text: &str, width: u32, height: u32, ppi: u32) -> Result<Template, FingerError> {
    let scale = ppi.max(1) as f32 / 500.0;
    let mut minutiae = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = || FingerError::Malformed {
            format: "NBIS xyt",
            offset: line_no + 1,
            reason: "3 or 4 integers: x y theta [quality]",
        };
        let values = line
            .split_whitespace()
            .map(str::parse::<i32>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad())?;
        let (x, y, theta, quality) = match values[..] {
            [x, y, t] => (x, y, t, 0),
            [x, y, t, q] => (x, y, t, q),
            _ => return Err(bad()),
        };
        minutiae.push(Minutia {
            x: x as f32 * scale,
            y: (height as f32 - y as f32 * scale).max(0.0),
            angle: wrap_angle((theta as f32 - 180.0).to_radians()),
            kind: MinutiaKind::Other,
            quality: quality.clamp(0, 100) as u8,
        });
    }
    Ok(Template {
        width,
        height,
        ppi,
        quality: 0,
        minutiae,
    })
}

/// The `bozorth3` executable to use: `GARITA_BOZORTH3` when set (even if it does not exist, so a wrong path is
/// reported rather than silently skipped), else the first `bozorth3` file on `PATH`; `None` when neither.
#[must_use]
pub fn find_bozorth3() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(BOZORTH3_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("bozorth3"))
        .find(|candidate| candidate.is_file())
}

fn tool_error(reason: String) -> FingerError {
    FingerError::External {
        tool: "bozorth3",
        reason,
    }
}

/// Scores of `bozorth3 -M` (its mates-list batch mode: one process for all pairs) on `(probe, gallery)` pairs
/// of `.xyt` files, in pair order. `scratch` receives the mates list.
///
/// # Errors
/// [`FingerError::External`] when the process cannot start, exits unsuccessfully, or prints anything other
/// than one integer score per pair; [`FingerError::Io`] when the mates list cannot be written.
pub fn run_bozorth3(
    exe: &Path,
    pairs: &[(PathBuf, PathBuf)],
    scratch: &Path,
) -> Result<Vec<i32>, FingerError> {
    let list = scratch.join("mates.lis");
    let mut text = String::new();
    for (probe, gallery) in pairs {
        let _ = writeln!(text, "{}\n{}", probe.display(), gallery.display());
    }
    std::fs::write(&list, text).map_err(|source| FingerError::Io {
        path: list.clone(),
        source,
    })?;
    // bozorth3 refuses lists longer than `maxfiles` lines (default 10000).
    let output = Command::new(exe)
        .arg("-A")
        .arg(format!("maxfiles={}", 2 * pairs.len() + 1))
        .arg("-M")
        .arg(&list)
        .output()
        .map_err(|e| tool_error(format!("cannot run {}: {e}", exe.display())))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = match stderr.trim() {
        "" => String::new(),
        text => format!(" ({text})"),
    };
    if !output.status.success() {
        return Err(tool_error(format!(
            "{} exited with {}{stderr}",
            exe.display(),
            output.status
        )));
    }
    let scores = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.trim().parse::<i32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tool_error(format!("unexpected output (not one score per line): {e}")))?;
    if scores.len() != pairs.len() {
        return Err(tool_error(format!(
            "printed {} scores for {} pairs{stderr}",
            scores.len(),
            pairs.len()
        )));
    }
    Ok(scores)
}

/// bozorth3 against garita's MCC on the same pairs of the same templates, one core each.
#[derive(Clone, Debug, Serialize)]
pub struct Bozorth3Bench {
    /// The executable that was run.
    pub executable: String,
    /// Pairs compared (by both matchers).
    pub pairs: usize,
    /// Wall time of the one `bozorth3` process for all pairs (including its start-up and file reading), seconds.
    pub bozorth3_s: f64,
    /// bozorth3 comparisons per second on one core.
    pub bozorth3_per_s: f64,
    /// garita's full MCC comparisons per second on one core, on the same pairs (cylinders prepared beforehand,
    /// as a gallery holds them).
    pub garita_per_s: f64,
    /// `garita_per_s / bozorth3_per_s`.
    pub ratio: f64,
}

/// Whether the bozorth3 side-by-side ran.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Bozorth3Status {
    /// It ran.
    Measured(Bozorth3Bench),
    /// No executable was found.
    Skipped {
        /// Why and how to enable it.
        reason: String,
    },
    /// The executable was found but failed.
    Failed {
        /// The error.
        error: String,
    },
}

impl std::fmt::Display for Bozorth3Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Measured(b) => write!(
                f,
                "bozorth3 side by side ({} pairs): bozorth3 {:.0}/s/core, garita MCC {:.0}/s/core on the same \
                 pairs, ratio garita/bozorth3 {:.2}x",
                b.pairs, b.bozorth3_per_s, b.garita_per_s, b.ratio
            ),
            Self::Skipped { reason } => write!(f, "bozorth3 side by side skipped: {reason}"),
            Self::Failed { error } => write!(f, "bozorth3 side by side failed: {error}"),
        }
    }
}

/// Up to `max` pairs `(i, j)`, `i < j < n`, spread evenly over all of them (every k-th in row order).
#[must_use]
pub fn spread_pairs(n: usize, max: usize) -> Vec<(usize, usize)> {
    let total = n * n.saturating_sub(1) / 2;
    let stride = total.div_ceil(max.max(1)).max(1);
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .step_by(stride)
        .take(max)
        .collect()
}

/// Times `bozorth3` (at `exe`) and garita's MCC on the same up to `max_pairs` pairs of `seeds`.
///
/// # Errors
/// [`FingerError::Io`] when the scratch files cannot be written; [`FingerError::External`] when bozorth3 fails.
pub fn bench_bozorth3(
    exe: &Path,
    seeds: &[Template],
    max_pairs: usize,
) -> Result<Bozorth3Bench, FingerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FingerError::Io { path, source }
    };
    let dir = tempfile::Builder::new()
        .prefix("garita-bozorth3")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let mut files = Vec::with_capacity(seeds.len());
    for (k, t) in seeds.iter().enumerate() {
        let path = dir.path().join(format!("{k}.xyt"));
        std::fs::write(&path, to_xyt(t)).map_err(io(&path))?;
        files.push(path);
    }
    let pairs = spread_pairs(seeds.len(), max_pairs);
    if pairs.is_empty() {
        return Err(tool_error("fewer than two seed templates".into()));
    }
    let file_pairs: Vec<(PathBuf, PathBuf)> = pairs
        .iter()
        .map(|&(i, j)| (files[i].clone(), files[j].clone()))
        .collect();
    let start = Instant::now();
    run_bozorth3(exe, &file_pairs, dir.path())?;
    let bozorth3_s = start.elapsed().as_secs_f64();

    let prepared: Vec<MccTemplate> = seeds.iter().map(MccTemplate::new).collect();
    let (mut rounds, mut sink) = (0usize, 0.0f32);
    let start = Instant::now();
    while rounds == 0 || start.elapsed().as_secs_f64() < 1.0 {
        for &(i, j) in &pairs {
            sink += compare(&prepared[i], &prepared[j]);
        }
        rounds += 1;
    }
    std::hint::black_box(sink);
    let garita_per_s = (rounds * pairs.len()) as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let bozorth3_per_s = pairs.len() as f64 / bozorth3_s.max(1e-9);
    Ok(Bozorth3Bench {
        executable: exe.display().to_string(),
        pairs: pairs.len(),
        bozorth3_s,
        bozorth3_per_s,
        garita_per_s,
        ratio: garita_per_s / bozorth3_per_s,
    })
}

/// The side-by-side as [`crate::run_bench`] reports it: skipped without an executable, failed with its error.
#[must_use]
pub fn bozorth3_status(seeds: &[Template]) -> Bozorth3Status {
    let Some(exe) = find_bozorth3() else {
        return Bozorth3Status::Skipped {
            reason: format!(
                "no bozorth3 found; set {BOZORTH3_ENV}=/path/to/bozorth3 or put NIST NBIS bozorth3 on PATH"
            ),
        };
    };
    match bench_bozorth3(&exe, seeds, BOZORTH3_BENCH_PAIRS) {
        Ok(bench) => Bozorth3Status::Measured(bench),
        Err(e) => Bozorth3Status::Failed {
            error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(x: f32, y: f32, angle: f32, ppi: u32) -> Template {
        Template {
            width: 300,
            height: 400,
            ppi,
            quality: 60,
            minutiae: vec![Minutia {
                x,
                y,
                angle,
                kind: MinutiaKind::Ending,
                quality: 77,
            }],
        }
    }

    #[test]
    fn xyt_flips_y_and_reverses_direction() {
        // ISO 30° (up-right on screen) at column 10, row 20 of a 400-row image: NBIS y counts up from the
        // bottom (400 - 20) and its direction points the other way (210°).
        let t = one(10.4, 20.0, 30f32.to_radians(), 500);
        assert_eq!(to_xyt(&t), "10 380 210 77\n");
        // 200° wraps to 20°; 0° becomes 180°.
        assert_eq!(
            to_xyt(&one(0.0, 400.0, 200f32.to_radians(), 500)),
            "0 0 20 77\n"
        );
        assert_eq!(to_xyt(&one(299.0, 399.6, 0.0, 500)), "299 0 180 77\n");
    }

    #[test]
    fn xyt_scales_to_500_ppi() {
        // 1000 ppi: every pixel is half a 500 ppi pixel.
        let t = one(100.0, 100.0, std::f32::consts::FRAC_PI_2, 1000);
        assert_eq!(to_xyt(&t), "50 150 270 77\n");
    }

    #[test]
    fn xyt_reads_back_what_it_writes() {
        let t = crate::test_util::random_template(3, 30);
        let back = from_xyt(&to_xyt(&t), t.width, t.height, t.ppi).unwrap();
        assert_eq!(back.minutiae.len(), 30);
        for (a, b) in t.minutiae.iter().zip(&back.minutiae) {
            assert!(
                (a.x - b.x).abs() <= 0.5 && (a.y - b.y).abs() <= 0.5,
                "{a:?} {b:?}"
            );
            let turn = (a.angle - b.angle).rem_euclid(std::f32::consts::TAU);
            assert!(
                turn.min(std::f32::consts::TAU - turn) <= 0.6f32.to_radians(),
                "{a:?} {b:?}"
            );
            assert_eq!(a.quality, b.quality);
        }
        // A mindtct line: 3 columns, no quality.
        let m = from_xyt("100 380 210\n\n", 300, 400, 500).unwrap().minutiae;
        assert_eq!((m[0].x, m[0].y, m[0].quality), (100.0, 20.0, 0));
        assert!((m[0].angle - 30f32.to_radians()).abs() < 1e-5);
        assert!(matches!(
            from_xyt("1 2 3\n4 5\n", 300, 400, 500),
            Err(FingerError::Malformed { offset: 2, .. })
        ));
        assert!(from_xyt("1 2 x", 300, 400, 500).is_err());
    }

    #[test]
    fn spread_pairs_are_ordered_distinct_and_bounded() {
        let all = spread_pairs(10, 1000);
        assert_eq!(all.len(), 45);
        assert!(all.iter().all(|&(i, j)| i < j && j < 10));
        let some = spread_pairs(80, 2000);
        assert!(some.len() <= 2000 && some.len() >= 1500, "{}", some.len());
        assert!(
            some.iter().any(|&(i, _)| i > 60),
            "pairs reach the last seeds"
        );
        assert!(spread_pairs(1, 10).is_empty());
    }

    #[test]
    fn broken_executables_are_errors_not_panics() {
        let seeds = [
            crate::test_util::random_template(1, 20),
            crate::test_util::random_template(2, 20),
        ];
        // Absent, failing (exit 1) and babbling (`echo` prints its arguments, not scores) executables.
        for exe in ["/nonexistent/bozorth3", "false", "echo"] {
            let err = bench_bozorth3(Path::new(exe), &seeds, 10);
            assert!(
                matches!(
                    err,
                    Err(FingerError::External {
                        tool: "bozorth3",
                        ..
                    })
                ),
                "{exe}: {err:?}"
            );
        }
    }

    /// Runs the real bozorth3 when one is configured: `GARITA_BOZORTH3=/path/to/bozorth3 cargo test -p
    /// garita-finger -- --ignored bozorth3`.
    #[test]
    #[ignore = "needs NIST NBIS bozorth3 (GARITA_BOZORTH3 or PATH)"]
    fn real_bozorth3_scores_identical_prints_above_different_ones() {
        let Some(exe) = find_bozorth3() else {
            eprintln!("skipping: no bozorth3 ({BOZORTH3_ENV} unset, none on PATH)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let a = crate::test_util::random_template(7, 40);
        let b = crate::test_util::random_template(8, 40);
        let mut paths = Vec::new();
        for (name, t) in [("a", &a), ("b", &b)] {
            let p = dir.path().join(format!("{name}.xyt"));
            std::fs::write(&p, to_xyt(t)).unwrap();
            paths.push(p);
        }
        let pairs = vec![
            (paths[0].clone(), paths[0].clone()),
            (paths[0].clone(), paths[1].clone()),
        ];
        let scores = run_bozorth3(&exe, &pairs, dir.path()).unwrap();
        assert!(scores[0] > 100 && scores[1] < 40, "{scores:?}");
        let bench = bench_bozorth3(&exe, &[a, b], 10).unwrap();
        assert_eq!(bench.pairs, 1);
        assert!(bench.bozorth3_per_s > 0.0 && bench.ratio > 0.0);
    }
}
