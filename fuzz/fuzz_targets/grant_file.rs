//! The grant-file parser (used by the retailer's tools on files they receive) must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_grants::GrantFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = GrantFile::parse(data) {
        let again = file.to_json_pretty();
        assert_eq!(GrantFile::parse(again.as_bytes()).expect("reparses"), file);
    }
});
