//! Signed request objects: a grant request signed by the retailer, fetched by Locket from the `request_uri` of a
//! `locket://connect?request_uri=…` link (schema `docs/schemas/request-object.v1.schema.json`).
//!
//! A request object is a compact JWS (RFC 7515) with the protected header `typ` [`REQUEST_OBJECT_TYP`], `alg`
//! `EdDSA`/`Ed25519` (an Ed25519 key) or `ES256` (a P-256 key) and the `kid` of a signing key in the retailer's
//! metadata ([`crate::metadata`]). Its payload is a `locket.grant-request/v1` document plus `state`,
//! `request_uri`, `iat` and `exp`. [`verify_request_object`] checks all of it against the metadata of the origin
//! it was fetched from; [`sign_request_object`] is the retailer's side. Signatures are made and checked by
//! `josekit`; this module only chooses which key and algorithm may be used.

use crate::error::RequestError;
use crate::metadata::{KeyUse, RetailerMetadata};
use crate::request::{parse_request_at, GrantRequest};
use chrono::{DateTime, TimeZone, Utc};
use josekit::jws::{JwsAlgorithm, JwsHeader, JwsVerifier};

/// The `typ` header of a request object.
pub const REQUEST_OBJECT_TYP: &str = "locket-request+jwt";

/// Largest request object accepted, in bytes (a 64 KiB request, base64url, plus header and signature).
pub const MAX_REQUEST_OBJECT_BYTES: usize = 96 * 1024;

/// Longest lifetime (`exp - iat`) accepted, in seconds.
pub const MAX_LIFETIME_SECONDS: i64 = 3600;

/// How far in the future `iat` may lie (clock skew allowance), in seconds.
pub const MAX_SKEW_SECONDS: i64 = 600;

/// A request object could not be accepted. [`code`](RequestObjectError::code) is the stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestObjectError {
    /// Over the size cap.
    #[error("the signed request is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Size received (a lower bound when the body was cut off).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not a compact JWS of the right type, or claims that are not a request object.
    #[error("the signed request is malformed: {0}")]
    Malformed(String),
    /// Its `kid` names no signing key in the retailer's metadata.
    #[error("the signed request names key {kid:?}, which {origin} does not publish; it was not signed by this shop")]
    UnknownKey {
        /// The `kid` in the header.
        kid: String,
        /// The retailer's origin.
        origin: String,
    },
    /// The signature does not verify with the published key.
    #[error("the signed request's signature does not verify with {origin}'s published key; it was altered or forged")]
    InvalidSignature {
        /// The retailer's origin.
        origin: String,
    },
    /// Past `exp`.
    #[error("the signed request expired at {0}; go back to the shop and start again")]
    Expired(String),
    /// `iat` too far in the future, or a lifetime over [`MAX_LIFETIME_SECONDS`].
    #[error("the signed request's validity is not acceptable: {0}")]
    BadLifetime(String),
    /// `request_uri` is not the URL it was fetched from.
    #[error("the signed request says it lives at {claimed:?} but was fetched from {fetched:?}")]
    UriMismatch {
        /// The URL it was fetched from.
        fetched: String,
        /// The `request_uri` claim.
        claimed: String,
    },
    /// The request's retailer block differs from the metadata (another shop's id, name or origin).
    #[error("the signed request's retailer details differ from what {origin} publishes: {detail}")]
    RetailerMismatch {
        /// The retailer's origin.
        origin: String,
        /// Which member differs.
        detail: String,
    },
    /// The grant request inside breaks the request format.
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl RequestObjectError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RequestObjectError::TooLarge { .. } => "request_object_too_large",
            RequestObjectError::Malformed(_) => "request_object_malformed",
            RequestObjectError::UnknownKey { .. } => "request_object_unknown_key",
            RequestObjectError::InvalidSignature { .. } => "request_object_invalid_signature",
            RequestObjectError::Expired(_) => "request_object_expired",
            RequestObjectError::BadLifetime(_) => "request_object_lifetime",
            RequestObjectError::UriMismatch { .. } => "request_object_uri_mismatch",
            RequestObjectError::RetailerMismatch { .. } => "request_object_retailer_mismatch",
            RequestObjectError::Request(e) => e.code(),
        }
    }
}

/// A request object whose signature, key, time, URL and retailer have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequestObject {
    /// The grant request it carries, validated.
    pub request: GrantRequest,
    /// The grant request as JSON (the payload without `state`, `request_uri`, `iat`, `exp`): what is stored.
    pub request_json: String,
    /// The retailer's `state`.
    pub state: String,
    /// The URL it was fetched from.
    pub request_uri: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// The `kid` of the key that signed it.
    pub key_id: String,
    /// The RFC 7638 thumbprint of that key.
    pub key_thumbprint: String,
    /// The `alg` it was signed with.
    pub alg: String,
}

/// The RFC 9864 name for EdDSA over Ed25519: josekit knows the algorithm as `EdDSA`; this wrapper lets a
/// header saying `Ed25519` be checked by the same verifier.
#[derive(Debug, Clone)]
struct Ed25519Name;

impl JwsAlgorithm for Ed25519Name {
    fn name(&self) -> &str {
        "Ed25519"
    }
    fn box_clone(&self) -> Box<dyn JwsAlgorithm> {
        Box::new(self.clone())
    }
}

#[derive(Debug, Clone)]
struct FullySpecified(josekit::jws::alg::eddsa::EddsaJwsVerifier);

impl JwsVerifier for FullySpecified {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &Ed25519Name
    }
    fn key_id(&self) -> Option<&str> {
        self.0.key_id()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), josekit::JoseError> {
        self.0.verify(message, signature)
    }
    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}

fn b64_json(part: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "a part is not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "a part is not a JSON object".to_owned())
}

fn time(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Verify a request object fetched from `fetched_from` (the exact URL) against the metadata of its origin, at
/// `now`. Checks in order: size; compact JWS with `typ` [`REQUEST_OBJECT_TYP`] and an allowed `alg`; `kid`
/// found among the metadata's signing keys; signature; claims; `request_uri` equals `fetched_from`; `exp`
/// after `now`; `iat` not in the future and lifetime within [`MAX_LIFETIME_SECONDS`]; the grant request's
/// format rules; its retailer block matches the metadata (id = the origin's host, origin, name, contact,
/// privacy policy).
pub fn verify_request_object(
    jws: &[u8],
    metadata: &RetailerMetadata,
    fetched_from: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedRequestObject, RequestObjectError> {
    let malformed = |m: &str| RequestObjectError::Malformed(m.to_owned());
    if jws.len() > MAX_REQUEST_OBJECT_BYTES {
        return Err(RequestObjectError::TooLarge {
            size: jws.len(),
            max: MAX_REQUEST_OBJECT_BYTES,
        });
    }
    let text = std::str::from_utf8(jws).map_err(|_| malformed("not text"))?.trim();
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3 {
        return Err(malformed("not a compact JWS (three base64url parts separated by dots)"));
    }
    let header = b64_json(parts[0]).map_err(|e| RequestObjectError::Malformed(format!("header: {e}")))?;
    if header.get("typ").and_then(|v| v.as_str()) != Some(REQUEST_OBJECT_TYP) {
        return Err(RequestObjectError::Malformed(format!(
            "the header's typ must be {REQUEST_OBJECT_TYP:?}"
        )));
    }
    if header.contains_key("crit")
        || header.contains_key("b64")
        || header.contains_key("jku")
        || header.contains_key("jwk")
        || header.contains_key("x5u")
    {
        return Err(malformed(
            "the header may not carry crit, b64, jku, jwk or x5u (keys come from the metadata only)",
        ));
    }
    let alg = header
        .get("alg")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let kid = header
        .get("kid")
        .and_then(|v| v.as_str())
        .ok_or_else(|| malformed("the header names no kid"))?
        .to_owned();
    let origin = metadata.id.clone();
    let key = metadata
        .jwks
        .signing_key(&kid)
        .ok_or_else(|| RequestObjectError::UnknownKey {
            kid: kid.clone(),
            origin: origin.clone(),
        })?;
    debug_assert_eq!(key.key_use, KeyUse::Sig);
    let jwk = josekit::jwk::Jwk::from_map(key.jwk.clone()).map_err(|e| RequestObjectError::Malformed(e.to_string()))?;
    let verifier: Box<dyn JwsVerifier> = match (alg.as_str(), key.curve.as_str()) {
        ("EdDSA", "Ed25519") => Box::new(
            josekit::jws::EdDSA
                .verifier_from_jwk(&crate::metadata::without_alg(&jwk))
                .map_err(|e| RequestObjectError::Malformed(e.to_string()))?,
        ),
        ("Ed25519", "Ed25519") => Box::new(FullySpecified(
            josekit::jws::EdDSA
                .verifier_from_jwk(&crate::metadata::without_alg(&jwk))
                .map_err(|e| RequestObjectError::Malformed(e.to_string()))?,
        )),
        ("ES256", "P-256") => Box::new(
            josekit::jws::ES256
                .verifier_from_jwk(&jwk)
                .map_err(|e| RequestObjectError::Malformed(e.to_string()))?,
        ),
        _ => {
            return Err(RequestObjectError::Malformed(format!(
                "alg {alg:?} does not fit key {kid:?} ({}); use EdDSA or Ed25519 with an Ed25519 key, ES256 with a P-256 key",
                key.curve
            )))
        }
    };
    let (payload, _) = josekit::jws::deserialize_compact(text, verifier.as_ref()).map_err(|e| match e {
        josekit::JoseError::InvalidSignature(_) => RequestObjectError::InvalidSignature { origin: origin.clone() },
        other => RequestObjectError::Malformed(format!("{other}")),
    })?;
    let mut claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&payload).map_err(|_| malformed("the payload is not a JSON object"))?;
    let mut take_str = |k: &str| -> Result<String, RequestObjectError> {
        match claims.remove(k) {
            Some(serde_json::Value::String(s)) => Ok(s),
            _ => Err(RequestObjectError::Malformed(format!("the payload has no {k} string"))),
        }
    };
    let state = take_str("state")?;
    let request_uri = take_str("request_uri")?;
    let mut take_int = |k: &str| -> Result<i64, RequestObjectError> {
        claims
            .remove(k)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| RequestObjectError::Malformed(format!("the payload has no integer {k}")))
    };
    let iat = take_int("iat")?;
    let exp = take_int("exp")?;
    if !(16..=256).contains(&state.len())
        || !state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(malformed(
            "state must be 16 to 256 characters of the base64url alphabet",
        ));
    }
    if request_uri != fetched_from {
        return Err(RequestObjectError::UriMismatch {
            fetched: fetched_from.to_owned(),
            claimed: request_uri,
        });
    }
    let (issued_at, expires_at) = match (time(iat), time(exp)) {
        (Some(i), Some(e)) => (i, e),
        _ => return Err(malformed("iat or exp is not a time")),
    };
    if now >= expires_at {
        return Err(RequestObjectError::Expired(crate::token::rfc3339(expires_at)));
    }
    if issued_at > now + chrono::Duration::seconds(MAX_SKEW_SECONDS) {
        return Err(RequestObjectError::BadLifetime(format!(
            "it was issued at {}, in the future; check the shop's clock",
            crate::token::rfc3339(issued_at)
        )));
    }
    if exp <= iat || exp - iat > MAX_LIFETIME_SECONDS {
        return Err(RequestObjectError::BadLifetime(format!(
            "exp must be after iat and at most {MAX_LIFETIME_SECONDS} seconds later"
        )));
    }
    let request_json = serde_json::to_string(&claims).map_err(|e| RequestObjectError::Malformed(e.to_string()))?;
    let request = parse_request_at(request_json.as_bytes(), now)?;
    let mismatch = |detail: String| RequestObjectError::RetailerMismatch {
        origin: origin.clone(),
        detail,
    };
    let r = &request.retailer;
    if r.origin != metadata.id {
        return Err(mismatch(format!("its origin is {:?}", r.origin)));
    }
    if r.id != metadata.retailer_id() {
        return Err(mismatch(format!(
            "its retailer id is {:?}, not {:?} (the origin's host)",
            r.id,
            metadata.retailer_id()
        )));
    }
    for (what, ours, theirs) in [
        ("name", &r.name, &metadata.name),
        ("contact", &r.contact, &metadata.contact),
        ("privacy policy", &r.privacy_policy, &metadata.privacy_policy),
    ] {
        if ours != theirs {
            return Err(mismatch(format!(
                "its {what} is {ours:?}, the published one {theirs:?}"
            )));
        }
    }
    Ok(VerifiedRequestObject {
        request,
        request_json,
        state,
        request_uri: fetched_from.to_owned(),
        issued_at,
        expires_at,
        key_id: kid,
        key_thumbprint: key.thumbprint.clone(),
        alg,
    })
}

/// What a retailer signs: a grant request (as JSON) and the four request-object members.
#[derive(Debug, Clone)]
pub struct RequestObjectClaims {
    /// The `locket.grant-request/v1` document.
    pub request: serde_json::Value,
    /// The retailer's `state`.
    pub state: String,
    /// Where the object will be served.
    pub request_uri: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Sign a request object with a private signing JWK (Ed25519 → `alg` EdDSA, P-256 → ES256); the header
/// carries `typ` [`REQUEST_OBJECT_TYP`] and the key's `kid`.
pub fn sign_request_object(claims: &RequestObjectClaims, key: &josekit::jwk::Jwk) -> Result<String, String> {
    let mut payload = match &claims.request {
        serde_json::Value::Object(m) => m.clone(),
        _ => return Err("the request must be a JSON object".to_owned()),
    };
    payload.insert("state".into(), claims.state.clone().into());
    payload.insert("request_uri".into(), claims.request_uri.clone().into());
    payload.insert("iat".into(), claims.issued_at.timestamp().into());
    payload.insert("exp".into(), claims.expires_at.timestamp().into());
    let bytes = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
    let kid = key.key_id().ok_or("the key has no kid")?;
    let mut header = JwsHeader::new();
    header.set_token_type(REQUEST_OBJECT_TYP);
    header.set_key_id(kid);
    let signed = match key.curve() {
        Some("Ed25519") => {
            let signer = josekit::jws::EdDSA
                .signer_from_jwk(&crate::metadata::without_alg(key))
                .map_err(|e| e.to_string())?;
            josekit::jws::serialize_compact(&bytes, &header, &signer)
        }
        Some("P-256") => {
            let signer = josekit::jws::ES256.signer_from_jwk(key).map_err(|e| e.to_string())?;
            josekit::jws::serialize_compact(&bytes, &header, &signer)
        }
        other => return Err(format!("a request object cannot be signed with a {other:?} key")),
    };
    signed.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{parse_metadata, RetailerKeys};
    use serde_json::json;

    const URI: &str = "https://shop.example/locket/r/abc123";

    fn now() -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    fn setup() -> (RetailerKeys, RetailerMetadata) {
        let keys = RetailerKeys::generate().unwrap();
        let doc = keys
            .metadata(
                "https://shop.example",
                "Example Shop",
                "privacy@shop.example",
                "https://shop.example/privacy",
                "https://shop.example/locket/deliveries",
            )
            .unwrap();
        let m = parse_metadata(doc.to_string().as_bytes(), "https://shop.example").unwrap();
        (keys, m)
    }

    fn request() -> serde_json::Value {
        json!({
            "format": "locket.grant-request/v1",
            "retailer": {
                "id": "shop.example", "name": "Example Shop", "origin": "https://shop.example",
                "contact": "privacy@shop.example", "privacy_policy": "https://shop.example/privacy"
            },
            "scopes": [{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}],
            "requested_duration": "P30D",
            "retention": {"max_duration": "P90D", "statement": "We delete it 90 days after delivery."},
            "nonce": "n0nce-0123456789abcdef",
            "created_at": "2026-12-07T09:59:00Z"
        })
    }

    fn claims(request: serde_json::Value) -> RequestObjectClaims {
        RequestObjectClaims {
            request,
            state: "st4te-0123456789abcdef".into(),
            request_uri: URI.into(),
            issued_at: now() - chrono::Duration::seconds(30),
            expires_at: now() + chrono::Duration::minutes(10),
        }
    }

    #[test]
    fn signed_then_verified() {
        let (keys, m) = setup();
        let jws = sign_request_object(&claims(request()), &keys.signing).unwrap();
        let v = verify_request_object(jws.as_bytes(), &m, URI, now()).unwrap();
        assert_eq!(v.state, "st4te-0123456789abcdef");
        assert_eq!(v.request.retailer.id, "shop.example");
        assert_eq!(v.alg, "EdDSA");
        assert!(!v.request_json.contains("request_uri"));
    }

    #[test]
    fn every_refusal_has_its_code() {
        let (keys, m) = setup();
        let jws = sign_request_object(&claims(request()), &keys.signing).unwrap();
        let code =
            |bytes: &[u8], uri: &str, at: DateTime<Utc>| verify_request_object(bytes, &m, uri, at).unwrap_err().code();
        // Tampered payload.
        let parts: Vec<&str> = jws.split('.').collect();
        let other = sign_request_object(
            &RequestObjectClaims {
                state: "another-state-0123456789".into(),
                ..claims(request())
            },
            &keys.signing,
        )
        .unwrap();
        let spliced = format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap(), parts[2]);
        assert_eq!(code(spliced.as_bytes(), URI, now()), "request_object_invalid_signature");
        // Another key with the same kid.
        let mut forger = RetailerKeys::generate().unwrap();
        forger.signing.set_key_id(keys.signing_kid());
        let forged = sign_request_object(&claims(request()), &forger.signing).unwrap();
        assert_eq!(code(forged.as_bytes(), URI, now()), "request_object_invalid_signature");
        // A kid the shop does not publish.
        let unknown = sign_request_object(&claims(request()), &RetailerKeys::generate().unwrap().signing).unwrap();
        assert_eq!(code(unknown.as_bytes(), URI, now()), "request_object_unknown_key");
        assert_eq!(
            code(jws.as_bytes(), URI, now() + chrono::Duration::hours(1)),
            "request_object_expired"
        );
        assert_eq!(
            code(jws.as_bytes(), "https://shop.example/other", now()),
            "request_object_uri_mismatch"
        );
        let long = RequestObjectClaims {
            expires_at: now() + chrono::Duration::hours(2),
            ..claims(request())
        };
        let long = sign_request_object(&long, &keys.signing).unwrap();
        assert_eq!(code(long.as_bytes(), URI, now()), "request_object_lifetime");
        let mut r = request();
        r["retailer"]["name"] = json!("Another Shop");
        let renamed = sign_request_object(&claims(r), &keys.signing).unwrap();
        assert_eq!(code(renamed.as_bytes(), URI, now()), "request_object_retailer_mismatch");
        let mut r = request();
        r["scopes"] = json!([]);
        let empty = sign_request_object(&claims(r), &keys.signing).unwrap();
        assert_eq!(code(empty.as_bytes(), URI, now()), "request_invalid");
        assert_eq!(code(b"not.a.jws", URI, now()), "request_object_malformed");
        assert_eq!(
            code(&vec![b'a'; MAX_REQUEST_OBJECT_BYTES + 1], URI, now()),
            "request_object_too_large"
        );
        // An unsigned ("alg": "none") object.
        use base64::Engine as _;
        let b = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b(json!({"alg": "none", "typ": REQUEST_OBJECT_TYP, "kid": keys.signing_kid()})),
            parts[1]
        );
        assert_eq!(code(none.as_bytes(), URI, now()), "request_object_malformed");
        // The right key but an untyped header (a JWT meant for something else).
        let mut header = JwsHeader::new();
        header.set_key_id(keys.signing_kid());
        let signer = josekit::jws::EdDSA
            .signer_from_jwk(&crate::metadata::without_alg(&keys.signing))
            .unwrap();
        let untyped = josekit::jws::serialize_compact(br#"{}"#, &header, &signer).unwrap();
        assert_eq!(code(untyped.as_bytes(), URI, now()), "request_object_malformed");
    }
}
