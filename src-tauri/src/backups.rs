//! Tauri commands for backups: list, back up now, verify, restore (typed confirmation; Locket locks and stays
//! locked), and — from the unlock screen, when the vault is damaged — recover from the newest backup.
use locket_app::backups::{BackupDto, BackupVerifyDto};
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

#[tauri::command]
pub async fn backup_restore(state: State<'_, AppState>, id: String, confirmation: String) -> IpcResult<()> {
    Ok(state.locket.restore_backup(id, &confirmation).await?)
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
