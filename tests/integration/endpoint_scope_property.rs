//! Property: whatever subset of the requested scopes the owner approves, a redemption over HTTP never returns a
//! field outside the granted scopes, and the access log records exactly the fields returned.

use std::collections::BTreeSet;

use crate::endpoint_support::{request_doc, unique_nonce, Fixture};
use locket_grants::ApproveOptions;
use proptest::prelude::*;

const REQUESTABLE: [&str; 6] = [
    "contact.email",
    "contact.phone",
    "identity.given_name",
    "identity.family_name",
    "identity",
    "contact",
];

/// The fields a scope may yield.
fn covers(scope: &str, key: &str) -> bool {
    key == scope || key.starts_with(&format!("{scope}."))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn responses_stay_inside_the_granted_scopes(
        requested in proptest::sample::subsequence(REQUESTABLE.to_vec(), 1..=6),
        pick in proptest::collection::vec(any::<bool>(), 6),
    ) {
        let granted: Vec<&str> = requested.iter().zip(&pick).filter(|(_, p)| **p).map(|(s, _)| *s).collect();
        prop_assume!(!granted.is_empty());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let fx = Fixture::start().await;
            let id = fx.import(&request_doc(&unique_nonce(), &requested));
            let grant = fx.approve(&id, ApproveOptions {
                only: Some(granted.iter().map(|s| s.to_string()).collect()),
                ..ApproveOptions::default()
            });
            let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
            assert_eq!(status, 200, "{body}");
            let returned: BTreeSet<String> = body["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["key"].as_str().unwrap().to_string())
                .collect();
            for key in &returned {
                assert!(granted.iter().any(|s| covers(s, key)), "{key} is outside {granted:?}");
            }
            // Every granted field the owner has filled in is returned.
            for key in ["contact.email", "contact.phone", "identity.given_name", "identity.family_name"] {
                if granted.iter().any(|s| covers(s, key)) {
                    assert!(returned.contains(key), "{key} was granted but not returned");
                }
            }
            let logged: BTreeSet<String> = fx.newest().fields.iter().map(|f| f.key.clone()).collect();
            assert_eq!(logged, returned);
            fx.stop().await;
        });
    }
}
