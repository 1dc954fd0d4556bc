//! Measures the `audit` export section on a real (SQLCipher) vault with N events: export (read + attestation),
//! the size of the section as pretty JSON (as `locket export` writes it), and import into a new vault
//! (full chain verification + verbatim insert + field index rebuild), then `verify` of the imported log.
//! `cargo run --release -p locket-audit --example export_scale -- 100000`
use std::time::Instant;

use locket_audit::export::{export_section, import_section, SectionDoc};
use locket_audit::{append, signing_public_key, verify, DisclosedField, EventKind, NewEvent, Outcome};
use locket_vault::{KdfParams, Passphrase, Vault};

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let pass = Passphrase::new("scale-test".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, _) = Vault::create(&dir.path().join("a"), &pass, KdfParams::for_tests()).expect("create vault");
    let mut store = vault.connect().expect("connect");
    let conn = store.conn_mut();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction().expect("tx");
        for _ in 0..10_000.min(n - done) {
            let i = done;
            let ev = NewEvent::new(EventKind::Redemption, Outcome::Ok)
                .retailer(format!("shop-{}", i % 50))
                .grant(format!("gr_{:032x}", i % 5000))
                .fields(vec![DisclosedField {
                    key: "contact.email".into(),
                    version: 1,
                }])
                .remote("127.0.0.1:50000")
                .user_agent("locket-retailer/0.1")
                .detail("route", "/v1/data");
            append(&tx, &ev).expect("append");
            done += 1;
        }
        tx.commit().expect("commit");
    }

    let t = Instant::now();
    let doc = export_section(store.conn()).expect("export");
    let export_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let bytes = serde_json::to_vec_pretty(&serde_json::to_value(&doc).expect("value")).expect("json");
    let json_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back: SectionDoc = serde_json::from_slice(&bytes).expect("parse");
    let parse_s = t.elapsed().as_secs_f64();

    let (target, _) = Vault::create(&dir.path().join("b"), &pass, KdfParams::for_tests()).expect("create vault");
    let mut dst = target.connect().expect("connect");
    let t = Instant::now();
    let tx = dst.conn_mut().transaction().expect("tx");
    let out = import_section(&tx, &back).expect("import");
    tx.commit().expect("commit");
    let import_s = t.elapsed().as_secs_f64();
    let pk = signing_public_key(target.signing_seed().expose()).expect("key");
    let t = Instant::now();
    let report = verify(dst.conn(), Some(&pk)).expect("verify");
    let verify_s = t.elapsed().as_secs_f64();
    assert!(report.ok(), "{report:?}");
    println!(
        "events={n} export={export_s:.2}s to_json={json_s:.2}s ({:.1} MiB, {:.0} B/event) parse={parse_s:.2}s \
         import={import_s:.2}s ({:?}) verify_after={verify_s:.2}s",
        bytes.len() as f64 / (1024.0 * 1024.0),
        bytes.len() as f64 / n.max(1) as f64,
        out.mode
    );
}
