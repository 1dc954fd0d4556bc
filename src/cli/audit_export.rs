//! `locket audit export --format csv|json --out FILE [filters]`: the access log for the owner, as a spreadsheet
//! (CSV, one row per event) or JSON (`locket.audit-log/v1`), oldest event first. The filters are those of
//! `locket audit`.
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use locket_audit::export::{self as log_export, LogExportError};
use serde_json::json;

use super::{exit, CliError, CliResult, Ctx};

/// File format of `locket audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Comma-separated values (RFC 4180), one row per event, with a header row.
    Csv,
    /// A JSON document (`locket.audit-log/v1`) with the events as `locket audit --json` prints them.
    Json,
}

/// `locket audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// File format.
    #[arg(long, value_enum, default_value_t = LogFormat::Csv)]
    format: LogFormat,
    /// File to write (created with owner-only permissions).
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    filter: super::audit_filter::FilterArgs,
}

fn log_err(e: LogExportError) -> CliError {
    CliError::from_code(e.code(), e.to_string())
}

/// Runs `locket audit export`.
pub fn run(ctx: &mut Ctx, args: AuditExportArgs) -> CliResult {
    if args.out.exists() && !args.force {
        return Err(CliError::new(
            exit::CONFLICT,
            "file_exists",
            format!("{} already exists; pass --force to replace it", args.out.display()),
        ));
    }
    let filter = args.filter.into_filter()?;
    let vault = ctx.open_vault()?;
    let store = vault.connect()?;
    let events =
        super::spin("Reading the access log", || log_export::collect(store.conn(), &filter)).map_err(log_err)?;
    let bytes = match args.format {
        LogFormat::Csv => {
            let mut buf = Vec::with_capacity(events.len() * 160 + 128);
            log_export::write_csv(&events, &mut buf)
                .map_err(|e| CliError::new(exit::ERROR, "io_error", format!("cannot render CSV: {e}")))?;
            buf
        }
        LogFormat::Json => {
            let doc = log_export::owner_json(store.conn(), &events).map_err(log_err)?;
            let mut buf = serde_json::to_vec_pretty(&doc)
                .map_err(|e| CliError::new(exit::ERROR, "io_error", format!("cannot render JSON: {e}")))?;
            buf.push(b'\n');
            buf
        }
    };
    super::output::write_private_file(&args.out, &bytes, args.force)?;
    let format = match args.format {
        LogFormat::Csv => "csv",
        LogFormat::Json => "json",
    };
    ctx.out.result(
        &json!({ "path": args.out, "format": format, "events": events.len() }),
        || format!("Wrote {} event(s) to {} ({format}).", events.len(), args.out.display()),
    );
    Ok(())
}

/// After `locket audit verify` found the chain intact: re-checks the old vault's signed heads carried by each
/// `imported` event ([`log_export::verify_imported`]) and tells the owner (human output only; `--json` keeps
/// the single report document). Fails with `audit_chain_broken` (exit 4) if one does not verify.
pub fn check_imported(ctx: &Ctx, vault: &locket_vault::Vault) -> CliResult {
    let store = vault.connect()?;
    match log_export::verify_imported(store.conn()) {
        Ok(checks) => {
            for c in checks {
                ctx.out.line(format!(
                    "Imported at event {} from vault {}: {} signed head(s) of the old vault verify with its key {}.",
                    c.seq, c.source_vault_id, c.heads_verified, c.source_public_key
                ));
            }
            Ok(())
        }
        Err(LogExportError::NotIntact { message, .. }) => Err(CliError::new(
            exit::DAMAGED,
            "audit_chain_broken",
            format!("the imported part of the access log is NOT intact: {message}"),
        )),
        Err(e) => Err(log_err(e)),
    }
}
