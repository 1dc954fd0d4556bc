//! Key slots: the data key wrapped (AES-256-GCM) under keys derived from a passphrase, a recovery key, or a
//! random key kept in the OS keychain. The slot file is replaced only atomically.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use orion::hazardous::ecc::x25519;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::{random_bytes, DataKey, RecoveryKey};
use crate::VaultError;

/// Format tag of the key-slot file.
pub(crate) const SLOTS_FORMAT: &str = "locket.keyslots/v1";

/// Argon2id cost parameters, stored with each slot so they can be raised later without breaking old vaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism (lanes).
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// 256 MiB, 3 passes, 1 lane: about half a second on the reference machine (see `cargo bench --bench vault`).
    fn default() -> Self {
        KdfParams {
            m_cost_kib: 256 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Parameters for the recovery slot: the recovery key carries 200 random bits, so a light KDF suffices.
    pub fn recovery() -> Self {
        KdfParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }

    /// Cheap parameters for automated tests only (never the default; `LOCKET_KDF_PROFILE=test`).
    pub fn for_tests() -> Self {
        KdfParams {
            m_cost_kib: 8 * 1024,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// The parameters for a new passphrase slot or encrypted export: the default, or [`KdfParams::for_tests`] when
    /// the environment says `LOCKET_KDF_PROFILE=test` **and** this is a debug build (the test suites'), with a
    /// warning logged each time. A release build refuses the test profile ([`KdfProfileRefused`]) instead of
    /// making weak key slots for whoever could set an environment variable.
    pub fn from_env() -> Result<Self, KdfProfileRefused> {
        Self::for_profile(
            std::env::var("LOCKET_KDF_PROFILE").ok().as_deref(),
            cfg!(debug_assertions),
        )
    }

    /// [`KdfParams::from_env`] for the profile `profile` names, in a debug build or not.
    pub fn for_profile(profile: Option<&str>, debug_build: bool) -> Result<Self, KdfProfileRefused> {
        match profile {
            Some("test") if debug_build => {
                tracing::warn!(
                    "LOCKET_KDF_PROFILE=test: cheap Argon2 parameters for a new key slot; for automated tests only"
                );
                Ok(Self::for_tests())
            }
            Some("test") => Err(KdfProfileRefused),
            _ => Ok(Self::default()),
        }
    }

    /// Whether the environment asks for the test profile (front ends print a warning or a refusal at start).
    pub fn test_profile_requested() -> bool {
        std::env::var("LOCKET_KDF_PROFILE").as_deref() == Ok("test")
    }

    fn validate(&self, path: &Path) -> Result<(), VaultError> {
        // Refuse absurd parameters from a tampered file rather than allocating terabytes.
        if self.m_cost_kib < 8 || self.m_cost_kib > 4 * 1024 * 1024 || self.t_cost == 0 || self.t_cost > 64 {
            return Err(VaultError::damaged(path, "key slot has out-of-range KDF parameters"));
        }
        if self.p_cost == 0 || self.p_cost > 16 {
            return Err(VaultError::damaged(path, "key slot has out-of-range KDF parameters"));
        }
        Ok(())
    }
}

/// `LOCKET_KDF_PROFILE=test` in a release build: refused, so no weak key slot is ever made outside the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("LOCKET_KDF_PROFILE=test asks for cheap Argon2 parameters, which only test builds accept; unset it")]
pub struct KdfProfileRefused;

impl KdfProfileRefused {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "kdf_test_profile_refused"
    }
}

/// Which secret a slot is wrapped under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SlotKind {
    Passphrase,
    Recovery,
    Keychain,
}

impl SlotKind {
    fn as_str(self) -> &'static str {
        match self {
            SlotKind::Passphrase => "passphrase",
            SlotKind::Recovery => "recovery",
            SlotKind::Keychain => "keychain",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Kdf {
    alg: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Slot {
    pub kind: SlotKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<Kdf>,
    /// Recovery slot only: the X25519 public key whose private key is derived (Argon2id) from the recovery key.
    /// The data key is sealed to it, so a re-key can wrap a new data key for the recovery key without knowing
    /// it. Absent in recovery slots made before re-keying existed (those are wrapped like the passphrase slot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    /// Recovery slot only: the ephemeral X25519 public key of this sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ephemeral: Option<String>,
    nonce: String,
    wrapped_key: String,
    pub created_at: String,
}

/// During a re-key that has not finished: the data key before it, wrapped under the new data key, so files not
/// yet re-encrypted (the database, backups) stay readable by whoever holds the new key — and only by them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviousKey {
    nonce: String,
    wrapped_key: String,
}

/// The key-slot file (`keyslots.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlotFile {
    format: String,
    pub vault_id: String,
    pub slots: Vec<Slot>,
    /// Present only while a re-key is unfinished (see [`PreviousKey`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousKey>,
}

fn aad(vault_id: &str, kind: SlotKind) -> Vec<u8> {
    format!("locket-keyslot/v1|{vault_id}|{}", kind.as_str()).into_bytes()
}

fn previous_aad(vault_id: &str) -> Vec<u8> {
    format!("locket-keyslot/v1|{vault_id}|previous").into_bytes()
}

fn derive(secret: &[u8], salt: &[u8], p: KdfParams) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let params = argon2::Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
        .map_err(|e| VaultError::Storage(format!("invalid Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(secret, salt, out.as_mut())
        .map_err(|e| VaultError::Storage(format!("key derivation failed: {e}")))?;
    Ok(out)
}

/// Wraps `data_key` under `wrap_key`. The ring key object (its expanded key schedule, which ring does not wipe)
/// lives only for this one call.
fn seal(wrap_key: &[u8; 32], aad: &[u8], data_key: &DataKey) -> Result<(String, String), VaultError> {
    let nonce = random_bytes::<NONCE_LEN>()?;
    let mut buf = Zeroizing::new(data_key.0.to_vec());
    {
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, wrap_key).map_err(|_| VaultError::Storage("bad wrapping key".into()))?,
        );
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut *buf)
            .map_err(|_| VaultError::Storage("encryption failed".into()))?;
    }
    Ok((B64.encode(nonce.as_ref()), B64.encode(&*buf)))
}

/// Opens a wrapped key; `None` means the wrapping key is wrong (authentication failed).
fn open_wrapped(
    wrap_key: &[u8; 32],
    aad: &[u8],
    nonce: &str,
    wrapped_key: &str,
    path: &Path,
) -> Result<Option<DataKey>, VaultError> {
    let nonce: [u8; NONCE_LEN] = B64
        .decode(nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| VaultError::damaged(path, "key slot nonce is malformed"))?;
    let mut buf = Zeroizing::new(
        B64.decode(wrapped_key)
            .map_err(|_| VaultError::damaged(path, "key slot is malformed"))?,
    );
    if buf.len() != 32 + AES_256_GCM.tag_len() {
        return Err(VaultError::damaged(path, "key slot has the wrong length"));
    }
    // The ring key object (its expanded key schedule, which ring does not wipe) lives only in this block.
    let out = {
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, wrap_key).map_err(|_| VaultError::Storage("bad wrapping key".into()))?,
        );
        match key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf) {
            Ok(plain) => {
                let mut dk = Zeroizing::new([0u8; 32]);
                dk.copy_from_slice(plain);
                Some(DataKey(dk))
            }
            Err(_) => None,
        }
    };
    Ok(out)
}

fn open(wrap_key: &[u8; 32], aad: &[u8], slot: &Slot, path: &Path) -> Result<Option<DataKey>, VaultError> {
    open_wrapped(wrap_key, aad, &slot.nonce, &slot.wrapped_key, path)
}

/// The AES key a recovery slot is sealed with: SHA-256 over a label, the X25519 shared secret and both public
/// keys (ECIES; the public keys bind the key to this sealing).
fn recovery_wrap_key(shared: &x25519::SharedKey, ephemeral: &[u8], public: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"locket-recovery-seal/v1");
    ctx.update(shared.unprotected_as_ref());
    ctx.update(ephemeral);
    ctx.update(public);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn x25519_err(_: orion::errors::UnknownCryptoError) -> VaultError {
    VaultError::Storage("X25519 key agreement failed".into())
}

/// The recovery slot's private key: Argon2id of the recovery key (the private key is never stored).
fn recovery_private_key(secret: &[u8], salt: &[u8], p: KdfParams) -> Result<x25519::PrivateKey, VaultError> {
    let seed = derive(secret, salt, p)?;
    Ok(x25519::PrivateKey::from(*seed))
}

fn decode32(s: &str, path: &Path, what: &str) -> Result<[u8; 32], VaultError> {
    B64.decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| VaultError::damaged(path, format!("key slot {what} is malformed")))
}

impl SlotFile {
    pub fn new(vault_id: &str) -> Self {
        SlotFile {
            format: SLOTS_FORMAT.into(),
            vault_id: vault_id.into(),
            slots: Vec::new(),
            previous: None,
        }
    }

    pub fn read(path: &Path) -> Result<Self, VaultError> {
        let bytes = fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                VaultError::NotFound {
                    path: path.parent().unwrap_or(path).to_path_buf(),
                }
            } else {
                VaultError::io(path, e)
            }
        })?;
        Self::parse(&bytes, path)
    }

    /// Parses the bytes of a key-slot file read from `path` (named in errors): `vault_damaged` unless it is a
    /// `keyslots.json` of this format with a valid vault id. Never panics, whatever the bytes.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, VaultError> {
        let file: SlotFile = serde_json::from_slice(bytes)
            .map_err(|e| VaultError::damaged(path, format!("key-slot file is not valid: {e}")))?;
        if file.format != SLOTS_FORMAT {
            return Err(VaultError::damaged(
                path,
                format!("unknown key-slot format `{}`", file.format),
            ));
        }
        if uuid::Uuid::parse_str(&file.vault_id).is_err() {
            return Err(VaultError::damaged(path, "key-slot file has no valid vault id"));
        }
        Ok(file)
    }

    pub fn has(&self, kind: SlotKind) -> bool {
        self.slots.iter().any(|s| s.kind == kind)
    }

    fn slot(&self, kind: SlotKind) -> Option<&Slot> {
        self.slots.iter().find(|s| s.kind == kind)
    }

    /// Adds (or replaces) a slot wrapped under a secret stretched with Argon2id.
    pub fn put_derived(
        &mut self,
        kind: SlotKind,
        secret: &[u8],
        params: KdfParams,
        data_key: &DataKey,
    ) -> Result<(), VaultError> {
        let salt = random_bytes::<16>()?;
        let wrap = derive(secret, salt.as_ref(), params)?;
        let (nonce, wrapped_key) = seal(&wrap, &aad(&self.vault_id, kind), data_key)?;
        self.put(Slot {
            kind,
            kdf: Some(Kdf {
                alg: "argon2id".into(),
                params,
                salt: B64.encode(salt.as_ref()),
            }),
            public_key: None,
            ephemeral: None,
            nonce,
            wrapped_key,
            created_at: now(),
        });
        Ok(())
    }

    /// Adds (or replaces) the recovery slot: an X25519 key pair derived from the recovery key, the data key
    /// sealed to its public key.
    pub fn put_recovery(&mut self, recovery: &RecoveryKey, data_key: &DataKey) -> Result<(), VaultError> {
        let params = KdfParams::recovery();
        let salt = random_bytes::<16>()?;
        let sk = recovery_private_key(recovery.normalized().as_bytes(), salt.as_ref(), params)?;
        let pk = x25519::PublicKey::try_from(&sk).map_err(x25519_err)?;
        drop(sk);
        let kdf = Kdf {
            alg: "argon2id".into(),
            params,
            salt: B64.encode(salt.as_ref()),
        };
        self.seal_recovery(kdf, pk.as_ref(), data_key)
    }

    /// Seals `data_key` to the public key of the recovery slot in `from` (no recovery key needed). `Ok(false)`
    /// when `from` has no recovery slot of the sealed kind (none, or one made before re-keying existed).
    pub fn reseal_recovery(&mut self, from: &SlotFile, data_key: &DataKey, path: &Path) -> Result<bool, VaultError> {
        let Some(slot) = from.slot(SlotKind::Recovery) else {
            return Ok(false);
        };
        let (Some(kdf), Some(pk)) = (slot.kdf.clone(), slot.public_key.as_deref()) else {
            return Ok(false);
        };
        let pk = decode32(pk, path, "public key")?;
        self.seal_recovery(kdf, &pk, data_key)?;
        Ok(true)
    }

    fn seal_recovery(&mut self, kdf: Kdf, public: &[u8], data_key: &DataKey) -> Result<(), VaultError> {
        let pk = x25519::PublicKey::try_from(public).map_err(x25519_err)?;
        let esk = x25519::PrivateKey::from(*random_bytes::<32>()?);
        let epk = x25519::PublicKey::try_from(&esk).map_err(x25519_err)?;
        let shared = x25519::key_agreement(&esk, &pk).map_err(x25519_err)?;
        drop(esk);
        let wrap = recovery_wrap_key(&shared, epk.as_ref(), pk.as_ref());
        drop(shared);
        let (nonce, wrapped_key) = seal(&wrap, &aad(&self.vault_id, SlotKind::Recovery), data_key)?;
        self.put(Slot {
            kind: SlotKind::Recovery,
            kdf: Some(kdf),
            public_key: Some(B64.encode(pk.as_ref())),
            ephemeral: Some(B64.encode(epk.as_ref())),
            nonce,
            wrapped_key,
            created_at: now(),
        });
        Ok(())
    }

    /// Records `old` (the data key before a re-key) wrapped under `new`, until the re-key has finished.
    pub fn set_previous(&mut self, old: &DataKey, new: &DataKey) -> Result<(), VaultError> {
        let (nonce, wrapped_key) = seal(&new.0, &previous_aad(&self.vault_id), old)?;
        self.previous = Some(PreviousKey { nonce, wrapped_key });
        Ok(())
    }

    /// The data key before an unfinished re-key, unwrapped with the current one; `Ok(None)` when there is none.
    pub fn open_previous(&self, current: &DataKey, path: &Path) -> Result<Option<DataKey>, VaultError> {
        let Some(p) = &self.previous else { return Ok(None) };
        open_wrapped(
            &current.0,
            &previous_aad(&self.vault_id),
            &p.nonce,
            &p.wrapped_key,
            path,
        )?
        .map(Some)
        .ok_or_else(|| VaultError::damaged(path, "the previous data key does not open with the current one"))
    }

    /// Adds (or replaces) a slot wrapped directly under a random 256-bit key (the keychain slot).
    pub fn put_raw(&mut self, kind: SlotKind, wrap: &[u8; 32], data_key: &DataKey) -> Result<(), VaultError> {
        let (nonce, wrapped_key) = seal(wrap, &aad(&self.vault_id, kind), data_key)?;
        self.put(Slot {
            kind,
            kdf: None,
            public_key: None,
            ephemeral: None,
            nonce,
            wrapped_key,
            created_at: now(),
        });
        Ok(())
    }

    fn put(&mut self, slot: Slot) {
        self.slots.retain(|s| s.kind != slot.kind);
        self.slots.push(slot);
    }

    pub fn remove(&mut self, kind: SlotKind) {
        self.slots.retain(|s| s.kind != kind);
    }

    /// Unwraps the data key from a derived slot; `Ok(None)` = wrong secret.
    pub fn open_derived(&self, kind: SlotKind, secret: &[u8], path: &Path) -> Result<Option<DataKey>, VaultError> {
        let slot = self
            .slot(kind)
            .ok_or_else(|| VaultError::damaged(path, format!("the {} key slot is missing", kind.as_str())))?;
        let kdf = slot
            .kdf
            .as_ref()
            .ok_or_else(|| VaultError::damaged(path, "key slot has no KDF parameters"))?;
        if kdf.alg != "argon2id" {
            return Err(VaultError::damaged(path, format!("unknown KDF `{}`", kdf.alg)));
        }
        kdf.params.validate(path)?;
        let salt = B64
            .decode(&kdf.salt)
            .map_err(|_| VaultError::damaged(path, "key slot salt is malformed"))?;
        if let (SlotKind::Recovery, Some(pk)) = (kind, slot.public_key.as_deref()) {
            let pk = decode32(pk, path, "public key")?;
            let epk = decode32(slot.ephemeral.as_deref().unwrap_or_default(), path, "ephemeral key")?;
            let sk = recovery_private_key(secret, &salt, kdf.params)?;
            let derived = x25519::PublicKey::try_from(&sk).map_err(x25519_err)?;
            if derived.as_ref() != pk.as_slice() {
                return Ok(None);
            }
            let epk = x25519::PublicKey::from(epk);
            let Ok(shared) = x25519::key_agreement(&sk, &epk) else {
                return Err(VaultError::damaged(path, "key slot ephemeral key is invalid"));
            };
            drop(sk);
            let wrap = recovery_wrap_key(&shared, epk.as_ref(), &pk);
            return open(&wrap, &aad(&self.vault_id, kind), slot, path);
        }
        let wrap = derive(secret, &salt, kdf.params)?;
        open(&wrap, &aad(&self.vault_id, kind), slot, path)
    }

    /// Unwraps the data key from a raw-key slot; `Ok(None)` = wrong key.
    pub fn open_raw(&self, kind: SlotKind, wrap: &[u8; 32], path: &Path) -> Result<Option<DataKey>, VaultError> {
        let slot = self.slot(kind).ok_or(VaultError::KeychainNotEnabled)?;
        open(wrap, &aad(&self.vault_id, kind), slot, path)
    }

    /// The KDF parameters of a derived slot, if present.
    pub fn params(&self, kind: SlotKind) -> Option<KdfParams> {
        self.slot(kind).and_then(|s| s.kdf.as_ref()).map(|k| k.params)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>, VaultError> {
        serde_json::to_vec_pretty(self).map_err(|e| VaultError::Storage(e.to_string()))
    }

    /// Replaces the slot file atomically: write a temp file, fsync it, rename over, fsync the directory.
    /// A crash at any point leaves either the old or the new file in place.
    pub fn write_atomic(&self, path: &Path) -> Result<(), VaultError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp: PathBuf = path.with_extension("json.tmp");
        let json = self.to_json()?;
        {
            // A temp file left by a crash is ours to replace; whatever it is (even a symlink planted in its
            // place) it is unlinked, never followed, and the new one is created afresh, owner-only.
            match fs::remove_file(&tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(VaultError::io(&tmp, e)),
            }
            let mut f = crate::fsx::create_new_private(&tmp)?;
            f.write_all(&json).map_err(|e| VaultError::io(&tmp, e))?;
            f.sync_all().map_err(|e| VaultError::io(&tmp, e))?;
        }
        crash_point("keyslots-temp-written");
        fs::rename(&tmp, path).map_err(|e| VaultError::io(path, e))?;
        crash_point("keyslots-renamed");
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| VaultError::io(dir, e))?;
        Ok(())
    }
}

/// Fault injection for crash tests: when `LOCKET_CRASH_AT` names this point, the process aborts here, as a
/// power cut would stop it. Unset in normal use.
pub(crate) fn crash_point(name: &str) {
    if std::env::var_os("LOCKET_CRASH_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_secret_is_none_and_right_secret_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyslots.json");
        let id = uuid::Uuid::new_v4().to_string();
        let dk = DataKey::generate().unwrap();
        let mut f = SlotFile::new(&id);
        f.put_derived(SlotKind::Passphrase, b"right", KdfParams::for_tests(), &dk)
            .unwrap();
        f.write_atomic(&path).unwrap();
        let f = SlotFile::read(&path).unwrap();
        assert!(f.open_derived(SlotKind::Passphrase, b"wrong", &path).unwrap().is_none());
        let got = f.open_derived(SlotKind::Passphrase, b"right", &path).unwrap().unwrap();
        assert_eq!(*got.0, *dk.0);
    }

    #[test]
    fn slot_is_bound_to_vault_id_and_kind() {
        let path = Path::new("keyslots.json");
        let dk = DataKey::generate().unwrap();
        let mut f = SlotFile::new(&uuid::Uuid::new_v4().to_string());
        f.put_derived(SlotKind::Passphrase, b"pw", KdfParams::for_tests(), &dk)
            .unwrap();
        // Same slot moved to another vault id: authentication fails.
        let mut other = f.clone();
        other.vault_id = uuid::Uuid::new_v4().to_string();
        assert!(other.open_derived(SlotKind::Passphrase, b"pw", path).unwrap().is_none());
        // Same slot relabelled as the recovery slot: authentication fails.
        let mut relabelled = f.clone();
        relabelled.slots[0].kind = SlotKind::Recovery;
        assert!(relabelled
            .open_derived(SlotKind::Recovery, b"pw", path)
            .unwrap()
            .is_none());
    }

    #[test]
    fn tampered_params_are_damage_not_allocation() {
        let path = Path::new("keyslots.json");
        let dk = DataKey::generate().unwrap();
        let mut f = SlotFile::new(&uuid::Uuid::new_v4().to_string());
        f.put_derived(SlotKind::Passphrase, b"pw", KdfParams::for_tests(), &dk)
            .unwrap();
        f.slots[0].kdf.as_mut().unwrap().params.m_cost_kib = u32::MAX;
        assert!(matches!(
            f.open_derived(SlotKind::Passphrase, b"pw", path),
            Err(VaultError::Damaged { .. })
        ));
    }
}
