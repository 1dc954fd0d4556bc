//! What the shell holds between commands: the vault directory and, while unlocked, the session (the unlocked
//! vault handle, a read connection, the embedded endpoint server). Locking drops the session — and with it the
//! last clone of the data key held by the shell.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use locket_vault::{Store, Vault};
use tauri::async_runtime::JoinHandle;

use crate::error::{IpcError, IpcResult};

/// Managed Tauri state.
pub struct AppState {
    /// The vault directory (`LOCKET_VAULT` or the OS default).
    pub dir: PathBuf,
    /// The unlocked session, if any.
    pub session: Mutex<Option<Arc<Session>>>,
    /// A `locket://` link that arrived while locked; handled right after the next unlock.
    pub pending_link: Mutex<Option<String>>,
}

/// An unlocked vault as the shell uses it.
pub struct Session {
    /// The unlocked vault (holds the keys; never leaves the Rust side).
    pub vault: Vault,
    /// A read/write connection for the owner's own commands (profile edits, queries).
    pub store: Mutex<Store>,
    /// The embedded endpoint (the same code as `locket serve`).
    pub endpoint: locket_endpoint::Endpoint,
    /// The running server, when sharing is on.
    pub server: tokio::sync::Mutex<Option<locket_endpoint::ServerHandle>>,
    /// Last start error of the server (shown in Settings).
    pub server_error: Mutex<Option<String>>,
    /// The task forwarding the endpoint's live notices to the web view.
    pub forwarder: Mutex<Option<JoinHandle<()>>>,
    /// Grant files issued in this session, by grant id, so "Save grant file…" can write them.
    pub issued: Mutex<HashMap<String, String>>,
    /// Retailer display names by id (from requests), for events; `None` caches a miss.
    pub names: Mutex<HashMap<String, Option<String>>>,
    /// Automatic backups while unlocked (after changes and daily); dropped, and so stopped, on lock.
    pub auto_backup: Mutex<Option<locket_vault::backup::AutoBackup>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// Locks a std mutex, turning poisoning into an IPC error instead of a panic.
pub fn lock<T>(m: &Mutex<T>) -> IpcResult<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| IpcError::internal("an earlier operation failed midway; restart Locket"))
}

impl AppState {
    /// The vault directory from `LOCKET_VAULT`, else the OS default.
    pub fn from_env() -> AppState {
        let dir = std::env::var_os("LOCKET_VAULT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(Vault::default_dir);
        AppState {
            dir,
            session: Mutex::new(None),
            pending_link: Mutex::new(None),
        }
    }

    /// The current session or `vault_locked`.
    pub fn session(&self) -> IpcResult<Arc<Session>> {
        lock(&self.session)?.clone().ok_or_else(IpcError::locked)
    }

    /// Whether a session is open.
    pub fn is_unlocked(&self) -> bool {
        self.session.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}
