//! What the shell holds between commands: the application object (which vault; while unlocked, the session and
//! every key — none of it ever crosses to the web view), a `locket://` link that arrived while locked, the files
//! the owner chose (by token) and the notifications waiting to be shown.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use locket_app::{Locket, Options, Session};
use locket_vault::Vault;

use crate::error::IpcResult;
use crate::files::FileTokens;
use crate::notices::Notices;

/// Managed Tauri state.
pub struct AppState {
    /// The application (`LOCKET_VAULT` or the OS default vault).
    pub locket: Locket,
    /// A `locket://` link that arrived while locked; handled right after the next unlock.
    pub pending_link: Mutex<Option<String>>,
    /// The request the last `locket://` link brought, until the web view takes it (`focus_request_take`): a
    /// window opened for the link loads after the link's event was sent.
    pub focus_request: Mutex<Option<String>>,
    /// The files the owner chose in dialogs Rust opened (or dropped on the window), by token.
    pub files: FileTokens,
    /// Desktop notifications, coalesced per retailer and minute.
    pub notices: Notices,
}

impl AppState {
    /// The vault directory from `LOCKET_VAULT`, else the OS default.
    pub fn from_env() -> AppState {
        let dir = std::env::var_os("LOCKET_VAULT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(Vault::default_dir);
        AppState::new(Locket::new(dir, Options::desktop()))
    }

    /// The state around `locket`.
    pub fn new(locket: Locket) -> AppState {
        AppState {
            locket,
            pending_link: Mutex::new(None),
            focus_request: Mutex::new(None),
            files: FileTokens::default(),
            notices: Notices::default(),
        }
    }

    /// The current session or `vault_locked`.
    pub fn session(&self) -> IpcResult<Arc<Session>> {
        Ok(self.locket.session()?)
    }
}
