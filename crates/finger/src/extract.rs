//! Image → minutiae.
//!
//! Pipeline, each step after the literature (Maltoni, Maio, Jain, Prabhakar, *Handbook of Fingerprint
//! Recognition*, 2nd ed., 2009, ch. 3):
//!
//! 1. resample to 500 ppi so every later constant is in one physical unit;
//! 2. local contrast normalisation (subtract the local mean, divide by the local deviation);
//! 3. segmentation by block gradient energy with a threshold relative to the image's own energy distribution,
//!    then morphological clean-up (largest component, holes filled);
//! 4. orientation by the averaged squared gradient (Bazen & Gerez, IEEE PAMI 24(7), 2002) with coherence;
//! 5. ridge period per block from the oriented x-signature (Hong, Wan & Jain, IEEE PAMI 20(8), 1998), smoothed
//!    and clamped around the image median so wide-ridged sensors need no per-set tuning;
//! 6. contextual Gabor filtering with the local orientation and period (Hong, Wan & Jain 1998);
//! 7. binarisation by sign, small valley holes in ridges (pores, specks) filled, Zhang–Suen thinning (CACM 27(3),
//!    1984), crossing-number minutiae;
//! 8. false-minutiae removal by skeleton tracing (spurs, bridges, islands, broken ridges, clusters, border) and
//!    a quality per minutia from coherence and distance to the border of the print.

use std::collections::HashMap;
use std::f32::consts::{PI, TAU};

use crate::FingerError;
use crate::image_io::{DEFAULT_PPI, FingerImage};
use crate::template::{Minutia, MinutiaKind, Template, wrap_angle};

/// Most minutiae kept per template (best quality first); real fingers carry 20–80 at 500 ppi, noisy optical
/// prints (FVC2000 DB3) up to ~130 after clean-up, and the matcher does better keeping them than cutting at 100.
pub const MAX_MINUTIAE: usize = 140;

/// A plain f32 raster.
#[derive(Clone)]
struct Plane {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Plane {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        self.data.get(y * self.w + x).copied().unwrap_or(0.0)
    }

    #[inline]
    fn set(&mut self, x: usize, y: usize, v: f32) {
        if let Some(slot) = self.data.get_mut(y * self.w + x) {
            *slot = v;
        }
    }

    /// Value at integer coordinates, clamped to the border.
    #[inline]
    fn clamped(&self, x: isize, y: isize) -> f32 {
        let cx = x.clamp(0, self.w as isize - 1) as usize;
        let cy = y.clamp(0, self.h as isize - 1) as usize;
        self.at(cx, cy)
    }

    /// Bilinear sample, clamped to the border.
    fn bilinear(&self, x: f32, y: f32) -> f32 {
        let x0 = x.floor();
        let y0 = y.floor();
        let fx = x - x0;
        let fy = y - y0;
        let (xi, yi) = (x0 as isize, y0 as isize);
        let a = self.clamped(xi, yi);
        let b = self.clamped(xi + 1, yi);
        let c = self.clamped(xi, yi + 1);
        let d = self.clamped(xi + 1, yi + 1);
        (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy
    }

    /// Mean over a (2r+1)² window, clipped at the border, through an integral image.
    fn box_mean(&self, r: usize) -> Plane {
        let (w, h) = (self.w, self.h);
        let mut integral = vec![0.0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0.0f64;
            for x in 0..w {
                row += f64::from(self.at(x, y));
                integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
            }
        }
        let mut out = Plane::new(w, h);
        for y in 0..h {
            let y0 = y.saturating_sub(r);
            let y1 = (y + r + 1).min(h);
            for x in 0..w {
                let x0 = x.saturating_sub(r);
                let x1 = (x + r + 1).min(w);
                let sum = integral[y1 * (w + 1) + x1]
                    - integral[y0 * (w + 1) + x1]
                    - integral[y1 * (w + 1) + x0]
                    + integral[y0 * (w + 1) + x0];
                let n = ((x1 - x0) * (y1 - y0)) as f64;
                out.set(x, y, (sum / n) as f32);
            }
        }
        out
    }
}

/// Extracts a minutiae template from a fingerprint image.
///
/// # Errors
/// [`FingerError::NoFingerprint`] when no ridge area is found (blank or flat images).
pub fn extract(image: &FingerImage) -> Result<Template, FingerError> {
    extract_inner(image, None)
}

/// The template of a finger sample's bytes: an ISO/IEC 19794-2 minutiae record (it starts with `FMR\0`) as
/// sent, otherwise an image (PNG, TIFF, BMP, WSQ) decoded at `ppi` (see [`load_image`]) and its minutiae extracted.
///
/// # Errors
/// A malformed record; otherwise as [`load_image`] and [`extract`].
pub fn template_from_bytes(bytes: &[u8], ppi: Option<u32>) -> Result<Template, FingerError> {
    if bytes.starts_with(b"FMR\0") {
        return crate::from_iso_19794_2(bytes).map(|(template, _)| template);
    }
    extract(&crate::load_image(bytes, ppi)?)
}

/// Fewest minutiae for a print to be searched with confidence. NIST bozorth3 refuses prints under 10 minutiae,
/// and garita's LSS-R averages over at least 8 pairs: a print with fewer than 12 leaves the matcher little to
/// align and consolidate, so an operator should capture it again while the person is still there.
pub const FEW_MINUTIAE: usize = 12;

/// What to tell the operator about one captured finger image, from its extraction: `None` when it is fit to
/// search, otherwise what went wrong and what to do.
#[must_use]
pub fn capture_advice(extracted: Result<&Template, &FingerError>) -> Option<String> {
    match extracted {
        Ok(template) if template.minutiae.len() >= FEW_MINUTIAE => None,
        Ok(template) => Some(format!(
            "only {} minutiae found (fewer than {FEW_MINUTIAE}): capture the finger again, pressed flat and \
             centred on the scanner",
            template.minutiae.len()
        )),
        Err(FingerError::NoFingerprint { .. }) => Some(
            "no fingerprint found in the image: clean the scanner and capture the finger again"
                .to_owned(),
        ),
        Err(err) => Some(format!(
            "the image cannot be used ({err}): capture the finger again"
        )),
    }
}

/// Like [`extract`], and also renders the binarised ridges, skeleton and mask at 500 ppi into `sink` (a
/// development aid for looking at what the extractor saw).
///
/// # Errors
/// As [`extract`].
#[doc(hidden)]
pub fn extract_debug(image: &FingerImage, sink: &mut Vec<u8>) -> Result<Template, FingerError> {
    extract_inner(image, Some(sink))
}

fn extract_inner(
    image: &FingerImage,
    debug: Option<&mut Vec<u8>>,
) -> Result<Template, FingerError> {
    let scale = image.ppi() as f32 / DEFAULT_PPI as f32;
    let src = to_plane(image);
    // Work at 500 ppi: all constants below are in 500-ppi pixels (1 px = 50.8 µm).
    let work = if (scale - 1.0).abs() > 0.02 {
        resample(&src, 1.0 / scale)
    } else {
        src
    };
    let (w, h) = (work.w, work.h);
    let no_print = || FingerError::NoFingerprint {
        width: image.width(),
        height: image.height(),
    };

    let (norm, contrast) = normalise(&work);
    let mut field = orientation(&work);
    let mask = segment(&work, &field).ok_or_else(no_print)?;
    let period = ridge_period(&norm, &field, &mask);
    let mut enhanced = gabor_enhance(&norm, &field, &period, &mask);
    if let Some(faint) = reorient_faint(&mut field, &enhanced, &contrast, &mask) {
        // Only the faint pixels' direction changed: filter those again.
        let again = gabor_enhance(&norm, &field, &period, &faint);
        for (idx, inside) in faint.inside.iter().enumerate() {
            if *inside {
                enhanced.data[idx] = again.data[idx];
            }
        }
    }

    let mut ridge = vec![false; w * h];
    for (idx, value) in enhanced.data.iter().enumerate() {
        ridge[idx] = mask.inside.get(idx).copied().unwrap_or(false) && *value > 0.0;
    }
    let median_t = median_inside(&period, &mask);
    let ridge = fill_ridge_holes(ridge, w, h, HOLE_AREA * median_t * median_t);
    let skeleton = thin(ridge, w, h);
    if let Some(sink) = debug {
        sink.clear();
        for idx in 0..w * h {
            let base = if mask.inside[idx] { 200u8 } else { 255 };
            let v = if skeleton[idx] {
                0
            } else if enhanced.data[idx] > 0.0 {
                150
            } else {
                base
            };
            sink.push(v);
        }
    }
    let dist = distance_to_background(&mask.inside, w, h);
    let mut minutiae = find_minutiae(&skeleton, w, h, &field, &period, &dist);
    if minutiae.is_empty() {
        return Err(no_print());
    }
    minutiae.sort_by_key(|m| std::cmp::Reverse(m.quality));
    minutiae.truncate(MAX_MINUTIAE);
    for m in &mut minutiae {
        m.x *= scale;
        m.y *= scale;
    }
    let fg = mask.inside.iter().filter(|v| **v).count().max(1);
    let mean_coherence: f32 = mask
        .inside
        .iter()
        .zip(&field.coherence.data)
        .filter(|(inside, _)| **inside)
        .map(|(_, c)| *c)
        .sum::<f32>()
        / fg as f32;
    Ok(Template {
        width: image.width(),
        height: image.height(),
        ppi: image.ppi(),
        quality: (100.0 * (mean_coherence / 0.7).min(1.0)).round() as u8,
        minutiae,
    })
}

/// Median of a plane over the foreground (every 7th pixel is enough for a robust value).
fn median_inside(plane: &Plane, mask: &Mask) -> f32 {
    let mut values: Vec<f32> = plane
        .data
        .iter()
        .zip(&mask.inside)
        .filter(|(_, inside)| **inside)
        .map(|(v, _)| *v)
        .step_by(7)
        .collect();
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(9.0)
}

/// Largest valley region, in units of the squared ridge period, that counts as a hole in a ridge.
const HOLE_AREA: f32 = 0.5;

/// Fills valley regions enclosed by ridge pixels and smaller than `max_area` pixels: sweat pores, dirt and
/// noise speckles that thinning would turn into small loops and so into pairs of false bifurcations
/// (Maltoni et al., Handbook 2nd ed., §3.8 "holes" / "lakes"; Zhao & Tang, Pattern Recognition 40(4), 2007,
/// pre-processing of the binary image before thinning). Regions touching the image frame are never filled.
fn fill_ridge_holes(mut ridge: Vec<bool>, w: usize, h: usize, max_area: f32) -> Vec<bool> {
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut region = Vec::new();
    for start in 0..w * h {
        if seen[start] || ridge[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        region.clear();
        let mut touches_frame = false;
        while let Some(p) = stack.pop() {
            region.push(p);
            let (x, y) = (p % w, p / w);
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                touches_frame = true;
                continue;
            }
            for q in [p - 1, p + 1, p - w, p + w] {
                if !seen[q] && !ridge[q] {
                    seen[q] = true;
                    stack.push(q);
                }
            }
        }
        if !touches_frame && (region.len() as f32) < max_area {
            for p in &region {
                ridge[*p] = true;
            }
        }
    }
    ridge
}

fn to_plane(image: &FingerImage) -> Plane {
    Plane {
        w: image.width() as usize,
        h: image.height() as usize,
        data: image.pixels().iter().map(|p| f32::from(*p)).collect(),
    }
}

/// Bilinear resampling by `factor` (output = input × factor).
fn resample(src: &Plane, factor: f32) -> Plane {
    let w = ((src.w as f32 * factor).round() as usize).max(1);
    let h = ((src.h as f32 * factor).round() as usize).max(1);
    let mut out = Plane::new(w, h);
    // Pre-smooth when shrinking so ridges do not alias.
    let smoothed;
    let from = if factor < 0.8 {
        smoothed = src.box_mean(((0.5 / factor) as usize).max(1));
        &smoothed
    } else {
        src
    };
    for y in 0..h {
        for x in 0..w {
            let sx = (x as f32 + 0.5) / factor - 0.5;
            let sy = (y as f32 + 0.5) / factor - 0.5;
            out.set(x, y, from.bilinear(sx, sy));
        }
    }
    out
}

/// Local normalisation with ridges positive: (local mean − pixel) / local deviation. Also returns the local
/// deviation itself (the raw contrast, in grey levels).
fn normalise(img: &Plane) -> (Plane, Plane) {
    let mean = img.box_mean(8);
    let mut centred = Plane::new(img.w, img.h);
    for (idx, slot) in centred.data.iter_mut().enumerate() {
        *slot = mean.data[idx] - img.data[idx];
    }
    let mut sq = centred.clone();
    for v in &mut sq.data {
        *v *= *v;
    }
    let mut deviation = sq.box_mean(12);
    for v in &mut deviation.data {
        *v = v.sqrt();
    }
    for (idx, slot) in centred.data.iter_mut().enumerate() {
        *slot /= deviation.data[idx].max(4.0);
    }
    (centred, deviation)
}

/// Local contrast (standard deviation in grey levels) below which the orientation is taken entirely from the
/// enhanced image, and above which not at all; linear in between.
const FAINT_CONTRAST: (f32, f32) = (8.0, 16.0);

/// Iterative enhancement where the print is faint. On faint or dry skin (ridges broken into dots, DB1 finger
/// 110) the raw gradients are mostly noise and the first orientation field bends ridges the wrong way; the first
/// Gabor output has continuous ridges, so its gradients give a better field. Blends the two fields, by doubled
/// angles, according to the raw contrast, and returns the foreground pixels whose direction changed (`None`,
/// field untouched, when no foreground pixel is faint), so only those are filtered again.
///
/// Iterative enhancement with a re-estimated orientation: Maltoni et al., Handbook of Fingerprint Recognition,
/// 2nd ed., §3.6. Gated by contrast here because on well-contrasted prints a second pass over the whole print
/// only reinforced what the first filter invented near cores (DB3 and DB4 got worse; docs/finger.md).
fn reorient_faint(
    field: &mut Field,
    enhanced: &Plane,
    contrast: &Plane,
    mask: &Mask,
) -> Option<Mask> {
    let (lo, hi) = FAINT_CONTRAST;
    let weight = |idx: usize| ((hi - contrast.data[idx]) / (hi - lo)).clamp(0.0, 1.0);
    let faint: Vec<bool> = (0..mask.inside.len())
        .map(|idx| mask.inside[idx] && weight(idx) > 0.0)
        .collect();
    if !faint.contains(&true) {
        return None;
    }
    let second = orientation(enhanced);
    for (idx, theta) in field.theta.data.iter_mut().enumerate() {
        if !faint[idx] {
            continue;
        }
        let k = weight(idx);
        let (a, b) = (2.0 * *theta, 2.0 * second.theta.data[idx]);
        let vx = (1.0 - k) * a.cos() + k * b.cos();
        let vy = (1.0 - k) * a.sin() + k * b.sin();
        *theta = (0.5 * vy.atan2(vx)).rem_euclid(PI);
    }
    Some(Mask { inside: faint })
}

/// Orientation field: ridge direction in `[0, π)` (image coordinates, y down) and coherence in `[0, 1]`.
struct Field {
    /// Ridge direction angle per pixel.
    theta: Plane,
    /// Coherence of the squared gradients per pixel.
    coherence: Plane,
    /// Gradient energy (mean of gx² + gy²) per pixel, for segmentation.
    energy: Plane,
}

fn orientation(img: &Plane) -> Field {
    let (w, h) = (img.w, img.h);
    let smooth = img.box_mean(1);
    let mut gxx = Plane::new(w, h);
    let mut gyy = Plane::new(w, h);
    let mut gxy = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (xi, yi) = (x as isize, y as isize);
            let p = |dx: isize, dy: isize| smooth.clamped(xi + dx, yi + dy);
            let gx = (p(1, -1) + 2.0 * p(1, 0) + p(1, 1)) - (p(-1, -1) + 2.0 * p(-1, 0) + p(-1, 1));
            let gy = (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1)) - (p(-1, -1) + 2.0 * p(0, -1) + p(1, -1));
            gxx.set(x, y, gx * gx);
            gyy.set(x, y, gy * gy);
            gxy.set(x, y, gx * gy);
        }
    }
    // Averaging window about two ridge periods: enough to span a ridge and a valley at any common period.
    let r = 9;
    let sxx = gxx.box_mean(r);
    let syy = gyy.box_mean(r);
    let sxy = gxy.box_mean(r);
    let mut vx = Plane::new(w, h);
    let mut vy = Plane::new(w, h);
    let mut energy = Plane::new(w, h);
    let mut coherence = Plane::new(w, h);
    for idx in 0..w * h {
        let a = sxx.data[idx] - syy.data[idx];
        let b = 2.0 * sxy.data[idx];
        let e = sxx.data[idx] + syy.data[idx];
        vx.data[idx] = a;
        vy.data[idx] = b;
        energy.data[idx] = e;
        coherence.data[idx] = if e > 1e-6 {
            (a * a + b * b).sqrt() / e
        } else {
            0.0
        };
    }
    // A second, wider averaging of the doubled-angle vectors carries direction across scars and creases.
    let vx = vx.box_mean(6);
    let vy = vy.box_mean(6);
    let mut theta = Plane::new(w, h);
    for idx in 0..w * h {
        // The gradient direction is 0.5·atan2(vy, vx); ridges run perpendicular to it.
        let grad = 0.5 * vy.data[idx].atan2(vx.data[idx]);
        theta.data[idx] = (grad + PI / 2.0).rem_euclid(PI);
    }
    Field {
        theta,
        coherence,
        energy,
    }
}

/// Foreground mask.
struct Mask {
    inside: Vec<bool>,
}

fn segment(img: &Plane, field: &Field) -> Option<Mask> {
    let (w, h) = (img.w, img.h);
    const BLOCK: usize = 8;
    let bw = w.div_ceil(BLOCK);
    let bh = h.div_ceil(BLOCK);
    let mut block_energy = vec![0.0f32; bw * bh];
    let mut block_coh = vec![0.0f32; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let cx = (bx * BLOCK + BLOCK / 2).min(w - 1);
            let cy = (by * BLOCK + BLOCK / 2).min(h - 1);
            block_energy[by * bw + bx] = field.energy.at(cx, cy);
            block_coh[by * bw + bx] = field.coherence.at(cx, cy);
        }
    }
    let mut sorted = block_energy.clone();
    sorted.sort_by(f32::total_cmp);
    let p95 = sorted.get(sorted.len() * 95 / 100).copied().unwrap_or(0.0);
    // Flat images (blank, uniform) carry no gradient at all: refuse them rather than invent minutiae.
    if p95 < 200.0 {
        return None;
    }
    let threshold = 0.09 * p95;
    let mut fg: Vec<bool> = block_energy
        .iter()
        .zip(&block_coh)
        .map(|(e, c)| *e > threshold && (*c > 0.2 || *e > 0.35 * p95))
        .collect();
    fg = morph(&fg, bw, bh, true, 1);
    fg = morph(&fg, bw, bh, false, 2);
    fg = morph(&fg, bw, bh, true, 1);
    let fg = largest_component_filled(&fg, bw, bh);
    let n_fg = fg.iter().filter(|v| **v).count();
    if n_fg * BLOCK * BLOCK < 64 * 64 {
        return None;
    }
    let mut inside = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            inside[y * w + x] = fg[(y / BLOCK) * bw + x / BLOCK];
        }
    }
    Some(Mask { inside })
}

/// Binary erosion (`erode`) or dilation with a square of radius `r` on a block grid.
fn morph(src: &[bool], w: usize, h: usize, erode: bool, r: usize) -> Vec<bool> {
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut any = false;
            let mut all = true;
            for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                    let v = src[yy * w + xx];
                    any |= v;
                    all &= v;
                }
            }
            out[y * w + x] = if erode { all } else { any };
        }
    }
    out
}

/// Keeps the largest 4-connected component and fills its holes.
fn largest_component_filled(src: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut label = vec![0u32; w * h];
    let mut best = (0u32, 0usize);
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !src[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        let mut size = 0usize;
        label[start] = next;
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            let (x, y) = (p % w, p / w);
            let mut visit = |q: usize| {
                if src[q] && label[q] == 0 {
                    label[q] = next;
                    stack.push(q);
                }
            };
            if x > 0 {
                visit(p - 1);
            }
            if x + 1 < w {
                visit(p + 1);
            }
            if y > 0 {
                visit(p - w);
            }
            if y + 1 < h {
                visit(p + w);
            }
        }
        if size > best.1 {
            best = (next, size);
        }
    }
    // Flood the background from the border; everything not reached is the print or a hole in it.
    let keep: Vec<bool> = label.iter().map(|l| *l == best.0 && best.0 != 0).collect();
    let mut outside = vec![false; w * h];
    for p in 0..w * h {
        let (x, y) = (p % w, p / w);
        if (x == 0 || y == 0 || x + 1 == w || y + 1 == h) && !keep[p] && !outside[p] {
            outside[p] = true;
            stack.push(p);
            while let Some(q) = stack.pop() {
                let (qx, qy) = (q % w, q / w);
                let mut visit = |r: usize| {
                    if !keep[r] && !outside[r] {
                        outside[r] = true;
                        stack.push(r);
                    }
                };
                if qx > 0 {
                    visit(q - 1);
                }
                if qx + 1 < w {
                    visit(q + 1);
                }
                if qy > 0 {
                    visit(q - w);
                }
                if qy + 1 < h {
                    visit(q + w);
                }
            }
        }
    }
    outside.iter().map(|o| !o).collect()
}

/// Ridge period in pixels, per pixel (nearest block), from oriented x-signatures.
fn ridge_period(norm: &Plane, field: &Field, mask: &Mask) -> Plane {
    let (w, h) = (norm.w, norm.h);
    const STEP: usize = 16;
    const HALF_LEN: isize = 16;
    const HALF_WID: isize = 6;
    const MIN_P: f32 = 4.0;
    const MAX_P: f32 = 22.0;
    let bw = w.div_ceil(STEP);
    let bh = h.div_ceil(STEP);
    let mut block = vec![f32::NAN; bw * bh];
    let mut signature = vec![0.0f32; (2 * HALF_LEN + 1) as usize];
    for by in 0..bh {
        for bx in 0..bw {
            let cx = (bx * STEP + STEP / 2).min(w - 1);
            let cy = (by * STEP + STEP / 2).min(h - 1);
            if !mask.inside[cy * w + cx] {
                continue;
            }
            let theta = field.theta.at(cx, cy);
            let (along_x, along_y) = (theta.cos(), theta.sin());
            let (across_x, across_y) = (-along_y, along_x);
            for (k, slot) in signature.iter_mut().enumerate() {
                let u = k as f32 - HALF_LEN as f32;
                let mut sum = 0.0;
                for v in -HALF_WID..=HALF_WID {
                    let v = v as f32;
                    sum += norm.bilinear(
                        cx as f32 + u * across_x + v * along_x,
                        cy as f32 + u * across_y + v * along_y,
                    );
                }
                *slot = sum;
            }
            block[by * bw + bx] = signature_period(&signature, MIN_P, MAX_P);
        }
    }
    let mut valid: Vec<f32> = block.iter().copied().filter(|v| v.is_finite()).collect();
    valid.sort_by(f32::total_cmp);
    let median = valid.get(valid.len() / 2).copied().unwrap_or(9.0);
    // Smooth over a 5×5 block neighbourhood and keep within a band around the print's own median, so a noisy
    // block cannot pick a wildly wrong filter.
    let mut smooth = vec![median; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let mut sum = 0.0;
            let mut n = 0.0;
            for yy in by.saturating_sub(2)..(by + 3).min(bh) {
                for xx in bx.saturating_sub(2)..(bx + 3).min(bw) {
                    let v = block[yy * bw + xx];
                    if v.is_finite() && (v - median).abs() < 0.4 * median {
                        sum += v;
                        n += 1.0;
                    }
                }
            }
            if n > 0.0 {
                smooth[by * bw + bx] = (sum / n).clamp(0.75 * median, 1.3 * median);
            }
        }
    }
    let mut out = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            out.set(
                x,
                y,
                smooth[(y / STEP).min(bh - 1) * bw + (x / STEP).min(bw - 1)],
            );
        }
    }
    out
}

/// Mean distance between consecutive maxima of a (lightly smoothed) signature, if plausible.
fn signature_period(sig: &[f32], min_p: f32, max_p: f32) -> f32 {
    let n = sig.len();
    let smooth: Vec<f32> = (0..n)
        .map(|i| {
            let a = sig[i.saturating_sub(1)];
            let b = sig[i];
            let c = sig[(i + 1).min(n - 1)];
            0.25 * a + 0.5 * b + 0.25 * c
        })
        .collect();
    let mean = smooth.iter().sum::<f32>() / n as f32;
    let amplitude = smooth.iter().map(|v| (v - mean).abs()).sum::<f32>() / n as f32;
    if amplitude < 1.0 {
        return f32::NAN;
    }
    let peaks: Vec<usize> = (1..n - 1)
        .filter(|&i| smooth[i] > smooth[i - 1] && smooth[i] >= smooth[i + 1] && smooth[i] > mean)
        .collect();
    if peaks.len() < 2 {
        return f32::NAN;
    }
    let (first, last) = (peaks[0], peaks[peaks.len() - 1]);
    let period = (last - first) as f32 / (peaks.len() - 1) as f32;
    if (min_p..=max_p).contains(&period) {
        period
    } else {
        f32::NAN
    }
}

const N_ORIENT: usize = 16;

/// Oriented even-symmetric Gabor kernel, zero mean.
struct Kernel {
    radius: isize,
    taps: Vec<f32>,
}

fn gabor_kernel(theta: f32, period: f32) -> Kernel {
    let sigma_across = 0.42 * period;
    let sigma_along = 0.62 * period;
    let radius = (2.5 * sigma_along).ceil() as isize;
    let side = (2 * radius + 1) as usize;
    let (ct, st) = (theta.cos(), theta.sin());
    let mut taps = vec![0.0f32; side * side];
    for dy in -radius..=radius {
        for dx in -radius..=radius {
            let (fx, fy) = (dx as f32, dy as f32);
            let along = fx * ct + fy * st;
            let across = -fx * st + fy * ct;
            let env = (-0.5
                * (across * across / (sigma_across * sigma_across)
                    + along * along / (sigma_along * sigma_along)))
                .exp();
            taps[((dy + radius) as usize) * side + (dx + radius) as usize] =
                env * (TAU * across / period).cos();
        }
    }
    let mean = taps.iter().sum::<f32>() / taps.len() as f32;
    let env_sum: f32 = taps.iter().map(|v| v.abs()).sum();
    for v in &mut taps {
        *v = (*v - mean) / env_sum.max(1e-6);
    }
    Kernel { radius, taps }
}

fn gabor_enhance(norm: &Plane, field: &Field, period: &Plane, mask: &Mask) -> Plane {
    let (w, h) = (norm.w, norm.h);
    let mut bank: HashMap<(usize, u32), Kernel> = HashMap::new();
    let mut out = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let idx = y * w + x;
            if !mask.inside[idx] {
                continue;
            }
            let theta = field.theta.data[idx];
            let orient = ((theta / PI * N_ORIENT as f32).round() as usize) % N_ORIENT;
            let period_key = (period.data[idx] * 2.0).round().clamp(8.0, 44.0) as u32;
            let kernel = bank.entry((orient, period_key)).or_insert_with(|| {
                gabor_kernel(
                    orient as f32 * PI / N_ORIENT as f32,
                    period_key as f32 / 2.0,
                )
            });
            let r = kernel.radius;
            let side = (2 * r + 1) as usize;
            let (xi, yi) = (x as isize, y as isize);
            let mut acc = 0.0f32;
            if xi >= r && yi >= r && xi + r < w as isize && yi + r < h as isize {
                for ky in 0..side {
                    let row = ((yi - r) as usize + ky) * w + (xi - r) as usize;
                    let src = &norm.data[row..row + side];
                    let taps = &kernel.taps[ky * side..(ky + 1) * side];
                    acc += src.iter().zip(taps).map(|(a, b)| a * b).sum::<f32>();
                }
            } else {
                for ky in 0..side {
                    for kx in 0..side {
                        acc += kernel.taps[ky * side + kx]
                            * norm.clamped(xi - r + kx as isize, yi - r + ky as isize);
                    }
                }
            }
            out.data[idx] = acc;
        }
    }
    out
}

/// Zhang–Suen thinning of a binary image (ridges = true) to one-pixel skeletons.
fn thin(mut img: Vec<bool>, w: usize, h: usize) -> Vec<bool> {
    // Clear the frame so neighbourhood reads never leave the image.
    for x in 0..w {
        img[x] = false;
        img[(h - 1) * w + x] = false;
    }
    for y in 0..h {
        img[y * w] = false;
        img[y * w + w - 1] = false;
    }
    let mut to_clear = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            to_clear.clear();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    if !img[y * w + x] {
                        continue;
                    }
                    let n = neighbours(&img, w, x, y);
                    let count = n.iter().filter(|v| **v).count();
                    if !(2..=6).contains(&count) {
                        continue;
                    }
                    if transitions(&n) != 1 {
                        continue;
                    }
                    // n[0]=N, n[2]=E, n[4]=S, n[6]=W.
                    let (p2, p4, p6, p8) = (n[0], n[2], n[4], n[6]);
                    let ok = if pass == 0 {
                        !(p4 && p6 && (p2 || p8))
                    } else {
                        !(p2 && p8 && (p4 || p6))
                    };
                    if ok {
                        to_clear.push(y * w + x);
                    }
                }
            }
            for idx in &to_clear {
                img[*idx] = false;
            }
            changed |= !to_clear.is_empty();
        }
        if !changed {
            break;
        }
    }
    img
}

/// The 8 neighbours clockwise from north: N, NE, E, SE, S, SW, W, NW.
const OFFSETS: [(isize, isize); 8] = [
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
];

fn neighbours(img: &[bool], w: usize, x: usize, y: usize) -> [bool; 8] {
    let mut n = [false; 8];
    for (k, (dx, dy)) in OFFSETS.iter().enumerate() {
        let xx = x as isize + dx;
        let yy = y as isize + dy;
        if xx >= 0 && yy >= 0 {
            n[k] = img
                .get(yy as usize * w + xx as usize)
                .copied()
                .unwrap_or(false)
                && (xx as usize) < w;
        }
    }
    n
}

/// Number of false→true transitions around the neighbourhood (the crossing number).
fn transitions(n: &[bool; 8]) -> usize {
    (0..8).filter(|&k| !n[k] && n[(k + 1) % 8]).count()
}

/// Chamfer (3-4) distance in pixels from each pixel to the nearest background pixel or image edge.
fn distance_to_background(inside: &[bool], w: usize, h: usize) -> Vec<f32> {
    let big = 1.0e6f32;
    let mut d: Vec<f32> = inside.iter().map(|v| if *v { big } else { 0.0 }).collect();
    for y in 0..h {
        for x in 0..w {
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                d[y * w + x] = d[y * w + x].min(1.0);
            }
        }
    }
    for y in 1..h {
        for x in 1..w - 1 {
            let i = y * w + x;
            let best = d[i]
                .min(d[i - 1] + 1.0)
                .min(d[i - w] + 1.0)
                .min(d[i - w - 1] + 1.4)
                .min(d[i - w + 1] + 1.4);
            d[i] = best;
        }
    }
    for y in (0..h - 1).rev() {
        for x in (1..w - 1).rev() {
            let i = y * w + x;
            let best = d[i]
                .min(d[i + 1] + 1.0)
                .min(d[i + w] + 1.0)
                .min(d[i + w + 1] + 1.4)
                .min(d[i + w - 1] + 1.4);
            d[i] = best;
        }
    }
    d
}

/// A crossing-number minutia candidate before clean-up.
#[derive(Clone, Copy)]
struct Candidate {
    x: usize,
    y: usize,
    kind: MinutiaKind,
    /// Direction in image coordinates (atan2(dy, dx), y down).
    dir: f32,
    alive: bool,
}

/// Result of following a skeleton branch.
struct Trace {
    end: (usize, usize),
    steps: usize,
    /// Whether the walk stopped on another minutia (ending or junction) rather than by length.
    hit_minutia: bool,
}

fn trace(
    skel: &[bool],
    w: usize,
    start: (usize, usize),
    first: (usize, usize),
    max_steps: usize,
) -> Trace {
    let mut visited: Vec<(usize, usize)> = vec![start, first];
    let mut current = first;
    let mut steps = 1;
    loop {
        let n = neighbours(skel, w, current.0, current.1);
        let n_count = n.iter().filter(|v| **v).count();
        let crossing = transitions(&n);
        if crossing != 2 || n_count > 4 {
            // Reached an ending (1) or a junction (3+) that is not where we started.
            return Trace {
                end: current,
                steps,
                hit_minutia: true,
            };
        }
        if steps >= max_steps {
            return Trace {
                end: current,
                steps,
                hit_minutia: false,
            };
        }
        let mut next = None;
        // Prefer 4-neighbours so staircases are walked pixel by pixel without skipping.
        for k in [0usize, 2, 4, 6, 1, 3, 5, 7] {
            if !n[k] {
                continue;
            }
            let (dx, dy) = OFFSETS[k];
            let cand = (
                (current.0 as isize + dx) as usize,
                (current.1 as isize + dy) as usize,
            );
            if !visited.iter().rev().take(4).any(|v| *v == cand) && !visited.contains(&cand) {
                next = Some(cand);
                break;
            }
        }
        let Some(next) = next else {
            return Trace {
                end: current,
                steps,
                hit_minutia: true,
            };
        };
        visited.push(next);
        current = next;
        steps += 1;
    }
}

/// Starting pixels of each branch leaving `(x, y)`: one per run of set neighbours.
fn branch_starts(skel: &[bool], w: usize, x: usize, y: usize) -> Vec<(usize, usize)> {
    let n = neighbours(skel, w, x, y);
    let mut starts = Vec::new();
    for k in 0..8 {
        if n[k] && !n[(k + 7) % 8] {
            // Walk the run and prefer a 4-neighbour inside it.
            let mut pick = k;
            let mut j = k;
            while n[j % 8] && j < k + 8 {
                if (j % 8) % 2 == 0 {
                    pick = j % 8;
                    break;
                }
                j += 1;
            }
            let (dx, dy) = OFFSETS[pick];
            starts.push(((x as isize + dx) as usize, (y as isize + dy) as usize));
        }
    }
    starts
}

fn angle_of(from: (usize, usize), to: (usize, usize)) -> f32 {
    (to.1 as f32 - from.1 as f32).atan2(to.0 as f32 - from.0 as f32)
}

fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(TAU);
    if d > PI { TAU - d } else { d }
}

fn find_minutiae(
    skel: &[bool],
    w: usize,
    h: usize,
    field: &Field,
    period: &Plane,
    dist: &[f32],
) -> Vec<Minutia> {
    let mut cands: Vec<Candidate> = Vec::new();
    let mut short_links: Vec<(usize, (usize, usize))> = Vec::new();
    for y in 2..h.saturating_sub(2) {
        for x in 2..w.saturating_sub(2) {
            if !skel[y * w + x] {
                continue;
            }
            let n = neighbours(skel, w, x, y);
            let crossing = transitions(&n);
            let kind = match crossing {
                1 => MinutiaKind::Ending,
                3 => MinutiaKind::Bifurcation,
                _ => continue,
            };
            let t = period.at(x, y);
            if dist[y * w + x] < 1.2 * t {
                continue;
            }
            let reach = (1.2 * t).round() as usize;
            let starts = branch_starts(skel, w, x, y);
            let traces: Vec<Trace> = starts
                .iter()
                .map(|s| trace(skel, w, (x, y), *s, reach))
                .collect();
            let dir = match kind {
                MinutiaKind::Ending => {
                    let Some(t0) = traces.first() else { continue };
                    angle_of((x, y), t0.end)
                }
                _ => {
                    if traces.len() != 3 {
                        continue;
                    }
                    let angles: Vec<f32> = traces.iter().map(|t| angle_of((x, y), t.end)).collect();
                    // The stem is the branch farthest from the other two; the minutia points away from it.
                    let mut stem = 0;
                    let mut best = f32::MIN;
                    for i in 0..3 {
                        let sep = angle_diff(angles[i], angles[(i + 1) % 3])
                            .min(angle_diff(angles[i], angles[(i + 2) % 3]));
                        if sep > best {
                            best = sep;
                            stem = i;
                        }
                    }
                    angles[stem] + PI
                }
            };
            let idx = cands.len();
            for tr in &traces {
                // Spur / bridge length limit: one ridge period (1.2 T also removed real short ridges and
                // ridge-ending/bifurcation pairs of a T apart, which are common in dry, broken prints).
                if tr.hit_minutia && (tr.steps as f32) < t {
                    short_links.push((idx, tr.end));
                }
            }
            cands.push(Candidate {
                x,
                y,
                kind,
                dir,
                alive: true,
            });
        }
    }
    // Spurs, bridges and islands: two minutiae joined by a skeleton segment shorter than a ridge period are
    // artefacts of noise, not features (Maltoni et al., Handbook 2nd ed., §3.8).
    let mut kill = vec![false; cands.len()];
    for (idx, end) in &short_links {
        kill[*idx] = true;
        for (j, c) in cands.iter().enumerate() {
            if (c.x as isize - end.0 as isize).abs() <= 1
                && (c.y as isize - end.1 as isize).abs() <= 1
            {
                kill[j] = true;
            }
        }
    }
    for (c, k) in cands.iter_mut().zip(&kill) {
        c.alive &= !k;
    }
    // Broken ridges: two endings facing each other across a short gap along the ridge flow.
    let n = cands.len();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (cands[i], cands[j]);
            if !a.alive || !b.alive {
                continue;
            }
            let dx = b.x as f32 - a.x as f32;
            let dy = b.y as f32 - a.y as f32;
            let d = (dx * dx + dy * dy).sqrt();
            let t = period.at(a.x, a.y);
            if d < 0.45 * t {
                cands[i].alive = false;
                cands[j].alive = false;
                continue;
            }
            if a.kind == MinutiaKind::Ending && b.kind == MinutiaKind::Ending && d < 1.6 * t {
                let facing = angle_diff(a.dir, b.dir) > 0.75 * PI;
                let link = dy.atan2(dx);
                // Each ending points into its own ridge, so across a gap A points away from B.
                let aligned = angle_diff(a.dir, link + PI) < 0.3 * PI;
                if facing && aligned {
                    cands[i].alive = false;
                    cands[j].alive = false;
                }
            }
        }
    }
    let mut out = Vec::new();
    for c in cands.iter().filter(|c| c.alive) {
        // Snap the traced direction to the smoother orientation field, keeping the traced sense.
        let theta = field.theta.at(c.x, c.y);
        let dir = if angle_diff(theta, c.dir) <= PI / 2.0 {
            theta
        } else {
            theta + PI
        };
        let dir = if angle_diff(dir, c.dir) < PI / 6.0 {
            dir
        } else {
            c.dir
        };
        let t = period.at(c.x, c.y);
        let coherence = field.coherence.at(c.x, c.y);
        let border = (dist[c.y * w + c.x] / (2.5 * t)).min(1.0);
        let quality = (100.0 * (coherence / 0.6).min(1.0) * (0.4 + 0.6 * border)).round();
        out.push(Minutia {
            x: c.x as f32,
            y: c.y as f32,
            // Image coordinates have y down; the template stores the on-screen counter-clockwise angle.
            angle: wrap_angle(-dir),
            kind: c.kind,
            quality: quality.clamp(1.0, 100.0) as u8,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_reduces_a_bar_to_a_line() {
        let (w, h) = (30, 12);
        let mut img = vec![false; w * h];
        for y in 4..8 {
            for x in 3..27 {
                img[y * w + x] = true;
            }
        }
        let skel = thin(img, w, h);
        for x in 6..24 {
            let col: usize = (0..h).filter(|y| skel[y * w + x]).count();
            assert_eq!(col, 1, "column {x}");
        }
    }

    #[test]
    fn signature_period_finds_a_sine() {
        let sig: Vec<f32> = (0..33)
            .map(|i| 10.0 * (TAU * i as f32 / 9.0).cos())
            .collect();
        let p = signature_period(&sig, 4.0, 22.0);
        assert!((p - 9.0).abs() < 0.6, "{p}");
    }

    #[test]
    fn small_holes_in_ridges_are_filled_and_valleys_kept() {
        let (w, h) = (40, 20);
        let mut ridge = vec![false; w * h];
        for y in 2..18 {
            for x in 2..38 {
                ridge[y * w + x] = true;
            }
        }
        // A 2×2 pore and a 6×6 valley pocket inside the ridge block.
        for (x0, size) in [(6, 2), (20, 6)] {
            for y in 7..7 + size {
                for x in x0..x0 + size {
                    ridge[y * w + x] = false;
                }
            }
        }
        let filled = fill_ridge_holes(ridge, w, h, 10.0);
        assert!(filled[7 * w + 6] && filled[8 * w + 7], "pore not filled");
        assert!(!filled[9 * w + 22], "valley pocket filled");
        assert!(!filled[0], "background filled");
    }

    /// Share of a real print's foreground re-oriented as faint.
    fn faint_share(rel: &str) -> Option<f32> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/fingerprints")
            .join(rel);
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("skipping: {} not found", path.display());
            return None;
        };
        let work = to_plane(&crate::load_image(&bytes, None).unwrap());
        let (norm, contrast) = normalise(&work);
        let mut field = orientation(&work);
        let mask = segment(&work, &field).unwrap();
        let period = ridge_period(&norm, &field, &mask);
        let before = field.theta.data.clone();
        let enhanced = gabor_enhance(&norm, &field, &period, &mask);
        let foreground = mask.inside.iter().filter(|v| **v).count() as f32;
        let Some(faint) = reorient_faint(&mut field, &enhanced, &contrast, &mask) else {
            assert_eq!(
                before, field.theta.data,
                "{rel}: field changed though nothing is faint"
            );
            return Some(0.0);
        };
        for (idx, (a, b)) in before.iter().zip(&field.theta.data).enumerate() {
            assert!(
                faint.inside[idx] || a == b,
                "{rel}: pixel {idx} re-oriented outside the faint region"
            );
        }
        Some(faint.inside.iter().filter(|v| **v).count() as f32 / foreground)
    }

    #[test]
    fn only_faint_prints_are_re_oriented() {
        let Some(faint) = faint_share("FVC2000_DB1_B/110_1.tif") else {
            return;
        };
        let Some(contrasted) = faint_share("toy_PNG/10_1.png") else {
            return;
        };
        let Some(db3) = faint_share("FVC2000_DB3_B/101_1.tif") else {
            return;
        };
        eprintln!("faint share: DB1 110_1 {faint}, toy 10_1 {contrasted}, DB3 101_1 {db3}");
        assert!(faint > 0.8, "{faint}");
        assert!(contrasted < 0.05 && db3 < 0.2, "{contrasted} {db3}");
    }

    #[test]
    fn template_from_bytes_reads_minutiae_records_as_sent_and_images_by_extraction() {
        let template = crate::test_util::random_template(8, 30);
        let record = crate::to_iso_19794_2(&template, crate::ViewInfo::default()).unwrap();
        let read = template_from_bytes(&record, None).unwrap();
        assert_eq!(read.minutiae.len(), 30);
        assert!(matches!(
            template_from_bytes(&record[..20], None),
            Err(FingerError::Malformed { .. })
        ));
        let blank = crate::load_image(&[], None).unwrap_err();
        assert_eq!(
            template_from_bytes(&[], None).unwrap_err().to_string(),
            blank.to_string()
        );
    }

    #[test]
    fn capture_advice_asks_again_for_blank_or_sparse_prints_only() {
        let blank = FingerImage::from_gray(200, 200, 500, vec![255; 200 * 200]).unwrap();
        let advice = capture_advice(extract(&blank).as_ref()).unwrap();
        assert!(advice.contains("no fingerprint"), "{advice}");
        let mut sparse = crate::test_util::random_template(3, 40);
        assert_eq!(capture_advice(Ok(&sparse)), None);
        sparse.minutiae.truncate(FEW_MINUTIAE - 1);
        let advice = capture_advice(Ok(&sparse)).unwrap();
        assert!(advice.contains("only 11 minutiae"), "{advice}");
        let junk = crate::load_image(b"not an image", None)
            .map(|_| crate::test_util::random_template(1, 1));
        assert!(
            capture_advice(junk.as_ref())
                .unwrap()
                .contains("cannot be used")
        );
    }

    #[test]
    fn blank_image_is_refused() {
        let img = FingerImage::from_gray(200, 200, 500, vec![255; 200 * 200]).unwrap();
        assert!(matches!(
            extract(&img),
            Err(FingerError::NoFingerprint { .. })
        ));
    }
}
