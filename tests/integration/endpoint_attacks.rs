//! The attack suite: every hostile call is refused with the documented code and recorded in the access log
//! (except flood refusals beyond the first per rate window, which are counted, not logged one by one).

use crate::endpoint_support::{new_vault, request_doc, unique_nonce, Fixture};
use base64::Engine as _;
use chrono::{Duration, Utc};
use locket_audit::EventKind;
use locket_endpoint::EndpointConfig;
use locket_grants::token::{peek_claims, rfc3339};
use locket_grants::Issuers;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Asserts the reply and that the newest audit event is the matching refusal (refusal summaries written first:
/// after that, the next refusal of a caller that proved nothing is again logged on its own).
async fn refused(fx: &Fixture, got: (u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()));
    fx.flush().await;
    let ev = fx.newest();
    assert_eq!(ev.reason.as_deref(), Some(code), "the refusal must be logged: {ev:?}");
    assert_eq!(ev.outcome, "refused");
}

/// Re-signs `claims` with the key `issuers` hold for the claims' retailer (this vault's own unless told
/// otherwise).
fn sign_with(issuers: &Issuers, claims: &locket_grants::TokenClaims) -> String {
    issuers.token_signer(&claims.aud).unwrap().sign(claims).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_tampered_tokens_are_refused() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], None);
    let before = fx.event_count();

    // Forged signature: flip one character of the signature.
    let mut parts: Vec<String> = grant.token.split('.').map(str::to_string).collect();
    let mut chars: Vec<char> = parts[2].chars().collect();
    let i = chars.len() - 20;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    parts[2] = chars.into_iter().collect();
    let forged = parts.join(".");
    refused(
        &fx,
        fx.get("/v1/data", Some(&forged)).await,
        401,
        "token_invalid_signature",
    )
    .await;
    let ev = fx.newest();
    assert_eq!(ev.kind, EventKind::Refusal);
    assert_eq!(
        ev.grant_id, None,
        "an unverified token's claims are not trusted as the grant"
    );
    assert_eq!(
        ev.detail.get("claimed_grant").and_then(|v| v.as_str()),
        Some(grant.grant_id.as_str())
    );

    // Tampered claims: widen the scope in the payload, keep the signature.
    let raw = B64.decode(&parts[2]).unwrap();
    let (payload, sig) = raw.split_at(raw.len() - 64);
    let mut claims: Value = serde_json::from_slice(payload).unwrap();
    claims["scope"] = serde_json::json!(["contact.email", "contact.phone"]);
    let mut tampered_raw = serde_json::to_vec(&claims).unwrap();
    tampered_raw.extend_from_slice(sig);
    let original_parts: Vec<&str> = grant.token.split('.').collect();
    let tampered = format!("v4.public.{}.{}", B64.encode(&tampered_raw), original_parts[3]);
    refused(
        &fx,
        fx.get("/v1/data", Some(&tampered)).await,
        401,
        "token_invalid_signature",
    )
    .await;

    // A token from another vault (its own key) naming this grant.
    let (_other_dir, other) = new_vault();
    let other_signer = Issuers::for_vault(&other);
    let mut c = peek_claims(&grant.token).unwrap();
    c.iss = other.id().to_string();
    refused(
        &fx,
        fx.get("/v1/data", Some(&sign_with(&other_signer, &c))).await,
        401,
        "token_unknown_key",
    )
    .await;
    // ... even if it claims this vault as issuer.
    let c = peek_claims(&grant.token).unwrap();
    refused(
        &fx,
        fx.get("/v1/data", Some(&sign_with(&other_signer, &c))).await,
        401,
        "token_unknown_key",
    )
    .await;

    // Garbage that looks like a token.
    refused(
        &fx,
        fx.get("/v1/data", Some("v4.public.AAAA")).await,
        400,
        "token_malformed",
    )
    .await;
    refused(
        &fx,
        fx.get("/v1/data", Some("v2.local.abc")).await,
        400,
        "token_malformed",
    )
    .await;

    // Introspection and revocation refuse the same way.
    refused(
        &fx,
        fx.get("/v1/grant", Some(&forged)).await,
        401,
        "token_invalid_signature",
    )
    .await;
    refused(
        &fx,
        fx.post("/v1/grant/revoke", Some(&forged), None).await,
        401,
        "token_invalid_signature",
    )
    .await;
    // The real grant is untouched by all of that.
    let (status, _) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200);
    assert_eq!(fx.event_count(), before + 9);
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_window_revocation_and_use_cap_are_enforced() {
    let fx = Fixture::start().await;
    let signer = Issuers::for_vault(&fx.vault);
    let grant = fx.grant(&["contact.email"], None);
    let now = Utc::now();

    // Expired (validly signed by this vault, for this grant).
    let mut c = peek_claims(&grant.token).unwrap();
    c.nbf = rfc3339(now - Duration::days(2));
    c.exp = rfc3339(now - Duration::days(1));
    refused(
        &fx,
        fx.get("/v1/data", Some(&sign_with(&signer, &c))).await,
        401,
        "token_expired",
    )
    .await;
    assert_eq!(fx.newest().grant_id.as_deref(), Some(grant.grant_id.as_str()));

    // Not yet valid.
    let mut c = peek_claims(&grant.token).unwrap();
    c.nbf = rfc3339(now + Duration::days(1));
    refused(
        &fx,
        fx.get("/v1/data", Some(&sign_with(&signer, &c))).await,
        401,
        "token_not_yet_valid",
    )
    .await;

    // A validly signed token for a grant this vault never issued.
    let mut c = peek_claims(&grant.token).unwrap();
    c.jti = "gr_00000000000000000000000000000000".into();
    refused(
        &fx,
        fx.get("/v1/data", Some(&sign_with(&signer, &c))).await,
        401,
        "grant_unknown",
    )
    .await;

    // Uses exhausted.
    let once = fx.grant(&["contact.email"], Some(1));
    let (status, _) = fx.get("/v1/data", Some(&once.token)).await;
    assert_eq!(status, 200);
    refused(
        &fx,
        fx.get("/v1/data", Some(&once.token)).await,
        403,
        "grant_uses_exhausted",
    )
    .await;
    let (_, intro) = fx.get("/v1/grant", Some(&once.token)).await;
    assert_eq!(
        (intro["status"].as_str(), intro["uses_left"].as_u64()),
        (Some("exhausted"), Some(0))
    );

    // Revoked.
    fx.owner_revoke(&grant.grant_id);
    refused(&fx, fx.get("/v1/data", Some(&grant.token)).await, 403, "grant_revoked").await;
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_escalation_never_yields_more() {
    let fx = Fixture::start().await;
    let signer = Issuers::for_vault(&fx.vault);
    let grant = fx.grant(&["contact.email"], None);
    // Even a token signed by the vault itself that names more scopes than the stored grant (which no owner
    // action can produce) yields only what the grant holds.
    let mut c = peek_claims(&grant.token).unwrap();
    c.scope.push("contact.phone".into());
    c.scope.push("identity".into());
    let (status, body) = fx.get("/v1/data", Some(&sign_with(&signer, &c))).await;
    assert_eq!(status, 200, "{body}");
    let keys: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["contact.email"]);
    assert_eq!(fx.newest().fields.len(), 1);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_authorization_headers() {
    let fx = Fixture::start().await;
    let (status, body) = fx.get("/v1/data", None).await;
    refused(&fx, (status, body), 401, "authorization_missing").await;
    for bad in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer v4.public.a b",
        "Bearer <script>",
        "Token abc",
    ] {
        refused(&fx, fx.get_raw_auth("/v1/data", bad).await, 400, "token_malformed").await;
    }
    let huge = format!("Bearer v4.public.{}", "A".repeat(9000));
    refused(&fx, fx.get_raw_auth("/v1/data", &huge).await, 400, "token_malformed").await;
    // A header far beyond any limit: refused by the HTTP layer without taking the server down.
    let enormous = format!("Bearer {}", "A".repeat(1_000_000));
    let r = fx
        .http
        .get(format!("{}/v1/data", fx.url))
        .header("authorization", enormous)
        .send()
        .await;
    if let Ok(resp) = r {
        assert!(resp.status().is_client_error());
    }
    let (status, _) = fx.get("/v1/health", None).await;
    assert_eq!(status, 200);
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_request_bodies() {
    let fx = Fixture::start_with(EndpointConfig {
        requests_burst: 100,
        requests_per_minute: 600,
        ..EndpointConfig::default()
    })
    .await;
    let json = "application/json";
    // Oversized.
    let big = vec![b' '; 70 * 1024];
    refused(
        &fx,
        fx.post("/v1/requests", None, Some((json, big))).await,
        413,
        "request_too_large",
    )
    .await;
    // Far beyond the cap: still our refusal or a clean client error, and the server lives on.
    let r = fx
        .http
        .post(format!("{}/v1/requests", fx.url))
        .header("content-type", json)
        .body(vec![b'x'; 8 * 1024 * 1024])
        .send()
        .await;
    if let Ok(resp) = r {
        assert_eq!(resp.status().as_u16(), 413);
    }
    // Not JSON.
    refused(
        &fx,
        fx.post("/v1/requests", None, Some((json, b"{not json".to_vec()))).await,
        400,
        "request_malformed",
    )
    .await;
    // JSON that breaks the schema: the reply names the path and the rule.
    let mut doc = request_doc(&unique_nonce(), &["contact.email"]);
    doc["scopes"][0]["purpose"] = "world_domination".into();
    let got = fx
        .post("/v1/requests", None, Some((json, doc.to_string().into_bytes())))
        .await;
    let problems = got.1["problems"].as_array().cloned().unwrap_or_default();
    refused(&fx, got, 422, "request_invalid").await;
    assert!(
        problems.iter().any(|p| p["path"] == "/scopes/0/purpose"),
        "{problems:?}"
    );
    // A scope the catalog does not know.
    let doc = request_doc(&unique_nonce(), &["bank.iban"]);
    refused(
        &fx,
        fx.post("/v1/requests", None, Some((json, doc.to_string().into_bytes())))
            .await,
        422,
        "request_invalid",
    )
    .await;
    // Wrong media type.
    let doc = request_doc(&unique_nonce(), &["contact.email"]);
    refused(
        &fx,
        fx.post("/v1/requests", None, Some(("text/plain", doc.to_string().into_bytes())))
            .await,
        415,
        "unsupported_media_type",
    )
    .await;
    // Replay of an accepted request (same retailer and nonce).
    let nonce = unique_nonce();
    let doc = request_doc(&nonce, &["contact.email"]);
    let (status, _) = fx
        .post("/v1/requests", None, Some((json, doc.to_string().into_bytes())))
        .await;
    assert_eq!(status, 202);
    refused(
        &fx,
        fx.post("/v1/requests", None, Some((json, doc.to_string().into_bytes())))
            .await,
        409,
        "request_duplicate",
    )
    .await;
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_are_capped() {
    let fx = Fixture::start_with(EndpointConfig {
        max_pending_requests: 3,
        requests_burst: 100,
        ..EndpointConfig::default()
    })
    .await;
    for _ in 0..3 {
        let doc = request_doc(&unique_nonce(), &["contact.email"]);
        let (status, _) = fx
            .post(
                "/v1/requests",
                None,
                Some(("application/json", doc.to_string().into_bytes())),
            )
            .await;
        assert_eq!(status, 202);
    }
    let doc = request_doc(&unique_nonce(), &["contact.email"]);
    let got = fx
        .post(
            "/v1/requests",
            None,
            Some(("application/json", doc.to_string().into_bytes())),
        )
        .await;
    refused(&fx, got, 429, "requests_pending_limit").await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_limited_and_the_server_stays_responsive() {
    let fx = Fixture::start_with(EndpointConfig {
        requests_burst: 5,
        requests_per_minute: 10,
        max_pending_requests: 1000,
        ..EndpointConfig::default()
    })
    .await;
    let grant = fx.grant(&["contact.email"], None);
    let before = fx.event_count();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let http = fx.http.clone();
        let url = format!("{}/v1/requests", fx.url);
        tasks.push(tokio::spawn(async move {
            let doc = request_doc(&unique_nonce(), &["contact.email"]);
            let resp = http
                .post(url)
                .header("content-type", "application/json")
                .header("origin", "https://flood.example")
                .body(doc.to_string())
                .send()
                .await
                .unwrap();
            let retry = resp.headers().get("retry-after").is_some();
            (resp.status().as_u16(), retry)
        }));
    }
    // While the flood runs, the retailer's own calls keep working.
    for _ in 0..5 {
        let (status, _) = fx.get("/v1/data", Some(&grant.token)).await;
        assert_eq!(status, 200);
        let (status, _) = fx.get("/v1/health", None).await;
        assert_eq!(status, 200);
    }
    let mut accepted = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            (202, _) => accepted += 1,
            (429, true) => limited += 1,
            other => panic!("unexpected reply {other:?}"),
        }
    }
    assert!(accepted <= 6, "the bucket holds 5 (+1 refilled at most): {accepted}");
    assert_eq!(accepted + limited, 200);
    // Another origin is not affected by the flood.
    let (status, body) = fx.submit_from("https://calm.example").await;
    assert_eq!(status, 202, "{body}");
    // Accepted ones and the first refusal are logged; the rest of the flood is counted, not logged one by one.
    let logged = fx.event_count() - before;
    let refusals = fx
        .events(300)
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("rate_limited"))
        .count();
    assert!((1..=2).contains(&refusals), "{refusals}");
    assert!(
        logged < 40,
        "a flood must not grow the log without bound: {logged} events"
    );
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_origin_header_does_not_escape_the_limit() {
    let fx = Fixture::start_with(EndpointConfig {
        requests_burst: 2,
        requests_per_minute: 1,
        max_pending_requests: 1000,
        ..EndpointConfig::default()
    })
    .await;
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..40 {
        let (status, _) = fx.submit_from(&format!("https://shop{i}.example")).await;
        match status {
            202 => accepted += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // The address budget is ADDRESS_LIMIT_FACTOR (4) times the per-origin one (2), plus at most one refill.
    assert!(accepted <= 9, "{accepted}");
    assert_eq!(accepted + limited, 40);
    assert!(fx.events(5).iter().any(|e| e.reason.as_deref() == Some("rate_limited")));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_token_flood_is_refused_logged_and_does_not_starve_the_retailer() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], None);
    let before = fx.event_count();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let http = fx.http.clone();
        let url = format!("{}/v1/data", fx.url);
        tasks.push(tokio::spawn(async move {
            let resp = http
                .get(url)
                .header("authorization", format!("Bearer v4.public.forged{i}"))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let mut served = 0;
    for _ in 0..10 {
        let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
        assert_eq!(status, 200, "{body}");
        served += 1;
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 400);
    }
    // Every redemption was committed before its reply; the flood's refusals are the first one logged on its own
    // and a counted summary (written at the end of the window, here at once), so nothing is lost and the log
    // does not grow by one event per forged token.
    fx.flush().await;
    let added = fx.event_count() - before;
    assert!(added < 30, "a flood of forged tokens added {added} events");
    let n = added as usize;
    assert_eq!(fx.refusals_in(n), 300, "every refusal is accounted for");
    let redemptions = fx.events(n).iter().filter(|e| e.kind == EventKind::Redemption).count();
    assert_eq!(redemptions, served);
    let summary = fx
        .events(n)
        .into_iter()
        .find(|e| e.kind == EventKind::RefusalsSummarized)
        .expect("a summary");
    assert_eq!(summary.reason.as_deref(), Some("token_malformed"));
    assert_eq!(summary.detail["source"], "loopback");
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_token_are_counted_not_logged_one_by_one() {
    let mut fx = Fixture::start().await;
    let before = fx.event_count();
    for i in 0..300 {
        // From rotating loopback addresses is the same: anyone on this machine can pick any of them.
        let (status, body) = fx.get(if i % 2 == 0 { "/v1/data" } else { "/v1/grant" }, None).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "authorization_missing");
    }
    // The first is in the log at once, so the owner sees it as it happens.
    let first = fx.newest();
    assert_eq!(first.kind, EventKind::Refusal);
    assert_eq!(first.reason.as_deref(), Some("authorization_missing"));
    assert_eq!(fx.event_count() - before, 1);
    // The rest is one summary, written when the window ends, the vault is locked or the server stops.
    fx.stop_server().await;
    let added = fx.event_count() - before;
    assert_eq!(added, 2);
    let summary = fx.newest();
    assert_eq!(summary.kind, EventKind::RefusalsSummarized);
    assert_eq!(summary.reason.as_deref(), Some("authorization_missing"));
    assert_eq!(summary.detail["count"], 299);
    assert_eq!(
        summary.detail["actions"],
        serde_json::json!(["introspection", "redemption"])
    );
    assert_eq!(summary.user_agent.as_deref(), Some("locket-tests/1.0"));
    fx.verify_log();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_summaries_are_written_when_their_window_ends_and_when_the_vault_is_locked() {
    let fx = Fixture::start_with(EndpointConfig {
        refusal_window: std::time::Duration::from_millis(300),
        ..EndpointConfig::default()
    })
    .await;
    let before = fx.event_count();
    for _ in 0..5 {
        fx.get("/v1/data", Some("v4.public.garbage")).await;
    }
    // No further refusal comes, yet the window's summary is written once it is over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fx.event_count() - before < 2 {
        assert!(std::time::Instant::now() < deadline, "the summary was never written");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(fx.newest().detail["count"], 4);
    fx.stop().await;
    // Locking writes what was counted before the vault is let go.
    let fx = Fixture::start().await;
    let before = fx.event_count();
    for _ in 0..7 {
        fx.get("/v1/data", None).await;
    }
    fx.endpoint.set_vault(None).unwrap();
    assert_eq!(fx.event_count() - before, 2);
    assert_eq!(fx.newest().detail["count"], 6);
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_or_huge_origins_are_refused_and_nothing_is_kept_for_them() {
    let fx = Fixture::start_with(EndpointConfig {
        requests_burst: 1000,
        requests_per_minute: 1000,
        max_pending_requests: 1000,
        ..EndpointConfig::default()
    })
    .await;
    let before = fx.event_count();
    let huge = format!("https://{}.example", "a".repeat(64 * 1024));
    for origin in [
        huge.as_str(),
        "https://shop.example/path",
        "javascript:alert(1)",
        "https://a b",
    ] {
        let (status, body) = fx.submit_from(origin).await;
        assert_eq!(status, 400, "{}", &origin[..origin.len().min(40)]);
        assert_eq!(body["code"], "origin_invalid");
        assert!(
            body["message"].as_str().unwrap().len() < 200,
            "the message does not echo the origin"
        );
    }
    fx.flush().await;
    assert_eq!(fx.refusals_in((fx.event_count() - before) as usize), 4);
    // Logged clipped: the 64 KiB origin is not in the log.
    for e in fx.events((fx.event_count() - before) as usize) {
        let text = serde_json::to_string(&e.detail).unwrap();
        assert!(text.len() < 2048, "{}", text.len());
    }
    // A well-formed origin is accepted; nothing was requested by the refused ones.
    let (status, body) = fx.submit_from("https://Shop.Example:8443").await;
    assert_eq!(status, 202, "{body}");
    let pending: i64 = fx
        .conn()
        .conn()
        .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 1);
    fx.stop().await;
}
