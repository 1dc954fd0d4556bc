//! The vault core through its public API, on real SQLCipher files.
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use locket_vault::{KdfParams, Passphrase, RecoveryKey, Vault, VaultError, WriterError, SCHEMA_VERSION};

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn new_vault() -> (tempfile::TempDir, std::path::PathBuf, Vault, RecoveryKey) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let (v, r) = Vault::create(&dir, &pw("correct horse"), KdfParams::for_tests()).unwrap();
    (tmp, dir, v, r)
}

#[test]
fn create_then_unlock_reads_what_was_written() {
    let (_t, dir, v, _) = new_vault();
    v.connect()
        .unwrap()
        .conn()
        .execute("INSERT INTO settings (key, value) VALUES ('k', '\"v\"')", [])
        .unwrap();
    let id = v.id().to_string();
    drop(v);
    let v = Vault::unlock(&dir, &pw("correct horse")).unwrap();
    assert_eq!(v.id(), id);
    let got: String = v
        .connect()
        .unwrap()
        .conn()
        .query_row("SELECT value FROM settings WHERE key='k'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(got, "\"v\"");
    assert_eq!(v.info().unwrap().schema_version, Some(SCHEMA_VERSION));
}

#[test]
fn create_refuses_existing_vault() {
    let (_t, dir, _v, _) = new_vault();
    assert!(matches!(
        Vault::create(&dir, &pw("x"), KdfParams::for_tests()),
        Err(VaultError::AlreadyExists { .. })
    ));
}

#[test]
fn wrong_passphrase_is_named_and_writes_nothing() {
    let (_t, dir, v, _) = new_vault();
    drop(v);
    let before = snapshot(&dir);
    let err = Vault::unlock(&dir, &pw("wrong")).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase));
    assert_eq!(err.code(), "wrong_passphrase");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn recovery_key_unlocks_and_sets_new_passphrase() {
    let (_t, dir, v, recovery) = new_vault();
    drop(v);
    let typed = recovery.display_groups().to_lowercase();
    let v = Vault::unlock_with_recovery(&dir, &RecoveryKey::parse(&typed).unwrap()).unwrap();
    drop(v.change_passphrase(&pw("new one"), KdfParams::for_tests()).unwrap());
    assert!(matches!(
        Vault::unlock(&dir, &pw("correct horse")),
        Err(VaultError::WrongPassphrase)
    ));
    Vault::unlock(&dir, &pw("new one")).unwrap();
    let other = RecoveryKey::parse(&"0".repeat(40)).unwrap();
    assert!(matches!(
        Vault::unlock_with_recovery(&dir, &other),
        Err(VaultError::WrongRecoveryKey)
    ));
}

#[test]
fn damaged_database_is_reported_and_left_alone() {
    let (_t, dir, v, _) = new_vault();
    drop(v);
    let db = dir.join("vault.db");
    let mut bytes = fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    fs::write(&db, &bytes).unwrap();
    let before = snapshot(&dir);
    let err = Vault::unlock(&dir, &pw("correct horse")).unwrap_err();
    assert!(matches!(err, VaultError::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains("damaged or not a Locket vault"));
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn foreign_slot_file_is_damage() {
    let (_t, dir, v, _) = new_vault();
    drop(v);
    fs::write(dir.join("keyslots.json"), b"{\"hello\": 1}").unwrap();
    let err = Vault::unlock(&dir, &pw("correct horse")).unwrap_err();
    assert_eq!(err.code(), "vault_damaged");
}

#[test]
fn slots_from_another_vault_do_not_open_this_database() {
    let (_t, dir, v, _) = new_vault();
    drop(v);
    let (_t2, dir2, v2, _) = new_vault();
    drop(v2);
    fs::copy(dir2.join("keyslots.json"), dir.join("keyslots.json")).unwrap();
    let err = Vault::unlock(&dir, &pw("correct horse")).unwrap_err();
    assert_eq!(err.code(), "vault_damaged");
}

#[test]
fn writer_batches_and_isolates_failing_jobs() {
    let (_t, _dir, v, _) = new_vault();
    let w = v.writer().unwrap();
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let w = w.clone();
            std::thread::spawn(move || {
                w.submit(move |tx| {
                    tx.execute("INSERT INTO settings (key, value) VALUES (?1, '1')", [format!("k{i}")])?;
                    if i % 8 == 0 {
                        return Err::<(), rusqlite::Error>(rusqlite::Error::InvalidQuery);
                    }
                    Ok(())
                })
            })
        })
        .collect();
    let mut failed = 0;
    for h in handles {
        match h.join().unwrap() {
            Ok(()) => {}
            Err(WriterError::Job(_)) => failed += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(failed, 8);
    let n: i64 = v
        .connect()
        .unwrap()
        .conn()
        .query_row("SELECT count(*) FROM settings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 56, "failed jobs are rolled back, the others are committed");
}

/// Repeatable jobs share one savepoint; when one of them fails (or panics), the others are run again in their
/// own savepoints: exactly the failing ones are rolled back, each once-only job in between runs exactly once.
#[test]
fn repeatable_jobs_share_a_savepoint_and_still_isolate_failures() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (_t, _dir, v, _) = new_vault();
    let w = v.writer().unwrap();
    let once_runs = Arc::new(AtomicUsize::new(0));
    // Hold the writer busy so the jobs below queue up and land in one batch.
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let w = w.clone();
        std::thread::spawn(move || {
            w.submit(move |_tx| {
                started_tx.send(()).unwrap();
                hold_rx.recv().unwrap();
                Ok::<(), rusqlite::Error>(())
            })
        })
    };
    started_rx.recv().unwrap();
    let mut waiters = Vec::new();
    for i in 0..40 {
        let (tx, rx) = std::sync::mpsc::channel();
        if i == 20 {
            let runs = once_runs.clone();
            w.submit_then(
                move |t| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    t.execute("INSERT INTO settings (key, value) VALUES ('once', '1')", [])
                },
                move |r| tx.send(r.map(|_| ()).map_err(|e| e.to_string())).unwrap(),
            );
        } else {
            w.submit_then_repeatable(
                move |t| {
                    t.execute("INSERT INTO settings (key, value) VALUES (?1, '1')", [format!("r{i}")])?;
                    match i % 10 {
                        3 => Err(rusqlite::Error::InvalidQuery),
                        7 if i > 20 => panic!("job {i} panics"),
                        _ => Ok(()),
                    }
                },
                move |r| tx.send(r.map_err(|e| e.to_string())).unwrap(),
            );
        }
        waiters.push((i, rx));
    }
    hold_tx.send(()).unwrap();
    holder.join().unwrap().unwrap();
    let mut ok = 0;
    for (i, rx) in waiters {
        let r = rx.recv().unwrap();
        let should_fail = i != 20 && (i % 10 == 3 || (i % 10 == 7 && i > 20));
        assert_eq!(r.is_err(), should_fail, "job {i}: {r:?}");
        ok += usize::from(r.is_ok());
    }
    assert_eq!(once_runs.load(Ordering::SeqCst), 1, "a once-only job runs exactly once");
    let conn = v.connect().unwrap();
    let stored: Vec<String> = conn
        .conn()
        .prepare("SELECT key FROM settings WHERE key LIKE 'r%' OR key = 'once' ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored.len(),
        ok,
        "exactly the jobs reported done are stored: {stored:?}"
    );
    assert!(stored.contains(&"once".to_string()));
    assert!(!stored.contains(&"r13".to_string()) && !stored.contains(&"r27".to_string()));
}

#[test]
fn no_plaintext_on_disk() {
    let (_t, dir, v, _) = new_vault();
    let marker = "ZEBRA-MARMALADE-4711";
    let w = v.writer().unwrap();
    w.submit(move |tx| tx.execute("INSERT INTO settings (key, value) VALUES ('m', ?1)", [marker]))
        .unwrap();
    drop(w);
    drop(v);
    for (name, bytes) in snapshot(&dir) {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{name} contains plaintext"
        );
    }
}

#[test]
fn wipe_removes_everything() {
    let (_t, dir, v, _) = new_vault();
    drop(v);
    Vault::wipe(&dir).unwrap();
    assert!(!dir.join("keyslots.json").exists());
    assert!(!dir.join("vault.db").exists());
    assert!(matches!(
        Vault::unlock(&dir, &pw("correct horse")),
        Err(VaultError::NotFound { .. })
    ));
}
