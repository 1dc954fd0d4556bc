//! `locket://` links: `locket://connect?request_uri=…` (Locket fetches the shop's signed request from its site
//! and verifies it: [`locket_app::connect`]) and `locket://request?data=…` (the request travels in the link and
//! is imported like a file, not verified: [`locket_app::links`]). The web view shows the request's card; a link
//! that arrives while locked waits for the next unlock. Any web page can open a link, so it never brings the
//! window forward: the owner gets a (coalesced) notification instead.
use tauri::{AppHandle, Emitter, Manager};

use crate::error::IpcError;
use crate::events::{FocusRequest, EV_DEEP_LINK_ERROR, EV_FOCUS_REQUEST};
use crate::notices::{Input, Kind};
use crate::state::AppState;

/// The `RequestSource::File` path recorded for requests that came in through a `locket://` link.
pub use locket_app::grants::DEEP_LINK_SOURCE;

/// How long the same link is taken as one delivery: a second launch hands its link both to the single-instance
/// callback and, through the deep-link plugin, to `on_open_url`; a connect link must be fetched once (the shop
/// serves it once).
const SAME_LINK_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `url` arrived within [`SAME_LINK_WINDOW`] already (remembers it otherwise; at most 16 links kept).
fn just_seen(url: &str) -> bool {
    use std::sync::Mutex;
    use std::time::Instant;
    static RECENT: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());
    let Ok(mut recent) = RECENT.lock() else {
        return false;
    };
    let now = Instant::now();
    recent.retain(|(_, at)| now.duration_since(*at) < SAME_LINK_WINDOW);
    if recent.iter().any(|(u, _)| u == url) {
        return true;
    }
    if recent.len() >= 16 {
        recent.remove(0);
    }
    recent.push((url.to_owned(), now));
    false
}

/// Handles a `locket://` link: imports its request now, or after the next unlock. The same link delivered
/// twice in a row (by two paths of one launch) is handled once.
pub fn handle(app: &AppHandle, url: &str) {
    if just_seen(url) {
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
        let result = if is_connect(&url) {
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
                let _ = app.emit(EV_FOCUS_REQUEST, FocusRequest { request_id: req.id });
            }
            Err(e) => {
                let _ = app.emit(EV_DEEP_LINK_ERROR, e);
            }
        }
    });
}

/// Whether `url` is a `locket://connect` link.
fn is_connect(url: &str) -> bool {
    url.strip_prefix("locket://connect")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?') || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_link_twice_in_a_row_is_handled_once() {
        let (a, b) = (
            "locket://connect?request_uri=https%3A%2F%2Fa.test%2Fr",
            "locket://request?data=e30",
        );
        assert!(!just_seen(a));
        assert!(just_seen(a));
        assert!(!just_seen(b));
        // The memory stays small however many links arrive.
        for n in 0..40 {
            assert!(!just_seen(&format!(
                "locket://connect?request_uri=https%3A%2F%2Fa.test%2F{n}"
            )));
        }
        assert!(!just_seen(a), "the oldest links make room");
    }
}
