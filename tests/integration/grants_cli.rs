//! The owner's grant commands through the real `locket` binary, and the retailer client library against a real
//! endpoint over loopback HTTP serving the same vault.

use std::path::Path;

use crate::common::{run_pw, s, Server, TestVault};
use locket_grants::Purpose;
use locket_retailer::{Client, RequestBuilder, RetailerError};
use serde_json::Value;

fn request_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let req = RequestBuilder::new(
        "shop.example",
        "Example Shop",
        "https://shop.example",
        "privacy@shop.example",
        "https://shop.example/privacy",
    )
    .scope("contact.email", Purpose::OrderFulfilment, None, true)
    .scope("contact.phone", Purpose::MarketingSms, None, false)
    .scope("identity", Purpose::AccountManagement, Some("your account"), false)
    .duration("P30D")
    .build()
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, req.to_json_pretty()).unwrap();
    path
}

#[test]
fn import_approve_subset_deny_revoke_through_the_cli() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    v.set("contact.phone", "+442071234567");
    v.set("identity.given_name", "Ada");
    let tmp = v.tmp.path();

    let imported = run_pw(
        &v.dir,
        &["--json", "requests", "import", s(&request_file(tmp, "req.json"))],
    );
    let id = imported.json()["id"].as_str().unwrap().to_owned();
    let shown = run_pw(&v.dir, &["requests", "show", &id[..10]]);
    let text = shown.ok();
    assert!(
        text.contains("Example Shop") && text.contains("contact.phone") && text.contains("marketing"),
        "{text}"
    );
    // Importing the same document again is a replay.
    run_pw(&v.dir, &["requests", "import", s(&tmp.join("req.json"))]).code(7);

    // A scope that was not requested is refused and leaves no grant file behind.
    let out = tmp.join("grant.json");
    let r = run_pw(
        &v.dir,
        &[
            "grant",
            "approve",
            &id,
            "--only",
            "contact.address_line1",
            "--out",
            s(&out),
        ],
    );
    r.code(6);
    assert!(r.stderr.contains("was not requested"), "{}", r.stderr);
    assert!(!out.exists());
    run_pw(&v.dir, &["grant", "approve", &id, "--expires", "31d", "--out", s(&out)]).code(6);
    assert!(!out.exists());

    let approved = run_pw(
        &v.dir,
        &[
            "--json",
            "grant",
            "approve",
            &id,
            "--only",
            "contact.email,identity",
            "--expires",
            "7d",
            "--max-uses",
            "2",
            "--endpoint",
            "http://127.0.0.1:9",
            "--out",
            s(&out),
        ],
    );
    let doc = approved.json();
    assert_eq!(
        doc["decision"]["granted"],
        serde_json::json!(["contact.email", "identity"])
    );
    assert_eq!(doc["decision"]["granted_duration"], "P7D");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["format"], "locket.grant/v1");
    assert_eq!(file["endpoint"], "http://127.0.0.1:9");
    assert_eq!(file["max_uses"], 2);
    assert!(!std::fs::read_to_string(&out).unwrap().contains("owner@example.org"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Decided once; and the output file is never overwritten.
    run_pw(&v.dir, &["grant", "approve", &id, "--out", s(&tmp.join("other.json"))]).code(7);
    assert!(!tmp.join("other.json").exists());

    let id2 = run_pw(
        &v.dir,
        &["--json", "requests", "import", s(&request_file(tmp, "req2.json"))],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run_pw(&v.dir, &["grant", "deny", &id2, "--note", "no thanks"]).ok();
    let listed = run_pw(&v.dir, &["--json", "requests", "list"]).json();
    let statuses: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"approved") && statuses.contains(&"denied"),
        "{statuses:?}"
    );

    let grant_id = file["grant_id"].as_str().unwrap();
    let revoked = run_pw(&v.dir, &["grant", "revoke", grant_id, "--reason", "test"]);
    assert!(revoked.ok().contains("Revoked grant"), "{}", revoked.stdout);
    let grants = run_pw(&v.dir, &["--json", "grant", "list"]).json();
    assert_eq!(grants[0]["status"], "revoked");
    run_pw(&v.dir, &["grant", "revoke", "gr_nope"]).code(5);
}

#[test]
fn retailer_client_against_a_real_endpoint() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    v.set("contact.phone", "+442071234567");
    let tmp = v.tmp.path();
    let server = Server::start(&v.dir);
    let client = Client::new().unwrap();

    // The retailer sends its request over HTTP; the owner sees it in the CLI.
    let doc = std::fs::read(request_file(tmp, "req.json")).unwrap();
    let submitted = client.send_request(&server.url, &doc).unwrap();
    let shown = run_pw(&v.dir, &["--json", "requests", "show", &submitted.request_id]).json();
    assert_eq!(shown["source"], "http");
    // A replay over HTTP is refused with the server's code.
    match client.send_request(&server.url, &doc) {
        Err(RetailerError::Refused { status: 409, code, .. }) => assert_eq!(code, "request_duplicate"),
        other => panic!("{other:?}"),
    }

    let out = tmp.join("grant.json");
    run_pw(
        &v.dir,
        &[
            "grant",
            "approve",
            &submitted.request_id,
            "--only",
            "contact.email",
            "--max-uses",
            "3",
            "--endpoint",
            &server.url,
            "--out",
            s(&out),
        ],
    )
    .ok();
    let grant = locket_retailer::load_grant(&out).unwrap();
    locket_retailer::verify_offline(&grant).unwrap();

    let data = client.fetch(&grant).unwrap();
    let keys: Vec<&str> = data.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, vec!["contact.email"]);
    assert_eq!(data.fields[0].value, "owner@example.org");
    assert_eq!(data.uses_left, Some(2));
    let state = client.introspect(&grant).unwrap();
    assert!(state.active);
    assert_eq!((state.uses, state.uses_left), (1, Some(2)));

    // The owner revokes with the CLI; the very next fetch is refused.
    run_pw(&v.dir, &["grant", "revoke", &grant.grant_id]).ok();
    match client.fetch(&grant) {
        Err(e @ RetailerError::Refused { .. }) => assert_eq!(e.code(), "grant_revoked"),
        other => panic!("{other:?}"),
    }
    let state = client.introspect(&grant).unwrap();
    assert_eq!((state.active, state.status.as_str()), (false, "revoked"));

    // A second grant, given back by the retailer.
    let id2 = run_pw(
        &v.dir,
        &["--json", "requests", "import", s(&request_file(tmp, "req2.json"))],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out2 = tmp.join("grant2.json");
    run_pw(
        &v.dir,
        &["grant", "approve", &id2, "--endpoint", &server.url, "--out", s(&out2)],
    )
    .ok();
    let grant2 = locket_retailer::load_grant(&out2).unwrap();
    assert!(!client.revoke(&grant2).unwrap().already_revoked);
    assert!(client.revoke(&grant2).unwrap().already_revoked);
    match client.fetch(&grant2) {
        Err(e) => assert_eq!(e.code(), "grant_revoked"),
        Ok(d) => panic!("{d:?}"),
    }
    let grants = run_pw(&v.dir, &["--json", "grant", "list"]).json();
    let by: Vec<&str> = grants
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["grant"]["revoked_by"].as_str())
        .collect();
    assert!(by.contains(&"retailer") && by.contains(&"owner"), "{by:?}");

    // An unreachable endpoint is reported as such.
    let mut gone = grant2.clone();
    gone.endpoint = "http://127.0.0.1:9".into();
    assert_eq!(client.fetch(&gone).unwrap_err().code(), "endpoint_unreachable");
    drop(server);
}

/// `requests show` says what the shop offers in return and who else gets the data, in plain words; a request
/// naming no one says so as the shop's claim; `list` counts them; `--json` carries both members as sent.
#[test]
fn requests_show_and_list_tell_the_benefit_and_the_recipients() {
    let v = TestVault::new();
    let tmp = v.tmp.path();
    let golden = crate::kit::repo_root().join("tests/golden/grant-request.v1.benefit-recipients.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
    doc["nonce"] = serde_json::json!(crate::kit::unique_nonce());
    doc["created_at"] = serde_json::json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let with = tmp.join("with.json");
    std::fs::write(&with, serde_json::to_vec(&doc).unwrap()).unwrap();
    let id = run_pw(&v.dir, &["--json", "requests", "import", s(&with)]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain_id = run_pw(
        &v.dir,
        &["--json", "requests", "import", s(&request_file(tmp, "plain.json"))],
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = run_pw(&v.dir, &["requests", "show", &id]).ok().to_owned();
    for line in [
        "  In return:   10% off — in the shop's words: \"10% off your next order, and delivery is free\"",
        "  Also gets your data, the shop says (3 recipients):",
        "    - Parcel Express Ltd — works for the shop, in United Kingdom (GB)",
        "        for delivery: Delivers your parcel",
        "    - PayFast Europe — works for the shop, in Ireland (IE)",
        "        for fraud prevention",
        "    - Insight Panel Inc. — uses your data for its own purposes, in United States (US)  ⚑ marketing/profiling",
        "        for personalised recommendations: Builds style profiles for our recommendations",
    ] {
        assert!(shown.lines().any(|l| l == line), "missing {line:?} in\n{shown}");
    }
    assert!(!shown.contains("nobody else"), "{shown}");

    let plain = run_pw(&v.dir, &["requests", "show", &plain_id]).ok().to_owned();
    assert!(plain.lines().any(|l| l == "  In return:   nothing offered"), "{plain}");
    assert!(
        plain.lines().any(|l| l == "  Shared with nobody else, the shop says."),
        "{plain}"
    );

    let listed = run_pw(&v.dir, &["requests", "list"]).ok().to_owned();
    assert!(listed.contains("SHARED WITH"), "{listed}");
    let row = |id: &str| listed.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
    assert!(row(&id).contains("3 others"), "{listed}");
    assert!(row(&plain_id).contains("nobody else"), "{listed}");

    let json = run_pw(&v.dir, &["--json", "requests", "show", &id]).json();
    assert_eq!(json["request"]["benefit"], doc["benefit"]);
    assert_eq!(json["request"]["recipients"], doc["recipients"]);
    let json = run_pw(&v.dir, &["--json", "requests", "show", &plain_id]).json();
    assert!(json["request"].get("benefit").is_none() && json["request"].get("recipients").is_none());
}
