//! `locket profile`, `locket fields` and `locket settings` against real vaults.

use crate::common::*;
use serde_json::json;

#[test]
fn set_get_list_history_rm() {
    let v = TestVault::new();
    let r = run_pw(&v.dir, &["profile", "set", "contact.phone", "+44 20 7123 4567"]);
    assert!(
        r.ok().contains("contact.phone = +442071234567 (version 1)"),
        "{}",
        r.stdout
    );
    assert_eq!(v.get("contact.phone").ok().trim(), "+442071234567");
    v.set("contact.phone", "+4930123456");
    // Setting the same value again writes no new version.
    let r = run_pw(&v.dir, &["profile", "set", "contact.phone", "+4930123456"]);
    assert!(r.ok().contains("nothing changed"), "{}", r.stdout);

    let cur = run_pw(&v.dir, &["--json", "profile", "get", "contact.phone"]).json();
    assert_eq!(cur["version"], 2);
    assert_eq!(cur["value"], "+4930123456");
    assert_eq!(cur["is_default"], false);
    assert!(cur["set_at"].as_str().unwrap().ends_with('Z'));

    v.set("budget.range", "50-200 gbp");
    v.set("diet.allergies", "peanuts, sesame");
    v.set("channels.opt_in_email", "yes");
    let list = run_pw(&v.dir, &["profile", "list", "--json"]).json();
    let arr = list.as_array().unwrap();
    let find = |k: &str| arr.iter().find(|e| e["key"] == k).cloned().unwrap_or(json!(null));
    assert_eq!(
        find("budget.range")["value"],
        json!({"min": 50, "max": 200, "currency": "GBP"})
    );
    assert_eq!(find("diet.allergies")["value"], json!(["peanuts", "sesame"]));
    assert_eq!(find("channels.opt_in_email")["value"], true);
    // The other opt-ins are listed as off by default, version 0.
    let sms = find("channels.opt_in_sms");
    assert_eq!(
        (sms["value"].clone(), sms["version"].clone(), sms["is_default"].clone()),
        (json!(false), json!(0), json!(true))
    );
    let human = run_pw(&v.dir, &["profile", "list"]).ok().to_owned();
    assert!(
        human.contains("FIELD") && human.contains("50\u{2013}200 GBP") && human.contains("default"),
        "{human}"
    );
    // A group selector narrows the list.
    let contact = run_pw(&v.dir, &["--json", "profile", "list", "contact"]).json();
    assert_eq!(contact.as_array().unwrap().len(), 1);

    let r = run_pw(&v.dir, &["profile", "rm", "contact.phone"]);
    assert!(r.ok().contains("version 3"), "{}", r.stdout);
    run_pw(&v.dir, &["profile", "rm", "contact.phone"]).ok();
    let r = v.get("contact.phone");
    r.code(5);
    assert!(r.stderr.contains("contact.phone has no value"), "{}", r.stderr);

    let h = run_pw(&v.dir, &["--json", "profile", "history", "contact.phone"]).json();
    let versions: Vec<_> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["version"].clone(), e["value"].clone()))
        .collect();
    assert_eq!(
        versions,
        vec![
            (json!(1), json!("+442071234567")),
            (json!(2), json!("+4930123456")),
            (json!(3), json!(null))
        ]
    );
    let human = run_pw(&v.dir, &["profile", "history", "contact.phone"]).ok().to_owned();
    assert!(human.contains("v1") && human.contains("(removed)"), "{human}");
}

#[test]
fn validation_errors_name_field_and_rule_and_write_nothing() {
    let v = TestVault::new();
    let cases = [
        (
            "contact.phone",
            "020 7123 4567",
            "contact.phone: expected E.164, e.g. +442071234567",
        ),
        (
            "contact.email",
            "not-an-email",
            "contact.email: expected an email address",
        ),
        (
            "identity.date_of_birth",
            "21/04/1990",
            "identity.date_of_birth: expected a date as YYYY-MM-DD",
        ),
        (
            "contact.country",
            "UK",
            "contact.country: expected a two-letter ISO 3166-1 country code",
        ),
        ("sizes.shoe", "8.3", "sizes.shoe: must be in steps of 0.5"),
        ("budget.range", "200-50", "budget.range: min must not exceed max"),
        ("diet.allergies", "peanut", "diet.allergies: unknown option \"peanut\""),
        (
            "channels.opt_in_sms",
            "maybe",
            "channels.opt_in_sms: expected yes or no",
        ),
    ];
    for (key, value, message) in cases {
        let r = run_pw(&v.dir, &["profile", "set", key, value]);
        r.code(6);
        assert!(r.stderr.contains(message), "{key}: {}", r.stderr);
        let h = run_pw(&v.dir, &["--json", "profile", "history", key]).json();
        assert_eq!(h["history"], json!([]), "{key}: nothing written");
    }
    let r = run_pw(&v.dir, &["--json", "profile", "set", "contact.phone", "12"]);
    r.code(6);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "validation_failed");

    // Unknown fields: exit 5.
    let r = run_pw(&v.dir, &["profile", "set", "contact.fax", "123"]);
    r.code(5);
    assert!(r.stderr.contains("unknown field"), "{}", r.stderr);
    run_pw(&v.dir, &["profile", "get", "nope"]).code(5);
    // Bad usage: exit 2.
    run(&v.dir, &["profile", "set", "contact.email"], "").code(2);
}

#[test]
fn value_from_stdin() {
    let v = TestVault::new();
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "profile", "set", "notes.general", "-"],
        &format!("{PASS}\nfirst line\nsecond line\n"),
    );
    r.ok();
    let cur = run_pw(&v.dir, &["--json", "profile", "get", "notes.general"]).json();
    assert_eq!(cur["value"], "first line\nsecond line");
    assert!(!r.stderr.contains("process list"), "{}", r.stderr);
}

#[test]
fn a_personal_value_on_the_command_line_recommends_stdin() {
    let v = TestVault::new();
    let r = run_pw(&v.dir, &["profile", "set", "contact.phone", "+44 20 7123 4567"]);
    assert!(r.stderr.contains("process list"), "{}", r.stderr);
    assert!(r.stderr.contains("locket profile set contact.phone -"), "{}", r.stderr);
    r.ok();
    // From stdin: no warning; a low-sensitivity preference: no warning either.
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "profile", "set", "contact.phone", "-"],
        &format!("{PASS}\n+44 20 7123 4568\n"),
    );
    assert!(!r.stderr.contains("process list"), "{}", r.stderr);
    r.ok();
    let r = run_pw(&v.dir, &["profile", "set", "style.colours", "navy"]);
    assert!(!r.stderr.contains("process list"), "{}", r.stderr);
}

#[test]
fn custom_fields() {
    let v = TestVault::new();
    let r = run_pw(
        &v.dir,
        &[
            "fields",
            "add",
            "custom.shoe_width",
            "--type",
            "enum",
            "--options",
            "narrow,regular,wide",
            "--label",
            "Shoe width",
            "--sensitivity",
            "low",
        ],
    );
    assert!(r.ok().contains("Added custom field custom.shoe_width"));
    // Adding it twice is a validation error.
    run_pw(&v.dir, &["fields", "add", "custom.shoe_width", "--type", "text"]).code(6);
    // Bad keys and missing options are validation errors.
    run_pw(&v.dir, &["fields", "add", "contact.extra", "--type", "text"]).code(6);
    run_pw(&v.dir, &["fields", "add", "custom.pick", "--type", "enum"]).code(6);
    run_pw(&v.dir, &["fields", "add", "custom.x", "--type", "colour"]).code(2);

    let r = run_pw(&v.dir, &["profile", "set", "custom.shoe_width", "huge"]);
    r.code(6);
    assert!(
        r.stderr
            .contains("custom.shoe_width: expected one of: narrow, regular, wide"),
        "{}",
        r.stderr
    );
    v.set("custom.shoe_width", "wide");
    assert_eq!(v.get("custom.shoe_width").ok().trim(), "wide");

    let fields = run_pw(&v.dir, &["--json", "fields", "--custom"]).json();
    let custom: Vec<_> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["builtin"] == false)
        .collect();
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0]["label"], "Shoe width");
    assert_eq!(custom[0]["sensitivity"], "low");
    let only = run_pw(&v.dir, &["--json", "fields", "custom"]).json();
    assert_eq!(only["fields"].as_array().unwrap().len(), 1);

    run_pw(&v.dir, &["fields", "rm", "custom.shoe_width"]).ok();
    run_pw(&v.dir, &["fields", "rm", "custom.shoe_width"]).code(5);
    run_pw(&v.dir, &["profile", "get", "custom.shoe_width"]).code(5);
    // The history stays, ending in a removal.
    let h = run_pw(&v.dir, &["--json", "profile", "history", "custom.shoe_width"]).json();
    let vals: Vec<_> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].clone())
        .collect();
    assert_eq!(vals, vec![json!("wide"), json!(null)]);
}

#[test]
fn fields_catalog_without_a_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("none");
    let out = run(&nowhere, &["fields"], "").ok().to_owned();
    for needle in [
        "Contact (contact)",
        "contact.email",
        "diet.allergies",
        "sensitive",
        "channels.opt_in_post",
    ] {
        assert!(out.contains(needle), "missing {needle}:\n{out}");
    }
    let doc = run(&nowhere, &["fields", "--json"], "").json();
    let fields = doc["fields"].as_array().unwrap();
    assert!(fields.len() >= 30);
    let opt_ins: Vec<_> = fields
        .iter()
        .filter(|f| f["key"].as_str().unwrap().starts_with("channels.opt_in_"))
        .collect();
    assert_eq!(opt_ins.len(), 4);
    assert!(opt_ins.iter().all(|f| f["default"] == false && f["type"] == "bool"));
    let diet = run(&nowhere, &["--json", "fields", "diet"], "").json();
    assert!(diet["fields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["sensitivity"] == "sensitive"));
    let one = run(&nowhere, &["fields", "contact.phone"], "").ok().to_owned();
    assert!(
        one.contains("type: phone") && one.contains("example: locket profile set contact.phone"),
        "{one}"
    );
    run(&nowhere, &["fields", "nosuchgroup"], "").code(5);
    run(&nowhere, &["fields", "contact.fax"], "").code(5);
}

#[test]
fn settings_get_set() {
    let v = TestVault::new();
    let all = run_pw(&v.dir, &["--json", "settings"]).json();
    assert_eq!(all["endpoint.listen_address"], "127.0.0.1");
    assert_eq!(all["channels.opt_in_email"], json!(null));
    run_pw(&v.dir, &["settings", "set", "endpoint.port", "7420"]).ok();
    assert_eq!(
        run_pw(&v.dir, &["settings", "get", "endpoint.port"]).ok().trim(),
        "7420"
    );
    let r = run_pw(&v.dir, &["settings", "set", "endpoint.listen_address", "0.0.0.0"]);
    r.code(6);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
    run_pw(
        &v.dir,
        &[
            "settings",
            "set",
            "endpoint.cors_origins",
            "https://shop.example,http://localhost:3000",
        ],
    )
    .ok();
    let all = run_pw(&v.dir, &["--json", "settings", "list"]).json();
    assert_eq!(
        all["endpoint.cors_origins"],
        json!(["https://shop.example", "http://localhost:3000"])
    );
    run_pw(&v.dir, &["settings", "set", "keychain_enabled", "on"]).code(2);
}
