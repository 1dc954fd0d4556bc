//! The official PASETO v4.public and PASERK k4 test vectors (values in tests/golden/paseto-v4-vectors.json),
//! run through our signing/verification primitives and key formatting.

use locket_grants::token::{key_id_of, paserk_of_public_key, sign_raw, verify_raw, TokenSigner};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/paseto-v4-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn seed(v: &Value) -> [u8; 32] {
    hex::decode(s(v, "secret_key_seed")).unwrap().try_into().unwrap()
}

#[test]
fn v4_public_success_vectors_sign_and_verify() {
    let all = vectors();
    let cases: Vec<&Value> = all["v4_public"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["expect_fail"].as_bool().unwrap())
        .collect();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = s(c, "name");
        let pk = hex::decode(s(c, "public_key")).unwrap();
        let (payload, footer, implicit) = (s(c, "payload"), s(c, "footer"), s(c, "implicit_assertion"));
        // Ed25519 is deterministic: our signing reproduces the vector's token exactly.
        let token = sign_raw(&seed(c), payload.as_bytes(), footer.as_bytes(), implicit.as_bytes()).unwrap();
        assert_eq!(token, s(c, "token"), "{name}");
        let (got_payload, got_footer) = verify_raw(&pk, s(c, "token"), implicit.as_bytes()).unwrap();
        assert_eq!(got_payload, payload.as_bytes(), "{name}");
        assert_eq!(got_footer, footer.as_bytes(), "{name}");
        // The key derived from the seed is the vector's public key.
        let signer = TokenSigner::from_seed(&seed(c), &[0u8; 32], "iss").unwrap();
        assert_eq!(signer.public_paserk(), paserk_of_public_key(&pk).unwrap(), "{name}");
        // A wrong implicit assertion fails.
        assert!(verify_raw(&pk, s(c, "token"), b"other").is_err(), "{name}");
    }
}

#[test]
fn v4_public_failure_vectors_are_refused() {
    let all = vectors();
    let pk = hex::decode(s(&all["v4_public"][0], "public_key")).unwrap();
    let fails: Vec<&Value> = all["v4_public"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expect_fail"].as_bool().unwrap())
        .collect();
    assert_eq!(fails.len(), 2);
    for c in fails {
        let implicit = s(c, "implicit_assertion");
        assert!(
            verify_raw(&pk, s(c, "token"), implicit.as_bytes()).is_err(),
            "{}",
            s(c, "name")
        );
    }
}

#[test]
fn paserk_k4_public_and_pid_vectors() {
    let all = vectors();
    for c in all["paserk_k4_public"].as_array().unwrap() {
        let key = hex::decode(s(c, "key")).unwrap();
        if c["expect_fail"].as_bool().unwrap() {
            assert!(paserk_of_public_key(&key).is_err(), "{}", s(c, "name"));
        } else {
            assert_eq!(paserk_of_public_key(&key).unwrap(), s(c, "paserk"), "{}", s(c, "name"));
        }
    }
    for c in all["paserk_k4_pid"].as_array().unwrap() {
        let key = hex::decode(s(c, "key")).unwrap();
        match paserk_of_public_key(&key) {
            Ok(public) => {
                assert!(!c["expect_fail"].as_bool().unwrap(), "{}", s(c, "name"));
                assert_eq!(key_id_of(&public).unwrap(), s(c, "paserk"), "{}", s(c, "name"));
            }
            Err(_) => assert!(c["expect_fail"].as_bool().unwrap(), "{}", s(c, "name")),
        }
    }
}
