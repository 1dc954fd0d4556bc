//! `locket backup now|list|verify ID|restore ID`: encrypted snapshots of the vault kept in `backups/`.
use clap::{Args, Subcommand};
use locket_app::backups::{RestoreDone, RestorePreviewDto};
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
    /// Replace the vault with a backup. Shows first what will come back and what stays: revocations,
    /// narrowings and use counts made after the backup are applied again, and the log events after it are kept
    /// in a before-restore backup. A damaged vault that no longer opens can be restored this way too.
    Restore(RestoreArgs),
    /// Keep a database that unlock refused as rolled back (`vault_rolled_back`: an older vault.db was put back
    /// or its WAL was lost). Revocations, narrowings and use counts made since are applied again and the
    /// rollback is recorded in the access log.
    AcceptRollback(YesArg),
}

/// `--yes`.
#[derive(Debug, Args)]
pub struct YesArg {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
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
        BackupCmd::Restore(RestoreArgs { id, yes }) => restore(ctx, &id, yes),
        BackupCmd::AcceptRollback(YesArg { yes }) => accept_rollback(ctx, yes),
    }
}

/// `backup restore ID`: passphrase, then what will come back (the preview), then the confirmation, then the
/// restore — through the same re-apply path whether the current vault opens, is damaged or is rolled back.
fn restore(ctx: &mut Ctx, id: &str, yes: bool) -> CliResult {
    let dir = ctx.require_vault()?;
    if !backup::list(&dir)?.iter().any(|b| b.id == id) {
        return Err(CliError::from_code(
            "not_found",
            format!("no backup `{id}` (see `locket backup list`)"),
        ));
    }
    let pass = ctx.secrets.passphrase("Passphrase: ")?;
    // The current database opens: restore through it. It does not (damaged, or older than its freshness
    // anchor): restore straight from the backup, keeping the current files aside. Either way the ledger outside
    // the database is applied again.
    let current = match spin("Unlocking", || Vault::unlock(&dir, &pass)) {
        Ok(vault) => Some(vault),
        Err(VaultError::Damaged { .. } | VaultError::RolledBack { .. }) => None,
        Err(e) => return Err(locket_app::failed_unlock(&dir, e, "passphrase").into()),
    };
    let preview: RestorePreviewDto = match &current {
        Some(v) => v.restore_preview(id)?,
        None => Vault::recovery_preview(&dir, &pass, id)?,
    }
    .into();
    if !yes {
        let mut q = format!("Restore backup {id} (taken {})?\n", preview.created_at);
        for line in &preview.summary {
            q.push_str(&format!("  - {line}\n"));
        }
        ctx.confirm(&q, "restore")?;
    }
    let (restored, report) = match current {
        Some(vault) => spin("Restoring", || vault.restore_backup(id, locket_audit::record_restored))?,
        None => spin("Restoring", || {
            Vault::recover_from_backup(&dir, &pass, id, locket_audit::record_restored)
        })?,
    };
    let done = RestoreDone::from(report);
    ctx.out.result(
        &json!({ "restored": id, "vault_id": restored.id(), "preview": preview, "result": done }),
        || done.summary.clone(),
    );
    Ok(())
}

/// `backup accept-rollback`: keep the older database unlock refused, re-applying what must survive.
fn accept_rollback(ctx: &mut Ctx, yes: bool) -> CliResult {
    let dir = ctx.require_vault()?;
    if !yes {
        ctx.confirm(
            "Keep the older copy of the database that unlock refused? Revocations, narrowings and use counts made \
             since are applied again; the log events and profile changes made since are lost unless you still have \
             the newer vault.db and vault.db-wal.",
            "accept",
        )?;
    }
    let pass = ctx.secrets.passphrase("Passphrase: ")?;
    let how = locket_app::Unlock::AcceptRollback(pass);
    let vault = spin("Applying revocations again", || locket_app::unlock_vault(&dir, &how))?;
    let session = ctx.session_on(vault, "accept_rollback")?;
    let store = session.vault().connect()?;
    let note = locket_audit::restores(store.conn())
        .map_err(|e| CliError::from_code(e.code(), e.to_string()))?
        .pop();
    ctx.out.result(&json!({ "accepted": true, "restore": note }), || {
        note.as_ref()
            .map(|n| n.sentence())
            .unwrap_or_else(|| "Kept the older copy of the database.".into())
    });
    Ok(())
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
