//! Locket desktop shell: a thin Tauri 2 adapter over the application layer (`locket_app`). Each command parses
//! its input, calls one use case and returns the result; [`session`] turns the application's events into Tauri
//! events. The IPC contract is documented in docs/ipc.md.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[allow(missing_docs)]
pub mod backups;
#[allow(missing_docs)]
pub mod commands;
pub mod deeplink;
#[allow(missing_docs)]
pub mod deliveries;
pub mod error;
pub mod events;
pub mod files;
#[allow(missing_docs)]
pub mod grants;
pub mod notices;
#[allow(missing_docs)]
pub mod privacy;
#[allow(missing_docs)]
pub mod session;
pub mod state;
pub mod tray;
pub mod window;

/// The single-instance preflight (quit-and-reopen), Tauri-free in `locket-desktop-support`.
pub use locket_desktop_support::instance;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

/// Starts the app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LOCKET_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();

    if locket_vault::KdfParams::test_profile_requested() {
        let words = if cfg!(debug_assertions) {
            "cheap Argon2 parameters for every new passphrase slot and export: AUTOMATED TESTS ONLY"
        } else {
            "refused by this release build: creating a vault or setting a passphrase will fail until it is unset"
        };
        eprintln!("\n!!!!!!!! LOCKET_KDF_PROFILE=test: {words} !!!!!!!!\n");
    }
    let context = tauri::generate_context!();
    // A previous instance that is still exiting owns the single-instance name but no longer answers:
    // wait for it to let go instead of refusing to start (quit-and-reopen).
    let guarded = match instance::preflight(&context.config().identifier, std::time::Duration::from_secs(10)) {
        instance::Preflight::Forwarded => return,
        instance::Preflight::Start => true,
        instance::Preflight::StartUnguarded => false,
    };
    let mut builder = tauri::Builder::default();
    if guarded {
        // First: a second launch hands its arguments (and any locket:// link) to this one and exits.
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // Launching Locket again shows the window; a launch that only carries a link (any web page can
            // open one) does not.
            let mut links = locket_app::links::in_args(&argv).peekable();
            if links.peek().is_none() {
                notices::bring_forward(app, notices::Input::Relaunch);
            }
            for link in links {
                deeplink::handle(app, link);
            }
        }));
    }
    let result = builder
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .manage(state::AppState::from_env())
        .on_window_event(|window, event| {
            // Dropped files reach Rust from the windowing system, not from the web view: only these paths (and
            // the ones chosen in dialogs Rust opened) get a token.
            match event {
                tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. })
                    if window.label() == window::MAIN =>
                {
                    files::dropped(window.app_handle(), paths);
                }
                tauri::WindowEvent::Destroyed if window.label() == window::MAIN => window::closed(window.app_handle()),
                _ => {}
            }
        })
        .setup(|app| {
            let handle = app.handle().clone();
            if let Some(w) = handle.get_webview_window(window::MAIN) {
                window::tune(&w);
            }
            tray::build(&handle);
            session::spawn_app_events(&handle);
            notices::spawn(&handle);
            let h2 = handle.clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    deeplink::handle(&h2, url.as_str());
                }
            });
            let args: Vec<String> = std::env::args().collect();
            for link in locket_app::links::in_args(&args) {
                deeplink::handle(&handle, link);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::vault_create,
            commands::vault_unlock,
            commands::vault_unlock_keychain,
            commands::vault_recover,
            commands::vault_lock,
            commands::session_activity,
            commands::session_info,
            commands::focus_request_take,
            commands::passphrase_change,
            commands::recovery_reset,
            commands::keychain_set,
            commands::settings_update,
            commands::vault_export,
            commands::vault_import,
            commands::vault_wipe,
            commands::catalog,
            commands::profile_list,
            commands::profile_set,
            commands::profile_remove,
            commands::profile_history,
            commands::custom_field_add,
            commands::audit_query,
            commands::audit_timeline,
            commands::audit_verify,
            files::file_choose,
            grants::requests_list,
            grants::request_import,
            grants::request_approve,
            grants::request_deny,
            grants::grant_file_save,
            grants::grants_list,
            grants::grant_revoke,
            grants::retailer_revoke_all,
            grants::retailers_list,
            grants::retailer_detail,
            deliveries::retailer_deliveries,
            deliveries::delivery_retry,
            deliveries::delivery_cancel,
            deliveries::grant_set_updates,
            privacy::retailer_privacy,
            privacy::receipts_export,
            privacy::erasure_request,
            privacy::alias_set,
            privacy::field_holders,
            backups::backups_list,
            backups::backup_now,
            backups::backup_verify,
            backups::backup_restore_preview,
            backups::backup_restore,
            backups::vault_recover_from_backup,
            backups::vault_accept_rollback,
        ])
        .build(context);
    match result {
        Ok(app) => app.run(|app, event| match event {
            // The window was closed: keep running (serving, delivering, the idle lock) without it. Quit in the
            // tray menu (or the session ending) exits with a code.
            tauri::RunEvent::ExitRequested { code: None, api, .. } => api.prevent_exit(),
            tauri::RunEvent::Exit => {
                // Let a relaunch become the single instance at once, while this one finishes exiting.
                tauri_plugin_single_instance::destroy(app);
                // Stop serving and drop the keys before the process ends.
                let locket = app.state::<state::AppState>().locket.clone();
                tauri::async_runtime::block_on(async move {
                    let _ = locket.lock(locket_app::LockReason::Button).await;
                });
            }
            _ => {}
        }),
        Err(e) => {
            eprintln!("Locket could not start: {e}");
            std::process::exit(1);
        }
    }
}
