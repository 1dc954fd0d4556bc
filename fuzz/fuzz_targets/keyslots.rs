//! `keyslots.json` sits in the vault folder, where another local user or a restored old backup may have changed
//! it: checking it must never panic and must refuse anything that is not a key-slot file with `vault_damaged`
//! (or accept it without unwrapping any key).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = locket_vault::check_keyslots(data) {
        assert_eq!(e.code(), "vault_damaged", "{e}");
    }
});
