//! What a field terminal's watchlist snapshot is built from: the watchlist in the order entries were added (the
//! position is the snapshot version, since entries are only ever added).

use crate::persons::watchlist_from_row;
use crate::{Result, Store};
use garita_model::WatchlistEntry;

impl Store {
    /// Watchlist entries oldest first, skipping the first `skip`; and how many there are in all.
    ///
    /// # Errors
    /// On database failure.
    pub async fn watchlist_since(&self, skip: u64) -> Result<(Vec<WatchlistEntry>, u64)> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM watchlist")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, subject_id, category, source_agency, reason, created_at FROM watchlist \
             ORDER BY created_at, id LIMIT $1 OFFSET $2",
        )
        .bind(total)
        .bind(i64::try_from(skip).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let entries = rows.iter().map(watchlist_from_row).collect::<Result<_>>()?;
        Ok((entries, u64::try_from(total).unwrap_or(0)))
    }
}
