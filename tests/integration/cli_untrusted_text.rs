//! Text a retailer wrote never reaches the owner's terminal as commands: requests holding control or
//! text-direction characters are refused on import, stored text the `locket` command prints is escaped, a
//! request says it is not verified and where its shop details differ from the first-seen ones, and output into
//! a closed pipe stops quietly.

use std::io::Write;
use std::process::Stdio;

use crate::common::{locket_cmd, run_pw, s, TestVault, PASS};
use crate::kit::Request;

/// The review's case: a shop name that clears the line, returns the cursor and retitles the terminal.
const HOSTILE_NAME: &str = "Nice Shop\u{1b}[2K\r\u{1b}]0;pwned\u{7}";

#[test]
fn a_request_with_terminal_escapes_is_refused_on_import_and_nothing_is_stored() {
    let v = TestVault::new();
    let file = v.tmp.path().join("hostile.json");
    std::fs::write(&file, Request::new().retailer_name(HOSTILE_NAME).bytes()).unwrap();

    let r = run_pw(&v.dir, &["requests", "import", s(&file)]);
    r.code(6);
    assert!(
        r.stderr.contains("/retailer/name") && r.stderr.contains("U+001B"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains("pwned") && !r.stdout.contains('\u{1b}'),
        "the refusal echoes the text: {:?}",
        r.stderr
    );
    let r = run_pw(&v.dir, &["--json", "requests", "import", s(&file)]);
    r.code(6);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "request_control_characters");

    let listed = run_pw(&v.dir, &["--json", "requests", "list"]).json();
    assert_eq!(listed, serde_json::json!([]), "a refused request was stored");
}

#[test]
fn stored_text_is_printed_escaped_and_identity_warnings_are_shown() {
    let v = TestVault::new();
    let tmp = v.tmp.path();
    let first = tmp.join("first.json");
    std::fs::write(&first, Request::new().bytes()).unwrap();
    let first_id = run_pw(&v.dir, &["--json", "requests", "import", s(&first)]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The owner's note is stored as typed; printed, its escape and line break are visible, not obeyed.
    run_pw(
        &v.dir,
        &[
            "grant",
            "deny",
            &first_id,
            "--note",
            "ok\u{1b}[2K\rDecision: approved\nfake line",
        ],
    )
    .ok();
    let shown = run_pw(&v.dir, &["requests", "show", &first_id]).ok().to_owned();
    assert!(!shown.contains('\u{1b}') && !shown.contains('\r'), "{shown:?}");
    assert!(
        shown.contains("note: ok\\u{1b}[2K\\u{d}Decision: approved\\u{a}fake line"),
        "{shown}"
    );
    assert!(!shown.lines().any(|l| l.starts_with("fake line")), "{shown}");
    assert!(
        shown.contains("Not verified: anyone can send a request claiming to be this shop."),
        "{shown}"
    );
    assert!(shown.contains("as a file you imported"), "{shown}");
    assert!(!shown.contains("Warning: this request's details differ"), "{shown}");

    // Another request claiming the same retailer id under another name is flagged, field by field — also within
    // the same second (times are stored to the second; a tie goes to the request stored first).
    let second = tmp.join("second.json");
    std::fs::write(&second, Request::new().retailer_name("Totally Example Shop").bytes()).unwrap();
    let imported = run_pw(&v.dir, &["requests", "import", s(&second)]).ok().to_owned();
    assert!(
        imported.contains("Warning: this request's details differ"),
        "{imported}"
    );
    let second_id = run_pw(&v.dir, &["--json", "requests", "list", "--status", "pending"]).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = run_pw(&v.dir, &["requests", "show", &second_id]).ok().to_owned();
    let first_name = serde_json::from_str::<serde_json::Value>(crate::kit::GRANT_REQUEST).unwrap()["retailer"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        shown.contains("Warning: this request's details differ from the ones this retailer first used:")
            && shown.contains(&format!(
                "  Name: first seen \"{first_name}\", this request says \"Totally Example Shop\""
            )),
        "{shown}"
    );
    let doc = run_pw(&v.dir, &["--json", "requests", "show", &second_id]).json();
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["via"], "file");
    assert_eq!(
        doc["retailer_changes"],
        serde_json::json!([{ "field": "name", "label": "name", "first_seen": first_name,
                             "claimed": "Totally Example Shop" }])
    );
    let listed = run_pw(&v.dir, &["requests", "list"]).ok().to_owned();
    assert!(
        listed.contains("not verified, ⚠ differs") && listed.contains("Not verified: anyone can send"),
        "{listed}"
    );
    let listed = run_pw(&v.dir, &["--json", "requests", "list"]).json();
    let changes =
        |id: &str| listed.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()["retailer_changes"].clone();
    assert_eq!(changes(&second_id)[0]["field"], "name");
    assert_eq!(changes(&first_id), serde_json::json!([]));
}

/// `locket … | head -1`: standard output closed before the command writes. It finishes without a panic.
#[test]
fn output_into_a_closed_pipe_stops_quietly() {
    let v = TestVault::new();
    for args in [
        &["audit", "--limit", "1000"][..],
        &["profile", "list"],
        &["--json", "audit", "--limit", "1000"],
    ] {
        let mut cmd = locket_cmd(&v.dir);
        cmd.arg("--passphrase-stdin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Close the reading end before the child can write (it first reads the passphrase and unlocks).
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let _ = writeln!(stdin, "{PASS}");
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("failed printing"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
