//! docs/errors.md lists every error code: the codes the crates' `code()` functions return, the endpoint's own
//! codes, the CLI's and the desktop shell's, and every code the OpenAPI document lists.
use std::collections::BTreeSet;
use std::path::Path;

use crate::error_codes::{codes_in, rust_files};

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
