//! Connect from the web, end to end over real HTTPS on loopback (a test CA, `shop.test` mapped to 127.0.0.1 by
//! Locket's documented test settings): `locket requests connect LINK` fetches the shop's metadata and signed
//! request object, verifies them and stores a verified request; every refusal names its code and stores nothing.
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::common::TestVault;
use crate::connect_support::{link, locket, Page, Shop, TestCa};

fn requests(v: &TestVault, shop: &Shop) -> Vec<Value> {
    let r = locket(&v.dir, &shop.env(), &["--json", "requests", "list"]);
    r.ok();
    r.json().as_array().cloned().unwrap_or_default()
}

/// Connecting with `link` fails with `code` (and the CLI exit status `exit`), and no request is stored.
#[track_caller]
fn refused(v: &TestVault, shop: &Shop, env: &[(&'static str, String)], link: &str, code: &str) {
    let before = requests(v, shop).len();
    let r = locket(&v.dir, env, &["--json", "requests", "connect", link]);
    assert_ne!(r.code, Some(0), "expected {code}; stdout: {}", r.stdout);
    let err: Value = serde_json::from_str(r.stderr.lines().last().unwrap_or("{}")).unwrap_or(Value::Null);
    assert_eq!(err["error"]["code"], code, "stderr: {}", r.stderr);
    assert_eq!(requests(v, shop).len(), before, "a refused connect stored something");
}

#[test]
fn a_connect_link_yields_a_verified_request_pinned_to_its_origin() {
    let v = TestVault::new();
    let shop = Shop::start();
    let link = shop.publish_request("/locket/r/first");
    let r = locket(&v.dir, &shop.env(), &["requests", "connect", &link]);
    let out = r.ok();
    assert!(
        out.contains(&format!(
            "Verified: shop.test — this request was signed by the site you were on ({})",
            shop.origin
        )),
        "{out}"
    );
    assert!(!out.contains("Not verified"), "{out}");

    let list = requests(&v, &shop);
    assert_eq!(list.len(), 1);
    let req = &list[0];
    assert_eq!(req["verified"], true);
    assert_eq!(req["via"], "connect");
    assert_eq!(req["verification"]["origin"], shop.origin);
    assert_eq!(req["verification"]["request_uri"], shop.url("/locket/r/first"));
    assert_eq!(req["verification"]["key_id"], shop.keys.signing_kid());
    assert_eq!(req["verification"]["changes"], serde_json::json!([]));

    // The list says so too; a request imported from a file stays "not verified".
    let text = locket(&v.dir, &shop.env(), &["requests", "list"]);
    assert!(text.ok().contains("verified: shop.test"), "{}", text.stdout);

    // The audit log records the pin.
    let log = locket(&v.dir, &shop.env(), &["--json", "audit"]);
    assert!(log.ok().contains("retailer_pinned"), "{}", log.stdout);

    // Fetching the same object again is a replay of its nonce.
    refused(&v, &shop, &shop.env(), &link, "request_duplicate");
}

#[test]
fn forged_unknown_expired_and_cross_origin_objects_are_refused() {
    let v = TestVault::new();
    let shop = Shop::start();
    let env = shop.env();

    // Signed by a key the shop does not publish.
    let stranger = locket_wire::metadata::RetailerKeys::generate().unwrap();
    let url = shop.url("/r/unknown");
    shop.publish("/r/unknown", shop.sign(shop.request(), &url, &stranger.signing));
    refused(&v, &shop, &env, &link(&url), "request_object_unknown_key");

    // Signed by another key under the shop's kid.
    let mut forger = locket_wire::metadata::RetailerKeys::generate().unwrap();
    forger.signing.set_key_id(shop.keys.signing_kid());
    let url = shop.url("/r/forged");
    shop.publish("/r/forged", shop.sign(shop.request(), &url, &forger.signing));
    refused(&v, &shop, &env, &link(&url), "request_object_invalid_signature");

    // Expired.
    let url = shop.url("/r/expired");
    let claims = locket_wire::request_object::RequestObjectClaims {
        request: shop.request(),
        state: "expired-state-0123456789".into(),
        request_uri: url.clone(),
        issued_at: chrono::Utc::now() - chrono::Duration::minutes(30),
        expires_at: chrono::Utc::now() - chrono::Duration::minutes(1),
    };
    let jws = locket_wire::request_object::sign_request_object(&claims, &shop.keys.signing).unwrap();
    shop.publish("/r/expired", jws);
    refused(&v, &shop, &env, &link(&url), "request_object_expired");

    // A genuine object copied to another URL (it names the URL it was made for).
    let jws = shop.sign(shop.request(), &shop.url("/r/original"), &shop.keys.signing);
    let copy = shop.publish("/r/copy", jws);
    refused(&v, &shop, &env, &link(&copy), "request_object_uri_mismatch");

    // A request whose retailer block claims another shop.
    let mut other = shop.request();
    other["retailer"]["id"] = "bigshop.example".into();
    let url = shop.url("/r/impostor");
    shop.publish("/r/impostor", shop.sign(other, &url, &shop.keys.signing));
    refused(&v, &shop, &env, &link(&url), "request_object_retailer_mismatch");

    // Metadata that says it is someone else.
    let mut meta = shop.metadata();
    meta["id"] = "https://bigshop.example".into();
    shop.put(
        "/.well-known/locket-retailer.json",
        Page::Ok("application/json", meta.to_string().into_bytes()),
    );
    let link_ok = shop.publish_request("/r/fine");
    refused(&v, &shop, &env, &link_ok, "retailer_metadata_origin_mismatch");
    shop.publish_metadata();

    // Not a JWS at all; no metadata; plain http.
    let url = shop.publish("/r/garbage", "hello".into());
    refused(&v, &shop, &env, &link(&url), "request_object_malformed");
    shop.put("/.well-known/locket-retailer.json", Page::Status(404));
    refused(&v, &shop, &env, &link_ok, "connect_http_status");
    shop.publish_metadata();
    // A request the shop no longer serves (used once already, or expired): the owner is told in words.
    shop.put("/r/gone", Page::Status(404));
    let gone = link(&format!("{}/r/gone", shop.origin));
    refused(&v, &shop, &env, &gone, "connect_http_status");
    let r = locket(&v.dir, &env, &["requests", "connect", &gone]);
    assert!(
        r.stderr
            .contains("no longer offers this request (HTTP 404): the link was already used or has expired"),
        "{}",
        r.stderr
    );
    refused(
        &v,
        &shop,
        &env,
        "locket://connect?request_uri=http%3A%2F%2Fshop.test%2Fr",
        "connect_not_https",
    );
    assert!(requests(&v, &shop).is_empty());
}

#[test]
fn the_guards_refuse_redirects_private_addresses_untrusted_certificates_and_big_or_slow_answers() {
    let v = TestVault::new();
    let ca = Arc::new(TestCa::new());
    let shop = Shop::start_with(Arc::clone(&ca));
    let env = shop.env();

    // A redirect to another origin (even one that serves a valid object).
    let evil = format!("https://evil.test:{}/r/x", shop.port);
    shop.put("/r/redirect", Page::Redirect(evil));
    refused(
        &v,
        &shop,
        &env,
        &link(&shop.url("/r/redirect")),
        "connect_redirect_refused",
    );

    // Same-origin redirects are followed.
    let target = shop.url("/r/target");
    let jws = shop.sign(shop.request(), &shop.url("/r/moved"), &shop.keys.signing);
    shop.publish("/r/target", jws);
    shop.put("/r/moved", Page::Redirect(target));
    locket(&v.dir, &env, &["requests", "connect", &link(&shop.url("/r/moved"))]).ok();

    // Private and link-local addresses, whatever the test switch says; loopback without the switch.
    for ip in ["10.0.0.7", "192.168.1.1", "169.254.169.254", "100.64.0.1"] {
        let mut env = shop.env();
        env.retain(|(k, _)| *k != "LOCKET_NET_RESOLVE");
        env.push(("LOCKET_NET_RESOLVE", format!("shop.test={ip}")));
        refused(
            &v,
            &shop,
            &env,
            &shop.publish_request("/r/private"),
            "connect_address_refused",
        );
    }
    let mut no_loopback = shop.env();
    no_loopback.retain(|(k, _)| *k != "LOCKET_NET_ALLOW_LOOPBACK");
    refused(
        &v,
        &shop,
        &no_loopback,
        &shop.publish_request("/r/loop"),
        "connect_address_refused",
    );

    // The system's trust store alone does not know the test CA.
    let mut untrusted = shop.env();
    untrusted.retain(|(k, _)| *k != "LOCKET_NET_EXTRA_CA");
    refused(
        &v,
        &shop,
        &untrusted,
        &shop.publish_request("/r/tls"),
        "connect_tls_failed",
    );

    // Oversized, with and without a Content-Length.
    shop.put("/r/big", Page::Ok("application/jwt", vec![b'a'; 200 * 1024]));
    refused(&v, &shop, &env, &link(&shop.url("/r/big")), "connect_too_large");
    shop.put("/r/stream", Page::Huge(10 * 1024 * 1024));
    refused(&v, &shop, &env, &link(&shop.url("/r/stream")), "connect_too_large");

    // Slower than the (shortened) timeout.
    shop.put("/r/slow", Page::Slow(Duration::from_secs(4), b"late".to_vec()));
    refused(&v, &shop, &env, &link(&shop.url("/r/slow")), "connect_timeout");

    // Nothing listens.
    let mut down = shop.env();
    down.retain(|(k, _)| *k != "LOCKET_NET_RESOLVE");
    down.push(("LOCKET_NET_RESOLVE", "shop.test=127.0.0.1".into()));
    refused(
        &v,
        &shop,
        &down,
        &link("https://shop.test:1/r/none"),
        "connect_unreachable",
    );
    assert_eq!(requests(&v, &shop).len(), 1, "only the same-origin redirect was stored");
}

#[test]
fn a_changed_key_or_name_is_flagged_and_approving_accepts_it() {
    let v = TestVault::new();
    let mut shop = Shop::start();
    let env = shop.env();
    locket(&v.dir, &env, &["requests", "connect", &shop.publish_request("/r/1")]).ok();

    // The shop's signing key changes (a new owner, or someone who broke in).
    shop.keys = locket_wire::metadata::RetailerKeys::generate().unwrap();
    shop.publish_metadata();
    let r = locket(&v.dir, &env, &["requests", "connect", &shop.publish_request("/r/2")]);
    let out = r.ok();
    assert!(out.contains("not the ones Locket pinned"), "{out}");
    assert!(out.contains("signing key: pinned"), "{out}");
    let list = requests(&v, &shop);
    let newest = list
        .iter()
        .find(|r| r["verification"]["request_uri"] == shop.url("/r/2"))
        .unwrap();
    let changed: Vec<&str> = newest["verification"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["signing_key", "encryption_key"]);
    let text = locket(&v.dir, &env, &["requests", "list"]);
    assert!(text.ok().contains("verified: shop.test, ⚠ changed"), "{}", text.stdout);

    // Approving it accepts the new key: the next request from the same keys is not flagged.
    let id = newest["id"].as_str().unwrap();
    let out_file = v.tmp.path().join("grant.json");
    locket(
        &v.dir,
        &env,
        &[
            "grant",
            "approve",
            id,
            "--only",
            "contact.email",
            "--out",
            out_file.to_str().unwrap(),
        ],
    )
    .ok();
    locket(&v.dir, &env, &["requests", "connect", &shop.publish_request("/r/3")]).ok();
    let list = requests(&v, &shop);
    let third = list
        .iter()
        .find(|r| r["verification"]["request_uri"] == shop.url("/r/3"))
        .unwrap();
    assert_eq!(third["verification"]["changes"], serde_json::json!([]));
    let log = locket(&v.dir, &env, &["--json", "audit"]);
    assert!(log.ok().contains("retailer_pin_changed"), "{}", log.stdout);
}

#[test]
fn a_file_request_claiming_a_verified_shops_id_is_flagged() {
    let v = TestVault::new();
    let shop = Shop::start();
    locket(
        &v.dir,
        &shop.env(),
        &["requests", "connect", &shop.publish_request("/r/1")],
    )
    .ok();
    let file = v.tmp.path().join("impostor.json");
    let mut req = shop.request();
    req["retailer"]["origin"] = "https://shop.test".into();
    std::fs::write(&file, req.to_string()).unwrap();
    let r = locket(&v.dir, &shop.env(), &["requests", "import", file.to_str().unwrap()]);
    let out = r.ok();
    assert!(out.contains("Not verified"), "{out}");
    assert!(
        out.contains(&format!("a verified shop ({}) uses this shop id", shop.origin)),
        "{out}"
    );
}
