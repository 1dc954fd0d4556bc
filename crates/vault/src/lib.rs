//! Locket's encrypted vault: key slots, the SQLCipher store, schema migrations, the group-commit writer,
//! the field catalog and the owner's versioned profile.
//!
//! Start at [`Vault`]: [`Vault::create`] makes a new vault directory, [`Vault::unlock`] opens one, and
//! [`Vault::connect`] gives a [`Store`] (a keyed, migrated SQLCipher connection).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod anchor;
pub mod backup;
pub use locket_wire::catalog;
mod error;
pub mod export;
mod fsx;
mod keychain;
mod keyslot;
pub mod profile;
mod rekey;
mod secret;
pub mod settings;
mod store;
mod vault;
mod writer;

pub use error::VaultError;
pub use keyslot::{KdfParams, KdfProfileRefused};
pub use rekey::{KeyChange, RecoveryChange, Rekeyed};
pub use secret::{DataKey, Passphrase, RecoveryKey, SigningSeed};
pub use store::{Store, SCHEMA_VERSION};
pub use vault::{Vault, VaultInfo, DB_FILE, SLOTS_FILE};
pub use writer::{Writer, WriterError};

/// Checks the bytes of a `keyslots.json` the way opening a vault does (`vault_damaged` unless it is a key-slot
/// file of this format with a valid vault id), without a vault: for fuzzing and diagnostics. Unwraps nothing.
pub fn check_keyslots(bytes: &[u8]) -> Result<()> {
    keyslot::SlotFile::parse(bytes, std::path::Path::new(SLOTS_FILE)).map(|_| ())
}

/// Result alias for vault operations.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
