//! Proof by kill -9. A child process runs a mixed write load against a real vault — profile edits, request
//! imports and grant approvals, revocations, audited redemptions over real loopback HTTP, and the delivery
//! outbox (every grant has a delivery target; a deliverer seals due releases, "sends" them — appending the
//! release id and the SHA-256 of the bytes to a `sent` file, as a shop would receive them — and records each
//! delivery) — and appends every write that was *acknowledged* (the call returned / the HTTP reply arrived) to
//! an ack file. The harness SIGKILLs it at random moments, then reopens the vault and checks: every acknowledged
//! write is present, no revoked grant works again, every grant has exactly one grant release, every byte
//! string ever sent under a release id is the one the outbox holds (nothing re-encrypted), acknowledged
//! deliveries stay delivered, the access-log chain verifies, `cipher_integrity_check` passes.
//!
//! `cargo test --test crash` runs the short form (12 kills); `cargo test --test crash -- --long` runs 120.
//! `--kills N` sets the number. The child is this same binary started with `--child DIR`.
//!
//! Kept a test binary of its own, not a module of `tests/integration`: it has its own `main` (harness = false,
//! for `--long` and `--kills N`), and the process it SIGKILLs is this binary re-run as `--child DIR`, which
//! must run the write load alone — not a test harness that would start the other tests beside it.
use locket_grants::Issuers;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use locket_endpoint::{Endpoint, EndpointConfig};
use locket_grants::{ApproveOptions, GrantFile, RequestSource};
use locket_vault::{KdfParams, Passphrase, Vault};
use serde_json::{json, Value};

#[path = "integration/kit.rs"]
mod kit;

const PASS: &str = "crash-test-passphrase";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    // Under `cargo test` with a filter or `--list`, behave like a test binary that has one test.
    if args.iter().any(|a| a == "--list") {
        println!("crash: test");
        return;
    }
    let long = args.iter().any(|a| a == "--long");
    let kills = args
        .iter()
        .position(|a| a == "--kills")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if long { 120 } else { 12 });
    let started = Instant::now();
    match harness(kills) {
        Ok(summary) => {
            println!("{summary}");
            println!(
                "crash harness: {kills} kills in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
        }
        Err(e) => {
            eprintln!("crash harness FAILED: {e}");
            println!("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
            std::process::exit(1);
        }
    }
}

fn pass() -> Passphrase {
    Passphrase::new(PASS.into())
}

fn request_doc(nonce: &str) -> Value {
    kit::Request::new()
        .retailer("crash.example")
        .retailer_name("Crash Test Shop")
        .scopes(json!([
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
            {"scope": "identity.given_name", "purpose": "order_fulfilment", "required": false}
        ]))
        .retention("P90D", "Deleted 90 days after delivery.")
        .nonce(nonce)
        .json()
}

struct Acks(Mutex<fs::File>);

impl Acks {
    /// One line per acknowledged write; a single write(2) each, so a SIGKILL never leaves half a line
    /// that was acknowledged (a torn last line is ignored when reading).
    fn ack(&self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        let mut f = self.0.lock().unwrap();
        f.write_all(line.as_bytes()).unwrap();
    }
}

/// The write load. Runs until killed.
fn child(dir: &Path) {
    let vault = Vault::unlock(&dir.join("vault"), &pass()).expect("child unlock");
    let acks = Arc::new(Acks(Mutex::new(
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join("acks"))
            .unwrap(),
    )));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, _server) = rt.block_on(async {
        let endpoint = Endpoint::with_vault(EndpointConfig::default(), vault.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = locket_endpoint::spawn(listener, endpoint).unwrap();
        (server.url(), server)
    });
    let grants: Arc<Mutex<Vec<GrantFile>>> = Arc::new(Mutex::new(Vec::new()));
    let writer = vault.writer().unwrap();
    let run = std::process::id();

    // Profile edits.
    {
        let (writer, acks) = (writer.clone(), acks.clone());
        std::thread::spawn(move || {
            for i in 0.. {
                let value = format!("user{run}-{i}@example.org");
                let v = value.clone();
                let out = writer
                    .submit(move |tx| locket_vault::profile::set(tx, "contact.email", json!(v)))
                    .unwrap();
                acks.ack(json!({"t": "profile", "key": "contact.email", "version": out.version, "value": value}));
            }
        });
    }
    // Redeemers over HTTP.
    for r in 0..4u64 {
        let (grants, acks) = (grants.clone(), acks.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut n = r;
            loop {
                let pick = {
                    let g = grants.lock().unwrap();
                    if g.is_empty() {
                        None
                    } else {
                        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        Some(g[(n >> 33) as usize % g.len()].clone())
                    }
                };
                let Some(grant) = pick else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let resp = http
                    .get(format!("{}/v1/data", grant.endpoint))
                    .bearer_auth(&grant.token)
                    .send();
                if let Ok(resp) = resp {
                    if resp.status().is_success() {
                        acks.ack(json!({"t": "redeem", "grant": grant.grant_id}));
                    }
                }
            }
        });
    }
    // Where every grant's releases go: a shop's encryption key (the deliverer below stands in for the network).
    let shop = locket_wire::metadata::RetailerKeys::generate().unwrap();
    let meta = shop
        .metadata(
            "https://shop.example",
            "Example Shop",
            "privacy@shop.example",
            "https://shop.example/privacy",
            "https://shop.example/locket/deliveries",
        )
        .unwrap();
    let meta = locket_wire::metadata::parse_metadata(meta.to_string().as_bytes(), "https://shop.example").unwrap();
    let target = locket_grants::outbox::Target {
        delivery_url: meta.delivery_url.clone(),
        encryption_key: meta.jwks.encryption_key().unwrap().clone(),
        state: "crash-state-0123456789".into(),
    };
    // The deliverer: seal (committed), "send" (the sent file), record the delivery.
    {
        let (writer, acks, vault) = (writer.clone(), acks.clone(), vault.clone());
        let sent_path = dir.join("sent");
        std::thread::spawn(move || {
            let issuers = Arc::new(Issuers::for_vault(&vault));
            let store = vault.connect().unwrap();
            loop {
                let ids = locket_grants::outbox::due_ids(store.conn(), Utc::now(), 16).unwrap();
                if ids.is_empty() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                for id in ids {
                    let (i, rid) = (issuers.clone(), id.clone());
                    let due = writer
                        .submit(move |tx| locket_grants::outbox::seal_due(tx, &i, &rid, Utc::now()))
                        .unwrap();
                    let mut sent = OpenOptions::new().append(true).create(true).open(&sent_path).unwrap();
                    writeln!(sent, "{}", json!({"release": due.release_id, "sha256": locket_wire::release::sha256_hex(due.body.as_bytes())})).unwrap();
                    sent.sync_data().unwrap();
                    let rid = id.clone();
                    writer
                        .submit(move |tx| {
                            locket_grants::outbox::record_attempt(
                                tx,
                                &rid,
                                &locket_grants::outbox::Attempt::Delivered { status: 200 },
                                0.5,
                                Utc::now(),
                            )
                        })
                        .unwrap();
                    acks.ack(json!({"t": "delivered", "release": id}));
                }
            }
        });
    }
    // Grant approvals and revocations (this thread).
    let signer = Arc::new(Issuers::for_vault(&vault));
    for i in 0u64.. {
        let doc = request_doc(&format!("crash-nonce-{run:010}-{i:08}"));
        let (s, u, t) = (signer.clone(), url.clone(), target.clone());
        let file = writer
            .submit(move |tx| {
                let source = RequestSource::File {
                    path: "crash.json".into(),
                };
                let rec =
                    locket_grants::store::import_request(tx, doc.to_string().as_bytes(), &source, Utc::now(), None)?;
                let issued =
                    locket_grants::store::approve(tx, &s, &rec.id, &ApproveOptions::default(), &u, Utc::now())?;
                // As for a verified request of a shop that takes deliveries: queued in the approval's transaction.
                locket_grants::outbox::queue_grant(tx, &issued.grant, &issued.file, &t, Utc::now())?;
                Ok::<_, locket_grants::GrantError>(issued.file)
            })
            .unwrap();
        fs::write(
            dir.join("grants").join(format!("{}.json", file.grant_id)),
            serde_json::to_vec(&file).unwrap(),
        )
        .unwrap();
        acks.ack(json!({"t": "grant", "grant": file.grant_id}));
        grants.lock().unwrap().push(file.clone());
        if i % 3 == 2 {
            // Revoke the oldest live grant; redeemers keep trying it.
            let victim = grants.lock().unwrap()[0].grant_id.clone();
            let id = victim.clone();
            writer
                .submit(move |tx| locket_grants::store::revoke(tx, &id, Some("crash test"), Utc::now()))
                .unwrap();
            acks.ack(json!({"t": "revoke", "grant": victim}));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Default)]
struct Acked {
    profile: Vec<(String, u64, String)>,
    grants: HashSet<String>,
    revoked: Vec<String>,
    redeemed: BTreeMap<String, u64>,
    delivered: Vec<String>,
}

fn read_acks(dir: &Path) -> Acked {
    let mut a = Acked::default();
    let text = fs::read_to_string(dir.join("acks")).unwrap_or_default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let g = || v["grant"].as_str().unwrap_or_default().to_string();
        match v["t"].as_str() {
            Some("profile") => a.profile.push((
                v["key"].as_str().unwrap().into(),
                v["version"].as_u64().unwrap(),
                v["value"].as_str().unwrap().into(),
            )),
            Some("grant") => {
                a.grants.insert(g());
            }
            Some("revoke") => a.revoked.push(g()),
            Some("redeem") => *a.redeemed.entry(g()).or_default() += 1,
            Some("delivered") => a.delivered.push(v["release"].as_str().unwrap_or_default().to_string()),
            _ => {}
        }
    }
    a
}

/// How far previous checks got: acknowledged profile writes and revocations before these were already
/// checked (the final check re-checks everything from zero).
#[derive(Default, Clone, Copy)]
struct Checked {
    profile: usize,
    revoked: usize,
}

/// Checks the reopened vault against the acknowledged writes: every grant, redemption count, the chain and the
/// pages each time; profile writes and revoked-grant re-tries (over HTTP) from `from` on.
fn check(dir: &Path, rt: &tokio::runtime::Runtime, from: Checked) -> Result<(String, Checked), String> {
    let acked = read_acks(dir);
    let vault = Vault::unlock(&dir.join("vault"), &pass()).map_err(|e| format!("vault does not open: {e}"))?;
    let store = vault.connect().map_err(|e| e.to_string())?;
    let conn = store.conn();

    let t0 = Instant::now();
    let problems = store.integrity_check().map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!("cipher_integrity_check: {problems:?}"));
    }
    let t1 = Instant::now();
    let report = locket_audit::verify_vault(&vault, None).map_err(|e| e.to_string())?;
    let t2 = Instant::now();
    if let Some(p) = report.problem {
        return Err(format!("access-log chain broken at event {}: {}", p.seq, p.message));
    }
    for (key, version, value) in acked.profile.iter().skip(from.profile) {
        let entry = locket_vault::profile::value_at(conn, key, *version as u32)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("acknowledged profile write {key} v{version} is missing"))?;
        if entry.value != Some(json!(value)) {
            return Err(format!(
                "{key} v{version} holds {:?}, acknowledged {value}",
                entry.value
            ));
        }
    }
    for g in &acked.grants {
        locket_grants::store::get_grant(conn, g).map_err(|e| format!("acknowledged grant {g}: {e}"))?;
    }
    for (g, n) in &acked.redeemed {
        let logged: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_events WHERE kind = 'redemption' AND outcome = 'ok' AND grant_id = ?1",
                [g],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        if (logged as u64) < *n {
            return Err(format!(
                "grant {g}: {n} redemptions acknowledged, {logged} in the access log"
            ));
        }
    }
    // The outbox: one grant release per acknowledged grant, never lost or doubled; every byte string ever sent
    // under a release id is the one stored (sealed once); acknowledged deliveries stay delivered.
    for g in &acked.grants {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM deliveries WHERE grant_id = ?1 AND event = 'grant'",
                [g],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        // A revoked grant's undelivered release was withdrawn on purpose; any other grant keeps exactly one.
        let revoked: bool = conn
            .query_row("SELECT revoked_at IS NOT NULL FROM grants WHERE id = ?1", [g], |r| {
                r.get(0)
            })
            .map_err(|e| e.to_string())?;
        if n > 1 || (n == 0 && !revoked) {
            return Err(format!("grant {g} has {n} grant releases in the outbox"));
        }
    }
    let sent = fs::read_to_string(dir.join("sent")).unwrap_or_default();
    let mut sends = 0;
    for line in sent.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue; // a line cut by the kill
        };
        let id = v["release"].as_str().unwrap_or_default();
        let stored: Option<String> = conn
            .query_row("SELECT sha256 FROM deliveries WHERE release_id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| format!("sent release {id} is not in the outbox: {e}"))?;
        if stored.as_deref() != v["sha256"].as_str() {
            return Err(format!(
                "release {id} was sent as {} but the outbox holds {stored:?}",
                v["sha256"]
            ));
        }
        sends += 1;
    }
    for id in &acked.delivered {
        let status: String = conn
            .query_row("SELECT status FROM deliveries WHERE release_id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| format!("acknowledged delivery {id}: {e}"))?;
        if status != "delivered" {
            return Err(format!("acknowledged delivery {id} is {status}"));
        }
    }
    let t3 = Instant::now();
    if std::env::var_os("LOCKET_CRASH_TIMINGS").is_some() {
        eprintln!(
            "check: integrity {:?}, chain {:?}, acks {:?}",
            t1 - t0,
            t2 - t1,
            t3 - t2
        );
    }
    // No revoked grant works again: redeem each one against a fresh server on the recovered vault.
    let refused = rt.block_on(async {
        let endpoint = Endpoint::with_vault(EndpointConfig::default(), vault.clone()).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let server = locket_endpoint::spawn(listener, endpoint).map_err(|e| e.to_string())?;
        let http = reqwest::Client::new();
        let mut refused = 0;
        for g in acked.revoked.iter().skip(from.revoked) {
            let file: GrantFile = serde_json::from_slice(
                &fs::read(dir.join("grants").join(format!("{g}.json"))).map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?;
            let resp = http
                .get(format!("{}/v1/data", server.url()))
                .bearer_auth(&file.token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if body["code"] != "grant_revoked" {
                return Err(format!("revoked grant {g} answered {status} {body}"));
            }
            refused += 1;
        }
        server.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(refused)
    })?;
    Ok((
        format!(
            "{} profile writes, {} grants, {} revocations ({} re-tried in the final check, all refused), \
             {} redemptions, {} releases sent ({} deliveries acknowledged), {} log events",
            acked.profile.len(),
            acked.grants.len(),
            acked.revoked.len(),
            refused,
            acked.redeemed.values().sum::<u64>(),
            sends,
            acked.delivered.len(),
            report.events
        ),
        Checked {
            profile: acked.profile.len(),
            revoked: acked.revoked.len(),
        },
    ))
}

fn harness(kills: usize) -> Result<String, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir: PathBuf = tmp.path().to_path_buf();
    fs::create_dir_all(dir.join("grants")).unwrap();
    let (vault, _) = Vault::create(&dir.join("vault"), &pass(), KdfParams::for_tests()).map_err(|e| e.to_string())?;
    {
        let store = vault.connect().unwrap();
        locket_vault::profile::set(store.conn(), "identity.given_name", json!("Ada")).unwrap();
    }
    drop(vault);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = (Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64) | 1;
    let mut summary = String::new();
    let mut checked = Checked::default();
    for k in 0..kills {
        let mut child = Command::new(&exe)
            .arg("--child")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(150 + seed % 600));
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the load process died on its own ({status}) before kill {k}"));
        }
        child.kill().map_err(|e| e.to_string())?; // SIGKILL
        child.wait().map_err(|e| e.to_string())?;
        let last = k + 1 == kills;
        let from = if last { Checked::default() } else { checked };
        let (s, now_checked) = check(&dir, &rt, from).map_err(|e| format!("after kill {}: {e}", k + 1))?;
        summary = s;
        checked = now_checked;
        if (k + 1) % 10 == 0 {
            eprintln!("crash harness: {} kills survived", k + 1);
        }
    }
    Ok(format!("after {kills} SIGKILLs: {summary}"))
}
