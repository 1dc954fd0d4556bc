//! The `locket-retailer` binary: writing requests, inspecting grant files offline, and reporting errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_locket-retailer"))
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden")
        .join(name)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn request_new_writes_a_valid_request() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("req.json");
    let o = bin()
        .args([
            "request",
            "new",
            "--id",
            "shop.example",
            "--name",
            "Example Shop",
            "--origin",
            "https://shop.example",
        ])
        .args([
            "--contact",
            "privacy@shop.example",
            "--privacy-policy",
            "https://shop.example/privacy",
        ])
        .args([
            "--require",
            "contact.email=order_fulfilment",
            "--scope",
            "sizes=other:fit advice",
            "--duration",
            "P14D",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("Wrote"), "{stdout}");
    let bytes = std::fs::read(&out).unwrap();
    let req = locket_wire::request::parse_request(&bytes).unwrap();
    assert_eq!(req.scopes.len(), 2);
    assert!(req.scopes[0].required && !req.scopes[1].required);
    assert_eq!(req.scopes[1].purpose_text.as_deref(), Some("fit advice"));
    assert_eq!(req.requested_duration, "P14D");
}

#[test]
fn request_new_adds_a_benefit_and_recipients() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("req.json");
    let run = |extra: &[&str]| {
        bin()
            .args(["request", "new", "--id", "shop.example", "--name", "Example Shop"])
            .args(["--origin", "https://shop.example", "--contact", "privacy@shop.example"])
            .args(["--privacy-policy", "https://shop.example/privacy"])
            .args(["--require", "contact.email=order_fulfilment"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run(&[
        "--benefit",
        "4.99 EUR off your next order",
        "--offer",
        "discount_amount=4.99:EUR",
        "--recipient",
        "Parcel Express Ltd=processor:delivery:DE",
        "--recipient",
        "Insight Co=third_party:other:US:Market research",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let req = locket_wire::request::parse_request(&std::fs::read(&out).unwrap()).unwrap();
    let benefit = req.benefit.unwrap();
    assert_eq!(benefit.description, "4.99 EUR off your next order");
    assert_eq!(benefit.offer.unwrap().summary().as_deref(), Some("4.99 EUR off"));
    assert_eq!(req.recipients.len(), 2);
    assert_eq!(req.recipients[0].country, "DE");
    assert_eq!(req.recipients[1].purpose_text.as_deref(), Some("Market research"));

    // Mistakes are named and nothing is written; an offer needs its words.
    std::fs::remove_file(&out).unwrap();
    for (extra, says) in [
        (
            &["--recipient", "Parcel Express=processor:delivery:UK"][..],
            "/recipients/0/country",
        ),
        (
            &["--recipient", "Parcel Express=courier:delivery:GB"][..],
            "unknown role",
        ),
        (
            &["--benefit", "Half price", "--offer", "discount_percent=150"][..],
            "/benefit/offer/percent",
        ),
        (&["--offer", "free_shipping"][..], "--benefit"),
    ] {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(text(&o).1.contains(says), "{extra:?}: {}", text(&o).1);
        assert!(!out.exists(), "{extra:?} wrote a request");
    }
}

#[test]
fn request_new_explains_mistakes() {
    let tmp = tempfile::tempdir().unwrap();
    let base = |extra: &[&str]| {
        let mut c = bin();
        c.args([
            "request",
            "new",
            "--id",
            "shop.example",
            "--name",
            "Example Shop",
            "--origin",
            "https://shop.example",
        ])
        .args([
            "--contact",
            "privacy@shop.example",
            "--privacy-policy",
            "https://shop.example/privacy",
        ])
        .args(extra)
        .arg("--out")
        .arg(tmp.path().join("r.json"));
        c.output().unwrap()
    };
    let o = base(&["--require", "contact.email=spam"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("unknown purpose"), "{}", text(&o).1);
    let o = base(&["--require", "contact.email=order_fulfilment", "--duration", "P1Y"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("/requested_duration"), "{}", text(&o).1);
    let o = base(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("r.json").exists());
}

#[test]
fn inspect_offline_verifies_the_golden_grant() {
    let o = bin()
        .args(["inspect", "--offline"])
        .arg(golden("grant.v1.json"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("Example Shop") && stdout.contains("signature verifies"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sizes — Sizes (for personalised recommendations"),
        "{stdout}"
    );

    let o = bin()
        .args(["inspect", "--offline", "--json"])
        .arg(golden("grant.v1.json"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["token_verified"], true);
    assert_eq!(doc["claims"]["aud"], "shop.example");
}

#[test]
fn tampered_or_unreachable_grants_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut grant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("grant.v1.json")).unwrap()).unwrap();

    // An edited token no longer verifies with the key in the file.
    let token = grant["token"].as_str().unwrap().to_owned();
    let (body, footer) = token.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = body.chars().collect();
    let i = 40;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    grant["token"] = serde_json::Value::String(format!("{}.{footer}", chars.into_iter().collect::<String>()));
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&grant).unwrap()).unwrap();
    let o = bin().args(["inspect", "--offline"]).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{:?}", text(&o));

    let o = bin()
        .args(["inspect", "--offline"])
        .arg(tmp.path().join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));

    // The golden grant points at 127.0.0.1:7419; aim it at a closed port instead.
    let mut grant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("grant.v1.json")).unwrap()).unwrap();
    grant["endpoint"] = "http://127.0.0.1:9".into();
    let gone = tmp.path().join("gone.json");
    std::fs::write(&gone, serde_json::to_string(&grant).unwrap()).unwrap();
    let o = bin().arg("fetch").arg(&gone).output().unwrap();
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("endpoint_unreachable") && stderr.contains("cannot reach"),
        "{stderr}"
    );
}

#[test]
fn receipt_verify_checks_the_grant_files_receipt_and_refuses_tampering() {
    let grant = golden("grant.v1.json");
    let o = bin().args(["receipt", "verify"]).arg(&grant).output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("cr_fedcba9876543210fedcba9876543210 v1 grant"),
        "{stdout}"
    );
    assert!(stdout.contains("signature verifies"), "{stdout}");

    // inspect --offline shows the receipt too.
    let o = bin().args(["inspect", "--offline"]).arg(&grant).output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("Receipt:   cr_fedcba9876543210fedcba9876543210 (grant"),
        "{stdout}"
    );
    assert!(stdout.contains("Receipt:   signature verifies"), "{stdout}");

    // The receipt alone, with the key taken from the grant file or given; without a key it is refused.
    let tmp = tempfile::tempdir().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&grant).unwrap()).unwrap();
    let receipt = tmp.path().join("receipt.json");
    std::fs::write(&receipt, doc["receipt"].to_string()).unwrap();
    let o = bin()
        .args(["receipt", "verify", "--json"])
        .arg(&receipt)
        .arg("--grant")
        .arg(&grant)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["verified"], true);
    let key = doc["public_key"].as_str().unwrap();
    let o = bin()
        .args(["receipt", "verify", "--key", key])
        .arg(&receipt)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let o = bin().args(["receipt", "verify"]).arg(&receipt).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("invalid_argument"), "{}", text(&o).1);

    // An altered receipt fails, in the grant file (the file is refused) and on its own.
    let mut bad = doc["receipt"].clone();
    bad["retention"]["statement"] = "We keep everything forever.".into();
    std::fs::write(&receipt, bad.to_string()).unwrap();
    let o = bin()
        .args(["receipt", "verify", "--key", key])
        .arg(&receipt)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    assert!(text(&o).1.contains("receipt_invalid_signature"), "{}", text(&o).1);
    let mut bad_file = doc.clone();
    bad_file["receipt"] = bad;
    let tampered = tmp.path().join("grant.json");
    std::fs::write(&tampered, bad_file.to_string()).unwrap();
    let o = bin().args(["receipt", "verify"]).arg(&tampered).output().unwrap();
    assert_eq!(o.status.code(), Some(5));
    assert!(text(&o).1.contains("grant_file_invalid"), "{}", text(&o).1);
    // A key from another vault does not verify it.
    let other = "k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    std::fs::write(&receipt, doc["receipt"].to_string()).unwrap();
    let o = bin()
        .args(["receipt", "verify", "--key", other])
        .arg(&receipt)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
}
