//! Access-log behaviour on a bare SQLite database carrying the v2 audit tables.
use chrono::{Duration, Utc};
use locket_audit::{
    append, daily_counts, get, heads, maybe_sign_head, pending, query, sign_head, signing_public_key, verify,
    verify_from, Cursor, DisclosedField, EventKind, Filter, NewEvent, Outcome, ProblemKind, HEAD_SIGN_INTERVAL,
};
use rusqlite::Connection;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(locket_audit::MIGRATION_SQL).unwrap();
    c
}

fn redemption(retailer: &str, grant: &str, fields: &[(&str, i64)]) -> NewEvent {
    NewEvent::new(EventKind::Redemption, Outcome::Ok)
        .retailer(retailer)
        .grant(grant)
        .fields(
            fields
                .iter()
                .map(|(k, v)| DisclosedField {
                    key: k.to_string(),
                    version: *v,
                })
                .collect(),
        )
        .remote("127.0.0.1:40000")
        .user_agent("curl/8.0")
        .detail("route", "/v1/data")
}

const SEED: [u8; 32] = [7u8; 32];

#[test]
fn append_query_and_verify() {
    let mut c = db();
    let tx = c.transaction().unwrap();
    for i in 0..30 {
        let r = if i % 3 == 0 { "shop-a" } else { "shop-b" };
        append(
            &tx,
            &redemption(r, &format!("g{}", i % 5), &[("email", 1), ("name.given", 2)]),
        )
        .unwrap();
    }
    append(
        &tx,
        &NewEvent::refusal("grant_revoked", "redemption")
            .retailer("shop-a")
            .grant("g0"),
    )
    .unwrap();
    tx.commit().unwrap();

    let r = verify(&c, None).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.events, 31);
    assert_eq!(r.head_seq, 31);

    // Newest first, keyset paging covers every event exactly once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = query(&c, &Filter::default(), cursor, 7).unwrap();
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (1..=31).rev().collect::<Vec<u64>>());

    let f = Filter {
        retailer: Some("shop-a".into()),
        ..Filter::default()
    };
    let page = query(&c, &f, None, 100).unwrap();
    assert_eq!(page.events.len(), 11);
    assert!(page.events.iter().all(|e| e.retailer.as_deref() == Some("shop-a")));

    let f = Filter {
        outcome: Some(Outcome::Refused),
        ..Filter::default()
    };
    let page = query(&c, &f, None, 100).unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].reason.as_deref(), Some("grant_revoked"));
    assert_eq!(page.events[0].kind, EventKind::Refusal);

    let f = Filter {
        field: Some("email".into()),
        grant: Some("g1".into()),
        ..Filter::default()
    };
    let page = query(&c, &f, None, 100).unwrap();
    assert_eq!(page.events.len(), 6);
    assert!(page.events.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(
        page.events[0].fields[0],
        DisclosedField {
            key: "email".into(),
            version: 1
        }
    );

    let f = Filter {
        field: Some("phone".into()),
        ..Filter::default()
    };
    assert!(query(&c, &f, None, 100).unwrap().events.is_empty());

    let f = Filter {
        kind: Some(EventKind::Refusal),
        ..Filter::default()
    };
    assert_eq!(query(&c, &f, None, 100).unwrap().events.len(), 1);

    let e = get(&c, 3).unwrap().unwrap();
    assert_eq!(e.detail.get("route").and_then(|v| v.as_str()), Some("/v1/data"));
    assert_eq!(e.user_agent.as_deref(), Some("curl/8.0"));
}

#[test]
fn time_ranges_and_daily_counts() {
    let c = db();
    let base = Utc::now() - Duration::days(3);
    for d in 0..3 {
        for i in 0..(d + 1) {
            let ev = redemption("shop", "g", &[("email", 1)]).at(base + Duration::days(d) + Duration::seconds(i));
            append(&c, &ev).unwrap();
        }
    }
    append(
        &c,
        &NewEvent::refusal("token_expired", "redemption").at(base + Duration::days(2) + Duration::hours(1)),
    )
    .unwrap();
    let f = Filter {
        since: Some(base + Duration::days(1)),
        until: Some(base + Duration::days(2)),
        ..Filter::default()
    };
    let page = query(&c, &f, None, 100).unwrap();
    assert_eq!(page.events.len(), 2);
    let all = daily_counts(&c, None, None, 0).unwrap();
    assert_eq!(all.iter().map(|d| d.total).sum::<u64>(), 7);
    assert_eq!(all.iter().map(|d| d.redemptions).sum::<u64>(), 6);
    assert_eq!(all.iter().map(|d| d.refused).sum::<u64>(), 1);
    let empty = Filter {
        since: Some(Utc::now() + Duration::days(1)),
        ..Filter::default()
    };
    assert!(query(&c, &empty, None, 10).unwrap().events.is_empty());
}

/// Data delivered to a shop's server counts as data shared, like a redemption; a delivery that failed is not an
/// access refused; a delivered revocation (no fields) shares nothing.
#[test]
fn daily_counts_count_deliveries_as_data_shared() {
    let c = db();
    let release = |kind: EventKind, outcome: Outcome| {
        NewEvent::new(kind, outcome)
            .retailer("shop")
            .grant("g")
            .detail("release", "rel_1")
            .detail("event", "grant")
    };
    append(&c, &redemption("shop", "g", &[("email", 1)])).unwrap();
    append(&c, &release(EventKind::ReleaseQueued, Outcome::Ok)).unwrap();
    append(
        &c,
        &release(EventKind::DeliveryAttempt, Outcome::Refused).detail("status", 503),
    )
    .unwrap();
    append(
        &c,
        &release(EventKind::DeliveryAttempt, Outcome::Ok).detail("status", 200),
    )
    .unwrap();
    let shared = redemption("shop", "g", &[("email", 1), ("shoe", 2)]);
    let delivered = NewEvent::new(EventKind::ReleaseDelivered, Outcome::Ok)
        .retailer("shop")
        .grant("g")
        .fields(shared.fields.clone());
    append(&c, &delivered).unwrap();
    append(&c, &release(EventKind::ReleaseFailed, Outcome::Refused)).unwrap();
    append(
        &c,
        &NewEvent::new(EventKind::ReleaseDelivered, Outcome::Ok)
            .retailer("shop")
            .grant("g"),
    )
    .unwrap();
    append(&c, &NewEvent::refusal("grant_revoked", "redemption").retailer("shop")).unwrap();

    for days in [
        daily_counts(&c, None, None, 0).unwrap(),
        locket_audit::daily_counts_for_retailer(&c, "shop", None, None, 0).unwrap(),
    ] {
        assert_eq!(days.len(), 1);
        let d = &days[0];
        assert_eq!(d.total, 8);
        assert_eq!(d.redemptions, 1);
        assert_eq!(d.delivered, 1, "only the release carrying fields");
        assert_eq!(d.shared(), 2);
        assert_eq!(d.refused, 3);
        assert_eq!(d.delivery_failures, 2);
        assert_eq!(d.refused_accesses(), 1, "only the refused redemption");
    }
}

#[test]
fn times_never_decrease() {
    let c = db();
    append(&c, &NewEvent::new(EventKind::Unlock, Outcome::Ok)).unwrap();
    let back = append(
        &c,
        &NewEvent::new(EventKind::Unlock, Outcome::Ok).at(Utc::now() - Duration::days(10)),
    )
    .unwrap();
    let first = get(&c, 1).unwrap().unwrap();
    assert!(back.time >= first.time);
    assert!(verify(&c, None).unwrap().ok());
}

fn edit(c: &Connection, sql: &str) {
    c.execute_batch(
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
         DROP TRIGGER audit_event_fields_no_delete; DROP TRIGGER audit_heads_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

fn filled(n: usize) -> Connection {
    let c = db();
    for i in 0..n {
        append(&c, &redemption("shop", &format!("g{i}"), &[("email", 1)])).unwrap();
    }
    c
}

#[test]
fn the_log_refuses_edits_through_sql() {
    let c = filled(3);
    assert!(c
        .execute("UPDATE audit_events SET retailer = 'x' WHERE seq = 2", [])
        .is_err());
    assert!(c.execute("DELETE FROM audit_events WHERE seq = 2", []).is_err());
}

#[test]
fn an_edited_row_is_named() {
    let c = filled(10);
    edit(&c, "UPDATE audit_events SET retailer = 'someone-else' WHERE seq = 6");
    let r = verify(&c, None).unwrap();
    let p = r.problem.unwrap();
    assert_eq!((p.seq, p.kind), (6, ProblemKind::HashMismatch));
    assert_eq!(r.events, 5);
}

#[test]
fn an_edited_hash_is_named() {
    let c = filled(10);
    edit(&c, "UPDATE audit_events SET hash = zeroblob(32) WHERE seq = 4");
    assert_eq!(verify(&c, None).unwrap().problem.unwrap().seq, 4);
}

#[test]
fn a_deleted_row_is_named() {
    let c = filled(10);
    edit(&c, "DELETE FROM audit_events WHERE seq = 7");
    let p = verify(&c, None).unwrap().problem.unwrap();
    assert_eq!((p.seq, p.kind), (8, ProblemKind::Missing));
}

#[test]
fn truncation_is_caught_by_a_signed_head() {
    let c = filled(10);
    let h = sign_head(&c, &SEED).unwrap().unwrap();
    assert_eq!(h.seq, 10);
    let pk = signing_public_key(&SEED).unwrap();
    let r = verify(&c, Some(&pk)).unwrap();
    assert!(r.ok());
    assert_eq!(r.signed_heads, 1);
    // A head signed by another key is refused when the vault's key is required.
    let other = signing_public_key(&[9u8; 32]).unwrap();
    assert_eq!(
        verify(&c, Some(&other)).unwrap().problem.unwrap().kind,
        ProblemKind::BadSignedHead
    );

    edit(&c, "DELETE FROM audit_events WHERE seq >= 9");
    let p = verify(&c, Some(&pk)).unwrap().problem.unwrap();
    assert_eq!((p.seq, p.kind), (10, ProblemKind::Truncated));
}

#[test]
fn heads_are_signed_periodically() {
    let c = db();
    let n = HEAD_SIGN_INTERVAL + 5;
    let mut signed = 0;
    for i in 0..n {
        append(
            &c,
            &NewEvent::new(EventKind::Introspection, Outcome::Ok).grant(format!("g{i}")),
        )
        .unwrap();
        if maybe_sign_head(&c, &SEED).unwrap().is_some() {
            signed += 1;
        }
    }
    assert_eq!(signed, 1);
    assert_eq!(heads(&c).unwrap()[0].seq, HEAD_SIGN_INTERVAL);
    assert!(sign_head(&c, &SEED).unwrap().is_some());
    assert!(
        sign_head(&c, &SEED).unwrap().is_none(),
        "an already signed head is not signed twice"
    );
    let r = verify(&c, Some(&signing_public_key(&SEED).unwrap())).unwrap();
    assert!(r.ok());
    assert_eq!(r.signed_heads, 2);
    assert!(verify_from(&c, n - 3, None).unwrap().ok());
}

#[test]
fn field_index_tampering_is_detected() {
    let c = filled(4);
    edit(&c, "DELETE FROM audit_event_fields WHERE seq = 2");
    let p = verify(&c, None).unwrap().problem.unwrap();
    assert_eq!(p.kind, ProblemKind::FieldIndexMismatch);
}

#[test]
fn every_kind_of_field_index_edit_is_detected() {
    // Each check reads the index one key and one range at a time: rows outside every range, under a key no
    // event has, or moved between events must still be found.
    for sql in [
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('email', 99, 1)",
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('email', 0, 1)",
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('email', -5, 1)",
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('zz.other', 2, 1)",
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('', 2, 1)",
        "DELETE FROM audit_event_fields WHERE seq = 4; \
         INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('phone', 4, 1)",
        "DELETE FROM audit_event_fields WHERE seq = 3; \
         INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('email', 3, 2)",
    ] {
        let c = filled(4);
        assert!(verify(&c, None).unwrap().ok());
        edit(&c, sql);
        let r = verify(&c, None).unwrap();
        assert_eq!(
            r.problem.map(|p| p.kind),
            Some(ProblemKind::FieldIndexMismatch),
            "{sql}"
        );
    }
    let c = filled(4);
    edit(
        &c,
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES (CAST(x'00ff' AS BLOB), 2, 1)",
    );
    assert!(verify(&c, None).is_err(), "a key that is not text is a damaged row");
}

#[test]
fn header_values_are_sanitised() {
    let c = db();
    let ua = format!("evil\r\nX-Injected: 1{}", "a".repeat(1000));
    let e = append(
        &c,
        &NewEvent::refusal("malformed_authorization", "redemption").user_agent(ua),
    )
    .unwrap();
    let stored = e.user_agent.unwrap();
    assert!(!stored.contains('\n') && !stored.contains('\r'));
    assert_eq!(stored.chars().count(), 256);
    assert!(verify(&c, None).unwrap().ok());
}

#[test]
fn failed_unlocks_are_carried_into_the_chain_once() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pending::record_unlock_failure(dir.path(), "wrong_passphrase", Some("passphrase")).unwrap());
    assert!(pending::record_unlock_failure(dir.path(), "wrong_passphrase", Some("recovery")).unwrap());
    let text = std::fs::read_to_string(pending::path(dir.path())).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.contains("\"reason\":\"wrong_passphrase\"")));

    let mut c = db();
    let tx = c.transaction().unwrap();
    assert_eq!(pending::import(&tx, dir.path()).unwrap(), 2);
    tx.commit().unwrap();
    // A crash before clear(): importing again adds nothing.
    assert_eq!(pending::import(&c, dir.path()).unwrap(), 0);
    pending::clear(dir.path()).unwrap();
    assert!(!pending::path(dir.path()).exists());
    assert_eq!(pending::import(&c, dir.path()).unwrap(), 0);

    let f = Filter {
        kind: Some(EventKind::UnlockFailed),
        ..Filter::default()
    };
    let page = query(&c, &f, None, 10).unwrap();
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.events[0].reason.as_deref(), Some("wrong_passphrase"));
    assert_eq!(
        page.events[0].detail.get("slot").and_then(|v| v.as_str()),
        Some("recovery")
    );
    assert!(verify(&c, None).unwrap().ok());
}

#[test]
fn the_pending_file_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrote = 0;
    for _ in 0..4000 {
        if pending::record_unlock_failure(dir.path(), "wrong_passphrase", Some("passphrase")).unwrap() {
            wrote += 1;
        }
    }
    assert!(wrote < 4000);
    let len = std::fs::metadata(pending::path(dir.path())).unwrap().len();
    assert!(len < pending::MAX_PENDING_BYTES + 1024);
    let c = db();
    pending::import(&c, dir.path()).unwrap();
    let last = query(&c, &Filter::default(), None, 1).unwrap().events.remove(0);
    assert_eq!(last.detail.get("overflowed"), Some(&serde_json::Value::Bool(true)));
}

#[test]
fn cursors_parse() {
    assert_eq!("42".parse::<Cursor>().unwrap(), Cursor(42));
    assert!("x".parse::<Cursor>().is_err());
}
