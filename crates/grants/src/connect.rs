//! Verified requests and pinned retailers (tables `verified_requests` and `retailer_pins`, migration
//! `0005_connect.sql`).
//!
//! A request fetched from a retailer's site and verified against its metadata is stored like any request
//! ([`crate::store::import_request`] with [`RequestSource::Connect`](crate::records::RequestSource::Connect)) and,
//! in the same transaction, [`record_verified`] keeps what was checked: the origin, the URL, the retailer's
//! `state`, the key that signed it and the metadata as verified. The first verified metadata of an origin is
//! **pinned**; a later request whose name, contact, policy, delivery URL or keys differ is stored with those
//! differences ([`Verification::changes`]) and the pin stays as it was until the owner approves such a request
//! ([`accept_pin`]). *Invariant:* a changed key or name is never silently taken for the same shop.

use crate::error::GrantError;
use crate::records::RequestRecord;
use chrono::{DateTime, Utc};
use locket_audit::{EventKind, NewEvent, Outcome};
use locket_wire::metadata::{KeyUse, RetailerMetadata};
use locket_wire::request_object::VerifiedRequestObject;
use locket_wire::token::rfc3339;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// One pinned detail that a verified request states differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinChange {
    /// `name`, `contact`, `privacy_policy`, `delivery_url`, `signing_key` or `encryption_key`.
    pub field: String,
    /// What was pinned.
    pub pinned: String,
    /// What this request's metadata says.
    pub now: String,
}

/// What was verified about a request fetched from a retailer's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The request.
    pub request_id: String,
    /// The retailer's origin.
    pub origin: String,
    /// Where the signed request was fetched from.
    pub request_uri: String,
    /// The retailer's `state`.
    pub state: String,
    /// The signing key's `kid`.
    pub key_id: String,
    /// Its RFC 7638 thumbprint.
    pub key_thumbprint: String,
    /// The JWS algorithm.
    pub alg: String,
    /// The metadata as verified (JSON).
    pub metadata: String,
    /// Where the metadata differed from the origin's pin when it was fetched; empty for the first request of an
    /// origin and whenever nothing changed.
    pub changes: Vec<PinChange>,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// When the origin was first pinned.
    pub pinned_since: Option<DateTime<Utc>>,
}

/// The pinned details of an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The origin.
    pub origin: String,
    /// The retailer id (the origin's host).
    pub retailer_id: String,
    /// Pinned name.
    pub name: String,
    /// Pinned contact.
    pub contact: String,
    /// Pinned privacy policy.
    pub privacy_policy: String,
    /// Pinned delivery URL.
    pub delivery_url: String,
    /// Thumbprints of the pinned signing keys.
    pub signing_keys: Vec<String>,
    /// Thumbprints of the pinned encryption keys.
    pub encryption_keys: Vec<String>,
    /// The pinned metadata (JSON).
    pub metadata: String,
    /// First verified.
    pub first_seen_at: DateTime<Utc>,
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// `N` text columns of `r`, from column `from` on.
fn texts<const N: usize>(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<[String; N]> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = r.get(from + i)?;
    }
    Ok(out)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> GrantError {
    GrantError::Corrupt(format!("{what}: {e}"))
}

/// The pin of `origin`, if Locket has verified it before.
pub fn pin(conn: &Connection, origin: &str) -> Result<Option<Pin>, GrantError> {
    conn.query_row(
        "SELECT origin, retailer_id, name, contact, privacy_policy, delivery_url, signing_keys, encryption_keys,
                metadata, first_seen_at
         FROM retailer_pins WHERE origin = ?1",
        [origin],
        |r| texts::<10>(r, 0),
    )
    .optional()?
    .map(
        |[origin, retailer_id, name, contact, privacy_policy, delivery_url, sig, enc, metadata, first]| {
            Ok(Pin {
                origin,
                retailer_id,
                name,
                contact,
                privacy_policy,
                delivery_url,
                signing_keys: serde_json::from_str(&sig).map_err(|e| corrupt("retailer_pins.signing_keys", e))?,
                encryption_keys: serde_json::from_str(&enc).map_err(|e| corrupt("retailer_pins.encryption_keys", e))?,
                metadata,
                first_seen_at: parse_time(&first),
            })
        },
    )
    .transpose()
}

/// Whether any origin pinned for `retailer_id` (a verified shop uses this id).
pub fn pinned_origin_of(conn: &Connection, retailer_id: &str) -> Result<Option<String>, GrantError> {
    Ok(conn
        .query_row(
            "SELECT origin FROM retailer_pins WHERE retailer_id = ?1 ORDER BY first_seen_at LIMIT 1",
            [retailer_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// The differences between `pin` and `metadata`.
pub fn changes_from(pin: &Pin, metadata: &RetailerMetadata) -> Vec<PinChange> {
    let mut out = Vec::new();
    let mut diff = |field: &str, pinned: &str, now: &str| {
        if pinned != now {
            out.push(PinChange {
                field: field.to_owned(),
                pinned: pinned.to_owned(),
                now: now.to_owned(),
            });
        }
    };
    diff("name", &pin.name, &metadata.name);
    diff("contact", &pin.contact, &metadata.contact);
    diff("privacy_policy", &pin.privacy_policy, &metadata.privacy_policy);
    diff("delivery_url", &pin.delivery_url, &metadata.delivery_url);
    diff(
        "signing_key",
        &pin.signing_keys.join(" "),
        &metadata.jwks.thumbprints(KeyUse::Sig).join(" "),
    );
    diff(
        "encryption_key",
        &pin.encryption_keys.join(" "),
        &metadata.jwks.thumbprints(KeyUse::Enc).join(" "),
    );
    out
}

fn write_pin(tx: &Transaction<'_>, metadata: &RetailerMetadata, now: DateTime<Utc>) -> Result<(), GrantError> {
    let json = serde_json::to_string(metadata).map_err(|e| corrupt("metadata", e))?;
    let sig = serde_json::to_string(&metadata.jwks.thumbprints(KeyUse::Sig)).map_err(|e| corrupt("keys", e))?;
    let enc = serde_json::to_string(&metadata.jwks.thumbprints(KeyUse::Enc)).map_err(|e| corrupt("keys", e))?;
    tx.execute(
        "INSERT INTO retailer_pins (origin, retailer_id, name, contact, privacy_policy, delivery_url, signing_keys,
                                    encryption_keys, metadata, first_seen_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
         ON CONFLICT (origin) DO UPDATE SET
             name = excluded.name, contact = excluded.contact, privacy_policy = excluded.privacy_policy,
             delivery_url = excluded.delivery_url, signing_keys = excluded.signing_keys,
             encryption_keys = excluded.encryption_keys, metadata = excluded.metadata, updated_at = excluded.updated_at",
        params![
            metadata.id,
            metadata.retailer_id(),
            metadata.name,
            metadata.contact,
            metadata.privacy_policy,
            metadata.delivery_url,
            sig,
            enc,
            json,
            rfc3339(now)
        ],
    )?;
    Ok(())
}

/// Records the verification of the just-imported `record` (in the import's transaction): pins the origin if
/// it is new, else compares with the pin and keeps the differences. Logs `retailer_pinned` for a new pin.
pub fn record_verified(
    tx: &Transaction<'_>,
    record: &RequestRecord,
    verified: &VerifiedRequestObject,
    metadata: &RetailerMetadata,
    now: DateTime<Utc>,
) -> Result<Verification, GrantError> {
    let existing = pin(tx, &metadata.id)?;
    let changes = match &existing {
        Some(p) => changes_from(p, metadata),
        None => {
            write_pin(tx, metadata, now)?;
            let event = NewEvent::new(EventKind::RetailerPinned, Outcome::Ok)
                .retailer(metadata.retailer_id())
                .request(record.id.clone())
                .detail("origin", metadata.id.clone())
                .detail("signing_keys", metadata.jwks.thumbprints(KeyUse::Sig));
            locket_audit::append(tx, &event).map_err(|e| GrantError::Corrupt(e.to_string()))?;
            Vec::new()
        }
    };
    let json = serde_json::to_string(metadata).map_err(|e| corrupt("metadata", e))?;
    let changes_json = serde_json::to_string(&changes).map_err(|e| corrupt("changes", e))?;
    tx.execute(
        "INSERT INTO verified_requests (request_id, origin, request_uri, state, key_id, key_thumbprint, alg, metadata,
                                        changes, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            record.id,
            metadata.id,
            verified.request_uri,
            verified.state,
            verified.key_id,
            verified.key_thumbprint,
            verified.alg,
            json,
            changes_json,
            rfc3339(now)
        ],
    )?;
    verification(tx, &record.id)?.ok_or_else(|| GrantError::Corrupt("the verification was not stored".to_owned()))
}

/// What was verified about request `request_id`, or `None` for a request that was not fetched and verified.
pub fn verification(conn: &Connection, request_id: &str) -> Result<Option<Verification>, GrantError> {
    let row = conn
        .query_row(
            "SELECT v.request_id, v.origin, v.request_uri, v.state, v.key_id, v.key_thumbprint, v.alg, v.metadata,
                    v.changes, v.fetched_at, p.first_seen_at
             FROM verified_requests v LEFT JOIN retailer_pins p ON p.origin = v.origin
             WHERE v.request_id = ?1",
            [request_id],
            |r| Ok((texts::<10>(r, 0)?, r.get::<_, Option<String>>(10)?)),
        )
        .optional()?;
    let Some((
        [request_id, origin, request_uri, state, key_id, key_thumbprint, alg, metadata, changes, fetched],
        first,
    )) = row
    else {
        return Ok(None);
    };
    Ok(Some(Verification {
        request_id,
        origin,
        request_uri,
        state,
        key_id,
        key_thumbprint,
        alg,
        metadata,
        changes: serde_json::from_str(&changes).map_err(|e| corrupt("verified_requests.changes", e))?,
        fetched_at: parse_time(&fetched),
        pinned_since: first.as_deref().map(parse_time),
    }))
}

/// The owner approved verified request `request_id`: if its metadata differed from the pin, the pin now
/// holds the new details (logged as `retailer_pin_changed`). Nothing happens for other requests.
pub fn accept_pin(tx: &Transaction<'_>, request_id: &str, now: DateTime<Utc>) -> Result<(), GrantError> {
    let Some(v) = verification(tx, request_id)? else {
        return Ok(());
    };
    if v.changes.is_empty() {
        return Ok(());
    }
    let metadata = locket_wire::metadata::parse_metadata(v.metadata.as_bytes(), &v.origin)
        .map_err(|e| corrupt("verified_requests.metadata", e))?;
    write_pin(tx, &metadata, now)?;
    let event = NewEvent::new(EventKind::RetailerPinChanged, Outcome::Ok)
        .retailer(metadata.retailer_id())
        .request(request_id.to_owned())
        .detail("origin", v.origin.clone())
        .detail("changed", v.changes.iter().map(|c| c.field.clone()).collect::<Vec<_>>());
    locket_audit::append(tx, &event).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    Ok(())
}
