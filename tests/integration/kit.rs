//! The shared test kit: the sample grant request (`tests/fixtures/grant-request.json`, written out once), a
//! vault in a temp dir, and an approved grant. The root integration binary has it as `mod kit`; crates' test
//! binaries and `tests/crash.rs` include this file with `#[path]`, so it uses only what they all depend on:
//! locket-vault, locket-grants, serde_json, chrono and tempfile. It also reads the must-refuse vectors
//! (`tests/vectors/<format>/`) and the documented error codes (`docs/errors.md`).
#![allow(dead_code)]

use locket_grants::Issuers;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use locket_grants::store::{self, ApproveOptions, Issued, RequestSource};
use locket_vault::{KdfParams, Passphrase, Vault};
use serde_json::{json, Value};

/// The sample `locket.grant-request/v1` document, as a retailer would send it.
pub const GRANT_REQUEST: &str = include_str!("../fixtures/grant-request.json");

/// The passphrase of [`vault`]s.
pub const PASSPHRASE: &str = "correct horse battery";

/// A nonce no other call in this process returns.
pub fn unique_nonce() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "nonce-{:x}{:08x}",
        Utc::now().timestamp_nanos_opt().unwrap_or(0),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A grant request made from the fixture, changed only where a test says so.
#[derive(Clone, Debug)]
pub struct Request(pub Value);

impl Default for Request {
    fn default() -> Self {
        Request::new()
    }
}

impl Request {
    /// The fixture with a fresh nonce, created now.
    pub fn new() -> Request {
        Request::fixture().nonce(&unique_nonce()).created_at(Utc::now())
    }

    /// The fixture exactly as written (fixed nonce and creation time).
    pub fn fixture() -> Request {
        Request(serde_json::from_str(GRANT_REQUEST).expect("tests/fixtures/grant-request.json is JSON"))
    }

    /// Another retailer: its id, and origin, contact and privacy policy under that domain.
    pub fn retailer(mut self, id: &str) -> Request {
        self.0["retailer"]["id"] = json!(id);
        self.0["retailer"]["origin"] = json!(format!("https://{id}"));
        self.0["retailer"]["contact"] = json!(format!("privacy@{id}"));
        self.0["retailer"]["privacy_policy"] = json!(format!("https://{id}/privacy"));
        self
    }

    /// The retailer's display name.
    pub fn retailer_name(mut self, name: &str) -> Request {
        self.0["retailer"]["name"] = json!(name);
        self
    }

    /// The `scopes` array as given.
    pub fn scopes(mut self, scopes: Value) -> Request {
        self.0["scopes"] = scopes;
        self
    }

    /// Asks for each scope key for `order_fulfilment`, none required.
    pub fn scope_keys(self, keys: &[&str]) -> Request {
        let scopes = keys
            .iter()
            .map(|s| json!({"scope": s, "purpose": "order_fulfilment", "required": false}))
            .collect();
        self.scopes(Value::Array(scopes))
    }

    /// The retention promise.
    pub fn retention(mut self, max_duration: &str, statement: &str) -> Request {
        self.0["retention"] = json!({"max_duration": max_duration, "statement": statement});
        self
    }

    /// What the shop offers in return (`benefit`).
    pub fn benefit(mut self, benefit: Value) -> Request {
        self.0["benefit"] = benefit;
        self
    }

    /// Who else receives the data (`recipients`).
    pub fn recipients(mut self, recipients: Value) -> Request {
        self.0["recipients"] = recipients;
        self
    }

    /// The nonce.
    pub fn nonce(mut self, nonce: &str) -> Request {
        self.0["nonce"] = json!(nonce);
        self
    }

    /// The creation time (whole seconds, UTC).
    pub fn created_at(mut self, at: DateTime<Utc>) -> Request {
        self.0["created_at"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
        self
    }

    /// The document.
    pub fn json(self) -> Value {
        self.0
    }

    /// The document's bytes, as a retailer sends them.
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap()
    }
}

/// A new vault (cheap key derivation, [`PASSPHRASE`]) in `<tmp>/vault`.
pub fn vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(&tmp.path().join("vault"), &passphrase(), KdfParams::for_tests()).unwrap();
    (tmp, vault)
}

/// [`PASSPHRASE`] as a [`Passphrase`].
pub fn passphrase() -> Passphrase {
    Passphrase::new(PASSPHRASE.into())
}

/// Imports `request` as the owner does from a file and returns the stored request's id.
pub fn import(vault: &Vault, request: &Request) -> String {
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    let source = RequestSource::File {
        path: "request.json".into(),
    };
    let record = store::import_request(&tx, &request.bytes(), &source, Utc::now(), None).unwrap();
    tx.commit().unwrap();
    record.id
}

/// Approves request `request_id` with `options`, as `locket grant approve` does.
pub fn approve(vault: &Vault, request_id: &str, options: &ApproveOptions, endpoint: &str) -> Issued {
    let signer = Issuers::for_vault(vault);
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    let issued = store::approve(&tx, &signer, request_id, options, endpoint, Utc::now()).unwrap();
    tx.commit().unwrap();
    issued
}

/// Imports `request` and approves all it asks for.
pub fn approved_grant(vault: &Vault, request: &Request, endpoint: &str) -> Issued {
    let id = import(vault, request);
    approve(vault, &id, &ApproveOptions::default(), endpoint)
}

/// The repository root (the folder holding `tests/vectors`), found from the package being tested.
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("tests/vectors").is_dir() {
        assert!(dir.pop(), "no tests/vectors above {}", env!("CARGO_MANIFEST_DIR"));
    }
    dir
}

/// One must-refuse input: `tests/vectors/<format>/fail_<what>.<ext>` and the code it must be refused with.
#[derive(Debug, Clone)]
pub struct Vector {
    /// The file name (`fail_….json`).
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The expected error code, from the folder's `expected.json`.
    pub code: String,
}

impl Vector {
    /// The bytes as text (every text vector is UTF-8).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_else(|_| panic!("{} is not UTF-8", self.name))
    }
}

/// Every vector of one format. Fails unless `expected.json` names exactly the `fail_*` files in the folder,
/// so a vector can be neither forgotten nor listed without its file.
pub fn vectors(format: &str) -> Vec<Vector> {
    let dir = repo_root().join("tests/vectors").join(format);
    let expected: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("fail_"))
        .collect();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<BTreeSet<_>>(),
        "{}: expected.json and the fail_* files differ",
        dir.display()
    );
    let all: Vec<Vector> = expected
        .into_iter()
        .map(|(name, code)| Vector {
            bytes: std::fs::read(dir.join(&name)).unwrap(),
            name,
            code,
        })
        .collect();
    assert!(all.len() >= 5, "{format}: too few vectors");
    let documented = documented_codes();
    for v in &all {
        assert!(
            documented.contains(&v.code),
            "{}: `{}` is not in docs/errors.md",
            v.name,
            v.code
        );
    }
    all
}

/// Every error code listed in `docs/errors.md` (first column of its tables).
pub fn documented_codes() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/errors.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(code, _)| code.to_owned()))
        .collect()
}
