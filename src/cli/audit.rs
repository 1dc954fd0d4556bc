//! `locket audit`: who accessed what, and whether the log is intact.
//!
//! `locket audit [--retailer R] [--grant G] [--field F] [--outcome O] [--kind K] [--since T] [--until T]
//! [--limit N] [--before SEQ] [--json]` lists events newest first; `locket audit verify` walks the hash chain;
//! `locket audit timeline` prints events per day.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, Subcommand};
use locket_audit::{Cursor, Event, EventKind, Filter, Outcome};
use serde_json::json;

use super::output::table;
use super::{exit, CliError, CliResult, Ctx};

/// Filters and paging for `locket audit`.
/// The event filters shared by `locket audit` and `locket audit export`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only events about this retailer id (e.g. shop.example).
    #[arg(long, value_name = "RETAILER")]
    retailer: Option<String>,
    /// Only events about this grant id.
    #[arg(long, value_name = "GRANT")]
    grant: Option<String>,
    /// Only events that disclosed this field (e.g. contact.email).
    #[arg(long, value_name = "FIELD")]
    field: Option<String>,
    /// Only events with this outcome.
    #[arg(long, value_name = "OUTCOME", value_parser = ["ok", "refused", "error"])]
    outcome: Option<String>,
    /// Only events of this kind (redemption, introspection, refusal, request_received, grant_issued,
    /// grant_denied, grant_revoked, unlock, unlock_failed, imported, ...).
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Only events at or after this time: RFC 3339, a date (YYYY-MM-DD, UTC) or an age such as 7d, 12h, 30m.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

impl FilterArgs {
    /// The query filter these options describe (times relative to now).
    pub fn into_filter(self) -> CliResult<Filter> {
        let now = Utc::now();
        Ok(Filter {
            retailer: self.retailer,
            grant: self.grant,
            field: self.field,
            outcome: self.outcome.as_deref().and_then(Outcome::parse),
            kind: self.kind.as_deref().map(EventKind::parse),
            since: self.since.as_deref().map(|t| parse_time(t, now)).transpose()?,
            until: self.until.as_deref().map(|t| parse_time(t, now)).transpose()?,
        })
    }
}

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

/// Parses `--since`/`--until`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> CliResult<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if let Ok(n) = num.parse::<i64>() {
        let d = match unit {
            "d" => Some(Duration::days(n)),
            "h" => Some(Duration::hours(n)),
            "m" => Some(Duration::minutes(n)),
            "w" => Some(Duration::weeks(n)),
            _ => None,
        };
        if let Some(d) = d {
            return Ok(now - d);
        }
    }
    Err(CliError::usage(format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-24T15:00:00Z), a date (2026-11-24) or an age (7d, 12h, 30m)"
    )))
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
    match &report.problem {
        None => {
            ctx.out.result(&report, || {
                format!(
                    "The access log is intact: {} events, {} signed heads checked.\nHead: event {} {}",
                    report.events, report.signed_heads, report.head_seq, report.head_hash
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        let now: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
        assert_eq!(parse_time("7d", now).unwrap(), now - Duration::days(7));
        assert_eq!(parse_time("12h", now).unwrap(), now - Duration::hours(12));
        assert_eq!(
            parse_time("2026-11-01", now).unwrap(),
            "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            parse_time("2026-11-01T10:00:00+01:00", now).unwrap(),
            "2026-11-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
