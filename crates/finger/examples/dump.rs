//! Prints the minutiae count per image and, with `--png DIR`, writes an overlay of what the extractor saw
//! (development aid): `cargo run --release --example dump -- [--png DIR] FILES...`.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut out_dir = None;
    if args.first().map(String::as_str) == Some("--png") && args.len() > 1 {
        out_dir = Some(args[1].clone());
        args.drain(0..2);
    }
    for path in args {
        let bytes = std::fs::read(&path).unwrap_or_default();
        let t0 = std::time::Instant::now();
        let mut sink = Vec::new();
        let res = garita_finger::load_image(&bytes, None)
            .and_then(|img| garita_finger::extract_debug(&img, &mut sink).map(|t| (img, t)));
        match res {
            Ok((img, t)) => {
                println!(
                    "{path}\t{}\tq={}\t{:.0} ms",
                    t.minutiae.len(),
                    t.quality,
                    t0.elapsed().as_secs_f64() * 1e3
                );
                if let Some(dir) = &out_dir {
                    write_overlay(dir, &path, &img, &t, &sink);
                }
            }
            Err(e) => println!("{path}\terror: {e}"),
        }
    }
}

fn write_overlay(
    dir: &str,
    path: &str,
    img: &garita_finger::FingerImage,
    t: &garita_finger::Template,
    sink: &[u8],
) {
    let (w, h) = (img.width(), img.height());
    if sink.len() != (w * h) as usize {
        return;
    }
    let mut rgb = image::RgbImage::new(w * 2, h);
    for y in 0..h {
        for x in 0..w {
            let g = img.pixels()[(y * w + x) as usize];
            rgb.put_pixel(x, y, image::Rgb([g, g, g]));
            let s = sink[(y * w + x) as usize];
            rgb.put_pixel(x + w, y, image::Rgb([s, s, s]));
        }
    }
    for m in &t.minutiae {
        let colour = match m.kind {
            garita_finger::MinutiaKind::Ending => image::Rgb([255, 0, 0]),
            _ => image::Rgb([0, 0, 255]),
        };
        for off in [0, w] {
            let (dx, dy) = m.direction();
            for step in 0..10 {
                let px = m.x + dx * step as f32 + off as f32;
                let py = m.y + dy * step as f32;
                if px >= 0.0 && py >= 0.0 && (px as u32) < 2 * w && (py as u32) < h {
                    rgb.put_pixel(px as u32, py as u32, image::Rgb([0, 200, 0]));
                }
            }
            for ddy in -2i32..=2 {
                for ddx in -2i32..=2 {
                    let px = m.x as i32 + ddx + off as i32;
                    let py = m.y as i32 + ddy;
                    if (ddx.abs() == 2 || ddy.abs() == 2)
                        && px >= 0
                        && py >= 0
                        && (px as u32) < 2 * w
                        && (py as u32) < h
                    {
                        rgb.put_pixel(px as u32, py as u32, colour);
                    }
                }
            }
        }
    }
    let name = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = std::path::Path::new(path)
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = rgb.save(format!("{dir}/{parent}_{name}.png"));
}
