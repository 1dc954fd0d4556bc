//! One error for every use case: a stable snake_case `code` (the same codes the core crates use, listed in
//! docs/errors.md), a sentence the owner can act on, and a [`ErrorKind`] that each transport maps once — to an
//! IPC error, a CLI exit status or an HTTP status. Messages never contain secrets.
use serde::Serialize;

/// What sort of failure an error is; each transport owns one table from kind to its own signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing named does not exist (vault, field, request, grant, backup, retailer).
    NotFound,
    /// The input was refused by a rule (format, validation, confirmation phrase).
    Invalid,
    /// The input is fine but clashes with the current state (already exists, already decided, in use).
    Conflict,
    /// A secret was wrong (passphrase, recovery key, export passphrase).
    Unauthenticated,
    /// The caller may not do this (a grant that does not cover it).
    Forbidden,
    /// Locket is locked; unlock first.
    Locked,
    /// Stored data is damaged or not Locket's.
    Damaged,
    /// The disk or the OS refused (disk full, read-only, keychain unavailable, I/O).
    Storage,
    /// A fault inside Locket the owner cannot fix.
    Internal,
}

impl ErrorKind {
    /// The kind of a stable error code. One table for the whole product: codes not named here are
    /// [`ErrorKind::Invalid`] when they name a refused input and [`ErrorKind::Internal`] otherwise.
    pub fn of_code(code: &str) -> ErrorKind {
        match code {
            "vault_not_found" | "unknown_field" | "field_not_set" | "file_not_found" | "not_found"
            | "request_not_found" | "grant_not_found" | "unknown_grant" | "unknown_retailer" | "backup_not_found"
            | "no_backup" | "receipt_not_found" => ErrorKind::NotFound,
            "wrong_passphrase" | "wrong_recovery_key" | "wrong_export_passphrase" | "export_passphrase_required" => {
                ErrorKind::Unauthenticated
            }
            "vault_locked" => ErrorKind::Locked,
            "vault_damaged"
            | "vault_too_new"
            | "vault_rolled_back"
            | "export_malformed"
            | "export_unsupported"
            | "export_unknown_section"
            | "audit_section_not_intact"
            | "audit_section_malformed"
            | "grants_section_malformed"
            | "backup_damaged"
            | "audit_chain_broken" => ErrorKind::Damaged,
            "vault_exists"
            | "import_target_not_empty"
            | "file_exists"
            | "vault_in_use"
            | "request_not_pending"
            | "request_already_decided"
            | "grant_already_revoked"
            | "grant_revoked"
            | "alias_taken" => ErrorKind::Conflict,
            "scope_not_granted" | "grant_uses_exhausted" | "token_expired" | "token_invalid_signature" => {
                ErrorKind::Forbidden
            }
            "disk_full"
            | "vault_read_only"
            | "io_error"
            | "storage_error"
            | "keychain_unavailable"
            | "keychain_not_enabled" => ErrorKind::Storage,
            "internal" | "signing_key_unusable" | "token_signing_failed" => ErrorKind::Internal,
            _ => ErrorKind::Invalid,
        }
    }
}

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
    }
}
