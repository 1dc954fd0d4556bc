//! Rate limiting for the unauthenticated `POST /v1/requests`: a token bucket per remote address, asked first,
//! then one per declared web origin (or, for a caller that sends no `Origin`, per remote address with the
//! tighter per-origin budget).
//!
//! Memory is bounded whatever callers send: an `Origin` is accepted only as a syntactically valid
//! `scheme://host[:port]` (or the opaque `null`) of at most [`MAX_ORIGIN_BYTES`] bytes, so no key is longer;
//! each table holds at most [`MAX_TRACKED`] buckets (full, idle ones are dropped first, then the least recently
//! used); and an address without budget left never adds an origin bucket, so rotating the `Origin` header adds
//! at most the address's budget of new keys.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Longest `Origin` accepted, in bytes (a DNS name is at most 253 characters; scheme and port fit around it).
pub const MAX_ORIGIN_BYTES: usize = 255;

/// Most buckets one table (addresses, origins) holds at once.
pub(crate) const MAX_TRACKED: usize = 10_000;

/// What one bucket costs besides its key's bytes (the bucket, the boxed key's pointer and length, the hash
/// table's control byte and slack), for [`SubmissionLimiter::tracked_bytes`].
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Bucket>() + std::mem::size_of::<Box<str>>() + 8;

/// The most bytes the limiter's tables ever account for: both tables full of the longest keys.
#[cfg(test)]
pub(crate) const MAX_TRACKED_BYTES: usize = 2 * MAX_TRACKED * (MAX_ORIGIN_BYTES + ENTRY_OVERHEAD);

/// Why an `Origin` header was refused (`origin_invalid`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// Longer than [`MAX_ORIGIN_BYTES`].
    #[error("the Origin header is {0} bytes; at most {MAX_ORIGIN_BYTES} are accepted")]
    TooLong(usize),
    /// Not of the form `scheme://host[:port]`.
    #[error("the Origin header is not of the form scheme://host[:port] ({0})")]
    Malformed(&'static str),
}

/// The key an `Origin` header value is limited under: the value lowercased, if it is a syntactically valid
/// serialized origin (`scheme://host[:port]`, or `null` as browsers send for opaque origins) of at most
/// [`MAX_ORIGIN_BYTES`] bytes. Never panics, whatever the bytes.
pub fn origin_key(raw: &[u8]) -> Result<String, OriginError> {
    if raw.len() > MAX_ORIGIN_BYTES {
        return Err(OriginError::TooLong(raw.len()));
    }
    let s = std::str::from_utf8(raw)
        .map_err(|_| OriginError::Malformed("not ASCII"))?
        .to_ascii_lowercase();
    if s == "null" {
        return Ok(s);
    }
    let (scheme, rest) = s.split_once("://").ok_or(OriginError::Malformed("no scheme://"))?;
    let mut sc = scheme.bytes();
    if !sc.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !sc.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(OriginError::Malformed("bad scheme"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (inner, after) = v6.split_once(']').ok_or(OriginError::Malformed("unclosed ["))?;
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.')) {
            return Err(OriginError::Malformed("bad IPv6 address"));
        }
        match after {
            "" => (inner, None),
            p => (
                inner,
                Some(p.strip_prefix(':').ok_or(OriginError::Malformed("text after ]"))?),
            ),
        }
    } else {
        let (h, p) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        if h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(OriginError::Malformed("bad host"));
        }
        (h, p)
    };
    debug_assert!(!host.is_empty());
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return Err(OriginError::Malformed("bad port"));
        }
    }
    Ok(s)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A bucket size and its refill rate.
#[derive(Debug, Clone, Copy)]
struct Rate {
    burst: f64,
    per_sec: f64,
}

impl Rate {
    fn new(burst: u32, per_minute: u32) -> Rate {
        Rate {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
        }
    }

    /// Tokens in `b` at `now`.
    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        (b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * self.per_sec).min(self.burst)
    }

    /// Seconds until `tokens` reach one.
    fn retry_after(&self, tokens: f64) -> u64 {
        ((1.0 - tokens) / self.per_sec).ceil().max(1.0) as u64
    }
}

/// Buckets by key, at most [`MAX_TRACKED`], with the bytes they account for.
#[derive(Default)]
struct Table {
    map: HashMap<Box<str>, Bucket>,
    bytes: usize,
}

impl Table {
    /// The bucket of `key`, refilled to `now` (a new one is full); makes room first when the table is full.
    fn bucket(&mut self, key: &str, now: Instant, rate: Rate) -> &mut Bucket {
        if !self.map.contains_key(key) {
            if self.map.len() >= MAX_TRACKED {
                self.make_room(now, rate);
            }
            self.bytes += key.len() + ENTRY_OVERHEAD;
        }
        let b = self.map.entry(key.into()).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        b.tokens = rate.level(b, now);
        b.last = now;
        b
    }

    /// Drops full (idle) buckets — forgetting them changes nothing; if the table is still full, the least
    /// recently used tenth goes too, so inserting stays cheap under a stream of new keys.
    fn make_room(&mut self, now: Instant, rate: Rate) {
        self.map.retain(|_, b| rate.level(b, now) < rate.burst);
        if self.map.len() >= MAX_TRACKED {
            let mut ages: Vec<Instant> = self.map.values().map(|b| b.last).collect();
            let cut = ages.len() / 10;
            let (_, &mut oldest_kept, _) = ages.select_nth_unstable(cut);
            self.map.retain(|_, b| b.last > oldest_kept);
        }
        self.bytes = self.map.keys().map(|k| k.len() + ENTRY_OVERHEAD).sum();
    }
}

#[derive(Default)]
struct Tables {
    addresses: Table,
    origins: Table,
}

/// Which limit refused a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The remote address's budget (across every origin it claims).
    Address,
    /// The origin's (or, without an `Origin`, the address's per-origin) budget.
    Origin,
}

/// The outcome of asking the limiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Go ahead (one token taken from the address's and the origin's bucket).
    Allowed,
    /// Refuse with `rate_limited`; `retry_after` is in seconds.
    Limited {
        /// Which budget ran out.
        by: Limit,
        /// Seconds until a token is back.
        retry_after: u64,
    },
    /// Refuse with `origin_invalid`: the `Origin` header is not a valid origin (nothing was tracked for it).
    OriginInvalid(OriginError),
}

/// The `POST /v1/requests` limiter: per address (looser), then per origin.
pub(crate) struct SubmissionLimiter {
    address_rate: Rate,
    origin_rate: Rate,
    tables: Mutex<Tables>,
}

impl SubmissionLimiter {
    /// `burst` submissions at once and `per_minute` sustained per origin; an address gets `address_factor`
    /// times that across all the origins it claims.
    pub(crate) fn new(burst: u32, per_minute: u32, address_factor: u32) -> SubmissionLimiter {
        SubmissionLimiter {
            address_rate: Rate::new(
                burst.saturating_mul(address_factor),
                per_minute.saturating_mul(address_factor),
            ),
            origin_rate: Rate::new(burst, per_minute),
            tables: Mutex::new(Tables::default()),
        }
    }

    /// Asks for one submission from `ip` declaring `origin` (the raw `Origin` header, if any). The address is
    /// asked first: without budget left the origin is neither parsed nor tracked. A token is taken from both
    /// buckets only when both have one.
    pub(crate) fn check(&self, ip: IpAddr, origin: Option<&[u8]>) -> Decision {
        let now = Instant::now();
        let Ok(mut guard) = self.tables.lock() else {
            return Decision::Allowed;
        };
        let Tables { addresses, origins } = &mut *guard;
        let ip_key = ip.to_string();
        let address = addresses.bucket(&ip_key, now, self.address_rate);
        if address.tokens < 1.0 {
            return Decision::Limited {
                by: Limit::Address,
                retry_after: self.address_rate.retry_after(address.tokens),
            };
        }
        let origin_key = match origin {
            Some(raw) => match origin_key(raw) {
                Ok(k) => k,
                Err(e) => return Decision::OriginInvalid(e),
            },
            // A valid origin always holds "://" or is "null", so an address never collides with one.
            None => ip_key,
        };
        let o = origins.bucket(&origin_key, now, self.origin_rate);
        if o.tokens < 1.0 {
            return Decision::Limited {
                by: Limit::Origin,
                retry_after: self.origin_rate.retry_after(o.tokens),
            };
        }
        o.tokens -= 1.0;
        address.tokens -= 1.0;
        Decision::Allowed
    }

    /// Buckets tracked (addresses + origins).
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.tables
            .lock()
            .map(|t| t.addresses.map.len() + t.origins.map.len())
            .unwrap_or(0)
    }

    /// Bytes the tracked buckets account for (keys plus a fixed cost per entry); never above
    /// [`MAX_TRACKED_BYTES`].
    #[cfg(test)]
    pub(crate) fn tracked_bytes(&self) -> usize {
        self.tables
            .lock()
            .map(|t| t.addresses.bytes + t.origins.bytes)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i))
    }

    #[test]
    fn burst_then_limited_per_origin_and_other_origins_are_unaffected() {
        let l = SubmissionLimiter::new(3, 1, 4);
        for _ in 0..3 {
            assert_eq!(l.check(LOCAL, Some(b"https://a.example")), Decision::Allowed);
        }
        assert!(matches!(
            l.check(LOCAL, Some(b"https://a.example")),
            Decision::Limited { by: Limit::Origin, .. }
        ));
        // Case does not make a new origin.
        assert!(matches!(
            l.check(LOCAL, Some(b"HTTPS://A.EXAMPLE")),
            Decision::Limited { by: Limit::Origin, .. }
        ));
        assert_eq!(l.check(LOCAL, Some(b"https://b.example")), Decision::Allowed);
    }

    #[test]
    fn the_address_is_asked_before_the_origin_and_a_spent_address_adds_no_origin() {
        let l = SubmissionLimiter::new(2, 1, 4);
        for i in 0..8 {
            let o = format!("https://shop{i}.example");
            assert_eq!(l.check(LOCAL, Some(o.as_bytes())), Decision::Allowed, "{o}");
        }
        let tracked = l.tracked();
        for i in 8..1000 {
            let o = format!("https://shop{i}.example");
            assert!(matches!(
                l.check(LOCAL, Some(o.as_bytes())),
                Decision::Limited { by: Limit::Address, .. }
            ));
        }
        assert_eq!(l.tracked(), tracked, "refused before any origin bucket was made");
        // A flood from one origin spends that origin, not the address's budget for others.
        let l = SubmissionLimiter::new(2, 1, 4);
        for _ in 0..100 {
            l.check(LOCAL, Some(b"https://flood.example"));
        }
        assert_eq!(l.check(LOCAL, Some(b"https://calm.example")), Decision::Allowed);
    }

    #[test]
    fn origins_must_be_scheme_host_port_of_sane_length() {
        for ok in [
            "https://shop.example",
            "http://localhost:5173",
            "https://[::1]:7419",
            "http://127.0.0.1",
            "null",
            "chrome-extension://abcdef",
        ] {
            assert!(origin_key(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "shop.example",
            "https://",
            "https://shop.example/",
            "https://shop.example/path",
            "https://shop.example:",
            "https://shop.example:99999",
            "https://shop.example:80:80",
            "https://user@shop.example",
            "https://sh op.example",
            "1http://shop.example",
            "https://[::1",
            "https://[zz]",
            "https://[::1]x",
        ] {
            assert!(
                matches!(origin_key(bad.as_bytes()), Err(OriginError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            origin_key(b"https://\xff.example"),
            Err(OriginError::Malformed(_))
        ));
        let long = format!("https://{}.example", "a".repeat(MAX_ORIGIN_BYTES));
        assert_eq!(origin_key(long.as_bytes()), Err(OriginError::TooLong(long.len())));
        let edge = format!("https://{}", "a".repeat(MAX_ORIGIN_BYTES - 8));
        assert!(origin_key(edge.as_bytes()).is_ok());
    }

    #[test]
    fn many_distinct_huge_origins_do_not_grow_the_limiter() {
        let l = SubmissionLimiter::new(1_000_000, 1_000_000, 1);
        let huge = "a".repeat(400 * 1024);
        for i in 0..2_000 {
            let o = format!("https://{i}{huge}.example");
            assert!(matches!(
                l.check(LOCAL, Some(o.as_bytes())),
                Decision::OriginInvalid(OriginError::TooLong(_))
            ));
        }
        assert_eq!(l.tracked(), 1, "only the address is tracked");
        assert!(l.tracked_bytes() < 1024, "{}", l.tracked_bytes());
    }

    #[test]
    fn the_tables_stay_within_their_bound_under_a_stream_of_new_keys() {
        let l = SubmissionLimiter::new(10, 1, 4);
        let pad = "a".repeat(MAX_ORIGIN_BYTES - "https://.example".len() - 6);
        for i in 0..(MAX_TRACKED as u32 * 3) {
            let o = format!("https://{i:06}{pad}.example");
            assert_eq!(o.len(), MAX_ORIGIN_BYTES);
            assert_eq!(l.check(ip(i), Some(o.as_bytes())), Decision::Allowed);
            assert!(l.tracked() <= 2 * MAX_TRACKED);
        }
        assert!(l.tracked() <= 2 * MAX_TRACKED, "{}", l.tracked());
        assert!(l.tracked_bytes() <= MAX_TRACKED_BYTES, "{}", l.tracked_bytes());
        // The newest keys are still limited as they should be (the oldest were forgotten first).
        let last = MAX_TRACKED as u32 * 3 - 1;
        let o = format!("https://{last:06}{pad}.example");
        for _ in 0..9 {
            assert_eq!(l.check(ip(last), Some(o.as_bytes())), Decision::Allowed);
        }
        assert!(matches!(
            l.check(ip(last), Some(o.as_bytes())),
            Decision::Limited { by: Limit::Origin, .. }
        ));
    }
}
