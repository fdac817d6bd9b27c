//! Bounded property test: mutated and truncated real files never panic, and any image decoded has exactly the
//! dimensions its header declares.

use crate::util;
use garita_wsq::{EncodeOptions, GrayImage, decode, info};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Built once: every case mutates a copy.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(build_seeds)
}

fn build_seeds() -> Vec<Vec<u8>> {
    // The committed NBIS-encoded fixture is always there; the shared files add a real full-size scan.
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nbis-97x83.wsq");
    let mut seeds = vec![std::fs::read(fixture).unwrap()];
    if let Some(dir) = util::data_dir() {
        let fp = decode(&std::fs::read(dir.join("fp-1.wsq")).unwrap()).unwrap();
        // A crop keeps each case fast while keeping real ridge content and a real encoder's tables.
        let crop = util::crop(fp.pixels(), fp.width(), 200, 200, 160, 120);
        let image = GrayImage::new(160, 120, crop).unwrap();
        seeds.push(garita_wsq::encode(&image, &EncodeOptions::default()).unwrap());
        seeds.push(std::fs::read(dir.join("fp-9.wsq")).unwrap());
    } else {
        let pixels = (0..96 * 64).map(|i: u32| (i * 37 % 256) as u8).collect();
        seeds.push(
            garita_wsq::encode(
                &GrayImage::new(96, 64, pixels).unwrap(),
                &EncodeOptions::default(),
            )
            .unwrap(),
        );
    }
    seeds
}

fn check(data: &[u8]) {
    if let Ok(image) = decode(data) {
        let header = info(data).expect("decodable file has readable headers");
        assert_eq!(
            (image.width(), image.height()),
            (header.width, header.height)
        );
        assert_eq!(
            image.pixels().len(),
            (header.width * header.height) as usize
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic(
        seed_idx in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let seeds = seeds();
        let mut data = seeds[seed_idx % seeds.len()].clone();
        // Mostly small files (the crop); mutations hit headers often because they are near the front.
        for (pos, byte) in edits {
            let i = pos.index(data.len().min(1200));
            data[i] = byte;
        }
        if truncate {
            data.truncate(cut.index(data.len() + 1));
        }
        check(&data);
    }
}
