//! Tauri commands for the vault, profile, settings and activity log. Each is a thin call into the core crates;
//! blocking work runs on a blocking thread. Secrets arrive once (passphrases, inward) and are wrapped into the
//! core's zeroizing types at once; no command returns a key.
use std::path::PathBuf;

use chrono::{DateTime, Duration, Local, Utc};
use locket_audit::{Cursor, EventKind, Filter, Outcome};
use locket_vault::catalog::{FieldType, Sensitivity};
use locket_vault::export::{self, ExportSection};
use locket_vault::profile::{self, NewCustomField};
use locket_vault::settings::Settings;
use locket_vault::{KdfParams, Passphrase, RecoveryKey, Vault};
use tauri::{AppHandle, Emitter, State};

use crate::dto::*;
use crate::error::{IpcError, IpcResult};
use crate::session::{self, blocking, EV_PROGRESS};
use crate::state::{lock, AppState};

/// The words the owner types to confirm a wipe (also in ui/src/screens/Settings.tsx).
pub const WIPE_PHRASE: &str = "delete my vault";

/// Export sections other crates contribute; the same list as the CLI's `export_sections`.
fn export_sections() -> Vec<Box<dyn ExportSection>> {
    vec![
        Box::new(locket_audit::export::AuditSection),
        Box::new(locket_grants::export::GrantsSection),
    ]
}

// ---------- session ----------

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> IpcResult<AppStatus> {
    let dir = state.dir.clone();
    let unlocked = state.is_unlocked();
    let (exists, keychain) = blocking(move || {
        let exists = Vault::exists(&dir);
        let keychain = exists && Vault::inspect(&dir).map(|i| i.keychain_enabled).unwrap_or(false);
        Ok((exists, keychain))
    })
    .await?;
    Ok(AppStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        vault_path: state.dir.display().to_string(),
        vault_exists: exists,
        unlocked,
        keychain_enabled: keychain,
    })
}

#[tauri::command]
pub async fn vault_create(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
    remember_on_device: bool,
) -> IpcResult<Created> {
    let passphrase = Passphrase::new(passphrase);
    if passphrase.is_empty() {
        return Err(IpcError::new("passphrase_empty", "Choose a passphrase."));
    }
    let dir = state.dir.clone();
    let (vault, recovery) = blocking(move || {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| IpcError::new("io_error", format!("cannot create {}: {e}", parent.display())))?;
        }
        let (vault, recovery) = Vault::create(&dir, &passphrase, KdfParams::from_env())?;
        if remember_on_device {
            // The vault exists either way; a keychain failure is shown in Settings, not fatal here.
            if let Err(e) = vault.set_keychain(true) {
                tracing::warn!(error = %e, "keychain slot not created");
            }
        }
        Ok((vault, recovery))
    })
    .await?;
    let recovery_key = recovery.display_groups().to_string();
    drop(recovery);
    let session = session::open(&app, vault, "create").await?;
    Ok(Created { recovery_key, session })
}

#[tauri::command]
pub async fn vault_unlock(app: AppHandle, state: State<'_, AppState>, passphrase: String) -> IpcResult<SessionInfo> {
    let passphrase = Passphrase::new(passphrase);
    let dir = state.dir.clone();
    let vault = blocking(move || match Vault::unlock(&dir, &passphrase) {
        Ok(v) => Ok(v),
        Err(e) => {
            if matches!(e, locket_vault::VaultError::WrongPassphrase) {
                let _ = locket_audit::pending::record_unlock_failure(&dir, e.code(), Some("passphrase"));
            }
            Err(e.into())
        }
    })
    .await?;
    session::open(&app, vault, "passphrase").await
}

#[tauri::command]
pub async fn vault_unlock_keychain(app: AppHandle, state: State<'_, AppState>) -> IpcResult<SessionInfo> {
    let dir = state.dir.clone();
    let vault = blocking(move || Ok(Vault::unlock_with_keychain(&dir)?)).await?;
    session::open(&app, vault, "keychain").await
}

#[tauri::command]
pub async fn vault_recover(
    app: AppHandle,
    state: State<'_, AppState>,
    recovery_key: String,
    new_passphrase: String,
) -> IpcResult<SessionInfo> {
    let key = RecoveryKey::parse(&recovery_key)?;
    drop(zeroize::Zeroizing::new(recovery_key));
    let next = Passphrase::new(new_passphrase);
    if next.is_empty() {
        return Err(IpcError::new("passphrase_empty", "Choose a new passphrase."));
    }
    let dir = state.dir.clone();
    let vault = blocking(move || match Vault::unlock_with_recovery(&dir, &key) {
        Ok(v) => {
            v.change_passphrase(&next, KdfParams::from_env())?;
            Ok(v)
        }
        Err(e) => {
            if matches!(e, locket_vault::VaultError::WrongRecoveryKey) {
                let _ = locket_audit::pending::record_unlock_failure(&dir, e.code(), Some("recovery"));
            }
            Err(e.into())
        }
    })
    .await?;
    session::open(&app, vault, "recovery").await
}

#[tauri::command]
pub async fn vault_lock(app: AppHandle, reason: String) -> IpcResult<()> {
    let reason = match reason.as_str() {
        "idle" | "tray" | "button" => reason,
        _ => "button".to_owned(),
    };
    session::close(&app, &reason).await
}

#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> IpcResult<SessionInfo> {
    let s = state.session()?;
    session::info(&s).await
}

// ---------- settings ----------

#[tauri::command]
pub async fn passphrase_change(state: State<'_, AppState>, current: String, next: String) -> IpcResult<()> {
    let current = Passphrase::new(current);
    let next = Passphrase::new(next);
    if next.is_empty() {
        return Err(IpcError::new("passphrase_empty", "Choose a new passphrase."));
    }
    let s = state.session()?;
    let dir = state.dir.clone();
    blocking(move || {
        // Prove the owner knows the current passphrase before rewrapping (a walk-up attacker does not).
        drop(Vault::unlock(&dir, &current)?);
        s.vault.change_passphrase(&next, KdfParams::from_env())?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn recovery_reset(state: State<'_, AppState>, passphrase: String) -> IpcResult<NewRecoveryKey> {
    let passphrase = Passphrase::new(passphrase);
    let s = state.session()?;
    let dir = state.dir.clone();
    blocking(move || {
        drop(Vault::unlock(&dir, &passphrase)?);
        let key = s.vault.reset_recovery_key()?;
        Ok(NewRecoveryKey {
            recovery_key: key.display_groups().to_string(),
        })
    })
    .await
}

#[tauri::command]
pub async fn keychain_set(state: State<'_, AppState>, enabled: bool) -> IpcResult<AppSettings> {
    let s = state.session()?;
    blocking(move || {
        s.vault.set_keychain(enabled)?;
        let settings = Settings::load(lock(&s.store)?.conn())?;
        Ok(AppSettings::from_core(&settings, s.vault.keychain_enabled()?))
    })
    .await
}

#[tauri::command]
pub async fn settings_update(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: AppSettings,
) -> IpcResult<SessionInfo> {
    let s = state.session()?;
    let addr: std::net::SocketAddr = settings.endpoint_address.trim().parse().map_err(|_| {
        IpcError::new(
            "invalid_address",
            "The address must be an IP address and a port, e.g. 127.0.0.1:7419.",
        )
    })?;
    let s2 = s.clone();
    let (before, after) = blocking(move || {
        let store = lock(&s2.store)?;
        let before = Settings::load(store.conn())?;
        let mut after = before.clone();
        after.auto_lock_minutes = settings.auto_lock_minutes;
        after.endpoint.enabled = settings.endpoint_enabled;
        after.endpoint.listen_address = addr.ip();
        after.endpoint.port = addr.port();
        after.validate()?;
        after.save(store.conn())?;
        Ok((before, after))
    })
    .await?;
    let restart = before.endpoint.socket_addr() != after.endpoint.socket_addr();
    if !after.endpoint.enabled {
        session::stop_server(&app, &s).await;
    } else if !before.endpoint.enabled || restart || s.server.lock().await.is_none() {
        session::start_server(&app, &s, session::listen_addr(&after)).await;
    }
    session::info(&s).await
}

// ---------- export / import / wipe ----------

fn progress(app: &AppHandle, op: &'static str, done: u32, total: u32) {
    let _ = app.emit(EV_PROGRESS, Progress { op, done, total });
}

#[tauri::command]
pub async fn vault_export(
    app: AppHandle,
    state: State<'_, AppState>,
    path: PathBuf,
    passphrase: Option<String>,
) -> IpcResult<ExportResult> {
    let s = state.session()?;
    let pass = passphrase.filter(|p| !p.is_empty()).map(Passphrase::new);
    blocking(move || {
        progress(&app, "export", 0, 3);
        let sections = export_sections();
        let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
        let doc = export::export(lock(&s.store)?.conn(), &refs)?;
        progress(&app, "export", 1, 3);
        let bytes = match &pass {
            Some(p) => zeroize::Zeroizing::new(export::encrypt(&doc, p, KdfParams::from_env())?),
            None => export::to_json(&doc)?,
        };
        progress(&app, "export", 2, 3);
        write_private(&path, &bytes)?;
        progress(&app, "export", 3, 3);
        Ok(ExportResult {
            fields: doc.profile.len(),
            bytes: bytes.len(),
        })
    })
    .await
}

/// Writes a file only the owner can read (0600 on Unix), via a temp file and rename.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> IpcResult<()> {
    use std::io::Write;
    let io = |e: std::io::Error| IpcError::new("io_error", format!("cannot write {}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("locket")
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[tauri::command]
pub async fn vault_import(
    app: AppHandle,
    state: State<'_, AppState>,
    path: PathBuf,
    passphrase: Option<String>,
) -> IpcResult<ImportResult> {
    let s = state.session()?;
    let pass = passphrase.filter(|p| !p.is_empty()).map(Passphrase::new);
    blocking(move || {
        progress(&app, "import", 0, 3);
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(&path)
                .map_err(|e| IpcError::new("io_error", format!("cannot read {}: {e}", path.display())))?,
        );
        if export::is_encrypted(&bytes) == Some(true) && pass.is_none() {
            return Err(IpcError::new(
                "export_passphrase_required",
                "This export is protected by a passphrase; enter it to import.",
            ));
        }
        progress(&app, "import", 1, 3);
        let doc = export::decode(&bytes, pass.as_ref())?;
        progress(&app, "import", 2, 3);
        let sections = export_sections();
        let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
        let summary = export::import(lock(&s.store)?.conn(), &doc, &refs)?;
        progress(&app, "import", 3, 3);
        Ok(ImportResult { fields: summary.fields })
    })
    .await
}

#[tauri::command]
pub async fn vault_wipe(app: AppHandle, state: State<'_, AppState>, confirmation: String) -> IpcResult<()> {
    if confirmation.trim() != WIPE_PHRASE {
        return Err(IpcError::new(
            "confirmation_mismatch",
            format!("Type “{WIPE_PHRASE}” to confirm."),
        ));
    }
    state.session()?; // only an unlocked owner may wipe
    session::close(&app, "wiped").await?;
    let dir = state.dir.clone();
    blocking(move || Ok(Vault::wipe(&dir)?)).await
}

// ---------- profile ----------

#[tauri::command]
pub async fn catalog(state: State<'_, AppState>) -> IpcResult<Vec<CatalogField>> {
    let s = state.session()?;
    blocking(move || {
        let fields = profile::all_fields(lock(&s.store)?.conn())?;
        Ok(fields.iter().map(CatalogField::from).collect())
    })
    .await
}

#[tauri::command]
pub async fn profile_list(state: State<'_, AppState>) -> IpcResult<Vec<ProfileValue>> {
    let s = state.session()?;
    blocking(move || {
        let values = profile::list_current(lock(&s.store)?.conn())?;
        Ok(values
            .iter()
            .filter(|v| !v.is_default)
            .map(ProfileValue::from_current)
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn profile_set(state: State<'_, AppState>, key: String, value: String) -> IpcResult<ProfileValue> {
    let s = state.session()?;
    blocking(move || {
        let store = lock(&s.store)?;
        profile::set_from_input(store.conn(), &key, &value)?;
        let current = profile::get(store.conn(), &key)?.ok_or_else(|| IpcError::internal("the value vanished"))?;
        Ok(ProfileValue::from_current(&current))
    })
    .await
}

#[tauri::command]
pub async fn profile_remove(state: State<'_, AppState>, key: String) -> IpcResult<()> {
    let s = state.session()?;
    blocking(move || {
        profile::remove(lock(&s.store)?.conn(), &key)?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn profile_history(state: State<'_, AppState>, key: String) -> IpcResult<Vec<ValueVersion>> {
    let s = state.session()?;
    blocking(move || {
        let h = profile::history(lock(&s.store)?.conn(), &key)?;
        Ok(h.iter().map(ValueVersion::from).collect())
    })
    .await
}

#[tauri::command]
pub async fn custom_field_add(state: State<'_, AppState>, field: CustomFieldInput) -> IpcResult<CatalogField> {
    let s = state.session()?;
    let field_type = FieldType::from_name(&field.field_type)
        .ok_or_else(|| IpcError::new("validation_failed", format!("unknown field type {}", field.field_type)))?;
    let sensitivity = Sensitivity::from_name(&field.sensitivity).ok_or_else(|| {
        IpcError::new(
            "validation_failed",
            format!("unknown sensitivity {}", field.sensitivity),
        )
    })?;
    blocking(move || {
        let def = profile::add_custom_field(
            lock(&s.store)?.conn(),
            &NewCustomField {
                key: field.key,
                label: field.label,
                field_type,
                options: field.options,
                sensitivity,
            },
        )?;
        Ok(CatalogField::from(&def))
    })
    .await
}

// ---------- activity ----------

fn parse_time(s: &Option<String>) -> IpcResult<Option<DateTime<Utc>>> {
    match s.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| IpcError::new("invalid_time", format!("{t} is not an RFC 3339 time"))),
    }
}

fn core_filter(f: &AuditFilter) -> IpcResult<Filter> {
    let mut filter = Filter {
        retailer: f.retailer_id.clone().filter(|s| !s.is_empty()),
        field: f
            .field
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned()),
        since: parse_time(&f.since)?,
        until: parse_time(&f.until)?,
        ..Filter::default()
    };
    match f.outcome.as_deref() {
        Some("allowed") => {
            filter.outcome = Some(Outcome::Ok);
            filter.kind = Some(EventKind::Redemption);
        }
        Some("refused") => filter.outcome = Some(Outcome::Refused),
        _ => {}
    }
    Ok(filter)
}

#[tauri::command]
pub async fn audit_query(
    state: State<'_, AppState>,
    filter: AuditFilter,
    cursor: Option<u64>,
    limit: usize,
) -> IpcResult<AuditPage> {
    let s = state.session()?;
    let core = core_filter(&filter)?;
    let unfiltered = core == Filter::default();
    let page = {
        let s = s.clone();
        blocking(move || {
            let conn_guard = lock(&s.store)?;
            let page = locket_audit::query(conn_guard.conn(), &core, cursor.map(Cursor), limit.clamp(1, 500))?;
            let total = if unfiltered {
                Some(locket_audit::count(conn_guard.conn())?)
            } else {
                None
            };
            Ok((page, total))
        })
        .await?
    };
    let (page, total) = page;
    let mut events = Vec::with_capacity(page.events.len());
    for e in &page.events {
        let name = match &e.retailer {
            Some(id) => crate::grants::retailer_name(&s, id).await,
            None => None,
        };
        events.push(AuditEvent::from_event(e, name));
    }
    Ok(AuditPage {
        events,
        next: page.next.map(|c| c.0),
        total,
    })
}

/// Most events walked to draw one retailer's chart.
const TIMELINE_WALK_CAP: usize = 50_000;

#[tauri::command]
pub async fn audit_timeline(
    state: State<'_, AppState>,
    days: u32,
    retailer_id: Option<String>,
) -> IpcResult<Vec<TimelineDay>> {
    let s = state.session()?;
    let days = days.clamp(1, 366);
    blocking(move || {
        let offset_min = Local::now().offset().local_minus_utc() / 60;
        let since = Utc::now() - Duration::days(i64::from(days));
        let store = lock(&s.store)?;
        match retailer_id.filter(|r| !r.is_empty()) {
            None => {
                let counts = locket_audit::daily_counts(store.conn(), Some(since), None, offset_min)?;
                Ok(counts
                    .into_iter()
                    .map(|d| TimelineDay {
                        day: d.day.to_string(),
                        allowed: d.redemptions,
                        refused: d.refused,
                    })
                    .collect())
            }
            Some(rid) => {
                // The log's daily counts are not split by retailer: walk this retailer's events instead.
                let filter = Filter {
                    retailer: Some(rid),
                    since: Some(since),
                    ..Filter::default()
                };
                let mut by_day: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
                let mut cursor = None;
                let mut seen = 0usize;
                loop {
                    let page = locket_audit::query(store.conn(), &filter, cursor, 500)?;
                    for e in &page.events {
                        let day = e.time.with_timezone(&Local).date_naive().to_string();
                        let entry = by_day.entry(day).or_default();
                        match ui_outcome(e.kind.as_str(), &e.outcome) {
                            "refused" => entry.1 += 1,
                            _ if e.kind == EventKind::Redemption => entry.0 += 1,
                            _ => {}
                        }
                    }
                    seen += page.events.len();
                    match page.next {
                        Some(c) if seen < TIMELINE_WALK_CAP => cursor = Some(c),
                        _ => break,
                    }
                }
                Ok(by_day
                    .into_iter()
                    .map(|(day, (allowed, refused))| TimelineDay { day, allowed, refused })
                    .collect())
            }
        }
    })
    .await
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> IpcResult<ChainStatus> {
    let s = state.session()?;
    blocking(move || {
        let public = locket_audit::signing_public_key(s.vault.signing_seed().expose())?;
        // Its own connection: walking a long chain must not hold up the page queries.
        let store = s.vault.connect()?;
        let report = locket_audit::verify(store.conn(), Some(&public))?;
        Ok(match &report.problem {
            None => ChainStatus {
                ok: true,
                events: report.events,
                bad_seq: None,
                message: format!("{} events verified", report.events),
            },
            Some(p) => ChainStatus {
                ok: false,
                events: report.events,
                bad_seq: Some(p.seq),
                message: p.message.clone(),
            },
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_filter_maps_to_the_log_filter() {
        let f = core_filter(&AuditFilter {
            retailer_id: Some("shop.example".into()),
            field: Some("  contact.email ".into()),
            outcome: Some("allowed".into()),
            since: Some("2026-01-01T00:00:00Z".into()),
            until: None,
        })
        .unwrap();
        assert_eq!(f.retailer.as_deref(), Some("shop.example"));
        assert_eq!(f.field.as_deref(), Some("contact.email"));
        assert_eq!(f.outcome, Some(Outcome::Ok));
        assert_eq!(f.kind, Some(EventKind::Redemption));
        assert!(f.since.is_some());
        let refused = core_filter(&AuditFilter {
            outcome: Some("refused".into()),
            retailer_id: Some(String::new()),
            ..AuditFilter::default()
        })
        .unwrap();
        assert_eq!(refused.outcome, Some(Outcome::Refused));
        assert_eq!(refused.retailer, None);
        assert_eq!(core_filter(&AuditFilter::default()).unwrap(), Filter::default());
        let bad = core_filter(&AuditFilter {
            since: Some("yesterday".into()),
            ..AuditFilter::default()
        })
        .unwrap_err();
        assert_eq!(bad.code, "invalid_time");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only_and_replace_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grant.json");
        write_private(&p, b"first").unwrap();
        write_private(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }
}
