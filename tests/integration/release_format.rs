//! `locket.release/v1` pinned: the golden document (`tests/golden/release.v1.json`, valid against
//! `docs/schemas/release.v1.schema.json`), a golden sealed delivery (`tests/golden/release.v1.sealed.json`: body
//! and Standard Webhooks headers, sealed to the golden test shop's key) that opens with the shop's key and the
//! grant's key alone, and must-refuse vectors (`tests/vectors/release/`). Rewrite all of them with
//! `LOCKET_BLESS=1 cargo test --test integration release_format::bless`.
use std::fs;

use locket_wire::issuer::Issuers;
use locket_wire::metadata::{parse_metadata, RetailerKeys};
use locket_wire::release::{
    open, seal, webhook_headers, Ended, EndedBy, ExpectedKey, Release, ReleaseEvent, ReleasedField, Sealed,
    WebhookHeaders, RELEASE_FORMAT,
};
use locket_wire::GrantFile;
use serde_json::{json, Value};

use crate::kit::{self, vectors};

/// The golden delivery's webhook-timestamp; the tests open it "at" this time.
const AT: i64 = 1_796_644_800;
const SEED: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
    31,
];

fn read(path: &str) -> String {
    fs::read_to_string(kit::repo_root().join(path)).unwrap()
}

fn shop_keys() -> RetailerKeys {
    RetailerKeys::from_private_json(&read("tests/golden/retailer-keys.test-only.json")).unwrap()
}

fn shop_encryption_key() -> locket_wire::metadata::PublicJwk {
    let meta = parse_metadata(
        read("tests/golden/retailer-metadata.v1.json").as_bytes(),
        "https://shop.example",
    )
    .unwrap();
    meta.jwks.encryption_key().unwrap().clone()
}

fn signer(retailer: &str) -> locket_wire::TokenSigner {
    Issuers::from_secrets(&SEED, &[0xa5; 32], "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10")
        .token_signer(retailer)
        .unwrap()
}

fn grant_file() -> GrantFile {
    GrantFile::parse(read("tests/golden/grant.v1.json").as_bytes()).unwrap()
}

/// The golden `grant` release for the golden grant file.
fn golden() -> Release {
    let grant = grant_file();
    Release {
        format: RELEASE_FORMAT.into(),
        event: ReleaseEvent::Grant,
        release_id: "rel_0123456789abcdef0123456789abcdef".into(),
        grant_id: grant.grant_id.clone(),
        sequence: 1,
        subject: grant.subject.clone(),
        retailer_id: grant.retailer.id.clone(),
        state: "golden-state-0123456789".into(),
        issued_at: "2026-11-24T15:00:05Z".into(),
        fields: Some(vec![
            ReleasedField {
                key: "contact.email".into(),
                label: "Email address".into(),
                version: 2,
                value: json!("ada@example.org"),
                scope: "contact.email".into(),
            },
            ReleasedField {
                key: "sizes.shoe".into(),
                label: "Shoe size".into(),
                version: 1,
                value: json!("39"),
                scope: "sizes".into(),
            },
        ]),
        empty_scopes: Vec::new(),
        ended: None,
        grant: Some(grant),
    }
}

fn update(sequence: u64) -> Release {
    Release {
        event: ReleaseEvent::Update,
        release_id: format!("rel_{sequence:032x}"),
        sequence,
        grant: None,
        ..golden()
    }
}

fn revoke(sequence: u64) -> Release {
    Release {
        event: ReleaseEvent::Revoke,
        release_id: format!("rel_{sequence:032x}"),
        sequence,
        grant: None,
        fields: None,
        ended: Some(Ended {
            at: "2026-11-30T09:00:00Z".into(),
            by: EndedBy::Owner,
            erasure_requested: true,
            retention: locket_wire::Retention {
                max_duration: "until_grant_ends".into(),
                statement: "We delete it when the grant ends.".into(),
            },
            reason: None,
        }),
        ..golden()
    }
}

fn delivery(sealed: &Sealed, headers: &WebhookHeaders) -> Value {
    json!({
        "body": sealed.body,
        "headers": {
            "webhook-id": headers.id,
            "webhook-timestamp": headers.timestamp.to_string(),
            "webhook-signature": headers.signature,
        },
    })
}

fn parse_delivery(v: &Value) -> (String, WebhookHeaders) {
    let h = &v["headers"];
    (
        v["body"].as_str().unwrap_or_default().to_owned(),
        WebhookHeaders {
            id: h["webhook-id"].as_str().unwrap_or_default().to_owned(),
            timestamp: h["webhook-timestamp"].as_str().unwrap_or("0").parse().unwrap_or(0),
            signature: h["webhook-signature"].as_str().unwrap_or_default().to_owned(),
        },
    )
}

fn sealed(r: &Release, retailer_key_of: &str) -> (Sealed, WebhookHeaders) {
    let s = seal(r, &signer(retailer_key_of), &shop_encryption_key()).unwrap();
    let h = webhook_headers(&s, &signer(retailer_key_of), AT).unwrap();
    (s, h)
}

#[test]
fn the_golden_release_is_pinned_and_valid_against_its_schema() {
    let doc = golden().to_json_pretty() + "\n";
    let path = kit::repo_root().join("tests/golden/release.v1.json");
    if std::env::var("LOCKET_BLESS").as_deref() == Ok("1") {
        fs::write(&path, &doc).unwrap();
    }
    assert_eq!(
        doc,
        fs::read_to_string(&path).unwrap(),
        "release.v1.json changed: LOCKET_BLESS=1 to accept"
    );
    let schema: Value = serde_json::from_str(locket_wire::schemas::RELEASE_SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for r in [golden(), update(2), revoke(3)] {
        let v = serde_json::to_value(&r).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{:?}: {errors:?}", r.event);
    }
    // The schema refuses what the format refuses.
    let mut bad = serde_json::to_value(revoke(3)).unwrap();
    bad["fields"] = json!([]);
    assert!(!validator.is_valid(&bad));
}

#[test]
fn the_golden_delivery_opens_with_the_shops_key_and_the_grants_key() {
    let v: Value = serde_json::from_str(&read("tests/golden/release.v1.sealed.json")).unwrap();
    let (body, headers) = parse_delivery(&v);
    let opened = open(&body, &headers, &shop_keys().encryption, ExpectedKey::FromGrantFile, AT).unwrap();
    assert_eq!(opened.release, golden());
    assert_eq!(opened.public_key, grant_file().public_key);
}

#[test]
fn release_vectors_are_refused() {
    let keys = shop_keys();
    let key = grant_file().public_key;
    for v in vectors("release") {
        let doc: Value = serde_json::from_slice(&v.bytes).unwrap();
        let (body, headers) = parse_delivery(&doc);
        let expected = match doc["expected_key"].as_str() {
            Some("from_grant_file") => ExpectedKey::FromGrantFile,
            _ => ExpectedKey::Known(&key),
        };
        let err = open(&body, &headers, &keys.encryption, expected, AT).unwrap_err();
        assert_eq!(err.code(), v.code, "{}: {err}", v.name);
    }
}

/// Rewrites the sealed golden and the vectors (the document golden is rewritten by its own test).
#[test]
fn bless() {
    if std::env::var("LOCKET_BLESS").as_deref() != Ok("1") {
        return;
    }
    let root = kit::repo_root();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    let (s, h) = sealed(&golden(), "shop.example");
    fs::write(
        root.join("tests/golden/release.v1.sealed.json"),
        pretty(&delivery(&s, &h)),
    )
    .unwrap();

    let dir = root.join("tests/vectors/release");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut expected = serde_json::Map::new();
    let mut put = |name: &str, mut v: Value, key: &str, code: &str| {
        v["expected_key"] = key.into();
        fs::write(dir.join(name), pretty(&v)).unwrap();
        expected.insert(name.into(), code.into());
    };
    let (us, uh) = sealed(&update(2), "shop.example");
    let known = "known";
    // Ciphertext altered.
    let mut parts: Vec<String> = us.body.split('.').map(str::to_owned).collect();
    let first = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, first);
    let altered = Sealed {
        body: parts.join("."),
        ..us.clone()
    };
    put(
        "fail_ciphertext_altered.json",
        delivery(&altered, &uh),
        known,
        "release_decrypt_failed",
    );
    // Sealed to another shop's key.
    let other_shop = RetailerKeys::generate().unwrap();
    let other_meta = other_shop
        .metadata(
            "https://other.example",
            "Other",
            "privacy@other.example",
            "https://other.example/p",
            "https://other.example/d",
        )
        .unwrap();
    let other_enc = parse_metadata(other_meta.to_string().as_bytes(), "https://other.example")
        .unwrap()
        .jwks
        .encryption_key()
        .unwrap()
        .clone();
    let to_other = seal(&update(2), &signer("shop.example"), &other_enc).unwrap();
    let to_other_h = webhook_headers(&to_other, &signer("shop.example"), AT).unwrap();
    put(
        "fail_sealed_to_another_shop.json",
        delivery(&to_other, &to_other_h),
        known,
        "release_decrypt_failed",
    );
    // Signed with the key the vault holds for another shop.
    let (os, oh) = sealed(&update(2), "other.example");
    put(
        "fail_signed_for_another_shop.json",
        delivery(&os, &oh),
        known,
        "release_unknown_key",
    );
    // An update presenting itself as a first release.
    put(
        "fail_update_without_grant_file.json",
        delivery(&us, &uh),
        "from_grant_file",
        "release_malformed",
    );
    // Replayed later: an old timestamp, correctly signed.
    let stale = webhook_headers(&us, &signer("shop.example"), AT - 301).unwrap();
    put(
        "fail_timestamp_old.json",
        delivery(&us, &stale),
        known,
        "release_timestamp_stale",
    );
    // The signature of another release moved onto this one.
    let (_, rh) = sealed(&revoke(3), "shop.example");
    let swapped = WebhookHeaders {
        signature: rh.signature.clone(),
        ..uh.clone()
    };
    put(
        "fail_signature_of_another_release.json",
        delivery(&us, &swapped),
        known,
        "release_invalid_signature",
    );
    // Renamed: a valid signature over another webhook-id.
    let renamed_id = "rel_ffffffffffffffffffffffffffffffff";
    let renamed = webhook_headers(
        &Sealed {
            release_id: renamed_id.into(),
            ..us.clone()
        },
        &signer("shop.example"),
        AT,
    )
    .unwrap();
    put(
        "fail_webhook_id_not_the_release.json",
        delivery(&us, &renamed),
        known,
        "release_headers_invalid",
    );
    // Only a symmetric signature.
    let symmetric = WebhookHeaders {
        signature: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=".into(),
        ..uh.clone()
    };
    put(
        "fail_only_symmetric_signature.json",
        delivery(&us, &symmetric),
        known,
        "release_headers_invalid",
    );
    // Not a JWE.
    put(
        "fail_not_a_jwe.json",
        json!({"body": "{\"event\":\"grant\"}", "headers": delivery(&us, &uh)["headers"]}),
        known,
        "release_malformed",
    );
    fs::write(dir.join("expected.json"), pretty(&Value::Object(expected))).unwrap();
}
