//! Desktop notifications and the window's focus: the shell's half of [`locket_app::notices`], which counts and
//! words the notifications (coalesced per kind and retailer) and says which input may bring the window forward.
//! Here: the task that shows what falls due, and [`bring_forward`].
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

pub use locket_app::notices::{raises_window, Input, Kind, Notices, Notification};

use crate::state::AppState;

/// Starts the task that shows notifications as they fall due, for the life of the app.
pub fn spawn(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(due) = app.state::<AppState>().notices.due().await {
            for n in due {
                show(&app, &n);
            }
        }
    });
}

/// Shows a notification; failures (no notification daemon) are only logged.
fn show(app: &AppHandle, n: &Notification) {
    show_now(app, &n.title, &n.body);
}

/// Shows one notification now (the shell's own words, not coalesced).
pub fn show_now(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "notification not shown");
    }
}

/// Brings the main window forward (building it again if it was closed) when `input` may ([`raises_window`]).
/// A request or link that arrives while the window is closed opens it without taking the focus, so the owner
/// finds the request when they look; it never raises a window that is open.
pub fn bring_forward(app: &AppHandle, input: Input) {
    if raises_window(input) {
        crate::window::open(app, true);
    } else if matches!(input, Input::DeepLink) && !crate::window::is_open(app) {
        crate::window::open(app, false);
    }
}
