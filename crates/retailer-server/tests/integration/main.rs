//! locket-retailer integration tests, one binary (see the root `tests/integration/main.rs`).

mod cli;
mod receive;
mod server;
