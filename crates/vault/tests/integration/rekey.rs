//! Re-keying on passphrase change, recovery and recovery-key reset: an old secret — even with an old copy of
//! the key slots, e.g. out of an old backup — opens nothing written after the change, nor any backup; the
//! current secrets open everything. Plus the owner-only files, the key-slot temp file that is never followed
//! and the wipe that shreds every key-slot copy.
use std::fs;
use std::path::{Path, PathBuf};

use locket_vault::{KdfParams, KeyChange, Passphrase, RecoveryChange, RecoveryKey, Vault, VaultError};

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn new_vault() -> (tempfile::TempDir, PathBuf, Vault, RecoveryKey) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let (v, r) = Vault::create(&dir, &pw("old passphrase"), KdfParams::for_tests()).unwrap();
    (tmp, dir, v, r)
}

fn put(v: &Vault, key: &str, value: &str) {
    v.connect()
        .unwrap()
        .conn()
        .execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            [key, &format!("\"{value}\"")],
        )
        .unwrap();
}

fn get(v: &Vault, key: &str) -> Option<String> {
    v.connect()
        .unwrap()
        .conn()
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// The reviewers' replay: after a passphrase change, a copy of the folder with the key slots of before the
/// change (an old backup's copy) and the old passphrase must not read what was written after the change.
#[test]
fn old_passphrase_and_old_slots_open_nothing_after_a_change() {
    let (tmp, dir, v, recovery) = new_vault();
    put(&v, "before", "old data");
    let b = v.backup_now("manual").unwrap();
    let old_slots = fs::read(dir.join("keyslots.json")).unwrap();
    let done = v
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap();
    assert!(done.new_recovery_key.is_none(), "the recovery key is carried over");
    assert_eq!(done.copies_reencrypted, 1);
    let v = done.vault;
    put(&v, "after", "new data");
    assert_eq!(get(&v, "before").as_deref(), Some("\"old data\""));
    drop(v);

    // The thief's copy: the folder as it is now, with the slots of before the change in place.
    let stolen = tmp.path().join("stolen");
    copy_dir(&dir, &stolen);
    fs::write(stolen.join("keyslots.json"), &old_slots).unwrap();
    let err = Vault::unlock(&stolen, &pw("old passphrase")).unwrap_err();
    assert_eq!(err.code(), "vault_damaged", "the database is under a new key: {err}");
    let err = Vault::unlock_with_recovery(&stolen, &recovery).unwrap_err();
    assert_eq!(err.code(), "vault_damaged");
    // The backup's own key-slot copy was replaced by the current slots: the old passphrase does not open it.
    let backup_slots = stolen.join("backups").join(&b.id).join("keyslots.json");
    assert_ne!(fs::read(&backup_slots).unwrap(), old_slots);
    // Nor does the old key open the backup's database: put it in place of the live one with the old slots.
    fs::copy(
        stolen.join("backups").join(&b.id).join("vault.db"),
        stolen.join("vault.db"),
    )
    .unwrap();
    for f in ["vault.db-wal", "vault.db-shm"] {
        let _ = fs::remove_file(stolen.join(f));
    }
    assert_eq!(
        Vault::unlock(&stolen, &pw("old passphrase")).unwrap_err().code(),
        "vault_damaged"
    );

    // The owner: the new passphrase and the (unchanged) recovery key open the vault and its backup.
    assert!(matches!(
        Vault::unlock(&dir, &pw("old passphrase")),
        Err(VaultError::WrongPassphrase)
    ));
    let v = Vault::unlock(&dir, &pw("new passphrase")).unwrap();
    assert_eq!(get(&v, "after").as_deref(), Some("\"new data\""));
    assert!(v.verify_backup(&b.id).unwrap().integrity_problems.is_empty());
    drop(v);
    let v = Vault::unlock_with_recovery(&dir, &recovery).unwrap();
    assert_eq!(get(&v, "after").as_deref(), Some("\"new data\""));
}

#[test]
fn recovery_sets_a_new_passphrase_under_a_new_key_and_reset_retires_the_old_recovery_key() {
    let (tmp, dir, v, recovery) = new_vault();
    let old_slots = fs::read(dir.join("keyslots.json")).unwrap();
    drop(v);
    let v = Vault::unlock_with_recovery(&dir, &recovery).unwrap();
    let v = v
        .rekey(KeyChange {
            passphrase: &pw("after recovery"),
            kdf: KdfParams::for_tests(),
            recovery: RecoveryChange::Same(&recovery),
        })
        .unwrap()
        .vault;
    put(&v, "after", "x");
    let (v, new_recovery) = v.reset_recovery_key(&pw("after recovery")).unwrap();
    drop(v);
    assert!(matches!(
        Vault::unlock_with_recovery(&dir, &recovery),
        Err(VaultError::WrongRecoveryKey)
    ));
    let v = Vault::unlock_with_recovery(&dir, &new_recovery).unwrap();
    assert_eq!(get(&v, "after").as_deref(), Some("\"x\""));
    drop(v);
    Vault::unlock(&dir, &pw("after recovery")).unwrap();
    // The old recovery key with the slots of its time: the database is under another key now.
    let stolen = tmp.path().join("stolen");
    copy_dir(&dir, &stolen);
    fs::write(stolen.join("keyslots.json"), &old_slots).unwrap();
    assert_eq!(
        Vault::unlock_with_recovery(&stolen, &recovery).unwrap_err().code(),
        "vault_damaged"
    );
}

#[test]
fn rekey_needs_the_sole_handle_and_changes_nothing_otherwise() {
    let (_t, dir, v, _) = new_vault();
    let other = v.clone();
    let err = v
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap_err();
    assert_eq!(err.code(), "vault_in_use");
    drop(other);
    Vault::unlock(&dir, &pw("old passphrase")).unwrap();
    // Another open handle (another program) keeps it from happening too.
    let a = Vault::unlock(&dir, &pw("old passphrase")).unwrap();
    let b = Vault::unlock(&dir, &pw("old passphrase")).unwrap();
    let err = a
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap_err();
    assert_eq!(err.code(), "vault_in_use");
    drop(b);
    Vault::unlock(&dir, &pw("old passphrase")).unwrap();
}

#[cfg(unix)]
fn modes(dir: &Path, out: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let mode = fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            out.push(format!("{} is {mode:o}", p.display()));
        }
        if p.is_dir() {
            modes(&p, out);
        }
    }
}

#[cfg(unix)]
#[test]
fn every_file_is_owner_only_whatever_the_umask_allows() {
    use std::os::unix::fs::PermissionsExt;
    let (_t, dir, v, _) = new_vault();
    put(&v, "k", "v");
    v.backup_now("manual").unwrap();
    let v = v
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap()
        .vault;
    put(&v, "k2", "v");
    v.backup_now("manual").unwrap();
    let mut bad = Vec::new();
    modes(&dir, &mut bad);
    assert!(bad.is_empty(), "not owner-only: {bad:?}");
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_as_the_key_slot_temp_file_is_not_followed() {
    let (tmp, dir, v, _) = new_vault();
    let target = tmp.path().join("elsewhere.txt");
    fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("keyslots.json.tmp")).unwrap();
    let v = v
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap()
        .vault;
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    drop(v);
    Vault::unlock(&dir, &pw("new passphrase")).unwrap();
}

#[test]
fn wipe_overwrites_every_key_slot_copy_and_removes_restore_leftovers() {
    let (tmp, dir, v, _) = new_vault();
    let b = v.backup_now("manual").unwrap();
    // Hard links see the same blocks: after the wipe they must hold noise, not key slots.
    let live = tmp.path().join("live-slots");
    let copy = tmp.path().join("backup-slots");
    fs::hard_link(dir.join("keyslots.json"), &live).unwrap();
    fs::hard_link(dir.join("backups").join(&b.id).join("keyslots.json"), &copy).unwrap();
    fs::create_dir_all(dir.join("replaced-20250101T000000.000Z")).unwrap();
    fs::write(dir.join("replaced-20250101T000000.000Z").join("vault.db"), b"old").unwrap();
    drop(v);
    Vault::wipe(&dir).unwrap();
    for f in [&live, &copy] {
        let bytes = fs::read(f).unwrap();
        assert!(!bytes.is_empty());
        assert!(
            serde_json::from_slice::<serde_json::Value>(&bytes).is_err(),
            "{} still holds key slots",
            f.display()
        );
    }
    assert!(!dir.exists(), "the vault folder is gone, replaced-* included");
}

/// A vault made before re-keying existed has a recovery slot that cannot be sealed to a new key without the
/// recovery key: a passphrase change gives it a new recovery key (returned once) rather than a dead one.
#[test]
fn a_recovery_slot_from_before_rekeying_is_replaced_not_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/vault-v4"),
        &dir,
    );
    let slots = fs::read_to_string(dir.join("keyslots.json")).unwrap();
    assert!(
        !slots.contains("public_key"),
        "the golden vault predates sealed recovery slots"
    );
    let v = Vault::unlock(&dir, &pw("golden-passphrase")).unwrap();
    let done = v
        .change_passphrase(&pw("new passphrase"), KdfParams::for_tests())
        .unwrap();
    let rk = done.new_recovery_key.expect("a new recovery key to show");
    drop(done.vault);
    drop(Vault::unlock_with_recovery(&dir, &rk).unwrap());
    // From now on the recovery slot is sealed: the next change keeps it.
    let v = Vault::unlock(&dir, &pw("new passphrase")).unwrap();
    let done = v
        .change_passphrase(&pw("third passphrase"), KdfParams::for_tests())
        .unwrap();
    assert!(done.new_recovery_key.is_none());
    drop(done.vault);
    Vault::unlock_with_recovery(&dir, &rk).unwrap();
}
