//! Grant tokens: PASETO v4.public (Ed25519) signed with the key the vault holds for the token's retailer
//! ([`crate::issuer`]: each retailer sees its own issuer id and key).
//!
//! The public key is published as PASERK `k4.public.…`; every token's footer is `{"kid":"k4.pid.…"}`, the
//! PASERK id of that key. The claims ([`TokenClaims`]) say who may redeem what until when — never any
//! profile data. Any conforming PASETO v4 implementation can verify a token given the PASERK public key.

use crate::purpose::Purpose;
use chrono::{DateTime, SecondsFormat, Utc};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Largest token accepted, in bytes (a real one is well under 2 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// How many verified tokens a [`TokenVerifier`] remembers.
pub const VERIFIED_CACHE_CAPACITY: usize = 4096;

/// A token or key could not be made, read or verified. Variants are in the order a redemption checks them;
/// [`code`](TokenError::code) is the stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Missing, oversized or unparsable token.
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// Signature does not verify.
    #[error("the token's signature does not verify; it was altered or not issued by this vault")]
    InvalidSignature,
    /// Signed with a key this verifier does not have.
    #[error("the token was issued by a different Locket vault (unknown key id); use the grant file this vault issued")]
    UnknownKey,
    /// Before `nbf`.
    #[error("the token is not valid before {0}")]
    NotYetValid(String),
    /// At or after `exp`.
    #[error("the grant expired at {0}; ask the owner for a new grant")]
    Expired(String),
    /// A key (PASERK text, raw public key or signing seed) is not a usable Ed25519 key.
    #[error("{0}")]
    InvalidKey(String),
    /// Signing failed.
    #[error("{0}")]
    Signing(String),
}

impl TokenError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "token_malformed",
            TokenError::InvalidSignature => "token_invalid_signature",
            TokenError::UnknownKey => "token_unknown_key",
            TokenError::NotYetValid(_) => "token_not_yet_valid",
            TokenError::Expired(_) => "token_expired",
            TokenError::InvalidKey(_) => "token_key_invalid",
            TokenError::Signing(_) => "token_signing_failed",
        }
    }
}

fn bad_key(what: &str) -> TokenError {
    TokenError::InvalidKey(what.to_owned())
}

/// The signing material of an unlocked vault, as [`Issuers::for_vault`](crate::issuer::Issuers::for_vault)
/// needs it. Implemented by
/// `locket_vault::Vault`; this crate never stores keys, and derives only the pairwise ones
/// ([`crate::issuer`]) from these.
pub trait SigningKeys {
    /// The 32-byte Ed25519 seed of the vault's signing key.
    fn signing_seed_bytes(&self) -> &[u8; 32];
    /// The 32-byte pseudonym key (pairwise subject ids).
    fn pseudonym_key_bytes(&self) -> &[u8; 32];
    /// The vault's public id (the `iss` claim).
    fn issuer_id(&self) -> &str;
}

impl<T: SigningKeys + ?Sized> SigningKeys for std::sync::Arc<T> {
    fn signing_seed_bytes(&self) -> &[u8; 32] {
        (**self).signing_seed_bytes()
    }
    fn pseudonym_key_bytes(&self) -> &[u8; 32] {
        (**self).pseudonym_key_bytes()
    }
    fn issuer_id(&self) -> &str {
        (**self).issuer_id()
    }
}

/// Format a timestamp the way tokens and grant files carry it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The claims of a grant token (`locket` token claims, version 1; see
/// `docs/schemas/token-claims.v1.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClaims {
    /// The issuing vault's public id.
    pub iss: String,
    /// The owner's pairwise subject id for this retailer.
    pub sub: String,
    /// The retailer id.
    pub aud: String,
    /// The grant id.
    pub jti: String,
    /// Issued at (RFC 3339).
    pub iat: String,
    /// Not before (RFC 3339).
    pub nbf: String,
    /// Expires (RFC 3339).
    pub exp: String,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// Purpose of each granted scope.
    pub purposes: BTreeMap<String, Purpose>,
}

/// The `kid` footer.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Footer {
    kid: String,
}

fn paserk_public(pk: &AsymmetricPublicKey<V4>) -> Result<String, TokenError> {
    let mut s = String::new();
    pk.fmt(&mut s).map_err(|_| bad_key("could not format the public key"))?;
    Ok(s)
}

fn paserk_pid(pk: &AsymmetricPublicKey<V4>) -> Result<String, TokenError> {
    let mut s = String::new();
    Id::from(pk)
        .fmt(&mut s)
        .map_err(|_| bad_key("could not format the key id"))?;
    Ok(s)
}

/// The key for pairwise subject ids: derived (HMAC-SHA256 with a fixed label) from the vault's pseudonym key,
/// so the same secret can serve other keyed hashes without their outputs being related.
fn subject_key(pseudonym_key: &[u8; 32]) -> ring::hmac::Key {
    let root = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pseudonym_key);
    let derived = ring::hmac::sign(&root, b"locket/pairwise-subject/v1");
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
}

/// Signs grant tokens. Holds the vault's Ed25519 secret key; `Debug` prints `[redacted]`.
pub struct TokenSigner {
    secret: AsymmetricSecretKey<V4>,
    public: AsymmetricPublicKey<V4>,
    subject_key: ring::hmac::Key,
    issuer: String,
    public_paserk: String,
    kid: String,
    footer: Vec<u8>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl TokenSigner {
    /// Build from a 32-byte Ed25519 seed, the 32-byte pseudonym key (for pairwise subject ids) and the
    /// vault's public id (the `iss` claim).
    pub fn from_seed(seed: &[u8; 32], pseudonym_key: &[u8; 32], issuer: &str) -> Result<Self, TokenError> {
        let (secret, public) = secret_from_seed(seed)?;
        let public_paserk = paserk_public(&public)?;
        let kid = paserk_pid(&public)?;
        let footer =
            serde_json::to_vec(&Footer { kid: kid.clone() }).map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(Self {
            secret,
            public,
            subject_key: subject_key(pseudonym_key),
            issuer: issuer.to_owned(),
            public_paserk,
            kid,
            footer,
        })
    }

    /// The vault's public id (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public key as PASERK `k4.public.…`.
    pub fn public_paserk(&self) -> &str {
        &self.public_paserk
    }

    /// The key id as PASERK `k4.pid.…`.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The owner's pairwise subject id at `retailer_id`: HMAC-SHA256 of the retailer id under a key derived
    /// from the vault's pseudonym key, base64url (43 characters). Stable per (vault, retailer); two
    /// retailers get unrelated ids.
    pub fn subject_for(&self, retailer_id: &str) -> String {
        use base64::Engine as _;
        let tag = ring::hmac::sign(&self.subject_key, retailer_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The Ed25519 secret key (for consent receipts, which the same key signs under another assertion).
    pub(crate) fn secret_key(&self) -> &AsymmetricSecretKey<V4> {
        &self.secret
    }

    /// A raw Ed25519 signature over `message` with this signer's key (for the JWS and the webhook signature of
    /// a release, [`crate::release`], which the same key signs).
    pub(crate) fn ed25519_sign(&self, message: &[u8]) -> Result<[u8; 64], TokenError> {
        let seed = &self.secret.as_bytes()[..32];
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| bad_key("the signing seed is not a valid Ed25519 seed"))?;
        let mut out = [0u8; 64];
        out.copy_from_slice(pair.sign(message).as_ref());
        Ok(out)
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> &[u8] {
        self.public.as_bytes()
    }

    /// A verifier for tokens this signer issues.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::from_parts(self.public.clone(), self.issuer.clone(), self.kid.clone())
    }

    /// Sign `claims` into a `v4.public.…` token with the `kid` footer.
    pub fn sign(&self, claims: &TokenClaims) -> Result<String, TokenError> {
        let body = serde_json::to_vec(claims).map_err(|e| TokenError::Signing(e.to_string()))?;
        PublicToken::sign(&self.secret, &body, Some(&self.footer), None)
            .map_err(|e| TokenError::Signing(format!("PASETO signing failed: {e}")))
    }
}

/// A token whose signature has been verified and whose claims have been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The claims as signed.
    pub claims: TokenClaims,
    /// `iat` parsed.
    pub issued_at: DateTime<Utc>,
    /// `nbf` parsed.
    pub not_before: DateTime<Utc>,
    /// `exp` parsed.
    pub expires_at: DateTime<Utc>,
}

impl VerifiedToken {
    /// Check the token's validity window at `now` (`token_not_yet_valid`, `token_expired`).
    pub fn check_time(&self, now: DateTime<Utc>) -> Result<(), TokenError> {
        if now < self.not_before {
            return Err(TokenError::NotYetValid(self.claims.nbf.clone()));
        }
        if now >= self.expires_at {
            return Err(TokenError::Expired(self.claims.exp.clone()));
        }
        Ok(())
    }
}

/// Verifies tokens issued by one vault. Keeps the parsed public key ready and remembers tokens it has
/// already verified (by their exact bytes), so a repeated token costs a hash lookup instead of an Ed25519
/// verification. Only the signature and claims parsing are cached: time, revocation and use counts are
/// checked on every call by the caller (`locket_grants::redeem`).
pub struct TokenVerifier {
    public: AsymmetricPublicKey<V4>,
    issuer: String,
    kid: String,
    cache: Mutex<VerifiedCache>,
}

/// Tokens already verified, by their exact bytes; when full, the oldest entry makes room (a flood of new
/// tokens never flushes the whole cache at once, and no request waits while thousands of entries are freed).
#[derive(Default)]
struct VerifiedCache {
    map: HashMap<Arc<str>, Arc<VerifiedToken>>,
    order: std::collections::VecDeque<Arc<str>>,
}

impl VerifiedCache {
    /// Inserts `token`; returns the entry it evicted, to be dropped after the lock is released.
    fn insert(&mut self, token: &str, verified: Arc<VerifiedToken>) -> Option<Arc<VerifiedToken>> {
        if self.map.contains_key(token) {
            return None;
        }
        let mut evicted = None;
        if self.map.len() >= VERIFIED_CACHE_CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                evicted = self.map.remove(&oldest);
            }
        }
        let key: Arc<str> = Arc::from(token);
        self.order.push_back(Arc::clone(&key));
        self.map.insert(key, verified);
        evicted
    }
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish()
    }
}

impl TokenVerifier {
    fn from_parts(public: AsymmetricPublicKey<V4>, issuer: String, kid: String) -> Self {
        Self {
            public,
            issuer,
            kid,
            cache: Mutex::new(VerifiedCache::default()),
        }
    }

    /// Build from a PASERK `k4.public.…` key and the expected issuer.
    pub fn from_paserk(public_paserk: &str, issuer: &str) -> Result<Self, TokenError> {
        let public =
            AsymmetricPublicKey::<V4>::try_from(public_paserk).map_err(|_| bad_key("not a PASERK k4.public key"))?;
        let kid = paserk_pid(&public)?;
        Ok(Self::from_parts(public, issuer.to_owned(), kid))
    }

    /// The key id (`k4.pid.…`) this verifier accepts.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// Verify signature, key and claims shape (checks 1–2 of redemption), without the time checks.
    pub fn verify_signature(&self, token: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed(format!(
                "the token is {} bytes; at most {MAX_TOKEN_BYTES} are accepted",
                token.len()
            )));
        }
        if let Ok(cache) = self.cache.lock() {
            if let Some(hit) = cache.map.get(token) {
                return Ok(Arc::clone(hit));
            }
        }
        let verified = Arc::new(self.verify_uncached(token)?);
        let evicted = match self.cache.lock() {
            Ok(mut cache) => cache.insert(token, Arc::clone(&verified)),
            Err(_) => None,
        };
        drop(evicted);
        Ok(verified)
    }

    /// Verify a token completely at `now`: checks 1–4 of redemption (malformed, signature/key, not yet
    /// valid, expired).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Arc<VerifiedToken>, TokenError> {
        let verified = self.verify_signature(token)?;
        verified.check_time(now)?;
        Ok(verified)
    }

    /// A token this verifier already verified.
    pub(crate) fn cached(&self, token: &str) -> Option<Arc<VerifiedToken>> {
        self.cache.lock().ok()?.map.get(token).map(Arc::clone)
    }

    /// Remembers a verified token.
    pub(crate) fn remember(&self, token: &str, verified: Arc<VerifiedToken>) {
        let evicted = match self.cache.lock() {
            Ok(mut cache) => cache.insert(token, verified),
            Err(_) => None,
        };
        drop(evicted);
    }

    pub(crate) fn verify_uncached(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        if !token.starts_with(PublicToken::HEADER) {
            return Err(TokenError::Malformed("not a PASETO v4.public token".to_owned()));
        }
        let untrusted = UntrustedToken::<Public, V4>::try_from(token)
            .map_err(|_| TokenError::Malformed("the token's encoding is invalid".to_owned()))?;
        let footer: Footer = serde_json::from_slice(untrusted.untrusted_footer())
            .map_err(|_| TokenError::Malformed("the token's footer is not a {\"kid\"} object".to_owned()))?;
        if footer.kid != self.kid {
            return Err(TokenError::UnknownKey);
        }
        let trusted =
            PublicToken::verify(&self.public, &untrusted, None, None).map_err(|_| TokenError::InvalidSignature)?;
        let claims: TokenClaims = serde_json::from_str(trusted.payload())
            .map_err(|e| TokenError::Malformed(format!("the token's claims are not Locket claims: {e}")))?;
        if claims.iss != self.issuer {
            return Err(TokenError::UnknownKey);
        }
        let time = |s: &str, name: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| TokenError::Malformed(format!("the {name} claim is not an RFC 3339 time")))
        };
        Ok(VerifiedToken {
            issued_at: time(&claims.iat, "iat")?,
            not_before: time(&claims.nbf, "nbf")?,
            expires_at: time(&claims.exp, "exp")?,
            claims,
        })
    }
}

/// Read a token's claims without verifying anything (for showing a grant file to its holder). The result
/// is untrusted.
pub fn peek_claims(token: &str) -> Result<TokenClaims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed("the token is too long".to_owned()));
    }
    let untrusted = UntrustedToken::<Public, V4>::try_from(token)
        .map_err(|_| TokenError::Malformed("not a PASETO v4.public token".to_owned()))?;
    serde_json::from_slice(untrusted.untrusted_payload())
        .map_err(|e| TokenError::Malformed(format!("the token's claims are not Locket claims: {e}")))
}

fn secret_from_seed(seed: &[u8; 32]) -> Result<(AsymmetricSecretKey<V4>, AsymmetricPublicKey<V4>), TokenError> {
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| bad_key("the signing seed is not a valid Ed25519 seed"))?;
    let pk_bytes = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
    let mut sk_bytes = Zeroizing::new(Vec::with_capacity(64));
    sk_bytes.extend_from_slice(seed);
    sk_bytes.extend_from_slice(&pk_bytes);
    let secret = AsymmetricSecretKey::<V4>::from(&sk_bytes).map_err(|_| bad_key("the signing key was refused"))?;
    let public = AsymmetricPublicKey::<V4>::from(&pk_bytes).map_err(|_| bad_key("the public key was refused"))?;
    Ok((secret, public))
}

/// Sign an arbitrary payload as a `v4.public` token with the key from `seed` (the primitive under
/// [`TokenSigner::sign`]; exposed for the PASETO test vectors).
pub fn sign_raw(seed: &[u8; 32], payload: &[u8], footer: &[u8], implicit: &[u8]) -> Result<String, TokenError> {
    let (secret, _) = secret_from_seed(seed)?;
    let footer = (!footer.is_empty()).then_some(footer);
    let implicit = (!implicit.is_empty()).then_some(implicit);
    PublicToken::sign(&secret, payload, footer, implicit)
        .map_err(|e| TokenError::Signing(format!("PASETO signing failed: {e}")))
}

/// Verify a `v4.public` token against a raw 32-byte Ed25519 public key and implicit assertion, returning
/// (payload, footer). The primitive under [`TokenVerifier`]; exposed for the PASETO test vectors.
pub fn verify_raw(public_key: &[u8], token: &str, implicit: &[u8]) -> Result<(Vec<u8>, Vec<u8>), TokenError> {
    let public = AsymmetricPublicKey::<V4>::from(public_key)
        .map_err(|_| TokenError::Malformed("not an Ed25519 public key".to_owned()))?;
    let untrusted = UntrustedToken::<Public, V4>::try_from(token)
        .map_err(|_| TokenError::Malformed("not a PASETO v4.public token".to_owned()))?;
    let implicit = (!implicit.is_empty()).then_some(implicit);
    let trusted = PublicToken::verify(&public, &untrusted, None, implicit).map_err(|_| TokenError::InvalidSignature)?;
    Ok((trusted.payload().as_bytes().to_vec(), trusted.footer().to_vec()))
}

/// The PASERK `k4.public.…` form of a raw 32-byte Ed25519 public key.
pub fn paserk_of_public_key(public_key: &[u8]) -> Result<String, TokenError> {
    let public = AsymmetricPublicKey::<V4>::from(public_key).map_err(|_| bad_key("not an Ed25519 public key"))?;
    paserk_public(&public)
}

/// The key id (`k4.pid.…`) of a PASERK `k4.public.…` key.
pub fn key_id_of(public_paserk: &str) -> Result<String, TokenError> {
    let public =
        AsymmetricPublicKey::<V4>::try_from(public_paserk).map_err(|_| bad_key("not a PASERK k4.public key"))?;
    paserk_pid(&public)
}

/// A key's fingerprint for people to compare: the first 128 bits of SHA-256 over the raw 32-byte Ed25519 public
/// key, as eight groups of four hex digits (`3f2a 9c01 …`).
pub fn fingerprint_of_public_key(public_key: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public_key);
    digest.as_ref()[..16]
        .chunks(2)
        .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`fingerprint_of_public_key`] of a PASERK `k4.public.…` key.
pub fn fingerprint_of(public_paserk: &str) -> Result<String, TokenError> {
    Ok(fingerprint_of_public_key(&public_key_bytes(public_paserk)?))
}

/// The raw 32-byte Ed25519 key of a PASERK `k4.public.…` key.
pub fn public_key_bytes(public_paserk: &str) -> Result<Vec<u8>, TokenError> {
    let public =
        AsymmetricPublicKey::<V4>::try_from(public_paserk).map_err(|_| bad_key("not a PASERK k4.public key"))?;
    Ok(public.as_bytes().to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_eight_groups_of_the_keys_sha256() {
        let fp = fingerprint_of_public_key(&PK);
        assert_eq!(fp.len(), 8 * 4 + 7);
        assert_eq!(fp, fingerprint_of(&paserk_of_public_key(&PK).unwrap()).unwrap());
        assert_ne!(fp, fingerprint_of_public_key(&[4u8; 32]));
    }

    const SEED: [u8; 32] = [7u8; 32];
    const PK: [u8; 32] = [3u8; 32];

    fn claims(now: DateTime<Utc>) -> TokenClaims {
        test_claims("locket:vault:test", "subject", "shop.example", now)
    }

    /// Claims of a one-day grant `gr_1` for `contact.email` (also for the issuer tests).
    pub(crate) fn test_claims(iss: &str, sub: &str, aud: &str, now: DateTime<Utc>) -> TokenClaims {
        TokenClaims {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            jti: "gr_1".into(),
            iat: rfc3339(now),
            nbf: rfc3339(now),
            exp: rfc3339(now + chrono::Duration::days(1)),
            scope: vec!["contact.email".into()],
            purposes: [("contact.email".to_owned(), Purpose::OrderFulfilment)].into(),
        }
    }

    #[test]
    fn cache_evicts_the_oldest_token_only() {
        let signer = TokenSigner::from_seed(&SEED, &PK, "locket:vault:test").unwrap();
        let verifier = signer.verifier();
        let now = Utc::now();
        let tokens: Vec<String> = (0..=VERIFIED_CACHE_CAPACITY as i64)
            .map(|i| {
                let mut c = claims(now);
                c.iat = rfc3339(now - chrono::Duration::seconds(i));
                signer.sign(&c).unwrap()
            })
            .collect();
        let first = verifier.verify_signature(&tokens[0]).unwrap();
        let second = verifier.verify_signature(&tokens[1]).unwrap();
        for t in &tokens[2..] {
            verifier.verify_signature(t).unwrap();
        }
        // One over capacity: the oldest went, everything newer stayed.
        {
            let cache = verifier.cache.lock().unwrap();
            assert_eq!(cache.map.len(), VERIFIED_CACHE_CAPACITY);
            assert_eq!(cache.order.len(), VERIFIED_CACHE_CAPACITY);
            assert!(!cache.map.contains_key(tokens[0].as_str()));
        }
        assert!(Arc::ptr_eq(&second, &verifier.verify_signature(&tokens[1]).unwrap()));
        assert!(!Arc::ptr_eq(&first, &verifier.verify_signature(&tokens[0]).unwrap()));
    }

    #[test]
    fn sign_then_verify_and_time_checks() {
        let signer = TokenSigner::from_seed(&SEED, &PK, "locket:vault:test").unwrap();
        let verifier = signer.verifier();
        let now = Utc::now();
        let token = signer.sign(&claims(now)).unwrap();
        assert!(token.starts_with("v4.public."));
        let v = verifier.verify(&token, now).unwrap();
        assert_eq!(v.claims.jti, "gr_1");
        // Cached: the same Arc comes back.
        let again = verifier.verify_signature(&token).unwrap();
        assert!(Arc::ptr_eq(&v, &again));
        assert_eq!(
            verifier
                .verify(&token, now - chrono::Duration::seconds(5))
                .unwrap_err()
                .code(),
            "token_not_yet_valid"
        );
        assert_eq!(
            verifier
                .verify(&token, now + chrono::Duration::days(1))
                .unwrap_err()
                .code(),
            "token_expired"
        );
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let signer = TokenSigner::from_seed(&SEED, &PK, "locket:vault:test").unwrap();
        let other = TokenSigner::from_seed(&[9u8; 32], &PK, "locket:vault:test").unwrap();
        let verifier = signer.verifier();
        let now = Utc::now();
        let token = signer.sign(&claims(now)).unwrap();

        // Flip a character of the payload.
        let mut bytes = token.clone().into_bytes();
        bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            verifier.verify(&tampered, now).unwrap_err().code(),
            "token_invalid_signature"
        );

        let foreign = other.sign(&claims(now)).unwrap();
        assert_eq!(verifier.verify(&foreign, now).unwrap_err().code(), "token_unknown_key");

        // Foreign token with our kid in the footer: the signature check catches it.
        let (body, _) = foreign.rsplit_once('.').unwrap();
        use base64::Engine as _;
        let our_footer =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"kid\":\"{}\"}}", signer.key_id()));
        let spoofed = format!("{body}.{our_footer}");
        assert_eq!(
            verifier.verify(&spoofed, now).unwrap_err().code(),
            "token_invalid_signature"
        );

        for junk in ["", "v4.public.", "v4.local.abc.def", "Bearer x", "v4.public.!!!"] {
            assert_eq!(
                verifier.verify(junk, now).unwrap_err().code(),
                "token_malformed",
                "{junk}"
            );
        }
        let long = format!("v4.public.{}", "A".repeat(MAX_TOKEN_BYTES));
        assert_eq!(verifier.verify(&long, now).unwrap_err().code(), "token_malformed");
    }

    #[test]
    fn subjects_are_stable_and_pairwise() {
        let signer = TokenSigner::from_seed(&SEED, &PK, "i").unwrap();
        let again = TokenSigner::from_seed(&SEED, &PK, "i").unwrap();
        let other_vault = TokenSigner::from_seed(&SEED, &[8u8; 32], "i").unwrap();
        assert_eq!(signer.subject_for("a.example"), again.subject_for("a.example"));
        assert_ne!(signer.subject_for("a.example"), signer.subject_for("b.example"));
        assert_ne!(signer.subject_for("a.example"), other_vault.subject_for("a.example"));
        assert_eq!(signer.subject_for("a.example").len(), 43);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let signer = TokenSigner::from_seed(&SEED, &PK, "i").unwrap();
        let dbg = format!("{signer:?}");
        assert!(dbg.contains("[redacted]"));
        assert!(!dbg.contains("0707"));
    }

    #[test]
    fn key_errors_have_their_own_code() {
        let e = TokenVerifier::from_paserk("k4.public.nope", "i").unwrap_err();
        assert_eq!(e.code(), "token_key_invalid");
        assert_eq!(e.to_string(), "not a PASERK k4.public key");
        assert_eq!(key_id_of("nope").unwrap_err().code(), "token_key_invalid");
    }
}
