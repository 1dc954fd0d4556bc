//! The owner's privacy commands through the real `locket` binary, with a shop using the retailer client
//! library against a real endpoint on loopback serving the same vault: the over-asking warning and
//! `grant approve --minimize`, consent receipts (in the grant file, narrowing, revoke; list/show/export, and
//! the shop verifying them), the ledger after an edit, erasure request → acknowledgement, aliases, budgets.

use crate::common::{run_pw, s, Server, TestVault};
use locket_grants::Purpose;
use locket_retailer::{load_grant, verify_receipts, Client, RequestBuilder};
use serde_json::json;

#[test]
fn privacy_commands_end_to_end() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    v.set("contact.country", "GB");
    v.set("identity.date_of_birth", "1990-05-01");
    let tmp = v.tmp.path();
    let server = Server::start(&v.dir);

    // A shop asks for the date of birth to check age: over-asking.
    let req = RequestBuilder::new(
        "shop.example",
        "Example Shop",
        "https://shop.example",
        "privacy@shop.example",
        "https://shop.example/privacy",
    )
    .scope("identity.date_of_birth", Purpose::AgeVerification, None, true)
    .scope("contact.email", Purpose::OrderFulfilment, None, true)
    .duration("P30D")
    .build()
    .unwrap();
    let req_path = tmp.join("req.json");
    std::fs::write(&req_path, req.to_json_pretty()).unwrap();
    let id = run_pw(&v.dir, &["--json", "requests", "import", s(&req_path)]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = run_pw(&v.dir, &["requests", "show", &id]);
    let text = shown.ok();
    assert!(text.contains("Privacy check") && text.contains("age_over:18"), "{text}");
    assert!(text.contains("--minimize"), "{text}");
    let shown = run_pw(&v.dir, &["--json", "requests", "show", &id]).json();
    assert_eq!(
        shown["suggested_minimization"],
        json!({"identity.date_of_birth": "age_over:18"})
    );
    assert_eq!(shown["privacy_warnings"][0]["code"], "over_asking");
    assert_eq!(
        shown["request"]["retailer"]["id"], "shop.example",
        "the record is still there"
    );

    // Grant the minimized answer instead.
    let grant_path = tmp.join("grant.json");
    let approved = run_pw(
        &v.dir,
        &[
            "--json",
            "grant",
            "approve",
            &id,
            "--minimize",
            "--endpoint",
            &server.url,
            "--out",
            s(&grant_path),
        ],
    )
    .json();
    assert_eq!(approved["decision"]["granted"], json!(["age_over:18", "contact.email"]));
    let grant = load_grant(&grant_path).unwrap();
    let receipt = grant.receipt.clone().expect("receipt in the grant file");
    assert_eq!(receipt.collection_method, "locket-cli");
    assert_eq!(receipt.jurisdiction, "GB");
    assert!(receipt
        .note
        .as_deref()
        .unwrap_or("")
        .contains("age_over:18 granted instead"));
    assert_eq!(
        verify_receipts(&std::fs::read(&grant_path).unwrap(), None)
            .unwrap()
            .len(),
        1
    );
    let shop = Client::new().unwrap();
    let data = shop.fetch(&grant).unwrap();
    let keys: Vec<&str> = data.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["age_over:18", "contact.email"]);
    assert!(!serde_json::to_string(&data).unwrap().contains("1990"));

    // The owner edits the email: the ledger and the shop's flag show it.
    let state = shop.introspect(&grant).unwrap();
    assert_eq!(state.data_changed_since, None);
    v.set("contact.email", "owner@new.example");
    let ledger = run_pw(&v.dir, &["ledger", "contact.email"]);
    assert!(
        ledger.ok().contains("1 shop holds your previous contact.email"),
        "{}",
        ledger.stdout
    );
    let rows = run_pw(&v.dir, &["--json", "ledger", "--retailer", "shop.example"]).json();
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["field_key"] == "identity.date_of_birth" && h["outdated_since"].is_null()));
    assert!(shop.introspect(&grant).unwrap().data_changed_since.is_some());

    // Erasure: the owner asks, the shop sees and acknowledges, the owner sees the date.
    run_pw(&v.dir, &["erasure", "request", "nobody.example"]).code(5);
    let asked = run_pw(
        &v.dir,
        &["--json", "erasure", "request", "shop.example", "--note", "bye"],
    )
    .json();
    let state = shop.introspect(&grant).unwrap();
    assert_eq!(state.erasure_requested_at.as_deref(), asked["requested_at"].as_str());
    let ack = shop.erasure_ack(&grant).unwrap();
    assert_eq!(ack.acknowledged, 1);
    let list = run_pw(&v.dir, &["--json", "erasure", "list"]).json();
    assert_eq!(list[0]["acknowledged_at"], json!(ack.requests[0].acknowledged_at));
    assert!(run_pw(&v.dir, &["erasure", "list"]).ok().contains("shop.example"));

    // Aliases and budgets.
    run_pw(&v.dir, &["alias", "set", "shop.example", "shop@alias.example"]).ok();
    let r = run_pw(
        &v.dir,
        &["--json", "alias", "set", "other.example", "shop@alias.example"],
    );
    assert_eq!(r.code, Some(7), "{}", r.stderr); // a conflict
    assert!(r.stderr.contains("alias_in_use"), "{}", r.stderr);
    assert_eq!(
        run_pw(&v.dir, &["--json", "alias", "list"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let budgets = run_pw(&v.dir, &["--json", "privacy", "budget"]).json();
    assert_eq!(budgets[0]["retailer_id"], "shop.example");
    assert_eq!(budgets[0]["spent"], 0.0);
    let set = run_pw(
        &v.dir,
        &["--json", "privacy", "budget", "--set", "shop.example", "--total", "2"],
    )
    .json();
    assert_eq!(set["total"], 2.0);

    // Narrow, then revoke: each yields a receipt; the shop fetches and verifies all three.
    run_pw(
        &v.dir,
        &["grant", "narrow", &grant.grant_id, "--withdraw", "contact.phone"],
    )
    .code(6);
    let narrowed = run_pw(
        &v.dir,
        &[
            "--json",
            "grant",
            "narrow",
            &grant.grant_id,
            "--withdraw",
            "contact.email",
        ],
    )
    .json();
    assert_eq!(narrowed["receipt"]["event"], "narrowing");
    let data = shop.fetch(&grant).unwrap();
    assert_eq!(
        data.fields.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(),
        ["age_over:18"]
    );
    let revoked = run_pw(
        &v.dir,
        &["--json", "grant", "revoke", &grant.grant_id, "--reason", "done"],
    )
    .json();
    assert_eq!(revoked["receipt"]["event"], "revoke");
    assert_eq!(revoked["receipt"]["note"], "done");
    let receipts = shop.receipts(&grant).unwrap();
    assert_eq!(
        receipts.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(),
        ["grant", "narrowing", "revoke"]
    );

    let listed = run_pw(&v.dir, &["--json", "receipts", "list", "--grant", &grant.grant_id]).json();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert!(run_pw(&v.dir, &["receipts", "list"]).ok().contains("narrowing"));
    let rid = listed[1]["receipt_id"].as_str().unwrap();
    let one = run_pw(&v.dir, &["receipts", "show", &rid[..12]]);
    let one: serde_json::Value = serde_json::from_str(one.ok()).unwrap();
    assert_eq!(one["receipt_id"], rid);
    run_pw(&v.dir, &["receipts", "show", "cr_nothing"]).code(5);
    let export = tmp.join("receipts.json");
    run_pw(&v.dir, &["receipts", "export", "--out", s(&export)]).ok();
    let verified = verify_receipts(&std::fs::read(&export).unwrap(), Some(&grant.public_key)).unwrap();
    assert_eq!(verified.len(), 3);
    // The grant card shows its consent record.
    let card = run_pw(&v.dir, &["grant", "show", &grant.grant_id]);
    let card = card.ok();
    assert!(card.contains("Receipts:") && card.contains("v3 revoke"), "{card}");
    assert!(
        card.contains("Erasure:   requested") && card.contains("acknowledged 20"),
        "{card}"
    );
    let card = run_pw(&v.dir, &["--json", "grant", "show", &grant.grant_id]).json();
    assert_eq!(card["receipts"].as_array().unwrap().len(), 3);
    assert!(card["erasure"]["erasure_acknowledged_at"].is_string());
    run_pw(&v.dir, &["audit", "verify"]).ok();
    drop(server);
}
