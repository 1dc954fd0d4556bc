//! Measures token verification against bare Ed25519 in one run and prints the ratios:
//! `cargo run --release -p locket-grants --example verify_speed`.
//! Numbers are for information only; no test depends on them.

use chrono::{Duration, Utc};
use locket_grants::token::{rfc3339, verify_raw, TokenClaims, TokenSigner};
use locket_grants::Purpose;
use std::time::Instant;

fn rate(n: u32, f: impl Fn()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() {
    let seed = [7u8; 32];
    let signer = TokenSigner::from_seed(&seed, &[1u8; 32], "bench").expect("signer");
    let now = Utc::now();
    let claims = TokenClaims {
        iss: "bench".into(),
        sub: signer.subject_for("shop.example"),
        aud: "shop.example".into(),
        jti: "gr_0123456789abcdef0123456789abcdef".into(),
        iat: rfc3339(now),
        nbf: rfc3339(now),
        exp: rfc3339(now + Duration::days(1)),
        scope: vec!["contact.email".into(), "sizes".into()],
        purposes: [
            ("contact.email".to_owned(), Purpose::OrderFulfilment),
            ("sizes".to_owned(), Purpose::PersonalisedRecommendations),
        ]
        .into(),
    };
    let token = signer.sign(&claims).expect("token");
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("pair");
    let pk = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
    let msg = vec![0x42u8; token.len()];
    let sig = pair.sign(&msg);
    let ring_pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, pk.clone());

    let n = 20_000;
    let bare = rate(n, || assert!(ring_pk.verify(&msg, sig.as_ref()).is_ok()));
    let raw = rate(n, || assert!(verify_raw(&pk, &token, b"").is_ok()));
    let verifier = signer.verifier();
    let cached = rate(n * 10, || assert!(verifier.verify(&token, now).is_ok()));
    println!("bare ring Ed25519 verify:        {bare:>10.0}/s");
    println!(
        "PASETO v4.public verify (uncached): {raw:>10.0}/s  ({:.2}x bare)",
        raw / bare
    );
    println!(
        "TokenVerifier::verify (cached):  {cached:>10.0}/s  ({:.1}x bare)",
        cached / bare
    );
}
