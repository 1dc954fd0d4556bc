//! locket-vault integration tests, one binary (see the root `tests/integration/main.rs`).
//! `crash_keyslots` re-runs this binary with `--exact crash_keyslots::crash_child_rotate_passphrase` as the
//! child it SIGKILLs; the child test does nothing unless `LOCKET_CRASH_CHILD_DIR` is set on that child alone.

mod backup;
mod crash_keyslots;
mod disk_full;
mod migrations;
mod rekey;
mod vault_core;
