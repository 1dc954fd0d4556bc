//! The reference retailer server and the `locket-retailer` CLI, on the client library (`locket-retailer`,
//! re-exported here): what a shop on the web serves so that the owner's Locket can connect from a "Share with
//! Locket" link and deliver to it. [`store`] (the shop's data directory: keys, details, one-time request
//! objects), [`publish`] (signed request objects and their `locket://connect` links), [`server`] (HTTPS:
//! metadata, request objects, deliveries of releases), [`holdings`] (what the shop received: grants, values,
//! erasures, in SQLite) and [`devcert`] (a development CA and server certificate). For development and tests:
//! it keeps its keys in plain files and trusts a CA it made.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use locket_retailer::*;

pub mod devcert;
pub mod holdings;
pub mod publish;
pub mod server;
pub mod store;
