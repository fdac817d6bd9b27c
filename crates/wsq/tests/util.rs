//! Shared helpers: the shared data folder, PNG loading, pixel statistics and the NBIS reference script.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `/work/shared/data/wsq`, reached from the crate as the working rules ask.
pub fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wsq");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared WSQ data {} not found", dir.display());
        None
    }
}

/// The `fp-N.wsq` files with their numbers, in order.
pub fn wsq_files(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let n = name
                .strip_prefix("fp-")?
                .strip_suffix(".wsq")?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fp-N.wsq in {}", dir.display());
    files
}

/// Loads a PNG as 8-bit gray (the red channel of RGB images, which are gray here).
pub fn load_png_gray(path: &Path) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let gray = buf[..frame.buffer_size()]
        .chunks(channels)
        .map(|px| px[0])
        .collect();
    (frame.width, frame.height, gray)
}

/// Comparison of two equally sized pixel buffers.
#[derive(Debug, Clone, Copy)]
pub struct Diff {
    pub max: u8,
    pub identical_pct: f64,
    pub within1_pct: f64,
}

pub fn diff(a: &[u8], b: &[u8]) -> Diff {
    assert_eq!(a.len(), b.len());
    let mut max = 0;
    let (mut same, mut within1) = (0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        let d = x.abs_diff(y);
        max = max.max(d);
        same += usize::from(d == 0);
        within1 += usize::from(d <= 1);
    }
    let n = a.len() as f64;
    Diff {
        max,
        identical_pct: 100.0 * same as f64 / n,
        within1_pct: 100.0 * within1 as f64 / n,
    }
}

/// Peak signal-to-noise ratio in dB of `b` against `a`.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Runs `scripts/wsq_nbis.py` (NBIS through PyPI `wsq`).
pub struct Nbis {
    script: PathBuf,
    python: String,
}

impl Nbis {
    /// The reference, or `None` (with a "skipping" message) when `python3 -c "import _wsq"` fails.
    pub fn get() -> Option<Nbis> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/wsq_nbis.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let ok = Command::new(&python)
            .arg(&script)
            .arg("check")
            .output()
            .map(|o| o.status.success());
        if ok.unwrap_or(false) {
            Some(Nbis { script, python })
        } else {
            eprintln!(
                "skipping: NBIS reference not available (python3 module `wsq` missing; run scripts/wsq-reference.sh)"
            );
            None
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg(&self.script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "wsq_nbis.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// NBIS decode of `wsq` bytes.
    pub fn decode(&self, wsq: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.wsq"), dir.path().join("out.raw"));
        std::fs::write(&input, wsq).unwrap();
        self.run(&["decode", input.to_str().unwrap(), output.to_str().unwrap()]);
        std::fs::read(output).unwrap()
    }

    /// Any image Pillow reads (the uncompressed FVC TIFF scans), as 8-bit gray.
    pub fn load_gray(&self, path: &Path) -> (u32, u32, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("out.raw");
        let json = self.run(&["to-raw", path.to_str().unwrap(), output.to_str().unwrap()]);
        let number = |key: &str| -> u32 {
            let rest = json.split(&format!("\"{key}\": ")).nth(1).unwrap();
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        (
            number("width"),
            number("height"),
            std::fs::read(output).unwrap(),
        )
    }

    /// NBIS encode at 0.75 bpp and 500 ppi.
    pub fn encode(&self, width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
        self.encode_at(width, height, pixels, 0.75, 500)
    }

    /// NBIS encode at a chosen bitrate and resolution.
    pub fn encode_at(
        &self,
        width: u32,
        height: u32,
        pixels: &[u8],
        bitrate: f32,
        ppi: u16,
    ) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.raw"), dir.path().join("out.wsq"));
        std::fs::write(&input, pixels).unwrap();
        let (w, h, b, p) = (
            width.to_string(),
            height.to_string(),
            bitrate.to_string(),
            ppi.to_string(),
        );
        self.run(&[
            "encode",
            input.to_str().unwrap(),
            &w,
            &h,
            output.to_str().unwrap(),
            &b,
            &p,
        ]);
        std::fs::read(output).unwrap()
    }
}

/// Crops a row-major image.
pub fn crop(pixels: &[u8], width: u32, x: u32, y: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h) as usize);
    for row in y..y + h {
        let start = (row * width + x) as usize;
        out.extend_from_slice(&pixels[start..start + w as usize]);
    }
    out
}
