//! The optional "unlock on this device" slot: a random 256-bit wrapping key kept in the OS keychain
//! (Secret Service on Linux) under service `locket`, account `<vault id>`.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::VaultError;

const SERVICE: &str = "locket";

fn entry(vault_id: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(SERVICE, vault_id).map_err(|e| VaultError::Keychain(e.to_string()))
}

/// Stores the wrapping key for this vault in the OS keychain.
pub(crate) fn store(vault_id: &str, key: &[u8; 32]) -> Result<(), VaultError> {
    let encoded = Zeroizing::new(B64.encode(key));
    entry(vault_id)?
        .set_password(&encoded)
        .map_err(|e| VaultError::Keychain(e.to_string()))
}

/// Loads the wrapping key; `KeychainNotEnabled` when there is no entry.
pub(crate) fn load(vault_id: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let encoded = Zeroizing::new(entry(vault_id)?.get_password().map_err(|e| match e {
        keyring::Error::NoEntry => VaultError::KeychainNotEnabled,
        other => VaultError::Keychain(other.to_string()),
    })?);
    let bytes = Zeroizing::new(
        B64.decode(encoded.as_bytes())
            .map_err(|_| VaultError::Keychain("the keychain entry for this vault is malformed".into()))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(VaultError::Keychain(
            "the keychain entry for this vault is malformed".into(),
        ));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Removes the entry; a missing entry is not an error.
pub(crate) fn delete(vault_id: &str) -> Result<(), VaultError> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(VaultError::Keychain(e.to_string())),
    }
}

/// The keychain entry of the freshness anchor's copy (service `locket`, account `<vault id>.anchor`).
fn anchor_entry(vault_id: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(SERVICE, &format!("{vault_id}.anchor")).map_err(|e| VaultError::Keychain(e.to_string()))
}

/// Stores the freshness anchor's MAC'd record (not secret: it proves freshness, it opens nothing).
pub(crate) fn store_anchor(vault_id: &str, record: &[u8]) -> Result<(), VaultError> {
    anchor_entry(vault_id)?
        .set_password(&B64.encode(record))
        .map_err(|e| VaultError::Keychain(e.to_string()))
}

/// Loads the freshness anchor's record; `None` when there is none.
pub(crate) fn load_anchor(vault_id: &str) -> Result<Option<Vec<u8>>, VaultError> {
    match anchor_entry(vault_id)?.get_password() {
        Ok(s) => Ok(B64.decode(s.as_bytes()).ok()),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(VaultError::Keychain(e.to_string())),
    }
}

/// Removes the anchor's copy; a missing entry is not an error.
pub(crate) fn delete_anchor(vault_id: &str) -> Result<(), VaultError> {
    match anchor_entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(VaultError::Keychain(e.to_string())),
    }
}
