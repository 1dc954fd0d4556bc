//! A shop's website for the connect tests: real HTTPS on an ephemeral loopback port, with a certificate from a
//! test CA made here (rcgen), serving what a test puts at each path — the shop's metadata, signed request
//! objects, and the misbehaviours the guards must refuse (redirects to another site, oversized and slow
//! answers). `locket` reaches it through its documented test settings (`LOCKET_NET_EXTRA_CA`,
//! `LOCKET_NET_RESOLVE`, `LOCKET_NET_ALLOW_LOOPBACK`), so the client code under test is the shipped one.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use locket_wire::metadata::RetailerKeys;
use locket_wire::request_object::{sign_request_object, RequestObjectClaims};
use serde_json::{json, Value};
use tokio_rustls::rustls;

/// What the site answers at one path.
#[derive(Clone, Debug)]
pub enum Page {
    /// `200` with this content type and body.
    Ok(&'static str, Vec<u8>),
    /// This status with a JSON body.
    Status(u16),
    /// A `302` to this URL.
    Redirect(String),
    /// Waits, then answers `200` with the body.
    Slow(Duration, Vec<u8>),
    /// `200` streaming this many bytes with no `Content-Length`.
    Huge(usize),
}

/// A test CA and a certificate for `shop.test`, `other.test` and `evil.test`.
pub struct TestCa {
    pub dir: tempfile::TempDir,
    pub ca_pem: PathBuf,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Locket test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec![
            "shop.test".to_owned(),
            "other.test".to_owned(),
            "evil.test".to_owned(),
        ])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_pem = dir.path().join("ca.pem");
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        TestCa {
            dir,
            ca_pem,
            cert_der: leaf.der().to_vec(),
            key_der: leaf_key.serialize_der(),
        }
    }
}

struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// One request the site received (deliveries are POSTs).
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A shop's site: its keys, origin (`https://shop.test:PORT`) and pages.
pub struct Shop {
    pub keys: RetailerKeys,
    pub port: u16,
    pub origin: String,
    pub ca: Arc<TestCa>,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    received: Arc<Mutex<Vec<Received>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Shop {
    /// A site for `shop.test` serving its metadata.
    pub fn start() -> Shop {
        Shop::start_with(Arc::new(TestCa::new()))
    }

    /// A site for `shop.test` with a certificate from `ca`.
    pub fn start_with(ca: Arc<TestCa>) -> Shop {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let pages: Arc<Mutex<HashMap<String, Page>>> = Arc::default();
        // ring, like the client (aws-lc would need cmake); its lack of post-quantum key exchange is irrelevant here.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls_pki_types::CertificateDer::from(ca.cert_der.clone())],
                rustls_pki_types::PrivateKeyDer::try_from(ca.key_der.clone()).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let tcp = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = tcp.local_addr().unwrap().port();
        let served = Arc::clone(&pages);
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = Arc::clone(&received);
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let pages = Arc::clone(&served);
                log.lock().unwrap().push(Received {
                    method: method.to_string(),
                    path: uri.path().to_owned(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_owned(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                    body: body.to_vec(),
                });
                let page = pages.lock().unwrap().get(uri.path()).cloned();
                answer(page)
            },
        );
        runtime.spawn(async move {
            let _ = axum::serve(TlsListener { tcp, acceptor }, app).await;
        });
        let keys = RetailerKeys::generate().unwrap();
        let origin = format!("https://shop.test:{port}");
        let shop = Shop {
            keys,
            port,
            origin,
            ca,
            pages,
            received,
            _runtime: runtime,
        };
        shop.publish_metadata();
        shop
    }

    /// The metadata document for the current keys.
    pub fn metadata(&self) -> Value {
        self.keys
            .metadata(
                &self.origin,
                "Test Shop",
                "privacy@shop.test",
                &format!("{}/privacy", self.origin),
                &format!("{}/locket/deliveries", self.origin),
            )
            .unwrap()
    }

    /// Serves [`Shop::metadata`] at the well-known path.
    pub fn publish_metadata(&self) {
        self.put(
            "/.well-known/locket-retailer.json",
            Page::Ok("application/json", self.metadata().to_string().into_bytes()),
        );
    }

    /// The POSTs received at `path`, in order.
    pub fn posts(&self, path: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .cloned()
            .collect()
    }

    /// Sets what `path` answers.
    pub fn put(&self, path: &str, page: Page) {
        self.pages.lock().unwrap().insert(path.to_owned(), page);
    }

    /// A grant request whose retailer block matches the metadata.
    pub fn request(&self) -> Value {
        json!({
            "format": "locket.grant-request/v1",
            "retailer": {
                "id": "shop.test",
                "name": "Test Shop",
                "origin": self.origin,
                "contact": "privacy@shop.test",
                "privacy_policy": format!("{}/privacy", self.origin),
            },
            "scopes": [
                {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
                {"scope": "sizes.shoe", "purpose": "personalised_recommendations", "required": false}
            ],
            "requested_duration": "P30D",
            "retention": {"max_duration": "P90D", "statement": "We delete your data 90 days after your last order."},
            "nonce": crate::kit::unique_nonce(),
            "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    /// The request object `request` signed with `key`, claiming `request_uri`, valid for ten minutes.
    pub fn sign(&self, request: Value, request_uri: &str, key: &josekit::jwk::Jwk) -> String {
        let claims = RequestObjectClaims {
            request,
            state: format!("state-{}", crate::kit::unique_nonce()),
            request_uri: request_uri.to_owned(),
            issued_at: Utc::now() - chrono::Duration::seconds(5),
            expires_at: Utc::now() + chrono::Duration::minutes(10),
        };
        sign_request_object(&claims, key).unwrap()
    }

    /// Publishes a signed request object at `path` and returns its URL.
    pub fn publish(&self, path: &str, jws: String) -> String {
        self.put(path, Page::Ok("application/jwt", jws.into_bytes()));
        self.url(path)
    }

    /// Signs [`Shop::request`] for `path` with the shop's key and publishes it; returns the connect link.
    pub fn publish_request(&self, path: &str) -> String {
        let url = self.url(path);
        let jws = self.sign(self.request(), &url, &self.keys.signing);
        self.publish(path, jws);
        link(&url)
    }

    /// `https://shop.test:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The environment a `locket` process needs to reach this site.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LOCKET_NET_EXTRA_CA", self.ca.ca_pem.display().to_string()),
            (
                "LOCKET_NET_RESOLVE",
                "shop.test=127.0.0.1,other.test=127.0.0.1,evil.test=127.0.0.1".to_owned(),
            ),
            ("LOCKET_NET_ALLOW_LOOPBACK", "1".to_owned()),
            ("LOCKET_NET_TIMEOUT_MS", "1500".to_owned()),
        ]
    }
}

/// `locket://connect?request_uri=<url, percent-encoded>`.
pub fn link(url: &str) -> String {
    format!(
        "locket://connect?request_uri={}",
        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    )
}

async fn answer(page: Option<Page>) -> Response {
    match page {
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
        Some(Page::Ok(ct, body)) => ([(header::CONTENT_TYPE, ct)], body).into_response(),
        Some(Page::Status(s)) => (StatusCode::from_u16(s).unwrap(), "{}").into_response(),
        Some(Page::Redirect(to)) => (StatusCode::FOUND, [(header::LOCATION, to)], "").into_response(),
        Some(Page::Slow(wait, body)) => {
            tokio::time::sleep(wait).await;
            body.into_response()
        }
        Some(Page::Huge(n)) => {
            let chunks = (0..n.div_ceil(16 * 1024)).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 16 * 1024]));
            Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
        }
    }
}

/// Runs `locket` with the shop's network settings.
pub fn locket(vault: &Path, shop_env: &[(&'static str, String)], args: &[&str]) -> crate::common::Run {
    let mut cmd: Command = crate::common::locket_cmd(vault);
    for (k, v) in shop_env {
        cmd.env(k, v);
    }
    cmd.arg("--passphrase-stdin").args(args);
    crate::common::run_cmd(cmd, &format!("{}\n", crate::common::PASS))
}
