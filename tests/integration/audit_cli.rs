//! `locket audit` and `locket audit verify` driving the real binary.

use crate::common::{run_pw, TestVault, PASS};
use locket_audit::{append, DisclosedField, EventKind, NewEvent, Outcome};
use locket_vault::{Passphrase, Vault};

fn seed_events(dir: &std::path::Path) {
    let vault = Vault::unlock(dir, &Passphrase::new(PASS.into())).unwrap();
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    for i in 0..5 {
        let ev = NewEvent::new(EventKind::Redemption, Outcome::Ok)
            .retailer(if i % 2 == 0 { "shop.example" } else { "books.example" })
            .grant(format!("gr_{i}"))
            .fields(vec![DisclosedField {
                key: if i == 4 {
                    "contact.phone".into()
                } else {
                    "contact.email".into()
                },
                version: 1,
            }])
            .remote("127.0.0.1:50000");
        append(&tx, &ev).unwrap();
    }
    append(
        &tx,
        &NewEvent::refusal("grant_revoked", "redemption")
            .retailer("shop.example")
            .grant("gr_0"),
    )
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn listing_filters_and_paging() {
    let v = TestVault::new();
    seed_events(&v.dir);
    let all = run_pw(&v.dir, &["--json", "audit"]).json();
    let events = all["events"].as_array().unwrap();
    assert!(events.len() >= 6);
    assert_eq!(events[0]["kind"], "refusal", "newest first");
    assert_eq!(events[0]["reason"], "grant_revoked");

    let shop = run_pw(&v.dir, &["--json", "audit", "--retailer", "shop.example"]).json();
    assert_eq!(shop["events"].as_array().unwrap().len(), 4);
    let refused = run_pw(&v.dir, &["--json", "audit", "--outcome", "refused"]).json();
    assert_eq!(refused["events"].as_array().unwrap().len(), 1);
    let phone = run_pw(&v.dir, &["--json", "audit", "--field", "contact.phone"]).json();
    assert_eq!(phone["events"].as_array().unwrap().len(), 1);
    assert_eq!(phone["events"][0]["grant_id"], "gr_4");
    let grant = run_pw(&v.dir, &["--json", "audit", "--grant", "gr_0", "--kind", "redemption"]).json();
    assert_eq!(grant["events"].as_array().unwrap().len(), 1);
    let none = run_pw(&v.dir, &["--json", "audit", "--since", "2099-01-01"]).json();
    assert!(none["events"].as_array().unwrap().is_empty());
    let recent = run_pw(
        &v.dir,
        &["--json", "audit", "--since", "1h", "--retailer", "books.example"],
    )
    .json();
    assert_eq!(recent["events"].as_array().unwrap().len(), 2);

    // Paging: two at a time until the end, no duplicates.
    let mut seen = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let mut args = vec!["--json".to_string(), "audit".into(), "--limit".into(), "2".into()];
        if let Some(b) = before {
            args.push("--before".into());
            args.push(b.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let page = run_pw(&v.dir, &args).json();
        for e in page["events"].as_array().unwrap() {
            seen.push(e["seq"].as_u64().unwrap());
        }
        match page["next"].as_u64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), events.len());

    // Human output is a table naming the fields and versions.
    let text = run_pw(&v.dir, &["audit", "--field", "contact.phone"]).ok().to_string();
    assert!(text.contains("contact.phone@v1"), "{text}");
    assert!(
        text.contains("books.example") || text.contains("shop.example"),
        "{text}"
    );
    let timeline = run_pw(&v.dir, &["--json", "audit", "timeline", "--days", "2"]).json();
    assert!(timeline.as_array().unwrap()[0]["total"].as_u64().unwrap() >= 6);

    // Bad input is a usage error.
    run_pw(&v.dir, &["audit", "--since", "yesterday"]).code(2);
    run_pw(&v.dir, &["audit", "--outcome", "maybe"]).code(2);
}

#[test]
fn verify_passes_then_names_the_edited_event() {
    let v = TestVault::new();
    seed_events(&v.dir);
    let ok = run_pw(&v.dir, &["audit", "verify"]);
    assert!(ok.ok().contains("intact"), "{}", ok.stdout);
    let report = run_pw(&v.dir, &["--json", "audit", "verify"]).json();
    assert!(report["problem"].is_null());
    let head = report["head_seq"].as_u64().unwrap();
    assert!(head >= 6);

    // Someone with the key edits event 3 underneath Locket.
    {
        let vault = Vault::unlock(&v.dir, &Passphrase::new(PASS.into())).unwrap();
        let store = vault.connect().unwrap();
        let seq: i64 = store
            .conn()
            .query_row(
                "SELECT seq FROM audit_events WHERE grant_id = 'gr_2' AND kind = 'redemption'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        store
            .conn()
            .execute_batch("DROP TRIGGER audit_events_no_update")
            .unwrap();
        store
            .conn()
            .execute(
                "UPDATE audit_events SET remote_addr = '10.0.0.1:1' WHERE seq = ?1",
                [seq],
            )
            .unwrap();
        let r = run_pw(&v.dir, &["audit", "verify"]);
        r.code(4);
        assert!(r.stderr.contains(&format!("event {seq}")), "{}", r.stderr);
        let r = run_pw(&v.dir, &["--json", "audit", "verify"]);
        r.code(4);
        let doc = r.json();
        assert_eq!(doc["problem"]["seq"].as_i64(), Some(seq));
        assert_eq!(doc["problem"]["kind"], "hash_mismatch");
        assert!(r.stderr.contains("audit_chain_broken"), "{}", r.stderr);
    }
}
