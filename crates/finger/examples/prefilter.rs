//! Measures how well the pre-filter ranks mates on real sets: for every image, the rank of its best mate among
//! all other images of the set by signature alone (`cargo run --release --example prefilter -- DIR...`).
fn main() {
    for dir in std::env::args().skip(1) {
        let mut items = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            let Some((finger, _)) = stem.rsplit_once('_') else {
                continue;
            };
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if let Ok(t) =
                garita_finger::load_image(&bytes, None).and_then(|i| garita_finger::extract(&i))
            {
                items.push((finger.to_owned(), garita_finger::Signature::new(&t)));
            }
        }
        let mut ranks = Vec::new();
        for (i, (finger, sig)) in items.iter().enumerate() {
            let norm = |s: &garita_finger::Signature| f64::from(s.count().max(1)).sqrt();
            let mut scored: Vec<(f64, bool)> = items
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (f, s))| {
                    let common = f64::from(sig.common(s));
                    let chance = f64::from(sig.count()) * f64::from(s.count())
                        / (garita_finger::SIGNATURE_WORDS * 64) as f64;
                    // The same ranking as the gallery's scan: bits shared beyond chance over √(entry bits).
                    ((common - chance) / norm(s), f == finger)
                })
                .collect();
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
}
