//! Per-origin rate limiting for the unauthenticated `POST /v1/requests`.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most origins tracked at once; beyond that, idle (full) buckets are dropped.
const MAX_TRACKED: usize = 10_000;

struct Bucket {
    tokens: f64,
    last: Instant,
    /// Refusals not written to the access log yet (see [`Decision::Limited`]).
    suppressed: u64,
    /// When a refusal for this origin was last logged.
    last_logged: Option<Instant>,
}

/// The outcome of asking the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Go ahead.
    Allowed,
    /// Refuse. `log` says whether this refusal should be written to the access log (at most one per origin per
    /// refill interval, so a flood cannot grow the log without bound); `suppressed` counts the refusals since
    /// the last logged one. `retry_after` is in seconds.
    Limited {
        log: bool,
        suppressed: u64,
        retry_after: u64,
    },
}

/// A token bucket per origin: `burst` submissions at once, refilled at `per_minute`.
pub(crate) struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn check(&self, origin: &str) -> Decision {
        let now = Instant::now();
        let Ok(mut map) = self.buckets.lock() else {
            return Decision::Allowed;
        };
        if map.len() >= MAX_TRACKED && !map.contains_key(origin) {
            let (burst, per_sec) = (self.burst, self.per_sec);
            map.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * per_sec < burst);
        }
        let b = map.entry(origin.to_string()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
            suppressed: 0,
            last_logged: None,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.per_sec).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Decision::Allowed;
        }
        let interval = Duration::from_secs_f64(1.0 / self.per_sec);
        let retry_after = ((1.0 - b.tokens) / self.per_sec).ceil().max(1.0) as u64;
        let log = b.last_logged.is_none_or_elapsed(now, interval);
        if log {
            let suppressed = b.suppressed;
            b.suppressed = 0;
            b.last_logged = Some(now);
            Decision::Limited {
                log: true,
                suppressed,
                retry_after,
            }
        } else {
            b.suppressed += 1;
            Decision::Limited {
                log: false,
                suppressed: b.suppressed,
                retry_after,
            }
        }
    }
}

trait Elapsed {
    fn is_none_or_elapsed(&self, now: Instant, interval: Duration) -> bool;
}

impl Elapsed for Option<Instant> {
    fn is_none_or_elapsed(&self, now: Instant, interval: Duration) -> bool {
        match self {
            None => true,
            Some(t) => now.duration_since(*t) >= interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_and_logging_is_coalesced() {
        let l = RateLimiter::new(3, 1);
        for _ in 0..3 {
            assert_eq!(l.check("https://a.example"), Decision::Allowed);
        }
        assert!(matches!(
            l.check("https://a.example"),
            Decision::Limited { log: true, .. }
        ));
        assert!(matches!(
            l.check("https://a.example"),
            Decision::Limited {
                log: false,
                suppressed: 1,
                ..
            }
        ));
        // Other origins are unaffected.
        assert_eq!(l.check("https://b.example"), Decision::Allowed);
    }
}
