//! Locket's application layer: every use case the owner and retailers perform, written once. The desktop app
//! (`src-tauri`), the `locket` CLI and the endpoint are adapters: they parse input, call a function here and
//! present the result; none of them opens a transaction, writes SQL or builds an audit event.
//!
//! Start at [`Locket`] (which vault, the unlock/lock lifecycle, the idle auto-lock timer) and [`Session`] (an
//! unlocked vault; the owner's use cases are its methods, by subject in [`owner`], [`grants`], [`privacy`] and
//! [`backups`]). Errors are [`AppError`]: a stable code, a sentence, and an [`ErrorKind`] that each transport maps
//! once.
//!
//! Architecture invariants: a front end never holds a key (the [`Session`] does, and locking drops it); the
//! idle auto-lock runs here, so a frozen front end cannot keep the vault open; every write goes through the
//! vault's group-commit writer; a new passphrase obeys [`passphrase::check_new`] whichever front end sets it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backups;
pub mod confirm;
pub mod connect;
pub mod deliver;
// DTO fields are documented where front ends meet them: docs/ipc.md.
#[allow(missing_docs)]
pub mod dto;
mod error;
pub mod files;
#[allow(missing_docs)]
pub mod grants;
pub mod links;
mod locket;
pub mod net;
pub mod notices;
mod options;
pub mod owner;
pub mod passphrase;
#[allow(missing_docs)]
pub mod privacy;
mod session;

pub use error::{AppError, AppResult, ErrorKind};
pub use locket::{blocking, failed_unlock, unlock_vault, AppEvent, LockReason, Locket, Options, Unlock};
pub use session::Session;
