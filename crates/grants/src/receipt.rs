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

use crate::purpose::Purpose;
use crate::request::{GrantRequest, Retention};
use crate::scope::ScopeKind;
use crate::store::GrantRecord;
use crate::token::rfc3339;
use chrono::{DateTime, Utc};
use locket_vault::catalog::Sensitivity;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use zeroize::Zeroizing;

/// The `format` of a consent receipt, also the PASETO implicit assertion of its signature.
pub const RECEIPT_FORMAT: &str = "locket.consent-receipt/v1";

/// The published JSON Schema, as text.
pub const RECEIPT_SCHEMA: &str = include_str!("../../../docs/schemas/consent-receipt.v1.schema.json");

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
    /// The grant or its request could not be read.
    #[error(transparent)]
    Grant(#[from] crate::GrantError),
    /// The database failed.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl ReceiptError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Malformed(_) => "receipt_malformed",
            ReceiptError::BadKey => "receipt_key_invalid",
            ReceiptError::InvalidSignature => "receipt_invalid_signature",
            ReceiptError::Signing(_) => "receipt_signing_failed",
            ReceiptError::Grant(e) => e.code(),
            ReceiptError::Database(_) => "database_error",
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

    fn parse(s: &str) -> Option<Self> {
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
    /// The signer of an unlocked vault (the same key as its grant tokens).
    pub fn for_vault(vault: &locket_vault::Vault) -> Result<Self, ReceiptError> {
        Self::from_seed(vault.signing_seed().expose(), vault.id())
    }

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

/// The jurisdiction of the owner's consents: their `contact.country` (ISO 3166-1 alpha-2) if set, else
/// [`DEFAULT_JURISDICTION`].
pub fn owner_jurisdiction(conn: &Connection) -> String {
    locket_vault::profile::current_values(conn, &["contact.country"])
        .ok()
        .and_then(|v| v.into_iter().next())
        .and_then(|v| v.value.as_str().map(str::to_owned))
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .unwrap_or_else(|| DEFAULT_JURISDICTION.to_owned())
}

/// The context of an event happening `now`, collected by `method`: the owner's jurisdiction
/// ([`owner_jurisdiction`]), labels in English, no narrowing, no note.
pub fn context_now(conn: &Connection, event: ReceiptEvent, now: DateTime<Utc>, method: Collection) -> ReceiptContext {
    ReceiptContext {
        event,
        event_at: now,
        issued_at: now,
        jurisdiction: owner_jurisdiction(conn),
        language: "en".to_owned(),
        collection_method: method.as_str().to_owned(),
        remaining_scopes: None,
        note: None,
    }
}

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

// ---------------------------------------------------------------------------------------------------------
// Building receipts from grants.

/// Context for a receipt that the grant record does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContext {
    /// What happened.
    pub event: ReceiptEvent,
    /// When it took effect.
    pub event_at: DateTime<Utc>,
    /// When the receipt is issued.
    pub issued_at: DateTime<Utc>,
    /// Jurisdiction (e.g. the owner's `contact.country`, or `EU`).
    pub jurisdiction: String,
    /// Language of the labels.
    pub language: String,
    /// How consent was collected (`locket-cli`, `locket-desktop`, `retailer`, `locket`).
    pub collection_method: String,
    /// Scopes that stay granted after a narrowing (`None` = the grant's scopes; ignored for revoke/expiry).
    pub remaining_scopes: Option<Vec<String>>,
    /// A note (revocation reason).
    pub note: Option<String>,
}

fn new_receipt_id() -> Result<String, ReceiptError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ReceiptError::Signing("the system random number generator failed".to_owned()))?;
    Ok(format!("cr_{}", hex::encode(b)))
}

/// Build the (unsigned) receipt for an event on `grant`, which answered `request`. `previous` is the
/// grant's latest receipt, if any (sets `version` and `previous_receipt_id`).
pub fn build_receipt(
    grant: &GrantRecord,
    request: &GrantRequest,
    ctx: &ReceiptContext,
    previous: Option<&Receipt>,
    issuer: &ReceiptIssuer,
) -> Result<Receipt, ReceiptError> {
    let expires_at = rfc3339(grant.expires_at);
    let all: Vec<ReceiptScope> = grant
        .scopes
        .iter()
        .map(|s| ReceiptScope {
            scope: s.scope.clone(),
            kind: s.kind,
            label: s.label.clone(),
            purpose: s.purpose,
            purpose_text: s.purpose_text.clone(),
            sensitivity: crate::derived::sensitivity(&s.scope).unwrap_or(Sensitivity::Personal),
            expires_at: expires_at.clone(),
        })
        .collect();
    // What was consented to before this event: the previous receipt's scopes, else the grant's.
    let before: Vec<String> = match previous {
        Some(p) => p.scopes.iter().map(|s| s.scope.clone()).collect(),
        None => all.iter().map(|s| s.scope.clone()).collect(),
    };
    let scopes: Vec<ReceiptScope> = match ctx.event {
        ReceiptEvent::Revoke | ReceiptEvent::Expiry => Vec::new(),
        ReceiptEvent::Grant => all,
        ReceiptEvent::Narrowing => {
            let keep = ctx.remaining_scopes.clone().unwrap_or_else(|| before.clone());
            all.into_iter()
                .filter(|s| keep.contains(&s.scope) && before.contains(&s.scope))
                .collect()
        }
    };
    let withdrawn: Vec<String> = before
        .iter()
        .filter(|b| !scopes.iter().any(|s| &s.scope == *b))
        .cloned()
        .collect();
    Ok(Receipt {
        format: RECEIPT_FORMAT.to_owned(),
        receipt_id: new_receipt_id()?,
        version: previous.map_or(1, |p| p.version + 1),
        previous_receipt_id: previous.map(|p| p.receipt_id.clone()),
        event: ctx.event,
        jurisdiction: ctx.jurisdiction.clone(),
        language: ctx.language.clone(),
        collection_method: ctx.collection_method.clone(),
        consent_type: "explicit".to_owned(),
        consent_at: rfc3339(grant.issued_at),
        event_at: rfc3339(ctx.event_at),
        issued_at: rfc3339(ctx.issued_at),
        issuer: issuer.clone(),
        controller: Controller {
            id: request.retailer.id.clone(),
            name: request.retailer.name.clone(),
            origin: request.retailer.origin.clone(),
            contact: request.retailer.contact.clone(),
            privacy_policy_url: request.retailer.privacy_policy.clone(),
        },
        pii_principal: Principal {
            subject_id: grant.subject.clone(),
        },
        grant: GrantTerms {
            grant_id: grant.id.clone(),
            request_id: grant.request_id.clone(),
            not_before: rfc3339(grant.not_before),
            expires_at,
            max_uses: grant.max_uses,
        },
        scopes,
        withdrawn_scopes: withdrawn,
        retention: request.retention.clone(),
        note: ctx.note.clone(),
        proof: None,
    })
}

/// Store a signed receipt in the vault (table `consent_receipts`).
pub fn store_receipt(tx: &Transaction<'_>, receipt: &Receipt) -> Result<(), ReceiptError> {
    if receipt.proof.is_none() {
        return Err(ReceiptError::Malformed("only signed receipts are stored".to_owned()));
    }
    let document = serde_json::to_string(receipt).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    tx.execute(
        "INSERT INTO consent_receipts (id, grant_id, retailer_id, event, version, issued_at, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            receipt.receipt_id,
            receipt.grant.grant_id,
            receipt.controller.id,
            receipt.event.as_str(),
            receipt.version,
            receipt.issued_at,
            document
        ],
    )?;
    Ok(())
}

fn parse_stored(document: String) -> Result<Receipt, ReceiptError> {
    serde_json::from_str(&document).map_err(|e| ReceiptError::Malformed(format!("stored receipt: {e}")))
}

/// The latest receipt of a grant, if any.
pub fn latest_for_grant(conn: &Connection, grant_id: &str) -> Result<Option<Receipt>, ReceiptError> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT document FROM consent_receipts WHERE grant_id = ?1 ORDER BY version DESC LIMIT 1",
            [grant_id],
            |r| r.get(0),
        )
        .optional()?;
    doc.map(parse_stored).transpose()
}

/// Every receipt of one grant, oldest (version 1) first.
pub fn for_grant(conn: &Connection, grant_id: &str) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = conn.prepare("SELECT document FROM consent_receipts WHERE grant_id = ?1 ORDER BY version")?;
    let docs: Vec<String> = stmt.query_map([grant_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    docs.into_iter().map(parse_stored).collect()
}

/// One stored receipt by id (`cr_…`) or a unique prefix of at least 6 characters.
pub fn get_receipt(conn: &Connection, id: &str) -> Result<Option<Receipt>, ReceiptError> {
    let id = id.trim();
    let mut stmt = conn.prepare(
        "SELECT document FROM consent_receipts WHERE id = ?1
            OR (length(?1) >= 6 AND substr(id, 1, length(?1)) = ?1) ORDER BY id LIMIT 2",
    )?;
    let docs: Vec<String> = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match docs.len() {
        0 => Ok(None),
        1 => docs.into_iter().next().map(parse_stored).transpose(),
        _ => Err(ReceiptError::Grant(crate::GrantError::AmbiguousId(id.to_owned()))),
    }
}

/// Every stored receipt, optionally of one retailer and/or one event kind, oldest first (for export).
pub fn list_receipts(
    conn: &Connection,
    retailer_id: Option<&str>,
    event: Option<ReceiptEvent>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = conn.prepare(
        "SELECT document, event FROM consent_receipts
         WHERE (?1 IS NULL OR retailer_id = ?1) AND (?2 IS NULL OR event = ?2)
         ORDER BY issued_at, grant_id, version",
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map(params![retailer_id, event.map(ReceiptEvent::as_str)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(doc, ev)| {
            ReceiptEvent::parse(&ev).ok_or_else(|| ReceiptError::Malformed(format!("stored event {ev:?}")))?;
            parse_stored(doc)
        })
        .collect()
}

/// Build, sign and store the receipt for an event on `grant` in `tx`, chained to the grant's latest
/// receipt. Returns the signed receipt (the retailer's copy).
pub fn issue_receipt(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    grant: &GrantRecord,
    request: &GrantRequest,
    ctx: &ReceiptContext,
) -> Result<Receipt, ReceiptError> {
    let previous = latest_for_grant(tx, &grant.id)?;
    let unsigned = build_receipt(grant, request, ctx, previous.as_ref(), signer.issuer())?;
    let signed = sign_receipt(signer, unsigned)?;
    store_receipt(tx, &signed)?;
    Ok(signed)
}

/// [`issue_receipt`] for the stored grant `grant_id` (loads the grant and the request it answered).
pub fn issue_for_grant(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    grant_id: &str,
    ctx: &ReceiptContext,
) -> Result<Receipt, ReceiptError> {
    let grant = crate::store::get_grant(tx, grant_id)?;
    let request = crate::store::get_request(tx, &grant.request_id)?.request;
    issue_receipt(tx, signer, &grant, &request, ctx)
}

/// Issue the `expiry` receipt of every grant that has receipts, has reached its expiry by `now`, was not
/// revoked, and whose consent record does not end yet (its latest receipt is neither `revoke` nor `expiry`).
/// `template` supplies jurisdiction, language and method; `event_at` is each grant's expiry time. Returns the
/// receipts issued. Safe to run repeatedly (e.g. at unlock and hourly).
pub fn issue_due_expiries(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    template: &ReceiptContext,
    now: DateTime<Utc>,
) -> Result<Vec<Receipt>, ReceiptError> {
    due_expiries(tx, signer, template, now, None)
}

fn due_expiries(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    template: &ReceiptContext,
    now: DateTime<Utc>,
    only_grant: Option<&str>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = tx.prepare(
        "SELECT g.id FROM grants g
         WHERE g.revoked_at IS NULL AND g.expires_at <= ?1 AND (?2 IS NULL OR g.id = ?2)
           AND (SELECT r.event FROM consent_receipts r WHERE r.grant_id = g.id ORDER BY r.version DESC LIMIT 1)
               IN ('grant', 'narrowing')
         ORDER BY g.expires_at, g.id",
    )?;
    let ids: Vec<String> = stmt
        .query_map(params![rfc3339(now), only_grant], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if !chain_is_ours(tx, signer, &id)? {
            continue;
        }
        let grant = crate::store::get_grant(tx, &id)?;
        let request = crate::store::get_request(tx, &grant.request_id)?.request;
        let ctx = ReceiptContext {
            event: ReceiptEvent::Expiry,
            event_at: grant.expires_at,
            issued_at: now,
            collection_method: Collection::Locket.as_str().to_owned(),
            remaining_scopes: None,
            note: None,
            ..template.clone()
        };
        out.push(issue_receipt(tx, signer, &grant, &request, &ctx)?);
    }
    Ok(out)
}

/// Whether the grant's receipt chain was signed by `signer`'s key (or has no receipts yet). A chain begun by
/// another vault (grants carried over by an import, then marked moved) is never extended: this vault cannot
/// speak for the consent another vault recorded.
fn chain_is_ours(conn: &Connection, signer: &ReceiptSigner, grant_id: &str) -> Result<bool, ReceiptError> {
    Ok(latest_for_grant(conn, grant_id)?.is_none_or(|r| r.issuer.key_id == signer.issuer.key_id))
}

/// The `revoke` receipt of a revoked grant, unless its consent record already ended (its latest receipt is
/// a `revoke` or an `expiry`). `event_at` is the revocation time, the note its reason, and the method
/// `retailer` when the retailer gave the grant back. Returns `None` when nothing was due, and for a chain
/// signed by another vault's key (an imported grant).
pub fn issue_revoke(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    grant_id: &str,
    template: &ReceiptContext,
) -> Result<Option<Receipt>, ReceiptError> {
    let grant = crate::store::get_grant(tx, grant_id)?;
    let Some(revoked_at) = grant.revoked_at else {
        return Ok(None);
    };
    if let Some(latest) = latest_for_grant(tx, &grant.id)? {
        if matches!(latest.event, ReceiptEvent::Revoke | ReceiptEvent::Expiry)
            || latest.issuer.key_id != signer.issuer.key_id
        {
            return Ok(None);
        }
    }
    let request = crate::store::get_request(tx, &grant.request_id)?.request;
    let method = match grant.revoked_by {
        Some(crate::store::RevokedBy::Retailer) => Collection::Retailer.as_str().to_owned(),
        _ => template.collection_method.clone(),
    };
    let ctx = ReceiptContext {
        event: ReceiptEvent::Revoke,
        event_at: revoked_at,
        collection_method: method,
        remaining_scopes: None,
        note: grant.revoke_reason.clone(),
        ..template.clone()
    };
    issue_receipt(tx, signer, &grant, &request, &ctx).map(Some)
}

/// Catch up on every receipt that is due and was not issued when its event happened: `revoke` receipts
/// of grants revoked by a caller that had no signing key at hand, then `expiry` receipts
/// ([`issue_due_expiries`]). Only grants that already have receipts are considered. `only_grant` limits it
/// to one grant (the endpoint does that for the grant a retailer asks about). Safe to run repeatedly; the
/// CLI runs it whenever a command reads or changes grants, the endpoint on `GET /v1/grant` and
/// `GET /v1/grant/receipts`.
pub fn issue_due_receipts(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    template: &ReceiptContext,
    now: DateTime<Utc>,
    only_grant: Option<&str>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = tx.prepare(
        "SELECT g.id FROM grants g
         WHERE g.revoked_at IS NOT NULL AND (?1 IS NULL OR g.id = ?1)
           AND (SELECT r.event FROM consent_receipts r WHERE r.grant_id = g.id ORDER BY r.version DESC LIMIT 1)
               IN ('grant', 'narrowing')
         ORDER BY g.revoked_at, g.id",
    )?;
    let ids: Vec<String> = stmt
        .query_map(params![only_grant], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let template = ReceiptContext {
        issued_at: now,
        ..template.clone()
    };
    let mut out = Vec::new();
    for id in ids {
        out.extend(issue_revoke(tx, signer, &id, &template)?);
    }
    out.extend(due_expiries(tx, signer, &template, now, only_grant)?);
    Ok(out)
}
