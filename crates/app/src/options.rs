//! What a front end chooses about the application object (not stored in the vault): how its decisions are
//! described in consent receipts, whether it serves retailers, and test overrides.
use std::net::SocketAddr;
use std::time::Duration;

use locket_grants::receipt::Collection;

/// Settings of the application object that front ends choose (not stored in the vault).
#[derive(Debug, Clone)]
pub struct Options {
    /// How decisions taken through this front end are described in consent receipts.
    pub collection: Collection,
    /// Listen here instead of the vault's endpoint setting (tests; `LOCKET_LISTEN`).
    pub listen_override: Option<SocketAddr>,
    /// Lock after this much inactivity instead of the vault's auto-lock setting (tests).
    pub idle_override: Option<Duration>,
    /// Start the endpoint server when a session opens (if the vault's settings have sharing on).
    pub serve: bool,
}

impl Options {
    /// The `locket` command's options: decisions are `cli`; it never serves (that is `locket serve`) and has no
    /// idle timer (each command unlocks, works and exits).
    pub fn cli() -> Options {
        Options {
            collection: Collection::Cli,
            listen_override: None,
            idle_override: None,
            serve: false,
        }
    }

    /// The desktop app's options: decisions are `desktop`, `LOCKET_LISTEN` overrides the address.
    pub fn desktop() -> Options {
        Options {
            collection: Collection::Desktop,
            listen_override: std::env::var("LOCKET_LISTEN").ok().and_then(|s| s.parse().ok()),
            idle_override: None,
            serve: true,
        }
    }
}
