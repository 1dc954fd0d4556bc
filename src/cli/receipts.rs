//! `locket receipts list|show ID` (in `privacy.rs`) and `locket receipts export --out FILE [--retailer R]`: every consent receipt (`locket.consent-receipt/v1`, signed)
//! the vault issued, as one JSON document the owner can keep or hand to a regulator.
use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use clap::Subcommand;
use serde_json::json;

use super::output::write_private_file;
use super::{exit, CliError, CliResult, Ctx};

/// Format tag of `locket receipts export`.
pub const RECEIPTS_EXPORT_FORMAT: &str = "locket.consent-receipts/v1";

/// `locket receipts …`
#[derive(Debug, Subcommand)]
pub enum ReceiptsCmd {
    /// List consent receipts (grant, narrowing, revoke, expiry), oldest first.
    List {
        /// Only receipts of this retailer id.
        #[arg(long, value_name = "RETAILER")]
        retailer: Option<String>,
        /// Only receipts of this grant (id or unique prefix).
        #[arg(long, value_name = "GRANT")]
        grant: Option<String>,
    },
    /// Show one receipt (id or unique prefix) as signed JSON; it verifies with the vault's public key.
    Show {
        /// Receipt id (`cr_…`) or a unique prefix of it.
        id: String,
    },
    /// Write every consent receipt to a JSON file (oldest first).
    Export {
        /// File to write (created with owner-only permissions).
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// Only receipts of this retailer id.
        #[arg(long, value_name = "RETAILER")]
        retailer: Option<String>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `locket receipts …`.
pub fn run(ctx: &mut Ctx, cmd: ReceiptsCmd) -> CliResult {
    let (out, retailer, force) = match cmd {
        ReceiptsCmd::List { retailer, grant } => return super::privacy::receipts_list(ctx, retailer, grant),
        ReceiptsCmd::Show { id } => return super::privacy::receipts_show(ctx, &id),
        ReceiptsCmd::Export { out, retailer, force } => (out, retailer, force),
    };
    if out.exists() && !force {
        return Err(CliError::new(
            exit::CONFLICT,
            "file_exists",
            format!("{} already exists; pass --force to replace it", out.display()),
        ));
    }
    let session = ctx.open_session()?;
    // Expiry receipts that fell due belong in the export.
    session.catch_up_receipts()?;
    let receipts = session.receipts(retailer.as_deref(), None)?;
    let doc = json!({
        "format": RECEIPTS_EXPORT_FORMAT,
        "exported_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "vault_id": session.vault().id(),
        "receipts": receipts,
    });
    let mut bytes = serde_json::to_vec_pretty(&doc)
        .map_err(|e| CliError::new(exit::ERROR, "io_error", format!("cannot render JSON: {e}")))?;
    bytes.push(b'\n');
    write_private_file(&out, &bytes, force)?;
    ctx.out.result(&json!({ "path": out, "receipts": receipts.len() }), || {
        format!("Wrote {} consent receipt(s) to {}.", receipts.len(), out.display())
    });
    Ok(())
}
