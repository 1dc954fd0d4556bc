//! The reference retailer server: what a shop on the web serves so that the owner's Locket can connect from a
//! "Share with Locket" link. HTTPS only (rustls with the `ring` provider), HTTP/1.1.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | a small page saying what this is and how to use it |
//! | `GET /.well-known/locket-retailer.json` | the shop's metadata (`locket.retailer/v1`) |
//! | `GET /locket/requests/{id}` | a one-time signed request object (`application/jwt`, `no-store`), then deleted; 404 once used or if never published, 410 (and deleted) once expired |
//! | `POST /locket/deliveries` | a release from an owner's Locket (`application/jose`, Standard Webhooks headers): 200 `{"status":"accepted"}` or `{"status":"duplicate"}`, else `{"code","message"}` with the status Locket acts on (see [`delivery_status`]) |
//! | `GET /privacy` | a plain privacy page (the default privacy policy URL) |
//!
//! Request objects are files in the shop's data directory ([`crate::store`]) written by
//! [`crate::publish::publish`], so publishing works whether or not the server runs. Releases are checked and
//! applied by [`crate::holdings::Holdings::receive`] (one transaction each, one at a time) in
//! `DIR/holdings.sqlite`. Each request is logged as one line (peer, method, path with request ids shortened,
//! status, time), each delivery as one more (release, grant, sequence, event, outcome) — never a value or a
//! secret.
//!
//! TLS handshakes run concurrently, each in its own task with a [`HANDSHAKE_TIMEOUT`] and at most
//! [`MAX_HANDSHAKES`] at once, so a client that connects and says nothing cannot hold up anyone else.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody as _};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::Router;
use chrono::Utc;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use locket_wire::metadata::RetailerKeys;
use locket_wire::release::{ReleaseError, WebhookHeaders, MAX_RELEASE_BYTES};

use crate::holdings::{Holdings, Received};
use crate::store::{DataDir, Shop, Taken, DELIVERY_PATH, PRIVACY_PATH, REQUESTS_PATH};
use crate::RetailerError;

/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most TLS handshakes in progress at once; a connection beyond that is closed at once.
pub const MAX_HANDSHAKES: usize = 256;
/// How long a shutdown waits for open connections before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often expired request objects are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Where log lines go.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// A [`Log`] writing each line to stderr.
pub fn stderr_log() -> Log {
    Arc::new(|line: &str| eprintln!("{line}"))
}

/// A [`Log`] that drops every line.
pub fn no_log() -> Log {
    Arc::new(|_: &str| {})
}

/// What `locket-retailer serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The shop's origin (`https://shop.test:8443`); it must carry the port Locket connects to.
    pub origin: String,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain (server certificate first).
    pub tls_cert: PathBuf,
    /// PEM private key.
    pub tls_key: PathBuf,
    /// The shop's data directory.
    pub data: PathBuf,
    /// Display name (`None`: the recorded one, else the host).
    pub name: Option<String>,
    /// Contact (`None`: the recorded one, else `privacy@HOST`).
    pub contact: Option<String>,
    /// Privacy policy URL on the origin (`None`: the recorded one, else `ORIGIN/privacy`).
    pub privacy_policy: Option<String>,
}

/// Read a PEM certificate chain and private key into a rustls server configuration (ring provider,
/// TLS 1.2 and 1.3, ALPN `http/1.1`).
pub fn load_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, RetailerError> {
    let bad = |what: &Path, e: &dyn std::fmt::Display| RetailerError::TlsFiles(format!("{}: {e}", what.display()));
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"holds no certificate"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    // The workspace's TLS runs on ring (as reqwest's rustls does); rustls 0.23.48 deprecates this provider
    // only because it lacks post-quantum key exchange, which a development server can do without.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RetailerError::TlsFiles(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            RetailerError::TlsFiles(format!(
                "{} and {} do not make a usable pair: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS listener for [`axum::serve`]: accepts TCP connections and hands over those whose handshake
/// completed. Handshakes run in their own tasks (bounded, with a timeout), so accepting never waits for one.
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Start accepting on `tcp` (call inside a tokio runtime).
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>, log: Log) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, incoming) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little rather than spin.
                        log(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    log(&format!(
                        "{peer} closed: {MAX_HANDSHAKES} TLS handshakes already in progress"
                    ));
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, tx, log) = (acceptor.clone(), tx.clone(), log.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    drop(slot);
                    match handshake {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => log(&format!("{peer} TLS handshake failed: {e}")),
                        Err(_) => log(&format!(
                            "{peer} TLS handshake timed out after {} s",
                            HANDSHAKE_TIMEOUT.as_secs()
                        )),
                    }
                });
            }
        });
        Ok(TlsListener {
            incoming,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(conn) => conn,
            // The accepting task never ends on its own; if it did, accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The peer of a connection, for logging.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

struct Shared {
    dir: DataDir,
    shop: Shop,
    metadata: String,
    keys: RetailerKeys,
    /// One connection; deliveries are applied one at a time.
    holdings: std::sync::Mutex<Holdings>,
    log: Log,
}

/// A bound, ready server; [`Server::run`] serves until shut down.
pub struct Server {
    listener: TlsListener,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("shop", &self.shared.shop)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Check everything (keys, shop details as Locket will read them, TLS files), bind the listen address,
    /// then record the shop's details in the data directory (`shop.json`) for `request publish` and open its
    /// holdings database (`holdings.sqlite`, made if needed).
    pub async fn bind(config: &ServeConfig, log: Log) -> Result<Server, RetailerError> {
        let dir = DataDir::new(&config.data);
        let keys = dir.load_keys()?;
        let saved = dir.saved_shop().ok().flatten();
        let shop = Shop::for_origin(
            &config.origin,
            config.name.as_deref(),
            config.contact.as_deref(),
            config.privacy_policy.as_deref(),
            saved.as_ref(),
        )?;
        let (metadata, _) = shop.checked_metadata(&keys)?;
        let tls = load_tls(&config.tls_cert, &config.tls_key)?;
        let tcp = TcpListener::bind(config.listen)
            .await
            .map_err(|e| RetailerError::Bind {
                addr: config.listen.to_string(),
                reason: e.to_string(),
            })?;
        let listener = TlsListener::new(tcp, tls, log.clone()).map_err(|e| RetailerError::Bind {
            addr: config.listen.to_string(),
            reason: e.to_string(),
        })?;
        dir.save_shop(&shop)?;
        let holdings = Holdings::open(&dir)?;
        let _ = dir.sweep_expired(Utc::now());
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                dir,
                shop,
                metadata,
                keys,
                holdings: std::sync::Mutex::new(holdings),
                log,
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local
    }

    /// The shop's details it serves.
    pub fn shop(&self) -> &Shop {
        &self.shared.shop
    }

    /// Serve until `shutdown` completes, then stop accepting, let open requests finish (at most
    /// [`SHUTDOWN_GRACE`]) and return.
    pub async fn run<F>(self, shutdown: F) -> Result<(), RetailerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shared = self.shared.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let s = shared.clone();
                let _ = tokio::task::spawn_blocking(move || s.dir.sweep_expired(Utc::now())).await;
            }
        });
        let addr = self.local_addr().to_string();
        let stopping = Arc::new(tokio::sync::Notify::new());
        let stop = stopping.clone();
        let app = router(self.shared.clone()).into_make_service_with_connect_info::<Peer>();
        let serving = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            stop.notify_one();
        });
        let log = self.shared.log.clone();
        let result = tokio::select! {
            r = serving => r,
            () = async {
                stopping.notified().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                log(&format!("connections still open {} s after the shutdown signal; stopping anyway", SHUTDOWN_GRACE.as_secs()));
                Ok(())
            }
        };
        sweeper.abort();
        result.map_err(|e| RetailerError::Bind {
            addr,
            reason: e.to_string(),
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(locket_wire::metadata::WELL_KNOWN_PATH, get(metadata))
        .route(PRIVACY_PATH, get(privacy))
        .route(&format!("{REQUESTS_PATH}{{id}}"), get(request_object))
        .route(DELIVERY_PATH, post(delivery))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), log_requests))
        .with_state(shared)
}

/// The path as logged: no query, request ids cut to their first four characters, no control characters.
fn loggable_path(path: &str) -> String {
    let shown = match path.strip_prefix(REQUESTS_PATH) {
        Some(id) if id.chars().count() > 4 => format!("{REQUESTS_PATH}{}…", id.chars().take(4).collect::<String>()),
        _ => path.to_owned(),
    };
    shown
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

async fn log_requests(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0 .0.to_string())
        .unwrap_or_else(|| "-".into());
    let line = format!(
        "{} {} {:?}",
        request.method(),
        loggable_path(request.uri().path()),
        request.version()
    );
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    (shared.log)(&format!(
        "{peer} \"{line}\" {} {:.1}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

async fn metadata(State(shared): State<Arc<Shared>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        shared.metadata.clone(),
    )
        .into_response()
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

async fn request_object(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>) -> Response {
    let s = shared.clone();
    let taken = tokio::task::spawn_blocking(move || s.dir.take_request(&id, Utc::now())).await;
    match taken {
        Ok(Ok(Taken::Found(jws))) => (
            [
                (header::CONTENT_TYPE, "application/jwt"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jws,
        )
            .into_response(),
        Ok(Ok(Taken::Expired)) => plain(
            StatusCode::GONE,
            "This request has expired. Go back to the shop's page and start again.\n",
        ),
        Ok(Ok(Taken::Missing)) => plain(
            StatusCode::NOT_FOUND,
            "No such request: it was already used, or never published. Go back to the shop's page and start again.\n",
        ),
        Ok(Err(e)) => {
            (shared.log)(&format!("reading a request object failed: {e}"));
            plain(StatusCode::INTERNAL_SERVER_ERROR, "The request could not be read.\n")
        }
        Err(e) => {
            (shared.log)(&format!("reading a request object failed: {e}"));
            plain(StatusCode::INTERNAL_SERVER_ERROR, "The request could not be read.\n")
        }
    }
}

/// The HTTP status a delivery's refusal is answered with: the signal Locket acts on (2xx delivered, 410 the shop
/// ended the grant, another 4xx a permanent refusal, 5xx retried later).
pub fn delivery_status(e: &RetailerError) -> StatusCode {
    match e {
        RetailerError::Release(ReleaseError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
        RetailerError::Release(ReleaseError::Malformed(_) | ReleaseError::DecryptFailed(_))
        | RetailerError::DeliveryHeaders(_) => StatusCode::BAD_REQUEST,
        RetailerError::Release(
            ReleaseError::UnknownKey { .. }
            | ReleaseError::InvalidSignature(_)
            | ReleaseError::Stale { .. }
            | ReleaseError::Headers(_),
        ) => StatusCode::UNAUTHORIZED,
        RetailerError::ReleaseStateUnknown { .. } | RetailerError::ReleaseRetailerMismatch { .. } => {
            StatusCode::FORBIDDEN
        }
        RetailerError::ReleaseGrantUnknown { .. } | RetailerError::ReleaseOutOfOrder { .. } => StatusCode::CONFLICT,
        RetailerError::ReleaseGrantEnded { .. } => StatusCode::GONE,
        RetailerError::Holdings { .. } | RetailerError::HoldingsTooNew { .. } | RetailerError::Io { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether `id` has the form of a release id (`rel_` + 32 hex digits): only such a `webhook-id` is logged.
fn is_release_id(id: &str) -> bool {
    id.strip_prefix("rel_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// How much of an oversized delivery is still read, and dropped, so that its sender gets the 413 rather than a
/// connection reset in the middle of sending; the rest of a larger one is not read.
const DRAIN_LIMIT: usize = 4 * MAX_RELEASE_BYTES;
/// How long that reading may take.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Reads and drops what is left of `body`, at most `budget` bytes and [`DRAIN_TIME`].
async fn drain(mut body: std::pin::Pin<&mut Body>, mut budget: usize) {
    let reading = async {
        while let Some(Ok(frame)) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let n = frame.data_ref().map_or(0, |d| d.len());
            if n >= budget {
                return;
            }
            budget -= n;
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

/// The body, refused with `release_too_large` as soon as it is known to be over [`MAX_RELEASE_BYTES`].
async fn read_capped(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, RetailerError> {
    let too_large = |n: usize| RetailerError::Release(ReleaseError::TooLarge(n));
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut body = std::pin::pin!(body);
    if let Some(n) = announced.filter(|n| *n > MAX_RELEASE_BYTES) {
        if n <= DRAIN_LIMIT {
            drain(body.as_mut(), n).await;
        }
        return Err(too_large(n));
    }
    let mut out = Vec::with_capacity(announced.unwrap_or(0));
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame
            .map_err(|e| RetailerError::Release(ReleaseError::Malformed(format!("the body could not be read: {e}"))))?;
        if let Ok(data) = frame.into_data() {
            let size = out.len() + data.len();
            if size > MAX_RELEASE_BYTES {
                drain(body.as_mut(), DRAIN_LIMIT.saturating_sub(size)).await;
                return Err(too_large(size));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Headers, body, then the holdings: everything one delivery needs, in that order.
async fn receive_delivery(shared: &Arc<Shared>, headers: &HeaderMap, body: Body) -> Result<Received, RetailerError> {
    let text_of = |name: &str| -> Result<Option<&str>, RetailerError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| RetailerError::DeliveryHeaders(format!("{name} is not text")))
            })
            .transpose()
    };
    let webhook: WebhookHeaders = crate::holdings::webhook_headers(
        text_of("webhook-id")?,
        text_of("webhook-timestamp")?,
        text_of("webhook-signature")?,
    )?;
    let bytes = read_capped(headers, body).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| RetailerError::Release(ReleaseError::Malformed("the body is not a compact JWE".into())))?;
    let s = shared.clone();
    tokio::task::spawn_blocking(move || {
        // A panic inside a transaction rolled it back: the connection is still good.
        let mut holdings = s.holdings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        holdings.receive(&text, &webhook, &s.keys.encryption, &s.shop.retailer_id(), Utc::now())
    })
    .await
    .map_err(|e| RetailerError::Holdings {
        path: shared.dir.holdings_path().display().to_string(),
        detail: format!("the delivery could not be applied: {e}"),
    })?
}

fn no_store_json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn delivery(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let shown = parts
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_release_id(id))
        .unwrap_or("-")
        .to_owned();
    match receive_delivery(&shared, &parts.headers, body).await {
        Ok(Received::Accepted(a)) => {
            (shared.log)(&format!(
                "delivery {} grant {} #{} {}: accepted ({} value(s) stored, {} deleted)",
                a.release_id,
                a.grant_id,
                a.sequence,
                a.event.as_str(),
                a.stored,
                a.deleted
            ));
            no_store_json(
                StatusCode::OK,
                serde_json::json!({ "status": "accepted", "release_id": a.release_id, "sequence": a.sequence }),
            )
        }
        Ok(Received::Duplicate { release_id, grant_id }) => {
            (shared.log)(&format!(
                "delivery {release_id} grant {grant_id}: duplicate, applied before"
            ));
            no_store_json(
                StatusCode::OK,
                serde_json::json!({ "status": "duplicate", "release_id": release_id }),
            )
        }
        Err(e) => {
            let status = delivery_status(&e);
            let message = if status.is_server_error() {
                // The detail (a path, SQLite's words) is for the shop's log, not for the sender.
                (shared.log)(&format!(
                    "delivery {shown}: refused {} {}: {e}",
                    status.as_u16(),
                    e.code()
                ));
                "the shop could not store the release just now; send it again later".to_owned()
            } else {
                (shared.log)(&format!("delivery {shown}: refused {} {}", status.as_u16(), e.code()));
                e.to_string()
            };
            no_store_json(status, serde_json::json!({ "code": e.code(), "message": message }))
        }
    }
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Not found.\n")
}

/// Text made safe for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;\
         padding:0 1rem;color:#1b1b1f;background:#fff}}code,pre{{font:14px ui-monospace,monospace;\
         background:#f2f2f5;border-radius:4px}}pre{{padding:.75rem;overflow-x:auto}}code{{padding:0 .2rem}}\
         @media (prefers-color-scheme: dark){{body{{color:#e8e8ec;background:#161618}}code,pre{{background:#26262a}}}}\
         </style></head><body>\n{body}\n</body></html>\n",
        title = escape(title)
    );
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let shop = &shared.shop;
    let (name, origin) = (escape(&shop.name), escape(&shop.origin));
    let body = format!(
        "<h1>{name}</h1>\n\
         <p>This is Locket's <strong>reference retailer server</strong> for <code>{origin}</code>: what a shop on \
         the web serves so that its customers' Locket can connect to it from a “Share with Locket” link.</p>\n\
         <h2>What it serves</h2>\n<ul>\n\
         <li><a href=\"{well_known}\"><code>{well_known}</code></a> — the shop's metadata \
         (<code>locket.retailer/v1</code>): name, contact, privacy policy, delivery URL and public keys.</li>\n\
         <li><code>{requests}{{id}}</code> — one-time signed request objects (<code>application/jwt</code>): \
         each is served once, then deleted; a used one answers 404, an expired one 410.</li>\n\
         <li><code>POST {deliveries}</code> — releases from customers' Locket (<code>application/jose</code>): \
         what they granted, its updates, and the end of each grant; <code>locket-retailer holdings</code> shows \
         what is held.</li>\n\
         <li><a href=\"{privacy}\"><code>{privacy}</code></a> — a privacy page.</li>\n</ul>\n\
         <h2>How to use it</h2>\n<ol>\n\
         <li>Publish a request (works whether or not this server runs):\
         <pre>locket-retailer request publish --data DIR \\\n  --require contact.email=order_fulfilment \\\n  \
         --scope \"sizes=personalised_recommendations:To show clothes that fit you\"</pre>\
         It prints a <code>locket://connect?request_uri=…</code> link and its QR code.</li>\n\
         <li>Open the link on the computer where the customer's Locket runs. Locket fetches the metadata and the request object from \
         here, checks the signature, and shows the request as verified by <code>{origin}</code>.</li>\n\
         <li>For a development certificate, start Locket with <code>LOCKET_NET_EXTRA_CA=ca.pem \
         LOCKET_NET_RESOLVE=host=127.0.0.1 LOCKET_NET_ALLOW_LOOPBACK=1</code> (see \
         <code>locket-retailer dev-cert</code>).</li>\n</ol>\n\
         <p>See <code>docs/retailers.md</code>, “Reference server”.</p>",
        well_known = locket_wire::metadata::WELL_KNOWN_PATH,
        requests = REQUESTS_PATH,
        deliveries = DELIVERY_PATH,
        privacy = PRIVACY_PATH,
    );
    page(&shop.name, &body)
}

async fn privacy(State(shared): State<Arc<Shared>>) -> Response {
    let shop = &shared.shop;
    let body = format!(
        "<h1>Privacy at {name}</h1>\n\
         <p>{name} (<code>{origin}</code>) asks for personal data only through Locket: you see each field it asks \
         for and why, and you decide what to share and for how long. It receives only what you grant.</p>\n\
         <p>This is a reference server for development: it keeps its keys, the requests it publishes, and what \
         your Locket delivers — only what you granted, replaced when you change it, and deleted when you revoke \
         the grant (or when it ends, if that was the promise).</p>\n\
         <p>Questions about your data: <code>{contact}</code>.</p>",
        name = escape(&shop.name),
        origin = escape(&shop.origin),
        contact = escape(&shop.contact),
    );
    page(&format!("Privacy — {}", shop.name), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_hide_request_ids() {
        assert_eq!(
            loggable_path("/locket/requests/AbCdEfGhIjKlMnOpQrStUv"),
            "/locket/requests/AbCd…"
        );
        assert_eq!(
            loggable_path("/.well-known/locket-retailer.json"),
            "/.well-known/locket-retailer.json"
        );
        assert_eq!(loggable_path("/a\u{1b}b"), "/a?b");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
