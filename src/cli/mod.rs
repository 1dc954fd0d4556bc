//! Shared plumbing for the `locket` commands: global options, the command context ([`Ctx`]) with the
//! "open the vault from the global options" helper, secret input, errors and exit codes, spinners.
//!
//! Each area of commands lives in its own module (`vault`, `profile`, ...) and exposes clap argument types plus
//! `run(ctx, args)` functions; `main.rs` has one enum variant and one match arm per area.

pub mod audit;
pub mod audit_export;
pub mod audit_filter;
pub mod backup;
pub mod deliveries;
pub mod grant;
pub mod output;
pub mod privacy;
pub mod profile;
pub mod receipts;
pub mod requests;
pub mod serve;
pub mod settings;
pub mod vault;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use locket_app::{AppError, ErrorKind, Options, Session, Unlock};
use locket_vault::export::{ExportError, ExportSection};
use locket_vault::{KdfParams, Passphrase, Vault, VaultError};
use zeroize::Zeroizing;

pub use output::Output;

/// Options accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Vault directory (default: the OS data directory for "locket", e.g. ~/.local/share/locket).
    #[arg(long, global = true, env = "LOCKET_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Read passphrases (and recovery keys) from standard input, one per line, instead of prompting.
    #[arg(long, global = true)]
    pub passphrase_stdin: bool,
    /// Print machine-readable JSON on standard output (errors as JSON on standard error).
    #[arg(long, global = true)]
    pub json: bool,
}

/// Documented exit codes (see docs/cli.md).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Any other error.
    pub const ERROR: u8 = 1;
    /// Bad command line, or a needed input (terminal, stdin line) is missing.
    pub const USAGE: u8 = 2;
    /// Wrong passphrase, recovery key or export passphrase.
    pub const WRONG_SECRET: u8 = 3;
    /// The vault or a given file is damaged, not a Locket file, or from a newer Locket.
    pub const DAMAGED: u8 = 4;
    /// Not found: no vault, unknown field, field without a value, missing file.
    pub const NOT_FOUND: u8 = 5;
    /// A value broke a validation rule.
    pub const INVALID: u8 = 6;
    /// Conflict: a vault already exists, the import target is not empty, the output file exists.
    pub const CONFLICT: u8 = 7;
    /// The OS keychain is unavailable, or unlock-on-this-device is not enabled.
    pub const KEYCHAIN: u8 = 8;
    /// The owner declined a confirmation.
    pub const CANCELLED: u8 = 9;
    /// The vault cannot be written (disk full, read-only, permissions); nothing was changed.
    pub const CANNOT_WRITE: u8 = 10;
    /// A shop's site did not answer as it should (down, slow, refused the secure connection, an HTTP error).
    pub const UNAVAILABLE: u8 = 11;
}

/// An error as the CLI reports it: a stable code, a message for the owner, and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code (see [`exit`]).
    pub exit: u8,
    /// Stable snake_case code (same codes as the core crates).
    pub code: String,
    /// Message for the owner.
    pub message: String,
}

impl CliError {
    /// A new error.
    pub fn new(exit: u8, code: impl Into<String>, message: impl Into<String>) -> Self {
        CliError {
            exit,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, "usage", message)
    }

    /// The exit status of an error code: the application layer's kind of the code (one table for the whole
    /// product, `locket_app::ErrorKind::of_code`) mapped once here, plus the few statuses only a command line has
    /// (usage, a declined confirmation, the OS keychain).
    pub fn exit_for_code(code: &str) -> u8 {
        match code {
            "usage" | "id_ambiguous" => return exit::USAGE,
            "cancelled" => return exit::CANCELLED,
            "keychain_unavailable" | "keychain_not_enabled" => return exit::KEYCHAIN,
            _ => {}
        }
        match ErrorKind::of_code(code) {
            ErrorKind::Unauthenticated => exit::WRONG_SECRET,
            ErrorKind::Damaged => exit::DAMAGED,
            ErrorKind::NotFound => exit::NOT_FOUND,
            ErrorKind::Invalid => exit::INVALID,
            ErrorKind::Conflict => exit::CONFLICT,
            ErrorKind::Storage => exit::CANNOT_WRITE,
            ErrorKind::Unavailable => exit::UNAVAILABLE,
            _ => exit::ERROR,
        }
    }

    /// An error from a stable core code and a message.
    pub fn from_code(code: &str, message: impl Into<String>) -> Self {
        Self::new(Self::exit_for_code(code), code, message)
    }
}

impl From<VaultError> for CliError {
    fn from(e: VaultError) -> Self {
        CliError::from_code(e.code(), e.to_string())
    }
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        CliError::from_code(&e.code, e.message)
    }
}

impl From<ExportError> for CliError {
    fn from(e: ExportError) -> Self {
        // A section's own code (e.g. `audit_section_not_intact`) says more than `export_section_failed`.
        let code = match &e {
            ExportError::Section { source, .. } => {
                if let Some(inner) = source.downcast_ref::<locket_audit::export::LogExportError>() {
                    inner.code()
                } else if let Some(inner) = source.downcast_ref::<locket_grants::export::GrantsExportError>() {
                    inner.code()
                } else {
                    e.code()
                }
            }
            _ => e.code(),
        };
        CliError::from_code(code, e.to_string())
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Export sections other crates contribute (grants, audit log, ...). Add one line per section here. Import runs
/// them in this order: the access log first (it is imported verbatim only into an empty log), then the grants
/// (which log each live grant they mark as moved).
pub fn export_sections() -> Vec<Box<dyn ExportSection>> {
    vec![
        Box::new(locket_audit::export::AuditSection),
        Box::new(locket_grants::export::GrantsSection),
    ]
}

/// Reads secrets: from a hidden terminal prompt, or line by line from standard input with `--passphrase-stdin`.
pub struct Secrets {
    from_stdin: bool,
    stdin: Option<std::io::StdinLock<'static>>,
}

impl Secrets {
    fn new(from_stdin: bool) -> Self {
        Secrets {
            from_stdin,
            stdin: None,
        }
    }

    /// Whether secrets come from standard input.
    pub fn reads_stdin(&self) -> bool {
        self.from_stdin
    }

    /// Reads one line from standard input (without its line ending). `None` at end of input.
    pub fn stdin_line(&mut self) -> CliResult<Option<Zeroizing<String>>> {
        let lock = self.stdin.get_or_insert_with(|| std::io::stdin().lock());
        let mut line = Zeroizing::new(String::new());
        let n = lock
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("cannot read standard input: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        Ok(Some(line))
    }

    /// Reads the rest of standard input (for `profile set KEY -`).
    pub fn stdin_rest(&mut self) -> CliResult<Zeroizing<String>> {
        let lock = self.stdin.get_or_insert_with(|| std::io::stdin().lock());
        let mut all = Zeroizing::new(String::new());
        std::io::Read::read_to_string(lock, &mut all)
            .map_err(|e| CliError::usage(format!("cannot read standard input: {e}")))?;
        while all.ends_with('\n') || all.ends_with('\r') {
            all.pop();
        }
        Ok(all)
    }

    /// Asks for one secret (`what` names it, e.g. "passphrase").
    pub fn ask(&mut self, prompt: &str, what: &str) -> CliResult<Zeroizing<String>> {
        if self.from_stdin {
            return self.stdin_line()?.ok_or_else(|| {
                CliError::usage(format!(
                    "--passphrase-stdin: standard input ended before the {what} line"
                ))
            });
        }
        rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|_| {
            CliError::usage(format!(
                "cannot prompt for the {what} (no terminal); pass --passphrase-stdin and give it on standard input"
            ))
        })
    }

    /// Asks for an existing passphrase.
    pub fn passphrase(&mut self, prompt: &str) -> CliResult<Passphrase> {
        let p = self.ask(prompt, "passphrase")?;
        Ok(Passphrase::new(p.to_string()))
    }

    /// Asks for a new passphrase: on a terminal twice (they must match); checks the minimum length.
    pub fn new_passphrase(&mut self, prompt: &str, what: &str) -> CliResult<Passphrase> {
        let first = self.ask(prompt, what)?;
        let candidate = Passphrase::new(first.to_string());
        locket_app::passphrase::check_new(&candidate)
            .map_err(|e| CliError::from_code(&e.code, format!("{what}: {}", e.message)))?;
        if !self.from_stdin {
            let again = self.ask("Repeat it: ", what)?;
            if *again != *first {
                return Err(CliError::new(
                    exit::INVALID,
                    "validation_failed",
                    format!("{what}: the two entries differ"),
                ));
            }
        }
        Ok(candidate)
    }
}

/// Everything a command needs: global options, output, secret input.
pub struct Ctx {
    /// The global options.
    pub global: GlobalArgs,
    /// Output (human or JSON).
    pub out: Output,
    /// Secret input.
    pub secrets: Secrets,
}

impl Ctx {
    /// Builds the context from the global options.
    pub fn new(global: GlobalArgs) -> Self {
        Ctx {
            out: Output::new(global.json),
            secrets: Secrets::new(global.passphrase_stdin),
            global,
        }
    }

    /// The vault directory from `--vault` / `LOCKET_VAULT`, else the default.
    pub fn vault_dir(&self) -> PathBuf {
        self.global.vault.clone().unwrap_or_else(Vault::default_dir)
    }

    /// Fails with "no vault" (exit 5) unless a vault exists at the vault directory.
    pub fn require_vault(&self) -> CliResult<PathBuf> {
        let dir = self.vault_dir();
        if !Vault::exists(&dir) {
            return Err(VaultError::NotFound { path: dir }.into());
        }
        Ok(dir)
    }

    /// Unlocks the vault named by the global options and opens a session on it: with the OS keychain when
    /// enabled (unless secrets come from standard input), else with the passphrase. Failed attempts are recorded
    /// next to the vault and carried into the log by the next unlock (the application layer does both).
    pub fn open_session(&mut self) -> CliResult<Session> {
        let dir = self.require_vault()?;
        if !self.secrets.reads_stdin() && Vault::inspect(&dir)?.keychain_enabled {
            match locket_app::unlock_vault(&dir, &Unlock::Keychain) {
                Ok(v) => return self.session_on(v, "keychain"),
                Err(e) if matches!(e.code.as_str(), "vault_damaged" | "vault_too_new" | "vault_rolled_back") => {
                    return Err(with_backup_hint(&dir, e))
                }
                Err(e) => self.out.warn(&format!(
                    "could not unlock with the OS keychain ({}); asking for the passphrase",
                    e.message
                )),
            }
        }
        let vault = self.unlock_with_passphrase(&dir)?;
        self.session_on(vault, "passphrase")
    }

    /// [`Ctx::open_session`] for commands that only read the vault or manage it as a whole.
    pub fn open_vault(&mut self) -> CliResult<Vault> {
        Ok(self.open_session()?.vault().clone())
    }

    /// Asks for the passphrase and unlocks `dir` with it.
    pub fn unlock_with_passphrase(&mut self, dir: &std::path::Path) -> CliResult<Vault> {
        let how = Unlock::Passphrase(self.secrets.passphrase("Passphrase: ")?);
        spin("Unlocking", || locket_app::unlock_vault(dir, &how)).map_err(|e| with_backup_hint(dir, e))
    }

    /// Opens a session on a vault unlocked by `method`, telling the owner about failed attempts carried into the
    /// log.
    pub fn session_on(&self, vault: Vault, method: &str) -> CliResult<Session> {
        let (session, carried) = Session::open_once(vault, method, Options::cli())?;
        match carried {
            Ok(n) if n > 0 => self.out.warn(&format!(
                "{n} failed unlock attempt(s) since the last unlock; see `locket audit --kind unlock_failed`"
            )),
            Ok(_) => {}
            Err(e) => self
                .out
                .warn(&format!("could not record the unlock in the access log: {}", e.message)),
        }
        Ok(session)
    }

    /// Asks the owner to confirm (on a terminal); without a terminal the caller must have passed `--yes`.
    pub fn confirm(&mut self, question: &str, expected: &str) -> CliResult {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(
                "refusing without confirmation (no terminal); pass --yes",
            ));
        }
        eprint!("{question} Type {expected} to confirm: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("cannot read the confirmation: {e}")))?;
        if line.trim() == expected {
            Ok(())
        } else {
            Err(CliError::new(
                exit::CANCELLED,
                "cancelled",
                "cancelled; nothing was changed",
            ))
        }
    }

    /// Reports the command's result and turns it into the process exit code.
    pub fn finish(&self, result: CliResult) -> ExitCode {
        match result {
            Ok(()) => ExitCode::from(exit::OK),
            Err(e) => {
                self.out.error(&e);
                ExitCode::from(e.exit)
            }
        }
    }
}

/// A damaged vault's error, with the newest backup offered (startup check: tell exactly what is wrong, offer the
/// newest backup, overwrite nothing).
fn with_backup_hint(dir: &std::path::Path, e: AppError) -> CliError {
    let mut err = CliError::from(e);
    if err.code == "vault_damaged" {
        if let Some(hint) = backup::damaged_hint(dir) {
            err.message = format!("{}\n{hint}", err.message);
        }
    }
    err
}

/// The Argon2 parameters for a new passphrase slot or encrypted export: the default, or cheap test parameters
/// when `LOCKET_KDF_PROFILE=test` in a debug build (with a warning); a release build refuses the test profile
/// (`kdf_test_profile_refused`).
pub fn kdf_params_from_env(out: &Output) -> CliResult<KdfParams> {
    let p = KdfParams::from_env().map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    if p != KdfParams::default() {
        out.warn("LOCKET_KDF_PROFILE=test: using cheap Argon2 parameters; for automated tests only");
    }
    Ok(p)
}

/// Runs `f` with a spinner on standard error when it is a terminal (Argon2, export, import).
pub fn spin<T>(message: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(format!("{message}…"));
    pb.enable_steady_tick(Duration::from_millis(80));
    let out = f();
    pb.finish_and_clear();
    out
}

/// Logging to standard error, off unless `LOCKET_LOG` is set (e.g. `LOCKET_LOG=debug`). Never logs secrets.
pub fn init_tracing() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("LOCKET_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}
