//! Node membership and the 1:N gallery's shards, in PostgreSQL.
//!
//! - **Membership** (`cluster_nodes`): every node registers its id and the URL other nodes reach it at, and
//!   heartbeats; a node whose heartbeat is older than [`ClusterOptions::dead_after`] is dead. Times are
//!   PostgreSQL's own clock, so nodes' clocks never disagree about who is alive.
//! - **Shards** (`cluster_settings`, `cluster_shards`): a fixed number of virtual shards, chosen once per cluster;
//!   a subject's shard is [`shard_of`] its UUID. Each shard has one owner among the live nodes and an epoch that
//!   grows each time the owner changes. [`Cluster::rebalance`] recomputes the owners by rendezvous hashing
//!   (every shard goes to the live node with the highest hash of (node, shard)): deterministic, and when a node
//!   joins or dies only the shards it gains or held move. One coordinator at a time (a transaction advisory
//!   lock); a node that finds the lock taken leaves the work to the holder.
//! - **Template index** (`matcher_templates`): one row per enrolled finger template (sample, encounter, subject,
//!   shard, position, blob), numbered by a sequence whose order is commit order (inserts are serialised by an
//!   advisory lock), so a node can catch up on everything committed after the last row it saw and never skip a
//!   row committed late. The template bytes stay in the blob store; the rows of record stay in `garita-store`.
//! - **Pending searches** (`matcher_pending`): an enrollment whose search missed shards (no live owner, or the
//!   owner did not answer) is recorded with the missing shards, claimed by one node at a time under a lease, and
//!   re-run when the shards are served again.

use crate::ClusterError;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

/// Result of the cluster's operations.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// Advisory lock taken while creating the tables (nodes may start together).
const SCHEMA_LOCK: i64 = 0x6761_7269_7461_5301;
/// Advisory lock of the shard coordinator.
const COORDINATOR_LOCK: i64 = 0x6761_7269_7461_5302;
/// Advisory lock serialising template index inserts, so sequence order is commit order.
const INDEX_LOCK: i64 = 0x6761_7269_7461_5303;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cluster_settings (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_nodes (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    joined_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    heartbeat TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_shards (
    shard INTEGER PRIMARY KEY,
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS matcher_templates (
    seq BIGSERIAL PRIMARY KEY,
    sample_id TEXT NOT NULL UNIQUE,
    encounter_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    position INTEGER NOT NULL,
    blob_sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS matcher_templates_shard ON matcher_templates (shard, seq);
CREATE INDEX IF NOT EXISTS matcher_templates_encounter ON matcher_templates (encounter_id);
CREATE TABLE IF NOT EXISTS matcher_pending (
    encounter_id TEXT PRIMARY KEY,
    missing INTEGER[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ
);
";

/// Default number of virtual shards of a new cluster.
pub const DEFAULT_SHARDS: u32 = 64;

/// Timing and size of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterOptions {
    /// How often a node heartbeats (and checks the assignment and pending searches).
    pub heartbeat: Duration,
    /// A node whose last heartbeat is older than this is dead.
    pub dead_after: Duration,
    /// Virtual shards of a new cluster (an existing cluster keeps the number it was created with).
    pub shards: u32,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            heartbeat: Duration::from_secs(1),
            dead_after: Duration::from_secs(5),
            shards: DEFAULT_SHARDS,
        }
    }
}

/// A live node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node's id.
    pub id: Uuid,
    /// Where other nodes reach it (e.g. `http://10.0.0.5:8080`).
    pub url: String,
}

/// The owner of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOwner {
    /// The shard.
    pub shard: u32,
    /// Its owner; `None` while no node is alive.
    pub owner: Option<Uuid>,
    /// Grows by one each time the owner changes.
    pub epoch: i64,
}

/// One enrolled finger template in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTemplate {
    /// Position in commit order (0 for a row not yet indexed).
    pub seq: i64,
    /// Sample the template was extracted from.
    pub sample_id: Uuid,
    /// Encounter of the sample.
    pub encounter_id: Uuid,
    /// Subject of the encounter.
    pub subject_id: Uuid,
    /// NIST finger position (0 unknown).
    pub position: u8,
    /// Blob holding the template bytes.
    pub blob_sha256: String,
}

/// A search that missed shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSearch {
    /// The enrollment whose search is incomplete.
    pub encounter_id: Uuid,
    /// Shards not yet searched.
    pub missing: Vec<u32>,
}

/// The shard of a subject among `shards`: a stable function of its UUID (the same on every node and release).
#[must_use]
pub fn shard_of(subject: Uuid, shards: u32) -> u32 {
    let folded = subject.as_u128() % u128::from(shards.max(1));
    u32::try_from(folded).unwrap_or(0)
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of a 64-bit value.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Rendezvous weight of `node` for `shard`.
fn weight(node: Uuid, shard: u32) -> u64 {
    let (high, low) = node.as_u64_pair();
    mix(mix(high) ^ low ^ mix(u64::from(shard)))
}

/// The owner rendezvous hashing gives `shard` among `nodes` (highest weight; ties by id).
#[must_use]
pub fn rendezvous_owner(shard: u32, nodes: &[Uuid]) -> Option<Uuid> {
    nodes
        .iter()
        .copied()
        .max_by_key(|node| (weight(*node, shard), *node))
}

fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| ClusterError::Corrupt(format!("not a UUID: {text:?}")))
}

fn to_u32(value: i32) -> Result<u32> {
    u32::try_from(value).map_err(|_| ClusterError::Corrupt(format!("negative shard {value}")))
}

fn shard_list(shards: &BTreeSet<u32>) -> Vec<i32> {
    shards
        .iter()
        .filter_map(|s| i32::try_from(*s).ok())
        .collect()
}

/// One node's handle on the cluster tables.
#[derive(Debug, Clone)]
pub struct Cluster {
    pool: PgPool,
    node: Uuid,
    url: String,
    options: ClusterOptions,
    shards: u32,
}

impl Cluster {
    /// Connects to the cluster database, creates the tables when missing, fixes the shard count on first use and
    /// registers this node (one heartbeat).
    ///
    /// # Errors
    /// When the database cannot be reached or refuses the schema.
    pub async fn connect(
        database_url: &str,
        node: Uuid,
        url: &str,
        options: ClusterOptions,
    ) -> Result<Cluster> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(database_url)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        // Every start re-runs the CREATE … IF NOT EXISTS statements: PostgreSQL's "already exists, skipping"
        // notices would otherwise reach the node's log at INFO each time.
        sqlx::query("SET LOCAL client_min_messages = warning")
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO cluster_settings (name, value) VALUES ('shards', $1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(i64::from(options.shards.max(1)))
        .execute(&mut *tx)
        .await?;
        let stored: i64 = sqlx::query("SELECT value FROM cluster_settings WHERE name = 'shards'")
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
        let shards = u32::try_from(stored)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ClusterError::Corrupt(format!("shard count {stored}")))?;
        sqlx::query(
            "INSERT INTO cluster_shards (shard) SELECT generate_series(0, $1 - 1) ON CONFLICT (shard) DO NOTHING",
        )
        .bind(i32::try_from(shards).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let cluster = Cluster {
            pool,
            node,
            url: url.to_owned(),
            options,
            shards,
        };
        cluster.heartbeat().await?;
        Ok(cluster)
    }

    /// This node's id.
    #[must_use]
    pub fn node_id(&self) -> Uuid {
        self.node
    }

    /// The URL this node advertises.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Timing and size settings.
    #[must_use]
    pub fn options(&self) -> ClusterOptions {
        self.options
    }

    /// Number of virtual shards of this cluster.
    #[must_use]
    pub fn shard_count(&self) -> u32 {
        self.shards
    }

    /// Every shard of the cluster.
    #[must_use]
    pub fn all_shards(&self) -> BTreeSet<u32> {
        (0..self.shards).collect()
    }

    /// The shard of a subject in this cluster.
    #[must_use]
    pub fn shard_of(&self, subject: Uuid) -> u32 {
        shard_of(subject, self.shards)
    }

    /// Records that this node is alive now (registering it if new).
    ///
    /// # Errors
    /// On database failure.
    pub async fn heartbeat(&self) -> Result<()> {
        sqlx::query(
            "INSERT INTO cluster_nodes (id, url, heartbeat) VALUES ($1, $2, clock_timestamp()) \
             ON CONFLICT (id) DO UPDATE SET url = excluded.url, heartbeat = excluded.heartbeat",
        )
        .bind(self.node.to_string())
        .bind(&self.url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Leaves the cluster at once (a clean shutdown), instead of waiting to be declared dead.
    ///
    /// # Errors
    /// On database failure.
    pub async fn leave(&self) -> Result<()> {
        sqlx::query("DELETE FROM cluster_nodes WHERE id = $1")
            .bind(self.node.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live nodes (heartbeat within [`ClusterOptions::dead_after`]), by id.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn live_nodes(&self) -> Result<Vec<Node>> {
        let rows = sqlx::query(
            "SELECT id, url FROM cluster_nodes \
             WHERE heartbeat > clock_timestamp() - make_interval(secs => $1) ORDER BY id",
        )
        .bind(self.options.dead_after.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Node {
                    id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                    url: row.try_get("url")?,
                })
            })
            .collect()
    }

    /// The owner and epoch of every shard.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn assignment(&self) -> Result<Vec<ShardOwner>> {
        let rows = sqlx::query("SELECT shard, owner, epoch FROM cluster_shards ORDER BY shard")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ShardOwner {
                    shard: to_u32(row.try_get("shard")?)?,
                    owner: row
                        .try_get::<Option<String>, _>("owner")?
                        .as_deref()
                        .map(parse_uuid)
                        .transpose()?,
                    epoch: row.try_get("epoch")?,
                })
            })
            .collect()
    }

    /// The shards this node owns now.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn owned_shards(&self) -> Result<BTreeSet<u32>> {
        let rows = sqlx::query("SELECT shard FROM cluster_shards WHERE owner = $1")
            .bind(self.node.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| to_u32(row.try_get("shard")?))
            .collect()
    }

    /// Recomputes the shard owners over the live nodes, when no other node is doing it: returns the number of
    /// shards that changed owner (`None` when another node holds the coordinator lock). Shards keep their owner
    /// while it is alive and rendezvous hashing agrees, so a join moves only the joiner's shards and a death only
    /// the dead node's.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn rebalance(&self) -> Result<Option<usize>> {
        let mut tx = self.pool.begin().await?;
        let locked: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind(COORDINATOR_LOCK)
            .fetch_one(&mut *tx)
            .await?
            .try_get("locked")?;
        if !locked {
            return Ok(None);
        }
        let live: Vec<Uuid> = self.live_nodes().await?.iter().map(|n| n.id).collect();
        let mut moved = 0;
        for current in self.assignment().await? {
            let wanted = rendezvous_owner(current.shard, &live);
            if wanted == current.owner {
                continue;
            }
            sqlx::query("UPDATE cluster_shards SET owner = $1, epoch = epoch + 1 WHERE shard = $2")
                .bind(wanted.map(|id| id.to_string()))
                .bind(i32::try_from(current.shard).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await?;
            moved += 1;
        }
        tx.commit().await?;
        if moved > 0 {
            tracing::info!(node = %self.node, moved, live = live.len(), "shards rebalanced");
        }
        Ok(Some(moved))
    }

    /// Adds templates to the index (a template already indexed is left as it is). Inserts are serialised, so
    /// the index's sequence order is its commit order.
    ///
    /// # Errors
    /// On database failure.
    pub async fn index_templates(&self, templates: &[IndexedTemplate]) -> Result<()> {
        if templates.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INDEX_LOCK)
            .execute(&mut *tx)
            .await?;
        for template in templates {
            sqlx::query(
                "INSERT INTO matcher_templates (sample_id, encounter_id, subject_id, shard, position, blob_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sample_id) DO NOTHING",
            )
            .bind(template.sample_id.to_string())
            .bind(template.encounter_id.to_string())
            .bind(template.subject_id.to_string())
            .bind(i32::try_from(self.shard_of(template.subject_id)).unwrap_or(0))
            .bind(i32::from(template.position))
            .bind(&template.blob_sha256)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes templates from the index (after a purge) and bumps the gallery generation, so every node reloads
    /// its shards without them.
    ///
    /// # Errors
    /// On database failure.
    pub async fn unindex_templates(&self, sample_ids: &[Uuid]) -> Result<()> {
        if sample_ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = sample_ids.iter().map(Uuid::to_string).collect();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM matcher_templates WHERE sample_id = ANY($1)")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO cluster_settings (name, value) VALUES ('gallery_generation', 1) \
             ON CONFLICT (name) DO UPDATE SET value = cluster_settings.value + 1",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grows each time templates leave the index; a node that sees it change reloads its shards.
    ///
    /// # Errors
    /// On database failure.
    pub async fn gallery_generation(&self) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COALESCE(MAX(value), 0) AS generation FROM cluster_settings WHERE name = 'gallery_generation'",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("generation")?)
    }

    /// Sample ids of every indexed template (to find those the store no longer has).
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn indexed_samples(&self) -> Result<Vec<Uuid>> {
        let rows = sqlx::query("SELECT sample_id FROM matcher_templates")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| parse_uuid(&row.try_get::<String, _>("sample_id")?))
            .collect()
    }

    /// The highest sequence number in the index (0 when empty).
    ///
    /// # Errors
    /// On database failure.
    pub async fn last_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM matcher_templates")
                .fetch_one(&self.pool)
                .await?
                .try_get("last")?,
        )
    }

    /// Indexed templates of `shards` with a sequence number above `after` and at most `upto`, in sequence order.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn templates_between(
        &self,
        after: i64,
        upto: i64,
        shards: &BTreeSet<u32>,
    ) -> Result<Vec<IndexedTemplate>> {
        if shards.is_empty() || upto <= after {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT seq, sample_id, encounter_id, subject_id, position, blob_sha256 FROM matcher_templates \
             WHERE seq > $1 AND seq <= $2 AND shard = ANY($3) ORDER BY seq",
        )
        .bind(after)
        .bind(upto)
        .bind(shard_list(shards))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(indexed_from_row).collect()
    }

    /// Every indexed template of `encounter`.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn templates_of_encounter(&self, encounter: Uuid) -> Result<Vec<IndexedTemplate>> {
        let rows = sqlx::query(
            "SELECT seq, sample_id, encounter_id, subject_id, position, blob_sha256 FROM matcher_templates \
             WHERE encounter_id = $1 ORDER BY seq",
        )
        .bind(encounter.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(indexed_from_row).collect()
    }

    /// Records (or widens) a pending search of `encounter` over `missing` shards.
    ///
    /// # Errors
    /// On database failure.
    pub async fn record_pending(&self, encounter: Uuid, missing: &BTreeSet<u32>) -> Result<()> {
        sqlx::query(
            "INSERT INTO matcher_pending (encounter_id, missing) VALUES ($1, $2) \
             ON CONFLICT (encounter_id) DO UPDATE SET missing = excluded.missing, claimed_by = NULL, claimed_until = NULL",
        )
        .bind(encounter.to_string())
        .bind(shard_list(missing))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` pending searches no other node holds, for `lease`; oldest first.
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn claim_pending(&self, limit: i64, lease: Duration) -> Result<Vec<PendingSearch>> {
        let rows = sqlx::query(
            "UPDATE matcher_pending SET claimed_by = $1, claimed_until = clock_timestamp() + make_interval(secs => $2) \
             WHERE encounter_id IN (SELECT encounter_id FROM matcher_pending \
                 WHERE claimed_until IS NULL OR claimed_until < clock_timestamp() \
                 ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING encounter_id, missing",
        )
        .bind(self.node.to_string())
        .bind(lease.as_secs_f64())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingSearch {
                    encounter_id: parse_uuid(&row.try_get::<String, _>("encounter_id")?)?,
                    missing: row
                        .try_get::<Vec<i32>, _>("missing")?
                        .into_iter()
                        .map(to_u32)
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }

    /// Ends a claimed pending search: removed when `remaining` is empty, otherwise kept with the shards still
    /// missing and released for the next attempt.
    ///
    /// # Errors
    /// On database failure.
    pub async fn finish_pending(&self, encounter: Uuid, remaining: &BTreeSet<u32>) -> Result<()> {
        if remaining.is_empty() {
            sqlx::query("DELETE FROM matcher_pending WHERE encounter_id = $1")
                .bind(encounter.to_string())
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(
                "UPDATE matcher_pending SET missing = $2, claimed_by = NULL, claimed_until = NULL WHERE encounter_id = $1",
            )
            .bind(encounter.to_string())
            .bind(shard_list(remaining))
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Pending searches of the cluster, oldest first (for reports and tests).
    ///
    /// # Errors
    /// On database failure or a corrupt row.
    pub async fn pending(&self) -> Result<Vec<PendingSearch>> {
        let rows =
            sqlx::query("SELECT encounter_id, missing FROM matcher_pending ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingSearch {
                    encounter_id: parse_uuid(&row.try_get::<String, _>("encounter_id")?)?,
                    missing: row
                        .try_get::<Vec<i32>, _>("missing")?
                        .into_iter()
                        .map(to_u32)
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn indexed_from_row(row: &sqlx::postgres::PgRow) -> Result<IndexedTemplate> {
    Ok(IndexedTemplate {
        seq: row.try_get("seq")?,
        sample_id: parse_uuid(&row.try_get::<String, _>("sample_id")?)?,
        encounter_id: parse_uuid(&row.try_get::<String, _>("encounter_id")?)?,
        subject_id: parse_uuid(&row.try_get::<String, _>("subject_id")?)?,
        position: u8::try_from(row.try_get::<i32, _>("position")?).unwrap_or(0),
        blob_sha256: row.try_get("blob_sha256")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn rendezvous_spreads_shards_and_moves_only_what_it_must() {
        let three = nodes(3);
        let owners: Vec<Option<Uuid>> = (0..64).map(|s| rendezvous_owner(s, &three)).collect();
        for node in &three {
            let count = owners.iter().filter(|o| **o == Some(*node)).count();
            assert!(count >= 8, "a node got only {count} of 64 shards");
        }
        // One node dies: only its shards move, and they go to the survivors.
        let survivors = &three[..2];
        for (shard, before) in (0..64).zip(&owners) {
            let after = rendezvous_owner(shard, survivors);
            if *before != Some(three[2]) {
                assert_eq!(after, *before, "shard {shard} moved without need");
            } else {
                assert!(after.is_some_and(|a| survivors.contains(&a)));
            }
        }
        // A node joins: a shard moves only to the joiner.
        let mut four = three.clone();
        four.push(Uuid::new_v4());
        for (shard, before) in (0..64).zip(&owners) {
            let after = rendezvous_owner(shard, &four);
            assert!(after == *before || after == Some(four[3]));
        }
        assert_eq!(rendezvous_owner(0, &[]), None);
    }

    #[test]
    fn a_subjects_shard_is_stable_and_in_range() {
        let subject = Uuid::parse_str("0b7c2a4e-64f1-4b7e-9d1c-5a3e2f1d0c9b").unwrap_or_default();
        assert_eq!(shard_of(subject, 64), shard_of(subject, 64));
        assert_eq!(
            u128::from(shard_of(subject, 64)),
            subject.as_u128() % 64,
            "the shard is the UUID modulo the shard count"
        );
        assert!((0..1000).all(|_| shard_of(Uuid::new_v4(), 7) < 7));
    }
}
