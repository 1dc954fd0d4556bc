//! Shared fixture for the endpoint tests: a real vault in a tempdir, a real server on an ephemeral loopback
//! port, and helpers to make requests and grants the way the owner's tools do.
#![allow(dead_code)]

use std::time::Duration;

use chrono::Utc;
use locket_audit::{Event, Filter};
use locket_endpoint::{Endpoint, EndpointConfig, ServerHandle};
use locket_grants::{ApproveOptions, GrantFile};
use locket_vault::{KdfParams, Passphrase, Vault};
use serde_json::{json, Value};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub vault: Vault,
    pub endpoint: Endpoint,
    pub server: Option<ServerHandle>,
    pub url: String,
    pub http: reqwest::Client,
}

pub fn new_vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(
        dir.path(),
        &Passphrase::new("correct horse battery".into()),
        KdfParams::for_tests(),
    )
    .unwrap();
    let store = vault.connect().unwrap();
    let c = store.conn();
    locket_vault::profile::set(c, "contact.email", json!("ada@example.org")).unwrap();
    locket_vault::profile::set(c, "contact.phone", json!("+442071234567")).unwrap();
    locket_vault::profile::set(c, "identity.given_name", json!("Ada")).unwrap();
    locket_vault::profile::set(c, "identity.family_name", json!("Lovelace")).unwrap();
    (dir, vault)
}

impl Fixture {
    pub async fn start() -> Fixture {
        Fixture::start_with(EndpointConfig::default()).await
    }

    pub async fn start_with(config: EndpointConfig) -> Fixture {
        let (dir, vault) = new_vault();
        let endpoint = Endpoint::with_vault(config, vault.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = locket_endpoint::spawn(listener, endpoint.clone()).unwrap();
        let url = server.url();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("locket-tests/1.0")
            .build()
            .unwrap();
        Fixture {
            dir,
            vault,
            endpoint,
            server: Some(server),
            url,
            http,
        }
    }

    pub fn conn(&self) -> locket_vault::Store {
        self.vault.connect().unwrap()
    }

    /// Imports `doc` as the owner would from a file.
    pub fn import(&self, doc: &Value) -> String {
        crate::kit::import(&self.vault, &crate::kit::Request(doc.clone()))
    }

    /// Approves request `id` with `options`, as `locket grant approve` does.
    pub fn approve(&self, id: &str, options: ApproveOptions) -> GrantFile {
        crate::kit::approve(&self.vault, id, &options, &self.url).file
    }

    /// A grant for `scopes` (all requested), with optional use cap.
    pub fn grant(&self, scopes: &[&str], max_uses: Option<u32>) -> GrantFile {
        let id = self.import(&request_doc(&unique_nonce(), scopes));
        self.approve(
            &id,
            ApproveOptions {
                max_uses,
                ..ApproveOptions::default()
            },
        )
    }

    /// The owner revokes through the vault's group-commit writer (as the app does); durable when it returns.
    pub fn owner_revoke(&self, grant_id: &str) {
        let writer = self.vault.writer().unwrap();
        let id = grant_id.to_string();
        writer
            .submit(move |tx| locket_grants::store::revoke(tx, &id, Some("test"), Utc::now()))
            .unwrap();
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn get_raw_auth(&self, path: &str, authorization: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Option<(&str, Vec<u8>)>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// Submits a fresh grant request for `contact.email` to `POST /v1/requests` from web origin `origin`.
    pub async fn submit_from(&self, origin: &str) -> (u16, Value) {
        let doc = request_doc(&unique_nonce(), &["contact.email"]);
        let resp = self
            .http
            .post(format!("{}/v1/requests", self.url))
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(doc.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// The newest `n` events, newest first.
    pub fn events(&self, n: usize) -> Vec<Event> {
        locket_audit::query(self.conn().conn(), &Filter::default(), None, n)
            .unwrap()
            .events
    }

    pub fn newest(&self) -> Event {
        self.events(1).remove(0)
    }

    /// Writes the endpoint's refusal summaries now (as the end of their window would).
    pub async fn flush(&self) {
        self.endpoint.flush_refusals().await.unwrap();
    }

    /// Refusals recorded in the newest `n` events: one per refusal logged on its own, `count` per summary.
    pub fn refusals_in(&self, n: usize) -> u64 {
        self.events(n)
            .iter()
            .filter(|e| e.outcome == "refused")
            .map(|e| match e.kind {
                locket_audit::EventKind::RefusalsSummarized => e.detail["count"].as_u64().unwrap(),
                _ => 1,
            })
            .sum()
    }

    pub fn event_count(&self) -> u64 {
        locket_audit::count(self.conn().conn()).unwrap()
    }

    pub fn verify_log(&self) {
        let pk = locket_audit::signing_public_key(self.vault.signing_seed().expose()).unwrap();
        let r = locket_audit::verify(self.conn().conn(), Some(&pk)).unwrap();
        assert!(r.ok(), "the access log must verify: {r:?}");
    }

    /// Stops the server (it writes its refusal summaries) and keeps the vault for inspection.
    pub async fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

pub use crate::kit::unique_nonce;

/// A valid `locket.grant-request/v1` document (the fixture) asking for `scopes`, none required.
pub fn request_doc(nonce: &str, scopes: &[&str]) -> Value {
    crate::kit::Request::new().nonce(nonce).scope_keys(scopes).json()
}
