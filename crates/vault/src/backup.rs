//! Encrypted backups: consistent snapshots taken with SQLite's online backup API into `backups/` next to the
//! database, encrypted with the same data key (so the vault's key slots — the same passphrase — open them),
//! with a rotation policy, verification and a restore that keeps the current vault aside until the restored
//! one has opened and verified.
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::anchor::{self, Cause, Reconciled, RecordRestore};
use crate::keyslot::{crash_point, now};
use crate::store;
use crate::vault::{DirLock, DB_FILE, SLOTS_FILE};
use crate::{fsx, Store, Vault, VaultError};

/// Folder inside the vault directory that holds the backups.
pub const BACKUP_DIR: &str = "backups";
const MANIFEST: &str = "backup.json";

/// How many backups to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// The newest N backups are always kept.
    pub keep_last: usize,
    /// Beyond those, the newest backup of each of the last N weeks is kept.
    pub keep_weekly: usize,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            keep_last: 10,
            keep_weekly: 8,
        }
    }
}

/// One backup, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Id (also the folder name), sortable by time: `YYYYMMDDTHHMMSS.mmmZ`.
    pub id: String,
    /// When the snapshot was taken (RFC 3339).
    pub created_at: String,
    /// Why: `manual`, `auto` (after changes), `daily`, `before-restore`.
    pub reason: String,
    /// Size of the snapshot database in bytes.
    pub size_bytes: u64,
    /// Schema version of the snapshot.
    pub schema_version: i64,
    /// Id of the vault it belongs to.
    pub vault_id: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct BackupCheck {
    /// The backup checked.
    pub backup: BackupInfo,
    /// Problems reported by `PRAGMA cipher_integrity_check` (empty = every page's HMAC verified).
    pub integrity_problems: Vec<String>,
}

fn backups_dir(dir: &Path) -> PathBuf {
    dir.join(BACKUP_DIR)
}

fn fsync_dir(dir: &Path) -> Result<(), VaultError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VaultError::io(dir, e))
}

fn backup_id(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// Lists the backups of the vault in `dir`, newest first. Needs no key.
pub fn list(dir: &Path) -> Result<Vec<BackupInfo>, VaultError> {
    let root = backups_dir(dir);
    if !root.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(&root).map_err(|e| VaultError::io(&root, e))? {
        let entry = entry.map_err(|e| VaultError::io(&root, e))?;
        // Only a folder named after its manifest's id is a backup: an unfinished snapshot (`.ID.partial`, which
        // holds its manifest a moment before the rename makes it a backup) and one being pruned (`.ID.pruning`)
        // are not, so a listed backup is always complete.
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let manifest = entry.path().join(MANIFEST);
        let Ok(bytes) = fs::read(&manifest) else { continue };
        if let Ok(info) = serde_json::from_slice::<BackupInfo>(&bytes) {
            if info.id == name {
                out.push(info);
            }
        }
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(out)
}

/// Which backups a policy keeps, given the list newest first. Returns the ids to delete.
pub fn to_prune(backups: &[BackupInfo], policy: BackupPolicy, now: DateTime<Utc>) -> Vec<String> {
    let mut keep = std::collections::BTreeSet::new();
    for b in backups.iter().take(policy.keep_last) {
        keep.insert(b.id.clone());
    }
    let mut weeks_seen = std::collections::BTreeSet::new();
    for b in backups {
        let Ok(at) = DateTime::parse_from_rfc3339(&b.created_at) else {
            keep.insert(b.id.clone());
            continue;
        };
        let age_weeks = (now - at.with_timezone(&Utc)).num_weeks();
        if age_weeks >= 0 && (age_weeks as usize) < policy.keep_weekly && weeks_seen.insert(age_weeks) {
            keep.insert(b.id.clone());
        }
    }
    backups
        .iter()
        .filter(|b| !keep.contains(&b.id))
        .map(|b| b.id.clone())
        .collect()
}

impl Vault {
    /// Takes a consistent snapshot now. Runs on its own read connection: in WAL mode it does not block writers.
    pub fn backup_now(&self, reason: &str) -> Result<BackupInfo, VaultError> {
        let root = backups_dir(self.dir());
        fsx::private_dir(&root)?;
        let mut id = backup_id(Utc::now());
        while root.join(&id).exists() {
            thread::sleep(Duration::from_millis(2));
            id = backup_id(Utc::now());
        }
        let folder = root.join(&id);
        let tmp_folder = root.join(format!(".{id}.partial"));
        let result = (|| {
            fsx::private_dir(&tmp_folder)?;
            let src = self.connect()?;
            drop(fsx::create_new_private(&tmp_folder.join(DB_FILE))?);
            let mut dst = store::open_keyed(&tmp_folder.join(DB_FILE), self.data_key(), true)?;
            {
                let b = rusqlite::backup::Backup::new(src.conn(), &mut dst)?;
                b.step(-1)?;
            }
            let schema_version: i64 = dst.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            dst.execute_batch("PRAGMA journal_mode = DELETE")?;
            drop(dst);
            fs::File::open(tmp_folder.join(DB_FILE))
                .and_then(|f| f.sync_all())
                .map_err(|e| VaultError::io(tmp_folder.join(DB_FILE), e))?;
            // A copy of the key slots as they are now, so the folder is self-contained. A re-key replaces it
            // with the slots of the new key (only the current secrets open a backup).
            let (_, mut slots) = self.read_slots()?;
            slots.previous = None;
            fsx::write_private(&tmp_folder.join(SLOTS_FILE), &slots.to_json()?)?;
            let size_bytes = fs::metadata(tmp_folder.join(DB_FILE))
                .map_err(|e| VaultError::io(&tmp_folder, e))?
                .len();
            let info = BackupInfo {
                id: id.clone(),
                created_at: now(),
                reason: reason.to_string(),
                size_bytes,
                schema_version,
                vault_id: self.id().to_string(),
            };
            let manifest = serde_json::to_vec_pretty(&info).map_err(|e| VaultError::Storage(e.to_string()))?;
            let mpath = tmp_folder.join(MANIFEST);
            fsx::write_private(&mpath, &manifest)?;
            fsync_dir(&tmp_folder)?;
            fs::rename(&tmp_folder, &folder).map_err(|e| VaultError::io(&folder, e))?;
            fsync_dir(&root)?;
            Ok(info)
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp_folder);
        }
        result
    }

    /// Deletes backups the policy does not keep. Returns the ids deleted.
    pub fn prune_backups(&self, policy: BackupPolicy) -> Result<Vec<String>, VaultError> {
        let backups = list(self.dir())?;
        let doomed = to_prune(&backups, policy, Utc::now());
        for id in &doomed {
            // Renamed away first, so no one lists a half-deleted backup.
            let p = backups_dir(self.dir()).join(id);
            let going = backups_dir(self.dir()).join(format!(".{id}.pruning"));
            fs::rename(&p, &going).map_err(|e| VaultError::io(&p, e))?;
            fs::remove_dir_all(&going).map_err(|e| VaultError::io(&going, e))?;
        }
        Ok(doomed)
    }

    fn backup_info(&self, id: &str) -> Result<BackupInfo, VaultError> {
        list(self.dir())?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| VaultError::NotFound {
                path: backups_dir(self.dir()).join(id),
            })
    }

    /// Opens a backup read-only-in-spirit (for checks such as the audit chain): a keyed connection to it.
    pub fn open_backup(&self, id: &str) -> Result<Store, VaultError> {
        let info = self.backup_info(id)?;
        let db = backups_dir(self.dir()).join(&info.id).join(DB_FILE);
        let conn = store::open_keyed(&db, self.data_key(), false)?;
        store::probe(&conn, &db)?;
        Ok(Store::new(conn))
    }

    /// Opens the backup and runs `PRAGMA cipher_integrity_check` on it.
    pub fn verify_backup(&self, id: &str) -> Result<BackupCheck, VaultError> {
        let backup = self.backup_info(id)?;
        if backup.vault_id != self.id() {
            return Err(VaultError::damaged(
                backups_dir(self.dir()).join(id),
                "this backup belongs to another vault",
            ));
        }
        let store = self.open_backup(id)?;
        let integrity_problems = store.integrity_check()?;
        Ok(BackupCheck {
            backup,
            integrity_problems,
        })
    }

    /// Restores a backup in place of the current database. The current database is first kept as a new backup
    /// (reason `before-restore`); the restored copy must open and pass the integrity check before it replaces
    /// anything. Then what must survive a restore is applied again from the grant ledger kept outside the
    /// database ([`crate::anchor`]): revoked grants stay revoked, narrowed ones narrow, use counts take the
    /// larger value; `record` logs the restore (the signed `vault_restored` event) in that same transaction, and
    /// the freshness anchor moves on so the restored vault is not reported as rolled back. Consumes this handle:
    /// no other handle to the vault may be open in this process.
    pub fn restore_backup(self, id: &str, record: RecordRestore) -> Result<(Vault, Reconciled), VaultError> {
        if self.backup_info(id)?.vault_id != self.id() {
            return Err(VaultError::damaged(
                backups_dir(self.dir()).join(id),
                "this backup belongs to another vault",
            ));
        }
        // Not under another program that has the vault open (it would keep the replaced file and its WAL).
        let dir = self.dir().to_path_buf();
        self.inner_lock().upgrade(&dir)?;
        // The ledger holds every revocation of the current database before it goes aside.
        let akey = self.anchor_key();
        let previous_head_seq = {
            let store = self.connect()?;
            let mut ledger = anchor::Ledger::read(&dir, &akey)?;
            if ledger.merge(anchor::ledger_from_db(store.conn())?) {
                ledger.write(&dir, &akey)?;
            }
            anchor::log_head(store.conn())?.0
        };
        // The copy that will go in place is checked page by page before anything else happens.
        let staged = stage_backup(&dir, id, self.data_key())?;
        // Keep the present state, whatever happens next: as a backup, and with every commit in vault.db itself
        // (an empty WAL), so setting the WAL aside below cannot lose anything.
        let kept = self.backup_now("before-restore").and_then(|info| {
            self.connect()?
                .conn()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(VaultError::from)?;
            Ok(info.id)
        });
        let kept = match kept {
            Ok(k) => k,
            Err(e) => {
                let _ = fs::remove_file(&staged);
                return Err(e);
            }
        };
        let (key, lock) = self.take_data_key_for_restore()?;
        swap_in(&dir, &staged)?;
        // From here a crash leaves an older database than the anchor: the next unlock reports it as rolled back
        // and `accept-rollback` finishes the re-apply.
        let vault = Vault::reopen_with_key(&dir, key, lock)?;
        let report = vault.reconcile(
            Reconciled {
                cause: Cause::Restore,
                backup_id: Some(id.to_string()),
                previous_head_seq,
                restored_head_seq: 0,
                rolled_back_events: 0,
                kept_in: Some(kept),
                revocations_reapplied: Vec::new(),
                narrowings_reapplied: Vec::new(),
                uses_reapplied: Vec::new(),
            },
            record,
        )?;
        vault.inner_lock().downgrade(&dir)?;
        Ok((vault, report))
    }

    /// Startup recovery: when the current database is damaged and will not open, restore backup `id` with the
    /// passphrase. The damaged files are kept in `replaced-<time>/` inside the vault directory, never deleted.
    /// Revocations, narrowings and use counts are applied again from the grant ledger, as for
    /// [`Vault::restore_backup`].
    pub fn recover_from_backup(
        dir: &Path,
        passphrase: &crate::Passphrase,
        id: &str,
        record: RecordRestore,
    ) -> Result<(Vault, Reconciled), VaultError> {
        let key = Vault::unwrap_with_passphrase(dir, passphrase)?;
        let lock = DirLock::exclusive(dir)?;
        let staged = stage_backup(dir, id, &key)?;
        let aside = swap_in(dir, &staged)?;
        let vault = Vault::reopen_with_key(dir, key, lock)?;
        let previous_head_seq = anchor::anchored_seq(dir, &vault.anchor_key());
        let report = vault.reconcile(
            Reconciled {
                cause: Cause::Recover,
                backup_id: Some(id.to_string()),
                previous_head_seq,
                restored_head_seq: 0,
                rolled_back_events: 0,
                kept_in: aside.file_name().map(|n| n.to_string_lossy().into_owned()),
                revocations_reapplied: Vec::new(),
                narrowings_reapplied: Vec::new(),
                uses_reapplied: Vec::new(),
            },
            record,
        )?;
        vault.inner_lock().downgrade(dir)?;
        Ok((vault, report))
    }

    /// The owner keeps a database that unlock refused as rolled back ([`VaultError::RolledBack`]): revocations,
    /// narrowings and use counts are applied again from the grant ledger, `record` logs it, and the anchor moves
    /// on. Fails with `vault_not_rolled_back` when the database is not older than its anchor.
    pub fn accept_rollback(
        dir: &Path,
        passphrase: &crate::Passphrase,
        record: RecordRestore,
    ) -> Result<(Vault, Reconciled), VaultError> {
        let key = Vault::unwrap_with_passphrase(dir, passphrase)?;
        let lock = DirLock::exclusive(dir)?;
        let vault = Vault::reopen_with_key(dir, key, lock)?;
        let akey = vault.anchor_key();
        let keychain_on = vault.keychain_enabled().unwrap_or(false);
        {
            let store = vault.connect()?;
            if anchor::check_fresh(dir, store.conn(), &akey, keychain_on).is_ok() {
                return Err(VaultError::NotRolledBack);
            }
        }
        let previous_head_seq = anchor::anchored_seq(dir, &akey);
        let report = vault.reconcile(
            Reconciled {
                cause: Cause::Rollback,
                backup_id: None,
                previous_head_seq,
                restored_head_seq: 0,
                rolled_back_events: 0,
                kept_in: None,
                revocations_reapplied: Vec::new(),
                narrowings_reapplied: Vec::new(),
                uses_reapplied: Vec::new(),
            },
            record,
        )?;
        vault.inner_lock().downgrade(dir)?;
        Ok((vault, report))
    }

    /// Re-applies the grant ledger to this (restored) database and records it (see [`crate::anchor`]).
    fn reconcile(&self, report: Reconciled, record: RecordRestore) -> Result<Reconciled, VaultError> {
        let mut store = self.connect()?;
        anchor::reconcile(
            self.dir(),
            store.conn_mut(),
            &self.anchor_key(),
            self.signing_seed().expose(),
            self.keychain_enabled().unwrap_or(false),
            report,
            record,
        )
    }

    /// What restoring backup `id` would bring back and what stays (nothing is changed).
    pub fn restore_preview(&self, id: &str) -> Result<RestorePreview, VaultError> {
        let info = self.backup_info(id)?;
        let current = self.connect()?;
        preview(
            self.dir(),
            self.data_key(),
            &self.anchor_key(),
            info,
            Some(current.conn()),
        )
    }

    /// [`Vault::restore_preview`] for a vault whose database does not open (figures from the anchor and the
    /// grant ledger). Needs the passphrase; changes nothing.
    pub fn recovery_preview(
        dir: &Path,
        passphrase: &crate::Passphrase,
        id: &str,
    ) -> Result<RestorePreview, VaultError> {
        let key = Vault::unwrap_with_passphrase(dir, passphrase)?;
        let info = list(dir)?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| VaultError::NotFound {
                path: backups_dir(dir).join(id),
            })?;
        let db = backups_dir(dir).join(&info.id).join(DB_FILE);
        let conn = store::open_keyed(&db, &key, false)?;
        store::probe(&conn, &db)?;
        let (seed, vault_id) = backup_identity(&conn, &db)?;
        let akey = anchor::AnchorKey::derive(&seed, &vault_id);
        drop(conn);
        preview(dir, &key, &akey, info, None)
    }
}

/// One grant named in a restore preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantNote {
    /// The grant id.
    pub grant_id: String,
    /// The shop it was given to.
    pub retailer_name: String,
}

/// What restoring a backup will bring back, and what stays as it is now.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePreview {
    /// The backup.
    pub backup: BackupInfo,
    /// Whether the current database could be read (if not, the figures come from the anchor and the ledger).
    pub current_readable: bool,
    /// Log events after the backup's newest one: they leave the live log (kept in the `before-restore` copy, or
    /// in the `replaced-*` folder when the vault is damaged).
    pub events_after: u64,
    /// Grants revoked after the backup (active in it): they stay revoked.
    pub revocations_kept: Vec<GrantNote>,
    /// Grants narrowed after the backup: they stay narrow.
    pub narrowings_kept: Vec<GrantNote>,
    /// Grants used after the backup (with a use cap): their use counts are kept.
    pub uses_kept: Vec<GrantNote>,
    /// Grants approved after the backup: not in it, so their tokens will be refused (`unknown_grant`).
    pub grants_gone: Vec<GrantNote>,
}

fn backup_identity(conn: &rusqlite::Connection, db: &Path) -> Result<([u8; 32], String), VaultError> {
    let seed: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'signing_seed'", [], |r| r.get(0))
        .map_err(|_| VaultError::damaged(db, "vault metadata `signing_seed` is missing"))?;
    let seed = zeroize::Zeroizing::new(seed);
    let vault_id: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'vault_id'", [], |r| r.get(0))
        .map_err(|_| VaultError::damaged(db, "vault metadata `vault_id` is missing"))?;
    let mut out = [0u8; 32];
    if seed.len() != 32 {
        return Err(VaultError::damaged(db, "vault metadata `signing_seed` is malformed"));
    }
    out.copy_from_slice(&seed);
    Ok((out, vault_id))
}

fn preview(
    dir: &Path,
    key: &crate::DataKey,
    akey: &anchor::AnchorKey,
    info: BackupInfo,
    current: Option<&rusqlite::Connection>,
) -> Result<RestorePreview, VaultError> {
    let db = backups_dir(dir).join(&info.id).join(DB_FILE);
    let backup = store::open_keyed(&db, key, false)?;
    store::probe(&backup, &db)?;
    let mut ledger = anchor::Ledger::read(dir, akey)?;
    let current_head = match current {
        Some(c) => {
            ledger.merge(anchor::ledger_from_db(c)?);
            anchor::log_head(c)?.0
        }
        None => anchor::anchored_seq(dir, akey),
    };
    let backup_head = anchor::log_head(&backup).map(|h| h.0).unwrap_or(0);
    let mut get = backup.prepare("SELECT revoked_at, scopes, uses, retailer_name FROM grants WHERE id = ?1")?;
    let mut out = RestorePreview {
        backup: info,
        current_readable: current.is_some(),
        events_after: current_head.saturating_sub(backup_head),
        revocations_kept: Vec::new(),
        narrowings_kept: Vec::new(),
        uses_kept: Vec::new(),
        grants_gone: Vec::new(),
    };
    for (id, want) in &ledger.grants {
        let row: Option<(Option<String>, String, i64, String)> = get
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((revoked_at, scopes, uses, retailer_name)) = row else {
            continue;
        };
        let note = GrantNote {
            grant_id: id.clone(),
            retailer_name,
        };
        if revoked_at.is_none() && want.revoked_at.is_some() {
            out.revocations_kept.push(note.clone());
        }
        if want.scopes.as_deref().is_some_and(|k| anchor::narrows(&scopes, k)) {
            out.narrowings_kept.push(note.clone());
        }
        if want.uses.is_some_and(|u| u > u64::try_from(uses).unwrap_or(0)) {
            out.uses_kept.push(note);
        }
    }
    if let Some(c) = current {
        let mut live = c.prepare("SELECT id, retailer_name FROM grants WHERE revoked_at IS NULL")?;
        let mut exists = backup.prepare("SELECT 1 FROM grants WHERE id = ?1")?;
        for row in live.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (grant_id, retailer_name) = row?;
            if exists.query_row([&grant_id], |_| Ok(())).optional()?.is_none() {
                out.grants_gone.push(GrantNote {
                    grant_id,
                    retailer_name,
                });
            }
        }
    }
    Ok(out)
}

/// Copies a backup next to the database as `vault.db.restoring` and proves it opens and is intact.
fn stage_backup(dir: &Path, id: &str, key: &crate::DataKey) -> Result<PathBuf, VaultError> {
    let src = backups_dir(dir).join(id).join(DB_FILE);
    if !src.exists() {
        return Err(VaultError::NotFound {
            path: backups_dir(dir).join(id),
        });
    }
    let staged = dir.join("vault.db.restoring");
    fs::copy(&src, &staged).map_err(|e| VaultError::io(&staged, e))?;
    fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(|e| VaultError::io(&staged, e))?;
    let check = (|| {
        let conn = store::open_keyed(&staged, key, false)?;
        store::probe(&conn, &staged)?;
        store::quick_check(&conn, &staged)?;
        let problems = Store::new(conn).integrity_check()?;
        if !problems.is_empty() {
            return Err(VaultError::damaged(
                backups_dir(dir).join(id),
                format!("backup failed its integrity check: {}", problems.join("; ")),
            ));
        }
        Ok(())
    })();
    if let Err(e) = check {
        let _ = fs::remove_file(&staged);
        return Err(e);
    }
    Ok(staged)
}

/// Puts the staged database in place. The current files are first set aside in `replaced-<time>/` (the
/// database hard-linked, its WAL and shared-memory files moved, so a stale WAL can never be replayed into the
/// restored file), then the staged file is renamed over `vault.db`.
fn swap_in(dir: &Path, staged: &Path) -> Result<PathBuf, VaultError> {
    let aside = dir.join(format!("replaced-{}", backup_id(Utc::now())));
    crate::fsx::private_dir(&aside)?;
    let db = dir.join(DB_FILE);
    if db.exists() {
        fs::hard_link(&db, aside.join(DB_FILE)).map_err(|e| VaultError::io(&aside, e))?;
    }
    for f in ["vault.db-wal", "vault.db-shm"] {
        let p = dir.join(f);
        if p.exists() {
            fs::rename(&p, aside.join(f)).map_err(|e| VaultError::io(&p, e))?;
        }
    }
    fsync_dir(&aside)?;
    fsync_dir(dir)?;
    crash_point("restore-before-rename");
    fs::rename(staged, &db).map_err(|e| VaultError::io(&db, e))?;
    fsync_dir(dir)?;
    Ok(aside)
}

/// Background backups for a long-running process (desktop app, `locket serve`): after changes (debounced) and
/// at least daily, then pruning by policy. Stops when dropped.
pub struct AutoBackup {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for AutoBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AutoBackup")
    }
}

fn fingerprint(dir: &Path) -> Option<(u64, u64, SystemTime)> {
    let db = fs::metadata(dir.join(DB_FILE)).ok()?;
    let wal = fs::metadata(dir.join("vault.db-wal")).ok();
    let modified = wal
        .as_ref()
        .and_then(|w| w.modified().ok())
        .max(db.modified().ok())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Some((db.len(), wal.map(|w| w.len()).unwrap_or(0), modified))
}

impl AutoBackup {
    /// Starts the scheduler: checks every `tick`; backs up once the vault has changed and then stayed quiet for
    /// `debounce`, or when the newest backup is older than a day.
    pub fn start(vault: Vault, policy: BackupPolicy, tick: Duration, debounce: Duration) -> AutoBackup {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name("locket-backup".into())
            .spawn(move || {
                let mut last_seen = fingerprint(vault.dir());
                let mut changed_at: Option<Instant> = None;
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(tick);
                    let fp = fingerprint(vault.dir());
                    if fp != last_seen {
                        last_seen = fp;
                        changed_at = Some(Instant::now());
                    }
                    let newest = list(vault.dir()).ok().and_then(|l| l.into_iter().next());
                    let stale = newest
                        .as_ref()
                        .and_then(|b| DateTime::parse_from_rfc3339(&b.created_at).ok())
                        .is_none_or(|t| Utc::now() - t.with_timezone(&Utc) > chrono::Duration::days(1));
                    let quiet = changed_at.is_some_and(|t| t.elapsed() >= debounce);
                    if quiet || stale {
                        let reason = if quiet { "auto" } else { "daily" };
                        // Taken before the snapshot: a change racing with it counts as a new change.
                        let before = fingerprint(vault.dir());
                        match vault.backup_now(reason) {
                            Ok(_) => {
                                changed_at = None;
                                last_seen = before;
                                let _ = vault.prune_backups(policy);
                            }
                            Err(e) => tracing::warn!(code = e.code(), "automatic backup failed"),
                        }
                    }
                }
            })
            .ok();
        AutoBackup { stop, handle }
    }
}

impl Drop for AutoBackup {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
