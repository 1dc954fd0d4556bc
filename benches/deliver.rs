//! Delivery benchmark (one run, ratios within it; nothing asserts on time):
//!
//! 1. releases sealed per second (JWS with the grant's Ed25519 key inside a JWE, ECDH-ES + A256GCM to the shop's
//!    X25519 key) against bare ECDH-ES + A256GCM encryptions per second of the same payload (goal ≥ 0.5);
//! 2. a profile edit fanning out to 1,000 live grants: the one transaction that stores the edit and queues every
//!    update, against a transaction that stores the edit alone;
//! 3. draining the outbox: releases sealed, recorded and acknowledged per second through the grants crate, without
//!    the network, then 4. end to end to the reference retailer server over HTTPS on loopback (`locket-retailer
//!    serve` in-process, a development CA): Locket's passes post, the server decrypts, verifies and stores each one.
//!
//! `cargo bench --bench deliver`; `LOCKET_BENCH_QUICK=1` runs shorter.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use locket_grants::outbox::{self, Attempt, Target};
use locket_grants::{ApproveOptions, Issuers, RequestSource};
use locket_vault::{KdfParams, Passphrase, Vault};
use locket_wire::metadata::{parse_metadata, RetailerKeys};
use locket_wire::release::{self, Release, ReleaseEvent, ReleasedField, RELEASE_FORMAT};

fn secs() -> Duration {
    if std::env::var_os("LOCKET_BENCH_QUICK").is_some() {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    }
}

/// Runs `f` for about `secs()`; returns calls per second.
fn rate(mut f: impl FnMut()) -> f64 {
    let d = secs();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < d {
        f();
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn shop() -> (RetailerKeys, Target) {
    let keys = RetailerKeys::generate().expect("keys");
    let meta = keys
        .metadata(
            "https://shop.example",
            "Example Shop",
            "privacy@shop.example",
            "https://shop.example/privacy",
            "https://shop.example/locket/deliveries",
        )
        .expect("metadata");
    let meta = parse_metadata(meta.to_string().as_bytes(), "https://shop.example").expect("parse");
    let target = Target {
        delivery_url: meta.delivery_url.clone(),
        encryption_key: meta.jwks.encryption_key().expect("enc").clone(),
        state: "bench-state-0123456789".into(),
    };
    (keys, target)
}

fn request_doc(retailer: &str, nonce: &str) -> Vec<u8> {
    serde_json::json!({
        "format": "locket.grant-request/v1",
        "retailer": {"id": retailer, "name": "Example Shop", "origin": format!("https://{retailer}"),
                     "contact": format!("privacy@{retailer}"), "privacy_policy": format!("https://{retailer}/privacy")},
        "scopes": [{"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
                   {"scope": "sizes", "purpose": "personalised_recommendations", "required": false}],
        "requested_duration": "P30D",
        "retention": {"max_duration": "until_grant_ends", "statement": "We delete it when the grant ends."},
        "nonce": nonce,
        "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
    .to_string()
    .into_bytes()
}

/// A vault with `n` approved grants of `retailer`, each with a delivery target. Returns the vault.
fn vault_with_grants(dir: &std::path::Path, n: usize, target: &Target) -> Vault {
    let (vault, _) =
        Vault::create(dir, &Passphrase::new("bench passphrase".into()), KdfParams::for_tests()).expect("vault");
    let issuers = Issuers::for_vault(&vault);
    let mut store = vault.connect().expect("store");
    locket_vault::profile::set(store.conn(), "contact.email", serde_json::json!("ada@example.org")).expect("set");
    let tx = store.conn_mut().transaction().expect("tx");
    for i in 0..n {
        let rec = locket_grants::store::import_request(
            &tx,
            &request_doc("shop.example", &format!("bench-nonce-{i:012}")),
            &RequestSource::File {
                path: "bench.json".into(),
            },
            Utc::now(),
            None,
        )
        .expect("import");
        let issued = locket_grants::store::approve(
            &tx,
            &issuers,
            &rec.id,
            &ApproveOptions::default(),
            "http://127.0.0.1:7419",
            Utc::now(),
        )
        .expect("approve");
        outbox::queue_grant(&tx, &issued.grant, &issued.file, target, Utc::now()).expect("queue");
    }
    tx.commit().expect("commit");
    vault
}

fn main() {
    println!(
        "locket delivery bench: {} cores, {:?} per measurement",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        secs()
    );
    let (_keys, target) = shop();

    // 1. Sealing against bare encryption of the same payload.
    let grant_file: locket_wire::GrantFile =
        serde_json::from_str(include_str!("../tests/golden/grant.v1.json")).expect("golden grant");
    let signer = Issuers::from_secrets(&[7; 32], &[9; 32], "bench")
        .token_signer("shop.example")
        .expect("signer");
    let doc = Release {
        format: RELEASE_FORMAT.into(),
        event: ReleaseEvent::Update,
        release_id: "rel_0123456789abcdef0123456789abcdef".into(),
        grant_id: grant_file.grant_id.clone(),
        sequence: 2,
        subject: grant_file.subject.clone(),
        retailer_id: grant_file.retailer.id.clone(),
        state: "bench-state-0123456789".into(),
        issued_at: "2026-12-07T10:00:00Z".into(),
        grant: None,
        fields: Some(vec![
            ReleasedField {
                key: "contact.email".into(),
                label: "Email address".into(),
                version: 3,
                value: "ada@example.org".into(),
                scope: "contact.email".into(),
            },
            ReleasedField {
                key: "sizes.shoe".into(),
                label: "Shoe size".into(),
                version: 1,
                value: "39".into(),
                scope: "sizes".into(),
            },
        ]),
        empty_scopes: Vec::new(),
        ended: None,
    };
    let sealed = release::seal(&doc, &signer, &target.encryption_key).expect("seal");
    let payload = serde_json::to_vec(&doc).expect("json");
    let jwk = josekit::jwk::Jwk::from_map(target.encryption_key.jwk.clone()).expect("jwk");
    let encrypter = josekit::jwe::ECDH_ES.encrypter_from_jwk(&jwk).expect("encrypter");
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A256GCM");
    let bare = rate(|| {
        black_box(josekit::jwe::serialize_compact(&payload, &header, &encrypter).expect("encrypt"));
    });
    let seals = rate(|| {
        black_box(release::seal(&doc, &signer, &target.encryption_key).expect("seal"));
    });
    println!(
        "\n== sealing (payload {} bytes, sealed {} bytes) ==",
        payload.len(),
        sealed.body.len()
    );
    println!("bare ECDH-ES + A256GCM encryptions: {bare:>8.0}/s");
    println!(
        "releases sealed (JWS + JWE):        {seals:>8.0}/s   ratio {:.2} (goal >= 0.5)",
        seals / bare
    );

    // 2. Fan-out of one edit to 1,000 live grants.
    let tmp = tempfile::tempdir().expect("tmp");
    let n = 1000;
    let t = Instant::now();
    let vault = vault_with_grants(&tmp.path().join("fan"), n, &target);
    println!(
        "\n== fan-out (a vault with {n} live grants covering contact.email, made in {:.1} s) ==",
        t.elapsed().as_secs_f64()
    );
    let mut store = vault.connect().expect("store");
    // Deliver the grant releases first, so the updates are the only pending work.
    {
        let tx = store.conn_mut().transaction().expect("tx");
        tx.execute("UPDATE deliveries SET status = 'delivered', attempts = 1", [])
            .expect("mark");
        tx.commit().expect("commit");
    }
    let mut single = Vec::new();
    let mut fan = Vec::new();
    for i in 0..5 {
        let tx = store.conn_mut().transaction().expect("tx");
        let t = Instant::now();
        locket_vault::profile::set(&tx, "sizes.shoe", serde_json::json!(36 + i)).expect("set");
        tx.commit().expect("commit");
        single.push(t.elapsed());
        let tx = store.conn_mut().transaction().expect("tx");
        let t = Instant::now();
        locket_vault::profile::set(&tx, "contact.email", serde_json::json!(format!("ada{i}@example.org")))
            .expect("set");
        let queued = outbox::queue_updates_for_field(&tx, "contact.email", Utc::now()).expect("queue");
        tx.commit().expect("commit");
        fan.push(t.elapsed());
        assert!(i > 0 || queued == n, "queued {queued}");
        // Seal the waiting updates' slot so the next round queues again (coalescing would skip it).
        store
            .conn()
            .execute("UPDATE deliveries SET body = 'x', sha256 = 'x' WHERE body IS NULL", [])
            .expect("unblock");
    }
    single.sort();
    fan.sort();
    let (s, f) = (single[2], fan[2]);
    println!(
        "one edit, one row committed:             {:>8.2} ms (median of 5)",
        s.as_secs_f64() * 1e3
    );
    println!(
        "one edit + {n} updates queued, one commit: {:>8.2} ms (median of 5)   ratio {:.1}x",
        f.as_secs_f64() * 1e3,
        f.as_secs_f64() / s.as_secs_f64()
    );
    drop(store);

    // 3. Draining: seal + record each due release (what a pass does besides the POST).
    let vault = vault_with_grants(&tmp.path().join("drain"), 500, &target);
    let issuers = Issuers::for_vault(&vault);
    let writer = vault.writer().expect("writer");
    let store = vault.connect().expect("store");
    let t = Instant::now();
    let mut done = 0;
    loop {
        let ids = outbox::due_ids(store.conn(), Utc::now(), 64).expect("due");
        if ids.is_empty() {
            break;
        }
        for id in ids {
            let (i, rid) = (issuers.clone(), id.clone());
            writer
                .submit(move |tx| outbox::seal_due(tx, &i, &rid, Utc::now()))
                .expect("seal");
            writer
                .submit(move |tx| outbox::record_attempt(tx, &id, &Attempt::Delivered { status: 200 }, 0.5, Utc::now()))
                .expect("record");
            done += 1;
        }
    }
    let drained = done as f64 / t.elapsed().as_secs_f64();
    println!("\n== outbox drain without the network ({done} grant releases) ==");
    println!("sealed, recorded and acknowledged:  {drained:>8.0} releases/s");

    // 4. The same, to the reference retailer server over HTTPS.
    let over_https = drain_to_reference_server(
        tmp.path(),
        if std::env::var_os("LOCKET_BENCH_QUICK").is_some() {
            20
        } else {
            100
        },
    );
    println!("\n== outbox drain to the reference retailer server over HTTPS on loopback ==");
    println!(
        "{} grant releases delivered and stored by the shop: {:>8.0} releases/s   ratio to the drain without network {:.2}",
        over_https.0,
        over_https.1,
        over_https.1 / drained
    );
}

/// Connects `n` requests published by an in-process reference server, approves them, and times the passes that
/// deliver the `n` grant releases to it. Returns (delivered, releases per second).
fn drain_to_reference_server(dir: &std::path::Path, n: usize) -> (usize, f64) {
    use locket_retailer_server::publish::{publish, PublishOptions, ScopeAsk};
    use locket_retailer_server::server::{no_log, ServeConfig, Server};
    use locket_retailer_server::store::DataDir;
    let shop_dir = dir.join("shop");
    let data = DataDir::new(&shop_dir);
    data.write_keys(&RetailerKeys::generate().expect("keys"), false)
        .expect("keys");
    let tls = locket_retailer_server::devcert::write_dev_cert("shop.test", &shop_dir.join("tls"), false).expect("cert");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = ServeConfig {
        origin: format!("https://shop.test:{port}"),
        listen: format!("127.0.0.1:{port}").parse().expect("listen"),
        tls_cert: tls.cert.clone(),
        tls_key: tls.key.clone(),
        data: shop_dir.clone(),
        name: Some("Bench Shop".into()),
        contact: None,
        privacy_policy: None,
    };
    let server = rt.block_on(Server::bind(&config, no_log())).expect("bind");
    rt.spawn(server.run(std::future::pending::<()>()));
    let net = locket_app::net::Net::new(locket_app::net::NetPolicy {
        allow_loopback: true,
        extra_ca_pem: vec![std::fs::read(&tls.ca).expect("ca")],
        resolve: vec![("shop.test".into(), std::net::IpAddr::from([127, 0, 0, 1]))],
        ..locket_app::net::NetPolicy::default()
    })
    .expect("net");
    let (vault, _) = Vault::create(
        &dir.join("https"),
        &Passphrase::new("bench passphrase".into()),
        KdfParams::for_tests(),
    )
    .expect("vault");
    let (session, _) = locket_app::Session::open_once(vault, "bench", locket_app::Options::cli()).expect("session");
    session
        .set_value("contact.email".into(), "ada@example.org".into())
        .expect("set");
    for _ in 0..n {
        let published = publish(
            &data,
            &PublishOptions {
                scopes: vec![ScopeAsk {
                    scope: "contact.email".into(),
                    purpose: locket_wire::Purpose::OrderFulfilment,
                    purpose_text: None,
                    required: true,
                }],
                duration: "P30D".into(),
                retention: "until_grant_ends".into(),
                statement: None,
                state: None,
                ttl: chrono::Duration::minutes(10),
            },
            Utc::now(),
        )
        .expect("publish");
        let req = session.connect(&published.link, &net).expect("connect");
        session
            .approve_with(&req.id, ApproveOptions::default(), Default::default(), None, |_| Ok(()))
            .expect("approve");
    }
    let t = Instant::now();
    let mut delivered = 0;
    while delivered < n {
        let pass = session.deliver_due(&net).expect("pass");
        assert_eq!(pass.failed, 0, "a delivery failed: {pass:?}");
        delivered += pass.delivered;
        if pass.delivered == 0 && pass.retrying > 0 {
            panic!("the shop refused or was unreachable: {pass:?}");
        }
    }
    (delivered, delivered as f64 / t.elapsed().as_secs_f64())
}
