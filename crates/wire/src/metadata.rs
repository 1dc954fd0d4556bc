//! Retailer metadata `locket.retailer/v1`: who a retailer on the web is, published by the retailer at
//! `https://ORIGIN/.well-known/locket-retailer.json` (schema `docs/schemas/retailer-metadata.v1.schema.json`).
//!
//! [`parse_metadata`] is the only entry point for untrusted bytes. It checks the size cap, that no text holds
//! a control or text-direction character, the schema, that the document's `id` is the origin it was fetched
//! from, that every URL in it is on that origin, and that its key set holds at least one signing and one
//! encryption key, none of them private. [`web_origin`] is the one definition of an origin Locket accepts.
//!
//! This module also gives a retailer's program what it needs to publish such a document: [`RetailerKeys`]
//! (an Ed25519 signing key and an X25519 encryption key as JWKs, generated with `josekit`).

use crate::error::Problem;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The `format` value of retailer metadata.
pub const METADATA_FORMAT: &str = "locket.retailer/v1";

/// Where on its origin a retailer publishes its metadata.
pub const WELL_KNOWN_PATH: &str = "/.well-known/locket-retailer.json";

/// Largest metadata document accepted, in bytes.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// JWK members that only a private key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Most problems reported for one document.
const MAX_PROBLEMS: usize = 20;

/// Retailer metadata could not be accepted. [`code`](MetadataError::code) is the stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Over the size cap.
    #[error("the retailer's metadata is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Size received (a lower bound when the body was cut off).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON.
    #[error("the retailer's metadata is not valid JSON: {0}")]
    Malformed(String),
    /// Breaks the schema or a rule the schema cannot express.
    #[error("the retailer's metadata is not a valid locket.retailer/v1 document: {}", list(.0))]
    Invalid(Vec<Problem>),
    /// Its `id` is not the origin it was fetched from.
    #[error("the retailer's metadata says it is {claimed:?} but was fetched from {origin}; a site can only speak for itself")]
    OriginMismatch {
        /// The origin fetched from.
        origin: String,
        /// What the document claims.
        claimed: String,
    },
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ")
}

impl MetadataError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            MetadataError::TooLarge { .. } => "retailer_metadata_too_large",
            MetadataError::Malformed(_) => "retailer_metadata_malformed",
            MetadataError::Invalid(_) => "retailer_metadata_invalid",
            MetadataError::OriginMismatch { .. } => "retailer_metadata_origin_mismatch",
        }
    }
}

/// What a key in a retailer's key set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyUse {
    /// Signs the retailer's request objects.
    Sig,
    /// Receives what Locket seals to the retailer (ECDH-ES).
    Enc,
}

/// A public key from a retailer's key set: the JWK as published, with what Locket read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// The JWK object as published (public members only; checked by [`parse_metadata`]).
    pub jwk: serde_json::Map<String, serde_json::Value>,
    /// Its `kid`.
    pub kid: String,
    /// Its `use`.
    pub key_use: KeyUse,
    /// `Ed25519`, `X25519` or `P-256`.
    pub curve: String,
    /// RFC 7638 JWK thumbprint (SHA-256, base64url): the key's identity, whatever its `kid`.
    pub thumbprint: String,
}

impl PublicJwk {
    /// Reads one published public key for `key_use`: its type fits the use, its value is a usable key, and its
    /// thumbprint. `Err` is the rule broken (`key_type`, `key_value`) and why.
    fn read(
        jwk: &serde_json::Map<String, serde_json::Value>,
        key_use: KeyUse,
    ) -> Result<PublicJwk, (&'static str, String)> {
        let curve = key_fits(jwk, key_use).map_err(|e| ("key_type", e))?;
        usable(jwk, key_use).map_err(|e| ("key_value", e))?;
        let thumbprint = jwk_thumbprint(jwk).map_err(|e| ("key_value", e))?;
        Ok(PublicJwk {
            jwk: jwk.clone(),
            kid: jwk.get("kid").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            key_use,
            curve,
            thumbprint,
        })
    }

    /// An encryption key as stored (the JWK a shop's metadata published, kept with a grant), checked again the
    /// way [`parse_metadata`] checks it.
    pub fn encryption(jwk: serde_json::Map<String, serde_json::Value>) -> Result<PublicJwk, String> {
        PublicJwk::read(&jwk, KeyUse::Enc).map_err(|(_, e)| e)
    }
}

impl Serialize for PublicJwk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.jwk.serialize(s)
    }
}

/// The `jwks` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// Every key, as published.
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    /// The signing key with this `kid`.
    pub fn signing_key(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys.iter().find(|k| k.key_use == KeyUse::Sig && k.kid == kid)
    }

    /// The first encryption key (the one Locket seals to).
    pub fn encryption_key(&self) -> Option<&PublicJwk> {
        self.keys.iter().find(|k| k.key_use == KeyUse::Enc)
    }

    /// The thumbprints of the keys of one use, sorted (what pinning compares).
    pub fn thumbprints(&self, key_use: KeyUse) -> Vec<String> {
        let mut t: Vec<String> = self
            .keys
            .iter()
            .filter(|k| k.key_use == key_use)
            .map(|k| k.thumbprint.clone())
            .collect();
        t.sort();
        t
    }
}

/// A validated `locket.retailer/v1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetailerMetadata {
    /// Always [`METADATA_FORMAT`].
    pub format: String,
    /// The retailer's origin (`https://shop.example`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address or https URL for data questions.
    pub contact: String,
    /// Privacy policy URL (same origin).
    pub privacy_policy: String,
    /// Where releases are delivered (same origin).
    pub delivery_url: String,
    /// The retailer's public keys.
    pub jwks: Jwks,
}

impl RetailerMetadata {
    /// The retailer id its requests carry (the token audience): the origin's host.
    pub fn retailer_id(&self) -> String {
        retailer_id_of(&self.id).unwrap_or_default()
    }

    /// The document as pretty JSON (what a retailer serves).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The canonical web origin of `url`: `https://` + lowercase host (a domain name, not an address literal)
/// + `:port` only when it is not 443; no user, path beyond `/`, query or fragment. `Err` says why not.
pub fn web_origin(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if parsed.scheme() != "https" {
        return Err(format!("{url:?} is not an https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{url:?} carries a user name or password"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{url:?} is not an origin (it has a path, query or fragment)"));
    }
    origin_of(&parsed)
}

/// The canonical origin ([`web_origin`]) of any https URL, whatever its path.
pub fn origin_of(url: &url::Url) -> Result<String, String> {
    if url.scheme() != "https" {
        return Err(format!("{:?} is not an https URL", url.as_str()));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(_) => return Err(format!("{:?} names an address, not a domain", url.as_str())),
        None => return Err(format!("{:?} has no host", url.as_str())),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || !host.contains('.') && host != "localhost" {
        return Err(format!("{:?} is not a fully qualified domain name", url.as_str()));
    }
    Ok(match url.port() {
        Some(p) if p != 443 => format!("https://{host}:{p}"),
        _ => format!("https://{host}"),
    })
}

/// The origin of an https URL given as text ([`origin_of`]).
pub fn origin_of_str(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    origin_of(&parsed)
}

/// The retailer id of an origin: its host, which must fit the request format's retailer-id rule.
pub fn retailer_id_of(origin: &str) -> Result<String, String> {
    let parsed = url::Url::parse(origin).map_err(|e| format!("{origin:?} is not a URL ({e})"))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let ok = (1..=64).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && host.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && host.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(host)
    } else {
        Err(format!(
            "the host of {origin:?} cannot serve as a retailer id (at most 64 characters of a-z, 0-9, '.', '-', '_')"
        ))
    }
}

fn validator() -> Result<&'static jsonschema::Validator, MetadataError> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: serde_json::Value = serde_json::from_str(crate::schemas::METADATA_SCHEMA)
                .map_err(|e| format!("schema is not JSON: {e}"))?;
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| format!("schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(|e| MetadataError::Malformed(format!("internal: the built-in {e}")))
}

fn problem(path: impl Into<String>, rule: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        rule: rule.to_owned(),
        message: message.into(),
    }
}

/// RFC 7638 thumbprint of a public JWK (`OKP`: crv, kty, x; `EC`: crv, kty, x, y), base64url SHA-256.
pub fn jwk_thumbprint(jwk: &serde_json::Map<String, serde_json::Value>) -> Result<String, String> {
    let member = |k: &str| {
        jwk.get(k)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("the key has no {k}"))
    };
    let kty = member("kty")?;
    // Members in lexicographic order, no whitespace (RFC 7638 section 3.2); values are base64url/ASCII.
    let canonical = match kty {
        "OKP" => serde_json::json!({"crv": member("crv")?, "kty": kty, "x": member("x")?}),
        "EC" => serde_json::json!({"crv": member("crv")?, "kty": kty, "x": member("x")?, "y": member("y")?}),
        other => return Err(format!("key type {other:?} is not supported")),
    };
    // Written in lexicographic order, so the bytes are canonical whether or not serde_json preserves insertion order.
    let bytes = serde_json::to_vec(&canonical).map_err(|e| e.to_string())?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// Whether a key's type, curve and algorithm fit its use; `Err` says what is wrong.
fn key_fits(jwk: &serde_json::Map<String, serde_json::Value>, key_use: KeyUse) -> Result<String, String> {
    let s = |k: &str| jwk.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let (kty, crv, alg) = (s("kty"), s("crv"), jwk.get("alg").and_then(|v| v.as_str()));
    let ok = match (key_use, kty, crv) {
        (KeyUse::Sig, "OKP", "Ed25519") => alg.is_none_or(|a| a == "EdDSA" || a == "Ed25519"),
        (KeyUse::Sig, "EC", "P-256") => alg.is_none_or(|a| a == "ES256"),
        (KeyUse::Enc, "OKP", "X25519") | (KeyUse::Enc, "EC", "P-256") => alg.is_none_or(|a| a == "ECDH-ES"),
        _ => false,
    };
    if !ok {
        return Err(format!(
            "a {} key must be {}; this one is {kty} {crv}{}",
            if key_use == KeyUse::Sig {
                "signing"
            } else {
                "encryption"
            },
            if key_use == KeyUse::Sig {
                "OKP Ed25519 (alg EdDSA or Ed25519) or EC P-256 (alg ES256)"
            } else {
                "OKP X25519 or EC P-256 (alg ECDH-ES)"
            },
            alg.map(|a| format!(" with alg {a}")).unwrap_or_default()
        ));
    }
    if kty == "EC" && !jwk.contains_key("y") {
        return Err("an EC key needs y".to_owned());
    }
    if kty == "OKP" && jwk.contains_key("y") {
        return Err("an OKP key has no y".to_owned());
    }
    Ok(crv.to_owned())
}

/// Parse and validate untrusted metadata fetched from `origin` (canonical, as [`web_origin`] gives it).
pub fn parse_metadata(bytes: &[u8], origin: &str) -> Result<RetailerMetadata, MetadataError> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge {
            size: bytes.len(),
            max: MAX_METADATA_BYTES,
        });
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| MetadataError::Malformed(e.to_string()))?;
    let mut problems = Vec::new();
    crate::request::control_characters(&value, &mut String::new(), &mut problems);
    if problems.is_empty() {
        problems = validator()?
            .iter_errors(&value)
            .take(MAX_PROBLEMS)
            .map(|e| {
                let rule = e.schema_path.as_str().rsplit('/').next().unwrap_or("schema").to_owned();
                if PRIVATE_MEMBERS.contains(&rule.as_str()) {
                    return problem(
                        e.instance_path.as_str(),
                        "private_key",
                        format!("a private key member ({rule}) was published; the key is compromised, make a new one"),
                    );
                }
                let mut message = e.to_string();
                message.truncate(300);
                problem(e.instance_path.as_str(), &rule, message)
            })
            .collect();
        problems.sort_by(|a, b| a.path.cmp(&b.path));
    }
    if !problems.is_empty() {
        problems.truncate(MAX_PROBLEMS);
        return Err(MetadataError::Invalid(problems));
    }
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_owned();
    let id = text("id");
    match web_origin(&id) {
        Ok(canonical) if canonical == id => {}
        Ok(canonical) => problems.push(problem("/id", "origin", format!("write the origin as {canonical:?}"))),
        Err(e) => problems.push(problem("/id", "origin", e)),
    }
    if problems.is_empty() && id != origin {
        return Err(MetadataError::OriginMismatch {
            origin: origin.to_owned(),
            claimed: id,
        });
    }
    if let Err(e) = retailer_id_of(&id) {
        problems.push(problem("/id", "retailer_id", e));
    }
    for member in ["privacy_policy", "delivery_url"] {
        match origin_of_str(&text(member)) {
            Ok(o) if o == id => {}
            Ok(o) => problems.push(problem(
                format!("/{member}"),
                "same_origin",
                format!("is on {o}, not on the retailer's origin {id}"),
            )),
            Err(e) => problems.push(problem(format!("/{member}"), "same_origin", e)),
        }
    }
    let contact = text("contact");
    if contact.starts_with("http:") || (contact.contains("://") && !contact.starts_with("https://")) {
        problems.push(problem("/contact", "contact", "a contact URL must be https"));
    }

    let mut keys = Vec::new();
    let mut kids = std::collections::HashSet::new();
    for (i, key) in value["jwks"]["keys"].as_array().into_iter().flatten().enumerate() {
        let Some(jwk) = key.as_object() else { continue };
        let kid = jwk["kid"].as_str().unwrap_or_default().to_owned();
        let key_use = if jwk["use"] == "sig" { KeyUse::Sig } else { KeyUse::Enc };
        if !kids.insert(kid.clone()) {
            problems.push(problem(
                format!("/jwks/keys/{i}/kid"),
                "unique_kid",
                format!("kid {kid:?} is used by an earlier key"),
            ));
        }
        match PublicJwk::read(jwk, key_use) {
            Ok(k) => keys.push(k),
            Err((rule, e)) => problems.push(problem(format!("/jwks/keys/{i}"), rule, e)),
        }
    }
    let jwks = Jwks { keys };
    if problems.is_empty() {
        if !jwks.keys.iter().any(|k| k.key_use == KeyUse::Sig) {
            problems.push(problem("/jwks/keys", "signing_key", "no signing key (use sig)"));
        }
        if jwks.encryption_key().is_none() {
            problems.push(problem("/jwks/keys", "encryption_key", "no encryption key (use enc)"));
        }
    }
    if !problems.is_empty() {
        problems.truncate(MAX_PROBLEMS);
        return Err(MetadataError::Invalid(problems));
    }
    Ok(RetailerMetadata {
        format: text("format"),
        id,
        name: text("name"),
        contact,
        privacy_policy: text("privacy_policy"),
        delivery_url: text("delivery_url"),
        jwks,
    })
}

/// Whether `josekit` takes the key for its use (a point on the curve, the right length).
fn usable(jwk: &serde_json::Map<String, serde_json::Value>, key_use: KeyUse) -> Result<(), String> {
    let key = josekit::jwk::Jwk::from_map(jwk.clone()).map_err(|e| format!("not a usable JWK: {e}"))?;
    let r = match (key_use, key.curve()) {
        (KeyUse::Sig, Some("Ed25519")) => josekit::jws::EdDSA.verifier_from_jwk(&without_alg(&key)).map(|_| ()),
        (KeyUse::Sig, _) => josekit::jws::ES256.verifier_from_jwk(&key).map(|_| ()),
        (KeyUse::Enc, _) => josekit::jwe::ECDH_ES.encrypter_from_jwk(&key).map(|_| ()),
    };
    r.map_err(|e| format!("the key is not usable: {e}"))
}

/// A copy of `key` without `alg` (josekit's EdDSA verifier refuses the RFC 9864 name `Ed25519`).
pub(crate) fn without_alg(key: &josekit::jwk::Jwk) -> josekit::jwk::Jwk {
    let mut map: serde_json::Map<String, serde_json::Value> = key.as_ref().clone();
    map.remove("alg");
    josekit::jwk::Jwk::from_map(map).unwrap_or_else(|_| key.clone())
}

/// The public half of a private JWK, keeping its `kid`, `use` and `alg`.
pub fn public_of(key: &josekit::jwk::Jwk) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let public = key.to_public_key().map_err(|e| e.to_string())?;
    let mut map: serde_json::Map<String, serde_json::Value> = public.as_ref().clone();
    for member in ["kid", "use", "alg"] {
        if let Some(v) = key.parameter(member) {
            map.insert(member.to_owned(), v.clone());
        }
    }
    Ok(map)
}

/// A retailer's own key pair set: an Ed25519 signing key and an X25519 encryption key, as private JWKs.
/// `Debug` prints `[redacted]`. What a retailer's server keeps secret; [`RetailerKeys::public_jwks`] is what
/// it publishes.
#[derive(Clone)]
pub struct RetailerKeys {
    /// The signing key (private JWK, `use` sig, `alg` EdDSA).
    pub signing: josekit::jwk::Jwk,
    /// The encryption key (private JWK, `use` enc, `alg` ECDH-ES).
    pub encryption: josekit::jwk::Jwk,
}

impl std::fmt::Debug for RetailerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetailerKeys")
            .field("signing", &self.signing.key_id())
            .field("encryption", &self.encryption.key_id())
            .field("private", &"[redacted]")
            .finish()
    }
}

impl RetailerKeys {
    /// New random keys, with kids made from their thumbprints.
    pub fn generate() -> Result<RetailerKeys, String> {
        let mut signing = josekit::jwk::Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .map_err(|e| format!("could not make a signing key: {e}"))?;
        let mut encryption = josekit::jwk::Jwk::generate_ecx_key(josekit::jwk::alg::ecx::EcxCurve::X25519)
            .map_err(|e| format!("could not make an encryption key: {e}"))?;
        for (key, key_use, alg, prefix) in [
            (&mut signing, "sig", "EdDSA", "sig-"),
            (&mut encryption, "enc", "ECDH-ES", "enc-"),
        ] {
            key.set_key_use(key_use);
            key.set_algorithm(alg);
            let public = key.to_public_key().map_err(|e| e.to_string())?;
            let thumb = jwk_thumbprint(public.as_ref())?;
            key.set_key_id(format!("{prefix}{}", &thumb[..16]));
        }
        Ok(RetailerKeys { signing, encryption })
    }

    /// Read keys back from their private JWKs (as [`RetailerKeys::to_private_json`] wrote them).
    pub fn from_private_json(text: &str) -> Result<RetailerKeys, String> {
        #[derive(Deserialize)]
        struct Stored {
            signing: serde_json::Map<String, serde_json::Value>,
            encryption: serde_json::Map<String, serde_json::Value>,
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| format!("not a keys file: {e}"))?;
        let signing = josekit::jwk::Jwk::from_map(stored.signing).map_err(|e| e.to_string())?;
        let encryption = josekit::jwk::Jwk::from_map(stored.encryption).map_err(|e| e.to_string())?;
        if signing.parameter("d").is_none() || encryption.parameter("d").is_none() {
            return Err("the keys file holds no private keys".to_owned());
        }
        Ok(RetailerKeys { signing, encryption })
    }

    /// Both private JWKs as a JSON object `{"signing": …, "encryption": …}` (keep it secret).
    pub fn to_private_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "signing": self.signing.as_ref(),
            "encryption": self.encryption.as_ref(),
        }))
        .unwrap_or_default()
    }

    /// The public key set to publish in the metadata's `jwks`.
    pub fn public_jwks(&self) -> Result<serde_json::Value, String> {
        Ok(serde_json::json!({ "keys": [public_of(&self.signing)?, public_of(&self.encryption)?] }))
    }

    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> &str {
        self.signing.key_id().unwrap_or_default()
    }

    /// A metadata document for `origin` with these keys (what a retailer serves at [`WELL_KNOWN_PATH`]).
    pub fn metadata(
        &self,
        origin: &str,
        name: &str,
        contact: &str,
        privacy_policy: &str,
        delivery_url: &str,
    ) -> Result<serde_json::Value, String> {
        Ok(serde_json::json!({
            "format": METADATA_FORMAT,
            "id": web_origin(origin)?,
            "name": name,
            "contact": contact,
            "privacy_policy": privacy_policy,
            "delivery_url": delivery_url,
            "jwks": self.public_jwks()?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(keys: &RetailerKeys) -> serde_json::Value {
        keys.metadata(
            "https://shop.example",
            "Example Shop",
            "privacy@shop.example",
            "https://shop.example/privacy",
            "https://shop.example/locket/deliveries",
        )
        .unwrap()
    }

    fn parse(v: &serde_json::Value) -> Result<RetailerMetadata, MetadataError> {
        parse_metadata(serde_json::to_string(v).unwrap().as_bytes(), "https://shop.example")
    }

    #[test]
    fn generated_metadata_parses() {
        let keys = RetailerKeys::generate().unwrap();
        let m = parse(&sample(&keys)).unwrap();
        assert_eq!(m.retailer_id(), "shop.example");
        assert!(m.jwks.signing_key(keys.signing_kid()).is_some());
        assert_eq!(m.jwks.encryption_key().unwrap().curve, "X25519");
        assert_eq!(m.jwks.thumbprints(KeyUse::Sig).len(), 1);
        let again = RetailerKeys::from_private_json(&keys.to_private_json()).unwrap();
        assert_eq!(again.signing_kid(), keys.signing_kid());
        assert!(!format!("{keys:?}").contains("\"d\""));
    }

    #[test]
    fn origins_are_canonical() {
        assert_eq!(web_origin("https://Shop.Example").unwrap(), "https://shop.example");
        assert_eq!(web_origin("https://shop.example:443/").unwrap(), "https://shop.example");
        assert_eq!(web_origin("https://shop.test:8443").unwrap(), "https://shop.test:8443");
        for bad in [
            "http://shop.example",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://127.0.0.1",
            "https://[::1]",
            "https://shop.example?x=1",
            "https://intranet",
            "locket://connect",
        ] {
            assert!(web_origin(bad).is_err(), "{bad}");
        }
        assert_eq!(retailer_id_of("https://shop.test:8443").unwrap(), "shop.test");
        assert!(retailer_id_of(&format!("https://{}.example", "a".repeat(70))).is_err());
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 8037 appendix A.3: the thumbprint of the Ed25519 example key.
        let jwk = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            jwk_thumbprint(jwk.as_object().unwrap()).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn refusals_name_their_rule() {
        let keys = RetailerKeys::generate().unwrap();
        let rule_of = |v: &serde_json::Value| match parse(v) {
            Err(MetadataError::Invalid(p)) => p.iter().map(|p| p.rule.clone()).collect::<Vec<_>>(),
            other => panic!("expected Invalid, got {other:?}"),
        };
        let mut v = sample(&keys);
        v["delivery_url"] = json!("https://evil.example/in");
        assert_eq!(rule_of(&v), ["same_origin"]);
        let mut v = sample(&keys);
        v["jwks"]["keys"][0]["d"] = json!("AAAA");
        assert_eq!(rule_of(&v), ["private_key"]);
        let mut v = sample(&keys);
        v["jwks"]["keys"][1]["kid"] = v["jwks"]["keys"][0]["kid"].clone();
        assert_eq!(rule_of(&v), ["unique_kid"]);
        let mut v = sample(&keys);
        v["jwks"]["keys"][1]["use"] = json!("sig");
        assert_eq!(rule_of(&v), ["key_type"]);
        let mut v = sample(&keys);
        v["name"] = json!("Shop\u{202e}");
        assert_eq!(rule_of(&v), ["control_characters"]);
        let mut v = sample(&keys);
        v["id"] = json!("https://other.example");
        assert_eq!(parse(&v).unwrap_err().code(), "retailer_metadata_origin_mismatch");
        let big = vec![b' '; MAX_METADATA_BYTES + 1];
        assert_eq!(
            parse_metadata(&big, "https://shop.example").unwrap_err().code(),
            "retailer_metadata_too_large"
        );
    }
}
