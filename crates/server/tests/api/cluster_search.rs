//! Sharded 1:N search across three in-process nodes (docs/cluster.md): the nodes share one store (the lead
//! switches it to the PostgreSQL store at merge) and one PostgreSQL cluster database made for each test from
//! `GARITA_TEST_DATABASE` and dropped at its end. Real FVC2000 impressions, sent as WSQ like a terminal would.

use crate::enrollment_alerts::fvc_as_wsq;
use crate::harness::test_database;
use crate::harness::{Server, signed_capture};
use garita_cluster::nodes::ClusterOptions;
use garita_model::PayloadType;
use garita_server::AppState;
use garita_server::matcher::ClusterConfig;
use garita_store::testdb::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SECRET: &[u8] = b"cluster secret shared by the test nodes";

/// One in-process cluster node over the harness's store: its own ledger, matcher, listener and duties.
struct Node {
    base: String,
    state: AppState,
    serve: tokio::task::JoinHandle<()>,
    duties: Option<garita_server::cluster::ClusterTask>,
    _ledger: tempfile::TempDir,
}

impl Node {
    async fn start(server: &Server, db: &TestDatabase, options: ClusterOptions) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ledger = tempfile::tempdir().unwrap();
        let config = (*server.state.config).clone();
        let state = AppState::with_ledger_dir(server.store.clone(), config, ledger.path()).unwrap();
        let config = ClusterConfig {
            database_url: db.url().to_owned(),
            node_id: Uuid::new_v4(),
            advertised_url: base.clone(),
            secret: SECRET.to_vec(),
            options,
            search_timeout: Duration::from_secs(3),
        };
        let (state, duties) = garita_server::cluster::start_node(state, config)
            .await
            .unwrap();
        let duties = Some(duties);
        let app = garita_server::app(state.clone());
        let serve = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Node {
            base,
            state,
            serve,
            duties,
            _ledger: ledger,
        }
    }

    fn id(&self) -> Uuid {
        self.cluster().node_id()
    }

    fn cluster(&self) -> &garita_cluster::nodes::Cluster {
        self.state.matcher.cluster().unwrap().cluster()
    }

    /// Stops serving and heartbeating, as a crash would (no clean leave).
    fn crash(&mut self) {
        self.serve.abort();
        self.duties.take();
    }
}

fn fast() -> ClusterOptions {
    ClusterOptions {
        heartbeat: Duration::from_millis(200),
        dead_after: Duration::from_secs(5),
        shards: 32,
    }
}

/// Waits until every shard is owned by one of `nodes` and each of them owns some.
async fn wait_for_split(nodes: &[&Node]) {
    let ids: BTreeSet<Uuid> = nodes.iter().map(|n| n.id()).collect();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let owners: Vec<Option<Uuid>> = nodes[0]
            .cluster()
            .assignment()
            .await
            .unwrap()
            .iter()
            .map(|s| s.owner)
            .collect();
        let used: BTreeSet<Uuid> = owners.iter().flatten().copied().collect();
        if owners.iter().all(|o| o.is_some_and(|o| ids.contains(&o))) && used == ids {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no split over {ids:?}: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the node owning `person`'s shard, as a crash would; returns its index and id.
async fn crash_owner_of(nodes: &mut [Node], person: Uuid) -> (usize, Uuid) {
    let shard = nodes[0].cluster().shard_of(person);
    let owner = nodes[0]
        .cluster()
        .assignment()
        .await
        .unwrap()
        .iter()
        .find(|s| s.shard == shard)
        .unwrap()
        .owner
        .unwrap();
    let lost = nodes.iter().position(|n| n.id() == owner).unwrap();
    nodes[lost].crash();
    (lost, owner)
}

/// Enrolls one right-index WSQ through `node` as the harness's biometric terminal.
async fn enroll_at(server: &Server, node: &Node, wsq: &[u8]) -> Value {
    let payload = serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": "HND" },
        "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
    }))
    .unwrap();
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &[wsq],
    );
    let answer = server
        .client
        .post(format!("{}/api/v1/captures", node.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    answer.json().await.unwrap()
}

async fn subject_of(server: &Server, response: &Value) -> Uuid {
    let encounter: Uuid = response["encounter_id"].as_str().unwrap().parse().unwrap();
    server
        .store
        .encounter(encounter)
        .await
        .unwrap()
        .unwrap()
        .subject_id
}

fn alerted(response: &Value) -> Vec<(String, String)> {
    response["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["candidate_subject_id"].as_str().unwrap().to_owned(),
                a["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn probe_of(wsq: &[u8]) -> Vec<(u8, garita_finger::Template)> {
    let image = garita_finger::load_image(wsq, None).unwrap();
    vec![(2, garita_finger::extract(&image).unwrap())]
}

/// The single-node answer over every stored template: the reference the cluster must equal.
async fn single_node_candidates(
    server: &Server,
    probe: &[(u8, garita_finger::Template)],
) -> Vec<garita_server::matcher::Candidate> {
    let mut gallery = garita_finger::SubjectGallery::new();
    for row in server.store.all_templates().await.unwrap() {
        let bytes = server.store.blobs().get(&row.blob_sha256).await.unwrap();
        let template = garita_finger::Template::from_bytes(&bytes).unwrap();
        gallery.add(row.subject_id, row.position, template);
    }
    let params = garita_finger::SubjectSearchParams::default();
    gallery
        .search(probe, params.shortlist, params)
        .into_iter()
        .map(|c| garita_server::matcher::Candidate {
            subject: c.subject,
            score: c.score,
            per_finger: c.per_finger,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_split_the_gallery_and_find_a_prior_crossing_across_nodes() {
    let (Some(a1), Some(a2), Some(b1), Some(c1)) = (
        fvc_as_wsq("106_1.tif"),
        fvc_as_wsq("106_3.tif"),
        fvc_as_wsq("107_1.tif"),
        fvc_as_wsq("108_1.tif"),
    ) else {
        return;
    };
    let Some(db) = test_database().await else {
        return;
    };
    let server = Server::start_full(1024 * 1024, |state| state).await;
    let a = Node::start(&server, &db, fast()).await;
    let b = Node::start(&server, &db, fast()).await;
    let c = Node::start(&server, &db, fast()).await;
    wait_for_split(&[&a, &b, &c]).await;

    let first = enroll_at(&server, &a, &a1).await;
    assert_eq!(first["search"]["complete"], true, "{first}");
    assert!(alerted(&first).is_empty(), "{first}");
    let person = subject_of(&server, &first).await;
    enroll_at(&server, &b, &b1).await;
    enroll_at(&server, &c, &c1).await;

    // The same cluster search from C equals a single-node search over the same templates.
    let probe = probe_of(&a2);
    let cluster = garita_server::matcher::search(&c.state, probe.clone())
        .await
        .unwrap();
    assert!(cluster.clustered && cluster.missing.is_empty());
    let mut single = single_node_candidates(&server, &probe).await;
    let mut merged = cluster.candidates.clone();
    single.sort_by_key(|x| x.subject);
    merged.sort_by_key(|x| x.subject);
    assert_eq!(merged.len(), 3, "three enrolled subjects: {merged:?}");
    assert_eq!(merged.len(), single.len());
    assert!(
        merged.iter().zip(&single).all(|(m, s)| m.same_as(s)),
        "cluster {merged:?} != single node {single:?}"
    );
    assert_eq!(cluster.hits(None).first().map(|h| h.0), Some(person));

    // The second impression, enrolled at C, is a prior-crossing alert against the person enrolled at A.
    let second = enroll_at(&server, &c, &a2).await;
    assert_eq!(second["search"]["complete"], true, "{second}");
    assert_eq!(
        alerted(&second),
        vec![(person.to_string(), "prior-crossing".to_owned())],
        "{second}"
    );
    drop((a, b, c));
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_makes_the_search_partial_then_pending_then_alerted() {
    let (Some(a1), Some(a2)) = (fvc_as_wsq("109_1.tif"), fvc_as_wsq("109_3.tif")) else {
        return;
    };
    let Some(db) = test_database().await else {
        return;
    };
    let server = Server::start_full(1024 * 1024, |state| state).await;
    let mut nodes = vec![
        Node::start(&server, &db, fast()).await,
        Node::start(&server, &db, fast()).await,
        Node::start(&server, &db, fast()).await,
    ];
    wait_for_split(&nodes.iter().collect::<Vec<_>>()).await;
    let first = enroll_at(&server, &nodes[0], &a1).await;
    let person = subject_of(&server, &first).await;
    let (lost, owner) = crash_owner_of(&mut nodes, person).await;
    let survivor = &nodes[(lost + 1) % 3];

    // During the gap the owner still looks alive but does not answer: partial, never a silent miss.
    let second = enroll_at(&server, survivor, &a2).await;
    assert_eq!(second["search"]["complete"], false, "{second}");
    let missing: Vec<u64> = second["search"]["missing_shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let shard = nodes[0].cluster().shard_of(person);
    assert!(missing.contains(&u64::from(shard)), "{second}");
    assert!(alerted(&second).is_empty(), "{second}");
    let encounter: Uuid = second["encounter_id"].as_str().unwrap().parse().unwrap();
    let pending = survivor.cluster().pending().await.unwrap();
    assert!(
        pending.iter().any(|p| p.encounter_id == encounter),
        "{pending:?}"
    );

    // After the timeout the survivors take the shards, re-run the search and raise the alert.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let alerts = server.store.alerts_of_encounter(encounter).await.unwrap();
        if !alerts.is_empty() {
            assert_eq!(alerts.len(), 1, "{alerts:?}");
            assert_eq!(alerts[0].candidate_subject_id, person);
            assert_eq!(alerts[0].category.to_string(), "prior-crossing");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pending search never raised its alert"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(survivor.cluster().pending().await.unwrap().is_empty());
    let owners = survivor.cluster().assignment().await.unwrap();
    assert!(
        owners
            .iter()
            .all(|s| s.owner.is_some() && s.owner != Some(owner))
    );
    drop(nodes);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_route_refuses_users_and_unsigned_calls() {
    let Some(db) = test_database().await else {
        return;
    };
    let server = Server::start().await;
    let node = Node::start(&server, &db, fast()).await;
    wait_for_split(&[&node]).await;
    let url = format!("{}/api/v1/cluster/search", node.base);
    let body = serde_json::to_vec(&json!({ "probe": [] })).unwrap();
    let post = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut request = server.client.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let me = node.id();
    let signed = |secret: &[u8], body: &[u8], at: i64| {
        vec![
            ("garita-node", me.to_string()),
            ("garita-timestamp", at.to_string()),
            (
                "garita-signature",
                garita_server::cluster::sign(secret, me, at, body).unwrap(),
            ),
        ]
    };
    // Nobody, and every user role with a valid token: refused, the token is not a credential here.
    let mut refusals = vec![post(Vec::new(), body.clone()).await.unwrap()];
    for role in crate::harness::ROLES {
        let bearer = vec![("authorization", format!("Bearer {}", server.token(role)))];
        refusals.push(post(bearer, body.clone()).await.unwrap());
    }
    // The wrong secret, a stale timestamp, and a body changed after signing: refused.
    refusals.push(
        post(signed(b"wrong", &body, now), body.clone())
            .await
            .unwrap(),
    );
    refusals.push(
        post(signed(SECRET, &body, now - 3600), body.clone())
            .await
            .unwrap(),
    );
    let other = serde_json::to_vec(&json!({ "probe": [], "x": 1 })).unwrap();
    refusals.push(post(signed(SECRET, &body, now), other).await.unwrap());
    for answer in refusals {
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["error"], "bad-signature", "{error}");
    }
    // A node's signed call is answered with the shards this node serves (all of them: it is alone).
    let answer = post(signed(SECRET, &body, now), body.clone())
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["node"], me.to_string());
    assert_eq!(answer["shards"].as_array().unwrap().len(), 32, "{answer}");
    drop(node);
    drop(db);
}

/// A request to one node, as `Server::call` sends to the harness's own listener.
async fn call_at(
    server: &Server,
    node: &Node,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> crate::harness::Answer {
    let mut request = server
        .client
        .request(method, format!("{}{path}", node.base))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Server::answer_of(request.send().await.unwrap()).await
}

/// A partner's bundle arriving at a cluster node whose 1:N search cannot reach every shard is refused with 503
/// and stores nothing (no import, no records, no answer); once the survivors take the lost node's shards, the
/// partner's retry of the same bundle imports it once, with its answer, and a further retry is a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_import_during_a_partial_search_stores_nothing_and_its_retry_imports_once() {
    use crate::sharing::{agreement, enroll, export, identity, start};
    let (Some(p_at_b), Some(p_at_a)) = (fvc_as_wsq("107_1.tif"), fvc_as_wsq("107_2.tif")) else {
        return;
    };
    let Some(db) = test_database().await else {
        return;
    };
    // A: a single agency server. B: a cluster of three nodes.
    let a = start("MEX").await;
    let b = start("USA").await;
    let mut nodes = vec![
        Node::start(&b, &db, fast()).await,
        Node::start(&b, &db, fast()).await,
        Node::start(&b, &db, fast()).await,
    ];
    wait_for_split(&nodes.iter().collect::<Vec<_>>()).await;
    let a_keys = identity(&a).await;
    let b_keys = call_at(
        &b,
        &nodes[0],
        Method::GET,
        "/api/v1/share/identity",
        &b.token("admin"),
        None,
    )
    .await
    .body;
    let id = Uuid::new_v4();
    let made = a
        .call(
            Method::POST,
            "/api/v1/share/agreements",
            Some(&a.token("admin")),
            Some(agreement(id, "outgoing", "agency-b", &b_keys, None)),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let made = call_at(
        &b,
        &nodes[0],
        Method::POST,
        "/api/v1/share/agreements",
        &b.token("admin"),
        Some(agreement(
            id,
            "incoming",
            "agency-a",
            &a_keys,
            Some(&a_keys["log_vkey"]),
        )),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");

    // B lists P; the shard holding P is owned by one node, which is then lost.
    let p_b = enroll_at(&b, &nodes[0], &p_at_b).await;
    let person = subject_of(&b, &p_b).await;
    let listed = call_at(&b, &nodes[0], Method::POST, "/api/v1/watchlist", &b.token("analyst"),
        Some(json!({ "subject_id": person, "category": "smuggler", "source_agency": "CBP", "reason": "cluster import test" })))
        .await;
    assert_eq!(listed.status, StatusCode::CREATED, "{listed:?}");
    let (lost, owner) = crash_owner_of(&mut nodes, person).await;
    let survivor = &nodes[(lost + 1) % 3];

    // A meets P and shares the encounter.
    enroll(&a, &p_at_a, "HND", "Partner").await;
    let (_, bundle) = export(&a, id).await;
    let import = |bundle: Vec<u8>| {
        let (b, survivor) = (&b, survivor);
        async move {
            b.client
                .post(format!("{}/api/v1/share/imports", survivor.base))
                .bearer_auth(b.token("supervisor"))
                .header("content-type", "application/octet-stream")
                .body(bundle)
                .send()
                .await
                .unwrap()
        }
    };
    let imports_at_b = || async {
        call_at(
            &b,
            survivor,
            Method::GET,
            "/api/v1/share/imports",
            &b.token("auditor"),
            None,
        )
        .await
        .body
        .as_array()
        .unwrap()
        .len()
    };

    // During the gap the search is partial: refused, and nothing of the bundle is kept.
    let refused = Server::answer_of(import(bundle.clone()).await).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused:?}"
    );
    assert_eq!(refused.code(), "search-incomplete");
    assert_eq!(imports_at_b().await, 0, "a refused import was stored");
    let answers = b.store.list_answers(Some(id)).await.unwrap();
    assert!(answers.is_empty(), "{answers:?}");

    // After the timeout the survivors own every shard; the partner's retry imports once, answer included.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let owners = survivor.cluster().assignment().await.unwrap();
        if owners
            .iter()
            .all(|s| s.owner.is_some() && s.owner != Some(owner))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lost node's shards were never taken: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let imported = Server::answer_of(import(bundle.clone()).await).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    let answers = imported.body["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{}", imported.body);
    assert_eq!(imports_at_b().await, 1);
    assert_eq!(b.store.list_answers(Some(id)).await.unwrap().len(), 1);
    let again = Server::answer_of(import(bundle).await).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    assert_eq!(again.code(), "replayed-bundle");
    assert_eq!(imports_at_b().await, 1);
    drop(nodes);
    drop(db);
}
