//! Tauri commands for the owner's privacy views: calls into `locket_app`'s privacy use cases.
use locket_app::privacy::*;
use tauri::State;

use crate::error::blocking;
use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub async fn retailer_privacy(state: State<'_, AppState>, retailer_id: String) -> IpcResult<RetailerPrivacy> {
    let s = state.session()?;
    blocking(move || s.retailer_privacy(&retailer_id)).await
}

/// Writes a retailer's consent receipts into the file the owner chose (`token`: [`crate::files`]).
#[tauri::command]
pub async fn receipts_export(state: State<'_, AppState>, retailer_id: String, token: String) -> IpcResult<usize> {
    crate::files::export_receipts(&state, retailer_id, &token).await
}

#[tauri::command]
pub async fn erasure_request(
    state: State<'_, AppState>,
    retailer_id: String,
    note: Option<String>,
) -> IpcResult<ErasureDto> {
    let s = state.session()?;
    blocking(move || s.request_erasure(retailer_id, None, note)).await
}

#[tauri::command]
pub async fn alias_set(state: State<'_, AppState>, retailer_id: String, alias: String) -> IpcResult<String> {
    let s = state.session()?;
    blocking(move || s.set_alias(retailer_id, alias)).await
}

#[tauri::command]
pub async fn field_holders(state: State<'_, AppState>, key: String) -> IpcResult<Vec<HoldingDto>> {
    let s = state.session()?;
    blocking(move || s.field_holders(&key)).await
}
