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

fn field_label(conn: &Connection, key: &str) -> String {
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
        let signer = self.receipt_signer()?;
        let collection = self.collection();
        let issued = self.write(move |tx| {
            let now = Utc::now();
            let template = receipt::context_now(tx, ReceiptEvent::Expiry, now, collection);
            receipt::issue_due_receipts(tx, &signer, &template, now, None)
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
        let e = self.write(move |tx| {
            erasure::request_erasure(tx, &retailer_id, grant_id.as_deref(), note.as_deref(), Utc::now())
        })?;
        Ok(erasure_dto(e))
    }

    /// Erasure requests (one retailer's or all), newest first.
    pub fn erasures(&self, retailer_id: Option<&str>) -> AppResult<Vec<ErasureDto>> {
        Ok(erasure::list(self.store()?.conn(), retailer_id)?
            .into_iter()
            .map(erasure_dto)
            .collect())
    }

    /// Sets the email alias a retailer receives instead of the owner's address.
    pub fn set_alias(&self, retailer_id: String, alias: String) -> AppResult<String> {
        Ok(self
            .write(move |tx| erasure::set_alias(tx, &retailer_id, &alias, Utc::now()))?
            .alias)
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
