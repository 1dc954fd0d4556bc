//! The whole vault survives export → wipe → import through the real `locket` binary: requests (pending,
//! approved, denied) with the owner's decisions, grants (as history: live ones become "moved"), the privacy
//! tables, and the full access log (redemptions over real HTTP included) with its hashes; `locket audit verify`
//! passes afterwards, and the owner's CSV/JSON exports of the log and the receipts export are complete.

use locket_grants::Issuers;
use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{run, run_pw, s, Server, TestVault, PASS};
use chrono::Utc;
use locket_grants::Purpose;
use locket_retailer::{Client, RequestBuilder};
use locket_vault::{Passphrase, Vault};
use serde_json::Value;

fn request_file(dir: &Path, name: &str, retailer: &str) -> std::path::PathBuf {
    let req = RequestBuilder::new(
        retailer,
        "Example Shop",
        &format!("https://{retailer}"),
        &format!("privacy@{retailer}"),
        &format!("https://{retailer}/privacy"),
    )
    .scope("contact.email", Purpose::OrderFulfilment, None, true)
    .scope("contact.phone", Purpose::MarketingSms, None, false)
    .duration("P30D")
    .build()
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, req.to_json_pretty()).unwrap();
    path
}

/// A small RFC 4180 reader (quoted cells, doubled quotes, CRLF) for checking the owner's CSV.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                other => cell.push(other),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            other => cell.push(other),
        }
    }
    assert!(!quoted, "unterminated quoted cell");
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Everything `locket` shows about requests, grants and the log, for comparing before and after.
struct Snapshot {
    requests: BTreeMap<String, Value>,
    grants: BTreeMap<String, Value>,
    events: Vec<Value>,
}

fn snapshot(dir: &Path) -> Snapshot {
    let requests = run_pw(dir, &["--json", "requests", "list"]).json();
    let requests = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap().to_owned();
            let full = run_pw(dir, &["--json", "requests", "show", &id]).json();
            (id, full)
        })
        .collect();
    let grants = run_pw(dir, &["--json", "grant", "list"]).json();
    let grants = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["grant"]["id"].as_str().unwrap().to_owned(), g.clone()))
        .collect();
    let mut events = run_pw(dir, &["--json", "audit", "--limit", "1000"]).json()["events"]
        .as_array()
        .unwrap()
        .clone();
    events.reverse();
    Snapshot {
        requests,
        grants,
        events,
    }
}

#[test]
fn export_wipe_import_keeps_requests_grants_privacy_data_and_the_whole_log() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    v.set("contact.phone", "+442071234567");
    let tmp = v.tmp.path();
    let client = Client::new().unwrap();

    // --- Build a vault with history: requests over HTTP and from files, decisions, redemptions, a revocation.
    let server = Server::start(&v.dir);
    let doc = std::fs::read(request_file(tmp, "a.json", "shop.example")).unwrap();
    let req_a = client.send_request(&server.url, &doc).unwrap().request_id;
    let grant_a_file = tmp.join("grant-a.json");
    run_pw(
        &v.dir,
        &[
            "grant",
            "approve",
            &req_a,
            "--only",
            "contact.email",
            "--max-uses",
            "5",
            "--note",
            "email only",
            "--endpoint",
            &server.url,
            "--out",
            s(&grant_a_file),
        ],
    )
    .ok();
    let grant_a = locket_retailer::load_grant(&grant_a_file).unwrap();
    for _ in 0..2 {
        let data = client.fetch(&grant_a).unwrap();
        assert_eq!(data.fields[0].value, "owner@example.org");
    }
    assert!(client.introspect(&grant_a).unwrap().active);

    let req_b = run_pw(
        &v.dir,
        &[
            "--json",
            "requests",
            "import",
            s(&request_file(tmp, "b.json", "other.example")),
        ],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grant_b_file = tmp.join("grant-b.json");
    run_pw(
        &v.dir,
        &[
            "grant",
            "approve",
            &req_b,
            "--endpoint",
            &server.url,
            "--out",
            s(&grant_b_file),
        ],
    )
    .ok();
    let grant_b = locket_retailer::load_grant(&grant_b_file).unwrap();
    assert_eq!(client.fetch(&grant_b).unwrap().fields.len(), 2);
    run_pw(
        &v.dir,
        &["grant", "revoke", &grant_b.grant_id, "--reason", "changed my mind"],
    )
    .ok();
    assert_eq!(client.fetch(&grant_b).unwrap_err().code(), "grant_revoked");

    let req_c = run_pw(
        &v.dir,
        &[
            "--json",
            "requests",
            "import",
            s(&request_file(tmp, "c.json", "third.example")),
        ],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run_pw(&v.dir, &["grant", "deny", &req_c, "--note", "no thanks"]).ok();
    let req_d = run_pw(
        &v.dir,
        &[
            "--json",
            "requests",
            "import",
            s(&request_file(tmp, "d.json", "fourth.example")),
        ],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(server);

    // Privacy data, a consent receipt and a signed head, written the way the app does.
    let receipt_id = {
        let vault = Vault::unlock(&v.dir, &Passphrase::new(PASS.into())).unwrap();
        let mut store = vault.connect().unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        let now = Utc::now();
        let g = locket_grants::store::get_grant(&tx, &grant_a.grant_id).unwrap();
        let r = locket_grants::store::get_request(&tx, &req_a).unwrap();
        let signer = Issuers::for_vault(&vault).receipt_signer(&g.retailer_id).unwrap();
        let ctx = locket_grants::receipt::ReceiptContext {
            event: locket_grants::receipt::ReceiptEvent::Grant,
            event_at: g.issued_at,
            issued_at: now,
            jurisdiction: "GB".into(),
            language: "en".into(),
            collection_method: "locket-cli".into(),
            remaining_scopes: None,
            note: None,
        };
        let receipt = locket_grants::receipt::issue_receipt(&tx, &signer, &g, &r.request, &ctx).unwrap();
        locket_grants::erasure::request_erasure(&tx, "other.example", Some(&grant_b.grant_id), Some("please"), now)
            .unwrap();
        locket_grants::erasure::set_alias(&tx, "shop.example", "shop-alias@example.org", now).unwrap();
        locket_grants::dp::set_budget(&tx, "shop.example", 4.0, now).unwrap();
        locket_audit::sign_head(&tx, vault.signing_seed().expose())
            .unwrap()
            .unwrap();
        tx.commit().unwrap();
        receipt.receipt_id
    };
    run_pw(&v.dir, &["audit", "verify"]).ok();

    let before = snapshot(&v.dir);
    assert_eq!(before.requests.len(), 4);
    assert_eq!(before.grants.len(), 2);
    let kinds = |events: &[Value], kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(kinds(&before.events, "redemption"), 3);
    assert!(kinds(&before.events, "refusal") >= 1);
    let receipts_before = tmp.join("receipts-before.json");
    run_pw(&v.dir, &["receipts", "export", "--out", s(&receipts_before)]).ok();

    // --- Export, check it against the documented schema, wipe, import.
    let export = tmp.join("all.json");
    let exported = run_pw(&v.dir, &["--json", "export", "--out", s(&export)]);
    let fingerprint = exported.json()["fingerprint"].as_str().unwrap().to_owned();
    exported.ok();
    assert_eq!(fingerprint.split(' ').count(), 8, "{fingerprint}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(include_str!("../../docs/schemas/export.v1.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema really describes the sections: a wrong outcome or an unknown column is rejected.
    let mut bad = doc.clone();
    bad["sections"]["audit"]["events"][0]["outcome"] = Value::from("maybe");
    assert!(!validator.is_valid(&bad));
    let mut bad = doc.clone();
    bad["sections"]["grants"]["grants"][0]["token"] = Value::from("v4.public.x");
    assert!(!validator.is_valid(&bad));
    let audit = &doc["sections"]["audit"];
    assert_eq!(audit["events"].as_array().unwrap().len(), before.events.len());
    // The writer signs a head after every batch with a decision, revocation or disclosure, plus the one above.
    let heads = audit["signed_heads"].as_array().unwrap().len();
    assert!(heads >= 1);
    let grants = &doc["sections"]["grants"];
    for table in [
        "requests",
        "grants",
        "consent_receipts",
        "erasure_requests",
        "email_aliases",
        "privacy_budgets",
    ] {
        assert!(!grants[table].as_array().unwrap().is_empty(), "{table}");
    }
    let old_vault_id = doc["source"]["vault_id"].as_str().unwrap().to_owned();

    run(&v.dir, &["wipe", "--yes"], "").ok();
    assert!(!v.dir.exists());
    let imported = run(
        &v.dir,
        &["--passphrase-stdin", "--json", "import", s(&export)],
        &format!("{PASS}\n"),
    );
    let summary = imported.json();
    imported.ok();
    assert_eq!(summary["imported"]["sections"], serde_json::json!(["audit", "grants"]));
    // The import names the vault that signed the file: the one that exported it.
    assert_eq!(summary["fingerprint"], fingerprint.as_str());
    assert_eq!(summary["source_vault_id"], old_vault_id.as_str());

    // --- Everything is back.
    let after = snapshot(&v.dir);
    assert_eq!(
        after.requests.keys().collect::<Vec<_>>(),
        before.requests.keys().collect::<Vec<_>>()
    );
    for (id, req) in &before.requests {
        let got = &after.requests[id];
        for member in ["status", "decision", "request", "received_at", "source"] {
            assert_eq!(got[member], req[member], "{id}.{member}");
        }
    }
    assert_eq!(after.requests[&req_c]["status"], "denied");
    assert_eq!(after.requests[&req_d]["status"], "pending");
    assert_eq!(after.requests[&req_a]["decision"]["note"], "email only");

    // Grants come back as history: the live one is revoked as "moved", the revoked one keeps its reason.
    assert_eq!(
        after.grants.keys().collect::<Vec<_>>(),
        before.grants.keys().collect::<Vec<_>>()
    );
    let a = &after.grants[&grant_a.grant_id];
    assert_eq!(before.grants[&grant_a.grant_id]["status"], "active");
    assert_eq!(
        (a["status"].as_str(), a["grant"]["revoke_reason"].as_str()),
        (Some("revoked"), Some("moved"))
    );
    assert_eq!(a["grant"]["uses"], 2);
    assert_eq!(
        a["grant"]["scopes"],
        before.grants[&grant_a.grant_id]["grant"]["scopes"]
    );
    let b = &after.grants[&grant_b.grant_id];
    assert_eq!(b["grant"], before.grants[&grant_b.grant_id]["grant"]);

    // The access log: every old event with its hash, then `imported`, then the move of the live grant.
    let n = before.events.len();
    assert_eq!(after.events.len(), n + 2, "{:#?}", &after.events[n..]);
    for (old, new) in before.events.iter().zip(&after.events) {
        assert_eq!(old, new);
    }
    let imp = &after.events[n];
    assert_eq!(imp["kind"], "imported");
    assert_eq!(imp["detail"]["mode"], "verbatim");
    assert_eq!(imp["detail"]["source_vault_id"], old_vault_id.as_str());
    assert_eq!(imp["detail"]["source_head"]["hash"], before.events[n - 1]["hash"]);
    assert_eq!(imp["detail"]["source_signed_heads"].as_array().unwrap().len(), heads);
    let moved = &after.events[n + 1];
    assert_eq!(
        (moved["kind"].as_str(), moved["grant_id"].as_str()),
        (Some("grant_revoked"), Some(grant_a.grant_id.as_str()))
    );
    assert_eq!(moved["detail"]["reason"], "moved");
    let verified = run_pw(&v.dir, &["--json", "audit", "verify"]);
    let report = verified.json();
    verified.ok();
    assert_eq!(report["events"], (n + 2) as u64);
    let human = run_pw(&v.dir, &["audit", "verify"]);
    assert!(
        human.ok().contains(&format!(
            "from vault {old_vault_id}: {} signed head(s) of the old vault verify",
            heads + 1
        )),
        "{}",
        human.stdout
    );
    // Old heads stay verifiable with the public key stored in them.
    {
        let vault = Vault::unlock(&v.dir, &Passphrase::new(PASS.into())).unwrap();
        let store = vault.connect().unwrap();
        let checks = locket_audit::export::verify_imported(store.conn()).unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(
            checks[0].heads_verified,
            heads as u64 + 1,
            "the old signed heads and the export's attestation"
        );
        assert_eq!(checks[0].source_vault_id, old_vault_id);
    }
    // Field queries still work (the field index was rebuilt).
    let by_field = run_pw(&v.dir, &["--json", "audit", "--field", "contact.email"]).json();
    assert_eq!(by_field["events"].as_array().unwrap().len(), 3);

    // The privacy data and receipts are back.
    let receipts_after = tmp.join("receipts-after.json");
    run_pw(&v.dir, &["receipts", "export", "--out", s(&receipts_after)]).ok();
    let rb: Value = serde_json::from_str(&std::fs::read_to_string(&receipts_before).unwrap()).unwrap();
    let ra: Value = serde_json::from_str(&std::fs::read_to_string(&receipts_after).unwrap()).unwrap();
    assert_eq!(ra["format"], "locket.consent-receipts/v1");
    assert_eq!(ra["receipts"], rb["receipts"]);
    // Approving issued each grant's first receipt; the one written above follows them.
    assert!(ra["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["receipt_id"] == receipt_id.as_str()));
    {
        let vault = Vault::unlock(&v.dir, &Passphrase::new(PASS.into())).unwrap();
        let store = vault.connect().unwrap();
        let c = store.conn();
        let er = locket_grants::erasure::list(c, Some("other.example")).unwrap();
        assert_eq!(er.len(), 1);
        assert_eq!(er[0].grant_id.as_deref(), Some(grant_b.grant_id.as_str()));
        let alias = locket_grants::erasure::alias_for(c, "shop.example").unwrap().unwrap();
        assert_eq!(alias.alias, "shop-alias@example.org");
        assert_eq!(locket_grants::dp::budget(c, "shop.example").unwrap().total, 4.0);
    }

    // The retailer's old token cannot be redeemed at the new vault.
    let server = Server::start(&v.dir);
    let mut moved_grant = grant_a.clone();
    moved_grant.endpoint = server.url.clone();
    assert_eq!(client.fetch(&moved_grant).unwrap_err().code(), "token_unknown_key");
    drop(server);

    // --- The owner's exports of the log: CSV with one row per event, JSON with every event.
    let total = run_pw(&v.dir, &["--json", "audit", "--limit", "1000"]).json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let csv_path = tmp.join("log.csv");
    let r = run_pw(
        &v.dir,
        &["--json", "audit", "export", "--format", "csv", "--out", s(&csv_path)],
    );
    assert_eq!(r.json()["events"], total.len() as u64);
    let rows = parse_csv(&std::fs::read_to_string(&csv_path).unwrap());
    assert_eq!(rows[0], locket_audit::export::CSV_COLUMNS.map(str::to_owned).to_vec());
    assert_eq!(rows.len() - 1, total.len(), "one row per event");
    for (row, event) in rows[1..].iter().zip(total.iter().rev()) {
        assert_eq!(row.len(), 13);
        assert_eq!(row[0], event["seq"].to_string());
        assert_eq!(row[2], event["kind"].as_str().unwrap());
        assert_eq!(row[12], event["hash"].as_str().unwrap());
    }
    // Filters work as in `locket audit`; an existing file is not replaced without --force.
    let red = tmp.join("redemptions.csv");
    run_pw(
        &v.dir,
        &[
            "audit",
            "export",
            "--kind",
            "redemption",
            "--retailer",
            "shop.example",
            "--out",
            s(&red),
        ],
    )
    .ok();
    assert_eq!(parse_csv(&std::fs::read_to_string(&red).unwrap()).len(), 1 + 2);
    run_pw(&v.dir, &["audit", "export", "--out", s(&red)]).code(7);
    let json_path = tmp.join("log.json");
    run_pw(&v.dir, &["audit", "export", "--format", "json", "--out", s(&json_path)]).ok();
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(log["format"], "locket.audit-log/v1");
    assert_eq!(log["events"].as_array().unwrap().len(), total.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&csv_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn a_tampered_log_in_an_export_is_refused_and_nothing_is_imported() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let tmp = v.tmp.path();
    run_pw(
        &v.dir,
        &["requests", "import", s(&request_file(tmp, "a.json", "shop.example"))],
    )
    .ok();
    let export = tmp.join("all.json");
    run_pw(&v.dir, &["export", "--out", s(&export)]).ok();
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    doc["sections"]["audit"]["events"][0]["retailer"] = Value::from("evil.example");
    let tampered = tmp.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&doc).unwrap()).unwrap();

    let target = tmp.join("new");
    let r = run(
        &target,
        &["--passphrase-stdin", "--json", "import", s(&tampered)],
        &format!("{PASS}\n"),
    );
    r.code(4);
    assert!(r.stderr.contains("\"audit_section_not_intact\""), "{}", r.stderr);
    assert!(r.stderr.contains("not intact at event 1"), "{}", r.stderr);
    assert!(!target.exists(), "the vault made for the import is removed again");

    // The grants' key of another vault spliced in: refused before a vault is even made.
    let other = TestVault::new();
    let other_export = other.tmp.path().join("other.json");
    run_pw(&other.dir, &["export", "--out", s(&other_export)]).ok();
    let theirs: Value = serde_json::from_str(&std::fs::read_to_string(&other_export).unwrap()).unwrap();
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    doc["sections"]["grants"]["source"]["public_key"] = theirs["sections"]["grants"]["source"]["public_key"].clone();
    let spliced = tmp.join("spliced.json");
    std::fs::write(&spliced, serde_json::to_vec(&doc).unwrap()).unwrap();
    let r = run(
        &target,
        &["--passphrase-stdin", "--json", "import", s(&spliced)],
        &format!("{PASS}\n"),
    );
    assert!(r.stderr.contains("\"export_signer_mismatch\""), "{}", r.stderr);
    assert!(!target.exists(), "nothing was made or imported");
}

#[test]
fn importing_into_a_vault_whose_log_has_events_rechains_the_old_log() {
    let src = TestVault::new();
    src.set("contact.email", "owner@example.org");
    let tmp = src.tmp.path();
    let req = run_pw(
        &src.dir,
        &[
            "--json",
            "requests",
            "import",
            s(&request_file(tmp, "a.json", "shop.example")),
        ],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run_pw(&src.dir, &["grant", "approve", &req, "--out", s(&tmp.join("g.json"))]).ok();
    let old_events = run_pw(&src.dir, &["--json", "audit"]).json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let export = tmp.join("all.json");
    run_pw(&src.dir, &["export", "--out", s(&export)]).ok();

    // The target already logged a request of its own (its profile is empty, so the import is allowed).
    let dst = TestVault::new();
    run_pw(
        &dst.dir,
        &[
            "requests",
            "import",
            s(&request_file(dst.tmp.path(), "b.json", "other.example")),
        ],
    )
    .ok();
    run_pw(&dst.dir, &["import", s(&export)]).ok();

    let events = run_pw(&dst.dir, &["--json", "audit"]).json()["events"]
        .as_array()
        .unwrap()
        .clone();
    // Newest first: moved grant, imported, the re-chained old events, the target's own request.
    assert_eq!(events.len(), 1 + old_events.len() + 2);
    assert_eq!(events[0]["detail"]["reason"], "moved");
    assert_eq!(events[1]["kind"], "imported");
    assert_eq!(events[1]["detail"]["mode"], "rechained");
    let oldest_old = &old_events[old_events.len() - 1];
    let rechained = &events[events.len() - 2];
    assert_eq!(rechained["seq"], 2);
    assert_eq!(rechained["kind"], oldest_old["kind"]);
    assert_eq!(rechained["detail"]["imported"]["seq"], oldest_old["seq"]);
    assert_eq!(rechained["detail"]["imported"]["hash"], oldest_old["hash"]);
    let verified = run_pw(&dst.dir, &["audit", "verify"]);
    assert!(verified.ok().contains("Imported at event"), "{}", verified.stdout);
}
