//! Every migration is tested by opening a golden vault written by an older schema version.
use std::fs;
use std::path::{Path, PathBuf};

use locket_vault::{KdfParams, Passphrase, Vault, SCHEMA_VERSION};

const GOLDEN_PASSPHRASE: &str = "golden-passphrase";

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Opens a copy of `tests/golden/vault-v{version}` with the current code: it must migrate to the newest schema
/// and keep the data the golden vault was written with.
fn open_golden(version: i64) -> (tempfile::TempDir, Vault) {
    let src = golden_root().join(format!("vault-v{version}"));
    assert!(src.exists(), "golden vault {} is missing", src.display());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    copy_dir(&src, &dir);
    let v = Vault::unlock(&dir, &Passphrase::new(GOLDEN_PASSPHRASE.into())).unwrap();
    assert_eq!(v.info().unwrap().schema_version, Some(SCHEMA_VERSION));
    (tmp, v)
}

#[test]
fn v1_vault_migrates_and_keeps_profile_values() {
    check_golden_profile(1);
}

#[test]
fn v2_vault_migrates_and_keeps_profile_values() {
    check_golden_profile(2);
}

#[test]
fn v3_vault_migrates_keeps_profile_values_and_gains_privacy_tables() {
    check_golden_profile(3);
    let (_t, v) = open_golden(3);
    let store = v.connect().unwrap();
    // The v3 tables survive; the v4 tables exist and start empty.
    for table in ["requests", "grants"] {
        let _: i64 = store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
    }
    for table in [
        "privacy_budgets",
        "privacy_spends",
        "erasure_requests",
        "email_aliases",
        "consent_receipts",
    ] {
        let n: i64 = store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

fn check_golden_profile(version: i64) {
    let (_t, v) = open_golden(version);
    let store = v.connect().unwrap();
    let (value, version): (String, i64) = store
        .conn()
        .query_row(
            "SELECT value, version FROM field_values WHERE field_key = 'contact.email' ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(value, "\"golden@example.org\"");
    assert_eq!(version, 2);
    let setting: String = store
        .conn()
        .query_row("SELECT value FROM settings WHERE key = 'golden'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(setting, "true");
}

/// Writes `tests/golden/vault-v{LOCKET_GOLDEN_VERSION}` — run by hand when a new schema version ships:
/// `LOCKET_GOLDEN_VERSION=N cargo test -p locket-vault --test integration -- --ignored migrations::make_golden`.
#[test]
#[ignore]
fn make_golden() {
    let version: i64 = std::env::var("LOCKET_GOLDEN_VERSION").unwrap().parse().unwrap();
    let dir = golden_root().join(format!("vault-v{version}"));
    let (v, _) = Vault::create_at_version(
        &dir,
        &Passphrase::new(GOLDEN_PASSPHRASE.into()),
        KdfParams::for_tests(),
        version,
    )
    .unwrap();
    let mut store = v.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    tx.execute_batch(
        "INSERT INTO field_values (field_key, version, value, set_at)
             VALUES ('contact.email', 1, '\"old@example.org\"', '2026-01-01T00:00:00.000Z');
         INSERT INTO field_values (field_key, version, value, set_at)
             VALUES ('contact.email', 2, '\"golden@example.org\"', '2026-02-01T00:00:00.000Z');
         INSERT INTO settings (key, value) VALUES ('golden', 'true');",
    )
    .unwrap();
    tx.commit().unwrap();
    drop(store);
    // Checkpoint so the golden vault is self-contained in vault.db.
    v.connect()
        .unwrap()
        .conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(v);
    for f in ["vault.db-wal", "vault.db-shm"] {
        let _ = fs::remove_file(dir.join(f));
    }
}

#[test]
fn v4_vault_migrates_keeps_profile_values_and_gains_connect_tables() {
    check_golden_profile(4);
    let (_t, v) = open_golden(4);
    let store = v.connect().unwrap();
    for table in ["verified_requests", "retailer_pins"] {
        let n: i64 = store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

#[test]
fn v5_vault_migrates_keeps_profile_values_and_gains_delivery_tables() {
    check_golden_profile(5);
    let (_t, v) = open_golden(5);
    let store = v.connect().unwrap();
    for table in ["delivery_targets", "deliveries"] {
        let n: i64 = store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}
