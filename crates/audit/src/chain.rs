//! The hash chain: the canonical bytes of an event and how they are chained.
//!
//! # Canonical encoding (format `locket.audit-event/v1`)
//!
//! Every event's chain hash is
//!
//! ```text
//! hash(n) = SHA-256( hash(n-1) || canonical(event n) )        hash(0) = 32 zero bytes
//! ```
//!
//! where `||` is concatenation and `canonical(event)` is the concatenation, in this order, of:
//!
//! | # | item          | encoding                                                         |
//! |---|---------------|------------------------------------------------------------------|
//! | 1 | format tag    | `str("locket.audit-event/v1")`                                   |
//! | 2 | `seq`         | `u64` big-endian (8 bytes)                                       |
//! | 3 | `ts_ms`       | `i64` big-endian two's complement (8 bytes)                      |
//! | 4 | `kind`        | `str`                                                            |
//! | 5 | `outcome`     | `str`                                                            |
//! | 6 | `reason`      | `opt(str)`                                                       |
//! | 7 | `retailer`    | `opt(str)`                                                       |
//! | 8 | `grant_id`    | `opt(str)`                                                       |
//! | 9 | `request_id`  | `opt(str)`                                                       |
//! |10 | `fields`      | `opt(str)` — the column's exact stored text (a JSON array)       |
//! |11 | `remote_addr` | `opt(str)`                                                       |
//! |12 | `user_agent`  | `opt(str)`                                                       |
//! |13 | `detail`      | `opt(str)` — the column's exact stored text (a JSON object)      |
//!
//! with `str(s)` = `u32` big-endian byte length of the UTF-8 string, then its bytes; `opt(x)` = one byte `0x00`
//! for SQL `NULL`, or `0x01` followed by `x`. The items are exactly the columns of `audit_events` (except `hash`)
//! as stored, so anyone holding the vault key can recompute the chain with `sqlite3` and a SHA-256 tool; nothing
//! is re-serialised, so JSON formatting choices can never make verification ambiguous. Locket writes the JSON
//! columns compactly (key order is whatever was written: verification never re-serialises).
//!
//! # Signed heads
//!
//! A signed head is an Ed25519 signature (the vault's signing key) over
//! `str("locket.audit-head/v1") || u64be(seq) || hash(seq) || i64be(signed_ms)`.
use ring::digest::{Context, SHA256};

/// Format tag hashed into every event.
pub const EVENT_FORMAT: &str = "locket.audit-event/v1";
/// Format tag of signed heads.
pub const HEAD_FORMAT: &str = "locket.audit-head/v1";
/// The "previous hash" of the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The hashed columns of one event, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalEvent<'a> {
    /// Position in the chain (1-based).
    pub seq: u64,
    /// Unix time in milliseconds.
    pub ts_ms: i64,
    /// Event kind as stored.
    pub kind: &'a str,
    /// Outcome as stored.
    pub outcome: &'a str,
    /// Reason code.
    pub reason: Option<&'a str>,
    /// Retailer id.
    pub retailer: Option<&'a str>,
    /// Grant id.
    pub grant_id: Option<&'a str>,
    /// Request id.
    pub request_id: Option<&'a str>,
    /// Stored `fields` JSON text.
    pub fields: Option<&'a str>,
    /// Remote address.
    pub remote_addr: Option<&'a str>,
    /// User agent.
    pub user_agent: Option<&'a str>,
    /// Stored `detail` JSON text.
    pub detail: Option<&'a str>,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    // Column values are bounded far below 4 GiB by the writers; saturate rather than wrap just in case.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            put_str(buf, s);
        }
    }
}

impl CanonicalEvent<'_> {
    /// Appends this event's canonical bytes to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        put_str(buf, EVENT_FORMAT);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.ts_ms.to_be_bytes());
        put_str(buf, self.kind);
        put_str(buf, self.outcome);
        put_opt(buf, self.reason);
        put_opt(buf, self.retailer);
        put_opt(buf, self.grant_id);
        put_opt(buf, self.request_id);
        put_opt(buf, self.fields);
        put_opt(buf, self.remote_addr);
        put_opt(buf, self.user_agent);
        put_opt(buf, self.detail);
    }

    /// This event's canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128);
        self.encode_into(&mut buf);
        buf
    }

    /// The chain hash of this event given the previous event's hash. `scratch` is reused between calls.
    pub fn chain_hash(&self, prev: &[u8; 32], scratch: &mut Vec<u8>) -> [u8; 32] {
        scratch.clear();
        self.encode_into(scratch);
        let mut ctx = Context::new(&SHA256);
        ctx.update(prev);
        ctx.update(scratch);
        let digest = ctx.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }
}

/// The message signed for a chain head.
pub fn head_message(seq: u64, hash: &[u8; 32], signed_ms: i64) -> Vec<u8> {
    // One definition: the vault's writer signs heads too (after every batch that carries a decision,
    // revocation or disclosure), below this crate.
    locket_vault::anchor::head_message(seq, hash, signed_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recomputed independently (Python hashlib) from the encoding documented above.
    const FROZEN_SAMPLE_HASH: &str = "13f6e23c47dfd55bb8217131d96b21ad140b99dadec4e05f0367650088f16283";

    fn sample() -> CanonicalEvent<'static> {
        CanonicalEvent {
            seq: 1,
            ts_ms: 1_700_000_000_000,
            kind: "redemption",
            outcome: "ok",
            reason: None,
            retailer: Some("shop.example"),
            grant_id: Some("g1"),
            request_id: None,
            fields: Some(r#"[{"key":"email","version":2}]"#),
            remote_addr: Some("127.0.0.1:5000"),
            user_agent: None,
            detail: None,
        }
    }

    #[test]
    fn encoding_is_frozen() {
        // This exact byte string must keep hashing to this value: changing it breaks every existing log.
        let e = sample();
        let bytes = e.encode();
        assert_eq!(&bytes[..4], &21u32.to_be_bytes());
        assert_eq!(&bytes[4..25], b"locket.audit-event/v1");
        assert_eq!(&bytes[25..33], &1u64.to_be_bytes());
        let h = e.chain_hash(&GENESIS, &mut Vec::new());
        let mut manual = GENESIS.to_vec();
        manual.extend_from_slice(&bytes);
        let d = ring::digest::digest(&SHA256, &manual);
        assert_eq!(&h[..], d.as_ref());
        assert_eq!(hex::encode(h), FROZEN_SAMPLE_HASH);
    }

    #[test]
    fn none_and_empty_differ() {
        let mut a = sample();
        let mut b = sample();
        a.reason = None;
        b.reason = Some("");
        assert_ne!(a.encode(), b.encode());
        // Moving bytes between adjacent fields changes the encoding (length prefixes).
        a.reason = Some("ab");
        a.retailer = Some("c");
        b.reason = Some("a");
        b.retailer = Some("bc");
        assert_ne!(a.encode(), b.encode());
    }
}
