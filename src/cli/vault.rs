//! Vault commands: `init`, `status`, `passphrase change`, `recover`, `keychain on|off`, `export`, `import`, `wipe`.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use locket_vault::export::{self, ExportSection};
use locket_vault::{
    profile, settings, KdfParams, KeyChange, Passphrase, RecoveryChange, RecoveryKey, Vault, VaultError,
};
use serde_json::json;

use super::{exit, kdf_params_from_env, spin, CliError, CliResult, Ctx};

/// `locket init`.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// `locket passphrase ...`.
#[derive(Debug, Subcommand)]
pub enum PassphraseCmd {
    /// Change the passphrase (asks for the current one, then the new one). Only re-wraps the key; instant.
    Change,
}

/// `locket keychain on|off`.
#[derive(Debug, Args)]
pub struct KeychainArgs {
    /// `on`: unlock on this device without the passphrase (key kept in the OS keychain); `off`: remove it.
    pub state: OnOff,
}

/// on / off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Turn on.
    On,
    /// Turn off.
    Off,
}

/// `locket export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// File to write (created with owner-only permissions).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Encrypt the export with a passphrase of its own (asked for after the vault passphrase).
    #[arg(long)]
    pub encrypt: bool,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `locket import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An export made by `locket export` (plain or encrypted).
    pub file: PathBuf,
}

/// `locket wipe`.
#[derive(Debug, Args)]
pub struct WipeArgs {
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    pub yes: bool,
}

fn print_recovery_key(ctx: &Ctx, dir: &Path, vault: &Vault, recovery: &RecoveryKey, what: &str) {
    let shown = recovery.display_groups();
    ctx.out.result(
        &json!({ "vault_id": vault.id(), "path": dir, "recovery_key": shown.as_str() }),
        || {
            format!(
                "{what} at {}\n\n\
                 Your recovery key (shown only this once; write it down and keep it somewhere safe):\n\n    {}\n\n\
                 If you forget your passphrase, `locket recover` sets a new one with this key.",
                dir.display(),
                shown.as_str()
            )
        },
    );
}

/// `locket init`: creates a vault (one passphrase line on stdin with `--passphrase-stdin`).
pub fn init(ctx: &mut Ctx, _args: InitArgs) -> CliResult {
    let dir = ctx.vault_dir();
    if Vault::exists(&dir) || dir.join(locket_vault::DB_FILE).exists() {
        return Err(VaultError::AlreadyExists { path: dir }.into());
    }
    let (vault, recovery) = create_vault(ctx, &dir)?;
    print_recovery_key(ctx, &dir, &vault, &recovery, "Created a new vault");
    Ok(())
}

fn create_vault(ctx: &mut Ctx, dir: &Path) -> CliResult<(Vault, RecoveryKey)> {
    let pass = ctx.secrets.new_passphrase("New passphrase: ", "passphrase")?;
    let params = kdf_params_from_env(&ctx.out)?;
    Ok(spin("Creating the vault", || Vault::create(dir, &pass, params))?)
}

/// `locket status`: what can be seen without unlocking, plus more when the vault opens without a prompt
/// (keychain) or with `--passphrase-stdin`.
pub fn status(ctx: &mut Ctx) -> CliResult {
    let dir = ctx.vault_dir();
    if !Vault::exists(&dir) {
        ctx.out.result(&json!({ "exists": false, "path": dir }), || {
            format!("No vault at {}. Create one with `locket init`.", dir.display())
        });
        return Err(CliError::new(
            exit::NOT_FOUND,
            "vault_not_found",
            format!("no Locket vault at {}", dir.display()),
        ));
    }
    let mut info = Vault::inspect(&dir)?;
    let can_open = ctx.secrets.reads_stdin() || info.keychain_enabled;
    let mut counts = None;
    if can_open {
        let vault = ctx.open_vault()?;
        info = vault.info()?;
        let store = vault.connect()?;
        let fields = profile::list_current(store.conn())?
            .iter()
            .filter(|v| !v.is_default)
            .count();
        let custom = profile::custom_fields(store.conn())?.len();
        counts = Some((fields, custom));
    }
    let doc = json!({
        "exists": true,
        "path": info.path,
        "vault_id": info.vault_id,
        "unlocked": can_open,
        "keychain_enabled": info.keychain_enabled,
        "recovery_enabled": info.recovery_enabled,
        "passphrase_kdf": info.passphrase_kdf,
        "schema_version": info.schema_version,
        "created_at": info.created_at,
        "fields_set": counts.map(|c| c.0),
        "custom_fields": counts.map(|c| c.1),
    });
    ctx.out.result(&doc, || {
        let mut s = format!("Vault     {}\nId        {}\n", info.path.display(), info.vault_id);
        if let Some(k) = info.passphrase_kdf {
            s.push_str(&format!(
                "Key       Argon2id, {} MiB, t={}, p={}\n",
                k.m_cost_kib / 1024,
                k.t_cost,
                k.p_cost
            ));
        }
        s.push_str(&format!(
            "Recovery  {}\nKeychain  {}\n",
            if info.recovery_enabled {
                "recovery key set"
            } else {
                "no recovery key"
            },
            if info.keychain_enabled {
                "unlock on this device is on"
            } else {
                "off"
            }
        ));
        match (counts, info.created_at.as_ref(), info.schema_version) {
            (Some((f, c)), Some(created), Some(v)) => {
                s.push_str(&format!(
                    "Created   {created}\nSchema    v{v}\nProfile   {f} field(s) set, {c} custom field(s)"
                ));
            }
            _ => s.push_str("Locked    (give --passphrase-stdin, or turn on `locket keychain on`, to see more)"),
        }
        s
    });
    Ok(())
}

/// The KDF parameters to keep for a new passphrase: the current slot's, unless the test profile is asked for.
fn params_for_new_passphrase(ctx: &Ctx, dir: &Path) -> CliResult<KdfParams> {
    if std::env::var("LOCKET_KDF_PROFILE").is_ok() {
        return kdf_params_from_env(&ctx.out);
    }
    Ok(Vault::inspect(dir)
        .ok()
        .and_then(|i| i.passphrase_kdf)
        .unwrap_or_default())
}

/// `locket passphrase change`: stdin lines = current passphrase, new passphrase.
pub fn passphrase(ctx: &mut Ctx, cmd: PassphraseCmd) -> CliResult {
    match cmd {
        PassphraseCmd::Change => {
            let dir = ctx.require_vault()?;
            let vault = ctx.unlock_with_passphrase(&dir)?;
            let vault = ctx.session_on(vault, "passphrase")?.into_vault();
            let new = ctx.secrets.new_passphrase("New passphrase: ", "new passphrase")?;
            let params = params_for_new_passphrase(ctx, &dir)?;
            // A new data key: the old passphrase opens nothing afterwards, not even an old backup's key slots.
            let done = spin("Re-keying the vault and its backups", || {
                vault.change_passphrase(&new, params)
            })?;
            let new_key = done.new_recovery_key.as_ref().map(|k| k.display_groups());
            ctx.out.result(
                &json!({
                    "changed": true,
                    "rekeyed": true,
                    "copies_reencrypted": done.copies_reencrypted,
                    "new_recovery_key": new_key.as_ref().map(|k| k.as_str()),
                }),
                || {
                    let mut s = format!(
                        "Passphrase changed. The vault has a new key: the old passphrase no longer opens it or \
                         any of its {} backup(s).",
                        done.copies_reencrypted
                    );
                    if let Some(k) = &new_key {
                        s.push_str(&format!(
                            "\nYour old recovery key could not be carried over to the new key. Your NEW recovery \
                             key (shown once, write it down):\n\n    {}\n",
                            k.as_str()
                        ));
                    }
                    s
                },
            );
            Ok(())
        }
    }
}

/// `locket recover`: stdin lines = recovery key, new passphrase.
pub fn recover(ctx: &mut Ctx) -> CliResult {
    let dir = ctx.require_vault()?;
    let typed = ctx.secrets.ask("Recovery key: ", "recovery key")?;
    let key = RecoveryKey::parse(&typed)?;
    // The key is checked before the new passphrase is asked for; a wrong key is recorded like any failed unlock.
    let vault = spin("Checking the recovery key", || Vault::unlock_with_recovery(&dir, &key))
        .map_err(|e| locket_app::failed_unlock(&dir, e, "recovery"))?;
    let vault = ctx.session_on(vault, "recovery")?.into_vault();
    let new = ctx.secrets.new_passphrase("New passphrase: ", "new passphrase")?;
    let params = params_for_new_passphrase(ctx, &dir)?;
    spin("Setting the new passphrase and re-keying the vault", || {
        vault.rekey(KeyChange {
            passphrase: &new,
            kdf: params,
            recovery: RecoveryChange::Same(&key),
        })
    })?;
    ctx.out.result(&json!({ "recovered": true, "rekeyed": true }), || {
        "New passphrase set; the vault has a new key, so the forgotten passphrase no longer opens it or its \
         backups. Your recovery key still works; keep it safe."
            .into()
    });
    Ok(())
}

/// `locket keychain on|off`.
pub fn keychain(ctx: &mut Ctx, args: KeychainArgs) -> CliResult {
    let vault = ctx.open_vault()?;
    let on = args.state == OnOff::On;
    vault.set_keychain(on)?;
    let store = vault.connect()?;
    settings::set_raw(store.conn(), "keychain_enabled", &json!(on))?;
    ctx.out.result(&json!({ "keychain_enabled": on }), || {
        if on {
            "Unlock on this device is on: this user account can open the vault without the passphrase.".into()
        } else {
            "Unlock on this device is off; the passphrase is needed again.".into()
        }
    });
    Ok(())
}

/// `locket export --out FILE [--encrypt]`.
pub fn export_cmd(ctx: &mut Ctx, args: ExportArgs) -> CliResult {
    if args.out.exists() && !args.force {
        return Err(CliError::new(
            exit::CONFLICT,
            "file_exists",
            format!("{} already exists; pass --force to replace it", args.out.display()),
        ));
    }
    let vault = ctx.open_vault()?;
    let export_pass = if args.encrypt {
        Some(ctx.secrets.new_passphrase("Export passphrase: ", "export passphrase")?)
    } else {
        None
    };
    let sections = super::export_sections();
    let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
    let store = vault.connect()?;
    let doc = spin("Exporting", || export::export(store.conn(), &refs))?;
    let bytes: zeroize::Zeroizing<Vec<u8>> = match &export_pass {
        Some(p) => {
            let params = kdf_params_from_env(&ctx.out)?;
            zeroize::Zeroizing::new(spin("Encrypting", || export::encrypt(&doc, p, params))?)
        }
        None => export::to_json(&doc)?,
    };
    super::output::write_private_file(&args.out, &bytes, args.force)?;
    let versions: usize = doc.profile.iter().map(|f| f.history.len()).sum();
    let fingerprint = locket_app::owner::vault_fingerprint(&vault)?;
    if export_pass.is_none() {
        ctx.out.warn(&format!(
            "{} holds your profile in plain text. Keep it private and delete it when done, or use --encrypt.",
            args.out.display()
        ));
    }
    ctx.out.result(
        &json!({
            "path": args.out,
            "encrypted": export_pass.is_some(),
            "fields": doc.profile.len(),
            "versions": versions,
            "custom_fields": doc.custom_fields.len(),
            "sections": doc.sections.keys().collect::<Vec<_>>(),
            "fingerprint": fingerprint,
        }),
        || {
            format!(
                "Exported {} field(s) ({} version(s)) and {} custom field(s) to {}{}.\n\
                 Signed by this vault, key fingerprint {fingerprint}\n\
                 (importing the file shows the fingerprint of the vault that signed it: they must match)",
                doc.profile.len(),
                versions,
                doc.custom_fields.len(),
                args.out.display(),
                if export_pass.is_some() { ", encrypted" } else { "" }
            )
        },
    );
    Ok(())
}

/// `locket import FILE`: into a new vault (created here; prints its recovery key) or an existing empty one.
/// Secrets in order: the export passphrase (if the file is encrypted), then the vault passphrase (new or current).
pub fn import_cmd(ctx: &mut Ctx, args: ImportArgs) -> CliResult {
    let bytes = zeroize::Zeroizing::new(fs::read(&args.file).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            "file_not_found"
        } else {
            "io_error"
        };
        CliError::from_code(code, format!("cannot read {}: {e}", args.file.display()))
    })?);
    let export_pass: Option<Passphrase> = match export::is_encrypted(&bytes) {
        Some(true) => Some(Passphrase::new(
            ctx.secrets.ask("Export passphrase: ", "export passphrase")?.to_string(),
        )),
        _ => None,
    };
    let doc = spin("Reading the export", || export::decode(&bytes, export_pass.as_ref()))?;
    // Every signed part must come from one vault and key, before anything is written.
    let signer = Signer {
        fingerprint: locket_app::owner::export_signer(&doc)?,
        vault_id: doc.source.vault_id.clone(),
    };
    let dir = ctx.vault_dir();
    let sections = super::export_sections();
    let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();

    if Vault::exists(&dir) {
        let vault = ctx.open_vault()?;
        let store = vault.connect()?;
        let summary = spin("Importing", || export::import(store.conn(), &doc, &refs))?;
        report_import(ctx, &summary, &dir, &signer);
        return Ok(());
    }
    let (vault, recovery) = create_vault(ctx, &dir)?;
    let result = (|| -> CliResult<_> {
        let store = vault.connect()?;
        Ok(spin("Importing", || export::import(store.conn(), &doc, &refs))?)
    })();
    match result {
        Ok(summary) => {
            if !ctx.out.is_json() {
                print_recovery_key(ctx, &dir, &vault, &recovery, "Created a new vault");
                ctx.out.line("");
                report_import(ctx, &summary, &dir, &signer);
            } else {
                ctx.out.json(&json!({
                    "vault_id": vault.id(),
                    "path": dir,
                    "recovery_key": recovery.display_groups().as_str(),
                    "imported": summary,
                    "source_vault_id": signer.vault_id,
                    "fingerprint": signer.fingerprint,
                }));
            }
            Ok(())
        }
        Err(e) => {
            // The vault was made for this import only; do not leave an empty one behind.
            drop(vault);
            let _ = Vault::wipe(&dir);
            Err(e)
        }
    }
}

/// Who signed an export being imported.
struct Signer {
    fingerprint: Option<String>,
    vault_id: String,
}

fn report_import(ctx: &Ctx, s: &export::ImportSummary, dir: &Path, signer: &Signer) {
    let value = json!({
        "path": dir,
        "imported": s,
        "source_vault_id": signer.vault_id,
        "fingerprint": signer.fingerprint,
    });
    ctx.out.result(&value, || {
        let signed = match &signer.fingerprint {
            Some(fp) => format!(
                "\nThe file was signed by the vault with key fingerprint {fp}\n\
                 (the export showed its vault's fingerprint: if they differ, the file is not the one you exported)"
            ),
            None => "\nThe file carries no signed activity log or grants.".to_owned(),
        };
        format!(
            "Imported {} field(s) ({} version(s)), {} custom field(s) and {} setting(s) into {}.{signed}",
            s.fields,
            s.versions,
            s.custom_fields,
            s.settings,
            dir.display()
        )
    });
}

/// `locket wipe [--yes]`: crypto-shreds the vault (key slots first, then the files). Needs no passphrase.
pub fn wipe(ctx: &mut Ctx, args: WipeArgs) -> CliResult {
    let dir = ctx.vault_dir();
    if !Vault::exists(&dir) && !dir.join(locket_vault::DB_FILE).exists() {
        return Err(VaultError::NotFound { path: dir }.into());
    }
    if !args.yes {
        ctx.confirm(
            &format!(
                "This destroys the vault at {} for good: every profile value, grant and log entry.",
                dir.display()
            ),
            "wipe",
        )?;
    }
    spin("Wiping", || Vault::wipe(&dir))?;
    ctx.out.result(&json!({ "wiped": true, "path": dir }), || {
        format!("Wiped the vault at {}.", dir.display())
    });
    Ok(())
}
