//! Locket's wire formats, with no storage: what a retailer's program needs to read and write what Locket
//! sends and receives — the grant request (`locket.grant-request/v1`) and its validation, purposes,
//! durations, what a request offers in return and who else receives the data, the scope grammar with its
//! derived and noised scopes, grant-token claims and PASETO v4.public signing and verification with PASERK keys,
//! the grant file (`locket.grant/v1`), consent receipts (`locket.consent-receipt/v1`), the built-in field
//! catalog and the published JSON Schemas.
//!
//! Start at [`request::parse_request`] for a request, [`scope::Scope`] for scopes, [`token`] for tokens,
//! [`grantfile::GrantFile::parse`] and [`receipt::verify_receipt`] for what a retailer receives.
//!
//! Architecture invariant: nothing here opens a database, touches the OS keychain, derives keys from a
//! passphrase, starts an async runtime or does I/O beyond reading the bytes it is given; the owner's vault
//! (`locket-vault`, `locket-grants`) builds on these types, never the other way round.
//!
//! Modules are layered: each imports only modules above it in this list —
//! [`schemas`], [`text`], [`iso`], [`purpose`], [`duration`], [`catalog`], [`value`], [`error`] → [`exchange`] →
//! [`derived`] (the table) → [`noised`] → [`scope`] (the grammar) → [`request`] → [`metadata`] (retailers on the
//! web) → [`request_object`] (signed requests) → [`token`] → [`receipt`] → [`issuer`]
//! (pairwise issuers) → [`grantfile`] → [`release`] (what Locket delivers to a retailer's server).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod catalog;
pub mod derived;
pub mod duration;
pub mod error;
pub mod exchange;
pub mod grantfile;
pub mod iso;
pub mod issuer;
pub mod kind;
pub mod metadata;
pub mod noised;
pub mod purpose;
pub mod receipt;
pub mod release;
pub mod request;
pub mod request_object;
pub mod schemas;
pub mod scope;
pub mod text;
pub mod token;
pub mod value;

pub use error::{Problem, RequestError};
pub use exchange::{Benefit, Offer, Recipient, RecipientRole};
pub use grantfile::{GrantFile, GrantFileError, GrantFileScope, GrantRetailer};
pub use issuer::{Issuers, VaultVerifier};
pub use kind::ErrorKind;
pub use purpose::Purpose;
pub use request::{GrantRequest, RequestedScope, Retailer, Retention};
pub use scope::{FieldRef, ResolvedScope, Scope, ScopeKind, ScopeResolver, StaticCatalog};
pub use token::{TokenClaims, TokenError, TokenSigner, TokenVerifier, VerifiedToken};
