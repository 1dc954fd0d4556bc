//! The server against its OpenAPI document: every documented route exists and every route is documented;
//! replies seen for each route (successes and refusals) have a documented status, match the documented schema,
//! and carry an error code listed for that status. Also keeps docs/openapi.yaml in step with docs/openapi.json.

use locket_grants::Issuers;
use std::collections::BTreeSet;

use crate::endpoint_support::{request_doc, unique_nonce, Fixture};
use chrono::{Duration, Utc};
use locket_endpoint::{EndpointConfig, ROUTES};
use locket_grants::token::{peek_claims, rfc3339};
use serde_json::{json, Value};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

// ---- docs/openapi.yaml is the same document in YAML (generated from the JSON; no YAML parser is needed) ----

fn plain_key(k: &str) -> bool {
    let first_ok = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '$' || c == '_');
    first_ok
        && k.chars().all(|c| c.is_ascii_alphanumeric() || "/$_.-{}".contains(c))
        && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(&k.to_ascii_lowercase().as_str())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => serde_json::to_string(v).unwrap(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        _ => unreachable!(),
    }
}

fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let key = if plain_key(k) {
                    k.clone()
                } else {
                    serde_json::to_string(k).unwrap()
                };
                if is_scalar(val) {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(val)));
                } else {
                    out.push_str(&format!("{pad}{key}:\n"));
                    emit(val, indent + 2, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_scalar(item) {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                } else {
                    let mut inner = String::new();
                    emit(item, indent + 2, &mut inner);
                    out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn yaml_of(spec: &Value) -> String {
    let mut out = String::from(
        "# Locket endpoint, OpenAPI 3.1. GENERATED from docs/openapi.json (the source): edit the JSON, then run\n\
         # `LOCKET_BLESS=1 cargo test --test integration endpoint_openapi::` to refresh this file. A test keeps them identical.\n",
    );
    emit(spec, 0, &mut out);
    out
}

#[test]
fn the_yaml_document_matches_the_json_source() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let want = yaml_of(&spec);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml");
    if std::env::var_os("LOCKET_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/openapi.yaml is out of date: run LOCKET_BLESS=1 cargo test --test integration endpoint_openapi::"
    );
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_served() {
    let spec = spec();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, served);
}

fn validator(spec: &Value, schema_ref: &str) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": schema_ref,
        "components": spec["components"],
    });
    jsonschema::validator_for(&root).unwrap()
}

/// Checks one observed reply against the document.
fn check(spec: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = &spec["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let resp = &op["responses"][status.to_string()];
    assert!(
        resp.is_object(),
        "{method} {path} answered {status}, which is not documented: {body}"
    );
    let schema_ref = resp["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
    let v = validator(spec, schema_ref);
    let errors: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {body} does not match {schema_ref}: {errors:?}"
    );
    if status >= 400 {
        let codes: Vec<&str> = resp["x-error-codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let code = body["code"].as_str().unwrap();
        assert!(
            codes.contains(&code),
            "{method} {path} {status}: code {code} is not listed in {codes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_match_the_document() {
    let spec = spec();
    let fx = Fixture::start_with(EndpointConfig {
        requests_burst: 3,
        requests_per_minute: 1,
        max_pending_requests: 1000,
        ..EndpointConfig::default()
    })
    .await;
    let mut seen: BTreeSet<(String, String, u16)> = BTreeSet::new();
    let mut record = |m: &str, p: &str, (status, body): (u16, Value)| {
        check(&spec, m, p, status, &body);
        seen.insert((m.to_string(), p.to_string(), status));
        body
    };
    let json_ct = "application/json";

    // /v1/requests
    let doc = request_doc(&unique_nonce(), &["contact.email"]);
    let accepted = record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, doc.to_string().into_bytes())))
            .await,
    );
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, doc.to_string().into_bytes())))
            .await,
    );
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, b"[".to_vec()))).await,
    );
    let mut bad = request_doc(&unique_nonce(), &["contact.email"]);
    bad["format"] = json!("other");
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, bad.to_string().into_bytes())))
            .await,
    );
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some(("text/plain", b"x".to_vec()))).await,
    );
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, vec![b' '; 65 * 1024])))
            .await,
    );
    let limited = fx
        .post("/v1/requests", None, Some((json_ct, doc.to_string().into_bytes())))
        .await;
    assert_eq!(limited.0, 429);
    record("POST", "/v1/requests", limited);
    assert!(accepted["request_id"].as_str().is_some());

    // Token routes.
    let grant = fx.grant(&["contact.email", "identity"], Some(2));
    let signer = Issuers::for_vault(&fx.vault);
    let mut expired = peek_claims(&grant.token).unwrap();
    expired.nbf = rfc3339(Utc::now() - Duration::days(2));
    expired.exp = rfc3339(Utc::now() - Duration::days(1));
    let expired = signer.token_signer(&expired.aud).unwrap().sign(&expired).unwrap();
    for path in ["/v1/data", "/v1/grant"] {
        record("GET", path, fx.get(path, Some(&grant.token)).await);
        record("GET", path, fx.get(path, None).await);
        record("GET", path, fx.get_raw_auth(path, "Basic abc").await);
        record("GET", path, fx.get(path, Some("v4.public.AAAA")).await);
        record("GET", path, fx.get(path, Some(&expired)).await);
    }
    record("GET", "/v1/data", fx.get("/v1/data", Some(&grant.token)).await);
    let exhausted = record("GET", "/v1/data", fx.get("/v1/data", Some(&grant.token)).await);
    assert_eq!(exhausted["code"], "grant_uses_exhausted");
    record(
        "POST",
        "/v1/grant/revoke",
        fx.post("/v1/grant/revoke", None, None).await,
    );
    record(
        "POST",
        "/v1/grant/revoke",
        fx.post("/v1/grant/revoke", Some(&expired), None).await,
    );
    record(
        "POST",
        "/v1/grant/revoke",
        fx.post("/v1/grant/revoke", Some(&grant.token), None).await,
    );
    let revoked = record("GET", "/v1/grant", fx.get("/v1/grant", Some(&grant.token)).await);
    assert_eq!(revoked["revoked_by"], "retailer");
    // Receipts and the erasure acknowledgement answer for a revoked grant too.
    let receipts = record(
        "GET",
        "/v1/grant/receipts",
        fx.get("/v1/grant/receipts", Some(&grant.token)).await,
    );
    assert_eq!(
        receipts["receipts"].as_array().map(Vec::len),
        Some(2),
        "grant and revoke"
    );
    record("GET", "/v1/grant/receipts", fx.get("/v1/grant/receipts", None).await);
    record(
        "POST",
        "/v1/grant/erasure-ack",
        fx.post("/v1/grant/erasure-ack", Some(&grant.token), None).await,
    );
    record(
        "POST",
        "/v1/grant/erasure-ack",
        fx.post("/v1/grant/erasure-ack", Some("v4.public.AAAA"), None).await,
    );

    // A required scope whose data the owner removed.
    let needs_phone = {
        let mut d = request_doc(&unique_nonce(), &["contact.phone"]);
        d["scopes"][0]["required"] = json!(true);
        let id = fx.import(&d);
        fx.approve(&id, Default::default())
    };
    locket_vault::profile::remove(fx.conn().conn(), "contact.phone").unwrap();
    let unsat = record("GET", "/v1/data", fx.get("/v1/data", Some(&needs_phone.token)).await);
    assert_eq!(unsat["code"], "scope_unsatisfiable");

    record("GET", "/v1/health", fx.get("/v1/health", None).await);
    record("GET", "/v1/keys", fx.get("/v1/keys", Some(&grant.token)).await);
    record("GET", "/v1/keys", fx.get("/v1/keys", Some(&expired)).await);
    record("GET", "/v1/keys", fx.get("/v1/keys", None).await);
    record("GET", "/v1/keys", fx.get("/v1/keys", Some("v4.public.AAAA")).await);
    record("GET", "/v1/keys", fx.get_raw_auth("/v1/keys", "Basic abc").await);

    // Locked.
    fx.endpoint.set_vault(None).unwrap();
    record("GET", "/v1/keys", fx.get("/v1/keys", Some(&grant.token)).await);
    record("GET", "/v1/data", fx.get("/v1/data", Some(&grant.token)).await);
    record("GET", "/v1/grant", fx.get("/v1/grant", Some(&grant.token)).await);
    record(
        "POST",
        "/v1/grant/revoke",
        fx.post("/v1/grant/revoke", Some(&grant.token), None).await,
    );
    record(
        "GET",
        "/v1/grant/receipts",
        fx.get("/v1/grant/receipts", Some(&grant.token)).await,
    );
    record(
        "POST",
        "/v1/grant/erasure-ack",
        fx.post("/v1/grant/erasure-ack", Some(&grant.token), None).await,
    );
    record(
        "POST",
        "/v1/requests",
        fx.post("/v1/requests", None, Some((json_ct, doc.to_string().into_bytes())))
            .await,
    );
    record("GET", "/v1/health", fx.get("/v1/health", None).await);

    // Every route was exercised with its success status and at least one refusal.
    for (m, p) in ROUTES {
        let statuses: Vec<u16> = seen
            .iter()
            .filter(|(sm, sp, _)| sm == m && sp == p)
            .map(|s| s.2)
            .collect();
        assert!(statuses.iter().any(|s| *s < 300), "{m} {p}: no success seen");
        if *p != "/v1/health" {
            assert!(statuses.iter().any(|s| *s >= 400), "{m} {p}: no refusal seen");
        }
    }
    fx.stop().await;
}
