//! Restores in the log: the signed `vault_restored` event appended when the vault takes an older database (a
//! backup restored, a damaged vault recovered from one, an older copy accepted at unlock), and reading them
//! back so `locket audit verify` can say plainly that the log was restored and what was rolled back.
use rusqlite::Connection;
use serde::Serialize;

use crate::event::{EventKind, NewEvent, Outcome};
use crate::{AuditError, Result};

/// Most grant ids named in one event's detail (the counts are always complete).
const MAX_IDS: usize = 100;

/// Appends the `vault_restored` event for `r` and signs the head, inside the re-applying transaction. Has the
/// shape of `locket_vault::anchor::RecordRestore`, so it can be handed to the vault's restore functions.
pub fn record_restored(conn: &Connection, r: &locket_vault::anchor::Reconciled, seed: &[u8; 32]) -> Result<(), String> {
    let ids = |v: &[String]| serde_json::Value::from(v.iter().take(MAX_IDS).cloned().collect::<Vec<_>>());
    let mut ev = NewEvent::new(EventKind::VaultRestored, Outcome::Ok)
        .detail("cause", r.cause.as_str())
        .detail("previous_head_seq", r.previous_head_seq)
        .detail("restored_head_seq", r.restored_head_seq)
        .detail("rolled_back_events", r.rolled_back_events)
        .detail("revocations_reapplied", r.revocations_reapplied.len())
        .detail("revoked_grants", ids(&r.revocations_reapplied))
        .detail("narrowings_reapplied", r.narrowings_reapplied.len())
        .detail("uses_reapplied", r.uses_reapplied.len());
    if let Some(b) = &r.backup_id {
        ev = ev.detail("backup", b.as_str());
    }
    if let Some(k) = &r.kept_in {
        ev = ev.detail("kept_in", k.as_str());
    }
    crate::append(conn, &ev).map_err(|e| e.to_string())?;
    crate::sign_head(conn, seed).map_err(|e| e.to_string())?;
    Ok(())
}

/// One restore recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreNote {
    /// The `vault_restored` event.
    pub seq: u64,
    /// When (RFC 3339).
    pub time: String,
    /// `restore`, `recover` or `rollback`.
    pub cause: String,
    /// The backup restored, if one was.
    pub backup: Option<String>,
    /// Events after the restored head that left the live log.
    pub rolled_back_events: u64,
    /// Where they are kept (a `before-restore` backup id or a `replaced-*` folder), if anywhere.
    pub kept_in: Option<String>,
    /// Grants whose revocation was applied again.
    pub revocations_reapplied: u64,
    /// Grants whose narrowing was applied again.
    pub narrowings_reapplied: u64,
    /// Grants whose use count was raised back.
    pub uses_reapplied: u64,
}

impl RestoreNote {
    /// The sentence front ends show.
    pub fn sentence(&self) -> String {
        let when = &self.time;
        let head = match (self.cause.as_str(), &self.backup) {
            ("rollback", _) => format!("On {when} an older copy of the database was accepted"),
            ("recover", Some(b)) => format!("On {when} the damaged vault was replaced by backup {b}"),
            (_, Some(b)) => format!("On {when} the vault was restored from backup {b}"),
            _ => format!("On {when} the vault was restored"),
        };
        let kept = match (&self.kept_in, self.cause.as_str()) {
            (Some(k), "restore") => format!(" (kept in the before-restore backup {k})"),
            (Some(k), _) => format!(" (kept in {k} inside the vault folder)"),
            (None, _) => " (they are not in this vault any more)".into(),
        };
        let mut s = format!(
            "{head}: {} log event(s) after it were rolled back{}",
            self.rolled_back_events,
            if self.rolled_back_events > 0 { kept.as_str() } else { "" }
        );
        s.push_str(&format!(
            "; {} revoked grant(s) stayed revoked",
            self.revocations_reapplied
        ));
        if self.narrowings_reapplied > 0 {
            s.push_str(&format!(
                ", {} narrowed grant(s) stayed narrow",
                self.narrowings_reapplied
            ));
        }
        if self.uses_reapplied > 0 {
            s.push_str(&format!(", {} use count(s) were kept", self.uses_reapplied));
        }
        s.push('.');
        s
    }
}

/// Every restore recorded in the log, oldest first.
pub fn restores(conn: &Connection) -> Result<Vec<RestoreNote>> {
    let mut stmt = conn
        .prepare("SELECT seq, ts_ms, detail FROM audit_events WHERE kind = 'vault_restored' ORDER BY seq")
        .map_err(crate::log::map_missing)?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, ts_ms, detail) = row?;
        let d: serde_json::Map<String, serde_json::Value> = detail
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let num = |k: &str| d.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        out.push(RestoreNote {
            seq: u64::try_from(seq).map_err(|_| AuditError::BadRow { seq: 0, column: "seq" })?,
            time: crate::event::ms_to_time(ts_ms).format("%Y-%m-%d %H:%M UTC").to_string(),
            cause: text("cause").unwrap_or_else(|| "restore".into()),
            backup: text("backup"),
            rolled_back_events: num("rolled_back_events"),
            kept_in: text("kept_in"),
            revocations_reapplied: num("revocations_reapplied"),
            narrowings_reapplied: num("narrowings_reapplied"),
            uses_reapplied: num("uses_reapplied"),
        });
    }
    Ok(out)
}
