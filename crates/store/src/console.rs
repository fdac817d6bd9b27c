//! What the web console needs beyond the API's reads: cookie sessions with their CSRF token, subject search,
//! dashboard counts and a sample's stored template.

use crate::people::user_from_row;
use crate::persons::subject_from_row;
use crate::{Page, Paged, Result, Store, ts};
use garita_model::{Subject, User};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// A live console session: its user and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who.
    pub user: User,
    /// The per-session CSRF token.
    pub csrf_token: String,
}

/// One count of a dashboard series: a day (`YYYY-MM-DD`), a site, a category, and how many.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DayCount {
    /// UTC day.
    pub day: String,
    /// Site id.
    pub site_id: Uuid,
    /// Category (alert category, lane, …) or empty.
    pub category: String,
    /// Rows counted.
    pub count: i64,
}

/// Which rows a dashboard count covers: `[since, until)` and optionally one site.
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    /// Inclusive start.
    pub since: Option<OffsetDateTime>,
    /// Exclusive end.
    pub until: Option<OffsetDateTime>,
    /// One site only.
    pub site: Option<Uuid>,
}

/// The dashboard's series, all per UTC day and site.
#[derive(Debug, Clone, Default)]
pub struct DashboardStats {
    /// Encounters (people scanned).
    pub encounters: Vec<DayCount>,
    /// Alerts by watchlist category (prior crossings, smugglers, gang members, special interest…).
    pub alerts: Vec<DayCount>,
    /// Consignments by lane (empty category: no lane yet).
    pub consignments: Vec<DayCount>,
    /// Findings on scans by source (algorithm / officer), not rejected.
    pub findings: Vec<DayCount>,
    /// Seizures.
    pub seizures: Vec<DayCount>,
}

/// A series query: `time` is the timestamp column, `category` an expression (or `''`), over `from` (tables and
/// joins) where `site` is the site column.
struct Series {
    from: &'static str,
    time: &'static str,
    site: &'static str,
    category: &'static str,
}

const ENCOUNTERS: Series = Series {
    from: "encounters e",
    time: "e.captured_at",
    site: "e.site_id",
    category: "''",
};
const ALERTS: Series = Series {
    from: "alerts a JOIN encounters e ON e.id = a.encounter_id",
    time: "a.created_at",
    site: "e.site_id",
    category: "a.category",
};
const CONSIGNMENTS: Series = Series {
    from: "consignments c",
    time: "c.created_at",
    site: "c.site_id",
    category: "COALESCE(c.lane, '')",
};
const FINDINGS: Series = Series {
    from: "findings f JOIN consignments c ON c.id = f.consignment_id",
    time: "f.created_at",
    site: "c.site_id",
    category: "f.source",
};
const SEIZURES: Series = Series {
    from: "seizures s JOIN consignments c ON c.id = s.consignment_id",
    time: "s.recorded_at",
    site: "c.site_id",
    category: "''",
};

impl Store {
    /// Records a console session by the hash of its cookie token.
    ///
    /// # Errors
    /// On database failure.
    pub async fn insert_console_session(
        &self,
        token_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id.to_string())
        .bind(csrf_token)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The enabled user of an unexpired, unrevoked console session, with its CSRF token.
    ///
    /// # Errors
    /// On database failure.
    pub async fn console_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.password_hash, CASE WHEN u.disabled THEN 1 ELSE 0 END AS disabled, \
             u.created_at, s.csrf_token \
             FROM console_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled = FALSE",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(ConsoleSession {
            user: user_from_row(&row)?,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    /// Ends a console session.
    ///
    /// # Errors
    /// On database failure.
    pub async fn revoke_console_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE console_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Subjects whose given or family name contains `text` (case-insensitive), or whose id starts with it;
    /// newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn search_subjects(&self, text: &str, page: Page) -> Result<Paged<Subject>> {
        let escaped: String = text
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                other => vec![other],
            })
            .collect();
        let contains = format!("%{}%", escaped.to_lowercase());
        let prefix = format!("{}%", escaped.to_lowercase());
        let rows = sqlx::query(
            "SELECT id, claimed_citizenship, given_name, family_name, created_at FROM subjects \
             WHERE LOWER(COALESCE(given_name, '')) LIKE $1 ESCAPE '\\' \
                OR LOWER(COALESCE(family_name, '')) LIKE $1 ESCAPE '\\' \
                OR id LIKE $2 ESCAPE '\\' \
             ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        )
        .bind(contains)
        .bind(prefix)
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(subject_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// The stored template blob of a sample, when one was extracted.
    ///
    /// # Errors
    /// On database failure.
    pub async fn template_of_sample(&self, sample_id: Uuid) -> Result<Option<String>> {
        let row = sqlx::query("SELECT blob_sha256 FROM templates WHERE sample_id = $1")
            .bind(sample_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("blob_sha256")).transpose()?)
    }

    /// The blobs of a capture (name and size), in envelope order.
    ///
    /// # Errors
    /// On database failure.
    pub async fn capture_blob_names(&self, capture_id: Uuid) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT sha256 FROM capture_blobs WHERE capture_id = $1 ORDER BY idx")
                .bind(capture_id.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| Ok(row.try_get("sha256")?)).collect()
    }

    /// The capture a consignment came from.
    ///
    /// # Errors
    /// On database failure.
    pub async fn consignment_capture(&self, consignment_id: Uuid) -> Result<Option<Uuid>> {
        let row = sqlx::query("SELECT capture_id FROM consignments WHERE id = $1")
            .bind(consignment_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| crate::parse_id("consignments", &row.try_get::<String, _>("capture_id")?))
            .transpose()
    }

    /// The dashboard's counts per day and site over `filter`.
    ///
    /// # Errors
    /// On database failure.
    pub async fn dashboard_stats(&self, filter: &StatsFilter) -> Result<DashboardStats> {
        Ok(DashboardStats {
            encounters: self.series(&ENCOUNTERS, filter, "").await?,
            alerts: self.series(&ALERTS, filter, "").await?,
            consignments: self.series(&CONSIGNMENTS, filter, "").await?,
            findings: self
                .series(&FINDINGS, filter, " AND f.rejected_at IS NULL")
                .await?,
            seizures: self.series(&SEIZURES, filter, "").await?,
        })
    }

    async fn series(
        &self,
        series: &Series,
        filter: &StatsFilter,
        extra: &str,
    ) -> Result<Vec<DayCount>> {
        let Series {
            from,
            time,
            site,
            category,
        } = series;
        // Timestamps are fixed-width RFC 3339 text, so the first 10 characters are the UTC day in both engines.
        // GROUP BY by position: PostgreSQL refuses a bare constant (the `''` category) in GROUP BY.
        let sql = format!(
            "SELECT SUBSTR({time}, 1, 10) AS day, {site} AS site_id, {category} AS category, COUNT(*) AS n \
             FROM {from} WHERE {time} >= $1 AND {time} < $2 AND ($3 = '' OR {site} = $3){extra} \
             GROUP BY 1, 2, 3 ORDER BY day"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.since.map_or_else(String::new, ts))
            .bind(filter.until.map_or_else(|| "9999".to_owned(), ts))
            .bind(filter.site.map_or_else(String::new, |id| id.to_string()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DayCount {
                    day: row.try_get("day")?,
                    site_id: crate::parse_id("stats", &row.try_get::<String, _>("site_id")?)?,
                    category: row.try_get("category")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }
}
