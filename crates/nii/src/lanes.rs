//! Risk lanes (customs selectivity, as in UNCTAD ASYCUDA): red = physical inspection, yellow = documentary
//! check, blue = release with post-clearance audit, green = release. Each consignment gets points from rules on
//! the declarant's history, origin, HS-code risk, mass discrepancy and image findings, plus a configurable random
//! selection; every decision lists the rules that fired.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyze::{Finding, FindingKind};
use crate::goods::profile_for_hs;

/// Selectivity lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Release.
    Green,
    /// Release, audit after clearance.
    Blue,
    /// Documentary check.
    Yellow,
    /// Physical inspection.
    Red,
}

/// A declarant's record with this customs administration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeclarantHistory {
    /// Declarations filed so far.
    pub declarations: u32,
    /// Inspections that found an offence.
    pub offences: u32,
    /// Years since registration.
    pub years_registered: f64,
}

/// What the lane rules look at for one consignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneInputs {
    /// Consignment or declaration reference: seeds the random selection, so the same declaration always draws
    /// the same number.
    pub reference: String,
    /// Declarant identifier.
    pub declarant_id: String,
    /// The declarant's record.
    pub history: DeclarantHistory,
    /// ISO 3166-1 alpha-2 origin.
    pub origin_country: String,
    /// Declared HS codes.
    pub hs_codes: Vec<String>,
    /// Declared mass, kg.
    pub declared_mass_kg: f64,
    /// Mass measured (weighbridge or image), kg, if known.
    pub measured_mass_kg: Option<f64>,
    /// Image analysis findings, if the container was scanned.
    pub findings: Vec<Finding>,
}

/// Configurable rules; unknown fields in a rules file are an error, so a typo cannot silently disable a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LaneRules {
    /// Origins under a risk profile (ISO alpha-2).
    pub high_risk_origins: Vec<String>,
    /// Points for a high-risk origin.
    pub origin_points: f64,
    /// Points per unit of HS heading risk (0..1, from the goods catalogue).
    pub hs_risk_points: f64,
    /// Points for an HS code the catalogue does not know.
    pub unknown_hs_points: f64,
    /// Points for a declarant with past offences.
    pub offence_points: f64,
    /// Points for a new declarant (under a year or under 10 declarations).
    pub new_declarant_points: f64,
    /// Points (negative) for a trusted declarant: 3+ years, 50+ declarations, no offence.
    pub trusted_declarant_points: f64,
    /// Relative mass discrepancy that scores.
    pub mass_tolerance: f64,
    /// Points for a mass discrepancy beyond tolerance (doubled beyond twice the tolerance).
    pub mass_points: f64,
    /// An image finding at or above this score sends the consignment to red outright.
    pub finding_red_score: f64,
    /// Points per lower-scoring image finding.
    pub finding_points: f64,
    /// Score thresholds for red, yellow and blue.
    pub red_at: f64,
    /// Yellow threshold.
    pub yellow_at: f64,
    /// Blue threshold.
    pub blue_at: f64,
    /// Share of consignments selected at random for control, 0..1.
    pub random_rate: f64,
    /// Lane a random selection raises the consignment to (at least).
    pub random_lane: Lane,
    /// Secret salt of the random draw, so declarants cannot predict it.
    pub random_salt: String,
}

impl Default for LaneRules {
    fn default() -> Self {
        LaneRules {
            high_risk_origins: vec!["CO".into(), "EC".into(), "PE".into()],
            origin_points: 25.0,
            hs_risk_points: 30.0,
            unknown_hs_points: 10.0,
            offence_points: 40.0,
            new_declarant_points: 15.0,
            trusted_declarant_points: -20.0,
            mass_tolerance: 0.15,
            mass_points: 20.0,
            finding_red_score: 0.5,
            finding_points: 15.0,
            red_at: 60.0,
            yellow_at: 35.0,
            blue_at: 20.0,
            random_rate: 0.02,
            random_lane: Lane::Red,
            random_salt: "change-me".into(),
        }
    }
}

/// One rule that contributed to a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneReason {
    /// Rule name, stable for statistics.
    pub rule: String,
    /// Points added (negative for mitigating rules).
    pub points: f64,
    /// Readable explanation.
    pub detail: String,
}

/// The lane and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneDecision {
    /// Lane assigned.
    pub lane: Lane,
    /// Total risk points.
    pub score: f64,
    /// Rules that fired, in evaluation order.
    pub reasons: Vec<LaneReason>,
    /// Whether the random selection raised the lane.
    pub random_selection: bool,
}

/// Assigns a lane. Deterministic: the random selection is drawn from SHA-256 of the salt and the reference.
pub fn assign_lane(inputs: &LaneInputs, rules: &LaneRules) -> LaneDecision {
    let mut reasons: Vec<LaneReason> = Vec::new();
    let mut add = |rule: &str, points: f64, detail: String| {
        reasons.push(LaneReason {
            rule: rule.to_string(),
            points,
            detail,
        });
    };
    let h = &inputs.history;
    if h.offences > 0 {
        add(
            "declarant_offences",
            rules.offence_points,
            format!(
                "declarant {} has {} past offence(s)",
                inputs.declarant_id, h.offences
            ),
        );
    } else if h.years_registered >= 3.0 && h.declarations >= 50 {
        add(
            "trusted_declarant",
            rules.trusted_declarant_points,
            format!(
                "declarant {} has {} declarations over {:.0} years without offence",
                inputs.declarant_id, h.declarations, h.years_registered
            ),
        );
    }
    if h.years_registered < 1.0 || h.declarations < 10 {
        add(
            "new_declarant",
            rules.new_declarant_points,
            format!(
                "declarant {} is new ({} declarations, {:.1} years)",
                inputs.declarant_id, h.declarations, h.years_registered
            ),
        );
    }
    if rules
        .high_risk_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&inputs.origin_country))
    {
        add(
            "origin_risk",
            rules.origin_points,
            format!("origin {} is under a risk profile", inputs.origin_country),
        );
    }
    let mut max_hs_risk: Option<f64> = None;
    for code in &inputs.hs_codes {
        match profile_for_hs(code) {
            Some(p) => max_hs_risk = Some(max_hs_risk.map_or(p.hs_risk, |m: f64| m.max(p.hs_risk))),
            None => add(
                "unknown_hs_code",
                rules.unknown_hs_points,
                format!("HS code {code} has no risk profile"),
            ),
        }
    }
    if let Some(risk) = max_hs_risk.filter(|r| *r > 0.0) {
        add(
            "hs_risk",
            rules.hs_risk_points * risk,
            format!("declared goods carry HS heading risk {risk:.1}"),
        );
    }
    if let Some(measured) = inputs.measured_mass_kg
        && inputs.declared_mass_kg > 0.0
    {
        let rel = (measured - inputs.declared_mass_kg) / inputs.declared_mass_kg;
        if rel.abs() > rules.mass_tolerance {
            let points = if rel.abs() > 2.0 * rules.mass_tolerance {
                2.0 * rules.mass_points
            } else {
                rules.mass_points
            };
            add(
                "mass_discrepancy",
                points,
                format!(
                    "measured {measured:.0} kg against {:.0} kg declared ({:+.0} %)",
                    inputs.declared_mass_kg,
                    100.0 * rel
                ),
            );
        }
    }
    let mut forced_red = false;
    for f in inputs
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::MassDiscrepancy)
    {
        if f.score >= rules.finding_red_score {
            forced_red = true;
            add(
                "image_finding",
                rules.red_at,
                format!(
                    "image finding {} (score {:.2}): {}",
                    f.id, f.score, f.reason
                ),
            );
        } else {
            add(
                "image_finding_weak",
                rules.finding_points,
                format!(
                    "weak image finding {} (score {:.2}): {}",
                    f.id, f.score, f.reason
                ),
            );
        }
    }
    let score: f64 = reasons.iter().map(|r| r.points).sum();
    let mut lane = if forced_red || score >= rules.red_at {
        Lane::Red
    } else if score >= rules.yellow_at {
        Lane::Yellow
    } else if score >= rules.blue_at {
        Lane::Blue
    } else {
        Lane::Green
    };
    let draw = random_draw(&rules.random_salt, &inputs.reference);
    let random_selection = draw < rules.random_rate && lane < rules.random_lane;
    if random_selection {
        lane = rules.random_lane;
        reasons.push(LaneReason {
            rule: "random_selection".into(),
            points: 0.0,
            detail: format!(
                "selected at random for control (rate {:.1} %)",
                100.0 * rules.random_rate
            ),
        });
    }
    LaneDecision {
        lane,
        score,
        reasons,
        random_selection,
    }
}

/// Uniform draw in [0, 1) from SHA-256(salt || 0x00 || reference).
fn random_draw(salt: &str, reference: &str) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(reference.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::MaterialClass;
    use crate::manifest::PixelBox;

    fn base() -> LaneInputs {
        LaneInputs {
            reference: "DECL-1".into(),
            declarant_id: "DCL-0001".into(),
            history: DeclarantHistory {
                declarations: 200,
                offences: 0,
                years_registered: 8.0,
            },
            origin_country: "DE".into(),
            hs_codes: vec!["847410".into()],
            declared_mass_kg: 8000.0,
            measured_mass_kg: Some(8100.0),
            findings: Vec::new(),
        }
    }

    fn no_random() -> LaneRules {
        LaneRules {
            random_rate: 0.0,
            ..LaneRules::default()
        }
    }

    #[test]
    fn trusted_low_risk_consignment_is_green_with_reasons() {
        let d = assign_lane(&base(), &no_random());
        assert_eq!(d.lane, Lane::Green);
        assert!(d.reasons.iter().any(|r| r.rule == "trusted_declarant"));
        assert!(d.reasons.iter().any(|r| r.rule == "hs_risk"));
    }

    #[test]
    fn risk_factors_add_up_to_yellow_and_red() {
        let mut i = base();
        i.history = DeclarantHistory::default();
        i.origin_country = "CO".into();
        i.hs_codes = vec!["080390".into()];
        // new 15 + origin 25 + bananas 0.6 * 30 = 58: yellow.
        assert_eq!(assign_lane(&i, &no_random()).lane, Lane::Yellow);
        i.measured_mass_kg = Some(10_000.0);
        let d = assign_lane(&i, &no_random());
        assert_eq!(d.lane, Lane::Red);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.rule == "mass_discrepancy" && r.detail.contains("+25 %"))
        );
    }

    #[test]
    fn strong_image_finding_forces_red() {
        let mut i = base();
        i.findings.push(Finding {
            id: 0,
            kind: FindingKind::ShieldedOrganic,
            region: PixelBox {
                x0: 1,
                y0: 1,
                x1: 5,
                y1: 5,
            },
            material: MaterialClass::Organic,
            score: 0.9,
            mass_kg: 80.0,
            reason: "organic behind steel".into(),
        });
        let d = assign_lane(&i, &no_random());
        assert_eq!(d.lane, Lane::Red);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.detail.contains("organic behind steel"))
        );
    }

    #[test]
    fn random_selection_rate_is_respected_and_deterministic() {
        let rules = LaneRules {
            random_rate: 0.1,
            ..LaneRules::default()
        };
        let mut picked = 0;
        for k in 0..2000 {
            let mut i = base();
            i.reference = format!("DECL-{k}");
            let d = assign_lane(&i, &rules);
            assert_eq!(d, assign_lane(&i, &rules));
            if d.random_selection {
                picked += 1;
                assert_eq!(d.lane, Lane::Red);
                assert!(d.reasons.iter().any(|r| r.rule == "random_selection"));
            }
        }
        assert!((150..250).contains(&picked), "{picked}");
    }

    #[test]
    fn rules_file_rejects_unknown_fields() {
        let err = serde_json::from_str::<LaneRules>(r#"{"random_rat": 0.5}"#);
        assert!(err.is_err());
        let ok: LaneRules = serde_json::from_str(r#"{"random_rate": 0.05}"#).unwrap();
        assert!((ok.random_rate - 0.05).abs() < 1e-12);
    }
}
