//! Tauri commands for deliveries (releases to shops' servers): calls into `locket_app::deliver`. What crosses is
//! the owner's view of each release — fields and versions, status, the shop's last answer — never a sealed body
//! or a key.
use locket_app::dto::{DeliveryDto, RetailerDeliveries};
use tauri::State;

use crate::error::{blocking, IpcResult};
use crate::state::AppState;

#[tauri::command]
pub async fn retailer_deliveries(state: State<'_, AppState>, retailer_id: String) -> IpcResult<RetailerDeliveries> {
    let s = state.session()?;
    blocking(move || s.retailer_deliveries_view(&retailer_id)).await
}

#[tauri::command]
pub async fn delivery_retry(state: State<'_, AppState>, release_id: String) -> IpcResult<DeliveryDto> {
    let s = state.session()?;
    blocking(move || s.delivery_view(&s.retry_delivery(release_id)?)).await
}

#[tauri::command]
pub async fn delivery_cancel(state: State<'_, AppState>, release_id: String) -> IpcResult<DeliveryDto> {
    let s = state.session()?;
    blocking(move || s.delivery_view(&s.cancel_delivery(release_id)?)).await
}

#[tauri::command]
pub async fn grant_set_updates(state: State<'_, AppState>, grant_id: String, on: bool) -> IpcResult<()> {
    let s = state.session()?;
    blocking(move || s.set_grant_updates(grant_id, on)).await
}
