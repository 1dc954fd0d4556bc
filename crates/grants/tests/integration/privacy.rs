//! Privacy by design against a real SQLCipher vault in a temp dir: derived scopes from stored profile values,
//! the differential-privacy budget ledger, consent receipts (signed with the vault key, verified with the
//! published PASERK, chained per grant, golden file) and pairwise pseudonyms.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use locket_grants::derived::{self, WarningKind};
use locket_grants::receipt::{
    self, build_receipt, sign_receipt, verify_receipt, Collection, Receipt, ReceiptContext, ReceiptEvent,
    ReceiptSigner, RECEIPT_SCHEMA,
};
use locket_grants::request::parse_request_at;
use locket_grants::store::{self, ApproveOptions, GrantRecord, GrantedScope, RequestSource};
use locket_grants::Issuers;
use locket_grants::{dp, erasure, ledger};
use locket_grants::{Purpose, ScopeKind, TokenSigner};
use locket_vault::catalog::{FieldType, Sensitivity};
use locket_vault::{profile, KdfParams, Passphrase, Store, Vault};
use ring::rand::SystemRandom;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Fixture {
    tmp: tempfile::TempDir,
    vault: Vault,
    store: Store,
}

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery".into())
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(&tmp.path().join("vault"), &passphrase(), KdfParams::for_tests()).unwrap();
    let store = vault.connect().unwrap();
    Fixture { tmp, vault, store }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn request_doc(retailer: &str, nonce: &str, scopes: Value) -> Vec<u8> {
    crate::kit::Request::fixture()
        .retailer(retailer)
        .scopes(scopes)
        .retention("P90D", "Deleted 90 days after the order ships.")
        .nonce(nonce)
        .bytes()
}

// ---------------------------------------------------------------------------------------------------------
// Derived scopes from the vault.

#[test]
fn derived_scopes_read_current_values_and_report_their_versions() {
    let f = fixture();
    let c = f.store.conn();
    // Missing field: unsatisfiable, never a guessed "false".
    let e = derived::compute_in_vault(c, "age_over:18", day("2026-06-15")).unwrap_err();
    assert_eq!(e.code(), "scope_unsatisfiable");

    profile::set(c, "identity.date_of_birth", json!("2000-01-01")).unwrap();
    let v2 = profile::set(c, "identity.date_of_birth", json!("2008-06-15"))
        .unwrap()
        .version;
    assert_eq!(v2, 2);
    // Birthday today: 18 exactly.
    let got = derived::compute_in_vault(c, "age_over:18", day("2026-06-15")).unwrap();
    assert_eq!(got.value, json!(true));
    assert_eq!(got.sources[0].key, "identity.date_of_birth");
    assert_eq!(got.sources[0].version, 2, "the disclosure log records the version read");
    let got = derived::compute_in_vault(c, "age_over:18", day("2026-06-14")).unwrap();
    assert_eq!(got.value, json!(false));

    // Leap-day birthday in a common year.
    profile::set(c, "identity.date_of_birth", json!("2008-02-29")).unwrap();
    assert_eq!(
        derived::compute_in_vault(c, "age_over:18", day("2026-02-28"))
            .unwrap()
            .value,
        json!(false)
    );
    assert_eq!(
        derived::compute_in_vault(c, "age_over:18", day("2026-03-01"))
            .unwrap()
            .value,
        json!(true)
    );
    assert_eq!(
        derived::compute_in_vault(c, "birth_year_band", day("2026-03-01"))
            .unwrap()
            .value,
        json!("2000-2009")
    );

    profile::set(c, "contact.country", json!("GB")).unwrap();
    profile::set(c, "contact.postal_code", json!("SW1A 1AA")).unwrap();
    profile::set(c, "contact.address_line1", json!("10 Downing Street")).unwrap();
    let region = derived::compute_in_vault(c, "region", day("2026-03-01")).unwrap();
    assert_eq!(region.value, json!({"country": "GB", "postal_area": "SW1A"}));

    profile::set_from_input(c, "sizes.clothing", "14").unwrap();
    profile::set_from_input(c, "sizes.clothing_system", "uk").unwrap();
    assert_eq!(
        derived::compute_in_vault(c, "size_band", day("2026-03-01"))
            .unwrap()
            .value,
        json!("M")
    );

    profile::set_from_input(c, "budget.range", "50-200 GBP").unwrap();
    assert_eq!(
        derived::compute_in_vault(c, "budget_band", day("2026-03-01"))
            .unwrap()
            .value,
        json!({"band": "150_to_500", "currency": "GBP"})
    );

    profile::set_from_input(c, "diet.allergies", "peanuts,sesame").unwrap();
    assert_eq!(
        derived::compute_in_vault(c, "has_dietary_restriction:sesame", day("2026-03-01"))
            .unwrap()
            .value,
        json!(true)
    );
    assert_eq!(
        derived::compute_in_vault(c, "has_dietary_restriction:milk", day("2026-03-01"))
            .unwrap()
            .value,
        json!(false)
    );
    // Preferences never set: unknown.
    assert_eq!(
        derived::compute_in_vault(c, "has_dietary_restriction:vegan", day("2026-03-01"))
            .unwrap_err()
            .code(),
        "scope_unsatisfiable"
    );
    // Removing the field makes the scope unsatisfiable again.
    profile::remove(c, "identity.date_of_birth").unwrap();
    assert_eq!(
        derived::compute_in_vault(c, "age_over:18", day("2026-03-01"))
            .unwrap_err()
            .code(),
        "scope_unsatisfiable"
    );
}

#[test]
fn over_asking_review_sees_custom_sensitive_fields_in_the_vault() {
    let f = fixture();
    profile::add_custom_field(
        f.store.conn(),
        &profile::NewCustomField {
            key: "custom.medication".into(),
            label: "Medication".into(),
            field_type: FieldType::Text,
            options: vec![],
            sensitivity: Sensitivity::Sensitive,
        },
    )
    .unwrap();
    let doc = request_doc(
        "shop.example",
        "nonce-0000000000000001",
        json!([
            {"scope": "identity.date_of_birth", "purpose": "age_verification", "required": true},
            {"scope": "custom.medication", "purpose": "marketing_email", "required": false},
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true}
        ]),
    );
    let req = parse_request_at(&doc, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap();
    let warnings = derived::review_request(f.store.conn(), &req);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_eq!(warnings[0].kind, WarningKind::OverAsking);
    assert_eq!(warnings[0].suggestion.as_ref().unwrap().scope, "age_over:18");
    assert_eq!(warnings[1].kind, WarningKind::SensitiveForMarketing);
    assert_eq!(warnings[1].fields, vec!["custom.medication".to_owned()]);
    // The built-in-only review cannot see the custom field.
    assert_eq!(derived::review_request_builtin(&req).len(), 1);
    // Warnings serialize for the UI with their stable code.
    let json = serde_json::to_value(&warnings[0]).unwrap();
    assert_eq!(json["code"], "over_asking");
    assert_eq!(json["kind"], "over_asking");
}

// ---------------------------------------------------------------------------------------------------------
// Differential privacy budget.

#[test]
fn budget_is_charged_per_answer_and_exhaustion_refuses() {
    let mut f = fixture();
    let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let rng = SystemRandom::new();
    profile::set_from_input(f.store.conn(), "interests.topics", "fashion,books").unwrap();
    let before = dp::budget(f.store.conn(), "shop.example").unwrap();
    assert_eq!(
        (before.total, before.spent, before.answers),
        (dp::DEFAULT_RETAILER_BUDGET, 0.0, 0)
    );

    // Owner sets a budget of 2.5; answers of 1.0 each: two succeed, the third is refused.
    {
        let tx = f.store.conn_mut().transaction().unwrap();
        dp::set_budget(&tx, "shop.example", 2.5, now).unwrap();
        tx.commit().unwrap();
    }
    for i in 1..=2 {
        let tx = f.store.conn_mut().transaction().unwrap();
        let a = dp::answer_in_vault(&tx, "noised:interests.topics", "shop.example", "gr_x", 1.0, now, &rng).unwrap();
        tx.commit().unwrap();
        assert_eq!(a.budget.spent, f64::from(i));
        assert_eq!(a.value["bits"].as_array().unwrap().len(), 18);
        assert_eq!(a.source.as_ref().unwrap().key, "interests.topics");
        assert_eq!(a.source.as_ref().unwrap().version, 1);
    }
    let tx = f.store.conn_mut().transaction().unwrap();
    let err = dp::answer_in_vault(&tx, "noised:interests.topics", "shop.example", "gr_x", 1.0, now, &rng).unwrap_err();
    drop(tx);
    assert_eq!(err.code(), "privacy_budget_exhausted");
    assert_eq!(
        locket_wire::ErrorKind::of_code(err.code()),
        locket_wire::ErrorKind::Forbidden
    );
    assert!(err.to_string().contains("2 of 2.5"), "{err}");
    // A smaller answer still fits.
    {
        let tx = f.store.conn_mut().transaction().unwrap();
        dp::charge(&tx, "shop.example", "gr_x", "noised:interests.topics", 0.5, now).unwrap();
        tx.commit().unwrap();
    }
    let b = dp::budget(f.store.conn(), "shop.example").unwrap();
    assert_eq!((b.spent, b.remaining, b.answers), (2.5, 0.0, 3));

    // A charge whose transaction rolls back (the reply was never sent) costs nothing.
    {
        let tx = f.store.conn_mut().transaction().unwrap();
        dp::set_budget(&tx, "other.example", 1.0, now).unwrap();
        tx.commit().unwrap();
        let tx = f.store.conn_mut().transaction().unwrap();
        dp::charge(&tx, "other.example", "gr_y", "noised:household.size", 1.0, now).unwrap();
        tx.rollback().unwrap();
    }
    assert_eq!(dp::budget(f.store.conn(), "other.example").unwrap().spent, 0.0);
    // Budgets are per retailer, and the ledger lists charges newest first.
    assert_eq!(dp::spends(f.store.conn(), "shop.example").unwrap().len(), 3);
    assert_eq!(dp::spends(f.store.conn(), "shop.example").unwrap()[0].epsilon, 0.5);
    assert_eq!(dp::budgets(f.store.conn()).unwrap().len(), 2);

    // Raising the budget lets answers through again; lowering it below spent refuses everything.
    let tx = f.store.conn_mut().transaction().unwrap();
    dp::set_budget(&tx, "shop.example", 4.0, now).unwrap();
    assert!(dp::charge(&tx, "shop.example", "gr_x", "noised:interests.topics", 1.0, now).is_ok());
    dp::set_budget(&tx, "shop.example", 1.0, now).unwrap();
    assert_eq!(
        dp::charge(&tx, "shop.example", "gr_x", "noised:interests.topics", 0.1, now)
            .unwrap_err()
            .code(),
        "privacy_budget_exhausted"
    );
    assert_eq!(
        dp::set_budget(&tx, "shop.example", -1.0, now).unwrap_err().code(),
        "privacy_budget_invalid"
    );
    tx.commit().unwrap();
}

// ---------------------------------------------------------------------------------------------------------
// Consent receipts.

fn ctx(event: ReceiptEvent, at: DateTime<Utc>) -> ReceiptContext {
    ReceiptContext {
        event,
        event_at: at,
        issued_at: at,
        jurisdiction: "GB".into(),
        language: "en".into(),
        collection_method: "locket-cli".into(),
        remaining_scopes: None,
        note: None,
    }
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(RECEIPT_SCHEMA).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn receipts_for_a_real_grant_verify_with_the_published_key_and_chain() {
    let mut f = fixture();
    let now = Utc::now();
    let token_signer = Issuers::for_vault(&f.vault);
    // Receipts to a retailer are signed with the key its tokens are signed with.
    let receipt_signer = token_signer.receipt_signer("shop.example").unwrap();
    let shop_tokens = token_signer.token_signer("shop.example").unwrap();
    assert_eq!(receipt_signer.issuer().public_key, shop_tokens.public_paserk());
    assert_eq!(receipt_signer.issuer().key_id, shop_tokens.key_id());
    assert!(format!("{receipt_signer:?}").contains("[redacted]"));
    assert!(format!("{token_signer:?}").contains("[redacted]"));

    let tx = f.store.conn_mut().transaction().unwrap();
    let doc = request_doc(
        "shop.example",
        "nonce-0000000000000002",
        json!([
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
            {"scope": "identity", "purpose": "account_management", "required": false}
        ]),
    );
    let rec = store::import_request(&tx, &doc, &RequestSource::File { path: "r.json".into() }, now, None).unwrap();
    let issued = store::approve_via(
        &tx,
        &token_signer,
        &rec.id,
        &ApproveOptions::default(),
        &BTreeMap::new(),
        Collection::Cli,
        "http://127.0.0.1:7419",
        now,
    )
    .unwrap();
    tx.commit().unwrap();
    // Approving issued receipt 1 and put the retailer's copy in the grant file.
    let first = issued.file.receipt.clone().expect("the grant file carries the receipt");
    assert_eq!(
        receipt::for_grant(f.store.conn(), &issued.grant.id).unwrap(),
        vec![first.clone()]
    );
    assert_eq!(first.event, ReceiptEvent::Grant);
    assert_eq!(first.collection_method, "locket-cli");
    assert_eq!(
        first.jurisdiction,
        receipt::DEFAULT_JURISDICTION,
        "no contact.country set"
    );
    assert_eq!(first.note, None, "granted as asked");

    // The retailer's copy verifies with the PASERK from its grant file.
    let text = first.to_json_pretty();
    let checked = verify_receipt(&text, &issued.file.public_key).unwrap();
    assert_eq!(checked, first);
    assert!(
        schema_errors(&serde_json::from_str(&text).unwrap()).is_empty(),
        "{:?}",
        schema_errors(&serde_json::from_str(&text).unwrap())
    );
    assert_eq!(first.version, 1);
    assert_eq!(first.previous_receipt_id, None);
    assert_eq!(first.pii_principal.subject_id, issued.grant.subject);
    assert_eq!(first.controller.privacy_policy_url, "https://shop.example/privacy");
    assert_eq!(first.scopes.len(), 2);
    assert_eq!(first.scopes[0].sensitivity, Sensitivity::Personal);
    assert_eq!(first.retention.max_duration, "P90D");
    // No profile data in a receipt.
    assert!(!text.contains("@example.org"));
    assert_eq!(
        locket_grants::GrantFile::parse(issued.file.to_json_pretty().as_bytes())
            .unwrap()
            .receipt,
        Some(first.clone())
    );

    // The owner narrows to contact.email, then revokes: versions 2 and 3, chained.
    let tx = f.store.conn_mut().transaction().unwrap();
    let id = issued.grant.id.clone();
    assert_eq!(
        store::narrow(&tx, &token_signer, &id, &["contact.phone".into()], Collection::Cli, now)
            .unwrap_err()
            .code(),
        "scope_not_in_grant"
    );
    assert_eq!(
        store::narrow(
            &tx,
            &token_signer,
            &id,
            &["contact.email".into(), "identity".into()],
            Collection::Cli,
            now
        )
        .unwrap_err()
        .code(),
        "nothing_granted"
    );
    let (narrowed, second) =
        store::narrow(&tx, &token_signer, &id, &["identity".into()], Collection::Cli, now).unwrap();
    assert_eq!(narrowed.scopes.len(), 1);
    let later = now + Duration::seconds(1);
    let (revoked, third) = store::revoke_via(
        &tx,
        &token_signer,
        &id,
        Some("no longer shopping there"),
        Collection::Cli,
        later,
    )
    .unwrap();
    assert!(!revoked.already);
    let third = third.expect("a revoke receipt");
    assert_eq!(third.note.as_deref(), Some("no longer shopping there"));
    assert_eq!(third.event_at, locket_grants::token::rfc3339(later));
    // Revoking again changes nothing and issues nothing; a revoked grant cannot be narrowed.
    let (again, none) = store::revoke_via(&tx, &token_signer, &id, None, Collection::Cli, later).unwrap();
    assert!(again.already && none.is_none());
    assert_eq!(
        store::narrow(
            &tx,
            &token_signer,
            &id,
            &["contact.email".into()],
            Collection::Cli,
            later
        )
        .unwrap_err()
        .code(),
        "grant_not_active"
    );
    tx.commit().unwrap();
    assert_eq!(
        (second.event, third.event),
        (ReceiptEvent::Narrowing, ReceiptEvent::Revoke)
    );
    assert_eq!((second.version, third.version), (2, 3));
    assert_eq!(second.previous_receipt_id.as_deref(), Some(first.receipt_id.as_str()));
    assert_eq!(third.previous_receipt_id.as_deref(), Some(second.receipt_id.as_str()));
    assert_eq!(second.scopes.len(), 1);
    assert_eq!(second.withdrawn_scopes, vec!["identity".to_owned()]);
    assert!(third.scopes.is_empty());
    assert_eq!(third.withdrawn_scopes, vec!["contact.email".to_owned()]);
    for r in [&second, &third] {
        verify_receipt(&r.to_json_pretty(), &issued.file.public_key).unwrap();
        assert!(schema_errors(&serde_json::to_value(r).unwrap()).is_empty());
    }
    // The narrowing is in the access log.
    let narrowed_events = locket_audit::query(
        f.store.conn(),
        &locket_audit::Filter {
            kind: Some(locket_audit::EventKind::Other("grant_narrowed".into())),
            ..Default::default()
        },
        None,
        10,
    )
    .unwrap()
    .events;
    assert_eq!(narrowed_events.len(), 1);
    // The owner's export lists them all, and by event; one receipt can be looked up by a prefix of its id.
    let all = receipt::list_receipts(f.store.conn(), Some("shop.example"), None).unwrap();
    assert_eq!(all.len(), 3);
    let revokes = receipt::list_receipts(f.store.conn(), None, Some(ReceiptEvent::Revoke)).unwrap();
    assert_eq!(revokes, vec![third.clone()]);
    assert_eq!(
        receipt::latest_for_grant(f.store.conn(), &issued.grant.id)
            .unwrap()
            .unwrap(),
        third
    );
    assert_eq!(
        receipt::get_receipt(f.store.conn(), &second.receipt_id[..12]).unwrap(),
        Some(second.clone())
    );
    assert_eq!(receipt::get_receipt(f.store.conn(), "cr_nope").unwrap(), None);
}

/// Minimized and partial approvals say how the grant differs from the request in the receipt's note.
#[test]
fn a_narrowed_approval_is_noted_in_its_receipt() {
    let mut f = fixture();
    let now = Utc::now();
    let token_signer = Issuers::for_vault(&f.vault);
    let tx = f.store.conn_mut().transaction().unwrap();
    profile::set_from_input(&tx, "contact.country", "de").unwrap();
    let doc = request_doc(
        "shop.example",
        "nonce-0000000000000070",
        json!([
            {"scope": "identity.date_of_birth", "purpose": "age_verification", "required": true},
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": false}
        ]),
    );
    let rec = store::import_request(&tx, &doc, &RequestSource::File { path: "r.json".into() }, now, None).unwrap();
    let minimize = BTreeMap::from([("identity.date_of_birth".to_owned(), "age_over:18".to_owned())]);
    let opts = ApproveOptions {
        only: Some(vec!["identity.date_of_birth".into()]),
        ..ApproveOptions::default()
    };
    let issued = store::approve_minimized(
        &tx,
        &token_signer,
        &rec.id,
        &opts,
        &minimize,
        "http://127.0.0.1:7419",
        now,
    )
    .unwrap();
    tx.commit().unwrap();
    let r = issued.file.receipt.expect("receipt");
    assert_eq!(r.jurisdiction, "DE");
    assert_eq!(r.collection_method, "locket");
    assert_eq!(
        r.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(),
        ["age_over:18"]
    );
    let note = r.note.expect("a note");
    assert!(
        note.contains("age_over:18 granted instead of identity.date_of_birth"),
        "{note}"
    );
    assert!(note.contains("contact.email not granted"), "{note}");
}

/// The request of the golden receipt: with a benefit and two recipients, so the receipt records both.
fn golden_grant() -> (GrantRecord, locket_grants::GrantRequest) {
    let doc = crate::kit::Request::fixture()
        .retailer("shop.example")
        .scopes(json!([
            {"scope": "age_over:18", "purpose": "age_verification", "required": true},
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true, "purpose_text": "Order confirmations"}
        ]))
        .retention("P90D", "Deleted 90 days after the order ships.")
        .benefit(json!({
            "description": "5 GBP off your first order",
            "offer": {"kind": "discount_amount", "amount": "5.00", "currency": "GBP"}
        }))
        .recipients(json!([
            {"name": "Parcel Express Ltd", "role": "processor", "purpose": "delivery", "country": "GB"},
            {"name": "Insight Panel Inc.", "role": "third_party", "purpose": "analytics",
             "purpose_text": "Statistics about our customers", "country": "US"}
        ]))
        .nonce("nonce-0000000000000003")
        .bytes();
    let request = parse_request_at(&doc, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap();
    let issued: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
    let scope = |s: &str, kind, label: &str, purpose, text: Option<&str>| GrantedScope {
        scope: s.into(),
        kind,
        label: label.into(),
        purpose,
        purpose_text: text.map(Into::into),
        required: true,
    };
    let grant = GrantRecord {
        id: "gr_0123456789abcdef0123456789abcdef".into(),
        request_id: "req_00112233445566778899aabbccddeeff".into(),
        retailer_id: "shop.example".into(),
        retailer_name: "Example Shop".into(),
        subject: "s0m3-pa1rw1se-subj3ct".into(),
        scopes: vec![
            scope(
                "age_over:18",
                ScopeKind::Derived,
                "Whether you are at least 18",
                Purpose::AgeVerification,
                None,
            ),
            scope(
                "contact.email",
                ScopeKind::Field,
                "Email address",
                Purpose::OrderFulfilment,
                Some("Order confirmations"),
            ),
        ],
        issued_at: issued,
        not_before: issued,
        expires_at: issued + Duration::days(30),
        max_uses: Some(10),
        uses: 0,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    };
    (grant, request)
}

const SEED: [u8; 32] = [7; 32];

/// The golden receipt: signed as the golden vault's pairwise issuer for the grant's retailer.
fn golden_receipt() -> (ReceiptSigner, Receipt) {
    let (grant, request) = golden_grant();
    let signer = Issuers::from_secrets(&SEED, &[0xa5; 32], "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10")
        .receipt_signer(&grant.retailer_id)
        .unwrap();
    assert!(signer.issuer().vault_id.starts_with("iss_"));
    let mut unsigned = build_receipt(
        &grant,
        &request,
        &ctx(ReceiptEvent::Grant, grant.issued_at),
        None,
        signer.issuer(),
    )
    .unwrap();
    unsigned.receipt_id = "cr_0123456789abcdef0123456789abcdef".into();
    let signed = sign_receipt(&signer, unsigned).unwrap();
    (signer, signed)
}

#[test]
fn receipt_golden_file_is_stable_valid_and_verifies() {
    let (signer, r) = golden_receipt();
    let text = r.to_json_pretty() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/consent-receipt.v1.json");
    if std::env::var_os("LOCKET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    assert_eq!(
        text, expected,
        "consent-receipt.v1.json changed; if deliberate, rerun with LOCKET_UPDATE_GOLDEN=1"
    );
    let doc: Value = serde_json::from_str(&expected).unwrap();
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
    verify_receipt(&expected, &signer.issuer().public_key).unwrap();
    assert_eq!(doc["scopes"][0]["kind"], "derived");
    assert_eq!(doc["scopes"][0]["sensitivity"], "low");
    // What the owner was told they get, and who else gets the data, are recorded as the request said.
    assert_eq!(
        doc["benefit"],
        json!({"description": "5 GBP off your first order",
               "offer": {"kind": "discount_amount", "amount": "5.00", "currency": "GBP"}})
    );
    assert_eq!(doc["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(doc["recipients"][0]["role"], "processor");
    assert_eq!(doc["recipients"][1]["country"], "US");
    assert_eq!(doc["recipients"][1]["purpose_text"], "Statistics about our customers");
}

/// A receipt issued before Locket recorded benefits and recipients (the golden of that time, unchanged) still
/// verifies, and reads as having neither; the signature still covers everything it holds.
#[test]
fn an_older_receipt_without_benefit_or_recipients_still_verifies() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/consent-receipt.v1.older.json");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc.get("benefit").is_none() && doc.get("recipients").is_none());
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
    let key = doc["issuer"]["public_key"].as_str().unwrap();
    let r = verify_receipt(&text, key).unwrap();
    assert_eq!(r.benefit, None);
    assert_eq!(r.recipients, None);
    // Claiming, after signing, that the shop named nobody else (or offered something) breaks the signature.
    for (member, value) in [
        ("recipients", json!([])),
        ("benefit", json!({"description": "Free delivery"})),
    ] {
        let mut added = doc.clone();
        added[member] = value;
        assert_eq!(
            verify_receipt(&added.to_string(), key).unwrap_err().code(),
            "receipt_invalid_signature",
            "{member}"
        );
    }
}

#[test]
fn a_receipt_for_a_request_without_recipients_records_that_it_named_nobody_else() {
    let (mut grant, _) = golden_grant();
    let doc = request_doc(
        "shop.example",
        "nonce-0000000000000004",
        json!([{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}]),
    );
    let request = parse_request_at(&doc, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap();
    grant.scopes.truncate(1);
    let signer = ReceiptSigner::from_seed(&SEED, "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10").unwrap();
    let unsigned = build_receipt(
        &grant,
        &request,
        &ctx(ReceiptEvent::Grant, grant.issued_at),
        None,
        signer.issuer(),
    )
    .unwrap();
    let signed = sign_receipt(&signer, unsigned).unwrap();
    let value = serde_json::to_value(&signed).unwrap();
    assert_eq!(value["recipients"], json!([]), "an empty list, not a missing member");
    assert!(value.get("benefit").is_none(), "nothing was offered");
    let r = verify_receipt(&signed.to_json_pretty(), &signer.issuer().public_key).unwrap();
    assert_eq!(r.recipients, Some(Vec::new()));
}

#[test]
fn tampered_receipts_and_wrong_keys_fail() {
    let (signer, r) = golden_receipt();
    let key = signer.issuer().public_key.clone();
    let good = serde_json::to_value(&r).unwrap();
    let tamper = |path: &[&str], v: Value| {
        let mut doc = good.clone();
        let mut at = &mut doc;
        for p in &path[..path.len() - 1] {
            at = if let Ok(i) = p.parse::<usize>() {
                &mut at[i]
            } else {
                &mut at[*p]
            };
        }
        at[path[path.len() - 1]] = v;
        verify_receipt(&doc.to_string(), &key).map(|_| ()).unwrap_err().code()
    };
    assert_eq!(
        tamper(&["controller", "name"], json!("Evil Shop")),
        "receipt_invalid_signature"
    );
    assert_eq!(
        tamper(&["scopes", "0", "purpose"], json!("marketing_email")),
        "receipt_invalid_signature"
    );
    assert_eq!(
        tamper(&["grant", "expires_at"], json!("2099-01-01T00:00:00Z")),
        "receipt_invalid_signature"
    );
    assert_eq!(
        tamper(&["retention", "statement"], json!("Kept forever")),
        "receipt_invalid_signature"
    );
    assert_eq!(tamper(&["event"], json!("revoke")), "receipt_invalid_signature");
    assert_eq!(
        tamper(&["benefit", "offer", "amount"], json!("50.00")),
        "receipt_invalid_signature"
    );
    assert_eq!(
        tamper(&["recipients", "1", "role"], json!("processor")),
        "receipt_invalid_signature"
    );
    assert_eq!(tamper(&["recipients"], json!([])), "receipt_invalid_signature");
    // An extra member is refused before the signature is even checked.
    let mut extra = good.clone();
    extra["sold_to"] = json!("data broker");
    assert_eq!(
        verify_receipt(&extra.to_string(), &key).unwrap_err().code(),
        "receipt_malformed"
    );
    // A flipped bit in the token itself.
    let mut doc = good.clone();
    let token = doc["proof"]["token"].as_str().unwrap().to_owned();
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    doc["proof"]["token"] = json!(chars.into_iter().collect::<String>());
    assert_eq!(
        verify_receipt(&doc.to_string(), &key).unwrap_err().code(),
        "receipt_invalid_signature"
    );
    // Another vault's key; a key that is not a PASERK; no proof at all.
    let other = ReceiptSigner::from_seed(&[9; 32], "other").unwrap();
    assert_eq!(
        verify_receipt(&good.to_string(), &other.issuer().public_key)
            .unwrap_err()
            .code(),
        "receipt_invalid_signature"
    );
    assert_eq!(
        verify_receipt(&good.to_string(), "k4.public.nope").unwrap_err().code(),
        "receipt_key_invalid"
    );
    let mut unsigned = good.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    assert_eq!(
        verify_receipt(&unsigned.to_string(), &key).unwrap_err().code(),
        "receipt_malformed"
    );
    assert_eq!(
        verify_receipt("not json", &key).unwrap_err().code(),
        "receipt_malformed"
    );
}

#[test]
fn a_receipt_signature_is_never_a_grant_token_and_vice_versa() {
    let (_, r) = golden_receipt();
    let tokens = TokenSigner::from_seed(&SEED, &[1; 32], "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10").unwrap();
    // Same key, but the receipt's token does not pass as a grant token.
    let as_grant = tokens.verifier().verify(
        &r.proof.as_ref().unwrap().token,
        "2026-11-25T00:00:00Z".parse().unwrap(),
    );
    assert!(as_grant.is_err());
    // And a grant token cannot stand in as a receipt proof (implicit assertion differs).
    let (grant, _) = golden_grant();
    let claims = locket_grants::TokenClaims {
        iss: tokens.issuer().into(),
        sub: grant.subject.clone(),
        aud: grant.retailer_id.clone(),
        jti: grant.id.clone(),
        iat: "2026-11-24T15:00:00Z".into(),
        nbf: "2026-11-24T15:00:00Z".into(),
        exp: "2026-12-24T15:00:00Z".into(),
        scope: vec!["contact.email".into()],
        purposes: [("contact.email".to_owned(), Purpose::OrderFulfilment)]
            .into_iter()
            .collect(),
    };
    let grant_token = tokens.sign(&claims).unwrap();
    let mut forged = serde_json::to_value(&r).unwrap();
    forged["proof"]["token"] = json!(grant_token);
    assert_eq!(
        verify_receipt(&forged.to_string(), tokens.public_paserk())
            .unwrap_err()
            .code(),
        "receipt_invalid_signature"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Pairwise pseudonyms.

#[test]
fn pairwise_subjects_are_stable_per_vault_and_unlinkable_across_retailers_and_vaults() {
    let f = fixture();
    let subject = |i: &Issuers, r: &str| i.token_signer(r).unwrap().subject_for(r);
    let a = Issuers::for_vault(&f.vault);
    let s1 = subject(&a, "shop.example");
    // Reopen the vault from disk: same subject.
    let dir = f.tmp.path().join("vault");
    drop(f.store);
    drop(f.vault);
    let reopened = Vault::unlock(&dir, &passphrase()).unwrap();
    let again = Issuers::for_vault(&reopened);
    assert_eq!(subject(&again, "shop.example"), s1);
    // Another retailer, or another vault: unrelated ids.
    let s2 = subject(&again, "books.example");
    assert_ne!(s1, s2);
    let other = fixture();
    let s3 = subject(&Issuers::for_vault(&other.vault), "shop.example");
    assert_ne!(s1, s3);
    // Unrelated, not just different: no shared prefix beyond chance, and neither contains the retailer id.
    for (x, y) in [(&s1, &s2), (&s1, &s3)] {
        let common = x.chars().zip(y.chars()).take_while(|(a, b)| a == b).count();
        assert!(common < 6, "{x} vs {y}");
    }
    assert!(!s1.contains("shop"));
    assert_eq!(s1.len(), 43);
}

// ---------------------------------------------------------------------------------------------------------
// Disclosure ledger, erasure and email aliases.

struct Granted {
    grant: GrantRecord,
    token: String,
}

fn grant_for(f: &mut Fixture, retailer: &str, nonce: &str, scopes: Value) -> Granted {
    let signer = Issuers::for_vault(&f.vault);
    let tx = f.store.conn_mut().transaction().unwrap();
    let doc = request_doc(retailer, nonce, scopes);
    let rec = store::import_request(
        &tx,
        &doc,
        &RequestSource::File { path: "r.json".into() },
        Utc::now(),
        None,
    )
    .unwrap();
    let issued = store::approve(
        &tx,
        &signer,
        &rec.id,
        &ApproveOptions::default(),
        "http://127.0.0.1:7419",
        Utc::now(),
    )
    .unwrap();
    tx.commit().unwrap();
    Granted {
        grant: issued.grant,
        token: issued.file.token,
    }
}

/// Redeem like the endpoint does: checks, use count and the access-log event in one transaction.
fn redeem_logged(f: &mut Fixture, g: &Granted) {
    let verifier = Issuers::for_vault(&f.vault).verifier().unwrap();
    let tx = f.store.conn_mut().transaction().unwrap();
    let r = locket_grants::redeem::redeem(&tx, &verifier, &g.token, Utc::now()).unwrap();
    locket_audit::append(
        &tx,
        &locket_audit::NewEvent::new(locket_audit::EventKind::Redemption, locket_audit::Outcome::Ok)
            .grant(r.grant_id.clone())
            .retailer(r.retailer_id.clone())
            .fields(r.disclosed_fields()),
    )
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn ledger_shows_who_holds_which_version_after_edits() {
    let mut f = fixture();
    profile::set(f.store.conn(), "contact.city", json!("London")).unwrap();
    profile::set(f.store.conn(), "contact.email", json!("owner@example.org")).unwrap();
    let scopes = json!([{"scope": "contact.city", "purpose": "delivery", "required": true}]);
    let a = grant_for(&mut f, "a.example", "nonce-0000000000000010", scopes.clone());
    let b = grant_for(&mut f, "b.example", "nonce-0000000000000011", scopes.clone());
    let c = grant_for(
        &mut f,
        "c.example",
        "nonce-0000000000000012",
        json!([{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}]),
    );
    redeem_logged(&mut f, &a);
    redeem_logged(&mut f, &b);
    redeem_logged(&mut f, &c);
    assert_eq!(ledger::data_changed_since(f.store.conn(), &a.grant.id).unwrap(), None);
    assert!(ledger::outdated_holders(f.store.conn(), "contact.city")
        .unwrap()
        .is_empty());

    // The owner moves: both city holders now hold the previous version, since the edit.
    profile::set(f.store.conn(), "contact.city", json!("Leeds")).unwrap();
    let edited_at = profile::get(f.store.conn(), "contact.city")
        .unwrap()
        .unwrap()
        .set_at
        .unwrap();
    let outdated = ledger::outdated_holders(f.store.conn(), "contact.city").unwrap();
    assert_eq!(outdated.len(), 2);
    assert_eq!(outdated[0].retailer_id, "a.example");
    assert_eq!((outdated[0].version, outdated[0].current_version), (1, Some(2)));
    assert_eq!(outdated[0].outdated_since, Some(edited_at));
    assert_eq!(
        ledger::data_changed_since(f.store.conn(), &a.grant.id).unwrap(),
        Some(edited_at)
    );
    // The email holder is unaffected.
    assert_eq!(ledger::data_changed_since(f.store.conn(), &c.grant.id).unwrap(), None);
    assert!(!ledger::held_by(f.store.conn(), "c.example").unwrap()[0].is_outdated());

    // Retailer a fetches again: it holds the current version; b still does not.
    redeem_logged(&mut f, &a);
    assert_eq!(ledger::data_changed_since(f.store.conn(), &a.grant.id).unwrap(), None);
    let holders = ledger::holders_of(f.store.conn(), "contact.city").unwrap();
    assert_eq!(holders.len(), 2);
    assert_eq!((holders[0].version, holders[0].is_outdated()), (2, false));
    assert_eq!((holders[1].version, holders[1].is_outdated()), (1, true));
    assert!(holders[0].first_received_at <= holders[0].last_received_at);
    // Removing the value: every holder is outdated, current version None.
    profile::remove(f.store.conn(), "contact.city").unwrap();
    let holders = ledger::holders_of(f.store.conn(), "contact.city").unwrap();
    assert!(holders.iter().all(|h| h.is_outdated() && h.current_version.is_none()));
}

#[test]
fn erasure_request_and_acknowledgement() {
    let mut f = fixture();
    profile::set(f.store.conn(), "contact.email", json!("owner@example.org")).unwrap();
    let scopes = json!([{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}]);
    let g1 = grant_for(&mut f, "shop.example", "nonce-0000000000000020", scopes.clone());
    let g2 = grant_for(&mut f, "shop.example", "nonce-0000000000000021", scopes.clone());
    let other = grant_for(&mut f, "other.example", "nonce-0000000000000022", scopes);
    let t0: DateTime<Utc> = Utc::now();
    assert_eq!(
        erasure::status_for_grant(f.store.conn(), &g1.grant.id)
            .unwrap()
            .erasure_requested_at,
        None
    );

    let tx = f.store.conn_mut().transaction().unwrap();
    // A grant of another retailer cannot be named.
    assert_eq!(
        erasure::request_erasure(&tx, "shop.example", Some(&other.grant.id), None, t0)
            .unwrap_err()
            .code(),
        "grant_wrong_retailer"
    );
    let req = erasure::request_erasure(&tx, "shop.example", None, Some("please delete my account"), t0).unwrap();
    tx.commit().unwrap();
    assert!(req.id.starts_with("er_"));
    // Retailer-wide: both of its grants see it, the other retailer's does not.
    for g in [&g1, &g2] {
        let s = erasure::status_for_grant(f.store.conn(), &g.grant.id).unwrap();
        assert_eq!(s.erasure_requested_at.as_deref(), Some(req.requested_at.as_str()));
        assert_eq!(s.erasure_acknowledged_at, None);
    }
    assert_eq!(
        erasure::status_for_grant(f.store.conn(), &other.grant.id)
            .unwrap()
            .erasure_requested_at,
        None
    );

    // The retailer acknowledges through one grant; idempotent.
    let t1 = t0 + Duration::hours(2);
    let tx = f.store.conn_mut().transaction().unwrap();
    let acked = erasure::acknowledge(&tx, &g2.grant.id, t1).unwrap();
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].acknowledged_by.as_deref(), Some(g2.grant.id.as_str()));
    let again = erasure::acknowledge(&tx, &g2.grant.id, t1 + Duration::hours(1)).unwrap();
    assert_eq!(again[0].acknowledged_at, acked[0].acknowledged_at);
    tx.commit().unwrap();
    let s = erasure::status_for_grant(f.store.conn(), &g1.grant.id).unwrap();
    assert_eq!(s.erasure_acknowledged_at, acked[0].acknowledged_at);
    assert_eq!(erasure::list(f.store.conn(), Some("shop.example")).unwrap().len(), 1);
    assert!(erasure::list(f.store.conn(), Some("other.example")).unwrap().is_empty());

    // Both steps are in the access log, and the chain still verifies.
    let kinds: Vec<String> = f
        .store
        .conn()
        .prepare("SELECT kind FROM audit_events WHERE kind LIKE 'erasure_%' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, vec!["erasure_requested", "erasure_acknowledged"]);
    let report = locket_audit::verify(f.store.conn(), None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
}

#[test]
fn email_aliases_are_per_retailer_and_never_shared() {
    let mut f = fixture();
    let now = Utc::now();
    let tx = f.store.conn_mut().transaction().unwrap();
    let a = erasure::set_alias(&tx, "shop.example", " shop-7f3@alias.example ", now).unwrap();
    assert_eq!(a.alias, "shop-7f3@alias.example");
    assert_eq!(
        erasure::set_alias(&tx, "books.example", "SHOP-7F3@alias.example", now)
            .unwrap_err()
            .code(),
        "alias_in_use"
    );
    assert_eq!(
        erasure::set_alias(&tx, "books.example", "not an email", now)
            .unwrap_err()
            .code(),
        "alias_invalid"
    );
    erasure::set_alias(&tx, "books.example", "books-91c@alias.example", now).unwrap();
    // Retired aliases stay reserved for their retailer.
    assert!(erasure::retire_alias(&tx, "shop.example", now).unwrap());
    assert!(!erasure::retire_alias(&tx, "shop.example", now).unwrap());
    assert_eq!(
        erasure::set_alias(&tx, "books.example", "shop-7f3@alias.example", now)
            .unwrap_err()
            .code(),
        "alias_in_use"
    );
    tx.commit().unwrap();
    assert_eq!(erasure::alias_for(f.store.conn(), "shop.example").unwrap(), None);
    assert_eq!(
        erasure::alias_for(f.store.conn(), "books.example")
            .unwrap()
            .unwrap()
            .alias,
        "books-91c@alias.example"
    );
    assert_eq!(erasure::list_aliases(f.store.conn()).unwrap().len(), 2);
    assert_eq!(
        erasure::retailer_for_alias(f.store.conn(), "Shop-7f3@alias.example")
            .unwrap()
            .as_deref(),
        Some("shop.example")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Derived and noised scopes through request validation, approval and redemption.

#[test]
fn derived_and_noised_scopes_are_validated_granted_and_redeemed() {
    let mut f = fixture();
    let c = f.store.conn();
    profile::set(c, "identity.date_of_birth", json!("2000-02-29")).unwrap();
    profile::set(c, "contact.country", json!("GB")).unwrap();
    profile::set(c, "contact.postal_code", json!("M1 1AE")).unwrap();
    profile::set_from_input(c, "interests.topics", "fashion,books").unwrap();
    let catalog = locket_grants::VaultCatalog::new(c);

    // Validation: a noised scope for marketing and a bad derived argument are named with their rule.
    let bad = request_doc(
        "shop.example",
        "nonce-0000000000000030",
        json!([
            {"scope": "noised:interests.topics", "purpose": "marketing_email", "required": false},
            {"scope": "age_over:200", "purpose": "age_verification", "required": true}
        ]),
    );
    let err = locket_grants::request::validate_request(&bad, &catalog, Utc::now()).unwrap_err();
    let rules: Vec<(&str, &str)> = err
        .problems()
        .iter()
        .map(|p| (p.path.as_str(), p.rule.as_str()))
        .collect();
    assert!(rules.contains(&("/scopes/1/scope", "known_scope")), "{rules:?}");
    assert!(rules.contains(&("/scopes/0/purpose", "derived_purpose")), "{rules:?}");

    let scopes = json!([
        {"scope": "age_over:18", "purpose": "age_verification", "required": true},
        {"scope": "contact.country", "purpose": "delivery", "required": true},
        {"scope": "noised:interests.topics", "purpose": "analytics", "required": false},
        {"scope": "region", "purpose": "analytics", "required": false},
        {"scope": "size_band", "purpose": "analytics", "required": false}
    ]);
    let ok = request_doc("shop.example", "nonce-0000000000000031", scopes.clone());
    locket_grants::request::validate_request(&ok, &catalog, Utc::now()).unwrap();
    let g = grant_for(&mut f, "shop.example", "nonce-0000000000000031", scopes);
    assert_eq!(g.grant.scopes[0].kind, ScopeKind::Derived);
    assert_eq!(g.grant.scopes[0].label, "Whether you are at least 18");
    assert_eq!(g.grant.scopes[2].kind, ScopeKind::Derived);

    // Redeem: the answers, never the date of birth or the postcode.
    let verifier = Issuers::for_vault(&f.vault).verifier().unwrap();
    let tx = f.store.conn_mut().transaction().unwrap();
    let r = locket_grants::redeem::redeem(&tx, &verifier, &g.token, Utc::now()).unwrap();
    tx.commit().unwrap();
    let keys: Vec<&str> = r.fields.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["age_over:18", "contact.country", "noised:interests.topics", "region"]
    );
    assert_eq!(
        r.empty_scopes,
        vec!["size_band".to_owned()],
        "optional derived scope without data"
    );
    assert_eq!(r.fields[0].value, json!(true));
    assert_eq!(r.fields[0].version, 0);
    assert_eq!(r.fields[3].value, json!({"country": "GB", "postal_area": "M1"}));
    assert_eq!(r.fields[2].value["bits"].as_array().unwrap().len(), 18);
    let wire = serde_json::to_string(&r).unwrap();
    assert!(!wire.contains("2000-02-29") && !wire.contains("1AE"), "{wire}");
    assert!(!wire.contains("derived_sources"));
    // The log records the answers and the versions they came from.
    let logged: Vec<(String, i64)> = r.disclosed_fields().into_iter().map(|d| (d.key, d.version)).collect();
    for expected in [
        ("age_over:18", 0),
        ("identity.date_of_birth", 1),
        ("interests.topics", 1),
        ("contact.postal_code", 1),
    ] {
        assert!(
            logged.contains(&(expected.0.to_owned(), expected.1)),
            "{expected:?} not in {logged:?}"
        );
    }
    assert_eq!(
        dp::budget(f.store.conn(), "shop.example").unwrap().spent,
        dp::DEFAULT_EPSILON_PER_ANSWER
    );

    // Budget: room for one more answer only; the redemption after that is refused and nothing is charged.
    {
        let tx = f.store.conn_mut().transaction().unwrap();
        dp::set_budget(&tx, "shop.example", 2.0, Utc::now()).unwrap();
        tx.commit().unwrap();
    }
    let redeem_once = |f: &mut Fixture| {
        let tx = f.store.conn_mut().transaction().unwrap();
        let out = locket_grants::redeem::redeem(&tx, &verifier, &g.token, Utc::now());
        tx.commit().unwrap();
        out
    };
    assert!(redeem_once(&mut f).is_ok());
    let refused = redeem_once(&mut f).unwrap_err();
    assert_eq!(refused.error.code(), "privacy_budget_exhausted");
    assert_eq!(
        locket_wire::ErrorKind::of_code(refused.error.code()),
        locket_wire::ErrorKind::Forbidden
    );
    let b = dp::budget(f.store.conn(), "shop.example").unwrap();
    assert_eq!((b.spent, b.answers), (2.0, 2));
    let uses: u32 = f
        .store
        .conn()
        .query_row("SELECT uses FROM grants WHERE id = ?1", [&g.grant.id], |r| r.get(0))
        .unwrap();
    assert_eq!(uses, 2, "a refused redemption uses nothing");

    // A required derived scope whose data is removed: scope_unsatisfiable.
    profile::remove(f.store.conn(), "identity.date_of_birth").unwrap();
    let tx = f.store.conn_mut().transaction().unwrap();
    dp::set_budget(&tx, "shop.example", 10.0, Utc::now()).unwrap();
    tx.commit().unwrap();
    assert_eq!(redeem_once(&mut f).unwrap_err().error.code(), "scope_unsatisfiable");
}

#[test]
fn the_owner_grants_the_minimized_answer_instead_of_the_raw_field() {
    let mut f = fixture();
    profile::set(f.store.conn(), "identity.date_of_birth", json!("1990-04-21")).unwrap();
    profile::set(f.store.conn(), "contact.email", json!("owner@example.org")).unwrap();
    let signer = Issuers::for_vault(&f.vault);
    let doc = request_doc(
        "pub.example",
        "nonce-0000000000000040",
        json!([
            {"scope": "identity.date_of_birth", "purpose": "age_verification", "required": true},
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true}
        ]),
    );
    let tx = f.store.conn_mut().transaction().unwrap();
    let rec = store::import_request(
        &tx,
        &doc,
        &RequestSource::File { path: "r.json".into() },
        Utc::now(),
        None,
    )
    .unwrap();
    // The over-asking check offers age_over:18 for the date of birth.
    let warnings = derived::review_request(&tx, &rec.request);
    let offer = warnings[0].suggestion.clone().unwrap();
    assert_eq!(
        (warnings[0].scope.as_str(), offer.scope.as_str()),
        ("identity.date_of_birth", "age_over:18")
    );

    let endpoint = "http://127.0.0.1:7419";
    let opts = ApproveOptions::default();
    let wrong = |raw: &str, to: &str| {
        let m = [(raw.to_owned(), to.to_owned())].into_iter().collect();
        store::approve_minimized(&tx, &signer, &rec.id, &opts, &m, endpoint, Utc::now())
            .unwrap_err()
            .code()
    };
    assert_eq!(wrong("identity.date_of_birth", "region"), "minimization_invalid");
    assert_eq!(wrong("contact.phone", "age_over:18"), "minimization_invalid");
    assert_eq!(wrong("contact.email", "age_over:18"), "minimization_invalid");
    assert_eq!(wrong("identity.date_of_birth", "contact.email"), "minimization_invalid");

    let minimize = [("identity.date_of_birth".to_owned(), offer.scope.clone())]
        .into_iter()
        .collect();
    let issued = store::approve_minimized(&tx, &signer, &rec.id, &opts, &minimize, endpoint, Utc::now()).unwrap();
    tx.commit().unwrap();
    let granted: Vec<&str> = issued.grant.scopes.iter().map(|s| s.scope.as_str()).collect();
    assert_eq!(granted, vec!["age_over:18", "contact.email"]);
    assert_eq!(issued.grant.scopes[0].purpose, Purpose::AgeVerification);
    assert_eq!(issued.file.scopes[0].scope, "age_over:18");
    assert!(issued.file.scopes[0].fields.is_empty());
    assert!(issued.decision.differences.iter().any(|d| d
        .describe()
        .contains("age_over:18 granted instead of identity.date_of_birth")));
    // The grant file stays valid against its schema.
    let schema: Value = serde_json::from_str(locket_grants::grantfile::GRANT_SCHEMA).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    assert!(v.is_valid(&serde_json::from_str(&issued.file.to_json_pretty()).unwrap()));

    // The retailer gets true and the email, never the date of birth.
    let verifier = signer.verifier().unwrap();
    let tx = f.store.conn_mut().transaction().unwrap();
    let r = locket_grants::redeem::redeem(&tx, &verifier, &issued.file.token, Utc::now()).unwrap();
    tx.commit().unwrap();
    assert_eq!(r.fields[0].value, json!(true));
    assert!(!serde_json::to_string(&r).unwrap().contains("1990"));
}

#[test]
fn email_alias_scope_gives_each_retailer_its_own_alias() {
    let mut f = fixture();
    profile::set(f.store.conn(), "contact.email", json!("owner@example.org")).unwrap();
    {
        let tx = f.store.conn_mut().transaction().unwrap();
        erasure::set_alias(&tx, "shop.example", "shop-7f3@alias.example", Utc::now()).unwrap();
        tx.commit().unwrap();
    }
    let scopes = json!([{"scope": "email_alias", "purpose": "marketing_email", "required": false}]);
    let shop = grant_for(&mut f, "shop.example", "nonce-0000000000000050", scopes.clone());
    let other = grant_for(&mut f, "other.example", "nonce-0000000000000051", scopes);
    let verifier = Issuers::for_vault(&f.vault).verifier().unwrap();
    let tx = f.store.conn_mut().transaction().unwrap();
    let a = locket_grants::redeem::redeem(&tx, &verifier, &shop.token, Utc::now()).unwrap();
    let b = locket_grants::redeem::redeem(&tx, &verifier, &other.token, Utc::now()).unwrap();
    tx.commit().unwrap();
    assert_eq!(a.fields[0].value, json!("shop-7f3@alias.example"));
    assert!(!serde_json::to_string(&a).unwrap().contains("owner@example.org"));
    // No alias configured for the other retailer: nothing disclosed, and never the real address.
    assert!(b.fields.is_empty());
    assert_eq!(b.empty_scopes, vec!["email_alias".to_owned()]);
}

#[test]
fn expiry_receipts_are_issued_once_for_grants_that_ran_out() {
    let mut f = fixture();
    let now = Utc::now();
    let token_signer = Issuers::for_vault(&f.vault);
    let signer = Issuers::for_vault(&f.vault);
    let scopes = json!([{"scope": "contact.email", "purpose": "order_fulfilment", "required": true}]);
    let tx = f.store.conn_mut().transaction().unwrap();
    let mut grant_ids = Vec::new();
    for nonce in [
        "nonce-0000000000000060",
        "nonce-0000000000000061",
        "nonce-0000000000000062",
    ] {
        let doc = request_doc("shop.example", nonce, scopes.clone());
        let rec = store::import_request(&tx, &doc, &RequestSource::File { path: "r.json".into() }, now, None).unwrap();
        let opts = ApproveOptions {
            expires_in: Some(Duration::hours(1)),
            ..ApproveOptions::default()
        };
        let issued = store::approve(&tx, &token_signer, &rec.id, &opts, "http://127.0.0.1:7419", now).unwrap();
        grant_ids.push(issued.grant.id);
    }
    // Approving issued each grant's receipt. The second is revoked by a caller without the signing key
    // (no receipt yet); the third stands for a grant issued before receipts existed.
    store::revoke(&tx, &grant_ids[1], None, now).unwrap();
    tx.execute("DELETE FROM consent_receipts WHERE grant_id = ?1", [&grant_ids[2]])
        .unwrap();
    assert_eq!(
        receipt::issue_for_grant(&tx, &signer, "gr_nope", &ctx(ReceiptEvent::Grant, now))
            .unwrap_err()
            .code(),
        "grant_not_found"
    );

    // Before expiry: no expiry is due, but the revocation's receipt is caught up (method and time of the
    // revocation), once.
    let template = ctx(ReceiptEvent::Expiry, now);
    assert!(receipt::issue_due_expiries(&tx, &signer, &template, now)
        .unwrap()
        .is_empty());
    let caught = receipt::issue_due_receipts(&tx, &signer, &template, now, None).unwrap();
    assert_eq!(caught.len(), 1);
    assert_eq!(caught[0].grant.grant_id, grant_ids[1]);
    assert_eq!((caught[0].event, caught[0].version), (ReceiptEvent::Revoke, 2));
    assert!(receipt::issue_due_receipts(&tx, &signer, &template, now, None)
        .unwrap()
        .is_empty());
    // After: only the first grant (the second was revoked, the third never had a receipt). Once. Limited
    // to one grant, the catch-up leaves the others alone.
    let later = now + Duration::hours(2);
    assert!(
        receipt::issue_due_receipts(&tx, &signer, &template, later, Some(grant_ids[2].as_str()))
            .unwrap()
            .is_empty()
    );
    // Another vault's key (grants carried over by an import) never extends this vault's chains.
    let stranger = Issuers::from_secrets(&[9u8; 32], &[8u8; 32], "another-vault");
    assert!(receipt::issue_due_receipts(&tx, &stranger, &template, later, None)
        .unwrap()
        .is_empty());
    let due = receipt::issue_due_receipts(&tx, &signer, &template, later, Some(grant_ids[0].as_str())).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].grant.grant_id, grant_ids[0]);
    assert_eq!((due[0].event, due[0].version), (ReceiptEvent::Expiry, 2));
    assert_eq!(due[0].collection_method, "locket");
    assert_eq!(due[0].event_at, due[0].grant.expires_at);
    assert!(due[0].scopes.is_empty());
    assert_eq!(due[0].withdrawn_scopes, vec!["contact.email".to_owned()]);
    assert!(receipt::issue_due_expiries(&tx, &signer, &template, later)
        .unwrap()
        .is_empty());
    assert!(receipt::issue_due_receipts(&tx, &signer, &template, later, None)
        .unwrap()
        .is_empty());
    tx.commit().unwrap();
    let shop_key = signer.receipt_signer(&due[0].controller.id).unwrap();
    verify_receipt(&due[0].to_json_pretty(), shop_key.issuer().public_key.as_str()).unwrap();
}

#[test]
fn the_minimization_plan_offers_one_answer_per_over_asked_scope() {
    let mut f = fixture();
    let tx = f.store.conn_mut().transaction().unwrap();
    let doc = request_doc(
        "shop.example",
        "nonce-0000000000000080",
        json!([
            {"scope": "identity.date_of_birth", "purpose": "age_verification", "required": true},
            {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
            {"scope": "sizes.clothing", "purpose": "analytics", "required": false}
        ]),
    );
    let rec = store::import_request(
        &tx,
        &doc,
        &RequestSource::File { path: "r.json".into() },
        Utc::now(),
        None,
    )
    .unwrap();
    let plan = derived::minimization_plan(&tx, &rec.request, None);
    assert_eq!(
        plan.get("identity.date_of_birth").map(String::as_str),
        Some("age_over:18")
    );
    assert_eq!(plan.get("sizes.clothing").map(String::as_str), Some("size_band"));
    assert!(
        !plan.contains_key("contact.email"),
        "email for order fulfilment is needed as it is"
    );
    // Only among the scopes being granted.
    let only = vec!["contact.email".to_owned(), "sizes.clothing".to_owned()];
    let plan_only = derived::minimization_plan(&tx, &rec.request, Some(&only));
    assert_eq!(plan_only.keys().collect::<Vec<_>>(), ["sizes.clothing"]);
    // Every planned substitution is accepted by approve_minimized.
    let signer = Issuers::for_vault(&f.vault);
    let issued = store::approve_minimized(
        &tx,
        &signer,
        &rec.id,
        &ApproveOptions::default(),
        &plan,
        "http://127.0.0.1:7419",
        Utc::now(),
    )
    .unwrap();
    assert_eq!(
        issued.grant.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(),
        ["age_over:18", "contact.email", "size_band"]
    );
}
