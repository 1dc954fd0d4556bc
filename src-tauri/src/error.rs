//! The one error type that crosses IPC: `{ "code": "...", "message": "..." }`, the application's
//! [`locket_app::AppError`] without its kind. Messages never contain secrets.
use locket_app::AppResult;
use serde::Serialize;

/// An error as the web view sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct IpcError {
    /// Stable snake_case code (see docs/ipc.md).
    pub code: String,
    /// A sentence the owner can act on.
    pub message: String,
}

impl From<locket_app::AppError> for IpcError {
    fn from(e: locket_app::AppError) -> Self {
        IpcError {
            code: e.code,
            message: e.message,
        }
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

/// Runs blocking application work off the async runtime's worker threads.
pub async fn blocking<T, F>(f: F) -> IpcResult<T>
where
    F: FnOnce() -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    Ok(locket_app::blocking(f).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_as_code_and_message() {
        let e: IpcError = locket_app::AppError::from(locket_vault::VaultError::WrongPassphrase).into();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "wrong_passphrase", "message": "wrong passphrase"})
        );
    }
}
