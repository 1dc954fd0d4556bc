//! `locket backup now|list|verify ID|restore ID`: encrypted snapshots of the vault kept in `backups/`.
use clap::{Args, Subcommand};
use locket_vault::backup::{self, BackupInfo, BackupPolicy};
use locket_vault::{Vault, VaultError};
use serde_json::json;

use super::output::table;
use super::{spin, CliError, CliResult, Ctx};

/// Backup commands.
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Take an encrypted snapshot now (then prune old ones: last 10 + one a week for 8 weeks).
    Now,
    /// List backups, newest first (no passphrase needed).
    List,
    /// Check a backup: every page's authentication code and the access-log hash chain.
    Verify(IdArg),
    /// Replace the vault with a backup. The current state is kept as a backup first; a damaged vault that
    /// no longer opens can be restored this way too.
    Restore(RestoreArgs),
}

/// A backup id (see `locket backup list`).
#[derive(Debug, Args)]
pub struct IdArg {
    /// Backup id, e.g. 20261124T151012.345Z.
    pub id: String,
}

/// Arguments of `backup restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup id, e.g. 20261124T151012.345Z.
    pub id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn db_size(dir: &std::path::Path) -> u64 {
    ["vault.db", "vault.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Runs a backup command.
pub fn run(ctx: &mut Ctx, cmd: BackupCmd) -> CliResult {
    match cmd {
        BackupCmd::Now => {
            let vault = ctx.open_vault()?;
            let info = spin("Backing up", || vault.backup_now("manual"))?;
            let pruned = vault.prune_backups(BackupPolicy::default())?;
            let vault_bytes = db_size(vault.dir());
            ctx.out.result(
                &json!({ "backup": info, "vault_size_bytes": vault_bytes, "pruned": pruned }),
                || {
                    format!(
                        "Backup {} taken ({}; vault {}).{}",
                        info.id,
                        human_size(info.size_bytes),
                        human_size(vault_bytes),
                        if pruned.is_empty() {
                            String::new()
                        } else {
                            format!(" Removed {} old backup(s).", pruned.len())
                        }
                    )
                },
            );
            Ok(())
        }
        BackupCmd::List => {
            let dir = ctx.require_vault()?;
            let list = backup::list(&dir)?;
            ctx.out.result(&list, || {
                if list.is_empty() {
                    return "No backups yet. Take one with `locket backup now`.".into();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|b| {
                        vec![
                            b.id.clone(),
                            b.reason.clone(),
                            human_size(b.size_bytes),
                            b.created_at.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "REASON", "SIZE", "TAKEN"], &rows)
            });
            Ok(())
        }
        BackupCmd::Verify(IdArg { id }) => {
            let vault = ctx.open_vault()?;
            let check = spin("Verifying", || vault.verify_backup(&id))?;
            let store = vault.open_backup(&id)?;
            let public = locket_audit::signing_public_key(vault.signing_seed().expose())
                .map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
            let chain = locket_audit::verify(store.conn(), Some(&public))
                .map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
            let ok = check.integrity_problems.is_empty() && chain.ok();
            ctx.out.result(
                &json!({ "ok": ok, "backup": check.backup, "integrity_problems": check.integrity_problems,
                          "log": chain }),
                || {
                    let mut s = format!("Backup {}:\n", id);
                    if check.integrity_problems.is_empty() {
                        s.push_str("  pages        ok (every page's authentication code verified)\n");
                    } else {
                        s.push_str(&format!(
                            "  pages        DAMAGED: {}\n",
                            check.integrity_problems.join("; ")
                        ));
                    }
                    match &chain.problem {
                        None => s.push_str(&format!("  access log   verified ({} events)", chain.events)),
                        Some(p) => s.push_str(&format!(
                            "  access log   TAMPERING detected at event {}: {}",
                            p.seq, p.message
                        )),
                    }
                    s
                },
            );
            if ok {
                Ok(())
            } else {
                Err(CliError::from_code(
                    "vault_damaged",
                    format!("backup {id} failed verification"),
                ))
            }
        }
        BackupCmd::Restore(RestoreArgs { id, yes }) => {
            let dir = ctx.require_vault()?;
            if !backup::list(&dir)?.iter().any(|b| b.id == id) {
                return Err(CliError::from_code(
                    "not_found",
                    format!("no backup `{id}` (see `locket backup list`)"),
                ));
            }
            if !yes {
                ctx.confirm(
                    &format!("Replace the vault with backup {id}? The current state is kept as a backup first."),
                    "restore",
                )?;
            }
            let pass = ctx.secrets.passphrase("Passphrase: ")?;
            let restored = match spin("Unlocking", || Vault::unlock(&dir, &pass)) {
                Ok(vault) => spin("Restoring", || vault.restore_backup(&id))?,
                // The current database no longer opens: restore straight from the backup, keeping the
                // damaged files aside.
                Err(VaultError::Damaged { .. }) => spin("Restoring", || Vault::recover_from_backup(&dir, &pass, &id))?,
                Err(e) => return Err(e.into()),
            };
            ctx.out
                .result(&json!({ "restored": id, "vault_id": restored.id() }), || {
                    format!("Restored backup {id}.")
                });
            Ok(())
        }
    }
}

/// A hint for an owner whose vault did not open because it is damaged: the newest backup, if any.
pub fn damaged_hint(dir: &std::path::Path) -> Option<String> {
    let newest: BackupInfo = backup::list(dir).ok()?.into_iter().next()?;
    Some(format!(
        "the newest backup is {} (taken {}); restore it with `locket backup restore {}` — nothing is overwritten \
         without your say, and the damaged files are kept aside",
        newest.id, newest.created_at, newest.id
    ))
}
