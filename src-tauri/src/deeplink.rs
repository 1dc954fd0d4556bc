//! `locket://` links: `locket://connect?request_uri=…` (Locket fetches the shop's signed request from its site
//! and verifies it: [`locket_app::connect`]) and `locket://request?data=…` (the request travels in the link and
//! is imported like a file, not verified: [`locket_app::links`]). The web view shows the request's card; a link
//! that arrives while locked waits for the next unlock. Any web page can open a link, so it never brings the
//! window forward: the owner gets a (coalesced) notification instead.
use std::sync::Mutex;
use std::time::Instant;

use locket_app::links::RecentLinks;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::IpcError;
use crate::events::{FocusRequest, EV_DEEP_LINK_ERROR, EV_FOCUS_REQUEST};
use crate::notices::{Input, Kind};
use crate::state::AppState;

/// The `RequestSource::File` path recorded for requests that came in through a `locket://` link.
pub use locket_app::grants::DEEP_LINK_SOURCE;

/// The links that arrived lately ([`locket_app::links::RecentLinks`]), for the life of the app.
static RECENT: Mutex<RecentLinks> = Mutex::new(RecentLinks::new());

/// Handles a `locket://` link: imports its request now, or after the next unlock. The same link delivered
/// twice in a row (by two paths of one launch) is handled once.
pub fn handle(app: &AppHandle, url: &str) {
    let seen = RECENT.lock().is_ok_and(|mut r| r.just_seen(url, Instant::now()));
    if seen {
        tracing::debug!("the same locket:// link arrived again; handled once");
        return;
    }
    deliver(app, url);
}

/// Imports the request of a link now, or keeps it for the next unlock (which calls this again).
pub fn deliver(app: &AppHandle, url: &str) {
    crate::notices::bring_forward(app, Input::DeepLink);
    let state = app.state::<AppState>();
    if !state.locket.is_unlocked() {
        if let Ok(mut slot) = state.pending_link.lock() {
            *slot = Some(url.to_owned());
        }
        return;
    }
    let (app, url) = (app.clone(), url.to_owned());
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let result = if locket_app::links::is_connect(&url) {
            crate::grants::connect(&app, &state, url).await
        } else {
            match locket_app::links::request_bytes(&url) {
                Ok(bytes) => crate::grants::import(&app, &state, bytes, DEEP_LINK_SOURCE.to_owned()).await,
                Err(e) => Err(IpcError::from(e)),
            }
        };
        match result {
            Ok(req) => {
                state
                    .notices
                    .record(Kind::Request, &req.retailer.id, &req.retailer.name, "");
                if let Ok(mut slot) = state.focus_request.lock() {
                    *slot = Some(req.id.clone());
                }
                let _ = app.emit(EV_FOCUS_REQUEST, FocusRequest { request_id: req.id });
            }
            Err(e) => {
                let _ = app.emit(EV_DEEP_LINK_ERROR, e);
            }
        }
    });
}
