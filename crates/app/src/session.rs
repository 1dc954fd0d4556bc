//! An unlocked vault as the application uses it: the vault handle (it holds the keys, which never leave the
//! Rust side), a connection for the owner's reads, the embedded endpoint and its server, automatic backups, the
//! idle timer's state, and grant files issued in this session. Dropping the last clone drops every key.
//!
//! The owner's use cases are methods on [`Session`], grouped by subject in the sibling modules (`owner`,
//! `grants`, `privacy`, `backups`). Reads use the session's connection; **every write goes through the vault's
//! group-commit writer**, so a change and its audit event commit together before the caller hears of it.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use locket_endpoint::{Endpoint, EndpointConfig, ServerHandle};
use locket_grants::receipt::Collection;
use locket_grants::Issuers;
use locket_vault::backup::AutoBackup;
use locket_vault::settings::Settings;
use locket_vault::{Store, Vault};

use crate::dto::EndpointStatus;
use crate::error::{AppError, AppResult};
use crate::options::Options;

/// Locks a std mutex, turning poisoning into an error instead of a panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> AppResult<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| AppError::internal("an earlier operation failed midway; restart Locket"))
}

/// An unlocked vault and what runs while it is open.
pub struct Session {
    vault: Vault,
    store: Mutex<Store>,
    endpoint: Endpoint,
    server: tokio::sync::Mutex<Option<ServerHandle>>,
    server_error: Mutex<Option<String>>,
    pub(crate) options: Options,
    /// Grant files issued in this session, by grant id, so "Save grant file…" can write them.
    pub(crate) issued: Mutex<HashMap<String, String>>,
    /// Retailer display names by id (from requests), for events; `None` caches a miss.
    pub(crate) names: Mutex<HashMap<String, Option<String>>>,
    pub(crate) auto_backup: Mutex<Option<AutoBackup>>,
    pub(crate) idle_timer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The delivery worker ([`crate::deliver`]) and what wakes it when something is queued.
    pub(crate) delivery_worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pub(crate) delivery_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Set when the session ends: the worker stops between two releases.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    last_activity: Mutex<DateTime<Utc>>,
    auto_lock_minutes: AtomicU32,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(vault: Vault, store: Store, settings: &Settings, options: Options) -> AppResult<Session> {
        let url = options
            .listen_override
            .unwrap_or_else(|| settings.endpoint.socket_addr());
        let config = EndpointConfig {
            public_url: Some(format!("http://{url}")),
            ..EndpointConfig::default()
        };
        let endpoint = Endpoint::with_vault(config, vault.clone())?;
        Ok(Session {
            vault,
            store: Mutex::new(store),
            endpoint,
            server: tokio::sync::Mutex::new(None),
            server_error: Mutex::new(None),
            options,
            issued: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
            auto_backup: Mutex::new(None),
            idle_timer: Mutex::new(None),
            delivery_worker: Mutex::new(None),
            delivery_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
            last_activity: Mutex::new(Utc::now()),
            auto_lock_minutes: AtomicU32::new(settings.auto_lock_minutes),
        })
    }

    /// A session for a one-shot front end (the `locket` command): no server, no idle timer, no automatic backups.
    /// Failed unlocks waiting next to the vault are carried into the log with this unlock (`method`); without
    /// any, nothing is logged (each command unlocks once; the desktop logs every unlock). Returns the session and
    /// how many failed unlocks were carried over, to show the owner — or why they could not be (the session
    /// opens anyway: the failures stay next to the vault for the next unlock).
    pub fn open_once(vault: Vault, method: &str, options: Options) -> AppResult<(Session, AppResult<usize>)> {
        let carried = if locket_audit::pending::path(vault.dir()).exists() {
            locket_audit::pending::record_unlock(&vault, method).map_err(AppError::from)
        } else {
            Ok(0)
        };
        let store = vault.connect()?;
        let settings = Settings::load(store.conn())?;
        Ok((Session::new(vault, store, &settings, options)?, carried))
    }

    /// Ends the session and hands back its vault handle (for work that needs the sole handle: a re-key).
    pub fn into_vault(self) -> Vault {
        let vault = self.vault.clone();
        if let Err(e) = self.endpoint.set_vault(None) {
            tracing::warn!(error = %e, "endpoint still held the vault");
        }
        drop(self);
        vault
    }

    /// The unlocked vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The embedded endpoint (the same code as `locket serve`); its notices feed live views.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The session's read connection.
    pub(crate) fn store(&self) -> AppResult<MutexGuard<'_, Store>> {
        lock(&self.store)
    }

    /// Runs `job` on the vault's group-commit writer; returns after its batch committed.
    pub(crate) fn write<R, E, F>(&self, job: F) -> AppResult<R>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        Ok(self.vault.writer()?.submit(job)?)
    }

    /// How decisions taken in this session are described in consent receipts.
    pub(crate) fn collection(&self) -> Collection {
        self.options.collection
    }

    /// This vault's issuers: each retailer's own issuer id and key, derived on demand.
    pub(crate) fn issuers(&self) -> Issuers {
        Issuers::for_vault(&self.vault)
    }

    /// The vault-wide key id (what Settings shows as this vault's key; never given to a retailer).
    pub(crate) fn vault_key_id(&self) -> AppResult<String> {
        let signer = self
            .issuers()
            .vault_wide()
            .map_err(|e| AppError::new("signing_key_unusable", e.to_string()))?;
        Ok(signer.key_id().to_owned())
    }

    /// The owner's stored settings.
    pub fn settings(&self) -> AppResult<Settings> {
        Ok(Settings::load(self.store()?.conn())?)
    }

    pub(crate) fn save_settings(
        &self,
        update: &crate::dto::AppSettings,
        addr: SocketAddr,
    ) -> AppResult<(Settings, Settings)> {
        let store = self.store()?;
        let before = Settings::load(store.conn())?;
        let mut after = before.clone();
        after.auto_lock_minutes = update.auto_lock_minutes;
        after.endpoint.enabled = update.endpoint_enabled;
        after.endpoint.listen_address = addr.ip();
        after.endpoint.port = addr.port();
        after.validate()?;
        after.save(store.conn())?;
        self.auto_lock_minutes.store(after.auto_lock_minutes, Ordering::Relaxed);
        Ok((before, after))
    }

    /// The owner did something: the idle timer starts again.
    pub fn touch(&self) {
        if let Ok(mut t) = self.last_activity.lock() {
            *t = Utc::now();
        }
    }

    pub(crate) fn last_activity(&self) -> DateTime<Utc> {
        self.last_activity.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }

    /// How long without activity before Locket locks itself; `None` = never (auto-lock off).
    pub fn idle_limit(&self) -> Option<Duration> {
        if let Some(d) = self.options.idle_override {
            return Some(d);
        }
        match self.auto_lock_minutes.load(Ordering::Relaxed) {
            0 => None,
            m => Some(Duration::from_secs(u64::from(m) * 60)),
        }
    }

    /// Whether the server runs, where, or why not.
    pub async fn endpoint_status(&self) -> EndpointStatus {
        let server = self.server.lock().await;
        EndpointStatus {
            running: server.is_some(),
            address: server.as_ref().map(|h| h.addr().to_string()),
            error: self.server_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// The running server's URL, if any.
    pub async fn server_url(&self) -> Option<String> {
        self.server.lock().await.as_ref().map(|h| h.url())
    }

    pub(crate) async fn start_server(&self, addr: SocketAddr) {
        let mut server = self.server.lock().await;
        if let Some(old) = server.take() {
            let _ = old.shutdown().await;
        }
        let result = match &self.options.listen_refused {
            Some(why) => Err(why.clone()),
            None => match locket_endpoint::bind(&addr.to_string()).await {
                Ok(listener) => locket_endpoint::spawn(listener, self.endpoint.clone()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
        };
        let error = match result {
            Ok(handle) => {
                tracing::info!(addr = %handle.addr(), "endpoint listening");
                *server = Some(handle);
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "endpoint could not start");
                Some(e)
            }
        };
        if let Ok(mut slot) = self.server_error.lock() {
            *slot = error;
        }
    }

    pub(crate) async fn stop_server(&self) {
        let handle = self.server.lock().await.take();
        if let Some(h) = handle {
            if let Err(e) = h.shutdown().await {
                tracing::warn!(error = %e, "endpoint stopped with an error");
            }
        }
        if let Ok(mut slot) = self.server_error.lock() {
            *slot = None;
        }
    }
}
