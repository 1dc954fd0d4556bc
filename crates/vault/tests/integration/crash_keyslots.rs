//! Proof by kill -9 for the re-key: a child process changes the passphrase (a new data key each time: the
//! database and its backup re-encrypted, the key slots replaced) as fast as it can; the parent SIGKILLs it at
//! random moments. Afterwards the last acknowledged passphrase, or the one being set when the kill came, must
//! open the vault, its data and its backup — never neither. Also each fault-injection point of the re-key and of
//! the key-slot rename dance (`LOCKET_CRASH_AT`).
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use locket_vault::{KdfParams, Passphrase, Vault, VaultError};

const CHILD_ENV: &str = "LOCKET_CRASH_CHILD_DIR";

fn pw(i: u64) -> Passphrase {
    Passphrase::new(format!("passphrase-{i}"))
}

/// The child: change the passphrase from generation i to i+1 forever, recording each acknowledged change.
#[test]
fn crash_child_rotate_passphrase() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = PathBuf::from(dir);
    let acks = dir.join("acks");
    let mut gen: u64 = fs::read_to_string(&acks)
        .ok()
        .and_then(|s| s.lines().next_back().map(|l| l.parse().unwrap()))
        .unwrap_or(0);
    let mut vault = Vault::unlock(&dir.join("vault"), &pw(gen)).unwrap();
    let mut log = fs::OpenOptions::new().append(true).create(true).open(&acks).unwrap();
    loop {
        vault = vault
            .change_passphrase(&pw(gen + 1), KdfParams::for_tests())
            .unwrap()
            .vault;
        gen += 1;
        // Written after the change returned: an acknowledged change.
        writeln!(log, "{gen}").unwrap();
    }
}

fn spawn_child(dir: &Path, crash_at: Option<&str>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "crash_keyslots::crash_child_rotate_passphrase",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, dir)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(p) = crash_at {
        cmd.env("LOCKET_CRASH_AT", p);
    }
    cmd.spawn().unwrap()
}

fn last_ack(dir: &Path) -> u64 {
    fs::read_to_string(dir.join("acks"))
        .ok()
        .and_then(|s| s.lines().rfind(|l| !l.is_empty()).map(|l| l.parse().unwrap()))
        .unwrap_or(0)
}

/// After a crash: the acknowledged generation or the next one opens the vault, reads the data written at setup
/// and opens the backup; an unfinished re-key is finished by that unlock (no `previous` key is left). Rewrites
/// the ack file to the generation that opened, so the next child starts from there.
fn check_opens(dir: &Path) -> u64 {
    let acked = last_ack(dir);
    for gen in [acked, acked + 1] {
        match Vault::unlock(&dir.join("vault"), &pw(gen)) {
            Ok(v) => {
                let got: String = v
                    .connect()
                    .unwrap()
                    .conn()
                    .query_row("SELECT value FROM settings WHERE key = 'crash'", [], |r| r.get(0))
                    .expect("the data written before the re-keys is readable");
                assert_eq!(got, "\"kept\"");
                for b in locket_vault::backup::list(v.dir()).unwrap() {
                    let check = v.verify_backup(&b.id).expect("the backup opens with the vault's key");
                    assert!(check.integrity_problems.is_empty());
                }
                let slots = fs::read_to_string(dir.join("vault").join("keyslots.json")).unwrap();
                assert!(!slots.contains("\"previous\""), "the unlock finished the re-key");
                drop(v);
                fs::write(dir.join("acks"), format!("{gen}\n")).unwrap();
                return gen;
            }
            Err(VaultError::WrongPassphrase) => continue,
            Err(e) => panic!("vault does not open after a crash: {e}"),
        }
    }
    panic!("neither the acknowledged passphrase ({acked}) nor the next one opens the vault");
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (v, _) = Vault::create(&dir.join("vault"), &pw(0), KdfParams::for_tests()).unwrap();
    v.connect()
        .unwrap()
        .conn()
        .execute("INSERT INTO settings (key, value) VALUES ('crash', '\"kept\"')", [])
        .unwrap();
    v.backup_now("manual").unwrap();
    (tmp, dir)
}

fn kills() -> usize {
    std::env::var("LOCKET_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

#[test]
fn sigkill_during_passphrase_changes_never_locks_the_owner_out() {
    let (_tmp, dir) = setup();
    let mut seed = Instant::now().elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut changes = 0;
    for _ in 0..kills() {
        let before = last_ack(&dir);
        let mut child = spawn_child(&dir, None);
        // Random moment between 20 and 120 ms after start (xorshift).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 100));
        child.kill().unwrap();
        child.wait().unwrap();
        let gen = check_opens(&dir);
        changes += gen.saturating_sub(before);
    }
    eprintln!("{} kills survived, {changes} passphrase changes acknowledged", kills());
}

/// Each step of the re-key (crates/vault/src/rekey.rs): before the key slots name the new key the old
/// passphrase opens the vault; from then on the new one does (and its unlock finishes the re-key).
#[test]
fn crash_at_each_point_of_the_rekey() {
    for (point, expected) in [
        ("rekey-copy-written", 0),
        ("keyslots-temp-written", 0),
        ("keyslots-renamed", 1),
        ("rekey-slots-written", 1),
        ("rekey-db-swapped", 1),
        ("rekey-copy-reencrypted", 1),
        ("rekey-slots-final", 1),
    ] {
        let (_tmp, dir) = setup();
        let mut child = spawn_child(&dir, Some(point));
        let status = child.wait().unwrap();
        assert!(!status.success(), "child should have aborted at {point}");
        let gen = check_opens(&dir);
        assert_eq!(gen, expected, "after a crash at {point}");
        // Whichever state the crash left, the passphrase of the other generation opens nothing.
        let other = 1 - expected;
        assert!(
            Vault::unlock(&dir.join("vault"), &pw(other)).is_err(),
            "after a crash at {point} the passphrase of generation {other} still opens the vault"
        );
    }
}
