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
    if let Err(e) = app.notification().builder().title(&n.title).body(&n.body).show() {
        tracing::debug!(error = %e, "notification not shown");
    }
}

/// Brings the main window forward when `input` may ([`raises_window`]).
pub fn bring_forward(app: &AppHandle, input: Input) {
    if raises_window(input) {
        crate::focus_main(app);
    }
}
