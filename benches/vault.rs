//! Vault benchmark: unlock time per Argon2id parameter set, profile read/write throughput, and what a backup
//! costs: its duration, its size against the vault's, and the longest pause it causes to concurrent writes.
//!
//! `cargo bench --bench vault` prints two tables. Figures are for comparison within one run (ratios), not
//! absolute promises; nothing here asserts on time. `LOCKET_BENCH_QUICK=1` does fewer rounds.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use locket_vault::{profile, KdfParams, Passphrase, Vault};

const PASS: &str = "benchmark passphrase";

fn quick() -> bool {
    std::env::var_os("LOCKET_BENCH_QUICK").is_some()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Creates a vault with `params` and returns the median of `rounds` unlocks.
fn unlock_time(dir: &Path, params: KdfParams, rounds: usize) -> (Duration, Duration) {
    let pass = Passphrase::new(PASS.into());
    let t = Instant::now();
    let (v, _) = Vault::create(dir, &pass, params).expect("create");
    let create = t.elapsed();
    drop(v);
    let mut times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let v = Vault::unlock(dir, &pass).expect("unlock");
        times.push(t.elapsed());
        black_box(v);
    }
    (create, median(times))
}

fn ops_per_sec(n: usize, d: Duration) -> String {
    let r = n as f64 / d.as_secs_f64();
    if r >= 10_000.0 {
        format!("{:.0}k ops/s", r / 1000.0)
    } else {
        format!("{r:.0} ops/s")
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rounds = if quick() { 1 } else { 5 };

    println!("Unlock (Argon2id on the passphrase slot, then SQLCipher open + integrity check), median of {rounds}:");
    println!("{:<44} {:>12} {:>12} {:>8}", "parameters", "create", "unlock", "ratio");
    let sets = [
        ("default", KdfParams::default()),
        ("recovery-slot strength", KdfParams::recovery()),
        ("test profile", KdfParams::for_tests()),
    ];
    let mut base = None;
    for (i, (name, p)) in sets.iter().enumerate() {
        let dir = tmp.path().join(format!("unlock-{i}"));
        let (create, unlock) = unlock_time(&dir, *p, rounds);
        let base = *base.get_or_insert(unlock);
        let label = format!("{name} ({} MiB, t={}, p={})", p.m_cost_kib / 1024, p.t_cost, p.p_cost);
        println!(
            "{label:<44} {:>12} {:>12} {:>7.2}x",
            ms(create),
            ms(unlock),
            unlock.as_secs_f64() / base.as_secs_f64()
        );
    }

    // Profile throughput on a real vault (WAL, synchronous=FULL).
    let dir = tmp.path().join("throughput");
    let pass = Passphrase::new(PASS.into());
    let (vault, _) = Vault::create(&dir, &pass, KdfParams::for_tests()).expect("create");
    let store = vault.connect().expect("connect");
    let conn = store.conn();
    let n = if quick() { 200 } else { 2000 };

    println!();
    println!("Profile throughput ({n} operations each):");
    println!("{:<52} {:>14}", "operation", "throughput");

    // Baseline: a bare single-row INSERT per commit on the same database, to show the profile layer's overhead.
    conn.execute_batch("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, v TEXT)")
        .expect("table");
    let t = Instant::now();
    for i in 0..n {
        conn.execute("INSERT INTO bench_raw (v) VALUES (?1)", [format!("row {i}")])
            .expect("insert");
    }
    let raw = t.elapsed();
    println!(
        "{:<52} {:>14}",
        "baseline: bare INSERT, one commit each",
        ops_per_sec(n, raw)
    );

    let t = Instant::now();
    for i in 0..n {
        profile::set_from_input(conn, "contact.email", &format!("user{i}@example.com")).expect("set");
    }
    let single = t.elapsed();
    println!(
        "{:<52} {:>14}",
        "set, one commit each (fsync per write)",
        ops_per_sec(n, single)
    );

    let t = Instant::now();
    for chunk in 0..(n / 100) {
        let tx = conn.unchecked_transaction().expect("tx");
        for i in 0..100 {
            profile::set_from_input(&tx, "contact.phone", &format!("+4420{:07}", chunk * 100 + i)).expect("set");
        }
        tx.commit().expect("commit");
    }
    let batched = t.elapsed();
    println!("{:<52} {:>14}", "set, 100 per transaction", ops_per_sec(n, batched));

    // Group commit: 8 threads submitting through the vault's writer.
    let writer = vault.writer().expect("writer");
    let threads = 8;
    let per = n / threads;
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let w = writer.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    let key = format!("+4930{th}{i:06}");
                    w.submit(move |tx| profile::set_from_input(tx, "contact.phone", &key))
                        .expect("submit");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let grouped = t.elapsed();
    println!(
        "{:<52} {:>14}",
        format!("set through the group-commit writer, {threads} threads"),
        ops_per_sec(per * threads, grouped)
    );

    let t = Instant::now();
    for _ in 0..n {
        black_box(profile::get(conn, "contact.email").expect("get"));
    }
    let get = t.elapsed();
    println!("{:<52} {:>14}", "get (current value of one field)", ops_per_sec(n, get));

    let keys: Arc<Vec<String>> = Arc::new(
        profile::resolve(conn, "contact")
            .expect("resolve")
            .into_iter()
            .map(|d| d.key)
            .collect(),
    );
    let t = Instant::now();
    for _ in 0..n {
        black_box(profile::current_values(conn, &keys).expect("current_values"));
    }
    let cv = t.elapsed();
    println!(
        "{:<52} {:>14}",
        format!("current_values of the contact group ({} fields)", keys.len()),
        ops_per_sec(n, cv)
    );

    let hist_len = profile::history(conn, "contact.email").expect("history").len();
    let t = Instant::now();
    let m = (n / 20).max(10);
    for _ in 0..m {
        black_box(profile::history(conn, "contact.email").expect("history"));
    }
    println!(
        "{:<52} {:>14}",
        format!("history of a field with {hist_len} versions"),
        ops_per_sec(m, t.elapsed())
    );

    println!();
    println!(
        "Ratios: profile set/bare insert {:.2}x, batched/single writes {:.1}x, group-commit/single {:.1}x, \
         get/single-write {:.1}x",
        raw.as_secs_f64() / single.as_secs_f64(),
        single.as_secs_f64() / batched.as_secs_f64(),
        (single.as_secs_f64() / n as f64) / (grouped.as_secs_f64() / (per * threads) as f64),
        single.as_secs_f64() / get.as_secs_f64()
    );

    backup_pause(tmp.path());
}

/// Fills a vault with a realistic mix (profile history + access-log events), then runs a steady stream of
/// small writes through the group-commit writer while backups are taken, and compares the longest write
/// latency during backups with the longest outside them.
fn backup_pause(root: &Path) {
    let dir = root.join("backup-bench");
    let (v, _) = Vault::create(&dir, &Passphrase::new(PASS.into()), KdfParams::for_tests()).expect("create");
    let events = if quick() { 20_000 } else { 100_000 };
    {
        let mut store = v.connect().expect("connect");
        let tx = store.conn_mut().transaction().expect("tx");
        for i in 0..2_000 {
            profile::set(&tx, "contact.email", serde_json::json!(format!("user{i}@example.org"))).expect("set");
        }
        for i in 0..events {
            let e = locket_audit::NewEvent::new(locket_audit::EventKind::Redemption, locket_audit::Outcome::Ok)
                .retailer(format!("shop-{}.example", i % 20))
                .grant(format!("g{}", i % 500))
                .remote("127.0.0.1:50000")
                .user_agent("bench/1.0");
            locket_audit::append(&tx, &e).expect("append");
        }
        tx.commit().expect("commit");
        store
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    }
    let writer = v.writer().expect("writer");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let in_backup = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (writer, stop, in_backup) = (writer.clone(), stop.clone(), in_backup.clone());
        std::thread::spawn(move || {
            let (mut during, mut outside) = (Duration::ZERO, Duration::ZERO);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let t = Instant::now();
                let was = in_backup.load(std::sync::atomic::Ordering::Relaxed);
                writer
                    .submit(move |tx| {
                        tx.execute(
                            "INSERT OR REPLACE INTO settings (key, value) VALUES ('bench.tick', ?1)",
                            [i.to_string()],
                        )
                    })
                    .expect("write");
                let d = t.elapsed();
                if was || in_backup.load(std::sync::atomic::Ordering::Relaxed) {
                    during = during.max(d);
                } else {
                    outside = outside.max(d);
                }
            }
            (during, outside, i)
        })
    };
    let rounds = if quick() { 2 } else { 5 };
    let mut took = Vec::new();
    let mut size = 0;
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(300));
        in_backup.store(true, std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        let b = v.backup_now("bench").expect("backup");
        took.push(t.elapsed());
        in_backup.store(false, std::sync::atomic::Ordering::Relaxed);
        size = b.size_bytes;
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (during, outside, writes) = load.join().expect("load thread");
    let vault_bytes: u64 = ["vault.db", "vault.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!();
    println!("Backup ({events} log events + 2,000 profile versions; {writes} concurrent writes meanwhile):");
    println!("{:<52} {:>14}", "backup duration (median)", ms(median(took)));
    println!(
        "{:<52} {:>14}",
        "backup size / vault size",
        format!(
            "{:.1} / {:.1} MiB",
            size as f64 / 1048576.0,
            vault_bytes as f64 / 1048576.0
        )
    );
    println!("{:<52} {:>14}", "longest write latency during backups", ms(during));
    println!("{:<52} {:>14}", "longest write latency outside backups", ms(outside));
    println!(
        "Ratio: longest pause during/outside backups {:.2}x",
        during.as_secs_f64() / outside.as_secs_f64().max(1e-9)
    );
}
