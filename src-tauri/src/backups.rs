//! Tauri commands for backups: list, back up now, verify, restore (typed confirmation; Locket locks and stays
//! locked), and — from the unlock screen, when the vault is damaged — recover from the newest backup, or, when
//! it was rolled back, keep the older copy.
use locket_app::backups::{BackupDto, BackupVerifyDto, RestoreDone, RestorePreviewDto};
use locket_app::dto::{SecretText, SessionInfo};
use locket_app::Unlock;
use tauri::{AppHandle, State};

use crate::error::blocking;
use crate::error::IpcResult;
use crate::session;
use crate::state::AppState;

#[tauri::command]
pub async fn backups_list(state: State<'_, AppState>) -> IpcResult<Vec<BackupDto>> {
    let s = state.session()?;
    blocking(move || s.backups()).await
}

#[tauri::command]
pub async fn backup_now(state: State<'_, AppState>) -> IpcResult<BackupDto> {
    let s = state.session()?;
    blocking(move || s.backup_now("manual")).await
}

#[tauri::command]
pub async fn backup_verify(state: State<'_, AppState>, id: String) -> IpcResult<BackupVerifyDto> {
    let s = state.session()?;
    blocking(move || s.verify_backup(&id)).await
}

/// What restoring backup `id` brings back and what stays (revocations, use counts), in plain sentences.
#[tauri::command]
pub async fn backup_restore_preview(state: State<'_, AppState>, id: String) -> IpcResult<RestorePreviewDto> {
    let s = state.session()?;
    blocking(move || s.restore_preview(&id)).await
}

#[tauri::command]
pub async fn backup_restore(state: State<'_, AppState>, id: String, confirmation: String) -> IpcResult<RestoreDone> {
    Ok(state.locket.restore_backup(id, &confirmation).await?)
}

/// From the unlock screen after `vault_rolled_back`: keep the older database on purpose (revocations, narrowings
/// and use counts made since are applied again; a `vault_restored` event records it) and unlock.
#[tauri::command]
pub async fn vault_accept_rollback(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: SecretText,
) -> IpcResult<SessionInfo> {
    let info = state
        .locket
        .unlock(Unlock::AcceptRollback(passphrase.into_passphrase()))
        .await?;
    session::opened(&app, info).await
}

#[tauri::command]
pub async fn vault_recover_from_backup(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: SecretText,
) -> IpcResult<SessionInfo> {
    let info = state
        .locket
        .unlock(Unlock::NewestBackup(passphrase.into_passphrase()))
        .await?;
    session::opened(&app, info).await
}
