//! Grants and privacy data in a vault export (section `grants` of `locket.export/v1`).
//!
//! [`GrantsSection`] implements `locket_vault::export::ExportSection`. The section ([`SECTION_FORMAT`]) holds, per
//! table, every row as a JSON object keyed by column name (columns as documented in the vault migrations
//! `0003_grants.sql` and `0004_privacy.sql`): the retailers' requests with the owner's decisions, the grants,
//! the consent receipts, erasure requests, email aliases, privacy budgets and the privacy-budget ledger. Text
//! columns that hold JSON written by Locket (`requests.decision`, `grants.scopes`) are embedded as JSON; columns
//! that must stay byte-exact (`requests.document` as the retailer sent it, `consent_receipts.document` as
//! signed) stay strings.
//!
//! # Imported grants are history
//!
//! A grant token is signed by the vault that issued it, and an import creates a vault with a **new** signing key.
//! A retailer's old token can never verify against the new vault, so an imported grant cannot stay redeemable.
//! Rather than show such grants as active, import marks every grant that was still live (not revoked, not yet
//! expired) as revoked by the owner with the reason [`MOVED_REASON`] ("moved"), and records one `grant_revoked`
//! event per grant (detail `moved_from` = the old vault id). Revoked and expired grants keep their history as it
//! was. No consent receipt is issued for a move: the new vault's key never signed that consent. Pending requests
//! stay pending and can be approved in the new vault (with new tokens).
use chrono::{DateTime, Utc};
use locket_audit::{EventKind, NewEvent, Outcome};
use locket_vault::export::{ExportSection, SectionError};
use pasetors::keys::AsymmetricPublicKey;
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;
use ring::signature::{Ed25519KeyPair, KeyPair};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::token::rfc3339;

/// The section's name in `sections`.
pub const SECTION: &str = "grants";
/// Format tag of the section.
pub const SECTION_FORMAT: &str = "locket.grants-section/v1";
/// Revocation reason of a grant that was live when it was imported.
pub const MOVED_REASON: &str = "moved";

/// The exported tables in import order (a table only refers to tables before it), each with its JSON columns.
pub const TABLES: [(&str, &[&str]); 7] = [
    ("requests", &["decision"]),
    ("grants", &["scopes"]),
    ("consent_receipts", &[]),
    ("erasure_requests", &[]),
    ("email_aliases", &[]),
    ("privacy_budgets", &[]),
    ("privacy_spends", &[]),
];

/// What can go wrong exporting or importing grants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantsExportError {
    /// The vault database refused.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The section is not shaped as documented in docs/export-format.md.
    #[error("the grants in the export are malformed: {0}")]
    Malformed(String),
    /// A row clashes with data already in the target vault.
    #[error("{table} row {id} is already in this vault; import into a new, empty vault")]
    Exists {
        /// Table.
        table: String,
        /// The row's id.
        id: String,
    },
    /// The move could not be recorded in the access log.
    #[error("could not record the event in the access log: {0}")]
    Audit(#[from] locket_audit::AuditError),
    /// The vault's signing key is unusable.
    #[error("the vault's signing key is not a valid Ed25519 seed; the vault may be damaged")]
    BadSigningKey,
}

impl GrantsExportError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            GrantsExportError::Database(_) => "database_error",
            GrantsExportError::Malformed(_) => "grants_section_malformed",
            GrantsExportError::Exists { .. } => "import_target_not_empty",
            GrantsExportError::Audit(e) => e.code(),
            GrantsExportError::BadSigningKey => "signing_key_invalid",
        }
    }
}

type Res<T> = std::result::Result<T, GrantsExportError>;

fn malformed(m: impl Into<String>) -> GrantsExportError {
    GrantsExportError::Malformed(m.into())
}

/// The vault whose grants these are, and the key its tokens and receipts were signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceKey {
    /// The exporting vault's id.
    pub vault_id: String,
    /// Its public key as PASERK `k4.public.…` (verifies its tokens and consent receipts).
    pub public_key: String,
    /// Its key id as PASERK `k4.pid.…` (the `kid` in its tokens' footers).
    pub key_id: String,
}

/// The `grants` section (`locket.grants-section/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionDoc {
    /// Always [`SECTION_FORMAT`].
    pub format: String,
    /// The exporting vault and its key.
    pub source: SourceKey,
    /// Rows of `requests`.
    pub requests: Vec<Map<String, Value>>,
    /// Rows of `grants`.
    pub grants: Vec<Map<String, Value>>,
    /// Rows of `consent_receipts`.
    pub consent_receipts: Vec<Map<String, Value>>,
    /// Rows of `erasure_requests`.
    pub erasure_requests: Vec<Map<String, Value>>,
    /// Rows of `email_aliases`.
    pub email_aliases: Vec<Map<String, Value>>,
    /// Rows of `privacy_budgets`.
    pub privacy_budgets: Vec<Map<String, Value>>,
    /// Rows of `privacy_spends`.
    pub privacy_spends: Vec<Map<String, Value>>,
}

impl SectionDoc {
    fn table(&self, name: &str) -> &[Map<String, Value>] {
        match name {
            "requests" => &self.requests,
            "grants" => &self.grants,
            "consent_receipts" => &self.consent_receipts,
            "erasure_requests" => &self.erasure_requests,
            "email_aliases" => &self.email_aliases,
            "privacy_budgets" => &self.privacy_budgets,
            "privacy_spends" => &self.privacy_spends,
            _ => &[],
        }
    }

    fn table_mut(&mut self, name: &str) -> Option<&mut Vec<Map<String, Value>>> {
        match name {
            "requests" => Some(&mut self.requests),
            "grants" => Some(&mut self.grants),
            "consent_receipts" => Some(&mut self.consent_receipts),
            "erasure_requests" => Some(&mut self.erasure_requests),
            "email_aliases" => Some(&mut self.email_aliases),
            "privacy_budgets" => Some(&mut self.privacy_budgets),
            "privacy_spends" => Some(&mut self.privacy_spends),
            _ => None,
        }
    }
}

fn meta_text(conn: &Connection, key: &str) -> Res<String> {
    let v: Option<SqlValue> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(SqlValue::Text(s)) => s,
        Some(SqlValue::Blob(b)) => String::from_utf8(b).unwrap_or_default(),
        _ => String::new(),
    })
}

/// The PASERK public key and key id of the vault of `conn` (from its signing seed in `meta`).
fn source_key(conn: &Connection) -> Res<SourceKey> {
    let raw: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'signing_seed'", [], |r| r.get(0))
        .optional()?;
    let raw = Zeroizing::new(raw.unwrap_or_default());
    let pair = Ed25519KeyPair::from_seed_unchecked(&raw).map_err(|_| GrantsExportError::BadSigningKey)?;
    let public =
        AsymmetricPublicKey::<V4>::from(pair.public_key().as_ref()).map_err(|_| GrantsExportError::BadSigningKey)?;
    let mut public_key = String::new();
    public
        .fmt(&mut public_key)
        .map_err(|_| GrantsExportError::BadSigningKey)?;
    let mut key_id = String::new();
    Id::from(&public)
        .fmt(&mut key_id)
        .map_err(|_| GrantsExportError::BadSigningKey)?;
    Ok(SourceKey {
        vault_id: meta_text(conn, "vault_id")?,
        public_key,
        key_id,
    })
}

fn columns(conn: &Connection, table: &str) -> Res<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<Vec<_>, _>>()?;
    if cols.is_empty() {
        return Err(malformed(format!("this vault has no `{table}` table")));
    }
    Ok(cols)
}

fn export_table(conn: &Connection, table: &str, json_cols: &[&str]) -> Res<Vec<Map<String, Value>>> {
    let cols = columns(conn, table)?;
    let mut stmt = conn.prepare(&format!("SELECT {} FROM {table} ORDER BY rowid", cols.join(", ")))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, col) in cols.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => {
                    let s = String::from_utf8_lossy(t).into_owned();
                    if json_cols.contains(&col.as_str()) {
                        serde_json::from_str(&s).map_err(|e| malformed(format!("{table}.{col} is not JSON: {e}")))?
                    } else {
                        Value::String(s)
                    }
                }
                ValueRef::Blob(_) => return Err(malformed(format!("{table}.{col} holds binary data"))),
            };
            obj.insert(col.clone(), v);
        }
        out.push(obj);
    }
    Ok(out)
}

/// Reads every request, grant and privacy table row.
pub fn export_section(conn: &Connection) -> Res<SectionDoc> {
    let mut doc = SectionDoc {
        format: SECTION_FORMAT.to_owned(),
        source: source_key(conn)?,
        requests: Vec::new(),
        grants: Vec::new(),
        consent_receipts: Vec::new(),
        erasure_requests: Vec::new(),
        email_aliases: Vec::new(),
        privacy_budgets: Vec::new(),
        privacy_spends: Vec::new(),
    };
    for (table, json_cols) in TABLES {
        let rows = export_table(conn, table, json_cols)?;
        if let Some(t) = doc.table_mut(table) {
            *t = rows;
        }
    }
    Ok(doc)
}

fn row_id(row: &Map<String, Value>) -> String {
    ["id", "retailer_id"]
        .iter()
        .find_map(|k| row.get(*k))
        .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
        .unwrap_or_default()
}

fn to_sql(table: &str, col: &str, v: &Value, json_col: bool) -> Res<SqlValue> {
    if json_col {
        return Ok(match v {
            Value::Null => SqlValue::Null,
            other => SqlValue::Text(other.to_string()),
        });
    }
    Ok(match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            (None, Some(f)) => SqlValue::Real(f),
            _ => return Err(malformed(format!("{table}.{col}: number out of range"))),
        },
        _ => return Err(malformed(format!("{table}.{col}: expected a string, number or null"))),
    })
}

/// What [`import_section`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantsImport {
    /// Rows written per table.
    pub rows: Vec<(String, usize)>,
    /// Grants that were live and are now revoked as [`MOVED_REASON`].
    pub moved: Vec<String>,
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Writes the section's rows into the vault of `conn` (inside the caller's transaction), then revokes the
/// grants that were live as "moved" and logs each (see the module docs).
pub fn import_section(conn: &Connection, doc: &SectionDoc, now: DateTime<Utc>) -> Res<GrantsImport> {
    if doc.format != SECTION_FORMAT {
        return Err(malformed(format!(
            "unknown format `{}` (expected {SECTION_FORMAT})",
            doc.format
        )));
    }
    let mut out = GrantsImport::default();
    for (table, json_cols) in TABLES {
        let cols = columns(conn, table)?;
        let rows = doc.table(table);
        for row in rows {
            let mut names = Vec::with_capacity(row.len());
            let mut values = Vec::with_capacity(row.len());
            for (k, v) in row {
                if !cols.iter().any(|c| c == k) {
                    return Err(malformed(format!("{table} has no column `{k}`")));
                }
                names.push(k.as_str());
                values.push(to_sql(table, k, v, json_cols.contains(&k.as_str()))?);
            }
            let placeholders = (1..=names.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO {table} ({}) VALUES ({placeholders})", names.join(", "));
            match conn.execute(&sql, params_from_iter(values)) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, msg))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation
                        && msg.as_deref().is_some_and(|m| m.starts_with("UNIQUE")) =>
                {
                    return Err(GrantsExportError::Exists {
                        table: table.to_owned(),
                        id: row_id(row),
                    })
                }
                Err(e) => return Err(malformed(format!("{table} row {}: {e}", row_id(row)))),
            }
        }
        out.rows.push((table.to_owned(), rows.len()));
    }

    for g in &doc.grants {
        let revoked = g.get("revoked_at").is_some_and(|v| !v.is_null());
        let live = !revoked && time(g.get("expires_at")).is_some_and(|t| t > now);
        if !live {
            continue;
        }
        let id = g.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        conn.execute(
            "UPDATE grants SET revoked_at = ?2, revoked_by = 'owner', revoke_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
            rusqlite::params![id, rfc3339(now), MOVED_REASON],
        )?;
        let text = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let ev = NewEvent::new(EventKind::GrantRevoked, Outcome::Ok)
            .retailer(text("retailer_id"))
            .grant(id.clone())
            .request(text("request_id"))
            .detail("by", "owner")
            .detail("reason", MOVED_REASON)
            .detail("moved_from", doc.source.vault_id.clone())
            .detail("source_key_id", doc.source.key_id.clone())
            .at(now);
        locket_audit::append(conn, &ev)?;
        out.moved.push(id);
    }
    Ok(out)
}

/// The `grants` section provider for `locket_vault::export` (register it in the CLI's and the desktop's
/// `export_sections()`, after the `audit` section so the move events follow the imported log).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantsSection;

impl ExportSection for GrantsSection {
    fn name(&self) -> &'static str {
        SECTION
    }

    fn export(&self, conn: &Connection) -> Result<Option<Value>, SectionError> {
        let doc = export_section(conn)?;
        Ok(Some(serde_json::to_value(doc)?))
    }

    fn import(&self, conn: &Connection, value: &Value) -> Result<(), SectionError> {
        let doc: SectionDoc =
            serde_json::from_value(value.clone()).map_err(|e| malformed(format!("not a {SECTION_FORMAT}: {e}")))?;
        import_section(conn, &doc, Utc::now())?;
        Ok(())
    }
}
