#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests on the shared real fingerprint sets (`../shared/data/fingerprints`). Each test prints
//! "skipping" and returns when the data folder is absent. Full-set evaluations are `#[ignore]`d:
//! `cargo test --release -p garita-finger -- --ignored`.

use std::path::{Path, PathBuf};

use garita_finger::{
    FingerError, Gallery, MccTemplate, SearchParams, Template, ViewInfo, compare, eval_dir,
    extract, from_iso_19794_2, load_image, to_iso_19794_2,
};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fingerprints");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} not found", dir.display());
        None
    }
}

fn template(dir: &Path, rel: &str) -> Template {
    let bytes = std::fs::read(dir.join(rel)).unwrap();
    extract(&load_image(&bytes, None).unwrap()).unwrap()
}

fn score(a: &Template, b: &Template) -> f32 {
    compare(&MccTemplate::new(a), &MccTemplate::new(b))
}

#[test]
fn extraction_finds_minutiae_on_every_shared_set() {
    let Some(dir) = data_dir() else { return };
    for rel in [
        "FVC2000_DB1_B/101_1.tif",
        "FVC2000_DB1_B/105_4.tif",
        "FVC2000_DB3_B/101_1.tif",
        "FVC2000_DB4_B/103_2.tif",
        "toy_PNG/10_1.png",
    ] {
        let t = template(&dir, rel);
        assert!(
            t.minutiae.len() >= 10,
            "{rel}: only {} minutiae",
            t.minutiae.len()
        );
        assert!(t.minutiae.len() <= garita_finger::MAX_MINUTIAE);
        for m in &t.minutiae {
            assert!(
                m.x >= 0.0 && m.x < t.width as f32 && m.y >= 0.0 && m.y < t.height as f32,
                "{rel}: {m:?}"
            );
            assert!((0.0..std::f32::consts::TAU).contains(&m.angle));
            assert!(m.quality <= 100);
        }
        // FVC TIFFs declare 1 dpi and the toy PNGs 96 dpi: both are placeholders, so 500 is used.
        assert_eq!(t.ppi, 500, "{rel}");
    }
}

#[test]
fn mated_pairs_score_above_non_mated_pairs() {
    let Some(dir) = data_dir() else { return };
    for (a, mate, other) in [
        (
            "FVC2000_DB1_B/101_1.tif",
            "FVC2000_DB1_B/101_2.tif",
            "FVC2000_DB1_B/102_1.tif",
        ),
        (
            "FVC2000_DB4_B/104_1.tif",
            "FVC2000_DB4_B/104_3.tif",
            "FVC2000_DB4_B/107_1.tif",
        ),
        ("toy_PNG/10_1.png", "toy_PNG/10_2.png", "toy_PNG/11_1.png"),
    ] {
        let (ta, tm, to) = (
            template(&dir, a),
            template(&dir, mate),
            template(&dir, other),
        );
        let genuine = score(&ta, &tm);
        let impostor = score(&ta, &to);
        assert!(
            genuine > impostor,
            "{a}: mate {genuine} <= non-mate {impostor}"
        );
        assert!((0.0..=1.0).contains(&genuine) && (0.0..=1.0).contains(&impostor));
        // A template compared with itself is the best possible match.
        assert!(score(&ta, &ta) > 0.9);
    }
}

#[test]
fn resolution_matters_and_is_honoured() {
    let Some(dir) = data_dir() else { return };
    let bytes = std::fs::read(dir.join("toy_PNG/10_1.png")).unwrap();
    let at_500 = extract(&load_image(&bytes, None).unwrap()).unwrap();
    let at_700 = extract(&load_image(&bytes, Some(700)).unwrap()).unwrap();
    assert_eq!(at_700.ppi, 700);
    // Minutiae stay in the image's own pixel coordinates whatever the working resolution.
    assert!(
        at_700
            .minutiae
            .iter()
            .all(|m| m.x < at_700.width as f32 && m.y < at_700.height as f32)
    );
    assert_ne!(at_500.minutiae.len(), 0);
    assert_ne!(at_700.minutiae.len(), 0);
}

#[test]
fn bad_inputs_give_clear_errors() {
    assert!(matches!(
        load_image(&[], None),
        Err(FingerError::EmptyInput)
    ));
    let err = load_image(b"this is not an image at all", None).unwrap_err();
    assert!(matches!(err, FingerError::UnknownFormat { .. }));
    assert!(err.to_string().contains("unrecognised image format"));

    // A valid 1x1 PNG.
    let mut png = Vec::new();
    image::GrayImage::from_pixel(1, 1, image::Luma([0u8]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let err = load_image(&png, None).unwrap_err();
    assert!(
        matches!(
            err,
            FingerError::TooSmall {
                width: 1,
                height: 1,
                ..
            }
        ),
        "{err}"
    );

    // A BMP header claiming 20000 x 20000 pixels: refused before any pixel buffer is allocated.
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&(54u32 + 1024).to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&(54u32 + 1024).to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&8u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    bmp.extend_from_slice(&[0; 1024]);
    let err = load_image(&bmp, None).unwrap_err();
    assert!(
        matches!(err, FingerError::TooLarge { width: 20_000, .. }),
        "{err}"
    );

    // Within the pixel cap but over the 500-ppi working size: refused before extraction work.
    let big = garita_finger::FingerImage::from_gray(3000, 200, 500, vec![128; 3000 * 200]);
    assert!(matches!(big, Err(FingerError::TooLarge { max: 2048, .. })));
    // The same size is fine at 1000 ppi, where it is only 76 mm wide.
    assert!(garita_finger::FingerImage::from_gray(3000, 400, 1000, vec![128; 3000 * 400]).is_ok());

    // Truncated PNG: a decode error, not a panic.
    let truncated = &png[..png.len() / 2];
    assert!(load_image(truncated, None).is_err());

    // A blank (flat) image of a valid size has no fingerprint.
    let blank = garita_finger::FingerImage::from_gray(300, 300, 500, vec![230; 300 * 300]).unwrap();
    assert!(matches!(
        extract(&blank),
        Err(FingerError::NoFingerprint { .. })
    ));

    // Noise is not a fingerprint either, or at worst yields a template that matches nothing real.
    let mut state = 12345u32;
    let noise: Vec<u8> = (0..300 * 300)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 24) as u8
        })
        .collect();
    let noise = garita_finger::FingerImage::from_gray(300, 300, 500, noise).unwrap();
    let _ = extract(&noise);
}

#[test]
fn wsq_input_is_decoded_and_matches_its_png() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wsq");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let wsq = load_image(&std::fs::read(dir.join("fp-1.wsq")).unwrap(), None).unwrap();
    let png = load_image(&std::fs::read(dir.join("fp-1.png")).unwrap(), None).unwrap();
    assert_eq!((wsq.width(), wsq.height()), (png.width(), png.height()));
    let (tw, tp) = (extract(&wsq).unwrap(), extract(&png).unwrap());
    assert!(tw.minutiae.len() >= 10);
    // The PNG is a reference decode of the same file, so the two templates are the same finger.
    assert!(score(&tw, &tp) > 0.5, "{}", score(&tw, &tp));
}

#[test]
fn iso_record_round_trip_keeps_matching() {
    let Some(dir) = data_dir() else { return };
    let a = template(&dir, "FVC2000_DB1_B/103_1.tif");
    let b = template(&dir, "FVC2000_DB1_B/103_2.tif");
    let record = to_iso_19794_2(&a, ViewInfo::default()).unwrap();
    let (back, _) = from_iso_19794_2(&record).unwrap();
    assert_eq!(back.minutiae.len(), a.minutiae.len());
    let direct = score(&a, &b);
    let via_iso = score(&back, &b);
    assert!((direct - via_iso).abs() < 0.1, "{direct} vs {via_iso}");
    let native = Template::from_bytes(&a.to_bytes().unwrap()).unwrap();
    assert!((score(&native, &b) - direct).abs() < 0.05);
}

#[test]
fn gallery_search_finds_the_mate_on_real_data() {
    let Some(dir) = data_dir() else { return };
    let mut gallery = Gallery::new();
    for finger in 1..=16 {
        gallery.add(finger, template(&dir, &format!("toy_PNG/{finger}_1.png")));
    }
    let params = SearchParams::default();
    let mut top1 = 0;
    for finger in 1..=16 {
        let probe = template(&dir, &format!("toy_PNG/{finger}_5.png"));
        let hits = gallery.search(&probe, 3, params);
        assert!(!hits.is_empty());
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        if hits[0].id == finger {
            top1 += 1;
        }
    }
    assert!(top1 >= 15, "top-1 identification {top1}/16");
}

/// Full evaluation on every shared set; asserts garita beats NBIS bozorth3 (BASELINE.md, all-pairs EER).
#[test]
#[ignore = "full evaluation: about a minute in release"]
fn eval_beats_bozorth3_on_shared_sets() {
    let Some(dir) = data_dir() else { return };
    for (set, bozorth3_eer) in [
        ("FVC2000_DB1_B", 10.43),
        ("FVC2000_DB3_B", 10.56),
        ("FVC2000_DB4_B", 7.33),
        ("toy_PNG", 1.45),
    ] {
        let report = eval_dir(&dir.join(set)).unwrap();
        eprintln!("{set}: {:?} / FVC {:?}", report.all_pairs, report.fvc);
        assert!(report.failures.is_empty(), "{set}: {:?}", report.failures);
        assert!(
            report.all_pairs.eer < bozorth3_eer,
            "{set}: EER {:.2} % not below bozorth3's {bozorth3_eer} %",
            report.all_pairs.eer
        );
    }
}
