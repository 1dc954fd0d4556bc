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
        d.press("cancel-contact-email")?;
        d.tid("input-contact-phone")?.clear()?;
        set_field(d, "contact.phone", "+442071234567")?;
        set_field(d, "contact.email", "ada.lovelace@example.com")?;

        // History keeps both versions of the e-mail address.
        d.press("history-contact-email")?;
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
        d.press("lock-button")?;
        d.tid("unlock")?;
        let slots_before = fs::read(d.work.vault.join("keyslots.json")).map_err(|e| E2eError::Io(e.to_string()))?;
        d.tid("unlock-passphrase")?
            .send_keys("violet harbour quilt 38 lantern")?;
        d.press("unlock-submit")?;
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

/// With auto-lock at one minute and no input, the app locks itself and stops sharing even while the web view is
/// frozen (its JavaScript spinning, so no activity report and no UI timer can run), then says why once it runs.
#[test]
fn auto_lock_after_idle() -> Result<()> {
    // The endpoint address is set in Settings here (not by LOCKET_LISTEN), to exercise that card.
    Scenario::new("auto_lock_after_idle").env("LOCKET_LISTEN", "").run(|d| {
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
        // Freeze the web view: its JavaScript thread spins for longer than the idle time, so it can neither
        // report activity nor act on a timer. The lock is Rust's alone: the endpoint must stop while the page is
        // still frozen.
        const FROZEN_MS: u64 = 100_000;
        d.execute_async(
            "const ms = arguments[0]; const done = arguments[arguments.length - 1]; \
             setTimeout(() => { const end = Date.now() + ms; while (Date.now() < end) {} }, 50); \
             done(true);",
            vec![json!(FROZEN_MS)],
        )?;
        let frozen_at = std::time::Instant::now();
        while endpoint_answers(port) {
            ensure!(
                frozen_at.elapsed() < std::time::Duration::from_millis(FROZEN_MS - 5_000),
                "the endpoint still answered after {} s with the web view frozen",
                frozen_at.elapsed().as_secs()
            );
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        eprintln!(
            "auto_lock_after_idle: the endpoint stopped {} s into the web view's freeze",
            frozen_at.elapsed().as_secs()
        );
        // Hands off the keyboard and mouse: WebDriver queries below are not input events. Once the page runs
        // again it shows why it locked.
        let notice = d
            .wait_for_within(&testid("lock-notice"), std::time::Duration::from_secs(150))?
            .text()?;
        ensure!(
            notice.to_lowercase().contains("inactivity"),
            "lock notice does not give the reason: {notice:?}"
        );
        d.shot("auto-locked")?;
        ensure!(!endpoint_answers(port), "the endpoint answers again while locked");
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
    // The endpoint address is set in Settings here (not by LOCKET_LISTEN), to exercise that card.
    Scenario::new("request_grant_fetch_revoke")
        .env("LOCKET_LISTEN", "")
        .run(|d| {
            create_vault(d, PASSPHRASE)?;
            let port = free_port()?;
            set_endpoint(d, port)?;

            go(d, "profile")?;
            set_field(d, "identity.given_name", "Ada")?;
            set_field(d, "contact.email", "ada@example.com")?;
            set_field(d, "contact.phone", "+442071234567")?;
            set_field(d, "contact.city", "London")?;
            d.shot("profile")?;

            // The retailer's request, written by the retailer's own tool, as a file given to the owner.
            let request_path = d.work.file("threadline-request.json");
            let out = d.work.retailer(&[
                "request",
                "new",
                "--id",
                "threadline.example",
                "--name",
                "Threadline",
                "--origin",
                "https://threadline.example",
                "--contact",
                "privacy@threadline.example",
                "--privacy-policy",
                "https://threadline.example/privacy",
                "--require",
                "contact.email=order_fulfilment",
                "--require",
                "identity.given_name=customer_support",
                "--scope",
                "contact.phone=marketing_sms",
                "--scope",
                "contact.city=personalised_recommendations",
                "--duration",
                "P30D",
                "--out",
                &request_path.to_string_lossy(),
            ])?;
            ensure!(
                out.status.success(),
                "locket-retailer request new failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            go(d, "requests")?;
            d.tid("requests-empty")?;
            d.press("request-import")?;
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
            d.pick("scope-contact-city")?;
            d.pick("expiry-7d")?;
            d.wait_text(&testid("request-approve"), "Approve 3 fields")?;
            d.shot("request-card")?;
            d.press("request-approve")?;
            d.tid("grant-issued")?;
            d.shot("approved")?;

            // Save the grant file through the native save dialog.
            let grant_path = d.work.file("threadline-grant.json");
            d.press("grant-save")?;
            answer_save_dialog(d, "Save grant file", &grant_path)?;
            d.wait_text(&testid("grant-saved-to"), "Saved to")?;
            ensure!(
                grant_path.is_file(),
                "the grant file was not written to {}",
                grant_path.display()
            );
            let grant: Value = read_json(&grant_path)?;
            check_grant_file(
                &grant,
                &["contact.email", "identity.given_name", "contact.city"],
                port,
                7,
            )?;
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
            d.press("grant-revoke")?;
            d.tid("revoke-dialog")?;
            d.shot("revoke-confirm")?;
            d.press("confirm-ok")?;
            d.wait_gone(&testid("revoke-dialog"))?;
            d.press("grants-tab-revoked")?;
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

/// A retailer's website sends a request to the running app (`POST /v1/requests`, via
/// `locket-retailer request send`): the app jumps to the new request card while the owner is on
/// another screen; the owner denies it, and it is listed as denied.
#[test]
fn request_over_http_appears_live_and_is_denied() -> Result<()> {
    Scenario::new("request_over_http_appears_live_and_is_denied").run(|d| {
        create_vault(d, PASSPHRASE)?;
        let addr = format!("127.0.0.1:{}", d.work.listen_port);
        d.wait_text(&testid("endpoint-status"), &addr)?;
        go(d, "grants")?;
        let request = d.work.file("lumen-request.json");
        let out = d.work.retailer(&[
            "request",
            "new",
            "--id",
            "lumen.example",
            "--name",
            "Lumen Optics",
            "--origin",
            "https://lumen.example",
            "--contact",
            "https://lumen.example/contact",
            "--privacy-policy",
            "https://lumen.example/privacy",
            "--require",
            "contact.email=account_management",
            "--scope",
            "identity.date_of_birth=age_verification",
            "--duration",
            "P14D",
            "--out",
            &request.to_string_lossy(),
        ])?;
        ensure!(
            out.status.success(),
            "request new failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = format!("http://{addr}");
        let sent = d
            .work
            .retailer(&["request", "send", &url, &request.to_string_lossy()])?;
        ensure!(
            sent.status.success(),
            "request send failed: {}",
            String::from_utf8_lossy(&sent.stderr)
        );

        // Without any click, the app shows the Requests screen with the new card highlighted.
        d.wait_for("[data-testid=\"request-card\"].is-highlight")?;
        d.tid("requests-screen")?;
        let card = d.tid("request-card")?.text()?;
        ensure!(
            card.contains("Lumen Optics")
                && card.contains("from a program or web page on this computer")
                && card.contains("not verified")
                && !card.contains("website"),
            "a request over HTTP is never labelled as coming from a website; card: {card:?}"
        );
        let count = d.tid("nav-requests-count")?.text()?;
        ensure!(
            count.trim() == "1",
            "the sidebar counts {count:?} pending requests, expected 1"
        );
        d.shot("request-arrived")?;

        d.press("request-deny")?;
        d.tid("requests-empty")?;
        let row = d.tid("request-history-row")?.text()?;
        ensure!(
            row.contains("Lumen Optics") && row.contains("Denied"),
            "history row: {row:?}"
        );
        d.shot("request-denied")?;
        go(d, "grants")?;
        d.tid("grants-empty")?;
        Ok(())
    })
}

/// The consent card says what the shop offers in return and who else gets the data, next to the fields it asks
/// for; a request naming nobody else says so, as the shop's claim, and one offering nothing says that too.
#[test]
fn consent_card_shows_benefit_and_recipients() -> Result<()> {
    Scenario::new("consent_card_shows_benefit_and_recipients").run(|d| {
        create_vault(d, PASSPHRASE)?;
        let addr = format!("127.0.0.1:{}", d.work.listen_port);
        d.wait_text(&testid("endpoint-status"), &addr)?;
        let url = format!("http://{addr}");
        let send = |d: &mut Desktop, name: &str, extra: &[&str]| -> Result<()> {
            let file = d.work.file(&format!("{name}.json"));
            let mut args = vec![
                "request",
                "new",
                "--id",
                name,
                "--name",
                if name == "lumen.example" {
                    "Lumen Optics"
                } else {
                    "Plain Books"
                },
                "--origin",
                "https://shop.example",
                "--contact",
                "privacy@shop.example",
                "--privacy-policy",
                "https://shop.example/privacy",
                "--require",
                "contact.email=order_fulfilment",
                "--scope",
                "contact=delivery",
            ];
            args.extend_from_slice(extra);
            let path = file.to_string_lossy().into_owned();
            args.extend_from_slice(&["--out", &path]);
            let out = d.work.retailer(&args)?;
            ensure!(
                out.status.success(),
                "request new: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let sent = d.work.retailer(&["request", "send", &url, &path])?;
            ensure!(
                sent.status.success(),
                "request send: {}",
                String::from_utf8_lossy(&sent.stderr)
            );
            Ok(())
        };
        send(d, "books.example", &[])?;
        d.wait_for("[data-testid=\"request-card\"].is-highlight")?;
        send(
            d,
            "lumen.example",
            &[
                "--benefit",
                "15% off your first pair of glasses",
                "--offer",
                "discount_percent=15",
                "--recipient",
                "Parcel Express Ltd=processor:delivery:DE:Delivers your order",
                "--recipient",
                "PayFast Europe=processor:fraud_prevention:IE",
                "--recipient",
                "Insight Panel Inc.=third_party:analytics:US:Market research about eyewear",
            ],
        )?;
        d.wait_until("both cards", |s| {
            Ok((s.find_all(&testid("request-card"))?.len() == 2).then_some(()))
        })?;
        let cards = d.find_all(&testid("request-card"))?;
        let mut lumen = None;
        let mut plain = None;
        for c in &cards {
            let t = c.text()?;
            if t.contains("Lumen Optics") {
                lumen = Some(c.find(&testid("value-exchange"))?.text()?);
            } else {
                plain = Some(c.find(&testid("value-exchange"))?.text()?);
            }
        }
        let (lumen, plain) = (lumen.unwrap_or_default(), plain.unwrap_or_default());
        for want in [
            "15% off",
            "In Lumen Optics’s words: “15% off your first pair of glasses”",
            "The shop says 3 other companies also get your data, 1 for its own purposes.",
            "Parcel Express Ltd",
            "Works for the shop · in Germany · used to deliver your orders: “Delivers your order”",
            "Uses your data for its own purposes · in United States",
            "Locket cannot check them",
        ] {
            ensure!(
                lumen.contains(want),
                "missing {want:?} in the card's exchange: {lumen:?}"
            );
        }
        ensure!(
            plain.contains("Shared with nobody else, the shop says.")
                && plain.contains("Nothing. The shop offers nothing in return for your data."),
            "the plain request's exchange: {plain:?}"
        );
        // Bring each card's exchange into view for the screenshots.
        let show = |d: &mut Desktop, needle: &str| -> Result<()> {
            d.execute(
                "const all = [...document.querySelectorAll('[data-testid=\"value-exchange\"]')];\
                 const el = all.find((e) => e.textContent.includes(arguments[0]));\
                 el.closest('[data-testid=\"request-card\"]').scrollIntoView({block: 'end'});",
                vec![json!(needle)],
            )?;
            std::thread::sleep(std::time::Duration::from_millis(400));
            Ok(())
        };
        show(d, "Parcel Express")?;
        d.shot("consent-card-benefit-recipients")?;
        show(d, "nobody else")?;
        d.shot("consent-card-nobody-else")?;
        Ok(())
    })
}

/// "Forgot your passphrase?": a wrong recovery key is refused; the one shown at creation sets a new
/// passphrase and unlocks; afterwards the old passphrase is refused and the new one works.
#[test]
fn forgotten_passphrase_recovery_key() -> Result<()> {
    Scenario::new("forgotten_passphrase_recovery_key").run(|d| {
        let recovery = create_vault(d, PASSPHRASE)?;
        set_field(d, "contact.email", "ada@example.com")?;
        d.press("lock-button")?;
        d.press("unlock-forgot")?;
        d.tid("recover")?;
        d.tid("recover-key")?
            .send_keys("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF-GGGGG-HHHHH")?;
        let new_pass = "amber orchard kettle 52 meridian";
        d.tid("recover-passphrase")?.send_keys(new_pass)?;
        d.tid("recover-confirm")?.send_keys(new_pass)?;
        d.press("recover-submit")?;
        let err = d.wait_until("an error for a wrong recovery key", |s| {
            let t = s.tid("recover-error")?.text()?;
            Ok((!t.trim().is_empty()).then_some(t))
        })?;
        d.shot("wrong-recovery-key")?;
        ensure!(!err.contains(&recovery), "the error shows the real recovery key");
        d.tid("recover-key")?.clear()?;
        d.tid("recover-key")?.send_keys(&recovery)?;
        d.press("recover-submit")?;
        d.tid("profile-screen")?;
        let shown = d.tid("input-contact-email")?.prop("value")?;
        ensure!(
            shown == json!("ada@example.com"),
            "after recovery the e-mail field shows {shown}"
        );
        d.shot("recovered")?;

        d.press("lock-button")?;
        d.tid("unlock-passphrase")?.send_keys(PASSPHRASE)?;
        d.press("unlock-submit")?;
        d.wait_text(&testid("unlock-error"), "not right")?;
        unlock(d, new_pass)?;
        Ok(())
    })
}

/// A `locket://request?data=…` link opened while the app runs locked: the second launch hands the
/// link to the running instance and exits; after unlocking, the request card is there and focused.
#[test]
fn deep_link_to_running_instance() -> Result<()> {
    Scenario::new("deep_link_to_running_instance").run(|d| {
        create_vault(d, PASSPHRASE)?;
        d.press("lock-button")?;
        d.tid("unlock")?;
        let link = app::request_link(&d.work)?;
        // Still exactly one app window: the first one, still locked.
        app::deliver_link(d, &link)?;
        d.tid("unlock")?;
        // After unlocking, the app goes straight to the request that came with the link.
        d.tid("unlock-passphrase")?.send_keys(PASSPHRASE)?;
        d.press("unlock-submit")?;
        d.wait_for("[data-testid=\"request-card\"].is-highlight")?;
        let card = d.tid("request-card")?.text()?;
        ensure!(card.contains("Orbit Running"), "card after the link: {card:?}");
        d.shot("deep-link-request")?;
        Ok(())
    })
}

/// A shop on the web (the reference server over HTTPS with a development CA) publishes a signed request; its
/// `locket://connect` link, delivered to the running app, makes Locket fetch and verify the request itself: the
/// card says the shop was verified, names the origin it was fetched from, and the owner approves it.
#[test]
fn connect_link_shows_the_verified_shop() -> Result<()> {
    Scenario::new("connect_link_shows_the_verified_shop")
        .env("LOCKET_NET_EXTRA_CA", "{tmp}/shop/tls/ca.pem")
        .env("LOCKET_NET_RESOLVE", "shop.test=127.0.0.1")
        .env("LOCKET_NET_ALLOW_LOOPBACK", "1")
        .run(|d| {
            create_vault(d, PASSPHRASE)?;
            set_field(d, "contact.email", "ada@example.org")?;
            let (origin, link) = serve_shop(
                d,
                &[
                    "--require",
                    "contact.email=order_fulfilment:Order confirmations",
                    "--duration",
                    "P7D",
                ],
            )?;

            // The link reaches the running app (as a browser hands it over): one window, the verified card.
            app::deliver_link(d, &link)?;
            d.wait_for("[data-testid=\"request-card\"].is-highlight")?;
            let badge = d.tid("request-verified")?.text()?;
            ensure!(badge.contains("shop.test"), "verified badge: {badge:?}");
            let banner = d.tid("verified-banner")?.text()?;
            ensure!(
                banner.contains(&origin),
                "the banner does not name {origin}: {banner:?}"
            );
            let card = d.tid("request-card")?.text()?;
            ensure!(card.contains("Test Shop"), "card: {card:?}");
            ensure!(
                d.find_all(&testid("pin-changed"))?.is_empty() && d.find_all(&testid("impersonation"))?.is_empty(),
                "a first connection shows no key-change or impersonation warning"
            );
            // One link, one fetch: the shop served its request once and nothing was refused.
            let serve_log = d.work.artifacts.join("retailer-serve.log");
            let served = || -> usize {
                fs::read_to_string(&serve_log)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains("\"GET /locket/requests/"))
                    .count()
            };
            ensure!(served() == 1, "the request was fetched {} times for one link", served());
            ensure!(
                d.find_all(".toast-warning")?.is_empty(),
                "a warning appeared for a link that worked"
            );
            d.shot("connect-verified-request")?;
            d.press("request-approve")?;
            d.tid("grant-issued")?;
            d.shot("connect-grant-issued")?;
            d.shot("connect-link-used-twice")?;
            Ok(())
        })
}

/// Runs the reference retailer server ("Test Shop") over HTTPS with a development CA on a free port and publishes a
/// signed request with `publish` (the `request publish` options); returns the shop's origin and the request's
/// `locket://connect` link. The scenario must set `LOCKET_NET_EXTRA_CA={tmp}/shop/tls/ca.pem`,
/// `LOCKET_NET_RESOLVE=shop.test=127.0.0.1` and `LOCKET_NET_ALLOW_LOOPBACK=1`.
/// What the reference server's own database holds (`locket-retailer holdings --json`).
fn shop_holds(d: &Desktop) -> Result<String> {
    shop_holds_in(&d.work)
}

fn shop_holds_in(work: &locket_e2e::Workdir) -> Result<String> {
    let shop = work.tmp.join("shop");
    let out = work.retailer(&["holdings", "--data", &shop.to_string_lossy(), "--json"])?;
    ensure!(
        out.status.success(),
        "holdings failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn serve_shop(d: &mut Desktop, publish: &[&str]) -> Result<(String, String)> {
    let shop = d.work.tmp.join("shop");
    let (data, tls) = (shop.to_string_lossy().into_owned(), shop.join("tls"));
    let port = free_port()?;
    let origin = format!("https://shop.test:{port}");
    let run = |args: &[&str]| -> Result<Vec<u8>> {
        let out = d.work.retailer(args)?;
        ensure!(
            out.status.success(),
            "locket-retailer {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    };
    run(&["keys", "new", "--data", &data])?;
    run(&["dev-cert", "--host", "shop.test", "--out", &tls.to_string_lossy()])?;
    d.work.retailer_background(
        "retailer-serve",
        &[
            "serve",
            "--origin",
            &origin,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--tls-cert",
            &tls.join("cert.pem").to_string_lossy(),
            "--tls-key",
            &tls.join("key.pem").to_string_lossy(),
            "--data",
            &data,
            "--name",
            "Test Shop",
        ],
    )?;
    d.wait_until("the shop's server to listen", |_| {
        Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok().then_some(()))
    })?;
    let mut args = vec!["request", "publish", "--data", &data];
    args.extend_from_slice(publish);
    args.push("--json");
    let published = run(&args)?;
    let published: serde_json::Value =
        serde_json::from_slice(&published).map_err(|e| E2eError::Setup(format!("publish output: {e}")))?;
    let link = published["link"].as_str().unwrap_or_default().to_owned();
    ensure!(link.starts_with("locket://connect?"), "publish printed {published}");
    Ok((origin, link))
}

/// Scrolls the element with test id `id` into the middle of the window (before a screenshot).
fn scroll_to(d: &Desktop, id: &str) -> Result<()> {
    d.execute(
        "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'});",
        vec![json!(testid(id))],
    )?;
    Ok(())
}

/// A verified shop that takes deliveries: approving its request makes Locket deliver the grant to the shop's
/// server, and the retailer page says so in plain words — delivered (with the fields and versions), or failed
/// with the shop's answer and a Try again (the reference server may not take deliveries yet: then it answers
/// 404/405). An edit queues an update that waits out its coalescing window and can be cancelled; the updates
/// switch turns off and on; revoking says what it does to deliveries and queues the erasure request; Activity
/// words the delivery events.
#[test]
fn deliveries_show_on_the_retailer_page() -> Result<()> {
    Scenario::new("deliveries_show_on_the_retailer_page")
        .env("LOCKET_NET_EXTRA_CA", "{tmp}/shop/tls/ca.pem")
        .env("LOCKET_NET_RESOLVE", "shop.test=127.0.0.1")
        .env("LOCKET_NET_ALLOW_LOOPBACK", "1")
        .run(|d| {
            // The shop first: the delivery worker reads the network settings (the shop's test CA) at unlock.
            let (_, link) = serve_shop(
                d,
                &[
                    "--require",
                    "contact.email=order_fulfilment:Order confirmations",
                    "--duration",
                    "P30D",
                    "--statement",
                    "Deleted 30 days after your order ships",
                ],
            )?;
            create_vault(d, PASSPHRASE)?;
            set_field(d, "contact.email", "ada@example.org")?;
            app::deliver_link(d, &link)?;
            d.wait_for("[data-testid=\"request-card\"].is-highlight")?;
            d.press("request-approve")?;
            d.tid("grant-issued")?;
            d.press("grant-done")?;

            go(d, "retailers")?;
            d.press("retailer-tile")?;
            d.tid("retailer-page")?;
            d.wait_text(&testid("deliveries-section"), "Deliveries to Test Shop’s server")?;
            // The worker sends the grant release at once; the page polls while it waits.
            let grant_row = "[data-testid=\"delivery-row\"][data-event=\"grant\"]";
            let status = d.wait_until("the grant release to be delivered or given up", |s| {
                let st = s.find(grant_row).and_then(|r| r.attr("data-status")).ok().flatten();
                Ok(st.filter(|st| st != "pending"))
            })?;
            let words = d
                .find(&format!("{grant_row} [data-testid=\"delivery-words\"]"))?
                .text()?;
            // The reference server receives it: the shop's own database holds the value.
            ensure!(status == "delivered", "grant release is {status}: {words:?}");
            ensure!(
                words.starts_with("Delivered ") && words.contains("Email address v1"),
                "delivered row: {words:?}"
            );
            ensure!(
                shop_holds(d)?.contains("ada@example.org"),
                "the shop does not hold the value"
            );
            let note = d.tid("revoke-note")?.text()?;
            ensure!(
                note.contains("erase what it received") && note.contains("Deleted 30 days after your order ships"),
                "revocation note: {note:?}"
            );
            scroll_to(d, "deliveries-section")?;
            d.shot("delivery-of-the-grant")?;

            // The updates switch: on by default, off and on again (read back from the vault each time).
            let toggle = testid("delivery-updates-toggle");
            let checked =
                |d: &Desktop| -> Result<String> { Ok(d.find(&toggle)?.attr("aria-checked")?.unwrap_or_default()) };
            ensure!(checked(d)? == "true", "updates start on");
            d.press("delivery-updates-toggle")?;
            d.wait_until("updates to turn off", |s| {
                Ok((s.find(&toggle)?.attr("aria-checked")?.as_deref() == Some("false")).then_some(()))
            })?;
            scroll_to(d, "deliveries-section")?;
            d.shot("updates-off")?;
            d.press("delivery-updates-toggle")?;
            d.wait_until("updates to turn on", |s| {
                Ok((s.find(&toggle)?.attr("aria-checked")?.as_deref() == Some("true")).then_some(()))
            })?;

            // An edit queues an update, which waits out its coalescing window: cancel it.
            go(d, "profile")?;
            set_field(d, "contact.email", "ada@new.example")?;
            go(d, "retailers")?;
            d.press("retailer-tile")?;
            let update_row = "[data-testid=\"delivery-row\"][data-event=\"update\"]";
            d.wait_for(&format!("{update_row}[data-status=\"pending\"]"))?;
            let words = d
                .find(&format!("{update_row} [data-testid=\"delivery-words\"]"))?
                .text()?;
            ensure!(
                words.starts_with("Update waiting to be delivered since "),
                "waiting update: {words:?}"
            );
            scroll_to(d, "deliveries-section")?;
            d.shot("update-waiting")?;
            d.click_when_clear(&format!("{update_row} [data-testid=\"delivery-cancel\"]"))?;
            d.tid("delivery-cancel-dialog")?;
            d.press("confirm-ok")?;
            d.wait_gone(&testid("delivery-cancel-dialog"))?;
            d.wait_for(&format!("{update_row}[data-status=\"cancelled\"]"))?;

            // Locked, nothing goes out; the next unlock delivers what fell due meanwhile.
            go(d, "profile")?;
            set_field(d, "contact.email", "ada@locked.example")?;
            d.press("lock-button")?;
            d.tid("unlock")?;
            std::thread::sleep(std::time::Duration::from_secs(33));
            ensure!(
                !shop_holds(d)?.contains("ada@locked.example"),
                "an update left while the vault was locked"
            );
            unlock(d, PASSPHRASE)?;
            let work = &d.work;
            d.wait_until_within(
                "the update to reach the shop after the unlock",
                std::time::Duration::from_secs(60),
                |_| Ok(shop_holds_in(work)?.contains("ada@locked.example").then_some(())),
            )?;
            go(d, "retailers")?;
            d.press("retailer-tile")?;
            d.tid("retailer-page")?;

            // Revoking: the dialog says what it does to deliveries; an erasure request is queued and sent.
            d.press("grant-revoke")?;
            let dialog = d.tid("revoke-dialog")?.text()?;
            ensure!(dialog.contains("asks Test Shop to erase"), "revoke dialog: {dialog:?}");
            d.press("confirm-ok")?;
            d.wait_gone(&testid("revoke-dialog"))?;
            let revoke_row = "[data-testid=\"delivery-row\"][data-event=\"revoke\"]";
            let status = d.wait_until("the erasure request to be delivered or given up", |s| {
                let st = s.find(revoke_row).and_then(|r| r.attr("data-status")).ok().flatten();
                Ok(st.filter(|st| st != "pending"))
            })?;
            let words = d
                .find(&format!("{revoke_row} [data-testid=\"delivery-words\"]"))?
                .text()?;
            ensure!(
                if status == "delivered" {
                    words.starts_with("Erasure requested ")
                } else {
                    words.starts_with("Erasure request failed after 1 attempt")
                },
                "erasure request ({status}): {words:?}"
            );
            ensure!(
                d.find_all(&toggle)?.is_empty(),
                "a revoked grant offers no updates switch"
            );
            ensure!(
                d.find_all(&format!("{grant_row} [data-testid=\"delivery-retry\"]"))?
                    .is_empty(),
                "a revoked grant's data is never offered to be sent again"
            );
            ensure!(
                d.find_all(&testid("revoke-note"))?.is_empty(),
                "the revocation note stays once nothing is left to revoke"
            );
            scroll_to(d, "deliveries-section")?;
            d.shot("erasure-request")?;

            // Activity words the delivery events.
            go(d, "activity")?;
            d.wait_text(&testid("activity-table"), "Delivery attempt")?;
            let notes = d.find_all(&testid("delivery-note"))?;
            ensure!(!notes.is_empty(), "no delivery details in Activity");
            let first = notes[0].text()?;
            ensure!(!first.trim().is_empty(), "an empty delivery detail");
            d.wait_for("[data-testid=\"chain-status\"][data-ok=\"true\"]")?;
            scroll_to(d, "activity-table")?;
            d.shot("activity-deliveries")?;
            Ok(())
        })
}

/// "Unlock automatically on this device": with a real OS keychain (gnome-keyring on the scenario's
/// own D-Bus session), a vault created with the box ticked unlocks after a restart without the
/// passphrase.
#[test]
fn unlock_on_this_device_with_os_keychain() -> Result<()> {
    Scenario::new("unlock_on_this_device_with_os_keychain")
        .with_keyring()
        .run(|d| {
            d.tid("create-passphrase")?.send_keys(PASSPHRASE)?;
            d.tid("create-confirm")?.send_keys(PASSPHRASE)?;
            d.pick("create-remember")?;
            ensure!(
                d.find(&testid("create-remember"))?.selected()?,
                "the remember box did not tick"
            );
            d.press("create-submit")?;
            d.tid("recovery-key")?;
            d.pick("recovery-saved")?;
            d.press("recovery-continue")?;
            d.tid("profile-screen")?;
            set_field(d, "contact.email", "ada@example.com")?;

            d.restart_app()?;
            d.tid("unlock")?;
            d.shot("unlock-with-device")?;
            d.press("unlock-keychain")?;
            d.tid("profile-screen")?;
            let shown = d.tid("input-contact-email")?.prop("value")?;
            ensure!(
                shown == json!("ada@example.com"),
                "after a keychain unlock the e-mail field shows {shown}"
            );
            d.shot("unlocked-by-keychain")?;
            Ok(())
        })
}

/// Every screen at the smallest supported window size (1024×700): nothing needs horizontal
/// scrolling. Screenshots of each screen are kept.
#[test]
fn every_screen_fits_1024x700() -> Result<()> {
    Scenario::new("every_screen_fits_1024x700").run(|d| {
        d.set_window_size(1024, 700)?;
        let width = d.wait_until("the window to be 1024 px wide", |s| {
            let w = s.execute("return window.innerWidth", vec![])?.as_u64().unwrap_or(0);
            Ok((w <= 1024).then_some(w))
        })?;
        ensure!(width >= 1000, "the window is only {width} px wide");
        check_no_horizontal_scroll(d, "welcome")?;
        create_vault(d, PASSPHRASE)?;
        set_field(d, "contact.email", "ada@example.com")?;
        // Something in every list: a request from a shop's website, approved.
        let request = d.work.file("req.json");
        let out = d.work.retailer(&[
            "request",
            "new",
            "--id",
            "fitwell.example",
            "--name",
            "Fitwell",
            "--origin",
            "https://fitwell.example",
            "--contact",
            "privacy@fitwell.example",
            "--privacy-policy",
            "https://fitwell.example/privacy",
            "--require",
            "contact.email=order_fulfilment",
            "--scope",
            "sizes.shoe=personalised_recommendations",
            "--out",
            &request.to_string_lossy(),
        ])?;
        ensure!(
            out.status.success(),
            "request new failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = format!("http://127.0.0.1:{}", d.work.listen_port);
        let sent = d
            .work
            .retailer(&["request", "send", &url, &request.to_string_lossy()])?;
        ensure!(
            sent.status.success(),
            "request send failed: {}",
            String::from_utf8_lossy(&sent.stderr)
        );
        d.tid("request-card")?;
        check_no_horizontal_scroll(d, "requests")?;
        d.press("request-approve")?;
        d.tid("grant-issued")?;
        for page in ["profile", "grants", "activity", "retailers", "settings"] {
            go(d, page)?;
            check_no_horizontal_scroll(d, page)?;
            if page == "retailers" {
                d.press("retailer-tile")?;
                d.tid("retailer-page")?;
                check_no_horizontal_scroll(d, "retailer")?;
            }
        }
        Ok(())
    })
}

/// Fail if the page is wider than the window; save a screenshot (once it has loaded) either way.
fn check_no_horizontal_scroll(d: &mut Desktop, name: &str) -> Result<()> {
    d.wait_gone(".state-loading")?;
    d.shot(name)?;
    let v = d.execute(
        "const e = document.scrollingElement || document.documentElement; \
         const wide = [...document.querySelectorAll('body *')].filter(x => x.scrollWidth > x.clientWidth + 1 \
           && ['auto', 'scroll'].includes(getComputedStyle(x).overflowX) === false \
           && getComputedStyle(x).overflowX !== 'hidden' && x.getBoundingClientRect().right > window.innerWidth + 1) \
           .map(x => x.tagName.toLowerCase() + (x.dataset.testid ? '[' + x.dataset.testid + ']' : '') + '.' + x.className) \
           .slice(0, 5); \
         return [e.scrollWidth, e.clientWidth, wide];",
        vec![],
    )?;
    let scroll = v[0].as_u64().unwrap_or(0);
    let client = v[1].as_u64().unwrap_or(0);
    ensure!(
        scroll <= client + 1,
        "{name}: the page is {scroll} px wide in a {client} px window; too wide: {}",
        v[2]
    );
    Ok(())
}

/// Onboarding with the keyboard alone (Tab, Space, Enter), with the system in dark mode: the app
/// follows the system theme.
#[test]
fn keyboard_only_onboarding_in_dark_mode() -> Result<()> {
    Scenario::new("keyboard_only_onboarding_in_dark_mode")
        .env("GTK_THEME", "Adwaita:dark")
        .run(|d| {
            let dark = d.execute(
                "return window.matchMedia('(prefers-color-scheme: dark)').matches",
                vec![],
            )?;
            ensure!(dark == json!(true), "the web view does not see the system's dark mode");
            let bg = d.execute(
                "const c = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); \
             return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;",
                vec![],
            )?;
            ensure!(
                bg.as_f64().unwrap_or(1.0) < 0.35,
                "the page background is light in dark mode (luminance {bg})"
            );

            // The passphrase field has the focus; type, Tab, type, Enter.
            d.tid("welcome")?;
            ensure!(
                d.focused_testid()? == "create-passphrase",
                "the passphrase field is not focused at start"
            );
            d.type_keys(PASSPHRASE)?;
            d.tab_to("create-confirm", 3)?;
            d.type_keys(PASSPHRASE)?;
            d.type_keys(locket_e2e::keys::ENTER)?;
            d.tid("recovery-key")?;
            d.shot("recovery-dark")?;
            d.tab_to("recovery-saved", 8)?;
            d.type_keys(locket_e2e::keys::SPACE)?;
            d.tab_to("recovery-continue", 4)?;
            d.type_keys(locket_e2e::keys::ENTER)?;
            d.tid("profile-screen")?;
            d.tid("group-contact")?;
            d.shot("profile-dark")?;
            Ok(())
        })
}

/// Settings: change the passphrase (a wrong current one is refused), export everything encrypted
/// through the save dialog, wipe the vault with the typed confirmation, then create a new vault
/// and import the export back — the profile returns.
#[test]
fn passphrase_export_wipe_import() -> Result<()> {
    Scenario::new("passphrase_export_wipe_import").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "contact.email", "ada@example.com")?;
        set_field(d, "contact.phone", "+442071234567")?;

        // Change the passphrase.
        go(d, "settings")?;
        let new_pass = "copper lantern willow 81 harbour";
        d.tid("pass-current")?.send_keys("not my passphrase at all")?;
        d.tid("pass-new")?.send_keys(new_pass)?;
        d.tid("pass-confirm")?.send_keys(new_pass)?;
        d.press("pass-submit")?;
        d.wait_until("the wrong current passphrase to be refused", |s| {
            let t = s.tid("pass-error")?.text()?;
            Ok((!t.trim().is_empty()).then_some(()))
        })?;
        d.shot("passphrase-wrong-current")?;
        d.tid("pass-current")?.clear()?;
        d.tid("pass-current")?.send_keys(PASSPHRASE)?;
        d.press("pass-submit")?;
        d.wait_text(&testid("toasts"), "Passphrase changed")?;

        // Export, encrypted, through the native save dialog.
        let export = d.work.file("locket-export.json");
        d.tid("export-passphrase")?.send_keys("export secret 123")?;
        d.press("export-button")?;
        answer_save_dialog(d, "Export Locket data", &export)?;
        d.wait_text(&testid("toasts"), "Exported")?;
        let bytes = fs::read(&export).map_err(|e| E2eError::Io(format!("{}: {e}", export.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        ensure!(
            !text.contains("ada@example.com"),
            "the encrypted export contains the e-mail address in clear"
        );
        d.shot("exported")?;

        // Wipe: the button stays disabled until the phrase is typed.
        d.press("wipe-open")?;
        d.tid("wipe-dialog")?;
        d.tid("wipe-input")?.send_keys("delete my")?;
        app::ensure_disabled(d, "wipe-confirm")?;
        d.tid("wipe-input")?.send_keys(" vault")?;
        d.shot("wipe-confirm")?;
        d.press("wipe-confirm")?;
        d.tid("welcome")?;
        for f in ["keyslots.json", "vault.db"] {
            ensure!(!d.work.vault.join(f).exists(), "{f} still exists after the wipe");
        }
        d.shot("wiped")?;

        // A new vault, then import the export into it.
        create_vault(d, new_pass)?;
        go(d, "settings")?;
        d.tid("import-passphrase")?.send_keys("export secret 123")?;
        d.press("import-button")?;
        answer_open_dialog(d, "Import a Locket export", &export)?;
        d.wait_text(&testid("toasts"), "Imported")?;
        go(d, "profile")?;
        d.wait_until("the imported e-mail address", |s| {
            Ok((s.tid("input-contact-email")?.prop("value")? == json!("ada@example.com")).then_some(()))
        })?;
        let phone = d.tid("input-contact-phone")?.prop("value")?;
        ensure!(phone == json!("+442071234567"), "imported phone is {phone}");
        d.shot("imported")?;
        Ok(())
    })
}

/// The retailer page lists what a retailer received (field, version, time) and "Revoke all"
/// cuts it off: its next fetch is refused.
#[test]
fn retailer_page_disclosures_and_revoke_all() -> Result<()> {
    Scenario::new("retailer_page_disclosures_and_revoke_all").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "contact.email", "ada@example.com")?;
        let request = d.work.file("req.json");
        let out = d.work.retailer(&[
            "request",
            "new",
            "--id",
            "hearth.example",
            "--name",
            "Hearth & Home",
            "--origin",
            "https://hearth.example",
            "--contact",
            "privacy@hearth.example",
            "--privacy-policy",
            "https://hearth.example/privacy",
            "--require",
            "contact.email=order_fulfilment",
            "--out",
            &request.to_string_lossy(),
        ])?;
        ensure!(
            out.status.success(),
            "request new failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = format!("http://127.0.0.1:{}", d.work.listen_port);
        let sent = d
            .work
            .retailer(&["request", "send", &url, &request.to_string_lossy()])?;
        ensure!(
            sent.status.success(),
            "request send failed: {}",
            String::from_utf8_lossy(&sent.stderr)
        );
        d.tid("request-card")?;
        d.press("request-approve")?;
        d.tid("grant-issued")?;
        let grant = d.work.file("grant.json");
        d.press("grant-save")?;
        answer_save_dialog(d, "Save grant file", &grant)?;
        d.wait_text(&testid("grant-saved-to"), "Saved to")?;
        let fetched = retailer_fetch(d, &grant)?;
        ensure!(fetched.ok, "fetch failed: {}", fetched.output);

        go(d, "retailers")?;
        d.press("retailer-tile")?;
        d.tid("retailer-page")?;
        let row = d.tid("disclosure-row")?.text()?;
        ensure!(
            row.contains("contact.email") || row.contains("Email"),
            "disclosure row: {row:?}"
        );
        d.shot("retailer-page")?;
        d.press("retailer-revoke-all")?;
        d.tid("revoke-all-dialog")?;
        d.press("confirm-ok")?;
        d.wait_gone(&testid("revoke-all-dialog"))?;
        d.wait_for("[data-testid=\"grant-row\"][data-status=\"revoked\"]")?;
        d.shot("retailer-revoked")?;
        let refused = retailer_fetch(d, &grant)?;
        ensure!(
            !refused.ok && refused.output.contains("grant_revoked"),
            "fetch after revoke all: {}",
            refused.output
        );
        Ok(())
    })
}

/// A vault whose log holds 100,000 events over 30 days: the Activity view pages through it (the
/// table never holds more than a page), filters it, charts it and verifies the chain.
#[test]
fn activity_with_100k_events() -> Result<()> {
    const N: u64 = 100_000;
    Scenario::new("activity_with_100k_events")
        .prepare(|w| app::fill_log(&w.vault, N, locket_vault::KdfParams::for_tests()))
        .run(|d| {
            let mut timings = Vec::new();
            d.tid("unlock")?;
            unlock(d, PASSPHRASE)?;
            let t = std::time::Instant::now();
            go(d, "activity")?;
            let total = d.wait_until("the event count", |s| {
                let text = s.tid("activity-total")?.text()?;
                let n: u64 = text
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0);
                Ok((n >= N).then_some(n))
            })?;
            timings.push(format!("first page of {total} events shown after {:?}", t.elapsed()));
            let rows = d.find_all(&testid("activity-row"))?.len();
            ensure!(
                rows > 0 && rows <= 200,
                "the table holds {rows} rows; expected one page, not the whole log"
            );
            // The chart loads on its own, after the first page: wait for it rather than read it
            // the moment the count appears.
            d.wait_until("the timeline chart to hold the last 30 days", |s| {
                let chart_total: u64 = s
                    .tid("activity-chart")?
                    .attr("data-total")?
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok((chart_total > 0).then_some(()))
            })?;
            d.shot("activity-100k")?;

            // Page to older events.
            let first_range = d.tid("page-range")?.text()?;
            let t = std::time::Instant::now();
            d.press("page-older")?;
            d.wait_until("the next page", |s| {
                Ok((s.tid("page-range")?.text()? != first_range).then_some(()))
            })?;
            timings.push(format!("older page after {:?}", t.elapsed()));
            let range = d.tid("page-range")?.text()?;
            ensure!(
                range.starts_with("51") || range.contains("51–"),
                "second page range is {range:?}"
            );
            d.shot("activity-100k-page-2")?;

            // Filter to refusals only.
            let t = std::time::Instant::now();
            let select = d.tid("filter-outcome")?;
            select.click()?;
            select.find("option[value=\"refused\"]")?.click()?;
            d.wait_until("only refusals to be listed", |s| {
                let rows = s.find_all(&testid("activity-row"))?;
                if rows.is_empty() {
                    return Ok(None);
                }
                for r in &rows {
                    if r.attr("data-outcome")?.as_deref() != Some("refused") {
                        return Ok(None);
                    }
                }
                Ok(Some(()))
            })?;
            timings.push(format!("refusals filter applied after {:?}", t.elapsed()));
            let reason = d.tid("refusal-reason")?.text()?;
            ensure!(!reason.trim().is_empty(), "refusal rows show no reason");
            d.shot("activity-100k-refusals")?;

            // The whole chain verifies.
            let t = std::time::Instant::now();
            d.wait_until_within("the log to verify", std::time::Duration::from_secs(120), |s| {
                Ok((s.tid("chain-status")?.attr("data-ok")?.as_deref() == Some("true")).then_some(()))
            })?;
            timings.push(format!("chain verified (banner) after {:?}", t.elapsed()));
            let (app, total) = d.app_rss_kib()?;
            timings.push(format!(
                "RSS with 100k events on screen: app {} MiB, app + WebKit processes {} MiB",
                app / 1024,
                total / 1024
            ));
            timings.push(format!("app launch to loaded document: {:?}", d.launched_in));
            let _ = fs::write(d.work.artifacts.join("timings.txt"), timings.join("\n") + "\n");
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
    d.press("endpoint-apply")?;
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

/// The fetched document (`locket-retailer fetch --json`) must hold exactly these fields with these values.
fn check_fetched_fields(doc: &Value, expect: &[(&str, &str)]) -> Result<()> {
    let fields = doc
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| E2eError::Check(format!("fetch --json has no \"fields\" list: {doc}")))?;
    let mut got: Vec<(&str, &Value)> = fields
        .iter()
        .map(|f| {
            (
                f.get("key").and_then(Value::as_str).unwrap_or(""),
                f.get("value").unwrap_or(&Value::Null),
            )
        })
        .collect();
    got.sort_by_key(|(k, _)| *k);
    let mut want: Vec<(&str, Value)> = expect.iter().map(|(k, v)| (*k, json!(v))).collect();
    want.sort_by_key(|(k, _)| *k);
    let got_keys: Vec<&str> = got.iter().map(|(k, _)| *k).collect();
    let want_keys: Vec<&str> = want.iter().map(|(k, _)| *k).collect();
    ensure!(
        got_keys == want_keys,
        "fetched fields {got_keys:?}, expected exactly {want_keys:?}"
    );
    for ((k, got), (_, want)) in got.iter().zip(&want) {
        ensure!(*got == want, "{k}: fetched {got}, expected {want}");
    }
    Ok(())
}

/// The grant file names exactly `scopes`, our endpoint, and an expiry `days` after issue.
fn check_grant_file(grant: &Value, scopes: &[&str], port: u16, days: i64) -> Result<()> {
    let mut got: Vec<String> = grant["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    s.as_str()
                        .or_else(|| s.get("scope").and_then(Value::as_str))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    got.sort();
    let mut want: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    ensure!(got == want, "grant file scopes {got:?}, expected {want:?}");
    let endpoint = grant["endpoint"].as_str().unwrap_or_default();
    ensure!(
        endpoint.contains(&format!(":{port}")),
        "grant file endpoint {endpoint:?} is not our port {port}"
    );
    let at = |k: &str| -> Result<chrono::DateTime<chrono::FixedOffset>> {
        let v = grant[k].as_str().unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(v).map_err(|e| E2eError::Check(format!("grant file {k} {v:?}: {e}")))
    };
    let length = at("expires_at")? - at("issued_at")?;
    ensure!(
        (length - chrono::Duration::days(days)).num_minutes().abs() <= 5,
        "grant lasts {length}, expected {days} days"
    );
    Ok(())
}
