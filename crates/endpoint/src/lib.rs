//! Locket's HTTP endpoint for retailers (axum): grant requests in, granted data out, every access audited.
//!
//! Routes (documented in `docs/openapi.yaml`, error codes in `docs/errors.md`):
//!
//! | route                    | what                                                                    |
//! |--------------------------|-------------------------------------------------------------------------|
//! | `POST /v1/requests`      | submit a `locket.grant-request/v1` document (unauthenticated, limited)   |
//! | `GET /v1/data`           | redeem a grant token: exactly the granted fields' current values         |
//! | `GET /v1/grant`          | introspect a grant (status, scopes, expiry, uses left, changed data, erasure) |
//! | `POST /v1/grant/revoke`  | the retailer gives the grant back                                        |
//! | `GET /v1/grant/receipts` | the grant's consent receipts (grant, narrowing, revoke, expiry), signed   |
//! | `POST /v1/grant/erasure-ack` | the retailer acknowledges the owner's "erase my data" requests       |
//! | `GET /v1/health`         | liveness and whether the vault is unlocked                               |
//! | `GET /v1/keys`           | the caller's issuer id and PASERK public key (bearer token required)     |
//!
//! Start at [`Endpoint`] (shared state: the unlocked vault or none, limits, live notifications) and [`serve`]
//! / [`spawn`] (run it on a listener you bound, so tests use ephemeral ports and the desktop app can start and
//! stop it).
//!
//! Architecture invariants: a reply to a token-bearing route is sent only after its audit event (and the use
//! count) has been committed durably through the vault's group-commit writer; grant state is read from the
//! database on every call (no cache), so a revocation takes effect for the very next request; a response never
//! carries a field outside the token's scope.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backend;
mod error;
mod limit;
mod refusals;
mod routes;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot, Semaphore};

pub use backend::Unlocked;
pub use error::{http_status, ApiError};
pub use limit::{origin_key, OriginError, MAX_ORIGIN_BYTES};
pub use refusals::MAX_KEYS as MAX_REFUSAL_SOURCES;
pub use routes::bearer_token;
pub use server::ConnectionLimits;

/// The default address `locket serve` listens on (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7419";

/// Every route the endpoint serves, as (method, path); `docs/openapi.json` documents exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/requests"),
    ("GET", "/v1/data"),
    ("GET", "/v1/grant"),
    ("POST", "/v1/grant/revoke"),
    ("GET", "/v1/grant/receipts"),
    ("POST", "/v1/grant/erasure-ack"),
    ("GET", "/v1/health"),
    ("GET", "/v1/keys"),
];

/// Most jobs queued to the vault's writer by the endpoint at once (below the writer's queue length, so
/// submitting never blocks a runtime thread); further requests wait for a slot.
pub const MAX_IN_FLIGHT: usize = 2048;

/// The per-address limit on `POST /v1/requests` is this many times the per-origin one.
pub const ADDRESS_LIMIT_FACTOR: u32 = 4;

/// Largest `Authorization` header accepted, in bytes.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// Which web origins may call the endpoint from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Cors {
    /// No CORS headers: browsers on other origins cannot read replies (the default).
    #[default]
    Off,
    /// These exact origins (e.g. `https://shop.example`).
    Origins(Vec<String>),
    /// Any origin (for local development only).
    Any,
}

/// Endpoint settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// CORS policy.
    pub cors: Cors,
    /// Largest `POST /v1/requests` body, in bytes.
    pub max_request_bytes: usize,
    /// Submissions per origin allowed at once (bucket size). Each remote address additionally gets
    /// [`ADDRESS_LIMIT_FACTOR`] times this budget across all the origins it claims.
    pub requests_burst: u32,
    /// Submissions per origin per minute, sustained.
    pub requests_per_minute: u32,
    /// Most undecided requests held at once; further submissions are refused (`requests_pending_limit`).
    pub max_pending_requests: u64,
    /// Most undecided requests claiming one retailer id (anyone can claim any id).
    pub max_pending_per_retailer: u64,
    /// Most undecided requests received over HTTP (every loopback address counts as one source), so links
    /// and the owner's own file imports keep room.
    pub max_pending_per_source: u64,
    /// The URL retailers use to reach this endpoint (put in grant files), e.g. `http://127.0.0.1:7419`.
    pub public_url: Option<String>,
    /// Timeouts and the connection cap (slow or idle clients).
    pub connections: ConnectionLimits,
    /// Refusals of callers that proved nothing (no or a garbage token, a rate limit, an invalid `Origin`) are
    /// logged one per source and reason per window; the rest of the window is one `refusals_summarized` event,
    /// written when the window ends, when the vault is locked and when the server stops.
    pub refusal_window: std::time::Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            cors: Cors::Off,
            max_request_bytes: 64 * 1024,
            requests_burst: 5,
            requests_per_minute: 10,
            max_pending_requests: locket_grants::store::DEFAULT_MAX_PENDING,
            max_pending_per_retailer: locket_grants::store::DEFAULT_MAX_PENDING_PER_RETAILER,
            max_pending_per_source: locket_grants::store::DEFAULT_MAX_PENDING_PER_SOURCE,
            public_url: None,
            connections: ConnectionLimits::default(),
            refusal_window: std::time::Duration::from_secs(60),
        }
    }
}

/// Something the desktop app may want to show live.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notice {
    /// An event was committed to the access log by this endpoint.
    EventAppended(Box<locket_audit::Event>),
    /// A grant request was accepted and awaits the owner's decision.
    RequestReceived {
        /// The new request's id.
        request_id: String,
        /// The retailer's id.
        retailer_id: String,
        /// The retailer's display name.
        retailer_name: String,
    },
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another Locket already serving there?)")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the endpoint stopped: {0}")]
    Serve(#[source] std::io::Error),
    /// The unlocked vault could not be prepared for serving.
    #[error("the vault cannot be served: {0}")]
    Vault(String),
    /// The listen address is not an `IP:PORT`.
    #[error("cannot listen on {addr:?}: expected an address like 127.0.0.1:7419")]
    ListenInvalid {
        /// What was given.
        addr: String,
    },
    /// The listen address is not a loopback address: other machines could reach the endpoint.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address, so other machines could reach your data; \
         use 127.0.0.1 or ::1"
    )]
    ListenNotLoopback {
        /// The address.
        addr: SocketAddr,
    },
}

impl EndpointError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            EndpointError::Bind { .. } => "endpoint_bind_failed",
            EndpointError::Serve(_) => "endpoint_failed",
            EndpointError::Vault(_) => "endpoint_vault_unusable",
            EndpointError::ListenInvalid { .. } => "listen_invalid",
            EndpointError::ListenNotLoopback { .. } => "listen_not_loopback",
        }
    }
}

pub(crate) struct Shared {
    pub(crate) config: EndpointConfig,
    pub(crate) vault: RwLock<Option<Arc<Unlocked>>>,
    pub(crate) notices: broadcast::Sender<Notice>,
    /// `POST /v1/requests` budgets: per remote address (looser, asked first, so rotating the `Origin` header
    /// does not bypass the per-origin one), then per declared origin.
    pub(crate) limiter: limit::SubmissionLimiter,
    /// Bounds jobs in flight to the writer so submitting never blocks a runtime thread.
    pub(crate) in_flight: Arc<Semaphore>,
}

/// The endpoint's shared state. Cheap to clone; every clone serves the same vault.
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("config", &self.shared.config)
            .field("unlocked", &self.is_unlocked())
            .finish()
    }
}

impl Endpoint {
    /// A new endpoint with no vault (every data route answers `vault_locked` until [`Endpoint::set_vault`]).
    pub fn new(config: EndpointConfig) -> Endpoint {
        let (notices, _) = broadcast::channel(1024);
        let limiter =
            limit::SubmissionLimiter::new(config.requests_burst, config.requests_per_minute, ADDRESS_LIMIT_FACTOR);
        Endpoint {
            shared: Arc::new(Shared {
                config,
                vault: RwLock::new(None),
                notices,
                limiter,
                in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            }),
        }
    }

    /// A new endpoint serving `vault`.
    pub fn with_vault(config: EndpointConfig, vault: locket_vault::Vault) -> Result<Endpoint, EndpointError> {
        let e = Endpoint::new(config);
        e.set_vault(Some(vault))?;
        Ok(e)
    }

    /// Serves `vault` from now on, or none (`None` = the owner locked Locket: data routes answer
    /// `vault_locked`). Requests already running finish with the vault they started with.
    pub fn set_vault(&self, vault: Option<locket_vault::Vault>) -> Result<(), EndpointError> {
        let unlocked = match vault {
            Some(v) => Some(Arc::new(Unlocked::new(v)?)),
            None => None,
        };
        let previous = match self.shared.vault.write() {
            Ok(mut slot) => std::mem::replace(&mut *slot, unlocked),
            Err(_) => None,
        };
        // The vault served until now gets its counted refusals written before it is let go.
        if let Some(p) = previous {
            p.close_refusals();
        }
        Ok(())
    }

    /// Writes the refusal summaries counted so far (see [`EndpointConfig::refusal_window`]) now, without
    /// waiting for the window to end.
    pub async fn flush_refusals(&self) -> Result<(), ApiError> {
        match self.unlocked() {
            Some(u) => backend::flush_refusals(self, &u).await,
            None => Ok(()),
        }
    }

    /// Whether a vault is being served.
    pub fn is_unlocked(&self) -> bool {
        self.shared.vault.read().map(|v| v.is_some()).unwrap_or(false)
    }

    /// Live notifications: events appended and requests received by this endpoint.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.shared.notices.subscribe()
    }

    /// The axum router (for embedding; [`serve`] adds the remote-address info the routes need).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    pub(crate) fn unlocked(&self) -> Option<Arc<Unlocked>> {
        self.shared.vault.read().ok().and_then(|v| v.clone())
    }
}

/// Serves `endpoint` on `listener` until `shutdown` completes (then finishes requests in flight).
///
/// Each connection is HTTP/1.1 with the endpoint's connection limits ([`ConnectionLimits`]): the request head
/// must arrive within the header-read timeout (which also bounds how long an idle keep-alive connection is
/// kept), and at most `max_connections` are served at once — further ones wait in the kernel's accept queue.
/// Every request's `Host` must name this endpoint ([`host_allowed`]) or it is refused with `421
/// host_not_allowed` before any route runs (DNS rebinding).
pub async fn serve<F>(listener: TcpListener, endpoint: Endpoint, shutdown: F) -> Result<(), EndpointError>
where
    F: Future<Output = ()> + Send + 'static,
{
    server::run(listener, endpoint, shutdown).await
}

/// Binds `addr` (e.g. [`DEFAULT_LISTEN`]), which must be a loopback address ([`check_listen`]).
pub async fn bind(addr: &str) -> Result<TcpListener, EndpointError> {
    let parsed = check_listen(addr, false)?;
    bind_socket(parsed).await
}

/// Binds `addr` even when it is not a loopback address: only for `locket serve --allow-remote`, the owner's
/// explicit choice to let other machines reach the endpoint.
pub async fn bind_remote(addr: &str) -> Result<TcpListener, EndpointError> {
    let parsed = check_listen(addr, true)?;
    bind_socket(parsed).await
}

async fn bind_socket(addr: SocketAddr) -> Result<TcpListener, EndpointError> {
    TcpListener::bind(addr).await.map_err(|source| EndpointError::Bind {
        addr: addr.to_string(),
        source,
    })
}

/// The one rule for where the endpoint may listen, used by every front end (`locket serve`, the desktop's
/// `LOCKET_LISTEN`, the vault's endpoint setting): `addr` must be an `IP:PORT` and, unless `allow_remote`,
/// a loopback address — other machines must never reach the owner's data by accident.
pub fn check_listen(addr: &str, allow_remote: bool) -> Result<SocketAddr, EndpointError> {
    let parsed: SocketAddr = addr
        .trim()
        .parse()
        .map_err(|_| EndpointError::ListenInvalid { addr: addr.to_string() })?;
    if !allow_remote && !parsed.ip().is_loopback() {
        return Err(EndpointError::ListenNotLoopback { addr: parsed });
    }
    Ok(parsed)
}

/// Whether a request's `Host` header names this endpoint, given the address the connection arrived on:
/// `localhost`, `127.0.0.1`, `[::1]` (or, for a server listening elsewhere with `--allow-remote`, the
/// address itself), with the port in use. The port may be left out only when it is 80. Anything else — a
/// foreign name a web page rebound to 127.0.0.1, a missing or malformed header — is refused.
pub fn host_allowed(host: Option<&[u8]>, local: SocketAddr) -> bool {
    let Some(host) = host.and_then(|h| std::str::from_utf8(h).ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        // `[::1]:7419`, `localhost:7419`; a bare `[::1]` has its colon inside the brackets.
        Some((n, p)) if !p.contains(']') => (n, Some(p)),
        _ => (host.as_str(), None),
    };
    let port_ok = match port {
        Some(p) => p.parse::<u16>().ok() == Some(local.port()) && !p.starts_with('+'),
        None => local.port() == 80,
    };
    if !port_ok {
        return false;
    }
    let name_ip = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
        .parse::<std::net::IpAddr>()
        .ok();
    match name_ip {
        Some(ip) => ip.is_loopback() || ip == local.ip(),
        None => name == "localhost",
    }
}

/// A server running in the background on the current tokio runtime.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), EndpointError>>,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, e.g. `http://127.0.0.1:7419`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> Result<(), EndpointError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(EndpointError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Starts serving `endpoint` on `listener` in a background task.
pub fn spawn(listener: TcpListener, endpoint: Endpoint) -> Result<ServerHandle, EndpointError> {
    let addr = listener.local_addr().map_err(EndpointError::Serve)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, endpoint, async move {
        let _ = stopped.await;
    }));
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_are_loopback_unless_remote_is_asked_for() {
        for ok in ["127.0.0.1:7419", "[::1]:0", "127.5.6.7:80"] {
            check_listen(ok, false).unwrap();
        }
        for bad in ["0.0.0.0:7419", "[::]:7419", "10.0.0.2:7419"] {
            assert_eq!(
                check_listen(bad, false).unwrap_err().code(),
                "listen_not_loopback",
                "{bad}"
            );
            check_listen(bad, true).unwrap();
        }
        for bad in ["localhost:7419", "7419", "", "127.0.0.1"] {
            assert_eq!(check_listen(bad, true).unwrap_err().code(), "listen_invalid", "{bad}");
        }
    }

    #[test]
    fn host_must_name_this_endpoint() {
        let v4: SocketAddr = "127.0.0.1:7419".parse().unwrap();
        let v6: SocketAddr = "[::1]:7419".parse().unwrap();
        for ok in ["127.0.0.1:7419", "localhost:7419", "LOCALHOST:7419", "[::1]:7419"] {
            assert!(host_allowed(Some(ok.as_bytes()), v4), "{ok}");
            assert!(host_allowed(Some(ok.as_bytes()), v6), "{ok}");
        }
        for bad in [
            "rebind.attacker.example:7419",
            "127.0.0.1:7420",
            "localhost:80",
            "127.0.0.1",
            "localhost",
            "localhost.attacker.example:7419",
            "127.0.0.1.nip.io:7419",
            "127.0.0.1:+7419",
            "127.0.0.1:7419:7419",
            "",
        ] {
            assert!(!host_allowed(Some(bad.as_bytes()), v4), "{bad}");
        }
        assert!(!host_allowed(None, v4));
        assert!(!host_allowed(Some(b"\xff\xfe:7419"), v4));
        let port80: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(host_allowed(Some(b"localhost"), port80));
        // A server the owner opened to the network (--allow-remote) also answers to its own address.
        let lan: SocketAddr = "192.168.1.5:7419".parse().unwrap();
        assert!(host_allowed(Some(b"192.168.1.5:7419"), lan));
        assert!(!host_allowed(Some(b"192.168.1.6:7419"), lan));
    }
}
