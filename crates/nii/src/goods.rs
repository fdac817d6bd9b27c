//! Catalogue of goods the simulator loads and the analysis expects, keyed by HS code (WCO Harmonized System).

use serde::{Deserialize, Serialize};

use crate::physics::Material;

/// Coarse material class of goods, as dual-energy imaging shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodsClass {
    /// Low Z (Z_eff < 10): food, textiles, tobacco, plastics, drugs, people.
    Organic,
    /// Mid Z (10-18): glass, aluminium, minerals.
    Inorganic,
    /// High Z (Z_eff > 18): steel, copper, iron ore.
    Metal,
    /// Declared goods mix organic and metal parts (electronics).
    Mixed,
}

/// Kinds of declared goods the simulator can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodsKind {
    /// Ore-processing machinery (HS 8474.10).
    Machinery,
    /// Iron ore in bulk bags (HS 2601.11).
    IronOre,
    /// Bananas in cartons (HS 0803.90).
    Fruit,
    /// Cotton T-shirts in cartons (HS 6109.10).
    Textiles,
    /// Laptops in cartons (HS 8471.30).
    Electronics,
    /// Cigarettes in master cases (HS 2402.20).
    Cigarettes,
    /// Ferrous scrap (HS 7204.49).
    Scrap,
}

/// What is known about a kind of goods.
#[derive(Clone, Copy, Debug)]
pub struct GoodsProfile {
    /// Kind.
    pub kind: GoodsKind,
    /// HS code (6 digits).
    pub hs_code: &'static str,
    /// Trade description.
    pub description: &'static str,
    /// Dominant material.
    pub material: Material,
    /// Class the image should show.
    pub class: GoodsClass,
    /// Customs risk of the heading, 0 (low) to 1 (high), used by the lane rules.
    pub hs_risk: f64,
    /// Nominal composition of a full-width load seen side-on, as (material, g/cm^2). The analysis pushes it through
    /// the same forward model and decomposition as the image, so expectations and measurements share any basis
    /// bias (hydrogen-rich polyethylene reads heavier than cellulose, aluminium splits between organic and metal).
    /// Empty for irregular loads (machinery, scrap), whose expected content is "metal only".
    pub nominal_load: &'static [(Material, f64)],
}

/// The catalogue.
pub const GOODS: [GoodsProfile; 7] = [
    GoodsProfile {
        kind: GoodsKind::Machinery,
        hs_code: "847410",
        description: "sorting, screening and separating machines for ore",
        material: Material::Steel,
        class: GoodsClass::Metal,
        hs_risk: 0.3,
        nominal_load: &[],
    },
    GoodsProfile {
        kind: GoodsKind::IronOre,
        hs_code: "260111",
        description: "iron ores and concentrates, non-agglomerated",
        material: Material::Hematite,
        class: GoodsClass::Metal,
        hs_risk: 0.2,
        nominal_load: &[(Material::Hematite, 200.0)],
    },
    GoodsProfile {
        kind: GoodsKind::Fruit,
        hs_code: "080390",
        description: "bananas, fresh",
        material: Material::Water,
        class: GoodsClass::Organic,
        hs_risk: 0.6,
        nominal_load: &[(Material::Water, 99.0)],
    },
    GoodsProfile {
        kind: GoodsKind::Textiles,
        hs_code: "610910",
        description: "T-shirts, knitted, of cotton",
        material: Material::Cellulose,
        class: GoodsClass::Organic,
        hs_risk: 0.4,
        nominal_load: &[(Material::Cellulose, 40.0)],
    },
    GoodsProfile {
        kind: GoodsKind::Electronics,
        hs_code: "847130",
        description: "portable data processing machines (laptops)",
        material: Material::Polyethylene,
        class: GoodsClass::Mixed,
        hs_risk: 0.3,
        nominal_load: &[
            (Material::Polyethylene, 24.0),
            (Material::Aluminium, 6.6),
            (Material::Copper, 1.8),
            (Material::Steel, 2.6),
        ],
    },
    GoodsProfile {
        kind: GoodsKind::Cigarettes,
        hs_code: "240220",
        description: "cigarettes containing tobacco",
        material: Material::Cellulose,
        class: GoodsClass::Organic,
        hs_risk: 0.9,
        nominal_load: &[(Material::Cellulose, 59.0)],
    },
    GoodsProfile {
        kind: GoodsKind::Scrap,
        hs_code: "720449",
        description: "ferrous waste and scrap",
        material: Material::Steel,
        class: GoodsClass::Metal,
        hs_risk: 0.3,
        nominal_load: &[],
    },
];

/// Profile of a declared HS code: exact 6-digit match first, then the 4-digit heading.
pub fn profile_for_hs(hs_code: &str) -> Option<&'static GoodsProfile> {
    let digits: String = hs_code.chars().filter(char::is_ascii_digit).collect();
    GOODS
        .iter()
        .find(|g| digits.starts_with(g.hs_code))
        .or_else(|| {
            digits
                .get(..4)
                .and_then(|heading| GOODS.iter().find(|g| g.hs_code.starts_with(heading)))
        })
}

/// Profile of a kind.
pub fn profile(kind: GoodsKind) -> &'static GoodsProfile {
    // GOODS lists every kind exactly once, in declaration order.
    &GOODS[kind as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs_lookup_by_subheading_and_heading() {
        assert_eq!(
            profile_for_hs("0803.90").map(|p| p.kind),
            Some(GoodsKind::Fruit)
        );
        assert_eq!(
            profile_for_hs("2402 20 90").map(|p| p.kind),
            Some(GoodsKind::Cigarettes)
        );
        assert_eq!(
            profile_for_hs("260112").map(|p| p.kind),
            Some(GoodsKind::IronOre)
        );
        assert!(profile_for_hs("999999").is_none());
        for g in &GOODS {
            assert_eq!(profile(g.kind).hs_code, g.hs_code);
        }
    }
}
