//! Locket's access log: an append-only, hash-chained table of events in the vault.
//!
//! Every redemption, introspection, refusal, request received, grant decision, revocation and unlock is an
//! [`Event`]. Events are appended with [`append`] *inside the caller's transaction*, so an event commits together
//! with the change it records (a use count, a revocation) or not at all. Each event's hash covers the previous
//! event's hash and the event's canonical bytes ([`chain`] documents the encoding), so editing or deleting any row
//! is detected by [`verify`] at that very event. Now and then the head of the chain is signed with the vault's
//! Ed25519 key ([`sign_head`], [`maybe_sign_head`]).
//!
//! Reading: [`query`] pages through events newest first with filters (retailer, grant, field, outcome, kind,
//! time range) using keyset cursors; [`daily_counts`] feeds the dashboard's timeline.
//!
//! Failed unlocks cannot be written into a vault that could not be opened: they go to a small pending file next
//! to the vault and are moved into the chain on the next successful unlock (see [`pending`]).
//!
//! The tables are created by the vault's migration `0002_audit.sql`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chain;
mod error;
mod event;
pub mod export;
mod log;
pub mod pending;
mod query;
mod restore;
mod verify;

pub use error::AuditError;
pub use event::{DisclosedField, Event, EventKind, NewEvent, Outcome};
pub use log::{
    append, head, heads, maybe_sign_head, sign_head, signing_public_key, Head, SignedHead, HEAD_SIGN_INTERVAL,
};
pub use query::{count, daily_counts, daily_counts_for_retailer, get, query, Cursor, DayCount, Filter, Page};
pub use restore::{record_restored, restores, RestoreNote};
pub use verify::{verify, verify_from, verify_vault, verify_vault_split, ChainProblem, ProblemKind, VerifyReport};

/// Result alias for audit operations.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;

/// The SQL of the vault migration that creates the audit tables (for tests and tools that build a bare database).
pub const MIGRATION_SQL: &str = include_str!("../../vault/src/migrations/0002_audit.sql");
