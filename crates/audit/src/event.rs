use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// What happened. Stored as its snake_case name; kinds written by a newer Locket read back as [`EventKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A retailer redeemed a grant and received fields (`GET /v1/data`).
    Redemption,
    /// A retailer looked at a grant's status (`GET /v1/grant`).
    Introspection,
    /// A retailer's call was refused; the reason code says why.
    Refusal,
    /// A grant request arrived (over HTTP or imported from a file); outcome `ok` = accepted, `refused` = rejected.
    RequestReceived,
    /// The owner approved a request and a grant was issued.
    GrantIssued,
    /// The owner denied a request.
    GrantDenied,
    /// A grant was revoked (detail `by`: `owner` or `retailer`).
    GrantRevoked,
    /// The vault was unlocked.
    Unlock,
    /// An unlock attempt failed (recorded after the fact, see [`crate::pending`]).
    UnlockFailed,
    /// A profile field was changed by the owner.
    ProfileChanged,
    /// The owner withdrew some scopes of a grant and kept the rest.
    GrantNarrowed,
    /// The owner asked a retailer to erase what it received.
    ErasureRequested,
    /// A retailer confirmed it erased what it received.
    ErasureAcknowledged,
    /// The log of another vault (an export) was imported into this one.
    Imported,
    /// The vault now holds an older database — a backup restored (detail `cause`: `restore`, `recover`) or an
    /// older copy the owner accepted at unlock (`rollback`) — and what must survive it was applied again: detail
    /// names the backup, how many events after it were rolled back and where they are kept, and which grants'
    /// revocations, narrowings and use counts were re-applied.
    VaultRestored,
    /// Refusals of callers that proved nothing (no credential, a malformed one, a token whose signature did not
    /// verify, an invalid `Origin`, a rate limit), counted per source and reason over a window instead of one
    /// event each: `remote_addr` is the source, `reason` the refusal code, detail `count`, `first_at`, `last_at`
    /// (RFC 3339), `actions` (what was refused) and, for unverified tokens, `claimed_grants`. One event with
    /// detail `overflow: true` (no source, detail `reasons`) counts the refusals beyond the tracked pairs.
    RefusalsSummarized,
    /// The first verified request of a web origin pinned its retailer details and keys: detail `origin`,
    /// `signing_keys` (thumbprints).
    RetailerPinned,
    /// The owner approved a verified request whose retailer details or keys differed from the pin, so the pin
    /// now holds the new ones: detail `origin`, `changed` (which details).
    RetailerPinChanged,
    /// A release (data, update, revocation or expiry) was queued for the retailer's server.
    ReleaseQueued,
    /// One attempt to deliver a release: its HTTP status (or the failure) and the SHA-256 of what was sent.
    DeliveryAttempt,
    /// The retailer's server acknowledged a release: for data releases, the fields and versions it now holds.
    ReleaseDelivered,
    /// A release was given up (out of time, refused for good, or cancelled by the owner).
    ReleaseFailed,
    /// Any other kind (written by a newer version).
    Other(String),
}

impl EventKind {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Redemption => "redemption",
            EventKind::Introspection => "introspection",
            EventKind::Refusal => "refusal",
            EventKind::RequestReceived => "request_received",
            EventKind::GrantIssued => "grant_issued",
            EventKind::GrantDenied => "grant_denied",
            EventKind::GrantRevoked => "grant_revoked",
            EventKind::Unlock => "unlock",
            EventKind::UnlockFailed => "unlock_failed",
            EventKind::ProfileChanged => "profile_changed",
            EventKind::GrantNarrowed => "grant_narrowed",
            EventKind::ErasureRequested => "erasure_requested",
            EventKind::ErasureAcknowledged => "erasure_acknowledged",
            EventKind::Imported => "imported",
            EventKind::VaultRestored => "vault_restored",
            EventKind::RefusalsSummarized => "refusals_summarized",
            EventKind::RetailerPinned => "retailer_pinned",
            EventKind::RetailerPinChanged => "retailer_pin_changed",
            EventKind::ReleaseQueued => "release_queued",
            EventKind::DeliveryAttempt => "delivery_attempt",
            EventKind::ReleaseDelivered => "release_delivered",
            EventKind::ReleaseFailed => "release_failed",
            EventKind::Other(s) => s,
        }
    }

    /// What the owner reads for this kind ("Data shared"); front ends take their words from here.
    pub fn label(&self) -> &'static str {
        match self {
            EventKind::Redemption => "Data shared",
            EventKind::Introspection => "Grant checked",
            EventKind::Refusal => "Access refused",
            EventKind::RequestReceived => "Request received",
            EventKind::GrantIssued => "Grant approved",
            EventKind::GrantDenied => "Request denied",
            EventKind::GrantRevoked => "Grant revoked",
            EventKind::Unlock => "Vault unlocked",
            EventKind::UnlockFailed => "Failed unlock",
            EventKind::ProfileChanged => "Profile changed",
            EventKind::GrantNarrowed => "Grant narrowed",
            EventKind::ErasureRequested => "Erasure requested",
            EventKind::ErasureAcknowledged => "Erasure confirmed",
            EventKind::Imported => "Log imported",
            EventKind::VaultRestored => "Vault restored",
            EventKind::RefusalsSummarized => "Repeated refusals",
            EventKind::RetailerPinned => "Shop verified",
            EventKind::RetailerPinChanged => "Shop details changed",
            EventKind::ReleaseQueued => "Delivery queued",
            EventKind::DeliveryAttempt => "Delivery attempt",
            EventKind::ReleaseDelivered => "Data delivered",
            EventKind::ReleaseFailed => "Delivery failed",
            EventKind::Other(_) => "Other event",
        }
    }

    /// Parses a stored name (never fails: unknown names become [`EventKind::Other`]).
    pub fn parse(s: &str) -> EventKind {
        match s {
            "redemption" => EventKind::Redemption,
            "introspection" => EventKind::Introspection,
            "refusal" => EventKind::Refusal,
            "request_received" => EventKind::RequestReceived,
            "grant_issued" => EventKind::GrantIssued,
            "grant_denied" => EventKind::GrantDenied,
            "grant_revoked" => EventKind::GrantRevoked,
            "unlock" => EventKind::Unlock,
            "unlock_failed" => EventKind::UnlockFailed,
            "profile_changed" => EventKind::ProfileChanged,
            "grant_narrowed" => EventKind::GrantNarrowed,
            "erasure_requested" => EventKind::ErasureRequested,
            "erasure_acknowledged" => EventKind::ErasureAcknowledged,
            "imported" => EventKind::Imported,
            "vault_restored" => EventKind::VaultRestored,
            "refusals_summarized" => EventKind::RefusalsSummarized,
            "retailer_pinned" => EventKind::RetailerPinned,
            "retailer_pin_changed" => EventKind::RetailerPinChanged,
            "release_queued" => EventKind::ReleaseQueued,
            "delivery_attempt" => EventKind::DeliveryAttempt,
            "release_delivered" => EventKind::ReleaseDelivered,
            "release_failed" => EventKind::ReleaseFailed,
            other => EventKind::Other(other.to_string()),
        }
    }

    /// All kinds this version writes.
    pub const KNOWN: [&'static str; 22] = [
        "redemption",
        "introspection",
        "refusal",
        "request_received",
        "grant_issued",
        "grant_denied",
        "grant_revoked",
        "unlock",
        "unlock_failed",
        "profile_changed",
        "grant_narrowed",
        "erasure_requested",
        "erasure_acknowledged",
        "imported",
        "vault_restored",
        "refusals_summarized",
        "retailer_pinned",
        "retailer_pin_changed",
        "release_queued",
        "delivery_attempt",
        "release_delivered",
        "release_failed",
    ];
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(EventKind::parse(&s))
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Allowed / accepted / done.
    Ok,
    /// Refused (the reason code says why).
    Refused,
    /// Failed because of an internal error.
    Error,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "ok" => Some(Outcome::Ok),
            "refused" => Some(Outcome::Refused),
            "error" => Some(Outcome::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field disclosed to a retailer, with the version of the value that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedField {
    /// Catalog key, e.g. `email` or `custom.shoe_size`.
    pub key: String,
    /// The `field_values.version` that was disclosed.
    pub version: i64,
}

/// An event to append. Build it with [`NewEvent::new`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// How it ended.
    pub outcome: Outcome,
    /// Stable reason code (for refusals and errors).
    pub reason: Option<String>,
    /// Retailer id.
    pub retailer: Option<String>,
    /// Grant id.
    pub grant_id: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Fields disclosed (with value versions).
    pub fields: Vec<DisclosedField>,
    /// Remote address of the caller.
    pub remote_addr: Option<String>,
    /// The caller's User-Agent (truncated to 256 characters, control characters replaced).
    pub user_agent: Option<String>,
    /// Extra details, a JSON object (e.g. `{"route":"/v1/data"}`, `{"by":"owner"}`).
    pub detail: Option<serde_json::Map<String, serde_json::Value>>,
    /// Time to record instead of now (used when importing events recorded earlier). Still clamped so the chain's
    /// times never decrease.
    pub at: Option<DateTime<Utc>>,
}

impl NewEvent {
    /// A new event of `kind` with `outcome` and nothing else set.
    pub fn new(kind: EventKind, outcome: Outcome) -> NewEvent {
        NewEvent {
            kind,
            outcome,
            reason: None,
            retailer: None,
            grant_id: None,
            request_id: None,
            fields: Vec::new(),
            remote_addr: None,
            user_agent: None,
            detail: None,
            at: None,
        }
    }

    /// A refusal of `action` (e.g. `redemption`) with reason `code`.
    pub fn refusal(code: &str, action: &str) -> NewEvent {
        NewEvent::new(EventKind::Refusal, Outcome::Refused)
            .reason(code)
            .detail("action", action)
    }

    /// Sets the reason code.
    pub fn reason(mut self, code: impl Into<String>) -> Self {
        self.reason = Some(code.into());
        self
    }
    /// Sets the retailer id.
    pub fn retailer(mut self, id: impl Into<String>) -> Self {
        self.retailer = Some(id.into());
        self
    }
    /// Sets the grant id.
    pub fn grant(mut self, id: impl Into<String>) -> Self {
        self.grant_id = Some(id.into());
        self
    }
    /// Sets the request id.
    pub fn request(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Sets the disclosed fields.
    pub fn fields(mut self, fields: Vec<DisclosedField>) -> Self {
        self.fields = fields;
        self
    }
    /// Sets the remote address.
    pub fn remote(mut self, addr: impl Into<String>) -> Self {
        self.remote_addr = Some(addr.into());
        self
    }
    /// Sets the user agent.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }
    /// Adds one detail entry.
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.detail
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_string(), value.into());
        self
    }
    /// Records the event at `at` instead of now.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the chain (1-based, no gaps).
    pub seq: u64,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// How it ended (stored text; `ok`, `refused` or `error`).
    pub outcome: String,
    /// Reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Retailer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retailer: Option<String>,
    /// Grant id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Disclosed fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<DisclosedField>,
    /// Remote address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
    /// User agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Extra details.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// Chain hash (hex).
    pub hash: String,
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Makes a header value safe to store and show: at most `max` characters, control characters replaced.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}
