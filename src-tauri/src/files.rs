//! Which files the web view may have Locket read or write: only ones the owner chose in a native dialog that Rust
//! opened ([`file_choose`]) or dropped on the window (the drop arrives in Rust from the windowing system, see
//! [`dropped`]). Each choice becomes an opaque, single-use token bound to the one action it was chosen for (the
//! registry, its expiry and the dialogs as data are [`locket_app::files`]); the commands that read or write a file
//! take that token and never a path, and an unknown, used, expired or mismatched token — or a path — is refused
//! with `file_token_invalid` before anything is opened.
use std::path::PathBuf;

use locket_app::dto::{ExportResult, ImportResult, SecretText};
pub use locket_app::files::{FilePurpose, FileTokens, PickedFile};
use locket_app::grants::RequestDto;
use locket_app::AppError;
use locket_grants::store::RequestSource;
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{blocking, IpcResult};
use crate::events::EV_FILES_DROPPED;
use crate::state::AppState;

/// Opens the native dialog for `purpose` (Rust opens it; the web view has no dialog permission) and returns a
/// token for the file the owner chose, or nothing when they cancelled. A save dialog starts with
/// `suggested_name` (its file-name part only).
#[tauri::command]
pub async fn file_choose(
    app: AppHandle,
    state: State<'_, AppState>,
    purpose: FilePurpose,
    suggested_name: Option<String>,
) -> IpcResult<Option<PickedFile>> {
    let spec = purpose.dialog();
    let mut dialog = app.dialog().file().set_title(spec.title);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    if let Some((name, extensions)) = spec.filter {
        dialog = dialog.add_filter(name, extensions);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    if spec.save {
        dialog
            .set_file_name(locket_app::files::suggested(
                suggested_name.as_deref(),
                spec.default_name,
            ))
            .save_file(move |p| {
                let _ = tx.send(p);
            });
    } else {
        dialog.pick_file(move |p| {
            let _ = tx.send(p);
        });
    }
    let Some(chosen) = rx
        .await
        .map_err(|_| AppError::internal("the file dialog closed unexpectedly"))?
    else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|_| AppError::new("io_error", "the chosen file has no local path"))?;
    Ok(Some(state.files.mint(path, purpose)?))
}

/// Files dropped on the main window. The paths come from the windowing system's drag-and-drop (Tauri's
/// `WindowEvent::DragDrop`, delivered to Rust by the native runtime), not from the web view, so Rust mints a
/// request-import token for each regular file and tells the web view (`locket://files-dropped`).
pub fn dropped(app: &AppHandle, paths: &[PathBuf]) {
    let state = app.state::<AppState>();
    let picked: Vec<PickedFile> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| state.files.mint(p.clone(), FilePurpose::RequestFile).ok())
        .collect();
    if !picked.is_empty() {
        let _ = app.emit(EV_FILES_DROPPED, picked);
    }
}

// ---------- what the file commands do with a token (the commands are one line around these) ----------

/// `vault_export`: the whole vault into the file chosen for [`FilePurpose::VaultExport`].
pub async fn export_to(
    state: &AppState,
    token: &str,
    passphrase: Option<SecretText>,
    progress: impl Fn(u32, u32) + Send + Sync + 'static,
) -> IpcResult<ExportResult> {
    let s = state.session()?;
    let path = state.files.take(token, FilePurpose::VaultExport)?;
    let pass = passphrase.filter(|p| !p.is_empty()).map(SecretText::into_passphrase);
    blocking(move || s.export_all(&path, pass.as_ref(), &progress)).await
}

/// `vault_import`: an export chosen for [`FilePurpose::VaultImport`] into this (empty) vault.
pub async fn import_from(
    state: &AppState,
    token: &str,
    passphrase: Option<SecretText>,
    progress: impl Fn(u32, u32) + Send + Sync + 'static,
) -> IpcResult<ImportResult> {
    let s = state.session()?;
    let path = state.files.take(token, FilePurpose::VaultImport)?;
    let pass = passphrase.filter(|p| !p.is_empty()).map(SecretText::into_passphrase);
    blocking(move || s.import_all(&path, pass.as_ref(), &progress)).await
}

/// `request_import`: the request file chosen (or dropped) for [`FilePurpose::RequestFile`].
pub async fn import_request(state: &AppState, token: &str) -> IpcResult<RequestDto> {
    let s = state.session()?;
    let path = state.files.take(token, FilePurpose::RequestFile)?;
    blocking(move || {
        let bytes = locket_app::files::read_request_file(&path)?;
        s.import_request(
            bytes,
            RequestSource::File {
                path: path.display().to_string(),
            },
        )
    })
    .await
}

/// `grant_file_save`: the grant file shown after approval into the file chosen for [`FilePurpose::GrantFile`].
pub async fn save_grant_file(state: &AppState, grant_id: String, token: &str) -> IpcResult<()> {
    let s = state.session()?;
    let path = state.files.take(token, FilePurpose::GrantFile)?;
    blocking(move || locket_app::files::write_private(&path, s.issued_file(&grant_id)?.as_bytes())).await
}

/// `receipts_export`: a retailer's consent receipts into the file chosen for [`FilePurpose::Receipts`].
pub async fn export_receipts(state: &AppState, retailer_id: String, token: &str) -> IpcResult<usize> {
    let s = state.session()?;
    let path = state.files.take(token, FilePurpose::Receipts)?;
    blocking(move || s.export_receipts(&retailer_id, &path)).await
}
