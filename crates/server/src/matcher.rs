//! 1:N fingerprint search on enrollment: every finger sample of a new encounter is searched against the finger
//! templates of all earlier encounters; subjects found above the threshold raise alerts before the capture's
//! response is sent.
//!
//! The gallery lives in memory (garita-finger's [`SubjectGallery`]: one partition per finger position, the
//! pre-filter fused over the probe's fingers before the shortlist) and is rebuilt from the stored templates at
//! start-up and after purges. Alert category: the candidate's watchlist category when listed, otherwise
//! `prior-crossing` (the person was enrolled before). Each encounter creates its own subject, so the same person
//! enrolled twice, even offline at two sites, becomes an alert, never a silent merge.

use crate::{ApiError, AppState};
use garita_finger::{SubjectGallery, SubjectSearchParams, Template, threshold_for_fmr};
use garita_model::{Alert, Modality, SampleFormat, WatchlistCategory};
use garita_store::TemplateRow;
use std::sync::RwLock;
use uuid::Uuid;

/// Decision threshold as a false match rate per comparison: 1 in 10,000 for a finger-level match.
pub const ALERT_FMR: f64 = 1e-4;
/// The in-memory gallery of subjects' finger templates behind a lock: searches share it, enrollments and
/// rebuilds take it briefly.
pub struct Matcher {
    gallery: RwLock<SubjectGallery<Uuid>>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            gallery: RwLock::new(SubjectGallery::new()),
        }
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").finish_non_exhaustive()
    }
}

fn lock_error() -> ApiError {
    ApiError::internal(&"matcher lock poisoned")
}

impl Matcher {
    /// Replaces the gallery with the stored templates.
    ///
    /// # Errors
    /// When the store fails; unreadable templates are skipped with a log line.
    pub async fn rebuild(&self, store: &garita_store::Store) -> Result<usize, ApiError> {
        let rows = store.all_templates().await?;
        let mut loaded = Vec::with_capacity(rows.len());
        for row in rows {
            match store.blobs().get(&row.blob_sha256).await {
                Ok(bytes) => loaded.push((row, bytes)),
                Err(err) => {
                    tracing::warn!(sample = %row.sample_id, error = %err, "skipping an unreadable template");
                }
            }
        }
        let gallery = tokio::task::spawn_blocking(move || {
            let mut gallery = SubjectGallery::new();
            for (row, bytes) in loaded {
                match Template::from_bytes(&bytes) {
                    Ok(template) => gallery.add(row.subject_id, row.position, template),
                    Err(_) => {
                        tracing::warn!(sample = %row.sample_id, "skipping an unreadable template")
                    }
                }
            }
            gallery
        })
        .await
        .map_err(|err| ApiError::internal(&err))?;
        let count = gallery.len();
        *self.gallery.write().map_err(|_| lock_error())? = gallery;
        Ok(count)
    }
}

/// Searches the fingers of one person (`(NIST position, template)`, position 0 when unknown) against the
/// gallery in one multi-finger search, leaving out `skip_subject`: the subjects that are hits, with their fused
/// scores, best first. A subject is a hit when one finger clears the finger-level threshold ([`ALERT_FMR`]); the
/// fused score (mean over the probe's fingers) ranks hits and is what the officer sees.
///
/// # Errors
/// When the gallery lock is poisoned or the search task fails.
pub(crate) async fn search_templates(
    state: &AppState,
    probe: Vec<(u8, Template)>,
    skip_subject: Option<Uuid>,
) -> Result<Vec<(Uuid, f64)>, ApiError> {
    let matcher = state.matcher.clone();
    // Every shortlisted subject comes back (top_k = shortlist), so a hit on one strong finger is never cut by the
    // ranking on the fused mean before the threshold below sees it.
    let params = SubjectSearchParams::default();
    let candidates = tokio::task::spawn_blocking(move || {
        matcher
            .gallery
            .read()
            .map(|gallery| gallery.search(&probe, params.shortlist, params))
            .map_err(|_| lock_error())
    })
    .await
    .map_err(|err| ApiError::internal(&err))??;
    let finger_threshold = threshold_for_fmr(ALERT_FMR);
    Ok(candidates
        .into_iter()
        .filter(|c| Some(c.subject) != skip_subject && c.best_finger() >= finger_threshold)
        .map(|c| (c.subject, f64::from(c.score)))
        .collect())
}

/// Extracts templates from the encounter's finger samples, searches them against the gallery, raises alerts,
/// then adds the new templates to the gallery. Images that cannot be read are logged and skipped: the capture
/// itself is already accepted.
///
/// # Errors
/// When the store fails.
pub(crate) async fn enroll_and_search(
    state: &AppState,
    encounter_id: Uuid,
) -> Result<Vec<Alert>, ApiError> {
    let Some(encounter) = state.store.encounter(encounter_id).await? else {
        return Ok(Vec::new());
    };
    let samples = state.store.samples_of_encounter(encounter_id).await?;
    let mut probes = Vec::new();
    for sample in samples {
        let decodable = matches!(sample.format, SampleFormat::Wsq | SampleFormat::Png);
        if sample.modality != Modality::Finger || !decodable {
            continue;
        }
        let bytes = state.store.blobs().get(sample.blob_sha256.as_str()).await?;
        probes.push((sample, bytes));
    }
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let extracted = tokio::task::spawn_blocking(move || {
        probes
            .into_iter()
            .filter_map(|(sample, bytes)| {
                let result = garita_finger::load_image(&bytes, None).and_then(|image| garita_finger::extract(&image));
                match result {
                    Ok(template) if !template.minutiae.is_empty() => Some((sample, template)),
                    Ok(_) => None,
                    Err(err) => {
                        tracing::warn!(sample = %sample.id, error = %err, "no template from this sample");
                        None
                    }
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|err| ApiError::internal(&err))?;

    let probe: Vec<(u8, Template)> = extracted
        .iter()
        .map(|(sample, template)| (sample.position.code(), template.clone()))
        .collect();
    let mut alerts = Vec::new();
    for (subject, score) in search_templates(state, probe, Some(encounter.subject_id)).await? {
        let category = state
            .store
            .watchlist_of_subject(subject)
            .await?
            .first()
            .map_or(WatchlistCategory::PriorCrossing, |entry| entry.category);
        tracing::info!(%encounter_id, %subject, %category, score, "1:N hit");
        alerts.push(
            state
                .store
                .insert_alert(encounter_id, subject, category, score, state.now())
                .await?,
        );
    }

    // Enrol: store each template, then make it searchable.
    for (sample, template) in &extracted {
        let bytes = template
            .to_bytes()
            .map_err(|err| ApiError::internal(&err))?;
        let blob_sha256 = state.store.blobs().put(bytes).await?;
        state
            .store
            .insert_template(&TemplateRow {
                sample_id: sample.id,
                encounter_id,
                subject_id: encounter.subject_id,
                position: sample.position.code(),
                blob_sha256,
            })
            .await?;
    }
    let mut gallery = state.matcher.gallery.write().map_err(|_| lock_error())?;
    for (sample, template) in extracted {
        gallery.add(encounter.subject_id, sample.position.code(), template);
    }
    Ok(alerts)
}
