//! Stored requests and grants, as read back from the vault (tables `requests` and `grants`, migration
//! `0003_grants.sql`): the record types, their statuses and the lookups by id or unique id prefix. Writing
//! (import, approve, deny, revoke, narrow) is [`crate::store`], which re-exports everything here; consent
//! receipts ([`crate::receipt`]) read grants from here, so neither of those two imports the other.
//!
//! JSON columns: `requests.decision` holds a [`Decision`]; `grants.scopes` holds a list of
//! [`GrantedScope`].

use crate::error::GrantError;
use crate::purpose::Purpose;
use crate::request::{GrantRequest, RequestedScope};
use crate::scope::ScopeKind;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// Where a request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSource {
    /// Imported by the owner from a file.
    File {
        /// The path given.
        path: String,
    },
    /// Fetched from a retailer's site and verified (`locket://connect?request_uri=…`); the verification is
    /// recorded beside it ([`crate::connect`]).
    Connect {
        /// The URL the signed request was fetched from.
        request_uri: String,
    },
    /// Received at `POST /v1/requests`.
    Http {
        /// Remote socket address.
        remote_addr: Option<String>,
        /// The `Origin` header, if any.
        origin_header: Option<String>,
        /// The `User-Agent` header, if any.
        user_agent: Option<String>,
    },
}

impl RequestSource {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RequestSource::File { .. } => "file",
            RequestSource::Connect { .. } => "connect",
            RequestSource::Http { .. } => "http",
        }
    }

    /// The source class [`crate::store::source_class`] gives this source once stored.
    pub(crate) fn class(&self) -> &'static str {
        crate::store::source_class(self.kind(), self.detail().as_deref())
    }

    pub(crate) fn detail(&self) -> Option<String> {
        match self {
            RequestSource::File { path } => Some(path.clone()),
            RequestSource::Connect { request_uri } => Some(request_uri.clone()),
            RequestSource::Http {
                remote_addr,
                origin_header,
                ..
            } => {
                let parts: Vec<String> = [
                    remote_addr.as_ref().map(|a| format!("remote {a}")),
                    origin_header.as_ref().map(|o| format!("Origin {o}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the owner.
    Pending,
    /// A grant was issued.
    Approved,
    /// The owner said no.
    Denied,
}

impl RequestStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
        }
    }

    fn parse(s: &str) -> Result<Self, GrantError> {
        match s {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "denied" => Ok(RequestStatus::Denied),
            other => Err(GrantError::Corrupt(format!("request status {other:?}"))),
        }
    }
}

/// One way the grant differs from the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Difference {
    /// A requested scope was not granted.
    ScopeDeclined {
        /// The scope.
        scope: String,
        /// Whether the retailer marked it required.
        required: bool,
        /// Why.
        reason: String,
    },
    /// Shorter than requested.
    DurationShortened {
        /// Requested (ISO 8601).
        requested: String,
        /// Granted (ISO 8601).
        granted: String,
    },
    /// The owner capped the number of redemptions.
    UsesLimited {
        /// The cap.
        max_uses: u32,
    },
    /// The owner granted a minimized answer instead of the requested scope (see [`crate::store::approve_minimized`]).
    ScopeMinimized {
        /// The scope asked for.
        requested: String,
        /// The derived or noised scope granted in its place.
        granted: String,
    },
}

impl Difference {
    /// The difference in words.
    pub fn describe(&self) -> String {
        match self {
            Difference::ScopeDeclined {
                scope,
                required,
                reason,
            } => {
                format!(
                    "{scope}{} not granted: {reason}",
                    if *required { " (marked required)" } else { "" }
                )
            }
            Difference::DurationShortened { requested, granted } => {
                format!("duration shortened from {requested} to {granted} by the owner")
            }
            Difference::UsesLimited { max_uses } => format!("limited to {max_uses} redemptions by the owner"),
            Difference::ScopeMinimized { requested, granted } => {
                format!("{granted} granted instead of {requested}: the owner chose the minimized answer")
            }
        }
    }
}

/// A scope as granted (stored in `grants.scopes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedScope {
    /// Scope string (as requested).
    pub scope: String,
    /// Field, group or derived.
    pub kind: ScopeKind,
    /// Label at the time of the grant.
    pub label: String,
    /// Purpose.
    pub purpose: Purpose,
    /// Retailer's words about the purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_text: Option<String>,
    /// Whether the retailer marked it required.
    pub required: bool,
}

/// The owner's decision on a request: what was asked, what was granted, and why they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `approved` or `denied`.
    pub outcome: RequestStatus,
    /// When (RFC 3339).
    pub decided_at: String,
    /// The scopes asked for.
    pub asked: Vec<RequestedScope>,
    /// The scopes granted (empty when denied).
    pub granted: Vec<String>,
    /// Requested duration (ISO 8601).
    pub requested_duration: String,
    /// Granted duration (ISO 8601), when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_duration: Option<String>,
    /// Use cap, when approved with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// How the grant differs from the request.
    pub differences: Vec<Difference>,
    /// The owner's own note, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The grant issued, when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// `req_…`.
    pub id: String,
    /// Where it came from: `file` or `http`.
    pub source: String,
    /// File path or remote address.
    pub source_detail: Option<String>,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// Pending, approved or denied.
    pub status: RequestStatus,
    /// The decision, once made.
    pub decision: Option<Decision>,
    /// The document.
    pub request: GrantRequest,
}

/// Who revoked a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    /// The owner (`locket grant revoke`, the app).
    Owner,
    /// The retailer gave it back (`POST /v1/grant/revoke`).
    Retailer,
}

impl RevokedBy {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokedBy::Owner => "owner",
            RevokedBy::Retailer => "retailer",
        }
    }
}

/// Where a grant stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Usable.
    Active,
    /// Not valid yet.
    NotYetValid,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
    /// All uses spent.
    Exhausted,
}

impl GrantStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::NotYetValid => "not_yet_valid",
            GrantStatus::Expired => "expired",
            GrantStatus::Revoked => "revoked",
            GrantStatus::Exhausted => "exhausted",
        }
    }
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantRecord {
    /// `gr_…`, the token's jti.
    pub id: String,
    /// The request it answers.
    pub request_id: String,
    /// Retailer id.
    pub retailer_id: String,
    /// Retailer display name.
    pub retailer_name: String,
    /// Pairwise subject id given to the retailer.
    pub subject: String,
    /// Granted scopes.
    pub scopes: Vec<GrantedScope>,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Valid from.
    pub not_before: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// Use cap (`None` = unlimited).
    pub max_uses: Option<u32>,
    /// Redemptions so far.
    pub uses: u32,
    /// Last redemption.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked.
    pub revoked_by: Option<RevokedBy>,
    /// Why, if given.
    pub revoke_reason: Option<String>,
}

impl GrantRecord {
    /// Status at `now`: revoked, then expired, then exhausted, then not yet valid, else active.
    pub fn status(&self, now: DateTime<Utc>) -> GrantStatus {
        if self.revoked_at.is_some() {
            GrantStatus::Revoked
        } else if now >= self.expires_at {
            GrantStatus::Expired
        } else if self.max_uses.is_some_and(|m| self.uses >= m) {
            GrantStatus::Exhausted
        } else if now < self.not_before {
            GrantStatus::NotYetValid
        } else {
            GrantStatus::Active
        }
    }

    /// Redemptions left (`None` = unlimited).
    pub fn uses_left(&self) -> Option<u32> {
        self.max_uses.map(|m| m.saturating_sub(self.uses))
    }
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, GrantError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| GrantError::Corrupt(format!("timestamp {s:?}")))
}

/// Resolve a full id or a unique prefix of one (at least 6 characters) in `table`.
pub(crate) fn find_id(
    conn: &Connection,
    table: &str,
    given: &str,
    not_found: fn(String) -> GrantError,
) -> Result<String, GrantError> {
    let given = given.trim();
    let exact: Option<String> = conn
        .query_row(&format!("SELECT id FROM {table} WHERE id = ?1"), [given], |r| r.get(0))
        .optional()?;
    if let Some(id) = exact {
        return Ok(id);
    }
    if given.len() < 6 {
        return Err(not_found(given.to_owned()));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT id FROM {table} WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2"
    ))?;
    let ids: Vec<String> = stmt.query_map([given], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(not_found(given.to_owned())),
        _ => Err(GrantError::AmbiguousId(given.to_owned())),
    }
}

const REQUEST_COLUMNS: &str = "id, source, source_detail, received_at, status, decision, document";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

type RequestRow = (String, String, Option<String>, String, String, Option<String>, String);

fn request_record(row: RequestRow) -> Result<RequestRecord, GrantError> {
    let (id, source, source_detail, received_at, status, decision, document) = row;
    let request: GrantRequest =
        serde_json::from_str(&document).map_err(|e| GrantError::Corrupt(format!("request {id}: {e}")))?;
    let decision = decision
        .map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(|e| GrantError::Corrupt(format!("decision of {id}: {e}")))?;
    Ok(RequestRecord {
        received_at: parse_time(&received_at)?,
        status: RequestStatus::parse(&status)?,
        id,
        source,
        source_detail,
        decision,
        request,
    })
}

/// One request by id or unique id prefix.
pub fn get_request(conn: &Connection, id: &str) -> Result<RequestRecord, GrantError> {
    let id = find_id(conn, "requests", id, GrantError::RequestNotFound)?;
    let row = conn.query_row(
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"),
        [&id],
        request_from_row,
    )?;
    request_record(row)
}

/// The request whose retailer details Locket keeps for `retailer_id` (its "first-seen" details): the one the
/// retailer's oldest grant was issued for, or else its oldest request. Anyone can claim any retailer id, so a
/// later request with other details is compared with this one (and flagged), never taken as the shop's word.
/// Ties in time (times are stored to the second) go to the one stored first.
pub fn first_seen_request(conn: &Connection, retailer_id: &str) -> Result<Option<RequestRecord>, GrantError> {
    let of_first_grant = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = (
             SELECT g.request_id FROM grants g JOIN requests r ON r.id = g.request_id
             WHERE g.retailer_id = ?1 ORDER BY g.issued_at, g.rowid LIMIT 1)"
    );
    let oldest =
        format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE retailer_id = ?1 ORDER BY received_at, rowid LIMIT 1");
    let mut row = conn
        .query_row(&of_first_grant, [retailer_id], request_from_row)
        .optional()?;
    if row.is_none() {
        row = conn.query_row(&oldest, [retailer_id], request_from_row).optional()?;
    }
    row.map(request_record).transpose()
}

/// Requests, newest first, optionally only those with `status`.
pub fn list_requests(conn: &Connection, status: Option<RequestStatus>) -> Result<Vec<RequestRecord>, GrantError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE ?1 IS NULL OR status = ?1 ORDER BY received_at DESC, id"
    ))?;
    let rows: Vec<RequestRow> = stmt
        .query_map([status.map(|s| s.as_str())], request_from_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(request_record).collect()
}

const GRANT_COLUMNS: &str = "id, request_id, retailer_id, retailer_name, subject, scopes, issued_at, not_before, \
     expires_at, max_uses, uses, last_used_at, revoked_at, revoked_by, revoke_reason";

type GrantRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<u32>,
    u32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn grant_from_row(r: &Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
    ))
}

fn grant_record(row: GrantRow) -> Result<GrantRecord, GrantError> {
    let (
        id,
        request_id,
        retailer_id,
        retailer_name,
        subject,
        scopes,
        issued,
        nbf,
        exp,
        max_uses,
        uses,
        last,
        revoked_at,
        revoked_by,
        reason,
    ) = row;
    let scopes: Vec<GrantedScope> =
        serde_json::from_str(&scopes).map_err(|e| GrantError::Corrupt(format!("scopes of {id}: {e}")))?;
    let revoked_by = match revoked_by.as_deref() {
        None => None,
        Some("owner") => Some(RevokedBy::Owner),
        Some("retailer") => Some(RevokedBy::Retailer),
        Some(other) => return Err(GrantError::Corrupt(format!("revoked_by {other:?}"))),
    };
    Ok(GrantRecord {
        issued_at: parse_time(&issued)?,
        not_before: parse_time(&nbf)?,
        expires_at: parse_time(&exp)?,
        last_used_at: last.as_deref().map(parse_time).transpose()?,
        revoked_at: revoked_at.as_deref().map(parse_time).transpose()?,
        id,
        request_id,
        retailer_id,
        retailer_name,
        subject,
        scopes,
        max_uses,
        uses,
        revoked_by,
        revoke_reason: reason,
    })
}

/// One grant by exact id (no prefix matching; used on the redemption path).
pub fn grant_by_id(conn: &Connection, id: &str) -> Result<Option<GrantRecord>, GrantError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1"))?;
    let row = stmt.query_row([id], grant_from_row).optional()?;
    row.map(grant_record).transpose()
}

/// One grant by id or unique id prefix.
pub fn get_grant(conn: &Connection, id: &str) -> Result<GrantRecord, GrantError> {
    let id = find_id(conn, "grants", id, GrantError::GrantNotFound)?;
    grant_by_id(conn, &id)?.ok_or(GrantError::GrantNotFound(id))
}

/// All grants, newest first.
pub fn list_grants(conn: &Connection) -> Result<Vec<GrantRecord>, GrantError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants ORDER BY issued_at DESC, id"
    ))?;
    let rows: Vec<GrantRow> = stmt.query_map([], grant_from_row)?.collect::<Result<_, _>>()?;
    rows.into_iter().map(grant_record).collect()
}
