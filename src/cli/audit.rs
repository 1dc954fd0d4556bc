//! `locket audit`: who accessed what, and whether the log is intact.
//!
//! `locket audit [--retailer R] [--grant G] [--field F] [--outcome O] [--kind K] [--since T] [--until T]
//! [--limit N] [--before SEQ] [--json]` lists events newest first; `locket audit verify` walks the hash chain;
//! `locket audit timeline` prints events per day.
use chrono::{Duration, Utc};
use clap::{Args, Subcommand};
use locket_audit::{Cursor, Event};
use serde_json::json;

use super::audit_filter::FilterArgs;
use super::output::table;
use super::{exit, CliError, CliResult, Ctx};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    cmd: Option<AuditCmd>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Most events to show (1-1000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    /// Show events older than event number SEQ (the "next page" hint printed after a full page).
    #[arg(long, value_name = "SEQ")]
    before: Option<u64>,
}

/// `locket audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the hash chain and report the first event that was altered or removed.
    Verify,
    /// Events per day (the dashboard's timeline).
    Timeline {
        /// How many days back.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Write the access log (with the same filters) to a CSV or JSON file for the owner.
    Export(Box<super::audit_export::AuditExportArgs>),
}

fn audit_err(e: locket_audit::AuditError) -> CliError {
    CliError::from_code(e.code(), e.to_string())
}

/// Runs `locket audit ...`.
pub fn run(ctx: &mut Ctx, args: AuditArgs) -> CliResult {
    match args.cmd {
        Some(AuditCmd::Verify) => return verify(ctx),
        Some(AuditCmd::Timeline { days }) => return timeline(ctx, days),
        Some(AuditCmd::Export(args)) => return super::audit_export::run(ctx, *args),
        None => {}
    }
    let filter = args.filter.into_filter()?;
    if !(1..=1000).contains(&args.limit) {
        return Err(CliError::usage("--limit must be between 1 and 1000"));
    }
    let vault = ctx.open_vault()?;
    let store = vault.connect()?;
    let page = locket_audit::query(store.conn(), &filter, args.before.map(Cursor), args.limit).map_err(audit_err)?;
    let doc = json!({ "events": page.events, "next": page.next.map(|c| c.0) });
    ctx.out.result(&doc, || human_page(&page.events, page.next));
    Ok(())
}

fn short(id: &str) -> String {
    if id.chars().count() > 14 {
        format!("{}…", id.chars().take(13).collect::<String>())
    } else {
        id.to_string()
    }
}

fn human_page(events: &[Event], next: Option<Cursor>) -> String {
    if events.is_empty() {
        return "No events match. (Every access, refusal, request and grant decision is recorded here.)".into();
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let outcome = match &e.reason {
                Some(r) => format!("{} ({r})", e.outcome),
                None => e.outcome.clone(),
            };
            let fields = e
                .fields
                .iter()
                .map(|f| format!("{}@v{}", f.key, f.version))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                e.seq.to_string(),
                e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.kind.to_string(),
                outcome,
                e.retailer.clone().unwrap_or_default(),
                e.grant_id.as_deref().map(short).unwrap_or_default(),
                e.remote_addr.clone().unwrap_or_default(),
                fields,
            ]
        })
        .collect();
    let mut out = table(
        &[
            "#",
            "TIME (UTC)",
            "EVENT",
            "OUTCOME",
            "RETAILER",
            "GRANT",
            "FROM",
            "FIELDS",
        ],
        &rows,
    );
    if let Some(c) = next {
        out.push_str(&format!("\nMore: locket audit --before {c} (with the same filters)"));
    }
    out
}

fn verify(ctx: &mut Ctx) -> CliResult {
    let vault = ctx.open_vault()?;
    let pk = locket_audit::signing_public_key(vault.signing_seed().expose()).map_err(audit_err)?;
    let report = locket_audit::verify_vault(&vault, Some(&pk)).map_err(audit_err)?;
    // A restore keeps the chain intact (the restored log continues from the backup's head), so it is said
    // separately: when, from which backup, how many events were rolled back and where they are kept.
    let restores = locket_audit::restores(vault.connect()?.conn()).map_err(audit_err)?;
    match &report.problem {
        None => {
            let mut doc = serde_json::to_value(&report).unwrap_or_default();
            if let Some(map) = doc.as_object_mut() {
                map.insert("restored".into(), serde_json::Value::Bool(!restores.is_empty()));
                map.insert("restores".into(), serde_json::to_value(&restores).unwrap_or_default());
            }
            ctx.out.result(&doc, || {
                let mut s = format!(
                    "The access log is intact: {} events, {} signed heads checked.\nHead: event {} {}",
                    report.events, report.signed_heads, report.head_seq, report.head_hash
                );
                if !restores.is_empty() {
                    s.push_str(&format!(
                        "\nThis log was RESTORED {} time(s); events after each restored point are not in it:",
                        restores.len()
                    ));
                    for r in &restores {
                        s.push_str(&format!("\n  - event {}: {}", r.seq, r.sentence()));
                    }
                }
                s
            });
            super::audit_export::check_imported(ctx, &vault)
        }
        Some(p) => {
            if ctx.out.is_json() {
                ctx.out.json(&report);
            }
            Err(CliError::new(
                exit::DAMAGED,
                "audit_chain_broken",
                format!(
                    "the access log is NOT intact: {} ({} events before it verified)",
                    p.message, report.events
                ),
            ))
        }
    }
}

fn timeline(ctx: &mut Ctx, days: i64) -> CliResult {
    if !(1..=3660).contains(&days) {
        return Err(CliError::usage("--days must be between 1 and 3660"));
    }
    let vault = ctx.open_vault()?;
    let store = vault.connect()?;
    let since = Utc::now() - Duration::days(days);
    let counts = locket_audit::daily_counts(store.conn(), Some(since), None, 0).map_err(audit_err)?;
    ctx.out.result(&counts, || {
        if counts.is_empty() {
            return format!("No events in the last {days} days.");
        }
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|d| {
                vec![
                    d.day.to_string(),
                    d.total.to_string(),
                    d.redemptions.to_string(),
                    d.refused.to_string(),
                ]
            })
            .collect();
        table(&["DAY (UTC)", "EVENTS", "REDEMPTIONS", "REFUSED"], &rows)
    });
    Ok(())
}
