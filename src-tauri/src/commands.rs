//! Tauri commands for the vault, session, settings, profile and activity log. Each parses its input, calls the
//! application layer (`locket_app`) and returns its result. Passphrases and recovery keys arrive as
//! [`SecretText`] (deserialised straight into a zeroizing buffer, wiped by drop on every path) and the recovery
//! key leaves as one; no command returns a key, and no command takes a path (files come as tokens: [`crate::files`]).
use locket_app::dto::*;
use locket_app::{LockReason, Unlock};
use locket_vault::RecoveryKey;
use tauri::{AppHandle, Emitter, State};

use crate::error::blocking;
use crate::error::IpcResult;
use crate::events::EV_PROGRESS;
use crate::files;
use crate::session;
use crate::state::AppState;

// ---------- session ----------

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> IpcResult<AppStatus> {
    Ok(state.locket.status().await?)
}

/// The request a `locket://` link brought that the web view has not shown yet, once (a window opened for the
/// link loads after the link's event was sent).
#[tauri::command]
pub async fn focus_request_take(state: State<'_, AppState>) -> IpcResult<Option<String>> {
    Ok(state.focus_request.lock().ok().and_then(|mut slot| slot.take()))
}

#[tauri::command]
pub async fn vault_create(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: SecretText,
    remember_on_device: bool,
) -> IpcResult<Created> {
    let (recovery_key, info) = state
        .locket
        .create(passphrase.into_passphrase(), remember_on_device)
        .await?;
    let session = session::opened(&app, info).await?;
    Ok(Created { recovery_key, session })
}

#[tauri::command]
pub async fn vault_unlock(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: SecretText,
) -> IpcResult<SessionInfo> {
    let info = state
        .locket
        .unlock(Unlock::Passphrase(passphrase.into_passphrase()))
        .await?;
    session::opened(&app, info).await
}

#[tauri::command]
pub async fn vault_unlock_keychain(app: AppHandle, state: State<'_, AppState>) -> IpcResult<SessionInfo> {
    let info = state.locket.unlock(Unlock::Keychain).await?;
    session::opened(&app, info).await
}

#[tauri::command]
pub async fn vault_recover(
    app: AppHandle,
    state: State<'_, AppState>,
    recovery_key: SecretText,
    new_passphrase: SecretText,
) -> IpcResult<SessionInfo> {
    // Both are zeroizing from the moment they were deserialised; a wrong key returns early and still wipes them.
    let new_passphrase = new_passphrase.into_passphrase();
    let key = RecoveryKey::parse(recovery_key.expose()).map_err(locket_app::AppError::from)?;
    drop(recovery_key);
    let how = Unlock::Recovery { key, new_passphrase };
    let info = state.locket.unlock(how).await?;
    session::opened(&app, info).await
}

#[tauri::command]
pub async fn vault_lock(state: State<'_, AppState>, reason: String) -> IpcResult<()> {
    Ok(state.locket.lock(LockReason::from_request(&reason)).await?)
}

/// The owner used the window (the UI sends this, throttled, on input): the idle auto-lock starts again.
#[tauri::command]
pub async fn session_activity(state: State<'_, AppState>) -> IpcResult<()> {
    state.locket.touch();
    Ok(())
}

#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> IpcResult<SessionInfo> {
    Ok(state.locket.info().await?)
}

// ---------- settings ----------

#[tauri::command]
pub async fn passphrase_change(
    state: State<'_, AppState>,
    current: SecretText,
    next: SecretText,
) -> IpcResult<PassphraseChanged> {
    // A vault whose recovery slot predates re-keying gets a new recovery key here: the web view shows it once.
    let new_recovery_key = state
        .locket
        .change_passphrase(current.into_passphrase(), next.into_passphrase())
        .await?;
    Ok(PassphraseChanged { new_recovery_key })
}

#[tauri::command]
pub async fn recovery_reset(state: State<'_, AppState>, passphrase: SecretText) -> IpcResult<NewRecoveryKey> {
    let recovery_key = state.locket.reset_recovery_key(passphrase.into_passphrase()).await?;
    Ok(NewRecoveryKey { recovery_key })
}

#[tauri::command]
pub async fn keychain_set(state: State<'_, AppState>, enabled: bool) -> IpcResult<AppSettings> {
    let s = state.session()?;
    blocking(move || s.set_keychain(enabled)).await
}

#[tauri::command]
pub async fn settings_update(state: State<'_, AppState>, settings: AppSettings) -> IpcResult<SessionInfo> {
    Ok(state.locket.update_settings(settings).await?)
}

// ---------- export / import / wipe ----------

fn progress(app: AppHandle, op: &'static str) -> impl Fn(u32, u32) + Send + Sync + 'static {
    move |done, total| {
        let _ = app.emit(EV_PROGRESS, Progress { op, done, total });
    }
}

#[tauri::command]
pub async fn vault_export(
    app: AppHandle,
    state: State<'_, AppState>,
    token: String,
    passphrase: Option<SecretText>,
) -> IpcResult<ExportResult> {
    files::export_to(&state, &token, passphrase, progress(app, "export")).await
}

#[tauri::command]
pub async fn vault_import(
    app: AppHandle,
    state: State<'_, AppState>,
    token: String,
    passphrase: Option<SecretText>,
) -> IpcResult<ImportResult> {
    files::import_from(&state, &token, passphrase, progress(app, "import")).await
}

#[tauri::command]
pub async fn vault_wipe(state: State<'_, AppState>, confirmation: String) -> IpcResult<()> {
    Ok(state.locket.wipe(&confirmation).await?)
}

// ---------- profile ----------

#[tauri::command]
pub async fn catalog(state: State<'_, AppState>) -> IpcResult<Vec<CatalogField>> {
    let s = state.session()?;
    blocking(move || s.catalog()).await
}

#[tauri::command]
pub async fn profile_list(state: State<'_, AppState>) -> IpcResult<Vec<ProfileValue>> {
    let s = state.session()?;
    blocking(move || s.profile()).await
}

#[tauri::command]
pub async fn profile_set(state: State<'_, AppState>, key: String, value: String) -> IpcResult<ProfileValue> {
    let s = state.session()?;
    blocking(move || s.set_value(key, value)).await
}

#[tauri::command]
pub async fn profile_remove(state: State<'_, AppState>, key: String) -> IpcResult<()> {
    let s = state.session()?;
    blocking(move || s.remove_value(key).map(drop)).await
}

#[tauri::command]
pub async fn profile_history(state: State<'_, AppState>, key: String) -> IpcResult<Vec<ValueVersion>> {
    let s = state.session()?;
    blocking(move || s.value_history(&key)).await
}

#[tauri::command]
pub async fn custom_field_add(state: State<'_, AppState>, field: CustomFieldInput) -> IpcResult<CatalogField> {
    let s = state.session()?;
    blocking(move || s.add_custom_field(field)).await
}

// ---------- activity ----------

#[tauri::command]
pub async fn audit_query(
    state: State<'_, AppState>,
    filter: AuditFilter,
    cursor: Option<u64>,
    limit: usize,
) -> IpcResult<AuditPage> {
    let s = state.session()?;
    blocking(move || s.activity(&filter, cursor, limit)).await
}

#[tauri::command]
pub async fn audit_timeline(
    state: State<'_, AppState>,
    days: u32,
    retailer_id: Option<String>,
) -> IpcResult<Vec<TimelineDay>> {
    let s = state.session()?;
    blocking(move || s.activity_chart(days, retailer_id.as_deref())).await
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> IpcResult<ChainStatus> {
    let s = state.session()?;
    blocking(move || s.verify_log()).await
}
