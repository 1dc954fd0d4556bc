//! Which files the web view may have Locket read or write: only ones the owner chose in a native dialog that Rust
//! opened ([`file_choose`]) or dropped on the window (the drop arrives in Rust from the windowing system, see
//! [`dropped`]). Each choice becomes an opaque, single-use token that expires after [`TOKEN_TTL`] and is bound to
//! the one action it was chosen for; the commands that read or write a file take that token and never a path.
//! A compromised or confused web view can therefore not name `~/.ssh/id_ed25519` to import or
//! `~/.bashrc` to overwrite: an unknown, used, expired or mismatched token — or a path — is refused with
//! `file_token_invalid` before anything is opened.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use locket_app::dto::{ExportResult, ImportResult, SecretText};
use locket_app::grants::RequestDto;
use locket_app::AppError;
use locket_grants::store::RequestSource;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{blocking, IpcResult};
use crate::events::EV_FILES_DROPPED;
use crate::state::AppState;

/// How long a chosen file may be used.
pub const TOKEN_TTL: Duration = Duration::from_secs(10 * 60);
/// At most this many choices are kept; the oldest is forgotten first.
pub const MAX_TOKENS: usize = 64;

/// What the owner chooses a file for: which dialog Rust opens (title, open or save, filter) and the one command
/// that may use the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    /// A retailer's request file to import (`request_import`); also what a dropped file is for.
    RequestFile,
    /// A Locket export to import into this vault (`vault_import`).
    VaultImport,
    /// Where to save a grant file (`grant_file_save`).
    GrantFile,
    /// Where to write an export of the vault (`vault_export`).
    VaultExport,
    /// Where to write a retailer's consent receipts (`receipts_export`).
    Receipts,
}

struct DialogSpec {
    title: &'static str,
    save: bool,
    filter: Option<(&'static str, &'static [&'static str])>,
    default_name: &'static str,
}

impl FilePurpose {
    fn dialog(self) -> DialogSpec {
        const JSON: Option<(&str, &[&str])> = Some(("JSON", &["json"]));
        match self {
            FilePurpose::RequestFile => DialogSpec {
                title: "Import a request",
                save: false,
                filter: Some(("Locket request", &["json"])),
                default_name: "",
            },
            FilePurpose::VaultImport => DialogSpec {
                title: "Import a Locket export",
                save: false,
                filter: None,
                default_name: "",
            },
            FilePurpose::GrantFile => DialogSpec {
                title: "Save grant file",
                save: true,
                filter: JSON,
                default_name: "locket-grant.json",
            },
            FilePurpose::VaultExport => DialogSpec {
                title: "Export Locket data",
                save: true,
                filter: JSON,
                default_name: "locket-export.json",
            },
            FilePurpose::Receipts => DialogSpec {
                title: "Export consent receipts",
                save: true,
                filter: JSON,
                default_name: "locket-receipts.json",
            },
        }
    }
}

/// A file the owner chose: the token a command takes, and the file's name to show.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PickedFile {
    /// Opaque, single-use, expires after ten minutes.
    pub token: String,
    /// The file's name (no folder), for the owner to see.
    pub name: String,
}

struct Chosen {
    path: PathBuf,
    purpose: FilePurpose,
    made: Instant,
}

/// The files chosen in dialogs Rust opened, by token.
#[derive(Default)]
pub struct FileTokens {
    chosen: Mutex<HashMap<String, Chosen>>,
}

/// The refusal for a token that is not a live choice for this action.
pub fn token_refused() -> AppError {
    AppError::new(
        "file_token_invalid",
        "Locket did not let you choose that file for this (or the choice expired); choose the file again.",
    )
}

impl FileTokens {
    /// Remembers `path`, chosen by the owner for `purpose`, and returns its token.
    pub fn mint(&self, path: PathBuf, purpose: FilePurpose) -> IpcResult<PickedFile> {
        self.mint_at(path, purpose, Instant::now())
    }

    /// [`FileTokens::mint`] at time `now`.
    pub fn mint_at(&self, path: PathBuf, purpose: FilePurpose, now: Instant) -> IpcResult<PickedFile> {
        use ring::rand::SecureRandom;
        let mut raw = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| AppError::new("random_failed", "the system random number generator failed"))?;
        let token = hex::encode(raw);
        let name = display_name(&path);
        let mut chosen = self.lock()?;
        chosen.retain(|_, c| now.saturating_duration_since(c.made) < TOKEN_TTL);
        while chosen.len() >= MAX_TOKENS {
            let Some(oldest) = chosen.iter().min_by_key(|(_, c)| c.made).map(|(t, _)| t.clone()) else {
                break;
            };
            chosen.remove(&oldest);
        }
        chosen.insert(
            token.clone(),
            Chosen {
                path,
                purpose,
                made: now,
            },
        );
        Ok(PickedFile { token, name })
    }

    /// The path behind `token` if it is a live choice for `purpose`; the token is used up either way.
    pub fn take(&self, token: &str, purpose: FilePurpose) -> IpcResult<PathBuf> {
        self.take_at(token, purpose, Instant::now())
    }

    /// [`FileTokens::take`] at time `now`.
    pub fn take_at(&self, token: &str, purpose: FilePurpose, now: Instant) -> IpcResult<PathBuf> {
        let found = self.lock()?.remove(token);
        match found {
            Some(c) if c.purpose == purpose && now.saturating_duration_since(c.made) < TOKEN_TTL => Ok(c.path),
            _ => Err(token_refused().into()),
        }
    }

    /// How many choices are live (for tests).
    pub fn len(&self) -> usize {
        self.chosen.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Whether no choice is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> IpcResult<std::sync::MutexGuard<'_, HashMap<String, Chosen>>> {
        self.chosen
            .lock()
            .map_err(|_| AppError::internal("the file choices are unavailable").into())
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A file name the web view suggests for a save dialog: its last component only, without control characters.
fn suggested(name: Option<&str>, fallback: &str) -> String {
    let name = name
        .and_then(|n| Path::new(n).file_name())
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty() && n != "." && n != "..");
    name.unwrap_or_else(|| fallback.to_owned())
}

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
            .set_file_name(suggested(suggested_name.as_deref(), spec.default_name))
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
    state.files.mint(path, purpose).map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: IpcResult<PathBuf>) -> String {
        r.unwrap_err().code
    }

    #[test]
    fn a_choice_is_single_use_bound_to_its_action_and_expires() {
        let files = FileTokens::default();
        let t0 = Instant::now();
        let p = files
            .mint_at(PathBuf::from("/home/ada/req.json"), FilePurpose::RequestFile, t0)
            .unwrap();
        assert_eq!(p.name, "req.json");
        assert_eq!(p.token.len(), 32);
        assert_eq!(
            files.take_at(&p.token, FilePurpose::RequestFile, t0).unwrap(),
            PathBuf::from("/home/ada/req.json")
        );
        assert_eq!(
            code(files.take_at(&p.token, FilePurpose::RequestFile, t0)),
            "file_token_invalid"
        );

        let save = files.mint_at("/tmp/a".into(), FilePurpose::RequestFile, t0).unwrap();
        assert_eq!(
            code(files.take_at(&save.token, FilePurpose::VaultExport, t0)),
            "file_token_invalid",
            "a file chosen to read is never written"
        );
        assert_eq!(
            code(files.take_at(&save.token, FilePurpose::RequestFile, t0)),
            "file_token_invalid",
            "a misused token is burnt"
        );

        let old = files.mint_at("/tmp/b".into(), FilePurpose::GrantFile, t0).unwrap();
        assert_eq!(
            code(files.take_at(&old.token, FilePurpose::GrantFile, t0 + TOKEN_TTL)),
            "file_token_invalid"
        );
        for made_up in [
            "",
            "00000000000000000000000000000000",
            "/etc/passwd",
            "~/.ssh/id_ed25519",
        ] {
            assert_eq!(
                code(files.take_at(made_up, FilePurpose::RequestFile, t0)),
                "file_token_invalid"
            );
        }
    }

    #[test]
    fn choices_are_bounded() {
        let files = FileTokens::default();
        let t0 = Instant::now();
        let first = files.mint_at("/tmp/0".into(), FilePurpose::RequestFile, t0).unwrap();
        for i in 1..=MAX_TOKENS {
            files
                .mint_at(
                    format!("/tmp/{i}").into(),
                    FilePurpose::RequestFile,
                    t0 + Duration::from_millis(i as u64),
                )
                .unwrap();
        }
        assert_eq!(files.len(), MAX_TOKENS);
        assert!(
            files.take_at(&first.token, FilePurpose::RequestFile, t0).is_err(),
            "the oldest went first"
        );
    }

    #[test]
    fn a_suggested_name_is_a_name_only() {
        assert_eq!(suggested(Some("../../.bashrc"), "x.json"), ".bashrc");
        assert_eq!(suggested(Some("/etc/passwd"), "x.json"), "passwd");
        assert_eq!(suggested(Some("a\u{1b}[2Kb.json"), "x.json"), "a[2Kb.json");
        assert_eq!(suggested(Some(".."), "x.json"), "x.json");
        assert_eq!(suggested(None, "x.json"), "x.json");
    }
}
