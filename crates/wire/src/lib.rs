//! Locket's wire formats, with no storage: what a retailer's program needs to read and write what Locket
//! sends and receives.
//!
//! Architecture invariant: nothing here opens a database, touches the OS keychain, derives keys from a
//! passphrase or starts an async runtime. Modules are layered; a module only imports modules listed before
//! it: [`catalog`], [`value`] → …
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod catalog;
pub mod value;
