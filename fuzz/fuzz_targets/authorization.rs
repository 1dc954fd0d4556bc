//! The `Authorization` header is the first thing the endpoint reads from any local process or web page: its
//! parser must never panic, must answer `authorization_missing` or `token_malformed` for anything it refuses, and
//! may only yield a token of the characters a PASETO token has. The input is split on NUL into header values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_endpoint::{bearer_token, MAX_AUTHORIZATION_BYTES};

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { data.split(|&b| b == 0).collect() };
    match bearer_token(&values) {
        Ok(token) => {
            assert_eq!(values.len(), 1);
            assert!(values[0].len() <= MAX_AUTHORIZATION_BYTES);
            assert!(!token.is_empty());
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')));
        }
        Err((code, message)) => {
            assert!(matches!(code, "authorization_missing" | "token_malformed"), "{code}");
            assert!(!message.is_empty());
        }
    }
});
