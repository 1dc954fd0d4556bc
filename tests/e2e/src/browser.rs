//! The owner's web browser in a scenario: Debian's Chromium driven by `chromedriver`, on the scenario's display
//! and session bus, so a `locket://` link it opens reaches the app the way the OS delivers it (`xdg-open` → the
//! desktop entry registered with `xdg-mime` in the scenario's own XDG folders → a second launch of the app).

use std::fs;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::procs::Proc;
use crate::{free_port, wait_status, Desktop, E2eError, Result, Session};

/// Where Debian's packages put them (`apt-get install chromium chromium-driver`; scripts/setup does).
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The desktop entry the scenario registers for `locket://`.
const DESKTOP_ENTRY: &str = "locket-e2e.desktop";

/// Registers the app under test as the handler of `locket://` links in the scenario's XDG folders, as the
/// installed package does system-wide: a desktop entry with `MimeType=x-scheme-handler/locket` and
/// `xdg-mime default`. Checks that `xdg-mime` then names it.
pub fn register_url_handler(d: &Desktop) -> Result<()> {
    let apps = d.work.tmp.join("xdg/data/applications");
    fs::create_dir_all(&apps).map_err(|e| E2eError::Io(format!("mkdir {}: {e}", apps.display())))?;
    // xdg-open's generic path (no desktop environment) takes the Exec line's first word as the program, so the
    // path goes unquoted, as in a packaged entry (`Exec=locket-desktop %u`).
    let bin = d.work.bins.desktop.display().to_string();
    crate::ensure!(
        !bin.contains(char::is_whitespace),
        "the app's path holds a space: {bin}"
    );
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=Locket\nExec={bin} %u\nMimeType=x-scheme-handler/locket;\n\
         NoDisplay=true\nTerminal=false\n"
    );
    fs::write(apps.join(DESKTOP_ENTRY), entry).map_err(|e| E2eError::Io(format!("desktop entry: {e}")))?;
    let xdg_mime = |args: &[&str]| -> Result<String> {
        let mut cmd = Command::new("xdg-mime");
        cmd.args(args);
        d.session_env(&mut cmd);
        let out = cmd
            .output()
            .map_err(|e| E2eError::Setup(format!("cannot run xdg-mime (install xdg-utils: scripts/setup): {e}")))?;
        if !out.status.success() {
            return Err(E2eError::Setup(format!(
                "xdg-mime {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    xdg_mime(&["default", DESKTOP_ENTRY, "x-scheme-handler/locket"])?;
    let handler = xdg_mime(&["query", "default", "x-scheme-handler/locket"])?;
    crate::ensure!(handler == DESKTOP_ENTRY, "xdg-mime names {handler:?} for locket://");
    Ok(())
}

/// How the scenario's browser starts.
pub struct BrowserOptions<'a> {
    /// Host names the browser resolves to 127.0.0.1 (`--host-resolver-rules`), e.g. `shop.test`.
    pub loopback_hosts: &'a [&'a str],
    /// Origins allowed to open `locket://` links without asking (the owner's "always allow" choice).
    pub locket_links_from: &'a [&'a str],
}

/// A running Chromium with its WebDriver session; dereferences to the [`Session`]. Closed (and its processes
/// stopped) when dropped.
pub struct Browser {
    session: Option<Session>,
    artifacts: PathBuf,
    shots: u32,
    // Dropped after the session: stops chromedriver and the browser it started (one process group).
    _driver: Proc,
}

impl Deref for Browser {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("browser session")
    }
}

impl DerefMut for Browser {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("browser session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = s.close();
        }
    }
}

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

impl Browser {
    /// Starts Chromium (a new, empty profile in the scenario's temp dir) on the app's display with the owner's
    /// session environment. Nothing is downloaded: the browser and driver are Debian's.
    pub fn launch(d: &Desktop, options: &BrowserOptions<'_>) -> Result<Browser> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(bin).is_file() {
                return Err(E2eError::Setup(format!(
                    "{bin} not found: install chromium and chromium-driver (scripts/setup does)"
                )));
            }
        }
        let port = free_port()?;
        let log = d.work.artifacts.join("chromedriver.log");
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"));
        d.session_env(&mut cmd);
        let mut driver = Proc::spawn("chromedriver", &mut cmd, &log)?;
        let url = format!("http://127.0.0.1:{port}");
        wait_status(&url, &mut driver, Duration::from_secs(20))?;

        let profile = d.work.tmp.join("chromium");
        let mut args = vec![
            format!("--user-data-dir={}", profile.display()),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            // The machine has no network beyond loopback: no background fetches, updates, sync or QUIC.
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--disable-features=Translate,MediaRouter,OptimizationHints".into(),
            "--disable-gpu".into(),
            "--password-store=basic".into(),
            // The page area as tall as the app's window (800 px), for side-by-side screenshots.
            "--window-position=0,0".into(),
            "--window-size=1180,887".into(),
        ];
        if !options.loopback_hosts.is_empty() {
            let rules: Vec<String> = options
                .loopback_hosts
                .iter()
                .map(|h| format!("MAP {h} 127.0.0.1"))
                .collect();
            args.push(format!("--host-resolver-rules={}", rules.join(", ")));
        }
        if running_as_root() {
            // Chromium's sandbox cannot run as root (CI machines run tests as root).
            args.push("--no-sandbox".into());
        }
        let allowed: serde_json::Map<String, Value> = options
            .locket_links_from
            .iter()
            .map(|o| ((*o).to_owned(), json!({ "locket": true })))
            .collect();
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    // The shop's certificate is from the scenario's development CA, which Chromium does not know.
                    "acceptInsecureCerts": true,
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": args,
                        "excludeSwitches": ["enable-automation"],
                        "prefs": { "protocol_handler": { "allowed_origin_protocol_pairs": allowed } }
                    }
                }
            }
        });
        let session = Session::start_with(&url, &caps, Duration::from_secs(60))
            .map_err(|e| E2eError::Setup(format!("starting Chromium: {e}; see {}", log.display())))?;
        Ok(Browser {
            session: Some(session),
            artifacts: d.work.artifacts.clone(),
            shots: 0,
            _driver: driver,
        })
    }

    /// Saves a screenshot of the browser's page as `browser-NN-name.png` among the scenario's artifacts.
    pub fn shot(&mut self, name: &str) -> Result<PathBuf> {
        self.shots += 1;
        let path = self.artifacts.join(format!("browser-{:02}-{name}.png", self.shots));
        let png = self.screenshot_png()?;
        fs::write(&path, png).map_err(|e| E2eError::Io(format!("write {}: {e}", path.display())))?;
        Ok(path)
    }
}

/// Screenshots of both windows at one step — the app's and the browser's — and the two side by side as
/// `pair-name.png` (ImageMagick), for the README.
pub fn shots_of_both(d: &mut Desktop, b: &mut Browser, name: &str) -> Result<PathBuf> {
    let app = d.shot(&format!("app-{name}"))?;
    let shop = b.shot(name)?;
    let pair = d.work.artifacts.join(format!("pair-{name}.png"));
    let out = Command::new("convert")
        .arg(&shop)
        .arg(&app)
        .args([
            "-background",
            "#d9dde3",
            "-gravity",
            "north",
            "-splice",
            "0x0",
            "+append",
        ])
        .arg(&pair)
        .output()
        .map_err(|e| E2eError::Io(format!("convert (imagemagick): {e}")))?;
    if !out.status.success() {
        return Err(E2eError::Io(format!(
            "convert failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(pair)
}
