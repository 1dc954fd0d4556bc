//! The access log in a vault export (section `audit` of `locket.export/v1`), and the owner's own CSV/JSON export
//! of events (`locket audit export`).
//!
//! # The `audit` section
//!
//! [`AuditSection`] implements `locket_vault::export::ExportSection`. Its JSON ([`SectionDoc`]) holds every event
//! **verbatim** — each stored column exactly as stored, the `fields` and `detail` JSON as their stored text, and
//! the chain hash — plus every signed head and an *attestation*: the exporting vault signs its current head at
//! export time (not stored in the old vault), so the whole exported log is vouched for by the old key.
//!
//! # How an imported log is verified
//!
//! The chain hashes do not depend on any key, so they are recomputed on import from the first event: an export
//! whose log was edited, reordered or cut is refused, naming the first bad event, and nothing is imported. Every
//! signed head and the attestation must match the chain and verify with the Ed25519 public key stored with them.
//!
//! The new vault has a new signing key, so the old heads cannot go into `audit_heads` (whose signatures
//! `locket audit verify` checks against *this* vault's key). Instead:
//!
//! 1. **Verbatim** (the new vault's log is empty, e.g. `locket import` into a new vault): the events are written
//!    with their original sequence numbers, times and hashes; the field index is rebuilt from the events.
//! 2. **Re-chained** (the log already holds events, e.g. the desktop app recorded its `unlock`): the events are
//!    appended after the existing ones with new sequence numbers and hashes. Times never decrease along a chain,
//!    so an event older than the existing head is recorded at the head's time; each event's `detail.imported`
//!    keeps its original `seq`, `hash` and `ts_ms` (an earlier origin nested as `previous`).
//! 3. Either way an [`IMPORTED_KIND`] event is appended. Its detail names the source vault, its public key
//!    (`source_public_key`, hex) and head (`source_head`), the import `mode`, and carries the old signed heads
//!    and the attestation verbatim (`source_signed_heads`, `source_attestation`), so they stay verifiable with
//!    the public key each holds ([`verify_imported`]).
//! 4. The new vault signs its head right away, so the imported events and the `imported` record are covered by
//!    the new key, and `locket audit verify` (chain + this vault's heads + field index) passes.
use std::collections::BTreeSet;
use std::io::Write;

use chrono::{SecondsFormat, Utc};
use locket_vault::export::{ExportSection, SectionError};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::chain::{head_message, CanonicalEvent, GENESIS};
use crate::event::ms_to_time;
use crate::{append, head, sign_head, AuditError, DisclosedField, Event, EventKind, Filter, NewEvent, Outcome};

/// The section's name in `sections`.
pub const SECTION: &str = "audit";
/// Format tag of the section.
pub const SECTION_FORMAT: &str = "locket.audit-section/v1";
/// Kind of the event that records an import.
pub const IMPORTED_KIND: &str = "imported";
/// Format tag of the owner's JSON export (`locket audit export --format json`).
pub const OWNER_EXPORT_FORMAT: &str = "locket.audit-log/v1";
/// Columns of the owner's CSV export, in order.
pub const CSV_COLUMNS: [&str; 13] = [
    "seq",
    "time",
    "kind",
    "outcome",
    "reason",
    "retailer",
    "grant_id",
    "request_id",
    "fields",
    "remote_addr",
    "user_agent",
    "detail",
    "hash",
];

/// What can go wrong exporting or importing the access log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogExportError {
    /// The access log could not be read or written.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The section is not shaped as documented in docs/export-format.md.
    #[error("the access log in the export is malformed: {0}")]
    Malformed(String),
    /// The exported log does not verify: it was edited after it was exported (or before, in the old vault).
    #[error("the access log in the export is not intact at event {seq}: {message}; nothing was imported")]
    NotIntact {
        /// The first bad event (or signed head).
        seq: u64,
        /// What is wrong.
        message: String,
    },
}

impl LogExportError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            LogExportError::Audit(e) => e.code(),
            LogExportError::Malformed(_) => "audit_section_malformed",
            LogExportError::NotIntact { .. } => "audit_section_not_intact",
        }
    }
}

impl From<rusqlite::Error> for LogExportError {
    fn from(e: rusqlite::Error) -> Self {
        LogExportError::Audit(AuditError::Database(e))
    }
}

type Res<T> = std::result::Result<T, LogExportError>;

fn malformed(m: impl Into<String>) -> LogExportError {
    LogExportError::Malformed(m.into())
}

fn not_intact(seq: u64, message: impl Into<String>) -> LogExportError {
    LogExportError::NotIntact {
        seq,
        message: message.into(),
    }
}

/// One event exactly as stored (`audit_events` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// Position in the chain.
    pub seq: u64,
    /// Unix time in milliseconds.
    pub ts_ms: i64,
    /// Kind as stored.
    pub kind: String,
    /// Outcome as stored.
    pub outcome: String,
    /// Reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Retailer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer: Option<String>,
    /// Grant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The stored `fields` JSON text (exact bytes are hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// Remote address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The stored `detail` JSON text (exact bytes are hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Chain hash, hex.
    pub hash: String,
}

impl RawEvent {
    fn canonical(&self) -> CanonicalEvent<'_> {
        CanonicalEvent {
            seq: self.seq,
            ts_ms: self.ts_ms,
            kind: &self.kind,
            outcome: &self.outcome,
            reason: self.reason.as_deref(),
            retailer: self.retailer.as_deref(),
            grant_id: self.grant_id.as_deref(),
            request_id: self.request_id.as_deref(),
            fields: self.fields.as_deref(),
            remote_addr: self.remote_addr.as_deref(),
            user_agent: self.user_agent.as_deref(),
            detail: self.detail.as_deref(),
        }
    }
}

/// A head signature: a signed head of the old vault, or the export-time attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadSignature {
    /// The event the head points at.
    pub seq: u64,
    /// That event's chain hash (hex).
    pub hash: String,
    /// When it was signed (Unix ms).
    pub signed_ms: i64,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Ed25519 signature over `chain::head_message(seq, hash, signed_ms)` (hex).
    pub signature: String,
}

impl HeadSignature {
    fn check(&self) -> Res<()> {
        let hash = hex32(&self.hash).ok_or_else(|| malformed(format!("head {}: bad hash", self.seq)))?;
        let pk = hex::decode(&self.public_key).map_err(|_| malformed(format!("head {}: bad public key", self.seq)))?;
        let sig = hex::decode(&self.signature).map_err(|_| malformed(format!("head {}: bad signature", self.seq)))?;
        UnparsedPublicKey::new(&ED25519, &pk)
            .verify(&head_message(self.seq, &hash, self.signed_ms), &sig)
            .map_err(|_| {
                not_intact(
                    self.seq,
                    "the signed head's signature does not verify with the public key stored in it",
                )
            })
    }
}

/// The head of a log: its newest event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRef {
    /// Sequence number (0 for an empty log).
    pub seq: u64,
    /// Chain hash (hex; zeros for an empty log).
    pub hash: String,
}

/// The `audit` section (`locket.audit-section/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionDoc {
    /// Always [`SECTION_FORMAT`].
    pub format: String,
    /// The exporting vault's id.
    pub source_vault_id: String,
    /// The exporting vault's Ed25519 public key (hex).
    pub public_key: String,
    /// The log's head at export time.
    pub head: HeadRef,
    /// The head signed at export time by the exporting vault (absent for an empty log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<HeadSignature>,
    /// Every signed head the exporting vault stored, oldest first.
    pub signed_heads: Vec<HeadSignature>,
    /// Every event, oldest first.
    pub events: Vec<RawEvent>,
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
}

fn opt_text(v: ValueRef<'_>) -> rusqlite::Result<Option<String>> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
        _ => Err(rusqlite::Error::InvalidColumnType(
            0,
            "text".into(),
            rusqlite::types::Type::Blob,
        )),
    }
}

fn meta_text(conn: &Connection, key: &str) -> Res<String> {
    let v: Option<rusqlite::types::Value> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(rusqlite::types::Value::Text(s)) => s,
        Some(rusqlite::types::Value::Blob(b)) => String::from_utf8(b).unwrap_or_default(),
        _ => String::new(),
    })
}

/// The vault's Ed25519 signing seed, read from the (encrypted) `meta` table of the connection's vault.
fn signing_seed(conn: &Connection) -> Res<Zeroizing<[u8; 32]>> {
    let raw: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'signing_seed'", [], |r| r.get(0))
        .optional()?;
    let raw = Zeroizing::new(raw.unwrap_or_default());
    let mut seed = Zeroizing::new([0u8; 32]);
    if raw.len() != 32 {
        return Err(AuditError::BadSigningKey.into());
    }
    seed.copy_from_slice(&raw);
    Ok(seed)
}

fn keypair(seed: &[u8; 32]) -> Res<Ed25519KeyPair> {
    Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| AuditError::BadSigningKey.into())
}

/// Reads the whole log into a [`SectionDoc`] and signs its head (the attestation) with the vault's key.
pub fn export_section(conn: &Connection) -> Res<SectionDoc> {
    let seed = signing_seed(conn)?;
    let kp = keypair(&seed)?;
    let public_key = hex::encode(kp.public_key().as_ref());
    let mut events = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT seq, ts_ms, kind, outcome, reason, retailer, grant_id, request_id, fields, remote_addr, user_agent, \
         detail, hash FROM audit_events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let seq = u64::try_from(r.get::<_, i64>(0)?).map_err(|_| malformed("negative sequence number"))?;
        let hash: Vec<u8> = r.get(12)?;
        events.push(RawEvent {
            seq,
            ts_ms: r.get(1)?,
            kind: r.get(2)?,
            outcome: r.get(3)?,
            reason: opt_text(r.get_ref(4)?)?,
            retailer: opt_text(r.get_ref(5)?)?,
            grant_id: opt_text(r.get_ref(6)?)?,
            request_id: opt_text(r.get_ref(7)?)?,
            fields: opt_text(r.get_ref(8)?)?,
            remote_addr: opt_text(r.get_ref(9)?)?,
            user_agent: opt_text(r.get_ref(10)?)?,
            detail: opt_text(r.get_ref(11)?)?,
            hash: hex::encode(hash),
        });
    }
    let signed_heads = crate::heads(conn)?
        .into_iter()
        .map(|h| HeadSignature {
            seq: h.seq,
            hash: h.hash,
            signed_ms: h.signed_at.timestamp_millis(),
            public_key: h.public_key,
            signature: h.signature,
        })
        .collect();
    let h = head(conn)?;
    let attestation = (h.seq > 0).then(|| {
        let signed_ms = Utc::now().timestamp_millis();
        HeadSignature {
            seq: h.seq,
            hash: hex::encode(h.hash),
            signed_ms,
            public_key: public_key.clone(),
            signature: hex::encode(kp.sign(&head_message(h.seq, &h.hash, signed_ms)).as_ref()),
        }
    });
    Ok(SectionDoc {
        format: SECTION_FORMAT.to_owned(),
        source_vault_id: meta_text(conn, "vault_id")?,
        public_key,
        head: HeadRef {
            seq: h.seq,
            hash: hex::encode(h.hash),
        },
        attestation,
        signed_heads,
        events,
    })
}

#[derive(Deserialize)]
struct FieldEntry {
    key: String,
    version: i64,
}

/// Checks a section: the chain recomputed from the first event, times, field lists, the head, every signed head
/// and the attestation. Returns the parsed field lists (one per event).
pub fn verify_section(doc: &SectionDoc) -> Res<Vec<Vec<DisclosedField>>> {
    if doc.format != SECTION_FORMAT {
        return Err(malformed(format!(
            "unknown format `{}` (expected {SECTION_FORMAT})",
            doc.format
        )));
    }
    let mut prev = GENESIS;
    let mut prev_ts = i64::MIN;
    let mut scratch = Vec::with_capacity(512);
    let mut fields = Vec::with_capacity(doc.events.len());
    for (i, e) in doc.events.iter().enumerate() {
        let expected = i as u64 + 1;
        if e.seq != expected {
            return Err(not_intact(
                expected,
                format!("event {expected} is missing (found event {} in its place)", e.seq),
            ));
        }
        let computed = e.canonical().chain_hash(&prev, &mut scratch);
        if hex32(&e.hash) != Some(computed) {
            return Err(not_intact(e.seq, "the event does not match its hash: it was edited"));
        }
        if e.ts_ms < prev_ts {
            return Err(not_intact(e.seq, "the event is dated before the event preceding it"));
        }
        if Outcome::parse(&e.outcome).is_none() {
            return Err(malformed(format!("event {}: unknown outcome `{}`", e.seq, e.outcome)));
        }
        let list = match &e.fields {
            None => Vec::new(),
            Some(text) => serde_json::from_str::<Vec<FieldEntry>>(text)
                .map_err(|err| malformed(format!("event {}: fields: {err}", e.seq)))?
                .into_iter()
                .map(|f| DisclosedField {
                    key: f.key,
                    version: f.version,
                })
                .collect(),
        };
        let mut keys = BTreeSet::new();
        if !list.iter().all(|f| keys.insert(f.key.as_str())) {
            return Err(malformed(format!("event {}: a field is listed twice", e.seq)));
        }
        if let Some(d) = &e.detail {
            serde_json::from_str::<Map<String, Value>>(d)
                .map_err(|err| malformed(format!("event {}: detail is not a JSON object: {err}", e.seq)))?;
        }
        fields.push(list);
        prev = computed;
        prev_ts = e.ts_ms;
    }
    let last = doc.events.len() as u64;
    if doc.head.seq != last || hex32(&doc.head.hash) != Some(prev) {
        return Err(not_intact(
            last,
            format!(
                "the export says the log ends at event {} but it ends at event {last}: events were removed or added",
                doc.head.seq
            ),
        ));
    }
    let matches_chain = |h: &HeadSignature| -> Res<()> {
        let at = usize::try_from(h.seq)
            .ok()
            .filter(|s| *s >= 1)
            .and_then(|s| doc.events.get(s - 1));
        match at {
            Some(e) if e.hash == h.hash => h.check(),
            Some(_) => Err(not_intact(h.seq, "a signed head does not match the event it points at")),
            None => Err(not_intact(
                h.seq,
                format!(
                    "a signed head vouches for event {} but the log ends at event {last}",
                    h.seq
                ),
            )),
        }
    };
    for h in &doc.signed_heads {
        // A vault signs its heads with its own key only (heads of a log imported earlier travel inside its
        // `imported` event): a head under another key means the section was re-signed or spliced.
        if h.public_key != doc.public_key {
            return Err(not_intact(
                h.seq,
                "a signed head is not by the exporting vault's key: the export was re-signed or spliced",
            ));
        }
        matches_chain(h)?;
    }
    if let Some(a) = &doc.attestation {
        if a.public_key != doc.public_key || a.seq != last {
            return Err(not_intact(
                a.seq,
                "the export's attestation is not for this log's head or not by the exporting vault's key",
            ));
        }
        matches_chain(a)?;
    } else if last > 0 {
        return Err(malformed("the export's attestation (its signed head) is missing"));
    }
    Ok(fields)
}

/// How the events were imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Original sequence numbers, times and hashes (the target log was empty).
    Verbatim,
    /// Appended after the target's existing events, originals kept in `detail.imported`.
    Rechained,
}

/// What [`import_section`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogImport {
    /// How the events went in.
    pub mode: ImportMode,
    /// Events imported.
    pub events: u64,
    /// The `imported` event's sequence number.
    pub imported_seq: u64,
}

/// Verifies the section ([`verify_section`]) and writes it into the vault of `conn` (inside the caller's
/// transaction), then appends the [`IMPORTED_KIND`] event and signs the new head with the vault's key.
pub fn import_section(conn: &Connection, doc: &SectionDoc) -> Res<LogImport> {
    let fields = verify_section(doc)?;
    let seed = signing_seed(conn)?;
    let existing = head(conn)?;
    let mode = if existing.seq == 0 {
        ImportMode::Verbatim
    } else {
        ImportMode::Rechained
    };
    match mode {
        ImportMode::Verbatim => {
            let mut ins = conn.prepare(
                "INSERT INTO audit_events (seq, ts_ms, kind, outcome, reason, retailer, grant_id, request_id, fields, \
                 remote_addr, user_agent, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let mut idx =
                conn.prepare("INSERT INTO audit_event_fields (field_key, seq, version) VALUES (?1, ?2, ?3)")?;
            for (e, list) in doc.events.iter().zip(&fields) {
                let seq = i64::try_from(e.seq).map_err(|_| malformed("sequence number too large"))?;
                let hash = hex32(&e.hash).ok_or_else(|| malformed(format!("event {}: bad hash", e.seq)))?;
                ins.execute(params![
                    seq,
                    e.ts_ms,
                    e.kind,
                    e.outcome,
                    e.reason,
                    e.retailer,
                    e.grant_id,
                    e.request_id,
                    e.fields,
                    e.remote_addr,
                    e.user_agent,
                    e.detail,
                    &hash[..]
                ])?;
                for f in list {
                    idx.execute(params![f.key, seq, f.version])?;
                }
            }
        }
        ImportMode::Rechained => {
            for (e, list) in doc.events.iter().zip(fields) {
                let outcome =
                    Outcome::parse(&e.outcome).ok_or_else(|| malformed(format!("event {}: unknown outcome", e.seq)))?;
                let mut detail: Map<String, Value> = match &e.detail {
                    Some(d) => serde_json::from_str(d).map_err(|err| malformed(err.to_string()))?,
                    None => Map::new(),
                };
                let mut origin = json!({
                    "source_vault_id": doc.source_vault_id,
                    "seq": e.seq,
                    "hash": e.hash,
                    "ts_ms": e.ts_ms,
                });
                // Re-chained twice (vault A → B → C): the earlier origin is kept, nested.
                if let Some(previous) = detail.remove("imported") {
                    origin["previous"] = previous;
                }
                detail.insert("imported".to_owned(), origin);
                let ev = NewEvent {
                    kind: EventKind::parse(&e.kind),
                    outcome,
                    reason: e.reason.clone(),
                    retailer: e.retailer.clone(),
                    grant_id: e.grant_id.clone(),
                    request_id: e.request_id.clone(),
                    fields: list,
                    remote_addr: e.remote_addr.clone(),
                    user_agent: e.user_agent.clone(),
                    detail: Some(detail),
                    at: Some(ms_to_time(e.ts_ms)),
                };
                append(conn, &ev)?;
            }
        }
    }
    let heads_json = serde_json::to_value(&doc.signed_heads).map_err(|e| malformed(format!("signed heads: {e}")))?;
    let mut ev = NewEvent::new(EventKind::Imported, Outcome::Ok)
        .detail("mode", serde_json::to_value(mode).unwrap_or(Value::Null))
        .detail("events", doc.events.len() as u64)
        .detail("source_vault_id", doc.source_vault_id.clone())
        .detail("source_public_key", doc.public_key.clone())
        .detail("source_head", json!({ "seq": doc.head.seq, "hash": doc.head.hash }))
        .detail("source_signed_heads", heads_json);
    if let Some(a) = &doc.attestation {
        ev = ev.detail(
            "source_attestation",
            serde_json::to_value(a).map_err(|e| malformed(e.to_string()))?,
        );
    }
    let rec = append(conn, &ev)?;
    sign_head(conn, seed.as_ref())?;
    Ok(LogImport {
        mode,
        events: doc.events.len() as u64,
        imported_seq: rec.seq,
    })
}

/// What [`verify_imported`] found for one `imported` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedCheck {
    /// The `imported` event.
    pub seq: u64,
    /// The vault the log came from.
    pub source_vault_id: String,
    /// Its public key (hex).
    pub source_public_key: String,
    /// Old signed heads (and the attestation) that verified against this log.
    pub heads_verified: u64,
}

/// Re-checks every `imported` event's old signed heads and attestation: each must verify with the public key it
/// holds and match the imported event it points at (by sequence number for a verbatim import, by
/// `detail.imported.seq` for a re-chained one). Returns one entry per import, or the first problem.
pub fn verify_imported(conn: &Connection) -> Res<Vec<ImportedCheck>> {
    let page = crate::query(
        conn,
        &Filter {
            kind: Some(EventKind::Imported),
            ..Filter::default()
        },
        None,
        1000,
    )?;
    let mut out = Vec::new();
    let mut origins: Option<BTreeSet<(u64, String)>> = None;
    for ev in page.events.iter().rev() {
        let d = &ev.detail;
        let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut heads: Vec<HeadSignature> = match d.get("source_signed_heads") {
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| malformed(format!("imported event {}: {e}", ev.seq)))?
            }
            None => Vec::new(),
        };
        if let Some(a) = d.get("source_attestation") {
            heads.push(
                serde_json::from_value(a.clone()).map_err(|e| malformed(format!("imported event {}: {e}", ev.seq)))?,
            );
        }
        let source = text("source_vault_id");
        for h in &heads {
            h.check()?;
            // The old event is either still at its own position (verbatim imports keep seq and hash), or was
            // re-chained, possibly more than once: then its original seq and hash are in `detail.imported`.
            let here = if h.seq < ev.seq {
                crate::get(conn, h.seq)?.map(|e| e.hash)
            } else {
                None
            };
            let found = if here.as_deref() == Some(h.hash.as_str()) {
                here
            } else {
                let origins = match &mut origins {
                    Some(set) => set,
                    None => origins.insert(collect_origins(conn)?),
                };
                origins.contains(&(h.seq, h.hash.clone())).then(|| h.hash.clone())
            };
            if found.as_deref() != Some(h.hash.as_str()) {
                return Err(not_intact(
                    h.seq,
                    format!(
                        "the old vault's signed head for its event {} does not match the imported log",
                        h.seq
                    ),
                ));
            }
        }
        out.push(ImportedCheck {
            seq: ev.seq,
            source_vault_id: source,
            source_public_key: text("source_public_key"),
            heads_verified: heads.len() as u64,
        });
    }
    Ok(out)
}

/// Every original `(seq, hash)` recorded in a re-chained event's `detail.imported` (and the `previous` origins
/// nested in it).
fn collect_origins(conn: &Connection) -> Res<BTreeSet<(u64, String)>> {
    let mut out = BTreeSet::new();
    let mut stmt = conn.prepare("SELECT detail FROM audit_events WHERE instr(detail, '\"imported\":{') > 0")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let text: String = r.get(0)?;
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let mut level = v.get("imported");
        while let Some(o) = level {
            if let (Some(seq), Some(hash)) = (
                o.get("seq").and_then(Value::as_u64),
                o.get("hash").and_then(Value::as_str),
            ) {
                out.insert((seq, hash.to_owned()));
            }
            level = o.get("previous");
        }
    }
    Ok(out)
}

/// The `audit` section provider for `locket_vault::export` (register it in the CLI's and the desktop's
/// `export_sections()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditSection;

impl ExportSection for AuditSection {
    fn name(&self) -> &'static str {
        SECTION
    }

    fn export(&self, conn: &Connection) -> std::result::Result<Option<Value>, SectionError> {
        let doc = export_section(conn)?;
        Ok(Some(serde_json::to_value(doc)?))
    }

    fn import(&self, conn: &Connection, value: &Value) -> std::result::Result<(), SectionError> {
        let doc: SectionDoc =
            serde_json::from_value(value.clone()).map_err(|e| malformed(format!("not a {SECTION_FORMAT}: {e}")))?;
        import_section(conn, &doc)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The owner's export

/// Every event matching `filter`, oldest first.
pub fn collect(conn: &Connection, filter: &Filter) -> Res<Vec<Event>> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = crate::query(conn, filter, cursor, 1000)?;
        all.extend(page.events);
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    all.reverse();
    Ok(all)
}

/// The owner's JSON export: `{"format", "exported_at", "vault_id", "events": [...]}` (events as `locket audit
/// --json` prints them, oldest first).
pub fn owner_json(conn: &Connection, events: &[Event]) -> Res<Value> {
    Ok(json!({
        "format": OWNER_EXPORT_FORMAT,
        "exported_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "vault_id": meta_text(conn, "vault_id")?,
        "events": events,
    }))
}

/// One CSV cell (RFC 4180). A cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// tab or carriage return) is prefixed with `'`, so a retailer-controlled value (a user agent, an id) cannot
/// become a formula in the owner's spreadsheet.
pub fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Writes events as CSV: a header ([`CSV_COLUMNS`]) and one row per event, lines ending in CRLF. `fields` is
/// `key@vN` joined by `;`, `detail` compact JSON (empty when there is none), `time` RFC 3339 UTC.
pub fn write_csv(events: &[Event], mut w: impl Write) -> std::io::Result<()> {
    w.write_all(CSV_COLUMNS.join(",").as_bytes())?;
    w.write_all(b"\r\n")?;
    for e in events {
        let fields = e
            .fields
            .iter()
            .map(|f| format!("{}@v{}", f.key, f.version))
            .collect::<Vec<_>>()
            .join(";");
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&e.detail).unwrap_or_default()
        };
        let cells = [
            e.seq.to_string(),
            e.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            e.kind.to_string(),
            e.outcome.clone(),
            e.reason.clone().unwrap_or_default(),
            e.retailer.clone().unwrap_or_default(),
            e.grant_id.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
            fields,
            e.remote_addr.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default(),
            detail,
            e.hash.clone(),
        ];
        let line = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
        w.write_all(line.as_bytes())?;
        w.write_all(b"\r\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7u8; 32];
    const SEED2: [u8; 32] = [9u8; 32];

    fn db(seed: &[u8; 32], id: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;")
            .unwrap();
        c.execute_batch(crate::MIGRATION_SQL).unwrap();
        c.execute("INSERT INTO meta VALUES ('signing_seed', ?1)", [&seed[..]])
            .unwrap();
        c.execute("INSERT INTO meta VALUES ('vault_id', ?1)", [id]).unwrap();
        c
    }

    fn filled() -> Connection {
        let c = db(&SEED, "old-vault");
        let t0 = Utc::now() - chrono::Duration::days(3);
        for i in 0..5 {
            let ev = NewEvent::new(EventKind::Redemption, Outcome::Ok)
                .retailer("shop.example")
                .grant("gr_1")
                .fields(vec![DisclosedField {
                    key: "contact.email".into(),
                    version: i + 1,
                }])
                .user_agent("=HYPERLINK(\"x\")")
                .detail("route", "/v1/data")
                .at(t0 + chrono::Duration::minutes(i));
            append(&c, &ev).unwrap();
            if i == 2 {
                sign_head(&c, &SEED).unwrap().unwrap();
            }
        }
        append(
            &c,
            &NewEvent::refusal("grant_revoked", "redemption").retailer("shop.example"),
        )
        .unwrap();
        c
    }

    fn pk(seed: &[u8; 32]) -> Vec<u8> {
        crate::signing_public_key(seed).unwrap()
    }

    #[test]
    fn verbatim_round_trip_keeps_hashes_and_verifies_under_the_new_key() {
        let src = filled();
        let doc = export_section(&src).unwrap();
        assert_eq!(doc.events.len(), 6);
        assert_eq!(doc.signed_heads.len(), 1);
        let json = serde_json::to_value(&doc).unwrap();

        let dst = db(&SEED2, "new-vault");
        AuditSection.import(&dst, &json).unwrap();
        for e in &doc.events {
            assert_eq!(crate::get(&dst, e.seq).unwrap().unwrap().hash, e.hash);
        }
        let imported = crate::get(&dst, 7).unwrap().unwrap();
        assert_eq!(imported.kind.as_str(), IMPORTED_KIND);
        assert_eq!(imported.detail["mode"], "verbatim");
        assert_eq!(imported.detail["source_public_key"], hex::encode(pk(&SEED)));
        let report = crate::verify(&dst, Some(&pk(&SEED2))).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!((report.events, report.signed_heads), (7, 1));
        let checks = verify_imported(&dst).unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].heads_verified, 2, "one old head + the attestation");
        // The field index was rebuilt: field queries find the imported redemptions.
        let f = Filter {
            field: Some("contact.email".into()),
            ..Filter::default()
        };
        assert_eq!(collect(&dst, &f).unwrap().len(), 5);
    }

    #[test]
    fn rechained_import_after_existing_events() {
        let src = filled();
        let doc = export_section(&src).unwrap();
        let dst = db(&SEED2, "new-vault");
        append(&dst, &NewEvent::new(EventKind::Unlock, Outcome::Ok)).unwrap();
        let out = import_section(&dst, &doc).unwrap();
        assert_eq!(out.mode, ImportMode::Rechained);
        assert_eq!(out.imported_seq, 8);
        let e = crate::get(&dst, 2).unwrap().unwrap();
        assert_eq!(e.detail["imported"]["seq"], 1);
        assert_eq!(e.detail["imported"]["hash"], doc.events[0].hash);
        assert_eq!(e.detail["route"], "/v1/data");
        assert!(crate::verify(&dst, Some(&pk(&SEED2))).unwrap().ok());
        assert_eq!(verify_imported(&dst).unwrap()[0].heads_verified, 2);

        // Moved on again into a third vault that already has events: both origins are kept.
        let third = db(&[11u8; 32], "third-vault");
        append(&third, &NewEvent::new(EventKind::Unlock, Outcome::Ok)).unwrap();
        import_section(&third, &export_section(&dst).unwrap()).unwrap();
        let e = crate::get(&third, 3).unwrap().unwrap();
        assert_eq!(e.detail["imported"]["source_vault_id"], "new-vault");
        assert_eq!(e.detail["imported"]["seq"], 2);
        assert_eq!(e.detail["imported"]["previous"]["source_vault_id"], "old-vault");
        assert_eq!(e.detail["imported"]["previous"]["seq"], 1);
        assert!(crate::verify(&third, Some(&pk(&[11u8; 32]))).unwrap().ok());
        let checks = verify_imported(&third).unwrap();
        assert_eq!(checks.len(), 2, "the earlier import record came along, and this one");
    }

    #[test]
    fn tampered_sections_are_refused_naming_the_event() {
        let doc = export_section(&filled()).unwrap();
        let dst = db(&SEED2, "new-vault");

        let mut edited = doc.clone();
        edited.events[2].retailer = Some("evil.example".into());
        let e = import_section(&dst, &edited).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().contains("event 3")),
            ("audit_section_not_intact", true),
            "{e}"
        );

        let mut cut = doc.clone();
        cut.events.remove(1);
        assert_eq!(
            import_section(&dst, &cut).unwrap_err().code(),
            "audit_section_not_intact"
        );

        let mut truncated = doc.clone();
        truncated.events.pop();
        assert_eq!(
            import_section(&dst, &truncated).unwrap_err().code(),
            "audit_section_not_intact"
        );

        let mut bad_sig = doc.clone();
        bad_sig.signed_heads[0].signed_ms += 1;
        assert_eq!(
            import_section(&dst, &bad_sig).unwrap_err().code(),
            "audit_section_not_intact"
        );

        let mut no_attest = doc;
        no_attest.attestation = None;
        assert_eq!(
            import_section(&dst, &no_attest).unwrap_err().code(),
            "audit_section_malformed"
        );
        assert_eq!(head(&dst).unwrap().seq, 0, "nothing was written");
    }

    /// The attack of the review: cut the log's tail, keep the old vault's signed heads (they still verify with
    /// the key stored in them) and re-sign the new head with another key. Every signed head must be by the
    /// exporting vault's key, so this is refused.
    #[test]
    fn a_tail_truncated_export_re_signed_with_another_key_is_refused() {
        let doc = export_section(&filled()).unwrap();
        let dst = db(&SEED2, "new-vault");
        let mut forged = doc.clone();
        forged.events.pop();
        let last = forged.events.last().unwrap().clone();
        forged.head = HeadRef {
            seq: last.seq,
            hash: last.hash.clone(),
        };
        let kp = keypair(&SEED2).unwrap();
        let hash = hex32(&last.hash).unwrap();
        let signed_ms = Utc::now().timestamp_millis();
        forged.public_key = hex::encode(kp.public_key().as_ref());
        forged.attestation = Some(HeadSignature {
            seq: last.seq,
            hash: last.hash.clone(),
            signed_ms,
            public_key: forged.public_key.clone(),
            signature: hex::encode(kp.sign(&head_message(last.seq, &hash, signed_ms)).as_ref()),
        });
        assert_eq!(
            forged.signed_heads[0].public_key,
            hex::encode(pk(&SEED)),
            "the old head is kept"
        );
        let e = import_section(&dst, &forged).unwrap_err();
        assert_eq!(e.code(), "audit_section_not_intact", "{e}");
        assert!(e.to_string().contains("exporting vault's key"), "{e}");
        assert_eq!(head(&dst).unwrap().seq, 0, "nothing was written");
    }

    #[test]
    fn csv_rows_quote_and_guard_formulas() {
        let c = filled();
        let events = collect(&c, &Filter::default()).unwrap();
        assert_eq!(events.first().unwrap().seq, 1, "oldest first");
        let mut out = Vec::new();
        write_csv(&events, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(lines[1].contains("\"'=HYPERLINK(\"\"x\"\")\""), "{}", lines[1]);
        assert!(lines[1].contains("contact.email@v1"));
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
