//! Consent receipts in the vault: the format, signing and verification are `locket_wire::receipt`
//! (re-exported here at their old paths); this module builds a grant's receipts from its stored record,
//! stores them (table `consent_receipts`, chained per grant) and issues the ones that are due.

use crate::error::GrantError;
use crate::records::{self, GrantRecord, RevokedBy};
use chrono::{DateTime, Utc};
use locket_wire::catalog::Sensitivity;
use locket_wire::issuer::Issuers;
pub use locket_wire::receipt::*;
use locket_wire::request::GrantRequest;
use locket_wire::scope::sensitivity;
use locket_wire::token::rfc3339;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

impl From<GrantError> for ReceiptError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Receipt(r) => r,
            other => ReceiptError::Storage {
                code: other.code(),
                message: other.to_string(),
            },
        }
    }
}

/// A database failure as a [`ReceiptError`] (code `database_error`, the message [`GrantError::Database`] gives).
trait Db<T> {
    fn db(self) -> Result<T, ReceiptError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, ReceiptError> {
        self.map_err(|e| GrantError::Database(e).into())
    }
}

/// The jurisdiction of the owner's consents: their `contact.country` (ISO 3166-1 alpha-2) if set, else
/// [`DEFAULT_JURISDICTION`].
pub fn owner_jurisdiction(conn: &Connection) -> String {
    locket_vault::profile::current_values(conn, &["contact.country"])
        .ok()
        .and_then(|v| v.into_iter().next())
        .and_then(|v| v.value.as_str().map(str::to_owned))
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .unwrap_or_else(|| DEFAULT_JURISDICTION.to_owned())
}

/// The context of an event happening `now`, collected by `method`: the owner's jurisdiction
/// ([`owner_jurisdiction`]), labels in English, no narrowing, no note.
pub fn context_now(conn: &Connection, event: ReceiptEvent, now: DateTime<Utc>, method: Collection) -> ReceiptContext {
    ReceiptContext {
        event,
        event_at: now,
        issued_at: now,
        jurisdiction: owner_jurisdiction(conn),
        language: "en".to_owned(),
        collection_method: method.as_str().to_owned(),
        remaining_scopes: None,
        note: None,
    }
}

/// Context for a receipt that the grant record does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContext {
    /// What happened.
    pub event: ReceiptEvent,
    /// When it took effect.
    pub event_at: DateTime<Utc>,
    /// When the receipt is issued.
    pub issued_at: DateTime<Utc>,
    /// Jurisdiction (e.g. the owner's `contact.country`, or `EU`).
    pub jurisdiction: String,
    /// Language of the labels.
    pub language: String,
    /// How consent was collected (`locket-cli`, `locket-desktop`, `retailer`, `locket`).
    pub collection_method: String,
    /// Scopes that stay granted after a narrowing (`None` = the grant's scopes; ignored for revoke/expiry).
    pub remaining_scopes: Option<Vec<String>>,
    /// A note (revocation reason).
    pub note: Option<String>,
}

fn new_receipt_id() -> Result<String, ReceiptError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ReceiptError::Signing("the system random number generator failed".to_owned()))?;
    Ok(format!("cr_{}", hex::encode(b)))
}

/// Build the (unsigned) receipt for an event on `grant`, which answered `request`. `previous` is the
/// grant's latest receipt, if any (sets `version` and `previous_receipt_id`).
pub fn build_receipt(
    grant: &GrantRecord,
    request: &GrantRequest,
    ctx: &ReceiptContext,
    previous: Option<&Receipt>,
    issuer: &ReceiptIssuer,
) -> Result<Receipt, ReceiptError> {
    let expires_at = rfc3339(grant.expires_at);
    let all: Vec<ReceiptScope> = grant
        .scopes
        .iter()
        .map(|s| ReceiptScope {
            scope: s.scope.clone(),
            kind: s.kind,
            label: s.label.clone(),
            purpose: s.purpose,
            purpose_text: s.purpose_text.clone(),
            sensitivity: sensitivity(&s.scope).unwrap_or(Sensitivity::Personal),
            expires_at: expires_at.clone(),
        })
        .collect();
    // What was consented to before this event: the previous receipt's scopes, else the grant's.
    let before: Vec<String> = match previous {
        Some(p) => p.scopes.iter().map(|s| s.scope.clone()).collect(),
        None => all.iter().map(|s| s.scope.clone()).collect(),
    };
    let scopes: Vec<ReceiptScope> = match ctx.event {
        ReceiptEvent::Revoke | ReceiptEvent::Expiry => Vec::new(),
        ReceiptEvent::Grant => all,
        ReceiptEvent::Narrowing => {
            let keep = ctx.remaining_scopes.clone().unwrap_or_else(|| before.clone());
            all.into_iter()
                .filter(|s| keep.contains(&s.scope) && before.contains(&s.scope))
                .collect()
        }
    };
    let withdrawn: Vec<String> = before
        .iter()
        .filter(|b| !scopes.iter().any(|s| &s.scope == *b))
        .cloned()
        .collect();
    Ok(Receipt {
        format: RECEIPT_FORMAT.to_owned(),
        receipt_id: new_receipt_id()?,
        version: previous.map_or(1, |p| p.version + 1),
        previous_receipt_id: previous.map(|p| p.receipt_id.clone()),
        event: ctx.event,
        jurisdiction: ctx.jurisdiction.clone(),
        language: ctx.language.clone(),
        collection_method: ctx.collection_method.clone(),
        consent_type: "explicit".to_owned(),
        consent_at: rfc3339(grant.issued_at),
        event_at: rfc3339(ctx.event_at),
        issued_at: rfc3339(ctx.issued_at),
        issuer: issuer.clone(),
        controller: Controller {
            id: request.retailer.id.clone(),
            name: request.retailer.name.clone(),
            origin: request.retailer.origin.clone(),
            contact: request.retailer.contact.clone(),
            privacy_policy_url: request.retailer.privacy_policy.clone(),
        },
        pii_principal: Principal {
            subject_id: grant.subject.clone(),
        },
        grant: GrantTerms {
            grant_id: grant.id.clone(),
            request_id: grant.request_id.clone(),
            not_before: rfc3339(grant.not_before),
            expires_at,
            max_uses: grant.max_uses,
        },
        scopes,
        withdrawn_scopes: withdrawn,
        retention: request.retention.clone(),
        benefit: request.benefit.clone(),
        recipients: Some(request.recipients.clone()),
        note: ctx.note.clone(),
        proof: None,
    })
}

/// Store a signed receipt in the vault (table `consent_receipts`).
pub fn store_receipt(tx: &Transaction<'_>, receipt: &Receipt) -> Result<(), ReceiptError> {
    if receipt.proof.is_none() {
        return Err(ReceiptError::Malformed("only signed receipts are stored".to_owned()));
    }
    let document = serde_json::to_string(receipt).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    tx.execute(
        "INSERT INTO consent_receipts (id, grant_id, retailer_id, event, version, issued_at, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            receipt.receipt_id,
            receipt.grant.grant_id,
            receipt.controller.id,
            receipt.event.as_str(),
            receipt.version,
            receipt.issued_at,
            document
        ],
    )
    .db()?;
    Ok(())
}

fn parse_stored(document: String) -> Result<Receipt, ReceiptError> {
    serde_json::from_str(&document).map_err(|e| ReceiptError::Malformed(format!("stored receipt: {e}")))
}

/// The latest receipt of a grant, if any.
pub fn latest_for_grant(conn: &Connection, grant_id: &str) -> Result<Option<Receipt>, ReceiptError> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT document FROM consent_receipts WHERE grant_id = ?1 ORDER BY version DESC LIMIT 1",
            [grant_id],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    doc.map(parse_stored).transpose()
}

/// Every receipt of one grant, oldest (version 1) first.
pub fn for_grant(conn: &Connection, grant_id: &str) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = conn
        .prepare("SELECT document FROM consent_receipts WHERE grant_id = ?1 ORDER BY version")
        .db()?;
    let docs: Vec<String> = stmt
        .query_map([grant_id], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .db()?;
    docs.into_iter().map(parse_stored).collect()
}

/// One stored receipt by id (`cr_…`) or a unique prefix of at least 6 characters.
pub fn get_receipt(conn: &Connection, id: &str) -> Result<Option<Receipt>, ReceiptError> {
    let id = id.trim();
    let mut stmt = conn
        .prepare(
            "SELECT document FROM consent_receipts WHERE id = ?1
            OR (length(?1) >= 6 AND substr(id, 1, length(?1)) = ?1) ORDER BY id LIMIT 2",
        )
        .db()?;
    let docs: Vec<String> = stmt
        .query_map([id], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .db()?;
    match docs.len() {
        0 => Ok(None),
        1 => docs.into_iter().next().map(parse_stored).transpose(),
        _ => Err(GrantError::AmbiguousId(id.to_owned()).into()),
    }
}

/// Every stored receipt, optionally of one retailer and/or one event kind, oldest first (for export).
pub fn list_receipts(
    conn: &Connection,
    retailer_id: Option<&str>,
    event: Option<ReceiptEvent>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = conn
        .prepare(
            "SELECT document, event FROM consent_receipts
         WHERE (?1 IS NULL OR retailer_id = ?1) AND (?2 IS NULL OR event = ?2)
         ORDER BY issued_at, grant_id, version",
        )
        .db()?;
    let rows: Vec<(String, String)> = stmt
        .query_map(params![retailer_id, event.map(ReceiptEvent::as_str)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .and_then(|rows| rows.collect())
        .db()?;
    rows.into_iter()
        .map(|(doc, ev)| {
            ReceiptEvent::parse(&ev).ok_or_else(|| ReceiptError::Malformed(format!("stored event {ev:?}")))?;
            parse_stored(doc)
        })
        .collect()
}

/// Build, sign and store the receipt for an event on `grant` in `tx`, chained to the grant's latest
/// receipt. Returns the signed receipt (the retailer's copy).
pub fn issue_receipt(
    tx: &Transaction<'_>,
    signer: &ReceiptSigner,
    grant: &GrantRecord,
    request: &GrantRequest,
    ctx: &ReceiptContext,
) -> Result<Receipt, ReceiptError> {
    let previous = latest_for_grant(tx, &grant.id)?;
    let unsigned = build_receipt(grant, request, ctx, previous.as_ref(), signer.issuer())?;
    let signed = sign_receipt(signer, unsigned)?;
    store_receipt(tx, &signed)?;
    Ok(signed)
}

/// [`issue_receipt`] for the stored grant `grant_id` (loads the grant and the request it answered), signed
/// with the key its chain began with ([`chain_signer`]). `receipt_chain_foreign` when another vault began
/// the chain (an imported grant): this vault cannot speak for the consent another vault recorded.
pub fn issue_for_grant(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    grant_id: &str,
    ctx: &ReceiptContext,
) -> Result<Receipt, ReceiptError> {
    let grant = records::get_grant(tx, grant_id)?;
    let Some(signer) = chain_signer(tx, issuers, &grant)? else {
        return Err(ReceiptError::Signing(format!(
            "the consent receipts of grant {} were begun by another vault; this vault cannot extend them",
            grant.id
        )));
    };
    let request = records::get_request(tx, &grant.request_id)?.request;
    issue_receipt(tx, &signer, &grant, &request, ctx)
}

/// The signer that continues `grant`'s receipt chain: the retailer's pairwise key, or the vault-wide key
/// for a grant issued before pairwise issuers (its chain began with that key). `None` for a chain another
/// vault began (grants carried over by an import, then marked moved): it is never extended.
pub fn chain_signer(
    conn: &Connection,
    issuers: &Issuers,
    grant: &GrantRecord,
) -> Result<Option<ReceiptSigner>, ReceiptError> {
    let latest = latest_for_grant(conn, &grant.id)?;
    issuers.receipt_signer_for_chain(&grant.retailer_id, latest.as_ref().map(|r| r.issuer.key_id.as_str()))
}

/// Issue the `expiry` receipt of every grant that has receipts, has reached its expiry by `now`, was not
/// revoked, and whose consent record does not end yet (its latest receipt is neither `revoke` nor `expiry`).
/// `template` supplies jurisdiction, language and method; `event_at` is each grant's expiry time. Returns the
/// receipts issued. Safe to run repeatedly (e.g. at unlock and hourly).
pub fn issue_due_expiries(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    template: &ReceiptContext,
    now: DateTime<Utc>,
) -> Result<Vec<Receipt>, ReceiptError> {
    due_expiries(tx, issuers, template, now, None)
}

fn due_expiries(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    template: &ReceiptContext,
    now: DateTime<Utc>,
    only_grant: Option<&str>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = tx
        .prepare(
            "SELECT g.id FROM grants g
         WHERE g.revoked_at IS NULL AND g.expires_at <= ?1 AND (?2 IS NULL OR g.id = ?2)
           AND (SELECT r.event FROM consent_receipts r WHERE r.grant_id = g.id ORDER BY r.version DESC LIMIT 1)
               IN ('grant', 'narrowing')
         ORDER BY g.expires_at, g.id",
        )
        .db()?;
    let ids: Vec<String> = stmt
        .query_map(params![rfc3339(now), only_grant], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .db()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let grant = records::get_grant(tx, &id)?;
        let Some(signer) = chain_signer(tx, issuers, &grant)? else {
            continue;
        };
        let request = records::get_request(tx, &grant.request_id)?.request;
        let ctx = ReceiptContext {
            event: ReceiptEvent::Expiry,
            event_at: grant.expires_at,
            issued_at: now,
            collection_method: Collection::Locket.as_str().to_owned(),
            remaining_scopes: None,
            note: None,
            ..template.clone()
        };
        out.push(issue_receipt(tx, &signer, &grant, &request, &ctx)?);
    }
    Ok(out)
}

/// The `revoke` receipt of a revoked grant, unless its consent record already ended (its latest receipt is
/// a `revoke` or an `expiry`). `event_at` is the revocation time, the note its reason, and the method
/// `retailer` when the retailer gave the grant back. Returns `None` when nothing was due, and for a chain
/// signed by another vault's key (an imported grant).
pub fn issue_revoke(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    grant_id: &str,
    template: &ReceiptContext,
) -> Result<Option<Receipt>, ReceiptError> {
    let grant = records::get_grant(tx, grant_id)?;
    let Some(revoked_at) = grant.revoked_at else {
        return Ok(None);
    };
    if let Some(latest) = latest_for_grant(tx, &grant.id)? {
        if matches!(latest.event, ReceiptEvent::Revoke | ReceiptEvent::Expiry) {
            return Ok(None);
        }
    }
    let Some(signer) = chain_signer(tx, issuers, &grant)? else {
        return Ok(None);
    };
    let request = records::get_request(tx, &grant.request_id)?.request;
    let method = match grant.revoked_by {
        Some(RevokedBy::Retailer) => Collection::Retailer.as_str().to_owned(),
        _ => template.collection_method.clone(),
    };
    let ctx = ReceiptContext {
        event: ReceiptEvent::Revoke,
        event_at: revoked_at,
        collection_method: method,
        remaining_scopes: None,
        note: grant.revoke_reason.clone(),
        ..template.clone()
    };
    issue_receipt(tx, &signer, &grant, &request, &ctx).map(Some)
}

/// Catch up on every receipt that is due and was not issued when its event happened: `revoke` receipts
/// of grants revoked by a caller that had no signing key at hand, then `expiry` receipts
/// ([`issue_due_expiries`]). Only grants that already have receipts are considered. `only_grant` limits it
/// to one grant (the endpoint does that for the grant a retailer asks about). Safe to run repeatedly; the
/// CLI runs it whenever a command reads or changes grants, the endpoint on `GET /v1/grant` and
/// `GET /v1/grant/receipts`.
pub fn issue_due_receipts(
    tx: &Transaction<'_>,
    issuers: &Issuers,
    template: &ReceiptContext,
    now: DateTime<Utc>,
    only_grant: Option<&str>,
) -> Result<Vec<Receipt>, ReceiptError> {
    let mut stmt = tx
        .prepare(
            "SELECT g.id FROM grants g
         WHERE g.revoked_at IS NOT NULL AND (?1 IS NULL OR g.id = ?1)
           AND (SELECT r.event FROM consent_receipts r WHERE r.grant_id = g.id ORDER BY r.version DESC LIMIT 1)
               IN ('grant', 'narrowing')
         ORDER BY g.revoked_at, g.id",
        )
        .db()?;
    let ids: Vec<String> = stmt
        .query_map(params![only_grant], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .db()?;
    let template = ReceiptContext {
        issued_at: now,
        ..template.clone()
    };
    let mut out = Vec::new();
    for id in ids {
        out.extend(issue_revoke(tx, issuers, &id, &template)?);
    }
    out.extend(due_expiries(tx, issuers, &template, now, only_grant)?);
    Ok(out)
}
