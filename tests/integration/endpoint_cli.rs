//! `locket serve` as a real process: listens on loopback, answers, records the unlock, stops on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::common::{locket_cmd, run_pw, TestVault, PASS};

#[test]
fn serve_runs_until_terminated() {
    let v = TestVault::new();
    v.set("contact.email", "ada@example.org");
    let mut cmd = locket_cmd(&v.dir);
    cmd.args(["--passphrase-stdin", "serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASS}\n").as_bytes())
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();

    let http = reqwest::blocking::Client::new();
    let health: serde_json::Value = http.get(format!("{url}/v1/health")).send().unwrap().json().unwrap();
    assert_eq!(health["vault"], "unlocked");
    let resp = http.get(format!("{url}/v1/data")).send().unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "serve should stop cleanly on SIGTERM: {exit:?}");

    let log = run_pw(&v.dir, &["--json", "audit", "--limit", "5"]).json();
    let events = log["events"].as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["kind"] == "refusal" && e["reason"] == "authorization_missing"));
    assert!(events
        .iter()
        .any(|e| e["kind"] == "unlock" && e["detail"]["method"] == "serve"));
}

#[test]
fn serve_refuses_a_public_address_without_consent() {
    let v = TestVault::new();
    let r = run_pw(&v.dir, &["serve", "--listen", "0.0.0.0:0"]);
    r.code(2);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
}
