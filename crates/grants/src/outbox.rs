//! The outbox: releases (`locket.release/v1`, [`locket_wire::release`]) waiting for a retailer's server.
//!
//! A release is queued in the same transaction as the change that causes it — an approval of a verified
//! request whose shop publishes a delivery URL ([`queue_grant`]), a change to a granted value
//! ([`queue_updates_for_field`]), a revocation ([`grant_ended`], called by every revocation path) or the end
//! of the grant ([`queue_due_expiries`]) — so a crash can lose neither the change nor its release. It is sealed
//! once, in a committed transaction, before the first attempt ([`seal_due`]): every retry sends the same bytes
//! under the same release id. The delivery worker (`locket_app::deliver`) takes [`due`] releases in sequence
//! order per grant, posts them and records each attempt ([`record_attempt`]).
//!
//! Revocation first withdraws every undelivered data release of the grant, then queues a `revoke` carrying the
//! erasure demand — unless nothing ever left (no data release was attempted), when there is nothing to erase.

use chrono::{DateTime, Duration, Utc};
use locket_audit::{DisclosedField, EventKind, NewEvent, Outcome};
use locket_wire::issuer::Issuers;
use locket_wire::metadata::{parse_metadata, PublicJwk};
use locket_wire::release::{self, Ended, EndedBy, Release, ReleaseEvent, ReleasedField, RELEASE_FORMAT};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::error::GrantError;
use crate::records::{self, GrantRecord, RevokedBy};
use crate::token::rfc3339;

/// Edits to granted values within this window go out as one `update`.
pub const UPDATE_WINDOW: Duration = Duration::seconds(30);
/// How long Locket keeps trying a release before it is marked failed, unless the owner set
/// `delivery.horizon_days`.
pub const DEFAULT_HORIZON: Duration = Duration::days(locket_vault::settings::DEFAULT_DELIVERY_HORIZON_DAYS as i64);
/// First retry delay; doubles per attempt (with jitter) up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::seconds(30);
/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::hours(1);

/// Where a grant's releases go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The shop's delivery URL (same origin as its metadata).
    pub delivery_url: String,
    /// The key releases are sealed to.
    pub encryption_key: PublicJwk,
    /// The request object's `state`.
    pub state: String,
}

/// A delivery as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// `rel_…` (the webhook-id).
    pub release_id: String,
    /// The grant.
    pub grant_id: String,
    /// The retailer.
    pub retailer_id: String,
    /// The release's place among the grant's releases.
    pub sequence: u64,
    /// `grant`, `update`, `revoke`, `expire`.
    pub event: String,
    /// `pending`, `delivered`, `failed`, `cancelled`.
    pub status: String,
    /// Where it goes.
    pub delivery_url: String,
    /// SHA-256 of the sealed body, once sealed.
    pub sha256: Option<String>,
    /// The fields and versions it carries, once sealed.
    pub fields: Vec<DisclosedField>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Next attempt (pending ones).
    pub due_at: DateTime<Utc>,
    /// When Locket stops trying.
    pub give_up_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
    /// The last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// HTTP status of the last answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, in words.
    pub last_error: Option<String>,
    /// Delivered, failed or cancelled at.
    pub finished_at: Option<DateTime<Utc>>,
}

fn time(s: &str) -> Result<DateTime<Utc>, GrantError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| GrantError::Corrupt(format!("delivery time {s:?}")))
}

fn new_release_id() -> String {
    format!("rel_{}", uuid::Uuid::new_v4().simple())
}

fn audit(conn: &Connection, event: NewEvent) -> Result<(), GrantError> {
    locket_audit::append(conn, &event).map_err(|e| GrantError::Corrupt(format!("access log: {e}")))?;
    Ok(())
}

const COLUMNS: &str =
    "d.release_id, d.grant_id, d.retailer_id, d.sequence, d.event, d.status, t.delivery_url, d.sha256,
     d.fields, d.created_at, d.due_at, d.give_up_at, d.attempts, d.last_attempt_at, d.last_status, d.last_error,
     d.finished_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 17]> {
    let mut out: [Option<String>; 17] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = match r.get_ref(i)? {
            rusqlite::types::ValueRef::Null => None,
            rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
            rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            _ => None,
        };
    }
    Ok(out)
}

fn delivery_of(c: [Option<String>; 17]) -> Result<Delivery, GrantError> {
    let text = |i: usize| c[i].clone().unwrap_or_default();
    let num = |i: usize| c[i].as_deref().and_then(|v| v.parse::<u64>().ok());
    let opt_time = |i: usize| c[i].as_deref().map(time).transpose();
    Ok(Delivery {
        release_id: text(0),
        grant_id: text(1),
        retailer_id: text(2),
        sequence: num(3).unwrap_or(0),
        event: text(4),
        status: text(5),
        delivery_url: text(6),
        sha256: c[7].clone(),
        fields: c[8]
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| GrantError::Corrupt(format!("delivery fields: {e}")))?
            .unwrap_or_default(),
        created_at: time(&text(9))?,
        due_at: time(&text(10))?,
        give_up_at: time(&text(11))?,
        attempts: num(12).unwrap_or(0) as u32,
        last_attempt_at: opt_time(13)?,
        last_status: num(14).map(|n| n as u16),
        last_error: c[15].clone(),
        finished_at: opt_time(16)?,
    })
}

fn select(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Delivery>, GrantError> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries d JOIN delivery_targets t ON t.grant_id = d.grant_id {filter}");
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<[Option<String>; 17]> = stmt.query_map(args, row)?.collect::<Result<_, _>>()?;
    rows.into_iter().map(delivery_of).collect()
}

/// Every delivery, newest first (for the owner; at most `limit`).
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<Delivery>, GrantError> {
    select(conn, "ORDER BY d.created_at DESC, d.sequence DESC LIMIT ?1", &[&limit])
}

/// The deliveries of one retailer, newest first.
pub fn for_retailer(conn: &Connection, retailer_id: &str) -> Result<Vec<Delivery>, GrantError> {
    select(
        conn,
        "WHERE d.retailer_id = ?1 ORDER BY d.created_at DESC, d.sequence DESC",
        &[&retailer_id],
    )
}

/// One delivery (by release id or a unique prefix of at least 8 characters).
pub fn get(conn: &Connection, id: &str) -> Result<Delivery, GrantError> {
    let found = select(conn, "WHERE d.release_id = ?1", &[&id])?;
    if let Some(d) = found.into_iter().next() {
        return Ok(d);
    }
    if id.len() >= 8 {
        let pattern = format!("{}%", id.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut found = select(conn, "WHERE d.release_id LIKE ?1 ESCAPE '\\'", &[&pattern])?;
        if found.len() == 1 {
            return Ok(found.remove(0));
        }
        if found.len() > 1 {
            return Err(GrantError::AmbiguousId(id.to_owned()));
        }
    }
    Err(GrantError::DeliveryNotFound(id.to_owned()))
}

/// Where releases for request `request_id` would go: a request Locket fetched and verified whose shop
/// publishes a delivery URL and an encryption key. `None` for requests from files, links or HTTP.
pub fn target_for_request(conn: &Connection, request_id: &str) -> Result<Option<Target>, GrantError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT origin, state, metadata FROM verified_requests WHERE request_id = ?1",
            params![request_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((origin, state, metadata)) = row else {
        return Ok(None);
    };
    let meta = parse_metadata(metadata.as_bytes(), &origin)
        .map_err(|e| GrantError::Corrupt(format!("stored shop metadata: {e}")))?;
    Ok(meta.jwks.encryption_key().map(|k| Target {
        delivery_url: meta.delivery_url.clone(),
        encryption_key: k.clone(),
        state,
    }))
}

fn target_of_grant(conn: &Connection, grant_id: &str) -> Result<Option<(Target, bool)>, GrantError> {
    let row: Option<(String, String, String, i64)> = conn
        .query_row(
            "SELECT delivery_url, encryption_key, state, updates FROM delivery_targets WHERE grant_id = ?1",
            params![grant_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((delivery_url, key, state, updates)) = row else {
        return Ok(None);
    };
    let jwk: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&key).map_err(|e| GrantError::Corrupt(format!("delivery key: {e}")))?;
    let encryption_key = PublicJwk::encryption(jwk).map_err(|e| GrantError::Corrupt(format!("delivery key: {e}")))?;
    Ok(Some((
        Target {
            delivery_url,
            encryption_key,
            state,
        },
        updates != 0,
    )))
}

/// How long releases are retried (the owner's `delivery.horizon_days` setting, default [`DEFAULT_HORIZON`]).
fn horizon(conn: &Connection) -> Result<Duration, GrantError> {
    let settings = locket_vault::settings::Settings::load(conn).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    Ok(Duration::days(i64::from(settings.delivery_horizon_days)))
}

/// Inserts an unsealed release for `grant` and logs `release_queued`.
fn insert(
    tx: &Connection,
    grant: &GrantRecord,
    event: ReleaseEvent,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, GrantError> {
    let sequence: i64 = tx.query_row(
        "UPDATE delivery_targets SET next_sequence = next_sequence + 1 WHERE grant_id = ?1 RETURNING next_sequence - 1",
        params![grant.id],
        |r| r.get(0),
    )?;
    let id = new_release_id();
    let horizon = horizon(tx)?;
    tx.execute(
        "INSERT INTO deliveries (release_id, grant_id, retailer_id, sequence, event, status, created_at, due_at, give_up_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8)",
        params![
            id,
            grant.id,
            grant.retailer_id,
            sequence,
            event.as_str(),
            rfc3339(now),
            rfc3339(due),
            rfc3339(due + horizon)
        ],
    )?;
    audit(
        tx,
        NewEvent::new(EventKind::ReleaseQueued, Outcome::Ok)
            .retailer(grant.retailer_id.clone())
            .grant(grant.id.clone())
            .detail("release", id.clone())
            .detail("event", event.as_str())
            .detail("sequence", sequence),
    )?;
    Ok(id)
}

/// On approval: records where the grant's releases go and queues its `grant` release (due now).
pub fn queue_grant(
    tx: &Transaction<'_>,
    grant: &GrantRecord,
    file: &locket_wire::GrantFile,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<String, GrantError> {
    let key = serde_json::to_string(&target.encryption_key.jwk).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO delivery_targets (grant_id, retailer_id, delivery_url, encryption_key, state, grant_file)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            grant.id,
            grant.retailer_id,
            target.delivery_url,
            key,
            target.state,
            file.to_json_pretty()
        ],
    )?;
    insert(tx, grant, ReleaseEvent::Grant, now, now)
}

/// A granted value (`field_key`) changed: every live grant with a delivery target whose scopes cover it, with
/// updates on, gets an `update` due after [`UPDATE_WINDOW`] — unless one is already waiting unsealed (edits
/// coalesce). Returns how many were queued.
pub fn queue_updates_for_field(tx: &Transaction<'_>, field_key: &str, now: DateTime<Utc>) -> Result<usize, GrantError> {
    let ids: Vec<String> = tx
        .prepare("SELECT grant_id FROM delivery_targets WHERE updates = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut queued = 0;
    for id in ids {
        let grant = records::get_grant(tx, &id)?;
        if grant.revoked_at.is_some() || grant.expires_at <= now || !covers(&grant, field_key) {
            continue;
        }
        let waiting: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE grant_id = ?1 AND event = 'update'
                             AND status = 'pending' AND body IS NULL)",
            params![grant.id],
            |r| r.get(0),
        )?;
        if !waiting {
            insert(tx, &grant, ReleaseEvent::Update, now + UPDATE_WINDOW, now)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The owner withdrew some scopes of `grant_id` (narrowing): an `update` with what remains goes out at once,
/// whether or not updates are on, so the shop's copy of the withdrawn scopes is replaced — unless the grant has
/// no delivery target or an update already waits unsealed (it will carry the narrowed scopes).
pub fn queue_narrowed(tx: &Transaction<'_>, grant_id: &str, now: DateTime<Utc>) -> Result<bool, GrantError> {
    if target_of_grant(tx, grant_id)?.is_none() {
        return Ok(false);
    }
    let waiting: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE grant_id = ?1 AND event = 'update'
                         AND status = 'pending' AND body IS NULL)",
        params![grant_id],
        |r| r.get(0),
    )?;
    if waiting {
        tx.execute(
            "UPDATE deliveries SET due_at = ?2 WHERE grant_id = ?1 AND event = 'update' AND status = 'pending' AND body IS NULL",
            params![grant_id, rfc3339(now)],
        )?;
        return Ok(false);
    }
    let grant = records::get_grant(tx, grant_id)?;
    insert(tx, &grant, ReleaseEvent::Update, now, now)?;
    Ok(true)
}

/// Whether one of the grant's scopes discloses `field_key` or an answer computed from it.
fn covers(grant: &GrantRecord, field_key: &str) -> bool {
    grant.scopes.iter().any(|s| {
        let scope = s.scope.strip_prefix("noised:").unwrap_or(&s.scope);
        scope == field_key
            || field_key.strip_prefix(scope).is_some_and(|rest| rest.starts_with('.'))
            || locket_wire::derived::DerivedScope::parse(&s.scope)
                .and_then(Result::ok)
                .is_some_and(|d| d.def.sources.contains(&field_key))
    })
}

/// The owner turns updates for `grant_id` on or off (undelivered unsealed updates are withdrawn when off).
pub fn set_updates(tx: &Transaction<'_>, grant_id: &str, on: bool) -> Result<(), GrantError> {
    let n = tx.execute(
        "UPDATE delivery_targets SET updates = ?2 WHERE grant_id = ?1",
        params![grant_id, on as i64],
    )?;
    if n == 0 {
        return Err(GrantError::GrantNotFound(grant_id.to_owned()));
    }
    if !on {
        tx.execute(
            "DELETE FROM deliveries WHERE grant_id = ?1 AND event = 'update' AND status = 'pending' AND attempts = 0",
            params![grant_id],
        )?;
    }
    Ok(())
}

/// The grants of `retailer_id` whose releases go to its server, each with whether updates are on (oldest grant
/// first).
pub fn update_settings(conn: &Connection, retailer_id: &str) -> Result<Vec<(String, bool)>, GrantError> {
    let mut stmt = conn.prepare(
        "SELECT t.grant_id, t.updates FROM delivery_targets t JOIN grants g ON g.id = t.grant_id
         WHERE t.retailer_id = ?1 ORDER BY g.issued_at, t.grant_id",
    )?;
    let rows = stmt
        .query_map(params![retailer_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Called by every revocation path once `grant_id` is revoked: withdraws its undelivered data releases, then
/// (revoked by the owner, and some data release was attempted) queues the `revoke` release. A grant the
/// retailer gave back needs no `revoke` (it ended the grant itself). Returns the queued release id.
pub fn grant_ended(
    tx: &Connection,
    grant_id: &str,
    by: RevokedBy,
    now: DateTime<Utc>,
) -> Result<Option<String>, GrantError> {
    let has_target: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM delivery_targets WHERE grant_id = ?1)",
        params![grant_id],
        |r| r.get(0),
    )?;
    if !has_target {
        return Ok(None);
    }
    // Whether the shop may hold anything: a data release that was delivered, or tried (an attempt may have
    // arrived although no answer came back). Asked before the withdrawal below.
    let left: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE grant_id = ?1 AND event IN ('grant', 'update') AND attempts > 0)",
        params![grant_id],
        |r| r.get(0),
    )?;
    let withdrawn = tx.execute(
        "DELETE FROM deliveries WHERE grant_id = ?1 AND status = 'pending' AND event IN ('grant', 'update')",
        params![grant_id],
    )?;
    let grant = records::get_grant(tx, grant_id)?;
    if withdrawn > 0 {
        audit(
            tx,
            NewEvent::new(EventKind::ReleaseFailed, Outcome::Ok)
                .retailer(grant.retailer_id.clone())
                .grant(grant.id.clone())
                .detail("withdrawn", withdrawn as i64)
                .detail("why", "the grant was revoked before they were delivered"),
        )?;
    }
    if by != RevokedBy::Owner || !left {
        return Ok(None);
    }
    insert(tx, &grant, ReleaseEvent::Revoke, now, now).map(Some)
}

/// Queues `expire` for every grant with a delivery target that reached its end (expiry, or its last use) and
/// has no end release yet, if a data release of it ever left. Returns how many.
pub fn queue_due_expiries(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<usize, GrantError> {
    let ids: Vec<String> = tx
        .prepare(
            "SELECT t.grant_id FROM delivery_targets t JOIN grants g ON g.id = t.grant_id
             WHERE g.revoked_at IS NULL AND (g.expires_at <= ?1 OR (g.max_uses IS NOT NULL AND g.uses >= g.max_uses))
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.grant_id = t.grant_id AND d.event IN ('revoke', 'expire'))
               AND EXISTS (SELECT 1 FROM deliveries d WHERE d.grant_id = t.grant_id AND d.event IN ('grant', 'update') AND d.attempts > 0)",
        )?
        .query_map(params![rfc3339(now)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        let grant = records::get_grant(tx, id)?;
        tx.execute(
            "DELETE FROM deliveries WHERE grant_id = ?1 AND status = 'pending' AND event IN ('grant', 'update')",
            params![grant.id],
        )?;
        insert(tx, &grant, ReleaseEvent::Expire, now, now)?;
    }
    Ok(ids.len())
}

/// A release due for an attempt, sealed.
#[derive(Debug, Clone)]
pub struct Due {
    /// The release id.
    pub release_id: String,
    /// The grant.
    pub grant_id: String,
    /// The retailer.
    pub retailer_id: String,
    /// Where to POST.
    pub delivery_url: String,
    /// The sealed body (the same bytes on every attempt).
    pub body: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// The releases due at `now`, at most `limit`: per grant only the lowest pending sequence (releases of one
/// grant go out in order), oldest first.
pub fn due_ids(conn: &Connection, now: DateTime<Utc>, limit: u32) -> Result<Vec<String>, GrantError> {
    Ok(conn
        .prepare(
            "SELECT d.release_id FROM deliveries d
             WHERE d.status = 'pending' AND d.due_at <= ?1
               AND d.sequence = (SELECT min(e.sequence) FROM deliveries e WHERE e.grant_id = d.grant_id AND e.status = 'pending')
             ORDER BY d.due_at, d.grant_id LIMIT ?2",
        )?
        .query_map(params![rfc3339(now), limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// The earliest time a pending release falls due (the worker sleeps until then).
pub fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, GrantError> {
    let t: Option<String> = conn.query_row("SELECT min(due_at) FROM deliveries WHERE status = 'pending'", [], |r| {
        r.get(0)
    })?;
    t.as_deref().map(time).transpose()
}

/// Seals release `release_id` if it is not sealed yet (its values read and, for noised scopes, answered now),
/// committing the body with the caller's transaction; returns it ready to send. Sealing happens once: a
/// sealed release is returned as stored.
pub fn seal_due(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    release_id: &str,
    now: DateTime<Utc>,
) -> Result<Due, GrantError> {
    let (grant_id, sequence, event, body, sha, attempts): (String, i64, String, Option<String>, Option<String>, u32) =
        tx.query_row(
            "SELECT grant_id, sequence, event, body, sha256, attempts FROM deliveries WHERE release_id = ?1",
            params![release_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?
        .ok_or_else(|| GrantError::DeliveryNotFound(release_id.to_owned()))?;
    let grant = records::get_grant(tx, &grant_id)?;
    let (target, _) = target_of_grant(tx, &grant_id)?
        .ok_or_else(|| GrantError::Corrupt(format!("delivery {release_id} has no target")))?;
    let ready = |body: String, sha256: String| Due {
        release_id: release_id.to_owned(),
        grant_id: grant.id.clone(),
        retailer_id: grant.retailer_id.clone(),
        delivery_url: target.delivery_url.clone(),
        body,
        sha256,
        attempts,
    };
    if let (Some(body), Some(sha)) = (body, sha) {
        return Ok(ready(body, sha));
    }
    let event = ReleaseEvent::parse(&event).ok_or_else(|| GrantError::Corrupt(format!("delivery event {event:?}")))?;
    let request = records::get_request(tx, &grant.request_id)?.request;
    let mut doc = Release {
        format: RELEASE_FORMAT.into(),
        event,
        release_id: release_id.to_owned(),
        grant_id: grant.id.clone(),
        sequence: sequence as u64,
        subject: grant.subject.clone(),
        retailer_id: grant.retailer_id.clone(),
        state: target.state.clone(),
        issued_at: rfc3339(now),
        grant: None,
        fields: None,
        empty_scopes: Vec::new(),
        ended: None,
    };
    let mut disclosed = Vec::new();
    if event.carries_data() {
        let values = crate::redeem::release_values(tx, &grant, now).map_err(|e| GrantError::Signing(e.to_string()))?;
        disclosed = values
            .fields
            .iter()
            .map(|v| DisclosedField {
                key: v.key.clone(),
                version: i64::from(v.version),
            })
            .collect();
        doc.fields = Some(
            values
                .fields
                .into_iter()
                .map(|v| ReleasedField {
                    key: v.key,
                    label: v.label,
                    version: v.version,
                    value: v.value,
                    scope: v.scope,
                })
                .collect(),
        );
        doc.empty_scopes = values.empty_scopes;
    }
    if event == ReleaseEvent::Grant {
        let file: Option<String> = tx
            .query_row(
                "SELECT grant_file FROM delivery_targets WHERE grant_id = ?1",
                params![grant.id],
                |r| r.get(0),
            )
            .optional()?;
        let file = file.ok_or_else(|| GrantError::Corrupt(format!("grant {} has no stored grant file", grant.id)))?;
        doc.grant = Some(
            locket_wire::GrantFile::parse(file.as_bytes())
                .map_err(|e| GrantError::Corrupt(format!("stored grant file: {e}")))?,
        );
    }
    if !event.carries_data() {
        doc.ended = Some(Ended {
            at: rfc3339(match event {
                ReleaseEvent::Revoke => grant.revoked_at.unwrap_or(now),
                _ => grant.expires_at.min(now),
            }),
            by: if event == ReleaseEvent::Revoke {
                EndedBy::Owner
            } else {
                EndedBy::Expiry
            },
            erasure_requested: event == ReleaseEvent::Revoke,
            retention: request.retention.clone(),
            reason: grant.revoke_reason.clone().filter(|_| event == ReleaseEvent::Revoke),
        });
    }
    let signer = issuers
        .token_signer(&grant.retailer_id)
        .map_err(|e| GrantError::Signing(e.to_string()))?;
    let sealed =
        release::seal(&doc, &signer, &target.encryption_key).map_err(|e| GrantError::Signing(e.to_string()))?;
    let fields_json = serde_json::to_string(&disclosed).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    tx.execute(
        "UPDATE deliveries SET body = ?2, sha256 = ?3, fields = ?4 WHERE release_id = ?1 AND body IS NULL",
        params![release_id, sealed.body, sealed.sha256, fields_json],
    )?;
    Ok(ready(sealed.body, sealed.sha256))
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The shop answered 2xx: delivered.
    Delivered {
        /// The status.
        status: u16,
    },
    /// The shop answered 2xx with an acknowledgement (its JSON answer, recorded with the delivery).
    Acknowledged {
        /// The status.
        status: u16,
        /// What the shop answered (at most 300 characters are kept).
        answer: String,
    },
    /// The shop answered 410 Gone: it ended the grant (recorded as a retailer revocation).
    Gone,
    /// Refused for good (another 4xx): the release is marked failed.
    Refused {
        /// The status.
        status: u16,
        /// The shop's error code/message, if it gave one.
        reason: String,
    },
    /// Try again later (5xx, no answer, a network failure).
    Retry {
        /// The status, if any.
        status: Option<u16>,
        /// What went wrong, in words.
        reason: String,
    },
}

/// The wait before attempt `attempts + 1`: [`FIRST_BACKOFF`] doubled per attempt, capped at [`MAX_BACKOFF`],
/// times a jitter factor in [0.5, 1.5) (`jitter` in [0, 1)).
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base = FIRST_BACKOFF.num_milliseconds() as f64 * 2f64.powi(attempts.min(20) as i32);
    let capped = base.min(MAX_BACKOFF.num_milliseconds() as f64);
    Duration::milliseconds((capped * (0.5 + jitter.clamp(0.0, 1.0))) as i64)
}

/// Records attempt `outcome` of `release_id` made at `now` (one `delivery_attempt` event, plus
/// `release_delivered` with the fields it carried, or `release_failed`). On 410 the grant is revoked as the
/// retailer's act. `jitter` in [0, 1) spreads retries.
pub fn record_attempt(
    tx: &Transaction<'_>,
    release_id: &str,
    outcome: &Attempt,
    jitter: f64,
    now: DateTime<Utc>,
) -> Result<Delivery, GrantError> {
    let d = get(tx, release_id)?;
    let (status, error) = match outcome {
        Attempt::Delivered { status } | Attempt::Acknowledged { status, .. } => (Some(*status), None),
        Attempt::Gone => (
            Some(410),
            Some("the shop answered 410 Gone: it ended the grant".to_owned()),
        ),
        Attempt::Refused { status, reason } => (Some(*status), Some(reason.clone())),
        Attempt::Retry { status, reason } => (*status, Some(reason.clone())),
    };
    let attempts = d.attempts + 1;
    let mut ev = NewEvent::new(
        EventKind::DeliveryAttempt,
        if error.is_none() { Outcome::Ok } else { Outcome::Refused },
    )
    .retailer(d.retailer_id.clone())
    .grant(d.grant_id.clone())
    .detail("release", d.release_id.clone())
    .detail("event", d.event.clone())
    .detail("attempt", attempts as i64)
    .detail("sha256", d.sha256.clone().unwrap_or_default());
    if let Some(s) = status {
        ev = ev.detail("status", s as i64);
    }
    if let Some(e) = &error {
        ev = ev.detail("error", clip(e));
    }
    audit(tx, ev)?;
    let (new_status, due, finished) = match outcome {
        Attempt::Delivered { .. } | Attempt::Acknowledged { .. } => ("delivered", d.due_at, Some(now)),
        Attempt::Gone | Attempt::Refused { .. } => ("failed", d.due_at, Some(now)),
        Attempt::Retry { .. } => {
            let next = now + backoff(d.attempts, jitter);
            if next > d.give_up_at {
                ("failed", d.due_at, Some(now))
            } else {
                ("pending", next, None)
            }
        }
    };
    tx.execute(
        "UPDATE deliveries SET status = ?2, due_at = ?3, attempts = ?4, last_attempt_at = ?5, last_status = ?6,
                last_error = ?7, finished_at = ?8 WHERE release_id = ?1",
        params![
            d.release_id,
            new_status,
            rfc3339(due),
            attempts,
            rfc3339(now),
            status,
            error.as_deref().map(clip),
            finished.map(rfc3339)
        ],
    )?;
    match new_status {
        "delivered" => {
            let mut ev = NewEvent::new(EventKind::ReleaseDelivered, Outcome::Ok)
                .retailer(d.retailer_id.clone())
                .grant(d.grant_id.clone())
                .detail("release", d.release_id.clone())
                .detail("event", d.event.clone())
                .detail("sha256", d.sha256.clone().unwrap_or_default());
            if let Some(s) = status {
                ev = ev.detail("status", s as i64);
            }
            if let Attempt::Acknowledged { answer, .. } = outcome {
                ev = ev.detail("acknowledgement", clip(answer));
            }
            if !d.fields.is_empty() {
                ev = ev.fields(d.fields.clone());
            }
            audit(tx, ev)?;
        }
        "failed" => {
            audit(
                tx,
                NewEvent::new(EventKind::ReleaseFailed, Outcome::Refused)
                    .retailer(d.retailer_id.clone())
                    .grant(d.grant_id.clone())
                    .detail("release", d.release_id.clone())
                    .detail("event", d.event.clone())
                    .detail("why", clip(error.as_deref().unwrap_or("gave up"))),
            )?;
        }
        _ => {}
    }
    if *outcome == Attempt::Gone
        && crate::store::mark_revoked(
            tx,
            &d.grant_id,
            RevokedBy::Retailer,
            Some("the shop ended the grant (410 Gone)"),
            now,
        )?
    {
        audit(
            tx,
            NewEvent::new(EventKind::GrantRevoked, Outcome::Ok)
                .retailer(d.retailer_id.clone())
                .grant(d.grant_id.clone())
                .detail("by", "retailer")
                .detail("reason", "the shop answered 410 Gone to a delivery"),
        )?;
        grant_ended(tx, &d.grant_id, RevokedBy::Retailer, now)?;
    }
    get(tx, release_id)
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// The owner asks for another try now: a pending or failed release becomes due at once (a failed one gets a
/// fresh horizon). `delivery_finished` for a delivered or cancelled one.
pub fn retry(tx: &Transaction<'_>, id: &str, now: DateTime<Utc>) -> Result<Delivery, GrantError> {
    let d = get(tx, id)?;
    if !matches!(d.status.as_str(), "pending" | "failed") {
        return Err(GrantError::DeliveryFinished {
            id: d.release_id,
            status: d.status,
            hint: "only a waiting or failed delivery can be retried",
        });
    }
    let grant = records::get_grant(tx, &d.grant_id)?;
    if d.status == "failed" && grant.revoked_at.is_some() && d.event != "revoke" {
        return Err(GrantError::DeliveryFinished {
            id: d.release_id,
            status: "failed (the grant is revoked)".into(),
            hint: "data of a revoked grant is never sent again",
        });
    }
    tx.execute(
        "UPDATE deliveries SET status = 'pending', due_at = ?2, give_up_at = max(give_up_at, ?3), finished_at = NULL
         WHERE release_id = ?1",
        params![d.release_id, rfc3339(now), rfc3339(now + horizon(tx)?)],
    )?;
    get(tx, &d.release_id)
}

/// The owner cancels a waiting release: it is never sent (`release_failed` logged, reason "cancelled").
pub fn cancel(tx: &Transaction<'_>, id: &str, now: DateTime<Utc>) -> Result<Delivery, GrantError> {
    let d = get(tx, id)?;
    if d.status != "pending" {
        return Err(GrantError::DeliveryFinished {
            id: d.release_id,
            status: d.status,
            hint: "only a waiting delivery can be cancelled",
        });
    }
    tx.execute(
        "UPDATE deliveries SET status = 'cancelled', finished_at = ?2, last_error = 'cancelled by the owner'
         WHERE release_id = ?1",
        params![d.release_id, rfc3339(now)],
    )?;
    audit(
        tx,
        NewEvent::new(EventKind::ReleaseFailed, Outcome::Ok)
            .retailer(d.retailer_id.clone())
            .grant(d.grant_id.clone())
            .detail("release", d.release_id.clone())
            .detail("event", d.event.clone())
            .detail("why", "cancelled by the owner"),
    )?;
    get(tx, &d.release_id)
}
