//! Fuzzing of every parser a retailer or a file from outside can feed, as property tests (stable toolchain;
//! the `fuzz/` cargo-fuzz targets need nightly). Each parser gets arbitrary bytes and structure-aware
//! mutations of a valid sample (bytes flipped, inserted, removed, cut short; one JSON value replaced): it
//! must return a value or an error whose code is documented in `docs/errors.md`, never panic, and a refused
//! input must store nothing. Case counts stay small so the suite stays fast; `PROPTEST_CASES` raises them.
//! Deep links are fuzzed in `crates/app/tests/integration/links.rs`.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use locket_grants::receipt::verify_receipt;
use locket_grants::store::{self, RequestSource};
use locket_grants::{GrantFile, TokenVerifier};
use locket_vault::export::{self, ExportSection};
use locket_vault::{Passphrase, Vault};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use crate::kit;

fn golden(name: &str) -> Vec<u8> {
    fs::read(kit::repo_root().join("tests/golden").join(name)).unwrap()
}

fn codes() -> &'static BTreeSet<String> {
    static CODES: OnceLock<BTreeSet<String>> = OnceLock::new();
    CODES.get_or_init(kit::documented_codes)
}

/// Refused with a code `docs/errors.md` documents.
fn named(code: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(codes().contains(code), "{what}: undocumented error code `{code}`");
    Ok(())
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Small JSON values; numbers stay small so no mutation can ask for gigabytes of KDF memory.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..70_000).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1.5)),
        "[a-zA-Z0-9_.:/+= -]{0,24}".prop_map(Value::String),
        Just(Value::String(String::new())),
        Just(Value::String("v4.public.AAAA".into())),
        Just(Value::String("2026-11-24T15:00:00Z".into())),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Edit::Flip(i, x)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Remove),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, x) => {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            Edit::Insert(i, b) => {
                let i = i.index(bytes.len() + 1);
                bytes.insert(i, *b);
            }
            Edit::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

/// Inputs for a parser whose valid form is `sample`: arbitrary bytes, byte edits of the sample, or the
/// sample with one JSON value (anywhere, or the whole document) replaced.
fn inputs(sample: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let doc: Value = serde_json::from_slice(&sample).unwrap();
    let mut ptrs = Vec::new();
    pointers(&doc, String::new(), &mut ptrs);
    let edited = {
        let sample = sample.clone();
        proptest::collection::vec(edit(), 1..4).prop_map(move |edits| apply(sample.clone(), &edits))
    };
    let replaced = (proptest::sample::select(ptrs), any_json()).prop_map(move |(ptr, v)| {
        let mut doc = doc.clone();
        match doc.pointer_mut(&ptr) {
            Some(slot) => *slot = v,
            None => doc = v,
        }
        serde_json::to_vec(&doc).unwrap()
    });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        2 => edited,
        3 => replaced,
    ]
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    // The golden with every member, benefit and recipients included, so edits reach those too.
    fn grant_requests_never_panic_and_refusals_store_nothing(bytes in inputs(golden("grant-request.v1.benefit-recipients.json"))) {
        let now: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
        if let Err(e) = locket_grants::request::parse_request_at(&bytes, now) {
            named(e.code(), "parse_request")?;
        }
        let (_tmp, vault) = kit::vault();
        let mut store = vault.connect().unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        let source = RequestSource::File { path: "request.json".into() };
        let result = store::import_request(&tx, &bytes, &source, now, None);
        tx.commit().unwrap();
        let stored: i64 = store.conn().query_row("SELECT count(*) FROM requests", [], |r| r.get(0)).unwrap();
        match result {
            Ok(_) => prop_assert_eq!(stored, 1),
            Err(e) => {
                named(e.code(), "import_request")?;
                prop_assert_eq!(stored, 0);
            }
        }
    }

    #[test]
    fn grant_files_never_panic(bytes in inputs(golden("grant.v1.json"))) {
        if let Err(e) = GrantFile::parse(&bytes) {
            named(e.code(), "GrantFile::parse")?;
        }
    }

    #[test]
    fn consent_receipts_never_panic(bytes in inputs(golden("consent-receipt.v1.json"))) {
        let key = "k4.public.6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw";
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = verify_receipt(text, key) {
                named(e.code(), "verify_receipt")?;
            }
        }
    }

    #[test]
    fn tokens_never_panic(token in prop_oneof![
        "[ -~]{0,200}",
        "v4\\.public\\.[A-Za-z0-9_-]{0,300}(\\.[A-Za-z0-9_-]{0,80})?",
        proptest::collection::vec(edit(), 1..4).prop_map(|edits| {
            let grant: Value = serde_json::from_slice(&golden("grant.v1.json")).unwrap();
            String::from_utf8_lossy(&apply(grant["token"].as_str().unwrap().as_bytes().to_vec(), &edits)).into_owned()
        }),
    ]) {
        let grant: Value = serde_json::from_slice(&golden("grant.v1.json")).unwrap();
        let verifier =
            TokenVerifier::from_paserk(grant["public_key"].as_str().unwrap(), grant["issuer"].as_str().unwrap()).unwrap();
        if let Err(e) = verifier.verify(&token, "2026-11-30T00:00:00Z".parse().unwrap()) {
            named(e.code(), "TokenVerifier::verify")?;
        }
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// Export files: decoded (encrypted ones with their passphrase) and imported into a new vault; a refused
    /// import leaves the vault empty.
    #[test]
    fn export_files_never_panic_and_refusals_import_nothing(
        bytes in prop_oneof![
            inputs(golden("export-v1/export.json")),
            inputs(golden("export-v1/export.encrypted.json")),
        ]
    ) {
        let pass = Passphrase::new("golden-export-passphrase".into());
        let doc = match export::decode(&bytes, Some(&pass)) {
            Ok(doc) => doc,
            Err(e) => return named(e.code(), "export::decode"),
        };
        let (_tmp, vault) = kit::vault();
        let sections: Vec<Box<dyn ExportSection>> = vec![
            Box::new(locket_audit::export::AuditSection),
            Box::new(locket_grants::export::GrantsSection),
        ];
        let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
        let mut store = vault.connect().unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        match export::import(&tx, &doc, &refs) {
            Ok(_) => tx.commit().unwrap(),
            Err(e) => {
                named(e.code(), "export::import")?;
                drop(tx);
                prop_assert!(export::is_empty(store.conn()).unwrap(), "a refused import left data behind");
            }
        }
    }

    /// keyslots.json of the golden v4 vault: unlocking with its passphrase opens it or fails with a named
    /// error, and a failed unlock changes no file.
    #[test]
    fn keyslots_never_panic_and_failed_unlocks_change_nothing(bytes in inputs(golden("vault-v4/keyslots.json"))) {
        let tmp = tempfile::tempdir().unwrap();
        let dir: PathBuf = tmp.path().join("vault");
        fs::create_dir(&dir).unwrap();
        fs::copy(kit::repo_root().join("tests/golden/vault-v4").join(locket_vault::DB_FILE), dir.join(locket_vault::DB_FILE)).unwrap();
        fs::write(dir.join(locket_vault::SLOTS_FILE), &bytes).unwrap();
        let files = |d: &PathBuf| -> Vec<(PathBuf, Vec<u8>)> {
            let mut v: Vec<_> = fs::read_dir(d).unwrap().map(|e| {
                let p = e.unwrap().path();
                let b = fs::read(&p).unwrap_or_default();
                (p, b)
            }).collect();
            v.sort();
            v
        };
        let before = files(&dir);
        if let Err(e) = Vault::unlock(&dir, &Passphrase::new("golden-passphrase".into())) {
            named(e.code(), "Vault::unlock")?;
            prop_assert!(files(&dir) == before, "a failed unlock changed the vault's files");
        }
    }
}

/// The Authorization header, through the real endpoint (its parser is private to the HTTP layer): any header
/// value is answered with a documented code, and none of them is a redemption.
#[test]
fn authorization_headers_never_panic_and_never_redeem() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fx = rt.block_on(crate::endpoint_support::Fixture::start());
    let grant = fx.grant(&["contact.email"], None);
    let token = grant.token.clone();
    let grant_token = grant.token.clone();
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        proptest::collection::vec(edit(), 1..4)
            .prop_map(move |edits| apply(format!("Bearer {token}").into_bytes(), &edits)),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(cases(48));
    runner
        .run(&strategy, |bytes| {
            let Ok(value) = reqwest::header::HeaderValue::from_bytes(&bytes) else {
                return Ok(()); // not sendable over HTTP at all
            };
            let (status, body) = rt.block_on(async {
                let resp = fx
                    .http
                    .get(format!("{}/v1/data", fx.url))
                    .header(reqwest::header::AUTHORIZATION, value)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap_or(Value::Null))
            });
            if status == 200 {
                // Only the grant's own token is redeemed (an edit may have changed the scheme's case or the
                // whitespace around the token, which the header allows).
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let sent = text.split_once(' ').map(|(_, t)| t.trim().to_owned());
                prop_assert_eq!(sent.as_deref(), Some(grant_token.as_str()), "{}", body);
            } else {
                named(body["code"].as_str().unwrap_or(""), "GET /v1/data")?;
            }
            Ok(())
        })
        .unwrap();
    let uses = locket_grants::store::get_grant(fx.conn().conn(), &grant.grant_id)
        .unwrap()
        .uses;
    let redeemed = fx
        .events(10_000)
        .iter()
        .filter(|e| e.kind == locket_audit::EventKind::Redemption && e.outcome == "ok")
        .count() as u32;
    assert_eq!(uses, redeemed, "every counted use is a logged redemption");
    rt.block_on(fx.stop());
}
