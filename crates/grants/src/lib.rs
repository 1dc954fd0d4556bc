//! Locket's grant manager: the retailer's grant request (`locket.grant-request/v1`, validated against the
//! published JSON Schema), the documented purposes, the owner's decisions (approve a subset, shorten,
//! cap uses, deny, revoke) stored in the vault, PASETO v4.public grant tokens with PASERK keys, the grant
//! file (`locket.grant/v1`) and the ordered redemption checks the HTTP endpoint runs.
//!
//! The formats themselves (request, purposes, durations, scopes, tokens, grant file, receipt format) live in
//! `locket-wire`, which has no storage; they are re-exported here at their old paths.
//!
//! Start at [`request::parse_request`] for untrusted input, [`store`] for decisions, [`token`] for tokens
//! and [`redeem`] for what the endpoint calls inside its write transaction.
//!
//! Architecture invariants: a grant never carries a scope its request did not ask for; a token carries no
//! profile data; a redemption never yields a field outside the token's scope; revocation is committed
//! before it is reported and is checked against the database on every redemption.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use locket_wire::{duration, exchange, grantfile, issuer, purpose, request, token};

pub mod connect;
pub mod derived;
pub mod dp;
pub mod erasure;
mod error;
pub mod export;
pub mod ledger;
pub mod outbox;
pub mod receipt;
pub mod records;
pub mod redeem;
pub mod review;
pub mod scope;
pub mod store;

pub use error::{GrantError, Problem, RedeemError, RequestError};
pub use exchange::{Benefit, Offer, Recipient, RecipientRole};
pub use grantfile::{GrantFile, GrantFileError, GrantFileScope, GrantRetailer};
pub use issuer::{Issuers, VaultVerifier};
pub use purpose::Purpose;
pub use redeem::{Introspection, Redemption, Refusal};
pub use request::{GrantRequest, RequestedScope, Retailer, Retention};
pub use scope::{FieldRef, ResolvedScope, Scope, ScopeKind, ScopeResolver, StaticCatalog, VaultCatalog};
pub use store::{ApproveOptions, Decision, GrantRecord, GrantStatus, RequestRecord, RequestSource, RequestStatus};
pub use token::{TokenClaims, TokenError, TokenSigner, TokenVerifier, VerifiedToken};
