//! The shared transparency log of a cluster (docs/cluster.md): entries in PostgreSQL, tiles and checkpoints in
//! the object store, one sequencer at a time.
//!
//! - **Appends** (any node): one transaction takes the next indexes from the `cluster_ledger_state` counter row
//!   (`UPDATE … SET next_idx = next_idx + n RETURNING …`; the row lock serialises appenders of every node until
//!   commit, so indexes have no gaps or duplicates and commit order is index order) and inserts the entries. An
//!   entry is durable — and its index returned — when that transaction commits. Appends queued on a node while a
//!   transaction is in flight go together in the next one (group commit).
//! - **Integration** (the leader only, [`crate::leader`]): reads the committed entries beyond the published size,
//!   extends its tree, writes the new tiles and entry bundles to the object store (the same C2SP paths and bytes
//!   as the file-backed [`garita_ledger::Log`]), signs the checkpoint, then records it in
//!   `cluster_ledger_checkpoint` with a conditional update run on the leader's lock session: only a larger tree
//!   replaces the published one, and only while the session holding the lock is alive. Then it copies the
//!   checkpoint to the object store for static serving.
//! - **Serving and proofs** (any node): the checkpoint comes from PostgreSQL (the arbiter), tiles from the object
//!   store; each node keeps the tree's hashes in memory, extended from the `leaf_hash` column, and checks the tree
//!   against the signed checkpoint root before proving anything from it.
//! - **Cosignatures** (any node): verified against the published note and stored on its row; a new checkpoint
//!   clears them.

use std::ops::Range;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use garita_ledger::merkle::StoredHashes;
use garita_ledger::tiles::{self, TileKind};
use garita_ledger::{
    CosignatureVerifier, Hash, LogError, LogSigner, Resource, TlogProof, leaf_hash,
    sign_checkpoint, verify_checkpoint,
};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use signed_note::{Note, Signature, Verifier as _};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row as _};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use crate::error::ClusterError;
use crate::leader::{Attempt, LEDGER_LEADER_KEY, LeaderLock, LeaderStatus, StatusCell};

/// Advisory lock key serialising table creation across nodes starting together.
const SETUP_KEY: i64 = 0x6761_7269_7461_0000;
/// Most entries one append transaction carries.
const MAX_BATCH: usize = 4096;
/// Most leaf hashes read per query while catching up.
const READ_CHUNK: i64 = 65_536;

/// A node's ledger settings.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The log origin (checkpoint line 1), the same on every node.
    pub origin: String,
    /// The log signing key, the same on every node.
    pub key: SigningKey,
    /// This node's id (shown in the status and as the PostgreSQL application name `garita-<id>`).
    pub node_id: String,
    /// Cosigner verifier keys of the witnesses whose cosignatures are accepted.
    pub witnesses: Vec<String>,
    /// How often the leader publishes.
    pub integrate_every: Duration,
    /// How often a follower tries to take the leadership.
    pub leader_poll: Duration,
    /// Connections in this node's pool (plus one for the leader lock).
    pub max_connections: u32,
}

impl ClusterConfig {
    /// Defaults: a random node id, publishing every 250 ms, polling for leadership every 250 ms, 8 connections.
    pub fn new(origin: &str, key: SigningKey) -> Self {
        Self {
            origin: origin.to_owned(),
            key,
            node_id: uuid::Uuid::new_v4().simple().to_string(),
            witnesses: Vec::new(),
            integrate_every: Duration::from_millis(250),
            leader_poll: Duration::from_millis(250),
            max_connections: 8,
        }
    }
}

/// The published checkpoint as PostgreSQL holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Published {
    size: u64,
    /// The log-signed note (empty before the first publication).
    note: Vec<u8>,
    /// Accepted cosignature lines, concatenated.
    cosignatures: Vec<u8>,
}

impl Published {
    fn served(&self) -> Vec<u8> {
        let mut out = self.note.clone();
        out.extend_from_slice(&self.cosignatures);
        out
    }
}

struct AppendRequest {
    entries: Vec<Vec<u8>>,
    reply: oneshot::Sender<Result<Range<u64>, String>>,
}

struct Inner {
    pool: PgPool,
    objects: Arc<dyn ObjectStore>,
    signer: LogSigner,
    key: SigningKey,
    vkey: String,
    origin: String,
    node_id: String,
    witnesses: RwLock<Vec<CosignatureVerifier>>,
    /// This node's copy of the tree: every committed leaf it has read, in index order.
    tree: tokio::sync::Mutex<StoredHashes>,
    status: StatusCell,
    integrate_every: Duration,
    leader_poll: Duration,
    /// The served checkpoint this node last wrote to the object store while leading.
    object_checkpoint: tokio::sync::Mutex<Vec<u8>>,
}

/// One node's handle on the shared ledger. Dropping it stops its background tasks (the leader lock's session
/// ends with them, so another node takes over).
pub struct ClusterLedger {
    inner: Arc<Inner>,
    appends: mpsc::Sender<AppendRequest>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ClusterLedger {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn u64_of(v: i64) -> Result<u64, ClusterError> {
    u64::try_from(v).map_err(|_| ClusterError::Corrupt(format!("negative size or index {v}")))
}

fn i64_of(v: u64) -> Result<i64, ClusterError> {
    i64::try_from(v).map_err(|_| ClusterError::Corrupt(format!("index {v} out of range")))
}

fn object_path(resource: &str) -> ObjectPath {
    ObjectPath::from(format!("log/{resource}"))
}

impl ClusterLedger {
    /// Connects to PostgreSQL at `database_url` (a pool for this node) and starts the node: see
    /// [`ClusterLedger::start`].
    ///
    /// # Errors
    ///
    /// As [`ClusterLedger::start`], and [`ClusterError::Database`] for a bad URL.
    pub async fn connect(
        database_url: &str,
        objects: Arc<dyn ObjectStore>,
        config: ClusterConfig,
    ) -> Result<Self, ClusterError> {
        let options: PgConnectOptions = database_url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .connect_with(options.application_name(&format!("garita-{}", config.node_id)))
            .await?;
        Self::start(pool, objects, config).await
    }

    /// Starts a node over `pool`: creates the tables if needed, checks the database belongs to this log's key
    /// and origin (the first node records them), loads the tree up to the published checkpoint and checks it
    /// against the signed root, then starts the group-commit writer and the leadership loop.
    ///
    /// # Errors
    ///
    /// [`ClusterError::KeyMismatch`] when the database holds another log, [`ClusterError::Corrupt`] when its
    /// entries do not match the published checkpoint, [`ClusterError::Database`] on failure.
    pub async fn start(
        pool: PgPool,
        objects: Arc<dyn ObjectStore>,
        config: ClusterConfig,
    ) -> Result<Self, ClusterError> {
        let signer = LogSigner::new(&config.origin, config.key.clone()).map_err(LogError::from)?;
        let vkey = signer.vkey();
        setup_tables(&pool, &config.origin, &vkey).await?;
        let witnesses = parse_witnesses(&config.witnesses)?;
        let inner = Arc::new(Inner {
            pool: pool.clone(),
            objects,
            signer,
            key: config.key.clone(),
            vkey,
            origin: config.origin.clone(),
            node_id: config.node_id.clone(),
            witnesses: RwLock::new(witnesses),
            tree: tokio::sync::Mutex::new(StoredHashes::new()),
            status: StatusCell::new(&config.node_id),
            integrate_every: config.integrate_every,
            leader_poll: config.leader_poll,
            object_checkpoint: tokio::sync::Mutex::new(Vec::new()),
        });
        // Fail at start, not on the first proof, if the shared state does not check out.
        inner.synced_published().await?;
        let (appends, requests) = mpsc::channel(1024);
        let writer = tokio::spawn(write_loop(pool, requests));
        let leader = tokio::spawn(lead_loop(Arc::clone(&inner)));
        Ok(Self {
            inner,
            appends,
            tasks: vec![writer, leader],
        })
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The log's verifier key (the same on every node).
    pub fn vkey(&self) -> String {
        self.inner.vkey.clone()
    }

    /// The log signing key (the server also signs watchlist snapshots with it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// Whether this node leads, as it sees itself.
    pub fn status(&self) -> LeaderStatus {
        self.inner.status.get()
    }

    /// Whether this node currently sequences the ledger.
    pub fn is_leader(&self) -> bool {
        self.inner.status.get().leading
    }

    /// The pool this node uses (its leader lock is on a connection of its own).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Configures the witnesses whose cosignatures [`ClusterLedger::add_cosignatures`] accepts.
    ///
    /// # Errors
    ///
    /// [`LogError::Key`] (wrapped) when a vkey is malformed.
    pub fn set_witnesses(&self, vkeys: &[String]) -> Result<(), ClusterError> {
        let parsed = parse_witnesses(vkeys)?;
        *self
            .inner
            .witnesses
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = parsed;
        Ok(())
    }

    /// Appends one entry; returns its leaf index once the transaction holding it has committed.
    ///
    /// # Errors
    ///
    /// [`LogError::EntrySize`] for an empty or oversized entry; [`ClusterError::Database`] when the commit fails
    /// (then nothing was appended).
    pub async fn append(&self, entry: &[u8]) -> Result<u64, ClusterError> {
        self.append_batch(&[entry]).await.map(|range| range.start)
    }

    /// Appends entries in one transaction; returns their consecutive leaf indexes once committed.
    ///
    /// # Errors
    ///
    /// As [`ClusterLedger::append`]; on error none is appended.
    pub async fn append_batch(&self, entries: &[&[u8]]) -> Result<Range<u64>, ClusterError> {
        for e in entries {
            if e.is_empty() || e.len() > tiles::MAX_ENTRY_SIZE {
                return Err(LogError::EntrySize { len: e.len() }.into());
            }
        }
        if entries.is_empty() {
            let size = self.durable_size().await?;
            return Ok(size..size);
        }
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            entries: entries.iter().map(|e| e.to_vec()).collect(),
            reply,
        };
        self.appends
            .send(request)
            .await
            .map_err(|_| ClusterError::Closed)?;
        match answer.await {
            Ok(Ok(range)) => Ok(range),
            Ok(Err(message)) => Err(ClusterError::AppendFailed(message)),
            Err(_) => Err(ClusterError::Closed),
        }
    }

    /// Entries committed so far (the next index to be handed out).
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`].
    pub async fn durable_size(&self) -> Result<u64, ClusterError> {
        let next: i64 =
            sqlx::query_scalar("SELECT next_idx FROM cluster_ledger_state WHERE id = 1")
                .fetch_one(&self.inner.pool)
                .await?;
        u64_of(next)
    }

    /// The size of the published checkpoint.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`].
    pub async fn published_size(&self) -> Result<u64, ClusterError> {
        Ok(self.inner.published().await?.size)
    }

    /// Waits until a checkpoint of at least `size` is published or `timeout` passes; returns whether it was.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`].
    pub async fn wait_published(&self, size: u64, timeout: Duration) -> Result<bool, ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.inner.published().await?.size >= size {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The current checkpoint as served: the log-signed note plus accepted cosignatures.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`].
    pub async fn checkpoint(&self) -> Result<Vec<u8>, ClusterError> {
        Ok(self.inner.published().await?.served())
    }

    /// Serves a tlog-tiles resource (the path after `/log/`): the checkpoint from PostgreSQL, tiles and entry
    /// bundles from the object store. `Ok(None)` is 404, including non-canonical paths.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`] or [`ClusterError::ObjectStore`] (other than not found).
    pub async fn serve(&self, path: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        match Resource::from_path(path) {
            Err(_) => Ok(None),
            Ok(Resource::Checkpoint) => Ok(Some(self.checkpoint().await?)),
            Ok(Resource::Tile(tile)) => self.inner.get_object(&tile.path()).await,
        }
    }

    /// The entry at `index` if a published checkpoint covers it.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`].
    pub async fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, ClusterError> {
        if index >= self.inner.published().await?.size {
            return Ok(None);
        }
        let entry: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT entry FROM cluster_ledger_entries WHERE idx = $1")
                .bind(i64_of(index)?)
                .fetch_optional(&self.inner.pool)
                .await?;
        Ok(entry)
    }

    /// A C2SP tlog-proof for leaf `index` against the published checkpoint, computed on this node.
    ///
    /// # Errors
    ///
    /// [`LogError::NotIntegrated`] (wrapped) while no published checkpoint covers the leaf.
    pub async fn proof(&self, index: u64) -> Result<TlogProof, ClusterError> {
        let published = self.inner.synced_published().await?;
        if index >= published.size {
            return Err(LogError::NotIntegrated {
                index,
                size: published.size,
            }
            .into());
        }
        let hashes = self
            .inner
            .tree
            .lock()
            .await
            .inclusion_proof(index, published.size)?;
        Ok(TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: published.served(),
        })
    }

    /// A record receipt: [`ClusterLedger::proof`] with the record's salt and the logged entry in `extra`.
    ///
    /// # Errors
    ///
    /// As [`ClusterLedger::proof`].
    pub async fn receipt(&self, index: u64, salt: [u8; 32]) -> Result<TlogProof, ClusterError> {
        let proof = self.proof(index).await?;
        let entry = self
            .entry(index)
            .await?
            .ok_or_else(|| ClusterError::Corrupt(format!("published entry {index} is missing")))?;
        Ok(proof.into_receipt(salt, &entry))
    }

    /// The consistency proof between two published sizes.
    ///
    /// # Errors
    ///
    /// [`LogError::NotIntegrated`] when `new` exceeds the published size; proof errors for bad sizes.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ClusterError> {
        let published = self.inner.synced_published().await?;
        if new > published.size {
            return Err(LogError::NotIntegrated {
                index: new,
                size: published.size,
            }
            .into());
        }
        Ok(self.inner.tree.lock().await.consistency_proof(old, new)?)
    }

    /// Accepts witness cosignature lines for the published checkpoint (at any node): each must come from a
    /// configured witness and verify; they are served with the checkpoint until the next one. Returns how many
    /// were accepted.
    ///
    /// # Errors
    ///
    /// [`LogError::Cosignature`] (wrapped) when a line is malformed, unknown or does not verify; nothing is
    /// accepted then.
    pub async fn add_cosignatures(&self, lines: &[u8]) -> Result<usize, ClusterError> {
        let text = std::str::from_utf8(lines).map_err(|_| cosignature_error("not UTF-8"))?;
        let witnesses = self
            .inner
            .witnesses
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut tx = self.inner.pool.begin().await?;
        let row = sqlx::query(
            "SELECT size, note, cosignatures FROM cluster_ledger_checkpoint WHERE id = 1 FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        let note_bytes: Vec<u8> = row.try_get("note")?;
        let held: Vec<u8> = row.try_get("cosignatures")?;
        let note = Note::from_bytes(&note_bytes).map_err(|e| cosignature_error(&e.to_string()))?;
        let mut sigs = parse_signature_lines(&held)?;
        let mut accepted = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let sig = Signature::from_bytes(line.as_bytes())
                .map_err(|_| cosignature_error("malformed signature line"))?;
            let witness = witnesses
                .iter()
                .find(|w| w.name() == sig.name() && w.key_id() == sig.id())
                .ok_or_else(|| cosignature_error(&format!("unknown witness key {}", sig.name())))?;
            if !witness.verify(note.text(), sig.signature()) {
                return Err(cosignature_error(&format!(
                    "signature from {} does not verify on the current checkpoint",
                    sig.name()
                )));
            }
            accepted.push(sig);
        }
        let count = accepted.len();
        for sig in accepted {
            sigs.retain(|s| !(s.name() == sig.name() && s.id() == sig.id()));
            sigs.push(sig);
        }
        let joined: Vec<u8> = sigs.iter().flat_map(Signature::to_bytes).collect();
        sqlx::query("UPDATE cluster_ledger_checkpoint SET cosignatures = $1 WHERE id = 1")
            .bind(joined)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// Stops the node's background tasks (the leader lock is released when its session closes).
    pub fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn cosignature_error(reason: &str) -> ClusterError {
    LogError::Cosignature {
        reason: reason.to_owned(),
    }
    .into()
}

fn parse_witnesses(vkeys: &[String]) -> Result<Vec<CosignatureVerifier>, ClusterError> {
    Ok(vkeys
        .iter()
        .map(|v| CosignatureVerifier::new(v))
        .collect::<Result<Vec<_>, _>>()?)
}

fn parse_signature_lines(bytes: &[u8]) -> Result<Vec<Signature>, ClusterError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ClusterError::Corrupt("stored cosignatures are not UTF-8".into()))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            Signature::from_bytes(l.as_bytes())
                .map_err(|_| ClusterError::Corrupt("stored cosignature is malformed".into()))
        })
        .collect()
}

/// Creates the tables once (serialised across nodes starting together) and records or checks the log identity.
async fn setup_tables(pool: &PgPool, origin: &str, vkey: &str) -> Result<(), ClusterError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SETUP_KEY)
        .execute(&mut *tx)
        .await?;
    // Every start re-runs the CREATE … IF NOT EXISTS statements: PostgreSQL's "already exists, skipping"
    // notices would otherwise reach the node's log at INFO each time.
    sqlx::query("SET LOCAL client_min_messages = warning")
        .execute(&mut *tx)
        .await?;
    for ddl in [
        "CREATE TABLE IF NOT EXISTS cluster_ledger_entries (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL, \
         leaf_hash BYTEA NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cluster_ledger_state (id INTEGER PRIMARY KEY CHECK (id = 1), \
         next_idx BIGINT NOT NULL, origin TEXT NOT NULL, vkey TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cluster_ledger_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), \
         size BIGINT NOT NULL, note BYTEA NOT NULL, cosignatures BYTEA NOT NULL, leader TEXT NOT NULL, \
         published_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    ] {
        sqlx::query(ddl).execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO cluster_ledger_state (id, next_idx, origin, vkey) VALUES (1, 0, $1, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(origin)
    .bind(vkey)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO cluster_ledger_checkpoint (id, size, note, cosignatures, leader) \
         VALUES (1, 0, ''::bytea, ''::bytea, '') ON CONFLICT (id) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    let found: String = sqlx::query_scalar("SELECT vkey FROM cluster_ledger_state WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if found != vkey {
        return Err(ClusterError::KeyMismatch {
            expected: vkey.to_owned(),
            found,
        });
    }
    Ok(())
}

/// The group-commit writer: every request queued while a transaction was in flight goes in the next one.
async fn write_loop(pool: PgPool, mut requests: mpsc::Receiver<AppendRequest>) {
    while let Some(first) = requests.recv().await {
        let mut count = first.entries.len();
        let mut batch = vec![first];
        while count < MAX_BATCH {
            match requests.try_recv() {
                Ok(next) => {
                    count += next.entries.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        match commit_batch(&pool, &batch).await {
            Ok(start) => {
                let mut at = start;
                for request in batch {
                    let n = request.entries.len() as u64;
                    let _ = request.reply.send(Ok(at..at + n));
                    at += n;
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "cluster ledger: append transaction failed");
                for request in batch {
                    let _ = request.reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

/// Takes consecutive indexes from the counter row and inserts the entries, in one transaction; returns the first
/// index once committed.
async fn commit_batch(pool: &PgPool, batch: &[AppendRequest]) -> Result<u64, ClusterError> {
    let entries: Vec<&Vec<u8>> = batch.iter().flat_map(|r| r.entries.iter()).collect();
    let n = entries.len() as i64;
    let mut tx = pool.begin().await?;
    let start: i64 = sqlx::query_scalar(
        "UPDATE cluster_ledger_state SET next_idx = next_idx + $1 WHERE id = 1 RETURNING next_idx - $1",
    )
    .bind(n)
    .fetch_one(&mut *tx)
    .await?;
    let idx: Vec<i64> = (start..start + n).collect();
    let hashes: Vec<Vec<u8>> = entries.iter().map(|e| leaf_hash(e).0.to_vec()).collect();
    let bytes: Vec<Vec<u8>> = entries.into_iter().cloned().collect();
    sqlx::query(
        "INSERT INTO cluster_ledger_entries (idx, entry, leaf_hash) \
         SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[])",
    )
    .bind(idx)
    .bind(bytes)
    .bind(hashes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    u64_of(start)
}

/// Polls for the leader lock; while holding it, integrates every `integrate_every`.
async fn lead_loop(inner: Arc<Inner>) {
    // One standing connection to poll on; it becomes the lock's session when this node wins.
    let mut candidate: Option<PgConnection> = None;
    loop {
        let conn = match candidate.take() {
            Some(conn) => Ok(conn),
            None => inner.pool.acquire().await.map(PoolConnection::detach),
        };
        let attempt = match conn {
            Ok(conn) => LeaderLock::try_on(conn, LEDGER_LEADER_KEY).await,
            Err(err) => Err(err.into()),
        };
        match attempt {
            Ok(Attempt::Won(lock)) => lead(&inner, lock).await,
            Ok(Attempt::Lost(conn)) => candidate = Some(*conn),
            Err(err) => tracing::warn!(error = %err, "cluster ledger: cannot try the leader lock"),
        }
        tokio::time::sleep(inner.leader_poll).await;
    }
}

async fn lead(inner: &Inner, mut lock: LeaderLock) {
    inner.status.lead(lock.backend_pid());
    tracing::info!(node = %inner.node_id, "cluster ledger: this node now sequences the ledger");
    *inner.object_checkpoint.lock().await = Vec::new();
    loop {
        let started = Instant::now();
        if let Err(err) = inner.integrate(&mut lock).await {
            if lock.check().await.is_err() {
                tracing::warn!(node = %inner.node_id, error = %err, "cluster ledger: lost the leadership");
                break;
            }
            tracing::error!(error = %err, "cluster ledger: integration failed; retrying");
        }
        tokio::time::sleep(inner.integrate_every.saturating_sub(started.elapsed())).await;
    }
    inner.status.follow();
}

impl Inner {
    async fn published(&self) -> Result<Published, ClusterError> {
        let row = sqlx::query(
            "SELECT size, note, cosignatures FROM cluster_ledger_checkpoint WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Published {
            size: u64_of(row.try_get("size")?)?,
            note: row.try_get("note")?,
            cosignatures: row.try_get("cosignatures")?,
        })
    }

    /// The published checkpoint, with this node's tree extended to cover it and checked against its root.
    async fn synced_published(&self) -> Result<Published, ClusterError> {
        let published = self.published().await?;
        let mut tree = self.tree.lock().await;
        if tree.size() < published.size {
            self.extend_tree(&mut tree, Some(published.size)).await?;
        }
        self.check_root(&tree, &published)?;
        Ok(published)
    }

    /// Checks the published note is signed by this log's key and that `tree` has its root at its size.
    fn check_root(&self, tree: &StoredHashes, published: &Published) -> Result<(), ClusterError> {
        if published.note.is_empty() {
            return Ok(());
        }
        let verified =
            verify_checkpoint(&published.note, &self.vkey, &[]).map_err(LogError::Checkpoint)?;
        if verified.checkpoint.size() != published.size {
            return Err(ClusterError::Corrupt(
                "checkpoint row size differs from its note".into(),
            ));
        }
        if tree.root(published.size)? != *verified.checkpoint.hash() {
            return Err(ClusterError::Corrupt(format!(
                "committed entries do not hash to the published root at size {}",
                published.size
            )));
        }
        Ok(())
    }

    /// Reads committed leaf hashes after the tree's size (up to `upto`, or all) and appends them in order.
    async fn extend_tree(
        &self,
        tree: &mut StoredHashes,
        upto: Option<u64>,
    ) -> Result<(), ClusterError> {
        let limit = upto.map_or(i64::MAX, |u| i64::try_from(u).unwrap_or(i64::MAX));
        loop {
            let from = i64_of(tree.size())?;
            if from >= limit {
                return Ok(());
            }
            let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT idx, leaf_hash FROM cluster_ledger_entries WHERE idx >= $1 AND idx < $2 \
                 ORDER BY idx LIMIT $3",
            )
            .bind(from)
            .bind(limit)
            .bind(READ_CHUNK)
            .fetch_all(&self.pool)
            .await?;
            let got = rows.len();
            for (idx, hash) in rows {
                let hash: [u8; 32] = hash.try_into().map_err(|_| {
                    ClusterError::Corrupt(format!("leaf hash {idx} is not 32 bytes"))
                })?;
                if u64_of(idx)? != tree.size() {
                    // Commit order is index order, so a gap means an entry is missing, not in flight.
                    return Err(ClusterError::Corrupt(format!(
                        "entry {} is missing",
                        tree.size()
                    )));
                }
                tree.push_leaf(Hash(hash));
            }
            if (got as i64) < READ_CHUNK {
                return match upto {
                    Some(u) if tree.size() < u => Err(ClusterError::Corrupt(format!(
                        "entries end at {} before {u}",
                        tree.size()
                    ))),
                    _ => Ok(()),
                };
            }
        }
    }

    async fn get_object(&self, resource: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        let location = object_path(resource);
        match self.objects.get_opts(&location, Default::default()).await {
            Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    async fn put_objects(&self, files: Vec<(String, Vec<u8>)>) -> Result<(), ClusterError> {
        let mut puts = tokio::task::JoinSet::new();
        for (resource, bytes) in files {
            let objects = Arc::clone(&self.objects);
            puts.spawn(async move {
                objects
                    .put_opts(&object_path(&resource), bytes.into(), Default::default())
                    .await
            });
        }
        while let Some(done) = puts.join_next().await {
            done.map_err(|err| ClusterError::Corrupt(format!("tile upload task: {err}")))??;
        }
        Ok(())
    }

    /// One leader publication: new tiles, then the signed checkpoint in PostgreSQL (fenced by the lock session),
    /// then its copy in the object store.
    async fn integrate(&self, lock: &mut LeaderLock) -> Result<u64, ClusterError> {
        lock.check().await?;
        let published = self.published().await?;
        let mut tree = self.tree.lock().await;
        self.extend_tree(&mut tree, None).await?;
        self.check_root(&tree, &published)?;
        let (old, new) = (published.size, tree.size());
        if old == new && !published.note.is_empty() {
            drop(tree);
            self.sync_object_checkpoint(&published).await?;
            return Ok(new);
        }
        let root = tree.root(new)?;
        let mut files = Vec::new();
        let mut bundles = Vec::new();
        for tile in tiles::new_tiles(old, new) {
            match tile.kind {
                TileKind::Hashes { level } => {
                    if let Some(data) = tiles::tile_data(&tree, level, tile.index, tile.width) {
                        files.push((tile.path(), data));
                    }
                }
                TileKind::Entries => bundles.push(tile),
            }
        }
        for tile in bundles {
            let start = tile.index * tiles::TILE_WIDTH;
            let end = start + u64::from(tile.width);
            let entries = self.read_entries(start..end).await?;
            for (i, entry) in entries.iter().enumerate() {
                if tree.hash_at(0, start + i as u64) != Some(leaf_hash(entry)) {
                    return Err(ClusterError::Corrupt(format!(
                        "entry {} does not match its leaf hash",
                        start + i as u64
                    )));
                }
            }
            files.push((
                tile.path(),
                tiles::encode_bundle(entries.iter().map(Vec::as_slice)),
            ));
        }
        drop(tree);
        // Tiles first: a checkpoint is never published before the tiles it needs.
        self.put_objects(files).await?;
        let note = sign_checkpoint(&self.signer, new, root)?;
        let updated = sqlx::query(
            "UPDATE cluster_ledger_checkpoint SET size = $1, note = $2, cosignatures = ''::bytea, leader = $3, \
             published_at = now() WHERE id = 1 AND (size < $1 OR note = ''::bytea)",
        )
        .bind(i64_of(new)?)
        .bind(&note)
        .bind(&self.node_id)
        .execute(lock.connection())
        .await?
        .rows_affected();
        if updated == 0 {
            tracing::warn!(
                old,
                new,
                "cluster ledger: a larger checkpoint was already published"
            );
            return Ok(old);
        }
        tracing::debug!(old, new, "cluster ledger: published checkpoint");
        let now = Published {
            size: new,
            note,
            cosignatures: Vec::new(),
        };
        self.sync_object_checkpoint(&now).await?;
        Ok(new)
    }

    /// Copies the served checkpoint to the object store when it differs from what this leader last put there
    /// (new cosignatures, or a new term).
    async fn sync_object_checkpoint(&self, published: &Published) -> Result<(), ClusterError> {
        let served = published.served();
        let mut last = self.object_checkpoint.lock().await;
        if *last != served {
            self.put_objects(vec![("checkpoint".into(), served.clone())])
                .await?;
            *last = served;
        }
        Ok(())
    }

    async fn read_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, ClusterError> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, entry FROM cluster_ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(i64_of(range.start)?)
        .bind(i64_of(range.end)?)
        .fetch_all(&self.pool)
        .await?;
        if rows.len() as u64 != range.end - range.start {
            return Err(ClusterError::Corrupt(format!(
                "entries {}..{} incomplete",
                range.start, range.end
            )));
        }
        Ok(rows.into_iter().map(|(_, e)| e).collect())
    }
}
