#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The store on PostgreSQL: the same migrations give the same tables and columns as SQLite, and rows written
//! through the shared queries read back the same. Needs `GARITA_TEST_DATABASE` (a server URL); each test makes a
//! database of its own and drops it. Without the variable the tests skip, except under `CI=true`, where they fail.

use garita_model::{Role, Username};
use garita_store::testdb::{TestDatabase, test_server_url};
use garita_store::{AuditEvent, AuditFilter, Backend, Page, Store, StoreError};
use time::OffsetDateTime;

/// The test server's URL, or `None` (skip) when none is configured outside CI.
fn server() -> Option<String> {
    let server = test_server_url();
    if server.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "GARITA_TEST_DATABASE must be set under CI (eval \"$(bash scripts/postgres.sh env)\")"
        );
        eprintln!(
            "skipped: GARITA_TEST_DATABASE is not set (eval \"$(bash scripts/postgres.sh env)\")"
        );
    }
    server
}

/// A fresh PostgreSQL store, or `None` (skip) when no server is configured outside CI.
async fn postgres_store() -> Option<(Store, TestDatabase, tempfile::TempDir)> {
    let server = server()?;
    let database = TestDatabase::create(&server).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Some(database.url()))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    Some((store, database, dir))
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let Some((postgres, _database, _dir)) = postgres_store().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path()).await.unwrap();
    let on_sqlite = sqlite.table_columns().await.unwrap();
    let on_postgres = postgres.table_columns().await.unwrap();
    assert!(
        on_sqlite.contains_key("audit") && on_sqlite["audit"].contains(&"leaf_index".to_owned())
    );
    assert_eq!(on_sqlite, on_postgres);
}

#[tokio::test]
async fn users_and_tokens_round_trip_on_postgres() {
    let Some((store, _database, _dir)) = postgres_store().await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let name = Username::new("ana").unwrap();
    let user = store
        .create_user(&name, Role::Officer, "$argon2id$hash", now)
        .await
        .unwrap();
    let again = store
        .create_user(&name, Role::Admin, "$argon2id$x", now)
        .await;
    assert!(
        matches!(again, Err(StoreError::Duplicate { what: "username" })),
        "{again:?}"
    );
    let found = store.user_by_username("ana").await.unwrap().unwrap();
    assert_eq!(found.user.id, user.id);
    assert!(!found.user.disabled);
    assert_eq!(found.password_hash, "$argon2id$hash");
    store
        .insert_token("hash-1", user.id, now, now + time::Duration::hours(1))
        .await
        .unwrap();
    let by_token = store.user_for_token("hash-1", now).await.unwrap().unwrap();
    assert_eq!(by_token.username.as_str(), "ana");
    store.revoke_token("hash-1", now).await.unwrap();
    assert!(store.user_for_token("hash-1", now).await.unwrap().is_none());
}

#[tokio::test]
async fn audit_pages_filters_and_partitions_on_postgres() {
    let Some((store, database, _dir)) = postgres_store().await else {
        return;
    };
    let start = OffsetDateTime::now_utc() - time::Duration::days(70);
    // Events spread over three months, so on PostgreSQL they land in several partitions.
    for day in 0..7 {
        let mut event = AuditEvent::new(
            start + time::Duration::days(day * 10),
            "subject.read",
            "subject",
        );
        event.leaf_index = Some(u64::try_from(day).unwrap());
        store.append_audit(&event, Some("00")).await.unwrap();
    }
    assert_eq!(store.count_audit().await.unwrap(), 7);
    let page = store
        .list_audit(
            &AuditFilter::default(),
            Page {
                limit: 3,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.next_offset, Some(3));
    assert_eq!(page.items[0].leaf_index, Some(6), "newest first");
    let since = garita_store::ts(start + time::Duration::days(35));
    let recent = store
        .list_audit(
            &AuditFilter {
                since: Some(since),
                ..AuditFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 3);
    // Every month got its partition before its first row; nothing fell into the default partition.
    let partitions = store.audit_partitions().await.unwrap();
    let first = format!("audit_{:04}_{:02}", start.year(), u8::from(start.month()));
    assert!(partitions.contains(&first), "{partitions:?}");
    assert_eq!(partitions.last().map(String::as_str), Some("audit_default"));
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(database.url())
        .await
        .unwrap();
    let stray: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_default")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stray, 0);
    let in_first: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {first}"))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(in_first >= 1);
}

#[tokio::test]
async fn a_test_database_is_gone_once_dropped() {
    let Some(server) = server() else {
        return;
    };
    let database = TestDatabase::create(&server).await.unwrap();
    let name = database.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Some(database.url()))
        .await
        .unwrap();
    drop(database);
    // The open pool did not keep it alive (DROP … WITH (FORCE)).
    assert!(store.count_users().await.is_err());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&server)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_bad_url_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_with(dir.path(), Some("mysql://root:s3cret@127.0.0.1/x"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let err = Store::open_with(
        dir.path(),
        Some("postgres://garita:s3cret@127.0.0.1:1/none"),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("garita:***@127.0.0.1:1") && !text.contains("s3cret"),
        "{text}"
    );
}

#[tokio::test]
async fn the_partitioning_migration_keeps_existing_audit_rows() {
    let Some(server) = server() else {
        return;
    };
    let database = TestDatabase::create(&server).await.unwrap();
    // The schema as it was before 0009: the same files, so the checksums match when the store runs the rest.
    let before = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0009" {
            std::fs::copy(&path, before.path().join(&name)).unwrap();
        }
    }
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(database.url())
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(before.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    for (id, at) in [
        ("a", "2025-12-31T23:59:59.999Z"),
        ("b", "2026-01-01T00:00:00.000Z"),
        ("c", "2026-01-15T08:00:00.000Z"),
    ] {
        sqlx::query(
            "INSERT INTO audit (id, at, actor_kind, action, object_kind, outcome) \
             VALUES ($1, $2, 'system', 'subject.read', 'subject', 'ok')",
        )
        .bind(id)
        .bind(at)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Some(database.url()))
        .await
        .unwrap();
    assert_eq!(store.count_audit().await.unwrap(), 3);
    let partitions = store.audit_partitions().await.unwrap();
    assert!(
        partitions.contains(&"audit_2025_12".to_owned())
            && partitions.contains(&"audit_2026_01".to_owned()),
        "{partitions:?}"
    );
    let in_january: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_2026_01")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(in_january, 2);
    let newest = store
        .list_audit(&AuditFilter::default(), Page::default())
        .await
        .unwrap();
    let ats: Vec<String> = newest.items.iter().map(|event| event.at.clone()).collect();
    assert_eq!(ats[0], "2026-01-15T08:00:00.000Z");
    assert_eq!(ats[2], "2025-12-31T23:59:59.999Z");
}
