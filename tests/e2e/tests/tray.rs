//! Locket without its window: closing the window (as a window manager's close button does) keeps the app
//! running — the endpoint answers, the vault stays unlocked — and takes the web view with it, so no WebKit
//! process remains; a `locket://` link then opens a new window on the current state, showing the link's request.
//! Memory before and after is written to `memory.txt` among the artifacts (reported, never asserted).
use std::fs;
use std::time::Duration;

use locket_e2e::app::{close_to_tray, create_vault, request_link, set_field, wait_state, windows_titled};
use locket_e2e::{ensure, E2eError, Result, Scenario};

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn closing_the_window_keeps_locket_running_without_webkit() -> Result<()> {
    Scenario::new("tray_close_and_reopen").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "contact.email", "ada@example.org")?;
        ensure!(
            !d.webkit_processes().is_empty(),
            "no WebKit process with the window open"
        );
        let (_, open_kib) = d.app_rss_kib()?;
        d.shot("window-open")?;

        // Close the window: the app goes on without it, and without any WebKit process.
        close_to_tray(d)?;
        // Let the process settle (freed pages returned, the WebKit helpers reaped) before reading memory.
        std::thread::sleep(Duration::from_secs(3));
        let (_, closed_kib) = d.app_rss_kib()?;
        d.screen_shot("02-no-window")?;

        // A link opens a new window on the current state (still unlocked) with the link's request.
        let link = request_link(&d.work)?;
        let second = d.second_instance(&[&link])?;
        ensure!(
            second.status.success(),
            "the second launch failed: {}",
            String::from_utf8_lossy(&second.stderr)
        );
        wait_state(d, "a new window", Duration::from_secs(30), |d| {
            windows_titled(d, "Locket").unwrap_or(0) == 1
        })?;
        wait_state(d, "the new window's web view", Duration::from_secs(30), |d| {
            d.webkit_processes().iter().any(|p| p.starts_with("WebKitWebProces"))
        })?;
        // WebKitWebDriver drives only the first web view of a process (wry hands the automation session that one),
        // so the new window is checked on the screen: give it time to load and draw.
        std::thread::sleep(Duration::from_secs(4));
        d.screen_shot("03-reopened-by-link")?;
        let (_, reopened_kib) = d.app_rss_kib()?;
        let report = format!(
            "app + WebKit processes, RSS (debug build, Xvfb):\n  window open: {} MiB\n  window closed: {} MiB\n  \
             reopened by a link: {} MiB\n",
            open_kib / 1024,
            closed_kib / 1024,
            reopened_kib / 1024
        );
        eprint!("{report}");
        fs::write(d.work.artifacts.join("memory.txt"), report).map_err(|e| E2eError::Io(e.to_string()))?;
        Ok(())
    })
}
