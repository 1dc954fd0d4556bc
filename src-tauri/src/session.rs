//! Opening and closing a session: the unlock event, the embedded endpoint server (started while unlocked,
//! stopped on lock) and the forwarding of its live notices to the web view and to desktop notifications.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use locket_audit::{EventKind, NewEvent, Outcome};
use locket_endpoint::{Endpoint, EndpointConfig, Notice};
use locket_vault::backup::{AutoBackup, BackupPolicy};
use locket_vault::settings::Settings;
use locket_vault::Vault;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::dto::{AppSettings, AuditEvent, EndpointStatus, SessionInfo};
use crate::error::{IpcError, IpcResult};
use crate::state::{lock, AppState, Session};

/// Event names (docs/ipc.md).
pub const EV_AUDIT: &str = "locket://audit-event";
pub const EV_REQUEST: &str = "locket://request-received";
pub const EV_LOCKED: &str = "locket://locked";
pub const EV_FOCUS_REQUEST: &str = "locket://focus-request";
pub const EV_DEEP_LINK_ERROR: &str = "locket://deep-link-error";
pub const EV_PROGRESS: &str = "locket://progress";
pub const EV_ENDPOINT: &str = "locket://endpoint";

/// How often the automatic backup checks the vault, and how long it waits after a change.
const AUTO_BACKUP_TICK: std::time::Duration = std::time::Duration::from_secs(5);
const AUTO_BACKUP_DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs blocking core work (Argon2, SQLCipher) off the async runtime's worker threads.
pub async fn blocking<T, F>(f: F) -> IpcResult<T>
where
    F: FnOnce() -> IpcResult<T> + Send + 'static,
    T: Send + 'static,
{
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::internal(format!("a background task failed: {e}")))?
}

/// The address the endpoint should listen on: `LOCKET_LISTEN` (tests) or the vault's settings.
pub fn listen_addr(settings: &Settings) -> SocketAddr {
    std::env::var("LOCKET_LISTEN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| settings.endpoint.socket_addr())
}

/// Everything after a successful unlock: record it, open the read connection, start the endpoint.
pub async fn open(app: &AppHandle, vault: Vault, via: &'static str) -> IpcResult<SessionInfo> {
    let state = app.state::<AppState>();
    let dir = state.dir.clone();
    let (store, settings) = {
        let vault = vault.clone();
        blocking(move || {
            let writer = vault.writer()?;
            let dir2 = dir.clone();
            writer.submit(move |tx| -> Result<(), locket_audit::AuditError> {
                locket_audit::pending::import(tx, &dir2)?;
                locket_audit::append(tx, &NewEvent::new(EventKind::Unlock, Outcome::Ok).detail("via", via))?;
                Ok(())
            })?;
            locket_audit::pending::clear(&dir)?;
            let store = vault.connect()?;
            let settings = Settings::load(store.conn())?;
            Ok((store, settings))
        })
        .await?
    };
    let addr = listen_addr(&settings);
    let config = EndpointConfig {
        public_url: Some(format!("http://{addr}")),
        ..EndpointConfig::default()
    };
    let endpoint = {
        let vault = vault.clone();
        blocking(move || Ok(Endpoint::with_vault(config, vault)?)).await?
    };
    let session = Arc::new(Session {
        vault,
        store: Mutex::new(store),
        endpoint,
        server: tokio::sync::Mutex::new(None),
        server_error: Mutex::new(None),
        forwarder: Mutex::new(None),
        issued: Mutex::new(Default::default()),
        names: Mutex::new(Default::default()),
        auto_backup: Mutex::new(None),
    });
    // Consent receipts that fell due while locked (expiries, revocations made without the key) are issued now.
    {
        let s = session.clone();
        if let Err(e) = blocking(move || crate::privacy::catch_up_receipts(&s)).await {
            tracing::warn!(code = %e.code, "due consent receipts not issued");
        }
    }
    *lock(&session.auto_backup)? = Some(AutoBackup::start(
        session.vault.clone(),
        BackupPolicy::default(),
        AUTO_BACKUP_TICK,
        AUTO_BACKUP_DEBOUNCE,
    ));
    *lock(&session.forwarder)? = Some(spawn_forwarder(app.clone(), &session));
    if settings.endpoint.enabled {
        start_server(app, &session, addr).await;
    }
    *lock(&state.session)? = Some(session.clone());
    crate::tray::set_unlocked(app, true);
    let info = info(&session).await?;
    // A deep link that arrived while locked is handled now.
    let pending = lock(&state.pending_link)?.take();
    if let Some(url) = pending {
        crate::deeplink::handle(app, &url);
    }
    Ok(info)
}

/// The session summary the UI keeps.
pub async fn info(session: &Arc<Session>) -> IpcResult<SessionInfo> {
    let s = session.clone();
    let (settings, keychain, key_id) = blocking(move || {
        let settings = Settings::load(lock(&s.store)?.conn())?;
        let keychain = s.vault.keychain_enabled()?;
        let key_id = locket_grants::TokenSigner::for_vault(&s.vault)
            .map(|t| t.key_id().to_owned())
            .map_err(|e| IpcError::new("signing_key_unusable", e))?;
        Ok((settings, keychain, key_id))
    })
    .await?;
    Ok(SessionInfo {
        vault_id: session.vault.id().to_owned(),
        key_id,
        endpoint: endpoint_status(session).await,
        settings: AppSettings::from_core(&settings, keychain),
    })
}

/// Whether the server runs, where, or why not.
pub async fn endpoint_status(session: &Arc<Session>) -> EndpointStatus {
    let server = session.server.lock().await;
    EndpointStatus {
        running: server.is_some(),
        address: server.as_ref().map(|h| h.addr().to_string()),
        error: session.server_error.lock().ok().and_then(|e| e.clone()),
    }
}

/// Starts the server on `addr`; a bind failure is kept for Settings rather than failing the unlock.
pub async fn start_server(app: &AppHandle, session: &Arc<Session>, addr: SocketAddr) {
    let mut server = session.server.lock().await;
    if let Some(old) = server.take() {
        let _ = old.shutdown().await;
    }
    let result = match locket_endpoint::bind(&addr.to_string()).await {
        Ok(listener) => locket_endpoint::spawn(listener, session.endpoint.clone()),
        Err(e) => Err(e),
    };
    let error = match result {
        Ok(handle) => {
            tracing::info!(addr = %handle.addr(), "endpoint listening");
            *server = Some(handle);
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "endpoint could not start");
            Some(e.to_string())
        }
    };
    if let Ok(mut slot) = session.server_error.lock() {
        *slot = error;
    }
    drop(server);
    let _ = app.emit(EV_ENDPOINT, endpoint_status(session).await);
}

/// Stops the server (requests in flight finish first).
pub async fn stop_server(app: &AppHandle, session: &Arc<Session>) {
    let handle = session.server.lock().await.take();
    if let Some(h) = handle {
        if let Err(e) = h.shutdown().await {
            tracing::warn!(error = %e, "endpoint stopped with an error");
        }
    }
    if let Ok(mut slot) = session.server_error.lock() {
        *slot = None;
    }
    let _ = app.emit(EV_ENDPOINT, endpoint_status(session).await);
}

/// Locks: stops serving, drops the session (and with it the shell's copy of the keys), tells the web view.
pub async fn close(app: &AppHandle, reason: &str) -> IpcResult<()> {
    shutdown(app).await?;
    announce_locked(app, reason);
    Ok(())
}

/// Tells the tray and the web view that Locket is locked (`reason` as in docs/ipc.md).
pub fn announce_locked(app: &AppHandle, reason: &str) {
    crate::tray::set_unlocked(app, false);
    let _ = app.emit(EV_LOCKED, serde_json::json!({ "reason": reason }));
}

/// [`close`] without telling anyone yet: for work that must run locked before the web view may unlock again
/// (restoring a backup).
pub async fn shutdown(app: &AppHandle) -> IpcResult<()> {
    let state = app.state::<AppState>();
    let session = lock(&state.session)?.take();
    if let Some(s) = session {
        let _ = s.endpoint.set_vault(None);
        stop_server(app, &s).await;
        if let Some(task) = lock(&s.forwarder)?.take() {
            task.abort();
        }
        // Stopping the scheduler waits for its current tick (and any backup in progress): off the runtime.
        let auto = lock(&s.auto_backup)?.take();
        if let Some(auto) = auto {
            let _ = blocking(move || {
                drop(auto);
                Ok(())
            })
            .await;
        }
        drop(s);
    }
    Ok(())
}

fn spawn_forwarder(app: AppHandle, session: &Arc<Session>) -> tauri::async_runtime::JoinHandle<()> {
    let mut rx = session.endpoint.subscribe();
    let weak = Arc::downgrade(session);
    tauri::async_runtime::spawn(async move {
        loop {
            let notice = match rx.recv().await {
                Ok(n) => n,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "live events skipped");
                    continue;
                }
                Err(_) => break,
            };
            let Some(session) = weak.upgrade() else { break };
            forward(&app, &session, notice).await;
        }
    })
}

async fn forward(app: &AppHandle, session: &Arc<Session>, notice: Notice) {
    match notice {
        Notice::EventAppended(event) => {
            let name = match &event.retailer {
                Some(id) => crate::grants::retailer_name(session, id).await,
                None => None,
            };
            let dto = AuditEvent::from_event(&event, name);
            if dto.outcome == "refused" && dto.retailer_id.is_some() {
                let who = dto
                    .retailer_name
                    .clone()
                    .or(dto.retailer_id.clone())
                    .unwrap_or_default();
                notify(
                    app,
                    "Access refused",
                    &format!("{who}: {}", refusal_sentence(dto.reason.as_deref())),
                );
            }
            let _ = app.emit(EV_AUDIT, dto);
        }
        Notice::RequestReceived {
            request_id,
            retailer_name,
            ..
        } => {
            notify(
                app,
                "New request",
                &format!("{retailer_name} asks for some of your details."),
            );
            if let Ok(req) = crate::grants::request_dto_by_id(session, &request_id).await {
                let _ = app.emit(EV_REQUEST, req);
            }
            crate::focus_main(app);
            let _ = app.emit(EV_FOCUS_REQUEST, serde_json::json!({ "requestId": request_id }));
        }
        _ => {}
    }
}

/// A short plain-words reason for a notification (the Activity screen has the full wording).
fn refusal_sentence(code: Option<&str>) -> String {
    match code {
        Some("grant_revoked") => "you had revoked the grant".into(),
        Some("token_expired") => "the grant had expired".into(),
        Some("grant_uses_exhausted") => "the grant was used up".into(),
        Some("token_invalid_signature") => "the token was forged or altered".into(),
        Some("vault_locked") => "Locket was locked".into(),
        Some(other) => other.replace('_', " "),
        None => "refused".into(),
    }
}

/// A desktop notification; failures (no notification daemon) are only logged.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "notification not shown");
    }
}
