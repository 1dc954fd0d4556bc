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
    /// Why the requested listen override was refused (an unparsable or non-loopback `LOCKET_LISTEN`): the
    /// endpoint then does not start, and its status says why, rather than silently listening elsewhere.
    pub listen_refused: Option<String>,
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
            listen_refused: None,
            idle_override: None,
            serve: false,
        }
    }

    /// The desktop app's options: decisions are `desktop`, `LOCKET_LISTEN` overrides the address (a loopback
    /// `IP:PORT`; anything else is refused by [`locket_endpoint::check_listen`], the one listen rule).
    pub fn desktop() -> Options {
        Options::desktop_listening(std::env::var("LOCKET_LISTEN").ok().as_deref())
    }

    /// The desktop app's options with `listen` as the value of `LOCKET_LISTEN` (if set).
    pub fn desktop_listening(listen: Option<&str>) -> Options {
        let (listen_override, listen_refused) = match listen {
            // Set but empty means "not set" (how a caller clears an inherited value).
            Some(raw) if raw.trim().is_empty() => (None, None),
            Some(raw) => match locket_endpoint::check_listen(raw, false) {
                Ok(addr) => (Some(addr), None),
                Err(e) => {
                    tracing::error!(error = %e, "LOCKET_LISTEN refused; the endpoint will not start");
                    (None, Some(format!("LOCKET_LISTEN: {e}")))
                }
            },
            None => (None, None),
        };
        Options {
            collection: Collection::Desktop,
            listen_override,
            listen_refused,
            idle_override: None,
            serve: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_override_off_loopback_or_unparsable_is_refused_not_ignored() {
        let ok = Options::desktop_listening(Some("127.0.0.1:7500"));
        assert_eq!(ok.listen_override, Some("127.0.0.1:7500".parse().unwrap()));
        assert!(ok.listen_refused.is_none());
        for unset in [None, Some(""), Some("  ")] {
            let o = Options::desktop_listening(unset);
            assert!(o.listen_override.is_none() && o.listen_refused.is_none(), "{unset:?}");
        }
        for bad in [
            "0.0.0.0:7419",
            "192.168.1.10:7419",
            "[::]:7419",
            "localhost:7419",
            "7419",
        ] {
            let o = Options::desktop_listening(Some(bad));
            assert_eq!(o.listen_override, None, "{bad}");
            let why = o.listen_refused.unwrap_or_default();
            assert!(why.starts_with("LOCKET_LISTEN: "), "{bad}: {why}");
        }
        let o = Options::desktop_listening(Some("0.0.0.0:7419"));
        assert!(o.listen_refused.unwrap().contains("not a loopback address"));
    }
}
