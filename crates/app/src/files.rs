//! Files: which ones a front end may have Locket read or write, and reading and writing them.
//!
//! Only files the owner chose in a native dialog the shell opened (the desktop's `file_choose`) or dropped on the
//! window (the drop arrives from the windowing system, not the web view) may be used. Each choice becomes an
//! opaque, single-use token ([`FileTokens`]) that expires after [`TOKEN_TTL`] and is bound to the one action it
//! was chosen for ([`FilePurpose`]); the commands that read or write a file take that token and never a path.
//! A compromised or confused web view can therefore not name `~/.ssh/id_ed25519` to import or
//! `~/.bashrc` to overwrite: an unknown, used, expired or mismatched token — or a path — is refused with
//! `file_token_invalid` before anything is opened.
//!
//! Files the owner asks Locket to write (grant files, exports, receipts) are written owner-only
//! ([`write_private`]); request files are read with a size cap ([`read_request_file`]).
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Writes a file only the owner can read (0600 on Unix), via a temp file, fsync and rename: readers see the old
/// file or the new one, never a part.
pub fn write_private(path: &Path, bytes: &[u8]) -> AppResult<()> {
    let io = |e: std::io::Error| AppError::io("write", path, &e);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("locket")
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// Reads a retailer's request file, refusing one larger than a request can be (`request_too_large`) before
/// reading it.
pub fn read_request_file(path: &Path) -> AppResult<Vec<u8>> {
    let max = locket_grants::request::MAX_REQUEST_BYTES as u64;
    let meta = std::fs::metadata(path).map_err(|e| AppError::io("read", path, &e))?;
    if meta.len() > max {
        return Err(AppError::new(
            "request_too_large",
            format!("{} is larger than a request can be ({max} bytes).", path.display()),
        ));
    }
    std::fs::read(path).map_err(|e| AppError::io("read", path, &e))
}

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

/// The native dialog a shell opens for a [`FilePurpose`], as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogSpec {
    /// The dialog's title.
    pub title: &'static str,
    /// A save dialog (else an open dialog).
    pub save: bool,
    /// The file filter: its name and the extensions it shows.
    pub filter: Option<(&'static str, &'static [&'static str])>,
    /// The file name a save dialog starts with when the web view suggests none.
    pub default_name: &'static str,
}

impl FilePurpose {
    /// The dialog to open for this purpose.
    pub fn dialog(self) -> DialogSpec {
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
    pub fn mint(&self, path: PathBuf, purpose: FilePurpose) -> AppResult<PickedFile> {
        self.mint_at(path, purpose, Instant::now())
    }

    /// [`FileTokens::mint`] at time `now`.
    pub fn mint_at(&self, path: PathBuf, purpose: FilePurpose, now: Instant) -> AppResult<PickedFile> {
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
    pub fn take(&self, token: &str, purpose: FilePurpose) -> AppResult<PathBuf> {
        self.take_at(token, purpose, Instant::now())
    }

    /// [`FileTokens::take`] at time `now`.
    pub fn take_at(&self, token: &str, purpose: FilePurpose, now: Instant) -> AppResult<PathBuf> {
        let found = self.lock()?.remove(token);
        match found {
            Some(c) if c.purpose == purpose && now.saturating_duration_since(c.made) < TOKEN_TTL => Ok(c.path),
            _ => Err(token_refused()),
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

    fn lock(&self) -> AppResult<std::sync::MutexGuard<'_, HashMap<String, Chosen>>> {
        self.chosen
            .lock()
            .map_err(|_| AppError::internal("the file choices are unavailable"))
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A file name the web view suggests for a save dialog: its last component only, without control characters.
pub fn suggested(name: Option<&str>, fallback: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only_and_replace_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grant.json");
        write_private(&p, b"first").unwrap();
        write_private(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn oversized_request_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; locket_grants::request::MAX_REQUEST_BYTES + 1]).unwrap();
        assert_eq!(read_request_file(&p).unwrap_err().code, "request_too_large");
        assert_eq!(
            read_request_file(&dir.path().join("none")).unwrap_err().code,
            "io_error"
        );
    }

    fn code(r: AppResult<PathBuf>) -> String {
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
