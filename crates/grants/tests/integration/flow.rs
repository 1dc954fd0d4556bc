//! The owner's decisions and the redemption checks against a real SQLCipher vault in a temp dir.

use chrono::{DateTime, Duration, Utc};
use locket_grants::redeem::{introspect, redeem, redeem_verified, retailer_revoke};
use locket_grants::store::{self, ApproveOptions, GrantStatus, RequestSource, RequestStatus};
use locket_grants::Issuers;
use locket_grants::{GrantError, GrantFile};
use locket_vault::{profile, KdfParams, Passphrase, Store, Vault};
use proptest::prelude::*;
use serde_json::{json, Value};

struct Fixture {
    _tmp: tempfile::TempDir,
    vault: Vault,
    store: Store,
    signer: Issuers,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(
        &tmp.path().join("vault"),
        &Passphrase::new("correct horse battery".into()),
        KdfParams::for_tests(),
    )
    .unwrap();
    let store = vault.connect().unwrap();
    for (k, v) in [
        ("contact.email", json!("owner@example.org")),
        ("contact.phone", json!("+442071234567")),
        ("contact.city", json!("London")),
        ("identity.given_name", json!("Ada")),
        ("identity.date_of_birth", json!("1990-04-21")),
    ] {
        profile::set(store.conn(), k, v).unwrap();
    }
    let signer = Issuers::for_vault(&vault);
    Fixture {
        _tmp: tmp,
        vault,
        store,
        signer,
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn request(nonce: &str, scopes: Value) -> Vec<u8> {
    crate::kit::Request::fixture()
        .scopes(scopes)
        .retention("until_grant_ends", "Deleted when the grant ends.")
        .nonce(nonce)
        .bytes()
}

fn default_scopes() -> Value {
    json!([
        {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
        {"scope": "identity", "purpose": "account_management", "required": false},
        {"scope": "contact.phone", "purpose": "marketing_sms", "required": false}
    ])
}

fn file_source() -> RequestSource {
    RequestSource::File {
        path: "req.json".into(),
    }
}

impl Fixture {
    fn import(&mut self, nonce: &str, scopes: Value) -> String {
        let tx = self.store.conn_mut().transaction().unwrap();
        let rec = store::import_request(&tx, &request(nonce, scopes), &file_source(), now(), None).unwrap();
        tx.commit().unwrap();
        rec.id
    }

    fn approve(&mut self, id: &str, opts: &ApproveOptions) -> Result<GrantFile, GrantError> {
        let tx = self.store.conn_mut().transaction().unwrap();
        let issued = store::approve(&tx, &self.signer, id, opts, "http://127.0.0.1:7419", now())?;
        tx.commit().unwrap();
        Ok(issued.file)
    }

    fn redeem(&mut self, token: &str, at: DateTime<Utc>) -> Result<locket_grants::Redemption, String> {
        let verifier = self.signer.verifier().unwrap();
        let tx = self.store.conn_mut().transaction().unwrap();
        let out = redeem(&tx, &verifier, token, at).map_err(|r| r.error.code().to_owned());
        tx.commit().unwrap();
        out
    }

    fn audit_kinds(&self) -> Vec<String> {
        let mut stmt = self
            .store
            .conn()
            .prepare("SELECT kind FROM audit_events ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }
}

#[test]
fn approve_a_subset_and_redeem_exactly_it() {
    let mut f = fixture();
    let id = f.import("nonce-0000000000000001", default_scopes());
    let listed = store::list_requests(f.store.conn(), Some(RequestStatus::Pending)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request.retailer.id, "shop.example");

    let opts = ApproveOptions {
        only: Some(vec!["contact.email".into(), "identity".into()]),
        expires_in: Some(Duration::days(7)),
        max_uses: Some(5),
        note: Some("no marketing".into()),
        allow_age_bracketing: false,
    };
    // Prefix ids work for the owner.
    let file = f.approve(&id[..12], &opts).unwrap();
    let reparsed = GrantFile::parse(file.to_json_pretty().as_bytes()).unwrap();
    assert_eq!(reparsed, file);
    assert_eq!(file.scopes.len(), 2);
    assert_eq!(file.max_uses, Some(5));
    assert!(file.summary.contains("Example Shop"), "{}", file.summary);
    assert!(
        !file.to_json_pretty().contains("owner@example.org"),
        "grant file must carry no profile data"
    );

    let rec = store::get_request(f.store.conn(), &id).unwrap();
    assert_eq!(rec.status, RequestStatus::Approved);
    let decision = rec.decision.unwrap();
    assert_eq!(decision.asked.len(), 3);
    assert_eq!(decision.granted, vec!["contact.email", "identity"]);
    assert_eq!(decision.granted_duration.as_deref(), Some("P7D"));
    assert_eq!(decision.note.as_deref(), Some("no marketing"));
    let described: Vec<String> = decision.differences.iter().map(|d| d.describe()).collect();
    assert!(
        described.iter().any(|d| d.starts_with("contact.phone not granted")),
        "{described:?}"
    );
    assert!(described.iter().any(|d| d.contains("P30D to P7D")), "{described:?}");
    assert!(described.iter().any(|d| d.contains("5 redemptions")), "{described:?}");

    let got = f.redeem(&file.token, now()).unwrap();
    let keys: Vec<&str> = got.fields.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["contact.email", "identity.given_name", "identity.date_of_birth"]
    );
    assert_eq!(got.fields[0].value, json!("owner@example.org"));
    assert_eq!(got.fields[0].label, "Email address");
    assert_eq!(got.fields[0].version, 1);
    assert_eq!(got.uses, 1);
    assert_eq!(got.uses_left, Some(4));
    assert_eq!(got.disclosed_fields().len(), 3);

    assert_eq!(f.audit_kinds(), vec!["request_received", "grant_issued"]);
    let grants = store::list_grants(f.store.conn()).unwrap();
    assert_eq!(grants[0].uses, 1);
    assert_eq!(grants[0].status(now()), GrantStatus::Active);
}

#[test]
fn owner_cannot_grant_more_than_asked() {
    let mut f = fixture();
    let id = f.import("nonce-0000000000000002", default_scopes());
    let only = |s: &[&str]| ApproveOptions {
        only: Some(s.iter().map(|x| x.to_string()).collect()),
        ..Default::default()
    };
    let e = f.approve(&id, &only(&["contact.address_line1"])).unwrap_err();
    assert_eq!(e.code(), "scope_not_requested");
    // A member of a requested group is still a different scope: refused.
    let e = f.approve(&id, &only(&["identity.given_name"])).unwrap_err();
    assert_eq!(e.code(), "scope_not_requested");
    assert_eq!(f.approve(&id, &only(&[])).unwrap_err().code(), "nothing_granted");
    let longer = ApproveOptions {
        expires_in: Some(Duration::days(31)),
        ..Default::default()
    };
    assert_eq!(f.approve(&id, &longer).unwrap_err().code(), "expiry_too_long");
    let zero = ApproveOptions {
        max_uses: Some(0),
        ..Default::default()
    };
    assert_eq!(f.approve(&id, &zero).unwrap_err().code(), "max_uses_invalid");

    // Nothing was written by the refused attempts.
    assert!(store::list_grants(f.store.conn()).unwrap().is_empty());
    let file = f.approve(&id, &ApproveOptions::default()).unwrap();
    assert_eq!(file.scopes.len(), 3);
    assert_eq!(
        f.approve(&id, &ApproveOptions::default()).unwrap_err().code(),
        "request_already_decided"
    );
}

#[test]
fn deny_duplicate_and_pending_cap() {
    let mut f = fixture();
    let id = f.import("nonce-0000000000000003", default_scopes());
    let tx = f.store.conn_mut().transaction().unwrap();
    let d = store::deny(&tx, &id, Some("not interested"), now()).unwrap();
    tx.commit().unwrap();
    assert_eq!(d.outcome, RequestStatus::Denied);
    assert_eq!(d.differences.len(), 3);
    assert_eq!(
        store::get_request(f.store.conn(), &id).unwrap().status,
        RequestStatus::Denied
    );
    assert_eq!(
        f.approve(&id, &ApproveOptions::default()).unwrap_err().code(),
        "request_already_decided"
    );

    let tx = f.store.conn_mut().transaction().unwrap();
    let dup = store::import_request(
        &tx,
        &request("nonce-0000000000000003", default_scopes()),
        &file_source(),
        now(),
        None,
    );
    assert_eq!(dup.unwrap_err().code(), "request_duplicate");
    let unknown = store::import_request(
        &tx,
        &request(
            "nonce-0000000000000004",
            json!([{"scope": "bank.iban", "purpose": "other", "purpose_text": "x", "required": true}]),
        ),
        &file_source(),
        now(),
        None,
    );
    let e = unknown.unwrap_err();
    assert_eq!(e.code(), "request_invalid");
    assert!(e.to_string().contains("/scopes/0/scope"), "{e}");
    let http = RequestSource::Http {
        remote_addr: Some("127.0.0.1:5555".into()),
        origin_header: None,
        user_agent: Some("curl".into()),
    };
    store::import_request(
        &tx,
        &request("nonce-0000000000000005", default_scopes()),
        &http,
        now(),
        Some(&one_pending()),
    )
    .unwrap();
    let capped = store::import_request(
        &tx,
        &request("nonce-0000000000000006", default_scopes()),
        &http,
        now(),
        Some(&one_pending()),
    );
    assert_eq!(capped.unwrap_err().code(), "requests_pending_limit");
    tx.commit().unwrap();
    assert_eq!(
        f.audit_kinds(),
        vec!["request_received", "grant_denied", "request_received"]
    );
}

fn one_pending() -> store::PendingCaps {
    store::PendingCaps {
        total: 1,
        per_retailer: 1,
        per_source: 1,
    }
}

/// Anyone on the machine can send requests over HTTP from any 127.x address and claim any shop's id: the
/// inbox is capped per claimed retailer and per source (every loopback address is one source), so a flood
/// under one shop's name or over HTTP leaves room for other shops, links and the owner's own files.
#[test]
fn pending_requests_are_capped_per_retailer_and_per_source() {
    let mut f = fixture();
    let caps = store::PendingCaps {
        total: 9,
        per_retailer: 2,
        per_source: 4,
    };
    let tx = f.store.conn_mut().transaction().unwrap();
    let http = |i: u8| RequestSource::Http {
        remote_addr: Some(format!("127.0.0.{i}:5555")),
        origin_header: None,
        user_agent: None,
    };
    let doc = |retailer: &str, i: u8| {
        crate::kit::Request::fixture()
            .retailer(retailer)
            .scopes(default_scopes())
            .nonce(&format!("nonce-cap-{}-{i:012}", retailer.replace('.', "_")))
            .bytes()
    };
    let import = |retailer: &str, i: u8, source: &RequestSource| {
        store::import_request(&tx, &doc(retailer, i), source, now(), Some(&caps)).map_err(|e| (e.code(), e.to_string()))
    };
    // Two per claimed retailer, whatever the address.
    import("shop.example", 1, &http(1)).unwrap();
    import("shop.example", 2, &http(2)).unwrap();
    let (code, message) = import("shop.example", 3, &http(3)).unwrap_err();
    assert_eq!(code, "requests_pending_limit");
    assert!(message.contains("claiming to be from shop.example"), "{message}");
    // Four over HTTP in all, from any number of addresses and names.
    import("a.example", 4, &http(4)).unwrap();
    import("b.example", 5, &http(5)).unwrap();
    let (code, message) = import("c.example", 6, &http(6)).unwrap_err();
    assert_eq!(code, "requests_pending_limit");
    assert!(message.contains("sent over HTTP"), "{message}");
    // Links and files keep their own room.
    let link = RequestSource::File {
        path: store::DEEP_LINK_SOURCE.into(),
    };
    import("c.example", 7, &link).unwrap();
    import("d.example", 8, &file_source()).unwrap();
    import("d.example", 9, &file_source()).unwrap();
    let (_, message) = import("d.example", 10, &file_source()).unwrap_err();
    assert!(message.contains("claiming to be from d.example"), "{message}");
    import("e.example", 11, &link).unwrap();
    import("e.example", 12, &file_source()).unwrap();
    // Nine in all.
    let (_, message) = import("f.example", 13, &file_source()).unwrap_err();
    assert!(message.contains("in all"), "{message}");
    tx.commit().unwrap();
    let pending = store::list_requests(f.store.conn(), Some(store::RequestStatus::Pending)).unwrap();
    assert_eq!(pending.len(), 9);
}

#[test]
fn checks_run_in_order() {
    let mut f = fixture();
    let id = f.import("nonce-0000000000000010", default_scopes());
    let file = f
        .approve(
            &id,
            &ApproveOptions {
                max_uses: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    let t = &file.token;
    let issued: DateTime<Utc> = file.not_before.parse().unwrap();
    assert_eq!(
        f.redeem(t, issued - Duration::seconds(1)).unwrap_err(),
        "token_not_yet_valid"
    );
    assert_eq!(f.redeem(t, issued + Duration::days(30)).unwrap_err(), "token_expired");
    assert_eq!(f.redeem("v4.public.abc", now()).unwrap_err(), "token_malformed");
    f.redeem(t, now()).unwrap();
    f.redeem(t, now()).unwrap();
    assert_eq!(f.redeem(t, now()).unwrap_err(), "grant_uses_exhausted");
    // Expiry is checked before the grant state.
    assert_eq!(f.redeem(t, issued + Duration::days(31)).unwrap_err(), "token_expired");

    // Revocation beats exhaustion, and is seen by the very next redemption.
    let tx = f.store.conn_mut().transaction().unwrap();
    let r = store::revoke(&tx, &file.grant_id, Some("changed my mind"), now()).unwrap();
    tx.commit().unwrap();
    assert!(!r.already);
    assert_eq!(r.grant.status(now()), GrantStatus::Revoked);
    assert_eq!(f.redeem(t, now()).unwrap_err(), "grant_revoked");
    let tx = f.store.conn_mut().transaction().unwrap();
    assert!(store::revoke(&tx, &file.grant_id, None, now()).unwrap().already);
    tx.commit().unwrap();
    assert_eq!(f.audit_kinds().iter().filter(|k| *k == "grant_revoked").count(), 1);

    // A validly signed token for a grant this vault has no record of.
    let mut claims = locket_grants::token::peek_claims(t).unwrap();
    claims.jti = "gr_00000000000000000000000000000000".into();
    let forged_ok = f.signer.token_signer(&claims.aud).unwrap().sign(&claims).unwrap();
    assert_eq!(f.redeem(&forged_ok, now()).unwrap_err(), "grant_unknown");

    // A token from another vault.
    let other = fixture();
    let foreign = other.signer.token_signer(&claims.aud).unwrap().sign(&claims).unwrap();
    assert_eq!(f.redeem(&foreign, now()).unwrap_err(), "token_unknown_key");
    drop(other.vault);
}

#[test]
fn introspection_and_retailer_revocation() {
    let mut f = fixture();
    let id = f.import("nonce-0000000000000020", default_scopes());
    let file = f
        .approve(
            &id,
            &ApproveOptions {
                max_uses: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
    let verifier = f.signer.verifier().unwrap();
    let v = verifier.verify_signature(&file.token).unwrap();
    f.redeem(&file.token, now()).unwrap();
    let i = introspect(f.store.conn(), &v, now()).unwrap();
    assert!(i.active);
    assert_eq!((i.uses, i.uses_left, i.max_uses), (1, Some(2), Some(3)));
    assert_eq!(i.scopes.len(), 3);
    let later = introspect(f.store.conn(), &v, now() + Duration::days(40)).unwrap();
    assert_eq!(later.status, GrantStatus::Expired);
    assert!(!later.active);

    let tx = f.store.conn_mut().transaction().unwrap();
    let r = retailer_revoke(&tx, &v, now()).unwrap();
    tx.commit().unwrap();
    assert!(!r.already_revoked);
    let tx = f.store.conn_mut().transaction().unwrap();
    assert!(retailer_revoke(&tx, &v, now()).unwrap().already_revoked);
    let refused = redeem_verified(&tx, &v, now()).unwrap_err();
    assert_eq!(refused.code(), "grant_revoked");
    drop(tx);
    let i = introspect(f.store.conn(), &v, now()).unwrap();
    assert_eq!(i.status, GrantStatus::Revoked);
    assert_eq!(i.revoked_by, Some(locket_grants::store::RevokedBy::Retailer));
}

#[test]
fn scopes_that_can_no_longer_be_answered() {
    let mut f = fixture();
    profile::add_custom_field(
        f.store.conn(),
        &profile::NewCustomField {
            key: "custom.shoe_width".into(),
            label: "Shoe width".into(),
            field_type: locket_vault::catalog::FieldType::Text,
            options: vec![],
            sensitivity: locket_vault::catalog::Sensitivity::Low,
        },
    )
    .unwrap();
    profile::set(f.store.conn(), "custom.shoe_width", json!("wide")).unwrap();
    let id = f.import(
        "nonce-0000000000000030",
        json!([
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
            {"scope": "contact.phone", "purpose": "delivery", "required": false},
            {"scope": "custom.shoe_width", "purpose": "personalised_recommendations", "required": false}
        ]),
    );
    let file = f.approve(&id, &ApproveOptions::default()).unwrap();
    assert_eq!(f.redeem(&file.token, now()).unwrap().fields.len(), 3);

    // Optional scope emptied: left out, reported as empty.
    profile::remove(f.store.conn(), "contact.phone").unwrap();
    let got = f.redeem(&file.token, now()).unwrap();
    assert_eq!(got.empty_scopes, vec!["contact.phone"]);
    assert!(got.fields.iter().all(|v| v.key != "contact.phone"));

    // Custom field deleted altogether.
    profile::remove_custom_field(f.store.conn(), "custom.shoe_width").unwrap();
    assert_eq!(f.redeem(&file.token, now()).unwrap_err(), "scope_unsatisfiable");

    // Required scope emptied.
    let id = f.import(
        "nonce-0000000000000031",
        json!([{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}]),
    );
    let file = f.approve(&id, &ApproveOptions::default()).unwrap();
    profile::remove(f.store.conn(), "contact.email").unwrap();
    assert_eq!(f.redeem(&file.token, now()).unwrap_err(), "scope_unsatisfiable");
    // A refused redemption counts no use.
    assert_eq!(store::get_grant(f.store.conn(), &file.grant_id).unwrap().uses, 0);
}

#[test]
fn several_age_answers_for_one_retailer_are_refused_unless_the_owner_insists() {
    let mut f = fixture();
    let age = |n: u32| json!({"scope": format!("age_over:{n}"), "purpose": "age_verification", "required": false});
    // Two thresholds in one request: refused, nothing decided.
    let id = f.import("nonce-0000000000000040", json!([age(18), age(21)]));
    let e = f.approve(&id, &ApproveOptions::default()).unwrap_err();
    assert_eq!(e.code(), "age_bracketing");
    assert!(e.to_string().contains("age_over:18 and age_over:21"), "{e}");
    assert_eq!(
        store::get_request(f.store.conn(), &id).unwrap().status,
        RequestStatus::Pending,
        "a refused approval decides nothing"
    );
    // One of them is fine.
    let one = ApproveOptions {
        only: Some(vec!["age_over:18".into()]),
        ..ApproveOptions::default()
    };
    f.approve(&id, &one).unwrap();
    // A later request for another threshold, to the same shop: refused too (it holds the first answer).
    let later = f.import("nonce-0000000000000041", json!([age(25)]));
    let e = f.approve(&later, &ApproveOptions::default()).unwrap_err();
    assert_eq!(e.code(), "age_bracketing");
    assert!(e.to_string().contains("age_over:18 and age_over:25"), "{e}");
    // The same threshold again narrows nothing.
    let same = f.import("nonce-0000000000000042", json!([age(18)]));
    f.approve(&same, &ApproveOptions::default()).unwrap();
    // The owner insists.
    let insist = ApproveOptions {
        allow_age_bracketing: true,
        ..ApproveOptions::default()
    };
    let file = f.approve(&later, &insist).unwrap();
    assert_eq!(f.redeem(&file.token, now()).unwrap().fields.len(), 1);
}

const POOL: &[&str] = &[
    "contact.email",
    "contact.phone",
    "contact.city",
    "contact",
    "identity",
    "identity.given_name",
    "identity.date_of_birth",
    "sizes",
    "channels.opt_in_email",
];

fn covered(scope: &str, key: &str) -> bool {
    key == scope || key.strip_prefix(scope).is_some_and(|rest| rest.starts_with('.'))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Whatever is requested, granted and stored, a redemption never yields a field outside the token's scope.
    #[test]
    fn redemption_never_leaks_outside_scope(
        requested in proptest::sample::subsequence(POOL.to_vec(), 1..=POOL.len()),
        grant_mask in proptest::collection::vec(any::<bool>(), POOL.len()),
        filled in proptest::collection::vec(any::<bool>(), 5),
    ) {
        let mut f = fixture();
        let values = [
            ("contact.email", json!("o@example.org")),
            ("contact.phone", json!("+442071234567")),
            ("contact.postal_code", json!("SW1A 1AA")),
            ("identity.family_name", json!("Lovelace")),
            ("sizes.clothing", json!("M")),
        ];
        for ((k, v), keep) in values.iter().zip(&filled) {
            if !keep {
                let _ = profile::remove(f.store.conn(), k);
            } else {
                profile::set(f.store.conn(), k, v.clone()).unwrap();
            }
        }
        let scopes: Vec<Value> = requested
            .iter()
            .map(|s| json!({"scope": s, "purpose": "order_fulfilment", "required": false}))
            .collect();
        let id = f.import("nonce-prop-000000000000", Value::Array(scopes));
        let only: Vec<String> = requested
            .iter()
            .zip(&grant_mask)
            .filter(|(_, g)| **g)
            .map(|(s, _)| s.to_string())
            .collect();
        prop_assume!(!only.is_empty());
        let file = f.approve(&id, &ApproveOptions { only: Some(only.clone()), ..Default::default() }).unwrap();
        let claims = locket_grants::token::peek_claims(&file.token).unwrap();
        prop_assert_eq!(&claims.scope, &only);
        let got = f.redeem(&file.token, now()).unwrap();
        for v in &got.fields {
            prop_assert!(claims.scope.iter().any(|s| covered(s, &v.key)), "{} leaked; scope {:?}", v.key, claims.scope);
        }
    }
}
