//! The owner's side, stored in the vault (tables `requests` and `grants`, migration `0003_grants.sql`):
//! import requests, list and show them, approve a subset (shorter, capped), deny, revoke, list grants.
//!
//! Every write takes the caller's [`Transaction`] and appends its access-log event (`request_received`,
//! `grant_issued`, `grant_denied`, `grant_revoked`) in that same transaction, so the change and its record
//! commit together. A revocation is durable once the caller's commit returns.
//!
//! The record types and lookups live in [`crate::records`] and are re-exported here.

use crate::duration;
use crate::error::GrantError;
use crate::grantfile::{self, GrantFile, GrantFileScope, GrantRetailer, GrantSpec};
use crate::receipt::{self, Collection, Receipt, ReceiptEvent, ReceiptSigner};
pub use crate::records::{
    first_seen_request, get_grant, get_request, grant_by_id, list_grants, list_requests, Decision, Difference,
    GrantRecord, GrantStatus, GrantedScope, RequestRecord, RequestSource, RequestStatus, RevokedBy,
};
use crate::request::{validate_request, RequestedScope};
use crate::scope::{ScopeResolver, VaultCatalog};
use crate::token::rfc3339;
use chrono::{DateTime, Duration, Utc};
use locket_audit::{EventKind, NewEvent, Outcome};
use locket_wire::issuer::Issuers;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;

/// Default cap on undecided requests held at once.
pub const DEFAULT_MAX_PENDING: u64 = 100;
/// Default cap on undecided requests claiming one retailer id.
pub const DEFAULT_MAX_PENDING_PER_RETAILER: u64 = 10;
/// Default cap on undecided requests from one source (over HTTP, through links, from files).
pub const DEFAULT_MAX_PENDING_PER_SOURCE: u64 = 50;

/// The `RequestSource::File` path recorded for requests that came in through a `locket://` link.
pub const DEEP_LINK_SOURCE: &str = "locket:// link";

/// Caps on undecided requests, so that no one can fill the owner's inbox. Anyone on the machine can send
/// requests (over HTTP from any loopback address, through `locket://` links) and claim any shop's id, so
/// every loopback address counts as one source and a claimed retailer id gets only a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCaps {
    /// Undecided requests held at once, from anywhere.
    pub total: u64,
    /// Undecided requests claiming one retailer id.
    pub per_retailer: u64,
    /// Undecided requests from one source: HTTP (every address), links, files.
    pub per_source: u64,
}

impl Default for PendingCaps {
    fn default() -> Self {
        PendingCaps {
            total: DEFAULT_MAX_PENDING,
            per_retailer: DEFAULT_MAX_PENDING_PER_RETAILER,
            per_source: DEFAULT_MAX_PENDING_PER_SOURCE,
        }
    }
}

/// Which cap a refused request reached (see [`PendingCaps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingLimit {
    /// All undecided requests.
    Total,
    /// Those claiming this retailer id.
    Retailer(String),
    /// Those from this source (`http`, `deep_link`, `file`).
    Source(&'static str),
}

impl std::fmt::Display for PendingLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PendingLimit::Total => f.write_str("in all"),
            PendingLimit::Retailer(id) => write!(f, "claiming to be from {id}"),
            PendingLimit::Source("http") => f.write_str("sent over HTTP"),
            PendingLimit::Source("deep_link") => f.write_str("sent through locket:// links"),
            PendingLimit::Source("connect") => f.write_str("fetched from shops' websites"),
            PendingLimit::Source(_) => f.write_str("imported from files"),
        }
    }
}

/// The source class of a stored request: `connect` (fetched from the shop's site and verified), `http`,
/// `deep_link` or `file` (what [`PendingCaps::per_source`] counts, and what front ends show as where it came
/// from).
pub fn source_class(source: &str, detail: Option<&str>) -> &'static str {
    match (source, detail) {
        ("connect", _) => "connect",
        ("http", _) => "http",
        ("file", Some(DEEP_LINK_SOURCE)) => "deep_link",
        _ => "file",
    }
}

fn check_pending(
    tx: &Transaction<'_>,
    caps: &PendingCaps,
    retailer: &str,
    class: &'static str,
) -> Result<(), GrantError> {
    let mut stmt =
        tx.prepare_cached("SELECT retailer_id, source, source_detail FROM requests WHERE status = 'pending'")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let (mut total, mut same_retailer, mut same_source) = (0u64, 0u64, 0u64);
    for row in rows {
        let (id, source, detail) = row?;
        total += 1;
        same_retailer += u64::from(id == retailer);
        same_source += u64::from(source_class(&source, detail.as_deref()) == class);
    }
    let limit = if total >= caps.total {
        Some((PendingLimit::Total, total, caps.total))
    } else if same_source >= caps.per_source {
        Some((PendingLimit::Source(class), same_source, caps.per_source))
    } else if same_retailer >= caps.per_retailer {
        Some((
            PendingLimit::Retailer(retailer.to_owned()),
            same_retailer,
            caps.per_retailer,
        ))
    } else {
        None
    };
    match limit {
        Some((limit, pending, max)) => Err(GrantError::TooManyPending { pending, max, limit }),
        None => Ok(()),
    }
}

/// What the owner chose when approving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApproveOptions {
    /// Grant only these requested scopes (`None` = everything requested).
    pub only: Option<Vec<String>>,
    /// Grant for this long (`None` = as requested); may only be shorter than requested.
    pub expires_in: Option<Duration>,
    /// Cap on redemptions (`None` = unlimited).
    pub max_uses: Option<u32>,
    /// The owner's note on the decision.
    pub note: Option<String>,
    /// Grant more than one answer about the owner's age to one retailer (`age_over:18` and `age_over:21`, or
    /// with `birth_year_band`): together they narrow the age to a band, several of them down to the exact
    /// age, so without this the approval is refused ([`GrantError::AgeBracketing`]).
    pub allow_age_bracketing: bool,
}

/// What [`approve`] produced.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The stored grant.
    pub grant: GrantRecord,
    /// The grant file to hand to the retailer.
    pub file: GrantFile,
    /// The recorded decision.
    pub decision: Decision,
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The grant after the call.
    pub grant: GrantRecord,
    /// `true` if it was already revoked before this call (nothing changed).
    pub already: bool,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn audit(conn: &Connection, event: NewEvent) -> Result<(), GrantError> {
    locket_audit::append(conn, &event).map_err(|e| GrantError::Corrupt(format!("access log: {e}")))?;
    Ok(())
}

/// The endpoint URL the vault's settings describe (`http://127.0.0.1:7419`).
pub fn endpoint_url(conn: &Connection) -> Result<String, GrantError> {
    let settings =
        locket_vault::settings::Settings::load(conn).map_err(|e| GrantError::Corrupt(format!("settings: {e}")))?;
    Ok(format!("http://{}", settings.endpoint.socket_addr()))
}

/// Import a request document (from a file or HTTP): size cap, schema, semantic rules and catalog check,
/// refuse a replayed (retailer, nonce), enforce the [`PendingCaps`] (if given), store it, and log
/// `request_received`. Refusals are not logged here; the caller logs them (it knows the transport).
pub fn import_request(
    tx: &Transaction<'_>,
    bytes: &[u8],
    source: &RequestSource,
    now: DateTime<Utc>,
    caps: Option<&PendingCaps>,
) -> Result<RequestRecord, GrantError> {
    let request = validate_request(bytes, &VaultCatalog::new(tx), now)?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM requests WHERE retailer_id = ?1 AND nonce = ?2",
            params![request.retailer.id, request.nonce],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(existing) = existing {
        return Err(GrantError::DuplicateRequest {
            retailer: request.retailer.id.clone(),
            existing,
        });
    }
    if let Some(caps) = caps {
        check_pending(tx, caps, &request.retailer.id, source.class())?;
    }
    // Parsing succeeded, so the bytes are UTF-8 JSON.
    let document = String::from_utf8_lossy(bytes).into_owned();
    let id = new_id("req_");
    tx.execute(
        "INSERT INTO requests (id, retailer_id, retailer_name, origin, nonce, source, source_detail, document,
                               received_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
        params![
            id,
            request.retailer.id,
            request.retailer.name,
            request.retailer.origin,
            request.nonce,
            source.kind(),
            source.detail(),
            document,
            rfc3339(now),
        ],
    )?;
    let mut event = NewEvent::new(EventKind::RequestReceived, Outcome::Ok)
        .retailer(request.retailer.id.clone())
        .request(id.clone())
        .detail("source", source.kind())
        .detail(
            "scopes",
            request.scopes.iter().map(|s| s.scope.clone()).collect::<Vec<_>>(),
        );
    if let RequestSource::Http {
        remote_addr,
        user_agent,
        origin_header,
    } = source
    {
        if let Some(a) = remote_addr {
            event = event.remote(a.clone());
        }
        if let Some(ua) = user_agent {
            event = event.user_agent(ua.clone());
        }
        if let Some(o) = origin_header {
            event = event.detail("origin_header", o.clone());
        }
    }
    audit(tx, event)?;
    get_request(tx, &id)
}

fn pending_request(tx: &Connection, id: &str) -> Result<RequestRecord, GrantError> {
    let record = get_request(tx, id)?;
    if record.status != RequestStatus::Pending {
        return Err(GrantError::AlreadyDecided {
            id: record.id,
            status: record.status.as_str().to_owned(),
        });
    }
    Ok(record)
}

/// Approve a pending request: grant the selected requested scopes (never any other), for at most the
/// requested duration, optionally capped in uses; sign the token, store the grant and the decision, log
/// `grant_issued`, and return the grant file. `endpoint` is the base URL the retailer redeems at.
pub fn approve(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    request_id: &str,
    options: &ApproveOptions,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Result<Issued, GrantError> {
    approve_minimized(tx, issuers, request_id, options, &BTreeMap::new(), endpoint, now)
}

/// Whether `scope` is an answer computed from the date of birth (`age_over:N`, `birth_year_band`).
pub fn is_age_answer(scope: &str) -> bool {
    locket_wire::derived::DerivedScope::parse(scope)
        .and_then(Result::ok)
        .is_some_and(|d| d.def.sources.contains(&"identity.date_of_birth"))
}

/// The distinct age answers `retailer` would hold with `scopes` granted: those among `scopes` plus those of
/// every grant it ever had (it may have read them already), sorted. Empty when `scopes` has none.
pub fn age_answers<'a>(
    conn: &rusqlite::Connection,
    retailer: &str,
    scopes: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, GrantError> {
    let mut answers: std::collections::BTreeSet<String> =
        scopes.filter(|s| is_age_answer(s)).map(str::to_owned).collect();
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    for g in crate::records::list_grants(conn)?
        .iter()
        .filter(|g| g.retailer_id == retailer)
    {
        answers.extend(
            g.scopes
                .iter()
                .filter(|s| is_age_answer(&s.scope))
                .map(|s| s.scope.clone()),
        );
    }
    Ok(answers.into_iter().collect())
}

/// [`approve`], granting minimized answers instead of some requested scopes ("grant the minimized answer
/// instead"): `minimize` maps a requested, selected scope to the derived or noised scope granted in its
/// place, which must pass [`crate::derived::check_minimization`] (e.g. `identity.date_of_birth` →
/// `age_over:18`). The grant and token carry only the replacement, with the requested scope's purpose;
/// the decision records each substitution as [`Difference::ScopeMinimized`].
pub fn approve_minimized(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    request_id: &str,
    options: &ApproveOptions,
    minimize: &BTreeMap<String, String>,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Result<Issued, GrantError> {
    approve_via(
        tx,
        issuers,
        request_id,
        options,
        minimize,
        Collection::Locket,
        endpoint,
        now,
    )
}

/// [`approve_minimized`], saying how the owner decided (`locket-cli`, `locket-desktop`) for the consent
/// receipt. Every approval issues the grant's first consent receipt (event `grant`, signed with the vault
/// key, stored in the vault) and puts the retailer's copy in the grant file (`receipt`); when the owner
/// granted less than was asked, the receipt's note says how (declined, minimized, shortened, capped).
#[allow(clippy::too_many_arguments)]
pub fn approve_via(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    request_id: &str,
    options: &ApproveOptions,
    minimize: &BTreeMap<String, String>,
    method: Collection,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Result<Issued, GrantError> {
    let record = pending_request(tx, request_id)?;
    let request = &record.request;

    // 1. Which scopes: only requested ones, in request order.
    let selected: Vec<&RequestedScope> = match &options.only {
        None => request.scopes.iter().collect(),
        Some(only) => {
            let requested = || {
                request
                    .scopes
                    .iter()
                    .map(|s| s.scope.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for s in only {
                if request.scope(s).is_none() {
                    return Err(GrantError::ScopeNotRequested {
                        scope: s.clone(),
                        requested: requested(),
                    });
                }
            }
            request
                .scopes
                .iter()
                .filter(|s| only.iter().any(|o| o == &s.scope))
                .collect()
        }
    };
    if selected.is_empty() {
        return Err(GrantError::NothingGranted);
    }
    for (raw, replacement) in minimize {
        let refused = |reason: String| GrantError::MinimizationRefused {
            scope: raw.clone(),
            replacement: replacement.clone(),
            reason,
        };
        let asked = selected
            .iter()
            .find(|s| &s.scope == raw)
            .ok_or_else(|| refused("that scope is not among the requested scopes being granted".to_owned()))?;
        let covered = locket_vault::profile::resolve(tx, raw).map_err(|e| refused(e.to_string()))?;
        crate::derived::check_minimization(raw, asked.purpose, &covered, replacement).map_err(refused)?;
        if selected.iter().any(|s| &s.scope == replacement)
            || minimize.iter().any(|(r, m)| m == replacement && r != raw)
        {
            return Err(refused(format!("{replacement} is already granted for another scope")));
        }
    }
    let catalog = VaultCatalog::new(tx);
    let mut granted = Vec::with_capacity(selected.len());
    let mut file_scopes = Vec::with_capacity(selected.len());
    for s in &selected {
        let scope = minimize.get(&s.scope).unwrap_or(&s.scope);
        let resolved = catalog
            .resolve(scope)
            .ok_or_else(|| GrantError::UnknownScope(scope.clone()))?;
        granted.push(GrantedScope {
            scope: scope.clone(),
            kind: resolved.kind,
            label: resolved.label.clone(),
            purpose: s.purpose,
            purpose_text: s.purpose_text.clone(),
            required: s.required,
        });
        file_scopes.push(GrantFileScope {
            scope: scope.clone(),
            kind: resolved.kind,
            label: resolved.label,
            purpose: s.purpose,
            purpose_text: s.purpose_text.clone(),
            fields: resolved.fields,
        });
    }

    // 1b. Answers about the owner's age: at most one per retailer unless the owner insists.
    if !options.allow_age_bracketing {
        let answers = age_answers(tx, &request.retailer.id, granted.iter().map(|g| g.scope.as_str()))?;
        if answers.len() > 1 {
            return Err(GrantError::AgeBracketing {
                retailer: request.retailer.name.clone(),
                scopes: answers,
            });
        }
    }

    // 2. How long, how often.
    let requested = request
        .requested_duration()
        .map_err(|e| GrantError::Corrupt(e.to_string()))?;
    let granted_duration = match options.expires_in {
        Some(d) if d > requested => {
            return Err(GrantError::ExpiryTooLong {
                requested: duration::humanize(requested),
                given: duration::humanize(d),
            })
        }
        Some(d) if d <= Duration::zero() => {
            return Err(GrantError::ExpiryTooLong {
                requested: duration::humanize(requested),
                given: "0 seconds".into(),
            })
        }
        Some(d) => d,
        None => requested,
    };
    if options.max_uses == Some(0) {
        return Err(GrantError::InvalidMaxUses);
    }

    // 3. Record why the grant differs from the request.
    let mut differences = Vec::new();
    for s in &request.scopes {
        if !selected.iter().any(|g| g.scope == s.scope) {
            differences.push(Difference::ScopeDeclined {
                scope: s.scope.clone(),
                required: s.required,
                reason: "not selected by the owner".to_owned(),
            });
        }
    }
    if granted_duration < requested {
        differences.push(Difference::DurationShortened {
            requested: request.requested_duration.clone(),
            granted: duration::format_iso8601(granted_duration),
        });
    }
    if let Some(max_uses) = options.max_uses {
        differences.push(Difference::UsesLimited { max_uses });
    }
    for (requested, granted) in minimize {
        differences.push(Difference::ScopeMinimized {
            requested: requested.clone(),
            granted: granted.clone(),
        });
    }

    // 4. The grant and its token.
    let grant_id = new_id("gr_");
    let spec = GrantSpec {
        grant_id: grant_id.clone(),
        retailer: GrantRetailer {
            id: request.retailer.id.clone(),
            name: request.retailer.name.clone(),
            origin: request.retailer.origin.clone(),
        },
        scopes: file_scopes,
        issued_at: now,
        expires_at: now + granted_duration,
        max_uses: options.max_uses,
        endpoint: endpoint.to_owned(),
    };
    // Signed as this retailer's own issuer: no other shop sees this id or key.
    let signer = issuers
        .token_signer(&request.retailer.id)
        .map_err(|e| GrantError::Signing(e.to_string()))?;
    let (claims, file) = grantfile::build(&signer, &spec).map_err(|e| GrantError::Signing(e.to_string()))?;
    let subject = claims.sub.clone();

    let decision = Decision {
        outcome: RequestStatus::Approved,
        decided_at: rfc3339(now),
        asked: request.scopes.clone(),
        granted: claims.scope.clone(),
        requested_duration: request.requested_duration.clone(),
        granted_duration: Some(duration::format_iso8601(granted_duration)),
        max_uses: options.max_uses,
        differences,
        note: options.note.clone(),
        grant_id: Some(grant_id.clone()),
    };
    let scopes_json = serde_json::to_string(&granted).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    let decision_json = serde_json::to_string(&decision).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO grants (id, request_id, retailer_id, retailer_name, subject, scopes, issued_at, not_before,
                             expires_at, max_uses)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            grant_id,
            record.id,
            request.retailer.id,
            request.retailer.name,
            subject,
            scopes_json,
            claims.iat,
            claims.nbf,
            claims.exp,
            options.max_uses,
        ],
    )?;
    tx.execute(
        "UPDATE requests SET status = 'approved', decided_at = ?2, decision = ?3 WHERE id = ?1 AND status = 'pending'",
        params![record.id, decision.decided_at, decision_json],
    )?;
    audit(
        tx,
        NewEvent::new(EventKind::GrantIssued, Outcome::Ok)
            .retailer(request.retailer.id.clone())
            .grant(grant_id.clone())
            .request(record.id.clone())
            .detail("scopes", claims.scope.clone())
            .detail("expires_at", claims.exp.clone())
            .detail("max_uses", options.max_uses)
            .detail(
                "differences",
                decision
                    .differences
                    .iter()
                    .map(Difference::describe)
                    .collect::<Vec<_>>(),
            ),
    )?;

    let grant = get_grant(tx, &grant_id)?;
    let mut ctx = receipt::context_now(tx, ReceiptEvent::Grant, now, method);
    if !decision.differences.is_empty() {
        ctx.note = Some(
            decision
                .differences
                .iter()
                .map(Difference::describe)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    let receipts = ReceiptSigner::from_token_signer(&signer).map_err(receipt_error)?;
    let signed = receipt::issue_receipt(tx, &receipts, &grant, request, &ctx).map_err(receipt_error)?;
    let mut file = file;
    file.receipt = Some(signed);
    // A request Locket fetched from a shop that takes deliveries: the grant release goes out through the outbox,
    // queued in this same transaction.
    if let Some(target) = crate::outbox::target_for_request(tx, &record.id)? {
        crate::outbox::queue_grant(tx, &grant, &file, &target, now)?;
    }
    Ok(Issued { grant, file, decision })
}

fn receipt_error(e: receipt::ReceiptError) -> GrantError {
    match e {
        storage @ receipt::ReceiptError::Storage { .. } => GrantError::Receipt(storage),
        other => GrantError::Signing(format!("consent receipt: {other}")),
    }
}

/// Deny a pending request, recording the decision (with the owner's note) and logging `grant_denied`.
pub fn deny(
    tx: &Transaction<'_>,
    request_id: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Decision, GrantError> {
    let record = pending_request(tx, request_id)?;
    let request = &record.request;
    let decision = Decision {
        outcome: RequestStatus::Denied,
        decided_at: rfc3339(now),
        asked: request.scopes.clone(),
        granted: Vec::new(),
        requested_duration: request.requested_duration.clone(),
        granted_duration: None,
        max_uses: None,
        differences: request
            .scopes
            .iter()
            .map(|s| Difference::ScopeDeclined {
                scope: s.scope.clone(),
                required: s.required,
                reason: "the owner denied the request".to_owned(),
            })
            .collect(),
        note: note.map(str::to_owned),
        grant_id: None,
    };
    let json = serde_json::to_string(&decision).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    tx.execute(
        "UPDATE requests SET status = 'denied', decided_at = ?2, decision = ?3 WHERE id = ?1 AND status = 'pending'",
        params![record.id, decision.decided_at, json],
    )?;
    let mut event = NewEvent::new(EventKind::GrantDenied, Outcome::Ok)
        .retailer(request.retailer.id.clone())
        .request(record.id.clone());
    if let Some(n) = note {
        event = event.detail("note", n);
    }
    audit(tx, event)?;
    Ok(decision)
}

/// Mark a grant revoked (no log event). Returns `false` if it already was.
pub(crate) fn mark_revoked(
    tx: &Connection,
    grant_id: &str,
    by: RevokedBy,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, rusqlite::Error> {
    let changed = tx.execute(
        "UPDATE grants SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE id = ?1 AND revoked_at IS NULL",
        params![grant_id, rfc3339(now), by.as_str(), reason],
    )?;
    Ok(changed == 1)
}

/// The owner revokes a grant (by id or unique prefix) and `grant_revoked` is logged. Durable once the
/// caller commits `tx`; every redemption after that commit is refused. Revoking twice is not an error.
pub fn revoke(
    tx: &Transaction<'_>,
    grant_id: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Revoked, GrantError> {
    let grant = get_grant(tx, grant_id)?;
    let changed = mark_revoked(tx, &grant.id, RevokedBy::Owner, reason, now)?;
    if changed {
        crate::outbox::grant_ended(tx, &grant.id, RevokedBy::Owner, now)?;
        let mut event = NewEvent::new(EventKind::GrantRevoked, Outcome::Ok)
            .retailer(grant.retailer_id.clone())
            .grant(grant.id.clone())
            .request(grant.request_id.clone())
            .detail("by", "owner");
        if let Some(r) = reason {
            event = event.detail("reason", r);
        }
        audit(tx, event)?;
    }
    Ok(Revoked {
        grant: get_grant(tx, &grant.id)?,
        already: !changed,
    })
}

/// [`revoke`], then the grant's `revoke` consent receipt, signed with the vault key (`method` says how
/// the owner revoked). The receipt is `None` when the grant was already revoked or its consent had already
/// ended (an `expiry` receipt).
pub fn revoke_via(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    grant_id: &str,
    reason: Option<&str>,
    method: Collection,
    now: DateTime<Utc>,
) -> Result<(Revoked, Option<Receipt>), GrantError> {
    let revoked = revoke(tx, grant_id, reason, now)?;
    let receipt = if revoked.already {
        None
    } else {
        let ctx = receipt::context_now(tx, ReceiptEvent::Revoke, now, method);
        receipt::issue_revoke(tx, issuers, &revoked.grant.id, &ctx).map_err(receipt_error)?
    };
    Ok((revoked, receipt))
}

/// The owner withdraws some scopes of a live grant and keeps the rest: the grant's stored scopes shrink
/// (redemption reads them, so the next fetch no longer yields the withdrawn ones although the token still
/// names them), `grant_narrowed` is logged and a `narrowing` consent receipt is issued. Refused when a
/// scope is not in the grant (`scope_not_in_grant`), when nothing would remain (`nothing_granted`:
/// revoke instead) and when the grant is no longer active (`grant_not_active`).
pub fn narrow(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    grant_id: &str,
    withdraw: &[String],
    method: Collection,
    now: DateTime<Utc>,
) -> Result<(GrantRecord, Receipt), GrantError> {
    let grant = get_grant(tx, grant_id)?;
    let status = grant.status(now);
    if !matches!(status, GrantStatus::Active | GrantStatus::NotYetValid) {
        return Err(GrantError::GrantNotActive {
            id: grant.id.clone(),
            status: status.as_str().to_owned(),
        });
    }
    for w in withdraw {
        if !grant.scopes.iter().any(|s| &s.scope == w) {
            return Err(GrantError::ScopeNotInGrant {
                scope: w.clone(),
                granted: grant
                    .scopes
                    .iter()
                    .map(|s| s.scope.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let keep: Vec<GrantedScope> = grant
        .scopes
        .iter()
        .filter(|s| !withdraw.contains(&s.scope))
        .cloned()
        .collect();
    if keep.is_empty() {
        return Err(GrantError::NothingGranted);
    }
    let json = serde_json::to_string(&keep).map_err(|e| GrantError::Corrupt(e.to_string()))?;
    tx.execute("UPDATE grants SET scopes = ?2 WHERE id = ?1", params![grant.id, json])?;
    // A shop that takes deliveries gets what remains at once (its copy of the withdrawn scopes is replaced).
    crate::outbox::queue_narrowed(tx, &grant.id, now)?;
    audit(
        tx,
        NewEvent::new(EventKind::GrantNarrowed, Outcome::Ok)
            .retailer(grant.retailer_id.clone())
            .grant(grant.id.clone())
            .request(grant.request_id.clone())
            .detail("withdrawn", withdraw.to_vec())
            .detail("scopes", keep.iter().map(|s| s.scope.clone()).collect::<Vec<_>>()),
    )?;
    // The receipt lists the scopes that stay, out of the grant as it was.
    let request = get_request(tx, &grant.request_id)?.request;
    let mut ctx = receipt::context_now(tx, ReceiptEvent::Narrowing, now, method);
    ctx.remaining_scopes = Some(keep.iter().map(|s| s.scope.clone()).collect());
    let signer = match receipt::chain_signer(tx, issuers, &grant).map_err(receipt_error)? {
        Some(signer) => signer,
        None => issuers.receipt_signer(&grant.retailer_id).map_err(receipt_error)?,
    };
    let signed = receipt::issue_receipt(tx, &signer, &grant, &request, &ctx).map_err(receipt_error)?;
    Ok((get_grant(tx, &grant.id)?, signed))
}
