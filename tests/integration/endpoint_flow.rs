//! The whole retailer flow over real loopback HTTP against a real vault.

use crate::endpoint_support::{request_doc, unique_nonce, Fixture};
use locket_audit::{EventKind, Filter, Outcome};
use locket_endpoint::Notice;
use locket_grants::ApproveOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approve_subset_fetch_revoke_refused_and_logged() {
    let fx = Fixture::start().await;
    let mut notices = fx.endpoint.subscribe();

    // 1. The retailer sends a request over HTTP.
    let doc = request_doc(&unique_nonce(), &["contact.email", "contact.phone", "identity"]);
    let (status, body) = fx
        .post(
            "/v1/requests",
            None,
            Some(("application/json", doc.to_string().into_bytes())),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let request_id = body["request_id"].as_str().unwrap().to_string();
    assert_eq!(body["status"], "pending");
    let received = fx.newest();
    assert_eq!(
        (received.kind.clone(), received.outcome.as_str()),
        (EventKind::RequestReceived, "ok")
    );
    assert_eq!(received.request_id.as_deref(), Some(request_id.as_str()));

    // The desktop app hears about it live.
    let mut saw_request = false;
    let mut saw_event = false;
    while let Ok(n) = notices.try_recv() {
        match n {
            Notice::RequestReceived { request_id: id, .. } => saw_request |= id == request_id,
            Notice::EventAppended(e) => saw_event |= e.kind == EventKind::RequestReceived,
            _ => {}
        }
    }
    assert!(saw_request && saw_event);

    // 2. The owner approves a subset: the email only.
    let grant = fx.approve(
        &request_id,
        ApproveOptions {
            only: Some(vec!["contact.email".into()]),
            ..ApproveOptions::default()
        },
    );
    assert_eq!(grant.scopes.len(), 1);

    // 3. The retailer fetches: exactly the granted field.
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["format"], "locket.data/v1");
    assert_eq!(body["grant_id"], grant.grant_id.as_str());
    let fields = body["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{body}");
    assert_eq!(fields[0]["key"], "contact.email");
    assert_eq!(fields[0]["value"], "ada@example.org");
    assert_eq!(fields[0]["version"], 1);
    let text = body.to_string();
    assert!(
        !text.contains("+442071234567") && !text.contains("Lovelace"),
        "nothing outside the scope: {text}"
    );
    let redemption = fx.newest();
    assert_eq!(redemption.kind, EventKind::Redemption);
    assert_eq!(redemption.grant_id.as_deref(), Some(grant.grant_id.as_str()));
    assert_eq!(redemption.fields.len(), 1);
    assert_eq!(redemption.fields[0].key, "contact.email");
    assert_eq!(redemption.fields[0].version, 1);
    assert!(redemption.remote_addr.as_deref().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(redemption.user_agent.as_deref(), Some("locket-tests/1.0"));

    // Introspection shows it active with the use counted.
    let (status, body) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["uses"], 1);

    // 4. The owner revokes; the very next fetch is refused.
    fx.owner_revoke(&grant.grant_id);
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "grant_revoked");
    assert!(body["message"].as_str().unwrap().contains("revoked"));
    let refusal = fx.newest();
    assert_eq!(refusal.kind, EventKind::Refusal);
    assert_eq!(refusal.reason.as_deref(), Some("grant_revoked"));
    assert_eq!(refusal.grant_id.as_deref(), Some(grant.grant_id.as_str()));

    // Introspection now reports the revocation rather than refusing.
    let (status, body) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], false);
    assert_eq!(body["status"], "revoked");
    assert_eq!(body["revoked_by"], "owner");

    // 5. Both events are in the log, filterable by grant, and the chain verifies.
    let by_grant = locket_audit::query(
        fx.conn().conn(),
        &Filter {
            grant: Some(grant.grant_id.clone()),
            ..Filter::default()
        },
        None,
        50,
    )
    .unwrap();
    let kinds: Vec<(String, String)> = by_grant
        .events
        .iter()
        .map(|e| (e.kind.to_string(), e.outcome.clone()))
        .collect();
    assert!(kinds.contains(&("redemption".into(), "ok".into())), "{kinds:?}");
    assert!(kinds.contains(&("refusal".into(), "refused".into())), "{kinds:?}");
    assert!(kinds.contains(&("grant_revoked".into(), "ok".into())), "{kinds:?}");
    assert!(kinds.contains(&("grant_issued".into(), "ok".into())), "{kinds:?}");
    let by_field = locket_audit::query(
        fx.conn().conn(),
        &Filter {
            field: Some("contact.email".into()),
            ..Filter::default()
        },
        None,
        50,
    )
    .unwrap();
    assert_eq!(by_field.events.len(), 1);
    let refused = locket_audit::query(
        fx.conn().conn(),
        &Filter {
            outcome: Some(Outcome::Refused),
            ..Filter::default()
        },
        None,
        50,
    )
    .unwrap();
    assert_eq!(refused.events.len(), 1);
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retailer_gives_the_grant_back() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], None);
    let (status, body) = fx.post("/v1/grant/revoke", Some(&grant.token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"], true);
    assert_eq!(body["already_revoked"], false);
    let ev = fx.newest();
    assert_eq!(ev.kind, EventKind::GrantRevoked);
    assert_eq!(ev.detail.get("by").and_then(|v| v.as_str()), Some("retailer"));
    // Idempotent.
    let (status, body) = fx.post("/v1/grant/revoke", Some(&grant.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["already_revoked"], true);
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("grant_revoked")));
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_keys_and_locking() {
    let fx = Fixture::start().await;
    let (status, body) = fx.get("/v1/health", None).await;
    assert_eq!((status, body["vault"].as_str()), (200, Some("unlocked")));
    // The keys document answers only a token's holder, with the issuer and key of that token's retailer.
    let (status, body) = fx.get("/v1/keys", None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("authorization_missing")));
    let grant = fx.grant(&["contact.email"], None);
    let (status, body) = fx.get("/v1/keys", Some(&grant.token)).await;
    assert_eq!(status, 200);
    let paserk = body["keys"][0]["paserk"].as_str().unwrap();
    assert!(paserk.starts_with("k4.public."));
    assert_eq!(body["keys"][0]["kid"].as_str().unwrap(), grant.key_id);
    assert_eq!(body["issuer"].as_str().unwrap(), grant.issuer);
    assert_ne!(body["issuer"], fx.vault.id());
    assert_eq!(grant.public_key, paserk);
    assert_eq!(body["keys"].as_array().unwrap().len(), 1);

    // The owner locks Locket: the server keeps running but answers vault_locked.
    fx.endpoint.set_vault(None).unwrap();
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("vault_locked")));
    let (status, body) = fx.get("/v1/health", None).await;
    assert_eq!((status, body["vault"].as_str()), (200, Some("locked")));
    fx.endpoint.set_vault(Some(fx.vault.clone())).unwrap();
    let (status, _) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200);

    let (status, body) = fx.get("/v1/nope", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = fx.post("/v1/data", None, None).await;
    assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let fx = Fixture::start_with(locket_endpoint::EndpointConfig {
        cors: locket_endpoint::Cors::Origins(vec!["https://shop.example".into()]),
        ..locket_endpoint::EndpointConfig::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        fx.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/data", fx.url))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );
    let allowed_headers = ok
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization"), "{allowed_headers}");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A real call from the allowed origin carries the header too, and replies are never cacheable.
    let resp = fx
        .http
        .get(format!("{}/v1/health", fx.url))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );
    assert_eq!(
        resp.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    fx.stop().await;
}
