//! Consignment manifests and ground truth, as plain serde structs (garita's domain crate maps to these).

use serde::{Deserialize, Serialize};

use crate::physics::Material;

/// One declared line of a cargo manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// Harmonized System code, 6 digits at least (e.g. `"080390"` bananas).
    pub hs_code: String,
    /// Goods description as declared.
    pub description: String,
    /// Declared net mass in kilograms.
    pub declared_mass_kg: f64,
    /// Number of packages.
    pub packages: u32,
}

/// A consignment's manifest (declaration) as the risk engine and the analysis see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// ISO 6346 container number, e.g. `MSCU1234565`.
    pub container_number: String,
    /// Container type: `20GP` or `40GP`.
    pub container_type: String,
    /// Declarant (importer or broker) identifier.
    pub declarant_id: String,
    /// ISO 3166-1 alpha-2 country of origin.
    pub origin_country: String,
    /// Declared goods.
    pub items: Vec<ManifestItem>,
    /// Declared gross cargo mass in kilograms (goods plus packaging, without the container's tare).
    pub declared_gross_mass_kg: f64,
}

/// Kinds of planted concealment the simulator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcealmentKind {
    /// Cocaine bricks inside machinery, wrapped in steel plate and charcoal to mask their signature.
    ShieldedDrugsInMachinery,
    /// A false front wall hiding a compartment.
    FalseWall,
    /// A raised false floor over a flat compartment.
    FalseFloor,
    /// Drug bricks among fruit cartons.
    DrugsInProduce,
    /// Firearms among other goods.
    Weapons,
    /// Cigarettes behind a cover load of the declared goods.
    CigarettesUnderCoverLoad,
    /// People hidden in the container.
    People,
}

/// Pixel rectangle `[x0, x1) x [y0, y1)`, x = column, y = row from the top.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelBox {
    /// First column.
    pub x0: u32,
    /// First row.
    pub y0: u32,
    /// One past the last column.
    pub x1: u32,
    /// One past the last row.
    pub y1: u32,
}

impl PixelBox {
    /// Area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.x1.saturating_sub(self.x0)) * u64::from(self.y1.saturating_sub(self.y0))
    }

    /// Area of the intersection with `other`.
    pub fn intersection(&self, other: &PixelBox) -> u64 {
        let w = self.x1.min(other.x1).saturating_sub(self.x0.max(other.x0));
        let h = self.y1.min(other.y1).saturating_sub(self.y0.max(other.y0));
        u64::from(w) * u64::from(h)
    }

    /// Intersection over union.
    pub fn iou(&self, other: &PixelBox) -> f64 {
        let inter = self.intersection(other) as f64;
        let union = (self.area() + other.area()) as f64 - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// One planted concealment: what and where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Concealment {
    /// Kind of concealment.
    pub kind: ConcealmentKind,
    /// Bounding box of the hidden goods in the image.
    pub region: PixelBox,
    /// Main material of the hidden goods.
    pub material: Material,
    /// Mass of the hidden goods in kilograms.
    pub mass_kg: f64,
    /// Human-readable description.
    pub description: String,
}

/// Ground truth of one simulated scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Seed the scene was generated from.
    pub seed: u64,
    /// What the container really holds, by HS code, with true masses in kilograms.
    pub actual_goods: Vec<ManifestItem>,
    /// Actual cargo mass (goods, packaging and concealments) in kilograms.
    pub actual_cargo_mass_kg: f64,
    /// Planted concealments.
    pub concealments: Vec<Concealment>,
    /// Planted manifest mismatches, described (e.g. under-declared mass, misdeclared HS code).
    pub manifest_mismatches: Vec<String>,
    /// Image width in pixels.
    pub columns: u32,
    /// Image height in pixels.
    pub rows: u32,
    /// Horizontal pixel pitch in millimetres.
    pub pitch_x_mm: f64,
    /// Vertical pixel pitch in millimetres.
    pub pitch_y_mm: f64,
    /// Pixel box of the container's interior (cargo space).
    pub cargo_space: PixelBox,
}
