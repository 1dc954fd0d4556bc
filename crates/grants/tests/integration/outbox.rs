//! The outbox without a network: expiry, updates off, per-grant order and backoff, on a real vault.
use chrono::{Duration, Utc};
use locket_grants::outbox::{self, Attempt, Target};
use locket_grants::{ApproveOptions, Issuers, RequestSource};
use locket_vault::Vault;
use locket_wire::metadata::{parse_metadata, RetailerKeys};
use locket_wire::release::{open, webhook_headers, EndedBy, ExpectedKey, ReleaseEvent};

use crate::kit;

struct Shop {
    keys: RetailerKeys,
    target: Target,
}

fn shop() -> Shop {
    let keys = RetailerKeys::generate().unwrap();
    let meta = keys
        .metadata(
            "https://shop.example",
            "Example Shop",
            "privacy@shop.example",
            "https://shop.example/privacy",
            "https://shop.example/locket/deliveries",
        )
        .unwrap();
    let meta = parse_metadata(meta.to_string().as_bytes(), "https://shop.example").unwrap();
    let target = Target {
        delivery_url: meta.delivery_url.clone(),
        encryption_key: meta.jwks.encryption_key().unwrap().clone(),
        state: "outbox-state-0123456789".into(),
    };
    Shop { keys, target }
}

/// A vault with one approved grant (30 days) to shop.example with a delivery target; returns its id.
fn granted(vault: &Vault, shop: &Shop) -> String {
    let mut store = vault.connect().unwrap();
    locket_vault::profile::set(store.conn(), "contact.email", serde_json::json!("ada@example.org")).unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    let doc = kit::Request::fixture()
        .scope_keys(&["contact.email"])
        .nonce(&kit::unique_nonce())
        .bytes();
    let rec = locket_grants::store::import_request(
        &tx,
        &doc,
        &RequestSource::File { path: "r.json".into() },
        Utc::now(),
        None,
    )
    .unwrap();
    let issued = locket_grants::store::approve(
        &tx,
        &Issuers::for_vault(vault),
        &rec.id,
        &ApproveOptions::default(),
        "http://127.0.0.1:7419",
        Utc::now(),
    )
    .unwrap();
    outbox::queue_grant(&tx, &issued.grant, &issued.file, &shop.target, Utc::now()).unwrap();
    tx.commit().unwrap();
    issued.grant.id
}

/// Seals and "delivers" everything due at `at`; returns the events sent.
fn deliver_all(vault: &Vault, shop: &Shop, at: chrono::DateTime<Utc>) -> Vec<ReleaseEvent> {
    let issuers = Issuers::for_vault(vault);
    let mut store = vault.connect().unwrap();
    let mut sent = Vec::new();
    loop {
        let ids = outbox::due_ids(store.conn(), at, 16).unwrap();
        if ids.is_empty() {
            break;
        }
        for id in ids {
            let tx = store.conn_mut().transaction().unwrap();
            let due = outbox::seal_due(&tx, &issuers, &id, at).unwrap();
            tx.commit().unwrap();
            let signer = issuers.token_signer(&due.retailer_id).unwrap();
            let sealed = locket_wire::release::Sealed {
                release_id: due.release_id.clone(),
                body: due.body.clone(),
                sha256: due.sha256.clone(),
            };
            let headers = webhook_headers(&sealed, &signer, at.timestamp()).unwrap();
            let o = open(
                &due.body,
                &headers,
                &shop.keys.encryption,
                ExpectedKey::Known(signer.public_paserk()),
                at.timestamp(),
            )
            .unwrap();
            if o.release.event == ReleaseEvent::Expire {
                let ended = o.release.ended.as_ref().unwrap();
                assert_eq!(ended.by, EndedBy::Expiry);
                assert!(!ended.erasure_requested);
            }
            sent.push(o.release.event);
            let tx = store.conn_mut().transaction().unwrap();
            outbox::record_attempt(&tx, &id, &Attempt::Delivered { status: 200 }, 0.5, at).unwrap();
            tx.commit().unwrap();
        }
    }
    sent
}

#[test]
fn an_ended_grant_sends_expire_once_and_nothing_after() {
    let (_t, vault) = kit::vault();
    let shop = shop();
    granted(&vault, &shop);
    assert_eq!(deliver_all(&vault, &shop, Utc::now()), [ReleaseEvent::Grant]);
    let later = Utc::now() + Duration::days(400);
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    assert_eq!(outbox::queue_due_expiries(&tx, later).unwrap(), 1);
    assert_eq!(
        outbox::queue_due_expiries(&tx, later).unwrap(),
        0,
        "expire is queued once"
    );
    // An edit after the end queues nothing.
    assert_eq!(outbox::queue_updates_for_field(&tx, "contact.email", later).unwrap(), 0);
    tx.commit().unwrap();
    assert_eq!(deliver_all(&vault, &shop, later), [ReleaseEvent::Expire]);
}

#[test]
fn updates_can_be_turned_off_and_releases_of_a_grant_go_in_order() {
    let (_t, vault) = kit::vault();
    let shop = shop();
    let grant = granted(&vault, &shop);
    let mut store = vault.connect().unwrap();
    // The grant release has not gone out: an update waits behind it, even when due first.
    let tx = store.conn_mut().transaction().unwrap();
    assert_eq!(
        outbox::queue_updates_for_field(&tx, "contact.email", Utc::now() - Duration::hours(1)).unwrap(),
        1
    );
    tx.commit().unwrap();
    let due = outbox::due_ids(store.conn(), Utc::now(), 16).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(outbox::get(store.conn(), &due[0]).unwrap().event, "grant");
    assert_eq!(
        deliver_all(&vault, &shop, Utc::now()),
        [ReleaseEvent::Grant, ReleaseEvent::Update]
    );

    // Off: no more updates, and the waiting unsealed one is withdrawn.
    let tx = store.conn_mut().transaction().unwrap();
    assert_eq!(
        outbox::queue_updates_for_field(&tx, "contact.email", Utc::now()).unwrap(),
        1
    );
    outbox::set_updates(&tx, &grant, false).unwrap();
    assert_eq!(
        outbox::queue_updates_for_field(&tx, "contact.email", Utc::now()).unwrap(),
        0
    );
    tx.commit().unwrap();
    assert!(deliver_all(&vault, &shop, Utc::now() + Duration::minutes(5)).is_empty());
}

#[test]
fn retries_back_off_with_jitter_and_give_up_after_the_horizon() {
    assert_eq!(outbox::backoff(0, 0.5), outbox::FIRST_BACKOFF);
    assert_eq!(outbox::backoff(1, 0.5), outbox::FIRST_BACKOFF * 2);
    assert_eq!(outbox::backoff(30, 0.5), outbox::MAX_BACKOFF);
    assert!(outbox::backoff(3, 0.0) < outbox::backoff(3, 0.99));
    let (_t, vault) = kit::vault();
    let shop = shop();
    granted(&vault, &shop);
    let mut store = vault.connect().unwrap();
    let issuers = Issuers::for_vault(&vault);
    let id = outbox::due_ids(store.conn(), Utc::now(), 1).unwrap().remove(0);
    let mut at = Utc::now();
    let mut attempts = 0;
    loop {
        let tx = store.conn_mut().transaction().unwrap();
        let before = outbox::seal_due(&tx, &issuers, &id, at).unwrap().sha256;
        let d = outbox::record_attempt(
            &tx,
            &id,
            &Attempt::Retry {
                status: None,
                reason: "connection refused".into(),
            },
            0.5,
            at,
        )
        .unwrap();
        tx.commit().unwrap();
        attempts += 1;
        assert_eq!(
            d.sha256.as_deref(),
            Some(before.as_str()),
            "the same bytes on every attempt"
        );
        if d.status == "failed" {
            assert!(at + outbox::MAX_BACKOFF >= d.give_up_at - Duration::hours(1));
            break;
        }
        assert_eq!(d.last_error.as_deref(), Some("connection refused"));
        at = d.due_at;
        assert!(attempts < 200, "never gave up");
    }
    // 30 s doubling to 1 h, then hourly, over 3 days.
    assert!((70..=90).contains(&attempts), "{attempts} attempts");
}
