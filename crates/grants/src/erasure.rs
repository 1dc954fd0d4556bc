//! "Erase my data" requests and per-retailer email aliases (tables `erasure_requests` and `email_aliases`,
//! migration `0004_privacy`).
//!
//! **Erasure.** The owner asks a retailer to erase what it received — under one grant or under all of its
//! grants. The request is recorded in the vault and in the access log (event kind `erasure_requested`); the
//! retailer sees it on its next `GET /v1/grant` (`erasure_requested_at`, [`status_for_grant`]) and
//! acknowledges with `POST /v1/grant/erasure-ack` ([`acknowledge`], logged as `erasure_acknowledged`). The
//! dashboard shows both dates ([`list`]).
//!
//! **Email aliases.** The owner configures one alias address per retailer; granting it instead of the real
//! address means a leaked address names the retailer that leaked it. An alias is never given to two
//! retailers ([`set_alias`] refuses).

use chrono::{DateTime, SecondsFormat, Utc};
use locket_audit::{EventKind, NewEvent, Outcome};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

/// An erasure or alias operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivacyError {
    /// No grant with that id.
    #[error("no grant with id {0:?}; `locket grant list` shows them")]
    GrantNotFound(String),
    /// The grant belongs to a different retailer than named.
    #[error("grant {grant} was given to {actual}, not {given}")]
    WrongRetailer {
        /// Grant id.
        grant: String,
        /// Retailer named.
        given: String,
        /// The grant's retailer.
        actual: String,
    },
    /// Not a usable email address.
    #[error("{0}")]
    InvalidAlias(String),
    /// The alias is already given to another retailer.
    #[error("the alias {alias} is already used for {retailer}; use a different alias for each retailer so a leak shows who leaked it")]
    AliasInUse {
        /// The alias.
        alias: String,
        /// The retailer it belongs to.
        retailer: String,
    },
    /// Writing the access log failed.
    #[error("could not record the event in the access log: {0}")]
    Audit(String),
    /// The database failed.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl PrivacyError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            PrivacyError::GrantNotFound(_) => "grant_not_found",
            PrivacyError::WrongRetailer { .. } => "grant_wrong_retailer",
            PrivacyError::InvalidAlias(_) => "alias_invalid",
            PrivacyError::AliasInUse { .. } => "alias_in_use",
            PrivacyError::Audit(_) => "audit_failed",
            PrivacyError::Database(_) => "database_error",
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn new_id(prefix: &str) -> Result<String, PrivacyError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| PrivacyError::Audit("the system random number generator failed".to_owned()))?;
    Ok(format!("{prefix}{}", hex::encode(b)))
}

fn log(tx: &Connection, event: NewEvent) -> Result<(), PrivacyError> {
    locket_audit::append(tx, &event)
        .map(|_| ())
        .map_err(|e| PrivacyError::Audit(e.to_string()))
}

/// One erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureRequest {
    /// `er_…`.
    pub id: String,
    /// Retailer asked.
    pub retailer_id: String,
    /// The grant it concerns (`None` = everything the retailer received).
    pub grant_id: Option<String>,
    /// When the owner asked (RFC 3339).
    pub requested_at: String,
    /// The owner's words, if any.
    pub note: Option<String>,
    /// When the retailer acknowledged, if it has.
    pub acknowledged_at: Option<String>,
    /// The grant whose token acknowledged it.
    pub acknowledged_by: Option<String>,
}

fn grant_retailer(conn: &Connection, grant_id: &str) -> Result<String, PrivacyError> {
    conn.query_row("SELECT retailer_id FROM grants WHERE id = ?1", [grant_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| PrivacyError::GrantNotFound(grant_id.to_owned()))
}

/// The owner asks `retailer_id` to erase what it received (under `grant_id`, or under every grant when
/// `None`). Recorded and logged in `tx`.
pub fn request_erasure(
    tx: &Transaction<'_>,
    retailer_id: &str,
    grant_id: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ErasureRequest, PrivacyError> {
    if let Some(g) = grant_id {
        let actual = grant_retailer(tx, g)?;
        if actual != retailer_id {
            return Err(PrivacyError::WrongRetailer {
                grant: g.to_owned(),
                given: retailer_id.to_owned(),
                actual,
            });
        }
    }
    let id = new_id("er_")?;
    tx.execute(
        "INSERT INTO erasure_requests (id, retailer_id, grant_id, requested_at, note) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, retailer_id, grant_id, ts(now), note],
    )?;
    let mut event = NewEvent::new(EventKind::ErasureRequested, Outcome::Ok)
        .retailer(retailer_id)
        .detail("erasure_id", id.clone())
        .at(now);
    if let Some(g) = grant_id {
        event = event.grant(g);
    }
    log(tx, event)?;
    Ok(ErasureRequest {
        id,
        retailer_id: retailer_id.to_owned(),
        grant_id: grant_id.map(str::to_owned),
        requested_at: ts(now),
        note: note.map(str::to_owned),
        acknowledged_at: None,
        acknowledged_by: None,
    })
}

const COLUMNS: &str = "id, retailer_id, grant_id, requested_at, note, acknowledged_at, acknowledged_by";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ErasureRequest> {
    Ok(ErasureRequest {
        id: r.get(0)?,
        retailer_id: r.get(1)?,
        grant_id: r.get(2)?,
        requested_at: r.get(3)?,
        note: r.get(4)?,
        acknowledged_at: r.get(5)?,
        acknowledged_by: r.get(6)?,
    })
}

/// The erasure requests that apply to `grant_id` (made for it, or for all of its retailer's grants), oldest
/// first.
pub fn for_grant(conn: &Connection, grant_id: &str) -> Result<Vec<ErasureRequest>, PrivacyError> {
    let retailer = grant_retailer(conn, grant_id)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM erasure_requests
         WHERE retailer_id = ?1 AND (grant_id IS NULL OR grant_id = ?2) ORDER BY requested_at, id"
    ))?;
    let rows = stmt
        .query_map(params![retailer, grant_id], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What `GET /v1/grant` reports about erasure for a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureStatus {
    /// The earliest erasure request not yet acknowledged, else the latest request.
    pub erasure_requested_at: Option<String>,
    /// When the retailer acknowledged (only when every applicable request is acknowledged).
    pub erasure_acknowledged_at: Option<String>,
}

/// The erasure status of a grant for introspection.
pub fn status_for_grant(conn: &Connection, grant_id: &str) -> Result<ErasureStatus, PrivacyError> {
    let all = for_grant(conn, grant_id)?;
    let open = all.iter().find(|e| e.acknowledged_at.is_none());
    Ok(match (open, all.last()) {
        (Some(o), _) => ErasureStatus {
            erasure_requested_at: Some(o.requested_at.clone()),
            erasure_acknowledged_at: None,
        },
        (None, Some(last)) => ErasureStatus {
            erasure_requested_at: Some(last.requested_at.clone()),
            erasure_acknowledged_at: last.acknowledged_at.clone(),
        },
        (None, None) => ErasureStatus {
            erasure_requested_at: None,
            erasure_acknowledged_at: None,
        },
    })
}

/// The retailer holding `grant_id` acknowledges every open erasure request that applies to it (idempotent:
/// already acknowledged requests keep their date). Logged when something was acknowledged. Returns the
/// applicable requests after the update.
pub fn acknowledge(
    tx: &Transaction<'_>,
    grant_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ErasureRequest>, PrivacyError> {
    let retailer = grant_retailer(tx, grant_id)?;
    let changed = tx.execute(
        "UPDATE erasure_requests SET acknowledged_at = ?3, acknowledged_by = ?2
         WHERE retailer_id = ?1 AND (grant_id IS NULL OR grant_id = ?2) AND acknowledged_at IS NULL
           AND requested_at <= ?3",
        params![retailer, grant_id, ts(now)],
    )?;
    if changed > 0 {
        log(
            tx,
            NewEvent::new(EventKind::ErasureAcknowledged, Outcome::Ok)
                .retailer(retailer)
                .grant(grant_id)
                .detail("requests", changed as u64)
                .at(now),
        )?;
    }
    for_grant(tx, grant_id)
}

/// Every erasure request, optionally of one retailer, newest first (the dashboard's list).
pub fn list(conn: &Connection, retailer_id: Option<&str>) -> Result<Vec<ErasureRequest>, PrivacyError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM erasure_requests WHERE (?1 IS NULL OR retailer_id = ?1)
         ORDER BY requested_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([retailer_id], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------------------
// Email aliases.

/// An alias address configured for a retailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAlias {
    /// Retailer id.
    pub retailer_id: String,
    /// The alias address.
    pub alias: String,
    /// When configured.
    pub created_at: String,
    /// When the owner stopped using it.
    pub retired_at: Option<String>,
}

/// Set (or replace) the alias for `retailer_id`. The address is validated like `contact.email` and must not
/// be in use for another retailer — including retired aliases, which are never reassigned.
pub fn set_alias(
    tx: &Transaction<'_>,
    retailer_id: &str,
    alias: &str,
    now: DateTime<Utc>,
) -> Result<EmailAlias, PrivacyError> {
    let def = locket_vault::catalog::builtin("contact.email")
        .ok_or_else(|| PrivacyError::InvalidAlias("the catalog has no email field".to_owned()))?;
    let alias = def
        .validate(serde_json::Value::String(alias.trim().to_owned()))
        .map_err(|e| PrivacyError::InvalidAlias(format!("the alias is not a valid email address ({})", e.rule)))?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let owner: Option<String> = tx
        .query_row(
            "SELECT retailer_id FROM email_aliases WHERE alias = ?1 COLLATE NOCASE",
            [&alias],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = owner.filter(|o| o != retailer_id) {
        return Err(PrivacyError::AliasInUse { alias, retailer: other });
    }
    tx.execute(
        "INSERT INTO email_aliases (retailer_id, alias, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (retailer_id) DO UPDATE SET alias = excluded.alias, created_at = excluded.created_at,
                                                 retired_at = NULL",
        params![retailer_id, alias, ts(now)],
    )?;
    Ok(EmailAlias {
        retailer_id: retailer_id.to_owned(),
        alias,
        created_at: ts(now),
        retired_at: None,
    })
}

/// The alias in use for `retailer_id` (not retired), if any.
pub fn alias_for(conn: &Connection, retailer_id: &str) -> Result<Option<EmailAlias>, PrivacyError> {
    Ok(conn
        .query_row(
            "SELECT retailer_id, alias, created_at, retired_at FROM email_aliases
             WHERE retailer_id = ?1 AND retired_at IS NULL",
            [retailer_id],
            alias_row,
        )
        .optional()?)
}

fn alias_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmailAlias> {
    Ok(EmailAlias {
        retailer_id: r.get(0)?,
        alias: r.get(1)?,
        created_at: r.get(2)?,
        retired_at: r.get(3)?,
    })
}

/// Stop using a retailer's alias (kept, so it is never given to anyone else). Returns whether one was active.
pub fn retire_alias(tx: &Transaction<'_>, retailer_id: &str, now: DateTime<Utc>) -> Result<bool, PrivacyError> {
    Ok(tx.execute(
        "UPDATE email_aliases SET retired_at = ?2 WHERE retailer_id = ?1 AND retired_at IS NULL",
        params![retailer_id, ts(now)],
    )? == 1)
}

/// Every alias with its retailer (the dashboard's "which alias went to whom").
pub fn list_aliases(conn: &Connection) -> Result<Vec<EmailAlias>, PrivacyError> {
    let mut stmt =
        conn.prepare("SELECT retailer_id, alias, created_at, retired_at FROM email_aliases ORDER BY retailer_id")?;
    let rows = stmt.query_map([], alias_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Which retailer an address was given to as an alias (to identify a leak from a spam message's `To:`).
pub fn retailer_for_alias(conn: &Connection, alias: &str) -> Result<Option<String>, PrivacyError> {
    Ok(conn
        .query_row(
            "SELECT retailer_id FROM email_aliases WHERE alias = ?1 COLLATE NOCASE",
            [alias.trim()],
            |r| r.get(0),
        )
        .optional()?)
}
