//! The desktop's IPC contract, checked against the sources: the TypeScript the UI compiles against is generated
//! from the Rust types (`dto_gen`; refresh with `LOCKET_BLESS=1 cargo test -p locket-desktop --test ipc
//! generated`), and the command list agrees across build.rs, the handlers, the capability, docs/ipc.md and
//! ui/src/backend.ts (`contract`); the file commands take only tokens for files the owner chose (`file_tokens`). Kept
//! out of the shell's sources: it is test code, not glue.
mod contract;
mod dto_gen;
#[path = "../../../tests/integration/error_codes.rs"]
mod error_codes;
mod file_tokens;
#[path = "../../../tests/integration/kit.rs"]
mod kit;
