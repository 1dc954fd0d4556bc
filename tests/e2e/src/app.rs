//! Locket-specific steps shared by the scenarios: onboarding, unlocking, navigation, profile edits,
//! and typing into the native (GTK) file dialogs, which WebDriver cannot reach, with `xdotool`.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::{Desktop, E2eError, Result, Session};

/// A passphrase the strength meter accepts.
pub const PASSPHRASE: &str = "violet harbour quilt 37 lantern";

/// The `data-testid` suffix the UI derives from a field key or scope (`contact.email` → `contact-email`).
pub fn tid(key: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}

/// Create a vault on the welcome screen; returns the recovery key that was shown, after confirming
/// "I have saved it" and opening the vault (the profile screen is showing when this returns).
pub fn create_vault(d: &mut Desktop, passphrase: &str) -> Result<String> {
    d.tid("welcome")?;
    d.tid("create-passphrase")?.send_keys(passphrase)?;
    d.tid("create-confirm")?.send_keys(passphrase)?;
    d.wait_until("the create button to be enabled", |s| {
        Ok(s.find(&crate::testid("create-submit"))?.enabled()?.then_some(()))
    })?;
    d.shot("welcome-filled")?;
    d.press("create-submit")?;
    let key = d.tid("recovery-key")?.text()?;
    crate::ensure!(key.trim().len() >= 20, "recovery key looks too short: {key:?}");
    d.shot("recovery-key")?;
    ensure_disabled(d, "recovery-continue")?;
    d.press("recovery-saved")?;
    d.press("recovery-continue")?;
    d.tid("profile-screen")?;
    Ok(key.trim().to_owned())
}

/// Fail unless the button with this test id is disabled.
pub fn ensure_disabled(s: &Session, id: &str) -> Result<()> {
    let enabled = s.tid(id)?.enabled()?;
    crate::ensure!(!enabled, "{id} should be disabled here");
    Ok(())
}

/// Unlock on the unlock screen and wait for the dashboard.
pub fn unlock(d: &Session, passphrase: &str) -> Result<()> {
    let input = d.tid("unlock-passphrase")?;
    input.clear()?;
    input.send_keys(passphrase)?;
    d.press("unlock-submit")?;
    d.tid("profile-screen")?;
    Ok(())
}

/// Open a page from the sidebar (`profile`, `requests`, `grants`, `activity`, `retailers`, `settings`).
pub fn go(d: &Session, page: &str) -> Result<()> {
    d.tid(&format!("nav-{page}"))?.click()?;
    d.tid(&format!("{page}-screen"))?;
    Ok(())
}

/// Type a value into a profile field and save it; waits until the value is stored (the Save button
/// goes away and the field shows the stored value).
pub fn set_field(d: &Session, key: &str, value: &str) -> Result<()> {
    let t = tid(key);
    let input = d.tid(&format!("input-{t}"))?;
    input.click()?;
    input.clear()?;
    input.send_keys(value)?;
    d.tid(&format!("save-{t}"))?.click()?;
    d.wait_gone(&crate::testid(&format!("save-{t}")))?;
    // The field then shows the stored value once the profile has reloaded.
    d.wait_until(&format!("{key} to show the saved value {value:?}"), |s| {
        Ok((s.tid(&format!("input-{t}"))?.prop("value")?.as_str() == Some(value)).then_some(()))
    })
}

/// Run `xdotool` on the scenario's display.
fn xdotool(d: &Desktop, args: &[&str]) -> Result<String> {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", format!(":{}", d.display))
        .output()
        .map_err(|e| E2eError::Setup(format!("cannot run xdotool (install it with scripts/setup): {e}")))?;
    if !out.status.success() && !out.stderr.is_empty() {
        return Err(E2eError::Io(format!(
            "xdotool {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Hands `link` to the running app the way a browser does (a second launch with the link as its argument),
/// and checks the launch succeeded and no second window opened.
pub fn deliver_link(d: &Desktop, link: &str) -> Result<()> {
    let second = d.second_instance(&[link])?;
    crate::ensure!(
        second.status.success(),
        "the second launch failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let windows = windows_titled(d, "Locket")?;
    crate::ensure!(windows == 1, "{windows} Locket windows after the link");
    Ok(())
}

/// Closes the app's window the way a window manager's close button does (a `WM_DELETE_WINDOW` message, see
/// tests/e2e/tools/wm-close.py). Returns how many windows were asked.
pub fn close_window(d: &Desktop) -> Result<usize> {
    let script = crate::workspace_root().join("tests/e2e/tools/wm-close.py");
    let out = xdotool(d, &["search", "--onlyvisible", "--name", "^Locket$"]).unwrap_or_default();
    let ids: Vec<&str> = out.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    for id in &ids {
        let done = Command::new("python3")
            .arg(&script)
            .arg(id)
            .env("DISPLAY", format!(":{}", d.display))
            .output()
            .map_err(|e| E2eError::Setup(format!("python3 {}: {e}", script.display())))?;
        crate::ensure!(
            done.status.success(),
            "wm-close.py {id}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    Ok(ids.len())
}

/// Closes the window as a window manager's close button does ([`close_window`]) and checks that Locket went on
/// without it: no window, no WebKit process left, the app still running and its endpoint answering `/v1/health`.
pub fn close_to_tray(d: &Desktop) -> Result<()> {
    crate::ensure!(close_window(d)? == 1, "no Locket window to close");
    wait_state(d, "the window to go", Duration::from_secs(30), |d| {
        windows_titled(d, "Locket").unwrap_or(1) == 0
    })?;
    wait_state(d, "every WebKit process to go", Duration::from_secs(30), |d| {
        d.webkit_processes().is_empty()
    })
    .map_err(|e| E2eError::Check(format!("{e}; still running: {:?}", d.webkit_processes())))?;
    crate::ensure!(!d.app_pids().is_empty(), "Locket exited when its window was closed");
    let health = reqwest::blocking::get(format!("http://127.0.0.1:{}/v1/health", d.work.listen_port))
        .map_err(|e| E2eError::Http(format!("the endpoint does not answer without the window: {e}")))?;
    crate::ensure!(
        health.status().is_success(),
        "/v1/health without the window: {}",
        health.status()
    );
    Ok(())
}

/// Polls `done` every 100 ms for up to `limit`, without the WebDriver session (which has no window to talk to
/// while Locket runs without one).
pub fn wait_state(d: &Desktop, what: &str, limit: Duration, done: impl Fn(&Desktop) -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !done(d) {
        if Instant::now() >= deadline {
            return Err(E2eError::Timeout(format!("waited {limit:?} for {what}")));
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// How many visible X windows on the scenario's display are titled exactly `title`.
pub fn windows_titled(d: &Desktop, title: &str) -> Result<usize> {
    let out = xdotool(d, &["search", "--onlyvisible", "--name", &format!("^{title}$")]).unwrap_or_default();
    Ok(out.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Wait for a native dialog window titled `title`, give it the keyboard focus and return its X id.
fn find_dialog(d: &Desktop, title: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = xdotool(d, &["search", "--onlyvisible", "--name", &format!("^{title}$")]).unwrap_or_default();
        if let Some(id) = out.lines().map(str::trim).find(|l| !l.is_empty()) {
            let id = id.to_owned();
            xdotool(d, &["windowfocus", "--sync", &id])?;
            // Let GTK settle the focus on the dialog's entry before typing.
            thread::sleep(Duration::from_millis(300));
            return Ok(id);
        }
        if Instant::now() >= deadline {
            return Err(E2eError::Timeout(format!("no native dialog titled {title:?} appeared")));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Answer a GTK "open file" dialog titled `title` with `path` (typed into its location bar).
pub fn answer_open_dialog(d: &mut Desktop, title: &str, path: &Path) -> Result<()> {
    let id = find_dialog(d, title)?;
    let _ = d.screen_shot("dialog-open");
    let p = path.to_string_lossy();
    xdotool(d, &["key", "--clearmodifiers", "--window", &id, "ctrl+l"])?;
    thread::sleep(Duration::from_millis(200));
    xdotool(d, &["type", "--clearmodifiers", "--delay", "5", &p])?;
    confirm_dialog(d, title)
}

/// Press Enter in the dialog (after the entry's completion has settled), again if needed, then the
/// dialog's default-button accelerator, until the dialog closes.
fn confirm_dialog(d: &mut Desktop, title: &str) -> Result<()> {
    for keys in ["Return", "Return", "alt+o", "alt+s"] {
        thread::sleep(Duration::from_millis(500));
        xdotool(d, &["key", "--clearmodifiers", keys])?;
        if wait_dialog_closed_within(d, title, Duration::from_secs(3)).is_ok() {
            return Ok(());
        }
    }
    wait_dialog_closed(d, title)
}

/// Answer a GTK "save file" dialog titled `title` with `path` (typed over the suggested name).
pub fn answer_save_dialog(d: &mut Desktop, title: &str, path: &Path) -> Result<()> {
    find_dialog(d, title)?;
    let _ = d.screen_shot("dialog-save");
    let p = path.to_string_lossy();
    xdotool(d, &["key", "--clearmodifiers", "ctrl+a"])?;
    xdotool(d, &["type", "--clearmodifiers", "--delay", "5", &p])?;
    confirm_dialog(d, title)
}

fn wait_dialog_closed(d: &Desktop, title: &str) -> Result<()> {
    wait_dialog_closed_within(d, title, Duration::from_secs(20)).inspect_err(|_| {
        let _ = d.screen_shot("dialog-stuck");
    })
}

fn wait_dialog_closed_within(d: &Desktop, title: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let out = xdotool(d, &["search", "--onlyvisible", "--name", &format!("^{title}$")]).unwrap_or_default();
        if out.trim().is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(E2eError::Timeout(format!(
                "the native dialog {title:?} did not close after typing the path"
            )));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A `locket://request?data=…` link carrying a request ("Orbit Running", orbit.example, the shoe size for
/// order fulfilment, 7 days) made by the reference retailer CLI.
pub fn request_link(work: &crate::Workdir) -> Result<String> {
    let request = work.file("orbit-request.json");
    let out = work.retailer(&[
        "request",
        "new",
        "--id",
        "orbit.example",
        "--name",
        "Orbit Running",
        "--origin",
        "https://orbit.example",
        "--contact",
        "privacy@orbit.example",
        "--privacy-policy",
        "https://orbit.example/privacy",
        "--require",
        "sizes.shoe=order_fulfilment",
        "--duration",
        "P7D",
        "--out",
        &request.to_string_lossy(),
    ])?;
    crate::ensure!(
        out.status.success(),
        "request new failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(&request).map_err(|e| E2eError::Io(e.to_string()))?;
    use base64::Engine as _;
    Ok(format!(
        "locket://request?data={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    ))
}

/// Create a vault with [`PASSPHRASE`] (key slot made with `kdf`) and append `n` events spread over the last 30
/// days: mostly data shared, every tenth a refusal, across 20 retailers.
pub fn fill_log(dir: &Path, n: u64, kdf: locket_vault::KdfParams) -> Result<()> {
    use locket_audit::{append, DisclosedField, EventKind, NewEvent, Outcome};
    use locket_vault::{Passphrase, Vault};
    let fail = |e: &dyn std::fmt::Display| E2eError::Setup(format!("filling the log: {e}"));
    let (vault, _) = Vault::create(dir, &Passphrase::new(PASSPHRASE.into()), kdf).map_err(|e| fail(&e))?;
    let mut store = vault.connect().map_err(|e| fail(&e))?;
    let conn = store.conn_mut();
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    let step_ms = 30 * 86_400_000 / n.max(1) as i64;
    let reasons = ["grant_revoked", "grant_expired", "uses_exhausted", "bad_signature"];
    let mut i = 0;
    while i < n {
        let tx = conn.transaction().map_err(|e| fail(&e))?;
        for _ in 0..10_000.min(n - i) {
            let shop = format!("shop-{:02}.example", i % 20);
            let at = start + chrono::Duration::milliseconds(i as i64 * step_ms);
            let ev = if i % 10 == 9 {
                NewEvent::refusal(reasons[(i / 10 % 4) as usize], "redemption").retailer(shop)
            } else {
                NewEvent::new(EventKind::Redemption, Outcome::Ok)
                    .retailer(shop)
                    .fields(vec![
                        DisclosedField {
                            key: "contact.email".into(),
                            version: 1,
                        },
                        DisclosedField {
                            key: "sizes.shoe".into(),
                            version: 2,
                        },
                    ])
            }
            .remote("127.0.0.1:50000")
            .user_agent("locket-retailer/0.1")
            .at(at);
            append(&tx, &ev).map_err(|e| fail(&e))?;
            i += 1;
        }
        tx.commit().map_err(|e| fail(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tid;

    #[test]
    fn test_ids_follow_the_ui_rule() {
        assert_eq!(tid("contact.email"), "contact-email");
        assert_eq!(tid("sizes.shoe_size"), "sizes-shoe-size");
        assert_eq!(tid("custom..x"), "custom-x");
    }
}
