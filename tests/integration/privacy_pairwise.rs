//! Pairwise issuers: two shops holding grants from the same owner share no identifier or key — not the issuer
//! id, the key, the key id, the subject or anything in the receipts — so comparing grant files tells them
//! nothing. Each shop's token verifies only as that shop's; `GET /v1/keys` answers a token's holder with its own
//! key and no other; grants issued before pairwise issuers (vault-wide key) keep redeeming.

use crate::endpoint_support::Fixture;
use crate::kit::{unique_nonce, Request};
use locket_grants::token::peek_claims;
use locket_grants::{GrantFile, Issuers};
use std::collections::BTreeSet;

/// Every identifier-like string in a grant file and its token's claims: at least 16 characters of
/// `[A-Za-z0-9_.:-]` with a digit (ids, keys, key ids, subjects), without the format and type names, URLs and times
/// every grant names alike.
fn identifiers(file: &GrantFile) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(&serde_json::from_str(&file.to_json_pretty()).unwrap(), &mut out);
    walk(
        &serde_json::to_value(peek_claims(&file.token).unwrap()).unwrap(),
        &mut out,
    );
    out
}

/// [`identifiers`] of any JSON answer.
fn identifiers_of(v: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(v, &mut out);
    out
}

/// Collects the identifier-like strings of `v` into `out`.
fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
        serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
        serde_json::Value::String(s) => {
            let id_like = s.len() >= 16
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
                && s.chars().any(|c| c.is_ascii_digit())
                && !s.starts_with("http")
                && !s.starts_with("20")
                && !is_dotted_name(s);
            if id_like {
                out.insert(s.clone());
            }
        }
        _ => {}
    }
}

/// `locket.grant/v1`-like format names and `paseto.v4.public`-like type names: lowercase words joined by dots.
fn is_dotted_name(s: &str) -> bool {
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !first.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// `GET path` with `token` is refused with `status` and `code`.
async fn refused(fx: &Fixture, path: &str, token: &str, status: u16, code: &str) {
    let (got, body) = fx.get(path, Some(token)).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{path}: {body}");
}

fn grant_for(fx: &Fixture, retailer: &str) -> GrantFile {
    let doc = Request::new()
        .retailer(retailer)
        .nonce(&unique_nonce())
        .scope_keys(&["contact.email"])
        .json();
    fx.approve(&fx.import(&doc), Default::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shops_share_no_identifier_or_key() {
    let fx = Fixture::start().await;
    let a = grant_for(&fx, "shop-a.example");
    let b = grant_for(&fx, "shop-b.example");
    let shared: Vec<String> = identifiers(&a).intersection(&identifiers(&b)).cloned().collect();
    assert!(shared.is_empty(), "shared between two shops: {shared:?}");
    for file in [&a, &b] {
        assert!(file.issuer.starts_with("iss_"), "{}", file.issuer);
        let receipt = file.receipt.as_ref().unwrap();
        assert_eq!(receipt.issuer.vault_id, file.issuer);
        assert_eq!(receipt.issuer.key_id, file.key_id);
        // Nothing of the vault itself: not its id, not its vault-wide key.
        let wide = Issuers::for_vault(&fx.vault).vault_wide().unwrap();
        let text = file.to_json_pretty();
        assert!(!text.contains(fx.vault.id()), "the vault id leaked");
        assert!(!text.contains(wide.key_id()) && !text.contains(wide.public_paserk()));
    }
    // A second grant to the same shop: the same issuer and key (a shop can tell its grants belong together,
    // as it can already by the subject id).
    let a2 = grant_for(&fx, "shop-a.example");
    assert_eq!(
        (a2.issuer.as_str(), a2.key_id.as_str()),
        (a.issuer.as_str(), a.key_id.as_str())
    );
    assert_eq!(a2.subject, a.subject);

    // Both redeem, each with its own key; no answer of the endpoint to one shop shares an identifier with any
    // answer to the other.
    let mut seen = Vec::new();
    for file in [&a, &b] {
        let mut ids = identifiers(file);
        for path in ["/v1/data", "/v1/grant", "/v1/grant/receipts", "/v1/keys"] {
            let (status, body) = fx.get(path, Some(&file.token)).await;
            assert_eq!(status, 200, "{path}: {body}");
            ids.extend(identifiers_of(&body));
        }
        seen.push(ids);
    }
    let shared: Vec<&String> = seen[0].intersection(&seen[1]).collect();
    assert!(shared.is_empty(), "shared in the /v1 answers: {shared:?}");
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_document_answers_each_shop_with_its_own_key_only() {
    let fx = Fixture::start().await;
    let a = grant_for(&fx, "shop-a.example");
    let b = grant_for(&fx, "shop-b.example");
    // Without a token nobody learns any key (a list of all of them would link the shops).
    let (status, body) = fx.get("/v1/keys", None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("authorization_missing")));
    let (status, body) = fx.get("/v1/keys", Some("v4.public.AAAA")).await;
    assert_eq!(status, 400, "{body}");
    for file in [&a, &b] {
        let (status, body) = fx.get("/v1/keys", Some(&file.token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issuer"].as_str(), Some(file.issuer.as_str()));
        assert_eq!(body["keys"].as_array().unwrap().len(), 1);
        assert_eq!(body["keys"][0]["paserk"].as_str(), Some(file.public_key.as_str()));
        assert_eq!(body["keys"][0]["kid"].as_str(), Some(file.key_id.as_str()));
    }
    // A revoked grant's token still gets its key (its receipts stay checkable), nothing more.
    fx.owner_revoke(&a.grant_id);
    let (status, body) = fx.get("/v1/keys", Some(&a.token)).await;
    assert_eq!((status, body["issuer"].as_str()), (200, Some(a.issuer.as_str())));
    refused(&fx, "/v1/data", &a.token, 403, "grant_revoked").await;
    fx.verify_log();
    fx.stop().await;
}

/// Shop A relabels its token as shop B's (B's grant id, B as audience, B's subject): B's key is expected and
/// A's signature is refused. Even a token properly signed with A's key — as if A's key had leaked — cannot
/// speak for B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shops_key_cannot_speak_for_another() {
    let fx = Fixture::start().await;
    let a = grant_for(&fx, "shop-a.example");
    let b = grant_for(&fx, "shop-b.example");
    let mut claims = peek_claims(&a.token).unwrap();
    let theirs = peek_claims(&b.token).unwrap();
    claims.aud = theirs.aud.clone();
    claims.jti = theirs.jti.clone();
    claims.sub = theirs.sub.clone();
    claims.iss = theirs.iss.clone();
    let issuers = Issuers::for_vault(&fx.vault);
    let as_a = issuers.token_signer("shop-a.example").unwrap().sign(&claims).unwrap();
    refused(&fx, "/v1/data", &as_a, 401, "token_unknown_key").await;
    refused(&fx, "/v1/keys", &as_a, 401, "token_unknown_key").await;
    fx.verify_log();
    fx.stop().await;
}

/// A grant a shop received before pairwise issuers — its token signed with the vault-wide key under the
/// vault's own id — keeps redeeming and introspecting, and `GET /v1/keys` answers it with that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_issued_before_pairwise_issuers_keep_working() {
    let fx = Fixture::start().await;
    let file = grant_for(&fx, "shop-a.example");
    let issuers = Issuers::for_vault(&fx.vault);
    let wide = issuers.vault_wide().unwrap();
    let mut claims = peek_claims(&file.token).unwrap();
    claims.iss = fx.vault.id().to_owned();
    let old_token = wide.sign(&claims).unwrap();
    let (status, body) = fx.get("/v1/data", Some(&old_token)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = fx.get("/v1/grant", Some(&old_token)).await;
    assert_eq!((status, body["active"].as_bool()), (200, Some(true)), "{body}");
    let (status, body) = fx.get("/v1/keys", Some(&old_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issuer"].as_str(), Some(fx.vault.id()));
    assert_eq!(body["keys"][0]["kid"].as_str(), Some(wide.key_id()));
    // The vault-wide key under a pairwise issuer id, or a pairwise key under the vault's id: refused.
    let mut mixed = claims.clone();
    mixed.iss = file.issuer.clone();
    refused(&fx, "/v1/data", &wide.sign(&mixed).unwrap(), 401, "token_unknown_key").await;
    let own = issuers.token_signer("shop-a.example").unwrap();
    refused(&fx, "/v1/data", &own.sign(&claims).unwrap(), 401, "token_unknown_key").await;
    fx.verify_log();
    fx.stop().await;
}
