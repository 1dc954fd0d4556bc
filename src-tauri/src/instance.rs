//! Quit-and-reopen: a launch that finds a previous instance still exiting must start normally.
//!
//! `tauri-plugin-single-instance` forwards a second launch's arguments to the D-Bus name the first
//! instance owns. If that instance is shutting down, it still owns the name but no longer answers,
//! the forward fails (`NoReply`) and the plugin refuses to start the new instance. [`preflight`] runs
//! before Tauri is built: it forwards the arguments itself with a short timeout; if the owner does
//! not answer it waits for the name to be released and then lets the app start normally.

use std::time::{Duration, Instant};

/// What [`preflight`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// No other instance (or no session bus): start and take the single-instance name.
    Start,
    /// A running instance accepted this launch's arguments: exit successfully.
    Forwarded,
    /// The name's owner neither answers nor lets go: start without single-instance detection.
    StartUnguarded,
}

/// The D-Bus name and object path the single-instance plugin uses for `identifier` (no semver suffix).
pub fn dbus_name_and_path(identifier: &str) -> (String, String) {
    let name = format!("{identifier}.SingleInstance");
    let mut path = name.replace('.', "/").replace('-', "_");
    if !path.starts_with('/') {
        path = format!("/{path}");
    }
    (name, path)
}

/// Forwards this launch to a running instance, or waits out one that is exiting (up to `wait`).
#[cfg(target_os = "linux")]
pub fn preflight(identifier: &str, wait: Duration) -> Preflight {
    use zbus::blocking::{connection, fdo::DBusProxy};
    use zbus::names::BusName;

    let (name, path) = dbus_name_and_path(identifier);
    let Ok(bus_name) = BusName::try_from(name.as_str()) else {
        return Preflight::Start;
    };
    let conn = match connection::Builder::session()
        .map(|b| b.method_timeout(Duration::from_secs(3)))
        .and_then(|b| b.build())
    {
        Ok(c) => c,
        Err(_) => return Preflight::Start, // the plugin launches normally without a bus too
    };
    let Ok(dbus) = DBusProxy::new(&conn) else {
        return Preflight::Start;
    };
    let owned = |d: &DBusProxy| d.name_has_owner(bus_name.clone()).unwrap_or(false);
    if !owned(&dbus) {
        return Preflight::Start;
    }
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let cwd = std::env::current_dir()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let forwarded = conn.call_method(
        Some(name.as_str()),
        path.as_str(),
        Some("org.SingleInstance.DBus"),
        "ExecuteCallback",
        &(argv, cwd.as_str()),
    );
    if forwarded.is_ok() {
        return Preflight::Forwarded;
    }
    tracing::info!("previous instance is exiting; waiting for it to release the single-instance name");
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if !owned(&dbus) {
            return Preflight::Start;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::warn!("previous instance does not answer and keeps the single-instance name; starting anyway");
    Preflight::StartUnguarded
}

/// Other platforms: the plugin handles everything.
#[cfg(not(target_os = "linux"))]
pub fn preflight(_identifier: &str, _wait: Duration) -> Preflight {
    Preflight::Start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_path_match_the_plugin() {
        let (n, p) = dbus_name_and_path("org.locket.desktop");
        assert_eq!(n, "org.locket.desktop.SingleInstance");
        assert_eq!(p, "/org/locket/desktop/SingleInstance");
        assert_eq!(dbus_name_and_path("a-b.c").1, "/a_b/c/SingleInstance");
    }
}
