//! docs/errors.md lists every error code: the codes the crates' `code()` functions return, the endpoint's own
//! codes, the CLI's and the desktop shell's, and every code the OpenAPI document lists.
use std::collections::BTreeSet;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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

/// String literals that look like codes inside `fn code(&self)` bodies and in the error constructors that take a
/// code literal (`ApiError::new(STATUS, "code", ..)`, `IpcError::new("code", ..)`, `CliError::new(.., "code", ..)`,
/// `CliError::from_code("code", ..)`, `NewEvent::refusal("code", ..)`).
fn codes_in(text: &str) -> BTreeSet<String> {
    let is_code = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
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
    // Constructors taking a code literal as their first string argument.
    for ctor in [
        "ApiError::new(",
        "IpcError::new(",
        "CliError::new(",
        "from_code(",
        "NewEvent::refusal(",
        "request_refused(&call,",
    ] {
        let mut rest = text;
        while let Some(i) = rest.find(ctor) {
            let after = &rest[i + ctor.len()..];
            let window: String = after.chars().take(60).collect();
            if let Some(q) = window.find('"') {
                // Only a literal before the first comma-separated non-literal argument that could hold a message.
                let lit: String = after[q + 1..].chars().take_while(|c| *c != '"').collect();
                if is_code(&lit) && !window[..q].contains('"') {
                    out.insert(lit);
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn every_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/errors.md")).unwrap();
    let mut files = Vec::new();
    for d in ["crates", "src", "src-tauri/src"] {
        rust_files(&root.join(d), &mut files);
    }
    let mut codes = BTreeSet::new();
    for f in files {
        if f.components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "examples")
        {
            continue;
        }
        codes.extend(codes_in(&std::fs::read_to_string(&f).unwrap()));
    }
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/openapi.json")).unwrap()).unwrap();
    for (_, ops) in spec["paths"].as_object().unwrap() {
        for (_, op) in ops.as_object().unwrap() {
            for (_, resp) in op["responses"].as_object().unwrap() {
                for c in resp["x-error-codes"].as_array().into_iter().flatten() {
                    codes.insert(c.as_str().unwrap().to_string());
                }
            }
        }
    }
    // A sanity floor: the scan must find the well-known codes.
    for known in [
        "grant_revoked",
        "token_expired",
        "wrong_passphrase",
        "authorization_missing",
        "rate_limited",
    ] {
        assert!(codes.contains(known), "scanner missed {known}");
    }
    let missing: Vec<&String> = codes.iter().filter(|c| !doc.contains(&format!("`{c}`"))).collect();
    assert!(missing.is_empty(), "codes missing from docs/errors.md: {missing:?}");
}
