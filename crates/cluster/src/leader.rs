//! Leadership through PostgreSQL: the node holding a session-level advisory lock is the one that sequences and
//! publishes the shared ledger (docs/cluster.md, "Who sequences").
//!
//! The lock lives on a dedicated connection taken out of the pool ([`LeaderLock::try_acquire`]). PostgreSQL
//! releases it when that session ends — the process died, the network dropped it, or an operator ran
//! `pg_terminate_backend` — and another node, polling with `pg_try_advisory_lock`, then takes over. The leader
//! runs its checkpoint publication on the same connection ([`LeaderLock::connection`]): a node whose session
//! has ended cannot publish anything.

use std::sync::Mutex;

use sqlx::{Connection, PgConnection, PgPool};

use crate::ledger::ClusterError;

/// The advisory lock key of the ledger's sequencer ("garita" in ASCII, then 1).
pub const LEDGER_LEADER_KEY: i64 = 0x6761_7269_7461_0001;

/// A held session advisory lock on its own connection. Dropping it closes the connection, which releases the
/// lock.
pub struct LeaderLock {
    conn: PgConnection,
    key: i64,
    backend_pid: i32,
}

impl LeaderLock {
    /// Tries once to take the lock `key` on a fresh connection detached from `pool`: `Ok(None)` when another
    /// session holds it.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`] when no connection can be made.
    pub async fn try_acquire(pool: &PgPool, key: i64) -> Result<Option<Self>, ClusterError> {
        let conn = pool.acquire().await?.detach();
        match Self::try_on(conn, key).await? {
            Attempt::Won(lock) => Ok(Some(lock)),
            Attempt::Lost(conn) => {
                // Closing politely is best effort: the session holds nothing.
                let _ = conn.close().await;
                Ok(None)
            }
        }
    }

    /// Tries once to take the lock `key` on `conn`, a connection of its own (not a pooled one: the lock lives as
    /// long as its session). A follower polls with the same connection until it wins, so polling opens no new
    /// sessions.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Database`] when the query fails (the connection is then dropped).
    pub async fn try_on(mut conn: PgConnection, key: i64) -> Result<Attempt, ClusterError> {
        let (locked, backend_pid): (bool, i32) =
            sqlx::query_as("SELECT pg_try_advisory_lock($1), pg_backend_pid()")
                .bind(key)
                .fetch_one(&mut conn)
                .await?;
        if locked {
            Ok(Attempt::Won(Self {
                conn,
                key,
                backend_pid,
            }))
        } else {
            Ok(Attempt::Lost(Box::new(conn)))
        }
    }

    /// Confirms the session is alive and still holds the lock (a fresh query on the lock connection).
    ///
    /// # Errors
    ///
    /// [`ClusterError::LostLeadership`] when the session is gone or no longer holds the lock.
    pub async fn check(&mut self) -> Result<(), ClusterError> {
        let held: Option<bool> = sqlx::query_scalar(
            "SELECT true FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() \
             AND granted AND objsubid = 1 AND objid = ($1::bigint & 4294967295)::oid \
             AND classid = ($1::bigint >> 32)::oid",
        )
        .bind(self.key)
        .fetch_optional(&mut self.conn)
        .await
        .map_err(|_| ClusterError::LostLeadership)?;
        if held == Some(true) {
            Ok(())
        } else {
            Err(ClusterError::LostLeadership)
        }
    }

    /// The connection holding the lock: statements that must only succeed while leading run here.
    pub fn connection(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// The PostgreSQL backend process id of the lock's session (what `pg_terminate_backend` takes).
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }
}

/// The outcome of [`LeaderLock::try_on`].
pub enum Attempt {
    /// The lock is ours.
    Won(LeaderLock),
    /// Another session holds it; the connection is handed back for the next try.
    Lost(Box<PgConnection>),
}

/// Who leads, as this node sees it (for tests, metrics and the status route).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderStatus {
    /// This node's id.
    pub node_id: String,
    /// Whether this node holds the sequencer lock right now.
    pub leading: bool,
    /// The backend pid of the lock session while leading.
    pub lock_backend_pid: Option<i32>,
    /// Times this node became leader since it started.
    pub terms: u64,
}

/// Shared, cheap-to-read leadership status.
#[derive(Debug, Default)]
pub struct StatusCell(Mutex<LeaderStatus>);

impl StatusCell {
    /// A status for node `node_id`, not leading.
    pub fn new(node_id: &str) -> Self {
        Self(Mutex::new(LeaderStatus {
            node_id: node_id.to_owned(),
            ..LeaderStatus::default()
        }))
    }

    /// A copy of the current status.
    pub fn get(&self) -> LeaderStatus {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records that this node became leader on the session `pid`.
    pub fn lead(&self, pid: i32) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.leading = true;
        s.lock_backend_pid = Some(pid);
        s.terms += 1;
    }

    /// Records that this node no longer leads.
    pub fn follow(&self) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.leading = false;
        s.lock_backend_pid = None;
    }
}

/// The node currently holding the lock `key`, seen from PostgreSQL: the backend pid and the application name
/// of its session (nodes set it to `garita-<node id>`). `None` when no one leads.
///
/// # Errors
///
/// [`ClusterError::Database`] on a query failure.
pub async fn current_leader(
    pool: &PgPool,
    key: i64,
) -> Result<Option<(i32, String)>, ClusterError> {
    let row: Option<(i32, Option<String>)> = sqlx::query_as(
        "SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.objid = ($1::bigint & 4294967295)::oid \
         AND l.classid = ($1::bigint >> 32)::oid AND l.database = (SELECT oid FROM pg_database \
         WHERE datname = current_database())",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(pid, name)| (pid, name.unwrap_or_default())))
}
