//! The events the shell emits to the web view (docs/ipc.md) and their payloads.
use locket_app::LockReason;
use serde::Serialize;

/// Event names (docs/ipc.md).
pub const EV_AUDIT: &str = "locket://audit-event";
/// A request arrived (payload: the request as `requests_list` shows it).
pub const EV_REQUEST: &str = "locket://request-received";
/// Locket locked (payload `{ reason }`).
pub const EV_LOCKED: &str = "locket://locked";
/// Show this request's card (payload `{ requestId }`).
pub const EV_FOCUS_REQUEST: &str = "locket://focus-request";
/// A `locket://` link could not be used (payload: `{ code, message }`).
pub const EV_DEEP_LINK_ERROR: &str = "locket://deep-link-error";
/// Progress of an export or import.
pub const EV_PROGRESS: &str = "locket://progress";
/// The endpoint server started, stopped or failed.
pub const EV_ENDPOINT: &str = "locket://endpoint";
/// Files were dropped on the window (payload: a `PickedFile` token for each regular file, for `request_import`).
pub const EV_FILES_DROPPED: &str = "locket://files-dropped";

/// `locket://locked` payload.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Locked {
    /// Why the session closed.
    pub reason: LockReason,
}

/// `locket://focus-request` payload.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct FocusRequest {
    /// The request whose card to show.
    pub request_id: String,
}
