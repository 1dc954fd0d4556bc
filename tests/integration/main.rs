//! The root package's integration tests, linked into one binary (as ripgrep does): linking SQLCipher and the
//! whole workspace once instead of once per file is what makes `cargo test` fast to rebuild.
//!
//! Each module is one area; run one with a filter, e.g. `cargo test --test integration cli_vault::`.
//! Tests share this process, so none may change process-global state (environment, current directory):
//! every child `locket` process gets its environment explicitly (`common::locket_cmd`).
//!
//! `tests/crash.rs` stays a binary of its own: it has its own `main` (`-- --long`, `--kills N`) and re-runs
//! itself as the child that is SIGKILLed, which must not be a test harness running other tests.

mod common;
mod connect_support;
mod endpoint_support;
mod error_codes;
mod kit;

mod audit_cli;
mod cli_backup;
mod cli_export_all;
mod cli_privacy;
mod cli_profile;
mod cli_restore;
mod cli_untrusted_text;
mod cli_vault;
mod connect_web;
mod deliver_web;
mod endpoint_attacks;
mod endpoint_boundary;
mod endpoint_cli;
mod endpoint_errors;
mod endpoint_flow;
mod endpoint_openapi;
mod endpoint_revocation;
mod endpoint_scope_property;
mod fuzz;
mod grants_cli;
mod privacy_endpoint;
mod privacy_pairwise;
mod privacy_receipts_http;
mod release_format;
mod vectors;
