//! Golden files pin the wire formats: the request (tests/golden/grant-request.v1.json), the grant file
//! (grant.v1.json) and the token claims (token-claims.v1.json). The grant file and claims are rebuilt from
//! fixed inputs and must match byte for byte (Ed25519 is deterministic). Changing a format is a deliberate act:
//! rerun with `LOCKET_UPDATE_GOLDEN=1` and review the diff.

use chrono::{DateTime, Duration, Utc};
use locket_grants::grantfile::{self, GrantSpec, GRANT_SCHEMA};
use locket_grants::receipt::{
    build_receipt, sign_receipt, verify_receipt, Collection, ReceiptContext, ReceiptEvent, ReceiptSigner,
    RECEIPT_SCHEMA,
};
use locket_grants::request::{parse_request_at, REQUEST_SCHEMA};
use locket_grants::store::{GrantRecord, GrantedScope};
use locket_grants::{
    FieldRef, GrantFile, GrantFileScope, GrantRetailer, Issuers, Purpose, RecipientRole, ScopeKind, TokenSigner,
};
use pasetors::claims::ClaimsValidationRules;
use pasetors::footer::Footer;
use pasetors::keys::AsymmetricPublicKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::V4;
use pasetors::Public;
use std::path::PathBuf;

const SEED: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
    31,
];
const PSEUDONYM_KEY: [u8; 32] = [0xa5; 32];
const ISSUER: &str = "5f0c9a52-6a55-4c2e-9d7b-0d7c3e1b2a10";

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden")
        .join(name)
}

fn check_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("LOCKET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    assert_eq!(
        actual, expected,
        "{name} changed; if deliberate, rerun with LOCKET_UPDATE_GOLDEN=1"
    );
}

fn validator(schema: &str) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn spec() -> GrantSpec {
    let issued: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
    let field = |k: &str, l: &str| FieldRef {
        key: k.into(),
        label: l.into(),
    };
    GrantSpec {
        grant_id: "gr_0123456789abcdef0123456789abcdef".into(),
        retailer: GrantRetailer {
            id: "shop.example".into(),
            name: "Example Shop".into(),
            origin: "https://shop.example".into(),
        },
        scopes: vec![
            GrantFileScope {
                scope: "contact.email".into(),
                kind: ScopeKind::Field,
                label: "Email address".into(),
                purpose: Purpose::OrderFulfilment,
                purpose_text: None,
                fields: vec![field("contact.email", "Email address")],
            },
            GrantFileScope {
                scope: "sizes".into(),
                kind: ScopeKind::Group,
                label: "Sizes".into(),
                purpose: Purpose::PersonalisedRecommendations,
                purpose_text: Some("To show clothes that fit you".into()),
                fields: vec![
                    field("sizes.clothing", "Clothing size"),
                    field("sizes.shoe", "Shoe size"),
                ],
            },
        ],
        issued_at: issued,
        expires_at: issued + Duration::days(30),
        max_uses: Some(10),
        endpoint: "http://127.0.0.1:7419".into(),
    }
}

/// The golden vault's issuers.
fn issuers() -> Issuers {
    Issuers::from_secrets(&SEED, &PSEUDONYM_KEY, ISSUER)
}

/// The grant file as `store::approve` hands it out: built from the spec, signed as the golden vault's
/// pairwise issuer for shop.example, with the retailer's copy of the `grant` consent receipt (fixed receipt
/// id; Ed25519 is deterministic, so the file is too).
fn build() -> (TokenSigner, locket_grants::TokenClaims, GrantFile) {
    let signer = issuers().token_signer("shop.example").unwrap();
    let spec = spec();
    let (claims, mut file) = grantfile::build(&signer, &spec).unwrap();
    let text = std::fs::read_to_string(golden("grant-request.v1.json")).unwrap();
    let request = parse_request_at(text.as_bytes(), spec.issued_at).unwrap();
    let grant = GrantRecord {
        id: spec.grant_id.clone(),
        request_id: "req_0123456789abcdef0123456789abcdef".into(),
        retailer_id: spec.retailer.id.clone(),
        retailer_name: spec.retailer.name.clone(),
        subject: claims.sub.clone(),
        scopes: spec
            .scopes
            .iter()
            .map(|s| GrantedScope {
                scope: s.scope.clone(),
                kind: s.kind,
                label: s.label.clone(),
                purpose: s.purpose,
                purpose_text: s.purpose_text.clone(),
                required: s.scope == "contact.email",
            })
            .collect(),
        issued_at: spec.issued_at,
        not_before: spec.issued_at,
        expires_at: spec.expires_at,
        max_uses: spec.max_uses,
        uses: 0,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    };
    let receipts = ReceiptSigner::from_token_signer(&signer).unwrap();
    let ctx = ReceiptContext {
        event: ReceiptEvent::Grant,
        event_at: spec.issued_at,
        issued_at: spec.issued_at,
        jurisdiction: "GB".into(),
        language: "en".into(),
        collection_method: Collection::Cli.as_str().into(),
        remaining_scopes: None,
        note: Some("channels.opt_in_email not granted: not selected by the owner".into()),
    };
    let mut unsigned = build_receipt(&grant, &request, &ctx, None, receipts.issuer()).unwrap();
    unsigned.receipt_id = "cr_fedcba9876543210fedcba9876543210".into();
    file.receipt = Some(sign_receipt(&receipts, unsigned).unwrap());
    (signer, claims, file)
}

#[test]
fn request_golden_is_valid_and_round_trips() {
    let text = std::fs::read_to_string(golden("grant-request.v1.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(validator(REQUEST_SCHEMA).is_valid(&value));
    let req = parse_request_at(text.as_bytes(), "2026-11-24T15:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        value,
        "every field of the golden request is read and written back"
    );
    assert_eq!(req.scopes.len(), 4);
}

/// The golden request with what the shop offers in return and who else receives the data: valid, read and
/// written back unchanged, and its words are the ones the owner reads.
#[test]
fn request_golden_with_benefit_and_recipients_is_valid_and_round_trips() {
    let text = std::fs::read_to_string(golden("grant-request.v1.benefit-recipients.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(validator(REQUEST_SCHEMA).is_valid(&value));
    let req = parse_request_at(text.as_bytes(), "2026-11-24T15:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), value);
    let benefit = req.benefit.as_ref().unwrap();
    assert_eq!(
        benefit.offer.as_ref().and_then(|o| o.summary()).as_deref(),
        Some("10% off")
    );
    let who: Vec<(&str, RecipientRole, &str)> = req
        .recipients
        .iter()
        .map(|r| (r.name.as_str(), r.role, r.country_name()))
        .collect();
    assert_eq!(
        who,
        [
            ("Parcel Express Ltd", RecipientRole::Processor, "United Kingdom"),
            ("PayFast Europe", RecipientRole::Processor, "Ireland"),
            ("Insight Panel Inc.", RecipientRole::ThirdParty, "United States"),
        ]
    );
    // Without the two members it is the older golden, which still reads as offering nothing and naming no one.
    let mut older = value.clone();
    let obj = older.as_object_mut().unwrap();
    obj.remove("benefit");
    obj.remove("recipients");
    let req = parse_request_at(older.to_string().as_bytes(), "2026-11-24T15:00:00Z".parse().unwrap()).unwrap();
    assert_eq!((req.benefit, req.recipients.len()), (None, 0));
}

#[test]
fn grant_file_and_claims_are_pinned() {
    let (_, claims, file) = build();
    let mut claims_json = serde_json::to_string_pretty(&claims).unwrap();
    claims_json.push('\n');
    check_golden("token-claims.v1.json", &claims_json);
    check_golden("grant.v1.json", &file.to_json_pretty());

    let claims_value: serde_json::Value = serde_json::from_str(&claims_json).unwrap();
    let errors: Vec<String> = validator(include_str!("../../../../docs/schemas/token-claims.v1.schema.json"))
        .iter_errors(&claims_value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let file_value: serde_json::Value = serde_json::from_str(&file.to_json_pretty()).unwrap();
    let errors: Vec<String> = validator(GRANT_SCHEMA)
        .iter_errors(&file_value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // The embedded receipt is a complete consent receipt that verifies with the file's own key.
    let errors: Vec<String> = validator(RECEIPT_SCHEMA)
        .iter_errors(&file_value["receipt"])
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let receipt = verify_receipt(&file_value["receipt"].to_string(), &file.public_key).unwrap();
    assert_eq!(receipt.grant.grant_id, file.grant_id);
    assert_eq!(receipt.pii_principal.subject_id, file.subject);
    assert_eq!(
        receipt.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(),
        ["contact.email", "sizes"]
    );
    // GrantFile::parse checks the receipt too: a receipt from another grant, or an altered one, is refused.
    GrantFile::parse(file.to_json_pretty().as_bytes()).unwrap();
    let mut other = file_value.clone();
    other["receipt"]["controller"]["name"] = "Evil Shop".into();
    let err = GrantFile::parse(other.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.code(), "grant_file_invalid");
    assert!(err.to_string().contains("receipt"), "{err}");
}

/// The stored golden grant file (not a rebuilt one) must still parse and its token verify, with pasetors
/// directly — the way any retailer's PASETO library would — given only the PASERK key in the file.
#[test]
fn golden_grant_token_verifies_with_pasetors_alone() {
    let text = std::fs::read_to_string(golden("grant.v1.json")).unwrap();
    let file = GrantFile::parse(text.as_bytes()).unwrap();
    let pk = AsymmetricPublicKey::<V4>::try_from(file.public_key.as_str()).unwrap();
    let untrusted = UntrustedToken::<Public, V4>::try_from(file.token.as_str()).unwrap();
    let mut footer = Footer::new();
    footer.parse_bytes(untrusted.untrusted_footer()).unwrap();
    assert_eq!(footer.get_claim("kid").unwrap().as_str().unwrap(), file.key_id);
    let mut rules = ClaimsValidationRules::new();
    rules.disable_valid_at();
    rules.validate_issuer_with(&file.issuer);
    rules.validate_audience_with(&file.retailer.id);
    rules.validate_token_identifier_with(&file.grant_id);
    rules.validate_subject_with(&file.subject);
    let trusted = pasetors::public::verify(&pk, &untrusted, &rules, Some(&footer), None).unwrap();
    let claims = trusted.payload_claims().unwrap();
    assert_eq!(claims.get_claim("exp").unwrap().as_str().unwrap(), file.expires_at);
    assert_eq!(
        claims.get_claim("scope").unwrap(),
        &serde_json::json!(["contact.email", "sizes"])
    );

    // Any change to the token breaks the signature.
    let (body, foot) = file.token.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = body.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{}.{}", chars.into_iter().collect::<String>(), foot);
    let untrusted = UntrustedToken::<Public, V4>::try_from(tampered.as_str()).unwrap();
    assert!(pasetors::public::verify(&pk, &untrusted, &rules, Some(&footer), None).is_err());
}

#[test]
fn our_verifier_accepts_the_golden_token_in_its_window_only() {
    let (signer, _, file) = build();
    let verifier = signer.verifier();
    let inside: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    let v = verifier.verify(&file.token, inside).unwrap();
    assert_eq!(v.claims.scope, vec!["contact.email", "sizes"]);
    assert_eq!(v.claims.purposes["sizes"], Purpose::PersonalisedRecommendations);
    let after: DateTime<Utc> = "2026-12-24T15:00:00Z".parse().unwrap();
    assert_eq!(verifier.verify(&file.token, after).unwrap_err().code(), "token_expired");
    // A verifier built from the published PASERK alone agrees.
    let from_paserk = locket_grants::TokenVerifier::from_paserk(&file.public_key, &file.issuer).unwrap();
    assert_eq!(from_paserk.verify(&file.token, inside).unwrap().claims, v.claims);
}

/// Pairwise issuers: the golden grant names shop.example's own issuer and key, not the vault's id or key.
/// A grant issued before pairwise issuers (the frozen tests/golden/grant.v1.vault-wide.json, signed with the
/// vault-wide key under the vault's id) still parses, and the vault still verifies its token, so upgrading
/// Locket breaks no grant a shop already holds.
#[test]
fn golden_grants_are_pairwise_and_a_vault_wide_one_still_verifies() {
    let (_, claims, file) = build();
    let vault_wide = issuers().vault_wide().unwrap();
    assert!(file.issuer.starts_with("iss_"), "{}", file.issuer);
    assert_ne!(file.issuer, ISSUER);
    assert_ne!(file.key_id, vault_wide.key_id());
    assert_eq!(claims.iss, file.issuer);
    let other = issuers().token_signer("other.example").unwrap();
    assert_ne!(other.issuer(), file.issuer);
    assert_ne!(other.key_id(), file.key_id);

    let text = std::fs::read_to_string(golden("grant.v1.vault-wide.json")).unwrap();
    let old = GrantFile::parse(text.as_bytes()).unwrap();
    assert_eq!(old.issuer, ISSUER);
    assert_eq!(old.key_id, vault_wide.key_id());
    let inside: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    let verifier = issuers().verifier().unwrap();
    let v = verifier.verify(&old.token, inside).unwrap();
    assert_eq!(v.claims.iss, ISSUER);
    assert_eq!(verifier.verify(&file.token, inside).unwrap().claims, claims);
    // Its receipt still verifies with the key the old file carries.
    let receipt = old.receipt.as_ref().unwrap();
    verify_receipt(&serde_json::to_string(receipt).unwrap(), &old.public_key).unwrap();
}
