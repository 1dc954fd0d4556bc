//! Re-keying: a new random data key on every passphrase change, recovery and recovery-key reset, so a secret
//! given up no longer opens anything in the vault folder — not the database, not a backup, not a key-slot file
//! copied out of an old backup.
//!
//! The steps, each crash-safe (a crash leaves the old or the new state openable, never neither):
//! 1. Copy the database (SQLite's backup API after a `TRUNCATE` checkpoint, so the copy holds every commit) to
//!    `vault.db.rekey`, and `PRAGMA rekey` the copy — a private file not in WAL mode — to the new key.
//! 2. Replace `keyslots.json` atomically: every slot now wraps the new key, and `previous` holds the old key
//!    wrapped under the new one. From here the new secret opens everything; the old secret nothing.
//! 3. Set the old database's (empty) WAL aside and rename the copy over `vault.db`.
//! 4. Re-encrypt each backup (and each `replaced-*` copy kept by a restore) the same way, by copy and rename.
//! 5. Drop `previous` from `keyslots.json` and give every backup a copy of the new key-slot file.
//!
//! An unlock that finds `previous` still there finishes the re-key (steps 3–5) before the vault is used, when
//! no other program has the vault open; otherwise it opens whichever key the database is under and leaves the
//! rest for the next unlock.
use std::fs;
use std::path::{Path, PathBuf};

use crate::backup::BACKUP_DIR;
use crate::keyslot::{crash_point, KdfParams, SlotFile, SlotKind};
use crate::secret::{DataKey, Passphrase, RecoveryKey};
use crate::store;
use crate::vault::{DirLock, DB_FILE, SLOTS_FILE};
use crate::{fsx, keychain, Vault, VaultError};

/// What happens to the recovery slot in a re-key.
#[derive(Debug)]
pub enum RecoveryChange<'a> {
    /// The same recovery key goes on working (its slot is sealed to it again without knowing it). A vault whose
    /// recovery slot predates re-keying cannot be sealed that way: it gets a new recovery key, returned in
    /// [`Rekeyed::new_recovery_key`].
    Keep,
    /// The owner typed this recovery key (recovery): its slot is made again from it.
    Same(&'a RecoveryKey),
    /// A new recovery key replaces the old one, which stops working (returned in [`Rekeyed::new_recovery_key`]).
    New,
}

/// A re-key: the passphrase from now on (the current one when only the recovery key changes) and what becomes
/// of the recovery slot.
#[derive(Debug)]
pub struct KeyChange<'a> {
    /// The passphrase that will open the vault.
    pub passphrase: &'a Passphrase,
    /// Argon2id parameters for its slot.
    pub kdf: KdfParams,
    /// The recovery slot.
    pub recovery: RecoveryChange<'a>,
}

/// What a re-key did.
#[derive(Debug)]
pub struct Rekeyed {
    /// The vault, open again under its new data key.
    pub vault: Vault,
    /// A recovery key to show the owner once, when the old one no longer works.
    pub new_recovery_key: Option<RecoveryKey>,
    /// How many backups (and `replaced-*` copies) were re-encrypted.
    pub copies_reencrypted: usize,
}

fn rekey_tmp(db: &Path) -> PathBuf {
    db.with_extension("db.rekey")
}

/// Whether `db` decrypts with `key` (a real read).
fn opens_with(db: &Path, key: &DataKey) -> bool {
    store::open_keyed(db, key, false)
        .and_then(|c| store::probe(&c, db).map(|_| ()))
        .is_ok()
}

/// Copies `db` (with every commit of its WAL) to `<db>.rekey` re-encrypted under `new`, proves the copy opens
/// and is intact, and fsyncs it.
fn reencrypted_copy(db: &Path, old: &DataKey, new: &DataKey) -> Result<PathBuf, VaultError> {
    let tmp = rekey_tmp(db);
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let src = store::open_keyed(db, old, false)?;
        store::probe(&src, db)?;
        // Every commit into the main file, so the WAL set aside later is empty. `busy` = 1 would mean another
        // connection still reads or writes: refuse rather than lose its commits.
        let busy: i64 = src.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(VaultError::InUse(
                "the vault database is still in use by another connection; close it and try again".into(),
            ));
        }
        drop(fsx::create_new_private(&tmp)?);
        let mut dst = store::open_keyed(&tmp, old, true)?;
        {
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            b.step(-1)?;
        }
        dst.execute_batch("PRAGMA journal_mode = DELETE")?;
        dst.execute_batch(&new.rekey_pragma())?;
        drop(dst);
        drop(src);
        let check = store::open_keyed(&tmp, new, false)?;
        store::probe(&check, &tmp)?;
        store::quick_check(&check, &tmp)?;
        drop(check);
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| VaultError::io(&tmp, e))?;
        Ok(tmp.clone())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts `<db>.rekey` in place of `db`: the old database's WAL and shared-memory files (empty after the
/// checkpoint) are removed first, so no frame under the old key can ever be replayed into the new file.
fn swap_copy(db: &Path) -> Result<(), VaultError> {
    let dir = db.parent().unwrap_or(Path::new("."));
    let name = db.file_name().and_then(|n| n.to_str()).unwrap_or(DB_FILE);
    let wal = dir.join(format!("{name}-wal"));
    if fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0 {
        return Err(VaultError::InUse(
            "the vault database was written to during the re-key; nothing was replaced, try again".into(),
        ));
    }
    for f in [wal, dir.join(format!("{name}-shm"))] {
        match fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(VaultError::io(&f, e)),
        }
    }
    fs::rename(rekey_tmp(db), db).map_err(|e| VaultError::io(db, e))?;
    fsync_dir(dir)
}

fn fsync_dir(dir: &Path) -> Result<(), VaultError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VaultError::io(dir, e))
}

/// The folders holding database copies under the vault's key: `backups/<id>/` and `replaced-*/`. Unfinished
/// snapshots (`backups/.<id>.partial`) and interrupted prunes (`backups/.<id>.pruning`) are deleted: nothing
/// refers to them and they are under the old key.
fn copies(dir: &Path) -> Result<Vec<PathBuf>, VaultError> {
    let mut out = Vec::new();
    let root = dir.join(BACKUP_DIR);
    if root.exists() {
        for entry in fs::read_dir(&root).map_err(|e| VaultError::io(&root, e))? {
            let p = entry.map_err(|e| VaultError::io(&root, e))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name.starts_with('.') && (name.ends_with(".partial") || name.ends_with(".pruning")) {
                fs::remove_dir_all(&p).map_err(|e| VaultError::io(&p, e))?;
            } else if p.join(DB_FILE).exists() {
                out.push(p);
            }
        }
    }
    for entry in fs::read_dir(dir).map_err(|e| VaultError::io(dir, e))? {
        let p = entry.map_err(|e| VaultError::io(dir, e))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("replaced-") && p.join(DB_FILE).exists() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Steps 3–5 (see the module docs). `copy_ready`: step 1 has just made `vault.db.rekey` under this same
/// exclusive lock (otherwise a fresh copy is made: one left by a crash may miss later commits).
fn finish(
    dir: &Path,
    mut slots: SlotFile,
    old: &DataKey,
    new: &DataKey,
    copy_ready: bool,
) -> Result<usize, VaultError> {
    let db = dir.join(DB_FILE);
    if !opens_with(&db, new) {
        if !opens_with(&db, old) {
            return Err(VaultError::damaged(
                &db,
                "opens with neither the new nor the previous data key",
            ));
        }
        if !copy_ready {
            reencrypted_copy(&db, old, new)?;
        }
        swap_copy(&db)?;
    }
    let _ = fs::remove_file(rekey_tmp(&db));
    crash_point("rekey-db-swapped");
    let mut n = 0;
    for folder in copies(dir)? {
        let copy = folder.join(DB_FILE);
        let _ = fs::remove_file(rekey_tmp(&copy));
        if opens_with(&copy, new) {
            continue;
        }
        if !opens_with(&copy, old) {
            tracing::warn!(folder = %folder.display(), "a database copy opens with neither key; left as it is");
            continue;
        }
        reencrypted_copy(&copy, old, new)?;
        swap_copy(&copy)?;
        n += 1;
        crash_point("rekey-copy-reencrypted");
    }
    slots.previous = None;
    slots.write_atomic(&dir.join(SLOTS_FILE))?;
    crash_point("rekey-slots-final");
    // Each backup keeps a copy of the key slots that open it: the current ones (an old copy would hold the old
    // key under the old secrets — useless now, but no secret's wrap should outlive its change).
    let json = slots.to_json()?;
    let root = dir.join(BACKUP_DIR);
    for folder in copies(dir)? {
        if folder.starts_with(&root) {
            fsx::write_private(&folder.join(SLOTS_FILE), &json)?;
        }
    }
    Ok(n)
}

impl Vault {
    /// Re-keys the vault: a new random data key, every slot wrapped under it (see the module docs), the
    /// database, its backups and restore leftovers re-encrypted. Afterwards only `change.passphrase`, the
    /// recovery key (kept, given or new) and this device's keychain entry open anything in the folder.
    ///
    /// Consumes this handle, which must be the only one in this process (no clone, no `Store` left open: drop
    /// sessions first), and needs the vault to itself (`vault_in_use` while another program has it open). The
    /// vault is opened again under the new key and handed back.
    pub fn rekey(self, change: KeyChange<'_>) -> Result<Rekeyed, VaultError> {
        if change.passphrase.is_empty() {
            return Err(VaultError::Invalid {
                key: "passphrase".into(),
                rule: "must not be empty".into(),
            });
        }
        let dir = self.dir().to_path_buf();
        let (path, slots) = self.read_slots()?;
        if !self.is_sole_handle() {
            return Err(VaultError::InUse(
                "the vault is in use elsewhere in this app; close it there first".into(),
            ));
        }
        self.inner_lock().upgrade(&dir)?;
        let (old, lock) = self.take_data_key_for_restore()?;
        let new = DataKey::generate()?;
        let mut next = SlotFile::new(&slots.vault_id);
        next.put_derived(
            SlotKind::Passphrase,
            change.passphrase.expose().as_bytes(),
            change.kdf,
            &new,
        )?;
        let mut new_recovery_key = None;
        match change.recovery {
            RecoveryChange::Same(rk) => next.put_recovery(rk, &new)?,
            RecoveryChange::Keep if next.reseal_recovery(&slots, &new, &path)? => {}
            RecoveryChange::Keep if !slots.has(SlotKind::Recovery) => {}
            RecoveryChange::Keep | RecoveryChange::New => {
                let rk = RecoveryKey::generate()?;
                next.put_recovery(&rk, &new)?;
                new_recovery_key = Some(rk);
            }
        }
        if slots.has(SlotKind::Keychain) {
            // The keychain entry stays; its slot wraps the new key. An entry that is gone or no longer matches
            // cannot unlock anyway: the slot is dropped (turn it on again in Settings).
            match keychain::load(&slots.vault_id) {
                Ok(wrap) if matches!(slots.open_raw(SlotKind::Keychain, &wrap, &path), Ok(Some(_))) => {
                    next.put_raw(SlotKind::Keychain, &wrap, &new)?;
                }
                _ => tracing::warn!("the keychain entry could not be read; unlock on this device is now off"),
            }
        }
        next.set_previous(&old, &new)?;
        let db = dir.join(DB_FILE);
        reencrypted_copy(&db, &old, &new)?;
        crash_point("rekey-copy-written");
        next.write_atomic(&path)?;
        crash_point("rekey-slots-written");
        let copies_reencrypted = finish(&dir, next, &old, &new, true)?;
        drop(old);
        let vault = Vault::reopen_with_key(&dir, new, lock)?;
        // The exclusive lock was for the switch; the handle goes on with the shared one like any other.
        vault.inner_lock().downgrade(&dir)?;
        Ok(Rekeyed {
            vault,
            new_recovery_key,
            copies_reencrypted,
        })
    }

    /// A new passphrase (and data key); the recovery key goes on working. See [`Vault::rekey`].
    pub fn change_passphrase(self, new: &Passphrase, kdf: KdfParams) -> Result<Rekeyed, VaultError> {
        self.rekey(KeyChange {
            passphrase: new,
            kdf,
            recovery: RecoveryChange::Keep,
        })
    }

    /// A new recovery key (and data key); the old recovery key stops working. `passphrase` is the current one
    /// (its slot is wrapped again under the new data key). See [`Vault::rekey`].
    pub fn reset_recovery_key(self, passphrase: &Passphrase) -> Result<(Vault, RecoveryKey), VaultError> {
        let kdf = Vault::inspect(self.dir())?.passphrase_kdf.unwrap_or_default();
        let done = self.rekey(KeyChange {
            passphrase,
            kdf,
            recovery: RecoveryChange::New,
        })?;
        let rk = done
            .new_recovery_key
            .ok_or_else(|| VaultError::Storage("no recovery key was made".into()))?;
        Ok((done.vault, rk))
    }
}

/// At unlock, with `slots` carrying `previous` (a re-key was cut short): the key the database is under now, and
/// the exclusive lock if the re-key could be finished under it (then the key is `current`).
pub(crate) fn resume(dir: &Path, slots: &SlotFile, current: DataKey) -> Result<(DataKey, Option<DirLock>), VaultError> {
    let path = dir.join(SLOTS_FILE);
    let Some(old) = slots.open_previous(&current, &path)? else {
        return Ok((current, None));
    };
    match DirLock::exclusive(dir) {
        Ok(lock) => {
            finish(dir, slots.clone(), &old, &current, false)?;
            Ok((current, Some(lock)))
        }
        // Another program has the vault open: use it as it is; the next unlock finishes the re-key.
        Err(_) if opens_with(&dir.join(DB_FILE), &current) => Ok((current, None)),
        Err(_) => Ok((old, None)),
    }
}
