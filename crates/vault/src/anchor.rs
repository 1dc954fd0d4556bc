//! What a restore or a rolled-back database must not undo, kept **outside the restorable state** (next to the
//! database, never copied into a backup, never replaced by a restore):
//!
//! - the **freshness anchor** (`anchor`, 1,024 bytes): a monotonic counter and the access log's head (seq +
//!   hash), MAC'd. The counter is also stored inside the database (`meta.anchor_counter`), bumped in the same
//!   transaction as every writer batch that appended audit events (every revocation, decision and disclosure is
//!   one); the file is written only after that batch committed and before any of its callers hears of it. Two
//!   slots, one per 512-byte sector, written alternately in place (`fdatasync`), so a torn write leaves the
//!   other slot valid. At unlock a database whose counter is below the anchor's, or whose log no longer holds
//!   the anchored event, is refused as **rolled back** ([`VaultError::RolledBack`]) and nothing is written.
//!   When "unlock on this device" is on, a copy also lives in the OS keychain, updated on batches that carry a
//!   revocation or decision and when the writer stops (the vault locks).
//! - the **grant ledger** (`grant-ledger.json`, MAC'd): every revocation (when, by whom, why), the scopes left
//!   after a narrowing, and the use counts of grants that have a use cap. It is updated after the batches that
//!   change one of these and merged with the database at every unlock; a restore, a recovery from a backup and
//!   an accepted rollback re-apply it ([`reapply`]): revoked grants stay revoked, narrowed grants stay narrow,
//!   use counts take the larger value.
//!
//! The MAC key is derived from the vault's signing seed (in `meta`, the same in every backup and never rotated),
//! not from the data key, so re-keying the database does not touch these files; a copy of the folder without the
//! key cannot forge them. This module reads and writes the `grants`, `audit_events` and `audit_heads` tables
//! (created by this crate's migrations) directly: the writer's batch hook runs below the crates that own them.
//!
//! What it cannot see: a rollback of the *whole* folder (database, anchor and ledger together) to an older copy,
//! unless the keychain copy is on; a deleted anchor next to a database from before this format.
use std::collections::BTreeMap;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ring::hmac;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyslot::crash_point;
use crate::VaultError;

/// The freshness anchor file in the vault directory.
pub const ANCHOR_FILE: &str = "anchor";
/// The grant ledger file in the vault directory.
pub const LEDGER_FILE: &str = "grant-ledger.json";
const LEDGER_FORMAT: &str = "locket.grant-ledger/v1";
const MAGIC: &[u8; 8] = b"LKANCH01";
const SLOT: u64 = 512;
/// magic ‖ counter ‖ seq ‖ hash ‖ mac
const RECORD: usize = 8 + 8 + 8 + 32 + 32;
/// The `meta` key of the counter inside the database.
const META_COUNTER: &str = "anchor_counter";
/// Format tag of a signed audit head (see `locket_audit::chain`).
pub const HEAD_FORMAT: &str = "locket.audit-head/v1";

/// Kinds of audit events whose batch gets a signed head of its own.
const SIGNED_KINDS: [&str; 6] = [
    "redemption",
    "grant_revoked",
    "grant_issued",
    "grant_denied",
    "grant_narrowed",
    "vault_restored",
];
/// Kinds whose batch also updates the keychain copy of the anchor.
const DECISION_KINDS: [&str; 5] = [
    "grant_revoked",
    "grant_issued",
    "grant_denied",
    "grant_narrowed",
    "vault_restored",
];

/// The bytes an audit head signature covers: `len ‖ "locket.audit-head/v1" ‖ u64be(seq) ‖ hash ‖ i64be(ms)`.
pub fn head_message(seq: u64, hash: &[u8; 32], signed_ms: i64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(72);
    buf.extend_from_slice(&(HEAD_FORMAT.len() as u32).to_be_bytes());
    buf.extend_from_slice(HEAD_FORMAT.as_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(hash);
    buf.extend_from_slice(&signed_ms.to_be_bytes());
    buf
}

/// One state of the anchor: the counter and the log head it vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnchorState {
    /// The monotonic counter (also in the database's `meta`).
    pub counter: u64,
    /// The newest audit event's sequence number (0 for an empty log).
    pub seq: u64,
    /// Its chain hash.
    pub hash: [u8; 32],
}

/// The MAC key of this vault's anchor and ledger (derived from the signing seed and the vault id).
pub(crate) struct AnchorKey {
    key: Zeroizing<[u8; 32]>,
    vault_id: String,
}

impl AnchorKey {
    pub(crate) fn derive(signing_seed: &[u8; 32], vault_id: &str) -> AnchorKey {
        let k = hmac::Key::new(hmac::HMAC_SHA256, signing_seed);
        let tag = hmac::sign(&k, format!("locket.anchor-key/v1|{vault_id}").as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(tag.as_ref());
        AnchorKey {
            key,
            vault_id: vault_id.to_string(),
        }
    }

    fn mac(&self, label: &str, body: &[u8]) -> [u8; 32] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, self.key.as_ref());
        let mut ctx = hmac::Context::with_key(&k);
        ctx.update(label.as_bytes());
        ctx.update(b"|");
        ctx.update(self.vault_id.as_bytes());
        ctx.update(b"|");
        ctx.update(body);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn verify(&self, label: &str, body: &[u8], tag: &[u8]) -> bool {
        let k = hmac::Key::new(hmac::HMAC_SHA256, self.key.as_ref());
        let mut msg = Vec::with_capacity(label.len() + self.vault_id.len() + body.len() + 2);
        msg.extend_from_slice(label.as_bytes());
        msg.push(b'|');
        msg.extend_from_slice(self.vault_id.as_bytes());
        msg.push(b'|');
        msg.extend_from_slice(body);
        hmac::verify(&k, &msg, tag).is_ok()
    }

    fn encode(&self, s: &AnchorState) -> [u8; RECORD] {
        let mut out = [0u8; RECORD];
        out[..8].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&s.counter.to_be_bytes());
        out[16..24].copy_from_slice(&s.seq.to_be_bytes());
        out[24..56].copy_from_slice(&s.hash);
        let tag = self.mac("locket.anchor/v1", &out[..56]);
        out[56..].copy_from_slice(&tag);
        out
    }

    fn decode(&self, rec: &[u8]) -> Option<AnchorState> {
        if rec.len() < RECORD || &rec[..8] != MAGIC || !self.verify("locket.anchor/v1", &rec[..56], &rec[56..RECORD]) {
            return None;
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&rec[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&rec[24..56]);
        Some(AnchorState {
            counter: u64_at(8),
            seq: u64_at(16),
            hash,
        })
    }
}

/// What reading the anchor file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// No anchor file.
    Missing,
    /// The file is there but neither slot is a valid record of this vault.
    Invalid,
    /// The newest valid slot.
    Valid(AnchorState),
}

fn newest(a: Option<AnchorState>, b: Option<AnchorState>) -> Option<AnchorState> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if (y.counter, y.seq) > (x.counter, x.seq) { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Reads the anchor file of the vault in `dir`.
pub(crate) fn read_anchor(dir: &Path, key: &AnchorKey) -> Result<Stored, VaultError> {
    let path = dir.join(ANCHOR_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Stored::Missing),
        Err(e) => return Err(VaultError::io(&path, e)),
    };
    let slot = |i: u64| {
        let start = (i * SLOT) as usize;
        bytes.get(start..start + RECORD).and_then(|r| key.decode(r))
    };
    Ok(match newest(slot(0), slot(1)) {
        Some(s) => Stored::Valid(s),
        None => Stored::Invalid,
    })
}

/// Creates a file owner-only (0600) that must not exist yet.
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    // O_CREAT | O_EXCL: fails on any existing entry, a symlink included (it is not followed).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

fn fsync_dir(dir: &Path) -> Result<(), VaultError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VaultError::io(dir, e))
}

/// The open anchor file, written in place.
pub(crate) struct AnchorFile {
    file: fs::File,
    path: PathBuf,
}

impl AnchorFile {
    /// Opens the anchor file of `dir`, creating it (two empty slots, 0600) if missing.
    pub(crate) fn open(dir: &Path) -> Result<AnchorFile, VaultError> {
        let path = dir.join(ANCHOR_FILE);
        let file = match fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut f = create_private(&path).map_err(|e| VaultError::io(&path, e))?;
                f.write_all(&[0u8; 2 * SLOT as usize])
                    .map_err(|e| VaultError::io(&path, e))?;
                f.sync_all().map_err(|e| VaultError::io(&path, e))?;
                fsync_dir(dir)?;
                f
            }
            Err(e) => return Err(VaultError::io(&path, e)),
        };
        Ok(AnchorFile { file, path })
    }

    /// Writes `state` into the slot its counter's parity names, then `fdatasync`.
    pub(crate) fn write(&mut self, key: &AnchorKey, state: &AnchorState) -> Result<(), VaultError> {
        let rec = key.encode(state);
        let off = (state.counter % 2) * SLOT;
        self.file
            .seek(SeekFrom::Start(off))
            .and_then(|_| self.file.write_all(&rec))
            .map_err(|e| VaultError::io(&self.path, e))?;
        crash_point("anchor-written");
        self.file.sync_data().map_err(|e| VaultError::io(&self.path, e))
    }

    #[cfg(test)]
    fn raw(&mut self) -> Vec<u8> {
        use std::io::Read as _;
        let mut v = Vec::new();
        let _ = self.file.seek(SeekFrom::Start(0));
        let _ = self.file.read_to_end(&mut v);
        v
    }
}

/// The database's counter (`meta.anchor_counter`, 0 when never set).
pub(crate) fn db_counter(conn: &Connection) -> Result<u64, VaultError> {
    let v: Option<rusqlite::types::Value> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([META_COUNTER], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(rusqlite::types::Value::Integer(i)) => u64::try_from(i).unwrap_or(0),
        _ => 0,
    })
}

fn set_db_counter(conn: &Connection, counter: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![META_COUNTER, i64::try_from(counter).unwrap_or(i64::MAX)])
    .map(|_| ())
}

/// The newest audit event (seq, hash), or (0, zeros) for an empty log.
pub(crate) fn log_head(conn: &Connection) -> rusqlite::Result<(u64, [u8; 32])> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((seq, h)) => (u64::try_from(seq).unwrap_or(0), to32(&h)),
        None => (0, [0u8; 32]),
    })
}

fn to32(v: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if v.len() == 32 {
        out.copy_from_slice(v);
    }
    out
}

fn hash_at(conn: &Connection, seq: u64) -> rusqlite::Result<Option<[u8; 32]>> {
    let h: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM audit_events WHERE seq = ?1")?
        .query_row([i64::try_from(seq).unwrap_or(i64::MAX)], |r| r.get(0))
        .optional()?;
    Ok(h.map(|h| to32(&h)))
}

fn no_table(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("no such table"))
}

/// The database's own state as an anchor (an empty log for a schema older than the log).
pub(crate) fn db_state(conn: &Connection) -> Result<AnchorState, VaultError> {
    let (seq, hash) = match log_head(conn) {
        Err(e) if no_table(&e) => (0, [0u8; 32]),
        other => other?,
    };
    Ok(AnchorState {
        counter: db_counter(conn)?,
        seq,
        hash,
    })
}

/// Why a database is refused as older than its anchor (the message's middle part).
fn behind(conn: &Connection, db: &AnchorState, anchor: &AnchorState, what: &str) -> Result<Option<String>, VaultError> {
    if db.counter < anchor.counter {
        return Ok(Some(format!(
            "its access log ends at event {} but the {what} records event {} (write counter {} < {})",
            db.seq, anchor.seq, db.counter, anchor.counter
        )));
    }
    if anchor.seq > 0 {
        let at = match hash_at(conn, anchor.seq) {
            Err(e) if no_table(&e) => None,
            other => other?,
        };
        match at {
            None => {
                return Ok(Some(format!(
                    "its access log ends at event {} but the {what} records event {}",
                    db.seq, anchor.seq
                )))
            }
            Some(h) if h != anchor.hash => {
                return Ok(Some(format!(
                    "its access log differs from the {what} at event {}",
                    anchor.seq
                )))
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// The unlock-time check: refuses a database older than its anchor (or the keychain copy), writing nothing.
pub(crate) fn check_fresh(dir: &Path, conn: &Connection, key: &AnchorKey, keychain_on: bool) -> Result<(), VaultError> {
    let db = db_state(conn)?;
    let refuse = |detail: String, anchor_seq: u64| VaultError::RolledBack {
        detail,
        db_seq: db.seq,
        anchor_seq,
    };
    match read_anchor(dir, key)? {
        Stored::Missing if db.counter > 0 => {
            return Err(refuse(
                format!("its freshness record (`{ANCHOR_FILE}` next to vault.db) is missing"),
                db.seq,
            ))
        }
        Stored::Missing => {}
        Stored::Invalid => {
            return Err(refuse(
                format!("its freshness record (`{ANCHOR_FILE}`) was altered or belongs to another vault"),
                db.seq,
            ))
        }
        Stored::Valid(a) => {
            if let Some(why) = behind(conn, &db, &a, "freshness record")? {
                return Err(refuse(why, a.seq));
            }
        }
    }
    if keychain_on {
        match crate::keychain::load_anchor(&key.vault_id) {
            Ok(Some(bytes)) => {
                if let Some(a) = key.decode(&bytes) {
                    if let Some(why) = behind(conn, &db, &a, "copy in the OS keychain")? {
                        return Err(refuse(why, a.seq));
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the keychain copy of the freshness anchor could not be read"),
        }
    }
    Ok(())
}

/// After a successful open: brings the anchor (and keychain copy) up to the database and merges the database's
/// revocations, narrowings and capped use counts into the ledger.
pub(crate) fn sync_after_open(
    dir: &Path,
    conn: &Connection,
    key: &AnchorKey,
    keychain_on: bool,
) -> Result<(), VaultError> {
    let db = db_state(conn)?;
    let stored = read_anchor(dir, key)?;
    if stored != Stored::Valid(db) {
        AnchorFile::open(dir)?.write(key, &db)?;
    }
    if keychain_on {
        store_keychain(key, &db);
    }
    let mut ledger = Ledger::read(dir, key)?;
    if ledger.merge(ledger_from_db(conn)?) {
        ledger.write(dir, key)?;
    }
    Ok(())
}

fn store_keychain(key: &AnchorKey, state: &AnchorState) {
    if let Err(e) = crate::keychain::store_anchor(&key.vault_id, &key.encode(state)) {
        tracing::warn!(error = %e, "the keychain copy of the freshness anchor was not updated");
    }
}

// ---------------------------------------------------------------------------------------------------------
// The grant ledger.

/// What the ledger keeps about one grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerGrant {
    /// When it was revoked (RFC 3339), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// By whom (`owner`, `retailer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
    /// The scopes left after a narrowing (the `grants.scopes` JSON), if it was narrowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Uses counted, for a grant with a use cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<u64>,
}

/// Revocations, narrowings and capped use counts, by grant id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// By grant id.
    pub grants: BTreeMap<String, LedgerGrant>,
}

#[derive(Serialize, Deserialize)]
struct LedgerDoc {
    format: String,
    vault_id: String,
    grants: BTreeMap<String, LedgerGrant>,
    mac: String,
}

/// The scope names of a `grants.scopes` JSON array.
fn scope_names(json: &str) -> Option<Vec<String>> {
    let v: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
    Some(
        v.iter()
            .filter_map(|s| s.get("scope").and_then(|x| x.as_str()).map(str::to_string))
            .collect(),
    )
}

/// `current` without the scopes that `kept` no longer has (narrowing only removes); `None` if nothing is removed.
fn narrow(current: &str, kept: &str) -> Option<String> {
    let keep = scope_names(kept)?;
    let items: Vec<serde_json::Value> = serde_json::from_str(current).ok()?;
    let before = items.len();
    let left: Vec<serde_json::Value> = items
        .into_iter()
        .filter(|s| {
            s.get("scope")
                .and_then(|x| x.as_str())
                .is_some_and(|n| keep.iter().any(|k| k == n))
        })
        .collect();
    if left.len() == before {
        return None;
    }
    serde_json::to_string(&left).ok()
}

/// Whether `kept` has fewer scopes than `current` (a narrowing to apply again).
pub(crate) fn narrows(current: &str, kept: &str) -> bool {
    narrow(current, kept).is_some()
}

impl LedgerGrant {
    /// Merges `other` in; true if anything changed.
    fn merge(&mut self, other: LedgerGrant) -> bool {
        let before = self.clone();
        if self.revoked_at.is_none() && other.revoked_at.is_some() {
            self.revoked_at = other.revoked_at;
            self.revoked_by = other.revoked_by;
            self.revoke_reason = other.revoke_reason;
        }
        match (&self.scopes, other.scopes) {
            (None, Some(s)) => self.scopes = Some(s),
            (Some(mine), Some(theirs)) => {
                if let Some(n) = narrow(mine, &theirs) {
                    self.scopes = Some(n);
                }
            }
            _ => {}
        }
        self.uses = match (self.uses, other.uses) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        *self != before
    }
}

impl Ledger {
    fn path(dir: &Path) -> PathBuf {
        dir.join(LEDGER_FILE)
    }

    /// Reads the ledger of `dir`; a missing file is an empty ledger, an altered one is refused.
    pub(crate) fn read(dir: &Path, key: &AnchorKey) -> Result<Ledger, VaultError> {
        let path = Self::path(dir);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ledger::default()),
            Err(e) => return Err(VaultError::io(&path, e)),
        };
        let bad = || VaultError::damaged(&path, "the grant ledger was altered or belongs to another vault");
        let doc: LedgerDoc = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let body = serde_json::to_vec(&doc.grants).map_err(|_| bad())?;
        let tag = hex::decode(&doc.mac).map_err(|_| bad())?;
        if doc.format != LEDGER_FORMAT || doc.vault_id != key.vault_id || !key.verify(LEDGER_FORMAT, &body, &tag) {
            return Err(bad());
        }
        Ok(Ledger { grants: doc.grants })
    }

    /// Merges `other` in; true if anything changed.
    pub(crate) fn merge(&mut self, other: Ledger) -> bool {
        let mut changed = false;
        for (id, g) in other.grants {
            changed |= self.merge_one(id, g);
        }
        changed
    }

    fn merge_one(&mut self, id: String, g: LedgerGrant) -> bool {
        match self.grants.get_mut(&id) {
            Some(mine) => mine.merge(g),
            None => {
                self.grants.insert(id, g);
                true
            }
        }
    }

    /// Writes the ledger atomically (0600 temp file, fsync, rename, fsync dir), merged with what another process
    /// may have written meanwhile.
    pub(crate) fn write(&mut self, dir: &Path, key: &AnchorKey) -> Result<(), VaultError> {
        if let Ok(on_disk) = Ledger::read(dir, key) {
            self.merge(on_disk);
        }
        let path = Self::path(dir);
        let tmp = dir.join(format!("{LEDGER_FILE}.tmp"));
        let body = serde_json::to_vec(&self.grants).map_err(|e| VaultError::Storage(e.to_string()))?;
        let doc = LedgerDoc {
            format: LEDGER_FORMAT.into(),
            vault_id: key.vault_id.clone(),
            grants: self.grants.clone(),
            mac: hex::encode(key.mac(LEDGER_FORMAT, &body)),
        };
        let json = serde_json::to_vec(&doc).map_err(|e| VaultError::Storage(e.to_string()))?;
        let _ = fs::remove_file(&tmp);
        {
            let mut f = create_private(&tmp).map_err(|e| VaultError::io(&tmp, e))?;
            f.write_all(&json).map_err(|e| VaultError::io(&tmp, e))?;
            f.sync_all().map_err(|e| VaultError::io(&tmp, e))?;
        }
        fs::rename(&tmp, &path).map_err(|e| VaultError::io(&path, e))?;
        fsync_dir(dir)
    }
}

type GrantRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

fn grant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

const GRANT_COLS: &str = "id, revoked_at, revoked_by, revoke_reason, scopes, uses, max_uses";

fn ledger_entry(row: GrantRow, narrowed: bool) -> Option<(String, LedgerGrant)> {
    let (id, revoked_at, revoked_by, revoke_reason, scopes, uses, max_uses) = row;
    let g = LedgerGrant {
        revoked_at,
        revoked_by,
        revoke_reason,
        scopes: narrowed.then_some(scopes),
        uses: max_uses.map(|_| u64::try_from(uses).unwrap_or(0)),
    };
    (g != LedgerGrant::default()).then_some((id, g))
}

/// What the database says about every revoked, narrowed or capped grant.
pub(crate) fn ledger_from_db(conn: &Connection) -> Result<Ledger, VaultError> {
    let narrowed: std::collections::BTreeSet<String> = {
        let mut stmt = conn.prepare(
            "SELECT DISTINCT grant_id FROM audit_events WHERE kind = 'grant_narrowed' AND grant_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {GRANT_COLS} FROM grants WHERE revoked_at IS NOT NULL OR max_uses IS NOT NULL"
    ))?;
    let mut ledger = Ledger::default();
    for row in stmt.query_map([], grant_row)? {
        let row = row?;
        let n = narrowed.contains(&row.0);
        if let Some((id, g)) = ledger_entry(row, n) {
            ledger.grants.insert(id, g);
        }
    }
    let mut one = conn.prepare(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = ?1"))?;
    for id in &narrowed {
        if let Some(row) = one.query_row([id], grant_row).optional()? {
            if let Some((id, g)) = ledger_entry(row, true) {
                ledger.merge_one(id, g);
            }
        }
    }
    Ok(ledger)
}

// ---------------------------------------------------------------------------------------------------------
// Re-applying after a restore, a recovery or an accepted rollback.

/// How the vault came to hold an older database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// `restore_backup`: the owner replaced a working vault with a backup.
    Restore,
    /// `recover_from_backup`: the vault was damaged and a backup replaced it.
    Recover,
    /// The owner accepted an older database found at unlock (copied back, or its WAL lost).
    Rollback,
}

impl Cause {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::Restore => "restore",
            Cause::Recover => "recover",
            Cause::Rollback => "rollback",
        }
    }
}

/// What a restore (or an accepted rollback) brought back and what it kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// How the older database came in.
    pub cause: Cause,
    /// The backup restored, if one was.
    pub backup_id: Option<String>,
    /// The newest event of the log before (the replaced database's, or the anchor's when it did not open).
    pub previous_head_seq: u64,
    /// The newest event of the restored log, before the restore was recorded.
    pub restored_head_seq: u64,
    /// Events after the restored head that are no longer in the live log.
    pub rolled_back_events: u64,
    /// Where the replaced state is kept: the `before-restore` backup id, or the `replaced-*` folder.
    pub kept_in: Option<String>,
    /// Grants whose revocation was applied again (they were active in the restored database).
    pub revocations_reapplied: Vec<String>,
    /// Grants whose narrowing was applied again.
    pub narrowings_reapplied: Vec<String>,
    /// Grants whose use count was raised back.
    pub uses_reapplied: Vec<String>,
}

/// Records a restore in the access log inside the re-applying transaction (the audit crate provides it: it
/// appends the signed `vault_restored` event). Gets the transaction, the report and the signing seed.
pub type RecordRestore = fn(&Connection, &Reconciled, &[u8; 32]) -> Result<(), String>;

/// Applies `ledger` to the grants of the database in `conn`: revocations, narrowings, use counts (max).
pub(crate) fn reapply(conn: &Connection, ledger: &Ledger, report: &mut Reconciled) -> Result<(), VaultError> {
    let mut get = conn.prepare(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = ?1"))?;
    for (id, want) in &ledger.grants {
        let Some((_, revoked_at, _, _, scopes, uses, max_uses)) = get.query_row([id], grant_row).optional()? else {
            // Approved after the restored copy was made: the grant does not exist there (its token is refused).
            continue;
        };
        if let (None, Some(at)) = (&revoked_at, &want.revoked_at) {
            conn.execute(
                "UPDATE grants SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, at, want.revoked_by.as_deref().unwrap_or("owner"), want.revoke_reason],
            )?;
            report.revocations_reapplied.push(id.clone());
        }
        if let Some(kept) = &want.scopes {
            if let Some(n) = narrow(&scopes, kept) {
                conn.execute("UPDATE grants SET scopes = ?2 WHERE id = ?1", params![id, n])?;
                report.narrowings_reapplied.push(id.clone());
            }
        }
        if let (Some(u), Some(cap)) = (want.uses, max_uses) {
            let u = i64::try_from(u).unwrap_or(i64::MAX).min(cap);
            if u > uses {
                conn.execute("UPDATE grants SET uses = ?2 WHERE id = ?1", params![id, u])?;
                report.uses_reapplied.push(id.clone());
            }
        }
    }
    outbox_after_restore(conn)?;
    Ok(())
}

/// The delivery outbox of a database put back (restore, accepted rollback): it cannot know which of its pending
/// releases left after the copy was made, nor how many sequence numbers were used since. So every pending
/// release of a revoked grant is withdrawn, every other pending one gets a new release id and is sealed again
/// (a release id is never reused for other bytes), sequences jump past anything used before (to the clock in
/// milliseconds), and every live grant that takes updates gets one (values may have gone back to older ones).
/// The table belongs to `locket-grants` (crates/grants/src/outbox.rs); this is its only other writer.
fn outbox_after_restore(conn: &Connection) -> Result<(), VaultError> {
    let has: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let now_s = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let days = crate::settings::Settings::load(conn)
        .map(|s| s.delivery_horizon_days)
        .unwrap_or(crate::settings::DEFAULT_DELIVERY_HORIZON_DAYS);
    let give_up = (now + chrono::Duration::days(i64::from(days))).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    conn.execute_batch(&format!(
        "DELETE FROM deliveries WHERE status = 'pending' AND event IN ('grant', 'update')
           AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NOT NULL);
         UPDATE delivery_targets SET next_sequence = max(next_sequence, {ms});",
        ms = now.timestamp_millis()
    ))?;
    // Pending ones: new ids and sequences, sealed again when due.
    let pending: Vec<(String, String)> = conn
        .prepare("SELECT release_id, grant_id FROM deliveries WHERE status = 'pending' ORDER BY grant_id, sequence")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, grant) in pending {
        conn.execute(
            "UPDATE deliveries SET release_id = 'rel_' || lower(hex(randomblob(16))), body = NULL, sha256 = NULL,
                    fields = NULL, due_at = ?2, give_up_at = ?3,
                    sequence = (SELECT next_sequence FROM delivery_targets WHERE grant_id = ?4)
             WHERE release_id = ?1",
            params![id, now_s, give_up, grant],
        )?;
        conn.execute(
            "UPDATE delivery_targets SET next_sequence = next_sequence + 1 WHERE grant_id = ?1",
            params![grant],
        )?;
    }
    // An update for every live grant that takes them and has none waiting unsealed.
    let live: Vec<(String, String)> = conn
        .prepare(
            "SELECT t.grant_id, t.retailer_id FROM delivery_targets t JOIN grants g ON g.id = t.grant_id
             WHERE t.updates = 1 AND g.revoked_at IS NULL AND g.expires_at > ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.grant_id = t.grant_id AND d.status = 'pending'
                               AND d.event IN ('grant', 'update') AND d.body IS NULL)
               AND EXISTS (SELECT 1 FROM deliveries d WHERE d.grant_id = t.grant_id AND d.event = 'grant')",
        )?
        .query_map([&now_s], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (grant, retailer) in live {
        conn.execute(
            "INSERT INTO deliveries (release_id, grant_id, retailer_id, sequence, event, status, created_at, due_at, give_up_at)
             VALUES ('rel_' || lower(hex(randomblob(16))), ?1, ?2,
                     (SELECT next_sequence FROM delivery_targets WHERE grant_id = ?1), 'update', 'pending', ?3, ?3, ?4)",
            params![grant, retailer, now_s, give_up],
        )?;
        conn.execute(
            "UPDATE delivery_targets SET next_sequence = next_sequence + 1 WHERE grant_id = ?1",
            params![grant],
        )?;
    }
    Ok(())
}

/// The counter a re-applied database continues from: above both its own and the anchor's.
pub(crate) fn next_counter(
    dir: &Path,
    conn: &Connection,
    key: &AnchorKey,
    keychain_on: bool,
) -> Result<u64, VaultError> {
    let anchored = match read_anchor(dir, key)? {
        Stored::Valid(a) => a.counter,
        _ => 0,
    };
    let kc = if keychain_on {
        crate::keychain::load_anchor(&key.vault_id)
            .ok()
            .flatten()
            .and_then(|b| key.decode(&b))
            .map_or(0, |a| a.counter)
    } else {
        0
    };
    Ok(db_counter(conn)?.max(anchored).max(kc) + 1)
}

/// The anchor's head, for "how many events were rolled back" when the replaced database could not be read.
pub(crate) fn anchored_seq(dir: &Path, key: &AnchorKey) -> u64 {
    match read_anchor(dir, key) {
        Ok(Stored::Valid(a)) => a.seq,
        _ => 0,
    }
}

/// Runs the whole reconciliation on an open connection: re-apply the ledger, let `record` log it, bump the
/// counter, commit; then write the anchor, the keychain copy and the ledger.
pub(crate) fn reconcile(
    dir: &Path,
    conn: &mut Connection,
    key: &AnchorKey,
    seed: &[u8; 32],
    keychain_on: bool,
    mut report: Reconciled,
    record: RecordRestore,
) -> Result<Reconciled, VaultError> {
    let ledger = Ledger::read(dir, key)?;
    let counter = next_counter(dir, conn, key, keychain_on)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    report.restored_head_seq = log_head(&tx)?.0;
    report.rolled_back_events = report.previous_head_seq.saturating_sub(report.restored_head_seq);
    reapply(&tx, &ledger, &mut report)?;
    record(&tx, &report, seed).map_err(VaultError::Storage)?;
    set_db_counter(&tx, counter)?;
    let state = {
        let (seq, hash) = log_head(&tx)?;
        AnchorState { counter, seq, hash }
    };
    tx.commit()?;
    crash_point("restore-reconciled");
    AnchorFile::open(dir)?.write(key, &state)?;
    if keychain_on {
        store_keychain(key, &state);
    }
    let mut merged = ledger;
    if merged.merge(ledger_from_db(conn)?) {
        merged.write(dir, key)?;
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------------------
// The writer's batch hook.

/// What the writer does around every batch: before COMMIT, bump the counter and sign the head when the batch
/// appended events; after COMMIT, write the anchor (and the ledger, and the keychain copy) before any caller
/// hears of the batch.
pub(crate) struct BatchHook {
    dir: PathBuf,
    key: AnchorKey,
    seed: Zeroizing<[u8; 32]>,
    file: Option<AnchorFile>,
    last_seq: u64,
    keychain_on: bool,
    keychain_counter: u64,
    last_state: Option<AnchorState>,
}

/// The part of a batch the hook finishes after COMMIT.
pub(crate) struct Pending {
    state: AnchorState,
    ledger: Option<Ledger>,
    decision: bool,
}

impl BatchHook {
    pub(crate) fn new(dir: &Path, key: AnchorKey, seed: &[u8; 32], conn: &Connection, keychain_on: bool) -> BatchHook {
        let last_seq = log_head(conn).map(|h| h.0).unwrap_or(0);
        let file = match AnchorFile::open(dir) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(error = %e, "the freshness anchor cannot be written");
                None
            }
        };
        BatchHook {
            dir: dir.to_path_buf(),
            key,
            seed: Zeroizing::new(*seed),
            file,
            last_seq,
            keychain_on,
            keychain_counter: 0,
            last_state: None,
        }
    }

    /// Inside the batch's transaction, after its jobs.
    pub(crate) fn before_commit(&mut self, tx: &Connection) -> rusqlite::Result<Option<Pending>> {
        let mut signed = false;
        let mut decision = false;
        let mut touched: Vec<(String, bool)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached("SELECT kind, grant_id FROM audit_events WHERE seq > ?1")?;
            let mut rows = stmt.query([i64::try_from(self.last_seq).unwrap_or(i64::MAX)])?;
            let mut any = false;
            while let Some(r) = rows.next()? {
                any = true;
                let kind: String = r.get(0)?;
                let grant: Option<String> = r.get(1)?;
                signed |= SIGNED_KINDS.contains(&kind.as_str());
                decision |= DECISION_KINDS.contains(&kind.as_str());
                if let Some(g) = grant {
                    if matches!(kind.as_str(), "redemption" | "grant_revoked" | "grant_narrowed") {
                        let narrowed = kind == "grant_narrowed";
                        match touched.iter_mut().find(|(id, _)| *id == g) {
                            Some(t) => t.1 |= narrowed,
                            None => touched.push((g, narrowed)),
                        }
                    }
                }
            }
            if !any {
                return Ok(None);
            }
        }
        let mut ledger = Ledger::default();
        if !touched.is_empty() {
            let mut get = tx.prepare_cached(
                "SELECT id, revoked_at, revoked_by, revoke_reason, scopes, uses, max_uses FROM grants WHERE id = ?1",
            )?;
            for (id, narrowed) in touched {
                if let Some(row) = get.query_row([&id], grant_row).optional()? {
                    if let Some((id, g)) = ledger_entry(row, narrowed) {
                        ledger.merge_one(id, g);
                    }
                }
            }
        }
        if signed {
            sign_head(tx, &self.seed)?;
        }
        let counter = db_counter(tx).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))? + 1;
        set_db_counter(tx, counter)?;
        let (seq, hash) = log_head(tx)?;
        Ok(Some(Pending {
            state: AnchorState { counter, seq, hash },
            ledger: (!ledger.grants.is_empty()).then_some(ledger),
            decision,
        }))
    }

    /// After the batch committed, before its results are delivered.
    pub(crate) fn after_commit(&mut self, p: Pending) {
        self.last_seq = p.state.seq;
        self.last_state = Some(p.state);
        if let Some(f) = self.file.as_mut() {
            if let Err(e) = f.write(&self.key, &p.state) {
                tracing::warn!(error = %e, "the freshness anchor was not updated");
            }
        }
        if let Some(mut l) = p.ledger {
            let changed = match Ledger::read(&self.dir, &self.key) {
                Ok(mut on_disk) => {
                    let c = on_disk.merge(l.clone());
                    l = on_disk;
                    c
                }
                Err(_) => true,
            };
            if changed {
                if let Err(e) = l.write(&self.dir, &self.key) {
                    tracing::warn!(error = %e, "the grant ledger was not updated");
                }
            }
        }
        if p.decision && self.keychain_on {
            store_keychain(&self.key, &p.state);
            self.keychain_counter = p.state.counter;
        }
    }

    /// The writer stops (the vault locks): bring the keychain copy up to date.
    pub(crate) fn close(&mut self) {
        if let (true, Some(s)) = (self.keychain_on, self.last_state) {
            if s.counter > self.keychain_counter {
                store_keychain(&self.key, &s);
            }
        }
    }
}

/// Signs the current head (unless it is already signed) into `audit_heads`, as `locket_audit::sign_head` does.
fn sign_head(conn: &Connection, seed: &[u8; 32]) -> rusqlite::Result<()> {
    let (seq, hash) = log_head(conn)?;
    if seq == 0 {
        return Ok(());
    }
    let last: Option<i64> = conn
        .prepare_cached("SELECT max(seq) FROM audit_heads")?
        .query_row([], |r| r.get(0))?;
    if last.is_some_and(|l| u64::try_from(l).unwrap_or(0) >= seq) {
        return Ok(());
    }
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| rusqlite::Error::InvalidParameterName("signing seed".into()))?;
    let signed_ms = chrono::Utc::now().timestamp_millis();
    let sig = kp.sign(&head_message(seq, &hash, signed_ms));
    use ring::signature::KeyPair as _;
    conn.prepare_cached(
        "INSERT INTO audit_heads (seq, hash, signed_ms, public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        i64::try_from(seq).unwrap_or(i64::MAX),
        &hash[..],
        signed_ms,
        kp.public_key().as_ref(),
        sig.as_ref()
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AnchorKey {
        AnchorKey::derive(&[7u8; 32], "v1")
    }

    #[test]
    fn a_torn_slot_leaves_the_other_valid_and_the_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let mut f = AnchorFile::open(dir.path()).unwrap();
        assert_eq!(read_anchor(dir.path(), &k).unwrap(), Stored::Invalid);
        let s1 = AnchorState {
            counter: 1,
            seq: 5,
            hash: [1; 32],
        };
        let s2 = AnchorState {
            counter: 2,
            seq: 9,
            hash: [2; 32],
        };
        f.write(&k, &s1).unwrap();
        f.write(&k, &s2).unwrap();
        assert_eq!(read_anchor(dir.path(), &k).unwrap(), Stored::Valid(s2));
        // Tear the newest slot (counter 2 → slot 0): the older one is still read.
        let mut raw = f.raw();
        raw[20] ^= 0xff;
        fs::write(dir.path().join(ANCHOR_FILE), &raw).unwrap();
        assert_eq!(read_anchor(dir.path(), &k).unwrap(), Stored::Valid(s1));
        // Another vault's key reads nothing valid.
        assert_eq!(
            read_anchor(dir.path(), &AnchorKey::derive(&[7u8; 32], "v2")).unwrap(),
            Stored::Invalid
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(ANCHOR_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_ledger_refuses_edits_and_merges_by_the_rules() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let mut l = Ledger::default();
        l.grants.insert(
            "gr_a".into(),
            LedgerGrant {
                revoked_at: Some("2026-01-01T00:00:00Z".into()),
                revoked_by: Some("owner".into()),
                ..Default::default()
            },
        );
        l.grants.insert(
            "gr_b".into(),
            LedgerGrant {
                uses: Some(3),
                ..Default::default()
            },
        );
        l.write(dir.path(), &k).unwrap();
        let read = Ledger::read(dir.path(), &k).unwrap();
        assert_eq!(read, l);
        let mut other = Ledger::default();
        other.grants.insert(
            "gr_b".into(),
            LedgerGrant {
                uses: Some(2),
                ..Default::default()
            },
        );
        let mut merged = read.clone();
        assert!(!merged.merge(other), "a smaller use count changes nothing");
        let path = dir.path().join(LEDGER_FILE);
        let edited = fs::read_to_string(&path).unwrap().replace("\"uses\":3", "\"uses\":0");
        fs::write(&path, edited).unwrap();
        assert_eq!(Ledger::read(dir.path(), &k).unwrap_err().code(), "vault_damaged");
    }

    #[test]
    fn narrowing_only_removes() {
        let cur = r#"[{"scope":"email"},{"scope":"name"}]"#;
        assert_eq!(narrow(cur, r#"[{"scope":"name"}]"#).unwrap(), r#"[{"scope":"name"}]"#);
        assert_eq!(narrow(cur, cur), None);
        assert_eq!(narrow(r#"[{"scope":"name"}]"#, cur), None);
    }
}
