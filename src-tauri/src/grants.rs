//! Tauri commands for requests, grants and retailers: calls into `locket_app` (decisions commit with their audit
//! events on the vault's writer before the command answers).
use locket_app::grants::*;
use locket_grants::store::RequestSource;
use tauri::{AppHandle, Emitter, State};

use crate::error::blocking;
use crate::error::IpcResult;
use crate::events::EV_REQUEST;
use crate::state::AppState;

/// Imports request bytes (a file or a deep link) and tells the web view.
pub async fn import(app: &AppHandle, state: &AppState, bytes: Vec<u8>, path: String) -> IpcResult<RequestDto> {
    let s = state.session()?;
    let dto = blocking(move || s.import_request(bytes, RequestSource::File { path })).await?;
    let _ = app.emit(EV_REQUEST, &dto);
    Ok(dto)
}

/// Fetches and verifies the request a `locket://connect` link names and tells the web view.
pub async fn connect(app: &AppHandle, state: &AppState, link: String) -> IpcResult<RequestDto> {
    let s = state.session()?;
    let dto = blocking(move || {
        let net = locket_app::net::Net::from_env()?;
        s.connect(&link, &net)
    })
    .await?;
    let _ = app.emit(EV_REQUEST, &dto);
    Ok(dto)
}

#[tauri::command]
pub async fn requests_list(state: State<'_, AppState>) -> IpcResult<Vec<RequestDto>> {
    let s = state.session()?;
    blocking(move || s.requests()).await
}

/// Imports the request file the owner chose or dropped (`token`: [`crate::files`]).
#[tauri::command]
pub async fn request_import(app: AppHandle, state: State<'_, AppState>, token: String) -> IpcResult<RequestDto> {
    let dto = crate::files::import_request(&state, &token).await?;
    let _ = app.emit(EV_REQUEST, &dto);
    Ok(dto)
}

#[tauri::command]
pub async fn request_approve(state: State<'_, AppState>, input: ApproveInput) -> IpcResult<IssuedDto> {
    let s = state.session()?;
    let url = s.server_url().await;
    blocking(move || s.approve(input, url)).await
}

#[tauri::command]
pub async fn request_deny(state: State<'_, AppState>, request_id: String) -> IpcResult<()> {
    let s = state.session()?;
    blocking(move || s.deny(request_id)).await
}

/// Saves the grant file shown after approval into the file the owner chose (`token`: [`crate::files`]).
#[tauri::command]
pub async fn grant_file_save(state: State<'_, AppState>, grant_id: String, token: String) -> IpcResult<()> {
    crate::files::save_grant_file(&state, grant_id, &token).await
}

#[tauri::command]
pub async fn grants_list(state: State<'_, AppState>) -> IpcResult<Vec<GrantDto>> {
    let s = state.session()?;
    blocking(move || s.grants()).await
}

#[tauri::command]
pub async fn grant_revoke(state: State<'_, AppState>, grant_id: String) -> IpcResult<GrantDto> {
    let s = state.session()?;
    blocking(move || s.revoke(grant_id, None)).await
}

#[tauri::command]
pub async fn retailer_revoke_all(state: State<'_, AppState>, retailer_id: String) -> IpcResult<usize> {
    let s = state.session()?;
    blocking(move || s.revoke_all(&retailer_id)).await
}

#[tauri::command]
pub async fn retailers_list(state: State<'_, AppState>) -> IpcResult<Vec<RetailerSummary>> {
    let s = state.session()?;
    blocking(move || s.retailers()).await
}

#[tauri::command]
pub async fn retailer_detail(state: State<'_, AppState>, retailer_id: String) -> IpcResult<RetailerDetail> {
    let s = state.session()?;
    blocking(move || s.retailer(&retailer_id)).await
}
