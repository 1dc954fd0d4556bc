//! The grant-request parser must never panic, must enforce its size cap, and anything it accepts must
//! serialize and parse again to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_grants::request::{check_scopes, parse_request_at, MAX_REQUEST_BYTES};
use locket_grants::StaticCatalog;

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T15:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    match parse_request_at(data, now) {
        Ok(request) => {
            assert!(data.len() <= MAX_REQUEST_BYTES);
            let again = serde_json::to_vec(&request).expect("serializes");
            let reparsed = parse_request_at(&again, now).expect("a valid request stays valid");
            assert_eq!(reparsed, request);
            let _ = check_scopes(&request, &StaticCatalog::sample());
        }
        Err(e) => {
            // Every refusal has a stable code and a message.
            assert!(!e.code().is_empty());
            let _ = e.to_string();
        }
    }
});
