//! Backups: list, back up now (then prune by the retention policy), and verify one (page integrity and the
//! access log's hash chain inside it). Restoring and recovering from the newest backup change the session, so
//! they live on [`crate::Locket`].
use locket_vault::backup::{self, BackupPolicy};
use serde::Serialize;
use ts_rs::TS;

use crate::error::AppResult;
use crate::session::Session;

/// One backup as front ends list it.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Backup")]
pub struct BackupDto {
    /// Its id (a timestamp-like name).
    pub id: String,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// Why: `manual`, `daily`, `after_change`, `before_restore`, ...
    pub reason: String,
    /// Size on disk.
    pub size_bytes: u64,
}

impl From<backup::BackupInfo> for BackupDto {
    fn from(b: backup::BackupInfo) -> Self {
        BackupDto {
            id: b.id,
            created_at: b.created_at,
            reason: b.reason,
            size_bytes: b.size_bytes,
        }
    }
}

/// The result of checking one backup.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "BackupCheck")]
pub struct BackupVerifyDto {
    /// The backup checked.
    pub id: String,
    /// Pages intact and the log's chain unbroken.
    pub ok: bool,
    /// What the page check found.
    pub integrity_problems: Vec<String>,
    /// Events in the backup's log.
    pub log_events: u64,
    /// Where the backup's log was altered, if it was.
    pub log_problem: Option<String>,
}

impl Session {
    /// This vault's backups, newest first.
    pub fn backups(&self) -> AppResult<Vec<BackupDto>> {
        Ok(backup::list(self.vault().dir())?
            .into_iter()
            .map(BackupDto::from)
            .collect())
    }

    /// Takes a backup now (`reason` e.g. `manual`) and prunes old ones by the default policy.
    pub fn backup_now(&self, reason: &str) -> AppResult<BackupDto> {
        let info = self.vault().backup_now(reason)?;
        self.vault().prune_backups(BackupPolicy::default())?;
        Ok(info.into())
    }

    /// Checks backup `id`: every page's integrity and the hash chain of the log inside it.
    pub fn verify_backup(&self, id: &str) -> AppResult<BackupVerifyDto> {
        let check = self.vault().verify_backup(id)?;
        let store = self.vault().open_backup(id)?;
        let public = locket_audit::signing_public_key(self.vault().signing_seed().expose())?;
        let chain = locket_audit::verify(store.conn(), Some(&public))?;
        Ok(BackupVerifyDto {
            ok: check.integrity_problems.is_empty() && chain.ok(),
            id: id.to_owned(),
            integrity_problems: check.integrity_problems,
            log_events: chain.events,
            log_problem: chain
                .problem
                .map(|p| format!("the access log was altered at event {}: {}", p.seq, p.message)),
        })
    }
}
