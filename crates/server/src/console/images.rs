//! Images for the console, each served by an audited route: a fingerprint sample decoded from WSQ to PNG, with
//! its minutiae drawn over it from the stored template; a cargo scan as a PNG whose channels carry the high- and
//! low-energy attenuation and a material class per pixel, for the X-ray viewer (xray.js) to window, level and
//! colour.

use super::layout::PageError;
use super::session::Console;
use crate::api::audit;
use crate::policy::{CARGO_READ, PERSONAL_READ};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use garita_model::{Modality, Sample, SampleFormat};
use maud::{Markup, html};
use uuid::Uuid;

fn png(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|err| ApiError::internal(&err))?;
    writer
        .write_image_data(pixels)
        .map_err(|err| ApiError::internal(&err))?;
    writer.finish().map_err(|err| ApiError::internal(&err))?;
    Ok(out)
}

fn image_response(media_type: &'static str, bytes: Vec<u8>) -> Result<Response, PageError> {
    Response::builder()
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(bytes))
        .map_err(|err| PageError::from(ApiError::internal(&err)))
}

/// A sample's bytes as something a browser shows: JPEG and PNG as stored, WSQ decoded (garita-wsq, any size the
/// codec accepts) to PNG.
fn displayable(sample: &Sample, bytes: Vec<u8>) -> Result<(&'static str, Vec<u8>), ApiError> {
    match sample.format {
        SampleFormat::Jpeg => Ok(("image/jpeg", bytes)),
        SampleFormat::Png => Ok(("image/png", bytes)),
        SampleFormat::Wsq => {
            let image = garita_wsq::decode(&bytes).map_err(|err| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "not-displayable",
                    format!("this WSQ sample cannot be decoded: {err}"),
                )
            })?;
            let encoded = png(
                image.width(),
                image.height(),
                png::ColorType::Grayscale,
                image.pixels(),
            )?;
            Ok(("image/png", encoded))
        }
        other => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "not-displayable",
            format!("{other} samples are kept as captured; export the transaction to view them"),
        )),
    }
}

/// `GET /console/samples/{id}/image`: a biometric sample as PNG/JPEG (audited as `sample.read`).
pub(crate) async fn sample_image_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let auth = &console.auth;
    let result = async {
        auth.require(PERSONAL_READ)?;
        let (sample, subject, bytes) = crate::api::sample_with_bytes(&state, id).await?;
        let shown = tokio::task::spawn_blocking(move || displayable(&sample, bytes))
            .await
            .map_err(|err| ApiError::internal(&err))??;
        Ok((subject, shown))
    }
    .await;
    let subject = result.as_ref().ok().map(|(subject, _)| *subject);
    audit(
        &state,
        auth,
        "sample.read",
        ("sample", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    let (_, (media_type, bytes)) = result?;
    image_response(media_type, bytes)
}

/// A sample as a figure: a fingerprint with a stored template is an SVG of the image with its minutiae on top
/// (toggled by console.js); anything else is a plain image.
pub(crate) async fn sample_figure(state: &AppState, sample: &Sample) -> Markup {
    let src = format!("/console/samples/{}/image", sample.id);
    let caption = format!(
        "{} · position {} · {}{}",
        sample.modality,
        sample.position.code(),
        sample.format,
        sample
            .quality
            .map(|q| format!(" · quality {}", q.value()))
            .unwrap_or_default()
    );
    let template = if sample.modality == Modality::Finger {
        load_template(state, sample.id).await
    } else {
        None
    };
    let shown = matches!(
        sample.format,
        SampleFormat::Jpeg | SampleFormat::Png | SampleFormat::Wsq
    );
    html! {
        figure.sample {
            @if !shown {
                div.placeholder { "This " (sample.format) " image is kept as captured; export the transaction to view it." }
                figcaption { (caption) }
            } @else if let Some(template) = template {
                svg.print viewBox=(format!("0 0 {} {}", template.width, template.height))
                    role="img" aria-label=(format!("fingerprint, {} minutiae", template.minutiae.len())) {
                    image href=(src) width=(template.width) height=(template.height) {}
                    g.minutiae {
                        @for minutia in &template.minutiae {
                            circle cx=(format!("{:.1}", minutia.x)) cy=(format!("{:.1}", minutia.y)) r="6" {}
                            line x1=(format!("{:.1}", minutia.x)) y1=(format!("{:.1}", minutia.y))
                                x2=(format!("{:.1}", minutia.x + 14.0 * minutia.angle.cos()))
                                y2=(format!("{:.1}", minutia.y + 14.0 * minutia.angle.sin())) {}
                        }
                    }
                }
                figcaption {
                    (caption) " · " (template.minutiae.len()) " minutiae "
                    button.link.toggle-minutiae type="button" { "hide minutiae" }
                }
            } @else {
                img src=(src) alt=(format!("{} sample", sample.modality)) loading="lazy";
                figcaption { (caption) }
            }
        }
    }
}

async fn load_template(state: &AppState, sample_id: Uuid) -> Option<garita_finger::Template> {
    let name = state.store.template_of_sample(sample_id).await.ok()??;
    let bytes = state.store.blobs().get(&name).await.ok()?;
    garita_finger::Template::from_bytes(&bytes).ok()
}

/// Material classes written into the scan PNG's blue channel (xray.js colours them).
const CLASS_AIR: u8 = 0;
const CLASS_ORGANIC: u8 = 1;
const CLASS_INORGANIC: u8 = 2;
const CLASS_METAL: u8 = 3;
const CLASS_DENSE: u8 = 4;

/// Attenuation below which a pixel is air, and above which the beam barely gets through.
const AIR_ATTENUATION: f32 = 0.05;
const DENSE_ATTENUATION: f32 = 6.0;

/// Low/high attenuation ratios of reference materials (polyethylene, aluminium, steel) at 30 g/cm² under the
/// 6/4 MV source: a pixel takes the class of the nearest ratio.
fn reference_ratios() -> [(u8, f32); 3] {
    use garita_nii::{DualEnergySource, MATERIALS, Material, N_MATERIALS};
    let source = DualEnergySource::linac_6_4();
    let ratio = |material: Material| {
        let mut thickness = [0.0; N_MATERIALS];
        if let Some(index) = MATERIALS.iter().position(|m| *m == material) {
            thickness[index] = 30.0;
        }
        let high = -source.high.transmission(&thickness).ln();
        let low = -source.low.transmission(&thickness).ln();
        if high > 0.0 { (low / high) as f32 } else { 1.0 }
    };
    [
        (CLASS_ORGANIC, ratio(Material::Polyethylene)),
        (CLASS_INORGANIC, ratio(Material::Aluminium)),
        (CLASS_METAL, ratio(Material::Steel)),
    ]
}

fn material_class(high: f32, low: f32, references: &[(u8, f32); 3]) -> u8 {
    if high < AIR_ATTENUATION {
        return CLASS_AIR;
    }
    if high > DENSE_ATTENUATION {
        return CLASS_DENSE;
    }
    let ratio = low / high;
    references
        .iter()
        .min_by(|a, b| (a.1 - ratio).abs().total_cmp(&(b.1 - ratio).abs()))
        .map_or(CLASS_AIR, |(class, _)| *class)
}

/// The mean of each pixel's (2r+1)x(2r+1) neighbourhood (clipped at the edges), as two 1-D passes.
fn box_mean(values: &[f32], columns: usize, rows: usize, radius: usize) -> Vec<f32> {
    let pass = |input: &[f32], along_rows: bool| -> Vec<f32> {
        let mut output = vec![0.0; input.len()];
        let (lines, length) = if along_rows {
            (rows, columns)
        } else {
            (columns, rows)
        };
        for line in 0..lines {
            let at = |k: usize| {
                if along_rows {
                    line * columns + k
                } else {
                    k * columns + line
                }
            };
            for k in 0..length {
                let (from, to) = (k.saturating_sub(radius), (k + radius).min(length - 1));
                let sum: f32 = (from..=to)
                    .map(|j| input.get(at(j)).copied().unwrap_or(0.0))
                    .sum();
                if let Some(slot) = output.get_mut(at(k)) {
                    *slot = sum / (to - from + 1) as f32;
                }
            }
        }
        output
    };
    if columns == 0 || rows == 0 || values.len() != columns * rows {
        return values.to_vec();
    }
    pass(&pass(values, true), false)
}

/// Renders a dual-energy pair as RGB: red = high-energy attenuation, green = low-energy attenuation (both scaled
/// to the image's maximum), blue = material class.
fn render_scan(high_bytes: &[u8], low_bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let unusable = |err: garita_nii::NiiError| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "not-displayable",
            format!("the scan cannot be shown: {err}"),
        )
    };
    let pair = garita_nii::pair_dual_energy(
        garita_nii::read_scan(high_bytes).map_err(unusable)?,
        garita_nii::read_scan(low_bytes).map_err(unusable)?,
    )
    .map_err(unusable)?;
    let image = garita_nii::AttenuationImage::from_scan(&pair).map_err(unusable)?;
    let max = image
        .high
        .iter()
        .chain(&image.low)
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f32, f32::max)
        .max(f32::EPSILON);
    let references = reference_ratios();
    // Classify on a 5x5 mean: a single pixel's low/high ratio is mostly photon noise.
    let high_mean = box_mean(&image.high, image.columns, image.rows, 2);
    let low_mean = box_mean(&image.low, image.columns, image.rows, 2);
    let scale = |v: f32| (v.max(0.0) / max * 255.0).round().min(255.0) as u8;
    let mut rgb = Vec::with_capacity(image.high.len() * 3);
    for index in 0..image.high.len() {
        let (high, low) = (image.high[index], image.low[index]);
        let class = material_class(high_mean[index], low_mean[index], &references);
        rgb.extend_from_slice(&[scale(high), scale(low), class]);
    }
    let width = u32::try_from(image.columns).map_err(|err| ApiError::internal(&err))?;
    let height = u32::try_from(image.rows).map_err(|err| ApiError::internal(&err))?;
    png(width, height, png::ColorType::Rgb, &rgb)
}

/// `GET /console/consignments/{id}/scan.png`: the consignment's dual-energy scan for the viewer (audited as
/// `consignment.scan`).
pub(crate) async fn scan_image_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let auth = &console.auth;
    let result = async {
        auth.require(CARGO_READ)?;
        let capture = state
            .store
            .consignment_capture(id)
            .await?
            .ok_or_else(|| ApiError::not_found("consignment"))?;
        let names = state.store.capture_blob_names(capture).await?;
        let [high, low, ..] = names.as_slice() else {
            return Err(ApiError::not_found("scan"));
        };
        let high = state.store.blobs().get(high).await?;
        let low = state.store.blobs().get(low).await?;
        tokio::task::spawn_blocking(move || render_scan(&high, &low))
            .await
            .map_err(|err| ApiError::internal(&err))?
    }
    .await;
    audit(
        &state,
        auth,
        "consignment.scan",
        ("consignment", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    image_response("image/png", result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_averages_neighbours() {
        let values = [0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mean = box_mean(&values, 3, 3, 1);
        assert!((mean[4] - 1.0).abs() < 1e-6, "{mean:?}");
        assert!((mean[2] - 9.0 / 4.0).abs() < 1e-6, "{mean:?}");
    }

    #[test]
    fn dual_energy_ratios_separate_organic_from_metal() {
        let references = reference_ratios();
        let organic = references[0].1;
        let metal = references[2].1;
        assert!((organic - metal).abs() > 0.01, "{references:?}");
        // A pixel with exactly the organic ratio is organic; with the metal ratio, metal.
        assert_eq!(
            material_class(2.0, 2.0 * organic, &references),
            CLASS_ORGANIC
        );
        assert_eq!(material_class(2.0, 2.0 * metal, &references), CLASS_METAL);
        assert_eq!(material_class(0.01, 0.01, &references), CLASS_AIR);
        assert_eq!(material_class(9.0, 9.0, &references), CLASS_DENSE);
    }
}
