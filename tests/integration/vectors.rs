//! Must-refuse vectors (as age's testkit has): `tests/vectors/<format>/fail_*` files, each an input that the
//! real parser must refuse with the code `expected.json` gives, storing and changing nothing. The unaltered
//! golden each folder was made from (`tests/vectors/make_vectors.py`) is accepted, so every refusal comes from
//! the one thing the vector changed. Deep links are in `crates/app/tests/integration/links.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use locket_audit::{EventKind, Filter};
use locket_grants::receipt::verify_receipt;
use locket_grants::request::parse_request_at;
use locket_grants::store::{self, RequestSource};
use locket_grants::{GrantFile, TokenVerifier};
use locket_vault::export::{self, ExportSection};
use locket_vault::{Passphrase, Vault};
use serde_json::Value;

use crate::endpoint_support::Fixture;
use crate::kit::{self, vectors};

fn golden(name: &str) -> Vec<u8> {
    fs::read(kit::repo_root().join("tests/golden").join(name)).unwrap()
}

fn golden_json(name: &str) -> Value {
    serde_json::from_slice(&golden(name)).unwrap()
}

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
    out
}

fn count(vault: &Vault, table: &str) -> i64 {
    vault
        .connect()
        .unwrap()
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn grant_request_vectors_are_refused_and_nothing_is_stored() {
    let now = at("2026-11-24T15:00:00Z");
    let (_tmp, vault) = kit::vault();
    let source = RequestSource::File {
        path: "request.json".into(),
    };
    let import = |bytes: &[u8]| {
        let mut store = vault.connect().unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        let result = store::import_request(&tx, bytes, &source, now, None);
        // Committed whatever happened, as a caller that logs refusals does: a refusal must leave no request.
        tx.commit().unwrap();
        result
    };
    for v in vectors("grant-request") {
        if let Err(e) = parse_request_at(&v.bytes, now) {
            assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        }
        let e = import(&v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert_eq!(count(&vault, "requests"), 0, "{} stored a request", v.name);
    }
    let received = locket_audit::query(vault.connect().unwrap().conn(), &Filter::default(), None, 1000)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.kind == EventKind::RequestReceived && e.outcome == "ok")
        .count();
    assert_eq!(received, 0);
    import(&golden("grant-request.v1.json")).expect("the golden request is accepted");
    import(&golden("grant-request.v1.benefit-recipients.json"))
        .expect("the golden request with a benefit and recipients is accepted");
    assert_eq!(count(&vault, "requests"), 2);
}

#[test]
fn grant_file_vectors_are_refused() {
    // Parsing a grant file stores nothing anywhere; the retailer's tools only read it.
    for v in vectors("grant-file") {
        let e = GrantFile::parse(&v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    GrantFile::parse(&golden("grant.v1.json")).expect("the golden grant file is accepted");
}

#[test]
fn token_vectors_are_refused() {
    let grant = golden_json("grant.v1.json");
    let verifier =
        TokenVerifier::from_paserk(grant["public_key"].as_str().unwrap(), grant["issuer"].as_str().unwrap()).unwrap();
    let now = at("2026-11-30T00:00:00Z");
    for v in vectors("token") {
        let e = verifier.verify(v.text(), now).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    verifier
        .verify(grant["token"].as_str().unwrap(), now)
        .expect("the golden token verifies");
}

#[test]
fn consent_receipt_vectors_are_refused() {
    let text = String::from_utf8(golden("consent-receipt.v1.json")).unwrap();
    let key = golden_json("consent-receipt.v1.json")["issuer"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    for v in vectors("consent-receipt") {
        let e = verify_receipt(v.text(), &key).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    verify_receipt(&text, &key).expect("the golden receipt verifies");
    // A receipt from before benefits and recipients were recorded verifies with its own key.
    let older = String::from_utf8(golden("consent-receipt.v1.older.json")).unwrap();
    let older_key = golden_json("consent-receipt.v1.older.json")["issuer"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = verify_receipt(&older, &older_key).expect("the older golden receipt verifies");
    assert_eq!((r.benefit, r.recipients), (None, None));
}

fn sections() -> Vec<Box<dyn ExportSection>> {
    vec![
        Box::new(locket_audit::export::AuditSection),
        Box::new(locket_grants::export::GrantsSection),
    ]
}

/// Decodes and imports `bytes` into `vault` as `locket import` does, in a transaction kept only on success.
fn import_export(vault: &Vault, bytes: &[u8]) -> Result<(), export::ExportError> {
    let pass = Passphrase::new("golden-export-passphrase".into());
    let doc = export::decode(bytes, Some(&pass))?;
    let sections = sections();
    let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    export::import(&tx, &doc, &refs)?;
    tx.commit().unwrap();
    Ok(())
}

#[test]
fn export_vectors_are_refused_and_nothing_is_imported() {
    let (_tmp, vault) = kit::vault();
    for v in vectors("export") {
        let e = import_export(&vault, &v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert!(
            export::is_empty(vault.connect().unwrap().conn()).unwrap(),
            "{} imported something",
            v.name
        );
    }
    for name in ["export-v1/export.json", "export-v1/export.encrypted.json"] {
        let (_tmp, fresh) = kit::vault();
        import_export(&fresh, &golden(name)).unwrap_or_else(|e| panic!("the golden {name} imports: {e}"));
        assert!(!export::is_empty(fresh.connect().unwrap().conn()).unwrap());
    }
}

/// A copy of the golden v4 vault (passphrase `golden-passphrase`) in a temp dir.
fn golden_vault_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    fs::create_dir(&dir).unwrap();
    for f in [locket_vault::DB_FILE, locket_vault::SLOTS_FILE] {
        fs::copy(kit::repo_root().join("tests/golden/vault-v4").join(f), dir.join(f)).unwrap();
    }
    (tmp, dir)
}

#[test]
fn keyslots_vectors_are_refused_and_the_vault_is_untouched() {
    let pass = Passphrase::new("golden-passphrase".into());
    for v in vectors("keyslots") {
        let (_tmp, dir) = golden_vault_copy();
        fs::write(dir.join(locket_vault::SLOTS_FILE), &v.bytes).unwrap();
        let before = snapshot(&dir);
        let e = Vault::unlock(&dir, &pass).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert_eq!(snapshot(&dir), before, "{} changed the vault's files", v.name);
    }
    let (_tmp, dir) = golden_vault_copy();
    Vault::unlock(&dir, &pass).expect("the golden vault unlocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_header_vectors_are_refused_and_nothing_is_disclosed() {
    let fx = Fixture::start().await;
    let request = kit::Request::new().scope_keys(&["contact.email"]);
    let grant = kit::approved_grant(&fx.vault, &request, &fx.url).file;
    let events_before = fx.event_count();
    let mut refused = 0u64;
    for v in vectors("authorization") {
        // One header per line, `{token}` standing for the live grant's token; an empty file sends none.
        let text = v.text().replace("{token}", &grant.token);
        let mut req = fx.http.get(format!("{}/v1/data", fx.url));
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let value = reqwest::header::HeaderValue::from_bytes(line.as_bytes()).unwrap();
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], v.code.as_str(), "{}: {status} {body}", v.name);
        assert!(status >= 400, "{}: {status}", v.name);
        assert!(
            body.get("data").is_none() && body.get("fields").is_none(),
            "{}: {body}",
            v.name
        );
        refused += 1;
    }
    let store = fx.conn();
    assert_eq!(
        locket_grants::store::get_grant(store.conn(), &grant.grant_id)
            .unwrap()
            .uses,
        0,
        "a refused header counted a use"
    );
    // The only trace each refusal leaves is a refusal event (the first per code on its own, the rest counted
    // into a summary).
    fx.flush().await;
    let new = fx.events((fx.event_count() - events_before) as usize);
    assert_eq!(fx.refusals_in(new.len()), refused);
    assert!(new.iter().all(|e| e.outcome == "refused"), "{new:?}");
    assert!(new.iter().all(|e| e.fields.is_empty()), "{new:?}");
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "the live token itself is accepted: {body}");
    fx.stop().await;
}
