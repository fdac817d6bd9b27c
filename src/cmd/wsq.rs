//! `garita wsq ...`: FBI WSQ fingerprint images.

use anyhow::{Context, bail};
use garita_wsq::{EncodeOptions, GrayImage};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Decode a WSQ file to an 8-bit grey PNG.
    Decode {
        /// Input .wsq
        input: PathBuf,
        /// Output .png
        output: PathBuf,
    },
    /// Encode an 8-bit grey PNG or binary PGM (P5) as WSQ.
    Encode {
        /// Input .png or .pgm
        input: PathBuf,
        /// Output .wsq
        output: PathBuf,
        /// Target bitrate in bits per pixel (0.75 is the FBI's usual rate for 500 ppi)
        #[arg(long, default_value_t = 0.75)]
        bitrate: f32,
        /// Resolution to record [default: from the PNG, else 500]
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Print size, resolution, bitrate and comments of a WSQ file.
    Info {
        /// Input .wsq
        file: PathBuf,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn read_pgm(bytes: &[u8]) -> anyhow::Result<GrayImage> {
    // Binary PGM: "P5", width, height, maxval (255), one whitespace, then the pixels; comments start with '#'.
    let mut fields = Vec::new();
    let mut position = 0;
    while fields.len() < 4 {
        while position < bytes.len() && bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        if bytes.get(position) == Some(&b'#') {
            while position < bytes.len() && bytes[position] != b'\n' {
                position += 1;
            }
            continue;
        }
        let start = position;
        while position < bytes.len() && !bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        if start == position {
            bail!("truncated PGM header");
        }
        fields.push(String::from_utf8_lossy(&bytes[start..position]).into_owned());
    }
    if fields[0] != "P5" || fields[3] != "255" {
        bail!("only binary 8-bit PGM (P5, maxval 255) is supported");
    }
    let width: u32 = fields[1].parse().context("PGM width")?;
    let height: u32 = fields[2].parse().context("PGM height")?;
    let pixels = bytes.get(position + 1..).unwrap_or_default().to_vec();
    Ok(GrayImage::new(width, height, pixels)?)
}

fn read_png(bytes: &[u8]) -> anyhow::Result<GrayImage> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().context("not a PNG")?;
    let ppi = reader.info().pixel_dims.and_then(|dims| {
        (dims.unit == png::Unit::Meter).then(|| (f64::from(dims.xppu) * 0.0254).round() as u16)
    });
    let mut buffer = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buffer).context("decoding the PNG")?;
    let pixels = &buffer[..frame.buffer_size()];
    let grey: Vec<u8> = match frame.color_type {
        png::ColorType::Grayscale => pixels.to_vec(),
        png::ColorType::GrayscaleAlpha => pixels.chunks_exact(2).map(|p| p[0]).collect(),
        png::ColorType::Rgb => pixels.chunks_exact(3).map(luma).collect(),
        png::ColorType::Rgba => pixels.chunks_exact(4).map(luma).collect(),
        png::ColorType::Indexed => bail!("indexed PNG could not be expanded"),
    };
    Ok(GrayImage::new(frame.width, frame.height, grey)?.with_ppi(ppi))
}

fn luma(rgb: &[u8]) -> u8 {
    // ITU-R BT.601 weights, as fingerprint tools convert colour scans.
    let value = 0.299 * f32::from(rgb[0]) + 0.587 * f32::from(rgb[1]) + 0.114 * f32::from(rgb[2]);
    value.round().clamp(0.0, 255.0) as u8
}

fn write_png(path: &Path, image: &GrayImage) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut encoder =
        png::Encoder::new(std::io::BufWriter::new(file), image.width(), image.height());
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    if let Some(ppi) = image.ppi() {
        let ppm = (f64::from(ppi) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
    }
    let mut writer = encoder.write_header()?;
    writer.write_image_data(image.pixels())?;
    writer.finish()?;
    Ok(())
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Decode { input, output } => {
            let image = garita_wsq::decode(&read(&input)?)
                .with_context(|| format!("decoding {}", input.display()))?;
            write_png(&output, &image)?;
            eprintln!(
                "wrote {} ({}x{})",
                output.display(),
                image.width(),
                image.height()
            );
        }
        Command::Encode {
            input,
            output,
            bitrate,
            ppi,
        } => {
            if !(bitrate.is_finite() && bitrate > 0.0) {
                bail!("--bitrate must be a positive number of bits per pixel");
            }
            let bytes = read(&input)?;
            let image = if bytes.starts_with(b"P5") {
                read_pgm(&bytes)?
            } else {
                read_png(&bytes)?
            };
            let ppi = ppi.or(image.ppi()).unwrap_or(500);
            let options = EncodeOptions {
                bitrate,
                ppi: Some(ppi),
                ..EncodeOptions::default()
            };
            let wsq = garita_wsq::encode(&image, &options)
                .with_context(|| format!("encoding {}", input.display()))?;
            std::fs::write(&output, &wsq)
                .with_context(|| format!("writing {}", output.display()))?;
            eprintln!(
                "wrote {} ({} bytes, {:.2} bpp)",
                output.display(),
                wsq.len(),
                wsq.len() as f64 * 8.0 / (f64::from(image.width()) * f64::from(image.height()))
            );
        }
        Command::Info { file, json } => {
            let info = garita_wsq::info(&read(&file)?)
                .with_context(|| format!("reading {}", file.display()))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "width": info.width, "height": info.height, "ppi": info.ppi, "bitrate": info.bitrate,
                        "file_size": info.file_size, "comments": info.comments,
                    }))?
                );
            } else {
                println!("size: {}x{}", info.width, info.height);
                println!(
                    "ppi: {}",
                    info.ppi.map_or("unknown".to_owned(), |ppi| ppi.to_string())
                );
                println!(
                    "bitrate: {:.3} bpp ({} bytes)",
                    info.bitrate, info.file_size
                );
                for comment in &info.comments {
                    println!("comment: {}", comment.replace('\n', " | "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
