//! Score calibration: what false match rate a threshold on [`crate::compare`] scores stands for.
//!
//! The table is the upper tail of 16,320 impostor scores: every cross-finger i<j pair of the four shared sets
//! (`FVC2000_DB1_B`, `DB3_B`, `DB4_B`, `toy_PNG`; 2,880 + 2,880 + 2,880 + 7,680 pairs), measured with
//! `examples/fusion.rs` on this matcher version. A pair is accepted when `score >= threshold`. Points
//! below FMR 10⁻³ rest on 16 scores or fewer and the last one on 3: treat 10⁻⁴ as an extrapolation, and
//! recalibrate on the operator's own impostor population before relying on it. Scores are the fusion's logistic
//! output, fit with genuine and impostor pairs weighted equally: read them through this table, not as
//! probabilities.

/// `(FMR, threshold)` points, FMR decreasing, threshold increasing.
pub const CALIBRATION: [(f64, f32); 9] = [
    (1e-1, 0.1306),
    (5e-2, 0.2475),
    (2e-2, 0.4414),
    (1e-2, 0.5881),
    (5e-3, 0.6992),
    (2e-3, 0.8386),
    (1e-3, 0.8871),
    (5e-4, 0.9132),
    (2e-4, 0.9258),
];

/// Threshold whose measured FMR is `fmr` (log-linear interpolation between table points, clamped to the table).
#[must_use]
pub fn threshold_for_fmr(fmr: f64) -> f32 {
    let target = fmr
        .clamp(CALIBRATION[CALIBRATION.len() - 1].0, CALIBRATION[0].0)
        .ln();
    for pair in CALIBRATION.windows(2) {
        let ((f0, t0), (f1, t1)) = (pair[0], pair[1]);
        let (l0, l1) = (f0.ln(), f1.ln());
        if target <= l0 && target >= l1 {
            let w = ((l0 - target) / (l0 - l1)) as f32;
            return t0 + w * (t1 - t0);
        }
    }
    CALIBRATION[CALIBRATION.len() - 1].1
}

/// Estimated FMR of accepting at `score` (inverse of [`threshold_for_fmr`], clamped to the table's range).
#[must_use]
pub fn fmr_for_score(score: f32) -> f64 {
    let (first, last) = (CALIBRATION[0], CALIBRATION[CALIBRATION.len() - 1]);
    if score <= first.1 {
        return first.0;
    }
    if score >= last.1 {
        return last.0;
    }
    for pair in CALIBRATION.windows(2) {
        let ((f0, t0), (f1, t1)) = (pair[0], pair[1]);
        if score >= t0 && score <= t1 {
            let w = f64::from((score - t0) / (t1 - t0));
            return (f0.ln() + w * (f1.ln() - f0.ln())).exp();
        }
    }
    last.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_monotone_and_inverse_holds() {
        for pair in CALIBRATION.windows(2) {
            assert!(pair[0].0 > pair[1].0 && pair[0].1 < pair[1].1);
        }
        for fmr in [1e-2, 3e-3, 1e-3] {
            let t = threshold_for_fmr(fmr);
            assert!((fmr_for_score(t) / fmr - 1.0).abs() < 1e-3, "{fmr}");
        }
        assert_eq!(threshold_for_fmr(1e-2), CALIBRATION[3].1);
    }
}
