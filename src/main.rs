//! `locket`: the owner's command-line tool for the Locket personal data store.
//!
//! Each area of commands is one variant of [`Command`] and one arm in [`run`]; the code lives in `src/cli/`.
//! Exit codes are listed in `docs/cli.md` and in [`cli::exit`].
#![forbid(unsafe_code)]

mod cli;

/// mimalloc instead of glibc's malloc: the endpoint's writer thread and the HTTP workers allocate and free
/// each other's memory at every redemption, and glibc's arena locks made that a measured bottleneck
/// (`cargo bench --bench endpoint`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::{CliResult, Ctx};

/// Locket keeps your personal profile in an encrypted vault on this computer and lets shops see only what you
/// grant, for as long as you allow.
#[derive(Debug, Parser)]
#[command(name = "locket", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: cli::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new encrypted vault and show its recovery key.
    Init(cli::vault::InitArgs),
    /// Show where the vault is and how it is protected.
    Status,
    /// Read and change your profile.
    #[command(subcommand)]
    Profile(cli::profile::ProfileCmd),
    /// List the fields you can fill in; add or remove custom fields.
    Fields(cli::profile::FieldsArgs),
    /// Change the vault passphrase.
    #[command(subcommand)]
    Passphrase(cli::vault::PassphraseCmd),
    /// Set a new passphrase with the recovery key.
    Recover,
    /// Turn "unlock on this device" (OS keychain) on or off.
    Keychain(cli::vault::KeychainArgs),
    /// Show or change settings (auto-lock, endpoint address and port, CORS origins).
    Settings {
        #[command(subcommand)]
        cmd: Option<cli::settings::SettingsCmd>,
    },
    /// Export everything to a portable JSON file (plain text unless --encrypt).
    Export(cli::vault::ExportArgs),
    /// Import an export into a new (or empty) vault.
    Import(cli::vault::ImportArgs),
    /// Destroy the vault for good (key slots first, then the files).
    Wipe(cli::vault::WipeArgs),
    /// Shops' grant requests: import one from a file, list them, show one.
    #[command(subcommand)]
    Requests(cli::requests::RequestsCmd),
    /// Decide on requests and manage grants: approve (all or --only some), deny, revoke, list, show.
    #[command(subcommand)]
    Grant(cli::grant::GrantCmd),
    /// The access log: who accessed what, refusals, requests and decisions; `audit verify` checks the chain.
    Audit(cli::audit::AuditArgs),
    /// Run the endpoint retailers redeem grants at (loopback only by default), until Ctrl-C.
    Serve(cli::serve::ServeArgs),
    /// Encrypted backups: take, list, verify, restore.
    #[command(subcommand)]
    Backup(cli::backup::BackupCmd),
    /// Consent receipts: list, show one, export them all to a JSON file.
    #[command(subcommand)]
    Receipts(cli::receipts::ReceiptsCmd),
    /// Releases to shops' servers: list what was delivered and what waits, send now, retry, cancel, updates on/off.
    #[command(subcommand)]
    Deliveries(cli::deliveries::DeliveriesCmd),
    /// The disclosure ledger: which shop holds which version of your data, and since when.
    Ledger(cli::privacy::LedgerArgs),
    /// Ask a shop to erase what it received; see whether it acknowledged.
    #[command(subcommand)]
    Erasure(cli::privacy::ErasureCmd),
    /// Per-shop email aliases for the email_alias scope.
    #[command(subcommand)]
    Alias(cli::privacy::AliasCmd),
    /// Privacy budgets for noised analytics answers.
    #[command(subcommand)]
    Privacy(cli::privacy::PrivacyCmd),
}

fn run(ctx: &mut Ctx, command: Command) -> CliResult {
    match command {
        Command::Init(args) => cli::vault::init(ctx, args),
        Command::Status => cli::vault::status(ctx),
        Command::Profile(cmd) => cli::profile::run(ctx, cmd),
        Command::Fields(args) => cli::profile::fields(ctx, args),
        Command::Passphrase(cmd) => cli::vault::passphrase(ctx, cmd),
        Command::Recover => cli::vault::recover(ctx),
        Command::Keychain(args) => cli::vault::keychain(ctx, args),
        Command::Settings { cmd } => cli::settings::run(ctx, cmd),
        Command::Export(args) => cli::vault::export_cmd(ctx, args),
        Command::Import(args) => cli::vault::import_cmd(ctx, args),
        Command::Wipe(args) => cli::vault::wipe(ctx, args),
        Command::Requests(cmd) => cli::requests::run(ctx, cmd),
        Command::Grant(cmd) => cli::grant::run(ctx, cmd),
        Command::Audit(args) => cli::audit::run(ctx, args),
        Command::Serve(args) => cli::serve::run(ctx, args),
        Command::Backup(cmd) => cli::backup::run(ctx, cmd),
        Command::Receipts(cmd) => cli::receipts::run(ctx, cmd),
        Command::Deliveries(cmd) => cli::deliveries::run(ctx, cmd),
        Command::Ledger(args) => cli::privacy::ledger_cmd(ctx, args),
        Command::Erasure(cmd) => cli::privacy::erasure_cmd(ctx, cmd),
        Command::Alias(cmd) => cli::privacy::alias_cmd(ctx, cmd),
        Command::Privacy(cmd) => cli::privacy::privacy_cmd(ctx, cmd),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing();
    let mut ctx = Ctx::new(cli.global);
    let result = run(&mut ctx, cli.command);
    ctx.finish(result)
}
