use std::collections::BTreeMap;

use ring::signature::{UnparsedPublicKey, ED25519};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use std::borrow::Cow;

use serde::Deserialize;

use crate::chain::{head_message, CanonicalEvent, GENESIS};
use crate::log::{head, map_missing};
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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a over the key's bytes: the state [`mix_from`] continues from (the same for every row of one key).
fn mix_key(key: &str) -> u64 {
    fnv(FNV_OFFSET, key.as_bytes())
}

/// [`mix`] given the state after the key's bytes.
fn mix_from(key_state: u64, seq: u64, version: i64) -> u64 {
    fnv(fnv(key_state, &seq.to_be_bytes()), &version.to_be_bytes())
}

fn mix(key: &str, seq: u64, version: i64) -> u64 {
    // FNV-1a over the triple; summed (wrapping) over all rows it gives an order-independent checksum.
    mix_from(mix_key(key), seq, version)
}

/// Reads a `fields` column in the exact compact form [`crate::append`] writes
/// (`[{"key":"…","version":N},…]`, keys without escapes) and feeds each entry to `each`; `None` for anything
/// else, which the caller then reads with the full JSON parser (so this accepts nothing that parser would
/// refuse, and reads nothing differently).
fn compact_fields(s: &str, mut each: impl FnMut(&str, i64)) -> Option<()> {
    let mut rest = s.strip_prefix('[')?;
    if rest == "]" {
        return Some(());
    }
    loop {
        rest = rest.strip_prefix("{\"key\":\"")?;
        let end = rest.find('"')?;
        let key = &rest[..end];
        if key.bytes().any(|b| b == b'\\' || b < 0x20) {
            return None;
        }
        rest = rest[end..].strip_prefix("\",\"version\":")?;
        let digits = rest.find(|c: char| c != '-' && !c.is_ascii_digit())?;
        let number = &rest[..digits];
        let unsigned = number.strip_prefix('-').unwrap_or(number);
        // `-0` is a float to the JSON parser (not an integer version): left to it, like any other oddity.
        let negative_zero = unsigned.len() < number.len() && unsigned == "0";
        if unsigned.is_empty()
            || (unsigned.len() > 1 && unsigned.starts_with('0'))
            || unsigned.contains('-')
            || negative_zero
        {
            return None;
        }
        let version: i64 = number.parse().ok()?;
        rest = rest[digits..].strip_prefix('}')?;
        each(key, version);
        if rest == "]" {
            return Some(());
        }
        rest = rest.strip_prefix(',')?;
    }
}

#[derive(Deserialize)]
struct FieldEntry<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    version: i64,
}

/// What one walk over a range of events found.
struct RangeOut {
    events: u64,
    signed_heads: u64,
    problem: Option<ChainProblem>,
    field_count: u64,
    field_sum: u64,
    /// The disclosed-fields index rows of the range's events: how many, and their checksum.
    index_count: u64,
    index_sum: u64,
    last_hash: [u8; 32],
}

/// One key of the disclosed-fields index, with its checksum state (see [`mix_key`]).
struct IndexKey {
    key: String,
    state: u64,
}

/// Every distinct key of the disclosed-fields index, found by one index seek per key (not a scan), so each
/// range of the chain can check its own part of the index.
fn index_keys(conn: &Connection) -> Result<Vec<IndexKey>> {
    let mut keys = Vec::new();
    let mut first = conn.prepare_cached("SELECT field_key FROM audit_event_fields ORDER BY field_key LIMIT 1")?;
    let mut next = conn
        .prepare_cached("SELECT field_key FROM audit_event_fields WHERE field_key > ?1 ORDER BY field_key LIMIT 1")?;
    let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<rusqlite::types::Value> { r.get(0) };
    let mut key = first.query_row([], read).optional()?;
    while let Some(value) = key {
        let k = match &value {
            rusqlite::types::Value::Text(t) => t.clone(),
            _ => {
                return Err(AuditError::BadRow {
                    seq: 0,
                    column: "field_key",
                })
            }
        };
        key = next.query_row([&value], read).optional()?;
        keys.push(IndexKey {
            state: mix_key(&k),
            key: k,
        });
    }
    Ok(keys)
}

/// The count and checksum of the index rows of events `lo..=hi`, one index range per key.
fn index_range(conn: &Connection, keys: &[IndexKey], lo: u64, hi: u64) -> Result<(u64, u64)> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, version FROM audit_event_fields WHERE field_key = ?1 AND seq BETWEEN ?2 AND ?3")?;
    let (mut count, mut sum) = (0u64, 0u64);
    for k in keys {
        let mut rows = stmt.query(rusqlite::params![k.key, to_i64(lo), to_i64(hi)])?;
        while let Some(r) = rows.next()? {
            let seq = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0);
            count += 1;
            sum = sum.wrapping_add(mix_from(k.state, seq, r.get(1)?));
        }
    }
    Ok((count, sum))
}

/// Whether the index holds a row for no event of `1..=head` (such a row is in no range's part).
fn index_outside(conn: &Connection, keys: &[IndexKey], head: u64) -> Result<bool> {
    let mut below = conn.prepare_cached("SELECT 1 FROM audit_event_fields WHERE field_key = ?1 AND seq < 1 LIMIT 1")?;
    let mut above =
        conn.prepare_cached("SELECT 1 FROM audit_event_fields WHERE field_key = ?1 AND seq > ?2 LIMIT 1")?;
    for k in keys {
        if below.exists([&k.key])? || above.exists(rusqlite::params![k.key, to_i64(head)])? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn problem(seq: u64, kind: ProblemKind, message: String) -> Option<ChainProblem> {
    Some(ChainProblem { seq, kind, message })
}

/// Walks the whole chain from the first event and reports the first bad event.
///
/// `public_key`: the vault's Ed25519 public key; when given, every signed head must be signed by it.
pub fn verify(conn: &Connection, public_key: Option<&[u8]>) -> Result<VerifyReport> {
    let h = head(conn)?;
    let keys = index_keys(conn)?;
    let out = walk_range(conn, 1, h.seq, public_key, Some(&keys))?;
    finish(conn, h.seq, vec![out], public_key, Some(&keys))
}

/// Checks the chain from event `from_seq` on (trusting the stored hash of the event before it), e.g. the last
/// few links at startup. Does not cross-check the field index.
pub fn verify_from(conn: &Connection, from_seq: u64, public_key: Option<&[u8]>) -> Result<VerifyReport> {
    let h = head(conn)?;
    let out = walk_range(conn, from_seq.max(1), h.seq, public_key, None)?;
    finish(conn, h.seq, vec![out], public_key, None)
}

/// [`verify`] for an unlocked vault, using one database connection per CPU core: every event's hash depends only
/// on its own contents and the *stored* hash of the event before it, so ranges of the chain can be checked
/// independently; the chain is intact exactly when every range is. Each range also checks its events' rows of
/// the disclosed-fields index.
pub fn verify_vault(vault: &locket_vault::Vault, public_key: Option<&[u8]>) -> Result<VerifyReport> {
    verify_vault_split(vault, public_key, 20_000)
}

/// [`verify_vault`], splitting the work once the log holds at least `min_events` (for tests).
#[doc(hidden)]
pub fn verify_vault_split(
    vault: &locket_vault::Vault,
    public_key: Option<&[u8]>,
    min_events: u64,
) -> Result<VerifyReport> {
    let main = vault.connect().map_err(|e| AuditError::Vault(e.to_string()))?;
    let h = head(main.conn())?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8) as u64;
    if workers == 1 || h.seq < min_events.max(2) {
        return verify(main.conn(), public_key);
    }
    let keys = index_keys(main.conn())?;
    let keys = &keys[..];
    let per = h.seq.div_ceil(workers);
    let mut stores = Vec::new();
    for _ in 1..workers {
        stores.push(vault.connect().map_err(|e| AuditError::Vault(e.to_string()))?);
    }
    let outs: Vec<Result<RangeOut>> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (i, store) in stores.into_iter().enumerate() {
            let lo = per * (i as u64 + 1) + 1;
            let hi = (lo + per - 1).min(h.seq);
            handles.push(scope.spawn(move || walk_range(store.conn(), lo, hi, public_key, Some(keys))));
        }
        let mut outs = vec![walk_range(main.conn(), 1, per.min(h.seq), public_key, Some(keys))];
        for handle in handles {
            outs.push(
                handle
                    .join()
                    .unwrap_or_else(|_| Err(AuditError::BadQuery("a verification thread failed".into()))),
            );
        }
        outs
    });
    let outs = outs.into_iter().collect::<Result<Vec<_>>>()?;
    finish(main.conn(), h.seq, outs, public_key, Some(keys))
}

fn load_heads(conn: &Connection, lo: u64, hi: u64) -> Result<BTreeMap<u64, StoredHead>> {
    let mut heads = BTreeMap::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, hash, signed_ms, public_key, signature FROM audit_heads WHERE seq BETWEEN ?1 AND ?2",
        )
        .map_err(map_missing)?;
    let mut rows = stmt.query([to_i64(lo), to_i64(hi)])?;
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
    Ok(heads)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Checks events `lo..=hi`: each against the stored hash of its predecessor; with `index` (the index's keys),
/// also reads the range's rows of the disclosed-fields index.
fn walk_range(
    conn: &Connection,
    lo: u64,
    hi: u64,
    public_key: Option<&[u8]>,
    index: Option<&[IndexKey]>,
) -> Result<RangeOut> {
    let check_index = index.is_some();
    let heads = load_heads(conn, lo, hi)?;
    let mut out = RangeOut {
        events: 0,
        signed_heads: 0,
        problem: None,
        field_count: 0,
        field_sum: 0,
        index_count: 0,
        index_sum: 0,
        last_hash: GENESIS,
    };
    if hi < lo {
        return Ok(out);
    }
    let (mut prev, mut prev_ts) = if lo <= 1 {
        (GENESIS, i64::MIN)
    } else {
        let row: Option<(Vec<u8>, i64)> = conn
            .prepare_cached("SELECT hash, ts_ms FROM audit_events WHERE seq = ?1")
            .map_err(map_missing)?
            .query_row([to_i64(lo - 1)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            Some((h, ts)) => match <[u8; 32]>::try_from(h.as_slice()) {
                Ok(h) => (h, ts),
                Err(_) => {
                    out.problem = problem(
                        lo - 1,
                        ProblemKind::HashMismatch,
                        format!("event {} has no valid stored hash: it was edited", lo - 1),
                    );
                    return Ok(out);
                }
            },
            None => {
                out.problem = problem(
                    lo,
                    ProblemKind::Missing,
                    format!("event {} is missing before event {lo}: it was deleted", lo - 1),
                );
                return Ok(out);
            }
        }
    };
    out.last_hash = prev;
    let mut expected = lo;
    let mut scratch = Vec::with_capacity(512);
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, ts_ms, kind, outcome, reason, retailer, grant_id, request_id, fields, remote_addr, \
             user_agent, detail, hash FROM audit_events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )
        .map_err(map_missing)?;
    let mut rows = stmt.query([to_i64(lo), to_i64(hi)])?;
    while let Some(r) = rows.next()? {
        let seq = u64::try_from(r.get::<_, i64>(0)?).map_err(|_| AuditError::BadRow { seq: 0, column: "seq" })?;
        if seq != expected {
            out.problem = problem(
                seq,
                ProblemKind::Missing,
                format!(
                    "events {expected}..{} are missing before event {seq}: they were deleted",
                    seq - 1
                ),
            );
            return Ok(out);
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
        let computed = c.chain_hash(&prev, &mut scratch);
        let matches = matches!(r.get_ref(12)?, ValueRef::Blob(b) if b == computed.as_slice());
        if !matches {
            out.problem = problem(
                seq,
                ProblemKind::HashMismatch,
                format!("event {seq} does not match its hash: it was edited after it was written"),
            );
            return Ok(out);
        }
        if ts_ms < prev_ts {
            out.problem = problem(
                seq,
                ProblemKind::TimeWentBackwards,
                format!("event {seq} is dated before the event preceding it"),
            );
            return Ok(out);
        }
        if check_index {
            if let Some(f) = c.fields {
                let (mut count, mut sum) = (0u64, 0u64);
                let compact = compact_fields(f, |key, version| {
                    count += 1;
                    sum = sum.wrapping_add(mix(key, seq, version));
                });
                if compact.is_none() {
                    let list: Vec<FieldEntry<'_>> =
                        serde_json::from_str(f).map_err(|_| AuditError::BadRow { seq, column: "fields" })?;
                    (count, sum) = (0, 0);
                    for d in &list {
                        count += 1;
                        sum = sum.wrapping_add(mix(&d.key, seq, d.version));
                    }
                }
                out.field_count += count;
                out.field_sum = out.field_sum.wrapping_add(sum);
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
                out.problem = problem(
                    seq,
                    ProblemKind::BadSignedHead,
                    format!("the signed head at event {seq} does not match the log or is not signed by this vault"),
                );
                return Ok(out);
            }
            out.signed_heads += 1;
        }
        prev = computed;
        prev_ts = ts_ms;
        out.events += 1;
        out.last_hash = prev;
        expected = seq + 1;
    }
    if expected <= hi {
        // The range ended early: events expected..=hi are gone (hi itself exists: it was the head, or the next
        // range starts right after it and checks its own predecessor).
        out.problem = problem(
            hi + 1,
            ProblemKind::Missing,
            format!(
                "events {expected}..{hi} are missing before event {}: they were deleted",
                hi + 1
            ),
        );
        return Ok(out);
    }
    if let Some(keys) = index {
        (out.index_count, out.index_sum) = index_range(conn, keys, lo, hi)?;
    }
    Ok(out)
}

fn finish(
    conn: &Connection,
    head_seq: u64,
    outs: Vec<RangeOut>,
    _public_key: Option<&[u8]>,
    index: Option<&[IndexKey]>,
) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        events: 0,
        head_seq: 0,
        head_hash: hex::encode(GENESIS),
        signed_heads: 0,
        problem: None,
    };
    let (mut field_count, mut field_sum) = (0u64, 0u64);
    let (mut index_count, mut index_sum) = (0u64, 0u64);
    for out in outs {
        report.events += out.events;
        report.signed_heads += out.signed_heads;
        field_count += out.field_count;
        field_sum = field_sum.wrapping_add(out.field_sum);
        index_count += out.index_count;
        index_sum = index_sum.wrapping_add(out.index_sum);
        if out.problem.is_some() {
            report.problem = out.problem;
            report.head_seq = report.events;
            report.head_hash = hex::encode(out.last_hash);
            return Ok(report);
        }
        report.head_seq = report.events;
        report.head_hash = hex::encode(out.last_hash);
    }
    report.head_seq = head_seq;

    let beyond: Option<i64> = conn
        .prepare_cached("SELECT seq FROM audit_heads WHERE seq > ?1 ORDER BY seq LIMIT 1")
        .map_err(map_missing)?
        .query_row([to_i64(head_seq)], |r| r.get(0))
        .optional()?;
    if let Some(seq) = beyond {
        let seq = u64::try_from(seq).unwrap_or(0);
        report.problem = problem(
            seq,
            ProblemKind::Truncated,
            format!(
                "a signed head vouches for event {seq} but the log ends at event {head_seq}: events were removed \
                 from the end"
            ),
        );
        return Ok(report);
    }

    if let Some(keys) = index {
        // Every index row lies in one range's part, or outside the log (then it matches no event).
        let outside = index_outside(conn, keys, head_seq)?;
        if outside || index_count != field_count || index_sum != field_sum {
            report.problem = problem(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn by_serde(s: &str) -> Option<Vec<(String, i64)>> {
        let list: Vec<FieldEntry<'_>> = serde_json::from_str(s).ok()?;
        Some(list.into_iter().map(|e| (e.key.into_owned(), e.version)).collect())
    }

    fn by_compact(s: &str) -> Option<Vec<(String, i64)>> {
        let mut out = Vec::new();
        compact_fields(s, |k, v| out.push((k.to_owned(), v)))?;
        Some(out)
    }

    #[test]
    fn the_compact_reader_agrees_with_the_json_parser() {
        let written = serde_json::to_string(&[
            crate::DisclosedField {
                key: "contact.email".into(),
                version: 1,
            },
            crate::DisclosedField {
                key: "custom.field_3".into(),
                version: -20,
            },
        ])
        .unwrap();
        assert_eq!(by_compact(&written), by_serde(&written));
        assert!(by_compact(&written).is_some(), "what append writes takes the fast path");
        for s in [
            "[]",
            r#"[{"key":"a","version":0}]"#,
            r#"[{"key":"","version":-3}]"#,
            r#"[{"key":"a","version":9223372036854775807}]"#,
            r#"[{"key":"a","version":-9223372036854775808}]"#,
        ] {
            assert_eq!(by_compact(s), by_serde(s), "{s}");
            assert!(by_compact(s).is_some(), "{s}");
        }
        // Anything else is left to the JSON parser (which accepts or refuses it): never read differently.
        for s in [
            r#"[{"key":"a\"b","version":1}]"#,
            r#"[{"key":"a\\b","version":1}]"#,
            "[{\"key\":\"a\u{1}\",\"version\":1}]",
            r#"[{"key":"a","version":01}]"#,
            r#"[{"key":"a","version":1-2}]"#,
            r#"[{"key":"a","version":-}]"#,
            r#"[{"key":"a","version":-0}]"#,
            r#"[{"key":"a","version":9223372036854775808}]"#,
            r#"[{"key":"a","version":1.5}]"#,
            r#"[{"version":1,"key":"a"}]"#,
            r#"[{"key":"a","version":1,"x":2}]"#,
            r#"[{"key":"a","version":1},]"#,
            r#"[{"key":"a","version":1}] "#,
            r#" [{"key":"a","version":1}]"#,
            "[",
            "",
        ] {
            assert_eq!(by_compact(s), None, "{s}");
        }
    }

    #[test]
    fn mix_from_continues_mix() {
        assert_eq!(mix_from(mix_key("contact.email"), 7, 2), mix("contact.email", 7, 2));
    }
}
