//! The grant file `locket.grant/v1`: what the owner hands to the retailer after approving a request. It
//! carries the token, where to redeem it, the key to verify it with, and a plain description of what it
//! allows. It contains no profile data. Schema: `docs/schemas/grant.v1.schema.json`.

use crate::purpose::Purpose;
use crate::scope::{FieldRef, ScopeKind};
use serde::{Deserialize, Serialize};

/// The `format` value of a grant file.
pub const GRANT_FORMAT: &str = "locket.grant/v1";

/// Largest grant file accepted, in bytes.
pub const MAX_GRANT_FILE_BYTES: usize = 256 * 1024;

/// The published JSON Schema of the grant file, as text.
pub use crate::schemas::GRANT_SCHEMA;

/// The retailer a grant was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRetailer {
    /// Retailer id (the token audience).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Website origin.
    pub origin: String,
}

/// A granted scope as described in the grant file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantFileScope {
    /// Scope string.
    pub scope: String,
    /// Field, group or derived.
    pub kind: ScopeKind,
    /// Label ("Email address").
    pub label: String,
    /// Purpose it was granted for.
    pub purpose: Purpose,
    /// The retailer's words about the purpose, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_text: Option<String>,
    /// Fields covered at the time of the grant (a group's members may change later).
    pub fields: Vec<FieldRef>,
}

/// A `locket.grant/v1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantFile {
    /// Always [`GRANT_FORMAT`].
    pub format: String,
    /// Grant id (the token's `jti`).
    pub grant_id: String,
    /// The issuing vault's id (the token's `iss`).
    pub issuer: String,
    /// Base URL of the owner's Locket endpoint (`http://127.0.0.1:7419`).
    pub endpoint: String,
    /// Public key that verifies the token, PASERK `k4.public.…`.
    pub public_key: String,
    /// Its key id, PASERK `k4.pid.…` (also in the token footer).
    pub key_id: String,
    /// Who the grant is for.
    pub retailer: GrantRetailer,
    /// The owner's pairwise subject id at this retailer (the token's `sub`).
    pub subject: String,
    /// What is granted, for which purposes.
    pub scopes: Vec<GrantFileScope>,
    /// When issued (RFC 3339).
    pub issued_at: String,
    /// Valid from (RFC 3339).
    pub not_before: String,
    /// Valid until (RFC 3339).
    pub expires_at: String,
    /// Most redemptions allowed; `null` for no limit.
    pub max_uses: Option<u32>,
    /// A plain-language description of the grant.
    pub summary: String,
    /// The bearer token, PASETO `v4.public.…`.
    pub token: String,
    /// The retailer's copy of the consent receipt for this grant (`locket.consent-receipt/v1`, signed with
    /// `public_key`; see [`crate::receipt`]). Absent in grant files issued before receipts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<crate::receipt::Receipt>,
}

/// A grant file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantFileError {
    /// Over the size cap.
    #[error("the grant file is {0} bytes; a grant file is at most {MAX_GRANT_FILE_BYTES} bytes")]
    TooLarge(usize),
    /// Not a grant file.
    #[error("not a Locket grant file (locket.grant/v1): {0}")]
    Invalid(String),
}

impl GrantFileError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            GrantFileError::TooLarge(_) => "grant_file_too_large",
            GrantFileError::Invalid(_) => "grant_file_invalid",
        }
    }
}

impl GrantFile {
    /// Parse a grant file, checking its format and that the token's claims agree with it.
    pub fn parse(bytes: &[u8]) -> Result<GrantFile, GrantFileError> {
        if bytes.len() > MAX_GRANT_FILE_BYTES {
            return Err(GrantFileError::TooLarge(bytes.len()));
        }
        let file: GrantFile = serde_json::from_slice(bytes).map_err(|e| GrantFileError::Invalid(e.to_string()))?;
        if file.format != GRANT_FORMAT {
            return Err(GrantFileError::Invalid(format!(
                "format is {:?}, expected {GRANT_FORMAT:?}",
                file.format
            )));
        }
        let claims =
            crate::token::peek_claims(&file.token).map_err(|e| GrantFileError::Invalid(format!("token: {e}")))?;
        if claims.jti != file.grant_id || claims.aud != file.retailer.id || claims.iss != file.issuer {
            return Err(GrantFileError::Invalid(
                "the token's grant id, audience or issuer differ from the file's".to_owned(),
            ));
        }
        let kid = crate::token::key_id_of(&file.public_key).map_err(|e| GrantFileError::Invalid(e.to_string()))?;
        if kid != file.key_id {
            return Err(GrantFileError::Invalid("key_id is not the id of public_key".to_owned()));
        }
        if let Some(r) = &file.receipt {
            if r.grant.grant_id != file.grant_id || r.controller.id != file.retailer.id {
                return Err(GrantFileError::Invalid(
                    "the receipt is for a different grant or retailer than the file".to_owned(),
                ));
            }
            let text = serde_json::to_string(r).map_err(|e| GrantFileError::Invalid(e.to_string()))?;
            crate::receipt::verify_receipt(&text, &file.public_key)
                .map_err(|e| GrantFileError::Invalid(format!("receipt: {e}")))?;
        }
        Ok(file)
    }

    /// Pretty JSON with a trailing newline (the form written to disk).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Everything a grant file and its token are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    /// Grant id (`gr_` + 32 hex).
    pub grant_id: String,
    /// Who it is for.
    pub retailer: GrantRetailer,
    /// What it allows.
    pub scopes: Vec<GrantFileScope>,
    /// Issue time; also the start of validity.
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// End of validity.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Use cap.
    pub max_uses: Option<u32>,
    /// Endpoint base URL.
    pub endpoint: String,
}

/// Make the token claims, sign them, and assemble the grant file (without its receipt: `locket_grants::store::approve`
/// adds the receipt once the grant is stored). Deterministic for a given signer and
/// spec (Ed25519 signatures are), which the golden tests rely on.
pub fn build(
    signer: &crate::token::TokenSigner,
    spec: &GrantSpec,
) -> Result<(crate::token::TokenClaims, GrantFile), crate::token::TokenError> {
    use crate::token::rfc3339;
    let subject = signer.subject_for(&spec.retailer.id);
    let claims = crate::token::TokenClaims {
        iss: signer.issuer().to_owned(),
        sub: subject.clone(),
        aud: spec.retailer.id.clone(),
        jti: spec.grant_id.clone(),
        iat: rfc3339(spec.issued_at),
        nbf: rfc3339(spec.issued_at),
        exp: rfc3339(spec.expires_at),
        scope: spec.scopes.iter().map(|s| s.scope.clone()).collect(),
        purposes: spec.scopes.iter().map(|s| (s.scope.clone(), s.purpose)).collect(),
    };
    let token = signer.sign(&claims)?;
    let endpoint = spec.endpoint.trim_end_matches('/').to_owned();
    let summary = summary(
        &spec.retailer,
        &spec.scopes,
        &claims.nbf,
        &claims.exp,
        spec.max_uses,
        &endpoint,
    );
    let file = GrantFile {
        format: GRANT_FORMAT.to_owned(),
        grant_id: spec.grant_id.clone(),
        issuer: claims.iss.clone(),
        endpoint,
        public_key: signer.public_paserk().to_owned(),
        key_id: signer.key_id().to_owned(),
        retailer: spec.retailer.clone(),
        subject,
        scopes: spec.scopes.clone(),
        issued_at: claims.iat.clone(),
        not_before: claims.nbf.clone(),
        expires_at: claims.exp.clone(),
        max_uses: spec.max_uses,
        summary,
        token,
        receipt: None,
    };
    Ok((claims, file))
}

/// The summary sentence(s) of a grant file.
fn summary(
    retailer: &GrantRetailer,
    scopes: &[GrantFileScope],
    not_before: &str,
    expires_at: &str,
    max_uses: Option<u32>,
    endpoint: &str,
) -> String {
    let items: Vec<String> = scopes
        .iter()
        .map(|s| match &s.purpose_text {
            Some(t) => format!("{} ({}: {})", s.label, s.purpose.label(), t),
            None => format!("{} ({})", s.label, s.purpose.label()),
        })
        .collect();
    let uses = match max_uses {
        Some(1) => ", once".to_owned(),
        Some(n) => format!(", at most {n} times"),
        None => String::new(),
    };
    format!(
        "{} ({}) may read from the owner's Locket: {}. Valid from {} until {}{}. Redeem with GET {}/v1/data \
         and the token as a Bearer credential. The owner can revoke this grant at any time.",
        retailer.name,
        retailer.origin,
        items.join("; "),
        not_before,
        expires_at,
        uses,
        endpoint.trim_end_matches('/'),
    )
}
