//! Property tests for the untrusted-input parsers: they never panic, and every refusal names a JSON path that
//! exists in the document (or the document itself).

use locket_grants::request::parse_request_at;
use locket_grants::token::TokenSigner;
use locket_grants::RequestError;
use proptest::prelude::*;
use serde_json::Value;

/// The golden request with every member (benefit and recipients too), so mutations reach all of them.
fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/grant-request.v1.benefit-recipients.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-24T15:00:00Z".parse().unwrap()
}

/// Every JSON pointer in `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9_.:/ -]{0,20}".prop_map(Value::String),
        Just(Value::String("other".into())),
        Just(Value::String("P30D".into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_request_at(&bytes, now());
    }

    /// Replace one value anywhere in a valid request: the result is valid, or refused with problems whose
    /// paths point into the document.
    #[test]
    fn mutated_requests_are_refused_at_a_real_path(pick in any::<prop::sample::Index>(), replacement in any_json()) {
        let mut doc = golden();
        let mut ptrs = Vec::new();
        pointers(&doc, String::new(), &mut ptrs);
        let target = ptrs[pick.index(ptrs.len())].clone();
        if target.is_empty() {
            doc = replacement;
        } else {
            *doc.pointer_mut(&target).unwrap() = replacement;
        }
        let bytes = serde_json::to_vec(&doc).unwrap();
        match parse_request_at(&bytes, now()) {
            Ok(req) => {
                let again = serde_json::to_vec(&req).unwrap();
                prop_assert_eq!(parse_request_at(&again, now()).unwrap(), req);
            }
            Err(
                RequestError::Invalid(problems)
                | RequestError::ControlCharacters(problems)
                | RequestError::Benefit(problems)
                | RequestError::Recipients(problems),
            ) => {
                prop_assert!(!problems.is_empty());
                for p in &problems {
                    prop_assert!(doc.pointer(&p.path).is_some(), "{} is not in the document", p.path);
                    prop_assert!(!p.rule.is_empty());
                }
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn arbitrary_tokens_never_verify(text in "(v4\\.public\\.)?[A-Za-z0-9_.-]{0,300}") {
        let signer = TokenSigner::from_seed(&[5u8; 32], &[6u8; 32], "prop").unwrap();
        prop_assert!(signer.verifier().verify(&text, now()).is_err());
    }
}
