//! Helpers shared by the unit tests of this crate.

use crate::template::{Minutia, MinutiaKind, Template};
use std::f32::consts::TAU;

/// `n` minutiae spread uniformly over a 300×300 print, reproducible from `seed`.
pub(crate) fn random_template(seed: u64, n: usize) -> Template {
    let mut rng = crate::rng::XorShift64::new(
        seed.wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407),
    );
    let mut next = move || (rng.next_u64() % 100_000) as f32 / 100_000.0;
    Template {
        width: 300,
        height: 300,
        ppi: 500,
        quality: 50,
        minutiae: (0..n)
            .map(|_| Minutia {
                x: 20.0 + 260.0 * next(),
                y: 20.0 + 260.0 * next(),
                angle: TAU * next(),
                kind: MinutiaKind::Ending,
                quality: 50,
            })
            .collect(),
    }
}
