use std::path::PathBuf;

/// Everything that can go wrong with a vault. Each message is a sentence the owner can act on; none ever
/// contains a key, a passphrase or a profile value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No vault at the given directory.
    #[error("no Locket vault at {path} (run `locket init` to create one)")]
    NotFound {
        /// The vault directory.
        path: PathBuf,
    },
    /// `create` was asked to make a vault where one already is.
    #[error("a Locket vault already exists at {path}")]
    AlreadyExists {
        /// The vault directory.
        path: PathBuf,
    },
    /// The passphrase did not unlock the passphrase key slot.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The recovery key did not unlock the recovery key slot.
    #[error("wrong recovery key")]
    WrongRecoveryKey,
    /// A file of the vault cannot be read as what it should be.
    #[error("vault is damaged or not a Locket vault: {path} ({detail}); nothing was changed")]
    Damaged {
        /// The file that failed.
        path: PathBuf,
        /// What exactly failed (never secret).
        detail: String,
    },
    /// The vault was written by a newer Locket.
    #[error("this vault uses schema version {found}, newer than this Locket understands ({supported}); update Locket")]
    TooNew {
        /// Schema version in the file.
        found: i64,
        /// Newest schema version this build knows.
        supported: i64,
    },
    /// The OS keychain could not be used.
    #[error("the OS keychain is not available: {0}")]
    Keychain(String),
    /// `unlock_with_keychain` on a vault that has no keychain slot, or whose keychain entry is gone.
    #[error("unlock on this device is not enabled for this vault")]
    KeychainNotEnabled,
    /// A value failed validation.
    #[error("{key}: {rule}")]
    Invalid {
        /// Field key.
        key: String,
        /// The rule that failed, e.g. "expected E.164, e.g. +442071234567".
        rule: String,
    },
    /// A field key that is neither in the catalog nor a custom field.
    #[error("unknown field `{0}` (see `locket fields`)")]
    UnknownField(String),
    /// A field that has no current value.
    #[error("{0} has no value")]
    NotSet(String),
    /// The disk is full; the write was not made.
    #[error("the disk is full; the change was not saved ({0})")]
    DiskFull(String),
    /// The vault files cannot be written (read-only file system or permissions).
    #[error("cannot write to the vault ({0}); check permissions and that the disk is not read-only")]
    ReadOnly(String),
    /// An I/O error on a vault file.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another program (the desktop app, `locket serve`, another command) has the vault open while this one
    /// needs it alone (restore, wipe), or is restoring or wiping it right now.
    #[error("{0}")]
    InUse(String),
    /// The vault directory belongs to another user of this computer, who could replace its files.
    #[error("the vault directory {path} belongs to another user (uid {owner}); refusing to use it")]
    NotOwned {
        /// The vault directory.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
    },
    /// The database is older than its freshness anchor: an older `vault.db` was put back, or its write-ahead
    /// log was lost. Nothing was changed.
    #[error(
        "this vault's database is older than the vault: {detail}. An older copy of vault.db was put back, or its \
         write-ahead log (vault.db-wal) was lost, so revocations and log events made since would be undone. Nothing \
         was changed. Put the newer vault.db (and vault.db-wal) back if you have them; to keep this older copy on \
         purpose, run `locket backup accept-rollback` (revocations and use counts made since are applied again and \
         the rollback is recorded in the access log)"
    )]
    RolledBack {
        /// What the check found (never secret).
        detail: String,
        /// The newest event of the database's log.
        db_seq: u64,
        /// The newest event the anchor vouches for.
        anchor_seq: u64,
    },
    /// `accept-rollback` on a vault whose database is not older than its anchor.
    #[error("this vault is not rolled back: its database is as new as its freshness record; nothing was changed")]
    NotRolledBack,
    /// An unexpected storage error.
    #[error("storage error: {0}")]
    Storage(String),
}

impl VaultError {
    /// A stable snake_case code for IPC/HTTP errors and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::NotFound { .. } => "vault_not_found",
            VaultError::AlreadyExists { .. } => "vault_exists",
            VaultError::WrongPassphrase => "wrong_passphrase",
            VaultError::WrongRecoveryKey => "wrong_recovery_key",
            VaultError::Damaged { .. } => "vault_damaged",
            VaultError::TooNew { .. } => "vault_too_new",
            VaultError::Keychain(_) => "keychain_unavailable",
            VaultError::KeychainNotEnabled => "keychain_not_enabled",
            VaultError::Invalid { .. } => "validation_failed",
            VaultError::UnknownField(_) => "unknown_field",
            VaultError::NotSet(_) => "field_not_set",
            VaultError::DiskFull(_) => "disk_full",
            VaultError::ReadOnly(_) => "vault_read_only",
            VaultError::Io { .. } => "io_error",
            VaultError::InUse(_) => "vault_in_use",
            VaultError::NotOwned { .. } => "vault_not_owned",
            VaultError::RolledBack { .. } => "vault_rolled_back",
            VaultError::NotRolledBack => "vault_not_rolled_back",
            VaultError::Storage(_) => "storage_error",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(28) => VaultError::DiskFull(path.display().to_string()),
            Some(30) | Some(13) | Some(1) => VaultError::ReadOnly(format!("{}: {source}", path.display())),
            _ => VaultError::Io { path, source },
        }
    }

    pub(crate) fn damaged(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        VaultError::Damaged {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

impl From<rusqlite::Error> for VaultError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.code {
                ErrorCode::DiskFull => return VaultError::DiskFull(e.to_string()),
                ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen => {
                    return VaultError::ReadOnly(e.to_string())
                }
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    return VaultError::damaged(DB_FILE_NAME, e.to_string())
                }
                _ => {}
            }
        }
        VaultError::Storage(e.to_string())
    }
}

const DB_FILE_NAME: &str = crate::vault::DB_FILE;
