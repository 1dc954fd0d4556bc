//! The owner's privacy commands: `locket receipts list|show`, `locket ledger [FIELD]` (who holds which version of your data), `locket
//! erasure request|list`, `locket alias set|list` (per-shop email aliases) and `locket privacy budget` (the
//! noised-answer budget per shop). Each is a thin call into `locket_grants::{ledger, erasure, dp}`.
//!
//! [`catch_up_receipts`] is run by every command that reads or changes grants: it issues the consent
//! receipts that fell due since the last look (expiries, and revocations made without the signing key).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use clap::{Args, Subcommand};
use locket_grants::derived::{self, ScopeWarning};
use locket_grants::receipt::{self, Collection, Receipt, ReceiptEvent, ReceiptSigner};
use locket_grants::store::{self, RequestRecord};
use locket_grants::{dp, erasure, ledger};
use locket_vault::{Store, Vault};
use rusqlite::TransactionBehavior;
use serde_json::json;

use super::output::{cell, table};
use super::requests::when;
use super::{exit, CliError, CliResult, Ctx};

/// Issue the consent receipts that are due (see `locket_grants::receipt::issue_due_receipts`), committed
/// at once. Returns them.
pub fn catch_up_receipts(vault: &Vault, store: &mut Store) -> CliResult<Vec<Receipt>> {
    let signer = ReceiptSigner::for_vault(vault).map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    let now = Utc::now();
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let template = receipt::context_now(&tx, ReceiptEvent::Expiry, now, Collection::Cli);
    let issued = receipt::issue_due_receipts(&tx, &signer, &template, now, None)
        .map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    tx.commit()?;
    Ok(issued)
}

/// The over-asking check of one request, for `locket requests show`.
#[derive(Debug, Clone)]
pub struct Review {
    /// Warnings (over-asking, sensitive data for marketing).
    pub warnings: Vec<ScopeWarning>,
    /// Requested scope → the minimized answer `grant approve --minimize` grants instead.
    pub plan: BTreeMap<String, String>,
}

impl Review {
    /// The warnings as lines appended to the request card (empty when there are none).
    pub fn text(&self, rec: &RequestRecord) -> String {
        if self.warnings.is_empty() {
            return String::new();
        }
        let mut out = vec![String::new(), "  Privacy check:".to_owned()];
        for w in &self.warnings {
            out.push(format!("    ⚠ {}", w.message));
            if let Some(s) = &w.suggestion {
                out.push(format!("      instead: {} — {}", s.scope, s.explanation));
            }
        }
        if !self.plan.is_empty() {
            let pairs: Vec<String> = self.plan.iter().map(|(raw, m)| format!("{m} for {raw}")).collect();
            out.push(format!(
                "  Grant the minimized answers instead ({}) with: locket grant approve {} --minimize --out FILE",
                pairs.join(", "),
                rec.id
            ));
        }
        format!("\n{}", out.join("\n"))
    }
}

/// Run the over-asking check on a stored request.
pub fn review(conn: &rusqlite::Connection, rec: &RequestRecord) -> Review {
    Review {
        warnings: derived::review_request(conn, &rec.request),
        plan: derived::minimization_plan(conn, &rec.request, None),
    }
}

fn err(code: &str, message: impl Into<String>) -> CliError {
    CliError::from_code(code, message)
}

/// Retailer ids the vault knows (from its grants), sorted.
fn known_retailers(conn: &rusqlite::Connection) -> CliResult<BTreeSet<String>> {
    let mut stmt = conn.prepare("SELECT DISTINCT retailer_id FROM grants")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(ids)
}

/// `locket ledger [FIELD]`
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// A field key (e.g. contact.email): who holds which version of it. Without it: everything every shop
    /// received.
    pub field: Option<String>,
    /// Only this shop (retailer id).
    #[arg(long, value_name = "RETAILER")]
    pub retailer: Option<String>,
}

/// Runs `locket ledger`.
pub fn ledger_cmd(ctx: &mut Ctx, args: LedgerArgs) -> CliResult {
    let vault = ctx.open_vault()?;
    let store = vault.connect()?;
    let conn = store.conn();
    let lerr = |e: ledger::LedgerError| err(e.code(), e.to_string());
    let mut holdings = match (&args.field, &args.retailer) {
        (Some(f), _) => {
            locket_vault::profile::field_def(conn, f)
                .map_err(|e| CliError::new(exit::NOT_FOUND, "unknown_field", e.to_string()))?;
            ledger::holders_of(conn, f).map_err(lerr)?
        }
        (None, Some(r)) => ledger::held_by(conn, r).map_err(lerr)?,
        (None, None) => {
            let mut all = Vec::new();
            for r in known_retailers(conn)? {
                all.extend(ledger::held_by(conn, &r).map_err(lerr)?);
            }
            all
        }
    };
    if let Some(r) = &args.retailer {
        holdings.retain(|h| &h.retailer_id == r);
    }
    ctx.out.result(&holdings, || {
        if holdings.is_empty() {
            return match &args.field {
                Some(f) => format!("No shop has received {f}."),
                None => "No shop has received anything yet.".into(),
            };
        }
        let mut lines = Vec::new();
        if let Some(f) = &args.field {
            let outdated: Vec<_> = holdings.iter().filter(|h| h.is_outdated()).collect();
            if let Some(since) = outdated.iter().filter_map(|h| h.outdated_since).min() {
                lines.push(format!(
                    "{} {} your previous {f} (since {}). Each can be told through its grant \
                     (GET /v1/grant shows data_changed_since), or revoked.",
                    outdated.len(),
                    if outdated.len() == 1 {
                        "shop holds"
                    } else {
                        "shops hold"
                    },
                    when(since)
                ));
            }
        }
        let rows: Vec<Vec<String>> = holdings
            .iter()
            .map(|h| {
                vec![
                    cell(&h.field_key, 32),
                    cell(&h.retailer_id, 28),
                    h.version.to_string(),
                    h.current_version.map_or("removed".into(), |v| v.to_string()),
                    when(h.first_received_at),
                    h.outdated_since
                        .map_or("current".into(), |t| format!("outdated since {}", when(t))),
                ]
            })
            .collect();
        lines.push(table(
            &["FIELD", "SHOP", "HOLDS", "CURRENT", "RECEIVED", "STATE"],
            &rows,
        ));
        lines.join("\n")
    });
    Ok(())
}

/// `locket erasure …`
#[derive(Debug, Subcommand)]
pub enum ErasureCmd {
    /// Ask a shop to erase what it received: all of it (RETAILER id) or under one grant (GRANT id).
    Request {
        /// A retailer id (e.g. shop.example) or a grant id (or unique prefix).
        target: String,
        /// A note kept with the request.
        #[arg(long)]
        note: Option<String>,
    },
    /// List erasure requests with the date each shop acknowledged, newest first.
    List {
        /// Only this shop.
        #[arg(long, value_name = "RETAILER")]
        retailer: Option<String>,
    },
}

/// Runs `locket erasure …`.
pub fn erasure_cmd(ctx: &mut Ctx, cmd: ErasureCmd) -> CliResult {
    let vault = ctx.open_vault()?;
    let mut store = vault.connect()?;
    let perr = |e: erasure::PrivacyError| err(e.code(), e.to_string());
    match cmd {
        ErasureCmd::Request { target, note } => {
            let (retailer, grant) = match store::get_grant(store.conn(), &target) {
                Ok(g) => (g.retailer_id, Some(g.id)),
                Err(_) if known_retailers(store.conn())?.contains(&target) => (target.clone(), None),
                Err(_) => {
                    return Err(CliError::new(
                        exit::NOT_FOUND,
                        "retailer_not_found",
                        format!("{target:?} is neither a grant id nor a shop you granted anything; `locket grant list` shows both"),
                    ))
                }
            };
            let tx = store
                .conn_mut()
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let r = erasure::request_erasure(&tx, &retailer, grant.as_deref(), note.as_deref(), Utc::now())
                .map_err(perr)?;
            tx.commit()?;
            ctx.out.result(&r, || {
                format!(
                    "Asked {} to erase what it received{}. It sees the request on its next GET /v1/grant \
                     (erasure_requested_at); `locket erasure list` shows when it acknowledges.",
                    r.retailer_id,
                    r.grant_id
                        .as_ref()
                        .map(|g| format!(" under grant {g}"))
                        .unwrap_or_default()
                )
            });
        }
        ErasureCmd::List { retailer } => {
            let list = erasure::list(store.conn(), retailer.as_deref()).map_err(perr)?;
            ctx.out.result(&list, || {
                if list.is_empty() {
                    return "No erasure requests. Ask with `locket erasure request RETAILER|GRANT`.".into();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.clone(),
                            cell(&e.retailer_id, 28),
                            e.grant_id.clone().unwrap_or_else(|| "all grants".into()),
                            e.requested_at.clone(),
                            e.acknowledged_at.clone().unwrap_or_else(|| "not yet".into()),
                        ]
                    })
                    .collect();
                table(&["ID", "SHOP", "GRANT", "REQUESTED", "ACKNOWLEDGED"], &rows)
            });
        }
    }
    Ok(())
}

/// `locket alias …`
#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Set (or replace) the email alias a shop gets for the `email_alias` scope.
    Set {
        /// Retailer id (e.g. shop.example).
        retailer: String,
        /// The alias address (never reused for another shop).
        address: String,
    },
    /// List the aliases and which shop each went to.
    List,
}

/// Runs `locket alias …`.
pub fn alias_cmd(ctx: &mut Ctx, cmd: AliasCmd) -> CliResult {
    let vault = ctx.open_vault()?;
    let mut store = vault.connect()?;
    let perr = |e: erasure::PrivacyError| err(e.code(), e.to_string());
    match cmd {
        AliasCmd::Set { retailer, address } => {
            let tx = store
                .conn_mut()
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let a = erasure::set_alias(&tx, &retailer, &address, Utc::now()).map_err(perr)?;
            tx.commit()?;
            ctx.out.result(&a, || {
                format!(
                    "{} now gets {} when granted email_alias; if mail to it comes from elsewhere, {} leaked it.",
                    a.retailer_id, a.alias, a.retailer_id
                )
            });
        }
        AliasCmd::List => {
            let list = erasure::list_aliases(store.conn()).map_err(perr)?;
            ctx.out.result(&list, || {
                if list.is_empty() {
                    return "No aliases. Set one with `locket alias set RETAILER ADDRESS`.".into();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| {
                        vec![
                            cell(&a.alias, 40),
                            cell(&a.retailer_id, 28),
                            a.created_at.clone(),
                            a.retired_at.clone().map_or("in use".into(), |t| format!("retired {t}")),
                        ]
                    })
                    .collect();
                table(&["ALIAS", "SHOP", "SET", "STATE"], &rows)
            });
        }
    }
    Ok(())
}

/// `locket privacy …`
#[derive(Debug, Subcommand)]
pub enum PrivacyCmd {
    /// The privacy budget (ε) each shop has spent and has left for noised analytics answers.
    Budget {
        /// Set this shop's total budget (with --total).
        #[arg(long, value_name = "RETAILER", requires = "total")]
        set: Option<String>,
        /// The new total ε for --set (0 stops noised answers for that shop).
        #[arg(long, value_name = "EPSILON")]
        total: Option<f64>,
    },
}

/// Runs `locket privacy …`.
pub fn privacy_cmd(ctx: &mut Ctx, cmd: PrivacyCmd) -> CliResult {
    let vault = ctx.open_vault()?;
    let mut store = vault.connect()?;
    let derr = |e: dp::DpError| err(e.code(), e.to_string());
    let PrivacyCmd::Budget { set, total } = cmd;
    if let (Some(retailer), Some(total)) = (set, total) {
        let tx = store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let b = dp::set_budget(&tx, &retailer, total, Utc::now()).map_err(derr)?;
        tx.commit()?;
        ctx.out.result(&b, || {
            format!(
                "{}: budget ε {:.2}, spent {:.2}, left {:.2}.",
                b.retailer_id, b.total, b.spent, b.remaining
            )
        });
        return Ok(());
    }
    let conn = store.conn();
    let mut ids = known_retailers(conn)?;
    ids.extend(dp::budgets(conn).map_err(derr)?.into_iter().map(|b| b.retailer_id));
    let list = ids
        .iter()
        .map(|id| dp::budget(conn, id))
        .collect::<Result<Vec<_>, _>>()
        .map_err(derr)?;
    ctx.out.result(&list, || {
        if list.is_empty() {
            return "No shops yet.".into();
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|b| {
                vec![
                    cell(&b.retailer_id, 28),
                    format!("{:.2}", b.spent),
                    format!("{:.2}", b.remaining),
                    format!("{:.2}", b.total),
                    b.answers.to_string(),
                ]
            })
            .collect();
        table(&["SHOP", "ε SPENT", "ε LEFT", "ε TOTAL", "ANSWERS"], &rows)
    });
    Ok(())
}

/// `locket receipts list [--retailer R] [--grant G]`.
pub fn receipts_list(ctx: &mut Ctx, retailer: Option<String>, grant: Option<String>) -> CliResult {
    let vault = ctx.open_vault()?;
    let mut store = vault.connect()?;
    catch_up_receipts(&vault, &mut store)?;
    let rerr = |e: receipt::ReceiptError| err(e.code(), e.to_string());
    let list = match grant {
        Some(g) => {
            let g = store::get_grant(store.conn(), &g)?;
            receipt::for_grant(store.conn(), &g.id).map_err(rerr)?
        }
        None => receipt::list_receipts(store.conn(), retailer.as_deref(), None).map_err(rerr)?,
    };
    ctx.out.result(&list, || {
        if list.is_empty() {
            return "No consent receipts yet; each approval, narrowing, revocation and expiry issues one.".into();
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|r| {
                vec![
                    r.receipt_id.clone(),
                    r.event.as_str().to_owned(),
                    r.version.to_string(),
                    cell(&r.controller.id, 24),
                    r.grant.grant_id.clone(),
                    r.event_at.clone(),
                    cell(
                        &r.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>().join(", "),
                        32,
                    ),
                ]
            })
            .collect();
        table(&["RECEIPT", "EVENT", "V", "SHOP", "GRANT", "WHEN", "SCOPES"], &rows)
    });
    Ok(())
}

/// `locket receipts show ID`: the signed receipt as JSON (with or without `--json`), checked against the
/// vault's key first.
pub fn receipts_show(ctx: &mut Ctx, id: &str) -> CliResult {
    let vault = ctx.open_vault()?;
    let mut store = vault.connect()?;
    catch_up_receipts(&vault, &mut store)?;
    let rerr = |e: receipt::ReceiptError| err(e.code(), e.to_string());
    let r = receipt::get_receipt(store.conn(), id).map_err(rerr)?.ok_or_else(|| {
        CliError::new(
            exit::NOT_FOUND,
            "receipt_not_found",
            format!("no consent receipt with id {id:?}; `locket receipts list` shows them"),
        )
    })?;
    let signer = ReceiptSigner::for_vault(&vault).map_err(rerr)?;
    receipt::verify_receipt(&r.to_json_pretty(), &signer.issuer().public_key).map_err(rerr)?;
    ctx.out.result(&json!(r), || r.to_json_pretty());
    Ok(())
}

/// What `locket grant show` adds about a grant's consent record: its receipts, whether the shop holds
/// outdated data, and erasure.
#[derive(Debug, Clone)]
pub struct GrantPrivacy {
    /// The grant's receipts, oldest first.
    pub receipts: Vec<Receipt>,
    /// When data disclosed under the grant first changed after the version the shop holds.
    pub data_changed_since: Option<String>,
    /// Erasure requested / acknowledged.
    pub erasure: erasure::ErasureStatus,
}

impl GrantPrivacy {
    /// Lines appended to the grant card.
    pub fn text(&self) -> String {
        let mut out = vec![String::new(), "  Receipts:".to_owned()];
        if self.receipts.is_empty() {
            out.push("    none (granted before consent receipts)".to_owned());
        }
        for r in &self.receipts {
            out.push(format!(
                "    {} v{} {} at {}",
                r.receipt_id,
                r.version,
                r.event.as_str(),
                r.event_at
            ));
        }
        if let Some(t) = &self.data_changed_since {
            out.push(format!("  Outdated:  the shop holds data you changed on {t}"));
        }
        if let Some(r) = &self.erasure.erasure_requested_at {
            out.push(format!(
                "  Erasure:   requested {r}; {}",
                self.erasure
                    .erasure_acknowledged_at
                    .as_ref()
                    .map_or("not acknowledged yet".to_owned(), |a| format!("acknowledged {a}"))
            ));
        }
        out.join("\n")
    }
}

/// The consent record of one grant (see [`GrantPrivacy`]).
pub fn grant_privacy(conn: &rusqlite::Connection, grant_id: &str) -> CliResult<GrantPrivacy> {
    Ok(GrantPrivacy {
        receipts: receipt::for_grant(conn, grant_id).map_err(|e| err(e.code(), e.to_string()))?,
        data_changed_since: ledger::data_changed_since(conn, grant_id)
            .map_err(|e| err(e.code(), e.to_string()))?
            .map(locket_grants::token::rfc3339),
        erasure: erasure::status_for_grant(conn, grant_id).map_err(|e| err(e.code(), e.to_string()))?,
    })
}
