//! Failed unlocks, recorded while the vault is closed.
//!
//! A failed unlock cannot be written into the vault: the vault could not be opened. Instead Locket appends one
//! line to `audit-pending.jsonl` in the vault directory and fsyncs it. On the next successful unlock the lines are
//! moved into the hash chain as `unlock_failed` events ([`import`], inside the caller's transaction) and, once that
//! transaction has committed, the file is removed ([`clear`]).
//!
//! Design decisions:
//! - **Plaintext is fine**: a line holds only the time, the key slot tried and the reason code (e.g.
//!   `wrong_passphrase`) — never a passphrase, key or profile value. Encrypting to the vault would need a key that
//!   is usable while the vault is locked, which would have to live outside the encrypted database.
//! - **Not tamper-proof until imported**: someone with write access to the directory can delete lines before the
//!   next unlock; once imported they are part of the chain like every other event. The owner sees the failures on
//!   the next unlock.
//! - **Idempotent**: each line carries a random id stored in the event's detail (`pending_id`); a crash between
//!   the commit and removing the file never imports a line twice.
//! - **Bounded**: at most [`MAX_PENDING_BYTES`]; beyond that further failures are counted by the event
//!   `detail.overflowed = true` on the last imported line rather than growing the file without limit.
//! - **Bounded on import too**: the file is unauthenticated (anyone who can write the folder can write it), so
//!   an import reads at most [`MAX_PENDING_BYTES`] and [`MAX_PENDING_LINES`] lines and says so loudly — one
//!   `unlock_failed` event with reason `pending_file_truncated` naming how much was left out — rather than
//!   letting a planted file grow the log or stall the unlock; and it checks the lines already imported with one
//!   scan of the `unlock_failed` events, not one scan per line (linear in lines + events).
//! - **Owner-only**: created `0600`, never through a symlink.
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::event::{ms_to_time, EventKind, NewEvent, Outcome};
use crate::{append, AuditError, Result};

/// File name of the pending-events file inside the vault directory.
pub const PENDING_FILE: &str = "audit-pending.jsonl";
/// The file never grows beyond this many bytes, and an import reads no more than this.
pub const MAX_PENDING_BYTES: u64 = 256 * 1024;
/// An import reads at most this many bytes: the cap plus room for the one `overflow` line Locket itself
/// appends once the file has reached [`MAX_PENDING_BYTES`].
const IMPORT_BYTES: u64 = MAX_PENDING_BYTES + 1024;
/// An import moves at most this many lines into the log (a full file written by Locket holds ~2,000).
pub const MAX_PENDING_LINES: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    id: String,
    ts_ms: i64,
    kind: String,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Pending {
        path: path.display().to_string(),
        source,
    }
}

/// Path of the pending file for a vault directory.
pub fn path(vault_dir: &Path) -> PathBuf {
    vault_dir.join(PENDING_FILE)
}

/// Records a failed unlock of the vault in `vault_dir`: `reason` is the error's stable code (e.g.
/// `wrong_passphrase`), `slot` the key slot tried (`passphrase`, `recovery`, `keychain`). Durable (fsync) when it
/// returns `Ok(true)`; `Ok(false)` means the file is full and the failure was only counted as overflow.
pub fn record_unlock_failure(vault_dir: &Path, reason: &str, slot: Option<&str>) -> Result<bool> {
    let p = path(vault_dir);
    let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    let mut id = [0u8; 12];
    SystemRandom::new().fill(&mut id).map_err(|_| AuditError::Pending {
        path: p.display().to_string(),
        source: std::io::Error::other("no system randomness"),
    })?;
    let overflow = len >= MAX_PENDING_BYTES;
    let line = Line {
        id: hex::encode(id),
        ts_ms: Utc::now().timestamp_millis(),
        kind: if overflow { "overflow" } else { "unlock_failed" }.to_string(),
        reason: crate::event::sanitize(reason, 64),
        slot: slot.map(|s| crate::event::sanitize(s, 32)),
    };
    if overflow {
        // Keep exactly one overflow marker at the end: only write it if the file does not end with one.
        let tail = fs::read_to_string(&p).map_err(io_err(&p))?;
        if tail.lines().last().is_some_and(|l| l.contains("\"kind\":\"overflow\"")) {
            return Ok(false);
        }
    }
    let mut text = serde_json::to_string(&line).map_err(|e| AuditError::BadQuery(e.to_string()))?;
    text.push('\n');
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut f = opts.open(&p).map_err(io_err(&p))?;
    f.write_all(text.as_bytes()).map_err(io_err(&p))?;
    f.sync_data().map_err(io_err(&p))?;
    Ok(!overflow)
}

/// Moves pending failed-unlock records of `vault_dir` into the chain. Call inside the transaction of the first
/// write after a successful unlock, then [`clear`] after it commits. Returns how many events were appended.
pub fn import(conn: &Connection, vault_dir: &Path) -> Result<usize> {
    use std::io::Read;
    let p = path(vault_dir);
    let file = match fs::File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err(&p)(e)),
    };
    let total_bytes = file.metadata().map_err(io_err(&p))?.len();
    let mut bytes = Vec::new();
    file.take(IMPORT_BYTES).read_to_end(&mut bytes).map_err(io_err(&p))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let cut_bytes = total_bytes > IMPORT_BYTES;
    if cut_bytes {
        // The last line read may be cut in the middle: it is part of what was left out.
        lines.pop();
    }
    let skipped_lines = lines.len().saturating_sub(MAX_PENDING_LINES);
    lines.truncate(MAX_PENDING_LINES);

    // The ids already in the log (a crash between the commit and removing the file): one scan.
    let mut seen = std::collections::HashSet::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT detail FROM audit_events WHERE kind = 'unlock_failed' AND detail LIKE '%\"pending_id\"%'",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let detail: Option<String> = row.get(0)?;
            if let Some(id) = detail
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .and_then(|v| v.get("pending_id").and_then(|i| i.as_str()).map(str::to_owned))
            {
                seen.insert(id);
            }
        }
    }
    let mut appended = 0;
    for raw in lines {
        let ev = match serde_json::from_str::<Line>(raw) {
            Ok(line) => {
                if line.id.is_empty() || line.id.len() > 64 || !line.id.chars().all(|c| c.is_ascii_hexdigit()) {
                    continue;
                }
                if !seen.insert(line.id.clone()) {
                    continue;
                }
                let at: DateTime<Utc> = ms_to_time(line.ts_ms);
                let mut ev = NewEvent::new(EventKind::UnlockFailed, Outcome::Refused)
                    .reason(&line.reason)
                    .at(at)
                    .detail("pending_id", line.id.as_str())
                    .detail("failed_at", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .detail("recorded", "pending_file");
                if let Some(slot) = &line.slot {
                    ev = ev.detail("slot", slot.as_str());
                }
                if line.kind == "overflow" {
                    ev = ev.detail("overflowed", true);
                }
                ev
            }
            // A damaged line is still evidence that something was recorded: keep a trace of it.
            Err(_) => NewEvent::new(EventKind::UnlockFailed, Outcome::Error)
                .reason("pending_line_unreadable")
                .detail("recorded", "pending_file"),
        };
        append(conn, &ev)?;
        appended += 1;
    }
    if cut_bytes || skipped_lines > 0 {
        // Loudly: Locket never writes a file this big, so someone else did.
        tracing::warn!(
            total_bytes,
            skipped_lines,
            "the pending failed-unlock file was oversized; truncated"
        );
        append(
            conn,
            &NewEvent::new(EventKind::UnlockFailed, Outcome::Error)
                .reason("pending_file_truncated")
                .detail("recorded", "pending_file")
                .detail("file_bytes", total_bytes)
                .detail("bytes_read", IMPORT_BYTES.min(total_bytes))
                .detail("lines_skipped", skipped_lines),
        )?;
        appended += 1;
    }
    Ok(appended)
}

/// Removes the pending file after the transaction that imported it has committed.
pub fn clear(vault_dir: &Path) -> Result<()> {
    let p = path(vault_dir);
    match fs::remove_file(&p) {
        Ok(()) => {
            if let Ok(d) = fs::File::open(vault_dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(&p)(e)),
    }
}

/// Records a successful unlock of `vault` (`method`: `passphrase`, `recovery`, `keychain`, `backup`, `create`):
/// in one job on the vault's group-commit writer, moves pending failed-unlock records into the chain and appends
/// an `unlock` event (detail `method`, and `failed_attempts_before` when there were any); after the commit,
/// removes the pending file. Returns how many failed unlocks were carried over (show them to the owner).
pub fn record_unlock(vault: &locket_vault::Vault, method: &str) -> Result<usize> {
    let dir = vault.dir().to_path_buf();
    let method = crate::event::sanitize(method, 32);
    // A copy of the seed, not a vault handle: the job runs on the writer thread, which must not drop the
    // last handle of the vault it serves.
    let seed = zeroize::Zeroizing::new(*vault.signing_seed().expose());
    let carried = vault
        .writer()
        .map_err(|e| AuditError::Vault(e.to_string()))?
        .submit(move |tx| -> Result<usize> {
            let carried = import(tx, &dir)?;
            let mut ev = NewEvent::new(EventKind::Unlock, Outcome::Ok).detail("method", method);
            if carried > 0 {
                ev = ev.detail("failed_attempts_before", carried);
            }
            append(tx, &ev)?;
            crate::maybe_sign_head(tx, seed.as_slice())?;
            Ok(carried)
        })
        .map_err(|e| match e {
            locket_vault::WriterError::Job(inner) => inner,
            other => AuditError::Vault(other.to_string()),
        })?;
    clear(vault.dir())?;
    Ok(carried)
}

/// Records a failed unlock of the vault in `vault_dir` from the unlock error's stable code: only for codes that
/// mean "someone tried and failed" (`wrong_passphrase`, `wrong_recovery_key`, `keychain_not_enabled`,
/// `keychain_unavailable`); other failures (damaged vault, I/O) are not unlock attempts and are ignored.
/// Returns whether a record was written.
pub fn record_failure_code(vault_dir: &Path, code: &str, slot: Option<&str>) -> Result<bool> {
    match code {
        "wrong_passphrase" | "wrong_recovery_key" | "keychain_not_enabled" | "keychain_unavailable" => {
            if !vault_dir.join(locket_vault::SLOTS_FILE).exists() {
                return Ok(false);
            }
            record_unlock_failure(vault_dir, code, slot)
        }
        _ => Ok(false),
    }
}
