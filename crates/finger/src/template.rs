//! Minutiae and templates: the data that leaves the extractor and travels between systems.

use serde::{Deserialize, Serialize};

/// Kind of a minutia (ISO/IEC 19794-2:2005 clause 5.4.2.1 types 01, 10 and 00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinutiaKind {
    /// A ridge stops.
    Ending,
    /// A ridge forks into two.
    Bifurcation,
    /// Type not determined (imported records may carry it).
    Other,
}

/// One minutia, in pixel coordinates of the original image (x right, y down).
///
/// `angle` is in radians in `[0, 2π)`, measured counter-clockwise from the x axis as seen on screen (the ISO
/// convention), so the direction vector in image coordinates is `(cos a, -sin a)`. For a ridge ending it points
/// from the end into the ridge it terminates; for a bifurcation it points from the fork away from the stem,
/// between the two branches. With this convention an ending and the bifurcation that the same spot becomes when
/// ridges and valleys swap (ink, pressure) point the same way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minutia {
    /// Column in pixels.
    pub x: f32,
    /// Row in pixels.
    pub y: f32,
    /// Direction in radians, counter-clockwise, `[0, 2π)`.
    pub angle: f32,
    /// Ending, bifurcation or unknown.
    pub kind: MinutiaKind,
    /// Quality 0 (unknown/worst) ..= 100 (best), as in ISO/IEC 19794-2.
    pub quality: u8,
}

impl Minutia {
    /// Direction as a unit vector in image coordinates (y down).
    #[must_use]
    pub fn direction(&self) -> (f32, f32) {
        (self.angle.cos(), -self.angle.sin())
    }
}

/// Wraps any angle into `[0, 2π)`.
#[must_use]
pub fn wrap_angle(angle: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    let wrapped = angle.rem_euclid(tau);
    if wrapped >= tau { 0.0 } else { wrapped }
}

/// A minutiae template: the minutiae of one finger impression plus the geometry needed to interpret them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Width of the source image in pixels.
    pub width: u32,
    /// Height of the source image in pixels.
    pub height: u32,
    /// Resolution of the source image in pixels per inch.
    pub ppi: u32,
    /// Overall impression quality 0..=100.
    pub quality: u8,
    /// Minutiae, best quality first.
    pub minutiae: Vec<Minutia>,
}
