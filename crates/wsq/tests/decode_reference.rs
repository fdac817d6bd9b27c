//! Decoding the shared WSQ files and comparing with the PNGs beside them (jnbis's decode, not NBIS's).

use crate::util;

#[test]
fn decodes_shared_files_like_the_reference_pngs() {
    let Some(dir) = util::data_dir() else { return };
    let mut worst = 100.0f64;
    for (n, path) in util::wsq_files(&dir) {
        let data = std::fs::read(&path).unwrap();
        let image = garita_wsq::decode(&data).unwrap();
        let (w, h, reference) = util::load_png_gray(&dir.join(format!("fp-{n}.png")));
        assert_eq!((image.width(), image.height()), (w, h), "fp-{n} dimensions");
        // Most files say 500 ppi; fp-8's NIST_COM says 255, and NBIS reports that too.
        let expected_ppi = if n == 8 { 255 } else { 500 };
        assert_eq!(image.ppi(), Some(expected_ppi), "fp-{n} NIST_COM PPI");
        let d = util::diff(image.pixels(), &reference);
        eprintln!(
            "fp-{n}: {w}x{h} vs PNG: max diff {}, identical {:.4} %, within 1 grey level {:.4} %",
            d.max, d.identical_pct, d.within1_pct
        );
        worst = worst.min(d.within1_pct);
        assert!(
            d.within1_pct >= 99.9,
            "fp-{n}: only {:.4} % within 1 grey level",
            d.within1_pct
        );
    }
    eprintln!("worst file: {worst:.4} % of pixels within 1 grey level of the PNG");
}

#[test]
fn info_reports_header_fields() {
    let Some(dir) = util::data_dir() else { return };
    let data = std::fs::read(dir.join("fp-1.wsq")).unwrap();
    let info = garita_wsq::info(&data).unwrap();
    assert_eq!((info.width, info.height, info.ppi), (804, 752, Some(500)));
    assert_eq!(info.file_size, data.len());
    assert!((info.bitrate - data.len() as f32 * 8.0 / (804.0 * 752.0)).abs() < 1e-6);
    assert_eq!(info.comments.len(), 1);
    assert!(info.comments[0].starts_with("NIST_COM 12\nHISTORY a025_01"));
    let get = |k: &str| {
        info.nistcom
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("FING_CLASS"), Some("WN"));
    assert_eq!(get("WSQ_BITRATE"), Some("0.750000"));
}
