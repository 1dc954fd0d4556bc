//! Derived scopes in the vault: the table, the grammar and the computations are formats
//! (`locket_wire::derived`, `locket_wire::scope`, re-exported here at their old paths); this module reads the
//! source values from the vault to answer one, and re-exports the over-asking review ([`crate::review`]).

use crate::erasure;
use chrono::NaiveDate;
use locket_vault::profile;
pub use locket_wire::derived::*;
pub use locket_wire::scope::{builtin_fields, label, purpose_problem, resolve_derived, sensitivity, Scope};
use rusqlite::Connection;

pub use crate::review::{
    check_minimization, minimization_plan, review_request, review_request_builtin, review_scope, ScopeWarning,
    Suggestion, WarningKind,
};

/// Parses `scope` (which must be a derived scope), reads its source fields from the vault on `conn` and
/// computes the answer on `today`.
pub fn compute_in_vault(conn: &Connection, scope: &str, today: NaiveDate) -> Result<Computed, DerivedError> {
    let Scope::Derived(parsed) = Scope::parse(scope)? else {
        return Err(DerivedError::UnknownScope(scope.to_owned()));
    };
    let values = profile::current_values(conn, parsed.def.sources).map_err(|e| DerivedError::Storage(e.to_string()))?;
    compute(&parsed, &values, today)
}

/// [`compute_in_vault`] for the retailer `retailer_id` (so `email_alias` can be answered from its alias).
pub fn compute_for_retailer(
    conn: &Connection,
    scope: &str,
    today: NaiveDate,
    retailer_id: &str,
) -> Result<Computed, DerivedError> {
    let Scope::Derived(parsed) = Scope::parse(scope)? else {
        return Err(DerivedError::UnknownScope(scope.to_owned()));
    };
    compute_parsed_for_retailer(conn, &parsed, today, retailer_id)
}

/// [`compute_for_retailer`] for a scope already parsed (redemption parses each granted scope once).
pub fn compute_parsed_for_retailer(
    conn: &Connection,
    parsed: &DerivedScope,
    today: NaiveDate,
    retailer_id: &str,
) -> Result<Computed, DerivedError> {
    let values = profile::current_values(conn, parsed.def.sources).map_err(|e| DerivedError::Storage(e.to_string()))?;
    let alias = if parsed.def.name == "email_alias" {
        erasure::alias_for(conn, retailer_id)
            .map_err(|e| DerivedError::Storage(e.to_string()))?
            .map(|a| a.alias)
    } else {
        None
    };
    compute_with_alias(parsed, &values, today, alias.as_deref())
}
