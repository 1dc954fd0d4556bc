//! The application layer driven as a front end drives it, with real vaults on disk and the real endpoint on
//! loopback. The idle auto-lock is proven with **no front end at all** (nothing reports activity, as with a
//! frozen web view): the vault locks, the endpoint refuses with `vault_locked`, and every key is dropped.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use locket_app::grants::ApproveInput;
use locket_app::{AppEvent, LockReason, Locket, Options, Unlock};
use locket_grants::receipt::Collection;
use locket_grants::store::RequestSource;
use locket_vault::Passphrase;

const PASSPHRASE: &str = "violet harbour quilt 37 lantern";

/// `locket-app` derives keys with `KdfParams::from_env()`, so the cheap test profile can only be chosen through
/// `LOCKET_KDF_PROFILE`. It is set once per process (never changed or removed afterwards), before the first
/// vault of any test is made; `std::env` reads and writes share one lock, and nothing else in this binary
/// reads or writes the environment, so tests running in parallel threads all see the same value.
fn fast_kdf() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("LOCKET_KDF_PROFILE", "test"));
}

fn options(idle: Option<Duration>) -> Options {
    fast_kdf();
    Options {
        collection: Collection::Desktop,
        listen_override: Some("127.0.0.1:0".parse().unwrap()),
        listen_refused: None,
        idle_override: idle,
        serve: true,
    }
}

/// The sample request (the shared fixture), made fresh (new nonce, created now).
fn sample_request() -> Vec<u8> {
    crate::kit::Request::new().bytes()
}

/// A vault with an email, a grant for it, and the grant's token; the session's server address.
async fn unlocked_with_grant(locket: &Locket) -> (String, SocketAddr) {
    locket.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    let s = locket.session().unwrap();
    let url = s.server_url().await;
    let token = locket_app::blocking(move || {
        s.set_value("contact.email".into(), "ada@example.com".into())?;
        let req = s.import_request(
            sample_request(),
            RequestSource::File {
                path: "request.json".into(),
            },
        )?;
        let issued = s.approve(
            ApproveInput {
                request_id: req.id,
                scopes: vec!["contact.email".into()],
                expires_in_seconds: Some(3600),
                max_uses: None,
                minimize: false,
                allow_age_bracketing: false,
            },
            url,
        )?;
        let file: serde_json::Value = serde_json::from_str(&issued.grant_file).unwrap();
        Ok(file["token"].as_str().unwrap().to_owned())
    })
    .await
    .unwrap();
    let addr = locket.info().await.unwrap().endpoint.address.unwrap().parse().unwrap();
    (token, addr)
}

async fn fetch(addr: SocketAddr, token: &str) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let token = token.to_owned();
    tokio::task::spawn_blocking(move || {
        let r = reqwest::blocking::Client::new()
            .get(format!("http://{addr}/v1/data"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()?;
        let status = r.status().as_u16();
        Ok((status, r.json().unwrap_or(serde_json::Value::Null)))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_auto_lock_needs_no_front_end_and_stops_serving() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(Some(Duration::from_secs(3))));
    let mut events = locket.subscribe();
    let (token, addr) = unlocked_with_grant(&locket).await;
    let endpoint = locket.session().unwrap().endpoint().clone();
    let (status, body) = fetch(addr, &token).await.unwrap();
    assert_eq!(status, 200, "{body}");

    // Nothing reports activity from here on: the timer in Rust must lock on its own.
    let started = Instant::now();
    while locket.is_unlocked() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still unlocked after 60 s idle"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Bounded, so a lock that never announces itself fails this test instead of hanging the suite.
    let reason = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await.unwrap() {
                AppEvent::Locked(r) => break r,
                _ => continue,
            }
        }
    })
    .await
    .expect("the vault locked after idling, but no AppEvent::Locked was sent within 30 s");
    assert_eq!(reason, LockReason::Idle);
    assert_eq!(locket.session().unwrap_err().code, "vault_locked");

    // The endpoint object no longer holds the vault: served anywhere, it refuses with vault_locked ...
    let listener = locket_endpoint::bind("127.0.0.1:0").await.unwrap();
    let server = locket_endpoint::spawn(listener, endpoint).unwrap();
    let (status, body) = fetch(server.addr(), &token).await.unwrap();
    assert_eq!(body["code"], "vault_locked", "{status} {body}");
    server.shutdown().await.unwrap();
    // ... and the session's own server is gone.
    assert!(
        fetch(addr, &token).await.is_err(),
        "the endpoint still answers after the auto-lock"
    );

    // Unlocking again works and the grant is served again.
    let info = locket
        .unlock(Unlock::Passphrase(Passphrase::new(PASSPHRASE.into())))
        .await
        .unwrap();
    let addr: SocketAddr = info.endpoint.address.unwrap().parse().unwrap();
    assert_eq!(fetch(addr, &token).await.unwrap().0, 200);
    locket.lock(LockReason::Button).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_keeps_the_session_open() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(Some(Duration::from_secs(2))));
    locket.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        locket.touch();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(locket.is_unlocked(), "locked although the owner kept using it");
    locket.lock(LockReason::Button).await.unwrap();
    assert!(!locket.is_unlocked());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_passphrase_rule_and_failed_unlocks_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(None));
    let short = locket.create(Passphrase::new("short".into()), false).await.unwrap_err();
    assert_eq!(short.code, "passphrase_too_short");
    assert!(
        !dir.path().join("vault").exists(),
        "a refused passphrase must not leave a vault behind"
    );
    locket.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    locket.lock(LockReason::Button).await.unwrap();

    let wrong = locket
        .unlock(Unlock::Passphrase(Passphrase::new("not the passphrase".into())))
        .await
        .unwrap_err();
    assert_eq!(wrong.code, "wrong_passphrase");
    assert_eq!(wrong.kind, locket_app::ErrorKind::Unauthenticated);
    locket
        .unlock(Unlock::Passphrase(Passphrase::new(PASSPHRASE.into())))
        .await
        .unwrap();
    let s = locket.session().unwrap();
    let page = locket_app::blocking(move || s.activity(&Default::default(), None, 50))
        .await
        .unwrap();
    let kinds: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"unlock_failed"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "unlock").count(), 2, "{kinds:?}");
    locket.lock(LockReason::Button).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retailer_page_and_chart_come_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(None));
    let (token, addr) = unlocked_with_grant(&locket).await;
    for _ in 0..3 {
        assert_eq!(fetch(addr, &token).await.unwrap().0, 200);
    }
    let s = locket.session().unwrap();
    let (detail, chart, everyone, all) = locket_app::blocking(move || {
        Ok((
            s.retailer("shop.example")?,
            s.activity_chart(7, Some("shop.example"))?,
            s.activity_chart(7, None)?,
            s.retailers()?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(detail.grants.len(), 1);
    assert_eq!(detail.disclosures.len(), 3);
    assert!(detail.disclosures.iter().all(|d| d.field == "contact.email"));
    assert_eq!(chart.iter().map(|d| d.allowed).sum::<u64>(), 3);
    assert_eq!(everyone.iter().map(|d| d.allowed).sum::<u64>(), 3);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].active_grants, 1);

    // Revoke-all cuts the retailer off at once.
    let s = locket.session().unwrap();
    let n = locket_app::blocking(move || s.revoke_all("shop.example"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (status, body) = fetch(addr, &token).await.unwrap();
    assert_eq!(body["code"], "grant_revoked", "{status} {body}");
    let s = locket.session().unwrap();
    let chart = locket_app::blocking(move || s.activity_chart(7, Some("shop.example")))
        .await
        .unwrap();
    assert_eq!(chart.iter().map(|d| d.refused).sum::<u64>(), 1);
    locket.lock(LockReason::Button).await.unwrap();
}

/// The weak test KDF profile is honoured only by debug builds (the test suites'); a release build refuses it
/// with a named code instead of silently making weak key slots and exports.
#[test]
fn the_weak_test_kdf_profile_is_refused_by_release_builds() {
    use locket_vault::KdfParams;
    assert_eq!(KdfParams::for_profile(Some("test"), true), Ok(KdfParams::for_tests()));
    let refused = KdfParams::for_profile(Some("test"), false).unwrap_err();
    assert_eq!(refused.code(), "kdf_test_profile_refused");
    let e = locket_app::AppError::from(refused);
    assert_eq!(e.kind, locket_app::ErrorKind::Invalid);
    for build in [true, false] {
        assert_eq!(KdfParams::for_profile(None, build), Ok(KdfParams::default()));
        assert_eq!(KdfParams::for_profile(Some("fast"), build), Ok(KdfParams::default()));
    }
    assert_eq!(
        KdfParams::from_env().is_ok(),
        cfg!(debug_assertions) || !KdfParams::test_profile_requested(),
        "this build applies the rule to its own environment"
    );
}

/// Every desktop use case that sets a passphrase applies the one rule (create, change, recover-and-set, an
/// encrypted export), and a refused one changes nothing: the old passphrase still opens the vault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_passphrase_obeys_the_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(None));
    let (recovery, _) = locket.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    let changed = locket
        .change_passphrase(Passphrase::new(PASSPHRASE.into()), Passphrase::new("short".into()))
        .await
        .unwrap_err();
    assert_eq!(changed.code, "passphrase_too_short");
    let s = locket.session().unwrap();
    let out = dir.path().join("export.json");
    let o2 = out.clone();
    let export = locket_app::blocking(move || s.export_all(&o2, Some(&Passphrase::new("1234567".into())), &|_, _| {}))
        .await
        .unwrap_err();
    assert_eq!(export.code, "passphrase_too_short");
    assert!(!out.exists(), "a refused export passphrase writes nothing");
    locket.lock(LockReason::Button).await.unwrap();
    let key = locket_vault::RecoveryKey::parse(recovery.expose()).unwrap();
    let recovered = locket
        .unlock(Unlock::Recovery {
            key,
            new_passphrase: Passphrase::new("   ".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(recovered.code, "passphrase_empty");
    locket
        .unlock(Unlock::Passphrase(Passphrase::new(PASSPHRASE.into())))
        .await
        .expect("the old passphrase still opens the vault");
    locket.lock(LockReason::Button).await.unwrap();
}

/// A passphrase change and a recovery-key reset re-key the vault while the owner's session is serving (writer
/// thread, read connection, endpoint, automatic backups): the session is closed for it and opened again, the
/// grant keeps working, and only the new secrets open the vault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekeying_a_serving_session_reopens_it_under_the_new_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let locket = Locket::new(&dir, options(None));
    let (token, addr) = unlocked_with_grant(&locket).await;
    assert_eq!(fetch(addr, &token).await.unwrap().0, 200);
    let s = locket.session().unwrap();
    locket_app::blocking(move || Ok(s.vault().backup_now("manual")?))
        .await
        .unwrap();

    let next = "a completely new passphrase 2";
    let wrong = locket
        .change_passphrase(
            Passphrase::new("not the passphrase".into()),
            Passphrase::new(next.into()),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code, "wrong_passphrase");
    assert!(locket.is_unlocked(), "a wrong current passphrase changes nothing");
    let new_key = locket
        .change_passphrase(Passphrase::new(PASSPHRASE.into()), Passphrase::new(next.into()))
        .await
        .unwrap();
    assert!(new_key.is_none());
    assert!(locket.is_unlocked(), "the session is open again after the re-key");
    let addr = locket.info().await.unwrap().endpoint.address.unwrap().parse().unwrap();
    let (status, body) = fetch(addr, &token).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let recovery = locket.reset_recovery_key(Passphrase::new(next.into())).await.unwrap();
    assert_eq!(recovery.expose().len(), 47);
    locket.lock(LockReason::Button).await.unwrap();

    let d = dir.clone();
    locket_app::blocking(move || {
        assert_eq!(
            locket_vault::Vault::unlock(&d, &Passphrase::new(PASSPHRASE.into()))
                .unwrap_err()
                .code(),
            "wrong_passphrase"
        );
        let v = locket_vault::Vault::unlock(&d, &Passphrase::new(next.into()))?;
        for b in locket_vault::backup::list(&d)? {
            assert!(v.verify_backup(&b.id)?.integrity_problems.is_empty());
        }
        drop(v);
        locket_vault::Vault::unlock_with_recovery(&d, &locket_vault::RecoveryKey::parse(recovery.expose())?)?;
        Ok(())
    })
    .await
    .unwrap();
}

/// Anyone can send a request claiming any shop's id. The details the owner first saw for a retailer are the ones
/// its grants and its page keep showing; a later request under the same id with other details is flagged with
/// what differs, never taken as the shop's new word; and a flood under one name is capped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retailers_first_seen_details_are_kept_and_a_different_claim_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(None));
    let (_token, _addr) = unlocked_with_grant(&locket).await;
    let s = locket.session().unwrap();
    let (forged, page, grants, again, capped) = locket_app::blocking(move || {
        let mut claim = crate::kit::Request::new()
            .retailer_name("Example Shop — claim your refund")
            .json();
        claim["retailer"]["contact"] = serde_json::json!("refunds@attacker.example");
        let forged = s.import_request(
            serde_json::to_vec(&claim).unwrap(),
            RequestSource::Http {
                remote_addr: Some("127.0.0.9:40000".into()),
                origin_header: None,
                user_agent: None,
            },
        )?;
        let page = s.retailer("shop.example")?;
        let grants = s.grants()?;
        let again = s.request(&forged.id)?;
        // Ten undecided requests per claimed retailer, however they arrive: the forged one is the first.
        let mut capped = None;
        for _ in 0..10 {
            let file = RequestSource::File {
                path: "request.json".into(),
            };
            if let Err(e) = s.import_request(sample_request(), file) {
                capped = Some(e);
                break;
            }
        }
        Ok((forged, page, grants, again, capped))
    })
    .await
    .unwrap();
    assert_eq!(page.retailer.name, "Example Shop", "the page keeps the first-seen name");
    assert_eq!(page.retailer.contact.as_deref(), Some("privacy@shop.example"));
    assert!(grants.iter().all(|g| g.retailer.name == "Example Shop"));
    for r in [&forged, &again] {
        let changed: Vec<(&str, &str, &str)> = r
            .retailer_changes
            .iter()
            .map(|c| (c.field, c.first_seen.as_str(), c.claimed.as_str()))
            .collect();
        assert_eq!(
            changed,
            [
                ("name", "Example Shop", "Example Shop — claim your refund"),
                ("contact", "privacy@shop.example", "refunds@attacker.example"),
            ]
        );
    }
    let capped = capped.expect("the eleventh undecided request from one retailer is refused");
    assert_eq!(capped.code, "requests_pending_limit");
    assert!(capped.message.contains("shop.example"), "{}", capped.message);
}

/// An export shows the fingerprint of the vault that signed it; a file whose activity log was taken from (or
/// re-signed by) another vault is refused before anything is imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_names_its_signer_and_a_spliced_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut prints = Vec::new();
    for name in ["a", "b"] {
        let locket = Locket::new(tmp.path().join(name), options(None));
        unlocked_with_grant(&locket).await;
        let s = locket.session().unwrap();
        let out = tmp.path().join(format!("{name}.json"));
        let o2 = out.clone();
        let done = locket_app::blocking(move || s.export_all(&o2, None, &|_, _| {}))
            .await
            .unwrap();
        assert_eq!(
            done.fingerprint.len(),
            39,
            "8 groups of 4 hex digits: {}",
            done.fingerprint
        );
        prints.push(done.fingerprint);
        files.push(out);
        locket.lock(LockReason::Button).await.unwrap();
    }
    assert_ne!(prints[0], prints[1], "each vault has its own key");

    // Vault A's file with vault B's signed log spliced in.
    let mut a: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    let mut spliced_log = b["sections"]["audit"].clone();
    spliced_log["source_vault_id"] = a["source"]["vault_id"].clone();
    a["sections"]["audit"] = spliced_log;
    let spliced = tmp.path().join("spliced.json");
    std::fs::write(&spliced, serde_json::to_vec(&a).unwrap()).unwrap();

    let target = Locket::new(tmp.path().join("target"), options(None));
    target.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    let s = target.session().unwrap();
    let p = spliced.clone();
    let refused = locket_app::blocking(move || s.import_all(&p, None, &|_, _| {}))
        .await
        .unwrap_err();
    assert_eq!(refused.code, "export_signer_mismatch");
    assert!(refused.message.contains("nothing was imported"), "{}", refused.message);
    let s = target.session().unwrap();
    let grants = locket_app::blocking(move || s.grants()).await.unwrap();
    assert!(grants.is_empty(), "nothing was imported");

    // The untouched file imports and names vault A's key.
    let s = target.session().unwrap();
    let p = files[0].clone();
    let imported = locket_app::blocking(move || s.import_all(&p, None, &|_, _| {}))
        .await
        .unwrap();
    assert_eq!(imported.fingerprint.as_deref(), Some(prints[0].as_str()));
    target.lock(LockReason::Button).await.unwrap();
}

/// What a shop offers in return and who else gets the data reach the owner's screen in plain words and are
/// recorded in the consent receipt; a request that names nobody reads as the shop's claim of nobody else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benefit_and_recipients_reach_the_request_and_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let locket = Locket::new(dir.path().join("vault"), options(None));
    locket.create(Passphrase::new(PASSPHRASE.into()), false).await.unwrap();
    let s = locket.session().unwrap();
    let url = s.server_url().await;
    let (offered, plain, receipts, plain_receipts) = locket_app::blocking(move || {
        s.set_value("contact.email".into(), "ada@example.com".into())?;
        let file = || RequestSource::File {
            path: "request.json".into(),
        };
        let with = crate::kit::Request::new()
            .benefit(serde_json::json!({
                "description": "Free delivery on every order",
                "offer": {"kind": "free_shipping"}
            }))
            .recipients(serde_json::json!([
                {"name": "Parcel Express Ltd", "role": "processor", "purpose": "delivery", "country": "DE"},
                {"name": "Insight Co", "role": "third_party", "purpose": "other",
                 "purpose_text": "Market research", "country": "US"}
            ]));
        let offered = s.import_request(with.bytes(), file())?;
        let plain = s.import_request(crate::kit::Request::new().retailer("books.example").bytes(), file())?;
        let approve = |id: &str| ApproveInput {
            request_id: id.to_owned(),
            scopes: vec!["contact.email".into()],
            expires_in_seconds: Some(3600),
            max_uses: None,
            minimize: false,
            allow_age_bracketing: false,
        };
        let a = s.approve(approve(&offered.id), url.clone())?;
        let b = s.approve(approve(&plain.id), url)?;
        let receipts = s.grant_receipts(&a.grant.id)?;
        let plain_receipts = s.grant_receipts(&b.grant.id)?;
        Ok((offered, plain, receipts, plain_receipts))
    })
    .await
    .unwrap();

    let benefit = offered.benefit.as_ref().expect("a benefit");
    assert_eq!(benefit.description, "Free delivery on every order");
    let offer = benefit.offer.as_ref().unwrap();
    assert_eq!(
        (offer.kind, offer.summary.as_deref()),
        ("free_shipping", Some("Free delivery"))
    );
    let who: Vec<(&str, &str, &str, &str)> = offered
        .recipients
        .iter()
        .map(|r| (r.name.as_str(), r.role, r.role_words, r.country_name.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("Parcel Express Ltd", "processor", "works for the shop", "Germany"),
            (
                "Insight Co",
                "third_party",
                "uses your data for its own purposes",
                "United States"
            ),
        ]
    );
    assert_eq!(offered.recipients[1].purpose_text.as_deref(), Some("Market research"));
    assert_eq!((plain.benefit.as_ref(), plain.recipients.len()), (None, 0));

    let r = &receipts[0];
    assert_eq!(r.benefit.as_ref().unwrap().description, "Free delivery on every order");
    let names: Vec<&str> = r.recipients.as_ref().unwrap().iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["Parcel Express Ltd", "Insight Co"]);
    let r = &plain_receipts[0];
    assert_eq!(r.benefit, None);
    assert_eq!(r.recipients.as_deref(), Some(&[][..]), "nobody else, recorded as such");
}
