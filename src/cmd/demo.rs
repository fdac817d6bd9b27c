//! `garita demo --data DIR`: fills a fresh data directory with a living, synthetic demo so a newcomer sees a
//! populated console: three sites, their devices, users of every role, about two weeks of enrollments (real FVC2000
//! fingerprints sent as WSQ, an ANSI/NIST transaction from the shared files), watchlist entries and the alerts
//! they raise, scanned and declared consignments with findings and lanes, and a few officers' decisions.
//!
//! Everything goes through the real paths: an in-process server on 127.0.0.1:0 receives Ed25519-signed captures
//! (`POST /api/v1/captures`), so every record is verified, ledgered and analysed as in production; decisions go
//! through the API as an officer. The server's clock is moved back day by day so the dashboard has a history.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{
    DeviceKey, DeviceKind, Envelope, Mobility, PayloadType, Role, SiteKind, Username,
};
use garita_server::{AppState, ServerConfig};
use garita_store::Store;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(clap::Args)]
pub struct Args {
    /// Data directory to fill; it must not hold any site yet
    #[arg(long, env = "GARITA_DATA")]
    data: PathBuf,
    /// Database URL, e.g. postgres://garita:PASSWORD@127.0.0.1:5432/garita [default: SQLite in the data directory]
    #[arg(long, env = "GARITA_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Where blobs are kept, as for `garita serve --blobs` (S3 settings from AWS_* variables) [default: DATA/blobs]
    #[arg(long, env = "GARITA_BLOBS")]
    blobs: Option<String>,
    /// Password of the demo users (admin, officer, supervisor, analyst, auditor); at least 12 characters
    #[arg(long, default_value = "garita-demo-password")]
    password: String,
    /// Shared reference data (FVC2000 fingerprints, ANSI/NIST files)
    #[arg(long, default_value = "../shared/data")]
    shared: PathBuf,
    /// People to enroll (each from one FVC2000 finger; up to 30)
    #[arg(long, default_value_t = 18)]
    people: usize,
    /// Simulated dual-energy container scans
    #[arg(long, default_value_t = 3)]
    scans: u32,
}

const DAYS: i64 = 14;
const GIVEN: [&str; 12] = [
    "Ana", "José", "María", "Luis", "Carmen", "Jorge", "Rosa", "Miguel", "Lucía", "Carlos",
    "Elena", "Pedro",
];
const FAMILY: [&str; 10] = [
    "García",
    "Hernández",
    "López",
    "Martínez",
    "Pérez",
    "Ramírez",
    "Flores",
    "Cruz",
    "Morales",
    "Reyes",
];
const CITIZENSHIP: [&str; 5] = ["GTM", "HND", "SLV", "MEX", "NIC"];
/// Declared goods for consignments without a scan: HS code, description, kg per package.
const GOODS: [(&str, &str, f64); 6] = [
    ("090111", "green coffee beans", 60.0),
    ("870899", "vehicle parts", 120.0),
    ("847130", "laptops", 2.5),
    ("080390", "bananas", 18.0),
    ("610910", "cotton t-shirts", 0.2),
    ("300490", "medicaments", 1.0),
];
const ORIGINS: [&str; 6] = ["COL", "CHN", "USA", "ECU", "GTM", "NLD"];
/// Owner, category and serial of demo containers; the check digit is found by trying each.
const CONTAINERS: [&str; 4] = ["CSQU305438", "MSKU907032", "TGHU883310", "MSCU663987"];

/// An ISO 6346 container number: `stem` with the check digit that validates.
fn container(stem: &str) -> String {
    (0..10)
        .map(|digit| format!("{stem}{digit}"))
        .find(|text| garita_model::ContainerNumber::new(text).is_ok())
        .unwrap_or_else(|| stem.to_owned())
}

struct Device {
    id: Uuid,
    key: DeviceKey,
    seq: u64,
}

/// The server's clock while the demo runs: moved to the moment each record "happens".
#[derive(Clone)]
struct DemoClock(Arc<AtomicI64>);

impl DemoClock {
    fn set(&self, at: OffsetDateTime) {
        let nanos = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        self.0.store(nanos, Ordering::SeqCst);
    }

    fn now(&self) -> OffsetDateTime {
        let millis = self.0.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

struct Demo {
    base: String,
    client: reqwest::Client,
    clock: DemoClock,
    start: OffsetDateTime,
    store: Store,
}

/// A small deterministic generator, so two demos look alike.
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below.max(1) as u64) as usize
    }
}

impl Demo {
    /// A moment `day` days after the start, at `minute` minutes past 07:00.
    fn at(&self, day: i64, minute: i64) -> OffsetDateTime {
        self.start + time::Duration::days(day) + time::Duration::minutes(7 * 60 + minute)
    }

    async fn submit(
        &self,
        device: &mut Device,
        at: OffsetDateTime,
        payload_type: PayloadType,
        payload: &[u8],
        blobs: &[&[u8]],
    ) -> anyhow::Result<Value> {
        self.clock.set(at);
        device.seq += 1;
        let signed = Envelope::describe(device.id, device.seq, at, payload_type, payload, blobs)
            .sign(&device.key);
        let body = json!({
            "envelope": signed.envelope,
            "signature": signed.signature,
            "payload": B64.encode(payload),
            "blobs": blobs.iter().map(|blob| B64.encode(blob)).collect::<Vec<_>>(),
        });
        let response = self
            .client
            .post(format!("{}/api/v1/captures", self.base))
            .json(&body)
            .send()
            .await
            .context("submitting a capture to the in-process server")?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if !status.is_success() {
            bail!("capture refused ({status}): {answer}");
        }
        Ok(answer)
    }

    async fn call(&self, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} refused ({status}): {answer}");
        }
        Ok(answer)
    }

    async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let answer = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await?
            .json::<Value>()
            .await?;
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("logging in as {username}: {answer}"))
    }
}

fn fvc_as_wsq(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let image = garita_finger::load_image(&bytes, Some(500))?;
    let gray = garita_wsq::GrayImage::new(image.width(), image.height(), image.pixels().to_vec())?;
    let options = garita_wsq::EncodeOptions {
        ppi: Some(500),
        ..Default::default()
    };
    Ok(garita_wsq::encode(&gray, &options)?)
}

/// The FVC2000 fingers available: (folder, finger number) pairs, each with 8 impressions.
fn fingers(shared: &Path) -> Vec<(PathBuf, u32)> {
    ["FVC2000_DB1_B", "FVC2000_DB3_B", "FVC2000_DB4_B"]
        .iter()
        .map(|db| shared.join("fingerprints").join(db))
        .filter(|dir| dir.is_dir())
        .flat_map(|dir| (101..=110).map(move |finger| (dir.clone(), finger)))
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.password.chars().count() < 12 {
        bail!("--password needs at least 12 characters");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(fill(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn users(store: &Store, password: &str, now: OffsetDateTime) -> anyhow::Result<()> {
    let hash =
        garita_server::hash_password(password).map_err(|err| anyhow::anyhow!(err.message))?;
    store.set_password("admin", &hash, now).await?;
    for role in [
        Role::Officer,
        Role::Supervisor,
        Role::Analyst,
        Role::Auditor,
    ] {
        store
            .create_user(&Username::new(role.as_str())?, role, &hash, now)
            .await?;
    }
    Ok(())
}

async fn fill(args: Args) -> anyhow::Result<()> {
    let store = super::config::open_store(&args.data, args.database.as_deref()).await?;
    let store = match super::config::blob_store(args.blobs.as_deref(), None)? {
        Some(blobs) => store.with_blobs(blobs),
        None => store,
    };
    if !store
        .list_sites(garita_store::Page::default())
        .await?
        .items
        .is_empty()
    {
        bail!(
            "{} already holds sites; give `garita demo` a fresh directory",
            args.data.display()
        );
    }
    let real_now = OffsetDateTime::now_utc();
    let config = ServerConfig {
        country: Some(garita_model::CountryCode::new("MEX")?),
        agency_name: "Demo border agency".into(),
        ..ServerConfig::default()
    };
    garita_server::bootstrap(&store, &config, real_now)
        .await
        .map_err(|err| anyhow::anyhow!("bootstrap: {}", err.message))?;
    users(&store, &args.password, real_now).await?;

    let clock = DemoClock(Arc::new(AtomicI64::new(0)));
    clock.set(real_now);
    let reading = clock.clone();
    let state = AppState::new(store.clone(), config)
        .map_err(|err| anyhow::anyhow!("opening the ledger: {}", err.message))?
        .with_clock(Arc::new(move || reading.now()));
    state
        .matcher
        .rebuild(&store)
        .await
        .map_err(|err| anyhow::anyhow!("gallery: {}", err.message))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let server = tokio::spawn(garita_server::serve(
        state,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        move |addr| {
            let _ = tx.send(addr);
        },
    ));
    let addr = rx.await.context("the in-process server did not start")?;
    let today = real_now.date().midnight().assume_utc();
    let demo = Demo {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .build()?,
        clock,
        start: today - time::Duration::days(DAYS - 1),
        store: store.clone(),
    };

    let sites = [
        ("Manzanillo port", SiteKind::Port),
        ("Tecún Umán crossing", SiteKind::LandCrossing),
        ("Tijuana Otay crossing", SiteKind::LandCrossing),
    ];
    let mut terminals = Vec::new();
    let mut scanners = Vec::new();
    for (name, kind) in sites {
        let site = store
            .create_site(name, kind, Mobility::Fixed, demo.at(0, 0))
            .await?;
        for device_kind in [DeviceKind::BiometricTerminal, DeviceKind::NiiScanner] {
            let key = DeviceKey::generate();
            let device = store
                .create_device(site.id, device_kind, &key.public_key_b64(), demo.at(0, 0))
                .await?;
            let device = Device {
                id: device.id,
                key,
                seq: 0,
            };
            if device_kind == DeviceKind::BiometricTerminal {
                terminals.push(device);
            } else {
                scanners.push(device);
            }
        }
    }
    let people = enroll_people(&demo, &args, &mut terminals).await?;
    let consignments = cargo(&demo, &args, &mut scanners).await?;

    // Officers at work today: a few alerts decided, a decision and a seizure recorded.
    demo.clock.set(real_now);
    let officer = demo.login("officer", &args.password).await?;
    let open = store
        .list_alerts(
            Some(garita_model::AlertStatus::Open),
            garita_store::Page::default(),
        )
        .await?
        .items;
    for (index, alert) in open.iter().rev().take(2).enumerate() {
        let (status, reason) = if index == 0 {
            (
                "confirmed",
                "same person: fingerprints and travel document agree",
            )
        } else {
            (
                "dismissed",
                "different person: the secondary check cleared them",
            )
        };
        demo.call(
            &officer,
            &format!("/api/v1/alerts/{}/status", alert.id),
            json!({ "status": status, "reason": reason }),
        )
        .await?;
    }
    if let Some(first) = consignments.first() {
        demo.call(
            &officer,
            &format!("/api/v1/consignments/{first}/decisions"),
            json!({ "decision": "physical-exam", "reason": "organic mass behind the front wall" }),
        )
        .await?;
        demo.call(
            &officer,
            &format!("/api/v1/consignments/{first}/seizures"),
            json!({ "substance": "cocaine", "quantity_kg": 42.5, "concealment": "false front wall" }),
        )
        .await?;
    }
    server.abort();
    store.close().await;
    println!("demo data written to {}", args.data.display());
    println!(
        "  {people} people enrolled, {} consignments, over {DAYS} days at 3 sites",
        consignments.len()
    );
    println!(
        "  users admin, officer, supervisor, analyst, auditor; password: {}",
        args.password
    );
    println!(
        "now run: garita serve --data {}   and open http://127.0.0.1:8080/console",
        args.data.display()
    );
    Ok(())
}

async fn enroll_people(
    demo: &Demo,
    args: &Args,
    terminals: &mut [Device],
) -> anyhow::Result<usize> {
    let available = fingers(&args.shared);
    if available.is_empty() {
        eprintln!(
            "demo: no FVC2000 fingerprints under {}; enrolling no people (pass --shared)",
            args.shared.display()
        );
        return Ok(0);
    }
    let mut dice = Dice(7);
    let analyst = demo.login("analyst", &args.password).await?;
    let listings = ["smuggler", "gang-member", "special-interest", "wanted"];
    let count = args.people.min(available.len());
    let mut returns = Vec::new();
    for (index, (dir, finger)) in available.iter().take(count).enumerate() {
        let day = i64::try_from(dice.next(usize::try_from(DAYS / 2).unwrap_or(7))).unwrap_or(0);
        let terminal = dice.next(terminals.len());
        let wsq = fvc_as_wsq(&dir.join(format!("{finger}_1.tif")))?;
        let payload = json!({
            "subject": {
                "claimed_citizenship": CITIZENSHIP[dice.next(CITIZENSHIP.len())],
                "given_name": GIVEN[dice.next(GIVEN.len())],
                "family_name": FAMILY[dice.next(FAMILY.len())],
            },
            "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
        });
        let at = demo.at(day, i64::try_from(index).unwrap_or(0) * 17);
        let device = terminals.get_mut(terminal).context("no terminal")?;
        let answer = demo
            .submit(
                device,
                at,
                PayloadType::Encounter,
                &serde_json::to_vec(&payload)?,
                &[&wsq],
            )
            .await?;
        // Every third person is listed by an analyst; every second one comes back later.
        if index % 3 == 0 {
            let encounter: Uuid = answer["encounter_id"]
                .as_str()
                .context("encounter id")?
                .parse()?;
            let subject = demo
                .store
                .encounter(encounter)
                .await?
                .context("encounter")?
                .subject_id;
            demo.clock.set(at + time::Duration::hours(2));
            demo.call(
                &analyst,
                "/api/v1/watchlist",
                json!({ "subject_id": subject, "category": listings[(index / 3) % listings.len()],
                        "source_agency": "INTERPOL", "reason": "demo listing" }),
            )
            .await?;
        }
        if index % 2 == 0 || index % 3 == 0 {
            returns.push((dir.clone(), *finger, payload));
        }
    }
    for (index, (dir, finger, payload)) in returns.iter().enumerate() {
        let day = DAYS / 2
            + i64::try_from(dice.next(usize::try_from(DAYS / 2).unwrap_or(7))).unwrap_or(0);
        let wsq = fvc_as_wsq(&dir.join(format!("{finger}_{}.tif", 2 + index % 6)))?;
        let at = demo.at(day, i64::try_from(index).unwrap_or(0) * 23);
        let terminal = dice.next(terminals.len());
        let device = terminals.get_mut(terminal).context("no terminal")?;
        demo.submit(
            device,
            at,
            PayloadType::Encounter,
            &serde_json::to_vec(payload)?,
            &[&wsq],
        )
        .await?;
    }
    let an2 = args.shared.join("ansi-nist/type-4-14-slaps.an2");
    if let Ok(transaction) = std::fs::read(&an2) {
        let device = terminals.first_mut().context("no terminal")?;
        demo.submit(
            device,
            demo.at(DAYS - 1, 30),
            PayloadType::An2,
            &transaction,
            &[],
        )
        .await?;
    }
    Ok(count + returns.len())
}

fn consignment_payload(manifest: &garita_nii::Manifest) -> Value {
    let origin = isocountry_alpha3(&manifest.origin_country);
    json!({
        "container_number": manifest.container_number,
        "conveyance": "MSC ANNA",
        "declarant": manifest.declarant_id,
        "origin": origin,
        "lines": manifest.items.iter().map(|item| json!({
            "hs_code": item.hs_code, "description": item.description,
            "declared_mass_kg": item.declared_mass_kg, "quantity": item.packages
        })).collect::<Vec<_>>(),
    })
}

/// ISO 3166 alpha-2 to alpha-3 for the simulator's origins (garita's payloads use alpha-3).
fn isocountry_alpha3(alpha2: &str) -> Value {
    const TABLE: [(&str, &str); 12] = [
        ("CO", "COL"),
        ("CN", "CHN"),
        ("US", "USA"),
        ("EC", "ECU"),
        ("GT", "GTM"),
        ("NL", "NLD"),
        ("MX", "MEX"),
        ("PE", "PER"),
        ("BR", "BRA"),
        ("DE", "DEU"),
        ("VN", "VNM"),
        ("IN", "IND"),
    ];
    TABLE
        .iter()
        .find(|(two, _)| *two == alpha2)
        .map_or(Value::Null, |(_, three)| Value::from(*three))
}

async fn cargo(demo: &Demo, args: &Args, scanners: &mut [Device]) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let scenes_dir = tempfile::tempdir()?;
    let scenes = garita_nii::simulate(5, args.scans, scenes_dir.path())?;
    for (index, scene) in scenes.iter().enumerate() {
        let manifest: garita_nii::Manifest = garita_nii::read_json(&scene.manifest)?;
        let high = std::fs::read(&scene.high)?;
        let low = std::fs::read(&scene.low)?;
        let day = DAYS - 1 - i64::try_from(index).unwrap_or(0);
        let device = scanners.first_mut().context("no scanner")?;
        let answer = demo
            .submit(
                device,
                demo.at(day, 200 + i64::try_from(index).unwrap_or(0)),
                PayloadType::Consignment,
                &serde_json::to_vec(&consignment_payload(&manifest))?,
                &[&high, &low],
            )
            .await?;
        ids.push(
            answer["consignment_id"]
                .as_str()
                .context("consignment id")?
                .parse()?,
        );
    }
    let mut dice = Dice(11);
    for index in 0..24 {
        let (hs, description, kg) = GOODS[dice.next(GOODS.len())];
        let packages = 20 + dice.next(400);
        let payload = json!({
            "container_number": container(CONTAINERS[dice.next(CONTAINERS.len())]),
            "conveyance": format!("TRUCK {}", 100 + dice.next(800)),
            "declarant": format!("Importadora {} SA", FAMILY[dice.next(FAMILY.len())]),
            "origin": ORIGINS[dice.next(ORIGINS.len())],
            "lines": [{ "hs_code": hs, "description": description,
                        "declared_mass_kg": kg * packages as f64, "quantity": packages }],
        });
        let day = i64::try_from(dice.next(usize::try_from(DAYS).unwrap_or(14))).unwrap_or(0);
        let scanner = dice.next(scanners.len());
        let device = scanners.get_mut(scanner).context("no scanner")?;
        let answer = demo
            .submit(
                device,
                demo.at(day, i64::from(index) * 13),
                PayloadType::Consignment,
                &serde_json::to_vec(&payload)?,
                &[],
            )
            .await?;
        ids.push(
            answer["consignment_id"]
                .as_str()
                .context("consignment id")?
                .parse()?,
        );
    }
    Ok(ids)
}
