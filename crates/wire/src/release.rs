//! Releases: what the owner's Locket sends a retailer's server (`locket.release/v1`).
//!
//! A retailer's server cannot reach the owner's laptop, so Locket delivers: on approval (`grant`), when a granted
//! value changes (`update`), when the owner revokes (`revoke`) and when the grant ends (`expire`). Each release
//! is a [`Release`] document, signed as a compact JWS (header `{"alg":"Ed25519","kid":<the grant's key_id>,
//! "typ":"locket-release+jws"}`, an Ed25519 signature with the grant's pairwise key — RFC 9864's name for what
//! older libraries call `EdDSA`, which [`open`] also accepts), then encrypted as a compact JWE to the retailer's
//! published encryption key (`{"alg":"ECDH-ES","enc":"A256GCM","kid":<its kid>,"cty":"locket-release+jws"}`).
//! The JWE is the body of an HTTPS POST to the retailer's delivery URL, with Standard Webhooks headers
//! (`webhook-id` = the release id, `webhook-timestamp`, `webhook-signature: v1a,<base64 Ed25519 signature of
//! "{id}.{timestamp}.{body}">` with the same key).
//!
//! The key that verifies everything is the grant's `public_key` (PASERK `k4.public.` + the base64url Ed25519 key,
//! i.e. the JWK `{"kty":"OKP","crv":"Ed25519","x":…}`). The first release of a grant carries the grant file, so
//! a retailer learns the key from it; it accepts that first release only if its `state` is one the retailer
//! itself put in a request it published, then keeps the key for that grant (see `docs/retailers.md`).
//!
//! Sealing is done once per release id: a retry sends the same ciphertext with a fresh timestamp and signature.

use crate::grantfile::GrantFile;
use crate::metadata::PublicJwk;
use crate::request::Retention;
use crate::token::TokenSigner;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The format of a release document.
pub const RELEASE_FORMAT: &str = "locket.release/v1";
/// The JWS `typ` (and the JWE `cty`).
pub const RELEASE_TYP: &str = "locket-release+jws";
/// The media type of the POST body (a compact JWE).
pub const RELEASE_CONTENT_TYPE: &str = "application/jose";
/// Largest release body Locket sends or a retailer should accept, in bytes.
pub const MAX_RELEASE_BYTES: usize = 1024 * 1024;
/// How far `webhook-timestamp` may be from the receiver's clock, in seconds (the Standard Webhooks default).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// A release could not be sealed, opened or verified. [`code`](ReleaseError::code) is the stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// Not a compact JWE with the expected header, or its JWS or document is not a valid release.
    #[error("the release is malformed: {0}")]
    Malformed(String),
    /// Over [`MAX_RELEASE_BYTES`].
    #[error("the release is {0} bytes; at most {MAX_RELEASE_BYTES} are accepted")]
    TooLarge(usize),
    /// The JWE does not decrypt with the recipient's key (another key, or altered ciphertext).
    #[error("the release does not decrypt with this key: {0}")]
    DecryptFailed(String),
    /// Signed with a key other than the one expected for this grant.
    #[error("the release is signed with key {got:?}; this grant's key is {expected:?}")]
    UnknownKey {
        /// The `kid` in the JWS header.
        got: String,
        /// The key id expected.
        expected: String,
    },
    /// The JWS or the webhook signature does not verify.
    #[error("the release's {0} signature does not verify")]
    InvalidSignature(&'static str),
    /// `webhook-timestamp` outside [`TIMESTAMP_TOLERANCE_SECS`] of now (a replay, or a clock far off).
    #[error("webhook-timestamp {timestamp} is more than {TIMESTAMP_TOLERANCE_SECS} s from now ({now})")]
    Stale {
        /// The header's value.
        timestamp: i64,
        /// The receiver's clock.
        now: i64,
    },
    /// A header is missing or malformed, or `webhook-id` is not the release's id.
    #[error("the webhook headers are wrong: {0}")]
    Headers(String),
    /// Sealing failed (Locket's side).
    #[error("the release could not be sealed: {0}")]
    Sealing(String),
}

impl ReleaseError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseError::Malformed(_) => "release_malformed",
            ReleaseError::TooLarge(_) => "release_too_large",
            ReleaseError::DecryptFailed(_) => "release_decrypt_failed",
            ReleaseError::UnknownKey { .. } => "release_unknown_key",
            ReleaseError::InvalidSignature(_) => "release_invalid_signature",
            ReleaseError::Stale { .. } => "release_timestamp_stale",
            ReleaseError::Headers(_) => "release_headers_invalid",
            ReleaseError::Sealing(_) => "release_sealing_failed",
        }
    }
}

/// What a release says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseEvent {
    /// The owner approved: the grant file and the granted values.
    Grant,
    /// A granted value changed: the current values of the grant's scopes.
    Update,
    /// The owner revoked the grant: stop using the data, erase it as promised.
    Revoke,
    /// The grant reached its end (expiry or its last use).
    Expire,
}

impl ReleaseEvent {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseEvent::Grant => "grant",
            ReleaseEvent::Update => "update",
            ReleaseEvent::Revoke => "revoke",
            ReleaseEvent::Expire => "expire",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ReleaseEvent> {
        [
            ReleaseEvent::Grant,
            ReleaseEvent::Update,
            ReleaseEvent::Revoke,
            ReleaseEvent::Expire,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }

    /// Whether the event carries data (`grant`, `update`).
    pub fn carries_data(self) -> bool {
        matches!(self, ReleaseEvent::Grant | ReleaseEvent::Update)
    }
}

/// One granted value, as `GET /v1/data` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasedField {
    /// Catalog key (or the derived / noised scope string).
    pub key: String,
    /// Label.
    pub label: String,
    /// Version of the value (0 for a computed answer or the catalog default).
    pub version: u32,
    /// The value.
    pub value: serde_json::Value,
    /// The granted scope that covers it.
    pub scope: String,
}

/// Who ended the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The owner revoked it.
    Owner,
    /// It expired or ran out of uses.
    Expiry,
}

/// How and when a grant ended (`revoke`, `expire`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ended {
    /// When (RFC 3339).
    pub at: String,
    /// Who ended it.
    pub by: EndedBy,
    /// Whether the owner asks you to erase what you received under the grant (every `revoke`).
    pub erasure_requested: bool,
    /// Your own retention promise from the request, which applies to what you keep.
    pub retention: Retention,
    /// The owner's reason, if they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `locket.release/v1` document (schema `docs/schemas/release.v1.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Always [`RELEASE_FORMAT`].
    pub format: String,
    /// What happened.
    pub event: ReleaseEvent,
    /// `rel_` + 32 hex digits; also the `webhook-id`. A retailer that has seen it already answers 2xx and
    /// ignores it.
    pub release_id: String,
    /// The grant.
    pub grant_id: String,
    /// 1 for the grant's first release, then higher for each later one; never reused. A gap means Locket
    /// withdrew an undelivered release (the owner revoked before it went out).
    pub sequence: u64,
    /// Your pairwise subject id for the owner (the token's `sub`).
    pub subject: String,
    /// Your retailer id (the token's `aud`).
    pub retailer_id: String,
    /// The `state` of the request object the grant answers (binds the first release to your own request).
    pub state: String,
    /// When Locket made the release (RFC 3339).
    pub issued_at: String,
    /// The grant file (`grant` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantFile>,
    /// The current granted values (`grant`, `update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<ReleasedField>>,
    /// Granted scopes that have no value now (`grant`, `update`): anything you hold for them is outdated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_scopes: Vec<String>,
    /// How the grant ended (`revoke`, `expire`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
}

impl Release {
    /// The document as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks what the schema cannot: the members each event needs, ids and their agreement with the grant file.
    pub fn check(&self) -> Result<(), ReleaseError> {
        let bad = |m: String| Err(ReleaseError::Malformed(m));
        if self.format != RELEASE_FORMAT {
            return bad(format!("format is {:?}, expected {RELEASE_FORMAT:?}", self.format));
        }
        let hex32 = |s: &str, prefix: &str| {
            s.strip_prefix(prefix)
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        };
        if !hex32(&self.release_id, "rel_") {
            return bad(format!(
                "release_id {:?} is not rel_ and 32 hex digits",
                self.release_id
            ));
        }
        if !hex32(&self.grant_id, "gr_") {
            return bad(format!("grant_id {:?} is not gr_ and 32 hex digits", self.grant_id));
        }
        if self.sequence == 0 {
            return bad("sequence starts at 1".into());
        }
        if chrono::DateTime::parse_from_rfc3339(&self.issued_at).is_err() {
            return bad("issued_at is not an RFC 3339 time".into());
        }
        let data = self.event.carries_data();
        if data != self.fields.is_some() {
            return bad(format!(
                "a {} release {} fields",
                self.event.as_str(),
                if data { "must carry" } else { "carries no" }
            ));
        }
        if data == self.ended.is_some() {
            return bad(format!(
                "a {} release {} `ended`",
                self.event.as_str(),
                if data { "carries no" } else { "must carry" }
            ));
        }
        if (self.event == ReleaseEvent::Grant) != self.grant.is_some() {
            return bad("the grant file travels in the grant release, and only there".into());
        }
        if let Some(ended) = &self.ended {
            if chrono::DateTime::parse_from_rfc3339(&ended.at).is_err() {
                return bad("ended.at is not an RFC 3339 time".into());
            }
            if (self.event == ReleaseEvent::Revoke) != (ended.by == EndedBy::Owner) {
                return bad("a revoke is ended by the owner, an expire by expiry".into());
            }
        }
        if let Some(grant) = &self.grant {
            if grant.grant_id != self.grant_id || grant.subject != self.subject || grant.retailer.id != self.retailer_id
            {
                return bad("the grant file names another grant, subject or retailer".into());
            }
        }
        Ok(())
    }
}

/// A sealed release: the POST body and what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The release id (`webhook-id`).
    pub release_id: String,
    /// The compact JWE.
    pub body: String,
    /// SHA-256 of the body, hex (what the access log records).
    pub sha256: String,
}

/// The Standard Webhooks headers of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `webhook-id`: the release id.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of the attempt.
    pub timestamp: i64,
    /// `webhook-signature`: `v1a,` + base64 Ed25519 signature over `{id}.{timestamp}.{body}`.
    pub signature: String,
}

fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs `release` with `signer` (the grant's pairwise key) and encrypts it to `recipient` (the retailer's
/// published encryption key). Checks the document first: Locket never sends a release it would refuse.
pub fn seal(release: &Release, signer: &TokenSigner, recipient: &PublicJwk) -> Result<Sealed, ReleaseError> {
    release.check()?;
    let sealing = |e: &dyn std::fmt::Display| ReleaseError::Sealing(e.to_string());
    let header = serde_json::json!({ "alg": "Ed25519", "kid": signer.key_id(), "typ": RELEASE_TYP });
    let payload = serde_json::to_vec(release).map_err(|e| sealing(&e))?;
    let signing_input = format!("{}.{}", b64u(header.to_string().as_bytes()), b64u(&payload));
    let signature = signer.ed25519_sign(signing_input.as_bytes()).map_err(|e| sealing(&e))?;
    let jws = format!("{signing_input}.{}", b64u(&signature));

    let jwk = josekit::jwk::Jwk::from_map(recipient.jwk.clone()).map_err(|e| sealing(&e))?;
    let encrypter = josekit::jwe::ECDH_ES
        .encrypter_from_jwk(&crate::metadata::without_alg(&jwk))
        .map_err(|e| sealing(&e))?;
    let mut jwe_header = josekit::jwe::JweHeader::new();
    jwe_header.set_content_encryption("A256GCM");
    jwe_header.set_key_id(&recipient.kid);
    jwe_header.set_content_type(RELEASE_TYP);
    let body = josekit::jwe::serialize_compact(jws.as_bytes(), &jwe_header, &encrypter).map_err(|e| sealing(&e))?;
    if body.len() > MAX_RELEASE_BYTES {
        return Err(ReleaseError::TooLarge(body.len()));
    }
    Ok(Sealed {
        release_id: release.release_id.clone(),
        sha256: sha256_hex(body.as_bytes()),
        body,
    })
}

/// The headers of one delivery attempt of `sealed` at `timestamp` (Unix seconds): a retry re-signs the same
/// body with a fresh timestamp.
pub fn webhook_headers(sealed: &Sealed, signer: &TokenSigner, timestamp: i64) -> Result<WebhookHeaders, ReleaseError> {
    let message = format!("{}.{timestamp}.{}", sealed.release_id, sealed.body);
    let sig = signer
        .ed25519_sign(message.as_bytes())
        .map_err(|e| ReleaseError::Sealing(e.to_string()))?;
    Ok(WebhookHeaders {
        id: sealed.release_id.clone(),
        timestamp,
        signature: format!("v1a,{}", base64::engine::general_purpose::STANDARD.encode(sig)),
    })
}

/// Which key must have signed a release.
#[derive(Debug, Clone, Copy)]
pub enum ExpectedKey<'a> {
    /// The grant's key, known from an earlier release (PASERK `k4.public.…`).
    Known(&'a str),
    /// The first release of a grant: the key of the grant file it carries (the caller then checks `state`).
    FromGrantFile,
}

/// An opened and verified release.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The document.
    pub release: Release,
    /// The key that verified it (PASERK `k4.public.…`): keep it for the grant's later releases.
    pub public_key: String,
}

#[derive(Deserialize)]
struct JwsHeader {
    alg: String,
    kid: String,
    #[serde(default)]
    typ: Option<String>,
}

fn decode(part: &str, what: &str) -> Result<Vec<u8>, ReleaseError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ReleaseError::Malformed(format!("the {what} is not base64url")))
}

fn ed25519_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

/// The retailer's side: checks the webhook headers' shape and age, decrypts `body` with `decryption_key` (the
/// retailer's private encryption JWK), verifies the JWS and the webhook signature with the expected key, and
/// checks the document. Sequence, idempotency and `state` are the caller's (they need its storage).
pub fn open(
    body: &str,
    headers: &WebhookHeaders,
    decryption_key: &josekit::jwk::Jwk,
    expected: ExpectedKey<'_>,
    now: i64,
) -> Result<Opened, ReleaseError> {
    if body.len() > MAX_RELEASE_BYTES {
        return Err(ReleaseError::TooLarge(body.len()));
    }
    if (headers.timestamp - now).abs() > TIMESTAMP_TOLERANCE_SECS {
        return Err(ReleaseError::Stale {
            timestamp: headers.timestamp,
            now,
        });
    }
    let sig_b64 = headers
        .signature
        .split(' ')
        .find_map(|s| s.strip_prefix("v1a,"))
        .ok_or_else(|| ReleaseError::Headers("webhook-signature carries no v1a signature".into()))?;
    let webhook_sig = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .map_err(|_| ReleaseError::Headers("webhook-signature is not base64".into()))?;

    if body.split('.').count() != 5 {
        return Err(ReleaseError::Malformed("the body is not a compact JWE".into()));
    }
    let decrypter = josekit::jwe::ECDH_ES
        .decrypter_from_jwk(&crate::metadata::without_alg(decryption_key))
        .map_err(|e| ReleaseError::DecryptFailed(e.to_string()))?;
    let (jws, header) =
        josekit::jwe::deserialize_compact(body, &decrypter).map_err(|e| ReleaseError::DecryptFailed(e.to_string()))?;
    if header.content_encryption() != Some("A256GCM") {
        return Err(ReleaseError::Malformed("the JWE's enc is not A256GCM".into()));
    }
    let jws = String::from_utf8(jws).map_err(|_| ReleaseError::Malformed("the JWS is not text".into()))?;
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err(ReleaseError::Malformed("the content is not a compact JWS".into()));
    };
    let jws_header: JwsHeader = serde_json::from_slice(&decode(h, "JWS header")?)
        .map_err(|_| ReleaseError::Malformed("the JWS header is not {alg, kid, typ}".into()))?;
    if !matches!(jws_header.alg.as_str(), "Ed25519" | "EdDSA") {
        return Err(ReleaseError::Malformed(format!(
            "the JWS alg is {:?}, not Ed25519",
            jws_header.alg
        )));
    }
    if jws_header.typ.as_deref() != Some(RELEASE_TYP) {
        return Err(ReleaseError::Malformed(format!("the JWS typ is not {RELEASE_TYP:?}")));
    }
    let payload = decode(p, "JWS payload")?;
    let signature = decode(s, "JWS signature")?;
    // Which key: the known one, or (first release) the grant file's — read before, checked by the signature.
    let release: Release = serde_json::from_slice(&payload)
        .map_err(|e| ReleaseError::Malformed(format!("the document is not a release: {e}")))?;
    let public_key = match expected {
        ExpectedKey::Known(k) => k.to_owned(),
        ExpectedKey::FromGrantFile => match &release.grant {
            Some(g) => g.public_key.clone(),
            None => {
                return Err(ReleaseError::Malformed(
                    "the first release of a grant must carry its grant file".into(),
                ))
            }
        },
    };
    let key_id = crate::token::key_id_of(&public_key).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    if jws_header.kid != key_id {
        return Err(ReleaseError::UnknownKey {
            got: jws_header.kid,
            expected: key_id,
        });
    }
    let raw_key = crate::token::public_key_bytes(&public_key).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    if !ed25519_verify(&raw_key, format!("{h}.{p}").as_bytes(), &signature) {
        return Err(ReleaseError::InvalidSignature("JWS"));
    }
    let message = format!("{}.{}.{body}", headers.id, headers.timestamp);
    if !ed25519_verify(&raw_key, message.as_bytes(), &webhook_sig) {
        return Err(ReleaseError::InvalidSignature("webhook"));
    }
    release.check()?;
    if headers.id != release.release_id {
        return Err(ReleaseError::Headers(format!(
            "webhook-id {:?} is not the release id {:?}",
            headers.id, release.release_id
        )));
    }
    if let Some(grant) = &release.grant {
        if grant.public_key != public_key {
            return Err(ReleaseError::UnknownKey {
                got: crate::token::key_id_of(&grant.public_key).unwrap_or_default(),
                expected: key_id,
            });
        }
        // The grant file must hold together (its token and receipt verify with its key).
        GrantFile::parse(grant.to_json_pretty().as_bytes())
            .map_err(|e| ReleaseError::Malformed(format!("the grant file: {e}")))?;
    }
    Ok(Opened { release, public_key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::Issuers;
    use crate::metadata::{parse_metadata, RetailerKeys};

    const SEED: [u8; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
        30, 31,
    ];
    const GRANT: &str = include_str!("../../../tests/golden/grant.v1.json");
    const NOW: i64 = 1_796_000_000;

    fn shop() -> (RetailerKeys, PublicJwk) {
        let keys = RetailerKeys::generate().unwrap();
        let meta = keys
            .metadata(
                "https://shop.example",
                "Example Shop",
                "privacy@shop.example",
                "https://shop.example/privacy",
                "https://shop.example/locket/deliveries",
            )
            .unwrap();
        let meta = parse_metadata(meta.to_string().as_bytes(), "https://shop.example").unwrap();
        let enc = meta.jwks.encryption_key().unwrap().clone();
        (keys, enc)
    }

    fn signer() -> TokenSigner {
        Issuers::from_secrets(&SEED, &[0xa5; 32], "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10")
            .token_signer("shop.example")
            .unwrap()
    }

    fn release(event: ReleaseEvent, sequence: u64) -> Release {
        let grant: GrantFile = serde_json::from_str(GRANT).unwrap();
        Release {
            format: RELEASE_FORMAT.into(),
            event,
            release_id: format!("rel_{:032x}", sequence),
            grant_id: grant.grant_id.clone(),
            sequence,
            subject: grant.subject.clone(),
            retailer_id: grant.retailer.id.clone(),
            state: "golden-state-0123456789".into(),
            issued_at: "2026-11-24T15:00:00Z".into(),
            fields: event.carries_data().then(|| {
                vec![ReleasedField {
                    key: "contact.email".into(),
                    label: "Email address".into(),
                    version: 1,
                    value: "ada@example.org".into(),
                    scope: "contact.email".into(),
                }]
            }),
            empty_scopes: Vec::new(),
            ended: (!event.carries_data()).then(|| Ended {
                at: "2026-11-25T15:00:00Z".into(),
                by: if event == ReleaseEvent::Revoke {
                    EndedBy::Owner
                } else {
                    EndedBy::Expiry
                },
                erasure_requested: event == ReleaseEvent::Revoke,
                retention: crate::request::Retention {
                    max_duration: "until_grant_ends".into(),
                    statement: "We delete it when the grant ends.".into(),
                },
                reason: None,
            }),
            grant: (event == ReleaseEvent::Grant).then_some(grant),
        }
    }

    fn sealed(r: &Release, enc: &PublicJwk) -> (Sealed, WebhookHeaders) {
        let s = seal(r, &signer(), enc).unwrap();
        let h = webhook_headers(&s, &signer(), NOW).unwrap();
        (s, h)
    }

    #[test]
    fn a_sealed_release_opens_with_the_retailers_key_and_verifies_with_the_grants() {
        let (keys, enc) = shop();
        let first = release(ReleaseEvent::Grant, 1);
        let (s, h) = sealed(&first, &enc);
        assert_eq!(s.sha256, sha256_hex(s.body.as_bytes()));
        assert!(h.signature.starts_with("v1a,"));
        let opened = open(&s.body, &h, &keys.encryption, ExpectedKey::FromGrantFile, NOW + 10).unwrap();
        assert_eq!(opened.release, first);
        assert_eq!(opened.public_key, signer().public_paserk());
        for event in [ReleaseEvent::Update, ReleaseEvent::Revoke, ReleaseEvent::Expire] {
            let r = release(event, 2);
            let (s, h) = sealed(&r, &enc);
            let o = open(
                &s.body,
                &h,
                &keys.encryption,
                ExpectedKey::Known(&opened.public_key),
                NOW,
            )
            .unwrap();
            assert_eq!(o.release, r);
        }
        // Sealing twice gives two different ciphertexts (fresh ephemeral key and IV): the outbox keeps one.
        assert_ne!(seal(&first, &signer(), &enc).unwrap().body, s.body);
    }

    #[test]
    fn wrong_keys_tampering_replays_and_stale_timestamps_are_refused() {
        let (keys, enc) = shop();
        let (other_keys, _) = shop();
        let (s, h) = sealed(&release(ReleaseEvent::Update, 2), &enc);
        let known = signer().public_paserk().to_owned();
        let open_with = |body: &str, h: &WebhookHeaders, key: ExpectedKey<'_>| {
            open(body, h, &keys.encryption, key, NOW)
                .map(|_| ())
                .unwrap_err()
                .code()
        };
        // Another retailer's decryption key.
        assert_eq!(
            open(&s.body, &h, &other_keys.encryption, ExpectedKey::Known(&known), NOW)
                .unwrap_err()
                .code(),
            "release_decrypt_failed"
        );
        // One byte of the ciphertext changed.
        let mut parts: Vec<String> = s.body.split('.').map(str::to_owned).collect();
        let c = &mut parts[3];
        let flipped = if c.starts_with('A') { "B" } else { "A" };
        c.replace_range(0..1, flipped);
        assert_eq!(
            open_with(&parts.join("."), &h, ExpectedKey::Known(&known)),
            "release_decrypt_failed"
        );
        // Signed by another retailer's pairwise key.
        let other = Issuers::from_secrets(&SEED, &[0xa5; 32], "x")
            .token_signer("other.example")
            .unwrap();
        assert_eq!(
            open_with(&s.body, &h, ExpectedKey::Known(other.public_paserk())),
            "release_unknown_key"
        );
        // An update can't introduce its own key.
        assert_eq!(open_with(&s.body, &h, ExpectedKey::FromGrantFile), "release_malformed");
        // Old timestamp (a replay) and a signature for another id or time.
        let stale = webhook_headers(&s, &signer(), NOW - 301).unwrap();
        assert_eq!(
            open_with(&s.body, &stale, ExpectedKey::Known(&known)),
            "release_timestamp_stale"
        );
        let moved = WebhookHeaders {
            timestamp: NOW + 1,
            ..h.clone()
        };
        assert_eq!(
            open_with(&s.body, &moved, ExpectedKey::Known(&known)),
            "release_invalid_signature"
        );
        let renamed = WebhookHeaders {
            id: "rel_ffffffffffffffffffffffffffffffff".into(),
            ..h.clone()
        };
        assert_eq!(
            open_with(&s.body, &renamed, ExpectedKey::Known(&known)),
            "release_invalid_signature"
        );
        let unsigned = WebhookHeaders {
            signature: "v1,abc".into(),
            ..h.clone()
        };
        assert_eq!(
            open_with(&s.body, &unsigned, ExpectedKey::Known(&known)),
            "release_headers_invalid"
        );
        assert_eq!(
            open_with("not a jwe", &h, ExpectedKey::Known(&known)),
            "release_malformed"
        );
        assert_eq!(
            open_with(&"A".repeat(MAX_RELEASE_BYTES + 1), &h, ExpectedKey::Known(&known)),
            "release_too_large"
        );
    }

    #[test]
    fn documents_that_break_the_rules_are_never_sealed() {
        let (_, enc) = shop();
        let mut r = release(ReleaseEvent::Update, 2);
        r.grant = release(ReleaseEvent::Grant, 1).grant;
        assert_eq!(seal(&r, &signer(), &enc).unwrap_err().code(), "release_malformed");
        let mut r = release(ReleaseEvent::Revoke, 3);
        r.fields = Some(Vec::new());
        assert_eq!(seal(&r, &signer(), &enc).unwrap_err().code(), "release_malformed");
        let mut r = release(ReleaseEvent::Grant, 1);
        r.subject = "someone else".into();
        assert_eq!(seal(&r, &signer(), &enc).unwrap_err().code(), "release_malformed");
        let mut r = release(ReleaseEvent::Expire, 0);
        r.sequence = 0;
        assert_eq!(seal(&r, &signer(), &enc).unwrap_err().code(), "release_malformed");
        let mut r = release(ReleaseEvent::Expire, 4);
        r.ended.as_mut().unwrap().by = EndedBy::Owner;
        assert_eq!(seal(&r, &signer(), &enc).unwrap_err().code(), "release_malformed");
    }
}
