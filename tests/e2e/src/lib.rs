#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! End-to-end test harness for the Locket desktop app.
//!
//! Each scenario gets its own world: a fresh temp dir (vault, XDG dirs), its own Xvfb display,
//! its own D-Bus session bus (so single-instance and keychain code never see another test's app),
//! and its own `tauri-driver` on free ports, which launches `target/<profile>/locket-desktop`
//! through `WebKitWebDriver`. Processes are started in their own process groups and killed by
//! process-group id when the scenario ends, also when it panics. Screenshots go to
//! `artifacts/e2e/<scenario>/`, plus `failure-*.png` and the driver/app log when it fails.
//!
//! ```no_run
//! # fn main() -> locket_e2e::Result<()> {
//! locket_e2e::Scenario::new("smoke").run(|d| {
//!     d.shot("start")?;
//!     Ok(())
//! })
//! # }
//! ```
//!
//! `LOCKET_SKIP_E2E=1` skips every scenario with a loud message on the terminal. Scenarios run one
//! at a time within a test binary (a WebKit instance per test on two cores is plenty).

pub mod app;
pub mod browser;
pub mod procs;
pub mod webdriver;

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use procs::Proc;
pub use webdriver::{keys, testid, Element, Session, DEFAULT_WAIT};

/// Everything that can go wrong while driving the app.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum E2eError {
    /// The driver could not be reached (it died, or the request timed out).
    #[error("HTTP error talking to tauri-driver: {0}")]
    Http(String),
    /// The driver answered something that is not WebDriver.
    #[error("unexpected WebDriver reply: {0}")]
    Protocol(String),
    /// The driver refused a command (no such element, not interactable, ...).
    #[error("{what}: WebDriver error `{error}`: {message}")]
    WebDriver {
        /// The command.
        what: String,
        /// The W3C error code.
        error: String,
        /// The driver's message.
        message: String,
    },
    /// A wait ran out of time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A file or process operation failed.
    #[error("{0}")]
    Io(String),
    /// The environment is not fit to run the tests (missing tool, no UI build...).
    #[error("end-to-end environment problem: {0}")]
    Setup(String),
    /// A check in a scenario failed.
    #[error("check failed: {0}")]
    Check(String),
}

impl E2eError {
    /// A stable snake_case code for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            E2eError::Http(_) => "driver_unreachable",
            E2eError::Protocol(_) => "driver_protocol",
            E2eError::WebDriver { .. } => "webdriver_error",
            E2eError::Timeout(_) => "timeout",
            E2eError::Io(_) => "io_error",
            E2eError::Setup(_) => "environment",
            E2eError::Check(_) => "check_failed",
        }
    }
}

/// A test returning `Err` prints it with `Debug`: show the readable sentence, not the enum.
impl std::fmt::Debug for E2eError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {self}", self.code())
    }
}

/// Result type of the harness.
pub type Result<T> = std::result::Result<T, E2eError>;

/// Fail a scenario with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::E2eError::Check(format!($($fmt)+)));
        }
    };
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Where screenshots and logs go: `$LOCKET_E2E_ARTIFACTS` or `<workspace>/artifacts/e2e`.
pub fn artifacts_root() -> PathBuf {
    std::env::var_os("LOCKET_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts/e2e"))
}

/// Print straight to the terminal, bypassing libtest's output capture (for messages that must be
/// seen even when the test passes, such as "skipped").
pub fn shout(msg: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{msg}");
}

/// Paths of the binaries under test.
#[derive(Debug, Clone)]
pub struct Bins {
    /// `locket-desktop` (the app).
    pub desktop: PathBuf,
    /// `locket` (owner CLI).
    pub locket: PathBuf,
    /// `locket-retailer` (retailer CLI).
    pub retailer: PathBuf,
    /// `hello-tauri`, the minimal Tauri 2 window the footprint bench compares Locket with (checked when used).
    pub hello: PathBuf,
    /// `tauri-driver`.
    pub tauri_driver: PathBuf,
    /// `WebKitWebDriver`.
    pub webkit_driver: PathBuf,
}

/// The target profile directory the test binary was built into (`target/debug`).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| E2eError::Setup(format!("current_exe: {e}")))?;
    // target/debug/deps/<test>-<hash>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| E2eError::Setup(format!("cannot find the target dir from {}", exe.display())))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn find_tauri_driver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Some(PathBuf::from(p));
    }
    find_in_path("tauri-driver").or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let p = cargo_home.join("bin/tauri-driver");
        p.is_file().then_some(p)
    })
}

/// Build (if needed) and locate the binaries, once per test process.
///
/// Runs `cargo build --workspace --bins --tests` in the same profile as the tests (a no-op when
/// they are fresh) unless `LOCKET_E2E_NO_BUILD=1`. It is the same command as `scripts/test`'s build
/// step on purpose: cargo resolves features per invocation, so building a subset of packages (`-p`)
/// would rebuild most dependencies a second time with other features, and overwrite the binaries.
pub fn bins() -> Result<&'static Bins> {
    static BINS: OnceLock<std::result::Result<Bins, String>> = OnceLock::new();
    BINS.get_or_init(|| locate_bins().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| E2eError::Setup(e.clone()))
}

fn locate_bins() -> Result<Bins> {
    let root = workspace_root();
    let dist = root.join("ui/dist/index.html");
    if !dist.is_file() {
        return Err(E2eError::Setup(format!(
            "{} is missing: build the UI first (cd ui && npm run build), or run scripts/test",
            dist.display()
        )));
    }
    warn_if_ui_build_stale(&root);
    let profile = profile_dir()?;
    if std::env::var("LOCKET_E2E_NO_BUILD").as_deref() != Ok("1") {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .args(["build", "--workspace", "--bins", "--tests"]);
        if profile.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd
            .output()
            .map_err(|e| E2eError::Setup(format!("cannot run cargo build: {e}")))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim_start().starts_with("Compiling "))
                .collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            return Err(E2eError::Setup(format!("cargo build of the app failed:\n{tail}")));
        }
    }
    let bin = |name: &str| -> Result<PathBuf> {
        let p = profile.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(E2eError::Setup(format!(
                "{} not found; build it with: cargo build -p {name}",
                p.display()
            )))
        }
    };
    let tauri_driver = find_tauri_driver().ok_or_else(|| {
        E2eError::Setup("tauri-driver not found (PATH, $CARGO_HOME/bin); install it with scripts/setup".into())
    })?;
    let webkit_driver = ["/usr/bin/WebKitWebDriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| find_in_path("WebKitWebDriver"))
        .ok_or_else(|| {
            E2eError::Setup("WebKitWebDriver not found; install webkit2gtk-driver (scripts/setup)".into())
        })?;
    Ok(Bins {
        desktop: bin("locket-desktop")?,
        // The CLIs are checked when a scenario runs them.
        locket: profile.join("locket"),
        retailer: profile.join("locket-retailer"),
        hello: profile.join("hello-tauri"),
        tauri_driver,
        webkit_driver,
    })
}

/// Warn loudly when a UI source file is newer than the built `ui/dist` (the app embeds `ui/dist`).
fn warn_if_ui_build_stale(root: &Path) {
    fn newest(dir: &Path) -> Option<std::time::SystemTime> {
        let mut best = None;
        for entry in fs::read_dir(dir).ok()?.flatten() {
            let p = entry.path();
            let t = if p.is_dir() {
                newest(&p)
            } else {
                entry.metadata().ok()?.modified().ok()
            };
            if t > best {
                best = t;
            }
        }
        best
    }
    let built = fs::metadata(root.join("ui/dist/index.html"))
        .and_then(|m| m.modified())
        .ok();
    let src = newest(&root.join("ui/src"));
    if let (Some(built), Some(src)) = (built, src) {
        if src > built {
            shout("\n*** locket-e2e: ui/src is newer than ui/dist — the app under test embeds the OLD UI build.\n*** Run `npm run build` in ui/ (scripts/test does this).\n");
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| E2eError::Io(format!("cannot find a free port: {e}")))
}

/// The private directories of one scenario, available before the app starts (see
/// [`Scenario::prepare`]) and while it runs.
#[derive(Debug)]
pub struct Workdir {
    /// Scenario name (also its artifacts sub-directory).
    pub name: String,
    /// The scenario's temp dir (deleted at the end).
    pub tmp: PathBuf,
    /// The vault directory handed to the app and the CLIs as `LOCKET_VAULT`.
    pub vault: PathBuf,
    /// Where screenshots and logs of this scenario go.
    pub artifacts: PathBuf,
    /// The binaries under test.
    pub bins: Bins,
    /// The endpoint port handed to the app as `LOCKET_LISTEN=127.0.0.1:<port>` (a scenario may
    /// unset it with `.env("LOCKET_LISTEN", "")` to use the vault's own setting).
    pub listen_port: u16,
    env: Vec<(String, String)>,
    /// Helper processes of the scenario (a retailer's server), stopped when it ends.
    background: std::sync::Mutex<Vec<Proc>>,
    _tmp_guard: tempfile::TempDir,
}

impl Workdir {
    fn new(name: &str, env: Vec<(String, String)>) -> Result<Workdir> {
        let bins = bins()?.clone();
        let guard = tempfile::Builder::new()
            .prefix(&format!("locket-e2e-{name}-"))
            .tempdir()
            .map_err(|e| E2eError::Io(format!("temp dir: {e}")))?;
        let tmp = guard.path().to_path_buf();
        // `{tmp}` in a value stands for the scenario's temp dir (for files made before the app starts).
        let env = env
            .into_iter()
            .map(|(k, v)| (k, v.replace("{tmp}", &tmp.to_string_lossy())))
            .collect();
        for d in ["xdg/data", "xdg/config", "xdg/cache", "xdg/runtime", "files"] {
            fs::create_dir_all(tmp.join(d)).map_err(|e| E2eError::Io(format!("mkdir {d}: {e}")))?;
        }
        set_mode_700(&tmp.join("xdg/runtime"));
        let artifacts = artifacts_root().join(name);
        let _ = fs::remove_dir_all(&artifacts);
        fs::create_dir_all(&artifacts).map_err(|e| E2eError::Io(format!("mkdir {}: {e}", artifacts.display())))?;
        Ok(Workdir {
            name: name.to_owned(),
            vault: tmp.join("vault"),
            tmp,
            artifacts,
            bins,
            listen_port: free_port()?,
            env,
            background: std::sync::Mutex::new(Vec::new()),
            _tmp_guard: guard,
        })
    }

    /// A path inside the scenario's scratch directory (for request and grant files).
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.join("files").join(name)
    }

    /// The environment every process of this scenario gets (vault, fast KDF, private XDG dirs).
    fn apply_env(&self, cmd: &mut Command) {
        cmd.env("LOCKET_VAULT", &self.vault)
            .env("LOCKET_KDF_PROFILE", "test")
            .env("XDG_DATA_HOME", self.tmp.join("xdg/data"))
            .env("XDG_CONFIG_HOME", self.tmp.join("xdg/config"))
            .env("XDG_CACHE_HOME", self.tmp.join("xdg/cache"))
            .env("XDG_RUNTIME_DIR", self.tmp.join("xdg/runtime"))
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .env("LOCKET_LISTEN", format!("127.0.0.1:{}", self.listen_port));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// Run the owner CLI `locket` against this scenario's vault, with `stdin` as its input.
    pub fn locket(&self, args: &[&str], stdin: &str) -> Result<Output> {
        self.run_tool(&self.bins.locket, args, stdin)
    }

    /// Run `locket-retailer` (the retailer's CLI).
    pub fn retailer(&self, args: &[&str]) -> Result<Output> {
        self.run_tool(&self.bins.retailer, args, "")
    }

    /// Start `locket-retailer ARGS` in the background (e.g. `serve`), with this scenario's environment and its
    /// output in `<name>.log` among the artifacts; it runs until the scenario ends.
    pub fn retailer_background(&self, name: &str, args: &[&str]) -> Result<()> {
        let mut cmd = Command::new(&self.bins.retailer);
        cmd.args(args);
        self.background(name, &mut cmd).map(|_| ())
    }

    /// Start `cmd` in the background with this scenario's environment and its output in `<name>.log` among the
    /// artifacts; it runs until the scenario ends. Returns the log's path.
    pub fn background(&self, name: &str, cmd: &mut Command) -> Result<PathBuf> {
        self.apply_env(cmd);
        let log = self.artifacts.join(format!("{name}.log"));
        let proc = Proc::spawn(name, cmd, &log)?;
        self.background
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(proc);
        Ok(log)
    }

    fn run_tool(&self, bin: &Path, args: &[&str], stdin: &str) -> Result<Output> {
        if !bin.is_file() {
            let name = bin
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(E2eError::Setup(format!(
                "{} not found; build it with: cargo build --bin {name}",
                bin.display()
            )));
        }
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.apply_env(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| E2eError::Io(format!("cannot start {}: {e}", bin.display())))?;
        if let Some(mut si) = child.stdin.take() {
            let _ = si.write_all(stdin.as_bytes());
        }
        let out = procs::wait_output(child, Duration::from_secs(120))
            .map_err(|e| E2eError::Io(format!("{} {}: {e}", bin.display(), args.join(" "))))?;
        let name = bin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = format!(
            "$ {name} {}\n[exit {}]\n--- stdout\n{}\n--- stderr\n{}\n\n",
            args.join(" "),
            out.status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        append(&self.artifacts.join("commands.log"), &log);
        Ok(out)
    }
}

/// Wall-clock milliseconds since the Unix epoch (what `performance.timeOrigin` counts in).
fn epoch_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1e3
}

fn append(path: &Path, text: &str) {
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(text.as_bytes());
    }
}

fn set_mode_700(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o700));
}

/// A running app under test: the processes, the WebDriver session and the scenario's directories.
/// Dereferences to the [`Session`], so `d.tid("unlock-button")?.click()?` reads naturally.
pub struct Desktop {
    /// The X display number (`DISPLAY=:N`).
    pub display: u32,
    driver_url: String,
    bus_address: String,
    /// From asking the driver for a session to the app's document being loaded (includes
    /// WebKitWebDriver starting the app). Informational only; tests never assert on time.
    pub launched_in: Duration,
    /// The wall-clock time the app was asked to start (just before the WebDriver session request), to compare
    /// with the page's performance marks ([`Desktop::mark_after_launch`]).
    pub launched_at: SystemTime,
    shots: u32,
    // Field order = drop order: session (closed in Drop), then driver, bus, display, and the temp
    // dir last, once no process uses it.
    session: Option<Session>,
    driver: Proc,
    _keyring: Option<Proc>,
    _dbus: Proc,
    _xvfb: Proc,
    /// The scenario's directories and CLIs.
    pub work: Workdir,
}

/// One process's memory ([`Desktop::footprint`]).
#[derive(Debug, Clone)]
pub struct ProcMemory {
    /// The process name (`locket-desktop`, `WebKitWebProces`, `WebKitNetworkPr`).
    pub name: String,
    /// Its id.
    pub pid: u32,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Proportional set size, KiB.
    pub pss_kib: u64,
}

impl Deref for Desktop {
    type Target = Session;
    fn deref(&self) -> &Session {
        // Invariant: `session` is only None transiently inside `restart_app` / `drop`.
        self.session.as_ref().unwrap_or_else(|| unreachable_session())
    }
}

impl DerefMut for Desktop {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().unwrap_or_else(|| unreachable_session())
    }
}

fn unreachable_session() -> ! {
    panic!("locket-e2e: no WebDriver session (the app failed to restart)")
}

impl Desktop {
    fn launch(work: Workdir, keyring: bool) -> Result<Desktop> {
        let xvfb_log = work.artifacts.join("xvfb.log");
        let (xvfb, display) = procs::start_xvfb(&xvfb_log)?;
        let (dbus, bus_address) = procs::start_dbus(&work.artifacts.join("dbus.log"))?;
        let keyring = if keyring {
            Some(procs::start_keyring(
                &bus_address,
                &work.tmp.join("xdg/data"),
                &work.tmp.join("xdg/runtime"),
                &work.artifacts.join("keyring.log"),
            )?)
        } else {
            None
        };
        let mut keyring = Some(keyring);
        let mut last_err = None;
        // A free port can be taken between our probe and the driver's bind: try a few times.
        for _ in 0..3 {
            let port = free_port()?;
            let native_port = free_port()?;
            if port == native_port {
                continue;
            }
            let mut cmd = Command::new(&work.bins.tauri_driver);
            cmd.arg("--port")
                .arg(port.to_string())
                .arg("--native-port")
                .arg(native_port.to_string())
                .arg("--native-driver")
                .arg(&work.bins.webkit_driver)
                .env("DISPLAY", format!(":{display}"))
                .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
                .env("GDK_BACKEND", "x11")
                .env_remove("WAYLAND_DISPLAY");
            work.apply_env(&mut cmd);
            let log = work.artifacts.join("app.log");
            append(
                &log,
                &format!("=== tauri-driver on :{port} (native :{native_port}), DISPLAY=:{display}\n"),
            );
            let mut driver = Proc::spawn("tauri-driver", &mut cmd, &log)?;
            let url = format!("http://127.0.0.1:{port}");
            match wait_status(&url, &mut driver, Duration::from_secs(20)) {
                Ok(()) => {
                    let started = Instant::now();
                    let launched_at = SystemTime::now();
                    let session = start_session(&url, &work.bins.desktop, &log)?;
                    let mut d = Desktop {
                        work,
                        display,
                        session: Some(session),
                        driver_url: url,
                        bus_address: bus_address.clone(),
                        launched_in: Duration::ZERO,
                        launched_at,
                        shots: 0,
                        driver,
                        _keyring: keyring.take().flatten(),
                        _dbus: dbus,
                        _xvfb: xvfb,
                    };
                    d.wait_until("the app window to load", |s| {
                        Ok(
                            (s.execute("return document.readyState", vec![])?.as_str() == Some("complete"))
                                .then_some(()),
                        )
                    })?;
                    d.launched_in = started.elapsed();
                    return Ok(d);
                }
                Err(e) => {
                    drop(driver);
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| E2eError::Setup("could not start tauri-driver".into())))
    }

    /// End the app (WebDriver session) and launch it again on the same vault and display.
    pub fn restart_app(&mut self) -> Result<()> {
        if let Some(mut s) = self.session.take() {
            s.close()?;
        }
        // Wait until the old process is gone: until then it still owns the single-instance name on
        // the bus, and a new launch would hand its arguments over instead of starting.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.app_pids().is_empty() {
            if Instant::now() >= deadline {
                return Err(E2eError::Timeout(
                    "the app did not exit after its session was closed".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = self.work.artifacts.join("app.log");
        append(&log, "=== restarting the app\n");
        self.launched_at = SystemTime::now();
        self.session = Some(start_session(&self.driver_url, &self.work.bins.desktop, &log)?);
        Ok(())
    }

    /// Launch the app binary a second time, as the OS does when it opens a `locket://` link, with
    /// the same display, bus and vault; returns its output once it exits (within 30 s).
    pub fn second_instance(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new(&self.work.bins.desktop);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.session_env(&mut cmd);
        let child = cmd.spawn().map_err(|e| E2eError::Io(format!("second launch: {e}")))?;
        let out = procs::wait_output(child, Duration::from_secs(30))
            .map_err(|e| E2eError::Check(format!("the second instance did not exit: {e}")))?;
        append(
            &self.work.artifacts.join("commands.log"),
            &format!(
                "$ locket-desktop {} (second instance)\n[exit {:?}]\n--- stderr\n{}\n\n",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ),
        );
        Ok(out)
    }

    /// Gives `cmd` the environment of the owner's desktop session in this scenario: the display, the session bus
    /// and the scenario's vault and XDG folders (what a program the owner starts, such as a browser, inherits).
    pub fn session_env(&self, cmd: &mut Command) {
        cmd.env("DISPLAY", format!(":{}", self.display))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("GDK_BACKEND", "x11")
            .env_remove("WAYLAND_DISPLAY");
        self.work.apply_env(cmd);
    }

    /// Processes of the driver's process group whose name starts with one of `prefixes`, with
    /// their `/proc` directory.
    fn group_processes(&self, prefixes: &[&str]) -> Vec<(String, PathBuf)> {
        let group = self.driver.pid().to_string();
        let mut found = Vec::new();
        let Ok(entries) = fs::read_dir("/proc") else {
            return found;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid pgrp ..." — comm may hold spaces; split after the last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // A zombie ("Z") has exited already.
            if fields.get(2) == Some(&group.as_str())
                && fields.first() != Some(&"Z")
                && prefixes.iter().any(|p| comm.starts_with(p))
            {
                found.push((comm.to_owned(), dir));
            }
        }
        found
    }

    /// The app's process name as `/proc` shows it (the binary's name, cut to 15 bytes).
    fn app_comm(&self) -> String {
        let name = self
            .work
            .bins
            .desktop
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.chars().take(15).collect()
    }

    /// The process ids of running app processes (`locket-desktop`) of this scenario.
    pub fn app_pids(&self) -> Vec<u32> {
        self.group_processes(&[&self.app_comm()])
            .iter()
            .filter_map(|(_, dir)| dir.file_name()?.to_str()?.parse().ok())
            .collect()
    }

    /// The WebKit helper processes (web content, network) of the app that are running, by name.
    pub fn webkit_processes(&self) -> Vec<String> {
        self.group_processes(&["WebKitWebProces", "WebKitNetworkPr"])
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// Resident memory (KiB) of the app under test: `(app process, app + its WebKit helper
    /// processes)`, read from `/proc` (Linux). Informational only.
    pub fn app_rss_kib(&self) -> Result<(u64, u64)> {
        let mut app = 0;
        let mut total = 0;
        for (comm, dir) in self.group_processes(&["locket-desktop", "WebKitWebProces", "WebKitNetworkPr"]) {
            let status = fs::read_to_string(dir.join("status")).unwrap_or_default();
            let rss: u64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            total += rss;
            if comm.starts_with("locket-desktop") {
                app += rss;
            }
        }
        Ok((app, total))
    }

    /// Memory of the app under test and its WebKit helper processes, one entry per process, from
    /// `/proc/PID/smaps_rollup` (Linux). PSS shares each page among the processes mapping it, so the sum is what
    /// the app costs the machine. Informational only.
    pub fn footprint(&self) -> Vec<ProcMemory> {
        let app = self.app_comm();
        let mut found: Vec<ProcMemory> = self
            .group_processes(&[&app, "WebKitWebProces", "WebKitNetworkPr"])
            .into_iter()
            .filter_map(|(name, dir)| {
                let pid = dir.file_name()?.to_str()?.parse().ok()?;
                let rollup = fs::read_to_string(dir.join("smaps_rollup")).ok()?;
                let kib = |key: &str| -> u64 {
                    rollup
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                Some(ProcMemory {
                    name,
                    pid,
                    rss_kib: kib("Rss:"),
                    pss_kib: kib("Pss:"),
                })
            })
            .collect();
        found.sort_by_key(|p| (p.name != app, p.pid));
        found
    }

    /// When the page set the performance mark `name` (`performance.mark`), in milliseconds after
    /// [`Desktop::launched_at`]; `None` while it is not set.
    pub fn mark_after_launch(&self, name: &str) -> Result<Option<f64>> {
        let at = self.execute(
            "const m = performance.getEntriesByName(arguments[0]); \
             return m.length ? performance.timeOrigin + m[0].startTime : null",
            vec![serde_json::Value::from(name)],
        )?;
        Ok(at.as_f64().map(|at_ms| at_ms - epoch_ms(self.launched_at)))
    }

    /// Milliseconds from [`Desktop::launched_at`] to now, on the clock [`Desktop::mark_after_launch`] uses.
    pub fn ms_since_launch(&self) -> f64 {
        epoch_ms(SystemTime::now()) - epoch_ms(self.launched_at)
    }

    /// Save a screenshot of the window as `NN-name.png` in the scenario's artifacts dir.
    pub fn shot(&mut self, name: &str) -> Result<PathBuf> {
        self.shots += 1;
        let path = self.work.artifacts.join(format!("{:02}-{name}.png", self.shots));
        let png = self.screenshot_png()?;
        fs::write(&path, png).map_err(|e| E2eError::Io(format!("write {}: {e}", path.display())))?;
        Ok(path)
    }

    /// Save a screenshot of the whole X screen (works even if the web view is stuck).
    pub fn screen_shot(&self, name: &str) -> Result<PathBuf> {
        let path = self.work.artifacts.join(format!("{name}.png"));
        let out = Command::new("/usr/bin/import")
            .args(["-display", &format!(":{}", self.display), "-window", "root"])
            .arg(&path)
            .output()
            .map_err(|e| E2eError::Io(format!("import (imagemagick): {e}")))?;
        if !out.status.success() {
            return Err(E2eError::Io(format!(
                "import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(path)
    }

    /// The directories, vault and CLIs of this scenario.
    pub fn work(&self) -> &Workdir {
        &self.work
    }

    fn save_failure_evidence(&mut self) {
        if !self.driver.alive() {
            append(
                &self.driver.log,
                "=== tauri-driver was no longer running when the scenario failed\n",
            );
        }
        let _ = self.screen_shot("failure-screen");
        if self.session.is_some() {
            if let Ok(png) = self.screenshot_png() {
                let _ = fs::write(self.work.artifacts.join("failure-window.png"), png);
            }
            if let Ok(v) = self.execute("return document.body ? document.body.outerHTML : ''", vec![]) {
                let _ = fs::write(
                    self.work.artifacts.join("failure-dom.html"),
                    v.as_str().unwrap_or_default(),
                );
            }
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = s.close();
        }
        // driver, dbus and xvfb are then stopped by their own Drop (process-group kill).
    }
}

pub(crate) fn wait_status(url: &str, driver: &mut Proc, timeout: Duration) -> Result<()> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| E2eError::Http(e.to_string()))?;
    let deadline = Instant::now() + timeout;
    loop {
        if !driver.alive() {
            return Err(E2eError::Setup(format!(
                "the WebDriver server exited at start; see {}",
                driver.log.display()
            )));
        }
        if let Ok(r) = http.get(format!("{url}/status")).send() {
            if let Ok(v) = r.json::<serde_json::Value>() {
                if v.pointer("/value/ready").and_then(serde_json::Value::as_bool) == Some(true) {
                    return Ok(());
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(E2eError::Timeout(format!(
                "the WebDriver server at {url} is not ready after {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_session(url: &str, app: &Path, log: &Path) -> Result<Session> {
    Session::start(url, app, &[], Duration::from_secs(60)).map_err(|e| {
        let tail = fs::read_to_string(log).unwrap_or_default();
        let tail: String = tail
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        E2eError::Setup(format!(
            "could not launch the app: {e}\n--- last lines of {}:\n{tail}",
            log.display()
        ))
    })
}

type Prepare = Box<dyn FnOnce(&Workdir) -> Result<()>>;

/// One end-to-end scenario: options, then [`Scenario::run`].
pub struct Scenario {
    name: String,
    env: Vec<(String, String)>,
    prepare: Option<Prepare>,
    keyring: bool,
    app: Option<PathBuf>,
}

impl Scenario {
    /// A scenario named `name` (letters, digits, `_`, `-`: it names the artifacts directory).
    pub fn new(name: &str) -> Scenario {
        Scenario {
            name: name.to_owned(),
            env: Vec::new(),
            prepare: None,
            keyring: false,
            app: None,
        }
    }

    /// An extra environment variable for the app and the CLIs.
    pub fn env(mut self, key: &str, value: &str) -> Scenario {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Run an unlocked OS keychain (gnome-keyring Secret Service) on the scenario's D-Bus session,
    /// for "unlock on this device".
    pub fn with_keyring(mut self) -> Scenario {
        self.keyring = true;
        self
    }

    /// Launch `binary` instead of `locket-desktop` (the footprint bench's minimal Tauri window).
    pub fn app(mut self, binary: &Path) -> Scenario {
        self.app = Some(binary.to_path_buf());
        self
    }

    /// Work to do before the app starts (e.g. create and fill a vault with the CLI).
    pub fn prepare(mut self, f: impl FnOnce(&Workdir) -> Result<()> + 'static) -> Scenario {
        self.prepare = Some(Box::new(f));
        self
    }

    /// Start everything, run `body`, save evidence on failure, stop everything.
    pub fn run(self, body: impl FnOnce(&mut Desktop) -> Result<()>) -> Result<()> {
        if std::env::var("LOCKET_SKIP_E2E").as_deref() == Ok("1") {
            shout(&format!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! END-TO-END SCENARIO `{}` SKIPPED: LOCKET_SKIP_E2E=1 is set.\n\
                 !!! The real desktop window was NOT tested.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
                self.name
            ));
            return Ok(());
        }
        // One desktop at a time per test binary.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

        let mut work = Workdir::new(&self.name, self.env)?;
        if let Some(app) = self.app {
            if !app.is_file() {
                return Err(E2eError::Setup(format!("{} not found; build it first", app.display())));
            }
            work.bins.desktop = app;
        }
        if let Some(prepare) = self.prepare {
            prepare(&work)?;
        }
        let artifacts = work.artifacts.clone();
        let mut desktop = Desktop::launch(work, self.keyring)?;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(&mut desktop)));
        let failed = !matches!(outcome, Ok(Ok(())));
        if failed {
            desktop.save_failure_evidence();
        }
        drop(desktop);
        if failed {
            shout(&format!(
                "locket-e2e: scenario `{}` failed; screenshots and logs in {}",
                self.name,
                artifacts.display()
            ));
        }
        match outcome {
            Ok(r) => r,
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}
