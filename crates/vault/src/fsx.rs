//! Owner-only files and folders inside the vault directory: every file is created `0600` and every folder
//! `0700` whatever the umask, files are created afresh (`O_EXCL`) and never through a symlink (`O_NOFOLLOW`),
//! and a vault directory that belongs to another user is refused.
use std::fs;
use std::io::Write;
use std::path::Path;

use crate::VaultError;

/// Creates `path` as a new owner-only file: fails if anything (a file, a symlink) is already there.
pub(crate) fn create_new_private(path: &Path) -> Result<fs::File, VaultError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    opts.open(path).map_err(|e| VaultError::io(path, e))
}

/// Opens (creating if missing) an owner-only file for appending or locking, never through a symlink.
pub(crate) fn open_private(path: &Path) -> Result<fs::File, VaultError> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    opts.open(path).map_err(|e| VaultError::io(path, e))
}

/// Opens an existing regular file for overwriting in place, never through a symlink.
pub(crate) fn open_for_overwrite(path: &Path) -> Result<fs::File, VaultError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    opts.open(path).map_err(|e| VaultError::io(path, e))
}

/// Writes `bytes` to a new owner-only file at `path` (replacing what was there) and fsyncs it.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(VaultError::io(path, e)),
    }
    let mut f = create_new_private(path)?;
    f.write_all(bytes).map_err(|e| VaultError::io(path, e))?;
    f.sync_all().map_err(|e| VaultError::io(path, e))
}

/// Creates `dir` (and missing parents) and makes it owner-only (`0700`).
pub(crate) fn private_dir(dir: &Path) -> Result<(), VaultError> {
    fs::create_dir_all(dir).map_err(|e| VaultError::io(dir, e))?;
    set_mode(dir, 0o700)
}

/// Sets the permission bits of `path` (files `0600`, folders `0700`); nothing on non-Unix systems.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), VaultError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| VaultError::io(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Refuses a vault directory that belongs to another user: its owner could swap the key-slot file or the
/// database under this user (`vault_not_owned`).
pub(crate) fn check_owner(dir: &Path) -> Result<(), VaultError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = match fs::metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(VaultError::io(dir, e)),
        };
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(VaultError::NotOwned {
                path: dir.to_path_buf(),
                owner: meta.uid(),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
