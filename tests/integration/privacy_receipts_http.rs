//! The privacy wiring over real loopback HTTP against a real vault: the consent receipt in the grant file
//! verifies with the published key; revocations (by the retailer, by the owner with and without the signing
//! key at hand) and expiry yield chained receipts at `GET /v1/grant/receipts`; `data_changed_since` after the
//! owner edits a disclosed field; the erasure flow end to end (request → `erasure_requested_at` →
//! `POST /v1/grant/erasure-ack` → the owner sees the acknowledgement), every step in the access log.
use crate::endpoint_support;
use locket_grants::Issuers;

use crate::endpoint_support::Fixture;
use chrono::Utc;
use locket_grants::receipt::{verify_receipt, Collection};
use locket_grants::{erasure, ledger};
use serde_json::{json, Value};

fn receipts(body: &Value) -> Vec<Value> {
    body["receipts"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_from_grant_to_revocation_and_expiry() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email", "identity"], None);

    // The grant file carries the signed grant receipt; it verifies with the key GET /v1/keys publishes.
    let in_file = grant.receipt.clone().expect("the grant file carries its receipt");
    let (status, keys) = fx.get("/v1/keys", Some(&grant.token)).await;
    assert_eq!(status, 200);
    let published = keys["keys"][0]["paserk"].as_str().unwrap().to_owned();
    assert_eq!(published, grant.public_key);
    let checked = verify_receipt(&serde_json::to_string(&in_file).unwrap(), &published).unwrap();
    assert_eq!(checked.grant.grant_id, grant.grant_id);
    assert_eq!(checked.pii_principal.subject_id, grant.subject);

    // The receipts route returns the same receipt, and does not count as a use.
    let (status, body) = fx.get("/v1/grant/receipts", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["format"], "locket.consent-receipts/v1");
    assert_eq!(receipts(&body), vec![serde_json::to_value(&in_file).unwrap()]);

    // The retailer gives the grant back: a `revoke` receipt, method `retailer`, chained to the first.
    let (status, _) = fx.post("/v1/grant/revoke", Some(&grant.token), None).await;
    assert_eq!(status, 200);
    let (_, body) = fx.get("/v1/grant/receipts", Some(&grant.token)).await;
    let list = receipts(&body);
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["event"], "revoke");
    assert_eq!(list[1]["collection_method"], "retailer");
    assert_eq!(list[1]["previous_receipt_id"], list[0]["receipt_id"]);
    assert_eq!(list[1]["scopes"], json!([]));
    assert_eq!(list[1]["withdrawn_scopes"], json!(["contact.email", "identity"]));
    for r in &list {
        verify_receipt(&r.to_string(), &published).unwrap();
    }
    // Revoking again changes nothing: no third receipt.
    fx.post("/v1/grant/revoke", Some(&grant.token), None).await;
    let (_, body) = fx.get("/v1/grant/receipts", Some(&grant.token)).await;
    assert_eq!(receipts(&body).len(), 2);

    // The owner revokes with the CLI's call (signing key at hand): the receipt is issued at once.
    let second = fx.grant(&["contact.email"], None);
    {
        let signer = Issuers::for_vault(&fx.vault);
        let id = second.grant_id.clone();
        let (_, receipt) = fx
            .vault
            .writer()
            .unwrap()
            .submit(move |tx| {
                locket_grants::store::revoke_via(tx, &signer, &id, Some("moved house"), Collection::Cli, Utc::now())
            })
            .unwrap();
        let receipt = receipt.expect("a revoke receipt");
        assert_eq!(receipt.note.as_deref(), Some("moved house"));
    }
    let (_, body) = fx.get("/v1/grant/receipts", Some(&second.token)).await;
    let list = receipts(&body);
    assert_eq!(
        list.iter().map(|r| r["event"].as_str().unwrap()).collect::<Vec<_>>(),
        ["grant", "revoke"]
    );
    assert_eq!(list[1]["collection_method"], "locket-cli");

    // A revocation by a caller without the key (store::revoke, as older callers do) is caught up the next
    // time the retailer looks.
    let third = fx.grant(&["contact.email"], None);
    fx.owner_revoke(&third.grant_id);
    let (status, intro) = fx.get("/v1/grant", Some(&third.token)).await;
    assert_eq!((status, intro["status"].as_str()), (200, Some("revoked")));
    let (_, body) = fx.get("/v1/grant/receipts", Some(&third.token)).await;
    let list = receipts(&body);
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[1]["event"].as_str(), list[1]["note"].as_str()),
        (Some("revoke"), Some("test"))
    );

    // Expiry: once the grant has run out (its end moved into the past here), the expiry receipt is issued
    // when the retailer next asks, exactly once.
    let fourth = fx.grant(&["contact.email"], None);
    fx.conn()
        .conn()
        .execute(
            "UPDATE grants SET expires_at = ?2 WHERE id = ?1",
            rusqlite::params![fourth.grant_id, "2020-01-01T00:00:00Z"],
        )
        .unwrap();
    for _ in 0..2 {
        let (_, body) = fx.get("/v1/grant/receipts", Some(&fourth.token)).await;
        let list = receipts(&body);
        assert_eq!(
            list.iter().map(|r| r["event"].as_str().unwrap()).collect::<Vec<_>>(),
            ["grant", "expiry"]
        );
        assert_eq!(list[1]["event_at"], "2020-01-01T00:00:00Z");
        assert_eq!(list[1]["collection_method"], "locket");
        verify_receipt(&list[1].to_string(), &published).unwrap();
    }
    // Another vault's key does not verify them.
    let (_dir, other) = endpoint_support::new_vault();
    let other_key = Issuers::for_vault(&other)
        .token_signer(&in_file.controller.id)
        .unwrap()
        .public_paserk()
        .to_owned();
    assert_eq!(
        verify_receipt(&serde_json::to_string(&in_file).unwrap(), &other_key)
            .unwrap_err()
            .code(),
        "receipt_invalid_signature"
    );
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_changed_since_follows_the_owners_edits() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email", "contact.phone"], None);
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(intro["data_changed_since"], Value::Null, "nothing disclosed yet");

    let (status, data) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{data}");
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(
        intro["data_changed_since"],
        Value::Null,
        "the retailer holds the current values"
    );

    // The owner edits a field that was disclosed: the flag is set and the ledger names the holder.
    let before_edit = Utc::now();
    locket_vault::profile::set(fx.conn().conn(), "contact.email", json!("ada@new.example")).unwrap();
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    let since = intro["data_changed_since"].as_str().expect("data_changed_since is set");
    let since: chrono::DateTime<Utc> = since.parse().unwrap();
    assert!(
        since >= before_edit - chrono::Duration::seconds(1),
        "{since} vs {before_edit}"
    );
    let outdated = ledger::outdated_holders(fx.conn().conn(), "contact.email").unwrap();
    assert_eq!(outdated.len(), 1);
    assert_eq!(outdated[0].retailer_id, "shop.example");
    assert!(ledger::outdated_holders(fx.conn().conn(), "contact.phone")
        .unwrap()
        .is_empty());
    // Editing a field that was never disclosed under the grant does not set it for another grant.
    let other = fx.grant(&["identity.given_name"], None);
    fx.get("/v1/data", Some(&other.token)).await;
    let (_, intro) = fx.get("/v1/grant", Some(&other.token)).await;
    assert_eq!(intro["data_changed_since"], Value::Null);

    // Fetching again brings the retailer up to date: the flag clears.
    let (_, data) = fx.get("/v1/data", Some(&grant.token)).await;
    assert!(data.to_string().contains("ada@new.example"));
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(intro["data_changed_since"], Value::Null);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_request_flag_ack_and_owner_view() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], None);
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(intro["erasure_requested_at"], Value::Null);
    assert_eq!(intro["erasure_acknowledged_at"], Value::Null);

    // Acknowledging with nothing open is harmless (and logged).
    let (status, ack) = fx.post("/v1/grant/erasure-ack", Some(&grant.token), None).await;
    assert_eq!((status, ack["acknowledged"].as_u64()), (200, Some(0)), "{ack}");

    // The owner asks the shop to erase everything it holds (all its grants).
    let asked = {
        let mut store = fx.conn();
        let tx = store.conn_mut().transaction().unwrap();
        let r = erasure::request_erasure(&tx, "shop.example", None, Some("closing my account"), Utc::now()).unwrap();
        tx.commit().unwrap();
        r
    };
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(intro["erasure_requested_at"], json!(asked.requested_at));
    assert_eq!(intro["erasure_acknowledged_at"], Value::Null);

    // The retailer acknowledges with its token, even after giving the grant back.
    fx.post("/v1/grant/revoke", Some(&grant.token), None).await;
    let (status, ack) = fx.post("/v1/grant/erasure-ack", Some(&grant.token), None).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["acknowledged"], 1);
    assert_eq!(ack["requests"][0]["id"], json!(asked.id));
    let acked_at = ack["requests"][0]["acknowledged_at"].as_str().unwrap().to_owned();
    let (_, intro) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(intro["erasure_acknowledged_at"], json!(acked_at));
    // Idempotent.
    let (_, again) = fx.post("/v1/grant/erasure-ack", Some(&grant.token), None).await;
    assert_eq!(again["acknowledged"], 0);
    assert_eq!(again["requests"][0]["acknowledged_at"], json!(acked_at));

    // The owner sees the acknowledgement date.
    let list = erasure::list(fx.conn().conn(), Some("shop.example")).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].acknowledged_at.as_deref(), Some(acked_at.as_str()));
    assert_eq!(list[0].acknowledged_by.as_deref(), Some(grant.grant_id.as_str()));

    // Both steps are in the access log, and the chain verifies.
    let kinds: Vec<String> = fx.events(50).iter().map(|e| e.kind.as_str().to_owned()).collect();
    assert!(kinds.iter().any(|k| k == "erasure_requested"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "erasure_acknowledged").count(),
        3,
        "{kinds:?}"
    );
    // A bad token is refused and logged.
    let (status, err) = fx.post("/v1/grant/erasure-ack", Some("v4.public.AAAA"), None).await;
    assert!(status == 400 || status == 401, "{status} {err}");
    assert_eq!(fx.newest().kind.as_str(), "refusal");
    fx.verify_log();
    fx.stop().await;
}
