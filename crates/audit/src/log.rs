use chrono::Utc;
use ring::signature::{Ed25519KeyPair, KeyPair};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::chain::{head_message, CanonicalEvent, GENESIS};
use crate::event::{ms_to_time, sanitize, Event, EventKind, NewEvent};
use crate::{AuditError, Result};

/// How many events may follow the last signed head before [`maybe_sign_head`] signs a new one.
pub const HEAD_SIGN_INTERVAL: u64 = 1000;

/// The newest event's position and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the newest event (0 for an empty log).
    pub seq: u64,
    /// Its chain hash (all zeros for an empty log).
    pub hash: [u8; 32],
    /// Its time (Unix ms; 0 for an empty log).
    pub ts_ms: i64,
}

/// A chain head signed with the vault's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedHead {
    /// The event the head points at.
    pub seq: u64,
    /// That event's chain hash (hex).
    pub hash: String,
    /// When it was signed.
    pub signed_at: chrono::DateTime<Utc>,
    /// The Ed25519 public key (hex).
    pub public_key: String,
    /// The signature (hex).
    pub signature: String,
}

pub(crate) fn map_missing(e: rusqlite::Error) -> AuditError {
    if let rusqlite::Error::SqliteFailure(_, Some(msg)) = &e {
        if msg.contains("no such table") {
            return AuditError::NotMigrated;
        }
    }
    AuditError::Database(e)
}

fn blob32(v: Vec<u8>, seq: u64, column: &'static str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(v.as_slice()).map_err(|_| AuditError::BadRow { seq, column })
}

/// The newest event of the log.
pub fn head(conn: &Connection) -> Result<Head> {
    let row = conn
        .prepare_cached("SELECT seq, ts_ms, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .map_err(map_missing)?
        .query_row([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?))
        })
        .optional()?;
    match row {
        None => Ok(Head {
            seq: 0,
            hash: GENESIS,
            ts_ms: 0,
        }),
        Some((seq, ts_ms, hash)) => {
            let seq = u64::try_from(seq).map_err(|_| AuditError::BadRow { seq: 0, column: "seq" })?;
            Ok(Head {
                seq,
                hash: blob32(hash, seq, "hash")?,
                ts_ms,
            })
        }
    }
}

fn opt(s: &Option<String>, max: usize) -> Option<String> {
    s.as_deref().map(|s| sanitize(s, max))
}

/// Appends `event` to the log and returns it as stored.
///
/// Call it inside the transaction that makes the change the event records (pass the `rusqlite::Transaction`;
/// it derefs to a `Connection`), so both commit together. Appends from concurrent transactions are serialised
/// by SQLite's write lock, which keeps the chain linear.
pub fn append(conn: &Connection, event: &NewEvent) -> Result<Event> {
    let prev = head(conn)?;
    let seq = prev.seq + 1;
    let want_ms = event.at.unwrap_or_else(Utc::now).timestamp_millis();
    // Times never decrease along the chain, so a time range maps to a contiguous range of events.
    let ts_ms = want_ms.max(prev.ts_ms);

    let reason = opt(&event.reason, 64);
    let retailer = opt(&event.retailer, 256);
    let grant_id = opt(&event.grant_id, 128);
    let request_id = opt(&event.request_id, 128);
    let remote_addr = opt(&event.remote_addr, 64);
    let user_agent = opt(&event.user_agent, 256);
    // One entry per key (the first wins), so the field index and the stored list always agree.
    let mut disclosed: Vec<crate::DisclosedField> = Vec::with_capacity(event.fields.len());
    for f in &event.fields {
        if !disclosed.iter().any(|d| d.key == f.key) {
            disclosed.push(crate::DisclosedField {
                key: sanitize(&f.key, 128),
                version: f.version,
            });
        }
    }
    let fields = if disclosed.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&disclosed).map_err(|e| AuditError::BadQuery(e.to_string()))?)
    };
    let detail = match &event.detail {
        Some(map) if !map.is_empty() => {
            Some(serde_json::to_string(map).map_err(|e| AuditError::BadQuery(e.to_string()))?)
        }
        _ => None,
    };
    let kind = sanitize(event.kind.as_str(), 64);
    let outcome = event.outcome.as_str();

    let canon = CanonicalEvent {
        seq,
        ts_ms,
        kind: &kind,
        outcome,
        reason: reason.as_deref(),
        retailer: retailer.as_deref(),
        grant_id: grant_id.as_deref(),
        request_id: request_id.as_deref(),
        fields: fields.as_deref(),
        remote_addr: remote_addr.as_deref(),
        user_agent: user_agent.as_deref(),
        detail: detail.as_deref(),
    };
    let hash = canon.chain_hash(&prev.hash, &mut Vec::with_capacity(256));
    let seq_i = i64::try_from(seq).map_err(|_| AuditError::BadRow { seq, column: "seq" })?;

    conn.prepare_cached(
        "INSERT INTO audit_events (seq, ts_ms, kind, outcome, reason, retailer, grant_id, request_id, fields, \
         remote_addr, user_agent, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .map_err(map_missing)?
    .execute(params![
        seq_i,
        ts_ms,
        kind,
        outcome,
        reason,
        retailer,
        grant_id,
        request_id,
        fields,
        remote_addr,
        user_agent,
        detail,
        &hash[..]
    ])?;
    if !disclosed.is_empty() {
        let mut stmt =
            conn.prepare_cached("INSERT INTO audit_event_fields (field_key, seq, version) VALUES (?1, ?2, ?3)")?;
        for f in &disclosed {
            stmt.execute(params![f.key, seq_i, f.version])?;
        }
    }

    Ok(Event {
        seq,
        time: ms_to_time(ts_ms),
        kind: EventKind::parse(&kind),
        outcome: outcome.to_string(),
        reason,
        retailer,
        grant_id,
        request_id,
        fields: disclosed,
        remote_addr,
        user_agent,
        detail: event.detail.clone().unwrap_or_default(),
        hash: hex::encode(hash),
    })
}

fn keypair(seed: &[u8]) -> Result<Ed25519KeyPair> {
    Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| AuditError::BadSigningKey)
}

/// Signs the current head with the vault's Ed25519 signing seed (32 bytes) and stores the signature, unless the
/// log is empty or the head is already signed. Returns the new signed head, if one was made.
pub fn sign_head(conn: &Connection, signing_seed: &[u8]) -> Result<Option<SignedHead>> {
    let h = head(conn)?;
    if h.seq == 0 {
        return Ok(None);
    }
    let last = last_signed_seq(conn)?;
    if last >= h.seq {
        return Ok(None);
    }
    let kp = keypair(signing_seed)?;
    let signed_ms = Utc::now().timestamp_millis();
    let sig = kp.sign(&head_message(h.seq, &h.hash, signed_ms));
    let public = kp.public_key().as_ref().to_vec();
    let seq_i = i64::try_from(h.seq).map_err(|_| AuditError::BadRow {
        seq: h.seq,
        column: "seq",
    })?;
    conn.prepare_cached(
        "INSERT INTO audit_heads (seq, hash, signed_ms, public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![seq_i, &h.hash[..], signed_ms, public, sig.as_ref()])?;
    Ok(Some(SignedHead {
        seq: h.seq,
        hash: hex::encode(h.hash),
        signed_at: ms_to_time(signed_ms),
        public_key: hex::encode(&public),
        signature: hex::encode(sig.as_ref()),
    }))
}

/// Signs the head if at least [`HEAD_SIGN_INTERVAL`] events were appended since the last signed head.
/// Cheap to call after every batch of appends.
pub fn maybe_sign_head(conn: &Connection, signing_seed: &[u8]) -> Result<Option<SignedHead>> {
    let h = head(conn)?;
    if h.seq >= last_signed_seq(conn)? + HEAD_SIGN_INTERVAL {
        sign_head(conn, signing_seed)
    } else {
        Ok(None)
    }
}

fn last_signed_seq(conn: &Connection) -> Result<u64> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT seq FROM audit_heads ORDER BY seq DESC LIMIT 1")
        .map_err(map_missing)?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(last.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

/// All signed heads, oldest first.
pub fn heads(conn: &Connection) -> Result<Vec<SignedHead>> {
    let mut stmt = conn
        .prepare("SELECT seq, hash, signed_ms, public_key, signature FROM audit_heads ORDER BY seq")
        .map_err(map_missing)?;
    let rows = stmt.query_map([], |r| {
        Ok(SignedHead {
            seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            hash: hex::encode(r.get::<_, Vec<u8>>(1)?),
            signed_at: ms_to_time(r.get(2)?),
            public_key: hex::encode(r.get::<_, Vec<u8>>(3)?),
            signature: hex::encode(r.get::<_, Vec<u8>>(4)?),
        })
    })?;
    Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// The Ed25519 public key of a signing seed: pass it to [`crate::verify`] to require that every signed head was
/// signed by this vault.
pub fn signing_public_key(signing_seed: &[u8]) -> Result<Vec<u8>> {
    Ok(keypair(signing_seed)?.public_key().as_ref().to_vec())
}
