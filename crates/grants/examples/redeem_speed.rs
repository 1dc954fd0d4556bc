//! CPU cost of the database half of a redemption (grant lookup, checks, value reads, use count) inside one
//! transaction, without the commit: `cargo run --release -p locket-grants --example redeem_speed`.
//! For information only; no test depends on it.

use chrono::Utc;
use locket_grants::redeem::redeem_verified;
use locket_grants::store::{self, ApproveOptions, RequestSource};
use locket_grants::Issuers;
use locket_vault::{profile, KdfParams, Passphrase, Vault};
use std::time::Instant;

fn main() {
    let tmp = std::env::temp_dir().join(format!("locket-redeem-speed-{}", std::process::id()));
    let (vault, _) = Vault::create(
        &tmp,
        &Passphrase::new("bench-passphrase".into()),
        KdfParams::for_tests(),
    )
    .expect("vault");
    let mut store = vault.connect().expect("store");
    for (k, v) in [
        ("contact.email", "\"a@example.org\""),
        ("contact.phone", "\"+442071234567\""),
    ] {
        profile::set(store.conn(), k, serde_json::from_str(v).expect("json")).expect("set");
    }
    let request = serde_json::json!({
        "format": "locket.grant-request/v1",
        "retailer": {"id": "shop.example", "name": "Shop", "origin": "https://shop.example",
                     "contact": "p@shop.example", "privacy_policy": "https://shop.example/p"},
        "scopes": [{"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
                   {"scope": "contact", "purpose": "delivery", "required": false}],
        "requested_duration": "P30D",
        "retention": {"max_duration": "until_grant_ends", "statement": "deleted"},
        "nonce": "bench-nonce-0000000000",
        "created_at": "2026-01-01T00:00:00Z"
    });
    let signer = Issuers::for_vault(&vault);
    let tx = store.conn_mut().transaction().expect("tx");
    let rec = store::import_request(
        &tx,
        &serde_json::to_vec(&request).expect("json"),
        &RequestSource::File { path: "bench".into() },
        Utc::now(),
        None,
    )
    .expect("import");
    let issued = store::approve(
        &tx,
        &signer,
        &rec.id,
        &ApproveOptions::default(),
        "http://127.0.0.1:7419",
        Utc::now(),
    )
    .expect("approve");
    tx.commit().expect("commit");
    let verified = signer
        .verifier()
        .expect("verifier")
        .verify(&issued.file.token, Utc::now())
        .expect("verify");

    let n = 20_000u32;
    let tx = store.conn_mut().transaction().expect("tx");
    let start = Instant::now();
    for _ in 0..n {
        redeem_verified(&tx, &verified, Utc::now()).expect("redeem");
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    drop(tx);
    println!(
        "redeem_verified (2 scopes, no commit): {rate:.0}/s ({:.1} µs each)",
        1e6 / rate
    );
    drop(store);
    drop(vault);
    let _ = std::fs::remove_dir_all(&tmp);
}
