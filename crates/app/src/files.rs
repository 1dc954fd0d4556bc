//! Files the owner asks Locket to write (grant files, exports, receipts) and request files it reads.
use std::io::Write;
use std::path::Path;

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
}
