//! `locket://` links (the format and its parser: [`locket_app::links`]). The request is imported like a file
//! and the web view shows its card; a link that arrives while locked waits for the next unlock. Any web page can
//! open a link, so it never brings the window forward: the owner gets a (coalesced) notification instead.
use tauri::{AppHandle, Emitter, Manager};

use crate::error::IpcError;
use crate::events::{FocusRequest, EV_DEEP_LINK_ERROR, EV_FOCUS_REQUEST};
use crate::notices::{Input, Kind};
use crate::state::AppState;

/// The `RequestSource::File` path recorded for requests that came in through a `locket://` link.
pub use locket_app::grants::DEEP_LINK_SOURCE;

/// Handles a `locket://` link: imports its request now, or after the next unlock.
pub fn handle(app: &AppHandle, url: &str) {
    crate::notices::bring_forward(app, Input::DeepLink);
    let state = app.state::<AppState>();
    if !state.locket.is_unlocked() {
        if let Ok(mut slot) = state.pending_link.lock() {
            *slot = Some(url.to_owned());
        }
        return;
    }
    let bytes = match locket_app::links::request_bytes(url) {
        Ok(b) => b,
        Err(e) => {
            let _ = app.emit(EV_DEEP_LINK_ERROR, IpcError::from(e));
            return;
        }
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match crate::grants::import(&app, &state, bytes, DEEP_LINK_SOURCE.to_owned()).await {
            Ok(req) => {
                state
                    .notices
                    .record(Kind::Request, &req.retailer.id, &req.retailer.name, "");
                let _ = app.emit(EV_FOCUS_REQUEST, FocusRequest { request_id: req.id });
            }
            Err(e) => {
                let _ = app.emit(EV_DEEP_LINK_ERROR, e);
            }
        }
    });
}
