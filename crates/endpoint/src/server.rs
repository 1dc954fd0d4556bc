//! The accept loop: HTTP/1.1 connections with a header-read timeout, an idle keep-alive timeout and a cap on
//! connections served at once (a slow or half-open client cannot hold the endpoint), and the `Host` check
//! every request passes before any route runs (DNS rebinding).
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

use crate::error::ApiError;
use crate::{host_allowed, Endpoint, EndpointError};

/// How long a client may take and how many may be served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head (request line and headers) must arrive within this time of the connection opening or
    /// of the previous reply, or the connection is closed. This is also the idle keep-alive timeout: a
    /// connection that sends nothing for this long is closed.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones wait in the kernel's accept queue until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

pub(crate) async fn run<F>(listener: TcpListener, endpoint: Endpoint, shutdown: F) -> Result<(), EndpointError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let limits = endpoint.shared.config.connections;
    let router = endpoint.router();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Every connection task holds a receiver; the loop waits for all of them to drop before returning.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let summaries = tokio::spawn(write_refusal_summaries(endpoint.clone()));
    loop {
        // Wait for a free slot before accepting: at the cap, new clients wait in the accept queue.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Per-connection failures (the client reset, or too many open files for a moment) must
                    // not stop the server.
                    tracing::debug!(error = %e, "accept failed");
                    if is_fatal(&e) {
                        return Err(EndpointError::Serve(e));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Replies are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                let router = router.clone();
                async move {
                    if !host_allowed(req.headers().get(header::HOST).map(|h| h.as_bytes()), local) {
                        return Ok::<_, Infallible>(host_refused(local));
                    }
                    req.extensions_mut().insert(ConnectInfo(remote));
                    router.oneshot(req).await
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            let mut conn = std::pin::pin!(conn);
            let stopping = async { stop.wait_for(|s| *s).await.is_ok() };
            let finished = tokio::select! {
                _ = conn.as_mut() => true,
                _ = stopping => false,
            };
            if !finished {
                conn.as_mut().graceful_shutdown();
                let _ = conn.as_mut().await;
            }
            drop(stop);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Requests in flight finish; idle connections close at once.
    stop_tx.closed().await;
    summaries.abort();
    if let Err(e) = endpoint.flush_refusals().await {
        tracing::warn!(error = %e.message, "the refusal summaries could not be written");
    }
    Ok(())
}

/// Writes the refusal summaries of each window that has ended, also when no further refusal comes to do it.
async fn write_refusal_summaries(endpoint: Endpoint) {
    let window = endpoint.shared.config.refusal_window;
    let period = (window / 4).clamp(Duration::from_millis(50), Duration::from_secs(15));
    loop {
        tokio::time::sleep(period).await;
        if let Some(u) = endpoint.unlocked() {
            if u.refusals.due(window) {
                if let Err(e) = crate::backend::flush_refusals(&endpoint, &u).await {
                    tracing::warn!(error = %e.message, "the refusal summaries could not be written");
                }
            }
        }
    }
}

fn host_refused(local: SocketAddr) -> Response<axum::body::Body> {
    ApiError::coded(
        "host_not_allowed",
        format!(
            "this is the owner's Locket on {local}; the Host header must name it (localhost:{port} or \
             127.0.0.1:{port}) — a page reached under another name is refused",
            port = local.port()
        ),
    )
    .into_response()
}

/// Accept errors that mean the listener itself is gone (others concern one connection or a passing shortage).
fn is_fatal(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::NotConnected | std::io::ErrorKind::Unsupported
    )
}
