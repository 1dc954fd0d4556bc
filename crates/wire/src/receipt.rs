//! Consent receipts (`locket.consent-receipt/v1`): a signed record of each consent decision, shaped after
//! the Kantara Initiative Consent Receipt and the ISO/IEC TS 27560 consent record.
//!
//! One receipt is issued per event on a grant — `grant` (the owner approved), `narrowing` (scopes were
//! withdrawn), `revoke` and `expiry` — numbered by `version` (1 for the grant, +1 per later event) and
//! chained by `previous_receipt_id`. It names the controller (the retailer, with contact and privacy
//! policy), the PII principal *as the retailer knows them* (the pairwise subject id, never a name or an
//! email), each scope with its purpose, sensitivity and expiry, the retention promise, the jurisdiction and
//! the timestamps. It contains no profile values.
//!
//! It also records what the owner was told when they decided: `benefit`, what the shop offered in return (the
//! value exchange; absent when nothing was offered), and `recipients`, every party beyond the controller that
//! the request said receives the data — ISO/IEC TS 27560's recipient third parties (`recipient_third_parties`),
//! Kantara's `thirdPartyDisclosure`/`thirdPartyName` — each with its role (processor, joint controller, third
//! party), purpose and country. `"recipients": []` records that the shop named nobody else. Both are the
//! shop's claims, signed as the owner saw them. Receipts issued before Locket recorded them have neither
//! member, and verify as before.
//!
//! ## Signature
//!
//! A receipt is signed with the vault's Ed25519 key — the same key that signs grant tokens — as a
//! **PASETO v4.public** token carried in `proof.token`:
//!
//! - payload: the receipt as JSON *without* its `proof` member;
//! - footer: `{"kid":"k4.pid.…"}` (the PASERK id of the key, as for grant tokens);
//! - implicit assertion: the ASCII bytes `locket.consent-receipt/v1`. This separates the two uses of the
//!   key: a receipt can never be passed off as a grant token, nor a token as a receipt.
//!
//! To verify with any PASETO v4 library: verify `proof.token` with the published PASERK `k4.public.…` key
//! and that implicit assertion, then check that the payload equals the receipt minus `proof` as JSON
//! values (member order and whitespace do not matter). [`verify_receipt`] does exactly that. The payload is
//! the authoritative copy; the readable members beside it are for convenience.

use crate::catalog::Sensitivity;
use crate::exchange::{Benefit, Recipient};
use crate::purpose::Purpose;
use crate::request::Retention;
use crate::scope::ScopeKind;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use zeroize::Zeroizing;

/// The `format` of a consent receipt, also the PASETO implicit assertion of its signature.
pub const RECEIPT_FORMAT: &str = "locket.consent-receipt/v1";

/// The published JSON Schema, as text.
pub use crate::schemas::RECEIPT_SCHEMA;

/// Largest receipt document [`verify_receipt`] reads.
pub const MAX_RECEIPT_BYTES: usize = 256 * 1024;

/// A receipt could not be made, stored or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Not a receipt document.
    #[error("this is not a locket.consent-receipt/v1 document: {0}")]
    Malformed(String),
    /// The key given is not a PASERK public key.
    #[error("the key is not a PASERK k4.public key; use the public_key from the grant file")]
    BadKey,
    /// The signature does not verify with the key, or the signed copy differs from the readable one.
    #[error("the receipt's signature does not verify with this key, or the receipt was altered after signing")]
    InvalidSignature,
    /// Signing failed.
    #[error("could not sign the receipt: {0}")]
    Signing(String),
    /// The owner's vault could not read or store receipts, or the grant they belong to (only inside the
    /// owner's Locket; verifying a receipt never returns this).
    #[error("{message}")]
    Storage {
        /// The stable code of the underlying failure (`database_error`, `grant_not_found`, …).
        code: &'static str,
        /// What failed, in words.
        message: String,
    },
}

impl ReceiptError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Malformed(_) => "receipt_malformed",
            ReceiptError::BadKey => "receipt_key_invalid",
            ReceiptError::InvalidSignature => "receipt_invalid_signature",
            ReceiptError::Signing(_) => "receipt_signing_failed",
            ReceiptError::Storage { code, .. } => code,
        }
    }
}

/// What happened to the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptEvent {
    /// The owner granted the scopes.
    Grant,
    /// Some scopes were withdrawn; the rest stay granted.
    Narrowing,
    /// The grant was revoked (by the owner or handed back by the retailer).
    Revoke,
    /// The grant reached its expiry.
    Expiry,
}

impl ReceiptEvent {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptEvent::Grant => "grant",
            ReceiptEvent::Narrowing => "narrowing",
            ReceiptEvent::Revoke => "revoke",
            ReceiptEvent::Expiry => "expiry",
        }
    }

    /// The event with wire name `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Grant, Self::Narrowing, Self::Revoke, Self::Expiry]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// The vault that issued the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptIssuer {
    /// The vault's public id (the tokens' `iss`).
    pub vault_id: String,
    /// The signing key as PASERK `k4.public.…`.
    pub public_key: String,
    /// Its PASERK id `k4.pid.…`.
    pub key_id: String,
}

/// The PII controller: the retailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Retailer id (the tokens' `aud`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Website origin.
    pub origin: String,
    /// Contact for data questions (email or URL).
    pub contact: String,
    /// Privacy policy URL.
    pub privacy_policy_url: String,
}

/// The PII principal as the controller knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The pairwise subject id given to this retailer.
    pub subject_id: String,
}

/// The grant's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantTerms {
    /// `gr_…`.
    pub grant_id: String,
    /// `req_…`.
    pub request_id: String,
    /// Valid from (RFC 3339).
    pub not_before: String,
    /// Valid until (RFC 3339).
    pub expires_at: String,
    /// Redemption cap (`null` = unlimited).
    pub max_uses: Option<u32>,
}

/// One consented scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptScope {
    /// Scope string.
    pub scope: String,
    /// Field, group or derived.
    pub kind: ScopeKind,
    /// Label shown to the owner.
    pub label: String,
    /// Purpose.
    pub purpose: Purpose,
    /// The retailer's words about the purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_text: Option<String>,
    /// How sensitive the data is (`low`, `personal`, `sensitive`).
    pub sensitivity: Sensitivity,
    /// When consent for it ends (RFC 3339).
    pub expires_at: String,
}

/// The signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Always `paseto.v4.public`.
    #[serde(rename = "type")]
    pub kind: String,
    /// PASERK id of the signing key.
    pub key_id: String,
    /// The PASETO v4.public token whose payload is the receipt without `proof`.
    pub token: String,
}

/// A consent receipt (`locket.consent-receipt/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// `cr_` + 32 hex.
    pub receipt_id: String,
    /// 1 for the grant; +1 for each later event on the same grant.
    pub version: u32,
    /// The receipt this one follows (`null` for version 1).
    pub previous_receipt_id: Option<String>,
    /// What happened.
    pub event: ReceiptEvent,
    /// Jurisdiction whose law the consent is given under (ISO 3166-1 alpha-2 or `EU`).
    pub jurisdiction: String,
    /// Language of the labels (BCP 47).
    pub language: String,
    /// How consent was collected (`locket-cli`, `locket-desktop`, `retailer`, `locket` for expiry).
    pub collection_method: String,
    /// Always `explicit`: every grant is an explicit act of the owner.
    pub consent_type: String,
    /// When the owner consented (the grant's issue time).
    pub consent_at: String,
    /// When this event took effect (grant, narrowing, revocation or expiry time).
    pub event_at: String,
    /// When the receipt was issued.
    pub issued_at: String,
    /// Who signed.
    pub issuer: ReceiptIssuer,
    /// The retailer.
    pub controller: Controller,
    /// The owner, pseudonymously.
    pub pii_principal: Principal,
    /// The grant's terms.
    pub grant: GrantTerms,
    /// Scopes consented to after this event (empty after a revoke or expiry).
    pub scopes: Vec<ReceiptScope>,
    /// Scopes whose consent ended with this event.
    pub withdrawn_scopes: Vec<String>,
    /// The retailer's retention promise.
    pub retention: Retention,
    /// What the shop offered in return, as the request stated it; absent when nothing was offered (and on
    /// receipts issued before Locket recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benefit: Option<Benefit>,
    /// Every recipient beyond the controller the request named; empty when it named nobody else; absent on
    /// receipts issued before Locket recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<Recipient>>,
    /// A note (the revocation reason, …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The signature (absent only on an unsigned receipt being built).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
}

impl Receipt {
    /// Pretty JSON, the form given to retailers and exported.
    pub fn to_json_pretty(&self) -> String {
        // Plain strings, numbers and enums: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The receipt as JSON without `proof` (what the signature covers).
    fn unsigned_value(&self) -> Result<Value, ReceiptError> {
        let mut copy = self.clone();
        copy.proof = None;
        serde_json::to_value(&copy).map_err(|e| ReceiptError::Malformed(e.to_string()))
    }
}

/// Signs receipts with the vault's Ed25519 key. `Debug` prints `[redacted]` for the key.
pub struct ReceiptSigner {
    secret: AsymmetricSecretKey<V4>,
    issuer: ReceiptIssuer,
    footer: Vec<u8>,
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("issuer", &self.issuer)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl ReceiptSigner {
    /// Build from the 32-byte Ed25519 seed and the vault id.
    pub fn from_seed(seed: &[u8; 32], vault_id: &str) -> Result<Self, ReceiptError> {
        let err = |m: &str| ReceiptError::Signing(m.to_owned());
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| err("the signing seed is not a valid Ed25519 seed"))?;
        let pk = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
        let mut sk = Zeroizing::new(Vec::with_capacity(64));
        sk.extend_from_slice(seed);
        sk.extend_from_slice(&pk);
        let secret = AsymmetricSecretKey::<V4>::from(&sk).map_err(|_| err("the signing key was refused"))?;
        let public = AsymmetricPublicKey::<V4>::from(&pk).map_err(|_| err("the public key was refused"))?;
        let mut public_key = String::new();
        public
            .fmt(&mut public_key)
            .map_err(|_| err("could not format the key"))?;
        let mut key_id = String::new();
        Id::from(&public)
            .fmt(&mut key_id)
            .map_err(|_| err("could not format the key id"))?;
        let footer = serde_json::to_vec(&serde_json::json!({ "kid": key_id })).map_err(|e| err(&e.to_string()))?;
        Ok(Self {
            secret,
            issuer: ReceiptIssuer {
                vault_id: vault_id.to_owned(),
                public_key,
                key_id,
            },
            footer,
        })
    }

    /// The receipt signer that goes with a grant-token signer: the same vault key and issuer.
    pub fn from_token_signer(tokens: &crate::token::TokenSigner) -> Result<Self, ReceiptError> {
        let footer = serde_json::to_vec(&serde_json::json!({ "kid": tokens.key_id() }))
            .map_err(|e| ReceiptError::Signing(e.to_string()))?;
        Ok(Self {
            secret: tokens.secret_key().clone(),
            issuer: ReceiptIssuer {
                vault_id: tokens.issuer().to_owned(),
                public_key: tokens.public_paserk().to_owned(),
                key_id: tokens.key_id().to_owned(),
            },
            footer,
        })
    }

    /// Who this signer signs as.
    pub fn issuer(&self) -> &ReceiptIssuer {
        &self.issuer
    }
}

/// How a consent event was collected or came about (the receipt's `collection_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// The owner used the `locket` CLI.
    Cli,
    /// The owner used the desktop app.
    Desktop,
    /// The retailer acted (gave the grant back at `POST /v1/grant/revoke`).
    Retailer,
    /// Locket itself (an expiry, or a caller that does not say).
    Locket,
}

impl Collection {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Cli => "locket-cli",
            Collection::Desktop => "locket-desktop",
            Collection::Retailer => "retailer",
            Collection::Locket => "locket",
        }
    }
}

/// Jurisdiction used when the owner has not set `contact.country`.
pub const DEFAULT_JURISDICTION: &str = "EU";

/// Sign `receipt`: sets `issuer` to the signer's and `proof` to a PASETO v4.public token over the rest.
pub fn sign_receipt(signer: &ReceiptSigner, mut receipt: Receipt) -> Result<Receipt, ReceiptError> {
    receipt.issuer = signer.issuer.clone();
    receipt.proof = None;
    let payload = serde_json::to_vec(&receipt).map_err(|e| ReceiptError::Signing(e.to_string()))?;
    let token = PublicToken::sign(
        &signer.secret,
        &payload,
        Some(&signer.footer),
        Some(RECEIPT_FORMAT.as_bytes()),
    )
    .map_err(|e| ReceiptError::Signing(e.to_string()))?;
    receipt.proof = Some(Proof {
        kind: "paseto.v4.public".to_owned(),
        key_id: signer.issuer.key_id.clone(),
        token,
    });
    Ok(receipt)
}

/// Verify a receipt document (JSON text) against the published PASERK public key: the PASETO signature
/// with the receipt implicit assertion, the key id, and that the readable receipt equals the signed one.
/// Returns the receipt as signed.
pub fn verify_receipt(receipt_json: &str, paserk_public: &str) -> Result<Receipt, ReceiptError> {
    if receipt_json.len() > MAX_RECEIPT_BYTES {
        return Err(ReceiptError::Malformed(format!(
            "the document is {} bytes; receipts are at most {MAX_RECEIPT_BYTES}",
            receipt_json.len()
        )));
    }
    let receipt: Receipt = serde_json::from_str(receipt_json).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    if receipt.format != RECEIPT_FORMAT {
        return Err(ReceiptError::Malformed(format!("format is {:?}", receipt.format)));
    }
    let proof = receipt
        .proof
        .as_ref()
        .ok_or_else(|| ReceiptError::Malformed("the receipt is not signed (no proof)".to_owned()))?;
    if proof.kind != "paseto.v4.public" {
        return Err(ReceiptError::Malformed(format!("unknown proof type {:?}", proof.kind)));
    }
    let public = AsymmetricPublicKey::<V4>::try_from(paserk_public).map_err(|_| ReceiptError::BadKey)?;
    let mut kid = String::new();
    Id::from(&public).fmt(&mut kid).map_err(|_| ReceiptError::BadKey)?;
    if proof.key_id != kid || receipt.issuer.key_id != kid {
        return Err(ReceiptError::InvalidSignature);
    }
    let untrusted =
        UntrustedToken::<Public, V4>::try_from(proof.token.as_str()).map_err(|_| ReceiptError::InvalidSignature)?;
    let footer = serde_json::to_vec(&serde_json::json!({ "kid": kid })).map_err(|_| ReceiptError::BadKey)?;
    let trusted = PublicToken::verify(&public, &untrusted, Some(&footer), Some(RECEIPT_FORMAT.as_bytes()))
        .map_err(|_| ReceiptError::InvalidSignature)?;
    let signed: Value = serde_json::from_str(trusted.payload()).map_err(|_| ReceiptError::InvalidSignature)?;
    if signed != receipt.unsigned_value()? {
        return Err(ReceiptError::InvalidSignature);
    }
    Ok(receipt)
}
