//! Tauri commands for backups (issue 7): list, back up now, verify (page integrity and the access log's hash
//! chain), restore (typed confirmation; the app locks afterwards), and — from the unlock screen, when the
//! vault is damaged — recover from the newest backup with the passphrase just typed. Thin calls into
//! `locket_vault::backup`.
use locket_vault::backup::{self, BackupPolicy};
use locket_vault::{Passphrase, Vault};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::dto::SessionInfo;
use crate::error::{IpcError, IpcResult};
use crate::session::{self, blocking};
use crate::state::AppState;

/// The words the owner types to confirm a restore (also in ui/src/screens/Settings.tsx).
pub const RESTORE_PHRASE: &str = "restore";

/// One backup as the UI lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupDto {
    pub id: String,
    pub created_at: String,
    /// `manual`, `auto`, `daily`, `before-restore`.
    pub reason: String,
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

/// What "Verify" found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupVerifyDto {
    pub id: String,
    pub ok: bool,
    /// Page authentication failures (empty = every page verified).
    pub integrity_problems: Vec<String>,
    /// Events in the backup's access log.
    pub log_events: u64,
    /// The first break in the log's hash chain, in words.
    pub log_problem: Option<String>,
}

#[tauri::command]
pub async fn backups_list(state: State<'_, AppState>) -> IpcResult<Vec<BackupDto>> {
    let s = state.session()?;
    blocking(move || Ok(backup::list(s.vault.dir())?.into_iter().map(BackupDto::from).collect())).await
}

#[tauri::command]
pub async fn backup_now(state: State<'_, AppState>) -> IpcResult<BackupDto> {
    let s = state.session()?;
    blocking(move || {
        let info = s.vault.backup_now("manual")?;
        s.vault.prune_backups(BackupPolicy::default())?;
        Ok(info.into())
    })
    .await
}

#[tauri::command]
pub async fn backup_verify(state: State<'_, AppState>, id: String) -> IpcResult<BackupVerifyDto> {
    let s = state.session()?;
    blocking(move || {
        let check = s.vault.verify_backup(&id)?;
        let store = s.vault.open_backup(&id)?;
        let public = locket_audit::signing_public_key(s.vault.signing_seed().expose())?;
        let chain = locket_audit::verify(store.conn(), Some(&public))?;
        Ok(BackupVerifyDto {
            ok: check.integrity_problems.is_empty() && chain.ok(),
            id,
            integrity_problems: check.integrity_problems,
            log_events: chain.events,
            log_problem: chain
                .problem
                .map(|p| format!("the access log was altered at event {}: {}", p.seq, p.message)),
        })
    })
    .await
}

/// Restores backup `id` (the present state is backed up first), then locks: the owner unlocks the restored
/// vault.
#[tauri::command]
pub async fn backup_restore(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    confirmation: String,
) -> IpcResult<()> {
    if confirmation.trim() != RESTORE_PHRASE {
        return Err(IpcError::new(
            "confirmation_mismatch",
            format!("Type \"{RESTORE_PHRASE}\" to replace your vault with this backup."),
        ));
    }
    let vault = state.session()?.vault.clone();
    // Stop serving and writing before the database is swapped; the web view hears of the lock afterwards.
    session::shutdown(&app).await?;
    let result = blocking(move || {
        drop(vault.restore_backup(&id)?);
        Ok(())
    })
    .await;
    session::announce_locked(&app, if result.is_ok() { "restore" } else { "button" });
    result
}

/// From the unlock screen after `vault_damaged`: replaces the damaged database with the newest backup that
/// the passphrase opens, and unlocks it.
#[tauri::command]
pub async fn vault_recover_from_backup(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
) -> IpcResult<SessionInfo> {
    let passphrase = Passphrase::new(passphrase);
    let dir = state.dir.clone();
    let vault = blocking(move || {
        let newest = backup::list(&dir)?.into_iter().next().ok_or_else(|| {
            IpcError::new(
                "no_backup",
                "There is no backup of this vault to restore. Restore from an export file instead.",
            )
        })?;
        Ok(Vault::recover_from_backup(&dir, &passphrase, &newest.id)?)
    })
    .await?;
    session::open(&app, vault, "backup").await
}
