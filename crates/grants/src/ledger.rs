//! The disclosure ledger: which retailer holds which version of each field, computed from the access log.
//!
//! Every successful redemption event, and every release a shop's server acknowledged (`release_delivered`),
//! records the fields disclosed and the version of each value (derived answers record the versions they were
//! computed from). From that and the profile's version history
//! this module answers "who holds my previous address, since when" ([`holders_of`], [`outdated_holders`]),
//! "what does this retailer hold" ([`held_by`]) and, for `GET /v1/grant`, "has data this grant disclosed
//! changed since" ([`data_changed_since`]).

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// The ledger could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A stored timestamp is unreadable.
    #[error("the vault holds a timestamp this version cannot read ({0}); the vault may be damaged")]
    Corrupt(String),
    /// The database failed.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl LedgerError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Corrupt(_) => "vault_record_corrupt",
            LedgerError::Database(_) => "database_error",
        }
    }
}

/// What one retailer holds of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// Field key.
    pub field_key: String,
    /// Retailer id.
    pub retailer_id: String,
    /// The newest version it received (0 = the catalog default).
    pub version: u32,
    /// When it first received that version.
    pub first_received_at: DateTime<Utc>,
    /// When it last received any version.
    pub last_received_at: DateTime<Utc>,
    /// The field's current version (`None` if the owner removed the value).
    pub current_version: Option<u32>,
    /// When the field first changed after the version held (`None` = the retailer holds the current value).
    pub outdated_since: Option<DateTime<Utc>>,
}

impl Holding {
    /// Whether the retailer holds an older value than the current one.
    pub fn is_outdated(&self) -> bool {
        self.outdated_since.is_some()
    }
}

fn from_ms(ms: i64) -> Result<DateTime<Utc>, LedgerError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| LedgerError::Corrupt(format!("event time {ms}")))
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| LedgerError::Corrupt(format!("value time {s:?}")))
}

/// The current version of a field: `Some(v)` for a value, `None` if removed; `Some(0)` if never set.
fn current_version(conn: &Connection, key: &str) -> Result<Option<u32>, LedgerError> {
    let row: Option<(u32, bool)> = conn
        .query_row(
            "SELECT version, value IS NULL FROM field_values WHERE field_key = ?1 ORDER BY version DESC LIMIT 1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        None => Some(0),
        Some((_, true)) => None,
        Some((v, false)) => Some(v),
    })
}

/// When the first version of `key` newer than `version` was written, if any.
fn changed_after(conn: &Connection, key: &str, version: u32) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let at: Option<String> = conn
        .query_row(
            "SELECT set_at FROM field_values WHERE field_key = ?1 AND version > ?2 ORDER BY version LIMIT 1",
            params![key, version],
            |r| r.get(0),
        )
        .optional()?;
    at.as_deref().map(parse_ts).transpose()
}

const HOLDINGS_SQL: &str = "
    SELECT f.field_key, e.retailer, MAX(f.version), MAX(e.ts_ms)
    FROM audit_event_fields f JOIN audit_events e ON e.seq = f.seq
    WHERE e.kind IN ('redemption', 'release_delivered') AND e.outcome = 'ok' AND e.retailer IS NOT NULL
      AND (?1 IS NULL OR f.field_key = ?1) AND (?2 IS NULL OR e.retailer = ?2)
    GROUP BY f.field_key, e.retailer
    ORDER BY f.field_key, e.retailer";

fn holdings(conn: &Connection, field: Option<&str>, retailer: Option<&str>) -> Result<Vec<Holding>, LedgerError> {
    let mut stmt = conn.prepare(HOLDINGS_SQL)?;
    let rows: Vec<(String, String, u32, i64)> = stmt
        .query_map(params![field, retailer], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut first_stmt = conn.prepare(
        "SELECT MIN(e.ts_ms) FROM audit_event_fields f JOIN audit_events e ON e.seq = f.seq
         WHERE f.field_key = ?1 AND f.version = ?2 AND e.retailer = ?3 AND e.kind IN ('redemption', 'release_delivered') AND e.outcome = 'ok'",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (key, retailer, version, last_ms) in rows {
        let first_ms: i64 = first_stmt.query_row(params![key, version, retailer], |r| r.get(0))?;
        out.push(Holding {
            current_version: current_version(conn, &key)?,
            outdated_since: changed_after(conn, &key, version)?,
            first_received_at: from_ms(first_ms)?,
            last_received_at: from_ms(last_ms)?,
            field_key: key,
            retailer_id: retailer,
            version,
        });
    }
    Ok(out)
}

/// Every retailer that received `field_key`, with the newest version each holds.
pub fn holders_of(conn: &Connection, field_key: &str) -> Result<Vec<Holding>, LedgerError> {
    holdings(conn, Some(field_key), None)
}

/// The retailers holding an outdated version of `field_key` — "3 retailers hold your previous address
/// (since …)" after an edit.
pub fn outdated_holders(conn: &Connection, field_key: &str) -> Result<Vec<Holding>, LedgerError> {
    Ok(holders_of(conn, field_key)?
        .into_iter()
        .filter(Holding::is_outdated)
        .collect())
}

/// Every field `retailer_id` received, with the newest version it holds.
pub fn held_by(conn: &Connection, retailer_id: &str) -> Result<Vec<Holding>, LedgerError> {
    holdings(conn, None, Some(retailer_id))
}

/// For `GET /v1/grant`: the earliest time a field disclosed under `grant_id` changed after the newest
/// version disclosed under it (`None` if nothing disclosed under the grant has changed since).
pub fn data_changed_since(conn: &Connection, grant_id: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let mut stmt = conn.prepare(
        "SELECT f.field_key, MAX(f.version) FROM audit_event_fields f JOIN audit_events e ON e.seq = f.seq
         WHERE e.grant_id = ?1 AND e.kind IN ('redemption', 'release_delivered') AND e.outcome = 'ok'
         GROUP BY f.field_key",
    )?;
    let rows: Vec<(String, u32)> = stmt
        .query_map([grant_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut earliest: Option<DateTime<Utc>> = None;
    for (key, version) in rows {
        if let Some(t) = changed_after(conn, &key, version)? {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
    }
    Ok(earliest)
}
