//! The `grants` export section against real SQLCipher vaults: every table round-trips, live grants come back as
//! "moved" history (logged), revoked and expired grants keep their history, pending requests stay decidable in
//! the new vault, and clashing or unknown rows are refused with nothing written.

use chrono::{Duration, Utc};
use locket_grants::export::{self, GrantsSection, MOVED_REASON};
use locket_grants::store::{self, ApproveOptions, RequestSource};
use locket_grants::Issuers;
use locket_grants::{dp, erasure, GrantStatus};
use locket_vault::export::ExportSection;
use locket_vault::{KdfParams, Passphrase, Store, Vault};
use serde_json::{json, Value};

fn new_vault() -> (tempfile::TempDir, Vault, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(
        &tmp.path().join("vault"),
        &Passphrase::new("correct horse battery".into()),
        KdfParams::for_tests(),
    )
    .unwrap();
    let store = vault.connect().unwrap();
    (tmp, vault, store)
}

fn request_doc(retailer: &str, nonce: &str) -> Vec<u8> {
    crate::kit::Request::fixture()
        .retailer(retailer)
        .retention("P90D", "Deleted 90 days after the order ships.")
        .nonce(nonce)
        .bytes()
}

fn import_request(store: &mut Store, retailer: &str, nonce: &str) -> String {
    let tx = store.conn_mut().transaction().unwrap();
    let source = RequestSource::File {
        path: "req.json".into(),
    };
    let rec = store::import_request(&tx, &request_doc(retailer, nonce), &source, Utc::now(), None).unwrap();
    tx.commit().unwrap();
    rec.id
}

fn approve(vault: &Vault, store: &mut Store, id: &str, at: chrono::DateTime<Utc>) -> String {
    let signer = Issuers::for_vault(vault);
    let tx = store.conn_mut().transaction().unwrap();
    let issued = store::approve(&tx, &signer, id, &ApproveOptions::default(), "http://127.0.0.1:9", at).unwrap();
    tx.commit().unwrap();
    issued.file.grant_id
}

#[test]
fn grants_and_privacy_tables_round_trip_and_live_grants_become_moved_history() {
    let (_t1, old, mut s1) = new_vault();
    let live_req = import_request(&mut s1, "shop.example", "nonce-live-000000001");
    let live = approve(&old, &mut s1, &live_req, Utc::now());
    let revoked_req = import_request(&mut s1, "other.example", "nonce-revoked-00000001");
    let revoked = approve(&old, &mut s1, &revoked_req, Utc::now());
    {
        let tx = s1.conn_mut().transaction().unwrap();
        store::revoke(&tx, &revoked, Some("changed my mind"), Utc::now()).unwrap();
        tx.commit().unwrap();
    }
    // Issued 60 days ago for 30 days: expired, never revoked.
    let expired_req = import_request(&mut s1, "third.example", "nonce-expired-00000001");
    let expired = approve(&old, &mut s1, &expired_req, Utc::now() - Duration::days(60));
    let pending_req = import_request(&mut s1, "fourth.example", "nonce-pending-00000001");
    {
        let tx = s1.conn_mut().transaction().unwrap();
        let now = Utc::now();
        erasure::request_erasure(&tx, "other.example", Some(&revoked), None, now).unwrap();
        erasure::set_alias(&tx, "shop.example", "alias-1@example.org", now).unwrap();
        dp::set_budget(&tx, "shop.example", 2.5, now).unwrap();
        tx.commit().unwrap();
    }

    let section = GrantsSection.export(s1.conn()).unwrap().unwrap();
    assert_eq!(section["format"], export::SECTION_FORMAT);
    assert!(section["source"]["key_id"].as_str().unwrap().starts_with("k4.pid."));
    assert_eq!(section["requests"].as_array().unwrap().len(), 4);
    assert_eq!(section["grants"].as_array().unwrap().len(), 3);
    // Decisions and scopes are embedded JSON; the request document stays the exact string received.
    assert!(section["requests"][0]["decision"].is_object());
    assert!(section["grants"][0]["scopes"].is_array());
    assert!(section["requests"][0]["document"].is_string());

    let (_t2, new, mut s2) = new_vault();
    let before_events = locket_audit::head(s2.conn()).unwrap().seq;
    {
        let tx = s2.conn_mut().transaction().unwrap();
        GrantsSection.import(&tx, &section).unwrap();
        tx.commit().unwrap();
    }
    let c = s2.conn();
    let now = Utc::now();
    let g = |id: &str| store::get_grant(c, id).unwrap();
    let moved = g(&live);
    assert_eq!(moved.status(now), GrantStatus::Revoked);
    assert_eq!(moved.revoke_reason.as_deref(), Some(MOVED_REASON));
    assert_eq!(
        g(&revoked).revoke_reason.as_deref(),
        Some("changed my mind"),
        "already revoked: unchanged"
    );
    assert_eq!(g(&expired).status(now), GrantStatus::Expired, "expired: unchanged");
    assert!(g(&expired).revoked_at.is_none());

    // One logged move, naming the old vault.
    let events = locket_audit::query(c, &locket_audit::Filter::default(), None, 100)
        .unwrap()
        .events;
    assert_eq!(events.len() as u64, before_events + 1);
    assert_eq!(events[0].kind, locket_audit::EventKind::GrantRevoked);
    assert_eq!(events[0].grant_id.as_deref(), Some(live.as_str()));
    assert_eq!(events[0].detail["moved_from"], json!(old.id()));

    // Requests with their decisions, and the privacy tables.
    for id in [&live_req, &revoked_req, &expired_req, &pending_req] {
        let a = store::get_request(s1.conn(), id).unwrap();
        let b = store::get_request(c, id).unwrap();
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap());
    }
    assert_eq!(erasure::list(c, None).unwrap(), erasure::list(s1.conn(), None).unwrap());
    assert_eq!(
        erasure::list_aliases(c).unwrap(),
        erasure::list_aliases(s1.conn()).unwrap()
    );
    assert_eq!(dp::budgets(c).unwrap(), dp::budgets(s1.conn()).unwrap());

    // The pending request can be decided in the new vault, with the new key.
    let fresh = approve(&new, &mut s2, &pending_req, Utc::now());
    assert_eq!(
        store::get_grant(s2.conn(), &fresh).unwrap().status(Utc::now()),
        GrantStatus::Active
    );
}

#[test]
fn clashing_or_unknown_rows_are_refused() {
    let (_t1, old, mut s1) = new_vault();
    let req = import_request(&mut s1, "shop.example", "nonce-clash-000000001");
    approve(&old, &mut s1, &req, Utc::now());
    let section = GrantsSection.export(s1.conn()).unwrap().unwrap();

    // Into the same vault: the rows exist already.
    let doc: export::SectionDoc = serde_json::from_value(section.clone()).unwrap();
    let e = export::import_section(s1.conn(), &doc, Utc::now()).unwrap_err();
    assert_eq!(e.code(), "import_target_not_empty");

    let (_t2, _new, mut s2) = new_vault();
    let mut bad: Value = section;
    bad["grants"][0]["token"] = json!("v4.public.x");
    let tx = s2.conn_mut().transaction().unwrap();
    let e = GrantsSection.import(&tx, &bad).unwrap_err();
    assert!(e.to_string().contains("no column `token`"), "{e}");
    drop(tx);
    assert!(store::list_requests(s2.conn(), None).unwrap().is_empty());
}
