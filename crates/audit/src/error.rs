use thiserror::Error;

/// What can go wrong reading or writing the access log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The database refused the operation.
    #[error("the access log could not be read or written: {0}")]
    Database(#[from] rusqlite::Error),
    /// The access log tables are missing (the vault predates schema v2 and was not migrated).
    #[error("this vault has no access log tables; open it with a current Locket to migrate it")]
    NotMigrated,
    /// The vault's signing seed is not a valid 32-byte Ed25519 seed.
    #[error("the vault's signing key is not a valid Ed25519 seed; the vault may be damaged")]
    BadSigningKey,
    /// A stored row holds a value this version cannot read.
    #[error("access log event {seq} holds an unreadable value in column {column}")]
    BadRow {
        /// Sequence number of the event.
        seq: u64,
        /// Column name.
        column: &'static str,
    },
    /// The vault could not give a connection.
    #[error("the vault could not be read: {0}")]
    Vault(String),
    /// A filter or cursor given by the caller is invalid.
    #[error("invalid access log query: {0}")]
    BadQuery(String),
    /// The pending-events file next to the vault could not be read or written.
    #[error("the pending access log file {path} could not be used: {source}")]
    Pending {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl AuditError {
    /// A stable snake_case code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AuditError::Database(_) => "audit_database",
            AuditError::NotMigrated => "audit_not_migrated",
            AuditError::BadSigningKey => "audit_bad_signing_key",
            AuditError::BadRow { .. } => "audit_bad_row",
            AuditError::BadQuery(_) => "audit_bad_query",
            AuditError::Vault(_) => "audit_vault_unavailable",
            AuditError::Pending { .. } => "audit_pending_file",
        }
    }
}
