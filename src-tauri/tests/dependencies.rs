//! Unmaintained crates in Cargo.lock: the ones with a maintained successor are gone, and the ones that stay are
//! pulled only by the GTK3 / Tauri 2 Linux stack (the reasons are in ARCHITECTURE.md). A new dependency that
//! brings one of them in, or an unmaintained crate reached from our own code, fails here with its path.
use std::collections::{BTreeMap, BTreeSet};

/// Unmaintained crates (RustSec "unmaintained" advisories) that have a maintained successor or are simply not
/// needed: none may be in the lock file.
const GONE: &[&str] = &[
    "number_prefix", // indicatif 0.18 uses unit-prefix
    "fxhash",
    "instant",
    "paste",
    "ansi_term",
    "atty",
    "derivative",
];

/// Unmaintained crates that stay because only the GTK3 stack Tauri 2 is built on pulls them, and the crates
/// allowed to depend on them (themselves part of that stack).
const GTK3_ONLY: &[(&str, &[&str])] = &[
    ("proc-macro-error", &["glib-macros", "gtk3-macros"]),
    ("gtk3-macros", &["gtk"]),
    ("atk", &["gtk"]),
    ("atk-sys", &["atk", "gtk-sys", "gtk"]),
    ("gdkx11", &["wry", "tao"]),
    ("gdkx11-sys", &["gdkx11", "tao", "wry"]),
    ("gdkwayland-sys", &["tao"]),
    (
        "gtk",
        &[
            "libappindicator",
            "muda",
            "tao",
            "tauri",
            "tauri-runtime",
            "tauri-runtime-wry",
            "webkit2gtk",
            "wry",
            "rfd",
            "tauri-plugin-dialog",
        ],
    ),
];

/// name → the names of the packages that depend on it.
fn dependents() -> BTreeMap<String, BTreeSet<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).expect("Cargo.lock");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .and_then(|l| l.strip_suffix('"'))
                .map(str::to_owned)
        };
        let Some(name) = field("name") else { continue };
        out.entry(name.clone()).or_default();
        if let Some(deps) = block.split("dependencies = [").nth(1) {
            for dep in deps.split(']').next().unwrap_or_default().lines() {
                let dep = dep.trim().trim_end_matches(',').trim_matches('"');
                if let Some(dep_name) = dep.split(' ').next().filter(|d| !d.is_empty()) {
                    out.entry(dep_name.to_owned()).or_default().insert(name.clone());
                }
            }
        }
    }
    out
}

#[test]
fn unmaintained_crates_are_gone_or_pulled_only_by_the_gtk3_stack() {
    let deps = dependents();
    assert!(
        deps.contains_key("tauri") && deps.contains_key("indicatif"),
        "Cargo.lock was not read"
    );
    let mut problems = Vec::new();
    for name in GONE {
        if let Some(by) = deps.get(*name) {
            problems.push(format!("{name} is back in Cargo.lock (pulled by {by:?})"));
        }
    }
    for (name, allowed) in GTK3_ONLY {
        for by in deps.get(*name).into_iter().flatten() {
            if !allowed.contains(&by.as_str()) {
                problems.push(format!("{name} is pulled by {by}, outside the GTK3 stack"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "unmaintained dependencies:\n  {}",
        problems.join("\n  ")
    );
}
