//! The endpoint's trust boundary against a web page and other local processes: the `Host` check (DNS
//! rebinding), HEAD on token routes, slow and half-open connections, CORS and Private Network Access, and the
//! listen-address rule — each against the real server on an ephemeral loopback port.
use std::time::Duration;

use locket_endpoint::{ConnectionLimits, Cors, EndpointConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::endpoint_support::Fixture;

/// Sends `head` (a request without a body) on a fresh connection and returns the status and the JSON body.
async fn raw(fx: &Fixture, head: String) -> (u16, Value) {
    let addr = fx.url.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn get(path: &str, host: Option<&str>, token: Option<&str>) -> String {
    let mut h = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if let Some(host) = host {
        h.push_str(&format!("Host: {host}\r\n"));
    }
    if let Some(t) = token {
        h.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    h.push_str("\r\n");
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_rebound_to_loopback_is_refused_by_its_host_before_any_route_runs() {
    let fx = Fixture::start().await;
    let port = fx.url.rsplit(':').next().unwrap().to_string();
    let grant = fx.grant(&["contact.email"], Some(1));
    let before = fx.event_count();
    for host in [
        format!("rebind.attacker.example:{port}"),
        format!("localhost.attacker.example:{port}"),
        format!("127.0.0.1:{}", port.parse::<u16>().unwrap().wrapping_add(1)),
        "127.0.0.1".to_string(),
        String::new(),
    ] {
        let (status, body) = raw(&fx, get("/v1/data", Some(&host), Some(&grant.token))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (421, Some("host_not_allowed")),
            "Host {host:?}"
        );
        let (status, _) = raw(&fx, get("/v1/health", Some(&host), None)).await;
        assert_eq!(status, 421, "Host {host:?}");
    }
    // HTTP/1.0 without any Host header.
    let (status, body) = raw(&fx, "GET /v1/health HTTP/1.0\r\n\r\n".into()).await;
    assert_eq!((status, body["code"].as_str()), (421, Some("host_not_allowed")));
    assert_eq!(
        fx.event_count(),
        before,
        "a refused Host reaches no route: nothing logged, no use counted"
    );
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
    ] {
        let (status, _) = raw(&fx, get("/v1/health", Some(&host), None)).await;
        assert_eq!(status, 200, "Host {host:?}");
    }
    // The one use the grant allows is still there.
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_on_a_token_route_is_405_and_counts_no_use() {
    let fx = Fixture::start().await;
    let grant = fx.grant(&["contact.email"], Some(1));
    let before = fx.event_count();
    for path in ["/v1/data", "/v1/grant", "/v1/grant/receipts"] {
        let resp = fx
            .http
            .head(format!("{}{path}", fx.url))
            .bearer_auth(&grant.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 405, "HEAD {path}");
    }
    assert_eq!(fx.event_count(), before, "HEAD logs no disclosure");
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "the single use is still available: {body}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_half_open_connections_do_not_stop_the_endpoint() {
    let fx = Fixture::start_with(EndpointConfig {
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            max_connections: 32,
        },
        ..EndpointConfig::default()
    })
    .await;
    let addr = fx.url.trim_start_matches("http://").to_string();
    // Four times the connection cap, each stuck half-way through its request head (Slowloris).
    let mut stuck = Vec::new();
    for _ in 0..128 {
        if let Ok(mut s) = TcpStream::connect(&addr).await {
            let _ = s
                .write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await;
            stuck.push(s);
        }
    }
    // A real client still gets its answer: the stuck ones are closed after the header-read timeout and the
    // waiting ones are served in turn.
    let (status, body) = fx.get("/v1/health", None).await;
    assert_eq!(status, 200, "{body}");
    // The first stuck connection was closed by the server (EOF or reset), not kept open.
    let mut first = stuck.remove(0);
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(30), first.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a connection that never finishes its headers is closed by the server"
    );
    // An idle keep-alive connection is closed too.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let port = addr.rsplit(':').next().unwrap();
    idle.write_all(format!("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), idle.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "an idle keep-alive connection is closed by the server");
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "it was answered first"
    );
    drop(stuck);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_trusts_only_https_pages_and_private_network_access_only_for_named_origins() {
    async fn preflight(fx: &Fixture, origin: &str) -> reqwest::Response {
        fx.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/data", fx.url))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .header("access-control-request-private-network", "true")
            .send()
            .await
            .unwrap()
    }
    let named = Fixture::start_with(EndpointConfig {
        cors: Cors::Origins(vec!["https://shop.example".into(), "http://shop.example".into()]),
        ..EndpointConfig::default()
    })
    .await;
    let ok = preflight(&named, "https://shop.example").await;
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://shop.example");
    assert_eq!(ok.headers()["access-control-allow-private-network"], "true");
    let plain = preflight(&named, "http://shop.example").await;
    assert!(
        plain.headers().get("access-control-allow-origin").is_none(),
        "a plain-http origin is never allowed, even when configured"
    );
    assert!(plain.headers().get("access-control-allow-private-network").is_none());
    named.stop().await;

    let any = Fixture::start_with(EndpointConfig {
        cors: Cors::Any,
        ..EndpointConfig::default()
    })
    .await;
    let dev = preflight(&any, "http://localhost:5173").await;
    assert_eq!(dev.headers()["access-control-allow-origin"], "http://localhost:5173");
    assert!(
        dev.headers().get("access-control-allow-private-network").is_none(),
        "development mode never lets a public page into the private network"
    );
    for origin in ["http://evil.example", "http://192.168.1.20:8080", "null"] {
        let r = preflight(&any, origin).await;
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{origin}");
    }
    assert!(preflight(&any, "https://shop.example")
        .await
        .headers()
        .get("access-control-allow-origin")
        .is_some());
    any.stop().await;
}
