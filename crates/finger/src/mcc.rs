//! Minutia Cylinder-Code matching, bit-vector variant.
//!
//! After R. Cappelli, M. Ferrara, D. Maltoni, "Minutia Cylinder-Code: a new representation and matching technique
//! for fingerprint recognition", IEEE TPAMI 32(12), 2010. Each minutia gets a cylinder: a 16×16 spatial grid of
//! radius [`RADIUS`] around it, rotated to its direction, times 6 direction bins. A cell's bit is set when the
//! nearby minutiae (Gaussian in space, σS; integrated Gaussian in relative direction, σD) contribute more than
//! μψ (the paper's binarised "MCC16b" variant). Cells outside the convex hull of the minutiae (enlarged by ω) are
//! invalid. Two cylinders compare by popcount: `1 − √|a⊕b| / (√|a| + √|b|)` over their common valid cells.
//! The global score consolidates the local similarities by LSS-R: the best one-to-one pairs are relaxed by their
//! geometric compatibility and the `nP` most efficient pairs are averaged (paper §4.2–4.3).
//!
//! All geometry is in 500-ppi pixels, so templates from sensors of other resolutions compare directly.

use std::f32::consts::{PI, TAU};

use crate::template::Template;

/// Cylinder radius R in 500-ppi pixels.
pub const RADIUS: f32 = 70.0;
/// Cells per side NS.
const NS: usize = 16;
/// Direction bins ND.
const ND: usize = 6;
/// Spatial cells per cylinder.
const N_SPATIAL: usize = NS * NS;
/// u64 words per direction layer.
const LAYER_WORDS: usize = N_SPATIAL / 64;
/// u64 words per cylinder.
pub(crate) const CYL_WORDS: usize = LAYER_WORDS * ND;
const SIGMA_S: f32 = 28.0 / 3.0;
const SIGMA_D: f32 = 2.0 * PI / 9.0;
const MU_PSI: f32 = 0.01;
/// Convex-hull enlargement ω.
const OMEGA: f32 = 50.0;
const MIN_VALID_CELLS: f32 = 0.75;
const MIN_NEIGHBOURS: usize = 2;
/// Fraction of cells that must be valid in both cylinders for them to be comparable (minME).
const MIN_MATCHABLE: f32 = 0.60;
/// Largest direction difference between two comparable minutiae (δθ). The paper uses π/2; π/4 still covers
/// the rotations of plain livescan captures and lowered the EER on every shared set (docs/finger.md).
const MAX_ANGLE: f32 = PI / 4.0;
/// Fewest and most pairs averaged by LSS-R (paper: 4 and 12). Averaging more pairs lowered the EER on every
/// shared set, because our extractor yields more minutiae per print than the paper's (docs/finger.md).
const MIN_NP: f32 = 8.0;
const MAX_NP: f32 = 20.0;
const MU_P: f32 = 20.0;
const TAU_P: f32 = 0.4;
const N_REL: usize = 5;
const W_R: f32 = 0.5;
const MU_1: f32 = 5.0;
const TAU_1: f32 = -1.6;
const MU_2: f32 = PI / 12.0;
const TAU_2: f32 = -30.0;
const MU_3: f32 = PI / 12.0;
const TAU_3: f32 = -30.0;

/// One minutia in the matcher's frame: 500-ppi pixels, y up, direction counter-clockwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point {
    pub x: f32,
    pub y: f32,
    pub angle: f32,
}

/// One valid cylinder.
#[derive(Clone, Debug)]
pub(crate) struct Cylinder {
    /// Index of the centre minutia in [`MccTemplate::points`].
    pub minutia: u16,
    /// Cell bits, layer (direction bin) major.
    pub bits: [u64; CYL_WORDS],
    /// Valid spatial cells.
    pub valid: [u64; LAYER_WORDS],
}

/// A template prepared for matching: the minutiae in the matcher's frame and their valid cylinders.
#[derive(Clone, Debug)]
pub struct MccTemplate {
    pub(crate) points: Vec<Point>,
    pub(crate) cylinders: Vec<Cylinder>,
    /// Convex hull of the minutiae, counter-clockwise: the cylinders' validity area and, in the global
    /// consolidation, the print's area.
    hull: Vec<(f32, f32)>,
}

impl MccTemplate {
    /// Builds the cylinders of a template.
    #[must_use]
    pub fn new(template: &Template) -> Self {
        let scale = 500.0 / template.ppi.max(1) as f32;
        let points: Vec<Point> = template
            .minutiae
            .iter()
            .map(|m| Point {
                x: m.x * scale,
                y: -m.y * scale,
                angle: m.angle,
            })
            .collect();
        Self::from_points(points)
    }

    pub(crate) fn from_points(points: Vec<Point>) -> Self {
        let hull = convex_hull(&points);
        let mut cylinders = Vec::with_capacity(points.len());
        for (idx, centre) in points.iter().enumerate() {
            if let Some(cyl) = build_cylinder(idx, centre, &points, &hull) {
                cylinders.push(cyl);
            }
        }
        Self {
            points,
            cylinders,
            hull,
        }
    }

    /// Number of minutiae.
    #[must_use]
    pub fn n_minutiae(&self) -> usize {
        self.points.len()
    }

    /// Number of valid cylinders (minutiae usable for matching).
    #[must_use]
    pub fn n_cylinders(&self) -> usize {
        self.cylinders.len()
    }

    /// Bytes of memory held by this template (heap plus inline).
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.points.capacity() * std::mem::size_of::<Point>()
            + self.cylinders.capacity() * std::mem::size_of::<Cylinder>()
            + self.hull.capacity() * std::mem::size_of::<(f32, f32)>()
    }
}

/// Signed difference of two angles, in `(-π, π]`.
pub(crate) fn angle_delta(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(TAU);
    if d > PI { d - TAU } else { d }
}

fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// Abramowitz–Stegun 7.1.26 approximation of erf (|error| < 1.5e-7).
fn erf(x: f32) -> f32 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t
            * (-x * x).exp();
    sign * y
}

/// Directional contribution: the area of N(0, σD) over the direction bin centred at `bin_centre`, shifted by
/// the neighbour's relative direction (paper eq. 7).
fn directional(bin_centre: f32, relative: f32) -> f32 {
    let delta = angle_delta(bin_centre, relative);
    let half = PI / ND as f32;
    let k = 1.0 / (SIGMA_D * std::f32::consts::SQRT_2);
    0.5 * (erf((delta + half) * k) - erf((delta - half) * k))
}

/// Steps of the relative-direction lookup table (0.35° each, far below σD = 40°).
const DIR_STEPS: usize = 1024;

/// The directional contributions of all bins for a relative direction, from a table computed once: erf is the
/// costliest step of cylinder building otherwise.
fn directional_row(relative: f32) -> [f32; ND] {
    static TABLE: std::sync::OnceLock<Vec<[f32; ND]>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let bin_centres: [f32; ND] =
            std::array::from_fn(|k| -PI + (k as f32 + 0.5) * TAU / ND as f32);
        (0..DIR_STEPS)
            .map(|step| {
                let relative = -PI + (step as f32 + 0.5) * TAU / DIR_STEPS as f32;
                std::array::from_fn(|k| directional(bin_centres[k], relative))
            })
            .collect()
    });
    let step = (((relative + PI) / TAU * DIR_STEPS as f32) as usize).min(DIR_STEPS - 1);
    table.get(step).copied().unwrap_or([0.0; ND])
}

fn build_cylinder(
    idx: usize,
    centre: &Point,
    points: &[Point],
    hull: &[(f32, f32)],
) -> Option<Cylinder> {
    let reach = RADIUS + 3.0 * SIGMA_S;
    // Per neighbour: position in the cylinder's own frame (u along the minutia direction, v across) and its
    // directional contribution to each bin, which does not depend on the cell. Sorted by u so each grid row
    // only visits the neighbours within 3σS of it.
    let (ca, sa) = (centre.angle.cos(), centre.angle.sin());
    let mut neighbours: Vec<(f32, f32, [f32; ND])> = points
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != idx && (p.x - centre.x).powi(2) + (p.y - centre.y).powi(2) <= reach * reach
        })
        .map(|(_, p)| {
            let relative = angle_delta(centre.angle, p.angle);
            let (dx, dy) = (p.x - centre.x, p.y - centre.y);
            (
                dx * ca + dy * sa,
                -dx * sa + dy * ca,
                directional_row(relative),
            )
        })
        .collect();
    if neighbours.len() < MIN_NEIGHBOURS {
        return None;
    }
    neighbours.sort_by(|a, b| a.0.total_cmp(&b.0));
    let cell = 2.0 * RADIUS / NS as f32;
    let gauss_norm = 1.0 / (SIGMA_S * (TAU).sqrt());
    let cutoff = 9.0 * SIGMA_S * SIGMA_S;
    // A cell this close to the centre is within Ω of the hull without testing it: the disk of radius `depth`
    // around the centre lies inside the (convex) hull. Interior minutiae skip the test for every cell.
    let sure_valid = (depth_in_hull(hull, centre.x, centre.y) + OMEGA).powi(2);
    let mut bits = [0u64; CYL_WORDS];
    let mut valid = [0u64; LAYER_WORDS];
    let mut n_valid = 0u32;
    let mut n_in_circle = 0u32;
    for i in 0..NS {
        let u = (i as f32 - (NS as f32 - 1.0) / 2.0) * cell;
        let lo = neighbours.partition_point(|n| n.0 < u - 3.0 * SIGMA_S);
        let hi = neighbours.partition_point(|n| n.0 <= u + 3.0 * SIGMA_S);
        let row = &neighbours[lo..hi];
        for j in 0..NS {
            let v = (j as f32 - (NS as f32 - 1.0) / 2.0) * cell;
            let from_centre = u * u + v * v;
            if from_centre > RADIUS * RADIUS {
                continue;
            }
            n_in_circle += 1;
            // Cell centre rotated into the image frame (paper eq. 2), for the validity test.
            let px = centre.x + u * ca - v * sa;
            let py = centre.y + u * sa + v * ca;
            if from_centre > sure_valid && hull_distance_sq(hull, px, py) > OMEGA * OMEGA {
                continue;
            }
            let cell_idx = i * NS + j;
            valid[cell_idx / 64] |= 1u64 << (cell_idx % 64);
            n_valid += 1;
            let mut sums = [0.0f32; ND];
            for (nu, nv, dir) in row {
                let d2 = (nu - u).powi(2) + (nv - v).powi(2);
                if d2 > cutoff {
                    continue;
                }
                let spatial = gauss_norm * (-d2 / (2.0 * SIGMA_S * SIGMA_S)).exp();
                for (sum, contribution) in sums.iter_mut().zip(dir) {
                    *sum += spatial * contribution;
                }
            }
            for (k, sum) in sums.iter().enumerate() {
                if *sum > MU_PSI {
                    let bit = k * N_SPATIAL + cell_idx;
                    bits[bit / 64] |= 1u64 << (bit % 64);
                }
            }
        }
    }
    if (n_valid as f32) < MIN_VALID_CELLS * n_in_circle as f32 {
        return None;
    }
    Some(Cylinder {
        minutia: u16::try_from(idx).ok()?,
        bits,
        valid,
    })
}

/// Convex hull, counter-clockwise (Andrew's monotone chain).
fn convex_hull(points: &[Point]) -> Vec<(f32, f32)> {
    let mut pts: Vec<(f32, f32)> = points.iter().map(|p| (p.x, p.y)).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    /// Appends `p`, first dropping the points that would not make a left turn, down to `floor` points.
    fn extend(hull: &mut Vec<(f32, f32)>, p: (f32, f32), floor: usize) {
        while hull.len() >= floor.max(2) {
            let (o, a) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            if (a.0 - o.0) * (p.1 - o.1) - (a.1 - o.1) * (p.0 - o.0) > 0.0 {
                break;
            }
            hull.pop();
        }
        hull.push(p);
    }
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(pts.len() + 1);
    // Lower chain left to right, then upper chain right to left; the upper chain never pops into the lower
    // one (without that bound a hull could collapse to a few points).
    for p in &pts {
        extend(&mut hull, *p, 2);
    }
    let lower = hull.len() + 1;
    for p in pts.iter().rev().skip(1) {
        extend(&mut hull, *p, lower);
    }
    hull.pop();
    hull
}

/// Distance from a point inside a convex counter-clockwise polygon to its boundary: the nearest edge line
/// (0 on or outside the polygon, or for fewer than three vertices).
fn depth_in_hull(hull: &[(f32, f32)], x: f32, y: f32) -> f32 {
    if hull.len() < 3 {
        return 0.0;
    }
    let n = hull.len();
    (0..n)
        .map(|k| {
            let a = hull[k];
            let b = hull[(k + 1) % n];
            let (ex, ey) = (b.0 - a.0, b.1 - a.1);
            let cross = ex * (y - a.1) - ey * (x - a.0);
            cross / (ex * ex + ey * ey).sqrt().max(1e-6)
        })
        .fold(f32::INFINITY, f32::min)
        .max(0.0)
}

/// Squared distance from a point to a convex polygon (0 inside).
fn hull_distance_sq(hull: &[(f32, f32)], x: f32, y: f32) -> f32 {
    if hull.len() < 3 {
        return hull
            .iter()
            .map(|p| (p.0 - x).powi(2) + (p.1 - y).powi(2))
            .fold(f32::INFINITY, f32::min);
    }
    // Inside test first: most cells are inside the hull and need no distance.
    let n = hull.len();
    let inside = (0..n).all(|k| {
        let a = hull[k];
        let b = hull[(k + 1) % n];
        (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0
    });
    if inside {
        return 0.0;
    }
    let mut best = f32::INFINITY;
    for k in 0..n {
        let a = hull[k];
        let b = hull[(k + 1) % n];
        let (ex, ey) = (b.0 - a.0, b.1 - a.1);
        let len2 = (ex * ex + ey * ey).max(1e-9);
        let t = (((x - a.0) * ex + (y - a.1) * ey) / len2).clamp(0.0, 1.0);
        best = best.min((a.0 + t * ex - x).powi(2) + (a.1 + t * ey - y).powi(2));
    }
    best
}

/// Local similarity of two cylinders, or 0 when they are not comparable.
#[inline]
fn cylinder_similarity(a: &Cylinder, b: &Cylinder, min_common: u32) -> f32 {
    let mut common = [0u64; LAYER_WORDS];
    let mut n_common = 0u32;
    for w in 0..LAYER_WORDS {
        common[w] = a.valid[w] & b.valid[w];
        n_common += common[w].count_ones();
    }
    if n_common < min_common {
        return 0.0;
    }
    let (mut na, mut nb, mut nx) = (0u32, 0u32, 0u32);
    for layer in 0..ND {
        for w in 0..LAYER_WORDS {
            let idx = layer * LAYER_WORDS + w;
            let ca = a.bits[idx] & common[w];
            let cb = b.bits[idx] & common[w];
            na += ca.count_ones();
            nb += cb.count_ones();
            nx += (ca ^ cb).count_ones();
        }
    }
    let denom = (na as f32).sqrt() + (nb as f32).sqrt();
    if denom <= 0.0 {
        return 0.0;
    }
    1.0 - (nx as f32).sqrt() / denom
}

/// Number of spatial cells inside the cylinder's circle (the reference for minME).
fn cells_in_circle() -> u32 {
    let cell = 2.0 * RADIUS / NS as f32;
    let mut n = 0;
    for i in 0..NS {
        for j in 0..NS {
            let u = (i as f32 - (NS as f32 - 1.0) / 2.0) * cell;
            let v = (j as f32 - (NS as f32 - 1.0) / 2.0) * cell;
            if u.hypot(v) <= RADIUS {
                n += 1;
            }
        }
    }
    n
}

/// Compares two templates, preparing their cylinders first (for one-off 1:1 checks; prepare once with
/// [`MccTemplate::new`] when a template is compared many times).
#[must_use]
pub fn compare_templates(a: &Template, b: &Template) -> f32 {
    compare(&MccTemplate::new(a), &MccTemplate::new(b))
}

/// Compares two prepared templates; the score is in `[0, 1]`, higher = more alike.
///
/// Two measurements are fused: the LSS-R score of the cylinders (local structure) and a global consolidation
/// (how many minutiae pair up once the prints are aligned, and how many lie in the common area). The fusion is
/// a logistic model over [`Detail::features`] whose weights ([`FUSION`]) were fit on the shared sets with a
/// leave-one-set-out check (docs/finger.md, "Score fusion").
#[must_use]
pub fn compare(a: &MccTemplate, b: &MccTemplate) -> f32 {
    compare_detail(a, b).score()
}

/// Number of features the fusion weighs.
pub const N_FEATURES: usize = 4;

/// Logistic fusion weights over [`Detail::features`], then the bias. Fit by `examples/fusion.rs` on the four
/// shared sets (docs/finger.md, "Score fusion").
pub const FUSION: [f32; N_FEATURES + 1] = [2.992_133, 7.144_782, -1.531_365, -4.217_178, 6.591_817];

/// What one comparison measured, before fusion.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Detail {
    /// LSS-R score of the cylinders, in `[0, 1]`.
    pub lss: f32,
    /// Minutiae paired one-to-one after global alignment.
    pub matched: f32,
    /// Minutiae of the first template inside the second's area, after alignment.
    pub n_a: f32,
    /// Minutiae of the second template inside the first's area, after alignment.
    pub n_b: f32,
    /// Mean distance of the paired minutiae, as a fraction of the pairing tolerance (0 = exact).
    pub residual: f32,
}

impl Detail {
    /// The fusion's inputs: ln LSS-R, ln(1 + paired), ln of the common-area minutiae product, residual.
    #[must_use]
    pub fn features(&self) -> [f32; N_FEATURES] {
        [
            (self.lss + 1e-4).ln(),
            self.matched.ln_1p(),
            (self.n_a.max(1.0) * self.n_b.max(1.0)).ln(),
            self.residual,
        ]
    }

    /// The fused score in `[0, 1]`; 0 when nothing was comparable.
    #[must_use]
    pub fn score(&self) -> f32 {
        if self.lss <= 0.0 {
            return 0.0;
        }
        fuse(&self.features(), &FUSION)
    }
}

/// Logistic fusion of `features` with `weights` (the last one is the bias).
#[must_use]
pub fn fuse(features: &[f32; N_FEATURES], weights: &[f32; N_FEATURES + 1]) -> f32 {
    let z: f32 = features
        .iter()
        .zip(weights)
        .map(|(f, w)| f * w)
        .sum::<f32>()
        + weights[N_FEATURES];
    1.0 / (1.0 + (-z).exp())
}

/// Compares two prepared templates and returns the measurements before fusion.
#[must_use]
pub fn compare_detail(a: &MccTemplate, b: &MccTemplate) -> Detail {
    let n_a = a.cylinders.len();
    let n_b = b.cylinders.len();
    if n_a == 0 || n_b == 0 {
        return Detail::default();
    }
    let min_common = (MIN_MATCHABLE * cells_in_circle() as f32).ceil() as u32;
    // Local similarity matrix, kept sparse: only comparable pairs with a positive similarity.
    let mut pairs: Vec<(f32, u16, u16)> = Vec::with_capacity(n_a * 4);
    for (ia, ca) in a.cylinders.iter().enumerate() {
        let pa = a.points[ca.minutia as usize];
        for (ib, cb) in b.cylinders.iter().enumerate() {
            let pb = b.points[cb.minutia as usize];
            if angle_delta(pa.angle, pb.angle).abs() > MAX_ANGLE {
                continue;
            }
            let s = cylinder_similarity(ca, cb, min_common);
            if s > 0.0 {
                pairs.push((s, ia as u16, ib as u16));
            }
        }
    }
    let n_min = n_a.min(n_b);
    let n_p = (MIN_NP + (sigmoid(n_min as f32, MU_P, TAU_P) * (MAX_NP - MIN_NP)).round()) as usize;
    // LSS-R step 1: the best one-to-one pairs, nR = min(nA, nB) of them at most.
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut used_a = vec![false; n_a];
    let mut used_b = vec![false; n_b];
    let mut chosen: Vec<(f32, Point, Point)> = Vec::with_capacity(n_min);
    for (s, ia, ib) in pairs {
        let (ia, ib) = (ia as usize, ib as usize);
        if used_a[ia] || used_b[ib] {
            continue;
        }
        used_a[ia] = true;
        used_b[ib] = true;
        chosen.push((
            s,
            a.points[a.cylinders[ia].minutia as usize],
            b.points[b.cylinders[ib].minutia as usize],
        ));
        if chosen.len() == n_min {
            break;
        }
    }
    let n_r = chosen.len();
    if n_r < 2 {
        return Detail::default();
    }
    // LSS-R step 2: relaxation by pairwise compatibility ρ (paper eq. 16–18).
    let mut rho = vec![0.0f32; n_r * n_r];
    for r in 0..n_r {
        let (_, ar, br) = chosen[r];
        for k in 0..n_r {
            if k == r {
                continue;
            }
            let (_, ak, bk) = chosen[k];
            let da = (ar.x - ak.x).hypot(ar.y - ak.y);
            let db = (br.x - bk.x).hypot(br.y - bk.y);
            let d1 = (da - db).abs();
            let d2 = angle_delta(
                angle_delta(ar.angle, ak.angle),
                angle_delta(br.angle, bk.angle),
            )
            .abs();
            let radial_a = angle_delta(ar.angle, (ak.y - ar.y).atan2(ak.x - ar.x));
            let radial_b = angle_delta(br.angle, (bk.y - br.y).atan2(bk.x - br.x));
            let d3 = angle_delta(radial_a, radial_b).abs();
            rho[r * n_r + k] =
                sigmoid(d1, MU_1, TAU_1) * sigmoid(d2, MU_2, TAU_2) * sigmoid(d3, MU_3, TAU_3);
        }
    }
    let initial: Vec<f32> = chosen.iter().map(|c| c.0).collect();
    let mut lambda = initial.clone();
    let mut next = vec![0.0f32; n_r];
    for _ in 0..N_REL {
        for r in 0..n_r {
            let support: f32 = (0..n_r).map(|k| rho[r * n_r + k] * lambda[k]).sum();
            next[r] = W_R * lambda[r] + (1.0 - W_R) * support / (n_r - 1) as f32;
        }
        std::mem::swap(&mut lambda, &mut next);
    }
    // LSS-R step 3: average the nP pairs that kept most of their similarity.
    let mut order: Vec<usize> = (0..n_r).collect();
    order.sort_by(|&x, &y| {
        let ex = lambda[x] / initial[x].max(1e-9);
        let ey = lambda[y] / initial[y].max(1e-9);
        ey.total_cmp(&ex)
    });
    let take = n_p.min(n_r);
    let sum: f32 = order.iter().take(take).map(|&r| lambda[r]).sum();
    // Divide by nP, not by the pairs found, so a template with fewer matching pairs than nP cannot score high.
    let lss = (sum / n_p as f32).clamp(0.0, 1.0);
    let anchors: Vec<(Point, Point)> = order
        .iter()
        .take(N_ANCHORS)
        .map(|&r| (chosen[r].1, chosen[r].2))
        .collect();
    let global = consolidate(a, b, &anchors, &chosen);
    Detail { lss, ..global }
}

/// Alignments tried by the global consolidation: the LSS-R pairs that kept most of their similarity.
const N_ANCHORS: usize = 5;
/// Pairing tolerance at the anchor, in 500-ppi pixels (about one ridge period).
const PAIR_TOLERANCE: f32 = 10.0;
/// Growth of the pairing tolerance per pixel of distance from the anchor (skin distortion accumulates).
const PAIR_TOLERANCE_SLOPE: f32 = 0.06;
/// Largest direction difference of two paired minutiae after alignment (20°).
const PAIR_MAX_ANGLE: f32 = 0.35;
/// A minutia counts as inside the other print's area within this distance of its minutiae's convex hull.
const AREA_MARGIN: f32 = 10.0;
/// A rigid transform of the plane: rotation by `angle`, then translation.
#[derive(Clone, Copy, Debug)]
struct Rigid {
    angle: f32,
    cos: f32,
    sin: f32,
    tx: f32,
    ty: f32,
}

impl Rigid {
    fn new(angle: f32, tx: f32, ty: f32) -> Self {
        Self {
            angle,
            cos: angle.cos(),
            sin: angle.sin(),
            tx,
            ty,
        }
    }

    /// The transform taking minutia `a` onto minutia `b`.
    fn between(a: &Point, b: &Point) -> Self {
        let angle = angle_delta(b.angle, a.angle);
        let (c, s) = (angle.cos(), angle.sin());
        Self::new(angle, b.x - (a.x * c - a.y * s), b.y - (a.x * s + a.y * c))
    }

    fn apply(&self, p: &Point) -> Point {
        Point {
            x: p.x * self.cos - p.y * self.sin + self.tx,
            y: p.x * self.sin + p.y * self.cos + self.ty,
            angle: (p.angle + self.angle).rem_euclid(TAU),
        }
    }

    /// Least-squares rigid transform of the pairs' first points onto their second (2-D Procrustes);
    /// `None` for fewer than two pairs.
    fn fit(pairs: &[(Point, Point)]) -> Option<Self> {
        if pairs.len() < 2 {
            return None;
        }
        let n = pairs.len() as f32;
        let mean = |f: fn(&(Point, Point)) -> f32| pairs.iter().map(f).sum::<f32>() / n;
        let (ax, ay) = (mean(|p| p.0.x), mean(|p| p.0.y));
        let (bx, by) = (mean(|p| p.1.x), mean(|p| p.1.y));
        let (mut dot, mut cross) = (0.0f32, 0.0f32);
        for (a, b) in pairs {
            let (ux, uy) = (a.x - ax, a.y - ay);
            let (vx, vy) = (b.x - bx, b.y - by);
            dot += ux * vx + uy * vy;
            cross += ux * vy - uy * vx;
        }
        let angle = cross.atan2(dot);
        let (c, s) = (angle.cos(), angle.sin());
        Some(Self::new(
            angle,
            bx - (ax * c - ay * s),
            by - (ax * s + ay * c),
        ))
    }
}

/// Global consolidation. For each anchor pair: align the prints on it, refine the alignment by least squares
/// on the LSS-R pairs that agree with it, pair all minutiae one-to-one (closest first) within a tolerance that
/// grows away from the anchor, and count each print's minutiae inside the other's area (the convex hull of its
/// minutiae). Keeps the alignment with the best m² / (nA · nB), the usual normalised global score.
fn consolidate(
    ta: &MccTemplate,
    tb: &MccTemplate,
    anchors: &[(Point, Point)],
    chosen: &[(f32, Point, Point)],
) -> Detail {
    let (a, b) = (&ta.points[..], &tb.points[..]);
    let mut best = Detail::default();
    let mut best_score = -1.0f32;
    for (pa, pb) in anchors {
        let first = Rigid::between(pa, pb);
        let agreeing: Vec<(Point, Point)> = chosen
            .iter()
            .filter(|(_, ca, cb)| {
                let m = first.apply(ca);
                (m.x - cb.x).hypot(m.y - cb.y) <= 2.0 * PAIR_TOLERANCE
                    && angle_delta(m.angle, cb.angle).abs() <= PAIR_MAX_ANGLE
            })
            .map(|(_, ca, cb)| (*ca, *cb))
            .collect();
        let t = if agreeing.len() >= 3 {
            Rigid::fit(&agreeing).unwrap_or(first)
        } else {
            first
        };
        let moved: Vec<Point> = a.iter().map(|p| t.apply(p)).collect();
        let anchor = t.apply(pa);
        let (matched, residual) = pair_up(&moved, b, &anchor);
        // A rigid motion keeps a convex hull convex and counter-clockwise: move its vertices, not the points.
        let hull_a: Vec<(f32, f32)> = ta
            .hull
            .iter()
            .map(|&(x, y)| (x * t.cos - y * t.sin + t.tx, x * t.sin + y * t.cos + t.ty))
            .collect();
        let inside = |pts: &[Point], hull: &[(f32, f32)]| {
            pts.iter()
                .filter(|p| hull_distance_sq(hull, p.x, p.y) <= AREA_MARGIN * AREA_MARGIN)
                .count() as f32
        };
        let (n_a, n_b) = (inside(&moved, &tb.hull), inside(b, &hull_a));
        let score = matched * matched / (n_a.max(1.0) * n_b.max(1.0));
        if score > best_score {
            best_score = score;
            best = Detail {
                lss: 0.0,
                matched,
                n_a,
                n_b,
                residual,
            };
        }
    }
    best
}

/// Pairs aligned minutiae one-to-one, closest (relative to the local tolerance) first; returns the number of
/// pairs and their mean relative distance.
fn pair_up(a: &[Point], b: &[Point], anchor: &Point) -> (f32, f32) {
    let mut candidates: Vec<(f32, u16, u16)> = Vec::new();
    for (i, m) in a.iter().enumerate() {
        let from_anchor = ((m.x - anchor.x).powi(2) + (m.y - anchor.y).powi(2)).sqrt();
        let tol = PAIR_TOLERANCE + PAIR_TOLERANCE_SLOPE * from_anchor;
        for (j, q) in b.iter().enumerate() {
            // Squared distance first: most pairs are far apart and need neither a root nor an angle.
            let d2 = (m.x - q.x).powi(2) + (m.y - q.y).powi(2);
            if d2 <= tol * tol && angle_delta(m.angle, q.angle).abs() <= PAIR_MAX_ANGLE {
                candidates.push((d2.sqrt() / tol, i as u16, j as u16));
            }
        }
    }
    candidates.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut used_a = vec![false; a.len()];
    let mut used_b = vec![false; b.len()];
    let (mut matched, mut residual) = (0.0f32, 0.0f32);
    for (r, i, j) in candidates {
        let (i, j) = (usize::from(i), usize::from(j));
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            matched += 1.0;
            residual += r;
        }
    }
    (matched, residual / matched.max(1.0))
}

/// Deterministic bit positions for the cylinder LSH: `n_hash` lists of `n_key` (cylinder bit, spatial cell) pairs,
/// drawn from cells within 0.7 R where bits are neither almost always 0 nor almost always 1.
pub(crate) fn lsh_positions(n_hash: usize, n_key: usize) -> Vec<Vec<(usize, usize)>> {
    let cell = 2.0 * RADIUS / NS as f32;
    let inner: Vec<usize> = (0..N_SPATIAL)
        .filter(|&c| {
            let u = ((c / NS) as f32 - (NS as f32 - 1.0) / 2.0) * cell;
            let v = ((c % NS) as f32 - (NS as f32 - 1.0) / 2.0) * cell;
            u.hypot(v) <= 0.7 * RADIUS
        })
        .collect();
    let mut rng = crate::rng::XorShift64::new(0x2545_F491_4F6C_DD1D);
    let mut next = move || rng.next_u64();
    (0..n_hash)
        .map(|_| {
            (0..n_key)
                .map(|_| {
                    let c = inner[(next() % inner.len() as u64) as usize];
                    let layer = (next() % ND as u64) as usize;
                    (layer * N_SPATIAL + c, c)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(n: usize, seed: u32) -> Vec<Point> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 10_000) as f32 / 10_000.0
        };
        (0..n)
            .map(|_| Point {
                x: 200.0 * next(),
                y: -250.0 * next(),
                angle: TAU * next(),
            })
            .collect()
    }

    #[test]
    fn identical_templates_score_high_and_rotation_is_tolerated() {
        let pts = synthetic(40, 7);
        let a = MccTemplate::from_points(pts.clone());
        assert!(compare(&a, &a) > 0.95);
        let (c, s) = (0.5f32.cos(), 0.5f32.sin());
        let moved: Vec<Point> = pts
            .iter()
            .map(|p| Point {
                x: p.x * c - p.y * s + 40.0,
                y: p.x * s + p.y * c - 25.0,
                angle: (p.angle + 0.5).rem_euclid(TAU),
            })
            .collect();
        let b = MccTemplate::from_points(moved);
        let other = MccTemplate::from_points(synthetic(40, 99));
        let genuine = compare(&a, &b);
        let impostor = compare(&a, &other);
        assert!(genuine > 0.8, "{genuine}");
        assert!(impostor < 0.3, "{impostor}");
    }

    #[test]
    fn points_within_depth_plus_omega_of_a_minutia_are_within_omega_of_the_hull() {
        // The cylinder builder skips the validity test for such cells; this checks the bound it relies on.
        let mut rng = crate::rng::XorShift64::new(29);
        let mut unit = move || (rng.next_u64() % 100_000) as f32 / 100_000.0;
        for n in [3usize, 4, 7, 20, 50] {
            for _ in 0..100 {
                let points: Vec<Point> = (0..n)
                    .map(|_| Point {
                        x: 300.0 * unit(),
                        y: -300.0 * unit(),
                        angle: 0.0,
                    })
                    .collect();
                let hull = convex_hull(&points);
                for c in &points {
                    let sure = depth_in_hull(&hull, c.x, c.y) + OMEGA;
                    let (r, a) = (sure * unit(), TAU * unit());
                    let (x, y) = (c.x + r * a.cos(), c.y + r * a.sin());
                    let d = hull_distance_sq(&hull, x, y).sqrt();
                    assert!(d <= OMEGA + 1e-2, "({x}, {y}) is {d} px from {hull:?}");
                }
            }
        }
    }

    #[test]
    fn convex_hull_contains_every_point_and_turns_left() {
        let mut rng = crate::rng::XorShift64::new(11);
        for n in [3usize, 5, 8, 13, 30, 60] {
            for _ in 0..200 {
                let points: Vec<Point> = (0..n)
                    .map(|_| Point {
                        x: (rng.next_u64() % 30_000) as f32 / 100.0,
                        y: -((rng.next_u64() % 30_000) as f32) / 100.0,
                        angle: 0.0,
                    })
                    .collect();
                let hull = convex_hull(&points);
                for p in &points {
                    let d = hull_distance_sq(&hull, p.x, p.y).sqrt();
                    assert!(d < 1e-3, "{p:?} is {d} px outside {hull:?}");
                }
                for k in 0..hull.len() {
                    let (o, a, b) = (
                        hull[k],
                        hull[(k + 1) % hull.len()],
                        hull[(k + 2) % hull.len()],
                    );
                    let turn = (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
                    assert!(
                        turn > 0.0,
                        "not convex and counter-clockwise at {a:?}: {hull:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn erf_is_accurate() {
        assert!((erf(0.5) - 0.520_499_9).abs() < 1e-5);
        assert!((erf(-1.0) + 0.842_700_8).abs() < 1e-5);
    }
}
