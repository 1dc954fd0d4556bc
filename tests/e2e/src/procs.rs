//! Child processes that are always cleaned up: each runs in its own process group and is killed
//! by process-group id (TERM, then KILL) when its guard is dropped — also during a panic.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{E2eError, Result};

/// A started process (and its process group), stopped on drop.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    /// Where its stdout/stderr go.
    pub log: PathBuf,
    stopped: bool,
}

impl Proc {
    /// Start `cmd` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        let out = open_log(log)?;
        let err = out
            .try_clone()
            .map_err(|e| E2eError::Io(format!("log {}: {e}", log.display())))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        Self::spawn_configured(name, cmd, log)
    }

    fn spawn_configured(name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        let child = cmd
            .spawn()
            .map_err(|e| E2eError::Setup(format!("cannot start {name}: {e}")))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            stopped: false,
        })
    }

    /// The process id (= its process-group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stop the whole process group: SIGTERM, up to 5 s grace, then SIGKILL; reap the leader.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = format!("-{}", self.child.id());
        signal_group("TERM", &group);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                // Leader gone; make sure nothing of its group lingers (e.g. WebKitWebDriver).
                signal_group("KILL", &group);
                return;
            }
            thread::sleep(Duration::from_millis(25));
        }
        signal_group("KILL", &group);
        let _ = self.child.kill();
        let _ = self.child.wait();
        append_line(&self.log, &format!("=== {} did not stop on SIGTERM; killed", self.name));
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(sig: &str, group: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn open_log(log: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| E2eError::Io(format!("cannot open log {}: {e}", log.display())))
}

fn append_line(log: &Path, line: &str) {
    use std::io::Write as _;
    if let Ok(mut f) = open_log(log) {
        let _ = writeln!(f, "{line}");
    }
}

/// Start `cmd` (new process group, stderr to `log`) and read the first line it prints on stdout,
/// within `timeout`. Used for daemons that announce where they listen.
fn spawn_announcing(name: &str, cmd: &mut Command, log: &Path, timeout: Duration) -> Result<(Proc, String)> {
    let err = open_log(log)?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .process_group(0);
    let mut proc = Proc::spawn_configured(name, cmd, log)?;
    let stdout = proc
        .child
        .stdout
        .take()
        .ok_or_else(|| E2eError::Setup(format!("{name}: no stdout")))?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = tx.send(reader.read_line(&mut line).map(|_| line));
        // Keep draining so the daemon never blocks on a full pipe.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.trim().is_empty() => Ok((proc, line.trim().to_owned())),
        Ok(_) => {
            proc.stop();
            Err(E2eError::Setup(format!(
                "{name} exited at start; see {}",
                log.display()
            )))
        }
        Err(_) => {
            proc.stop();
            Err(E2eError::Timeout(format!(
                "{name} did not start within {timeout:?}; see {}",
                log.display()
            )))
        }
    }
}

/// Start `Xvfb` on a free display (it picks one itself via `-displayfd`); returns the display number.
pub fn start_xvfb(log: &Path) -> Result<(Proc, u32)> {
    let mut cmd = Command::new("Xvfb");
    cmd.args([
        "-displayfd",
        "1",
        "-screen",
        "0",
        "1280x800x24",
        "-nolisten",
        "tcp",
        "-noreset",
    ]);
    let (proc, line) = spawn_announcing("Xvfb", &mut cmd, log, Duration::from_secs(20))
        .map_err(|e| E2eError::Setup(format!("{e} (is the xvfb package installed? run scripts/setup)")))?;
    let display = line
        .parse()
        .map_err(|_| E2eError::Setup(format!("Xvfb announced a strange display number: {line:?}")))?;
    Ok((proc, display))
}

/// Start a private D-Bus session bus; returns its address (for `DBUS_SESSION_BUS_ADDRESS`).
pub fn start_dbus(log: &Path) -> Result<(Proc, String)> {
    let mut cmd = Command::new("dbus-daemon");
    cmd.args(["--session", "--nofork", "--nopidfile", "--print-address=1"]);
    spawn_announcing("dbus-daemon", &mut cmd, log, Duration::from_secs(10))
}

/// Start a gnome-keyring daemon (Secret Service) on the bus at `bus_address`, with its login
/// collection created and unlocked by a throw-away password; returns once it owns
/// `org.freedesktop.secrets` on that bus. `xdg_data`/`xdg_runtime` keep its files in the scenario.
pub fn start_keyring(bus_address: &str, xdg_data: &Path, xdg_runtime: &Path, log: &Path) -> Result<Proc> {
    use std::io::Write as _;
    let err = open_log(log)?;
    let out = err
        .try_clone()
        .map_err(|e| E2eError::Io(format!("log {}: {e}", log.display())))?;
    let mut cmd = Command::new("gnome-keyring-daemon");
    cmd.args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
        .env("XDG_DATA_HOME", xdg_data)
        .env("XDG_RUNTIME_DIR", xdg_runtime)
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let mut proc = Proc::spawn_configured("gnome-keyring-daemon", &mut cmd, log)
        .map_err(|e| E2eError::Setup(format!("{e} (install gnome-keyring with scripts/setup)")))?;
    if let Some(mut stdin) = proc.child.stdin.take() {
        let _ = stdin.write_all(b"locket-e2e-keyring");
        // Dropping stdin closes it: the daemon reads the password to EOF.
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let owned = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false);
        if owned {
            return Ok(proc);
        }
        if !proc.alive() || Instant::now() >= deadline {
            proc.stop();
            return Err(E2eError::Setup(format!(
                "gnome-keyring-daemon did not come up; see {}",
                log.display()
            )));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Wait for `child` to finish within `timeout` (killing it otherwise), collecting its output.
pub fn wait_output(mut child: Child, timeout: Duration) -> std::io::Result<Output> {
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut v);
        }
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut v);
        }
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("still running after {timeout:?}"),
            ));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok(Output { status, stdout, stderr })
}
