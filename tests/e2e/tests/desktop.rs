//! End-to-end scenarios of the real Locket window (harness: tests/e2e/src/lib.rs).
//!
//! Each test drives `target/<profile>/locket-desktop` through tauri-driver + WebKitWebDriver on its
//! own Xvfb display, with its own temp vault, and saves screenshots to `artifacts/e2e/<test>/`.

use std::fs;

use locket_e2e::app::{self, answer_open_dialog, answer_save_dialog, create_vault, go, set_field, unlock, PASSPHRASE};
use locket_e2e::{ensure, free_port, testid, Desktop, E2eError, Result, Scenario};
use serde_json::{json, Value};

/// The window opens on the welcome screen of an empty vault directory, titled "Locket".
#[test]
fn window_opens_on_welcome() -> Result<()> {
    Scenario::new("window_opens_on_welcome").run(|d| {
        let title = d.title()?;
        ensure!(title == "Locket", "window title is {title:?}, expected \"Locket\"");
        d.tid("welcome")?;
        let shot = d.shot("welcome")?;
        ensure!(
            fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false),
            "screenshot is empty"
        );
        Ok(())
    })
}

/// Create a vault, fill the profile (with validation errors on the way), lock, refuse a wrong
/// passphrase, restart the app, unlock, and find the profile as it was left.
#[test]
fn onboarding_profile_and_wrong_passphrase() -> Result<()> {
    Scenario::new("onboarding_profile_and_wrong_passphrase").run(|d| {
        // Welcome: a weak passphrase cannot be used, a mismatch is pointed out.
        d.tid("create-passphrase")?.send_keys("abc")?;
        app::ensure_disabled(d, "create-submit")?;
        let strength = d.tid("strength-label")?.text()?;
        ensure!(
            !strength.trim().is_empty(),
            "the strength meter shows no verdict for a weak passphrase"
        );
        d.tid("create-passphrase")?.clear()?;
        d.tid("create-passphrase")?.send_keys(PASSPHRASE)?;
        d.tid("create-confirm")?.send_keys("something else")?;
        d.wait_text(".field.has-error", "differ")?;
        app::ensure_disabled(d, "create-submit")?;
        d.shot("passphrase-mismatch")?;
        d.tid("create-passphrase")?.clear()?;
        d.tid("create-confirm")?.clear()?;
        let recovery = create_vault(d, PASSPHRASE)?;
        ensure!(!recovery.is_empty(), "no recovery key shown");
        ensure!(
            d.work.vault.join("keyslots.json").is_file(),
            "no vault was created at {}",
            d.work.vault.display()
        );

        // Profile: valid values are saved; invalid ones name the rule and cannot be saved.
        set_field(d, "identity.given_name", "Ada")?;
        set_field(d, "contact.email", "ada@example.com")?;
        let phone = d.tid("input-contact-phone")?;
        phone.click()?;
        phone.send_keys("020 7123 4567")?;
        let err = d.wait_text(&testid("error-contact-phone"), "E.164")?;
        ensure!(
            err.contains("+442071234567"),
            "the phone error does not show an example: {err:?}"
        );
        app::ensure_disabled(d, "save-contact-phone")?;
        let email = d.tid("input-contact-email")?;
        email.clear()?;
        email.send_keys("ada@")?;
        d.wait_text(&testid("error-contact-email"), "email address")?;
        d.shot("validation-errors")?;
        d.tid("cancel-contact-email")?.click()?;
        d.tid("input-contact-phone")?.clear()?;
        set_field(d, "contact.phone", "+442071234567")?;
        set_field(d, "contact.email", "ada.lovelace@example.com")?;

        // History keeps both versions of the e-mail address.
        d.tid("history-contact-email")?.click()?;
        d.tid("history-dialog")?;
        d.wait_until("two history entries", |s| {
            Ok((s.find_all(&testid("history-entry"))?.len() == 2).then_some(()))
        })?;
        let entries = d.tid("history-dialog")?.text()?;
        ensure!(
            entries.contains("ada@example.com") && entries.contains("ada.lovelace@example.com"),
            "history does not list both values: {entries:?}"
        );
        d.shot("history")?;
        d.tid("history-dialog")?.find(".modal-close")?.click()?;
        d.wait_gone(&testid("history-dialog"))?;
        d.shot("profile-filled")?;

        // Lock, then a wrong passphrase is refused with a clear message and changes nothing.
        d.tid("lock-button")?.click()?;
        d.tid("unlock")?;
        let slots_before = fs::read(d.work.vault.join("keyslots.json")).map_err(|e| E2eError::Io(e.to_string()))?;
        d.tid("unlock-passphrase")?
            .send_keys("violet harbour quilt 38 lantern")?;
        d.tid("unlock-submit")?.click()?;
        let msg = d.wait_text(&testid("unlock-error"), "not right")?;
        ensure!(!msg.contains(PASSPHRASE), "the error repeats the passphrase");
        d.tid("unlock")?;
        d.shot("wrong-passphrase")?;
        let slots_after = fs::read(d.work.vault.join("keyslots.json")).map_err(|e| E2eError::Io(e.to_string()))?;
        ensure!(slots_before == slots_after, "a failed unlock modified keyslots.json");

        // A new process finds the vault, unlocks with the right passphrase, and shows what was saved.
        d.restart_app()?;
        d.tid("unlock")?;
        unlock(d, PASSPHRASE)?;
        let shown = d.tid("input-contact-email")?.prop("value")?;
        ensure!(
            shown == json!("ada.lovelace@example.com"),
            "after restart the e-mail field shows {shown}"
        );
        let shown = d.tid("input-contact-phone")?.prop("value")?;
        ensure!(
            shown == json!("+442071234567"),
            "after restart the phone field shows {shown}"
        );
        d.shot("unlocked-after-restart")?;
        Ok(())
    })
}

/// With auto-lock at one minute and no input, the app locks itself, says so, and stops sharing.
#[test]
fn auto_lock_after_idle() -> Result<()> {
    Scenario::new("auto_lock_after_idle").run(|d| {
        create_vault(d, PASSPHRASE)?;
        let port = free_port()?;
        set_endpoint(d, port)?;
        ensure!(
            endpoint_answers(port),
            "the endpoint on port {port} does not answer while unlocked"
        );
        go(d, "settings")?;
        let select = d.tid("autolock-select")?;
        select.click()?;
        select.find("option[value=\"1\"]")?.click()?;
        d.wait_until("auto-lock to be saved as 1 minute", |s| {
            Ok((s.tid("autolock-select")?.prop("value")? == json!("1")).then_some(()))
        })?;
        d.shot("auto-lock-1-minute")?;
        // Hands off the keyboard and mouse: WebDriver queries below are not input events.
        let notice = d
            .wait_for_within(&testid("lock-notice"), std::time::Duration::from_secs(150))?
            .text()?;
        ensure!(
            notice.to_lowercase().contains("inactivity"),
            "lock notice does not give the reason: {notice:?}"
        );
        d.shot("auto-locked")?;
        d.wait_until("the endpoint to stop after locking", |_| {
            Ok((!endpoint_answers(port)).then_some(()))
        })?;
        unlock(d, PASSPHRASE)?;
        Ok(())
    })
}

/// The main flow: create vault → fill profile → import a retailer request (native file dialog) →
/// approve a subset with an expiry → save the grant file (native save dialog) → a real
/// `locket-retailer fetch` over HTTP gets exactly those fields → the access appears live in
/// Activity → revoke in Grants → the next fetch is refused → the refusal and its reason appear in
/// Activity.
#[test]
fn request_grant_fetch_revoke() -> Result<()> {
    Scenario::new("request_grant_fetch_revoke").run(|d| {
        create_vault(d, PASSPHRASE)?;
        let port = free_port()?;
        set_endpoint(d, port)?;

        go(d, "profile")?;
        set_field(d, "identity.given_name", "Ada")?;
        set_field(d, "contact.email", "ada@example.com")?;
        set_field(d, "contact.phone", "+442071234567")?;
        set_field(d, "contact.city", "London")?;
        d.shot("profile")?;

        // The retailer's request, as a file the owner was given.
        let request_path = d.work.file("threadline-request.json");
        write_json(&request_path, &retailer_request())?;
        go(d, "requests")?;
        d.tid("requests-empty")?;
        d.tid("request-import")?.click()?;
        answer_open_dialog(d, "Import a request", &request_path)?;
        let card = d.tid("request-card")?;
        let retailer = card.find(&testid("request-retailer"))?.text()?;
        ensure!(retailer == "Threadline", "request card shows retailer {retailer:?}");
        let purpose = d.tid(&format!("purpose-{}", app::tid("contact.phone")))?.text()?;
        ensure!(!purpose.trim().is_empty(), "no purpose shown for contact.phone");
        // Required scopes start ticked, optional ones unticked; tick the city, leave the phone out.
        ensure!(
            d.tid("scope-contact-email")?.selected()?,
            "required contact.email is not pre-ticked"
        );
        ensure!(
            !d.tid("scope-contact-phone")?.selected()?,
            "optional contact.phone is pre-ticked"
        );
        d.tid("scope-contact-city")?.click()?;
        d.tid("expiry-7d")?.click()?;
        d.wait_text(&testid("request-approve"), "Approve 3 fields")?;
        d.shot("request-card")?;
        d.tid("request-approve")?.click()?;
        d.tid("grant-issued")?;
        d.shot("approved")?;

        // Save the grant file through the native save dialog.
        let grant_path = d.work.file("threadline-grant.json");
        d.tid("grant-save")?.click()?;
        answer_save_dialog(d, "Save grant file", &grant_path)?;
        d.wait_text(&testid("grant-saved-to"), "Saved to")?;
        ensure!(
            grant_path.is_file(),
            "the grant file was not written to {}",
            grant_path.display()
        );
        let grant: Value = read_json(&grant_path)?;
        let grant_text = grant.to_string();
        for secret in ["ada@example.com", "+442071234567", "London"] {
            ensure!(
                !grant_text.contains(secret),
                "the grant file contains profile data ({secret})"
            );
        }

        // Watch Activity while the retailer fetches: the access must appear without a reload.
        go(d, "activity")?;
        let before = max_seq(d)?;
        let fetched = retailer_fetch(d, &grant_path)?;
        ensure!(fetched.ok, "fetch with a fresh grant failed: {}", fetched.output);
        let expect = [
            ("contact.email", "ada@example.com"),
            ("identity.given_name", "Ada"),
            ("contact.city", "London"),
        ];
        check_fetched_fields(&fetched.json, &expect)?;
        let row = d.wait_until("the access to appear live in Activity", |s| {
            for r in s.find_all("[data-testid=\"activity-row\"][data-outcome=\"allowed\"]")? {
                let seq: u64 = r.attr("data-seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
                let text = r.text()?;
                if seq > before && text.contains("contact.email") {
                    return Ok(Some(text));
                }
            }
            Ok(None)
        })?;
        ensure!(
            row.contains("Threadline") || row.contains("threadline"),
            "access row does not name the retailer: {row:?}"
        );
        ensure!(
            !row.contains("contact.phone"),
            "access row lists a field that was not granted: {row:?}"
        );
        d.shot("activity-access")?;

        // Revoke in Grants; the row shows it at once.
        go(d, "grants")?;
        d.tid("grant-row")?;
        d.tid("grant-revoke")?.click()?;
        d.tid("revoke-dialog")?;
        d.shot("revoke-confirm")?;
        d.tid("confirm-ok")?.click()?;
        d.wait_gone(&testid("revoke-dialog"))?;
        d.tid("grants-tab-revoked")?.click()?;
        d.wait_for("[data-testid=\"grant-row\"][data-status=\"revoked\"]")?;
        d.shot("revoked")?;

        // The next fetch is refused, and Activity shows the refusal with its reason.
        go(d, "activity")?;
        let before = max_seq(d)?;
        let refused = retailer_fetch(d, &grant_path)?;
        ensure!(!refused.ok, "fetch after revocation succeeded: {}", refused.output);
        ensure!(
            refused.output.contains("grant_revoked"),
            "refusal does not say grant_revoked: {}",
            refused.output
        );
        let reason = d.wait_until("the refusal to appear live in Activity", |s| {
            for r in s.find_all("[data-testid=\"activity-row\"][data-outcome=\"refused\"]")? {
                let seq: u64 = r.attr("data-seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
                if seq > before {
                    let reason = r.find(&testid("refusal-reason"))?;
                    return Ok(Some((reason.attr("data-code")?.unwrap_or_default(), reason.text()?)));
                }
            }
            Ok(None)
        })?;
        ensure!(
            reason.0 == "grant_revoked",
            "refusal row has reason code {:?}",
            reason.0
        );
        ensure!(
            !reason.1.trim().is_empty() && !reason.1.contains("grant_revoked"),
            "refusal reason is not in plain words: {:?}",
            reason.1
        );
        d.shot("activity-refusal")?;
        let chain = d.tid("chain-status")?;
        ensure!(
            chain.attr("data-ok")?.as_deref() == Some("true"),
            "the log does not verify: {}",
            chain.text()?
        );
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/// Point the app's endpoint at `127.0.0.1:port` in Settings and wait until it listens there.
fn set_endpoint(d: &mut Desktop, port: u16) -> Result<()> {
    go(d, "settings")?;
    let addr = format!("127.0.0.1:{port}");
    let input = d.tid("endpoint-address")?;
    input.clear()?;
    input.send_keys(&addr)?;
    d.tid("endpoint-apply")?.click()?;
    d.wait_text(&testid("endpoint-status"), &addr)?;
    Ok(())
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
fn endpoint_answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), std::time::Duration::from_secs(2)).is_ok()
}

/// The highest event sequence number shown in the Activity table (0 when empty).
fn max_seq(d: &Desktop) -> Result<u64> {
    d.wait_until("the activity table to load", |s| {
        Ok((!s
            .find_all("[data-testid=\"activity-table\"], [data-testid=\"activity-empty\"]")?
            .is_empty())
        .then_some(()))
    })?;
    let mut max = 0;
    for r in d.find_all(&testid("activity-row"))? {
        max = max.max(r.attr("data-seq")?.and_then(|v| v.parse().ok()).unwrap_or(0));
    }
    Ok(max)
}

/// A `locket.grant-request/v1` document from the retailer "Threadline".
fn retailer_request() -> Value {
    json!({
        "format": "locket.grant-request/v1",
        "retailer": {
            "id": "threadline.example",
            "name": "Threadline",
            "origin": "https://threadline.example",
            "contact": "privacy@threadline.example",
            "privacy_policy": "https://threadline.example/privacy"
        },
        "scopes": [
            { "scope": "contact.email", "purpose": "order_fulfilment", "required": true },
            { "scope": "identity.given_name", "purpose": "customer_support", "required": true },
            { "scope": "contact.phone", "purpose": "marketing_sms", "required": false },
            { "scope": "contact.city", "purpose": "personalised_recommendations", "required": false }
        ],
        "requested_duration": "P30D",
        "retention": { "max_duration": "until_grant_ends", "statement": "We delete your details when the grant ends." },
        "nonce": "e2e-threadline-0001-abcdef",
        "created_at": chrono_now()
    })
}

fn chrono_now() -> String {
    // RFC 3339 UTC without pulling in chrono: seconds since epoch → civil date.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn write_json(path: &std::path::Path, v: &Value) -> Result<()> {
    fs::write(path, serde_json::to_vec_pretty(v).unwrap_or_default())
        .map_err(|e| E2eError::Io(format!("{}: {e}", path.display())))
}

fn read_json(path: &std::path::Path) -> Result<Value> {
    let bytes = fs::read(path).map_err(|e| E2eError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| E2eError::Check(format!("{} is not JSON: {e}", path.display())))
}

struct Fetch {
    ok: bool,
    json: Value,
    output: String,
}

/// Run the real `locket-retailer fetch GRANT --json`.
fn retailer_fetch(d: &Desktop, grant: &std::path::Path) -> Result<Fetch> {
    let g = grant.to_string_lossy();
    let out = d.work.retailer(&["fetch", &g, "--json"])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Ok(Fetch {
        ok: out.status.success(),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        output: format!("exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status.code()),
    })
}

/// The fetched document must hold exactly these fields with these values.
fn check_fetched_fields(doc: &Value, expect: &[(&str, &str)]) -> Result<()> {
    let fields = doc
        .get("fields")
        .and_then(Value::as_object)
        .ok_or_else(|| E2eError::Check(format!("fetch --json has no \"fields\" object: {doc}")))?;
    let mut got: Vec<&str> = fields.keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = expect.iter().map(|(k, _)| *k).collect();
    want.sort_unstable();
    ensure!(got == want, "fetched fields {got:?}, expected exactly {want:?}");
    for (k, v) in expect {
        let f = &fields[*k];
        let value = f.get("value").unwrap_or(f);
        ensure!(value == &json!(v), "{k}: fetched {value}, expected {v:?}");
    }
    Ok(())
}
