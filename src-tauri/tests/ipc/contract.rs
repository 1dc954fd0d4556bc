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

#[test]
fn the_generated_types_are_the_command_functions_types() {
    struct Nothing;
    impl ts_rs::TypeVisitor for Nothing {
        fn visit<T: ts_rs::TS + 'static + ?Sized>(&mut self) {}
    }
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let functions = command_signatures();
    let mut problems = Vec::new();
    for c in dto_gen::commands(&mut Nothing, &ts_rs::Config::new()) {
        let Some((args, result)) = functions.get(c.name) else {
            problems.push(format!("{}: no #[tauri::command] function of that name", c.name));
            continue;
        };
        let table: Vec<(String, String)> = c.rust_args.iter().map(|(a, t)| ((*a).to_owned(), squash(t))).collect();
        if &table != args {
            problems.push(format!(
                "{}: dto_gen says {table:?}, the function takes {args:?}",
                c.name
            ));
        }
        if squash(c.rust_result) != *result {
            problems.push(format!(
                "{}: dto_gen says it returns {}, the function returns {result}",
                c.name, c.rust_result
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "src-tauri/tests/ipc/dto_gen.rs commands disagree with the functions:\n  {}",
        problems.join("\n  ")
    );
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

/// The `#[tauri::command]` functions of the shell: name → (arguments the web view passes, result type), with
/// whitespace removed, the shell's own arguments (`AppHandle`, `State`) left out and `IpcResult<T>` read as `T`.
fn command_signatures() -> std::collections::BTreeMap<String, (Vec<(String, String)>, String)> {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut out = std::collections::BTreeMap::new();
    for file in ["commands", "grants", "deliveries", "privacy", "backups", "files"] {
        let text = read(&format!("src-tauri/src/{file}.rs"));
        for part in text.split("#[tauri::command]").skip(1) {
            let Some(sig) = part.split_once("pub async fn ").map(|(_, rest)| rest) else {
                continue;
            };
            let sig = &sig[..sig.find('{').unwrap_or(sig.len())];
            let (name, rest) = sig.split_once('(').expect("a parameter list");
            let mut depth = 0i32;
            let close = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => return true,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map(|(i, _)| i)
                .expect("the parameter list ends");
            let (params, result) = (&rest[..close], &rest[close + 1..]);
            let mut args = Vec::new();
            let (mut depth, mut start) = (0i32, 0usize);
            let bytes: Vec<char> = params.chars().collect();
            let mut pieces = Vec::new();
            for (i, c) in bytes.iter().enumerate() {
                match c {
                    '<' | '(' => depth += 1,
                    '>' | ')' => depth -= 1,
                    ',' if depth == 0 => {
                        pieces.push(bytes[start..i].iter().collect::<String>());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            pieces.push(bytes[start..].iter().collect::<String>());
            for piece in pieces {
                let Some((arg, ty)) = piece.split_once(':') else {
                    continue;
                };
                let ty = squash(ty);
                if ty.starts_with("State<") || ty == "AppHandle" {
                    continue;
                }
                args.push((arg.trim().to_owned(), ty));
            }
            let result = squash(result.trim().trim_start_matches("->"));
            let result = result
                .strip_prefix("IpcResult<")
                .and_then(|r| r.strip_suffix('>'))
                .unwrap_or(&result)
                .to_owned();
            out.insert(name.trim().to_owned(), (args, result));
        }
    }
    out
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
        "src-tauri/tests/ipc/dto_gen.rs commands (ui/src/generated/ipc.ts)",
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
    for line in read("src-tauri/src/events.rs").lines() {
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

/// The web view never names a file and never opens a dialog itself: no command takes a path (files come as
/// tokens Rust minted when its own dialog returned, `crate::files`), the capability grants no dialog permission
/// and the UI does not import the dialog plugin. Secrets typed by the owner arrive as `SecretText` (zeroizing from
/// deserialisation on), never as a plain `String`.
#[test]
fn no_command_takes_a_path_or_a_plain_secret_and_the_web_view_opens_no_dialog() {
    let secrets = ["passphrase", "current", "next", "recovery_key", "new_passphrase"];
    let mut problems = Vec::new();
    for (name, (args, _)) in command_signatures() {
        for (arg, ty) in args {
            if ty.contains("PathBuf") || ty.contains("Path") || arg == "path" || arg.ends_with("_path") {
                problems.push(format!("{name}: takes a path ({arg}: {ty}); take a file token instead"));
            }
            if secrets.contains(&arg.as_str()) && ty != "SecretText" && ty != "Option<SecretText>" {
                problems.push(format!("{name}: the secret {arg} arrives as {ty}, not SecretText"));
            }
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/default.json")).expect("default.json is JSON");
    for p in json["permissions"].as_array().expect("a permissions array") {
        let p = p.as_str().unwrap_or_default();
        if p.starts_with("dialog:") || p.starts_with("fs:") {
            problems.push(format!("the web view's capability grants {p}"));
        }
    }
    let backend = read("ui/src/backend.ts");
    if backend.contains("@tauri-apps/plugin-dialog") || backend.contains("@tauri-apps/plugin-fs") {
        problems.push("ui/src/backend.ts imports a dialog or file-system plugin".into());
    }
    assert!(
        problems.is_empty(),
        "the web view can name files:\n  {}",
        problems.join("\n  ")
    );
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
