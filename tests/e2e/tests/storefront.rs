//! The retailer kit end to end in a real browser: the demo storefront (examples/storefront, built on the
//! `@locket/retailer` SDK) runs over HTTPS on loopback; Debian's Chromium, driven by chromedriver, opens it and
//! clicks "Share with Locket"; the `locket://` link reaches the running desktop app the way the OS delivers it
//! (Chromium → xdg-open → the desktop entry registered with xdg-mime → a second launch handing the link over);
//! the owner approves in the app (tauri-driver); the storefront's page then greets them and shows products in
//! their size; an edit of the size in the app reaches the page; revoking erases what the shop held.
//!
//! Screenshots of both windows at each step (and side by side, `pair-*.png`) are kept in
//! artifacts/e2e/storefront_in_a_real_browser/, with the measured times in `timings.txt` (reported, never
//! asserted).
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use locket_e2e::app::{go, set_field, tid, unlock};
use locket_e2e::browser::{register_url_handler, shots_of_both, Browser, BrowserOptions};
use locket_e2e::{ensure, testid, workspace_root, Desktop, E2eError, Result, Scenario, Session};

const PASSPHRASE: &str = "correct horse battery staple";
/// How long a delivery may take to show on the shop's page (the page polls every second; the app's worker
/// sends at once, then retries after 30 s if the first try failed).
const SHOP_WAIT: Duration = Duration::from_secs(75);

#[test]
fn storefront_in_a_real_browser() -> Result<()> {
    Scenario::new("storefront_in_a_real_browser")
        .env("LOCKET_NET_EXTRA_CA", "{tmp}/shop/tls/ca.pem")
        .env("LOCKET_NET_RESOLVE", "shop.test=127.0.0.1")
        .env("LOCKET_NET_ALLOW_LOOPBACK", "1")
        .prepare(|w| {
            // The owner's vault with the values the shop will ask for, and the shop's development certificate.
            let run = |args: &[&str]| -> Result<()> {
                let mut all = vec!["--passphrase-stdin"];
                all.extend_from_slice(args);
                let out = w.locket(&all, &format!("{PASSPHRASE}\n"))?;
                ensure!(
                    out.status.success(),
                    "locket {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                Ok(())
            };
            run(&["init"])?;
            run(&["profile", "set", "identity.preferred_name", "Ada"])?;
            run(&["profile", "set", "identity.given_name", "Adelaide"])?;
            run(&["profile", "set", "sizes.clothing", "M"])?;
            run(&["profile", "set", "style.styles", "casual,minimalist"])?;
            let tls = w.tmp.join("shop/tls");
            let out = w.retailer(&["dev-cert", "--host", "shop.test", "--out", &tls.to_string_lossy()])?;
            ensure!(
                out.status.success(),
                "locket-retailer dev-cert: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(())
        })
        .run(|d| {
            d.tid("unlock")?;
            unlock(d, PASSPHRASE)?;
            let origin = start_storefront(d)?;
            register_url_handler(d)?;
            let mut b = Browser::launch(
                d,
                &BrowserOptions {
                    loopback_hosts: &["shop.test"],
                    locket_links_from: &[&origin],
                },
            )?;

            // A visitor who has shared nothing sees the generic shop and the button.
            b.navigate(&format!("{origin}/"))?;
            let button = b.wait_for("#share-with-locket")?;
            let href = button.attr("href")?.unwrap_or_default();
            ensure!(
                href.starts_with("locket://connect?request_uri="),
                "the button's link: {href:?}"
            );
            ensure!(
                b.find_all("#greeting")?.is_empty(),
                "a greeting before anything was shared"
            );
            shots_of_both(d, &mut b, "1-shop-before-sharing")?;

            // Click: the OS hands the link to the running app, which shows the shop's verified request.
            let clicked = Instant::now();
            b.find("#share-with-locket")?.click()?;
            d.wait_for_within("[data-testid=\"request-card\"].is-highlight", SHOP_WAIT)?;
            let card_shown = clicked.elapsed();
            let badge = d.tid("request-verified")?.text()?;
            ensure!(badge.contains("shop.test"), "verified badge: {badge:?}");
            d.tid("request-approve")?;
            d.execute(
                "document.querySelector('[data-testid=\"request-card\"]').scrollIntoView({block: 'start'})",
                vec![],
            )?;
            std::thread::sleep(Duration::from_millis(400));
            shots_of_both(d, &mut b, "2-request-in-the-app")?;

            // Approve: the grant release goes to the shop's delivery endpoint; its page greets the owner.
            // The shop asks for optional fields only: the owner ticks the ones to share.
            for scope in ["identity.preferred_name", "sizes.clothing", "style.styles"] {
                d.pick(&format!("scope-{}", tid(scope)))?;
            }
            let approving = Instant::now();
            d.press("request-approve")?;
            d.tid("grant-issued")?;
            // Nothing waits any more: the sidebar's count goes with the decision.
            d.wait_gone(&testid("nav-requests-count"))?;
            let greeting = b.wait_until_within("the shop's page to greet the owner", SHOP_WAIT, |s| {
                Ok(text_of(s, "#greeting").filter(|t| t.contains("Ada")))
            })?;
            let personalised = clicked.elapsed();
            let approve_to_page = approving.elapsed();
            ensure!(greeting.contains("Welcome back, Ada"), "greeting: {greeting:?}");
            ensure!(
                text_of(&b, "#your-size").as_deref() == Some("M"),
                "size shown: {:?}",
                text_of(&b, "#your-size")
            );
            let products = b.find_all("article[data-product]")?;
            ensure!(!products.is_empty(), "no products on the personalised page");
            for p in &products {
                ensure!(
                    p.attr("data-size")?.as_deref() == Some("M"),
                    "a product is not shown in size M"
                );
            }
            ensure!(
                b.find("article[data-product]")?.text()?.contains("Matches your style"),
                "the first product does not match the owner's styles"
            );
            d.press("grant-done")?;
            shots_of_both(d, &mut b, "3-personalised")?;

            // What the shop holds, and since when.
            b.navigate(&format!("{origin}/holdings"))?;
            let holds = b.wait_for("body")?.text()?;
            ensure!(
                holds.contains("Ada") && holds.contains('M'),
                "the holdings page: {holds:?}"
            );
            ensure!(
                !holds.contains("Adelaide"),
                "the shop holds a field it never asked for: {holds:?}"
            );
            b.shot("holdings")?;
            b.navigate(&format!("{origin}/"))?;
            b.wait_for("#greeting")?;

            // The owner changes their size in the app and sends the update now: the page shows the new size.
            go(d, "profile")?;
            set_field(d, "sizes.clothing", "L")?;
            go(d, "retailers")?;
            d.press("retailer-tile")?;
            d.tid("retailer-page")?;
            let update = "[data-testid=\"delivery-row\"][data-event=\"update\"]";
            d.wait_for(&format!("{update}[data-status=\"pending\"]"))?;
            let edited = Instant::now();
            d.click_when_clear(&format!("{update} [data-testid=\"delivery-retry\"]"))?;
            b.wait_until_within("the shop's page to show size L", SHOP_WAIT, |s| {
                Ok((text_of(s, "#your-size").as_deref() == Some("L")).then_some(()))
            })?;
            let update_to_page = edited.elapsed();
            for p in &b.find_all("article[data-product]")? {
                ensure!(
                    p.attr("data-size")?.as_deref() == Some("L"),
                    "a product is still shown in the old size"
                );
            }
            shots_of_both(d, &mut b, "4-size-updated")?;

            // Revoke: the erasure request reaches the shop, which erases what it held.
            let revoking = Instant::now();
            d.press("grant-revoke")?;
            d.tid("revoke-dialog")?;
            d.press("confirm-ok")?;
            d.wait_gone(&testid("revoke-dialog"))?;
            let erased = b.wait_until_within("the shop's page to say the data was erased", SHOP_WAIT, |s| {
                Ok(text_of(s, "#erased"))
            })?;
            let revoke_to_page = revoking.elapsed();
            ensure!(erased.contains("erased"), "erasure notice: {erased:?}");
            ensure!(
                b.find_all("#greeting")?.is_empty() && b.find_all("#your-size")?.is_empty(),
                "the page still shows the owner's data after the erasure"
            );
            shots_of_both(d, &mut b, "5-erased")?;
            b.navigate(&format!("{origin}/holdings"))?;
            let holds = b.wait_for("body")?.text()?;
            ensure!(
                !holds.contains("Ada") && holds.contains("erased"),
                "the holdings page after revoking: {holds:?}"
            );
            b.shot("holdings-erased")?;

            let report = format!(
                "click \"Share with Locket\" → the request shows in the app: {:.2} s\n\
                 click → the personalised page (including the approval, done at once by the test): {:.2} s\n\
                 approve → the personalised page: {:.2} s\n\
                 \"Send now\" of a size edit → the page shows it: {:.2} s\n\
                 revoke → the page says it erased the data: {:.2} s\n",
                card_shown.as_secs_f64(),
                personalised.as_secs_f64(),
                approve_to_page.as_secs_f64(),
                update_to_page.as_secs_f64(),
                revoke_to_page.as_secs_f64(),
            );
            eprint!("{report}");
            fs::write(d.work.artifacts.join("timings.txt"), report)
                .map_err(|e| E2eError::Io(format!("timings.txt: {e}")))?;
            Ok(())
        })
}

/// The trimmed text of the first element matching `css`, if there is one.
fn text_of(s: &Session, css: &str) -> Option<String> {
    s.find(css).and_then(|e| e.text()).ok().map(|t| t.trim().to_owned())
}

/// Starts examples/storefront on a free port with the scenario's development certificate; returns its origin.
fn start_storefront(d: &Desktop) -> Result<String> {
    let root = workspace_root();
    let server = root.join("examples/storefront/server.mjs");
    ensure!(
        server.is_file(),
        "{} is missing (and its npm install: scripts/setup)",
        server.display()
    );
    let tls = d.work.tmp.join("shop/tls");
    let data = d.work.tmp.join("shop/data");
    let mut cmd = Command::new("node");
    cmd.arg(&server)
        .args([
            "--host",
            "shop.test",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "Northwind Outfitters",
        ])
        .arg("--tls-cert")
        .arg(tls.join("cert.pem"))
        .arg("--tls-key")
        .arg(tls.join("key.pem"))
        .arg("--data")
        .arg(&data);
    let log = d.work.background("storefront", &mut cmd)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if let Some(origin) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("storefront listening on "))
        {
            return Ok(origin.trim().to_owned());
        }
        if Instant::now() >= deadline {
            return Err(E2eError::Timeout(format!(
                "the storefront did not start within 30 s; see {}",
                log.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
