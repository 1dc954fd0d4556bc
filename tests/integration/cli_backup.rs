//! `locket backup now|list|verify|restore` against real vault directories, and the startup check that offers
//! the newest backup when the vault is damaged.

use crate::common::*;

fn backup_ids(v: &TestVault) -> Vec<String> {
    let r = run(&v.dir, &["--json", "backup", "list"], "");
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn backup_list_verify_restore_round_trip() {
    let v = TestVault::new();
    v.set("contact.email", "before@example.org");
    assert!(run(&v.dir, &["backup", "list"], "").ok().contains("No backups yet"));
    let doc = run_pw(&v.dir, &["--json", "backup", "now"]).json();
    let id = doc["backup"]["id"].as_str().unwrap().to_owned();
    assert!(doc["backup"]["size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(backup_ids(&v), vec![id.clone()]);

    let verify = run_pw(&v.dir, &["--json", "backup", "verify", &id]).json();
    assert_eq!(verify["ok"], true, "{verify}");

    v.set("contact.email", "after@example.org");
    run_pw(&v.dir, &["backup", "restore", &id, "--yes"]).ok();
    assert!(v.get("contact.email").ok().contains("before@example.org"));
    // The state before the restore was kept.
    assert_eq!(backup_ids(&v).len(), 2);
}

#[test]
fn restore_needs_confirmation_and_a_known_backup() {
    let v = TestVault::new();
    run_pw(&v.dir, &["backup", "now"]).ok();
    let id = backup_ids(&v).remove(0);
    run_pw(&v.dir, &["backup", "restore", &id]).code(2);
    run_pw(&v.dir, &["backup", "restore", "20000101T000000.000Z", "--yes"]).code(5);
}

#[test]
fn damaged_vault_is_reported_with_the_newest_backup_and_restores_from_it() {
    let v = TestVault::new();
    v.set("contact.email", "kept@example.org");
    run_pw(&v.dir, &["backup", "now"]).ok();
    let id = backup_ids(&v).remove(0);
    // The last connection to close checkpoints the WAL into vault.db; damage vault.db.
    let db = v.dir.join("vault.db");
    assert!(!v.dir.join("vault.db-wal").exists());
    let mut bytes = std::fs::read(&db).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x21;
    std::fs::write(&db, &bytes).unwrap();

    let r = v.get("contact.email");
    r.code(4);
    assert!(r.stderr.contains("damaged or not a Locket vault"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("locket backup restore {id}")),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "nothing overwritten without the owner's say"
    );

    run_pw(&v.dir, &["backup", "restore", &id, "--yes"]).ok();
    assert!(v.get("contact.email").ok().contains("kept@example.org"));
}
