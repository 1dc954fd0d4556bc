//! One error for every use case: a stable snake_case `code` (the same codes the core crates use, listed in
//! docs/errors.md), a sentence the owner can act on, and a [`ErrorKind`] that each transport maps once — to an
//! IPC error, a CLI exit status or an HTTP status. Messages never contain secrets.

pub use locket_wire::ErrorKind;

/// An error of a use case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// Stable snake_case code (docs/errors.md).
    pub code: String,
    /// A sentence the owner can act on.
    pub message: String,
    /// What sort of failure it is.
    pub kind: ErrorKind,
}

impl AppError {
    /// An error with a stable code; its kind comes from [`ErrorKind::of_code`].
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            kind: ErrorKind::of_code(code),
        }
    }

    /// Locket is locked (or was never unlocked).
    pub fn locked() -> AppError {
        AppError::new("vault_locked", "Locket is locked; unlock it first.")
    }

    /// A fault inside Locket the owner cannot fix (a failed worker, a poisoned lock).
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new("internal", message)
    }

    /// A file could not be read or written.
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> AppError {
        AppError::new("io_error", format!("cannot {what} {}: {e}", path.display()))
    }
}

/// Result of every use case.
pub type AppResult<T> = Result<T, AppError>;

macro_rules! from_coded {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                AppError::new(e.code(), e.to_string())
            }
        }
    )*};
}

from_coded!(
    locket_vault::VaultError,
    locket_vault::KdfProfileRefused,
    locket_vault::catalog::ValidationError,
    locket_vault::export::ExportError,
    locket_audit::AuditError,
    locket_endpoint::EndpointError,
    locket_grants::GrantError,
    locket_grants::GrantFileError,
    locket_grants::receipt::ReceiptError,
    locket_grants::erasure::PrivacyError,
    locket_grants::ledger::LedgerError,
    locket_grants::dp::DpError,
    locket_wire::metadata::MetadataError,
    locket_wire::request_object::RequestObjectError,
);

impl<E: Into<AppError>> From<locket_vault::WriterError<E>> for AppError {
    fn from(e: locket_vault::WriterError<E>) -> Self {
        match e {
            locket_vault::WriterError::Job(inner) => inner.into(),
            locket_vault::WriterError::Storage(v) => v.into(),
            locket_vault::WriterError::Closed => AppError::locked(),
            _ => AppError::internal("internal error while writing to the vault"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_code_and_sentence_and_get_a_kind() {
        let e: AppError = locket_vault::VaultError::WrongPassphrase.into();
        assert_eq!(e.code, "wrong_passphrase");
        assert_eq!(e.message, "wrong passphrase");
        assert_eq!(e.kind, ErrorKind::Unauthenticated);
        assert_eq!(AppError::locked().kind, ErrorKind::Locked);
        assert_eq!(ErrorKind::of_code("vault_damaged"), ErrorKind::Damaged);
        assert_eq!(ErrorKind::of_code("disk_full"), ErrorKind::Storage);
        assert_eq!(ErrorKind::of_code("confirmation_mismatch"), ErrorKind::Invalid);
        assert_eq!(ErrorKind::of_code("a_code_nobody_defined"), ErrorKind::Internal);
    }

    #[test]
    fn every_documented_code_has_a_kind() {
        let doc = include_str!("../../../docs/errors.md");
        let missing: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(code, _)| code))
            .filter(|code| ErrorKind::known(code).is_none())
            .collect();
        assert!(missing.is_empty(), "codes without a kind: {missing:?}");
    }
}
