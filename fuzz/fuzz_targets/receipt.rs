//! Consent receipts reach retailers and come back from them: verifying one must never panic, and nothing but the
//! genuine signed receipt verifies against its issuer's key (any change to it is refused or yields the same
//! receipt).
#![no_main]

use libfuzzer_sys::fuzz_target;
use locket_wire::receipt::verify_receipt;

const GENUINE: &str = include_str!("../../tests/golden/consent-receipt.v1.json");
const ISSUER_KEY: &str = "k4.public.6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw";

fuzz_target!(|data: &[u8]| {
    let genuine = verify_receipt(GENUINE, ISSUER_KEY).expect("the golden receipt verifies");
    if let Ok(text) = std::str::from_utf8(data) {
        match verify_receipt(text, ISSUER_KEY) {
            Ok(r) => assert_eq!(r, genuine, "a receipt other than the genuine one verified"),
            Err(e) => assert!(!e.code().is_empty()),
        }
        // Any text as the key: refused with a code, never a panic.
        let _ = verify_receipt(GENUINE, text);
    }
    // Change one byte of the genuine receipt, chosen by the input.
    if data.len() >= 2 {
        let mut bytes = GENUINE.as_bytes().to_vec();
        let i = (usize::from(data[0]) << 8 | usize::from(data[1])) % bytes.len();
        bytes[i] = data.get(2).copied().unwrap_or(b'x');
        if let Ok(text) = String::from_utf8(bytes) {
            if let Ok(r) = verify_receipt(&text, ISSUER_KEY) {
                assert_eq!(r, genuine, "a modified receipt verified with different content");
            }
        }
    }
});
