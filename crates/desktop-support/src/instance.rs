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
    match zbus::blocking::connection::Builder::session() {
        Ok(bus) => preflight_on(bus, identifier, wait),
        Err(_) => Preflight::Start, // the plugin launches normally without a bus too
    }
}

/// [`preflight`] on the bus `bus` connects to.
#[cfg(target_os = "linux")]
pub fn preflight_on(bus: zbus::blocking::connection::Builder<'_>, identifier: &str, wait: Duration) -> Preflight {
    use zbus::blocking::fdo::DBusProxy;
    use zbus::names::BusName;

    let (name, path) = dbus_name_and_path(identifier);
    let Ok(bus_name) = BusName::try_from(name.as_str()) else {
        return Preflight::Start;
    };
    let conn = match bus.method_timeout(Duration::from_secs(3)).build() {
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

    /// A private session bus (its own `dbus-daemon`), stopped on drop.
    #[cfg(target_os = "linux")]
    struct Bus {
        child: std::process::Child,
        address: String,
    }

    #[cfg(target_os = "linux")]
    impl Bus {
        fn start() -> Option<Bus> {
            use std::io::BufRead;
            let mut child = std::process::Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()?;
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take()?)
                .read_line(&mut line)
                .ok()?;
            Some(Bus {
                child,
                address: line.trim().to_string(),
            })
        }
        fn builder(&self) -> zbus::blocking::connection::Builder<'static> {
            zbus::blocking::connection::Builder::address(self.address.as_str()).unwrap()
        }
    }

    #[cfg(target_os = "linux")]
    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[cfg(target_os = "linux")]
    struct Primary(std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>);

    #[cfg(target_os = "linux")]
    #[zbus::interface(name = "org.SingleInstance.DBus")]
    impl Primary {
        fn execute_callback(&mut self, argv: Vec<String>, _cwd: String) {
            self.0.lock().unwrap().push(argv);
        }
    }

    const ID: &str = "org.locket.test";

    #[cfg(target_os = "linux")]
    #[test]
    fn no_other_instance_starts() {
        let Some(bus) = Bus::start() else {
            return eprintln!("no dbus-daemon; skipped");
        };
        assert_eq!(
            preflight_on(bus.builder(), ID, Duration::from_secs(5)),
            Preflight::Start
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_running_instance_gets_the_arguments() {
        let Some(bus) = Bus::start() else {
            return eprintln!("no dbus-daemon; skipped");
        };
        let (name, path) = dbus_name_and_path(ID);
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let _primary = bus
            .builder()
            .name(name.as_str())
            .unwrap()
            .serve_at(path.as_str(), Primary(got.clone()))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            preflight_on(bus.builder(), ID, Duration::from_secs(5)),
            Preflight::Forwarded
        );
        assert_eq!(
            got.lock().unwrap().len(),
            1,
            "the running instance received this launch's argv"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_exiting_instance_that_does_not_answer_is_waited_out() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let Some(bus) = Bus::start() else {
            return eprintln!("no dbus-daemon; skipped");
        };
        let (name, _) = dbus_name_and_path(ID);
        // Owns the name but serves nothing: the forward fails, as with an instance that is shutting down.
        let exiting = bus.builder().name(name.as_str()).unwrap().build().unwrap();
        let released = std::sync::Arc::new(AtomicBool::new(false));
        let r2 = released.clone();
        let exiter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            r2.store(true, Ordering::SeqCst);
            drop(exiting); // the old process finally goes away
        });
        let outcome = preflight_on(bus.builder(), ID, Duration::from_secs(30));
        assert_eq!(outcome, Preflight::Start);
        assert!(
            released.load(Ordering::SeqCst),
            "started only after the old instance let go of the name"
        );
        exiter.join().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_owner_that_never_lets_go_still_lets_the_app_start() {
        let Some(bus) = Bus::start() else {
            return eprintln!("no dbus-daemon; skipped");
        };
        let (name, _) = dbus_name_and_path(ID);
        let _stuck = bus.builder().name(name.as_str()).unwrap().build().unwrap();
        assert_eq!(
            preflight_on(bus.builder(), ID, Duration::from_millis(300)),
            Preflight::StartUnguarded
        );
    }

    #[test]
    fn name_and_path_match_the_plugin() {
        let (n, p) = dbus_name_and_path("org.locket.desktop");
        assert_eq!(n, "org.locket.desktop.SingleInstance");
        assert_eq!(p, "/org/locket/desktop/SingleInstance");
        assert_eq!(dbus_name_and_path("a-b.c").1, "/a_b/c/SingleInstance");
    }
}
