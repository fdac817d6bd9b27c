//! Extractor × matcher on one set of `<finger>_<impression>.<ext>` images, all i<j pairs (first image = probe):
//! garita's extractor with garita's MCC always; with NIST NBIS bozorth3 (`GARITA_BOZORTH3` or `PATH`) also garita
//! minutiae + bozorth3; with `--xyt DIR` (mindtct's `.xyt` files, same stems as the images) also mindtct + bozorth3
//! and mindtct + MCC. NBIS is the user's own build; garita never builds it. Prints markdown rows (docs/finger.md,
//! "bozorth3 side by side"):
//! `cargo run --release -p garita-finger --example cross -- [--xyt DIR] SET_DIR`.
use std::path::{Path, PathBuf};

use garita_finger::{MccTemplate, Template};

struct Set {
    name: String,
    stems: Vec<String>,
    fingers: Vec<String>,
    /// garita's template per image (`None` when extraction failed), and the image size.
    garita: Vec<Option<Template>>,
    sizes: Vec<(u32, u32, u32)>,
}

fn load(dir: &Path) -> Result<Set, String> {
    let images = garita_finger::set_images(dir).map_err(|e| e.to_string())?;
    let mut set = Set {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        stems: Vec::new(),
        fingers: Vec::new(),
        garita: Vec::new(),
        sizes: Vec::new(),
    };
    for garita_finger::SetImage { path, finger, .. } in images {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let image = garita_finger::load_image(&bytes, None)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        set.sizes.push((image.width(), image.height(), image.ppi()));
        set.garita.push(garita_finger::extract(&image).ok());
        set.stems.push(
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        set.fingers.push(finger);
    }
    Ok(set)
}

fn pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect()
}

fn row(set: &Set, label: &str, scores: &[f32], minutiae: f64) {
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (&(i, j), &s) in pairs(set.stems.len()).iter().zip(scores) {
        if set.fingers[i] == set.fingers[j] {
            genuine.push(s);
        } else {
            impostor.push(s);
        }
    }
    let r = garita_finger::rates(&genuine, &impostor);
    println!(
        "| `{}` | {label} | {:.2} | {:.2} | {:.2} | {}/{} | {minutiae:.0} |",
        set.name, r.eer, r.fmr100, r.fmr1000, r.genuine, r.impostor
    );
}

fn mcc_scores(set: &Set, templates: &[Option<Template>]) -> Vec<f32> {
    let prepared: Vec<Option<MccTemplate>> = templates
        .iter()
        .map(|t| t.as_ref().map(MccTemplate::new))
        .collect();
    pairs(set.stems.len())
        .iter()
        .map(|&(i, j)| match (&prepared[i], &prepared[j]) {
            (Some(a), Some(b)) => garita_finger::compare(a, b),
            _ => 0.0,
        })
        .collect()
}

fn bozorth3_scores(
    exe: &Path,
    set: &Set,
    files: &[PathBuf],
    scratch: &Path,
) -> Result<Vec<f32>, String> {
    let file_pairs: Vec<(PathBuf, PathBuf)> = pairs(set.stems.len())
        .iter()
        .map(|&(i, j)| (files[i].clone(), files[j].clone()))
        .collect();
    garita_finger::run_bozorth3(exe, &file_pairs, scratch)
        .map(|s| s.into_iter().map(|v| v as f32).collect())
        .map_err(|e| e.to_string())
}

fn mean_minutiae(templates: &[Option<Template>]) -> f64 {
    let sum: usize = templates.iter().flatten().map(|t| t.minutiae.len()).sum();
    sum as f64 / templates.len().max(1) as f64
}

fn run(args: &[String]) -> Result<(), String> {
    let (xyt_dir, set_dir) = match args {
        [flag, xyt, set] if flag == "--xyt" => (Some(PathBuf::from(xyt)), PathBuf::from(set)),
        [set] => (None, PathBuf::from(set)),
        _ => return Err("usage: cross [--xyt MINDTCT_XYT_DIR] SET_DIR".into()),
    };
    let set = load(&set_dir)?;
    let bozorth3 = garita_finger::find_bozorth3();
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!(
        "| set | extractor + matcher | EER | FMR100 | FMR1000 | genuine/impostor | mean minutiae |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mindtct: Option<Vec<Option<Template>>> = match &xyt_dir {
        Some(dir) => Some(
            set.stems
                .iter()
                .zip(&set.sizes)
                .map(|(stem, &(w, h, ppi))| {
                    let path = dir.join(format!("{stem}.xyt"));
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    garita_finger::from_xyt(&text, w, h, ppi)
                        .map(Some)
                        .map_err(|e| format!("{}: {e}", path.display()))
                })
                .collect::<Result<_, String>>()?,
        ),
        None => None,
    };
    if let (Some(exe), Some(dir), Some(m)) = (&bozorth3, &xyt_dir, &mindtct) {
        let files: Vec<PathBuf> = set
            .stems
            .iter()
            .map(|s| dir.join(format!("{s}.xyt")))
            .collect();
        let scores = bozorth3_scores(exe, &set, &files, scratch.path())?;
        row(&set, "mindtct + bozorth3", &scores, mean_minutiae(m));
    }
    if let Some(exe) = &bozorth3 {
        let mut files = Vec::new();
        for (stem, t) in set.stems.iter().zip(&set.garita) {
            let path = scratch.path().join(format!("{stem}.xyt"));
            let text = t.as_ref().map(garita_finger::to_xyt).unwrap_or_default();
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            files.push(path);
        }
        let scores = bozorth3_scores(exe, &set, &files, scratch.path())?;
        row(
            &set,
            "garita + bozorth3",
            &scores,
            mean_minutiae(&set.garita),
        );
    } else {
        eprintln!("no bozorth3 (set GARITA_BOZORTH3 or put it on PATH): bozorth3 rows skipped");
    }
    if let Some(m) = &mindtct {
        row(
            &set,
            "mindtct + garita MCC",
            &mcc_scores(&set, m),
            mean_minutiae(m),
        );
    }
    row(
        &set,
        "garita + garita MCC",
        &mcc_scores(&set, &set.garita),
        mean_minutiae(&set.garita),
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cross: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
