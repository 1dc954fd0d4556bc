use std::collections::BTreeMap;

use ring::signature::{UnparsedPublicKey, ED25519};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::chain::{head_message, CanonicalEvent, GENESIS};
use crate::event::DisclosedField;
use crate::log::map_missing;
use crate::{AuditError, Result};

/// What is wrong with the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The event's stored hash does not match its contents and the previous hash: it (or an earlier event's
    /// contents) was edited.
    HashMismatch,
    /// One or more events before this one were deleted (a gap in the sequence numbers).
    Missing,
    /// The event's time is earlier than the previous event's (times never decrease).
    TimeWentBackwards,
    /// A signed head does not match the chain, or its signature does not verify.
    BadSignedHead,
    /// A signed head points past the end of the log: events were removed from the end.
    Truncated,
    /// The disclosed-fields index disagrees with the events.
    FieldIndexMismatch,
}

/// The first problem found, naming the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainProblem {
    /// The first bad event's sequence number (for [`ProblemKind::FieldIndexMismatch`], 0).
    pub seq: u64,
    /// What is wrong.
    pub kind: ProblemKind,
    /// A sentence for the owner.
    pub message: String,
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// The last event's sequence number.
    pub head_seq: u64,
    /// The last event's hash (hex).
    pub head_hash: String,
    /// Signed heads checked.
    pub signed_heads: u64,
    /// The first problem, if any. `None` means the log is intact.
    pub problem: Option<ChainProblem>,
}

impl VerifyReport {
    /// True if no problem was found.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

struct StoredHead {
    hash: Vec<u8>,
    signed_ms: i64,
    public_key: Vec<u8>,
    signature: Vec<u8>,
}

fn text<'a>(v: ValueRef<'a>, seq: u64, column: &'static str) -> Result<Option<&'a str>> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Some)
            .map_err(|_| AuditError::BadRow { seq, column }),
        _ => Err(AuditError::BadRow { seq, column }),
    }
}

fn mix(key: &str, seq: u64, version: i64) -> u64 {
    // FNV-1a over the triple; summed (wrapping) over all rows it gives an order-independent checksum.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key
        .as_bytes()
        .iter()
        .chain(seq.to_be_bytes().iter())
        .chain(version.to_be_bytes().iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Walks the whole chain from the first event and reports the first bad event.
///
/// `public_key`: the vault's Ed25519 public key; when given, every signed head must be signed by it.
pub fn verify(conn: &Connection, public_key: Option<&[u8]>) -> Result<VerifyReport> {
    walk(conn, 1, public_key, true)
}

/// Checks the chain from event `from_seq` on (trusting the stored hash of the event before it), e.g. the last
/// few links at startup. Does not cross-check the field index.
pub fn verify_from(conn: &Connection, from_seq: u64, public_key: Option<&[u8]>) -> Result<VerifyReport> {
    walk(conn, from_seq.max(1), public_key, false)
}

fn walk(conn: &Connection, from_seq: u64, public_key: Option<&[u8]>, check_index: bool) -> Result<VerifyReport> {
    let from_i = i64::try_from(from_seq).map_err(|_| AuditError::BadQuery("sequence number too large".into()))?;
    let mut heads: BTreeMap<u64, StoredHead> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT seq, hash, signed_ms, public_key, signature FROM audit_heads WHERE seq >= ?1")
            .map_err(map_missing)?;
        let mut rows = stmt.query([from_i])?;
        while let Some(r) = rows.next()? {
            let seq = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0);
            heads.insert(
                seq,
                StoredHead {
                    hash: r.get(1)?,
                    signed_ms: r.get(2)?,
                    public_key: r.get(3)?,
                    signature: r.get(4)?,
                },
            );
        }
    }

    let (mut prev, mut prev_ts, mut expected) = if from_seq <= 1 {
        (GENESIS, i64::MIN, 1u64)
    } else {
        let row: Option<(Vec<u8>, i64)> = conn
            .query_row(
                "SELECT hash, ts_ms FROM audit_events WHERE seq = ?1",
                [from_i - 1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(map_missing)?;
        match row {
            Some((h, ts)) => (
                <[u8; 32]>::try_from(h.as_slice()).map_err(|_| AuditError::BadRow {
                    seq: from_seq - 1,
                    column: "hash",
                })?,
                ts,
                from_seq,
            ),
            None => (GENESIS, i64::MIN, 1u64),
        }
    };

    let mut report = VerifyReport {
        events: 0,
        head_seq: expected.saturating_sub(1),
        head_hash: hex::encode(prev),
        signed_heads: 0,
        problem: None,
    };
    let fail = |report: &mut VerifyReport, seq: u64, kind: ProblemKind, message: String| {
        report.problem = Some(ChainProblem { seq, kind, message });
    };

    let mut field_count: u64 = 0;
    let mut field_sum: u64 = 0;
    let mut scratch = Vec::with_capacity(512);
    let mut stmt = conn
        .prepare(
            "SELECT seq, ts_ms, kind, outcome, reason, retailer, grant_id, request_id, fields, remote_addr, \
             user_agent, detail, hash FROM audit_events WHERE seq >= ?1 ORDER BY seq",
        )
        .map_err(map_missing)?;
    let mut rows = stmt.query([i64::try_from(expected).unwrap_or(i64::MAX)])?;
    while let Some(r) = rows.next()? {
        let seq = u64::try_from(r.get::<_, i64>(0)?).map_err(|_| AuditError::BadRow { seq: 0, column: "seq" })?;
        if seq != expected {
            fail(
                &mut report,
                seq,
                ProblemKind::Missing,
                format!(
                    "events {expected}..{} are missing before event {seq}: they were deleted",
                    seq - 1
                ),
            );
            return Ok(report);
        }
        let ts_ms: i64 = r.get(1)?;
        let c = CanonicalEvent {
            seq,
            ts_ms,
            kind: text(r.get_ref(2)?, seq, "kind")?.unwrap_or(""),
            outcome: text(r.get_ref(3)?, seq, "outcome")?.unwrap_or(""),
            reason: text(r.get_ref(4)?, seq, "reason")?,
            retailer: text(r.get_ref(5)?, seq, "retailer")?,
            grant_id: text(r.get_ref(6)?, seq, "grant_id")?,
            request_id: text(r.get_ref(7)?, seq, "request_id")?,
            fields: text(r.get_ref(8)?, seq, "fields")?,
            remote_addr: text(r.get_ref(9)?, seq, "remote_addr")?,
            user_agent: text(r.get_ref(10)?, seq, "user_agent")?,
            detail: text(r.get_ref(11)?, seq, "detail")?,
        };
        let stored = match r.get_ref(12)? {
            ValueRef::Blob(b) if b.len() == 32 => b,
            _ => {
                fail(
                    &mut report,
                    seq,
                    ProblemKind::HashMismatch,
                    format!("event {seq} has no valid stored hash: it was edited"),
                );
                return Ok(report);
            }
        };
        let computed = c.chain_hash(&prev, &mut scratch);
        if computed[..] != stored[..] {
            fail(
                &mut report,
                seq,
                ProblemKind::HashMismatch,
                format!("event {seq} does not match its hash: it was edited after it was written"),
            );
            return Ok(report);
        }
        if ts_ms < prev_ts {
            fail(
                &mut report,
                seq,
                ProblemKind::TimeWentBackwards,
                format!("event {seq} is dated before the event preceding it"),
            );
            return Ok(report);
        }
        if check_index {
            if let Some(f) = c.fields {
                let list: Vec<DisclosedField> =
                    serde_json::from_str(f).map_err(|_| AuditError::BadRow { seq, column: "fields" })?;
                for d in &list {
                    field_count += 1;
                    field_sum = field_sum.wrapping_add(mix(&d.key, seq, d.version));
                }
            }
        }
        if let Some(h) = heads.get(&seq) {
            let msg = head_message(seq, &computed, h.signed_ms);
            let key_ok = match public_key {
                None => true,
                Some(k) => k == h.public_key.as_slice(),
            };
            let sig_ok = UnparsedPublicKey::new(&ED25519, &h.public_key)
                .verify(&msg, &h.signature)
                .is_ok();
            if h.hash.as_slice() != computed || !key_ok || !sig_ok {
                fail(
                    &mut report,
                    seq,
                    ProblemKind::BadSignedHead,
                    format!("the signed head at event {seq} does not match the log or is not signed by this vault"),
                );
                return Ok(report);
            }
            report.signed_heads += 1;
        }
        prev = computed;
        prev_ts = ts_ms;
        report.events += 1;
        report.head_seq = seq;
        expected = seq + 1;
    }
    report.head_hash = hex::encode(prev);

    if let Some((&seq, _)) = heads.range(expected..).next() {
        fail(
            &mut report,
            seq,
            ProblemKind::Truncated,
            format!(
                "a signed head vouches for event {seq} but the log ends at event {}: events were removed from the end",
                expected - 1
            ),
        );
        return Ok(report);
    }

    if check_index {
        let mut stmt = conn.prepare("SELECT field_key, seq, version FROM audit_event_fields")?;
        let mut rows = stmt.query([])?;
        let mut count: u64 = 0;
        let mut sum: u64 = 0;
        while let Some(r) = rows.next()? {
            let key = text(r.get_ref(0)?, 0, "field_key")?.unwrap_or("");
            let seq = u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            count += 1;
            sum = sum.wrapping_add(mix(key, seq, r.get(2)?));
        }
        if count != field_count || sum != field_sum {
            fail(
                &mut report,
                0,
                ProblemKind::FieldIndexMismatch,
                "the index of disclosed fields was edited and no longer matches the events (the events themselves \
                 are intact)"
                    .to_string(),
            );
        }
    }
    Ok(report)
}
