//! Fault injection: a vault on a tiny file system that fills up during writes. The failure must be a clear
//! `disk_full` error, nothing acknowledged may be lost, and the vault must still open afterwards.
//! Needs root to mount a tmpfs (as on the project's machines and CI); elsewhere it says loudly that it skipped.
use std::path::{Path, PathBuf};
use std::process::Command;

use locket_vault::{KdfParams, Passphrase, Vault, WriterError};

struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(size: &str) -> Option<TinyFs> {
        let dir = tempfile::tempdir().unwrap().keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Some(TinyFs(dir))
        } else {
            eprintln!("\n*** SKIPPED disk_full: cannot mount a tmpfs here (needs root) ***\n");
            None
        }
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn filling_the_disk_fails_clearly_and_loses_nothing_acknowledged() {
    let Some(fs) = TinyFs::mount("1536k") else { return };
    let dir = fs.path().join("vault");
    let pw = Passphrase::new("pw".into());
    let (v, _) = Vault::create(&dir, &pw, KdfParams::for_tests()).unwrap();
    let w = v.writer().unwrap();
    let mut acknowledged = Vec::new();
    let mut failure = None;
    for i in 0..100_000 {
        let key = format!("k{i:06}");
        let k = key.clone();
        // ~4 KiB per row so the disk fills quickly.
        let r = w.submit(move |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                rusqlite::params![k, "x".repeat(4000)],
            )
        });
        match r {
            Ok(_) => acknowledged.push(key),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("the tiny disk never filled up");
    let code = match &failure {
        WriterError::Storage(e) => e.code(),
        WriterError::Job(e) => match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => "disk_full",
            _ => "other",
        },
        _ => "other",
    };
    assert_eq!(code, "disk_full", "got {failure:?}");
    eprintln!(
        "disk filled after {} acknowledged writes: {failure}",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
    drop(w);
    drop(v);

    let v = Vault::unlock(&dir, &pw).expect("the vault still opens after the disk filled up");
    let store = v.connect().unwrap();
    let mut stmt = store.conn().prepare("SELECT key FROM settings ORDER BY key").unwrap();
    let present: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    for k in &acknowledged {
        assert!(present.binary_search(k).is_ok(), "acknowledged write {k} was lost");
    }
    assert!(store.integrity_check().unwrap().is_empty());
}
