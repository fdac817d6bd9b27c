//! Measures how well the pre-filter ranks mates on real sets: for every image, the rank of its best mate among
//! all other images of the set by signature alone (`cargo run --release --example prefilter -- DIR...`).
//!
//! Then estimates the multi-finger shortlist of `SubjectGallery` at scale: every real probe's scores are
//! standardised over its scan (as the gallery does), mated and non-mated z-scores are pooled over all sets, and
//! fused scores of k-finger probes are drawn from those pools (fingers assumed independent). For a gallery of
//! a million subjects it prints how often the mate's fused score beats the 50th best of a million impostors'
//! — the chance that the mate survives a 50-subject shortlist.
//!
//! `--cache DIR` (before the set folders) keeps each extracted template in `DIR/<set>/<image>.gft`
//! (`Template::to_bytes`), so later runs skip extraction and take seconds; delete `DIR` when done.
mod common;

fn main() {
    let mut genuine_z: Vec<f64> = Vec::new();
    let mut impostor_z: Vec<f64> = Vec::new();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let cache = match args.first().map(String::as_str) {
        Some("--cache") if args.len() > 1 => {
            let dir = std::path::PathBuf::from(args.remove(1));
            args.remove(0);
            Some(dir)
        }
        _ => None,
    };
    for dir in args {
        let set_cache = cache
            .as_ref()
            .map(|c| c.join(common::set_name(std::path::Path::new(&dir))));
        let Ok(images) = garita_finger::set_images(std::path::Path::new(&dir)) else {
            continue;
        };
        let items: Vec<(String, garita_finger::Signature)> = images
            .into_iter()
            .filter_map(|image| {
                let t = common::template(&image.path, set_cache.as_deref()).ok()?;
                Some((image.finger, garita_finger::Signature::new(&t)))
            })
            .collect();
        let mut ranks = Vec::new();
        for (i, (finger, sig)) in items.iter().enumerate() {
            // The gallery scan's own score.
            let mut scored: Vec<(f64, bool)> = items
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (f, s))| (sig.score(s) as f64, f == finger))
                .collect();
            let n = scored.len().max(1) as f64;
            let mean = scored.iter().map(|s| s.0).sum::<f64>() / n;
            let sd = (scored.iter().map(|s| (s.0 - mean).powi(2)).sum::<f64>() / n).sqrt();
            if sd > 0.0 {
                // The best mate only: a gallery holds one or a few encounters of a person.
                let best_mate = scored
                    .iter()
                    .filter(|s| s.1)
                    .map(|s| s.0)
                    .fold(f64::MIN, f64::max);
                if best_mate > f64::MIN {
                    genuine_z.push((best_mate - mean) / sd);
                }
                impostor_z.extend(scored.iter().filter(|s| !s.1).map(|s| (s.0 - mean) / sd));
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            if let Some(rank) = scored.iter().position(|s| s.1) {
                ranks.push(rank as f64 / scored.len() as f64);
            }
        }
        ranks.sort_by(f64::total_cmp);
        let q = |p: f64| {
            ranks
                .get(((ranks.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(1.0)
                * 100.0
        };
        println!(
            "{dir}: penetration to reach the best mate: median {:.1} %, 90th {:.1} %, 99th {:.1} %, max {:.1} %",
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0)
        );
    }
    let default = garita_finger::SubjectSearchParams::default();
    shortlist_at_scale(&genuine_z, &impostor_z, 1_000_000, |_| 50);
    shortlist_at_scale(&genuine_z, &impostor_z, 1_000_000, |fingers| {
        default.subjects_for(fingers)
    });
}

/// Fraction of simulated k-finger probes whose mate's fused z-score beats the `shortlist(k)`-th best of
/// `subjects` impostors' fused scores, for k = 1, 2, 4, 10.
fn shortlist_at_scale(
    genuine: &[f64],
    impostor: &[f64],
    subjects: usize,
    shortlist_for: impl Fn(usize) -> usize,
) {
    if genuine.is_empty() || impostor.is_empty() {
        return;
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut draw = |pool: &[f64]| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        pool[(state % pool.len() as u64) as usize]
    };
    for fingers in [1usize, 2, 4, 10] {
        let shortlist = shortlist_for(fingers);
        // The shortlist-th best of `subjects` impostor subjects.
        let mut top: Vec<f64> = Vec::with_capacity(shortlist + 1);
        for _ in 0..subjects {
            let fused: f64 = (0..fingers).map(|_| draw(impostor)).sum();
            if top.len() < shortlist || fused > top[top.len() - 1] {
                let at = top.partition_point(|&t| t >= fused);
                top.insert(at, fused);
                top.truncate(shortlist);
            }
        }
        let cut = top.last().copied().unwrap_or(f64::MIN);
        let trials = 20_000;
        let kept = (0..trials)
            .filter(|_| (0..fingers).map(|_| draw(genuine)).sum::<f64>() > cut)
            .count();
        println!(
            "{fingers:>2}-finger probes, {subjects} subjects, shortlist {shortlist}: mate kept in {:.2} % \
             (z-scores from {} mated and {} non-mated real pairs)",
            100.0 * kept as f64 / f64::from(trials),
            genuine.len(),
            impostor.len()
        );
    }
}
