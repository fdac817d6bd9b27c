//! Sharded 1:N search across cluster nodes (docs/cluster.md, "Sharded 1:N search").
//!
//! Each node's [`Matcher`](crate::matcher::Matcher) holds the gallery shards it owns. A search fans out to
//! every live node (this node searches its own shards in-process, the others over
//! `POST /api/v1/cluster/search`), merges the candidates and reports the shards nobody answered for. The route
//! is authenticated node to node: an HMAC-SHA256, under the cluster secret, of the node id, a timestamp and the
//! body; user tokens are not credentials here.
//!
//! [`spawn`] runs a node's background duties: heartbeat, rebalance (when this node gets the coordinator lock),
//! follow the assignment, and re-run pending searches once their shards are served again.

use crate::matcher::{Candidate, SearchOutcome, cluster_error};
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garita_finger::Template;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use uuid::Uuid;

/// Header naming the calling node.
pub const NODE_HEADER: &str = "garita-node";
/// Header with the call's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "garita-timestamp";
/// Header with the hex HMAC-SHA256 of [`signed_message`].
pub const SIGNATURE_HEADER: &str = "garita-signature";
/// How far a call's timestamp may be from the receiver's clock.
const MAX_SKEW_SECONDS: i64 = 60;
/// How long a node holds a pending search it claimed.
const PENDING_LEASE: Duration = Duration::from_secs(30);

/// One probe finger on the wire.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeFinger {
    position: u8,
    /// The template as extracted, every float exact (JSON numbers round-trip `f32`): the stored byte format
    /// rounds coordinates and angles, and the answer must equal a single node's search with the same probe.
    template: Template,
}

/// Body of `POST /api/v1/cluster/search`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    probe: Vec<ProbeFinger>,
}

/// A node's answer: the shards it searched and its shortlisted candidates.
#[derive(Serialize, Deserialize)]
pub(crate) struct ShardAnswer {
    node: Uuid,
    shards: BTreeSet<u32>,
    candidates: Vec<Candidate>,
}

/// The bytes a node signs: a domain label, its id, the timestamp and the body.
#[must_use]
pub fn signed_message(node: Uuid, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("garita-cluster-search/v1\n{node}\n{timestamp}\n").into_bytes();
    message.extend_from_slice(body);
    message
}

fn mac(secret: &[u8]) -> Result<Hmac<Sha256>, ApiError> {
    Hmac::<Sha256>::new_from_slice(secret).map_err(|err| ApiError::internal(&err))
}

/// The hex signature of a call (what [`SIGNATURE_HEADER`] carries).
///
/// # Errors
/// Never in practice (HMAC takes keys of any length).
pub fn sign(secret: &[u8], node: Uuid, timestamp: i64, body: &[u8]) -> Result<String, ApiError> {
    let mut mac = mac(secret)?;
    mac.update(&signed_message(node, timestamp, body));
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn refused(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad-signature", message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refused("a cluster node's signed call is required"))
}

/// Checks a node's signature over the body (constant-time) and the freshness of its timestamp.
fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8], now: i64) -> Result<Uuid, ApiError> {
    let node: Uuid = header(headers, NODE_HEADER)?
        .parse()
        .map_err(|_| refused("the node header is not a UUID"))?;
    let timestamp: i64 = header(headers, TIMESTAMP_HEADER)?
        .parse()
        .map_err(|_| refused("the timestamp header is not a number"))?;
    let signature = hex::decode(header(headers, SIGNATURE_HEADER)?)
        .map_err(|_| refused("the signature header is not hex"))?;
    if (now - timestamp).abs() > MAX_SKEW_SECONDS {
        return Err(refused(
            "the call's timestamp is too far from this node's clock",
        ));
    }
    let mut mac = mac(secret)?;
    mac.update(&signed_message(node, timestamp, body));
    mac.verify_slice(&signature)
        .map_err(|_| refused("the signature does not verify under the cluster secret"))?;
    Ok(node)
}

/// `POST /api/v1/cluster/search`: searches this node's shards for another node. Answers the shards it holds
/// (after catching up on the templates indexed since its last sync) and every shortlisted candidate.
pub(crate) async fn search_route(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ShardAnswer>, ApiError> {
    let Some(part) = state.matcher.cluster() else {
        return Err(refused("this server is not a cluster node"));
    };
    let caller = verify(&part.secret, &headers, &body, state.now().unix_timestamp())?;
    let request: SearchRequest = crate::extract::parse_json(&body)?;
    let probe = decode_probe(request.probe);
    let (shards, candidates) = state
        .matcher
        .clone()
        .search_local(&state.store, probe)
        .await?;
    tracing::debug!(%caller, shards = shards.len(), "answered a cluster search");
    Ok(Json(ShardAnswer {
        node: part.cluster.node_id(),
        shards,
        candidates,
    }))
}

fn decode_probe(fingers: Vec<ProbeFinger>) -> Vec<(u8, Template)> {
    fingers
        .into_iter()
        .map(|finger| (finger.position, finger.template))
        .collect()
}

fn encode_probe(probe: &[(u8, Template)]) -> Result<Vec<u8>, ApiError> {
    let fingers = probe
        .iter()
        .map(|(position, template)| ProbeFinger {
            position: *position,
            template: template.clone(),
        })
        .collect();
    serde_json::to_vec(&SearchRequest { probe: fingers }).map_err(|err| ApiError::internal(&err))
}

/// Asks one node to search its shards.
async fn ask(
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
    me: Uuid,
    body: Vec<u8>,
    now: i64,
) -> Result<(BTreeSet<u32>, Vec<Candidate>), String> {
    let signature = sign(&secret, me, now, &body).map_err(|err| err.message)?;
    let response = client
        .post(format!(
            "{}/api/v1/cluster/search",
            url.trim_end_matches('/')
        ))
        .header(NODE_HEADER, me.to_string())
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let answer: ShardAnswer = response.json().await.map_err(|err| err.to_string())?;
    Ok((answer.shards, answer.candidates))
}

/// Searches a probe across the cluster: every live node searches its own shards (this one in-process), each
/// within the search timeout; candidates are merged (a subject appears once: its shard has one owner, and a
/// shard answered twice during a hand-over gives the same scores) and ranked best first; shards no node
/// answered for are reported missing.
///
/// # Errors
/// When the cluster database cannot be read.
pub(crate) async fn fan_out(
    state: &AppState,
    probe: Vec<(u8, Template)>,
) -> Result<SearchOutcome, ApiError> {
    let Some(part) = state.matcher.cluster() else {
        return Err(ApiError::internal(&"fan_out on a single node"));
    };
    let me = part.cluster.node_id();
    let nodes = part
        .cluster
        .live_nodes()
        .await
        .map_err(|err| cluster_error(&err))?;
    let body = encode_probe(&probe)?;
    let now = state.now().unix_timestamp();
    let mut tasks = tokio::task::JoinSet::new();
    for node in nodes {
        let timeout = part.search_timeout;
        if node.id == me {
            let matcher = state.matcher.clone();
            let store = state.store.clone();
            let probe = probe.clone();
            tasks.spawn(async move {
                let local = matcher.search_local(&store, probe);
                let result = match tokio::time::timeout(timeout, local).await {
                    Ok(result) => result.map_err(|err| err.message),
                    Err(_) => Err("timed out".to_owned()),
                };
                (node.id, result)
            });
        } else {
            let call = ask(
                part.client.clone(),
                node.url.clone(),
                part.secret.clone(),
                me,
                body.clone(),
                now,
            );
            tasks.spawn(async move {
                let result = match tokio::time::timeout(timeout, call).await {
                    Ok(result) => result,
                    Err(_) => Err("timed out".to_owned()),
                };
                (node.id, result)
            });
        }
    }
    let mut covered = BTreeSet::new();
    let mut merged: HashMap<Uuid, Candidate> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok((shards, candidates)))) => {
                covered.extend(shards);
                for candidate in candidates {
                    merged.entry(candidate.subject).or_insert(candidate);
                }
            }
            Ok((node, Err(error))) => {
                tracing::warn!(%node, %error, "a matcher node did not answer; its shards are missing");
            }
            Err(err) => tracing::warn!(error = %err, "a search task failed"),
        }
    }
    let mut candidates: Vec<Candidate> = merged.into_values().collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let missing = part
        .cluster
        .all_shards()
        .difference(&covered)
        .copied()
        .collect();
    Ok(SearchOutcome {
        candidates,
        missing,
        clustered: true,
    })
}

/// A node's background duties; stopped when dropped (as when the process dies: the node stops heartbeating
/// and is declared dead after the timeout). Call [`ClusterTask::leave`] for a clean shutdown instead.
#[derive(Debug)]
pub struct ClusterTask {
    handle: tokio::task::JoinHandle<()>,
    matcher: std::sync::Arc<crate::matcher::Matcher>,
}

impl ClusterTask {
    /// Stops the duties and leaves the cluster at once, so its shards move without waiting for the timeout.
    pub async fn leave(self) {
        self.handle.abort();
        if let Some(part) = self.matcher.cluster()
            && let Err(err) = part.cluster.leave().await
        {
            tracing::warn!(error = %err, "could not leave the cluster cleanly");
        }
    }
}

impl Drop for ClusterTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Makes `state` a cluster node (what `garita serve` calls when given a cluster database): connects its matcher
/// to the cluster, indexes the store's templates the cluster lacks, loads the shards this node owns and starts
/// its duties. Keep the task for the server's lifetime; [`ClusterTask::leave`] on shutdown.
///
/// # Errors
/// When the cluster database or the store fails.
pub async fn start_node(
    mut state: AppState,
    config: crate::matcher::ClusterConfig,
) -> Result<(AppState, ClusterTask), ApiError> {
    let matcher = crate::matcher::Matcher::clustered(config).await?;
    state.matcher = std::sync::Arc::new(matcher);
    state.matcher.rebuild(&state.store).await?;
    let task = spawn(state.clone()).ok_or_else(|| ApiError::internal(&"not a cluster node"))?;
    Ok((state, task))
}

/// Starts a cluster node's background duties (nothing on a single node): every heartbeat interval, heartbeat,
/// rebalance when this node gets the coordinator lock, follow the assignment, re-run pending searches.
pub fn spawn(state: AppState) -> Option<ClusterTask> {
    let every = state.matcher.cluster()?.cluster.options().heartbeat;
    let worker = state.clone();
    let handle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = duties(&worker).await {
                tracing::warn!(error = %err.message, "cluster duties failed; retrying");
            }
        }
    });
    Some(ClusterTask {
        handle,
        matcher: state.matcher.clone(),
    })
}

/// One round of a node's duties.
async fn duties(state: &AppState) -> Result<(), ApiError> {
    let Some(part) = state.matcher.cluster() else {
        return Ok(());
    };
    part.cluster
        .heartbeat()
        .await
        .map_err(|err| cluster_error(&err))?;
    part.cluster
        .rebalance()
        .await
        .map_err(|err| cluster_error(&err))?;
    state.matcher.sync(&state.store).await?;
    rerun_pending(state).await
}

/// Re-runs the pending searches whose missing shards all have a live owner again, over those shards only; their
/// hits become alerts now. Shards still unanswered stay pending.
async fn rerun_pending(state: &AppState) -> Result<(), ApiError> {
    let Some(part) = state.matcher.cluster() else {
        return Ok(());
    };
    let live: BTreeSet<Uuid> = part
        .cluster
        .live_nodes()
        .await
        .map_err(|err| cluster_error(&err))?
        .into_iter()
        .map(|node| node.id)
        .collect();
    let served: BTreeSet<u32> = part
        .cluster
        .assignment()
        .await
        .map_err(|err| cluster_error(&err))?
        .into_iter()
        .filter(|shard| shard.owner.is_some_and(|owner| live.contains(&owner)))
        .map(|shard| shard.shard)
        .collect();
    for pending in part
        .cluster
        .claim_pending(8, PENDING_LEASE)
        .await
        .map_err(|err| cluster_error(&err))?
    {
        let missing: BTreeSet<u32> = pending.missing.iter().copied().collect();
        if !missing.is_subset(&served) {
            part.cluster
                .finish_pending(pending.encounter_id, &missing)
                .await
                .map_err(|err| cluster_error(&err))?;
            continue;
        }
        let remaining = rerun(state, pending.encounter_id, &missing).await?;
        part.cluster
            .finish_pending(pending.encounter_id, &remaining)
            .await
            .map_err(|err| cluster_error(&err))?;
    }
    Ok(())
}

/// Searches an enrollment's templates again over `missing` shards; raises alerts for its hits there and returns
/// the shards still missing.
async fn rerun(
    state: &AppState,
    encounter_id: Uuid,
    missing: &BTreeSet<u32>,
) -> Result<BTreeSet<u32>, ApiError> {
    let Some(part) = state.matcher.cluster() else {
        return Ok(BTreeSet::new());
    };
    let Some(encounter) = state.store.encounter(encounter_id).await? else {
        return Ok(BTreeSet::new());
    };
    let rows = part
        .cluster
        .templates_of_encounter(encounter_id)
        .await
        .map_err(|err| cluster_error(&err))?
        .into_iter()
        .map(|row| (row.sample_id, row.subject_id, row.position, row.blob_sha256))
        .collect();
    let probe: Vec<(u8, Template)> = crate::matcher::load_templates(&state.store, rows)
        .await?
        .into_iter()
        .map(|(_, position, template)| (position, template))
        .collect();
    if probe.is_empty() {
        // Not indexed yet (or unreadable): keep it pending rather than drop it.
        return Ok(missing.clone());
    }
    let outcome = fan_out(state, probe).await?;
    let still: BTreeSet<u32> = missing.intersection(&outcome.missing).copied().collect();
    let hits = outcome
        .hits(Some(encounter.subject_id))
        .into_iter()
        .filter(|(subject, _)| {
            let shard = part.cluster.shard_of(*subject);
            missing.contains(&shard) && !still.contains(&shard)
        })
        .collect();
    let alerts = crate::matcher::raise_alerts(state, encounter_id, hits).await?;
    tracing::info!(%encounter_id, alerts = alerts.len(), still = still.len(), "pending 1:N search re-run");
    Ok(still)
}
