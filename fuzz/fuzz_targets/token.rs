//! Token parsing and verification must never panic on any input and must never accept a token that was not
//! signed by the verifier's key: with a fixed key, arbitrary bytes are refused (the chance of a forged
//! Ed25519 signature is nil), and a real token with any byte changed is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_grants::token::{peek_claims, TokenClaims, TokenSigner};
use locket_grants::Purpose;
use std::sync::OnceLock;

fn signer() -> &'static (TokenSigner, String) {
    static S: OnceLock<(TokenSigner, String)> = OnceLock::new();
    S.get_or_init(|| {
        let signer = TokenSigner::from_seed(&[7u8; 32], &[9u8; 32], "fuzz-vault").expect("key");
        let claims = TokenClaims {
            iss: "fuzz-vault".into(),
            sub: signer.subject_for("shop.example"),
            aud: "shop.example".into(),
            jti: "gr_0123456789abcdef0123456789abcdef".into(),
            iat: "2026-01-01T00:00:00Z".into(),
            nbf: "2026-01-01T00:00:00Z".into(),
            exp: "2027-01-01T00:00:00Z".into(),
            scope: vec!["contact.email".into()],
            purposes: [("contact.email".to_owned(), Purpose::OrderFulfilment)].into(),
        };
        let token = signer.sign(&claims).expect("sign");
        (signer, token)
    })
}

fuzz_target!(|data: &[u8]| {
    let (signer, token) = signer();
    let verifier = signer.verifier();
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = peek_claims(text);
        if let Ok(v) = verifier.verify(text, now) {
            // Only the genuine token verifies.
            assert_eq!(text, token.as_str());
            assert_eq!(v.claims.aud, "shop.example");
        }
    }
    // Mutate the genuine token at a position and with a byte chosen by the input.
    if data.len() >= 2 {
        let mut bytes = token.clone().into_bytes();
        let i = usize::from(data[0]) * 7 % bytes.len();
        if bytes[i] != data[1] {
            bytes[i] = data[1];
            if let Ok(mutated) = String::from_utf8(bytes) {
                // A change in the unused low bits of a base64 character may decode to the same bytes; then the
                // claims are the genuine ones. Anything else must be refused.
                if let Ok(v) = verifier.verify(&mutated, now) {
                    let genuine = verifier.verify(token, now).expect("genuine token verifies");
                    assert_eq!(v.claims, genuine.claims, "a modified token verified with different claims");
                }
            }
        }
    }
});
