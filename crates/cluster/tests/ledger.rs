//! The shared ledger on a real PostgreSQL (GARITA_TEST_DATABASE): concurrent appends from several nodes, the
//! published tiles against the file-backed log, leader failover, receipts and cosignatures at followers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use garita_cluster::{ClusterConfig, ClusterLedger};
use garita_ledger::merkle::verify_consistency;
use garita_ledger::{
    Commitment, DirSource, LedgerEntry, Log, TlogProof, VerifyOptions, Witness, tiles,
    verify_checkpoint, verify_log,
};
use garita_store::testdb::TestDatabase;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use sqlx::PgPool;

const ORIGIN: &str = "cluster.test/ledger";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[21; 32])
}

/// A PostgreSQL database of its own for a test (dropped with the value, pass or fail), on the server named by
/// `GARITA_TEST_DATABASE`; `None` with a message when that is unset, except under `CI=true`, where it fails.
async fn test_database() -> Option<garita_store::testdb::TestDatabase> {
    let Some(server) = garita_store::testdb::test_server_url() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but GARITA_TEST_DATABASE is unset: .ci/run starts PostgreSQL"
        );
        eprintln!(
            "skipping: GARITA_TEST_DATABASE is not set (eval \"$(bash scripts/postgres.sh env)\")"
        );
        return None;
    };
    Some(
        garita_store::testdb::TestDatabase::create(&server)
            .await
            .unwrap(),
    )
}

async fn node(db: &TestDatabase, objects: &Arc<dyn ObjectStore>, id: &str) -> ClusterLedger {
    let mut config = ClusterConfig::new(ORIGIN, key());
    config.node_id = id.into();
    config.integrate_every = Duration::from_millis(100);
    config.leader_poll = Duration::from_millis(100);
    config.max_connections = 4;
    ClusterLedger::connect(db.url(), Arc::clone(objects), config)
        .await
        .unwrap()
}

fn objects(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap())
}

/// A real capture entry over `content` with a fresh salt.
fn capture(content: &[u8], seq: u64) -> ([u8; 32], Vec<u8>) {
    let salt = Commitment::random_salt();
    let entry = LedgerEntry::capture(
        1_700_000_000,
        "device-7",
        seq,
        "encounter",
        Commitment::of_content(salt, content),
    )
    .unwrap();
    (salt, entry.to_bytes().unwrap())
}

/// `tasks` appenders per node, `each` entries per appender; returns index -> (content, salt, entry).
async fn append_load(
    nodes: &[Arc<ClusterLedger>],
    tasks: usize,
    each: usize,
    tag: &str,
) -> BTreeMap<u64, (Vec<u8>, [u8; 32], Vec<u8>)> {
    let mut handles = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for t in 0..tasks {
            let node = Arc::clone(node);
            let tag = tag.to_owned();
            handles.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..each {
                    let content = format!("{tag} node {n} task {t} record {i}").into_bytes();
                    let (salt, entry) = capture(&content, i as u64);
                    let index = node.append(&entry).await.unwrap();
                    acked.push((index, (content, salt, entry)));
                }
                acked
            }));
        }
    }
    let mut all = BTreeMap::new();
    for handle in handles {
        for (index, record) in handle.await.unwrap() {
            assert!(
                all.insert(index, record).is_none(),
                "index {index} handed out twice"
            );
        }
    }
    all
}

/// Waits until the object store's checkpoint is the one PostgreSQL publishes.
async fn object_checkpoint_settles(node: &ClusterLedger, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let served = node.checkpoint().await.unwrap();
        if std::fs::read(dir.join("log/checkpoint")).ok() == Some(served) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "object store checkpoint never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_leader(nodes: &[Arc<ClusterLedger>]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leading: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].is_leader()).collect();
        assert!(leading.len() <= 1, "two nodes lead at once: {leading:?}");
        if let Some(&i) = leading.first() {
            return i;
        }
        assert!(Instant::now() < deadline, "no node took the leadership");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_append_concurrently_and_publish_what_the_file_log_would() {
    let Some(db) = test_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = objects(dir.path());
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        nodes.push(Arc::new(node(&db, &store, id).await));
    }
    wait_for_leader(&nodes).await;

    let started = Instant::now();
    let acked = append_load(&nodes, 4, 75, "load").await;
    let total = acked.len() as u64;
    let appended = started.elapsed();
    assert_eq!(total, 3 * 4 * 75);
    assert_eq!(
        acked.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>(),
        "indexes have no gaps"
    );
    for node in &nodes {
        assert_eq!(node.durable_size().await.unwrap(), total);
    }
    assert!(
        nodes[2]
            .wait_published(total, Duration::from_secs(15))
            .await
            .unwrap()
    );
    eprintln!(
        "{total} appends from 12 tasks on 3 nodes in {appended:?}; published {:?} after the last ack",
        started.elapsed() - appended
    );
    let leader = wait_for_leader(&nodes).await;
    object_checkpoint_settles(&nodes[leader], dir.path()).await;

    // Every acknowledged entry is where its appender was told, at every node.
    for (index, (_, _, entry)) in acked.iter().step_by(37) {
        for node in &nodes {
            assert_eq!(node.entry(*index).await.unwrap().as_ref(), Some(entry));
        }
    }

    // The file-backed log fed the same entries in index order publishes the same bytes: checkpoint and tiles.
    let file_dir = tempfile::tempdir().unwrap();
    let log = Log::open(file_dir.path(), key(), ORIGIN).unwrap();
    let entries: Vec<&[u8]> = acked.values().map(|(_, _, e)| e.as_slice()).collect();
    log.append_batch(&entries).unwrap();
    let published = nodes[0].published_size().await.unwrap();
    assert_eq!(log.integrate().unwrap(), total);
    assert_eq!(published, total);
    assert_eq!(nodes[1].checkpoint().await.unwrap(), log.checkpoint());
    for tile in tiles::all_tiles(total) {
        let path = tile.path();
        assert_eq!(
            nodes[1].serve(&path).await.unwrap(),
            log.serve(&path).unwrap(),
            "{path}"
        );
    }
    assert_eq!(nodes[0].serve("tile/0/999").await.unwrap(), None);
    assert_eq!(nodes[0].serve("../secret").await.unwrap(), None);

    // The object store, read as a plain directory, passes the full verifier.
    let options = VerifyOptions {
        leaf: Some(total - 1),
        full_audit: true,
        ..VerifyOptions::default()
    };
    let report = verify_log(
        &DirSource::new(dir.path()),
        &nodes[0].vkey(),
        None,
        &options,
    )
    .unwrap();
    assert_eq!(report.size, total);

    // A node with another key is refused: every node must share the log key.
    let mut other = ClusterConfig::new(ORIGIN, SigningKey::from_bytes(&[22; 32]));
    other.max_connections = 2;
    assert!(matches!(
        ClusterLedger::connect(db.url(), Arc::clone(&store), other).await,
        Err(garita_cluster::ClusterError::KeyMismatch { .. })
    ));
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_failover_mid_load_keeps_one_consistent_tree() {
    let Some(db) = test_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = objects(dir.path());
    let first = Arc::new(node(&db, &store, "first").await);
    wait_for_leader(std::slice::from_ref(&first)).await;
    let followers = vec![
        Arc::new(node(&db, &store, "second").await),
        Arc::new(node(&db, &store, "third").await),
    ];
    assert!(!followers[0].is_leader() && !followers[1].is_leader());
    let (pid, app) = garita_cluster::current_leader(
        followers[0].pool(),
        garita_cluster::leader::LEDGER_LEADER_KEY,
    )
    .await
    .unwrap()
    .expect("someone leads");
    assert_eq!(Some(pid), first.status().lock_backend_pid);
    assert_eq!(app, "garita-first");

    let before = append_load(&followers, 2, 40, "before").await;
    assert!(
        followers[0]
            .wait_published(before.len() as u64, Duration::from_secs(10))
            .await
            .unwrap()
    );
    let old_checkpoint = followers[0].checkpoint().await.unwrap();

    // Kill the leader's lock session while appends are running, and the leader node with it.
    let load = {
        let followers = followers.clone();
        tokio::spawn(async move { append_load(&followers, 2, 60, "during").await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let killer = followers[1].pool();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(killer)
        .await
        .unwrap();
    assert!(terminated);
    // The old leader notices its session is gone and steps down (it may win the lock again on a new session).
    let deadline = Instant::now() + Duration::from_secs(10);
    while first.status().lock_backend_pid == Some(pid) {
        assert!(
            Instant::now() < deadline,
            "the terminated leader never stepped down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Then it dies for good, lock session and all.
    first.shutdown();
    while garita_cluster::current_leader(killer, garita_cluster::leader::LEDGER_LEADER_KEY)
        .await
        .unwrap()
        .is_some_and(|(_, app)| app == "garita-first")
    {
        assert!(
            Instant::now() < deadline,
            "the dead leader's lock was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let during = load.await.unwrap();
    let new_leader = wait_for_leader(&followers).await;
    let after = append_load(&followers, 1, 20, "after").await;

    let total = (before.len() + during.len() + after.len()) as u64;
    let mut indexes: Vec<u64> = before
        .keys()
        .chain(during.keys())
        .chain(after.keys())
        .copied()
        .collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    assert!(
        followers[new_leader]
            .wait_published(total, Duration::from_secs(15))
            .await
            .unwrap()
    );
    assert_eq!(followers[new_leader].status().terms, 1);
    object_checkpoint_settles(&followers[new_leader], dir.path()).await;

    // The new checkpoint extends the old one.
    let vkey = followers[0].vkey();
    let old = verify_checkpoint(&old_checkpoint, &vkey, &[])
        .unwrap()
        .checkpoint;
    let new_note = followers[1 - new_leader].checkpoint().await.unwrap();
    let new = verify_checkpoint(&new_note, &vkey, &[]).unwrap().checkpoint;
    assert_eq!(new.size(), total);
    let proof = followers[1 - new_leader]
        .consistency_proof(old.size(), new.size())
        .await
        .unwrap();
    verify_consistency(&proof, old.size(), *old.hash(), new.size(), *new.hash()).unwrap();
    let report = verify_log(
        &DirSource::new(dir.path()),
        &vkey,
        Some(&old_checkpoint),
        &VerifyOptions {
            full_audit: true,
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.consistent_with, Some(old.size()));

    // Receipts computed by the follower verify offline against the record bytes, for records from every phase.
    let follower = &followers[1 - new_leader];
    for (index, (content, salt, entry)) in before
        .iter()
        .chain(during.iter())
        .chain(after.iter())
        .step_by(23)
    {
        let receipt = follower.receipt(*index, *salt).await.unwrap();
        let parsed = TlogProof::from_bytes(&receipt.to_bytes()).unwrap();
        let (logged, _) = parsed.verify_receipt(&vkey, &[], content).unwrap();
        assert_eq!(logged.to_bytes().unwrap(), *entry);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_accepted_at_any_node_and_cleared_by_the_next_checkpoint() {
    let Some(db) = test_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = objects(dir.path());
    let nodes = vec![
        Arc::new(node(&db, &store, "one").await),
        Arc::new(node(&db, &store, "two").await),
    ];
    let leader = wait_for_leader(&nodes).await;
    let follower = &nodes[1 - leader];
    let mut witness = Witness::new("witness.test", SigningKey::from_bytes(&[23; 32]));
    witness.add_log(&follower.vkey()).unwrap();
    for node in &nodes {
        node.set_witnesses(&[witness.vkey()]).unwrap();
    }
    let (_, entry) = capture(b"cosigned record", 1);
    let index = nodes[leader].append(&entry).await.unwrap();
    assert!(
        follower
            .wait_published(index + 1, Duration::from_secs(10))
            .await
            .unwrap()
    );

    // The witness cosigns what a follower serves; the lines go to the follower and show at the leader.
    let checkpoint = follower.checkpoint().await.unwrap();
    let body = garita_ledger::encode_add_checkpoint(0, &[], &checkpoint);
    let lines = witness.add_checkpoint(&body, 1_700_000_000).unwrap();
    assert_eq!(follower.add_cosignatures(&lines).await.unwrap(), 1);
    let served = nodes[leader].checkpoint().await.unwrap();
    let verified = verify_checkpoint(&served, &follower.vkey(), &[witness.vkey()]).unwrap();
    assert_eq!(verified.cosigners, vec!["witness.test".to_owned()]);
    object_checkpoint_settles(&nodes[leader], dir.path()).await;
    // A line that is not a witness's cosignature of this checkpoint is refused and changes nothing.
    assert!(
        nodes[leader]
            .add_cosignatures(b"\xe2\x80\x94 stranger AAAA\n")
            .await
            .is_err()
    );
    assert_eq!(nodes[leader].checkpoint().await.unwrap(), served);

    nodes[leader].append(&capture(b"next", 2).1).await.unwrap();
    assert!(
        follower
            .wait_published(index + 2, Duration::from_secs(10))
            .await
            .unwrap()
    );
    let next = follower.checkpoint().await.unwrap();
    assert!(
        verify_checkpoint(&next, &follower.vkey(), &[])
            .unwrap()
            .cosigners
            .is_empty()
    );
    assert!(!next.ends_with(&lines));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_lock_is_exclusive_and_ends_with_its_session() {
    use garita_cluster::leader::{LEDGER_LEADER_KEY, LeaderLock};
    let Some(db) = test_database().await else {
        return;
    };
    let pool = PgPool::connect(db.url()).await.unwrap();
    let mut first = LeaderLock::try_acquire(&pool, LEDGER_LEADER_KEY)
        .await
        .unwrap()
        .expect("a free lock is taken");
    first.check().await.unwrap();
    assert!(
        LeaderLock::try_acquire(&pool, LEDGER_LEADER_KEY)
            .await
            .unwrap()
            .is_none(),
        "a held lock is refused to another session"
    );
    let (pid, _) = garita_cluster::current_leader(&pool, LEDGER_LEADER_KEY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pid, first.backend_pid());

    // Once its session is terminated, the old holder can neither confirm its lead nor run anything on it.
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(killed);
    assert!(matches!(
        first.check().await,
        Err(garita_cluster::ClusterError::LostLeadership)
    ));
    assert!(
        sqlx::query("SELECT 1")
            .execute(first.connection())
            .await
            .is_err()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let second = loop {
        if let Some(lock) = LeaderLock::try_acquire(&pool, LEDGER_LEADER_KEY)
            .await
            .unwrap()
        {
            break lock;
        }
        assert!(Instant::now() < deadline, "the lock was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(second.backend_pid(), pid);
    drop(second);
    pool.close().await;
}
