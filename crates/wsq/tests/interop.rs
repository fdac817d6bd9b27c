//! Interop with the NBIS reference (PyPI `wsq` through scripts/wsq_nbis.py); each test skips with a message when
//! the module is missing (install it with scripts/wsq-reference.sh).

use crate::util::{self, Nbis};
use garita_wsq::{EncodeOptions, GrayImage};
use std::path::Path;

/// The spec's conformance bar for decoders, and this project's floor: ≥ 99.9 % of pixels within one grey level.
fn assert_matches(label: &str, ours: &[u8], nbis: &[u8]) -> util::Diff {
    let d = util::diff(ours, nbis);
    eprintln!(
        "{label}: vs NBIS max diff {}, identical {:.4} %, within 1 grey level {:.4} %",
        d.max, d.identical_pct, d.within1_pct
    );
    assert!(
        d.within1_pct >= 99.9,
        "{label}: only {:.4} % within 1 grey level of NBIS",
        d.within1_pct
    );
    d
}

#[test]
fn decode_matches_nbis_on_shared_files() {
    let (Some(dir), Some(nbis)) = (util::data_dir(), Nbis::get()) else {
        return;
    };
    let mut n_identical = 0;
    let files = util::wsq_files(&dir);
    for (n, path) in &files {
        let data = std::fs::read(path).unwrap();
        let ours = garita_wsq::decode(&data).unwrap();
        let d = assert_matches(&format!("fp-{n}"), ours.pixels(), &nbis.decode(&data));
        n_identical += usize::from(d.max == 0);
    }
    eprintln!(
        "{n_identical}/{} shared files decode bit-identical to NBIS",
        files.len()
    );
    assert_eq!(
        n_identical,
        files.len(),
        "goal: every file identical to NBIS"
    );
}

#[test]
fn decode_matches_nbis_on_nbis_encoded_odd_sizes() {
    let (Some(dir), Some(nbis)) = (util::data_dir(), Nbis::get()) else {
        return;
    };
    let source = garita_wsq::decode(&std::fs::read(dir.join("fp-2.wsq")).unwrap()).unwrap();
    // Odd and even sizes exercise every branch of the subband splits and of the symmetric extensions.
    for (x, y, w, h) in [
        (0, 0, 804, 752),
        (13, 7, 545, 623),
        (100, 50, 301, 257),
        (3, 9, 256, 333),
        (0, 0, 64, 64),
    ] {
        let pixels = util::crop(source.pixels(), source.width(), x, y, w, h);
        let wsq = nbis.encode(w, h, &pixels);
        let ours = garita_wsq::decode(&wsq).unwrap();
        assert_eq!((ours.width(), ours.height()), (w, h));
        let d = assert_matches(
            &format!("NBIS-encoded {w}x{h}"),
            ours.pixels(),
            &nbis.decode(&wsq),
        );
        assert_eq!(d.max, 0, "{w}x{h}: goal is identical pixels");
    }
}

#[test]
fn our_encoding_decodes_in_nbis_within_a_tenth_of_a_db() {
    let (Some(dir), Some(nbis)) = (util::data_dir(), Nbis::get()) else {
        return;
    };
    // A spread of images and rates; docs/wsq.md also lists fp-6 at 1.5 and fp-7, fp-10 at 0.75, measured the same
    // way and left out here to keep the suite short.
    for (n, bitrate) in [(1, 0.75), (4, 0.75), (2, 2.25), (9, 0.3)] {
        let source =
            garita_wsq::decode(&std::fs::read(dir.join(format!("fp-{n}.wsq"))).unwrap()).unwrap();
        let (w, h) = (source.width(), source.height());
        let options = EncodeOptions {
            bitrate,
            ppi: Some(500),
            ..EncodeOptions::default()
        };
        let ours = garita_wsq::encode(&source, &options).unwrap();
        let theirs = nbis.encode_at(w, h, source.pixels(), bitrate, 500);
        // NBIS must accept our file, and our decoder must agree with it on both files.
        let ours_in_nbis = nbis.decode(&ours);
        let theirs_in_nbis = nbis.decode(&theirs);
        let label = format!("fp-{n} at {bitrate} bpp");
        assert_matches(
            &format!("{label}, our encoding"),
            garita_wsq::decode(&ours).unwrap().pixels(),
            &ours_in_nbis,
        );
        assert_matches(
            &format!("{label}, NBIS encoding"),
            garita_wsq::decode(&theirs).unwrap().pixels(),
            &theirs_in_nbis,
        );
        let p_ours = util::psnr(source.pixels(), &ours_in_nbis);
        let p_theirs = util::psnr(source.pixels(), &theirs_in_nbis);
        let bpp = |b: &[u8]| b.len() as f64 * 8.0 / f64::from(w * h);
        eprintln!(
            "{label}: ours {:.4} bpp PSNR {p_ours:.3} dB; NBIS {:.4} bpp PSNR {p_theirs:.3} dB; delta {:+.3} dB",
            bpp(&ours),
            bpp(&theirs),
            p_ours - p_theirs
        );
        assert!(
            (p_ours - p_theirs).abs() <= 0.1,
            "{label}: PSNR {p_ours:.3} dB not within 0.1 dB of NBIS's {p_theirs:.3}"
        );
        assert!(
            bpp(&ours) <= bpp(&theirs) * 1.02,
            "{label}: our file is more than 2 % larger than NBIS's"
        );
    }
}

#[test]
fn encoder_matches_nbis_on_uncompressed_scans() {
    let Some(nbis) = Nbis::get() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fingerprints");
    if !root.is_dir() {
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    // Raw scans, never compressed before: the case the encoder exists for.
    let scans = [
        "FVC2000_DB3_B/101_1.tif",
        "FVC2000_DB1_B/102_3.tif",
        "toy_PNG/10_1.png",
    ];
    for name in scans {
        let (w, h, pixels) = nbis.load_gray(&root.join(name));
        let source = GrayImage::new(w, h, pixels).unwrap();
        for bitrate in [0.75f32, 2.25, 6.0] {
            let options = EncodeOptions {
                bitrate,
                ppi: Some(500),
                ..EncodeOptions::default()
            };
            let ours = garita_wsq::encode(&source, &options).unwrap();
            let theirs = nbis.encode_at(w, h, source.pixels(), bitrate, 500);
            let ours_in_nbis = nbis.decode(&ours);
            assert_matches(
                &format!("{name} at {bitrate}"),
                garita_wsq::decode(&ours).unwrap().pixels(),
                &ours_in_nbis,
            );
            let p_ours = util::psnr(source.pixels(), &ours_in_nbis);
            let p_theirs = util::psnr(source.pixels(), &nbis.decode(&theirs));
            let bpp = |b: &[u8]| b.len() as f64 * 8.0 / f64::from(w * h);
            eprintln!(
                "{name} ({w}x{h}) at {bitrate} bpp: ours {:.4} bpp PSNR {p_ours:.3} dB; NBIS {:.4} bpp PSNR \
                 {p_theirs:.3} dB; delta {:+.3} dB",
                bpp(&ours),
                bpp(&theirs),
                p_ours - p_theirs
            );
            if bitrate < 5.0 {
                assert!(
                    (p_ours - p_theirs).abs() <= 0.1,
                    "{name} at {bitrate}: {p_ours:.3} vs NBIS {p_theirs:.3} dB"
                );
                assert!(
                    bpp(&ours) <= bpp(&theirs) * 1.02,
                    "{name} at {bitrate}: more than 2 % larger than NBIS"
                );
            } else {
                // High rates: never worse than NBIS (see high_bitrates_do_not_overflow for where NBIS breaks).
                assert!(
                    p_ours >= p_theirs - 0.1,
                    "{name} at {bitrate}: {p_ours:.3} vs NBIS {p_theirs:.3} dB"
                );
            }
        }
    }
}

#[test]
fn high_bitrates_do_not_overflow() {
    let Some(dir) = util::data_dir() else { return };
    // fp-1's decode is smooth (it was WSQ-compressed before), so at 8 bpp the allocation asks for lowpass bins fine
    // enough to overflow 16-bit coefficients; NBIS wraps them (about 12 dB), garita widens those bins.
    let source = garita_wsq::decode(&std::fs::read(dir.join("fp-1.wsq")).unwrap()).unwrap();
    let options = EncodeOptions {
        bitrate: 8.0,
        ppi: Some(500),
        ..EncodeOptions::default()
    };
    let ours = garita_wsq::encode(&source, &options).unwrap();
    let p_ours = util::psnr(source.pixels(), garita_wsq::decode(&ours).unwrap().pixels());
    assert!(p_ours > 45.0, "8 bpp: PSNR {p_ours:.2} dB");
    if let Some(nbis) = Nbis::get() {
        let p_nbis_decoding_ours = util::psnr(source.pixels(), &nbis.decode(&ours));
        let theirs = nbis.encode_at(source.width(), source.height(), source.pixels(), 8.0, 500);
        let p_theirs = util::psnr(source.pixels(), &nbis.decode(&theirs));
        eprintln!(
            "fp-1 at 8 bpp: ours {p_ours:.2} dB (NBIS decoding it: {p_nbis_decoding_ours:.2}), NBIS's encoder {p_theirs:.2} dB"
        );
        assert!((p_nbis_decoding_ours - p_ours).abs() < 1e-9);
    }
}

#[test]
fn nistcom_comment_is_written_like_nbis() {
    let (Some(dir), Some(nbis)) = (util::data_dir(), Nbis::get()) else {
        return;
    };
    let source = garita_wsq::decode(&std::fs::read(dir.join("fp-4.wsq")).unwrap()).unwrap();
    for (bitrate, ppi) in [(0.75, 500), (2.25, 1000)] {
        let options = EncodeOptions {
            bitrate,
            ppi: Some(ppi),
            ..EncodeOptions::default()
        };
        let ours = garita_wsq::info(&garita_wsq::encode(&source, &options).unwrap()).unwrap();
        let theirs = garita_wsq::info(&nbis.encode_at(
            source.width(),
            source.height(),
            source.pixels(),
            bitrate,
            ppi,
        ))
        .unwrap();
        assert_eq!(ours.comments, theirs.comments);
        assert_eq!(ours.ppi, Some(ppi));
    }
}

#[test]
fn nbis_reads_our_comments_and_resolution() {
    let (Some(dir), Some(nbis)) = (util::data_dir(), Nbis::get()) else {
        return;
    };
    let source = garita_wsq::decode(&std::fs::read(dir.join("fp-3.wsq")).unwrap()).unwrap();
    let image = GrayImage::new(source.width(), source.height(), source.pixels().to_vec()).unwrap();
    let options = EncodeOptions {
        bitrate: 2.25,
        ppi: Some(500),
        nistcom: vec![("FING_CLASS".to_string(), "WN".to_string())],
        comments: vec!["garita test".to_string()],
    };
    let wsq = garita_wsq::encode(&image, &options).unwrap();
    let decoded = nbis.decode(&wsq);
    assert_eq!(decoded.len(), source.pixels().len());
    assert!(
        util::psnr(source.pixels(), &decoded) > 35.0,
        "2.25 bpp should be near-lossless"
    );
    let info = garita_wsq::info(&wsq).unwrap();
    assert_eq!(info.comments[1], "garita test");
    assert!(info.comments[0].starts_with("NIST_COM 10\nFING_CLASS WN\nPIX_WIDTH"));
}
