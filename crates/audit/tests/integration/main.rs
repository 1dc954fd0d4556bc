//! locket-audit integration tests, one binary (see the root `tests/integration/main.rs`).

mod log;
mod vault;
