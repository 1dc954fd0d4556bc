//! What the desktop adds around a session: Tauri events for the application's lock and endpoint events and for
//! the endpoint's live notices (new requests, refusals), desktop notifications (coalesced: [`crate::notices`]), and
//! the tray's lock item.
use std::sync::Arc;

use locket_app::dto::{AuditEvent, SessionInfo};
use locket_app::{AppEvent, Session};
use locket_endpoint::Notice;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{blocking, IpcResult};
use crate::events::*;
use crate::notices::{Input, Kind};
use crate::state::AppState;

/// Forwards the application's events (locks — the idle timer's too — and endpoint changes) to the web view and
/// the tray, for the life of the app.
pub fn spawn_app_events(app: &AppHandle) {
    let mut rx = app.state::<AppState>().locket.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(AppEvent::Locked(reason)) => {
                    crate::tray::set_unlocked(&app, false);
                    let _ = app.emit(EV_LOCKED, Locked { reason });
                }
                Ok(AppEvent::Endpoint(status)) => {
                    let _ = app.emit(EV_ENDPOINT, status);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "application events skipped");
                }
                Err(_) => break,
            }
        }
    });
}

/// After a successful unlock: live notices to the web view, the tray's Lock item, a link that waited.
pub async fn opened(app: &AppHandle, info: SessionInfo) -> IpcResult<SessionInfo> {
    let state = app.state::<AppState>();
    let session = state.session()?;
    spawn_forwarder(app.clone(), &session);
    crate::tray::set_unlocked(app, true);
    let pending = state.pending_link.lock().ok().and_then(|mut l| l.take());
    if let Some(url) = pending {
        crate::deeplink::deliver(app, &url);
    }
    Ok(info)
}

fn spawn_forwarder(app: AppHandle, session: &Arc<Session>) {
    let mut rx = session.endpoint().subscribe();
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
            forward(&app, session, notice).await;
        }
    });
}

async fn forward(app: &AppHandle, session: Arc<Session>, notice: Notice) {
    match notice {
        Notice::EventAppended(event) => {
            let s = session.clone();
            let retailer = event.retailer.clone();
            let name = blocking(move || Ok(retailer.and_then(|id| s.retailer_name(&id))))
                .await
                .ok()
                .flatten();
            let dto = AuditEvent::from_event(&event, name);
            if let (true, Some(id)) = (dto.outcome == "refused", dto.retailer_id.as_deref()) {
                let who = dto.retailer_name.as_deref().unwrap_or(id);
                app.state::<AppState>().notices.record(
                    Kind::Refusal,
                    id,
                    who,
                    &locket_app::notices::refusal_sentence(dto.reason.as_deref()),
                );
            }
            let _ = app.emit(EV_AUDIT, dto);
        }
        Notice::RequestReceived {
            request_id,
            retailer_id,
            retailer_name,
            ..
        } => {
            app.state::<AppState>()
                .notices
                .record(Kind::Request, &retailer_id, &retailer_name, "");
            let id = request_id.clone();
            if let Ok(req) = blocking(move || session.request(&id)).await {
                let _ = app.emit(EV_REQUEST, req);
            }
            // Anyone on the machine can send a request: the window is not brought forward (no focus stealing);
            // the web view shows the card if it is open.
            crate::notices::bring_forward(app, Input::HttpRequest);
            let _ = app.emit(EV_FOCUS_REQUEST, FocusRequest { request_id });
        }
        _ => {}
    }
}
