//! The one scanner of the error codes Locket's Rust sources define, shared by the check that docs/errors.md lists
//! every code (`endpoint_errors`) and the desktop's generated TypeScript (`src-tauri/tests/ipc` includes this file
//! by path): the literals of every `fn code(&self)` body and of the constructors that take a code literal first.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Whether a literal looks like a stable code (snake_case).
pub fn is_code(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Constructors whose first literal argument is an error code.
const CONSTRUCTORS: [&str; 9] = [
    "ApiError::new(",
    "ApiError::coded(",
    "header_refusal(",
    "AppError::new(",
    "IpcError::new(",
    "CliError::new(",
    "from_code(",
    "NewEvent::refusal(",
    "request_refused(&call,",
];

/// Code-like literals inside `fn code(&self)` bodies and as the first literal argument of a [`CONSTRUCTORS`]
/// call in `text`.
pub fn codes_in(text: &str) -> BTreeSet<String> {
    let literals = |s: &str| -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .filter(|l| is_code(l))
            .map(str::to_string)
            .collect()
    };
    let mut out = BTreeSet::new();
    // code() bodies: from the signature to the line that closes the function.
    let mut rest = text;
    while let Some(i) = rest.find("fn code(&self)") {
        let body = &rest[i..];
        let end = body
            .find("\n    }\n")
            .or_else(|| body.find("\n}\n"))
            .unwrap_or(body.len());
        out.extend(literals(&body[..end]));
        rest = &body[end..];
    }
    for ctor in CONSTRUCTORS {
        let mut rest = text;
        while let Some(i) = rest.find(ctor) {
            let after = &rest[i + ctor.len()..];
            let window: String = after.chars().take(60).collect();
            if let Some(q) = window.find('"') {
                // The first literal of the call, if no other literal comes before it and the call is still open.
                let lit: String = after[q + 1..].chars().take_while(|c| *c != '"').collect();
                if is_code(&lit) && !window[..q].contains('"') && !window[..q].contains(')') {
                    out.insert(lit);
                }
            }
            rest = after;
        }
    }
    out
}
