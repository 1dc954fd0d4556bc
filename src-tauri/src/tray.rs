//! The tray icon (where the platform has one): open the window, lock, quit.
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "locket";

/// Holds the "Lock" item so it can be enabled only while unlocked.
pub struct TrayItems {
    lock: MenuItem<Wry>,
}

/// Builds the tray; a platform without a tray only logs.
pub fn build(app: &AppHandle) {
    let result = (|| -> tauri::Result<()> {
        let open = MenuItem::with_id(app, "open", "Open Locket", true, None::<&str>)?;
        let lock = MenuItem::with_id(app, "lock", "Lock", false, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&open, &lock, &quit])?;
        let mut builder = TrayIconBuilder::with_id(TRAY_ID).menu(&menu).tooltip("Locket");
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        builder
            .on_menu_event(|app, event| match event.id.as_ref() {
                "open" => crate::notices::bring_forward(app, crate::notices::Input::TrayOpen),
                "lock" => {
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        let locket = app.state::<crate::state::AppState>().locket.clone();
                        let _ = locket.lock(locket_app::LockReason::Tray).await;
                    });
                }
                "quit" => app.exit(0),
                _ => {}
            })
            .build(app)?;
        app.manage(TrayItems { lock });
        Ok(())
    })();
    if let Err(e) = result {
        tracing::info!(error = %e, "no tray icon on this platform");
    }
}

/// Enables "Lock" while unlocked.
pub fn set_unlocked(app: &AppHandle, unlocked: bool) {
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.lock.set_enabled(unlocked);
    }
}
