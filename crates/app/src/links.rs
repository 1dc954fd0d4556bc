//! `locket://` links. A retailer's website can hand a request straight to the app:
//! `locket://request?data=<base64url of the request JSON>` (no network fetch: the request travels in the link).
//! This is the parser; the desktop app imports what it yields like a request file. `locket://connect?request_uri=…`
//! links are fetched and verified by [`crate::connect`]; [`is_connect`] tells the two apart, [`in_args`] finds
//! links among a launch's arguments and [`RecentLinks`] takes one link delivered twice in a row as one.
use std::time::{Duration, Instant};

use base64::Engine;

use crate::error::{AppError, AppResult};

/// The request bytes carried by a `locket://request?data=…` link, or `deep_link_invalid` naming why not.
/// Refuses links larger than a request can be before decoding them.
pub fn request_bytes(url: &str) -> AppResult<Vec<u8>> {
    let bad = |why: &str| AppError::new("deep_link_invalid", format!("This Locket link cannot be used: {why}."));
    let rest = url
        .strip_prefix("locket://")
        .ok_or_else(|| bad("it does not start with locket://"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.trim_end_matches('/') != "request" {
        return Err(bad("Locket only understands request links"));
    }
    let data = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("data="))
        .ok_or_else(|| bad("it carries no request"))?;
    if data.len() > locket_grants::request::MAX_REQUEST_BYTES * 4 / 3 + 4 {
        return Err(bad("the request is too large"));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .map_err(|_| bad("the request is not valid base64url"))
}

/// Whether `url` is a `locket://connect` link.
pub fn is_connect(url: &str) -> bool {
    url.strip_prefix("locket://connect")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?') || rest.starts_with('/'))
}

/// The `locket://` links among a launch's arguments.
pub fn in_args(args: &[String]) -> impl Iterator<Item = &String> {
    args.iter().filter(|a| a.starts_with("locket://"))
}

/// How long the same link is taken as one delivery: a second launch hands its link both to the single-instance
/// callback and, through the deep-link plugin, to `on_open_url`; a connect link must be fetched once (the shop
/// serves it once).
pub const SAME_LINK_WINDOW: Duration = Duration::from_secs(10);

/// At most this many recent links are remembered; the oldest is forgotten first.
pub const MAX_RECENT_LINKS: usize = 16;

/// The links that arrived lately, to handle a link delivered twice in a row once (pure: time is passed in).
#[derive(Debug, Default)]
pub struct RecentLinks {
    recent: Vec<(String, Instant)>,
}

impl RecentLinks {
    /// No link seen yet.
    pub const fn new() -> RecentLinks {
        RecentLinks { recent: Vec::new() }
    }

    /// Whether `url` arrived within [`SAME_LINK_WINDOW`] before `now` already (remembers it otherwise; at most
    /// [`MAX_RECENT_LINKS`] links kept).
    pub fn just_seen(&mut self, url: &str, now: Instant) -> bool {
        self.recent
            .retain(|(_, at)| now.saturating_duration_since(*at) < SAME_LINK_WINDOW);
        if self.recent.iter().any(|(u, _)| u == url) {
            return true;
        }
        if self.recent.len() >= MAX_RECENT_LINKS {
            self.recent.remove(0);
        }
        self.recent.push((url.to_owned(), now));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn request_links_decode_and_others_are_refused() {
        let json = br#"{"format":"locket.grant-request/v1"}"#;
        let e = enc(json);
        assert_eq!(request_bytes(&format!("locket://request?data={e}")).unwrap(), json);
        assert_eq!(request_bytes(&format!("locket://request/?x=1&data={e}")).unwrap(), json);
        for bad in [
            "https://example.com",
            "locket://grant?data=AA",
            "locket://request",
            "locket://request?data=%%%",
            "locket://request?data=A",
        ] {
            assert_eq!(request_bytes(bad).unwrap_err().code, "deep_link_invalid", "{bad}");
        }
        let huge = "A".repeat(locket_grants::request::MAX_REQUEST_BYTES * 2);
        assert!(request_bytes(&format!("locket://request?data={huge}"))
            .unwrap_err()
            .message
            .contains("too large"));
    }

    #[test]
    fn the_same_link_twice_in_a_row_is_handled_once() {
        let mut recent = RecentLinks::default();
        let t0 = Instant::now();
        let (a, b) = (
            "locket://connect?request_uri=https%3A%2F%2Fa.test%2Fr",
            "locket://request?data=e30",
        );
        assert!(!recent.just_seen(a, t0));
        assert!(recent.just_seen(a, t0));
        assert!(!recent.just_seen(b, t0));
        // The memory stays small however many links arrive.
        for n in 0..40 {
            assert!(!recent.just_seen(&format!("locket://connect?request_uri=https%3A%2F%2Fa.test%2F{n}"), t0));
        }
        assert!(!recent.just_seen(a, t0), "the oldest links make room");
        // After the window the same link is a new delivery.
        let later = t0 + SAME_LINK_WINDOW;
        assert!(
            !recent.just_seen(a, later),
            "a link seen more than ten seconds ago is delivered again"
        );
    }

    #[test]
    fn connect_links_and_links_in_arguments() {
        assert!(is_connect("locket://connect?request_uri=x"));
        assert!(is_connect("locket://connect"));
        assert!(is_connect("locket://connect/?request_uri=x"));
        assert!(!is_connect("locket://connected?x"));
        assert!(!is_connect("locket://request?data=e30"));
        let args = ["locket-desktop", "locket://request?data=e30", "--flag"].map(String::from);
        assert_eq!(in_args(&args).collect::<Vec<_>>(), ["locket://request?data=e30"]);
    }
}
