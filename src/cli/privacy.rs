//! The owner's privacy commands: `locket receipts list|show`, `locket ledger [FIELD]` (who holds which version of your data), `locket
//! erasure request|list`, `locket alias set|list` (per-shop email aliases) and `locket privacy budget` (the
//! noised-answer budget per shop). Each is a thin call into the application layer (`locket_app::Session`).
//!
//! Commands that read or change consent records first issue the consent receipts that fell due since the last
//! look (expiries, and revocations made without the signing key).

use clap::{Args, Subcommand};
use locket_app::grants::Review;
use locket_app::privacy::GrantConsent;
use locket_app::Session;
use locket_grants::store::RequestRecord;
use serde_json::json;

use super::output::{cell, safe, table, when};
use super::{CliResult, Ctx};

/// The over-asking check's lines appended to the request card (empty when there are no warnings).
pub fn review_text(review: &Review, rec: &RequestRecord) -> String {
    if review.warnings.is_empty() {
        return String::new();
    }
    let mut out = vec![String::new(), "  Privacy check:".to_owned()];
    for w in &review.warnings {
        out.push(format!("    ⚠ {}", safe(&w.message)));
        if let Some(s) = &w.suggestion {
            out.push(format!("      instead: {} — {}", safe(&s.scope), safe(&s.explanation)));
        }
    }
    if !review.plan.is_empty() {
        let pairs: Vec<String> = review.plan.iter().map(|(raw, m)| format!("{m} for {raw}")).collect();
        out.push(format!(
            "  Grant the minimized answers instead ({}) with: locket grant approve {} --minimize --out FILE",
            pairs.join(", "),
            rec.id
        ));
    }
    format!("\n{}", out.join("\n"))
}

/// Issues the consent receipts that fell due, warning (not failing) when they cannot be issued now.
fn catch_up(ctx: &Ctx, session: &Session) {
    if let Err(e) = session.catch_up_receipts() {
        ctx.out
            .warn(&format!("could not issue the consent receipts due: {}", e.message));
    }
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
    let session = ctx.open_session()?;
    let holdings = session.ledger(args.field.as_deref(), args.retailer.as_deref())?;
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
    let session = ctx.open_session()?;
    match cmd {
        ErasureCmd::Request { target, note } => {
            let r = session.request_erasure_of(&target, note)?;
            ctx.out.result(&r, || {
                format!(
                    "Asked {} to erase what it received{}. It sees the request on its next GET /v1/grant \
                     (erasure_requested_at); `locket erasure list` shows when it acknowledges.",
                    safe(&r.retailer_id),
                    r.grant_id
                        .as_ref()
                        .map(|g| format!(" under grant {g}"))
                        .unwrap_or_default()
                )
            });
        }
        ErasureCmd::List { retailer } => {
            let list = session.erasure_records(retailer.as_deref())?;
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
    let session = ctx.open_session()?;
    match cmd {
        AliasCmd::Set { retailer, address } => {
            let a = session.set_email_alias(retailer, address)?;
            ctx.out.result(&a, || {
                format!(
                    "{} now gets {} when granted email_alias; if mail to it comes from elsewhere, {} leaked it.",
                    safe(&a.retailer_id),
                    safe(&a.alias),
                    safe(&a.retailer_id)
                )
            });
        }
        AliasCmd::List => {
            let list = session.email_aliases()?;
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
    let session = ctx.open_session()?;
    let PrivacyCmd::Budget { set, total } = cmd;
    if let (Some(retailer), Some(total)) = (set, total) {
        let b = session.set_privacy_budget(retailer, total)?;
        ctx.out.result(&b, || {
            format!(
                "{}: budget ε {:.2}, spent {:.2}, left {:.2}.",
                b.retailer_id, b.total, b.spent, b.remaining
            )
        });
        return Ok(());
    }
    let list = session.privacy_budgets()?;
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
    let session = ctx.open_session()?;
    catch_up(ctx, &session);
    let list = match grant {
        Some(g) => session.grant_receipts(&g)?,
        None => session.receipts(retailer.as_deref(), None)?,
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
    let session = ctx.open_session()?;
    catch_up(ctx, &session);
    let r = session.verified_receipt(id)?;
    ctx.out.result(&json!(r), || r.to_json_pretty());
    Ok(())
}

/// Lines `locket grant show` appends about a grant's consent record: its receipts, whether the shop holds
/// outdated data, and erasure.
pub fn consent_text(c: &GrantConsent) -> String {
    let mut out = vec![String::new(), "  Receipts:".to_owned()];
    if c.receipts.is_empty() {
        out.push("    none (granted before consent receipts)".to_owned());
    }
    for r in &c.receipts {
        out.push(format!(
            "    {} v{} {} at {}",
            r.receipt_id,
            r.version,
            r.event.as_str(),
            r.event_at
        ));
    }
    if let Some(t) = &c.data_changed_since {
        out.push(format!("  Outdated:  the shop holds data you changed on {t}"));
    }
    if let Some(r) = &c.erasure.erasure_requested_at {
        out.push(format!(
            "  Erasure:   requested {r}; {}",
            c.erasure
                .erasure_acknowledged_at
                .as_ref()
                .map_or("not acknowledged yet".to_owned(), |a| format!("acknowledged {a}"))
        ));
    }
    out.join("\n")
}
