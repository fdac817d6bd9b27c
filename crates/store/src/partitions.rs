//! PostgreSQL's monthly audit partitions (`migrations/postgres/0009_audit_partitions.sql`, docs/storage.md).
//!
//! `audit` is range-partitioned by month of `at` (fixed-width UTC text). The store creates the partitions of the
//! current and next two months when it opens, and a month's partition before the first row of that month if it
//! is still missing; the months known to exist are remembered per process, so an insert costs one set lookup.
//! A row whose month has no partition (its creation failed) lands in `audit_default`; nothing is ever refused.
//! SQLite has no partitions: these calls do nothing there.

use crate::{Backend, Result, Store};
use sqlx::Row;
use time::OffsetDateTime;

/// How many months beyond the current one get their partition when the store opens.
const MONTHS_AHEAD: u8 = 2;

/// `YYYY-MM` of a timestamp text, when it starts with one.
pub(crate) fn month_of(at: &str) -> Option<&str> {
    let month = at.get(..7)?;
    let bytes = month.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    (digits(0..4) && bytes[4] == b'-' && digits(5..7)).then_some(month)
}

/// The month after `YYYY-MM`.
fn next_month(month: &str) -> Option<String> {
    let year: u32 = month.get(..4)?.parse().ok()?;
    let number: u32 = month.get(5..7)?.parse().ok()?;
    Some(if number >= 12 {
        format!("{:04}-01", year + 1)
    } else {
        format!("{year:04}-{:02}", number + 1)
    })
}

impl Store {
    /// Creates the audit partitions of `now`'s month and the next [`MONTHS_AHEAD`] months (PostgreSQL).
    pub(crate) async fn ensure_audit_partitions_ahead(&self, now: OffsetDateTime) -> Result<()> {
        let mut month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
        for _ in 0..=MONTHS_AHEAD {
            self.ensure_audit_month(&month).await?;
            let Some(next) = next_month(&month) else {
                break;
            };
            month = next;
        }
        Ok(())
    }

    /// Makes sure the partition of the month of `at` exists before a row of that month is written (PostgreSQL).
    pub(crate) async fn ensure_audit_partition_for(&self, at: &str) -> Result<()> {
        match month_of(at) {
            Some(month) => self.ensure_audit_month(month).await,
            None => Ok(()),
        }
    }

    async fn ensure_audit_month(&self, month: &str) -> Result<()> {
        if self.backend != Backend::Postgres || self.known_month(month) {
            return Ok(());
        }
        let Some(next) = next_month(month) else {
            return Ok(());
        };
        // Both bounds are `YYYY-MM` checked digit by digit above, so they are safe to splice.
        let name = format!("audit_{}", month.replace('-', "_"));
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF audit FOR VALUES FROM ('{month}') TO ('{next}')"
        );
        if let Err(err) = sqlx::query(&sql).execute(&self.pool).await {
            // A concurrent creator won, or audit_default already holds rows of this month: the rows still go
            // somewhere (the partition or audit_default), so this is worth a warning, not a failed write.
            tracing::warn!(partition = %name, %err, "audit partition not created");
        }
        if let Ok(mut months) = self.audit_months.lock() {
            months.insert(month.to_owned());
        }
        Ok(())
    }

    fn known_month(&self, month: &str) -> bool {
        self.audit_months
            .lock()
            .map(|months| months.contains(month))
            .unwrap_or(false)
    }

    /// The audit table's partitions, oldest first (`audit_default` last); empty on SQLite.
    ///
    /// # Errors
    /// On database failure.
    pub async fn audit_partitions(&self) -> Result<Vec<String>> {
        if self.backend != Backend::Postgres {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT CAST(c.relname AS TEXT) AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace \
             WHERE p.relname = 'audit' AND n.nspname = current_schema() ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut names = rows
            .iter()
            .map(|row| row.try_get::<String, _>("name"))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort_by_key(|name| name == "audit_default");
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_roll_over() {
        assert_eq!(month_of("2026-11-23T19:12:31.329Z"), Some("2026-11"));
        assert_eq!(month_of("garbage"), None);
        assert_eq!(month_of("2026-1"), None);
        assert_eq!(next_month("2026-11").as_deref(), Some("2026-12"));
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
    }
}
