//! Deliveries over real HTTPS on loopback: approving a verified request queues the grant release; `locket
//! deliveries send` posts it sealed to the shop's key with Standard Webhooks headers, and the shop opens it with
//! its private key and the grant's public key alone. Edits send updates, a revocation withdraws what has not
//! left and asks for erasure, a shop that is down keeps releases waiting (visibly), and 410 ends the grant.
use crate::common::TestVault;
use crate::connect_support::{locket, Page, Received, Shop};
use locket_wire::release::{open, ExpectedKey, Opened, ReleaseEvent, WebhookHeaders};
use serde_json::Value;

const DELIVERIES: &str = "/locket/deliveries";

fn run_json(v: &TestVault, shop: &Shop, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let r = locket(&v.dir, &shop.env(), &all);
    r.ok();
    r.json()
}

/// Connects to the shop's published request, approves it, and returns the grant id.
fn approved(v: &TestVault, shop: &Shop) -> String {
    v.set("contact.email", "ada@example.org");
    v.set("sizes.shoe", "39");
    let link = shop.publish_request("/locket/r/first");
    let req = run_json(v, shop, &["requests", "connect", &link]);
    let id = req["id"]
        .as_str()
        .or_else(|| req["request"]["id"].as_str())
        .unwrap()
        .to_owned();
    let out = v.tmp.path().join(format!("grant-{id}.json"));
    let g = run_json(v, shop, &["grant", "approve", &id, "--out", out.to_str().unwrap()]);
    g["grant"]["id"].as_str().unwrap().to_owned()
}

fn deliveries(v: &TestVault, shop: &Shop) -> Vec<Value> {
    run_json(v, shop, &["deliveries", "list"])["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Makes the one waiting delivery due now (it may be in its coalescing window); returns its release id.
fn retry_pending(v: &TestVault, shop: &Shop) -> String {
    let id = deliveries(v, shop)
        .into_iter()
        .find(|d| d["status"] == "pending")
        .expect("a waiting delivery")["release_id"]
        .as_str()
        .unwrap()
        .to_owned();
    run_json(v, shop, &["deliveries", "retry", &id]);
    id
}

fn send(v: &TestVault, shop: &Shop) -> Value {
    run_json(v, shop, &["deliveries", "send"])
}

/// Opens a received POST the way a shop does.
fn opened(shop: &Shop, post: &Received, key: Option<&str>) -> Opened {
    assert_eq!(post.headers["content-type"], "application/jose");
    let headers = WebhookHeaders {
        id: post.headers["webhook-id"].clone(),
        timestamp: post.headers["webhook-timestamp"].parse().unwrap(),
        signature: post.headers["webhook-signature"].clone(),
    };
    let expected = key.map_or(ExpectedKey::FromGrantFile, ExpectedKey::Known);
    open(
        std::str::from_utf8(&post.body).unwrap(),
        &headers,
        &shop.keys.encryption,
        expected,
        chrono::Utc::now().timestamp(),
    )
    .unwrap()
}

fn field<'a>(o: &'a Opened, key: &str) -> &'a locket_wire::release::ReleasedField {
    o.release
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .find(|f| f.key == key)
        .unwrap()
}

#[test]
fn approving_a_verified_request_delivers_the_data_sealed_to_the_shop() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(200));
    let grant_id = approved(&v, &shop);

    // Queued in the approval's transaction, waiting for a pass.
    let list = deliveries(&v, &shop);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0]["event"].as_str(), list[0]["status"].as_str()),
        (Some("grant"), Some("pending"))
    );
    assert_eq!(list[0]["grant_id"], grant_id);

    let pass = send(&v, &shop);
    assert_eq!(pass["delivered"], 1, "{pass}");
    let posts = shop.posts(DELIVERIES);
    assert_eq!(posts.len(), 1);
    let o = opened(&shop, &posts[0], None);
    assert_eq!(o.release.event, ReleaseEvent::Grant);
    assert_eq!(
        (o.release.sequence, o.release.grant_id.as_str()),
        (1, grant_id.as_str())
    );
    assert!(o.release.state.starts_with("state-"), "{}", o.release.state);
    assert_eq!(field(&o, "contact.email").value, "ada@example.org");
    let grant = o.release.grant.as_ref().unwrap();
    assert_eq!(grant.public_key, o.public_key);
    assert_eq!(grant.retailer.id, "shop.test");
    // Nothing readable on the wire: the body is a JWE, and no value appears in it or in the headers.
    let body = String::from_utf8_lossy(&posts[0].body);
    assert!(!body.contains("ada@example.org") && body.split('.').count() == 5);

    // Delivered, recorded with what it carried; the access log has the attempt (with the ciphertext's hash)
    // and the delivery with its fields.
    let list = deliveries(&v, &shop);
    assert_eq!(list[0]["status"], "delivered");
    let sha = list[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, locket_wire::release::sha256_hex(&posts[0].body));
    let log = locket(&v.dir, &shop.env(), &["--json", "audit"]).ok().to_owned();
    assert!(
        log.contains("delivery_attempt") && log.contains("release_delivered"),
        "{log}"
    );
    assert!(log.contains(&sha), "the attempt's SHA-256 is not in the log");
    // The disclosure ledger counts what the shop's server acknowledged, like a fetch.
    let ledger = locket(&v.dir, &shop.env(), &["--json", "ledger", "contact.email"])
        .ok()
        .to_owned();
    assert!(ledger.contains("shop.test"), "{ledger}");
    // Nothing more to send.
    assert_eq!(send(&v, &shop)["delivered"], 0);
    assert_eq!(shop.posts(DELIVERIES).len(), 1);
}

#[test]
fn edits_update_the_shop_and_a_revocation_asks_it_to_erase() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(200));
    let grant_id = approved(&v, &shop);
    send(&v, &shop);
    let key = opened(&shop, &shop.posts(DELIVERIES)[0], None).public_key;

    // Two edits in the window: one update, due after the window; retry makes it due now.
    v.set("contact.email", "ada@new.example");
    v.set("contact.email", "ada@newer.example");
    let pending: Vec<Value> = deliveries(&v, &shop)
        .into_iter()
        .filter(|d| d["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "edits coalesce: {pending:?}");
    assert_eq!(pending[0]["event"], "update");
    assert_eq!(send(&v, &shop)["delivered"], 0, "not due before the window closes");
    let id = pending[0]["release_id"].as_str().unwrap();
    run_json(&v, &shop, &["deliveries", "retry", id]);
    assert_eq!(send(&v, &shop)["delivered"], 1);
    let posts = shop.posts(DELIVERIES);
    let update = opened(&shop, &posts[1], Some(&key));
    assert_eq!(
        (update.release.event, update.release.sequence),
        (ReleaseEvent::Update, 2)
    );
    assert_eq!(field(&update, "contact.email").value, "ada@newer.example");
    assert!(field(&update, "contact.email").version >= 3);

    // The shop goes down: the next update waits, with the reason, and is tried again later.
    shop.put(DELIVERIES, Page::Status(503));
    v.set("sizes.shoe", "40");
    let id = retry_pending(&v, &shop);
    let pass = send(&v, &shop);
    assert_eq!(
        (pass["delivered"].as_u64(), pass["retrying"].as_u64()),
        (Some(0), Some(1)),
        "{pass}"
    );
    let waiting = deliveries(&v, &shop)
        .into_iter()
        .find(|d| d["release_id"] == id.as_str())
        .unwrap();
    assert_eq!(waiting["status"], "pending");
    assert_eq!(waiting["last_status"], 503);
    let text = locket(&v.dir, &shop.env(), &["deliveries", "list"]).ok().to_owned();
    assert!(
        text.contains("waiting to deliver since") && text.contains("HTTP 503"),
        "{text}"
    );

    // The owner revokes: the waiting update is withdrawn, a revoke asking for erasure is queued instead.
    locket(&v.dir, &shop.env(), &["grant", "revoke", &grant_id]).ok();
    let list = deliveries(&v, &shop);
    assert!(
        list.iter().all(|d| d["release_id"] != id.as_str()),
        "the update was not withdrawn"
    );
    let revoke = list.iter().find(|d| d["event"] == "revoke").expect("a revoke release");
    assert_eq!(revoke["sequence"], 4, "sequence 3 was withdrawn, never reused");
    shop.put(DELIVERIES, Page::Status(200));
    assert_eq!(send(&v, &shop)["delivered"], 1);
    let posts = shop.posts(DELIVERIES);
    let last = opened(&shop, posts.last().unwrap(), Some(&key));
    assert_eq!(last.release.event, ReleaseEvent::Revoke);
    let ended = last.release.ended.as_ref().unwrap();
    assert!(ended.erasure_requested);
    assert_eq!(ended.retention.max_duration, "P90D");
    assert!(last.release.fields.is_none());
    // Further edits send nothing.
    v.set("contact.email", "after@revoke.example");
    assert!(deliveries(&v, &shop).iter().all(|d| d["status"] != "pending"));
}

#[test]
fn a_shop_answering_410_has_ended_the_grant() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(410));
    let grant_id = approved(&v, &shop);
    let pass = send(&v, &shop);
    assert_eq!(pass["failed"], 1, "{pass}");
    let grants = run_json(&v, &shop, &["grant", "list"]);
    let text = grants.to_string();
    assert!(text.contains(&grant_id) && text.contains("revoked"), "{text}");
    let log = locket(&v.dir, &shop.env(), &["--json", "audit"]).ok().to_owned();
    assert!(log.contains("410 Gone"), "{log}");
    // The shop ended it itself: no revoke release follows.
    assert!(deliveries(&v, &shop).iter().all(|d| d["event"] != "revoke"));
}

#[test]
fn refusals_fail_for_good_and_the_owner_can_retry_or_cancel() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(401));
    approved(&v, &shop);
    assert_eq!(send(&v, &shop)["failed"], 1);
    let d = deliveries(&v, &shop).remove(0);
    assert_eq!(d["status"], "failed");
    let id = d["release_id"].as_str().unwrap().to_owned();
    let text = locket(&v.dir, &shop.env(), &["deliveries", "list"]).ok().to_owned();
    assert!(
        text.contains("failed after 1 attempt(s)") && text.contains("HTTP 401"),
        "{text}"
    );
    // Fixed on the shop's side: retry delivers the same bytes.
    shop.put(DELIVERIES, Page::Status(200));
    run_json(&v, &shop, &["deliveries", "retry", &id[..12]]);
    assert_eq!(send(&v, &shop)["delivered"], 1);
    let posts = shop.posts(DELIVERIES);
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0].body, posts[1].body,
        "a retry re-sent other bytes under the same release id"
    );
    assert_eq!(posts[0].headers["webhook-id"], posts[1].headers["webhook-id"]);
    // Delivered ones can be neither retried nor cancelled.
    let r = locket(&v.dir, &shop.env(), &["--json", "deliveries", "cancel", &id]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("delivery_finished"), "{}", r.stderr);
    let r = locket(&v.dir, &shop.env(), &["--json", "deliveries", "retry", "rel_nope0000"]);
    assert!(r.stderr.contains("delivery_not_found"), "{}", r.stderr);
}

/// Every release of a grant's life (grant, update, revoke) opens with the `jose` npm package alone — the JOSE
/// library a retailer's Node.js server uses — given the shop's private key and the grant's public key, and
/// its Standard Webhooks v1a signature verifies with node:crypto. `scripts/setup` installs it.
#[test]
fn releases_open_with_the_jose_npm_package() {
    let root = crate::kit::repo_root();
    let script = root.join("tests/interop/verify-releases.mjs");
    assert!(
        root.join("tests/interop/node_modules/jose").is_dir(),
        "the interop test needs `jose`: run scripts/setup (npm ci in tests/interop)"
    );
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(200));
    let grant_id = approved(&v, &shop);
    send(&v, &shop);
    v.set("contact.email", "ada@jose.example");
    retry_pending(&v, &shop);
    send(&v, &shop);
    locket(&v.dir, &shop.env(), &["grant", "revoke", &grant_id]).ok();
    send(&v, &shop);
    let posts = shop.posts(DELIVERIES);
    assert_eq!(posts.len(), 3);
    let grant_key = opened(&shop, &posts[0], None).public_key;
    let input = serde_json::json!({
        "shop_key": serde_json::Value::Object(shop.keys.encryption.as_ref().clone()),
        "releases": posts.iter().map(|p| serde_json::json!({
            "body": String::from_utf8_lossy(&p.body),
            "headers": {
                "webhook-id": p.headers["webhook-id"],
                "webhook-timestamp": p.headers["webhook-timestamp"],
                "webhook-signature": p.headers["webhook-signature"],
            },
            "grant_key": grant_key,
        })).collect::<Vec<_>>(),
    });
    let file = v.tmp.path().join("releases.json");
    std::fs::write(&file, input.to_string()).unwrap();
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(&file)
        .current_dir(root.join("tests/interop"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["verified"], 3);
    let events: Vec<&str> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["grant", "update", "revoke"]);
}

/// Restore × deliveries: a backup taken after the first delivery, then an update delivered and the grant
/// revoked; restoring the backup keeps the revocation (the grant ledger), withdraws the restored outbox's data
/// releases, and every release the shop receives afterwards has a new id and a higher sequence than any it got
/// before — never an old id with other bytes.
#[test]
fn a_restore_never_reuses_a_release_id_or_goes_back_in_sequence() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(200));
    let grant_id = approved(&v, &shop);
    send(&v, &shop);
    locket(&v.dir, &shop.env(), &["backup", "now"]).ok();
    let backup = run_json(&v, &shop, &["backup", "list"]).as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    v.set("contact.email", "ada@after-backup.example");
    retry_pending(&v, &shop);
    send(&v, &shop);
    // Restore while the grant is live: the shop gets the restored values as a new update.
    run_json(&v, &shop, &["backup", "restore", &backup, "--yes"]);
    let pending: Vec<Value> = deliveries(&v, &shop)
        .into_iter()
        .filter(|d| d["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["event"], "update");
    assert_eq!(send(&v, &shop)["delivered"], 1);
    // Revoke; a later restore of the same backup keeps it revoked and sends no data.
    locket(&v.dir, &shop.env(), &["grant", "revoke", &grant_id]).ok();
    send(&v, &shop);
    run_json(&v, &shop, &["backup", "restore", &backup, "--yes"]);
    let after: Vec<Value> = deliveries(&v, &shop)
        .into_iter()
        .filter(|d| d["status"] == "pending")
        .collect();
    assert!(
        after.iter().all(|d| d["event"] != "grant" && d["event"] != "update"),
        "{after:?}"
    );
    send(&v, &shop);

    let posts = shop.posts(DELIVERIES);
    let key = opened(&shop, &posts[0], None).public_key;
    let mut ids = std::collections::HashSet::new();
    let mut last = 0;
    for (i, p) in posts.iter().enumerate() {
        let o = if i == 0 {
            opened(&shop, p, None)
        } else {
            opened(&shop, p, Some(&key))
        };
        assert!(
            ids.insert(o.release.release_id.clone()),
            "release id {} reused",
            o.release.release_id
        );
        assert!(
            o.release.sequence > last,
            "sequence went back: {} after {last}",
            o.release.sequence
        );
        last = o.release.sequence;
        assert!(
            !(o.release.event.carries_data()
                && i > 0
                && posts[..i].iter().any(|q| {
                    let q = opened(&shop, q, Some(&key));
                    q.release.event == ReleaseEvent::Revoke
                })),
            "data sent after the revocation"
        );
    }
    let events: Vec<ReleaseEvent> = posts
        .iter()
        .map(|p| opened(&shop, p, Some(&key)).release.event)
        .collect();
    assert_eq!(events.first(), Some(&ReleaseEvent::Grant));
    assert!(events.contains(&ReleaseEvent::Revoke), "{events:?}");
}

/// Narrowing a delivered grant sends what remains at once (updates on or off): the shop's copy of the withdrawn
/// scope is replaced by a release without it.
#[test]
fn narrowing_sends_what_remains() {
    let v = TestVault::new();
    let shop = Shop::start();
    shop.put(DELIVERIES, Page::Status(200));
    let grant_id = approved(&v, &shop);
    send(&v, &shop);
    let key = opened(&shop, &shop.posts(DELIVERIES)[0], None).public_key;
    assert_eq!(
        field(&opened(&shop, &shop.posts(DELIVERIES)[0], None), "sizes.shoe").value,
        serde_json::json!(39)
    );
    run_json(&v, &shop, &["deliveries", "updates", &grant_id, "off"]);
    run_json(&v, &shop, &["grant", "narrow", &grant_id, "--withdraw", "sizes.shoe"]);
    assert_eq!(send(&v, &shop)["delivered"], 1, "the narrowing went out at once");
    let posts = shop.posts(DELIVERIES);
    let o = opened(&shop, posts.last().unwrap(), Some(&key));
    assert_eq!(o.release.event, ReleaseEvent::Update);
    let keys: Vec<&str> = o
        .release
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(keys, ["contact.email"]);
}
