//! The main window's life. Closing it keeps Locket running in the background — serving grants, delivering
//! releases and locking itself when idle, all in Rust — and destroys the web view with it, so no WebKit process
//! stays in memory; "Open Locket" in the tray, launching Locket again, or a `locket://` link builds a new window
//! on the current state (unlocked or not). Quit (tray) ends the process.
use std::sync::atomic::{AtomicBool, Ordering};

use locket_desktop_support::webkit::Tuning;
use tauri::{AppHandle, Manager, WebviewWindow, WebviewWindowBuilder};

/// The label of the one window.
pub const MAIN: &str = "main";

/// Whether the owner was told once, this run, that closing the window keeps Locket running.
static TOLD: AtomicBool = AtomicBool::new(false);

/// Shows the main window, building it again if it was closed. `focus`: take the keyboard focus and raise it
/// (the owner's own actions only); otherwise a new window opens without taking the focus.
pub fn open(app: &AppHandle, focus: bool) {
    if let Some(w) = app.get_webview_window(MAIN) {
        if focus {
            let _ = w.unminimize();
            let _ = w.show();
            let _ = w.set_focus();
        }
        return;
    }
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN) else {
        tracing::warn!("no main window in the configuration");
        return;
    };
    match WebviewWindowBuilder::from_config(app, config).and_then(|b| b.focused(focus).build()) {
        Ok(w) => {
            tune(&w);
            tracing::info!("window opened again");
        }
        Err(e) => tracing::warn!(error = %e, "the window could not be opened"),
    }
}

/// Applies Locket's WebKit settings ([`Tuning`], chosen by measurement) to a new window's web view, before its
/// first paint. The settings live in WebKit's UI process (this one); nothing here reaches the page.
pub fn tune(window: &WebviewWindow) {
    let tuning = Tuning::from_env();
    if tuning == Tuning::WEBKIT_DEFAULTS {
        return;
    }
    let applied = window.with_webview(move |platform| {
        #[cfg(target_os = "linux")]
        {
            use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
            let view = platform.inner();
            if let Some(settings) = WebViewExt::settings(&view) {
                if tuning.no_gpu {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
                if tuning.no_page_cache {
                    settings.set_enable_page_cache(false);
                }
            }
            if tuning.document_viewer {
                if let Some(context) = view.context() {
                    context.set_cache_model(CacheModel::DocumentViewer);
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (platform, tuning);
    });
    if let Err(e) = applied {
        tracing::warn!(error = %e, "WebKit settings not applied");
    }
}

/// Whether the main window (and its web view) exists.
pub fn is_open(app: &AppHandle) -> bool {
    app.get_webview_window(MAIN).is_some()
}

/// The last window closed: Locket keeps running without one. Tells the owner so, once per run.
pub fn closed(app: &AppHandle) {
    tracing::info!("window closed; Locket keeps running in the background");
    // The web view is gone; WebKit's network process would stay for the life of the app.
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(500));
        locket_desktop_support::webkit::stop_network_processes();
    });
    if !TOLD.swap(true, Ordering::Relaxed) {
        let unlocked = app.state::<crate::state::AppState>().locket.is_unlocked();
        crate::notices::show_now(
            app,
            "Locket is still running",
            if unlocked {
                "Shops you granted can still read what you allowed, and updates are still sent. Open Locket from \
                 the tray or your applications; Quit is in the tray menu."
            } else {
                "It is locked. Open Locket from the tray or your applications; Quit is in the tray menu."
            },
        );
    }
}
