//! Desktop notifications, coalesced, and which input may bring the window forward.
//!
//! Anyone on the machine can send requests (`POST /v1/requests`, a `locket://` link) or make refused accesses, so
//! neither may flood the owner with notifications or pull the window in front of what they are doing. The
//! [`Coalescer`] keeps one counter per kind and retailer: the first event shows after [`SETTLE`] (so a burst of 50
//! requests from one shop is one notification, "50 new requests from …"), and after a notification that
//! retailer is quiet until [`WINDOW`] has passed since it, when what arrived meanwhile is shown as one. At most
//! [`MAX_KEYS`] retailers are counted apart; the rest share one "several shops" counter, so made-up retailer
//! ids cannot grow it. [`raises_window`] says which input may bring the window forward: only the owner's own
//! (the tray's Open, launching Locket again) — never a request or a link. The desktop shell shows what
//! [`Notices::due`] returns and raises its window; everything it decides is here, testable without a display.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one notification per kind and retailer in this time.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long the first event of a burst waits for the rest of it.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Retailers counted apart; beyond this they share one counter.
pub const MAX_KEYS: usize = 8;

const SEVERAL: &str = "\u{0}several";

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A new request (over HTTP, a link, a file).
    Request,
    /// A retailer's access was refused.
    Refusal,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

struct Bucket {
    who: String,
    detail: String,
    count: u32,
    due: Instant,
    /// Order of arrival of the bucket's first event, to break ties between equal due times.
    order: u64,
    shown: Option<Instant>,
}

/// Counts events per kind and retailer and says when to show what (pure: time is passed in).
#[derive(Default)]
pub struct Coalescer {
    buckets: HashMap<(Kind, String), Bucket>,
    arrivals: u64,
}

impl Coalescer {
    /// One event of `kind` from retailer `id` (shown as `who`; `detail` is a refusal's reason) at `now`.
    pub fn record(&mut self, kind: Kind, id: &str, who: &str, detail: &str, now: Instant) {
        self.buckets
            .retain(|_, b| b.count > 0 || b.shown.is_some_and(|s| now.saturating_duration_since(s) < WINDOW));
        let mut key = (kind, id.to_owned());
        let mut who = who.to_owned();
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_KEYS {
            key = (kind, SEVERAL.to_owned());
            who = "several shops".to_owned();
        }
        let b = self.buckets.entry(key).or_insert_with(|| Bucket {
            who: String::new(),
            detail: String::new(),
            count: 0,
            due: now,
            order: 0,
            shown: None,
        });
        if b.count == 0 {
            self.arrivals += 1;
            b.order = self.arrivals;
            b.due = match b.shown {
                Some(s) if now.saturating_duration_since(s) < WINDOW => s + WINDOW,
                _ => now + SETTLE,
            };
            b.who = who;
        }
        b.detail = detail.to_owned();
        b.count = b.count.saturating_add(1);
    }

    /// When the next notification falls due, if any is waiting.
    pub fn next_due(&self) -> Option<Instant> {
        self.buckets.values().filter(|b| b.count > 0).map(|b| b.due).min()
    }

    /// The notifications due at `now` (each retailer's count since its last one), oldest first (equal times in
    /// the order their first events arrived).
    pub fn take_due(&mut self, now: Instant) -> Vec<Notification> {
        let mut due: Vec<((Instant, u64), Notification)> = Vec::new();
        for ((kind, _), b) in self.buckets.iter_mut() {
            if b.count == 0 || b.due > now {
                continue;
            }
            due.push(((b.due, b.order), text(*kind, &b.who, &b.detail, b.count)));
            b.count = 0;
            b.shown = Some(now);
        }
        due.sort_by_key(|(t, _)| *t);
        due.into_iter().map(|(_, n)| n).collect()
    }

    /// How many counters are kept (for tests).
    pub fn counters(&self) -> usize {
        self.buckets.len()
    }
}

fn text(kind: Kind, who: &str, detail: &str, count: u32) -> Notification {
    let (title, body) = match (kind, count) {
        (Kind::Request, 1) => (
            "New request".to_owned(),
            format!("{who} asks for some of your details."),
        ),
        (Kind::Request, n) => (format!("{n} new requests"), format!("{n} new requests from {who}.")),
        (Kind::Refusal, 1) => ("Access refused".to_owned(), format!("{who}: {detail}")),
        (Kind::Refusal, n) => (
            format!("{n} accesses refused"),
            format!("{n} accesses by {who} were refused (the last: {detail})."),
        ),
    };
    Notification { title, body }
}

/// Notifications waiting to be shown: a [`Coalescer`] shared between the code that counts events and the one task
/// that shows what falls due ([`Notices::due`]).
#[derive(Default)]
pub struct Notices {
    coalescer: Mutex<Coalescer>,
    wake: tokio::sync::Notify,
}

impl Notices {
    /// Counts one event; the task waiting in [`Notices::due`] shows it when due.
    pub fn record(&self, kind: Kind, id: &str, who: &str, detail: &str) {
        if let Ok(mut c) = self.coalescer.lock() {
            c.record(kind, id, who, detail, Instant::now());
        }
        self.wake.notify_one();
    }

    /// Waits until the next notification falls due (or an event arrives) and returns what is due then, oldest
    /// first — possibly nothing; `None` once the counters are unusable (a panic while holding them).
    pub async fn due(&self) -> Option<Vec<Notification>> {
        let next = self.coalescer.lock().ok()?.next_due();
        match next {
            None => self.wake.notified().await,
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                    _ = self.wake.notified() => {}
                }
            }
        }
        let due = self.coalescer.lock().ok()?.take_due(Instant::now());
        Some(due)
    }
}

/// A short plain-words reason for a refusal's notification, from its error code (the Activity screen has the full
/// wording).
pub fn refusal_sentence(code: Option<&str>) -> String {
    match code {
        Some("grant_revoked") => "you had revoked the grant".into(),
        Some("token_expired") => "the grant had expired".into(),
        Some("grant_uses_exhausted") => "the grant was used up".into(),
        Some("token_invalid_signature") => "the token was forged or altered".into(),
        Some("vault_locked") => "Locket was locked".into(),
        Some(other) => other.replace('_', " "),
        None => "refused".into(),
    }
}

/// Where an input came from, for [`raises_window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The owner chose "Open Locket" in the tray.
    TrayOpen,
    /// Locket was launched again without a link (the single-instance hand-over).
    Relaunch,
    /// A `locket://` link (any web page can open one), whether to a running instance or at start.
    DeepLink,
    /// A request over HTTP (`POST /v1/requests`: anyone on the machine).
    HttpRequest,
    /// A refused access.
    Refusal,
}

/// Whether `input` may bring the window forward (un-minimise, show, focus): only the owner's own actions.
pub fn raises_window(input: Input) -> bool {
    match input {
        Input::TrayOpen | Input::Relaunch => true,
        Input::DeepLink | Input::HttpRequest | Input::Refusal => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_from_one_shop_is_one_notification() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        for i in 0..50 {
            c.record(
                Kind::Request,
                "shop.example",
                "Shop",
                "",
                t0 + Duration::from_millis(i * 10),
            );
        }
        assert!(
            c.take_due(t0 + Duration::from_millis(600)).is_empty(),
            "waits for the burst to settle"
        );
        let shown = c.take_due(t0 + SETTLE);
        assert_eq!(
            shown,
            [Notification {
                title: "50 new requests".into(),
                body: "50 new requests from Shop.".into()
            }]
        );
        assert!(c.take_due(t0 + WINDOW * 3).is_empty(), "nothing more to show");
    }

    #[test]
    fn one_notification_per_shop_and_minute() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        c.record(Kind::Request, "a", "Shop A", "", t0);
        c.record(Kind::Request, "b", "Shop B", "", t0);
        let first = c.take_due(t0 + SETTLE);
        assert_eq!(first.len(), 2, "each shop is counted apart");
        assert_eq!(first[0].body, "Shop A asks for some of your details.");
        // A trickle from A during the next minute: one summary when the minute since the last one is over.
        for s in 10..20 {
            c.record(Kind::Request, "a", "Shop A", "", t0 + Duration::from_secs(s));
        }
        assert_eq!(c.next_due(), Some(t0 + SETTLE + WINDOW));
        assert!(c.take_due(t0 + Duration::from_secs(59)).is_empty());
        let later = c.take_due(t0 + SETTLE + WINDOW);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].body, "10 new requests from Shop A.");
        // Refusals are their own kind, with the last reason.
        c.record(Kind::Refusal, "a", "Shop A", "the grant had expired", t0 + WINDOW * 5);
        c.record(
            Kind::Refusal,
            "a",
            "Shop A",
            "you had revoked the grant",
            t0 + WINDOW * 5,
        );
        let refused = c.take_due(t0 + WINDOW * 6);
        assert_eq!(refused[0].title, "2 accesses refused");
        assert!(refused[0].body.contains("you had revoked the grant"), "{refused:?}");
    }

    #[test]
    fn made_up_retailers_share_one_counter() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        for i in 0..10_000 {
            c.record(Kind::Request, &format!("shop{i}.example"), &format!("Shop {i}"), "", t0);
        }
        assert_eq!(c.counters(), MAX_KEYS + 1);
        let shown = c.take_due(t0 + SETTLE);
        assert_eq!(shown.len(), MAX_KEYS + 1, "{} notifications", shown.len());
        let last = shown
            .iter()
            .find(|n| n.body.contains("several shops"))
            .expect("a shared summary");
        assert_eq!(
            last.body,
            format!("{} new requests from several shops.", 10_000 - MAX_KEYS)
        );
        // Once quiet for a minute, counters are forgotten.
        c.record(Kind::Request, "x", "X", "", t0 + WINDOW * 2);
        assert_eq!(c.counters(), 1);
    }

    #[test]
    fn only_the_owner_brings_the_window_forward() {
        assert!(raises_window(Input::TrayOpen));
        assert!(raises_window(Input::Relaunch));
        assert!(
            !raises_window(Input::HttpRequest),
            "a POST /v1/requests must not steal focus"
        );
        assert!(
            !raises_window(Input::DeepLink),
            "a link any page can open must not steal focus"
        );
        assert!(!raises_window(Input::Refusal));
    }

    #[test]
    fn refusals_are_worded_from_their_codes() {
        assert_eq!(refusal_sentence(Some("grant_revoked")), "you had revoked the grant");
        assert_eq!(refusal_sentence(Some("scope_not_granted")), "scope not granted");
        assert_eq!(refusal_sentence(None), "refused");
    }
}
