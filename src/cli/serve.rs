//! `locket serve [--listen ADDR] [--cors-origin ORIGIN ...]`: run the retailer endpoint in the foreground.
use std::net::SocketAddr;

use clap::Args;
use locket_endpoint::{Cors, Endpoint, EndpointConfig};
use locket_vault::settings::Settings;

use super::{CliError, CliResult, Ctx};

/// Options of `locket serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: the endpoint setting, 127.0.0.1:7419). Use port 0 for any free port.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// A web origin whose pages may call the endpoint (CORS); repeatable. Default: the cors_origins setting.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Listen on a non-loopback address (other machines could then reach the endpoint).
    #[arg(long)]
    allow_remote: bool,
}

fn serve_err(e: locket_endpoint::EndpointError) -> CliError {
    CliError::from_code(e.code(), e.to_string())
}

/// Runs the endpoint until Ctrl-C (or SIGTERM).
pub fn run(ctx: &mut Ctx, args: ServeArgs) -> CliResult {
    // The session delivers releases to shops' servers while this runs (the same worker as the desktop's).
    let session = std::sync::Arc::new(ctx.open_session()?);
    let vault = session.vault().clone();
    let carried = locket_audit::pending::record_unlock(&vault, "serve")
        .map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    if carried > 0 {
        ctx.out.warn(&format!(
            "{carried} failed unlock attempt(s) since the last unlock; see `locket audit --kind unlock_failed`"
        ));
    }
    let settings = Settings::load(vault.connect()?.conn())?;
    let listen = args.listen.unwrap_or_else(|| settings.endpoint.socket_addr());
    // The one listen rule (loopback unless --allow-remote), checked before anything is started.
    if let Err(e) = locket_endpoint::check_listen(&listen.to_string(), args.allow_remote) {
        return Err(CliError::usage(format!(
            "{e}. Pass --allow-remote if you really mean to let other machines reach it"
        )));
    }
    let origins = if args.cors_origins.is_empty() {
        settings.endpoint.cors_origins.clone()
    } else {
        for o in &args.cors_origins {
            locket_vault::settings::check_origin(o)?;
        }
        args.cors_origins.clone()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(super::exit::ERROR, "runtime", format!("cannot start: {e}")))?;
    let out = ctx.out;
    runtime.block_on(async move {
        let listener = if args.allow_remote {
            locket_endpoint::bind_remote(&listen.to_string()).await
        } else {
            locket_endpoint::bind(&listen.to_string()).await
        }
        .map_err(serve_err)?;
        let addr = listener
            .local_addr()
            .map_err(|e| serve_err(locket_endpoint::EndpointError::Serve(e)))?;
        let config = EndpointConfig {
            cors: if origins.is_empty() {
                Cors::Off
            } else {
                Cors::Origins(origins)
            },
            public_url: Some(format!("http://{addr}")),
            ..EndpointConfig::default()
        };
        let endpoint = Endpoint::with_vault(config, vault).map_err(serve_err)?;
        out.result(&serde_json::json!({ "listening": format!("http://{addr}") }), || {
            format!("Serving the Locket endpoint on http://{addr} (Ctrl-C to stop)")
        });
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let worker = locket_app::deliver::spawn_worker(&session);
        let served = locket_endpoint::serve(listener, endpoint, shutdown_signal())
            .await
            .map_err(serve_err);
        if let Some(w) = worker {
            w.abort();
        }
        served
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
