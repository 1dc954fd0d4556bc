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

/// A grant named in a restore preview.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RestoreGrant")]
pub struct RestoreGrantDto {
    /// The grant id.
    pub grant_id: String,
    /// The shop it was given to.
    pub retailer_name: String,
}

impl From<backup::GrantNote> for RestoreGrantDto {
    fn from(g: backup::GrantNote) -> Self {
        RestoreGrantDto {
            grant_id: g.grant_id,
            retailer_name: g.retailer_name,
        }
    }
}

/// What restoring a backup will bring back and what stays, shown before the owner confirms.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RestorePreview")]
pub struct RestorePreviewDto {
    /// The backup.
    pub id: String,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// Log events after the backup: they leave the live log and are kept in the before-restore copy.
    pub events_after: u64,
    /// Grants revoked after the backup: they stay revoked.
    pub revocations_kept: Vec<RestoreGrantDto>,
    /// Grants narrowed after the backup: they stay narrow.
    pub narrowings_kept: Vec<RestoreGrantDto>,
    /// Grants with a use cap used after the backup: their counts are kept.
    pub uses_kept: Vec<RestoreGrantDto>,
    /// Grants approved after the backup: they stop working (the shop's token is refused).
    pub grants_gone: Vec<RestoreGrantDto>,
    /// The same in plain sentences, in the order to show them.
    pub summary: Vec<String>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn shops(list: &[backup::GrantNote]) -> String {
    let mut names: Vec<&str> = list.iter().map(|g| g.retailer_name.as_str()).collect();
    names.dedup();
    let shown: Vec<&str> = names.iter().take(5).copied().collect();
    let more = names.len().saturating_sub(shown.len());
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

impl From<backup::RestorePreview> for RestorePreviewDto {
    fn from(p: backup::RestorePreview) -> Self {
        let mut summary = Vec::new();
        let copy = if p.current_readable {
            "the before-restore copy"
        } else {
            "the damaged files kept aside"
        };
        if !p.revocations_kept.is_empty() {
            summary.push(format!(
                "{} you revoked after this backup stay revoked ({}).",
                plural(p.revocations_kept.len(), "grant", "grants"),
                shops(&p.revocations_kept)
            ));
        }
        if !p.narrowings_kept.is_empty() {
            summary.push(format!(
                "{} you narrowed after this backup stay narrowed.",
                plural(p.narrowings_kept.len(), "grant", "grants")
            ));
        }
        if !p.uses_kept.is_empty() {
            summary.push(format!(
                "{} keep the uses counted since this backup.",
                plural(p.uses_kept.len(), "grant with a use limit", "grants with a use limit")
            ));
        }
        if !p.grants_gone.is_empty() {
            summary.push(format!(
                "{} you approved after this backup will stop working ({}); approve their requests again if needed.",
                plural(p.grants_gone.len(), "grant", "grants"),
                shops(&p.grants_gone)
            ));
        }
        summary.push(if p.events_after == 0 {
            "The access log loses nothing: no events were added after this backup.".to_string()
        } else {
            format!(
                "{} after it leave the access log and are kept in {copy}; the restore itself is logged.",
                plural(p.events_after as usize, "log event", "log events")
            )
        });
        summary.push("Profile changes made after this backup are undone.".into());
        RestorePreviewDto {
            id: p.backup.id,
            created_at: p.backup.created_at,
            events_after: p.events_after,
            revocations_kept: p.revocations_kept.into_iter().map(Into::into).collect(),
            narrowings_kept: p.narrowings_kept.into_iter().map(Into::into).collect(),
            uses_kept: p.uses_kept.into_iter().map(Into::into).collect(),
            grants_gone: p.grants_gone.into_iter().map(Into::into).collect(),
            summary,
        }
    }
}

/// What a restore (or an accepted rollback) did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RestoreDone")]
pub struct RestoreDone {
    /// The backup restored (none for an accepted rollback).
    pub backup_id: Option<String>,
    /// Log events after it that left the live log.
    pub rolled_back_events: u64,
    /// Where they are kept (a before-restore backup id or a `replaced-*` folder).
    pub kept_in: Option<String>,
    /// Grants whose revocation was applied again.
    pub revocations_reapplied: Vec<String>,
    /// Grants whose narrowing was applied again.
    pub narrowings_reapplied: Vec<String>,
    /// Grants whose use count was raised back.
    pub uses_reapplied: Vec<String>,
    /// A sentence for the owner.
    pub summary: String,
}

impl From<locket_vault::anchor::Reconciled> for RestoreDone {
    fn from(r: locket_vault::anchor::Reconciled) -> Self {
        let what = match (&r.cause, &r.backup_id) {
            (locket_vault::anchor::Cause::Rollback, _) => "Kept the older copy of the database".to_string(),
            (_, Some(b)) => format!("Restored backup {b}"),
            _ => "Restored".to_string(),
        };
        let kept = match &r.kept_in {
            Some(k) if r.rolled_back_events > 0 => format!(" (kept in {k})"),
            _ => String::new(),
        };
        let summary = format!(
            "{what}. {} revoked after it stay revoked; {} after it left the access log{kept}.",
            plural(r.revocations_reapplied.len(), "grant", "grants"),
            plural(r.rolled_back_events as usize, "log event", "log events"),
        );
        RestoreDone {
            backup_id: r.backup_id,
            rolled_back_events: r.rolled_back_events,
            kept_in: r.kept_in,
            revocations_reapplied: r.revocations_reapplied,
            narrowings_reapplied: r.narrowings_reapplied,
            uses_reapplied: r.uses_reapplied,
            summary,
        }
    }
}

impl Session {
    /// What restoring backup `id` would bring back and what stays (changes nothing).
    pub fn restore_preview(&self, id: &str) -> AppResult<RestorePreviewDto> {
        Ok(self.vault().restore_preview(id)?.into())
    }

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
