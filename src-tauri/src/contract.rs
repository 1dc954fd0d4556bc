//! The IPC contract is written down in six places that must agree: the command list in `build.rs` (what the web
//! view may call), the handlers in `lib.rs` (`generate_handler!`), the permissions in
//! `capabilities/default.json` (`allow-<command>`), `docs/ipc.md`, the typed table in `dto_gen.rs` (what
//! `ui/src/generated/ipc.ts` declares) and the wrappers in `ui/src/backend.ts`. This test reads them all and names
//! each command missing from, or extra in, each place.
use std::collections::BTreeSet;

use crate::dto_gen::{self, root};

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// The string literals of `const COMMANDS: &[&str] = &[ … ];` in build.rs.
fn build_rs_commands() -> Vec<String> {
    let text = read("src-tauri/build.rs");
    let start = text.find("const COMMANDS").expect("build.rs declares COMMANDS");
    let body = &text[start..];
    let body = &body[body.find("&[").expect("an array") + 2..body.find("];").expect("the array ends")];
    body.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The handlers registered in lib.rs: `module::name` entries of `generate_handler![ … ]`.
fn handler_commands() -> Vec<String> {
    let text = read("src-tauri/src/lib.rs");
    let start = text.find("generate_handler![").expect("lib.rs registers handlers");
    let body = &text[start + "generate_handler![".len()..];
    let body = &body[..body.find(']').expect("the list ends")];
    body.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.rsplit("::").next().unwrap_or(s).to_owned())
        .collect()
}

/// `allow-<command>` permissions of the default capability, as command names.
fn capability_commands() -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/default.json")).expect("default.json is JSON");
    json["permissions"]
        .as_array()
        .expect("a permissions array")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|c| c.replace('-', "_"))
        .collect()
}

fn generated_commands() -> Vec<String> {
    let cfg = ts_rs::Config::new();
    struct Nothing;
    impl ts_rs::TypeVisitor for Nothing {
        fn visit<T: ts_rs::TS + 'static + ?Sized>(&mut self) {}
    }
    dto_gen::commands(&mut Nothing, &cfg)
        .into_iter()
        .map(|c| c.name.to_owned())
        .collect()
}

/// Differences between the declared list and another place's: what it lacks, what it has extra, duplicates.
fn compare(place: &str, declared: &BTreeSet<String>, found: &[String], problems: &mut Vec<String>) {
    let set: BTreeSet<String> = found.iter().cloned().collect();
    for c in declared.difference(&set) {
        problems.push(format!("{c}: missing from {place}"));
    }
    for c in set.difference(declared) {
        problems.push(format!("{c}: in {place} but not in src-tauri/build.rs COMMANDS"));
    }
    if set.len() != found.len() {
        problems.push(format!("{place} lists a command twice"));
    }
}

#[test]
fn every_command_is_declared_registered_permitted_documented_typed_and_wrapped() {
    let declared_list = build_rs_commands();
    let declared: BTreeSet<String> = declared_list.iter().cloned().collect();
    let mut problems = Vec::new();
    if declared.len() != declared_list.len() {
        problems.push("src-tauri/build.rs lists a command twice".to_owned());
    }
    compare(
        "src-tauri/src/lib.rs generate_handler!",
        &declared,
        &handler_commands(),
        &mut problems,
    );
    compare(
        "src-tauri/capabilities/default.json (allow-<command>)",
        &declared,
        &capability_commands(),
        &mut problems,
    );
    compare(
        "src-tauri/src/dto_gen.rs commands (ui/src/generated/ipc.ts)",
        &declared,
        &generated_commands(),
        &mut problems,
    );

    let docs = read("docs/ipc.md");
    let backend = read("ui/src/backend.ts");
    for c in &declared {
        if !docs.contains(&format!("| `{c}` |")) {
            problems.push(format!("{c}: missing from docs/ipc.md (a table row \"| `{c}` |\")"));
        }
        if !backend.contains(&format!("call(\"{c}\"")) {
            problems.push(format!(
                "{c}: missing from ui/src/backend.ts (a wrapper calling call(\"{c}\", …))"
            ));
        }
    }
    // The events too: each name the shell emits is documented.
    for line in read("src-tauri/src/session.rs").lines() {
        if line.trim().starts_with("pub const EV_") {
            if let Some(name) = line.split('"').nth(1) {
                if !docs.contains(&format!("| `{name}` |")) {
                    problems.push(format!("event {name}: missing from docs/ipc.md"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the IPC contract disagrees with itself:\n  {}",
        problems.join("\n  ")
    );
    assert!(declared.contains("session_activity"));
}

#[test]
fn a_difference_is_named_with_its_place() {
    let declared: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    let mut problems = Vec::new();
    compare(
        "the handlers",
        &declared,
        &["b".into(), "c".into(), "c".into()],
        &mut problems,
    );
    assert_eq!(
        problems,
        [
            "a: missing from the handlers",
            "c: in the handlers but not in src-tauri/build.rs COMMANDS",
            "the handlers lists a command twice",
        ]
    );
}
