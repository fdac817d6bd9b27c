//! Cargo NII on arrival: a consignment capture from a scanner carries its dual-energy scan as two DICOS DX blobs
//! (high and low energy, docs/envelope.md); the analysis (garita-nii) runs before the response, its findings are
//! stored as the algorithm's, and a risk lane is assigned with its reasons. Officers add and reject findings
//! through the API; theirs are kept apart (`source: officer`) and a rejection marks, never deletes.

use crate::{ApiError, AppState};
use garita_model::payload::ConsignmentCapture;
use garita_model::{Finding, FindingSource, Lane};
use garita_nii::{DeclarantHistory, LaneInputs, Manifest, ManifestItem};
use uuid::Uuid;

fn alpha2(code: &garita_model::CountryCode) -> String {
    isocountry::CountryCode::for_alpha3(code.as_str())
        .map_or_else(|_| String::new(), |c| c.alpha2().to_owned())
}

fn manifest_of(capture: &ConsignmentCapture) -> Manifest {
    let items: Vec<ManifestItem> = capture
        .lines
        .iter()
        .map(|line| ManifestItem {
            hs_code: line.hs_code.as_str().to_owned(),
            description: line.description.clone(),
            declared_mass_kg: line.declared_mass_kg,
            packages: u32::try_from(line.quantity).unwrap_or(u32::MAX),
        })
        .collect();
    Manifest {
        container_number: capture
            .container_number
            .as_ref()
            .map_or_else(String::new, |c| c.as_str().to_owned()),
        // The analysis reads the container's geometry from the image; the type is informational.
        container_type: "40GP".into(),
        declarant_id: capture.declarant.clone(),
        origin_country: capture.origin.as_ref().map(alpha2).unwrap_or_default(),
        declared_gross_mass_kg: items.iter().map(|item| item.declared_mass_kg).sum(),
        items,
    }
}

/// Analyses the scan (when the capture carries a dual-energy DX pair), stores the findings, assigns the lane.
/// A scan that cannot be analysed is logged and the lane is assigned from the declaration alone.
///
/// # Errors
/// When the store fails.
pub(crate) async fn on_consignment(
    state: &AppState,
    consignment_id: Uuid,
    capture: &ConsignmentCapture,
    blob_names: Vec<String>,
) -> Result<(), ApiError> {
    let manifest = manifest_of(capture);
    let for_analysis = manifest.clone();
    let mut loaded = Vec::with_capacity(2);
    for name in blob_names.iter().take(2) {
        loaded.push(
            state
                .store
                .blobs()
                .get(name)
                .await
                .map_err(|err| err.to_string()),
        );
    }
    let analysed =
        tokio::task::spawn_blocking(move || -> Result<Vec<garita_nii::Finding>, String> {
            let blobs = loaded.into_iter().collect::<Result<Vec<_>, _>>()?;
            let mut scans = blobs
                .iter()
                .map(|bytes| garita_nii::read_scan(bytes).map_err(|err| err.to_string()));
            let (Some(first), Some(second)) = (scans.next(), scans.next()) else {
                return Ok(Vec::new());
            };
            let pair =
                garita_nii::pair_dual_energy(first?, second?).map_err(|err| err.to_string())?;
            garita_nii::analyze(&pair, &for_analysis).map_err(|err| err.to_string())
        })
        .await
        .map_err(|err| ApiError::internal(&err))?;
    let nii_findings = analysed.unwrap_or_else(|err| {
        tracing::warn!(%consignment_id, error = %err, "scan not analysed");
        Vec::new()
    });
    let now = state.now();
    for found in &nii_findings {
        let region = found.region;
        let kind = serde_json::to_value(found.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let finding = Finding {
            id: Uuid::new_v4(),
            consignment_id,
            region: [
                region.x0,
                region.y0,
                region.x1.saturating_sub(region.x0),
                region.y1.saturating_sub(region.y0),
            ],
            kind,
            score: found.score,
            source: FindingSource::Algorithm,
            reason: found.reason.clone(),
            rejected_by: None,
            rejection_reason: None,
        };
        state.store.insert_finding(&finding, None, now).await?;
    }
    // The declarant's record counts earlier consignments only.
    let (declarations, offences) = state.store.declarant_history(&capture.declarant).await?;
    let inputs = LaneInputs {
        reference: consignment_id.to_string(),
        declarant_id: capture.declarant.clone(),
        history: DeclarantHistory {
            declarations: declarations.saturating_sub(1),
            offences,
            years_registered: 0.0,
        },
        origin_country: manifest.origin_country.clone(),
        hs_codes: manifest
            .items
            .iter()
            .map(|item| item.hs_code.clone())
            .collect(),
        declared_mass_kg: manifest.declared_gross_mass_kg,
        measured_mass_kg: None,
        findings: nii_findings,
    };
    let decision = garita_nii::assign_lane(&inputs, &state.config.lane_rules);
    let lane = match decision.lane {
        garita_nii::Lane::Red => Lane::Red,
        garita_nii::Lane::Yellow => Lane::Yellow,
        garita_nii::Lane::Blue => Lane::Blue,
        garita_nii::Lane::Green => Lane::Green,
    };
    let reasons = serde_json::json!({
        "score": decision.score,
        "random_selection": decision.random_selection,
        "rules": decision.reasons,
    });
    state.store.set_lane(consignment_id, lane, &reasons).await?;
    Ok(())
}
