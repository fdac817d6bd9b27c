//! Malformed input: every error is an `Err` with the right kind and offset, never a panic.

use crate::util;
use garita_wsq::{EncodeOptions, GrayImage, WsqError, decode, encode, info};

fn small_file() -> Vec<u8> {
    let pixels = (0..96 * 80)
        .map(|i: u32| ((i * 7919) % 251) as u8 / 2 + 60)
        .collect();
    encode(
        &GrayImage::new(96, 80, pixels).unwrap(),
        &EncodeOptions::default(),
    )
    .unwrap()
}

/// Offsets of the markers that start segments (outside entropy-coded data).
fn segment_offsets(data: &[u8]) -> Vec<(usize, u16)> {
    let mut out = vec![(0, 0xFFA0)];
    let mut pos = 2;
    while pos + 4 <= data.len() {
        let code = u16::from_be_bytes([data[pos], data[pos + 1]]);
        out.push((pos, code));
        if code == 0xFFA1 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
        pos += 2 + len;
        if code == 0xFFA3 {
            while !(data[pos] == 0xFF && data[pos + 1] != 0) {
                pos += 1;
            }
        }
    }
    out
}

#[test]
fn empty_and_garbage_input() {
    assert_eq!(decode(&[]), Err(WsqError::Empty));
    assert_eq!(info(&[]), Err(WsqError::Empty));
    assert!(matches!(
        decode(b"\x89PNG\r\n"),
        Err(WsqError::UnexpectedMarker {
            offset: 0,
            found: 0x8950,
            ..
        })
    ));
    assert!(matches!(
        decode(&[0xFF]),
        Err(WsqError::Truncated { offset: 1, .. })
    ));
    assert!(matches!(
        decode(&[0xFF, 0xA0]),
        Err(WsqError::Truncated { offset: 2, .. })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    let data = small_file();
    assert!(decode(&data).is_ok());
    for len in 0..data.len() {
        let res = decode(&data[..len]);
        assert!(res.is_err(), "prefix of {len} bytes decoded");
    }
}

#[test]
fn truncation_inside_a_segment_names_its_offset() {
    let data = small_file();
    let segments = segment_offsets(&data);
    let (dqt, _) = segments
        .iter()
        .copied()
        .find(|&(_, c)| c == 0xFFA5)
        .unwrap();
    match decode(&data[..dqt + 100]) {
        Err(WsqError::Truncated { offset, .. }) => assert_eq!(offset, dqt + 4),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_marker_after_tables() {
    let mut data = small_file();
    let (sof, _) = segment_offsets(&data)
        .into_iter()
        .find(|&(_, c)| c == 0xFFA2)
        .unwrap();
    data[sof + 1] = 0xD8; // a JPEG SOI in the middle of a WSQ file
    assert_eq!(
        decode(&data),
        Err(WsqError::UnexpectedMarker {
            offset: sof,
            found: 0xFFD8,
            expected: "a table, comment or SOF"
        })
    );
}

#[test]
fn absurd_dimensions_are_refused_before_allocation() {
    let mut data = small_file();
    let (sof, _) = segment_offsets(&data)
        .into_iter()
        .find(|&(_, c)| c == 0xFFA2)
        .unwrap();
    data[sof + 6..sof + 10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        decode(&data),
        Err(WsqError::Dimensions {
            offset: sof,
            width: 65535,
            height: 65535
        })
    );
    assert_eq!(
        info(&data),
        Err(WsqError::Dimensions {
            offset: sof,
            width: 65535,
            height: 65535
        })
    );
    data[sof + 6..sof + 10].copy_from_slice(&[0, 0, 0, 9]);
    assert!(matches!(
        decode(&data),
        Err(WsqError::Dimensions { height: 0, .. })
    ));
}

#[test]
fn missing_tables_are_reported() {
    let data = small_file();
    let segments = segment_offsets(&data);
    let (dtt, _) = segments
        .iter()
        .copied()
        .find(|&(_, c)| c == 0xFFA4)
        .unwrap();
    let len = usize::from(u16::from_be_bytes([data[dtt + 2], data[dtt + 3]]));
    let mut without = data[..dtt].to_vec();
    without.extend_from_slice(&data[dtt + 2 + len..]);
    assert!(matches!(
        decode(&without),
        Err(WsqError::MissingTable {
            table: "transform",
            ..
        })
    ));
}

#[test]
fn bad_segment_lengths() {
    let mut data = small_file();
    let (dqt, _) = segment_offsets(&data)
        .into_iter()
        .find(|&(_, c)| c == 0xFFA5)
        .unwrap();
    data[dqt + 2..dqt + 4].copy_from_slice(&[0, 1]);
    assert_eq!(
        decode(&data),
        Err(WsqError::InvalidSegment {
            offset: dqt,
            segment: "DQT",
            reason: "length below 2"
        })
    );
}

#[test]
fn oversized_input_is_refused() {
    let big = vec![0u8; garita_wsq::MAX_INPUT_BYTES + 1];
    assert!(matches!(decode(&big), Err(WsqError::InputTooLarge { .. })));
}

#[test]
fn encoder_rejects_bad_requests() {
    let image = GrayImage::new(64, 64, vec![128; 64 * 64]).unwrap();
    let bad_rate = EncodeOptions {
        bitrate: f32::NAN,
        ..EncodeOptions::default()
    };
    assert!(matches!(
        encode(&image, &bad_rate),
        Err(WsqError::Bitrate { .. })
    ));
    let tiny = GrayImage::new(16, 16, vec![0; 256]).unwrap();
    assert!(matches!(
        encode(&tiny, &EncodeOptions::default()),
        Err(WsqError::InvalidImage { .. })
    ));
    let nul = EncodeOptions {
        comments: vec!["a\0b".into()],
        ..EncodeOptions::default()
    };
    assert!(matches!(
        encode(&image, &nul),
        Err(WsqError::Comment { index: 0, .. })
    ));
    assert!(GrayImage::new(10, 10, vec![0; 99]).is_err());
    assert!(GrayImage::new(0, 10, vec![]).is_err());
    // A flat image has nothing to code but must still round-trip.
    let flat = decode(&encode(&image, &EncodeOptions::default()).unwrap()).unwrap();
    assert!(flat.pixels().iter().all(|&p| p == 128));
}

#[test]
fn shared_file_round_trips_through_our_encoder() {
    let Some(dir) = util::data_dir() else { return };
    let source = decode(&std::fs::read(dir.join("fp-5.wsq")).unwrap()).unwrap();
    let wsq = encode(
        &source,
        &EncodeOptions {
            bitrate: 2.25,
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    let back = decode(&wsq).unwrap();
    let p = util::psnr(source.pixels(), back.pixels());
    eprintln!(
        "fp-5 at 2.25 bpp: {:.3} bpp achieved, PSNR {p:.2} dB",
        wsq.len() as f64 * 8.0 / source.pixels().len() as f64
    );
    assert!(p > 38.0, "PSNR {p}");
    assert_eq!(back.ppi(), Some(500), "image ppi carried into NIST_COM");
}
