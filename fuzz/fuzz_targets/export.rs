//! Export files come from anywhere (a USB stick, an email): decoding one must never panic, must refuse what is
//! not a `locket.export/v1` file with a stable code, and must tell an encrypted file from a plain one without a
//! passphrase. (An encrypted file with a passphrase is not fuzzed here: each try would run Argon2.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_vault::export::{decode, is_encrypted};

fuzz_target!(|data: &[u8]| {
    let encrypted = is_encrypted(data);
    match decode(data, None) {
        Ok(doc) => {
            assert_eq!(encrypted, Some(false), "a file decoded without a passphrase must be a plain export");
            let _ = doc;
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
});
