//! The HTTP routes: header parsing and limits here; everything that touches the vault is in `backend`.
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use locket_audit::NewEvent;
use serde_json::json;
use tower_http::cors::{AllowOrigin, AllowPrivateNetwork, CorsLayer};

use crate::backend::{self, Call};
use crate::error::ApiError;
use crate::limit::{Decision, Limit};
use crate::{Cors, Endpoint, MAX_AUTHORIZATION_BYTES};

pub(crate) fn router(endpoint: Endpoint) -> Router {
    let cfg = &endpoint.shared.config;
    // Bodies are read by hand with our own cap (so an oversized one is answered with our error shape and
    // logged, without reading more than the cap); axum's own limit is lifted so it never answers first.
    let cors = cors_layer(&cfg.cors);
    let mut r = Router::new()
        .route("/v1/requests", post(submit_request))
        // A token route answers HEAD with 405: axum would run GET for it (counting a use and logging a
        // disclosure) and drop the body.
        .route("/v1/data", get(data).head(method_not_allowed))
        .route("/v1/grant", get(introspect).head(method_not_allowed))
        .route("/v1/grant/revoke", post(revoke))
        .route("/v1/grant/receipts", get(receipts).head(method_not_allowed))
        .route("/v1/grant/erasure-ack", post(erasure_ack))
        .route("/v1/health", get(health))
        .route("/v1/keys", get(keys))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(no_store))
        .with_state(endpoint);
    if let Some(c) = cors {
        r = r.layer(c);
    }
    r
}

/// CORS: only https origins (and plain http from a development server on this machine,
/// `locket_vault::settings::check_origin`) can ever be allowed. Private Network Access (a public page calling
/// this loopback endpoint: Chromium sends `Access-Control-Request-Private-Network: true` in the preflight) is
/// allowed only for the origins the owner listed by name — never under [`Cors::Any`], which is for local
/// development — so no page the owner did not name can reach the endpoint from the web.
fn cors_layer(cors: &Cors) -> Option<CorsLayer> {
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(std::time::Duration::from_secs(600));
    let origin_ok = |o: &HeaderValue| {
        o.to_str()
            .is_ok_and(|o| locket_vault::settings::check_origin(o).is_ok())
    };
    match cors {
        Cors::Off => None,
        Cors::Any => Some(base.allow_origin(AllowOrigin::predicate(move |o, _| origin_ok(o)))),
        Cors::Origins(list) => {
            let values: Vec<HeaderValue> = list
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .filter(|o| {
                    let ok = origin_ok(o);
                    if !ok {
                        tracing::warn!(origin = ?o, "CORS origin ignored: only https (or http on localhost) is allowed");
                    }
                    ok
                })
                .collect();
            let named = values.clone();
            Some(
                base.allow_origin(AllowOrigin::list(values))
                    .allow_private_network(AllowPrivateNetwork::predicate(move |o, _| named.contains(o))),
            )
        }
    }
}

/// Replies carry personal data or grant state: never cache them anywhere.
async fn no_store(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

async fn not_found() -> ApiError {
    ApiError::coded(
        "not_found",
        "no such route; see GET /v1/health and the OpenAPI document",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::coded(
        "method_not_allowed",
        "this route does not accept that method; see the OpenAPI document",
    )
}

fn header_text(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn call(route: &'static str, addr: SocketAddr, headers: &HeaderMap) -> Call {
    Call {
        route,
        remote: addr.to_string(),
        remote_ip: addr.ip().to_string(),
        ip: addr.ip(),
        user_agent: header_text(headers, header::USER_AGENT),
        origin: header_text(headers, header::ORIGIN),
    }
}

/// Extracts the bearer token, refusing missing, oversized and malformed `Authorization` headers.
fn bearer(headers: &HeaderMap) -> Result<String, (ApiError, &'static str)> {
    let values: Vec<&[u8]> = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    bearer_token(&values).map_err(|(code, message)| (ApiError::coded(code, message), code))
}

/// A refusal of the `Authorization` header: its code and what is wrong.
fn header_refusal(code: &'static str, message: String) -> (&'static str, String) {
    (code, message)
}

/// The bearer token in the values of a request's `Authorization` header, or the refusal: its code
/// (`authorization_missing`, `token_malformed`) and what is wrong. The one parser of that header; it never
/// panics, whatever the bytes.
pub fn bearer_token(values: &[&[u8]]) -> Result<String, (&'static str, String)> {
    let Some(v) = values.first() else {
        return Err(header_refusal(
            "authorization_missing",
            "send the grant token as `Authorization: Bearer <token>` (the token is in the grant file)".to_owned(),
        ));
    };
    let malformed = |why: &str| {
        header_refusal(
            "token_malformed",
            format!("the Authorization header is malformed: {why}"),
        )
    };
    if values.len() > 1 {
        return Err(malformed("it was sent more than once"));
    }
    if v.len() > MAX_AUTHORIZATION_BYTES {
        return Err(malformed(&format!(
            "it is {} bytes; at most {MAX_AUTHORIZATION_BYTES} are accepted",
            v.len()
        )));
    }
    // Visible ASCII (and tab) only, as HTTP header text.
    if !v.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
        return Err(malformed("it is not plain ASCII"));
    }
    let s = std::str::from_utf8(v).map_err(|_| malformed("it is not plain ASCII"))?;
    let (scheme, token) = s
        .split_once(' ')
        .ok_or_else(|| malformed("expected `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed("only the Bearer scheme is accepted"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(malformed("the token is empty"));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(malformed("the token holds characters a PASETO token never has"));
    }
    Ok(token.to_string())
}

async fn token_or_refuse(
    endpoint: &Endpoint,
    call: &Call,
    headers: &HeaderMap,
    action: &str,
) -> Result<(std::sync::Arc<backend::Unlocked>, String), ApiError> {
    let Some(unlocked) = endpoint.unlocked() else {
        return Err(ApiError::locked());
    };
    match bearer(headers) {
        Ok(t) => Ok((unlocked, t)),
        Err((err, code)) => {
            let ev = NewEvent::refusal(code, action);
            let what = backend::Unproven {
                reason: code,
                action,
                claimed_grant: None,
            };
            backend::log_unproven(endpoint, &unlocked, call, what, ev).await?;
            Err(err)
        }
    }
}

async fn data(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/data", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "redemption").await?;
    let reply = backend::redeem(&endpoint, &unlocked, &call, token).await?;
    Ok(Json(reply).into_response())
}

async fn introspect(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/grant", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "introspection").await?;
    let reply = backend::introspect(&endpoint, &unlocked, &call, token).await?;
    Ok(Json(reply).into_response())
}

async fn revoke(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/grant/revoke", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "revocation").await?;
    let reply = backend::revoke(&endpoint, &unlocked, &call, token).await?;
    Ok(Json(reply).into_response())
}

async fn receipts(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/grant/receipts", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "receipts").await?;
    let reply = backend::receipts(&endpoint, &unlocked, &call, token).await?;
    Ok(Json(reply).into_response())
}

async fn erasure_ack(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/grant/erasure-ack", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "erasure_ack").await?;
    let reply = backend::erasure_ack(&endpoint, &unlocked, &call, token).await?;
    Ok(Json(reply).into_response())
}

async fn submit_request(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let call = call("/v1/requests", addr, &headers);
    let Some(unlocked) = endpoint.unlocked() else {
        return Err(ApiError::locked());
    };
    // The address's budget first, then the declared origin's (validated and clipped before it is tracked).
    let origin = headers.get(header::ORIGIN).map(|v| v.as_bytes());
    let decision = endpoint.shared.limiter.check(addr.ip(), origin);
    let refusal = match decision {
        Decision::Allowed => None,
        Decision::Limited { by, retry_after } => {
            let whose = match by {
                Limit::Address => format!("this address ({})", call.remote_ip),
                Limit::Origin => match &call.origin {
                    Some(o) => format!("the origin {}", backend::clip(o, 100)),
                    None => format!("this address ({})", call.remote_ip),
                },
            };
            let mut err = ApiError::coded(
                "rate_limited",
                format!("too many grant requests from {whose}; wait {retry_after} s before sending another"),
            );
            err.retry_after = Some(retry_after);
            let limit = match by {
                Limit::Address => "address",
                Limit::Origin => "origin",
            };
            Some((err, "rate_limited", limit))
        }
        Decision::OriginInvalid(e) => Some((
            ApiError::coded("origin_invalid", e.to_string()),
            "origin_invalid",
            "origin",
        )),
    };
    if let Some((err, code, limit)) = refusal {
        let size = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let ev = backend::request_refused(&call, code, size).detail("limit", limit);
        let what = backend::Unproven {
            reason: code,
            action: "request",
            claimed_grant: None,
        };
        backend::log_unproven(&endpoint, &unlocked, &call, what, ev).await?;
        return Err(err);
    }
    let max = endpoint.shared.config.max_request_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body: Result<Bytes, usize> = match declared {
        Some(n) if n > max => Err(n),
        // Read at most one byte more than the cap: enough to know it is too large.
        _ => axum::body::to_bytes(body, max + 1)
            .await
            .map_err(|_| max + 1)
            .and_then(|b| if b.len() > max { Err(b.len()) } else { Ok(b) }),
    };
    let body = match body {
        Ok(b) => b,
        Err(size) => {
            let e = locket_grants::RequestError::TooLarge { size, max };
            let ev = backend::request_refused(&call, e.code(), size);
            backend::log_refusal(&endpoint, &unlocked, &call, ev).await?;
            let mut resp = ApiError::from(&e).into_response();
            // The rest of the body is not read: tell the client this connection is done.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(resp);
        }
    };
    let content_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if !content_json {
        let ev = backend::request_refused(&call, "unsupported_media_type", body.len());
        backend::log_refusal(&endpoint, &unlocked, &call, ev).await?;
        return Err(ApiError::coded(
            "unsupported_media_type",
            "send the grant request as `Content-Type: application/json`",
        ));
    }
    let accepted = backend::submit_request(&endpoint, &unlocked, &call, body).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

async fn health(State(endpoint): State<Endpoint>) -> Response {
    let unlocked = endpoint.is_unlocked();
    Json(json!({
        "status": "ok",
        "vault": if unlocked { "unlocked" } else { "locked" },
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn keys(
    State(endpoint): State<Endpoint>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call("/v1/keys", addr, &headers);
    let (unlocked, token) = token_or_refuse(&endpoint, &call, &headers, "keys").await?;
    let doc = backend::keys(&endpoint, &unlocked, &call, &token).await?;
    Ok(Json(doc).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[u8]) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        m
    }

    #[test]
    fn authorization_checks() {
        assert_eq!(bearer(&HeaderMap::new()).unwrap_err().1, "authorization_missing");
        assert_eq!(bearer(&h(b"Bearer v4.public.abc_-")).unwrap(), "v4.public.abc_-");
        assert_eq!(bearer(&h(b"bearer   v4.public.x ")).unwrap(), "v4.public.x");
        for bad in [
            &b"Basic dXNlcg=="[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer a b",
            b"Bearer a\"b",
            b"Bearer \xff",
        ] {
            assert_eq!(bearer(&h(bad)).unwrap_err().1, "token_malformed", "{bad:?}");
        }
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
        assert_eq!(bearer(&h(long.as_bytes())).unwrap_err().1, "token_malformed");
        let mut twice = h(b"Bearer a");
        twice.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer(&twice).unwrap_err().1, "token_malformed");
    }
}
