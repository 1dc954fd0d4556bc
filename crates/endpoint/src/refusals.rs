//! Refusals of callers that proved nothing — no credential, a malformed one, a token whose signature did not
//! verify, an invalid `Origin`, a rate limit — are counted here per source and reason (every loopback address
//! is one source: anyone on the machine can pick any of them). The first refusal of a (source, reason) pair in
//! a window is logged on its own, as it happens, so the owner sees it at once; the rest of that window is
//! counted and written as one `refusals_summarized` event when the window ends
//! ([`crate::EndpointConfig::refusal_window`]) and whenever the vault is locked or the server stops. So anyone
//! on the machine cannot grow the log by one durable event per request. A refusal for a token whose signature
//! verified (grant and retailer known) is never counted here: it is logged on its own.
//!
//! Memory is bounded: at most [`MAX_KEYS`] (source, reason) pairs are tracked; refusals beyond them go into one
//! shared overflow counter (written with detail `overflow: true` and the reasons it saw).
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use locket_audit::{EventKind, NewEvent, Outcome};

use crate::backend::clip;

/// Most (source, reason) pairs counted at once; further pairs share one overflow counter.
pub const MAX_KEYS: usize = 512;
/// Most distinct claimed grant ids (from unverified tokens) remembered per pair, to show the owner which grant
/// someone tried to forge or replay.
const MAX_CLAIMED: usize = 4;
/// Most distinct reasons the overflow counter names.
const MAX_OVERFLOW_REASONS: usize = 16;

/// One refusal to count.
#[derive(Debug, Clone)]
pub(crate) struct Refusal<'a> {
    /// Where it came from: `loopback` for any loopback address, else the remote IP ([`source_of`]).
    pub(crate) source: &'a str,
    /// The caller's address (IP and port), recorded for the first refusal summarized.
    pub(crate) address: &'a str,
    /// The refusal code.
    pub(crate) reason: &'a str,
    /// What was refused (`redemption`, `introspection`, `request`, ...).
    pub(crate) action: &'a str,
    /// The grant an unverified token claimed, if it could be read.
    pub(crate) claimed_grant: Option<&'a str>,
    /// The caller's User-Agent.
    pub(crate) user_agent: Option<&'a str>,
}

/// The source a refusal from `ip` is counted under: every loopback address is one source.
pub(crate) fn source_of(ip: std::net::IpAddr) -> String {
    let loopback = match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    };
    if loopback {
        LOOPBACK.to_owned()
    } else {
        ip.to_string()
    }
}

/// The source name of every loopback address.
pub(crate) const LOOPBACK: &str = "loopback";

/// What [`RefusalTally::count`] did with a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// The first of its (source, reason) pair in this window: log it on its own now; the pair is tracked.
    LogNow,
    /// Counted into the window's summary.
    Summarized,
    /// Counting has stopped (the vault is no longer served): log it on its own.
    Closed,
}

#[derive(Debug)]
struct Tally {
    count: u64,
    address: Option<String>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    actions: BTreeSet<String>,
    claimed: BTreeSet<String>,
    user_agent: Option<String>,
}

impl Tally {
    fn new(now: DateTime<Utc>) -> Tally {
        Tally {
            count: 0,
            address: None,
            first: now,
            last: now,
            actions: BTreeSet::new(),
            claimed: BTreeSet::new(),
            user_agent: None,
        }
    }

    fn add(&mut self, r: &Refusal<'_>, now: DateTime<Utc>) {
        if self.count == 0 {
            self.first = now;
            self.address = Some(clip(r.address, 64));
        }
        self.count += 1;
        self.last = now;
        // Actions are the endpoint's own fixed names: a handful at most.
        if !self.actions.contains(r.action) {
            self.actions.insert(r.action.to_owned());
        }
        if let Some(g) = r.claimed_grant {
            if self.claimed.len() < MAX_CLAIMED {
                self.claimed.insert(clip(g, 80));
            }
        }
        if self.user_agent.is_none() {
            self.user_agent = r.user_agent.map(|ua| clip(ua, 256));
        }
    }

    fn event(self, reason: Option<&str>, source: Option<&str>) -> NewEvent {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut ev = NewEvent::new(EventKind::RefusalsSummarized, Outcome::Refused)
            .detail("count", self.count)
            .detail("source", source.unwrap_or("various"))
            .detail("first_at", time(self.first))
            .detail("last_at", time(self.last))
            .detail("actions", self.actions.into_iter().collect::<Vec<_>>());
        if let Some(r) = reason {
            ev = ev.reason(r);
        }
        if let Some(a) = self.address {
            ev = ev.remote(a);
        }
        if !self.claimed.is_empty() {
            ev = ev.detail("claimed_grants", self.claimed.into_iter().collect::<Vec<_>>());
        }
        if let Some(ua) = self.user_agent {
            ev = ev.user_agent(ua);
        }
        ev
    }
}

#[derive(Debug)]
struct Inner {
    /// When the current window started.
    since: std::time::Instant,
    keys: HashMap<(String, String), Tally>,
    overflow: Option<(Tally, BTreeSet<String>)>,
    /// Set when the vault stopped being served: counting now would lose the refusal.
    closed: bool,
}

/// The counters of one served vault.
#[derive(Debug)]
pub(crate) struct RefusalTally {
    inner: Mutex<Inner>,
}

impl Default for RefusalTally {
    fn default() -> Self {
        RefusalTally {
            inner: Mutex::new(Inner {
                since: std::time::Instant::now(),
                keys: HashMap::new(),
                overflow: None,
                closed: false,
            }),
        }
    }
}

impl RefusalTally {
    /// Counts `r` (see [`Counted`] for what the caller does next).
    pub(crate) fn count(&self, r: &Refusal<'_>) -> Counted {
        let now = Utc::now();
        let Ok(mut inner) = self.inner.lock() else {
            return Counted::Closed;
        };
        if inner.closed {
            return Counted::Closed;
        }
        let key = (r.source.to_owned(), r.reason.to_owned());
        if let Some(t) = inner.keys.get_mut(&key) {
            t.add(r, now);
        } else if inner.keys.len() < MAX_KEYS {
            inner.keys.insert(key, Tally::new(now));
            return Counted::LogNow;
        } else {
            let (t, reasons) = inner.overflow.get_or_insert_with(|| (Tally::new(now), BTreeSet::new()));
            // The overflow names no source or claimed grant: it is the flood's shared tail.
            t.add(
                &Refusal {
                    claimed_grant: None,
                    user_agent: None,
                    ..r.clone()
                },
                now,
            );
            if reasons.len() < MAX_OVERFLOW_REASONS && !reasons.contains(r.reason) {
                reasons.insert(r.reason.to_owned());
            }
        }
        Counted::Summarized
    }

    /// Whether the current window is older than `window` (its summaries are due).
    pub(crate) fn due(&self, window: std::time::Duration) -> bool {
        self.inner.lock().is_ok_and(|i| i.since.elapsed() >= window)
    }

    /// Takes every count as its summary event, oldest pair first (the counters start again from zero); with
    /// `close`, no refusal is counted from now on.
    pub(crate) fn take(&self, close: bool) -> Vec<NewEvent> {
        let Ok(mut inner) = self.inner.lock() else {
            return Vec::new();
        };
        if close {
            inner.closed = true;
        }
        inner.since = std::time::Instant::now();
        // Pairs whose only refusal was logged on its own have nothing to summarize.
        let mut pairs: Vec<((String, String), Tally)> = inner.keys.drain().filter(|(_, t)| t.count > 0).collect();
        pairs.sort_by(|a, b| a.1.first.cmp(&b.1.first).then_with(|| a.0.cmp(&b.0)));
        let mut out: Vec<NewEvent> = pairs
            .into_iter()
            .map(|((source, reason), t)| t.event(Some(&reason), Some(&source)))
            .collect();
        if let Some((t, reasons)) = inner.overflow.take() {
            out.push(
                t.event(None, None)
                    .detail("overflow", true)
                    .detail("reasons", reasons.into_iter().collect::<Vec<_>>()),
            );
        }
        out
    }

    /// Pairs being counted (not counting the overflow).
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.inner.lock().map(|i| i.keys.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r<'a>(source: &'a str, reason: &'a str) -> Refusal<'a> {
        Refusal {
            source,
            address: "127.0.0.1:50000",
            reason,
            action: "redemption",
            claimed_grant: None,
            user_agent: Some("curl/8"),
        }
    }

    #[test]
    fn the_first_refusal_of_a_pair_is_logged_and_the_rest_summarized() {
        let t = RefusalTally::default();
        assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::LogNow);
        for _ in 0..299 {
            assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::Summarized);
        }
        assert_eq!(
            t.count(&Refusal {
                action: "introspection",
                claimed_grant: Some("gr_1"),
                ..r(LOOPBACK, "token_invalid_signature")
            }),
            Counted::LogNow
        );
        t.count(&Refusal {
            action: "introspection",
            claimed_grant: Some("gr_2"),
            ..r(LOOPBACK, "token_invalid_signature")
        });
        // A pair with only its logged first refusal has nothing to summarize.
        assert_eq!(t.count(&r("10.0.0.2", "authorization_missing")), Counted::LogNow);
        let events = t.take(false);
        assert_eq!(events.len(), 2);
        let first = &events[0];
        assert_eq!(first.kind, EventKind::RefusalsSummarized);
        assert_eq!(first.outcome, Outcome::Refused);
        assert_eq!(first.reason.as_deref(), Some("authorization_missing"));
        assert_eq!(first.remote_addr.as_deref(), Some("127.0.0.1:50000"));
        let d = first.detail.as_ref().unwrap();
        assert_eq!(d["count"], 299);
        assert_eq!(d["source"], LOOPBACK);
        assert_eq!(d["actions"], serde_json::json!(["redemption"]));
        assert!(d["first_at"].as_str().unwrap() <= d["last_at"].as_str().unwrap());
        let forged = &events[1];
        assert_eq!(forged.reason.as_deref(), Some("token_invalid_signature"));
        assert_eq!(
            forged.detail.as_ref().unwrap()["claimed_grants"],
            serde_json::json!(["gr_2"])
        );
        // Taken means gone: the next window starts again with a refusal logged on its own.
        assert!(t.take(false).is_empty());
        assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::LogNow);
    }

    #[test]
    fn every_loopback_address_is_one_source() {
        for ip in ["127.0.0.1", "127.45.3.9", "::1", "::ffff:127.0.0.2"] {
            assert_eq!(source_of(ip.parse().unwrap()), LOOPBACK, "{ip}");
        }
        assert_eq!(source_of("10.1.2.3".parse().unwrap()), "10.1.2.3");
    }

    #[test]
    fn pairs_are_bounded_and_the_rest_share_one_overflow_counter() {
        let t = RefusalTally::default();
        let mut logged = 0u64;
        for i in 0..(MAX_KEYS + 1000) {
            let source = format!("10.0.{}.{}", i / 256, i % 256);
            for reason in ["authorization_missing", "token_malformed"] {
                if t.count(&r(&source, reason)) == Counted::LogNow {
                    logged += 1;
                }
                t.count(&r(&source, reason));
            }
        }
        assert_eq!(t.tracked(), MAX_KEYS);
        assert_eq!(logged, MAX_KEYS as u64);
        let events = t.take(false);
        assert_eq!(events.len(), MAX_KEYS + 1);
        let overflow = events.last().unwrap();
        let d = overflow.detail.as_ref().unwrap();
        assert_eq!(d["overflow"], true);
        assert_eq!(d["source"], "various");
        let total: u64 = events
            .iter()
            .map(|e| e.detail.as_ref().unwrap()["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total + logged, 4 * (MAX_KEYS as u64 + 1000), "nothing counted is lost");
        assert_eq!(
            d["reasons"],
            serde_json::json!(["authorization_missing", "token_malformed"])
        );
    }

    #[test]
    fn a_closed_tally_counts_nothing_so_the_caller_logs_the_refusal() {
        let t = RefusalTally::default();
        assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::LogNow);
        assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::Summarized);
        assert_eq!(t.take(true).len(), 1);
        assert_eq!(t.count(&r(LOOPBACK, "authorization_missing")), Counted::Closed);
        assert!(t.take(false).is_empty());
    }
}
