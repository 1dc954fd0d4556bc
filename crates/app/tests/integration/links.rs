//! Must-refuse deep links (`tests/vectors/deep-link/`): `locket://…` links the app must refuse with
//! `deep_link_invalid`. The link parser is pure (the app imports only what it yields, as a request file), so
//! a refused link cannot store anything.

use base64::Engine as _;
use locket_app::links::request_bytes;

use crate::kit::{self, vectors};

#[test]
fn deep_link_vectors_are_refused() {
    for v in vectors("deep-link") {
        let e = request_bytes(v.text()).expect_err(&v.name);
        assert_eq!(e.code, v.code, "{}: {}", v.name, e.message);
    }
    let golden = std::fs::read(kit::repo_root().join("tests/golden/grant-request.v1.json")).unwrap();
    let link = format!(
        "locket://request?data={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&golden)
    );
    assert_eq!(request_bytes(&link).unwrap(), golden);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

    /// Any text handed over as a link yields bytes or `deep_link_invalid`, never a panic; a link that decodes
    /// carries exactly the bytes that were encoded.
    #[test]
    fn deep_links_never_panic(
        link in proptest::prop_oneof![
            "[ -~]{0,200}",
            "(locket|LOCKET|https)://(request|grant|)/?\\??([a-z]{0,5}=[A-Za-z0-9_=%+/-]{0,120}&?){0,3}",
        ],
        payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
    ) {
        if let Err(e) = request_bytes(&link) {
            proptest::prop_assert_eq!(e.code, "deep_link_invalid");
        }
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
        let good = format!("locket://request?data={encoded}");
        proptest::prop_assert_eq!(request_bytes(&good).unwrap(), payload);
    }
}
