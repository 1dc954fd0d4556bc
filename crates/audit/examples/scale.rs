//! Fills a real (SQLCipher) vault's access log with N events and times one page query and a full verify.
//! `cargo run --release -p locket-audit --example scale -- 1000000`
use std::time::Instant;

use locket_audit::{append, query, verify, DisclosedField, EventKind, Filter, NewEvent, Outcome};
use locket_vault::{KdfParams, Passphrase, Vault};

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, _) = Vault::create(
        dir.path(),
        &Passphrase::new("scale-test".into()),
        KdfParams::for_tests(),
    )
    .expect("create vault");
    let mut store = vault.connect().expect("connect");
    let t = Instant::now();
    let conn = store.conn_mut();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction().expect("tx");
        for _ in 0..10_000.min(n - done) {
            let i = done;
            let ev = NewEvent::new(EventKind::Redemption, Outcome::Ok)
                .retailer(format!("shop-{}", i % 50))
                .grant(format!("gr_{:032x}", i % 5000))
                .fields(vec![
                    DisclosedField {
                        key: "contact.email".into(),
                        version: 1,
                    },
                    DisclosedField {
                        key: format!("field.{}", i % 20),
                        version: 2,
                    },
                ])
                .remote("127.0.0.1:50000")
                .user_agent("locket-retailer/0.1")
                .detail("route", "/v1/data");
            append(&tx, &ev).expect("append");
            done += 1;
        }
        tx.commit().expect("commit");
    }
    println!("filled {n} events in {:.1} s", t.elapsed().as_secs_f64());
    let conn = store.conn();
    for (name, f) in [
        ("newest page", Filter::default()),
        (
            "by retailer",
            Filter {
                retailer: Some("shop-7".into()),
                ..Filter::default()
            },
        ),
        (
            "by grant",
            Filter {
                grant: Some(format!("gr_{:032x}", 77)),
                ..Filter::default()
            },
        ),
        (
            "by field",
            Filter {
                field: Some("field.3".into()),
                ..Filter::default()
            },
        ),
        (
            "refused (none)",
            Filter {
                outcome: Some(Outcome::Refused),
                ..Filter::default()
            },
        ),
    ] {
        let t = Instant::now();
        let page = query(conn, &f, None, 50).expect("query");
        println!(
            "{name}: {} events in {:.2} ms",
            page.events.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    for sql in [
        "EXPLAIN QUERY PLAN SELECT e.seq FROM audit_events e WHERE 1 AND e.seq BETWEEN 1 AND 9223372036854775807 AND e.grant_id = 'x' ORDER BY e.seq DESC LIMIT 51",
        "EXPLAIN QUERY PLAN SELECT e.seq FROM audit_events e WHERE 1 AND e.seq BETWEEN 1 AND 9223372036854775807 AND e.retailer = 'x' ORDER BY e.seq DESC LIMIT 51",
    ] {
        let mut st = conn.prepare(sql).expect("plan");
        let rows: Vec<String> = st.query_map([], |r| r.get::<_, String>(3)).expect("q").map(|r| r.expect("r")).collect();
        println!("{sql}\n  -> {rows:?}");
    }
    let t = Instant::now();
    let r = verify(conn, None).expect("verify");
    println!(
        "verify: {} events ok={} in {:.2} s",
        r.events,
        r.ok(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = locket_audit::verify_vault(&vault, None).expect("verify");
    println!(
        "verify_vault (parallel): {} events ok={} in {:.2} s",
        r.events,
        r.ok(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = locket_audit::verify_from(conn, 1, None).expect("verify");
    println!(
        "verify without index check: {} events ok={} in {:.2} s",
        r.events,
        r.ok(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let c: i64 = conn
        .query_row("SELECT count(*) FROM audit_events WHERE length(detail) >= 0", [], |r| {
            r.get(0)
        })
        .expect("scan");
    println!("bare scan of {c} rows: {:.2} s", t.elapsed().as_secs_f64());
}
