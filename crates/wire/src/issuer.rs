//! Pairwise issuers: every retailer sees a different issuer id and a different Ed25519 key.
//!
//! A vault that signed every shop's tokens and receipts with one key under one id would hand the shops a
//! shared identifier: two shops comparing grant files could tell they serve the same person even though
//! each holds a different pairwise subject id. So a vault signs for each retailer as its own issuer:
//!
//! - the **key** for retailer `r` is the Ed25519 key whose seed is
//!   `HMAC-SHA256(HMAC-SHA256(signing_seed, "locket/pairwise-issuer-key/v1"), r)`;
//! - the **issuer id** is `iss_` followed by the first 16 bytes, in hex, of
//!   `HMAC-SHA256(HMAC-SHA256(pseudonym_key, "locket/pairwise-issuer-id/v1"), r)`;
//! - the **subject id** is, as before, [`TokenSigner::subject_for`].
//!
//! Nothing is stored: the vault's two secrets derive all three again on demand, so a backup or an export
//! carries them implicitly and a restored vault keeps answering its grants. Without the secrets, the ids and
//! keys of two retailers are unrelated (HMAC outputs), so no shop learns anything from another's.
//!
//! Grants issued before pairwise issuers existed carry the vault-wide key and the vault's id
//! ([`Issuers::vault_wide`]); they keep verifying and their consent receipts keep being signed with the key
//! their chain began with. The vault-wide key still signs what only the owner sees (exports, log heads).

use crate::receipt::{ReceiptError, ReceiptSigner};
use crate::token::{SigningKeys, TokenError, TokenSigner, TokenVerifier, VerifiedToken, MAX_TOKEN_BYTES};
use pasetors::token::UntrustedToken;
use pasetors::version4::V4;
use pasetors::Public;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Prefix of a pairwise issuer id.
pub const ISSUER_PREFIX: &str = "iss_";

/// How many retailers' verifiers a [`VaultVerifier`] keeps ready.
pub const RETAILER_CACHE_CAPACITY: usize = 1024;

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&k, data);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

/// Derives each retailer's issuer (id, key, subject) from an unlocked vault's secrets. Holds derived secrets
/// only (zeroized on drop); `Debug` prints the vault id.
#[derive(Clone)]
pub struct Issuers {
    key_root: Zeroizing<[u8; 32]>,
    id_root: Zeroizing<[u8; 32]>,
    pseudonym_key: Zeroizing<[u8; 32]>,
    vault_seed: Zeroizing<[u8; 32]>,
    vault_id: String,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuers")
            .field("vault_id", &self.vault_id)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl Issuers {
    /// The issuers of an unlocked vault.
    pub fn for_vault(vault: &(impl SigningKeys + ?Sized)) -> Self {
        Self::from_secrets(
            vault.signing_seed_bytes(),
            vault.pseudonym_key_bytes(),
            vault.issuer_id(),
        )
    }

    /// From the vault's signing seed, pseudonym key and id.
    pub fn from_secrets(signing_seed: &[u8; 32], pseudonym_key: &[u8; 32], vault_id: &str) -> Self {
        Self {
            key_root: hmac(signing_seed, b"locket/pairwise-issuer-key/v1"),
            id_root: hmac(pseudonym_key, b"locket/pairwise-issuer-id/v1"),
            pseudonym_key: Zeroizing::new(*pseudonym_key),
            vault_seed: Zeroizing::new(*signing_seed),
            vault_id: vault_id.to_owned(),
        }
    }

    /// The issuer id `retailer_id` sees (`iss_` + 32 hex digits).
    pub fn issuer_id_for(&self, retailer_id: &str) -> String {
        let tag = hmac(&self.id_root[..], retailer_id.as_bytes());
        let mut id = String::with_capacity(ISSUER_PREFIX.len() + 32);
        id.push_str(ISSUER_PREFIX);
        for b in &tag[..16] {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }

    /// Signs `retailer_id`'s grant tokens: its own key, issuer id and subject id.
    pub fn token_signer(&self, retailer_id: &str) -> Result<TokenSigner, TokenError> {
        let seed = hmac(&self.key_root[..], retailer_id.as_bytes());
        TokenSigner::from_seed(&seed, &self.pseudonym_key, &self.issuer_id_for(retailer_id))
    }

    /// Signs `retailer_id`'s consent receipts (the same key and issuer as its tokens).
    pub fn receipt_signer(&self, retailer_id: &str) -> Result<ReceiptSigner, ReceiptError> {
        let tokens = self
            .token_signer(retailer_id)
            .map_err(|e| ReceiptError::Signing(e.to_string()))?;
        ReceiptSigner::from_token_signer(&tokens)
    }

    /// The vault-wide signer, under the vault's own id: what grants issued before pairwise issuers carry, and
    /// what signs records only the owner sees. Never used for a new grant.
    pub fn vault_wide(&self) -> Result<TokenSigner, TokenError> {
        TokenSigner::from_seed(&self.vault_seed, &self.pseudonym_key, &self.vault_id)
    }

    /// [`Issuers::vault_wide`] for consent receipts.
    pub fn vault_wide_receipts(&self) -> Result<ReceiptSigner, ReceiptError> {
        ReceiptSigner::from_seed(&self.vault_seed, &self.vault_id)
    }

    /// The receipt signer that continues a chain whose latest receipt was signed by `key_id` for
    /// `retailer_id`: the retailer's own key, or the vault-wide key for a grant issued before pairwise
    /// issuers. `None` for any other key (a chain another vault began, carried over by an import).
    pub fn receipt_signer_for_chain(
        &self,
        retailer_id: &str,
        key_id: Option<&str>,
    ) -> Result<Option<ReceiptSigner>, ReceiptError> {
        let own = self.receipt_signer(retailer_id)?;
        match key_id {
            None => Ok(Some(own)),
            Some(k) if k == own.issuer().key_id => Ok(Some(own)),
            Some(k) => {
                let wide = self.vault_wide_receipts()?;
                Ok((k == wide.issuer().key_id).then_some(wide))
            }
        }
    }

    /// The vault's own id.
    pub fn vault_id(&self) -> &str {
        &self.vault_id
    }

    /// A verifier for every token this vault issued.
    pub fn verifier(&self) -> Result<VaultVerifier, TokenError> {
        VaultVerifier::new(self.clone())
    }
}

#[derive(Deserialize)]
struct Footer {
    kid: String,
}

#[derive(Deserialize)]
struct Audience {
    aud: String,
}

/// Verifies tokens issued by one vault, to any retailer: the token's `aud` (read before the signature is
/// checked, then covered by it) names the retailer whose key must have signed it; a token under the
/// vault-wide key (issued before pairwise issuers) is checked against that key. Remembers the tokens it has
/// verified (by their exact bytes, [`crate::token::VERIFIED_CACHE_CAPACITY`] at most, oldest first out) and
/// the keys of the retailers it has seen ([`RETAILER_CACHE_CAPACITY`] at most).
pub struct VaultVerifier {
    issuers: Issuers,
    vault_wide: TokenVerifier,
    retailers: Mutex<RetailerCache>,
    tokens: TokenVerifier,
}

#[derive(Default)]
struct RetailerCache {
    map: HashMap<String, Arc<TokenVerifier>>,
    order: VecDeque<String>,
}

impl fmt::Debug for VaultVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultVerifier")
            .field("vault_id", &self.issuers.vault_id)
            .finish()
    }
}

impl VaultVerifier {
    fn new(issuers: Issuers) -> Result<Self, TokenError> {
        let vault_wide = issuers.vault_wide()?.verifier();
        // The verified-token cache lives in one verifier, whichever key a token was checked with.
        let tokens = issuers.vault_wide()?.verifier();
        Ok(Self {
            issuers,
            vault_wide,
            retailers: Mutex::new(RetailerCache::default()),
            tokens,
        })
    }

    /// The verifier of `retailer_id`'s tokens, derived once and kept.
    fn for_retailer(&self, retailer_id: &str) -> Result<Arc<TokenVerifier>, TokenError> {
        if let Ok(cache) = self.retailers.lock() {
            if let Some(v) = cache.map.get(retailer_id) {
                return Ok(Arc::clone(v));
            }
        }
        let v = Arc::new(self.issuers.token_signer(retailer_id)?.verifier());
        if let Ok(mut cache) = self.retailers.lock() {
            if !cache.map.contains_key(retailer_id) {
                if cache.map.len() >= RETAILER_CACHE_CAPACITY {
                    if let Some(oldest) = cache.order.pop_front() {
                        cache.map.remove(&oldest);
                    }
                }
                cache.order.push_back(retailer_id.to_owned());
                cache.map.insert(retailer_id.to_owned(), Arc::clone(&v));
            }
        }
        Ok(v)
    }

    /// Verify signature, key and claims shape, without the time checks (see
    /// [`TokenVerifier::verify_signature`]): `token_unknown_key` when neither the retailer's key nor the
    /// vault-wide key signed it.
    pub fn verify_signature(&self, token: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed(format!(
                "the token is {} bytes; at most {MAX_TOKEN_BYTES} are accepted",
                token.len()
            )));
        }
        if let Some(hit) = self.tokens.cached(token) {
            return Ok(hit);
        }
        if !token.starts_with("v4.public.") {
            return Err(TokenError::Malformed("not a PASETO v4.public token".to_owned()));
        }
        let untrusted = UntrustedToken::<Public, V4>::try_from(token)
            .map_err(|_| TokenError::Malformed("the token's encoding is invalid".to_owned()))?;
        let footer: Footer = serde_json::from_slice(untrusted.untrusted_footer())
            .map_err(|_| TokenError::Malformed("the token's footer is not a {\"kid\"} object".to_owned()))?;
        let verifier = if footer.kid == self.vault_wide.key_id() {
            None
        } else {
            // Unverified claims that name no retailer point to no key of this vault: nothing signed by it.
            let aud: Audience =
                serde_json::from_slice(untrusted.untrusted_payload()).map_err(|_| TokenError::UnknownKey)?;
            Some(self.for_retailer(&aud.aud)?)
        };
        let verified = Arc::new(verifier.as_deref().unwrap_or(&self.vault_wide).verify_uncached(token)?);
        self.tokens.remember(token, Arc::clone(&verified));
        Ok(verified)
    }

    /// [`VaultVerifier::verify_signature`] and the validity window at `now`.
    pub fn verify(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> Result<Arc<VerifiedToken>, TokenError> {
        let verified = self.verify_signature(token)?;
        verified.check_time(now)?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::test_claims;
    use chrono::Utc;

    fn issuers() -> Issuers {
        Issuers::from_secrets(&[7u8; 32], &[9u8; 32], "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10")
    }

    fn token(signer: &TokenSigner, aud: &str) -> String {
        let claims = test_claims(signer.issuer(), &signer.subject_for(aud), aud, Utc::now());
        signer.sign(&claims).unwrap()
    }

    #[test]
    fn two_retailers_share_no_id_or_key() {
        let i = issuers();
        let (a, b) = (
            i.token_signer("shop-a.example").unwrap(),
            i.token_signer("shop-b.example").unwrap(),
        );
        assert_ne!(a.issuer(), b.issuer());
        assert_ne!(a.key_id(), b.key_id());
        assert_ne!(a.public_paserk(), b.public_paserk());
        assert!(a.issuer().starts_with(ISSUER_PREFIX) && a.issuer().len() == 36);
        let wide = i.vault_wide().unwrap();
        assert_ne!(a.key_id(), wide.key_id());
        // Stable: the same secrets derive the same issuer again.
        assert_eq!(issuers().token_signer("shop-a.example").unwrap().key_id(), a.key_id());
    }

    #[test]
    fn the_verifier_takes_each_retailers_key_and_the_vault_wide_one() {
        let i = issuers();
        let v = i.verifier().unwrap();
        let a = i.token_signer("shop-a.example").unwrap();
        assert!(v.verify(&token(&a, "shop-a.example"), Utc::now()).is_ok());
        assert!(v
            .verify(&token(&i.vault_wide().unwrap(), "shop-a.example"), Utc::now())
            .is_ok());
        // Shop A's key signing a token that claims shop B: B's key is expected.
        assert_eq!(
            v.verify(&token(&a, "shop-b.example"), Utc::now()).unwrap_err(),
            TokenError::UnknownKey
        );
        // Another vault.
        let other = Issuers::from_secrets(&[1u8; 32], &[2u8; 32], "other")
            .token_signer("shop-a.example")
            .unwrap();
        assert_eq!(
            v.verify(&token(&other, "shop-a.example"), Utc::now()).unwrap_err(),
            TokenError::UnknownKey
        );
    }

    #[test]
    fn the_retailer_cache_stays_bounded() {
        let i = issuers();
        let v = i.verifier().unwrap();
        for n in 0..RETAILER_CACHE_CAPACITY + 10 {
            let aud = format!("shop-{n}.example");
            let s = i.token_signer(&aud).unwrap();
            assert!(v.verify_signature(&token(&s, &aud)).is_ok());
        }
        let cache = v.retailers.lock().unwrap();
        assert_eq!(cache.map.len(), RETAILER_CACHE_CAPACITY);
        assert!(!cache.map.contains_key("shop-0.example"));
    }

    #[test]
    fn chains_continue_with_the_key_they_began_with() {
        let i = issuers();
        let own = i.receipt_signer("shop-a.example").unwrap();
        let wide = i.vault_wide_receipts().unwrap();
        let pick = |k: Option<&str>| {
            i.receipt_signer_for_chain("shop-a.example", k)
                .unwrap()
                .map(|s| s.issuer().key_id.clone())
        };
        assert_eq!(pick(None), Some(own.issuer().key_id.clone()));
        assert_eq!(pick(Some(&own.issuer().key_id)), Some(own.issuer().key_id.clone()));
        assert_eq!(pick(Some(&wide.issuer().key_id)), Some(wide.issuer().key_id.clone()));
        assert_eq!(pick(Some("k4.pid.someone-else")), None);
    }
}
