//! Fuzz target for `garita_wsq::decode` and `garita_wsq::info`, the WSQ reader.
//!
//! Properties, for any input:
//! * `info` and `decode` never panic;
//! * whatever `decode` accepts, `info` accepts too (it reads the same headers and skips the entropy data), and the
//!   decoded image has exactly the dimensions (and resolution) the frame header declares: `info(w, h) == decoded
//!   (w, h)`, `pixels.len() == w * h`;
//! * decode → encode → decode of a successfully decoded image never panics: encoding succeeds whenever both sides
//!   are at least `MIN_ENCODE_DIM`, and the re-decoded image keeps the dimensions and resolution. The re-encode is
//!   skipped above `REENCODE_MAX_PIXELS` only to keep the fuzzer's speed (a few bytes of zero runs can declare a
//!   33 Mpx image; real fingerprints are under 1 Mpx at 500 ppi).
#![no_main]

use garita_wsq::{EncodeOptions, MIN_ENCODE_DIM, decode, encode, info};
use libfuzzer_sys::fuzz_target;

const REENCODE_MAX_PIXELS: usize = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let header = info(data);
    let Ok(image) = decode(data) else {
        return;
    };
    let header = match header {
        Ok(header) => header,
        Err(error) => panic!("decode accepted a file info rejects: {error}"),
    };
    assert_eq!(
        (header.width, header.height),
        (image.width(), image.height()),
        "decoded dimensions differ from the declared ones"
    );
    assert_eq!(
        image.pixels().len(),
        image.width() as usize * image.height() as usize
    );
    assert_eq!(
        header.ppi,
        image.ppi(),
        "info and decode disagree on the resolution"
    );

    if image.pixels().len() > REENCODE_MAX_PIXELS {
        return;
    }
    let encoded = encode(&image, &EncodeOptions::default());
    if image.width() < MIN_ENCODE_DIM || image.height() < MIN_ENCODE_DIM {
        assert!(
            encoded.is_err(),
            "encode accepted an image below MIN_ENCODE_DIM"
        );
        return;
    }
    let encoded = match encoded {
        Ok(encoded) => encoded,
        Err(error) => panic!(
            "encode rejects a decoded {}x{} image: {error}",
            image.width(),
            image.height()
        ),
    };
    let again = match decode(&encoded) {
        Ok(again) => again,
        Err(error) => panic!("decode rejects the encoder's own output: {error}"),
    };
    assert_eq!(
        (again.width(), again.height(), again.ppi()),
        (image.width(), image.height(), image.ppi()),
        "decode -> encode -> decode changed the dimensions or resolution"
    );
});
