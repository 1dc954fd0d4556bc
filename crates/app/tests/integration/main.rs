//! locket-app integration tests, one binary (see the root `tests/integration/main.rs`).

#[path = "../../../../tests/integration/kit.rs"]
mod kit;

mod app;
mod links;
