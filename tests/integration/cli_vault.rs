//! The `locket` binary against real vault directories: init, status, wrong passphrase, damaged files,
//! passphrase change (with crashes), recovery, keychain, export → wipe → import, no plaintext on disk.

use std::fs;
use std::process::Command;

use crate::common::*;

#[test]
fn init_status_and_refusing_a_second_init() {
    let v = TestVault::new();
    assert_eq!(v.recovery_key.len(), 47, "8 groups of 5 with dashes");
    assert!(v.dir.join("vault.db").exists() && v.dir.join("keyslots.json").exists());

    // Locked status: no passphrase needed, tells what it can.
    let r = run(&v.dir, &["status"], "");
    let out = r.ok();
    assert!(out.contains("Argon2id") && out.contains("Locked"), "{out}");
    let doc = run(&v.dir, &["status", "--json"], "").json();
    assert_eq!(doc["exists"], true);
    assert_eq!(doc["unlocked"], false);
    assert_eq!(doc["keychain_enabled"], false);

    // Unlocked status with the passphrase on stdin.
    v.set("contact.email", "alex@example.com");
    let doc = run_pw(&v.dir, &["--json", "status"]).json();
    assert_eq!(doc["unlocked"], true);
    assert_eq!(doc["fields_set"], 1);
    assert!(doc["schema_version"].as_i64().unwrap() >= 1);

    // A second init is refused (exit 7) and changes nothing.
    let before = snapshot(&v.dir);
    run(&v.dir, &["--passphrase-stdin", "init"], &format!("{PASS}\n")).code(7);
    assert_eq!(snapshot(&v.dir), before);

    // No vault: status and profile commands say so with exit 5.
    let empty = v.tmp.path().join("nothing-here");
    let r = run(&empty, &["status"], "");
    r.code(5);
    assert!(r.stdout.contains("locket init"));
    run_pw(&empty, &["profile", "list"]).code(5);
}

#[test]
fn init_validates_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let r = run(&dir, &["--passphrase-stdin", "init"], "short\n");
    r.code(6);
    assert!(r.stderr.contains("at least 8 characters"), "{}", r.stderr);
    assert!(!dir.join("keyslots.json").exists());
    // Missing stdin line: usage error.
    run(&dir, &["--passphrase-stdin", "init"], "").code(2);
    // No terminal and no --passphrase-stdin: usage error, not a hang.
    let mut c = locket_cmd(&dir);
    c.arg("init");
    c.env_remove("DISPLAY");
    let r = run_cmd_no_tty(c);
    r.code(2);
    assert!(r.stderr.contains("--passphrase-stdin"), "{}", r.stderr);
}

/// Runs without a controlling terminal (setsid), so a prompt cannot open /dev/tty.
fn run_cmd_no_tty(cmd: Command) -> Run {
    let mut c = Command::new("setsid");
    c.arg("-w").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    run_cmd(c, "")
}

#[test]
fn wrong_passphrase_exits_3_and_writes_nothing() {
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    let before = snapshot(&v.dir);
    for args in [
        vec!["profile", "get", "contact.email"],
        vec!["profile", "set", "contact.email", "eve@example.com"],
        vec!["export", "--out"],
    ] {
        let mut args: Vec<String> = args.into_iter().map(String::from).collect();
        if args[0] == "export" {
            args.push(v.tmp.path().join("x.json").display().to_string());
        }
        let mut full = vec!["--passphrase-stdin".to_owned()];
        full.extend(args);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let r = run(&v.dir, &refs, "not the passphrase\n");
        r.code(3);
        assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    }
    // The vault's own files are untouched; the failed attempts are noted beside them (time and reason only)…
    let mut after = snapshot(&v.dir);
    let pending = after
        .remove(&v.dir.join("audit-pending.jsonl"))
        .expect("failed unlocks are recorded");
    let pending = String::from_utf8(pending.0).unwrap();
    assert_eq!(pending.matches("wrong_passphrase").count(), 3, "{pending}");
    assert!(!pending.contains("not the passphrase"));
    assert_eq!(after, before, "bytes and mtimes unchanged");
    assert!(!v.tmp.path().join("x.json").exists());
    // …and carried into the hash-chained access log at the next successful unlock.
    let log = run_pw(&v.dir, &["--json", "audit", "--kind", "unlock_failed"]).json();
    assert_eq!(log["events"].as_array().unwrap().len(), 3, "{log}");
    assert!(!v.dir.join("audit-pending.jsonl").exists());
    run_pw(&v.dir, &["audit", "verify"]).ok();
    // JSON errors carry the stable code.
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "--json", "profile", "list"],
        "nope-nope\n",
    );
    r.code(3);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "wrong_passphrase");
    assert_eq!(v.get("contact.email").ok().trim(), "alex@example.com");
}

fn assert_damaged(v: &TestVault, what: &str) {
    let before = snapshot(&v.dir);
    let r = v.get("contact.email");
    r.code(4);
    assert!(
        r.stderr.contains("vault is damaged or not a Locket vault"),
        "{what}: {}",
        r.stderr
    );
    assert_eq!(snapshot(&v.dir), before, "{what}: files unchanged");
}

#[test]
fn damaged_database_is_reported_and_left_alone() {
    // Truncated database.
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    let db = v.dir.join("vault.db");
    let bytes = fs::read(&db).unwrap();
    fs::write(&db, &bytes[..bytes.len() / 2 + 100]).unwrap();
    assert_damaged(&v, "truncated db");

    // Flipped bytes in the middle of the database.
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    let db = v.dir.join("vault.db");
    let mut bytes = fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0x5a;
    }
    fs::write(&db, &bytes).unwrap();
    assert_damaged(&v, "flipped db");

    // Not a database at all.
    let v = TestVault::new();
    fs::write(v.dir.join("vault.db"), b"just some text, not SQLCipher").unwrap();
    assert_damaged(&v, "foreign db");
}

#[test]
fn damaged_key_slot_file_is_reported_and_left_alone() {
    // Truncated slot file.
    let v = TestVault::new();
    let slots = v.dir.join("keyslots.json");
    let bytes = fs::read(&slots).unwrap();
    fs::write(&slots, &bytes[..bytes.len() / 2]).unwrap();
    assert_damaged(&v, "truncated slots");
    // Status says so too (exit 4), without a passphrase.
    run(&v.dir, &["status"], "").code(4);

    // A flipped byte in the slot file's structure.
    let v = TestVault::new();
    let slots = v.dir.join("keyslots.json");
    let text = fs::read_to_string(&slots).unwrap();
    fs::write(&slots, text.replacen("\"format\"", "\"formXt\"", 1)).unwrap();
    assert_damaged(&v, "flipped slots");
}

#[test]
fn passphrase_change_and_recovery() {
    let v = TestVault::new();
    v.set("identity.given_name", "Alex");
    let new = "a brand new passphrase";
    // Wrong current passphrase: refused, nothing changes.
    run(
        &v.dir,
        &["--passphrase-stdin", "passphrase", "change"],
        &format!("wrong-one\n{new}\n"),
    )
    .code(3);
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "passphrase", "change"],
        &format!("{PASS}\n{new}\n"),
    );
    assert!(r.ok().contains("Passphrase changed"));
    run_pw(&v.dir, &["profile", "get", "identity.given_name"]).code(3);
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "profile", "get", "identity.given_name"],
        &format!("{new}\n"),
    );
    assert_eq!(r.ok().trim(), "Alex");

    // Recovery: a wrong key is refused with exit 3; the right one (typed in lower case with spaces) sets a new
    // passphrase.
    let bogus = "00000-00000-00000-00000-00000-00000-00000-00000";
    run(
        &v.dir,
        &["--passphrase-stdin", "recover"],
        &format!("{bogus}\n{PASS}\n"),
    )
    .code(3);
    run(&v.dir, &["--passphrase-stdin", "recover"], "not a key\nwhatever123\n").code(3);
    let typed = v.recovery_key.to_lowercase().replace('-', " ");
    run(
        &v.dir,
        &["--passphrase-stdin", "recover"],
        &format!("{typed}\n{PASS}\n"),
    )
    .ok();
    assert_eq!(v.get("identity.given_name").ok().trim(), "Alex");
    run(&v.dir, &["--passphrase-stdin", "profile", "list"], &format!("{new}\n")).code(3);
}

#[test]
fn crash_during_passphrase_change_leaves_old_or_new_working() {
    let new = "the new passphrase";
    for (point, expect_new) in [("keyslots-temp-written", false), ("keyslots-renamed", true)] {
        let v = TestVault::new();
        v.set("contact.email", "alex@example.com");
        let mut c = locket_cmd(&v.dir);
        c.env("LOCKET_CRASH_AT", point)
            .args(["--passphrase-stdin", "passphrase", "change"]);
        let r = run_cmd(c, &format!("{PASS}\n{new}\n"));
        assert_eq!(
            r.code, None,
            "{point}: the process must have been killed mid-change; {}",
            r.stderr
        );
        let old_ok = v.get("contact.email").code == Some(0);
        let r = run(
            &v.dir,
            &["--passphrase-stdin", "profile", "get", "contact.email"],
            &format!("{new}\n"),
        );
        let new_ok = r.code == Some(0);
        assert!(old_ok || new_ok, "{point}: neither passphrase opens the vault");
        assert_eq!((old_ok, new_ok), (!expect_new, expect_new), "{point}");
        // Whichever works, the data is intact.
        let pass = if new_ok { new } else { PASS };
        let r = run(
            &v.dir,
            &["--passphrase-stdin", "profile", "get", "contact.email"],
            &format!("{pass}\n"),
        );
        assert_eq!(r.ok().trim(), "alex@example.com");
    }
}

#[test]
fn no_plaintext_on_disk() {
    let v = TestVault::new();
    let marker = "zebra-quokka-7731";
    v.set("notes.general", &format!("remember {marker} please"));
    v.set("contact.email", &format!("{marker}@example.com"));
    v.set("identity.family_name", marker);
    // Also with a connection still open in WAL mode: check after every command; and check again now.
    let snap = snapshot(&v.dir);
    assert!(!snap.is_empty());
    for (path, (bytes, _)) in &snap {
        assert!(
            !contains(bytes, marker.as_bytes()),
            "{} holds the value in plain text",
            path.display()
        );
        assert!(
            !contains(bytes, PASS.as_bytes()),
            "{} holds the passphrase",
            path.display()
        );
        let rk = v.recovery_key.replace('-', "");
        assert!(
            !contains(bytes, rk.as_bytes()),
            "{} holds the recovery key",
            path.display()
        );
    }
    assert_eq!(v.get("identity.family_name").ok().trim(), marker);
}

#[test]
fn wipe_asks_for_confirmation_and_then_shreds() {
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    let before = snapshot(&v.dir);
    // No terminal and no --yes: refused.
    let r = run(&v.dir, &["wipe"], "");
    r.code(2);
    assert!(r.stderr.contains("--yes"));
    assert_eq!(snapshot(&v.dir), before);
    run(&v.dir, &["wipe", "--yes"], "").ok();
    assert!(!v.dir.join("keyslots.json").exists());
    assert!(!v.dir.join("vault.db").exists());
    run(&v.dir, &["wipe", "--yes"], "").code(5);
    run(&v.dir, &["status"], "").code(5);
}

fn history_json(dir: &std::path::Path, pass: &str, key: &str) -> serde_json::Value {
    let r = run(
        dir,
        &["--passphrase-stdin", "--json", "profile", "history", key],
        &format!("{pass}\n"),
    );
    r.ok();
    r.json()["history"].clone()
}

#[test]
fn export_wipe_import_round_trip() {
    let v = TestVault::new();
    v.set("contact.email", "old@example.com");
    v.set("contact.email", "new@example.com");
    v.set("budget.range", "50-200 GBP");
    v.set("diet.allergies", "peanuts,sesame");
    v.set("identity.given_name", "Alex");
    run_pw(&v.dir, &["profile", "rm", "identity.given_name"]).ok();
    run_pw(
        &v.dir,
        &[
            "fields",
            "add",
            "custom.shoe_width",
            "--type",
            "enum",
            "--options",
            "narrow,wide",
        ],
    )
    .ok();
    v.set("custom.shoe_width", "wide");
    run_pw(&v.dir, &["settings", "set", "auto_lock_minutes", "7"]).ok();
    let keys = [
        "contact.email",
        "budget.range",
        "diet.allergies",
        "identity.given_name",
        "custom.shoe_width",
    ];
    let before: Vec<_> = keys.iter().map(|k| history_json(&v.dir, PASS, k)).collect();

    let file = v.tmp.path().join("export.json");
    let r = run_pw(&v.dir, &["export", "--out", file.to_str().unwrap()]);
    r.ok();
    assert!(r.stderr.contains("plain text"), "export warns: {}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["format"], "locket.export/v1");
    // Refuses to overwrite without --force.
    run_pw(&v.dir, &["export", "--out", file.to_str().unwrap()]).code(7);

    run(&v.dir, &["wipe", "--yes"], "").ok();
    assert!(!v.dir.join("vault.db").exists());

    // Import creates a new vault (new passphrase on stdin) and prints its recovery key.
    let new_pass = "passphrase after import";
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "--json", "import", file.to_str().unwrap()],
        &format!("{new_pass}\n"),
    );
    r.ok();
    let out = r.json();
    assert_eq!(out["recovery_key"].as_str().unwrap().len(), 47);
    assert_eq!(out["imported"]["custom_fields"], 1);
    let after: Vec<_> = keys.iter().map(|k| history_json(&v.dir, new_pass, k)).collect();
    assert_eq!(
        before, after,
        "every version with its timestamp survives the round trip"
    );
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "settings", "get", "auto_lock_minutes"],
        &format!("{new_pass}\n"),
    );
    assert_eq!(r.ok().trim(), "7");

    // Importing again into the now non-empty vault is refused (exit 7).
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "import", file.to_str().unwrap()],
        &format!("{new_pass}\n"),
    );
    r.code(7);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
}

#[test]
fn encrypted_export_round_trip() {
    let v = TestVault::new();
    let marker = "heliotrope-5521@example.com";
    v.set("contact.email", marker);
    let file = v.tmp.path().join("export.locket");
    let export_pass = "export passphrase 1";
    let r = run(
        &v.dir,
        &[
            "--passphrase-stdin",
            "export",
            "--encrypt",
            "--out",
            file.to_str().unwrap(),
        ],
        &format!("{PASS}\n{export_pass}\n"),
    );
    r.ok();
    assert!(!r.stderr.contains("plain text"));
    let bytes = fs::read(&file).unwrap();
    assert!(
        !contains(&bytes, marker.as_bytes()),
        "encrypted export holds the value in plain text"
    );
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["format"], "locket.export.encrypted/v1");

    let other = v.tmp.path().join("other");
    // Wrong export passphrase: exit 3, no vault is created.
    let r = run(
        &other,
        &["--passphrase-stdin", "import", file.to_str().unwrap()],
        "wrong-export\nnew vault pass\n",
    );
    r.code(3);
    assert!(!other.join("keyslots.json").exists());
    // Right one: export passphrase first, then the new vault's passphrase.
    run(
        &other,
        &["--passphrase-stdin", "import", file.to_str().unwrap()],
        &format!("{export_pass}\nnew vault pass\n"),
    )
    .ok();
    let r = run(
        &other,
        &["--passphrase-stdin", "profile", "get", "contact.email"],
        "new vault pass\n",
    );
    assert_eq!(r.ok().trim(), marker);

    // A damaged export: exit 4, no vault created.
    let third = v.tmp.path().join("third");
    let bad = v.tmp.path().join("bad.json");
    fs::write(&bad, b"{\"format\": \"locket.export/v1\", \"profile\": 3}").unwrap();
    run(
        &third,
        &["--passphrase-stdin", "import", bad.to_str().unwrap()],
        "new vault pass\n",
    )
    .code(4);
    assert!(!third.join("keyslots.json").exists());
    run(
        &third,
        &["--passphrase-stdin", "import", "/nonexistent/file.json"],
        "x\n",
    )
    .code(5);
}

/// "Unlock on this device" against a real Secret Service (gnome-keyring in a private D-Bus session).
#[test]
fn keychain_unlock_with_a_real_secret_service() {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        if Command::new("which")
            .arg(tool)
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            panic!("{tool} is missing: install gnome-keyring and dbus-x11 (scripts/setup does)");
        }
    }
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    let xdg = v.tmp.path().join("xdg");
    let runtime = xdg.join("run");
    fs::create_dir_all(xdg.join("data")).unwrap();
    fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    }
    let locket = format!("{} --vault '{}'", bin(), v.dir.display());
    let script = format!(
        r#"set -e
echo -n keyring-test-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
printf '%s\n' '{PASS}' | {locket} --passphrase-stdin keychain on
{locket} --json status > '{out}/status.json'
{locket} profile get contact.email > '{out}/get.txt'
{locket} keychain off
set +e
{locket} profile get contact.email > /dev/null 2> '{out}/after-off.txt'
echo $? > '{out}/after-off.code'
"#,
        out = v.tmp.path().display()
    );
    let mut c = Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", &script])
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("LOCKET_KDF_PROFILE", "test")
        .env_remove("LOCKET_VAULT");
    let r = run_cmd_no_tty(c);
    assert_eq!(r.code, Some(0), "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    let status: serde_json::Value =
        serde_json::from_slice(&fs::read(v.tmp.path().join("status.json")).unwrap()).unwrap();
    assert_eq!(status["keychain_enabled"], true);
    assert_eq!(status["unlocked"], true, "status opened the vault through the keychain");
    let got = fs::read_to_string(v.tmp.path().join("get.txt")).unwrap();
    assert_eq!(got.trim(), "alex@example.com", "unlocked without a passphrase");
    // After `keychain off`, the passphrase is needed again (no terminal → usage error).
    let code = fs::read_to_string(v.tmp.path().join("after-off.code")).unwrap();
    assert_eq!(
        code.trim(),
        "2",
        "{}",
        fs::read_to_string(v.tmp.path().join("after-off.txt")).unwrap()
    );
    let slots = fs::read_to_string(v.dir.join("keyslots.json")).unwrap();
    assert!(!slots.contains("\"keychain\""), "keychain slot removed");
}

/// Real exports (plain and encrypted) validate against the documented JSON Schema; a broken one does not.
#[test]
fn exports_match_the_documented_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/schemas/export.v1.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let v = TestVault::new();
    v.set("contact.email", "alex@example.com");
    v.set("budget.range", "10..20.5 EUR");
    v.set("diet.allergies", "milk");
    v.set("channels.opt_in_sms", "yes");
    v.set("sizes.shoe", "42");
    run_pw(&v.dir, &["profile", "rm", "contact.email"]).ok();
    run_pw(&v.dir, &["fields", "add", "custom.pets_names", "--type", "text"]).ok();
    v.set("custom.pets_names", "Rex");
    run_pw(
        &v.dir,
        &["settings", "set", "endpoint.cors_origins", "https://shop.example"],
    )
    .ok();

    let plain = v.tmp.path().join("plain.json");
    run_pw(&v.dir, &["export", "--out", plain.to_str().unwrap()]).ok();
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&plain).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let enc = v.tmp.path().join("enc.json");
    run(
        &v.dir,
        &[
            "--passphrase-stdin",
            "export",
            "--encrypt",
            "--out",
            enc.to_str().unwrap(),
        ],
        &format!("{PASS}\nexport-pass-123\n"),
    )
    .ok();
    let doc_enc: serde_json::Value = serde_json::from_slice(&fs::read(&enc).unwrap()).unwrap();
    assert!(validator.is_valid(&doc_enc));

    let mut broken = doc.clone();
    broken["profile"][0]["history"][0]["version"] = serde_json::json!(0);
    assert!(!validator.is_valid(&broken));
    let mut extra = doc;
    extra["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&extra));
}

/// Runs `locket` on a pseudo-terminal (util-linux `script`), typing `input`: exercises the hidden prompts,
/// the repeated new passphrase and the typed confirmation.
fn run_on_tty(vault: &std::path::Path, args: &str, input: &str) -> Run {
    let line = format!("{} --vault '{}' {args}", bin(), vault.display());
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env("LOCKET_KDF_PROFILE", "test")
        .env_remove("LOCKET_VAULT");
    run_cmd(c, input)
}

#[test]
fn terminal_prompts_and_confirmation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    // The two entries must match.
    let r = run_on_tty(&dir, "init", "typed passphrase\nsomething else\n");
    r.code(6);
    assert!(r.stdout.contains("the two entries differ"), "{}", r.stdout);
    assert!(!dir.join("keyslots.json").exists());
    let r = run_on_tty(&dir, "init", "typed passphrase\ntyped passphrase\n");
    r.ok();
    assert!(r.stdout.contains("New passphrase:") && r.stdout.contains("Repeat it:"));
    run_on_tty(&dir, "profile set contact.email tty@example.com", "typed passphrase\n").ok();
    let r = run(
        &dir,
        &["--passphrase-stdin", "profile", "get", "contact.email"],
        "typed passphrase\n",
    );
    assert_eq!(r.ok().trim(), "tty@example.com");
    // Wipe asks; anything but "wipe" cancels (exit 9) and keeps the vault.
    let r = run_on_tty(&dir, "wipe", "no thanks\n");
    r.code(9);
    assert!(dir.join("keyslots.json").exists());
    run_on_tty(&dir, "wipe", "wipe\n").ok();
    assert!(!dir.join("keyslots.json").exists());
}

#[test]
fn import_into_an_existing_empty_vault() {
    let src = TestVault::new();
    src.set("interests.topics", "books,music");
    let file = src.tmp.path().join("e.json");
    run_pw(&src.dir, &["export", "--out", file.to_str().unwrap()]).ok();
    let dst = TestVault::new();
    let r = run_pw(&dst.dir, &["--json", "import", file.to_str().unwrap()]);
    r.ok();
    assert_eq!(r.json()["imported"]["fields"], 1);
    assert!(
        r.json().get("recovery_key").is_none(),
        "no new vault, no new recovery key"
    );
    let r = run_pw(&dst.dir, &["--json", "profile", "get", "interests.topics"]);
    assert_eq!(r.json()["value"], serde_json::json!(["books", "music"]));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Someone with a copy of the vault folder taken after a passphrase change, the key slots of before it (an old
/// backup's copy, or the file out of an older copy of the folder) and the old passphrase reads nothing written
/// after the change: the change gave the vault a new data key and re-encrypted its backups.
#[test]
fn old_passphrase_with_old_key_slots_reads_nothing_after_a_change() {
    let v = TestVault::new();
    v.set("contact.email", "before@example.org");
    run_pw(&v.dir, &["backup", "now"]).ok();
    let old_slots = fs::read(v.dir.join("keyslots.json")).unwrap();
    let new = "a brand new passphrase 77";
    let doc = run(
        &v.dir,
        &["--passphrase-stdin", "--json", "passphrase", "change"],
        &format!("{PASS}\n{new}\n"),
    )
    .json();
    assert_eq!(doc["rekeyed"], true);
    assert_eq!(doc["copies_reencrypted"], 1);
    assert!(doc["new_recovery_key"].is_null(), "the recovery key is carried over");
    run(
        &v.dir,
        &[
            "--passphrase-stdin",
            "profile",
            "set",
            "contact.email",
            "after.change@example.org",
        ],
        &format!("{new}\n"),
    )
    .ok();

    let stolen = v.tmp.path().join("stolen");
    copy_tree(&v.dir, &stolen);
    let backup = fs::read_dir(stolen.join("backups"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for slots in [old_slots, fs::read(backup.join("keyslots.json")).unwrap()] {
        fs::write(stolen.join("keyslots.json"), &slots).unwrap();
        let r = run(
            &stolen,
            &["--passphrase-stdin", "profile", "get", "contact.email"],
            &format!("{PASS}\n"),
        );
        assert!(
            !r.stdout.contains("after.change"),
            "old passphrase read new data: {}",
            r.stdout
        );
        assert_ne!(r.code, Some(0), "{}", r.stderr);
    }
    // The owner's new passphrase and the unchanged recovery key read it.
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "profile", "get", "contact.email"],
        &format!("{new}\n"),
    );
    assert_eq!(r.ok().trim(), "after.change@example.org");
    let typed = v.recovery_key.to_lowercase();
    run(
        &v.dir,
        &["--passphrase-stdin", "recover"],
        &format!("{typed}\nthird passphrase 99\n"),
    )
    .ok();
    let r = run(
        &v.dir,
        &["--passphrase-stdin", "profile", "get", "contact.email"],
        "third passphrase 99\n",
    );
    assert_eq!(r.ok().trim(), "after.change@example.org");
}

/// Another local user cannot read the vault's files: every file is 0600 and every folder 0700, whatever the
/// umask — the database and its -wal/-shm, the key slots, the lock file, the pending failed-unlock file, the
/// backups.
#[cfg(unix)]
#[test]
fn every_vault_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    fn walk(dir: &std::path::Path, bad: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let mode = fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
            let want = if p.is_dir() { 0o700 } else { 0o600 };
            if mode != want {
                bad.push(format!("{} {mode:o}", p.display()));
            }
            if p.is_dir() {
                walk(&p, bad);
            }
        }
    }
    let v = TestVault::new();
    v.set("contact.email", "a@example.org");
    run_pw(&v.dir, &["backup", "now"]).ok();
    run(&v.dir, &["--passphrase-stdin", "profile", "list"], "wrong passphrase\n").code(3);
    assert!(v.dir.join("audit-pending.jsonl").exists());
    let mut bad = Vec::new();
    walk(&v.dir, &mut bad);
    assert!(bad.is_empty(), "not owner-only: {bad:?}");
    assert_eq!(fs::metadata(&v.dir).unwrap().permissions().mode() & 0o777, 0o700);
}

/// A vault folder that belongs to another user is refused by name (they could swap its files under us). Needs
/// root to hand the folder to another uid; skipped otherwise.
#[cfg(unix)]
#[test]
fn a_vault_folder_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let v = TestVault::new();
    let me = fs::metadata(&v.dir).unwrap().uid();
    if std::os::unix::fs::chown(&v.dir, Some(me + 4242), None).is_err() {
        eprintln!("skipped: cannot give the folder to another uid without root");
        return;
    }
    let before = snapshot(&v.dir);
    let doc = run(
        &v.dir,
        &["--passphrase-stdin", "--json", "profile", "list"],
        &format!("{PASS}\n"),
    );
    assert_ne!(doc.code, Some(0));
    assert!(
        doc.stdout.contains("vault_not_owned") || doc.stderr.contains("vault_not_owned"),
        "stdout: {} stderr: {}",
        doc.stdout,
        doc.stderr
    );
    assert!(doc.stderr.contains("belongs to another user") || doc.stdout.contains("belongs to another user"));
    std::os::unix::fs::chown(&v.dir, Some(me), None).unwrap();
    assert_eq!(snapshot(&v.dir), before, "nothing was written");
}
