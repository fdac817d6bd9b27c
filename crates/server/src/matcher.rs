//! 1:N fingerprint search on enrollment: every finger sample of a new encounter is searched against the finger
//! templates of all earlier encounters; subjects found above the threshold raise alerts before the capture's
//! response is sent.
//!
//! The gallery lives in memory (garita-finger's indexed [`Gallery`]) and is rebuilt from the stored templates at
//! start-up and after purges. Alert category: the candidate's watchlist category when listed, otherwise
//! `prior-crossing` (the person was enrolled before). Each encounter creates its own subject, so the same person
//! enrolled twice, even offline at two sites, becomes an alert, never a silent merge.

use crate::{ApiError, AppState};
use garita_finger::{Gallery, SearchParams, Template, fuse_fingers, threshold_for_fmr};
use garita_model::{Alert, Modality, SampleFormat, WatchlistCategory};
use garita_store::TemplateRow;
use std::sync::RwLock;
use uuid::Uuid;

/// Decision threshold as a false match rate per comparison: 1 in 10,000 for a finger-level match.
pub const ALERT_FMR: f64 = 1e-4;
/// Candidates kept per probe finger.
const TOP_K: usize = 20;

/// Who a gallery entry stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Subject of the encounter the template came from.
    pub subject_id: Uuid,
    /// That encounter.
    pub encounter_id: Uuid,
}

/// The in-memory gallery behind a lock: searches share it, enrollments and rebuilds take it briefly.
pub struct Matcher {
    gallery: RwLock<Gallery<Entry>>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            gallery: RwLock::new(Gallery::new()),
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
        let store = store.clone();
        let gallery = tokio::task::spawn_blocking(move || {
            let mut gallery = Gallery::new();
            for row in rows {
                match store
                    .blobs()
                    .get(&row.blob_sha256)
                    .map(|bytes| Template::from_bytes(&bytes))
                {
                    Ok(Ok(template)) => gallery.add(
                        Entry {
                            subject_id: row.subject_id,
                            encounter_id: row.encounter_id,
                        },
                        template,
                    ),
                    _ => tracing::warn!(sample = %row.sample_id, "skipping an unreadable template"),
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

/// Searches probe fingers (of one person) against the gallery, leaving out templates of `skip_encounter`, and
/// fuses per subject across the fingers: the subjects found above the threshold with their scores.
///
/// # Errors
/// When the gallery lock is poisoned.
pub(crate) fn search_templates(
    state: &AppState,
    templates: &[&Template],
    skip_encounter: Option<Uuid>,
) -> Result<Vec<(Uuid, f64)>, ApiError> {
    let per_finger = {
        let gallery = state.matcher.gallery.read().map_err(|_| lock_error())?;
        templates
            .iter()
            .map(|template| {
                gallery
                    .search(template, TOP_K, SearchParams::default())
                    .into_iter()
                    .filter(|candidate| Some(candidate.id.encounter_id) != skip_encounter)
                    .map(|candidate| (candidate.id.subject_id, candidate.score))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let finger_threshold = threshold_for_fmr(ALERT_FMR);
    let best_finger = |subject: Uuid| {
        per_finger
            .iter()
            .flat_map(|finger| finger.iter())
            .filter(|(candidate, _)| *candidate == subject)
            .map(|(_, score)| *score)
            .fold(0.0f32, f32::max)
    };
    let mut hits = Vec::new();
    for (subject, fused, fingers) in fuse_fingers(&per_finger) {
        let best = best_finger(subject);
        // A subject is a hit when one finger clears the finger-level threshold; the fused score (mean over the
        // probe's fingers) ranks hits and is what the officer sees.
        if best < finger_threshold {
            continue;
        }
        let score = f64::from(fused.max(best * fingers as f32 / per_finger.len().max(1) as f32));
        hits.push((subject, score));
    }
    Ok(hits)
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
        let bytes = state.store.blobs().get(sample.blob_sha256.as_str())?;
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

    let templates: Vec<&Template> = extracted.iter().map(|(_, template)| template).collect();
    let mut alerts = Vec::new();
    for (subject, score) in search_templates(state, &templates, Some(encounter_id))? {
        let category = state
            .store
            .watchlist_of_subject(subject)
            .await?
            .first()
            .map_or(WatchlistCategory::PriorCrossing, |entry| entry.category);
        tracing::info!(%encounter_id, candidate = %subject, %category, score, "1:N hit");
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
        let store = state.store.clone();
        let blob_sha256 = tokio::task::spawn_blocking(move || store.blobs().put(&bytes))
            .await
            .map_err(|err| ApiError::internal(&err))??;
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
    for (_, template) in extracted {
        gallery.add(
            Entry {
                subject_id: encounter.subject_id,
                encounter_id,
            },
            template,
        );
    }
    Ok(alerts)
}
