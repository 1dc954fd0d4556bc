//! The one error type that crosses IPC: `{ "code": "...", "message": "..." }`, mirrored in ui/src/backend.ts as
//! `LocketError`. Messages come from the core crates' error sentences, which never contain secrets.
use serde::Serialize;

/// An error as the web view sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IpcError {
    /// Stable snake_case code (see docs/ipc.md).
    pub code: String,
    /// A sentence the owner can act on.
    pub message: String,
}

impl IpcError {
    /// An error with an app-level code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        IpcError {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The vault is locked (or was never unlocked in this session).
    pub fn locked() -> Self {
        IpcError::new("vault_locked", "Locket is locked; unlock it first.")
    }

    /// A failure inside the shell that the owner cannot fix (a panicked worker, a poisoned lock).
    pub fn internal(message: impl Into<String>) -> Self {
        IpcError::new("internal", message)
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for IpcError {}

/// Result of every command.
pub type IpcResult<T> = Result<T, IpcError>;

macro_rules! from_coded {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for IpcError {
            fn from(e: $t) -> Self {
                IpcError { code: e.code().to_owned(), message: e.to_string() }
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

impl<E: Into<IpcError>> From<locket_vault::WriterError<E>> for IpcError {
    fn from(e: locket_vault::WriterError<E>) -> Self {
        match e {
            locket_vault::WriterError::Job(inner) => inner.into(),
            locket_vault::WriterError::Storage(v) => v.into(),
            locket_vault::WriterError::Closed => IpcError::locked(),
            _ => IpcError::internal("internal error while writing to the vault"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_errors_keep_their_code_and_sentence() {
        let e: IpcError = locket_vault::VaultError::WrongPassphrase.into();
        assert_eq!(e.code, "wrong_passphrase");
        assert_eq!(e.message, "wrong passphrase");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "wrong_passphrase", "message": "wrong passphrase"})
        );
    }
}
