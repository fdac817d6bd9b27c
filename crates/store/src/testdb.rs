//! Throw-away PostgreSQL databases for tests.
//!
//! Tests that run against PostgreSQL read a server URL (any database on it, usually `…/postgres`) from
//! `GARITA_TEST_DATABASE`. Each test store gets a database of its own, `garita_t_<random>`, created by
//! [`TestDatabase::create`] and dropped (with `FORCE`, so open pools do not block it) when the value is dropped —
//! also when the test panics — so parallel tests never share state and nothing is left behind.

use crate::{Result, StoreError, redact_url};
use sqlx::AnyConnection;
use sqlx::Connection;

/// The environment variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_ENV: &str = "GARITA_TEST_DATABASE";

/// The PostgreSQL server URL for tests: `Some` when `GARITA_TEST_DATABASE` is set and not empty.
pub fn test_server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database created for one test; dropped with the value.
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates `garita_t_<random>` on the server of `server_url`.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses to create the database.
    pub async fn create(server_url: &str) -> Result<TestDatabase> {
        sqlx::any::install_default_drivers();
        let name = format!("garita_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_connection(server_url).await?;
        // C collation: text sorts by bytes, as in SQLite, whatever the server's locale.
        sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        let url = with_database(server_url, &name);
        Ok(TestDatabase {
            server_url: server_url.to_owned(),
            name,
            url,
        })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now, closing whatever is still connected to it.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn drop_now(&self) -> Result<()> {
        drop_database(&self.server_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        // A thread of its own with its own runtime: `drop` may run inside (or outside) any runtime.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            runtime
                .block_on(drop_database(&server_url, &name))
                .map_err(|err| err.to_string())
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(database = %self.name, %err, "test database not dropped")
            }
            Err(_) => tracing::warn!(database = %self.name, "test database not dropped"),
        }
    }
}

async fn admin_connection(server_url: &str) -> Result<AnyConnection> {
    AnyConnection::connect(server_url)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_url(server_url),
            source,
        })
}

async fn drop_database(server_url: &str, name: &str) -> Result<()> {
    let mut conn = admin_connection(server_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// `server_url` with its path (database name) replaced by `name`, keeping any query string.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |at| at + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:55432/postgres", "garita_t_1"),
            "postgres://u:p@127.0.0.1:55432/garita_t_1"
        );
        assert_eq!(
            with_database("postgres://u@h:1?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
    }
}
