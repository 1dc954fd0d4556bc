//! End-to-end scenarios of the privacy views (issue 6) and backups (issue 7) in the real window
//! (harness: tests/e2e/src/lib.rs). Screenshots go to `artifacts/e2e/<test>/`.

use std::fs;

use locket_e2e::app::{answer_save_dialog, create_vault, go, set_field, unlock, PASSPHRASE};
use locket_e2e::{ensure, testid, Desktop, E2eError, Result, Scenario};
use serde_json::Value;

fn send_request(d: &Desktop, args: &[&str]) -> Result<()> {
    let request = d.work.file("request.json");
    let path = request.to_string_lossy().into_owned();
    let mut all = vec!["request", "new"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", &path]);
    let out = d.work.retailer(&all)?;
    ensure!(
        out.status.success(),
        "request new failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("http://127.0.0.1:{}", d.work.listen_port);
    let sent = d.work.retailer(&["request", "send", &url, &path])?;
    ensure!(
        sent.status.success(),
        "request send failed: {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    Ok(())
}

fn granted_scopes(grant: &Value) -> Vec<String> {
    grant
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("scope").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A shop asks for the date of birth "to check your age" (and allergies for marketing): the card warns in
/// plain words and "Share the minimized answer instead" grants `age_over:18` in place of the date. The
/// retailer page then shows the consent receipt (issued by the desktop) and what the shop holds; changing the
/// email afterwards says the shop holds the previous value.
#[test]
fn over_asking_warning_and_minimized_approval() -> Result<()> {
    Scenario::new("over_asking_warning_and_minimized_approval").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "identity.date_of_birth", "1990-05-01")?;
        set_field(d, "contact.email", "ada@example.com")?;
        send_request(
            d,
            &[
                "--id",
                "cellar.example",
                "--name",
                "Cellar Door Wines",
                "--origin",
                "https://cellar.example",
                "--contact",
                "privacy@cellar.example",
                "--privacy-policy",
                "https://cellar.example/privacy",
                "--require",
                "identity.date_of_birth=age_verification",
                "--require",
                "contact.email=order_fulfilment",
                "--scope",
                "diet.allergies=marketing_email",
                "--duration",
                "P30D",
            ],
        )?;
        d.tid("request-card")?;
        d.tid("privacy-check")?;
        let over = d.wait_text(
            "[data-testid=\"privacy-warning\"][data-code=\"over_asking\"]",
            "over 18: yes",
        )?;
        ensure!(
            over.contains("date of birth") && over.contains("check you are old enough"),
            "over-asking warning: {over:?}"
        );
        let sensitive = d.wait_text(
            "[data-testid=\"privacy-warning\"][data-code=\"sensitive_for_marketing\"]",
            "sensitive",
        )?;
        ensure!(sensitive.contains("allergies"), "sensitive warning: {sensitive:?}");
        d.shot("privacy-check")?;

        d.press("request-approve-minimized")?;
        d.tid("grant-issued")?;
        d.shot("approved-minimized")?;
        let grant_path = d.work.file("grant.json");
        d.press("grant-save")?;
        answer_save_dialog(d, "Save grant file", &grant_path)?;
        d.wait_text(&testid("grant-saved-to"), "Saved to")?;
        let grant: Value =
            serde_json::from_str(&fs::read_to_string(&grant_path).map_err(|e| E2eError::Io(e.to_string()))?)
                .map_err(|e| E2eError::Check(format!("grant file is not JSON: {e}")))?;
        let scopes = granted_scopes(&grant);
        ensure!(
            scopes.contains(&"age_over:18".to_owned()) && scopes.contains(&"contact.email".to_owned()),
            "granted scopes: {scopes:?}"
        );
        ensure!(
            !scopes
                .iter()
                .any(|s| s == "identity.date_of_birth" || s == "diet.allergies"),
            "the raw date of birth (or unticked allergies) was granted: {scopes:?}"
        );
        let out = d.work.retailer(&["fetch", &grant_path.to_string_lossy(), "--json"])?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        ensure!(
            out.status.success(),
            "fetch failed: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(
            !stdout.contains("1990-05-01"),
            "the retailer received the date of birth: {stdout}"
        );

        go(d, "retailers")?;
        d.press("retailer-tile")?;
        d.tid("retailer-page")?;
        d.wait_for("[data-testid=\"receipt-row\"][data-event=\"grant\"]")?;
        d.wait_for("[data-testid=\"holding-row\"][data-field=\"contact.email\"]")?;
        d.shot("retailer-privacy")?;

        // An email alias for this shop, then an erasure request that the shop acknowledges.
        d.press("alias-edit")?;
        d.tid("alias-input")?.send_keys("cellar-door@alias.example")?;
        d.press("alias-save")?;
        d.wait_text(&testid("alias-value"), "cellar-door@alias.example")?;
        d.press("erasure-request")?;
        d.tid("erasure-dialog")?;
        d.press("confirm-ok")?;
        d.wait_gone(&testid("erasure-dialog"))?;
        d.wait_text(&testid("erasure-status"), "not acknowledged yet")?;
        let ack = d.work.retailer(&["erasure-ack", &grant_path.to_string_lossy()])?;
        ensure!(
            ack.status.success(),
            "erasure-ack failed: {}",
            String::from_utf8_lossy(&ack.stderr)
        );
        d.wait_text(&testid("erasure-status"), "acknowledged on")?;
        d.execute(
            "document.querySelector('[data-testid=\"retailer-erasure\"]').scrollIntoView({block: 'center'});",
            vec![],
        )?;
        d.shot("retailer-erasure-alias")?;

        go(d, "profile")?;
        set_field(d, "contact.email", "ada.lovelace@example.com")?;
        let note = d.wait_text(&testid("holders-contact-email"), "previous value")?;
        ensure!(note.contains("Cellar Door Wines"), "holders note: {note:?}");
        d.shot("profile-previous-value")?;
        d.press("holder-link")?;
        d.tid("retailer-page")?;
        d.wait_text(&testid("holding-outdated"), "previous")?;
        d.shot("retailer-holds-previous")?;
        Ok(())
    })
}

/// Settings → Backups: back up now, verify it (pages and the log chain), change the profile, restore the
/// backup with the typed confirmation; Locket locks, and after unlocking the profile is as it was.
#[test]
fn backup_now_verify_and_restore() -> Result<()> {
    Scenario::new("backup_now_verify_and_restore").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "identity.given_name", "Ada")?;
        go(d, "settings")?;
        d.tid("settings-backups")?;
        let before = d.find_all(&testid("backup-row"))?.len();
        d.press("backup-now")?;
        d.wait_until("a new backup row", |s| {
            Ok((s.find_all(&testid("backup-row"))?.len() > before).then_some(()))
        })?;
        let id = d
            .find(&testid("backup-row"))?
            .attr("data-backup-id")?
            .ok_or_else(|| E2eError::Check("backup row has no id".into()))?;
        let row = format!("[data-backup-id=\"{id}\"]");
        d.find(&format!("{row} [data-testid=\"backup-verify\"]"))?.click()?;
        let result = d.wait_text(&format!("{row} [data-testid=\"backup-verify-result\"]"), "Intact")?;
        ensure!(result.contains("access log"), "verify result: {result:?}");
        d.execute(
            "document.querySelector('[data-testid=\"backup-verify-result\"]').scrollIntoView({block: 'center'});",
            vec![],
        )?;
        d.shot("backup-verified")?;

        go(d, "profile")?;
        set_field(d, "identity.given_name", "Augusta")?;
        go(d, "settings")?;
        d.find(&format!("{row} [data-testid=\"backup-restore\"]"))?.click()?;
        d.tid("restore-dialog")?;
        ensure!(
            !d.tid("restore-confirm")?.enabled()?,
            "restore is possible without typing the confirmation"
        );
        d.tid("restore-input")?.send_keys("restore")?;
        d.shot("restore-dialog")?;
        d.press("restore-confirm")?;
        d.wait_text(&testid("lock-notice"), "restored")?;
        d.shot("restored-locked")?;
        unlock(d, PASSPHRASE)?;
        d.wait_until("the restored given name", |s| {
            Ok((s.tid("input-identity-given-name")?.prop("value")?.as_str() == Some("Ada")).then_some(()))
        })?;
        d.shot("restored-profile")?;
        Ok(())
    })
}

/// The vault file is damaged while Locket is locked: unlocking says so, changes nothing, and offers the
/// newest backup; one click restores it with the passphrase just typed and opens it.
#[test]
fn damaged_vault_restores_newest_backup() -> Result<()> {
    Scenario::new("damaged_vault_restores_newest_backup").run(|d| {
        create_vault(d, PASSPHRASE)?;
        set_field(d, "identity.given_name", "Ada")?;
        go(d, "settings")?;
        let before = d.find_all(&testid("backup-row"))?.len();
        d.press("backup-now")?;
        d.wait_until("a new backup row", |s| {
            Ok((s.find_all(&testid("backup-row"))?.len() > before).then_some(()))
        })?;
        d.press("lock-button")?;
        d.tid("unlock")?;

        // Damage the first page of the database (and drop any write-ahead log that could mask it).
        let db = d.work.vault.join("vault.db");
        let mut bytes = fs::read(&db).map_err(|e| E2eError::Io(e.to_string()))?;
        let n = bytes.len().min(4096);
        bytes[..n].fill(0);
        fs::write(&db, &bytes).map_err(|e| E2eError::Io(e.to_string()))?;
        let _ = fs::remove_file(d.work.vault.join("vault.db-wal"));
        let damaged = fs::read(&db).map_err(|e| E2eError::Io(e.to_string()))?;

        let input = d.tid("unlock-passphrase")?;
        input.send_keys(PASSPHRASE)?;
        d.press("unlock-submit")?;
        d.tid("unlock-damaged")?;
        let detail = d.tid("unlock-damaged-detail")?.text()?;
        ensure!(detail.contains("vault.db"), "the damage is not explained: {detail:?}");
        ensure!(
            fs::read(&db).map_err(|e| E2eError::Io(e.to_string()))? == damaged,
            "the damaged file was changed before the owner chose to restore"
        );
        d.shot("vault-damaged")?;
        d.press("unlock-restore-backup")?;
        d.tid("profile-screen")?;
        d.wait_until("the restored given name", |s| {
            Ok((s.tid("input-identity-given-name")?.prop("value")?.as_str() == Some("Ada")).then_some(()))
        })?;
        d.shot("restored-from-backup")?;
        Ok(())
    })
}
