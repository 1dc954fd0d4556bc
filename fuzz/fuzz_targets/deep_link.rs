//! `locket://` links are handed to the app by any web page: the parser must never panic, must refuse with
//! `deep_link_invalid`, and never yields more than a request can be.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    match locket_app::links::request_bytes(url) {
        Ok(bytes) => assert!(bytes.len() <= locket_wire::request::MAX_REQUEST_BYTES + 3),
        Err(e) => assert_eq!(e.code, "deep_link_invalid"),
    }
});
