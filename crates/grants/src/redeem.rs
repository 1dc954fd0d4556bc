//! What the endpoint runs for a retailer: redemption (`GET /v1/data`), introspection (`GET /v1/grant`) and
//! retailer revocation (`POST /v1/grant/revoke`).
//!
//! Redemption runs the checks in this order, stopping at the first failure:
//!
//! 1. malformed or oversized token → `token_malformed`
//! 2. bad signature / unknown key → `token_invalid_signature` / `token_unknown_key`
//! 3. not yet valid → `token_not_yet_valid`
//! 4. expired → `token_expired`
//! 5. no such grant in this vault → `grant_unknown`
//! 6. revoked → `grant_revoked`
//! 7. uses exhausted → `grant_uses_exhausted`
//! 8. (the endpoint: vault locked → `vault_locked`)
//! 9. a required scope can no longer be answered → `scope_unsatisfiable`
//! 10. a noised scope's ε exceeds the retailer's privacy budget → `privacy_budget_exhausted`
//!
//! Derived scopes (`age_over:18`, see [`crate::derived`]) are computed from the current values and disclosed
//! as one entry whose `key` and `scope` are the scope string and whose `version` is 0; noised scopes
//! (`noised:interests.topics`, see [`crate::dp`]) are randomised and charged to the retailer's budget in the
//! same transaction. The access log records both the answer's scope and the field versions it came from.
//!
//! Steps 1–4 need only the public key: [`VaultVerifier::verify`] does them outside any transaction (and
//! caches the Ed25519 result per exact token). Steps 5–9 read the database every time — there is no cache
//! of grant state — inside the caller's write transaction, which also takes the use and the access-log
//! event, so the reply can be sent only after both are committed. These functions write no log event;
//! the endpoint does, in the same transaction.

use crate::error::RedeemError;
use crate::purpose::Purpose;
use crate::store::{self, GrantRecord, GrantStatus, RevokedBy};
use crate::token::{rfc3339, VerifiedToken};
use chrono::{DateTime, Utc};
use locket_vault::profile;
use locket_wire::derived::{Computed, DerivedError, DerivedScope, SourceVersion};
use locket_wire::issuer::VaultVerifier;
use locket_wire::noised::NoisedScope;
use locket_wire::scope::Scope;
use rusqlite::{params, Connection, Transaction};
use serde::Serialize;
use std::collections::HashSet;

/// One field value disclosed to the retailer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisclosedValue {
    /// Catalog key.
    pub key: String,
    /// Label.
    pub label: String,
    /// Version of the value disclosed (0 = the catalog default, never set by the owner).
    pub version: u32,
    /// The value.
    pub value: serde_json::Value,
    /// The granted scope that covers it.
    pub scope: String,
}

/// A successful redemption.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redemption {
    /// Grant id.
    pub grant_id: String,
    /// Retailer id.
    pub retailer_id: String,
    /// Pairwise subject id.
    pub subject: String,
    /// Exactly the granted fields that have values, in scope order.
    pub fields: Vec<DisclosedValue>,
    /// Granted optional scopes that currently have no value (nothing disclosed for them).
    pub empty_scopes: Vec<String>,
    /// Uses after this one.
    pub uses: u32,
    /// Uses left after this one (`None` = unlimited).
    pub uses_left: Option<u32>,
    /// The field versions derived and noised answers were computed from (logged, not sent).
    #[serde(skip)]
    pub derived_sources: Vec<SourceVersion>,
}

impl Redemption {
    /// The disclosed fields in the form the access log records: every entry sent (derived answers under
    /// their scope string, version 0) followed by the field versions derived answers were computed from.
    pub fn disclosed_fields(&self) -> Vec<locket_audit::DisclosedField> {
        self.fields
            .iter()
            .map(|f| locket_audit::DisclosedField {
                key: f.key.clone(),
                version: i64::from(f.version),
            })
            .chain(self.derived_sources.iter().map(|s| locket_audit::DisclosedField {
                key: s.key.clone(),
                version: i64::from(s.version),
            }))
            .collect()
    }
}

/// A refused redemption, with what is known about the token for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub error: RedeemError,
    /// Grant id, if the signature verified.
    pub grant_id: Option<String>,
    /// Retailer id, if the signature verified.
    pub retailer_id: Option<String>,
}

/// Verify and redeem `token` inside `tx` at `now` (all checks, in order). On success the use is counted
/// in `tx`; the caller logs the event and commits before replying.
pub fn redeem(
    tx: &Transaction<'_>,
    verifier: &VaultVerifier,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Redemption, Refusal> {
    let verified = verifier.verify(token, now).map_err(|error| Refusal {
        error: error.into(),
        grant_id: None,
        retailer_id: None,
    })?;
    redeem_verified(tx, &verified, now).map_err(|error| Refusal {
        error,
        grant_id: Some(verified.claims.jti.clone()),
        retailer_id: Some(verified.claims.aud.clone()),
    })
}

fn load_grant(conn: &Connection, token: &VerifiedToken) -> Result<GrantRecord, RedeemError> {
    let grant = store::grant_by_id(conn, &token.claims.jti)
        .map_err(|e| RedeemError::Internal(e.to_string()))?
        .ok_or(RedeemError::GrantUnknown)?;
    // A validly signed token always matches its grant; anything else is not a grant we issued.
    if grant.retailer_id != token.claims.aud || grant.subject != token.claims.sub {
        return Err(RedeemError::GrantUnknown);
    }
    Ok(grant)
}

/// Checks 3–9 for a token whose signature is already verified, then count the use. Re-checks the time so
/// the order holds even if `now` moved on since verification.
pub fn redeem_verified(
    tx: &Transaction<'_>,
    token: &VerifiedToken,
    now: DateTime<Utc>,
) -> Result<Redemption, RedeemError> {
    token.check_time(now)?;
    let grant = load_grant(tx, token)?;
    if let Some(at) = grant.revoked_at {
        return Err(RedeemError::Revoked(rfc3339(at)));
    }
    if let Some(max) = grant.max_uses {
        if grant.uses >= max {
            return Err(RedeemError::UsesExhausted(max));
        }
    }
    let CurrentValues {
        fields,
        empty_scopes,
        sources,
    } = values_for(tx, &grant, &token.claims.scope, now)?;
    let changed = tx
        .prepare_cached(
            "UPDATE grants SET uses = uses + 1, last_used_at = ?2
             WHERE id = ?1 AND revoked_at IS NULL AND (max_uses IS NULL OR uses < max_uses)",
        )?
        .execute(params![grant.id, rfc3339(now)])?;
    if changed != 1 {
        return Err(RedeemError::Internal(
            "the grant changed while it was being redeemed".to_owned(),
        ));
    }
    let uses = grant.uses + 1;
    Ok(Redemption {
        grant_id: grant.id,
        retailer_id: grant.retailer_id,
        subject: grant.subject,
        fields,
        empty_scopes,
        uses,
        uses_left: grant.max_uses.map(|m| m.saturating_sub(uses)),
        derived_sources: sources,
    })
}

/// The values a grant discloses now: exactly its scopes' current values, derived answers computed, noised ones
/// answered (spending privacy budget), in scope order.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentValues {
    /// The values to send.
    pub fields: Vec<DisclosedValue>,
    /// Granted optional scopes with no value now.
    pub empty_scopes: Vec<String>,
    /// The field versions derived and noised answers were computed from (logged, not sent).
    pub sources: Vec<SourceVersion>,
}

/// [`CurrentValues`] of every scope of `grant` (what a release to the retailer's server carries). Spends the
/// privacy budget of its noised scopes: call it only for a release actually made.
pub fn release_values(
    tx: &Transaction<'_>,
    grant: &GrantRecord,
    now: DateTime<Utc>,
) -> Result<CurrentValues, RedeemError> {
    let scopes: Vec<String> = grant.scopes.iter().map(|s| s.scope.clone()).collect();
    values_for(tx, grant, &scopes, now)
}

/// The values of `grant` for the scopes both `scopes` and the grant carry.
fn values_for(
    tx: &Transaction<'_>,
    grant: &GrantRecord,
    scopes: &[String],
    now: DateTime<Utc>,
) -> Result<CurrentValues, RedeemError> {
    let Disclosure {
        mut fields,
        empty: empty_scopes,
        mut sources,
        noised,
    } = disclose(tx, grant, scopes, now)?;
    if !noised.is_empty() {
        let scopes: Vec<String> = noised.iter().map(|(_, n)| n.scope()).collect();
        let answers = crate::dp::answer_all(
            tx,
            &scopes,
            &grant.retailer_id,
            &grant.id,
            crate::dp::DEFAULT_EPSILON_PER_ANSWER,
            now,
        )
        .map_err(|e| match e {
            crate::dp::DpError::BudgetExhausted { .. } => RedeemError::PrivacyBudgetExhausted(e.to_string()),
            crate::dp::DpError::Scope(_) => RedeemError::ScopeUnsatisfiable(scopes.join(", ")),
            other => RedeemError::Internal(other.to_string()),
        })?;
        // Insert each answer where its scope stands in the grant, last first so positions stay valid.
        for ((at, scope), answer) in noised.iter().zip(answers).rev() {
            sources.extend(answer.source.clone());
            let label = scope.label();
            fields.insert(
                *at,
                DisclosedValue {
                    key: answer.scope.clone(),
                    label,
                    version: 0,
                    value: answer.value,
                    scope: answer.scope,
                },
            );
        }
    }
    Ok(CurrentValues {
        fields,
        empty_scopes,
        sources,
    })
}

/// What [`disclose`] found: values to send, empty optional scopes, the field versions derived answers
/// read, and the noised scopes still to answer (with the position in `fields` each belongs at).
struct Disclosure {
    fields: Vec<DisclosedValue>,
    empty: Vec<String>,
    sources: Vec<SourceVersion>,
    noised: Vec<(usize, NoisedScope)>,
}

/// A derived scope's answer, or `None` when an optional one cannot be answered now.
fn disclose_derived(
    conn: &Connection,
    derived: &DerivedScope,
    granted: &store::GrantedScope,
    retailer_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Computed>, RedeemError> {
    let unsatisfiable = || RedeemError::ScopeUnsatisfiable(granted.scope.clone());
    match crate::derived::compute_parsed_for_retailer(conn, derived, now.date_naive(), retailer_id) {
        Ok(c) => Ok(Some(c)),
        Err(DerivedError::Unsatisfiable { .. }) if !granted.required => Ok(None),
        Err(_) => Err(unsatisfiable()),
    }
}

/// The current values for the scopes both the token and the stored grant carry (they are equal for any
/// token we signed; the intersection makes "nothing outside the token's scope" hold by construction).
fn disclose(
    conn: &Connection,
    grant: &GrantRecord,
    token_scopes: &[String],
    now: DateTime<Utc>,
) -> Result<Disclosure, RedeemError> {
    let mut out: Vec<DisclosedValue> = Vec::new();
    let mut empty = Vec::new();
    let mut sources = Vec::new();
    let mut noised = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for granted in grant.scopes.iter().filter(|g| token_scopes.contains(&g.scope)) {
        let unsatisfiable = || RedeemError::ScopeUnsatisfiable(granted.scope.clone());
        // Parsed once; a stored kind that disagrees with the scope string is a record we cannot trust.
        let scope = Scope::parse(&granted.scope).map_err(|_| unsatisfiable())?;
        if scope.kind() != granted.kind {
            return Err(unsatisfiable());
        }
        let defs = match scope {
            Scope::Noised(n) => {
                noised.push((out.len(), n));
                continue;
            }
            Scope::Derived(d) => {
                match disclose_derived(conn, &d, granted, &grant.retailer_id, now)? {
                    Some(c) => {
                        sources.extend(c.sources);
                        out.push(DisclosedValue {
                            key: granted.scope.clone(),
                            label: granted.label.clone(),
                            version: 0,
                            value: c.value,
                            scope: granted.scope.clone(),
                        });
                    }
                    None => empty.push(granted.scope.clone()),
                }
                continue;
            }
            Scope::Group(group) => profile::resolve(conn, &group).map_err(|_| unsatisfiable())?,
            Scope::Field(key) => vec![profile::field_def(conn, &key).map_err(|_| unsatisfiable())?],
        };
        let keys: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
        let values = profile::current_values(conn, &keys).map_err(|_| unsatisfiable())?;
        if values.is_empty() {
            if granted.required {
                return Err(unsatisfiable());
            }
            empty.push(granted.scope.clone());
            continue;
        }
        for v in values {
            if !seen.insert(v.key.clone()) {
                continue;
            }
            let label = defs
                .iter()
                .find(|d| d.key == v.key)
                .map(|d| d.label.clone())
                .unwrap_or_default();
            out.push(DisclosedValue {
                key: v.key,
                label,
                version: v.version,
                value: v.value,
                scope: granted.scope.clone(),
            });
        }
    }
    Ok(Disclosure {
        fields: out,
        empty,
        sources,
        noised,
    })
}

/// A granted scope as introspection reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntrospectedScope {
    /// Scope string.
    pub scope: String,
    /// Label.
    pub label: String,
    /// Purpose.
    pub purpose: Purpose,
}

/// What `GET /v1/grant` tells the token's holder (RFC 7662 in spirit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// `true` only when the grant can be redeemed now.
    pub active: bool,
    /// `active`, `not_yet_valid`, `expired`, `revoked` or `exhausted`.
    pub status: GrantStatus,
    /// Grant id.
    pub grant_id: String,
    /// Retailer id.
    pub retailer_id: String,
    /// Pairwise subject id.
    pub subject: String,
    /// Granted scopes.
    pub scopes: Vec<IntrospectedScope>,
    /// Issued (RFC 3339).
    pub issued_at: String,
    /// Valid from.
    pub not_before: String,
    /// Valid until.
    pub expires_at: String,
    /// Use cap (`null` = unlimited).
    pub max_uses: Option<u32>,
    /// Uses so far.
    pub uses: u32,
    /// Uses left (`null` = unlimited).
    pub uses_left: Option<u32>,
    /// When revoked, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Who revoked it (`owner` or `retailer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<RevokedBy>,
    /// When a field this grant disclosed first changed after the version last disclosed under it (`null`
    /// = what you hold is current): fetch again to update, if the grant is still active.
    pub data_changed_since: Option<String>,
    /// When the owner asked you to erase what you received (the earliest request not yet acknowledged,
    /// else the latest); `null` if never. Acknowledge with `POST /v1/grant/erasure-ack`.
    pub erasure_requested_at: Option<String>,
    /// When you acknowledged it (`null` while any applicable request is open).
    pub erasure_acknowledged_at: Option<String>,
}

/// Report the grant behind a token whose signature verified (use
/// [`VaultVerifier::verify_signature`]: an expired or revoked grant is reported, not refused). Reads only.
pub fn introspect(conn: &Connection, token: &VerifiedToken, now: DateTime<Utc>) -> Result<Introspection, RedeemError> {
    let grant = load_grant(conn, token)?;
    let status = grant.status(now);
    let erasure =
        crate::erasure::status_for_grant(conn, &grant.id).map_err(|e| RedeemError::Internal(e.to_string()))?;
    Ok(Introspection {
        active: status == GrantStatus::Active,
        status,
        grant_id: grant.id.clone(),
        retailer_id: grant.retailer_id.clone(),
        subject: grant.subject.clone(),
        scopes: grant
            .scopes
            .iter()
            .map(|s| IntrospectedScope {
                scope: s.scope.clone(),
                label: s.label.clone(),
                purpose: s.purpose,
            })
            .collect(),
        issued_at: rfc3339(grant.issued_at),
        not_before: rfc3339(grant.not_before),
        expires_at: rfc3339(grant.expires_at),
        max_uses: grant.max_uses,
        uses: grant.uses,
        uses_left: grant.uses_left(),
        revoked_at: grant.revoked_at.map(rfc3339),
        revoked_by: grant.revoked_by,
        data_changed_since: crate::ledger::data_changed_since(conn, &grant.id)
            .map_err(|e| RedeemError::Internal(e.to_string()))?
            .map(rfc3339),
        erasure_requested_at: erasure.erasure_requested_at,
        erasure_acknowledged_at: erasure.erasure_acknowledged_at,
    })
}

/// What `POST /v1/grant/erasure-ack` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureAck {
    /// Grant id.
    pub grant_id: String,
    /// Retailer id.
    pub retailer_id: String,
    /// How many open requests this call acknowledged (0 when there were none, or all were already).
    pub acknowledged: usize,
    /// Every erasure request that applies to the grant, after the update, oldest first.
    pub requests: Vec<crate::erasure::ErasureRequest>,
}

/// The retailer acknowledges every open erasure request that applies to the grant behind a token whose
/// signature verified (expired or revoked grants included: erasure outlives the grant). Idempotent; the
/// acknowledgement is logged (`erasure_acknowledged`) by [`crate::erasure::acknowledge`] when it changed
/// something, in `tx`.
pub fn acknowledge_erasure(
    tx: &Transaction<'_>,
    token: &VerifiedToken,
    now: DateTime<Utc>,
) -> Result<ErasureAck, RedeemError> {
    let grant = load_grant(tx, token)?;
    let open_before = crate::erasure::for_grant(tx, &grant.id)
        .map_err(|e| RedeemError::Internal(e.to_string()))?
        .iter()
        .filter(|e| e.acknowledged_at.is_none())
        .count();
    let requests = crate::erasure::acknowledge(tx, &grant.id, now).map_err(|e| RedeemError::Internal(e.to_string()))?;
    let open_after = requests.iter().filter(|e| e.acknowledged_at.is_none()).count();
    Ok(ErasureAck {
        grant_id: grant.id,
        retailer_id: grant.retailer_id,
        acknowledged: open_before.saturating_sub(open_after),
        requests,
    })
}

/// The consent receipts of the grant behind a token whose signature verified, oldest first (works for
/// expired and revoked grants). Reads only; issue due receipts first with
/// [`crate::receipt::issue_due_receipts`] for the grant.
pub fn receipts(conn: &Connection, token: &VerifiedToken) -> Result<Vec<crate::receipt::Receipt>, RedeemError> {
    let grant = load_grant(conn, token)?;
    crate::receipt::for_grant(conn, &grant.id).map_err(|e| RedeemError::Internal(e.to_string()))
}

/// Result of a retailer revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetailerRevocation {
    /// Grant id.
    pub grant_id: String,
    /// Retailer id.
    pub retailer_id: String,
    /// `true` if it was already revoked (by anyone) before this call.
    pub already_revoked: bool,
    /// When it was revoked.
    pub revoked_at: String,
}

/// The retailer gives a grant back (RFC 7009 in spirit): works for any token whose signature verified,
/// expired or not, and is idempotent. Durable once the caller commits `tx`.
pub fn retailer_revoke(
    tx: &Transaction<'_>,
    token: &VerifiedToken,
    now: DateTime<Utc>,
) -> Result<RetailerRevocation, RedeemError> {
    let grant = load_grant(tx, token)?;
    let changed = store::mark_revoked(
        tx,
        &grant.id,
        RevokedBy::Retailer,
        Some("returned by the retailer"),
        now,
    )?;
    if changed {
        crate::outbox::grant_ended(tx, &grant.id, RevokedBy::Retailer, now)
            .map_err(|e| RedeemError::Internal(e.to_string()))?;
    }
    let revoked_at = if changed { now } else { grant.revoked_at.unwrap_or(now) };
    Ok(RetailerRevocation {
        grant_id: grant.id,
        retailer_id: grant.retailer_id,
        already_revoked: !changed,
        revoked_at: rfc3339(revoked_at),
    })
}
