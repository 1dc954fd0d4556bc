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
    /// Stored data or a given file is damaged or not Locket's (a vault, an export, a request that is not one).
    Damaged,
    /// The disk or the OS refused (disk full, read-only, keychain unavailable, I/O).
    Storage,
    /// A fault inside Locket the owner cannot fix.
    Internal,
}

impl ErrorKind {
    /// The kind of a stable error code. One table for the whole product, naming every code docs/errors.md lists
    /// (a test keeps the two in step); a code it does not know is [`ErrorKind::Internal`].
    pub fn of_code(code: &str) -> ErrorKind {
        Self::known(code).unwrap_or(ErrorKind::Internal)
    }

    /// The kind of a code this table names, or `None`.
    pub fn known(code: &str) -> Option<ErrorKind> {
        Some(match code {
            "vault_not_found"
            | "unknown_field"
            | "field_not_set"
            | "file_not_found"
            | "not_found"
            | "request_not_found"
            | "grant_not_found"
            | "unknown_retailer"
            | "no_backup"
            | "receipt_not_found"
            | "retailer_not_found"
            | "grant_file_unavailable" => ErrorKind::NotFound,
            "wrong_passphrase"
            | "wrong_recovery_key"
            | "wrong_export_passphrase"
            | "export_passphrase_required"
            | "authorization_missing"
            | "token_malformed"
            | "token_invalid_signature"
            | "token_unknown_key"
            | "token_expired"
            | "token_not_yet_valid"
            | "grant_unknown" => ErrorKind::Unauthenticated,
            "grant_revoked" | "grant_uses_exhausted" | "grant_wrong_retailer" | "privacy_budget_exhausted" => {
                ErrorKind::Forbidden
            }
            "vault_locked" => ErrorKind::Locked,
            "vault_damaged"
            | "vault_too_new"
            | "vault_record_corrupt"
            | "export_malformed"
            | "export_unsupported"
            | "export_unknown_section"
            | "export_section_failed"
            | "audit_section_not_intact"
            | "audit_section_malformed"
            | "grants_section_malformed"
            | "audit_chain_broken"
            | "audit_bad_row"
            | "request_malformed"
            | "request_too_large"
            | "audit_not_migrated"
            | "receipt_invalid_signature"
            | "receipt_malformed"
            | "grant_file_invalid"
            | "grant_file_token_invalid"
            | "signing_key_invalid"
            | "receipt_key_invalid"
            | "token_key_invalid" => ErrorKind::Damaged,
            "vault_exists"
            | "import_target_not_empty"
            | "file_exists"
            | "vault_in_use"
            | "request_already_decided"
            | "request_duplicate"
            | "requests_pending_limit"
            | "grant_not_active"
            | "alias_in_use"
            | "scope_unsatisfiable"
            | "rate_limited" => ErrorKind::Conflict,
            "disk_full"
            | "vault_read_only"
            | "io_error"
            | "storage_error"
            | "storage_failed"
            | "database_error"
            | "vault_error"
            | "audit_database"
            | "audit_pending_file"
            | "audit_vault_unavailable"
            | "keychain_unavailable"
            | "keychain_not_enabled"
            | "file_write_failed"
            | "endpoint_bind_failed"
            | "endpoint_unreachable"
            | "endpoint_vault_unusable" => ErrorKind::Storage,
            "internal"
            | "internal_error"
            | "runtime"
            | "random_failed"
            | "signing_key_unusable"
            | "token_signing_failed"
            | "receipt_signing_failed"
            | "audit_bad_signing_key"
            | "audit_failed"
            | "endpoint_failed"
            | "unexpected_response" => ErrorKind::Internal,
            "usage"
            | "cancelled"
            | "validation_failed"
            | "passphrase_empty"
            | "passphrase_too_short"
            | "confirmation_mismatch"
            | "invalid_address"
            | "invalid_time"
            | "invalid_argument"
            | "nothing_selected"
            | "deep_link_invalid"
            | "id_ambiguous"
            | "request_invalid"
            | "scope_not_requested"
            | "scope_unknown"
            | "scope_not_in_grant"
            | "scope_argument_invalid"
            | "nothing_granted"
            | "expiry_too_long"
            | "max_uses_invalid"
            | "minimization_invalid"
            | "duration_syntax"
            | "duration_calendar_unit"
            | "duration_zero"
            | "duration_too_long"
            | "epsilon_invalid"
            | "privacy_budget_invalid"
            | "alias_invalid"
            | "audit_bad_query"
            | "grant_file_too_large"
            | "method_not_allowed"
            | "unsupported_media_type" => ErrorKind::Invalid,
            _ => return None,
        })
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
