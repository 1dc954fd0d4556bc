//! Revocation is immediate even while a retailer hammers the endpoint: every request sent after the owner's
//! revocation returned is refused, and the log and the use count agree with what the retailer received.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::endpoint_support::Fixture;
use locket_audit::{EventKind, Filter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_with_concurrent_redeemers() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], None);
    let revoked = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let http = fx.http.clone();
        let url = format!("{}/v1/data", fx.url);
        let token = grant.token.clone();
        let revoked = revoked.clone();
        workers.push(tokio::spawn(async move {
            let mut ok = 0u32;
            let mut ok_after = 0u32;
            let mut refused_after = 0u32;
            for _ in 0..400 {
                // Sampled before sending: if set, the revocation was durable before this request left.
                let after = revoked.load(Ordering::SeqCst);
                let resp = http.get(&url).bearer_auth(&token).send().await.unwrap();
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap();
                match status {
                    200 => {
                        ok += 1;
                        if after {
                            ok_after += 1;
                        }
                    }
                    403 => {
                        assert_eq!(body["code"], "grant_revoked");
                        if after {
                            refused_after += 1;
                            if refused_after >= 20 {
                                break;
                            }
                        }
                    }
                    other => panic!("unexpected {other}: {body}"),
                }
            }
            (ok, ok_after, refused_after)
        }));
    }
    // Let the redeemers get going, then revoke through the writer (as `locket grant revoke` and the app do).
    loop {
        let uses = locket_grants::store::get_grant(fx.conn().conn(), &grant.grant_id)
            .unwrap()
            .uses;
        if uses >= 50 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let vault_grant = grant.grant_id.clone();
    let fx_vault = fx.vault.clone();
    tokio::task::spawn_blocking(move || {
        let w = fx_vault.writer().unwrap();
        w.submit(move |tx| locket_grants::store::revoke(tx, &vault_grant, None, chrono::Utc::now()))
            .unwrap();
    })
    .await
    .unwrap();
    revoked.store(true, Ordering::SeqCst);

    let mut total_ok = 0;
    for w in workers {
        let (ok, ok_after, refused_after) = w.await.unwrap();
        assert_eq!(ok_after, 0, "a request sent after the revocation returned was answered");
        assert!(refused_after > 0);
        total_ok += ok;
    }
    // Every answered redemption was counted and logged; nothing else.
    let g = locket_grants::store::get_grant(fx.conn().conn(), &grant.grant_id).unwrap();
    assert_eq!(g.uses, total_ok);
    let mut logged_ok = 0;
    let mut cursor = None;
    loop {
        let page = locket_audit::query(
            fx.conn().conn(),
            &Filter {
                grant: Some(grant.grant_id.clone()),
                kind: Some(EventKind::Redemption),
                ..Filter::default()
            },
            cursor,
            1000,
        )
        .unwrap();
        logged_ok += page.events.len() as u32;
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(logged_ok, total_ok);
    fx.verify_log();
    fx.stop().await;
}
