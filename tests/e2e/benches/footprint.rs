//! Footprint and start-up of the desktop app, against a minimal Tauri 2 window measured in the same run.
//!
//! Release builds, each app on its own Xvfb display and D-Bus session, started the same way (tauri-driver →
//! WebKitWebDriver → the app), one at a time so no two share pages:
//!
//! - **hello-tauri** (`tests/hello-tauri`: one static page, no commands, no plugins): first paint, PSS at idle;
//! - **Locket, window idle**: a vault with a filled profile (real Argon2 parameters), unlocked, the dashboard
//!   (Profile) on screen; first paint (unlock screen), unlock → dashboard, PSS at idle;
//! - **Locket in the tray**: the same app after its window was closed (a real `WM_DELETE_WINDOW`): no web view,
//!   no WebKit process; still unlocked and serving (`/v1/health` is checked);
//! - **Locket, 100k-event Activity**: a vault whose log holds 100,000 events, the Activity screen on show;
//! - **WebKit settings**: the window-idle case again under each setting `LOCKET_WEBKIT` can switch, and under
//!   `WEBKIT_DISABLE_COMPOSITING_MODE=1`, with a screenshot of each (artifacts/e2e/footprint-*/).
//!
//! PSS (proportional set size) shares each page among the processes that map it, so the sum over the app and its
//! WebKit processes is what the app costs the machine. Memory is read after `LOCKET_FOOTPRINT_SETTLE` seconds of
//! idle (default 10). Start-up is measured over `LOCKET_FOOTPRINT_ROUNDS` launches of each (default 3,
//! alternating) and the medians are compared: "launch" is the WebDriver session request, "first paint" the page's
//! `locket-first-screen` performance mark, "dashboard" its `locket-unlocked-screen` mark.
//!
//!   scripts/footprint            (builds the release binaries, then runs this)
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use locket_e2e::app::{self, close_to_tray, go, PASSPHRASE};
use locket_e2e::{bins, ensure, Desktop, E2eError, ProcMemory, Result, Scenario, Workdir};

/// A filled-in profile, as an owner's would be after onboarding.
const PROFILE: &[(&str, &str)] = &[
    ("contact.email", "ada@example.org"),
    ("contact.phone", "+44 20 7946 0958"),
    ("contact.city", "London"),
    ("contact.country", "GB"),
    ("sizes.clothing", "M"),
    ("sizes.shoe", "38"),
    ("style.colours", "navy, green"),
    ("diet.preferences", "vegetarian"),
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn settle() {
    std::thread::sleep(Duration::from_secs(env_num("LOCKET_FOOTPRINT_SETTLE", 10)));
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One measured configuration.
struct Row {
    what: String,
    procs: Vec<ProcMemory>,
}

impl Row {
    fn pss(&self) -> u64 {
        self.procs.iter().map(|p| p.pss_kib).sum()
    }
    fn rss(&self) -> u64 {
        self.procs.iter().map(|p| p.rss_kib).sum()
    }
    fn line(&self) -> String {
        let parts: Vec<String> = self
            .procs
            .iter()
            .map(|p| format!("{} {:.0}", p.name, mib(p.pss_kib)))
            .collect();
        format!(
            "{:<44} {:>8.1} {:>8.1}   {}",
            self.what,
            mib(self.pss()),
            mib(self.rss()),
            parts.join(" + ")
        )
    }
}

/// Start-up of one launch, in milliseconds after the launch request.
#[derive(Clone, Copy)]
struct Startup {
    first_paint: f64,
    /// Unlock pressed → dashboard on the page (Locket only).
    unlock_to_dashboard: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Waits for the mark `name` and returns it (ms after launch).
fn wait_mark(d: &Desktop, name: &str) -> Result<f64> {
    d.wait_until(&format!("the page to set the mark {name}"), |_| {
        d.mark_after_launch(name)
    })
}

/// Unlocks with the passphrase and returns ms from pressing Unlock to the dashboard's mark.
fn unlock_timed(d: &Desktop) -> Result<f64> {
    let input = d.tid("unlock-passphrase")?;
    input.send_keys(PASSPHRASE)?;
    let pressed = d.ms_since_launch();
    d.press("unlock-submit")?;
    let shown = wait_mark(d, "locket-unlocked-screen")?;
    d.tid("profile-screen")?;
    Ok(shown - pressed)
}

/// A vault with [`PASSPHRASE`] under the real Argon2 parameters, `events` log events and a filled profile
/// (through the `locket` CLI, as an owner would).
fn prepare_vault(w: &Workdir, events: u64) -> Result<()> {
    app::fill_log(&w.vault, events, locket_vault::KdfParams::default())?;
    for (key, value) in PROFILE {
        let out = w.locket(
            &["--passphrase-stdin", "profile", "set", key, value],
            &format!("{PASSPHRASE}\n"),
        )?;
        ensure!(
            out.status.success(),
            "locket profile set {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn locket(name: &str, events: u64) -> Scenario {
    Scenario::new(name)
        // Real key derivation: the release app refuses the tests' cheap profile anyway.
        .env("LOCKET_KDF_PROFILE", "")
        .prepare(move |w| prepare_vault(w, events))
}

/// Launches the hello window; with `measure`, also reads its idle memory into `out`.
fn hello_launch(name: &str, hello: &Path, measure: bool, out: &mut Vec<Row>) -> Result<Startup> {
    let mut startup = None;
    Scenario::new(name).app(hello).run(|d| {
        let first_paint = wait_mark(d, "locket-first-screen")?;
        startup = Some(Startup {
            first_paint,
            unlock_to_dashboard: None,
        });
        if measure {
            settle();
            out.push(Row {
                what: "hello-tauri: minimal Tauri 2 window, idle".into(),
                procs: d.footprint(),
            });
            d.shot("hello")?;
        }
        Ok(())
    })?;
    startup.ok_or_else(|| E2eError::Check("no start-up measured".into()))
}

fn main() -> Result<()> {
    let bins = bins()?;
    ensure!(
        bins.desktop
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == "release"),
        "run the footprint bench on release builds (scripts/footprint), not {}",
        bins.desktop.display()
    );
    let hello = bins.hello.clone();
    ensure!(
        hello.is_file(),
        "{} not found: cargo build --release -p locket-hello-tauri",
        hello.display()
    );
    let rounds = env_num("LOCKET_FOOTPRINT_ROUNDS", 3).max(1);
    let started = Instant::now();

    // 1. Start-up, alternating the two apps; the first round of each also measures idle memory.
    let mut hello_rows = Vec::new();
    let mut locket_rows = Vec::new();
    let mut hello_runs = Vec::new();
    let mut locket_runs = Vec::new();
    for round in 1..=rounds {
        eprintln!("[footprint] start-up round {round}/{rounds}");
        hello_runs.push(hello_launch(
            &format!("footprint-hello-{round}"),
            &hello,
            round == 1,
            &mut hello_rows,
        )?);
        let mut run = None;
        locket(&format!("footprint-locket-{round}"), 0).run(|d| {
            let first_paint = wait_mark(d, "locket-first-screen")?;
            d.tid("unlock")?;
            let unlock = unlock_timed(d)?;
            run = Some(Startup {
                first_paint,
                unlock_to_dashboard: Some(unlock),
            });
            if round == 1 {
                settle();
                locket_rows.push(Row {
                    what: "Locket: window idle (unlocked, Profile)".into(),
                    procs: d.footprint(),
                });
                d.shot("window-idle")?;
                // Close the window as a window manager's close button does: Locket stays (serving), WebKit goes.
                close_to_tray(d)?;
                settle();
                locket_rows.push(Row {
                    what: "Locket: in the tray (unlocked, serving)".into(),
                    procs: d.footprint(),
                });
            }
            Ok(())
        })?;
        locket_runs.push(run.ok_or_else(|| E2eError::Check("no start-up measured".into()))?);
    }

    // 2. The Activity screen over a 100,000-event log.
    eprintln!("[footprint] Activity with 100,000 events");
    let mut activity_rows = Vec::new();
    locket("footprint-activity-100k", 100_000).run(|d| {
        d.tid("unlock")?;
        unlock_timed(d)?;
        go(d, "activity")?;
        d.wait_until("the first page of the log", |s| {
            Ok((!s.find_all(&locket_e2e::testid("activity-row"))?.is_empty()).then_some(()))
        })?;
        settle();
        activity_rows.push(Row {
            what: "Locket: Activity, 100k-event log".into(),
            procs: d.footprint(),
        });
        d.shot("activity-100k")?;
        Ok(())
    })?;

    // 3. WebKit settings, one at a time and together, on the window-idle case.
    let variants: &[(&str, &str, &str)] = &[
        ("webkit-defaults", "LOCKET_WEBKIT", "webkit-defaults"),
        (
            "WEBKIT_DISABLE_COMPOSITING_MODE=1",
            "WEBKIT_DISABLE_COMPOSITING_MODE",
            "1",
        ),
        ("no-gpu", "LOCKET_WEBKIT", "no-gpu"),
        ("document-viewer", "LOCKET_WEBKIT", "document-viewer"),
        ("no-page-cache", "LOCKET_WEBKIT", "no-page-cache"),
        ("Locket's choice (LOCKET_WEBKIT unset)", "LOCKET_WEBKIT", ""),
    ];
    let mut webkit_rows = Vec::new();
    let mut webkit_paint = Vec::new();
    for (i, (label, key, value)) in variants.iter().enumerate() {
        eprintln!("[footprint] WebKit: {label}");
        let mut scenario = locket(&format!("footprint-webkit-{}", i + 1), 0);
        if *key == "WEBKIT_DISABLE_COMPOSITING_MODE" {
            scenario = scenario.env("LOCKET_WEBKIT", "webkit-defaults");
        }
        scenario.env(key, value).run(|d| {
            webkit_paint.push(wait_mark(d, "locket-first-screen")?);
            d.tid("unlock")?;
            unlock_timed(d)?;
            settle();
            webkit_rows.push(Row {
                what: format!("window idle, {label}"),
                procs: d.footprint(),
            });
            // The X screen, not WebDriver's snapshot: WebKitWebDriver loses its session taking one without
            // accelerated compositing (seen with WEBKIT_DISABLE_COMPOSITING_MODE=1).
            d.screen_shot(&label.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))?;
            Ok(())
        })?;
    }

    // The report.
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\n== footprint (release builds, Xvfb, {} s idle before each reading; MiB) ==",
        env_num("LOCKET_FOOTPRINT_SETTLE", 10)
    );
    let _ = writeln!(r, "{:<44} {:>8} {:>8}   PSS by process", "", "PSS", "RSS");
    for row in hello_rows.iter().chain(&locket_rows).chain(&activity_rows) {
        let _ = writeln!(r, "{}", row.line());
    }
    let hello_pss = hello_rows.first().map(Row::pss).unwrap_or(1).max(1);
    if let (Some(window), Some(tray)) = (locket_rows.first(), locket_rows.get(1)) {
        let _ = writeln!(
            r,
            "window idle / hello-tauri (PSS) = {:.2} (target <= 1.3)",
            window.pss() as f64 / hello_pss as f64
        );
        let _ = writeln!(r, "in the tray: {:.1} MiB PSS (target <= 60)", mib(tray.pss()));
    }
    let _ = writeln!(r, "\n== WebKit settings (window idle, unlocked; MiB) ==");
    for (row, paint) in webkit_rows.iter().zip(&webkit_paint) {
        let _ = writeln!(r, "{}   first paint {paint:.0} ms", row.line());
    }
    let hp = median(hello_runs.iter().map(|s| s.first_paint).collect());
    let lp = median(locket_runs.iter().map(|s| s.first_paint).collect());
    let lu = median(locket_runs.iter().filter_map(|s| s.unlock_to_dashboard).collect());
    let _ = writeln!(
        r,
        "\n== start-up (medians of {rounds} launches each; ms after the launch request) =="
    );
    let _ = writeln!(r, "hello-tauri: first paint {hp:.0} ms");
    let _ = writeln!(
        r,
        "Locket: first paint (unlock screen) {lp:.0} ms = {:.2} x hello-tauri",
        lp / hp
    );
    let _ = writeln!(
        r,
        "Locket: unlock pressed -> dashboard {lu:.0} ms (Argon2id 256 MiB, opening the vault, first screen)"
    );
    let _ = writeln!(
        r,
        "Locket: launch -> dashboard without the typing {:.0} ms = {:.2} x hello-tauri's first paint",
        lp + lu,
        (lp + lu) / hp
    );
    let _ = writeln!(
        r,
        "(each launch: hello {:?} ms; Locket {:?} ms + {:?} ms)",
        hello_runs.iter().map(|s| s.first_paint.round()).collect::<Vec<_>>(),
        locket_runs.iter().map(|s| s.first_paint.round()).collect::<Vec<_>>(),
        locket_runs
            .iter()
            .filter_map(|s| s.unlock_to_dashboard.map(f64::round))
            .collect::<Vec<_>>()
    );
    let _ = writeln!(r, "whole run {:.0} s", started.elapsed().as_secs_f64());
    print!("{r}");
    let _ = std::fs::write(locket_e2e::artifacts_root().join("footprint.txt"), &r);
    Ok(())
}
