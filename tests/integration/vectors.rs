//! Must-refuse vectors (as age's testkit has): `tests/vectors/<format>/fail_*` files, each an input that the
//! real parser must refuse with the code `expected.json` gives, storing and changing nothing. The unaltered
//! golden each folder was made from (`tests/vectors/make_vectors.py`) is accepted, so every refusal comes from
//! the one thing the vector changed. Deep links are in `crates/app/tests/integration/links.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use locket_audit::{EventKind, Filter};
use locket_grants::receipt::verify_receipt;
use locket_grants::request::parse_request_at;
use locket_grants::store::{self, RequestSource};
use locket_grants::{GrantFile, TokenVerifier};
use locket_vault::export::{self, ExportSection};
use locket_vault::{Passphrase, Vault};
use serde_json::Value;

use crate::endpoint_support::Fixture;
use crate::kit::{self, vectors};

fn golden(name: &str) -> Vec<u8> {
    fs::read(kit::repo_root().join("tests/golden").join(name)).unwrap()
}

fn golden_json(name: &str) -> Value {
    serde_json::from_slice(&golden(name)).unwrap()
}

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
    out
}

fn count(vault: &Vault, table: &str) -> i64 {
    vault
        .connect()
        .unwrap()
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn grant_request_vectors_are_refused_and_nothing_is_stored() {
    let now = at("2026-11-24T15:00:00Z");
    let (_tmp, vault) = kit::vault();
    let source = RequestSource::File {
        path: "request.json".into(),
    };
    let import = |bytes: &[u8]| {
        let mut store = vault.connect().unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        let result = store::import_request(&tx, bytes, &source, now, None);
        // Committed whatever happened, as a caller that logs refusals does: a refusal must leave no request.
        tx.commit().unwrap();
        result
    };
    for v in vectors("grant-request") {
        if let Err(e) = parse_request_at(&v.bytes, now) {
            assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        }
        let e = import(&v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert_eq!(count(&vault, "requests"), 0, "{} stored a request", v.name);
    }
    let received = locket_audit::query(vault.connect().unwrap().conn(), &Filter::default(), None, 1000)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.kind == EventKind::RequestReceived && e.outcome == "ok")
        .count();
    assert_eq!(received, 0);
    import(&golden("grant-request.v1.json")).expect("the golden request is accepted");
    import(&golden("grant-request.v1.benefit-recipients.json"))
        .expect("the golden request with a benefit and recipients is accepted");
    assert_eq!(count(&vault, "requests"), 2);
}

#[test]
fn grant_file_vectors_are_refused() {
    // Parsing a grant file stores nothing anywhere; the retailer's tools only read it.
    for v in vectors("grant-file") {
        let e = GrantFile::parse(&v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    GrantFile::parse(&golden("grant.v1.json")).expect("the golden grant file is accepted");
}

#[test]
fn token_vectors_are_refused() {
    let grant = golden_json("grant.v1.json");
    let verifier =
        TokenVerifier::from_paserk(grant["public_key"].as_str().unwrap(), grant["issuer"].as_str().unwrap()).unwrap();
    let now = at("2026-11-30T00:00:00Z");
    for v in vectors("token") {
        let e = verifier.verify(v.text(), now).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    verifier
        .verify(grant["token"].as_str().unwrap(), now)
        .expect("the golden token verifies");
}

#[test]
fn consent_receipt_vectors_are_refused() {
    let text = String::from_utf8(golden("consent-receipt.v1.json")).unwrap();
    let key = golden_json("consent-receipt.v1.json")["issuer"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    for v in vectors("consent-receipt") {
        let e = verify_receipt(v.text(), &key).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
    }
    verify_receipt(&text, &key).expect("the golden receipt verifies");
    // A receipt from before benefits and recipients were recorded verifies with its own key.
    let older = String::from_utf8(golden("consent-receipt.v1.older.json")).unwrap();
    let older_key = golden_json("consent-receipt.v1.older.json")["issuer"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = verify_receipt(&older, &older_key).expect("the older golden receipt verifies");
    assert_eq!((r.benefit, r.recipients), (None, None));
}

fn sections() -> Vec<Box<dyn ExportSection>> {
    vec![
        Box::new(locket_audit::export::AuditSection),
        Box::new(locket_grants::export::GrantsSection),
    ]
}

/// Decodes and imports `bytes` into `vault` as `locket import` does, in a transaction kept only on success.
fn import_export(vault: &Vault, bytes: &[u8]) -> Result<(), export::ExportError> {
    let pass = Passphrase::new("golden-export-passphrase".into());
    let doc = export::decode(bytes, Some(&pass))?;
    let sections = sections();
    let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    export::import(&tx, &doc, &refs)?;
    tx.commit().unwrap();
    Ok(())
}

#[test]
fn export_vectors_are_refused_and_nothing_is_imported() {
    let (_tmp, vault) = kit::vault();
    for v in vectors("export") {
        let e = import_export(&vault, &v.bytes).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert!(
            export::is_empty(vault.connect().unwrap().conn()).unwrap(),
            "{} imported something",
            v.name
        );
    }
    for name in ["export-v1/export.json", "export-v1/export.encrypted.json"] {
        let (_tmp, fresh) = kit::vault();
        import_export(&fresh, &golden(name)).unwrap_or_else(|e| panic!("the golden {name} imports: {e}"));
        assert!(!export::is_empty(fresh.connect().unwrap().conn()).unwrap());
    }
}

/// A copy of the golden v4 vault (passphrase `golden-passphrase`) in a temp dir.
fn golden_vault_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    fs::create_dir(&dir).unwrap();
    for f in [locket_vault::DB_FILE, locket_vault::SLOTS_FILE] {
        fs::copy(kit::repo_root().join("tests/golden/vault-v4").join(f), dir.join(f)).unwrap();
    }
    (tmp, dir)
}

#[test]
fn keyslots_vectors_are_refused_and_the_vault_is_untouched() {
    let pass = Passphrase::new("golden-passphrase".into());
    for v in vectors("keyslots") {
        let (_tmp, dir) = golden_vault_copy();
        fs::write(dir.join(locket_vault::SLOTS_FILE), &v.bytes).unwrap();
        let before = snapshot(&dir);
        let e = Vault::unlock(&dir, &pass).expect_err(&v.name);
        assert_eq!(e.code(), v.code, "{}: {e}", v.name);
        assert_eq!(snapshot(&dir), before, "{} changed the vault's files", v.name);
    }
    let (_tmp, dir) = golden_vault_copy();
    Vault::unlock(&dir, &pass).expect("the golden vault unlocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_header_vectors_are_refused_and_nothing_is_disclosed() {
    let fx = Fixture::start().await;
    let request = kit::Request::new().scope_keys(&["contact.email"]);
    let grant = kit::approved_grant(&fx.vault, &request, &fx.url).file;
    let events_before = fx.event_count();
    let mut refused = 0u64;
    for v in vectors("authorization") {
        // One header per line, `{token}` standing for the live grant's token; an empty file sends none.
        let text = v.text().replace("{token}", &grant.token);
        let mut req = fx.http.get(format!("{}/v1/data", fx.url));
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let value = reqwest::header::HeaderValue::from_bytes(line.as_bytes()).unwrap();
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], v.code.as_str(), "{}: {status} {body}", v.name);
        assert!(status >= 400, "{}: {status}", v.name);
        assert!(
            body.get("data").is_none() && body.get("fields").is_none(),
            "{}: {body}",
            v.name
        );
        refused += 1;
    }
    let store = fx.conn();
    assert_eq!(
        locket_grants::store::get_grant(store.conn(), &grant.grant_id)
            .unwrap()
            .uses,
        0,
        "a refused header counted a use"
    );
    // The only trace each refusal leaves is a refusal event (the first per code on its own, the rest counted
    // into a summary).
    fx.flush().await;
    let new = fx.events((fx.event_count() - events_before) as usize);
    assert_eq!(fx.refusals_in(new.len()), refused);
    assert!(new.iter().all(|e| e.outcome == "refused"), "{new:?}");
    assert!(new.iter().all(|e| e.fields.is_empty()), "{new:?}");
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "the live token itself is accepted: {body}");
    fx.stop().await;
}

// ---------- connect: retailer metadata and signed request objects ----------

const CONNECT_ORIGIN: &str = "https://shop.example";
const CONNECT_URI: &str = "https://shop.example/locket/requests/golden";

fn connect_now() -> DateTime<Utc> {
    at("2026-12-07T10:01:00Z")
}

/// The golden shop's keys (test keys, published here on purpose: they sign only the goldens and vectors).
fn golden_shop_keys() -> locket_wire::metadata::RetailerKeys {
    locket_wire::metadata::RetailerKeys::from_private_json(
        std::str::from_utf8(&golden("retailer-keys.test-only.json")).unwrap(),
    )
    .unwrap()
}

fn golden_metadata() -> locket_wire::metadata::RetailerMetadata {
    locket_wire::metadata::parse_metadata(&golden("retailer-metadata.v1.json"), CONNECT_ORIGIN).unwrap()
}

fn connect_request() -> Value {
    serde_json::json!({
        "format": "locket.grant-request/v1",
        "retailer": {
            "id": "shop.example", "name": "Example Shop", "origin": CONNECT_ORIGIN,
            "contact": "privacy@shop.example", "privacy_policy": "https://shop.example/privacy"
        },
        "scopes": [{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}],
        "requested_duration": "P30D",
        "retention": {"max_duration": "P90D", "statement": "We delete it 90 days after your last order."},
        "nonce": "golden-nonce-0123456789",
        "created_at": "2026-12-07T09:59:00Z"
    })
}

fn sign_connect(request: Value, uri: &str, iat: &str, exp: &str, key: &josekit::jwk::Jwk) -> String {
    let claims = locket_wire::request_object::RequestObjectClaims {
        request,
        state: "golden-state-0123456789".into(),
        request_uri: uri.into(),
        issued_at: at(iat),
        expires_at: at(exp),
    };
    locket_wire::request_object::sign_request_object(&claims, key).unwrap()
}

/// Rewrites the goldens and vectors of both formats: `LOCKET_BLESS=1 cargo test --test integration vectors::bless_connect`.
#[test]
fn bless_connect() {
    if std::env::var("LOCKET_BLESS").as_deref() != Ok("1") {
        return;
    }
    use base64::Engine as _;
    let root = kit::repo_root();
    let keys = if root.join("tests/golden/retailer-keys.test-only.json").exists() {
        golden_shop_keys()
    } else {
        let k = locket_wire::metadata::RetailerKeys::generate().unwrap();
        fs::write(
            root.join("tests/golden/retailer-keys.test-only.json"),
            k.to_private_json() + "\n",
        )
        .unwrap();
        k
    };
    let meta = keys
        .metadata(
            CONNECT_ORIGIN,
            "Example Shop",
            "privacy@shop.example",
            "https://shop.example/privacy",
            "https://shop.example/locket/deliveries",
        )
        .unwrap();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    fs::write(root.join("tests/golden/retailer-metadata.v1.json"), pretty(&meta)).unwrap();
    let (iat, exp) = ("2026-12-07T10:00:00Z", "2026-12-07T10:10:00Z");
    let golden_jws = sign_connect(connect_request(), CONNECT_URI, iat, exp, &keys.signing);
    fs::write(
        root.join("tests/golden/request-object.v1.jws"),
        golden_jws.clone() + "\n",
    )
    .unwrap();

    // Metadata vectors.
    let dir = root.join("tests/vectors/retailer-metadata");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut expected = serde_json::Map::new();
    let mut put = |name: &str, v: Value, code: &str| {
        fs::write(dir.join(name), pretty(&v)).unwrap();
        expected.insert(name.into(), code.into());
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = meta.clone();
        f(&mut v);
        v
    };
    put(
        "fail_other_origin.json",
        with(&|v| v["id"] = "https://other.example".into()),
        "retailer_metadata_origin_mismatch",
    );
    put(
        "fail_http_origin.json",
        with(&|v| v["id"] = "http://shop.example".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_delivery_elsewhere.json",
        with(&|v| v["delivery_url"] = "https://collector.example/in".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_policy_elsewhere.json",
        with(&|v| v["privacy_policy"] = "https://other.example/privacy".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_private_key_published.json",
        with(&|v| v["jwks"]["keys"][0]["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_no_encryption_key.json",
        with(&|v| {
            let k = v["jwks"]["keys"][0].clone();
            v["jwks"]["keys"] =
                serde_json::json!([k, {"kty":"OKP","crv":"Ed25519","x":k["x"],"kid":"sig-2","use":"sig"}]);
        }),
        "retailer_metadata_invalid",
    );
    put(
        "fail_duplicate_kid.json",
        with(&|v| v["jwks"]["keys"][1]["kid"] = v["jwks"]["keys"][0]["kid"].clone()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_signing_key_for_encryption.json",
        with(&|v| v["jwks"]["keys"][1]["use"] = "sig".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_control_character_in_name.json",
        with(&|v| v["name"] = "Example\u{202e}Shop".into()),
        "retailer_metadata_invalid",
    );
    put(
        "fail_unknown_member.json",
        with(&|v| v["logo"] = "https://shop.example/logo.png".into()),
        "retailer_metadata_invalid",
    );
    fs::write(dir.join("fail_not_json.json"), "{\"format\": \"locket.retailer/v1\",").unwrap();
    expected.insert("fail_not_json.json".into(), "retailer_metadata_malformed".into());
    fs::write(
        dir.join("fail_over_64_kib.json"),
        format!("{{\"pad\": \"{}\"}}", "a".repeat(64 * 1024)),
    )
    .unwrap();
    expected.insert("fail_over_64_kib.json".into(), "retailer_metadata_too_large".into());
    fs::write(dir.join("expected.json"), pretty(&Value::Object(expected))).unwrap();

    // Request-object vectors.
    let dir = root.join("tests/vectors/request-object");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut expected = serde_json::Map::new();
    let mut put = |name: &str, jws: String, code: &str| {
        fs::write(dir.join(name), jws + "\n").unwrap();
        expected.insert(name.into(), code.into());
    };
    let stranger = locket_wire::metadata::RetailerKeys::generate().unwrap();
    let mut forger = locket_wire::metadata::RetailerKeys::generate().unwrap();
    forger.signing.set_key_id(keys.signing_kid());
    put(
        "fail_unknown_key.jws",
        sign_connect(connect_request(), CONNECT_URI, iat, exp, &stranger.signing),
        "request_object_unknown_key",
    );
    put(
        "fail_forged_signature.jws",
        sign_connect(connect_request(), CONNECT_URI, iat, exp, &forger.signing),
        "request_object_invalid_signature",
    );
    let parts: Vec<&str> = golden_jws.split('.').collect();
    let other = sign_connect(
        connect_request(),
        "https://shop.example/locket/requests/other",
        iat,
        exp,
        &keys.signing,
    );
    put(
        "fail_payload_swapped.jws",
        format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap(), parts[2]),
        "request_object_invalid_signature",
    );
    put(
        "fail_expired.jws",
        sign_connect(
            connect_request(),
            CONNECT_URI,
            "2026-12-07T09:40:00Z",
            "2026-12-07T09:50:00Z",
            &keys.signing,
        ),
        "request_object_expired",
    );
    put(
        "fail_lifetime_over_an_hour.jws",
        sign_connect(
            connect_request(),
            CONNECT_URI,
            iat,
            "2026-12-07T12:00:00Z",
            &keys.signing,
        ),
        "request_object_lifetime",
    );
    put(
        "fail_issued_in_the_future.jws",
        sign_connect(
            connect_request(),
            CONNECT_URI,
            "2026-12-07T11:00:00Z",
            "2026-12-07T11:10:00Z",
            &keys.signing,
        ),
        "request_object_lifetime",
    );
    put(
        "fail_other_request_uri.jws",
        sign_connect(
            connect_request(),
            "https://shop.example/locket/requests/elsewhere",
            iat,
            exp,
            &keys.signing,
        ),
        "request_object_uri_mismatch",
    );
    let mut r = connect_request();
    r["retailer"]["id"] = "bigshop.example".into();
    put(
        "fail_other_retailer_id.jws",
        sign_connect(r, CONNECT_URI, iat, exp, &keys.signing),
        "request_object_retailer_mismatch",
    );
    let mut r = connect_request();
    r["retailer"]["name"] = "Example Shop Ltd".into();
    put(
        "fail_other_name.jws",
        sign_connect(r, CONNECT_URI, iat, exp, &keys.signing),
        "request_object_retailer_mismatch",
    );
    let mut r = connect_request();
    r["scopes"] = serde_json::json!([]);
    put(
        "fail_invalid_grant_request.jws",
        sign_connect(r, CONNECT_URI, iat, exp, &keys.signing),
        "request_invalid",
    );
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    put(
        "fail_alg_none.jws",
        format!(
            "{}.{}.",
            b64(serde_json::json!({"alg":"none","typ":"locket-request+jwt","kid":keys.signing_kid()})),
            parts[1]
        ),
        "request_object_malformed",
    );
    put(
        "fail_untyped.jws",
        format!(
            "{}.{}.{}",
            b64(serde_json::json!({"alg":"EdDSA","kid":keys.signing_kid()})),
            parts[1],
            parts[2]
        ),
        "request_object_malformed",
    );
    put(
        "fail_embedded_jwk.jws",
        format!(
            "{}.{}.{}",
            b64(
                serde_json::json!({"alg":"EdDSA","typ":"locket-request+jwt","kid":keys.signing_kid(),"jwk":{"kty":"OKP"}})
            ),
            parts[1],
            parts[2]
        ),
        "request_object_malformed",
    );
    put("fail_not_a_jws.jws", "just text".into(), "request_object_malformed");
    fs::write(dir.join("expected.json"), pretty(&Value::Object(expected))).unwrap();
}

#[test]
fn retailer_metadata_golden_is_accepted_and_vectors_are_refused() {
    let m = golden_metadata();
    assert_eq!(m.retailer_id(), "shop.example");
    let schema: Value = serde_json::from_str(locket_wire::schemas::METADATA_SCHEMA).unwrap();
    assert!(jsonschema::is_valid(&schema, &golden_json("retailer-metadata.v1.json")));
    for v in vectors("retailer-metadata") {
        let err = locket_wire::metadata::parse_metadata(&v.bytes, CONNECT_ORIGIN).unwrap_err();
        assert_eq!(err.code(), v.code, "{}: {err}", v.name);
    }
}

#[test]
fn request_object_golden_verifies_and_vectors_are_refused() {
    let m = golden_metadata();
    let golden = golden("request-object.v1.jws");
    let ok = locket_wire::request_object::verify_request_object(&golden, &m, CONNECT_URI, connect_now()).unwrap();
    assert_eq!(ok.state, "golden-state-0123456789");
    assert_eq!(ok.key_id, golden_shop_keys().signing_kid());
    let request: Value = serde_json::from_str(&ok.request_json).unwrap();
    assert_eq!(request, connect_request());
    for v in vectors("request-object") {
        let err =
            locket_wire::request_object::verify_request_object(&v.bytes, &m, CONNECT_URI, connect_now()).unwrap_err();
        assert_eq!(err.code(), v.code, "{}: {err}", v.name);
    }
}
