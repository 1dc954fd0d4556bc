//! The owner's privacy views: what a retailer holds (the disclosure ledger), its consent receipts, its privacy
//! budget, erasure requests and its email alias; who holds a profile field's previous value; and the catch-up of
//! consent receipts that fell due while Locket was locked.
use std::path::Path;

use chrono::Utc;
use locket_grants::receipt::{self, Receipt, ReceiptEvent};
use locket_grants::store;
use locket_grants::{dp, erasure, ledger, Purpose};
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use crate::error::{AppError, AppResult};
use crate::session::Session;

/// What a retailer holds of one field.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Holding")]
pub struct HoldingDto {
    pub field: String,
    pub label: String,
    pub retailer_id: String,
    pub retailer_name: String,
    /// The newest version it received (0 = the catalog default).
    pub version: u32,
    /// When it first received that version.
    pub since: String,
    pub last_received_at: String,
    /// When the owner changed the field after that version (`None` = it holds the current value).
    pub outdated_since: Option<String>,
}

/// One consent receipt, summarised.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ConsentReceipt")]
pub struct ReceiptDto {
    pub receipt_id: String,
    pub version: u32,
    #[ts(type = r#""grant" | "narrowing" | "revoke" | "expiry""#)]
    pub event: String,
    pub event_at: String,
    pub collection_method: String,
    pub grant_id: String,
    pub scopes: Vec<String>,
    pub withdrawn_scopes: Vec<String>,
}

/// A retailer's privacy budget for noised analytics answers.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "PrivacyBudget")]
pub struct BudgetDto {
    pub total: f64,
    pub spent: f64,
    pub remaining: f64,
    pub answers: u64,
}

/// An erasure request.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ErasureRequest")]
pub struct ErasureDto {
    pub id: String,
    pub grant_id: Option<String>,
    pub requested_at: String,
    pub note: Option<String>,
    pub acknowledged_at: Option<String>,
}

/// Everything privacy-related about one retailer.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetailerPrivacy {
    pub holdings: Vec<HoldingDto>,
    pub receipts: Vec<ReceiptDto>,
    /// `None` when the retailer never asked for analytics (no budget applies).
    pub budget: Option<BudgetDto>,
    pub erasures: Vec<ErasureDto>,
    pub alias: Option<String>,
}

pub(crate) fn field_label(conn: &Connection, key: &str) -> String {
    locket_vault::profile::field_def(conn, key)
        .map(|d| d.label)
        .ok()
        .or_else(|| locket_grants::derived::label(key))
        .unwrap_or_else(|| key.to_owned())
}

fn retailer_name(conn: &Connection, id: &str) -> String {
    store::list_requests(conn, None)
        .ok()
        .and_then(|rs| {
            rs.into_iter()
                .find(|r| r.request.retailer.id == id)
                .map(|r| r.request.retailer.name)
        })
        .unwrap_or_else(|| id.to_owned())
}

fn holding_dto(conn: &Connection, h: ledger::Holding, name: String) -> HoldingDto {
    HoldingDto {
        label: field_label(conn, &h.field_key),
        field: h.field_key,
        retailer_id: h.retailer_id,
        retailer_name: name,
        version: h.version,
        since: h.first_received_at.to_rfc3339(),
        last_received_at: h.last_received_at.to_rfc3339(),
        outdated_since: h.outdated_since.map(|t| t.to_rfc3339()),
    }
}

fn receipt_dto(r: &Receipt) -> ReceiptDto {
    ReceiptDto {
        receipt_id: r.receipt_id.clone(),
        version: r.version,
        event: r.event.as_str().to_owned(),
        event_at: r.event_at.clone(),
        collection_method: r.collection_method.clone(),
        grant_id: r.grant.grant_id.clone(),
        scopes: r.scopes.iter().map(|s| s.scope.clone()).collect(),
        withdrawn_scopes: r.withdrawn_scopes.clone(),
    }
}

fn erasure_dto(e: erasure::ErasureRequest) -> ErasureDto {
    ErasureDto {
        id: e.id,
        grant_id: e.grant_id,
        requested_at: e.requested_at,
        note: e.note,
        acknowledged_at: e.acknowledged_at,
    }
}

/// Whether the retailer ever asked for something for analytics (then its budget is shown).
fn asks_for_analytics(conn: &Connection, retailer_id: &str) -> AppResult<bool> {
    Ok(store::list_requests(conn, None)?.iter().any(|r| {
        r.request.retailer.id == retailer_id && r.request.scopes.iter().any(|s| s.purpose == Purpose::Analytics)
    }))
}

impl Session {
    /// Issues the consent receipts that fell due while locked (expiries, revocations made without the key).
    /// Returns how many were issued.
    pub fn catch_up_receipts(&self) -> AppResult<usize> {
        let issuers = self.issuers();
        let collection = self.collection();
        let issued = self.write(move |tx| {
            let now = Utc::now();
            let template = receipt::context_now(tx, ReceiptEvent::Expiry, now, collection);
            receipt::issue_due_receipts(tx, &issuers, &template, now, None)
        })?;
        Ok(issued.len())
    }

    /// What one retailer holds of the owner's data, its receipts, budget, erasure requests and alias.
    pub fn retailer_privacy(&self, retailer_id: &str) -> AppResult<RetailerPrivacy> {
        if let Err(e) = self.catch_up_receipts() {
            tracing::warn!(code = %e.code, "due consent receipts not issued");
        }
        let guard = self.store()?;
        let conn = guard.conn();
        let name = retailer_name(conn, retailer_id);
        let holdings = ledger::held_by(conn, retailer_id)?
            .into_iter()
            .map(|h| holding_dto(conn, h, name.clone()))
            .collect();
        let receipts = receipt::list_receipts(conn, Some(retailer_id), None)?
            .iter()
            .map(receipt_dto)
            .collect();
        let b = dp::budget(conn, retailer_id)?;
        let budget = (b.answers > 0 || asks_for_analytics(conn, retailer_id)?).then_some(BudgetDto {
            total: b.total,
            spent: b.spent,
            remaining: b.remaining,
            answers: b.answers,
        });
        let erasures = erasure::list(conn, Some(retailer_id))?
            .into_iter()
            .map(erasure_dto)
            .collect();
        let alias = erasure::alias_for(conn, retailer_id)?.map(|a| a.alias);
        Ok(RetailerPrivacy {
            holdings,
            receipts,
            budget,
            erasures,
            alias,
        })
    }

    /// Consent receipts, one retailer's or everyone's, optionally of one kind of event.
    pub fn receipts(&self, retailer_id: Option<&str>, event: Option<ReceiptEvent>) -> AppResult<Vec<Receipt>> {
        Ok(receipt::list_receipts(self.store()?.conn(), retailer_id, event)?)
    }

    /// Writes a retailer's consent receipts to `path` (owner-only file) as a JSON array; returns how many.
    pub fn export_receipts(&self, retailer_id: &str, path: &Path) -> AppResult<usize> {
        let receipts = self.receipts(Some(retailer_id), None)?;
        let text = serde_json::to_string_pretty(&receipts)
            .map_err(|e| AppError::internal(format!("cannot write the receipts: {e}")))?;
        crate::files::write_private(path, text.as_bytes())?;
        Ok(receipts.len())
    }

    /// Asks a retailer to erase what it received (logged; the retailer acknowledges through the endpoint).
    pub fn request_erasure(
        &self,
        retailer_id: String,
        grant_id: Option<String>,
        note: Option<String>,
    ) -> AppResult<ErasureDto> {
        let note = note.filter(|n| !n.trim().is_empty());
        Ok(erasure_dto(self.record_erasure(retailer_id, grant_id, note)?))
    }

    fn record_erasure(
        &self,
        retailer_id: String,
        grant_id: Option<String>,
        note: Option<String>,
    ) -> AppResult<erasure::ErasureRequest> {
        self.write(move |tx| {
            erasure::request_erasure(tx, &retailer_id, grant_id.as_deref(), note.as_deref(), Utc::now())
        })
    }

    /// Erasure requests (one retailer's or all), newest first.
    pub fn erasures(&self, retailer_id: Option<&str>) -> AppResult<Vec<ErasureDto>> {
        Ok(self
            .erasure_records(retailer_id)?
            .into_iter()
            .map(erasure_dto)
            .collect())
    }

    /// Sets the email alias a retailer receives instead of the owner's address.
    pub fn set_alias(&self, retailer_id: String, alias: String) -> AppResult<String> {
        Ok(self.set_email_alias(retailer_id, alias)?.alias)
    }

    /// The shops that hold an older version of a profile field than the current one (only those that received
    /// the value itself: a derived answer computed from it is not the value).
    pub fn field_holders(&self, key: &str) -> AppResult<Vec<HoldingDto>> {
        let guard = self.store()?;
        let conn = guard.conn();
        let list = ledger::outdated_holders(conn, key)?;
        let grants = store::list_grants(conn)?;
        let got_value = |retailer: &str| {
            grants.iter().any(|g| {
                g.retailer_id == retailer
                    && g.scopes.iter().any(|s| {
                        !s.scope.contains(':')
                            && (s.scope == key
                                || key.strip_prefix(s.scope.as_str()).is_some_and(|r| r.starts_with('.')))
                    })
            })
        };
        Ok(list
            .into_iter()
            .filter(|h| got_value(&h.retailer_id))
            .map(|h| {
                let name = retailer_name(conn, &h.retailer_id);
                holding_dto(conn, h, name)
            })
            .collect())
    }
}

/// The consent record of one grant: its receipts, whether the shop holds data the owner changed since, and
/// erasure.
#[derive(Debug, Clone)]
pub struct GrantConsent {
    /// The grant's receipts, oldest first.
    pub receipts: Vec<Receipt>,
    /// When data disclosed under the grant first changed after the version the shop holds (RFC 3339).
    pub data_changed_since: Option<String>,
    /// Erasure requested / acknowledged.
    pub erasure: erasure::ErasureStatus,
}

impl Session {
    /// Who holds what: holders of one field (`field`), everything one retailer received (`retailer`), or
    /// everything every known retailer received. An unknown field is `unknown_field`.
    pub fn ledger(&self, field: Option<&str>, retailer: Option<&str>) -> AppResult<Vec<ledger::Holding>> {
        let mut holdings = match (field, retailer) {
            (Some(f), _) => {
                let guard = self.store()?;
                locket_vault::profile::field_def(guard.conn(), f)?;
                ledger::holders_of(guard.conn(), f)?
            }
            (None, Some(r)) => ledger::held_by(self.store()?.conn(), r)?,
            (None, None) => {
                let ids = self.known_retailers()?;
                let guard = self.store()?;
                let mut all = Vec::new();
                for r in ids {
                    all.extend(ledger::held_by(guard.conn(), &r)?);
                }
                all
            }
        };
        if let Some(r) = retailer {
            holdings.retain(|h| h.retailer_id == r);
        }
        Ok(holdings)
    }

    /// Asks a shop to erase what it received: `target` is a grant id (or unique prefix: only what that grant
    /// disclosed) or a known retailer id (everything). Anything else is `retailer_not_found`.
    pub fn request_erasure_of(&self, target: &str, note: Option<String>) -> AppResult<erasure::ErasureRequest> {
        let (retailer, grant) = match self.grant_record(target) {
            Ok(g) => (g.retailer_id, Some(g.id)),
            Err(_) if self.known_retailers()?.contains(target) => (target.to_owned(), None),
            Err(_) => {
                return Err(AppError::new(
                    "retailer_not_found",
                    format!("{target:?} is neither a grant id nor a shop Locket knows; the grant list shows both"),
                ))
            }
        };
        self.record_erasure(retailer, grant, note)
    }

    /// Erasure requests as the core keeps them (one retailer's or all), newest first.
    pub fn erasure_records(&self, retailer_id: Option<&str>) -> AppResult<Vec<erasure::ErasureRequest>> {
        Ok(erasure::list(self.store()?.conn(), retailer_id)?)
    }

    /// Sets (or replaces) a shop's email alias; returns it as stored.
    pub fn set_email_alias(&self, retailer_id: String, address: String) -> AppResult<erasure::EmailAlias> {
        self.write(move |tx| erasure::set_alias(tx, &retailer_id, &address, Utc::now()))
    }

    /// Every email alias and the shop it went to.
    pub fn email_aliases(&self) -> AppResult<Vec<erasure::EmailAlias>> {
        Ok(erasure::list_aliases(self.store()?.conn())?)
    }

    /// Sets a shop's total privacy budget ε (0 stops noised answers for it).
    pub fn set_privacy_budget(&self, retailer_id: String, total: f64) -> AppResult<dp::Budget> {
        self.write(move |tx| dp::set_budget(tx, &retailer_id, total, Utc::now()))
    }

    /// The privacy budget of every known shop and of every shop with a budget set.
    pub fn privacy_budgets(&self) -> AppResult<Vec<dp::Budget>> {
        let mut ids = self.known_retailers()?;
        let guard = self.store()?;
        let conn = guard.conn();
        ids.extend(dp::budgets(conn)?.into_iter().map(|b| b.retailer_id));
        Ok(ids
            .iter()
            .map(|id| dp::budget(conn, id))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// One grant's receipts, oldest first.
    pub fn grant_receipts(&self, grant_id: &str) -> AppResult<Vec<Receipt>> {
        let g = self.grant_record(grant_id)?;
        Ok(receipt::for_grant(self.store()?.conn(), &g.id)?)
    }

    /// One consent receipt, checked against this vault's receipt key before it is returned
    /// (`receipt_not_found` when there is none with that id).
    pub fn verified_receipt(&self, id: &str) -> AppResult<Receipt> {
        let r = receipt::get_receipt(self.store()?.conn(), id)?.ok_or_else(|| {
            AppError::new(
                "receipt_not_found",
                format!("no consent receipt with id {id:?}; the receipt list shows them"),
            )
        })?;
        // Signed with the key this vault holds for the receipt's retailer (or, for a grant issued before
        // pairwise issuers, the vault-wide key); checked against that key, never the one the receipt names.
        let issuers = self.issuers();
        let signer = match issuers.receipt_signer_for_chain(&r.controller.id, Some(&r.issuer.key_id))? {
            Some(signer) => signer,
            None => issuers.receipt_signer(&r.controller.id)?,
        };
        receipt::verify_receipt(&r.to_json_pretty(), &signer.issuer().public_key)?;
        Ok(r)
    }

    /// The consent record of one grant (see [`GrantConsent`]).
    pub fn grant_consent(&self, grant_id: &str) -> AppResult<GrantConsent> {
        let guard = self.store()?;
        let conn = guard.conn();
        Ok(GrantConsent {
            receipts: receipt::for_grant(conn, grant_id)?,
            data_changed_since: ledger::data_changed_since(conn, grant_id)?.map(locket_grants::token::rfc3339),
            erasure: erasure::status_for_grant(conn, grant_id)?,
        })
    }
}
