//! `locket://` links. A retailer's website can hand a request straight to the app:
//! `locket://request?data=<base64url of the request JSON>` (no network fetch: the request travels in the link).
//! The request is imported like a file and the window comes to the front on its card.
use base64::Engine;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{IpcError, IpcResult};
use crate::session::{EV_DEEP_LINK_ERROR, EV_FOCUS_REQUEST};
use crate::state::{lock, AppState};

/// The request JSON carried by a `locket://request?data=…` link.
pub fn request_bytes(url: &str) -> IpcResult<Vec<u8>> {
    let bad = |why: &str| IpcError::new("deep_link_invalid", format!("This Locket link cannot be used: {why}."));
    let rest = url
        .strip_prefix("locket://")
        .ok_or_else(|| bad("it does not start with locket://"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.trim_end_matches('/') != "request" {
        return Err(bad("Locket only understands request links"));
    }
    let data = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("data="))
        .ok_or_else(|| bad("it carries no request"))?;
    if data.len() > locket_grants::request::MAX_REQUEST_BYTES * 4 / 3 + 4 {
        return Err(bad("the request is too large"));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .map_err(|_| bad("the request is not valid base64url"))
}

/// Handles a link: imports its request when unlocked (else keeps it for after the unlock) and focuses the app.
pub fn handle(app: &AppHandle, url: &str) {
    crate::focus_main(app);
    let state = app.state::<AppState>();
    let session = match state.session() {
        Ok(s) => s,
        Err(_) => {
            if let Ok(mut slot) = lock(&state.pending_link) {
                *slot = Some(url.to_owned());
            }
            return;
        }
    };
    let bytes = match request_bytes(url) {
        Ok(b) => b,
        Err(e) => {
            let _ = app.emit(EV_DEEP_LINK_ERROR, e);
            return;
        }
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match crate::grants::import_bytes(&app, &session, bytes, crate::grants::DEEP_LINK_SOURCE.to_owned()).await {
            Ok(req) => {
                let _ = app.emit(EV_FOCUS_REQUEST, serde_json::json!({ "requestId": req.id }));
            }
            Err(e) => {
                let _ = app.emit(EV_DEEP_LINK_ERROR, e);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_links_decode_and_others_are_refused() {
        let json = br#"{"format":"locket.grant-request/v1"}"#;
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        assert_eq!(request_bytes(&format!("locket://request?data={enc}")).unwrap(), json);
        assert_eq!(
            request_bytes(&format!("locket://request/?x=1&data={enc}")).unwrap(),
            json
        );
        assert_eq!(
            request_bytes("https://example.com").unwrap_err().code,
            "deep_link_invalid"
        );
        assert_eq!(
            request_bytes("locket://grant?data=AA").unwrap_err().code,
            "deep_link_invalid"
        );
        assert_eq!(request_bytes("locket://request").unwrap_err().code, "deep_link_invalid");
        assert_eq!(
            request_bytes("locket://request?data=%%%").unwrap_err().code,
            "deep_link_invalid"
        );
    }
}
