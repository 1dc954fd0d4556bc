//! Issue 11, High 1 and Medium 2: what a restore or a rolled-back database must not undo. Through the real
//! `locket` binary and its real endpoint (`locket serve`): a restore of a backup taken before a revocation keeps
//! the grant revoked (`grant_revoked` over HTTP), keeps use counts and says so in `audit verify`; a damaged vault
//! recovered from a backup keeps its revocations; a backup's `vault.db` copied over the live one, or a lost WAL
//! after a crash, is refused at unlock as `vault_rolled_back` with nothing changed, and `backup accept-rollback`
//! keeps it with the revocations applied again.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::common::{locket_cmd, run_pw, s, snapshot, TestVault, PASS};
use locket_grants::Purpose;
use locket_retailer::RequestBuilder;
use serde_json::Value;

/// `locket serve` as a real process on a free loopback port.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        let mut cmd = locket_cmd(dir);
        cmd.args(["--passphrase-stdin", "serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
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
        Serve { child, url }
    }

    /// `GET /v1/data` with the token: status and body.
    fn fetch(&self, token: &str) -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/v1/data", self.url))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// The retailer gives the grant back over HTTP (`POST /v1/grant/revoke`): a revocation through the writer.
    fn retailer_revoke(&self, token: &str) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v1/grant/revoke", self.url))
            .bearer_auth(token)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// A crash: SIGKILL, so the WAL is never checkpointed into vault.db.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Granted {
    grant_id: String,
    token: String,
}

/// Imports a request from `shop` and approves it (optionally capped), returning the grant id and token.
fn approve(v: &TestVault, shop: &str, max_uses: Option<u32>) -> Granted {
    let req = RequestBuilder::new(
        shop,
        &format!("Shop {shop}"),
        &format!("https://{shop}"),
        &format!("privacy@{shop}"),
        &format!("https://{shop}/privacy"),
    )
    .scope("contact.email", Purpose::OrderFulfilment, None, true)
    .duration("P30D")
    .build()
    .unwrap();
    let file = v.tmp.path().join(format!("{shop}.req.json"));
    std::fs::write(&file, req.to_json_pretty()).unwrap();
    let id = run_pw(&v.dir, &["--json", "requests", "import", s(&file)]).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v.tmp.path().join(format!("{shop}.grant.json"));
    let mut args = vec!["--json", "grant", "approve", &id, "--out", s(&out)];
    let cap = max_uses.map(|m| m.to_string());
    if let Some(c) = &cap {
        args.extend(["--max-uses", c.as_str()]);
    }
    run_pw(&v.dir, &args).ok();
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    Granted {
        grant_id: file["grant_id"].as_str().unwrap().to_owned(),
        token: file["token"].as_str().unwrap().to_owned(),
    }
}

/// The grant's row as `grant list --json` shows it.
fn grant_row(v: &TestVault, id: &str) -> Value {
    let list = run_pw(&v.dir, &["--json", "grant", "list"]).json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|g| g["grant"]["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no grant {id} in {list}"))
}

fn newest_backup(v: &TestVault) -> String {
    run_pw(&v.dir, &["backup", "now"]).ok();
    let list = run_pw(&v.dir, &["--json", "backup", "list"]).json();
    list[0]["id"].as_str().unwrap().to_owned()
}

fn db(v: &TestVault) -> PathBuf {
    v.dir.join("vault.db")
}

#[test]
fn restoring_a_backup_from_before_a_revocation_keeps_the_grant_revoked_and_the_use_counts() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let revoked = approve(&v, "revoked.example", None);
    let capped = approve(&v, "capped.example", Some(5));
    let backup = newest_backup(&v);

    let server = Serve::start(&v.dir);
    assert_eq!(server.fetch(&revoked.token).0, 200);
    for _ in 0..3 {
        assert_eq!(server.fetch(&capped.token).0, 200);
    }
    server.stop();
    run_pw(&v.dir, &["grant", "revoke", &revoked.grant_id]).ok();
    let events_before = run_pw(&v.dir, &["--json", "audit", "verify"]).json()["events"]
        .as_u64()
        .unwrap();

    let restore = run_pw(&v.dir, &["--json", "backup", "restore", &backup, "--yes"]).json();
    // What the owner was told would come back, and what it did.
    let preview = &restore["preview"];
    assert_eq!(
        preview["revocationsKept"][0]["grantId"],
        revoked.grant_id.as_str(),
        "{restore}"
    );
    assert_eq!(preview["usesKept"][0]["grantId"], capped.grant_id.as_str(), "{restore}");
    let summary = preview["summary"].to_string();
    assert!(
        summary.contains("1 grant you revoked after this backup stay revoked"),
        "{summary}"
    );
    assert!(summary.contains("kept in the before-restore copy"), "{summary}");
    assert_eq!(restore["result"]["revocationsReapplied"][0], revoked.grant_id.as_str());

    // The reviewers' attack: the revoked grant's token is refused over the real endpoint.
    let server = Serve::start(&v.dir);
    let (status, body) = server.fetch(&revoked.token);
    assert_eq!((status, body["code"].as_str()), (403, Some("grant_revoked")), "{body}");
    assert_eq!(server.fetch(&capped.token).0, 200);
    server.stop();
    // Use counts were not reset: 3 before the restore + 1 after.
    assert_eq!(grant_row(&v, &capped.grant_id)["grant"]["uses"], 4);

    // `audit verify` says plainly that the log was restored and how many events were rolled back.
    let verify = run_pw(&v.dir, &["--json", "audit", "verify"]).json();
    assert_eq!(verify["restored"], true, "{verify}");
    let r = &verify["restores"][0];
    assert_eq!(r["cause"], "restore");
    assert_eq!(r["backup"], backup.as_str());
    assert_eq!(r["revocations_reapplied"], 1);
    assert!(r["rolled_back_events"].as_u64().unwrap() >= 5, "{r}");
    assert!(r["rolled_back_events"].as_u64().unwrap() <= events_before, "{r}");
    let text = run_pw(&v.dir, &["audit", "verify"]);
    assert!(text.ok().contains("RESTORED 1 time(s)"), "{}", text.stdout);
    assert!(
        text.stdout.contains("kept in the before-restore backup"),
        "{}",
        text.stdout
    );
}

#[test]
fn recovering_a_damaged_vault_from_a_backup_keeps_revocations() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let g = approve(&v, "shop.example", None);
    let backup = newest_backup(&v);
    run_pw(&v.dir, &["grant", "revoke", &g.grant_id]).ok();
    // Damage vault.db (the last connection checkpointed the WAL into it).
    let mut bytes = std::fs::read(db(&v)).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x21;
    std::fs::write(db(&v), &bytes).unwrap();
    let r = v.get("contact.email");
    r.code(4);
    assert!(
        r.stderr.contains(&format!("locket backup restore {backup}")),
        "{}",
        r.stderr
    );

    // The suggested command goes through the same re-apply path.
    let restore = run_pw(&v.dir, &["--json", "backup", "restore", &backup, "--yes"]).json();
    assert_eq!(
        restore["preview"]["revocationsKept"][0]["grantId"],
        g.grant_id.as_str(),
        "{restore}"
    );
    assert_eq!(grant_row(&v, &g.grant_id)["status"], "revoked");
    let server = Serve::start(&v.dir);
    assert_eq!(server.fetch(&g.token).1["code"], "grant_revoked");
    server.stop();
    let verify = run_pw(&v.dir, &["--json", "audit", "verify"]).json();
    assert_eq!(verify["restores"][0]["cause"], "recover", "{verify}");
}

#[test]
fn a_backup_copied_over_the_live_database_is_refused_then_accepted_with_revocations() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let g = approve(&v, "shop.example", None);
    let backup = newest_backup(&v);
    run_pw(&v.dir, &["grant", "revoke", &g.grant_id]).ok();
    // The attack without the key: put the backup's database back.
    std::fs::copy(v.dir.join("backups").join(&backup).join("vault.db"), db(&v)).unwrap();
    let before = snapshot(&v.dir);

    let r = v.get("contact.email");
    r.code(4);
    assert!(
        r.stderr.contains("vault_rolled_back") || r.stderr.contains("older than the vault"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("locket backup accept-rollback"), "{}", r.stderr);
    let json = run_pw(&v.dir, &["--json", "grant", "list"]);
    json.code(4);
    assert!(json.stderr.contains("\"vault_rolled_back\""), "{}", json.stderr);
    assert_eq!(snapshot(&v.dir), before, "a refused unlock changes no file");

    // The owner keeps the older copy on purpose: the revocation is applied again and recorded.
    run_pw(&v.dir, &["backup", "accept-rollback", "--yes"]).ok();
    assert_eq!(grant_row(&v, &g.grant_id)["status"], "revoked");
    let verify = run_pw(&v.dir, &["--json", "audit", "verify"]).json();
    let r = &verify["restores"][0];
    assert_eq!(
        (r["cause"].as_str(), r["revocations_reapplied"].as_u64()),
        (Some("rollback"), Some(1))
    );
    // Accepted once: the vault opens as usual and a second acceptance has nothing to do.
    v.get("contact.email").ok();
    let again = run_pw(&v.dir, &["backup", "accept-rollback", "--yes"]);
    again.code(7);
    assert!(again.stderr.contains("not rolled back"), "{}", again.stderr);
}

#[test]
fn a_lost_wal_after_a_crash_is_detected() {
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let g = approve(&v, "shop.example", None);
    let server = Serve::start(&v.dir);
    assert_eq!(server.fetch(&g.token).0, 200);
    // A revocation committed by the endpoint's writer: in the WAL only, then the process dies.
    server.retailer_revoke(&g.token);
    server.kill9();
    assert!(v.dir.join("vault.db-wal").exists());
    std::fs::remove_file(v.dir.join("vault.db-wal")).unwrap();
    let _ = std::fs::remove_file(v.dir.join("vault.db-shm"));
    let before = snapshot(&v.dir);
    let r = run_pw(&v.dir, &["--json", "grant", "list"]);
    r.code(4);
    assert!(r.stderr.contains("\"vault_rolled_back\""), "{}", r.stderr);
    assert_eq!(snapshot(&v.dir), before, "a refused unlock changes no file");
    // Accepting it applies the retailer's revocation again from the ledger.
    run_pw(&v.dir, &["backup", "accept-rollback", "--yes"]).ok();
    assert_eq!(grant_row(&v, &g.grant_id)["status"], "revoked");
}

/// The keychain copy of the anchor (real Secret Service: gnome-keyring in a private D-Bus session) sees a
/// rollback of the *whole* folder — database, anchor and ledger put back together — which the files alone
/// cannot: the revocation's batch updated the keychain copy.
#[test]
fn the_keychain_copy_detects_a_whole_folder_rollback() {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        let found = std::process::Command::new("which")
            .arg(tool)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "{tool} is missing: install gnome-keyring and dbus-x11 (scripts/setup does)"
        );
    }
    let v = TestVault::new();
    v.set("contact.email", "owner@example.org");
    let g = approve(&v, "shop.example", None);
    let xdg = v.tmp.path().join("xdg");
    let runtime = xdg.join("run");
    std::fs::create_dir_all(xdg.join("data")).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let locket = format!("{} --vault '{}'", crate::common::bin(), v.dir.display());
    let copy = v.tmp.path().join("folder-copy");
    let script = format!(
        r#"set -e
echo -n keyring-test-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
printf '%s\n' '{PASS}' | {locket} --passphrase-stdin keychain on
cp -a '{dir}' '{copy}'
{locket} grant revoke {grant}
rm -rf '{dir}'
cp -a '{copy}' '{dir}'
set +e
{locket} --json grant list > /dev/null 2> '{out}/rolled.txt'
echo $? > '{out}/rolled.code'
"#,
        dir = v.dir.display(),
        copy = copy.display(),
        grant = g.grant_id,
        out = v.tmp.path().display()
    );
    let mut c = std::process::Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", &script])
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("LOCKET_KDF_PROFILE", "test")
        .env_remove("LOCKET_VAULT")
        .stdin(Stdio::null());
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = std::fs::read_to_string(v.tmp.path().join("rolled.code")).unwrap();
    let stderr = std::fs::read_to_string(v.tmp.path().join("rolled.txt")).unwrap();
    assert_eq!(code.trim(), "4", "{stderr}");
    assert!(
        stderr.contains("\"vault_rolled_back\"") && stderr.contains("OS keychain"),
        "{stderr}"
    );
}
