//! Vault benchmark: unlock time per Argon2id parameter set, and profile read/write throughput.
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
}
