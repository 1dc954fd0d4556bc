//! The reference retailer's data directory: everything the shop keeps, as owner-only files.
//!
//! ```text
//! DIR/                 0700
//!   keys.json          0600  the shop's private signing (Ed25519) and encryption (X25519) JWKs
//!   shop.json          0600  origin, name, contact, privacy policy, delivery URL (written by `serve`)
//!   holdings.sqlite    0600  published states, accepted grants, received values, releases, erasures
//!                            (SQLite, written by `request publish` and `serve`; see [`crate::holdings`])
//!   requests/          0700
//!     {id}.jws         0600  a one-time signed request object (written by `request publish`)
//! ```
//!
//! Files are written to a temporary name in the same folder and then linked (never replacing) or renamed
//! (replacing) into place, so a reader never sees half a file. A request object is taken by renaming it away
//! first: of two concurrent fetches exactly one gets it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, TimeZone as _, Utc};
use locket_wire::metadata::{retailer_id_of, web_origin, RetailerKeys};
use serde::{Deserialize, Serialize};

use crate::RetailerError;

/// Path of the delivery route on the shop's origin, where Locket POSTs releases.
pub const DELIVERY_PATH: &str = "/locket/deliveries";
/// Path prefix of the one-time request objects on the shop's origin.
pub const REQUESTS_PATH: &str = "/locket/requests/";
/// Path of the privacy page the reference server serves.
pub const PRIVACY_PATH: &str = "/privacy";

fn io(path: &Path, source: std::io::Error) -> RetailerError {
    RetailerError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `n` random bytes from the system's generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RetailerError> {
    use ring::rand::SecureRandom as _;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| RetailerError::Crypto("the system random number generator failed".into()))?;
    Ok(out)
}

/// 128 random bits as base64url without padding (22 characters): request ids, states, nonces.
pub fn random_token() -> Result<String, RetailerError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

/// Whether `id` has the form of a request id ([`random_token`]): exactly 22 base64url characters.
pub fn is_request_id(id: &str) -> bool {
    id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), RetailerError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), RetailerError> {
    Ok(())
}

/// Make `dir` (and its parents) and leave it owner-only (0700), whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<(), RetailerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io(dir, e))?;
    set_mode(dir, 0o700)
}

/// Write `bytes` to `path` as an owner-only (0600) file, atomically: with `replace` an existing file is
/// replaced, without it an existing file is left alone and [`RetailerError::FileExists`] returned.
pub fn write_private(path: &Path, bytes: &[u8], replace: bool) -> Result<(), RetailerError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: String = random_bytes::<6>()?.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{name}.tmp-{suffix}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // create_new is O_CREAT|O_EXCL: an existing name, a symbolic link included, is never opened.
        options.mode(0o600);
    }
    let written = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    let placed = if replace {
        std::fs::rename(&tmp, path)
    } else {
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        linked
    };
    match placed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(RetailerError::FileExists {
            path: path.display().to_string(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io(path, e))
        }
    }
}

/// A shop's public details, as its metadata publishes them and its requests carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shop {
    /// The canonical origin (`https://shop.test:8443`): the metadata's `id`.
    pub origin: String,
    /// Display name.
    pub name: String,
    /// Email address or https URL for questions about data.
    pub contact: String,
    /// Privacy policy URL (same origin).
    pub privacy_policy: String,
    /// Where Locket delivers releases (same origin).
    pub delivery_url: String,
}

impl Shop {
    /// The details for `origin`: each one given is used; one not given is taken from `saved` when that is for
    /// the same origin, else defaults (the host as name, `privacy@HOST`, `ORIGIN/privacy`).
    pub fn for_origin(
        origin: &str,
        name: Option<&str>,
        contact: Option<&str>,
        privacy_policy: Option<&str>,
        saved: Option<&Shop>,
    ) -> Result<Shop, RetailerError> {
        let origin = web_origin(origin.trim_end_matches('/'))
            .or_else(|_| web_origin(origin))
            .map_err(|e| RetailerError::Invalid(format!("--origin: {e}")))?;
        let host = retailer_id_of(&origin).map_err(|e| RetailerError::Invalid(format!("--origin: {e}")))?;
        let saved = saved.filter(|s| s.origin == origin);
        let pick = |given: Option<&str>, from_saved: Option<&String>, default: String| {
            given
                .map(str::to_owned)
                .or_else(|| from_saved.cloned())
                .unwrap_or(default)
        };
        Ok(Shop {
            name: pick(name, saved.map(|s| &s.name), host.clone()),
            contact: pick(contact, saved.map(|s| &s.contact), format!("privacy@{host}")),
            privacy_policy: pick(
                privacy_policy,
                saved.map(|s| &s.privacy_policy),
                format!("{origin}{PRIVACY_PATH}"),
            ),
            delivery_url: format!("{origin}{DELIVERY_PATH}"),
            origin,
        })
    }

    /// The retailer id the shop's requests carry: the origin's host.
    pub fn retailer_id(&self) -> String {
        retailer_id_of(&self.origin).unwrap_or_default()
    }

    /// The URL a request object with this id is served at.
    pub fn request_uri(&self, id: &str) -> String {
        format!("{}{REQUESTS_PATH}{id}", self.origin)
    }

    /// The metadata document (`locket.retailer/v1`) for these details and keys.
    pub fn metadata(&self, keys: &RetailerKeys) -> Result<serde_json::Value, RetailerError> {
        keys.metadata(
            &self.origin,
            &self.name,
            &self.contact,
            &self.privacy_policy,
            &self.delivery_url,
        )
        .map_err(RetailerError::Invalid)
    }

    /// The metadata as Locket will read it: serialized and checked with the wire crate's own parser, so a
    /// detail Locket would refuse (a privacy policy on another origin, a control character) is reported here.
    pub fn checked_metadata(
        &self,
        keys: &RetailerKeys,
    ) -> Result<(String, locket_wire::metadata::RetailerMetadata), RetailerError> {
        let text =
            serde_json::to_string_pretty(&self.metadata(keys)?).map_err(|e| RetailerError::Invalid(e.to_string()))?;
        let parsed = locket_wire::metadata::parse_metadata(text.as_bytes(), &self.origin)
            .map_err(|e| RetailerError::Invalid(format!("Locket would refuse this shop's metadata: {e}")))?;
        Ok((text, parsed))
    }
}

/// What taking a request object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The object (now deleted from the directory).
    Found(String),
    /// It had expired (now deleted).
    Expired,
    /// No such object: never published, already taken, or not a request id.
    Missing,
}

/// The `exp` claim of a compact JWS's payload, read without verifying it (the shop signed it itself).
pub fn jws_expiry(jws: &str) -> Option<DateTime<Utc>> {
    let payload = jws.trim().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Utc.timestamp_opt(value.get("exp")?.as_i64()?, 0).single()
}

/// A shop's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root` (nothing is read or made yet).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `DIR/keys.json`.
    pub fn keys_path(&self) -> PathBuf {
        self.root.join("keys.json")
    }

    /// `DIR/shop.json`.
    pub fn shop_path(&self) -> PathBuf {
        self.root.join("shop.json")
    }

    /// `DIR/holdings.sqlite`.
    pub fn holdings_path(&self) -> PathBuf {
        self.root.join("holdings.sqlite")
    }

    /// `DIR/requests`.
    pub fn requests_dir(&self) -> PathBuf {
        self.root.join("requests")
    }

    /// `DIR/requests/{id}.jws`.
    pub fn request_path(&self, id: &str) -> PathBuf {
        self.requests_dir().join(format!("{id}.jws"))
    }

    /// Make the directory (0700) if needed.
    pub fn create(&self) -> Result<(), RetailerError> {
        create_private_dir(&self.root)
    }

    /// Write the shop's keys (0600); an existing keys file is replaced only with `replace`.
    pub fn write_keys(&self, keys: &RetailerKeys, replace: bool) -> Result<(), RetailerError> {
        self.create()?;
        let mut text = keys.to_private_json();
        text.push('\n');
        write_private(&self.keys_path(), text.as_bytes(), replace)
    }

    /// Read the shop's keys.
    pub fn load_keys(&self) -> Result<RetailerKeys, RetailerError> {
        let path = self.keys_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RetailerError::KeysMissing {
                    path: path.display().to_string(),
                })
            }
            Err(e) => return Err(io(&path, e)),
        };
        let keys = RetailerKeys::from_private_json(&text).map_err(|detail| RetailerError::KeysInvalid {
            path: path.display().to_string(),
            detail,
        })?;
        let invalid = |detail: &str| RetailerError::KeysInvalid {
            path: path.display().to_string(),
            detail: detail.to_owned(),
        };
        if keys.signing.curve() != Some("Ed25519") || keys.signing.key_id().is_none() {
            return Err(invalid("its signing key is not an Ed25519 key with a kid"));
        }
        if !matches!(keys.encryption.curve(), Some("X25519") | Some("P-256")) || keys.encryption.key_id().is_none() {
            return Err(invalid("its encryption key is not an X25519 or P-256 key with a kid"));
        }
        Ok(keys)
    }

    /// Record the shop's details (0600, replacing earlier ones).
    pub fn save_shop(&self, shop: &Shop) -> Result<(), RetailerError> {
        self.create()?;
        let mut text = serde_json::to_string_pretty(shop).map_err(|e| RetailerError::Invalid(e.to_string()))?;
        text.push('\n');
        write_private(&self.shop_path(), text.as_bytes(), true)
    }

    /// The recorded details, if any.
    pub fn saved_shop(&self) -> Result<Option<Shop>, RetailerError> {
        let path = self.shop_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| RetailerError::Invalid(format!("{}: not a shop details file: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// The recorded details; [`RetailerError::ShopMissing`] before `serve` recorded any.
    pub fn load_shop(&self) -> Result<Shop, RetailerError> {
        self.saved_shop()?.ok_or_else(|| RetailerError::ShopMissing {
            path: self.shop_path().display().to_string(),
        })
    }

    /// Store a request object under `id` (0600, never replacing one).
    pub fn store_request(&self, id: &str, jws: &str) -> Result<PathBuf, RetailerError> {
        if !is_request_id(id) {
            return Err(RetailerError::Invalid(format!("{id:?} is not a request id")));
        }
        create_private_dir(&self.requests_dir())?;
        let path = self.request_path(id);
        write_private(&path, jws.as_bytes(), false)?;
        Ok(path)
    }

    /// Take the request object `id` out of the directory: it is deleted whatever it holds, and returned
    /// unless it expired at `now`. Of concurrent takers of one id, one finds it.
    pub fn take_request(&self, id: &str, now: DateTime<Utc>) -> Result<Taken, RetailerError> {
        if !is_request_id(id) {
            return Ok(Taken::Missing);
        }
        let path = self.request_path(id);
        let suffix: String = random_bytes::<6>()?.iter().map(|b| format!("{b:02x}")).collect();
        let taken = self.requests_dir().join(format!(".taken-{id}-{suffix}"));
        match std::fs::rename(&path, &taken) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Taken::Missing),
            Err(e) => return Err(io(&path, e)),
        }
        let text = std::fs::read_to_string(&taken);
        let _ = std::fs::remove_file(&taken);
        let text = text.map_err(|e| io(&path, e))?;
        match jws_expiry(&text) {
            Some(exp) if now >= exp => Ok(Taken::Expired),
            _ => Ok(Taken::Found(text.trim().to_owned())),
        }
    }

    /// Delete request objects that expired at `now` and leftovers of interrupted takes; returns how many.
    pub fn sweep_expired(&self, now: DateTime<Utc>) -> Result<usize, RetailerError> {
        let dir = self.requests_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let stale = if name.starts_with(".taken-") {
                true
            } else if name.strip_suffix(".jws").is_some_and(is_request_id) {
                std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| jws_expiry(&t))
                    .is_some_and(|exp| now >= exp)
            } else {
                false
            };
            if stale && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("shop"));
        let keys = RetailerKeys::generate().unwrap();
        dir.write_keys(&keys, false).unwrap();
        let err = dir.write_keys(&RetailerKeys::generate().unwrap(), false).unwrap_err();
        assert_eq!(err.code(), "file_exists");
        assert_eq!(dir.load_keys().unwrap().signing_kid(), keys.signing_kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.keys_path()), 0o600);
            assert_eq!(mode(dir.root()), 0o700);
        }
        let other = RetailerKeys::generate().unwrap();
        dir.write_keys(&other, true).unwrap();
        assert_eq!(dir.load_keys().unwrap().signing_kid(), other.signing_kid());
        // Nothing but the keys file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keys.json"]);
        std::fs::write(dir.keys_path(), "{}").unwrap();
        assert_eq!(dir.load_keys().unwrap_err().code(), "retailer_keys_invalid");
        std::fs::remove_file(dir.keys_path()).unwrap();
        assert_eq!(dir.load_keys().unwrap_err().code(), "retailer_keys_missing");
    }

    #[test]
    fn shop_details_default_then_persist() {
        let shop = Shop::for_origin("https://Shop.Test:8443", None, None, None, None).unwrap();
        assert_eq!(shop.origin, "https://shop.test:8443");
        assert_eq!(shop.name, "shop.test");
        assert_eq!(shop.contact, "privacy@shop.test");
        assert_eq!(shop.privacy_policy, "https://shop.test:8443/privacy");
        assert_eq!(shop.delivery_url, "https://shop.test:8443/locket/deliveries");
        let named = Shop::for_origin("https://shop.test:8443/", Some("Test Shop"), None, None, Some(&shop)).unwrap();
        let again = Shop::for_origin("https://shop.test:8443", None, None, None, Some(&named)).unwrap();
        assert_eq!(again.name, "Test Shop");
        let moved = Shop::for_origin("https://other.test", None, None, None, Some(&named)).unwrap();
        assert_eq!(moved.name, "other.test");
        for bad in ["http://shop.test", "https://127.0.0.1", "https://shop.test/path"] {
            assert_eq!(
                Shop::for_origin(bad, None, None, None, None).unwrap_err().code(),
                "invalid_argument",
                "{bad}"
            );
        }
        let keys = RetailerKeys::generate().unwrap();
        assert!(shop.checked_metadata(&keys).is_ok());
        let elsewhere = Shop::for_origin("https://shop.test", None, None, Some("https://evil.test/p"), None).unwrap();
        assert_eq!(
            elsewhere.checked_metadata(&keys).unwrap_err().code(),
            "invalid_argument"
        );
    }

    #[test]
    fn a_request_is_taken_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let now = Utc::now();
        let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jws = |exp: i64| {
            format!(
                "{}.{}.sig",
                b64(serde_json::json!({})),
                b64(serde_json::json!({ "exp": exp }))
            )
        };
        let live = random_token().unwrap();
        let dead = random_token().unwrap();
        dir.store_request(&live, &jws(now.timestamp() + 60)).unwrap();
        dir.store_request(&dead, &jws(now.timestamp() - 1)).unwrap();
        assert_eq!(dir.store_request(&live, "x").unwrap_err().code(), "file_exists");
        assert!(matches!(dir.take_request(&live, now).unwrap(), Taken::Found(_)));
        assert_eq!(dir.take_request(&live, now).unwrap(), Taken::Missing);
        assert_eq!(dir.take_request(&dead, now).unwrap(), Taken::Expired);
        assert_eq!(dir.take_request(&dead, now).unwrap(), Taken::Missing);
        assert_eq!(dir.take_request("../keys", now).unwrap(), Taken::Missing);
        let old = random_token().unwrap();
        dir.store_request(&old, &jws(now.timestamp() - 5)).unwrap();
        dir.store_request(&random_token().unwrap(), &jws(now.timestamp() + 60))
            .unwrap();
        assert_eq!(dir.sweep_expired(now).unwrap(), 1);
        assert_eq!(std::fs::read_dir(dir.requests_dir()).unwrap().count(), 1);
    }
}
