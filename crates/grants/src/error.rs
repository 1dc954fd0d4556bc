//! Errors of the grant manager. Every variant has a stable snake_case [`code`](GrantError::code) used on
//! the wire and in the docs. The request format's errors ([`RequestError`], [`Problem`]) live in
//! `locket_wire::error` and are re-exported here.

pub use locket_wire::error::{Problem, RequestError};
use locket_wire::receipt::ReceiptError;
use locket_wire::token::TokenError;

/// An owner-side operation on requests and grants failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The request document is not acceptable.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The same retailer already sent a request with this nonce.
    #[error("a request from {retailer} with this nonce was already received (request {existing}); the retailer must send a new nonce")]
    DuplicateRequest {
        /// Retailer id.
        retailer: String,
        /// The earlier request's id.
        existing: String,
    },
    /// Too many undecided requests.
    #[error("there are already {pending} undecided requests {limit} (the limit is {max}); decide or deny some first")]
    TooManyPending {
        /// Pending now (counted against `limit`).
        pending: u64,
        /// The limit.
        max: u64,
        /// Which cap was reached.
        limit: crate::store::PendingLimit,
    },
    /// More than one answer about the owner's age for one retailer, and the owner did not insist.
    #[error(
        "sharing {} with {retailer} would narrow your age to a band (each further answer narrows it more, down to \
         your exact age); share one of them, or approve anyway with --allow-age-bracketing",
        scopes.join(" and ")
    )]
    AgeBracketing {
        /// The retailer's name.
        retailer: String,
        /// Its age answers with this grant (this grant's and earlier grants').
        scopes: Vec<String>,
    },
    /// No request with that id.
    #[error("no request with id {0:?}; `locket requests list` shows them")]
    RequestNotFound(String),
    /// The id prefix matches more than one.
    #[error("{0:?} matches more than one id; give more characters")]
    AmbiguousId(String),
    /// Already approved or denied.
    #[error("request {id} was already {status}; a request is decided once (the retailer can send a new one)")]
    AlreadyDecided {
        /// Request id.
        id: String,
        /// `approved` or `denied`.
        status: String,
    },
    /// The owner tried to grant a scope the retailer did not ask for.
    #[error("{scope:?} was not requested, so it cannot be granted; the request asks for: {requested}")]
    ScopeNotRequested {
        /// The scope given.
        scope: String,
        /// The request's scopes, comma-separated.
        requested: String,
    },
    /// The owner asked to grant a minimized answer that does not stand in for the requested scope.
    #[error("{replacement:?} cannot be granted instead of {scope:?}: {reason}")]
    MinimizationRefused {
        /// The requested scope.
        scope: String,
        /// The derived or noised scope offered in its place.
        replacement: String,
        /// Why not.
        reason: String,
    },
    /// Nothing left to grant.
    #[error("no scopes selected; approve at least one requested scope or deny the request")]
    NothingGranted,
    /// A requested scope is not known to this vault any more.
    #[error("scope {0:?} is not a field or group in this vault; it cannot be granted")]
    UnknownScope(String),
    /// The owner asked for a longer duration than requested.
    #[error("the grant can only be shorter than requested: the retailer asked for {requested}, not {given}")]
    ExpiryTooLong {
        /// Requested duration in words.
        requested: String,
        /// Given duration in words.
        given: String,
    },
    /// Max uses of zero.
    #[error("--max-uses must be at least 1")]
    InvalidMaxUses,
    /// No grant with that id.
    #[error("no grant with id {0:?}; `locket grant list` shows them")]
    GrantNotFound(String),
    /// The owner tried to withdraw a scope the grant does not carry.
    #[error("{scope:?} is not granted by this grant; it grants: {granted}")]
    ScopeNotInGrant {
        /// The scope given.
        scope: String,
        /// The grant's scopes, comma-separated.
        granted: String,
    },
    /// The grant is revoked, expired or used up, so it can no longer be changed.
    #[error("grant {id} is {status}; only an active grant can be narrowed")]
    GrantNotActive {
        /// Grant id.
        id: String,
        /// Its status.
        status: String,
    },
    /// A token could not be produced.
    #[error("could not sign the grant token: {0}")]
    Signing(String),
    /// A consent receipt could not be made, stored or verified.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// Stored data is not what this version of Locket wrote.
    #[error("the vault holds a grant or request record this version cannot read ({0}); the vault may be damaged")]
    Corrupt(String),
    /// The database failed.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// No delivery with that release id.
    #[error("no delivery with id {0:?}; `locket deliveries list` shows them")]
    DeliveryNotFound(String),
    /// The delivery already ended (delivered, failed or cancelled) and cannot be retried or cancelled that way.
    #[error("delivery {id} is {status}; {hint}")]
    DeliveryFinished {
        /// Release id.
        id: String,
        /// Its status.
        status: String,
        /// What can be done instead.
        hint: &'static str,
    },
}

impl GrantError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::Request(e) => e.code(),
            GrantError::DuplicateRequest { .. } => "request_duplicate",
            GrantError::TooManyPending { .. } => "requests_pending_limit",
            GrantError::AgeBracketing { .. } => "age_bracketing",
            GrantError::RequestNotFound(_) => "request_not_found",
            GrantError::AmbiguousId(_) => "id_ambiguous",
            GrantError::AlreadyDecided { .. } => "request_already_decided",
            GrantError::ScopeNotRequested { .. } => "scope_not_requested",
            GrantError::MinimizationRefused { .. } => "minimization_invalid",
            GrantError::NothingGranted => "nothing_granted",
            GrantError::UnknownScope(_) => "scope_unknown",
            GrantError::ExpiryTooLong { .. } => "expiry_too_long",
            GrantError::InvalidMaxUses => "max_uses_invalid",
            GrantError::GrantNotFound(_) => "grant_not_found",
            GrantError::GrantNotActive { .. } => "grant_not_active",
            GrantError::ScopeNotInGrant { .. } => "scope_not_in_grant",
            GrantError::Signing(_) => "token_signing_failed",
            GrantError::Receipt(e) => e.code(),
            GrantError::Corrupt(_) => "vault_record_corrupt",
            GrantError::Database(_) => "database_error",
            GrantError::DeliveryNotFound(_) => "delivery_not_found",
            GrantError::DeliveryFinished { .. } => "delivery_finished",
        }
    }
}

/// Why a redemption, introspection or retailer revocation was refused. The variants are in the order the
/// checks run; [`code`](RedeemError::code) is the wire form (the endpoint maps it to an HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedeemError {
    /// The token itself was refused (malformed, bad signature, unknown key, not yet valid, expired): the wire
    /// crate's checks, with their codes and messages.
    #[error(transparent)]
    Token(TokenError),
    /// Signed by us, but no such grant (e.g. vault restored from an older backup).
    #[error("this vault has no record of the grant; ask the owner for a new grant")]
    GrantUnknown,
    /// Revoked by the owner or the retailer.
    #[error("the grant was revoked at {0}; ask the owner for a new grant")]
    Revoked(String),
    /// Max uses reached.
    #[error("the grant's {0} uses are used up; ask the owner for a new grant")]
    UsesExhausted(u32),
    /// The owner's vault is locked.
    #[error("the owner's vault is locked; try again when the owner has unlocked Locket")]
    VaultLocked,
    /// A required scope can no longer be answered (field deleted or emptied).
    #[error("the granted scope {0:?} can no longer be answered (the owner removed that data); ask the owner for a new grant")]
    ScopeUnsatisfiable(String),
    /// A granted noised (differentially private) scope cannot be answered because the retailer's privacy
    /// budget is spent.
    #[error("{0}")]
    PrivacyBudgetExhausted(String),
    /// Something failed inside Locket.
    #[error("internal error in the owner's Locket: {0}")]
    Internal(String),
}

impl RedeemError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RedeemError::Token(e) => e.code(),
            RedeemError::GrantUnknown => "grant_unknown",
            RedeemError::Revoked(_) => "grant_revoked",
            RedeemError::UsesExhausted(_) => "grant_uses_exhausted",
            RedeemError::VaultLocked => "vault_locked",
            RedeemError::ScopeUnsatisfiable(_) => "scope_unsatisfiable",
            RedeemError::PrivacyBudgetExhausted(_) => "privacy_budget_exhausted",
            RedeemError::Internal(_) => "internal_error",
        }
    }
}

impl From<rusqlite::Error> for RedeemError {
    fn from(e: rusqlite::Error) -> Self {
        RedeemError::Internal(format!("database: {e}"))
    }
}

impl From<TokenError> for RedeemError {
    fn from(e: TokenError) -> Self {
        match e {
            e @ (TokenError::Malformed(_)
            | TokenError::InvalidSignature
            | TokenError::UnknownKey
            | TokenError::NotYetValid(_)
            | TokenError::Expired(_)) => RedeemError::Token(e),
            other => RedeemError::Internal(other.to_string()),
        }
    }
}
