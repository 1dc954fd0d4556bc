//! The vault directory and the unlocked [`Vault`] handle.
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::keyslot::{crash_point, now, KdfParams, SlotFile, SlotKind};
use crate::secret::{random_bytes, DataKey, Passphrase, RecoveryKey, SigningSeed};
use crate::store::{self, Store};
use crate::{anchor, fsx, keychain, rekey, VaultError, Writer};

/// Whether opening checks the database against its freshness anchor (every unlock), or accepts an older one
/// that the caller reconciles at once (restore, recovery, an accepted rollback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    Check,
    Accept,
}

/// The SQLCipher database inside a vault directory.
pub const DB_FILE: &str = "vault.db";
/// The key-slot file inside a vault directory.
pub const SLOTS_FILE: &str = "keyslots.json";
/// The lock file in the vault directory (empty; only its advisory lock matters).
pub const LOCK_FILE: &str = "vault.lock";

/// An advisory lock on the vault directory (`flock` on [`LOCK_FILE`]): every open vault handle holds it shared,
/// in any process; restoring a backup or wiping holds it exclusively, so neither can replace or delete the files
/// under a program that has the vault open (it would go on serving data from a file no longer there).
#[derive(Debug)]
pub(crate) struct DirLock(fs::File);

impl DirLock {
    fn open(dir: &Path) -> Result<fs::File, VaultError> {
        fsx::check_owner(dir)?;
        fsx::open_private(&dir.join(LOCK_FILE))
    }

    fn busy(dir: &Path, e: fs::TryLockError, exclusive: bool) -> VaultError {
        match e {
            fs::TryLockError::WouldBlock if exclusive => VaultError::InUse(format!(
                "the vault at {} is open in another program (the desktop app, `locket serve` or another \
                 command); close it there first",
                dir.display()
            )),
            fs::TryLockError::WouldBlock => VaultError::InUse(format!(
                "the vault at {} is being restored or wiped by another program; try again when it has finished",
                dir.display()
            )),
            fs::TryLockError::Error(e) => VaultError::io(dir.join(LOCK_FILE), e),
        }
    }

    /// The shared lock of an open vault handle.
    pub(crate) fn shared(dir: &Path) -> Result<DirLock, VaultError> {
        let f = Self::open(dir)?;
        f.try_lock_shared().map_err(|e| Self::busy(dir, e, false))?;
        Ok(DirLock(f))
    }

    /// The exclusive lock for replacing or deleting the vault's files. A handle being closed as this is asked
    /// (a thread of this process finishing with the vault) gets half a second to let go; a program that keeps the
    /// vault open is refused (`vault_in_use`).
    pub(crate) fn exclusive(dir: &Path) -> Result<DirLock, VaultError> {
        let f = Self::open(dir)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(DirLock(f)),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(Self::busy(dir, e, true)),
            }
        }
    }

    /// Turns this handle's shared lock into the exclusive one (fails if any other handle holds it).
    pub(crate) fn upgrade(&self, dir: &Path) -> Result<(), VaultError> {
        self.0.try_lock().map_err(|e| Self::busy(dir, e, true))
    }

    /// Back to shared (for the handle that goes on using the vault).
    pub(crate) fn downgrade(&self, dir: &Path) -> Result<(), VaultError> {
        self.0.lock_shared().map_err(|e| VaultError::io(dir.join(LOCK_FILE), e))
    }
}

/// What can be said about a vault without unlocking it, plus what an unlocked one adds.
#[derive(Debug, Clone, Serialize)]
pub struct VaultInfo {
    /// The vault's id (a UUID; also the `iss` of its tokens).
    pub vault_id: String,
    /// The vault directory.
    pub path: PathBuf,
    /// Whether "unlock on this device" (OS keychain slot) is on.
    pub keychain_enabled: bool,
    /// Whether a recovery slot exists.
    pub recovery_enabled: bool,
    /// Argon2id parameters of the passphrase slot.
    pub passphrase_kdf: Option<KdfParams>,
    /// Schema version of the database (unlocked only).
    pub schema_version: Option<i64>,
    /// When the vault was created (unlocked only).
    pub created_at: Option<String>,
}

/// An unlocked vault. Holds the data key (zeroized when the last clone is dropped); cloning is cheap.
/// Locking the vault = dropping every clone.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    vault_id: String,
    created_at: String,
    data_key: DataKey,
    signing_seed: SigningSeed,
    pseudonym_key: Zeroizing<[u8; 32]>,
    writer: OnceLock<Writer>,
    /// Released last, after the writer has stopped (fields drop in declaration order).
    lock: DirLock,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.inner.dir)
            .field("vault_id", &self.inner.vault_id)
            .field("keys", &"[redacted]")
            .finish()
    }
}

fn slots_path(dir: &Path) -> PathBuf {
    dir.join(SLOTS_FILE)
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

impl Vault {
    /// The default vault directory: the OS data directory for "locket" (e.g. `~/.local/share/locket`).
    pub fn default_dir() -> PathBuf {
        directories::ProjectDirs::from("", "", "locket")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".locket"))
    }

    /// True when `dir` holds a vault (its key-slot file exists).
    pub fn exists(dir: &Path) -> bool {
        slots_path(dir).exists()
    }

    /// Creates a new vault in `dir` (created if missing; must not already hold a vault). Returns the unlocked
    /// vault and the recovery key, which the caller must show to the owner exactly once.
    pub fn create(dir: &Path, passphrase: &Passphrase, kdf: KdfParams) -> Result<(Vault, RecoveryKey), VaultError> {
        Self::create_at_version(dir, passphrase, kdf, store::SCHEMA_VERSION)
    }

    /// Like [`Vault::create`] but stops migrating at `version`: used to make golden vaults of older versions
    /// for migration tests.
    #[doc(hidden)]
    pub fn create_at_version(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        version: i64,
    ) -> Result<(Vault, RecoveryKey), VaultError> {
        if passphrase.is_empty() {
            return Err(VaultError::Invalid {
                key: "passphrase".into(),
                rule: "must not be empty".into(),
            });
        }
        if Self::exists(dir) || db_path(dir).exists() {
            return Err(VaultError::AlreadyExists { path: dir.into() });
        }
        create_private_dir(dir)?;
        let vault_id = uuid::Uuid::new_v4().to_string();
        let data_key = DataKey::generate()?;
        let signing = random_bytes::<32>()?;
        let pseudonym = random_bytes::<32>()?;
        let created_at = now();
        let result = (|| {
            // Owner-only from the first byte; SQLite gives the -wal and -shm files the database file's mode.
            drop(fsx::create_new_private(&db_path(dir))?);
            let mut conn = store::open_keyed(&db_path(dir), &data_key, true)?;
            store::configure(&conn)?;
            store::migrate_to(&mut conn, version)?;
            let tx = conn.transaction()?;
            {
                let mut put = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
                put.execute(rusqlite::params!["vault_id", vault_id])?;
                put.execute(rusqlite::params!["created_at", created_at])?;
                put.execute(rusqlite::params!["signing_seed", signing.as_ref()])?;
                put.execute(rusqlite::params!["pseudonym_key", pseudonym.as_ref()])?;
            }
            tx.commit()?;
            drop(conn);
            let recovery = RecoveryKey::generate()?;
            let mut slots = SlotFile::new(&vault_id);
            slots.put_derived(SlotKind::Passphrase, passphrase.expose().as_bytes(), kdf, &data_key)?;
            slots.put_recovery(&recovery, &data_key)?;
            slots.write_atomic(&slots_path(dir))?;
            // The freshness anchor starts with the empty log (crate::anchor).
            let key = anchor::AnchorKey::derive(&signing, &vault_id);
            anchor::AnchorFile::open(dir)?.write(&key, &anchor::AnchorState::default())?;
            Ok::<_, VaultError>(recovery)
        })();
        let recovery = match result {
            Ok(r) => r,
            Err(e) => {
                // Leave no half-made vault behind (only files we created).
                for f in [
                    SLOTS_FILE,
                    DB_FILE,
                    "vault.db-wal",
                    "vault.db-shm",
                    "keyslots.json.tmp",
                    anchor::ANCHOR_FILE,
                ] {
                    let _ = fs::remove_file(dir.join(f));
                }
                return Err(e);
            }
        };
        let vault = Vault {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                vault_id,
                created_at,
                data_key,
                signing_seed: SigningSeed(signing),
                pseudonym_key: pseudonym,
                writer: OnceLock::new(),
                lock: DirLock::shared(dir)?,
            }),
        };
        Ok((vault, recovery))
    }

    /// Reads what can be known without a key (for `locket status` on a locked vault).
    pub fn inspect(dir: &Path) -> Result<VaultInfo, VaultError> {
        let slots = SlotFile::read(&slots_path(dir))?;
        Ok(VaultInfo {
            vault_id: slots.vault_id.clone(),
            path: dir.to_path_buf(),
            keychain_enabled: slots.has(SlotKind::Keychain),
            recovery_enabled: slots.has(SlotKind::Recovery),
            passphrase_kdf: slots.params(SlotKind::Passphrase),
            schema_version: None,
            created_at: None,
        })
    }

    /// Unlocks with the passphrase. Wrong passphrase → [`VaultError::WrongPassphrase`], nothing written.
    pub fn unlock(dir: &Path, passphrase: &Passphrase) -> Result<Vault, VaultError> {
        let path = slots_path(dir);
        let slots = SlotFile::read(&path)?;
        let key = slots
            .open_derived(SlotKind::Passphrase, passphrase.expose().as_bytes(), &path)?
            .ok_or(VaultError::WrongPassphrase)?;
        Self::open_with_key(dir, &slots, key, None, Fresh::Check)
    }

    /// Unlocks with the recovery key (then the owner should set a new passphrase).
    pub fn unlock_with_recovery(dir: &Path, recovery: &RecoveryKey) -> Result<Vault, VaultError> {
        let path = slots_path(dir);
        let slots = SlotFile::read(&path)?;
        let key = slots
            .open_derived(SlotKind::Recovery, recovery.normalized().as_bytes(), &path)?
            .ok_or(VaultError::WrongRecoveryKey)?;
        Self::open_with_key(dir, &slots, key, None, Fresh::Check)
    }

    /// Unlocks with the key kept in the OS keychain ("unlock on this device").
    pub fn unlock_with_keychain(dir: &Path) -> Result<Vault, VaultError> {
        let path = slots_path(dir);
        let slots = SlotFile::read(&path)?;
        if !slots.has(SlotKind::Keychain) {
            return Err(VaultError::KeychainNotEnabled);
        }
        let wrap = keychain::load(&slots.vault_id)?;
        let key = slots
            .open_raw(SlotKind::Keychain, &wrap, &path)?
            .ok_or_else(|| VaultError::Keychain("the keychain entry does not match this vault".into()))?;
        Self::open_with_key(dir, &slots, key, None, Fresh::Check)
    }

    pub(crate) fn data_key(&self) -> &DataKey {
        &self.inner.data_key
    }

    /// Ends this handle and hands back the data key, after making sure no other handle, writer thread or
    /// connection of this process still uses the vault (restore swaps the database file underneath).
    pub(crate) fn take_data_key_for_restore(self) -> Result<(DataKey, DirLock), VaultError> {
        let inner = Arc::try_unwrap(self.inner).map_err(|_| {
            VaultError::Storage("the vault is in use elsewhere in this app; close it there first".into())
        })?;
        let Inner {
            data_key, writer, lock, ..
        } = inner;
        if let Some(w) = writer.into_inner() {
            w.shutdown()?;
        }
        Ok((data_key, lock))
    }

    /// Unwraps the data key with the passphrase without opening the database (startup recovery).
    pub(crate) fn unwrap_with_passphrase(dir: &Path, passphrase: &Passphrase) -> Result<DataKey, VaultError> {
        let path = slots_path(dir);
        let slots = SlotFile::read(&path)?;
        slots
            .open_derived(SlotKind::Passphrase, passphrase.expose().as_bytes(), &path)?
            .ok_or(VaultError::WrongPassphrase)
    }

    /// Opens the vault again after its files were replaced, keeping `lock` (exclusive during the replacement),
    /// as the new handle's lock (made shared once the restored database is reconciled, see `crate::anchor`).
    /// The freshness check is skipped: the caller reconciles the older database with the anchor next.
    pub(crate) fn reopen_with_key(dir: &Path, data_key: DataKey, lock: DirLock) -> Result<Vault, VaultError> {
        let slots = SlotFile::read(&slots_path(dir))?;
        Self::open_with_key(dir, &slots, data_key, Some(lock), Fresh::Accept)
    }

    fn open_with_key(
        dir: &Path,
        slots: &SlotFile,
        data_key: DataKey,
        lock: Option<DirLock>,
        fresh: Fresh,
    ) -> Result<Vault, VaultError> {
        // A re-key cut short by a crash is finished first (or, while another program has the vault open, the
        // database is opened under whichever key it is still under).
        let (data_key, lock) = match (slots.previous.is_some(), lock) {
            (true, None) => match rekey::resume(dir, slots, data_key)? {
                (key, Some(exclusive)) => {
                    exclusive.downgrade(dir)?;
                    (key, Some(exclusive))
                }
                (key, None) => (key, None),
            },
            (_, lock) => (data_key, lock),
        };
        let lock = match lock {
            Some(l) => l,
            None => DirLock::shared(dir)?,
        };
        let db = db_path(dir);
        let mut conn = store::open_keyed(&db, &data_key, false)?;
        store::probe(&conn, &db)?;
        store::quick_check(&conn, &db)?;
        let (vault_id, created_at, signing, pseudonym) = read_meta(&conn, &db)?;
        if vault_id != slots.vault_id {
            return Err(VaultError::damaged(
                &db,
                "the database belongs to a different vault than its key slots",
            ));
        }
        // A database older than its freshness anchor is refused before anything is written (crate::anchor).
        let anchor_key = anchor::AnchorKey::derive(&signing, &vault_id);
        let keychain_on = slots.has(SlotKind::Keychain);
        if fresh == Fresh::Check {
            anchor::check_fresh(dir, &conn, &anchor_key, keychain_on)?;
        }
        store::configure(&conn)?;
        store::migrate_to(&mut conn, store::SCHEMA_VERSION)?;
        if fresh == Fresh::Check {
            anchor::sync_after_open(dir, &conn, &anchor_key, keychain_on)?;
        }
        Ok(Vault {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                vault_id,
                created_at,
                data_key,
                signing_seed: SigningSeed(signing),
                pseudonym_key: pseudonym,
                writer: OnceLock::new(),
                lock,
            }),
        })
    }

    /// This handle's lock on the vault directory.
    pub(crate) fn inner_lock(&self) -> &DirLock {
        &self.inner.lock
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The vault's id (UUID).
    pub fn id(&self) -> &str {
        &self.inner.vault_id
    }

    /// Opens a new keyed, configured connection to the database.
    pub fn connect(&self) -> Result<Store, VaultError> {
        let db = db_path(&self.inner.dir);
        let conn = store::open_keyed(&db, &self.inner.data_key, false)?;
        store::probe(&conn, &db)?;
        store::configure(&conn)?;
        Ok(Store::new(conn))
    }

    /// The vault's group-commit writer (started on first use; one per unlocked vault in this process).
    pub fn writer(&self) -> Result<Writer, VaultError> {
        if let Some(w) = self.inner.writer.get() {
            return Ok(w.clone());
        }
        let store = self.connect()?;
        let hook = anchor::BatchHook::new(
            &self.inner.dir,
            self.anchor_key(),
            self.inner.signing_seed.expose(),
            store.conn(),
            self.keychain_enabled().unwrap_or(false),
        );
        let w = Writer::start(store, Some(hook))?;
        Ok(self.inner.writer.get_or_init(|| w).clone())
    }

    /// The MAC key of the freshness anchor and the grant ledger.
    pub(crate) fn anchor_key(&self) -> anchor::AnchorKey {
        anchor::AnchorKey::derive(self.inner.signing_seed.expose(), &self.inner.vault_id)
    }

    /// The Ed25519 seed this vault signs tokens, log heads and receipts with.
    pub fn signing_seed(&self) -> &SigningSeed {
        &self.inner.signing_seed
    }

    /// A 256-bit secret for keyed hashes that must differ per vault (pairwise pseudonyms).
    pub fn pseudonym_key(&self) -> &[u8; 32] {
        &self.inner.pseudonym_key
    }

    /// Facts about this vault.
    pub fn info(&self) -> Result<VaultInfo, VaultError> {
        let mut info = Self::inspect(&self.inner.dir)?;
        info.schema_version = Some(self.connect()?.schema_version()?);
        info.created_at = Some(self.inner.created_at.clone());
        Ok(info)
    }

    /// Whether this is the only handle to the vault in this process (no clone, no writer user elsewhere).
    pub(crate) fn is_sole_handle(&self) -> bool {
        Arc::strong_count(&self.inner) == 1
    }

    pub(crate) fn read_slots(&self) -> Result<(PathBuf, SlotFile), VaultError> {
        let path = slots_path(&self.inner.dir);
        let slots = SlotFile::read(&path)?;
        if slots.vault_id != self.inner.vault_id {
            return Err(VaultError::damaged(&path, "key slots belong to a different vault"));
        }
        Ok((path, slots))
    }

    /// Turns "unlock on this device" on (a random key in the OS keychain wraps the data key) or off.
    pub fn set_keychain(&self, enabled: bool) -> Result<(), VaultError> {
        let (path, mut slots) = self.read_slots()?;
        if enabled {
            let wrap = random_bytes::<32>()?;
            // Keychain first: if it fails, the slot file is untouched.
            keychain::store(&self.inner.vault_id, &wrap)?;
            slots.put_raw(SlotKind::Keychain, &wrap, &self.inner.data_key)?;
            slots.write_atomic(&path)
        } else {
            slots.remove(SlotKind::Keychain);
            slots.write_atomic(&path)?;
            keychain::delete(&self.inner.vault_id)
        }
    }

    /// Whether the keychain slot is present.
    pub fn keychain_enabled(&self) -> Result<bool, VaultError> {
        Ok(self.read_slots()?.1.has(SlotKind::Keychain))
    }

    /// Crypto-shreds the vault in `dir`: overwrites and deletes every key-slot file — `keyslots.json`, a temp
    /// file left by a crash, and each backup's copy (without them the databases are noise) —, removes the
    /// keychain entry, then deletes the database files, the backups and the `replaced-*` folders a restore kept.
    /// Needs no key.
    ///
    /// Overwriting is best effort on what storage can promise: on an SSD (wear levelling) or a journaling or
    /// copy-on-write file system the old blocks may survive elsewhere on the device; the encryption, not the
    /// overwrite, is what protects the data there (see docs/cli.md).
    pub fn wipe(dir: &Path) -> Result<(), VaultError> {
        let slots_file = slots_path(dir);
        if !slots_file.exists() && !db_path(dir).exists() {
            return Err(VaultError::NotFound { path: dir.into() });
        }
        // Not while another program has it open: it would go on serving data from the deleted files.
        let _lock = DirLock::exclusive(dir)?;
        if let Ok(slots) = SlotFile::read(&slots_file) {
            // Best effort: a missing keychain service must not stop the owner from wiping.
            let _ = keychain::delete(&slots.vault_id);
            let _ = keychain::delete_anchor(&slots.vault_id);
        }
        let mut slot_copies = vec![slots_file.clone(), dir.join("keyslots.json.tmp")];
        let backups = dir.join("backups");
        if let Ok(entries) = fs::read_dir(&backups) {
            for e in entries.flatten() {
                slot_copies.push(e.path().join(SLOTS_FILE));
            }
        }
        for (i, f) in slot_copies.iter().enumerate() {
            shred(f)?;
            if i == 0 {
                crash_point("wipe-slots-shredded");
            }
        }
        let mut doomed_dirs = vec![backups];
        for e in fs::read_dir(dir).map_err(|e| VaultError::io(dir, e))?.flatten() {
            if e.file_name().to_string_lossy().starts_with("replaced-") {
                doomed_dirs.push(e.path());
            }
        }
        for f in [
            DB_FILE,
            "vault.db-wal",
            "vault.db-shm",
            "vault.db.rekey",
            "vault.db.restoring",
            "audit-pending.jsonl",
            anchor::ANCHOR_FILE,
            anchor::LEDGER_FILE,
            "grant-ledger.json.tmp",
            LOCK_FILE,
        ] {
            let p = dir.join(f);
            if p.symlink_metadata().is_ok() {
                fs::remove_file(&p).map_err(|e| VaultError::io(&p, e))?;
            }
        }
        for d in doomed_dirs {
            if d.symlink_metadata().is_ok() {
                fs::remove_dir_all(&d).map_err(|e| VaultError::io(&d, e))?;
            }
        }
        // Remove the directory only if nothing of the owner's is left in it.
        let _ = fs::remove_dir(dir);
        Ok(())
    }
}

/// Overwrites a regular file with random bytes of its length, fsyncs, then unlinks it. A symlink is only
/// unlinked (never written through); a missing file is fine.
fn shred(path: &Path) -> Result<(), VaultError> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_file() {
        let noise = random_noise(meta.len() as usize)?;
        let mut f = fsx::open_for_overwrite(path)?;
        std::io::Write::write_all(&mut f, &noise).map_err(|e| VaultError::io(path, e))?;
        f.sync_all().map_err(|e| VaultError::io(path, e))?;
    }
    fs::remove_file(path).map_err(|e| VaultError::io(path, e))
}

fn random_noise(len: usize) -> Result<Vec<u8>, VaultError> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(random_bytes::<32>()?.as_ref());
    }
    out.truncate(len);
    Ok(out)
}

type Meta = (String, String, Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

fn read_meta(conn: &rusqlite::Connection, db: &Path) -> Result<Meta, VaultError> {
    let get = |key: &str| -> Result<Vec<u8>, VaultError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            let v: rusqlite::types::Value = r.get(0)?;
            Ok(match v {
                rusqlite::types::Value::Text(s) => s.into_bytes(),
                rusqlite::types::Value::Blob(b) => b,
                _ => Vec::new(),
            })
        })
        .map_err(|_| VaultError::damaged(db, format!("vault metadata `{key}` is missing")))
    };
    let text = |key: &str| -> Result<String, VaultError> {
        String::from_utf8(get(key)?)
            .map_err(|_| VaultError::damaged(db, format!("vault metadata `{key}` is malformed")))
    };
    let key32 = |key: &str| -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let v = Zeroizing::new(get(key)?);
        let mut out = Zeroizing::new([0u8; 32]);
        if v.len() != 32 {
            return Err(VaultError::damaged(db, format!("vault metadata `{key}` is malformed")));
        }
        out.copy_from_slice(&v);
        Ok(out)
    };
    Ok((
        text("vault_id")?,
        text("created_at")?,
        key32("signing_seed")?,
        key32("pseudonym_key")?,
    ))
}

fn create_private_dir(dir: &Path) -> Result<(), VaultError> {
    fsx::check_owner(dir)?;
    fsx::private_dir(dir)
}

/// The signers of tokens and consent receipts (`locket_wire`) take their key material from an unlocked vault.
impl locket_wire::token::SigningKeys for Vault {
    fn signing_seed_bytes(&self) -> &[u8; 32] {
        self.signing_seed().expose()
    }
    fn pseudonym_key_bytes(&self) -> &[u8; 32] {
        self.pseudonym_key()
    }
    fn issuer_id(&self) -> &str {
        self.id()
    }
}
