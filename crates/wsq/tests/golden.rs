//! A small NBIS-encoded fixture with NBIS's own decode beside it, so bit-exactness is checked even where neither the
//! shared data nor the NBIS reference is installed.
//!
//! `data/nbis-97x83.wsq` is a 97x83 crop (odd in both directions) of FVC2000 DB3_B `103_2.tif` at (150, 170),
//! encoded by NBIS `wsq_encode_mem` at 1.5 bpp and 500 ppi; `data/nbis-97x83.nbis-decoded.raw` is NBIS
//! `wsq_decode_mem` of that file (8-bit, row-major). Regenerate with scripts/wsq_nbis.py `encode`/`decode`.

use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn nbis_fixture_decodes_bit_identically() {
    let image = garita_wsq::decode(&fixture("nbis-97x83.wsq")).unwrap();
    assert_eq!(
        (image.width(), image.height(), image.ppi()),
        (97, 83, Some(500))
    );
    let expected = fixture("nbis-97x83.nbis-decoded.raw");
    let mismatches = image
        .pixels()
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(mismatches, 0, "pixels differing from NBIS's decode");
}

#[test]
fn nbis_fixture_info() {
    let data = fixture("nbis-97x83.wsq");
    let info = garita_wsq::info(&data).unwrap();
    assert_eq!(
        (info.width, info.height, info.encoder, info.software),
        (97, 83, 2, 0)
    );
    assert_eq!(
        info.comments,
        vec![
            "NIST_COM 9\nPIX_WIDTH 97\nPIX_HEIGHT 83\nPIX_DEPTH 8\nPPI 500\nLOSSY 1\nCOLORSPACE GRAY\nCOMPRESSION WSQ\nWSQ_BITRATE 1.500000"
        ]
    );
}
