//! Receiving releases: the real `locket-retailer serve` on a loopback port with a development certificate, and
//! Locket's side played by the wire crate — a grant file from `grantfile::build` with an owner's pairwise
//! signer (`Issuers::token_signer("shop.test")`), releases sealed with `release::seal` to the key the shop's
//! metadata publishes and POSTed with `release::webhook_headers`. The `state` comes from a request the test
//! published with the crate's own `publish`.

use chrono::{Duration, SecondsFormat, Utc};
use locket_retailer_server::holdings::{Holdings, SubjectHoldings};
use locket_retailer_server::publish::{publish, PublishOptions, ScopeAsk};
use locket_retailer_server::store::DataDir;
use locket_wire::grantfile::{self, GrantFile, GrantFileScope, GrantRetailer, GrantSpec};
use locket_wire::metadata::{parse_metadata, PublicJwk, RetailerKeys};
use locket_wire::release::{
    seal, webhook_headers, Ended, EndedBy, Release, ReleaseEvent, ReleasedField, Sealed, WebhookHeaders,
    MAX_RELEASE_BYTES, RELEASE_CONTENT_TYPE, RELEASE_FORMAT,
};
use locket_wire::{FieldRef, Issuers, Purpose, Retention, ScopeKind, TokenSigner};

use crate::server::{run, s, shop, text, Running, Shop};

/// An owner's Locket, as far as one shop sees it: the pairwise signer for `retailer`.
fn owner(seed: u8, retailer: &str) -> TokenSigner {
    Issuers::from_secrets(&[seed; 32], &[seed ^ 0x5a; 32], &format!("vault-{seed}"))
        .token_signer(retailer)
        .unwrap()
}

fn hex32() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A grant file for `retailer`, signed by `signer`.
fn grant_file(signer: &TokenSigner, retailer: &str) -> GrantFile {
    let now = Utc::now();
    let scope = |scope: &str, label: &str, fields: &[(&str, &str)]| GrantFileScope {
        scope: scope.into(),
        kind: if fields.len() == 1 {
            ScopeKind::Field
        } else {
            ScopeKind::Group
        },
        label: label.into(),
        purpose: Purpose::OrderFulfilment,
        purpose_text: None,
        fields: fields
            .iter()
            .map(|(key, label)| FieldRef {
                key: (*key).into(),
                label: (*label).into(),
            })
            .collect(),
    };
    let spec = GrantSpec {
        grant_id: format!("gr_{}", hex32()),
        retailer: GrantRetailer {
            id: retailer.into(),
            name: "Test Shop".into(),
            origin: format!("https://{retailer}"),
        },
        scopes: vec![
            scope("contact.email", "Email address", &[("contact.email", "Email address")]),
            scope(
                "sizes",
                "Sizes",
                &[("sizes.shoe", "Shoe size"), ("sizes.top", "Top size")],
            ),
        ],
        issued_at: now,
        expires_at: now + Duration::days(30),
        max_uses: None,
        endpoint: "http://127.0.0.1:7419".into(),
    };
    grantfile::build(signer, &spec).unwrap().1
}

fn field(key: &str, version: u32, value: serde_json::Value) -> ReleasedField {
    ReleasedField {
        key: key.into(),
        label: key.replace('.', " "),
        version,
        value,
        scope: key.split('.').next().filter(|s| *s == "sizes").unwrap_or(key).into(),
    }
}

/// One grant's releases, numbered as Locket numbers them.
struct Grant {
    signer: TokenSigner,
    file: GrantFile,
    state: String,
    retention: String,
}

impl Grant {
    fn new(signer: TokenSigner, state: &str) -> Grant {
        let file = grant_file(&signer, "shop.test");
        Grant {
            signer,
            file,
            state: state.into(),
            retention: "until_grant_ends".into(),
        }
    }

    fn release(&self, event: ReleaseEvent, sequence: u64, fields: Vec<ReleasedField>) -> Release {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        Release {
            format: RELEASE_FORMAT.into(),
            event,
            release_id: format!("rel_{}", hex32()),
            grant_id: self.file.grant_id.clone(),
            sequence,
            subject: self.file.subject.clone(),
            retailer_id: self.file.retailer.id.clone(),
            state: self.state.clone(),
            issued_at: now.clone(),
            grant: (event == ReleaseEvent::Grant).then(|| self.file.clone()),
            fields: event.carries_data().then_some(fields),
            empty_scopes: Vec::new(),
            ended: (!event.carries_data()).then(|| Ended {
                at: now,
                by: if event == ReleaseEvent::Revoke {
                    EndedBy::Owner
                } else {
                    EndedBy::Expiry
                },
                erasure_requested: event == ReleaseEvent::Revoke,
                retention: Retention {
                    max_duration: self.retention.clone(),
                    statement: "What we promised.".into(),
                },
                reason: None,
            }),
        }
    }

    fn seal(&self, release: &Release, to: &PublicJwk) -> Sealed {
        seal(release, &self.signer, to).unwrap()
    }

    /// Headers of one attempt, signed now (or `age` seconds ago).
    fn headers(&self, sealed: &Sealed, age: i64) -> WebhookHeaders {
        webhook_headers(sealed, &self.signer, Utc::now().timestamp() - age).unwrap()
    }
}

/// A running shop, its HTTPS client and the encryption key its metadata publishes.
struct Receiving {
    shop: Shop,
    server: Running,
    http: reqwest::blocking::Client,
    enc: PublicJwk,
}

impl Receiving {
    fn start() -> Receiving {
        let shop = shop();
        let server = shop.serve(&["--name", "Test Shop"]);
        let http = shop.client();
        let body = http
            .get(format!("{}/.well-known/locket-retailer.json", shop.origin))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let enc = parse_metadata(&body, &shop.origin)
            .unwrap()
            .jwks
            .encryption_key()
            .unwrap()
            .clone();
        Receiving {
            shop,
            server,
            http,
            enc,
        }
    }

    /// Publish a request with the crate's own `publish` (as `request publish` does) and return its state.
    fn publish(&self, retention: &str) -> String {
        let options = PublishOptions {
            scopes: vec![ScopeAsk {
                scope: "contact.email".into(),
                purpose: Purpose::OrderFulfilment,
                purpose_text: None,
                required: true,
            }],
            retention: retention.into(),
            ..PublishOptions::default()
        };
        publish(&DataDir::new(&self.shop.data), &options, Utc::now())
            .unwrap()
            .state
    }

    fn post(&self, body: &str, headers: Option<&WebhookHeaders>) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(format!("{}/locket/deliveries", self.shop.origin))
            .header("content-type", RELEASE_CONTENT_TYPE)
            .body(body.to_owned());
        if let Some(h) = headers {
            req = req
                .header("webhook-id", &h.id)
                .header("webhook-timestamp", h.timestamp.to_string())
                .header("webhook-signature", &h.signature);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        assert_eq!(resp.headers()["cache-control"], "no-store");
        (status, resp.json().unwrap())
    }

    /// Seal `release` for `grant`, deliver it once, and return the status and answer.
    fn deliver(&self, grant: &Grant, release: &Release) -> (u16, serde_json::Value) {
        let sealed = grant.seal(release, &self.enc);
        self.post(&sealed.body, Some(&grant.headers(&sealed, 0)))
    }

    fn holdings(&self) -> Vec<SubjectHoldings> {
        match Holdings::open_existing(&DataDir::new(&self.shop.data)).unwrap() {
            Some(h) => h.report().unwrap(),
            None => Vec::new(),
        }
    }
}

/// The server's log once it holds every one of `lines` (its stderr is read by another thread), or after 5 s.
fn log_with(server: &Running, lines: &[&str]) -> String {
    for _ in 0..100 {
        let log = server.stderr();
        if lines.iter().all(|l| log.contains(l)) {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.stderr()
}

/// The code of a refusal, checked to come with a message.
fn refused(answer: &(u16, serde_json::Value)) -> (u16, &str) {
    assert!(
        answer.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
    (answer.0, answer.1["code"].as_str().unwrap_or("?"))
}

fn values(h: &[SubjectHoldings]) -> Vec<(String, u64, serde_json::Value)> {
    h.iter()
        .flat_map(|s| &s.grants)
        .flat_map(|g| &g.fields)
        .map(|f| (f.key.clone(), f.version, f.value.clone()))
        .collect()
}

#[test]
fn a_grant_is_held_replaced_by_updates_applied_once_and_erased_when_revoked() {
    let shop = Receiving::start();
    let state = shop.publish("until_grant_ends");
    let grant = Grant::new(owner(1, "shop.test"), &state);

    // The grant: accepted, and the values are held.
    let first = grant.release(
        ReleaseEvent::Grant,
        1,
        vec![
            field("contact.email", 1, "ada@example.org".into()),
            field("sizes.shoe", 3, serde_json::json!(38)),
        ],
    );
    let sealed_first = grant.seal(&first, &shop.enc);
    let answer = shop.post(&sealed_first.body, Some(&grant.headers(&sealed_first, 0)));
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(
        answer.1,
        serde_json::json!({ "status": "accepted", "release_id": first.release_id, "sequence": 1 })
    );
    let held = shop.holdings();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].subject, grant.file.subject);
    let g = &held[0].grants[0];
    assert_eq!(
        (g.grant_id.as_str(), g.status.as_str(), g.last_sequence),
        (grant.file.grant_id.as_str(), "active", 1)
    );
    assert_eq!(g.key_id, grant.signer.key_id());
    assert_eq!(
        values(&held),
        [
            ("contact.email".into(), 1, "ada@example.org".into()),
            ("sizes.shoe".into(), 3, serde_json::json!(38)),
        ]
    );

    // An update replaces them: a new version, and a value no longer carried is gone.
    let mut update = grant.release(
        ReleaseEvent::Update,
        2,
        vec![field("contact.email", 2, "ada@new.example".into())],
    );
    update.empty_scopes = vec!["sizes".into()];
    assert_eq!(shop.deliver(&grant, &update).0, 200);
    let held = shop.holdings();
    assert_eq!(values(&held), [("contact.email".into(), 2, "ada@new.example".into())]);
    assert_eq!(held[0].grants[0].last_sequence, 2);

    // The grant release again (a retry: same body, fresh headers): a duplicate, not applied again.
    let answer = shop.post(&sealed_first.body, Some(&grant.headers(&sealed_first, 0)));
    assert_eq!(
        answer,
        (
            200,
            serde_json::json!({ "status": "duplicate", "release_id": first.release_id })
        )
    );
    assert_eq!(shop.holdings(), held, "a duplicate changes nothing");

    // A new release with an old sequence number: out of order, nothing changes.
    for sequence in [1, 2] {
        let old = grant.release(
            ReleaseEvent::Update,
            sequence,
            vec![field("contact.email", 9, "old@example.org".into())],
        );
        assert_eq!(refused(&shop.deliver(&grant, &old)), (409, "release_out_of_order"));
    }
    assert_eq!(shop.holdings(), held);

    // Revoke (#3 was withdrawn by Locket: a gap is fine): erased and recorded, the grant ended.
    let revoke = grant.release(ReleaseEvent::Revoke, 4, Vec::new());
    let answer = shop.deliver(&grant, &revoke);
    assert_eq!(answer.0, 200, "{}", answer.1);
    let held = shop.holdings();
    assert!(values(&held).is_empty());
    let g = &held[0].grants[0];
    assert_eq!(
        (g.status.as_str(), g.ended_by.as_deref(), g.last_sequence),
        ("ended", Some("owner"), 4)
    );
    assert!(g.erasure_requested && g.erased_at.is_some(), "{g:?}");
    assert_eq!(held[0].erasures.len(), 1);
    let e = &held[0].erasures[0];
    assert_eq!(
        (e.grant_id.as_str(), e.deleted, e.reason.as_str()),
        (grant.file.grant_id.as_str(), 1, "revoke")
    );

    // Data after the revoke: the shop ended the grant (410), and holds nothing more.
    let late = grant.release(
        ReleaseEvent::Update,
        5,
        vec![field("contact.email", 3, "ada@late.example".into())],
    );
    assert_eq!(refused(&shop.deliver(&grant, &late)), (410, "release_grant_ended"));
    assert_eq!(shop.holdings(), held);

    // One log line per delivery, without any value.
    let log = log_with(&shop.server, &["refused 409", "refused 410"]);
    assert!(
        log.contains(&format!(
            "delivery {} grant {} #1 grant: accepted",
            first.release_id, grant.file.grant_id
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("delivery {}", first.release_id)) && log.contains(": duplicate"),
        "{log}"
    );
    assert!(log.contains("refused 409 release_out_of_order"), "{log}");
    assert!(log.contains("refused 410 release_grant_ended"), "{log}");
    assert!(!log.contains("ada@"), "no value is logged: {log}");
    assert!(shop.server.stop().success());
}

#[test]
fn releases_that_fail_a_check_are_refused_and_nothing_is_stored() {
    let shop = Receiving::start();
    let state = shop.publish("until_grant_ends");
    let grant = Grant::new(owner(2, "shop.test"), &state);
    let email = || vec![field("contact.email", 1, "bo@example.org".into())];
    let first = grant.release(ReleaseEvent::Grant, 1, email());

    // A state this shop never published.
    let stranger = Grant::new(owner(3, "shop.test"), "never-published-state-0123");
    let r = stranger.release(ReleaseEvent::Grant, 1, email());
    assert_eq!(refused(&shop.deliver(&stranger, &r)), (403, "release_state_unknown"));
    // A later release of a grant this shop never accepted.
    let r = stranger.release(ReleaseEvent::Update, 2, email());
    assert_eq!(refused(&shop.deliver(&stranger, &r)), (409, "release_grant_unknown"));

    // Sealed to another shop's encryption key.
    let other_keys = RetailerKeys::generate().unwrap();
    let other_meta = other_keys
        .metadata(
            "https://other.test",
            "Other",
            "privacy@other.test",
            "https://other.test/privacy",
            "https://other.test/locket/deliveries",
        )
        .unwrap();
    let other_enc = parse_metadata(other_meta.to_string().as_bytes(), "https://other.test")
        .unwrap()
        .jwks
        .encryption_key()
        .unwrap()
        .clone();
    let sealed = grant.seal(&first, &other_enc);
    assert_eq!(
        refused(&shop.post(&sealed.body, Some(&grant.headers(&sealed, 0)))),
        (400, "release_decrypt_failed")
    );

    // Altered on the way: one character of the ciphertext.
    let sealed = grant.seal(&first, &shop.enc);
    let mut parts: Vec<String> = sealed.body.split('.').map(str::to_owned).collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, flipped);
    let tampered = Sealed {
        body: parts.join("."),
        ..sealed.clone()
    };
    assert_eq!(
        refused(&shop.post(&tampered.body, Some(&grant.headers(&tampered, 0)))),
        (400, "release_decrypt_failed")
    );

    // A replay from long ago.
    assert_eq!(
        refused(&shop.post(&sealed.body, Some(&grant.headers(&sealed, 600)))),
        (401, "release_timestamp_stale")
    );
    // Re-sent under another id.
    let renamed = WebhookHeaders {
        id: format!("rel_{}", hex32()),
        ..grant.headers(&sealed, 0)
    };
    assert_eq!(
        refused(&shop.post(&sealed.body, Some(&renamed))),
        (401, "release_invalid_signature")
    );
    // No headers at all.
    assert_eq!(
        refused(&shop.post(&sealed.body, None)),
        (400, "release_headers_invalid")
    );
    // Over the cap: announced, or found out while reading a chunked body.
    let huge = "A".repeat(MAX_RELEASE_BYTES + 1);
    assert_eq!(
        refused(&shop.post(&huge, Some(&grant.headers(&sealed, 0)))),
        (413, "release_too_large")
    );
    let h = grant.headers(&sealed, 0);
    let resp = shop
        .http
        .post(format!("{}/locket/deliveries", shop.shop.origin))
        .header("webhook-id", &h.id)
        .header("webhook-timestamp", h.timestamp.to_string())
        .header("webhook-signature", &h.signature)
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(huge.into_bytes())))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.json::<serde_json::Value>().unwrap()["code"], "release_too_large");

    assert!(shop.holdings().is_empty(), "nothing is stored for a refused release");

    // None of that used the state up: the real grant release is accepted.
    let answer = shop.post(&sealed.body, Some(&grant.headers(&sealed, 0)));
    assert_eq!(answer.0, 200, "{}", answer.1);
    let held = shop.holdings();

    // Another retailer's key (the owner's pairwise key for another shop) for this grant.
    let impostor = Grant {
        signer: owner(2, "other.example"),
        file: grant.file.clone(),
        state: state.clone(),
        retention: grant.retention.clone(),
    };
    let r = impostor.release(
        ReleaseEvent::Update,
        2,
        vec![field("contact.email", 2, "evil@example.org".into())],
    );
    assert_eq!(refused(&shop.deliver(&impostor, &r)), (401, "release_unknown_key"));

    // The same state for a second grant: a state binds one grant.
    let second = Grant::new(owner(4, "shop.test"), &state);
    let r = second.release(ReleaseEvent::Grant, 1, email());
    assert_eq!(refused(&shop.deliver(&second, &r)), (403, "release_state_unknown"));

    // A grant made out to another retailer, even with one of this shop's states.
    let fresh = shop.publish("until_grant_ends");
    let signer = owner(5, "other.example");
    let elsewhere = Grant {
        file: grant_file(&signer, "other.example"),
        signer,
        state: fresh,
        retention: "until_grant_ends".into(),
    };
    let r = elsewhere.release(ReleaseEvent::Grant, 1, email());
    assert_eq!(
        refused(&shop.deliver(&elsewhere, &r)),
        (403, "release_retailer_mismatch")
    );

    assert_eq!(shop.holdings(), held, "nothing more is stored");
    let expected = [
        "refused 403 release_state_unknown",
        "refused 409 release_grant_unknown",
        "refused 400 release_decrypt_failed",
        "refused 401 release_timestamp_stale",
        "refused 413 release_too_large",
        "refused 401 release_unknown_key",
        "refused 403 release_retailer_mismatch",
    ];
    let log = log_with(&shop.server, &expected);
    for code in expected {
        assert!(log.contains(code), "{code}: {log}");
    }
}

#[test]
fn an_expiry_erases_or_keeps_the_values_as_the_request_promised() {
    let shop = Receiving::start();
    let email = |v: &str| vec![field("contact.email", 1, v.into())];

    let mut brief = Grant::new(owner(6, "shop.test"), &shop.publish("until_grant_ends"));
    brief.retention = "until_grant_ends".into();
    let mut kept = Grant::new(owner(7, "shop.test"), &shop.publish("P90D"));
    kept.retention = "P90D".into();
    for g in [&brief, &kept] {
        let r = g.release(ReleaseEvent::Grant, 1, email("cy@example.org"));
        assert_eq!(shop.deliver(g, &r).0, 200);
    }
    assert_eq!(values(&shop.holdings()).len(), 2);

    for g in [&brief, &kept] {
        let r = g.release(ReleaseEvent::Expire, 2, Vec::new());
        assert_eq!(shop.deliver(g, &r).0, 200);
    }
    let held = shop.holdings();
    let of = |g: &Grant| held.iter().find(|s| s.subject == g.file.subject).unwrap().clone();
    let b = of(&brief);
    assert!(b.grants[0].fields.is_empty());
    assert_eq!(b.grants[0].ended_by.as_deref(), Some("expiry"));
    assert_eq!(
        (b.erasures.len(), b.erasures[0].reason.as_str(), b.erasures[0].deleted),
        (1, "expire", 1)
    );
    let k = of(&kept);
    assert_eq!(k.grants[0].fields.len(), 1, "kept under the promise");
    assert_eq!(k.grants[0].kept_under.as_deref(), Some("P90D"));
    assert!(k.erasures.is_empty());

    // An ended grant takes no data; a revoke after the expiry still erases what was kept.
    let r = kept.release(ReleaseEvent::Update, 3, email("cy@new.example"));
    assert_eq!(refused(&shop.deliver(&kept, &r)), (410, "release_grant_ended"));
    let r = kept.release(ReleaseEvent::Revoke, 4, Vec::new());
    assert_eq!(shop.deliver(&kept, &r).0, 200);
    let k = shop
        .holdings()
        .into_iter()
        .find(|s| s.subject == kept.file.subject)
        .unwrap();
    assert!(k.grants[0].fields.is_empty());
    assert_eq!(k.grants[0].kept_under, None);
    assert_eq!(
        k.grants[0].ended_by.as_deref(),
        Some("expiry"),
        "it ended when it expired"
    );
    assert!(k.grants[0].erasure_requested);
    assert_eq!(k.erasures.len(), 1);
    assert_eq!(k.erasures[0].reason, "revoke");
}

#[test]
fn holdings_prints_each_subject_with_its_grants_values_and_erasures() {
    let shop = Receiving::start();
    let data = s(&shop.shop.data).to_owned();
    let holdings = |json: bool| {
        let mut args = vec!["holdings", "--data", data.as_str()];
        if json {
            args.push("--json");
        }
        let o = run(&args);
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{stderr}");
        (stdout, stderr)
    };
    let (stdout, _) = holdings(false);
    assert!(stdout.starts_with("Nothing received yet"), "{stdout}");

    let first = Grant::new(owner(8, "shop.test"), &shop.publish("until_grant_ends"));
    let r = first.release(
        ReleaseEvent::Grant,
        1,
        vec![
            field("contact.email", 4, "dee@example.org".into()),
            // A value that tries to drive the terminal.
            field("sizes.top", 1, "M\u{1b}[2K\rL".into()),
        ],
    );
    assert_eq!(shop.deliver(&first, &r).0, 200);
    let second = Grant::new(owner(9, "shop.test"), &shop.publish("until_grant_ends"));
    let r = second.release(
        ReleaseEvent::Grant,
        1,
        vec![field("contact.email", 1, "eve@example.org".into())],
    );
    assert_eq!(shop.deliver(&second, &r).0, 200);
    let r = second.release(ReleaseEvent::Revoke, 2, Vec::new());
    assert_eq!(shop.deliver(&second, &r).0, 200);

    let (stdout, stderr) = holdings(false);
    assert!(stdout.contains(&format!("Subject {}", first.file.subject)), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "Grant {}: active; last release #1; key {}",
            first.file.grant_id,
            first.signer.key_id()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("contact.email  dee@example.org  (v4, contact email, under contact.email, received "),
        "{stdout}"
    );
    assert!(stdout.contains("M\\u{1b}[2K\\u{d}L"), "escaped: {stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "no control character reaches the terminal"
    );
    assert!(
        stdout.contains(&format!("Grant {}: revoked by the owner on ", second.file.grant_id)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Erased 1 value(s) of grant {} on ", second.file.grant_id))
            && stdout.contains("(the owner revoked the grant)"),
        "{stdout}"
    );
    assert!(!stdout.contains("eve@example.org"), "an erased value is gone: {stdout}");
    assert!(stderr.contains("2 subject(s), 2 grant(s), 2 value(s) held"), "{stderr}");

    let (stdout, _) = holdings(true);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let subjects = v["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 2);
    let g = &subjects[0]["grants"][0];
    assert_eq!(g["grant_id"], first.file.grant_id.as_str());
    assert_eq!(g["status"], "active");
    assert_eq!(g["last_sequence"], 1);
    assert_eq!(g["key_id"], first.signer.key_id());
    assert_eq!(g["fields"][1]["value"], "M\u{1b}[2K\rL", "JSON keeps the value exactly");
    assert_eq!(subjects[1]["erasures"][0]["reason"], "revoke");
    assert_eq!(subjects[1]["grants"][0]["ended_by"], "owner");
}
