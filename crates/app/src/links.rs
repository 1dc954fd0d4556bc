//! `locket://` links. A retailer's website can hand a request straight to the app:
//! `locket://request?data=<base64url of the request JSON>` (no network fetch: the request travels in the link).
//! This is the parser; the desktop app imports what it yields like a request file.
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
}
