//! locket-grants integration tests, one binary (see the root `tests/integration/main.rs`).

#[path = "../../../../tests/integration/kit.rs"]
mod kit;

mod export;
mod flow;
mod golden;
mod outbox;
mod parser_props;
mod privacy;
mod vectors;
