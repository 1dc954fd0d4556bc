//! `ui/src/generated/ipc.ts`, the TypeScript half of the IPC contract, generated from the Rust types (ts-rs):
//! every command with its argument and result types, every DTO they reach, the events the shell emits with
//! their payloads, the error codes, and the core's words for audit event kinds and purposes.
//! The UI imports these instead of mirroring them by hand.
//!
//! A normal test run fails when the file on disk differs from what would be generated;
//! `LOCKET_BLESS=1 cargo test -p locket-desktop --test ipc generated` rewrites it.
//!
//! A new command goes into [`commands`] (the contract test in `contract` (beside this module) checks that it matches
//! `build.rs`); a new DTO needs `#[derive(ts_rs::TS)]` next to its `Serialize`/`Deserialize`.
use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use locket_app::backups::{BackupDto, BackupVerifyDto, RestoreDone, RestorePreviewDto};
use locket_app::dto::*;
use locket_app::grants::{ApproveInput, GrantDto, IssuedDto, RequestDto, RetailerDetail, RetailerSummary};
use locket_app::privacy::{ErasureDto, HoldingDto, RetailerPrivacy};
use locket_audit::EventKind;
use locket_grants::Purpose;
use locket_vault::catalog::{FieldType, Sensitivity};
use ts_rs::{Config, TypeVisitor, TS};

use locket_desktop_lib::error::IpcError;
use locket_desktop_lib::events::*;
use locket_desktop_lib::files::{FilePurpose, PickedFile};

/// Where the file goes, relative to the workspace root.
pub const OUT: &str = "ui/src/generated/ipc.ts";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri has a parent")
        .to_path_buf()
}

fn config() -> Config {
    // serde_json writes u64/i64 as JSON numbers, so they are `number` on the TypeScript side.
    Config::new().with_large_int("number")
}

/// Collects the declaration of every named type reachable from the ones it visits, by name (the order in which
/// ts-rs visits a type's dependencies is not stable from one build to the next).
struct Decls<'a> {
    cfg: &'a Config,
    seen: HashSet<TypeId>,
    out: BTreeMap<String, String>,
}

impl TypeVisitor for Decls<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        if T::output_path().is_some() {
            let docs = T::docs().unwrap_or_default();
            let decl = format!("{docs}export {}\n", T::decl(self.cfg));
            self.out.insert(T::ident(self.cfg), decl);
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

/// One command: its name, its arguments (Rust names) with their TypeScript types, its result type.
pub struct Command {
    /// The command name (`vault_unlock`).
    pub name: &'static str,
    args: Vec<(&'static str, String)>,
    result: String,
    /// The arguments and result as written in Rust, for the contract test to compare with the function.
    pub rust_args: Vec<(&'static str, &'static str)>,
    /// The result type as written in Rust (`IpcResult<T>` → `T`).
    pub rust_result: &'static str,
}

fn ts_of<T: TS + 'static + ?Sized>(cfg: &Config) -> String {
    if TypeId::of::<T>() == TypeId::of::<()>() {
        "void".to_owned()
    } else {
        T::name(cfg)
    }
}

macro_rules! commands {
    ($decls:expr, $cfg:expr; $( $name:ident ( $( $arg:ident : $ty:ty ),* ) -> $res:ty ; )*) => {
        vec![$({
            $( $decls.visit::<$ty>(); )*
            $decls.visit::<$res>();
            Command {
                name: stringify!($name),
                args: vec![$( (stringify!($arg), ts_of::<$ty>($cfg)) ),*],
                result: ts_of::<$res>($cfg),
                rust_args: vec![$( (stringify!($arg), stringify!($ty)) ),*],
                rust_result: stringify!($res),
            }
        }),*]
    };
}

/// Every command the web view may call, with the argument names and types of its `#[tauri::command]` function
/// (the shell's own arguments — `AppHandle`, `State` — left out) and its result (`IpcResult<T>` → `T`), written
/// exactly as in the function (the contract test compares them).
pub fn commands(decls: &mut impl TypeVisitor, cfg: &Config) -> Vec<Command> {
    commands! { decls, cfg;
        app_status() -> AppStatus;
        vault_create(passphrase: SecretText, remember_on_device: bool) -> Created;
        vault_unlock(passphrase: SecretText) -> SessionInfo;
        vault_unlock_keychain() -> SessionInfo;
        vault_recover(recovery_key: SecretText, new_passphrase: SecretText) -> SessionInfo;
        vault_lock(reason: String) -> ();
        session_activity() -> ();
        session_info() -> SessionInfo;
        focus_request_take() -> Option<String>;
        passphrase_change(current: SecretText, next: SecretText) -> PassphraseChanged;
        recovery_reset(passphrase: SecretText) -> NewRecoveryKey;
        keychain_set(enabled: bool) -> AppSettings;
        settings_update(settings: AppSettings) -> SessionInfo;
        vault_export(token: String, passphrase: Option<SecretText>) -> ExportResult;
        vault_import(token: String, passphrase: Option<SecretText>) -> ImportResult;
        vault_wipe(confirmation: String) -> ();
        catalog() -> Vec<CatalogField>;
        profile_list() -> Vec<ProfileValue>;
        profile_set(key: String, value: String) -> ProfileValue;
        profile_remove(key: String) -> ();
        profile_history(key: String) -> Vec<ValueVersion>;
        custom_field_add(field: CustomFieldInput) -> CatalogField;
        audit_query(filter: AuditFilter, cursor: Option<u64>, limit: usize) -> AuditPage;
        audit_timeline(days: u32, retailer_id: Option<String>) -> Vec<TimelineDay>;
        audit_verify() -> ChainStatus;
        file_choose(purpose: FilePurpose, suggested_name: Option<String>) -> Option<PickedFile>;
        requests_list() -> Vec<RequestDto>;
        request_import(token: String) -> RequestDto;
        request_approve(input: ApproveInput) -> IssuedDto;
        request_deny(request_id: String) -> ();
        grant_file_save(grant_id: String, token: String) -> ();
        grants_list() -> Vec<GrantDto>;
        grant_revoke(grant_id: String) -> GrantDto;
        retailer_revoke_all(retailer_id: String) -> usize;
        retailers_list() -> Vec<RetailerSummary>;
        retailer_detail(retailer_id: String) -> RetailerDetail;
        retailer_deliveries(retailer_id: String) -> RetailerDeliveries;
        delivery_retry(release_id: String) -> DeliveryDto;
        delivery_cancel(release_id: String) -> DeliveryDto;
        grant_set_updates(grant_id: String, on: bool) -> ();
        retailer_privacy(retailer_id: String) -> RetailerPrivacy;
        receipts_export(retailer_id: String, token: String) -> usize;
        erasure_request(retailer_id: String, note: Option<String>) -> ErasureDto;
        alias_set(retailer_id: String, alias: String) -> String;
        field_holders(key: String) -> Vec<HoldingDto>;
        backups_list() -> Vec<BackupDto>;
        backup_now() -> BackupDto;
        backup_verify(id: String) -> BackupVerifyDto;
        backup_restore_preview(id: String) -> RestorePreviewDto;
        backup_restore(id: String, confirmation: String) -> RestoreDone;
        vault_recover_from_backup(passphrase: SecretText) -> SessionInfo;
        vault_accept_rollback(passphrase: SecretText) -> SessionInfo;
    }
}

macro_rules! events {
    ($decls:expr, $cfg:expr; $( $konst:ident => $payload:ty ),* $(,)?) => {
        vec![$({
            $decls.visit::<$payload>();
            (stringify!($konst), $konst, ts_of::<$payload>($cfg))
        }),*]
    };
}

/// Every event the shell emits (the `EV_*` constants of `locket_desktop_lib::events`) with its payload type.
pub fn events(decls: &mut impl TypeVisitor, cfg: &Config) -> Vec<(&'static str, &'static str, String)> {
    events! { decls, cfg;
        EV_AUDIT => AuditEvent,
        EV_REQUEST => RequestDto,
        EV_LOCKED => Locked,
        EV_FOCUS_REQUEST => FocusRequest,
        EV_DEEP_LINK_ERROR => IpcError,
        EV_PROGRESS => Progress,
        EV_ENDPOINT => EndpointStatus,
        EV_FILES_DROPPED => Vec<PickedFile>,
    }
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn union<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(quoted).collect::<Vec<_>>().join(" | ")
}

/// Error codes the sources define (the scanner shared with the docs check, `tests/integration/error_codes.rs`)
/// in the core crates, the application layer and this shell: not the retailer's client, not tests.
pub fn error_codes() -> std::collections::BTreeSet<String> {
    let root = root();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/").flatten() {
        if entry.file_name() != "retailer" {
            crate::error_codes::rust_files(&entry.path().join("src"), &mut files);
        }
    }
    crate::error_codes::rust_files(&root.join("src-tauri/src"), &mut files);
    files.sort();
    let mut codes = std::collections::BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        codes.extend(crate::error_codes::codes_in(
            text.split("#[cfg(test)]").next().unwrap_or_default(),
        ));
    }
    codes
}

/// The whole file.
pub fn generate() -> String {
    let cfg = config();
    let mut decls = Decls {
        cfg: &cfg,
        seen: HashSet::new(),
        out: BTreeMap::new(),
    };
    let commands = commands(&mut decls, &cfg);
    let events = events(&mut decls, &cfg);
    decls.visit::<IpcError>();

    let mut out = String::new();
    out.push_str(
        "// @generated by ts-rs from Locket's Rust types (src-tauri/tests/ipc/dto_gen.rs) — do not edit.\n\
         // Regenerate: LOCKET_BLESS=1 cargo test -p locket-desktop --test ipc generated\n\
         /* eslint-disable */\n\n",
    );

    out.push_str("// ---------- core vocabularies ----------\n\n");
    let _ = writeln!(
        out,
        "export type FieldType = {};\n",
        union(FieldType::ALL.iter().map(|t| t.as_str()))
    );
    let _ = writeln!(
        out,
        "export type Sensitivity = {};\n",
        union(Sensitivity::ALL.iter().map(|s| s.as_str()))
    );
    let _ = writeln!(
        out,
        "export type Purpose = {};\n",
        union(Purpose::ALL.iter().map(|p| p.as_str()))
    );
    out.push_str(
        "/** Each purpose's short label and the phrase that ends a sentence (\"used to …\"), from the core. */\n",
    );
    out.push_str(
        "export const PURPOSES: { readonly [P in Purpose]: { readonly label: string; readonly phrase: string } } = {\n",
    );
    for p in Purpose::ALL {
        let _ = writeln!(
            out,
            "  {}: {{ label: {}, phrase: {} }},",
            p.as_str(),
            quoted(p.label()),
            quoted(p.phrase())
        );
    }
    out.push_str("};\n\n");
    out.push_str(
        "/** The audit event kinds this version records, with the owner's words for each, from the core. */\n",
    );
    out.push_str("export const EVENT_KINDS = {\n");
    for k in EventKind::KNOWN {
        let _ = writeln!(out, "  {k}: {},", quoted(EventKind::parse(k).label()));
    }
    out.push_str("} as const;\n\nexport type EventKind = keyof typeof EVENT_KINDS;\n\n");
    out.push_str("/** Every error code Locket's sources define (`IpcError.code` is one of these). */\n");
    out.push_str("export const ERROR_CODES = [\n");
    for code in error_codes() {
        let _ = writeln!(out, "  {},", quoted(&code));
    }
    out.push_str("] as const;\n\nexport type ErrorCode = (typeof ERROR_CODES)[number];\n\n");

    out.push_str("// ---------- types that cross IPC ----------\n\n");
    for decl in decls.out.values() {
        out.push_str(decl);
        out.push('\n');
    }

    out.push_str("// ---------- commands ----------\n\n");
    out.push_str("/** Every command: its arguments (camelCase, as `invoke` takes them) and its result. */\n");
    out.push_str("export type Commands = {\n");
    for c in &commands {
        let args = if c.args.is_empty() {
            "Record<never, never>".to_owned()
        } else {
            let fields: Vec<String> = c
                .args
                .iter()
                .map(|(name, ty)| format!("{}: {ty}", camel(name)))
                .collect();
            format!("{{ {} }}", fields.join("; "))
        };
        let _ = writeln!(out, "  {}: {{ args: {args}; result: {} }};", c.name, c.result);
    }
    out.push_str("};\n\nexport type CommandName = keyof Commands;\n\n");

    out.push_str("// ---------- events ----------\n\n");
    out.push_str("/** The events the shell emits, by the name of their Rust constant (`EV_LOCKED` → `LOCKED`). */\n");
    out.push_str("export const EVENTS = {\n");
    for (konst, name, _) in &events {
        let _ = writeln!(out, "  {}: {},", konst.trim_start_matches("EV_"), quoted(name));
    }
    out.push_str("} as const;\n\n/** Each event's payload. */\nexport type EventPayloads = {\n");
    for (_, name, payload) in &events {
        let _ = writeln!(out, "  {}: {payload};", quoted(name));
    }
    out.push_str("};\n\nexport type EventName = keyof EventPayloads;\n");

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ipc_ts_is_current() {
        let want = generate();
        let path = root().join(OUT);
        if std::env::var("LOCKET_BLESS").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("create ui/src/generated");
            std::fs::write(&path, &want).expect("write the generated file");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let line = have
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
            panic!(
                "{OUT} is stale (first difference at line {}: expected {:?}); regenerate it with \
                 `LOCKET_BLESS=1 cargo test -p locket-desktop --test ipc generated` and commit the result",
                line + 1,
                want.lines().nth(line).unwrap_or("<end of file>")
            );
        }
    }

    #[test]
    fn every_event_constant_is_generated() {
        let source = std::fs::read_to_string(root().join("src-tauri/src/events.rs")).expect("events.rs");
        let cfg = config();
        let mut decls = Decls {
            cfg: &cfg,
            seen: HashSet::new(),
            out: BTreeMap::new(),
        };
        let listed: Vec<&str> = events(&mut decls, &cfg).iter().map(|(k, _, _)| *k).collect();
        for line in source.lines() {
            if let Some(rest) = line.trim().strip_prefix("pub const EV_") {
                let konst = format!("EV_{}", rest.split(':').next().unwrap_or_default().trim());
                assert!(
                    listed.contains(&konst.as_str()),
                    "{konst} is emitted but missing from dto_gen::events"
                );
            }
        }
    }

    #[test]
    fn the_core_words_cover_every_purpose_and_kind() {
        let out = generate();
        for p in Purpose::ALL {
            assert!(!p.phrase().is_empty() && out.contains(p.phrase()), "{p}");
        }
        for k in EventKind::KNOWN {
            assert_ne!(EventKind::parse(k).label(), "Other event", "{k} has no label");
        }
        for code in [
            "wrong_passphrase",
            "grant_revoked",
            "vault_locked",
            "passphrase_empty",
            "rate_limited",
        ] {
            assert!(error_codes().contains(code), "scanner missed {code}");
        }
    }
}
