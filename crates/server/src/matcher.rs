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
use garita_cluster::nodes::{Cluster, IndexedTemplate};
use garita_finger::{
    SubjectCandidate, SubjectGallery, SubjectSearchParams, Template, threshold_for_fmr,
};
use garita_model::{Alert, Modality, SampleFormat, WatchlistCategory};
use garita_store::TemplateRow;
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;
use uuid::Uuid;

/// Decision threshold as a false match rate per comparison: 1 in 10,000 for a finger-level match. The shipped
/// calibration table (`garita_finger::CALIBRATION`, 16,320 impostor scores) ends at 2 in 10,000, and
/// `threshold_for_fmr` clamps to it: the threshold in force is that point's (score 0.93), the strictest the
/// shared data can measure. A deployment that recalibrates on its own impostors gets the true 10⁻⁴ point.
pub const ALERT_FMR: f64 = 1e-4;

/// What one node's gallery holds: the templates, and in a cluster the shards they are of.
#[derive(Default)]
struct Local {
    gallery: SubjectGallery<Uuid>,
    /// Shards loaded (cluster mode; empty on a single node, whose gallery holds everything).
    shards: BTreeSet<u32>,
    /// Subjects of each loaded shard, to drop a shard released to another node.
    subjects: HashMap<u32, BTreeSet<Uuid>>,
}

/// The in-memory gallery of subjects' finger templates behind a lock: searches share it, enrollments and
/// rebuilds take it briefly. On a cluster node it holds only the shards the node owns (see [`ClusterMatcher`]).
pub struct Matcher {
    local: RwLock<Local>,
    cluster: Option<ClusterMatcher>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            local: RwLock::new(Local::default()),
            cluster: None,
        }
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("clustered", &self.cluster.is_some())
            .finish_non_exhaustive()
    }
}

/// A cluster node's part of the matcher: its handle on the cluster tables, the node-to-node secret and the
/// client that fans searches out. Searches are sharded (docs/cluster.md, "Sharded 1:N search").
pub struct ClusterMatcher {
    pub(crate) cluster: Cluster,
    pub(crate) secret: Vec<u8>,
    pub(crate) search_timeout: Duration,
    pub(crate) client: reqwest::Client,
    /// Highest index sequence number loaded and the gallery generation it was loaded under; held while syncing
    /// so one sync runs at a time.
    cursor: tokio::sync::Mutex<(i64, i64)>,
}

impl ClusterMatcher {
    /// This node's handle on the cluster tables (membership, assignment, index, pending searches).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

/// How a node joins a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// PostgreSQL URL of the cluster database.
    pub database_url: String,
    /// This node's id (stable across restarts, so the node gets its shards back).
    pub node_id: Uuid,
    /// Base URL other nodes reach this node at (e.g. `http://10.0.0.5:8080`).
    pub advertised_url: String,
    /// Secret shared by the nodes: authenticates node-to-node searches (HMAC-SHA256).
    pub secret: Vec<u8>,
    /// Heartbeat, death timeout and shard count.
    pub options: garita_cluster::nodes::ClusterOptions,
    /// How long a search waits for another node's answer before reporting its shards missing.
    pub search_timeout: Duration,
}

fn lock_error() -> ApiError {
    ApiError::internal(&"matcher lock poisoned")
}

pub(crate) fn cluster_error(err: &garita_cluster::ClusterError) -> ApiError {
    ApiError::internal(err)
}

/// A candidate as nodes exchange it: enough to decide a hit exactly as a single node does.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    /// The subject.
    pub subject: Uuid,
    /// Fused score (mean over the probe's fingers).
    pub score: f32,
    /// Best score per probe finger.
    pub per_finger: Vec<f32>,
}

impl Candidate {
    /// Whether two candidates are the same subject with bit-identical scores.
    #[must_use]
    pub fn same_as(&self, other: &Candidate) -> bool {
        self.subject == other.subject
            && self.score.to_bits() == other.score.to_bits()
            && self.per_finger.len() == other.per_finger.len()
            && self
                .per_finger
                .iter()
                .zip(&other.per_finger)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The best single-finger score.
    #[must_use]
    pub fn best_finger(&self) -> f32 {
        self.per_finger.iter().copied().fold(0.0, f32::max)
    }
}

impl From<SubjectCandidate<Uuid>> for Candidate {
    fn from(c: SubjectCandidate<Uuid>) -> Self {
        Candidate {
            subject: c.subject,
            score: c.score,
            per_finger: c.per_finger,
        }
    }
}

/// The candidates of one search and the shards it could not reach (empty on a single node).
#[derive(Debug, Default)]
pub struct SearchOutcome {
    /// Every shortlisted candidate, best first.
    pub candidates: Vec<Candidate>,
    /// Shards no node answered for.
    pub missing: BTreeSet<u32>,
    /// Whether the search ran across a cluster.
    pub clustered: bool,
}

impl SearchOutcome {
    /// The hits: candidates other than `skip_subject` with one finger at or above the `ALERT_FMR` threshold, best
    /// first, with their fused scores.
    pub fn hits(&self, skip_subject: Option<Uuid>) -> Vec<(Uuid, f64)> {
        let finger_threshold = threshold_for_fmr(ALERT_FMR);
        self.candidates
            .iter()
            .filter(|c| Some(c.subject) != skip_subject && c.best_finger() >= finger_threshold)
            .map(|c| (c.subject, f64::from(c.score)))
            .collect()
    }
}

/// Reads template bytes from the blob store and prepares them for the gallery, off the async threads.
pub(crate) async fn load_templates(
    store: &garita_store::Store,
    rows: Vec<(Uuid, Uuid, u8, String)>,
) -> Result<Vec<(Uuid, u8, Template)>, ApiError> {
    let mut loaded = Vec::with_capacity(rows.len());
    for (sample, subject, position, blob) in rows {
        match store.blobs().get(&blob).await {
            Ok(bytes) => loaded.push((sample, subject, position, bytes)),
            Err(err) => tracing::warn!(%sample, error = %err, "skipping an unreadable template"),
        }
    }
    tokio::task::spawn_blocking(move || {
        loaded
            .into_iter()
            .filter_map(
                |(sample, subject, position, bytes)| match Template::from_bytes(&bytes) {
                    Ok(template) => Some((subject, position, template)),
                    Err(_) => {
                        tracing::warn!(%sample, "skipping an unreadable template");
                        None
                    }
                },
            )
            .collect()
    })
    .await
    .map_err(|err| ApiError::internal(&err))
}

impl Matcher {
    /// A cluster node's matcher: connects to the cluster database and registers the node. Call
    /// [`Matcher::rebuild`] next, then `cluster::spawn` to heartbeat and follow the assignment.
    ///
    /// # Errors
    /// When the cluster database cannot be reached.
    pub async fn clustered(config: ClusterConfig) -> Result<Matcher, ApiError> {
        let cluster = Cluster::connect(
            &config.database_url,
            config.node_id,
            &config.advertised_url,
            config.options,
        )
        .await
        .map_err(|err| cluster_error(&err))?;
        // No idle connections kept: a node that stops answering is seen at once, not hidden by a kept-alive
        // connection to a process that lost its place in the cluster.
        let client = reqwest::Client::builder()
            .timeout(config.search_timeout)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|err| ApiError::internal(&err))?;
        Ok(Matcher {
            local: RwLock::new(Local::default()),
            cluster: Some(ClusterMatcher {
                cluster,
                secret: config.secret,
                search_timeout: config.search_timeout,
                client,
                cursor: tokio::sync::Mutex::new((0, 0)),
            }),
        })
    }

    /// The cluster part, on a cluster node.
    pub fn cluster(&self) -> Option<&ClusterMatcher> {
        self.cluster.as_ref()
    }

    /// Replaces the gallery with the stored templates. On a cluster node: indexes the store's templates the
    /// cluster index lacks, then reloads the shards this node owns.
    ///
    /// # Errors
    /// When the store fails; unreadable templates are skipped with a log line.
    pub async fn rebuild(&self, store: &garita_store::Store) -> Result<usize, ApiError> {
        let rows = store.all_templates().await?;
        if let Some(part) = &self.cluster {
            let indexed: Vec<IndexedTemplate> = rows.iter().map(indexed).collect();
            part.cluster
                .index_templates(&indexed)
                .await
                .map_err(|err| cluster_error(&err))?;
            // Templates the store no longer has (purged) leave the index; every node then reloads.
            let stored: BTreeSet<Uuid> = rows.iter().map(|row| row.sample_id).collect();
            let purged: Vec<Uuid> = part
                .cluster
                .indexed_samples()
                .await
                .map_err(|err| cluster_error(&err))?
                .into_iter()
                .filter(|sample| !stored.contains(sample))
                .collect();
            part.cluster
                .unindex_templates(&purged)
                .await
                .map_err(|err| cluster_error(&err))?;
            let mut cursor = part.cursor.lock().await;
            *cursor = (0, 0);
            *self.local.write().map_err(|_| lock_error())? = Local::default();
            drop(cursor);
            self.sync(store).await?;
            return Ok(self.local.read().map_err(|_| lock_error())?.gallery.len());
        }
        let rows = rows
            .into_iter()
            .map(|row| (row.sample_id, row.subject_id, row.position, row.blob_sha256))
            .collect();
        let mut gallery = SubjectGallery::new();
        for (subject, position, template) in load_templates(store, rows).await? {
            gallery.add(subject, position, template);
        }
        let count = gallery.len();
        self.local.write().map_err(|_| lock_error())?.gallery = gallery;
        Ok(count)
    }

    /// Cluster node: follows the assignment (drops released shards, loads gained ones) and catches up on the
    /// templates indexed since the last sync, so every enrollment acknowledged anywhere is searchable here.
    /// Returns the shards loaded. A single node has nothing to do.
    ///
    /// # Errors
    /// When the cluster database or the store fails.
    pub async fn sync(&self, store: &garita_store::Store) -> Result<BTreeSet<u32>, ApiError> {
        let Some(part) = &self.cluster else {
            return Ok(BTreeSet::new());
        };
        let mut cursor = part.cursor.lock().await;
        let owned = part
            .cluster
            .owned_shards()
            .await
            .map_err(|err| cluster_error(&err))?;
        // Everything up to `last` is committed (index inserts are serialised), so reading up to it misses nothing.
        let last = part
            .cluster
            .last_seq()
            .await
            .map_err(|err| cluster_error(&err))?;
        let generation = part
            .cluster
            .gallery_generation()
            .await
            .map_err(|err| cluster_error(&err))?;
        if generation != cursor.1 {
            // Templates left the index (a purge somewhere): start again from the index as it is.
            *self.local.write().map_err(|_| lock_error())? = Local::default();
            *cursor = (0, generation);
        }
        let loaded = self.local.read().map_err(|_| lock_error())?.shards.clone();
        let gained: BTreeSet<u32> = owned.difference(&loaded).copied().collect();
        let kept: BTreeSet<u32> = owned.intersection(&loaded).copied().collect();
        let mut rows = part
            .cluster
            .templates_between(0, last, &gained)
            .await
            .map_err(|err| cluster_error(&err))?;
        rows.extend(
            part.cluster
                .templates_between(cursor.0, last, &kept)
                .await
                .map_err(|err| cluster_error(&err))?,
        );
        let rows = rows
            .into_iter()
            .map(|row| (row.sample_id, row.subject_id, row.position, row.blob_sha256))
            .collect();
        let templates = load_templates(store, rows).await?;
        let mut local = self.local.write().map_err(|_| lock_error())?;
        for shard in loaded.difference(&owned) {
            for subject in local.subjects.remove(shard).unwrap_or_default() {
                local.gallery.remove_subject(&subject);
            }
        }
        for (subject, position, template) in templates {
            let shard = part.cluster.shard_of(subject);
            local.subjects.entry(shard).or_default().insert(subject);
            local.gallery.add(subject, position, template);
        }
        local.shards.clone_from(&owned);
        cursor.0 = last;
        Ok(owned)
    }

    /// Searches this node's own gallery: every shortlisted candidate, and the shards they come from (in a
    /// cluster, after [`Matcher::sync`]).
    pub(crate) async fn search_local(
        self: std::sync::Arc<Self>,
        store: &garita_store::Store,
        probe: Vec<(u8, Template)>,
    ) -> Result<(BTreeSet<u32>, Vec<Candidate>), ApiError> {
        self.sync(store).await?;
        // Every shortlisted subject comes back (top_k = shortlist), so a hit on one strong finger is never cut by
        // the ranking on the fused mean before the threshold sees it.
        let params = SubjectSearchParams::default();
        tokio::task::spawn_blocking(move || {
            let local = self.local.read().map_err(|_| lock_error())?;
            let top_k = params.subjects_for(probe.len());
            let candidates = local.gallery.search(&probe, top_k, params);
            Ok((
                local.shards.clone(),
                candidates.into_iter().map(Candidate::from).collect(),
            ))
        })
        .await
        .map_err(|err| ApiError::internal(&err))?
    }

    /// Makes new templates searchable: added to the gallery on a single node; indexed in the cluster (every
    /// node's next search catches up on them) on a cluster node.
    async fn enroll(
        &self,
        rows: &[TemplateRow],
        templates: Vec<(Uuid, u8, Template)>,
    ) -> Result<(), ApiError> {
        if let Some(part) = &self.cluster {
            let indexed: Vec<IndexedTemplate> = rows.iter().map(indexed).collect();
            return part
                .cluster
                .index_templates(&indexed)
                .await
                .map_err(|err| cluster_error(&err));
        }
        let mut local = self.local.write().map_err(|_| lock_error())?;
        for (subject, position, template) in templates {
            local.gallery.add(subject, position, template);
        }
        Ok(())
    }
}

fn indexed(row: &TemplateRow) -> IndexedTemplate {
    IndexedTemplate {
        seq: 0,
        sample_id: row.sample_id,
        encounter_id: row.encounter_id,
        subject_id: row.subject_id,
        position: row.position,
        blob_sha256: row.blob_sha256.clone(),
    }
}

/// Searches a probe over the whole gallery: this node's gallery on a single node; on a cluster node, every live
/// node's shards (`crate::cluster::fan_out`), reporting the shards no node answered for. Candidates best first.
///
/// # Errors
/// When the gallery lock is poisoned, the search task or the cluster database fails.
pub async fn search(
    state: &AppState,
    probe: Vec<(u8, Template)>,
) -> Result<SearchOutcome, ApiError> {
    if state.matcher.cluster.is_some() {
        return crate::cluster::fan_out(state, probe).await;
    }
    let (_, candidates) = state
        .matcher
        .clone()
        .search_local(&state.store, probe)
        .await?;
    let mut outcome = SearchOutcome {
        candidates,
        ..SearchOutcome::default()
    };
    outcome
        .candidates
        .sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(outcome)
}

/// Searches the fingers of one person (`(NIST position, template)`, position 0 when unknown) against the
/// gallery in one multi-finger search, leaving out `skip_subject`: the subjects that are hits, with their fused
/// scores, best first. A subject is a hit when one finger clears the finger-level threshold ([`ALERT_FMR`]); the
/// fused score (mean over the probe's fingers) ranks hits and is what the officer sees.
///
/// On a cluster node a search that could not reach every shard is refused (503 `search-incomplete`) rather than
/// answered with hits missing; enrollment uses [`search`] and records such searches as pending instead.
///
/// # Errors
/// When the gallery lock is poisoned, the search task fails, or (cluster) shards are unreachable.
pub(crate) async fn search_templates(
    state: &AppState,
    probe: Vec<(u8, Template)>,
    skip_subject: Option<Uuid>,
) -> Result<Vec<(Uuid, f64)>, ApiError> {
    let outcome = search(state, probe).await?;
    if !outcome.missing.is_empty() {
        return Err(incomplete(&outcome.missing));
    }
    Ok(outcome.hits(skip_subject))
}

fn incomplete(missing: &BTreeSet<u32>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "search-incomplete",
        format!(
            "{} gallery shard(s) have no live matcher node; try again shortly",
            missing.len()
        ),
    )
}

/// How complete an enrollment's 1:N search was, on a cluster node (a single node's search is always complete
/// and reports nothing).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SearchReport {
    /// Whether every shard was searched.
    pub(crate) complete: bool,
    /// Shards not searched: the search is pending and re-runs when they are served again.
    pub(crate) missing_shards: Vec<u32>,
}

/// What the 1:N search made of one finger sample of a capture, so the site can capture a finger again while the
/// person is still there.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct FingerCheck {
    pub(crate) sample_id: Uuid,
    /// Finger position (ANSI/NIST FGP code).
    pub(crate) position: u8,
    /// Minutiae found; absent when no template could be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) minutiae: Option<usize>,
    /// Whether the sample was searched (and is now enrolled).
    pub(crate) searched: bool,
    /// Why and how to capture it again, when that is worth it (`garita_finger::capture_advice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) advice: Option<String>,
}

/// Raises an alert for each hit against `encounter_id`, in the hit's category (the watchlist's, else
/// prior-crossing).
pub(crate) async fn raise_alerts(
    state: &AppState,
    encounter_id: Uuid,
    hits: Vec<(Uuid, f64)>,
) -> Result<Vec<Alert>, ApiError> {
    let mut alerts = Vec::new();
    for (subject, score) in hits {
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
    Ok(alerts)
}

/// What [`enroll_and_search`] found: the alerts, the cluster's search report, and a check per finger sample.
pub(crate) type Enrolled = (Vec<Alert>, Option<SearchReport>, Vec<FingerCheck>);

/// Extracts templates from the encounter's finger samples, searches them against the gallery, raises alerts,
/// then adds the new templates to the gallery. Images that cannot be read are logged and skipped (their check
/// says so and what to do): the capture itself is already accepted.
///
/// # Errors
/// When the store fails.
pub(crate) async fn enroll_and_search(
    state: &AppState,
    encounter_id: Uuid,
) -> Result<Enrolled, ApiError> {
    let Some(encounter) = state.store.encounter(encounter_id).await? else {
        return Ok((Vec::new(), None, Vec::new()));
    };
    let samples = state.store.samples_of_encounter(encounter_id).await?;
    let mut probes = Vec::new();
    let mut unsearchable = Vec::new();
    for sample in samples {
        if sample.modality != Modality::Finger {
            continue;
        }
        if !matches!(
            sample.format,
            SampleFormat::Wsq | SampleFormat::Png | SampleFormat::Iso19794_2
        ) {
            unsearchable.push(FingerCheck {
                sample_id: sample.id,
                position: sample.position.code(),
                minutiae: None,
                searched: false,
                advice: Some(format!(
                    "{} finger images are not searched: send WSQ, PNG or an ISO/IEC 19794-2 minutiae record",
                    sample.format
                )),
            });
            continue;
        }
        let bytes = state.store.blobs().get(sample.blob_sha256.as_str()).await?;
        probes.push((sample, bytes));
    }
    if probes.is_empty() {
        return Ok((Vec::new(), None, unsearchable));
    }
    let (extracted, checks) = tokio::task::spawn_blocking(move || {
        let mut extracted = Vec::new();
        let mut checks = unsearchable;
        for (sample, bytes) in probes {
            // A minutiae record is searched as sent; an image is decoded and its minutiae extracted.
            let result = garita_finger::template_from_bytes(&bytes, None);
            let mut check = FingerCheck {
                sample_id: sample.id,
                position: sample.position.code(),
                minutiae: None,
                searched: false,
                advice: garita_finger::capture_advice(result.as_ref()),
            };
            match result {
                Ok(template) => {
                    check.minutiae = Some(template.minutiae.len());
                    // A record may carry no minutiae at all: nothing to search or enrol.
                    if !template.minutiae.is_empty() {
                        check.searched = true;
                        extracted.push((sample, template));
                    }
                }
                Err(err) => {
                    tracing::warn!(sample = %sample.id, error = %err, "no template from this sample");
                }
            }
            checks.push(check);
        }
        (extracted, checks)
    })
    .await
    .map_err(|err| ApiError::internal(&err))?;

    let probe: Vec<(u8, Template)> = extracted
        .iter()
        .map(|(sample, template)| (sample.position.code(), template.clone()))
        .collect();
    let outcome = search(state, probe).await?;
    let alerts = raise_alerts(
        state,
        encounter_id,
        outcome.hits(Some(encounter.subject_id)),
    )
    .await?;
    let report = outcome.clustered.then(|| SearchReport {
        complete: outcome.missing.is_empty(),
        missing_shards: outcome.missing.iter().copied().collect(),
    });
    // Enrol: store each template, then make it searchable.
    let mut rows = Vec::with_capacity(extracted.len());
    for (sample, template) in &extracted {
        let bytes = template
            .to_bytes()
            .map_err(|err| ApiError::internal(&err))?;
        let blob_sha256 = state.store.blobs().put(bytes).await?;
        let row = TemplateRow {
            sample_id: sample.id,
            encounter_id,
            subject_id: encounter.subject_id,
            position: sample.position.code(),
            blob_sha256,
        };
        state.store.insert_template(&row).await?;
        rows.push(row);
    }
    let templates = extracted
        .into_iter()
        .map(|(sample, template)| (encounter.subject_id, sample.position.code(), template))
        .collect();
    state.matcher.enroll(&rows, templates).await?;
    // Recorded after the templates are indexed, so the re-run finds its probe.
    if let Some(part) = &state.matcher.cluster
        && !outcome.missing.is_empty()
    {
        tracing::warn!(%encounter_id, missing = outcome.missing.len(), "1:N search incomplete: pending");
        part.cluster
            .record_pending(encounter_id, &outcome.missing)
            .await
            .map_err(|err| cluster_error(&err))?;
    }
    Ok((alerts, report, checks))
}
