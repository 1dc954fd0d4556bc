//! Client library for retailers integrating with Locket: build and send grant requests, read grant files,
//! fetch the granted data, check a grant's status and give it back.
//!
//! ```no_run
//! use locket_retailer::{Client, load_grant};
//! let grant = load_grant("grant.json".as_ref())?;
//! let client = Client::new()?;
//! let data = client.fetch(&grant)?;
//! for f in &data.fields {
//!     println!("{} = {}", f.key, f.value);
//! }
//! # Ok::<(), locket_retailer::RetailerError>(())
//! ```
//!
//! Every call to the owner's Locket sends the grant's token as `Authorization: Bearer …`. A refusal comes
//! back as [`RetailerError::Refused`] with the endpoint's stable `code` (`grant_revoked`, `token_expired`, …).
//!
//! No database, no server: a shop's program links this and `locket-wire`. The reference retailer server and
//! the `locket-retailer` CLI (publishing signed requests, receiving releases into SQLite) are the
//! `locket-retailer-server` crate, built on this one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use locket_wire::exchange::{Benefit, Offer, Recipient, RecipientRole};
use locket_wire::grantfile::{GrantFile, GrantFileError, GRANT_FORMAT};
use locket_wire::receipt::{verify_receipt, Receipt, ReceiptError};
use locket_wire::request::{parse_request, GrantRequest, RequestedScope, Retailer, Retention, REQUEST_FORMAT};
use locket_wire::{Purpose, RequestError, TokenVerifier, VerifiedToken};
use serde::{Deserialize, Serialize};

pub use locket_wire::grantfile;

/// Something went wrong on the retailer's side of the exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetailerError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// Not a valid grant file.
    #[error(transparent)]
    GrantFile(#[from] GrantFileError),
    /// The grant file's token does not verify with its own public key.
    #[error(
        "the grant file's token does not verify with the key in the file ({0}); ask the owner for a fresh grant file"
    )]
    TokenInvalid(String),
    /// The request being built or sent is not valid.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A command-line style argument is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The owner's Locket could not be reached.
    #[error("cannot reach the owner's Locket at {url}: {reason}. Is Locket running and unlocked (`locket serve` or the desktop app)?")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        reason: String,
    },
    /// The owner's Locket answered with a refusal.
    #[error("the owner's Locket refused ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable code, e.g. `grant_revoked`.
        code: String,
        /// Explanation from the endpoint.
        message: String,
        /// Problems listed for `request_invalid`.
        problems: Vec<ServerProblem>,
    },
    /// A consent receipt does not verify or is not a receipt.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The owner's Locket answered something this client does not understand.
    #[error("unexpected answer from {url} (HTTP {status}): {detail}")]
    Unexpected {
        /// URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// The server's reply was larger than any Locket answer ([`MAX_RESPONSE_BYTES`]); reading stopped there.
    #[error("the reply from {url} is larger than {max} bytes, so it is not a Locket answer; reading stopped")]
    ResponseTooLarge {
        /// URL.
        url: String,
        /// The cap, in bytes.
        max: u64,
    },
    /// A file this command would write already exists.
    #[error("{path} already exists; nothing was written (give --force to replace it)")]
    FileExists {
        /// The file.
        path: String,
    },
    /// The shop's data directory has no keys file.
    #[error("{path} does not exist: make the shop's keys first with `locket-retailer keys new --data DIR`")]
    KeysMissing {
        /// The keys file looked for.
        path: String,
    },
    /// The shop's keys file is not one.
    #[error("{path} is not a retailer keys file ({detail}); make new keys with `locket-retailer keys new --data DIR --force`")]
    KeysInvalid {
        /// The keys file.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The shop's details (origin, name, contact) have not been recorded in its data directory yet.
    #[error("{path} does not exist: run `locket-retailer serve --origin https://… --data DIR …` once, which records the shop's details, before publishing requests")]
    ShopMissing {
        /// The shop file looked for.
        path: String,
    },
    /// The TLS certificate or key cannot be used.
    #[error("cannot use the TLS certificate or key: {0}")]
    TlsFiles(String),
    /// The server cannot listen on its address.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Making keys, a certificate, a signature or random bytes failed.
    #[error("{0}")]
    Crypto(String),
    /// A delivered release does not open or verify (the wire crate's refusal, with its code).
    #[error(transparent)]
    Release(#[from] locket_wire::release::ReleaseError),
    /// A delivery's Standard Webhooks headers are missing or malformed (before anything is opened).
    #[error("the webhook headers are missing or malformed: {0}")]
    DeliveryHeaders(String),
    /// A grant's first release names a `state` this shop never published, one whose window closed, or one
    /// another grant already used.
    #[error("the grant release for {grant_id} names a state this shop did not publish, one that expired, or one another grant already used; nothing was stored")]
    ReleaseStateUnknown {
        /// The grant.
        grant_id: String,
    },
    /// A release for a grant this shop never accepted, and not its first (`grant`) release.
    #[error("a {event} release for grant {grant_id}, which this shop never accepted; only a grant's first (grant) release introduces it")]
    ReleaseGrantUnknown {
        /// The grant.
        grant_id: String,
        /// The release's event.
        event: &'static str,
    },
    /// A release for another retailer.
    #[error("the release is for retailer {got:?}; this shop is {expected:?}")]
    ReleaseRetailerMismatch {
        /// The release's `retailer_id`.
        got: String,
        /// This shop's retailer id.
        expected: String,
    },
    /// A release whose sequence number is not past the last one applied for its grant.
    #[error(
        "release #{sequence} of grant {grant_id} comes after #{last} was applied; a release is applied only in order"
    )]
    ReleaseOutOfOrder {
        /// The grant.
        grant_id: String,
        /// The release's sequence number.
        sequence: u64,
        /// The last one applied.
        last: u64,
    },
    /// Data for a grant that ended (revoked or expired).
    #[error("grant {grant_id} has ended; this shop takes no more data under it")]
    ReleaseGrantEnded {
        /// The grant.
        grant_id: String,
    },
    /// The holdings database cannot be read or written.
    #[error("{path}: the holdings database failed: {detail}")]
    Holdings {
        /// The database file.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// The holdings database was made by a newer `locket-retailer`.
    #[error("{path} has schema version {found}; this locket-retailer knows up to {supported}: use a newer one")]
    HoldingsTooNew {
        /// The database file.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
}

impl RetailerError {
    /// Stable snake_case code: the server's code for refusals, else this crate's own.
    pub fn code(&self) -> &str {
        match self {
            RetailerError::Io { .. } => "io_error",
            RetailerError::GrantFile(e) => e.code(),
            RetailerError::TokenInvalid(_) => "grant_file_token_invalid",
            RetailerError::Request(e) => e.code(),
            RetailerError::Invalid(_) => "invalid_argument",
            RetailerError::Unreachable { .. } => "endpoint_unreachable",
            RetailerError::Refused { code, .. } => code,
            RetailerError::Unexpected { .. } => "unexpected_response",
            RetailerError::ResponseTooLarge { .. } => "response_too_large",
            RetailerError::Receipt(e) => e.code(),
            RetailerError::FileExists { .. } => "file_exists",
            RetailerError::KeysMissing { .. } => "retailer_keys_missing",
            RetailerError::KeysInvalid { .. } => "retailer_keys_invalid",
            RetailerError::ShopMissing { .. } => "retailer_shop_missing",
            RetailerError::TlsFiles(_) => "tls_files_invalid",
            RetailerError::Bind { .. } => "server_bind_failed",
            RetailerError::Crypto(_) => "retailer_crypto_failed",
            RetailerError::Release(e) => e.code(),
            RetailerError::DeliveryHeaders(_) => "release_headers_invalid",
            RetailerError::ReleaseStateUnknown { .. } => "release_state_unknown",
            RetailerError::ReleaseGrantUnknown { .. } => "release_grant_unknown",
            RetailerError::ReleaseRetailerMismatch { .. } => "release_retailer_mismatch",
            RetailerError::ReleaseOutOfOrder { .. } => "release_out_of_order",
            RetailerError::ReleaseGrantEnded { .. } => "release_grant_ended",
            RetailerError::Holdings { .. } => "holdings_storage_failed",
            RetailerError::HoldingsTooNew { .. } => "holdings_too_new",
        }
    }
}

/// One problem the server found in a request (`request_invalid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerProblem {
    /// JSON pointer.
    pub path: String,
    /// Rule that failed.
    pub rule: String,
    /// Explanation.
    pub message: String,
}

#[derive(Deserialize)]
struct ServerError {
    code: String,
    message: String,
    #[serde(default)]
    problems: Vec<ServerProblem>,
}

/// Read and check a grant file (`locket.grant/v1`).
pub fn load_grant(path: &Path) -> Result<GrantFile, RetailerError> {
    let bytes = std::fs::read(path).map_err(|source| RetailerError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(GrantFile::parse(&bytes)?)
}

/// Verify the grant file's token offline with the PASERK public key the file carries (signature, key id,
/// issuer, and that the claims agree with the file). Does not check the time window or revocation — only
/// the owner's Locket knows about revocation; use [`Client::introspect`].
pub fn verify_offline(grant: &GrantFile) -> Result<VerifiedToken, RetailerError> {
    let verifier = TokenVerifier::from_paserk(&grant.public_key, &grant.issuer)
        .map_err(|e| RetailerError::TokenInvalid(e.to_string()))?;
    let v = verifier
        .verify_signature(&grant.token)
        .map_err(|e| RetailerError::TokenInvalid(e.to_string()))?;
    let c = &v.claims;
    if c.jti != grant.grant_id || c.aud != grant.retailer.id || c.sub != grant.subject {
        return Err(RetailerError::TokenInvalid(
            "the token's claims differ from the grant file".into(),
        ));
    }
    Ok((*v).clone())
}

/// One field value received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Catalog key (`contact.email`).
    pub key: String,
    /// Label (`Email address`).
    #[serde(default)]
    pub label: String,
    /// Version of the owner's value; keep it to notice changes.
    pub version: u64,
    /// The value.
    pub value: serde_json::Value,
    /// The granted scope it came under.
    #[serde(default)]
    pub scope: String,
}

/// The answer to `GET /v1/data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data {
    /// Grant id.
    pub grant_id: String,
    /// The owner's subject id at your shop (stable across grants).
    #[serde(default)]
    pub subject: String,
    /// Exactly the granted fields that have values.
    pub fields: Vec<Field>,
    /// Granted optional scopes with no value right now.
    #[serde(default)]
    pub empty_scopes: Vec<String>,
    /// Uses so far.
    #[serde(default)]
    pub uses: u64,
    /// Uses left (`None` = unlimited).
    #[serde(default)]
    pub uses_left: Option<u64>,
    /// When the data was read.
    #[serde(default)]
    pub disclosed_at: Option<String>,
}

/// The answer to `GET /v1/grant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    /// Whether the grant can be redeemed now.
    pub active: bool,
    /// `active`, `not_yet_valid`, `expired`, `revoked` or `exhausted`.
    pub status: String,
    /// Grant id.
    pub grant_id: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Use cap.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// Uses so far.
    #[serde(default)]
    pub uses: u64,
    /// Uses left.
    #[serde(default)]
    pub uses_left: Option<u64>,
    /// Revocation time, if revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// Who revoked.
    #[serde(default)]
    pub revoked_by: Option<String>,
    /// When data you received under the grant first changed after the version you last fetched (`None`:
    /// what you hold is current).
    #[serde(default)]
    pub data_changed_since: Option<String>,
    /// When the owner asked you to erase what you received (`None`: never).
    #[serde(default)]
    pub erasure_requested_at: Option<String>,
    /// When you acknowledged that (`None` while a request is open).
    #[serde(default)]
    pub erasure_acknowledged_at: Option<String>,
}

/// One erasure request, as `POST /v1/grant/erasure-ack` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRequest {
    /// `er_…`.
    pub id: String,
    /// The grant it is about (`None`: all your grants).
    #[serde(default)]
    pub grant_id: Option<String>,
    /// When the owner asked.
    pub requested_at: String,
    /// The owner's note.
    #[serde(default)]
    pub note: Option<String>,
    /// When you acknowledged.
    #[serde(default)]
    pub acknowledged_at: Option<String>,
}

/// The answer to `POST /v1/grant/erasure-ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureAck {
    /// Grant id.
    pub grant_id: String,
    /// Open requests this call acknowledged.
    pub acknowledged: u64,
    /// Every request that applies to the grant.
    #[serde(default)]
    pub requests: Vec<ErasureRequest>,
}

#[derive(Deserialize)]
struct ReceiptsReply {
    receipts: Vec<Receipt>,
}

/// Verify consent receipts offline. `document` is a grant file (its `receipt`), a single receipt, or a list
/// of them (`{"receipts": [...]}`: the answer of `GET /v1/grant/receipts` or the owner's export).
/// `key` is the PASERK `k4.public.…` to verify with; for a grant file it defaults to the file's own
/// `public_key`. Returns the verified receipts.
pub fn verify_receipts(document: &[u8], key: Option<&str>) -> Result<Vec<Receipt>, RetailerError> {
    let value: serde_json::Value =
        serde_json::from_slice(document).map_err(|e| RetailerError::Receipt(ReceiptError::Malformed(e.to_string())))?;
    let (docs, key): (Vec<serde_json::Value>, String) = match value.get("format").and_then(|f| f.as_str()) {
        Some(GRANT_FORMAT) => {
            let grant = GrantFile::parse(document)?;
            let receipt = grant.receipt.as_ref().ok_or_else(|| {
                RetailerError::Invalid("this grant file has no receipt (it was issued before receipts existed)".into())
            })?;
            let doc = serde_json::to_value(receipt)
                .map_err(|e| RetailerError::Receipt(ReceiptError::Malformed(e.to_string())))?;
            (vec![doc], key.map_or(grant.public_key.clone(), str::to_owned))
        }
        _ => {
            let key = key.ok_or_else(|| {
                RetailerError::Invalid(
                    "give the key to verify with: --key k4.public.… or --grant GRANT_FILE (its public_key)".into(),
                )
            })?;
            let docs = match value.get("receipts").and_then(|r| r.as_array()) {
                Some(list) => list.clone(),
                None => vec![value],
            };
            (docs, key.to_owned())
        }
    };
    docs.iter()
        .map(|d| verify_receipt(&d.to_string(), &key).map_err(RetailerError::Receipt))
        .collect()
}

/// The answer to `POST /v1/grant/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Grant id.
    pub grant_id: String,
    /// Whether it was already revoked.
    #[serde(default)]
    pub already_revoked: bool,
    /// When it was revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// The answer to `POST /v1/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The id the owner sees.
    pub request_id: String,
    /// `pending`.
    #[serde(default)]
    pub status: String,
}

/// HTTP client for the owner's Locket endpoint (blocking).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
}

/// Largest reply body the client reads (the endpoint's answers are a few KiB; a larger one is not a Locket).
pub const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a reply body, stopping at [`MAX_RESPONSE_BYTES`]: a server that sends more is refused with
/// `response_too_large` without the client holding more than the cap in memory.
fn read_capped(resp: reqwest::blocking::Response, url: &str) -> Result<Vec<u8>, RetailerError> {
    use std::io::Read as _;
    let too_large = || RetailerError::ResponseTooLarge {
        url: url.to_owned(),
        max: MAX_RESPONSE_BYTES,
    };
    if resp.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    resp.take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| RetailerError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

impl Client {
    /// A client with a 15-second timeout.
    pub fn new() -> Result<Self, RetailerError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("locket-retailer/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RetailerError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http })
    }

    fn call<T: for<'de> Deserialize<'de>>(
        &self,
        req: reqwest::blocking::RequestBuilder,
        url: &str,
    ) -> Result<T, RetailerError> {
        let resp = req.send().map_err(|e| RetailerError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let body = read_capped(resp, url)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| RetailerError::Unexpected {
                url: url.to_owned(),
                status,
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ServerError>(&body) {
            Ok(e) => Err(RetailerError::Refused {
                status,
                code: e.code,
                message: e.message,
                problems: e.problems,
            }),
            Err(_) => Err(RetailerError::Unexpected {
                url: url.to_owned(),
                status,
                detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            }),
        }
    }

    /// `GET {endpoint}/v1/data`: the granted fields' current values. Each call counts as one use.
    pub fn fetch(&self, grant: &GrantFile) -> Result<Data, RetailerError> {
        let url = join(&grant.endpoint, "/v1/data");
        self.call(self.http.get(&url).bearer_auth(&grant.token), &url)
    }

    /// `GET {endpoint}/v1/grant`: the grant's status, expiry and uses left (does not count as a use).
    pub fn introspect(&self, grant: &GrantFile) -> Result<GrantState, RetailerError> {
        let url = join(&grant.endpoint, "/v1/grant");
        self.call(self.http.get(&url).bearer_auth(&grant.token), &url)
    }

    /// `GET {endpoint}/v1/grant/receipts`: every consent receipt of the grant, oldest first, each verified
    /// with the grant file's public key before it is returned.
    pub fn receipts(&self, grant: &GrantFile) -> Result<Vec<Receipt>, RetailerError> {
        let url = join(&grant.endpoint, "/v1/grant/receipts");
        let reply: ReceiptsReply = self.call(self.http.get(&url).bearer_auth(&grant.token), &url)?;
        for r in &reply.receipts {
            let text =
                serde_json::to_string(r).map_err(|e| RetailerError::Receipt(ReceiptError::Malformed(e.to_string())))?;
            verify_receipt(&text, &grant.public_key)?;
        }
        Ok(reply.receipts)
    }

    /// `POST {endpoint}/v1/grant/erasure-ack`: acknowledge the owner's erasure requests. Idempotent.
    pub fn erasure_ack(&self, grant: &GrantFile) -> Result<ErasureAck, RetailerError> {
        let url = join(&grant.endpoint, "/v1/grant/erasure-ack");
        self.call(self.http.post(&url).bearer_auth(&grant.token), &url)
    }

    /// `POST {endpoint}/v1/grant/revoke`: give the grant back. Idempotent.
    pub fn revoke(&self, grant: &GrantFile) -> Result<Revocation, RetailerError> {
        let url = join(&grant.endpoint, "/v1/grant/revoke");
        self.call(self.http.post(&url).bearer_auth(&grant.token), &url)
    }

    /// `POST {base}/v1/requests` with a request document (checked locally first). `base` is the owner's
    /// endpoint URL (a URL already ending in `/v1/requests` is used as is).
    pub fn send_request(&self, base: &str, document: &[u8]) -> Result<Submitted, RetailerError> {
        parse_request(document)?;
        let url = if base.trim_end_matches('/').ends_with("/v1/requests") {
            base.trim_end_matches('/').to_owned()
        } else {
            join(base, "/v1/requests")
        };
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(document.to_vec());
        self.call(req, &url)
    }
}

/// Builds a `locket.grant-request/v1` document.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    retailer: Retailer,
    scopes: Vec<RequestedScope>,
    duration: String,
    retention: Retention,
    benefit: Option<Benefit>,
    recipients: Vec<Recipient>,
}

impl RequestBuilder {
    /// Start a request from your shop's details.
    pub fn new(id: &str, name: &str, origin: &str, contact: &str, privacy_policy: &str) -> Self {
        Self {
            retailer: Retailer {
                id: id.to_owned(),
                name: name.to_owned(),
                origin: origin.to_owned(),
                contact: contact.to_owned(),
                privacy_policy: privacy_policy.to_owned(),
            },
            scopes: Vec::new(),
            duration: "P30D".to_owned(),
            retention: Retention {
                max_duration: "until_grant_ends".to_owned(),
                statement: "We delete the data when the grant ends.".to_owned(),
            },
            benefit: None,
            recipients: Vec::new(),
        }
    }

    /// Ask for `scope` for `purpose` (with optional words about it).
    pub fn scope(mut self, scope: &str, purpose: Purpose, purpose_text: Option<&str>, required: bool) -> Self {
        self.scopes.push(RequestedScope {
            scope: scope.to_owned(),
            purpose,
            purpose_text: purpose_text.map(str::to_owned),
            required,
        });
        self
    }

    /// Ask for this long (ISO 8601: `P30D`, `PT12H`).
    pub fn duration(mut self, iso8601: &str) -> Self {
        self.duration = iso8601.to_owned();
        self
    }

    /// Your retention promise: ISO 8601 duration or `until_grant_ends`, and the statement shown to the owner.
    pub fn retention(mut self, max_duration: &str, statement: &str) -> Self {
        self.retention = Retention {
            max_duration: max_duration.to_owned(),
            statement: statement.to_owned(),
        };
        self
    }

    /// What you offer the owner in return: your words, and optionally the offer in a form Locket states in its
    /// own words (a discount, loyalty points, free shipping, …).
    pub fn benefit(mut self, description: &str, offer: Option<Offer>) -> Self {
        self.benefit = Some(Benefit {
            description: description.to_owned(),
            offer,
        });
        self
    }

    /// Someone beyond your shop who receives what the owner shares (a courier, a payment provider, a partner).
    /// List every one: a request without recipients tells the owner you share with nobody else.
    pub fn recipient(mut self, recipient: Recipient) -> Self {
        self.recipients.push(recipient);
        self
    }

    /// The finished request, with a fresh nonce, created now, validated against the schema.
    pub fn build(self) -> Result<GrantRequest, RetailerError> {
        self.build_at(Utc::now(), &uuid::Uuid::new_v4().simple().to_string())
    }

    /// [`build`](Self::build) with a given time and nonce.
    pub fn build_at(self, created_at: DateTime<Utc>, nonce: &str) -> Result<GrantRequest, RetailerError> {
        let request = GrantRequest {
            format: REQUEST_FORMAT.to_owned(),
            retailer: self.retailer,
            scopes: self.scopes,
            requested_duration: self.duration,
            retention: self.retention,
            benefit: self.benefit,
            recipients: self.recipients,
            nonce: nonce.to_owned(),
            created_at: created_at.with_nanosecond_zero(),
        };
        // Validate exactly as the owner's Locket will.
        let json = serde_json::to_vec(&request).map_err(|e| RetailerError::Invalid(e.to_string()))?;
        locket_wire::request::parse_request_at(&json, created_at)?;
        Ok(request)
    }
}

trait NanosZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanosZero for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

/// Parse `SCOPE=PURPOSE[:TEXT]` (the CLI's `--scope` form).
pub fn parse_scope_arg(arg: &str) -> Result<(String, Purpose, Option<String>), RetailerError> {
    let (scope, rest) = arg.split_once('=').ok_or_else(|| {
        RetailerError::Invalid(format!(
            "{arg:?}: expected SCOPE=PURPOSE[:TEXT], e.g. contact.email=order_fulfilment"
        ))
    })?;
    let (purpose, text) = match rest.split_once(':') {
        Some((p, t)) => (p, Some(t.to_owned())),
        None => (rest, None),
    };
    let purpose: Purpose = purpose
        .parse()
        .map_err(|e: locket_wire::purpose::UnknownPurpose| RetailerError::Invalid(format!("{arg:?}: {e}")))?;
    Ok((scope.to_owned(), purpose, text.filter(|t| !t.is_empty())))
}

/// Parse `KIND[=VALUE]` (the CLI's `--offer` form): `discount_percent=10`, `discount_amount=4.99:EUR`,
/// `loyalty_points=500`, `free_shipping`, `early_access`, `other`. Ranges and currencies are checked when the
/// request is built.
pub fn parse_offer_arg(arg: &str) -> Result<Offer, RetailerError> {
    let bad = |why: &str| {
        RetailerError::Invalid(format!(
            "{arg:?}: {why}; expected discount_percent=10, discount_amount=4.99:EUR, loyalty_points=500, \
             free_shipping, early_access or other"
        ))
    };
    let (kind, value) = match arg.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (arg, None),
    };
    let value = value.map(str::trim);
    let number = || value.ok_or_else(|| bad("this kind needs a number"));
    Ok(match kind {
        "discount_percent" => Offer::DiscountPercent {
            percent: number()?
                .trim_end_matches('%')
                .parse()
                .map_err(|_| bad("the percentage is a whole number from 1 to 100"))?,
        },
        "discount_amount" => {
            let (amount, currency) = number()?
                .split_once(':')
                .ok_or_else(|| bad("give the amount and the currency as AMOUNT:CURRENCY"))?;
            Offer::DiscountAmount {
                amount: amount.trim().to_owned(),
                currency: currency.trim().to_owned(),
            }
        }
        "loyalty_points" => Offer::LoyaltyPoints {
            points: number()?.parse().map_err(|_| bad("the points are a whole number"))?,
        },
        "free_shipping" | "early_access" | "other" if value.is_some() => {
            return Err(bad("this kind takes no value"));
        }
        "free_shipping" => Offer::FreeShipping,
        "early_access" => Offer::EarlyAccess,
        "other" => Offer::Other,
        _ => return Err(bad("unknown kind of offer")),
    })
}

/// Parse `NAME=ROLE:PURPOSE:COUNTRY[:TEXT]` (the CLI's `--recipient` form), e.g.
/// `Parcel Express Ltd=processor:delivery:GB` or `Insight Co=third_party:other:US:Market research`.
pub fn parse_recipient_arg(arg: &str) -> Result<Recipient, RetailerError> {
    let bad = |why: String| {
        RetailerError::Invalid(format!(
            "{arg:?}: {why}; expected NAME=ROLE:PURPOSE:COUNTRY[:TEXT], e.g. \"Parcel Express Ltd=processor:delivery:GB\""
        ))
    };
    let (name, rest) = arg
        .split_once('=')
        .ok_or_else(|| bad("no '=' after the name".to_owned()))?;
    let mut parts = rest.splitn(4, ':');
    let (Some(role), Some(purpose), Some(country)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("role, purpose and country are all needed".to_owned()));
    };
    let role = RecipientRole::ALL
        .into_iter()
        .find(|r| r.as_str() == role.trim())
        .ok_or_else(|| {
            bad(format!(
                "unknown role {role:?} (processor, joint_controller or third_party)"
            ))
        })?;
    let purpose: Purpose = purpose
        .trim()
        .parse()
        .map_err(|e: locket_wire::purpose::UnknownPurpose| bad(e.to_string()))?;
    Ok(Recipient {
        name: name.trim().to_owned(),
        role,
        purpose,
        purpose_text: parts.next().map(str::to_owned).filter(|t| !t.is_empty()),
        country: country.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_makes_a_valid_request() {
        let req = RequestBuilder::new(
            "shop.example",
            "Example Shop",
            "https://shop.example",
            "privacy@shop.example",
            "https://shop.example/privacy",
        )
        .scope("contact.email", Purpose::OrderFulfilment, None, true)
        .scope("sizes", Purpose::PersonalisedRecommendations, Some("fit"), false)
        .duration("P14D")
        .build()
        .unwrap();
        assert_eq!(req.scopes.len(), 2);
        assert_eq!(req.nonce.len(), 32);
        let again = locket_wire::request::parse_request(req.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(again, req);
    }

    #[test]
    fn builder_reports_schema_problems() {
        let err = RequestBuilder::new("Bad Id", "n", "https://x.example", "a@b.c", "https://x.example/p")
            .scope("contact.email", Purpose::Other, None, true)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), "request_invalid");
        let msg = err.to_string();
        assert!(msg.contains("/retailer/id") && msg.contains("/scopes/0"), "{msg}");
    }

    #[test]
    fn scope_args() {
        assert_eq!(
            parse_scope_arg("contact.email=order_fulfilment").unwrap(),
            ("contact.email".into(), Purpose::OrderFulfilment, None)
        );
        assert_eq!(
            parse_scope_arg("sizes=other:fit advice").unwrap(),
            ("sizes".into(), Purpose::Other, Some("fit advice".into()))
        );
        assert!(parse_scope_arg("contact.email").is_err());
        assert!(parse_scope_arg("contact.email=spam").is_err());
    }
}

#[cfg(test)]
mod body_cap_tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// A server that answers every request with `body_len` bytes, announced or chunked.
    fn huge_server(announce: bool) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut req = [0u8; 4096];
                let _ = s.read(&mut req);
                let total = MAX_RESPONSE_BYTES as usize * 2;
                if announce {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
                    );
                } else {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    );
                }
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..(total / chunk.len()) {
                    let ok = if announce {
                        s.write_all(&chunk)
                    } else {
                        write!(s, "{:x}\r\n", chunk.len())
                            .and_then(|()| s.write_all(&chunk))
                            .and_then(|()| s.write_all(b"\r\n"))
                    };
                    if ok.is_err() {
                        return;
                    }
                }
            }
        });
        format!("http://{addr}/v1/data")
    }

    #[test]
    fn a_reply_larger_than_any_locket_answer_is_refused_at_the_cap() {
        for announce in [true, false] {
            let url = huge_server(announce);
            let client = Client::new().unwrap();
            let err = client
                .call::<serde_json::Value>(client.http.get(&url), &url)
                .unwrap_err();
            assert_eq!(err.code(), "response_too_large", "announced: {announce}: {err}");
        }
    }

    #[test]
    fn builder_adds_a_benefit_and_recipients_and_validates_them() {
        let base = || {
            RequestBuilder::new(
                "shop.example",
                "Example Shop",
                "https://shop.example",
                "privacy@shop.example",
                "https://shop.example/privacy",
            )
            .scope("contact.email", Purpose::OrderFulfilment, None, true)
        };
        let req = base()
            .benefit("10% off today", Some(parse_offer_arg("discount_percent=10").unwrap()))
            .recipient(parse_recipient_arg("Parcel Express Ltd=processor:delivery:GB").unwrap())
            .recipient(parse_recipient_arg("Insight Co=third_party:other:US:Market research: panels").unwrap())
            .build()
            .unwrap();
        assert_eq!(
            req.benefit.as_ref().unwrap().offer,
            Some(Offer::DiscountPercent { percent: 10 })
        );
        assert_eq!(req.recipients.len(), 2);
        assert_eq!(req.recipients[1].purpose, Purpose::Other);
        assert_eq!(
            req.recipients[1].purpose_text.as_deref(),
            Some("Market research: panels")
        );
        let again = locket_wire::request::parse_request(req.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(again, req);

        // The owner's rules apply before anything is written.
        let e = base()
            .recipient(parse_recipient_arg("Parcel Express=processor:delivery:UK").unwrap())
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("/recipients/0/country"), "{e}");
        let e = base()
            .benefit("Money back", Some(parse_offer_arg("discount_amount=5:XYZ").unwrap()))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("/benefit/offer/currency"), "{e}");

        for (arg, offer) in [
            (
                "discount_amount=4.99:EUR",
                Offer::DiscountAmount {
                    amount: "4.99".into(),
                    currency: "EUR".into(),
                },
            ),
            ("discount_percent=15%", Offer::DiscountPercent { percent: 15 }),
            ("loyalty_points=500", Offer::LoyaltyPoints { points: 500 }),
            ("free_shipping", Offer::FreeShipping),
            ("early_access", Offer::EarlyAccess),
            ("other", Offer::Other),
        ] {
            assert_eq!(parse_offer_arg(arg).unwrap(), offer, "{arg}");
        }
        for bad in [
            "cashback=5",
            "discount_percent",
            "discount_percent=ten",
            "discount_amount=5",
            "free_shipping=1",
        ] {
            assert!(parse_offer_arg(bad).is_err(), "{bad}");
        }
        for bad in [
            "Parcel Express",
            "Parcel=processor:delivery",
            "Parcel=courier:delivery:GB",
            "Parcel=processor:parcels:GB",
        ] {
            assert!(parse_recipient_arg(bad).is_err(), "{bad}");
        }
    }
}
