//! The application object: which vault, whether it is unlocked, and the lifecycle of a session — create, unlock
//! (by passphrase, recovery key, OS keychain or the newest backup), lock (by the owner, the tray, a wipe, a
//! restore or the **idle timer, which runs here in Rust**: a frozen or throttled web view cannot keep the vault
//! open), and what opening a session does every time: carry failed unlocks into the log, record the unlock,
//! issue consent receipts that fell due while locked, start automatic backups and the endpoint.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use locket_vault::backup::{self, AutoBackup, BackupPolicy};
use locket_vault::settings::Settings;
use locket_vault::{KdfParams, KeyChange, Passphrase, RecoveryChange, RecoveryKey, Vault};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::backups::RestoreDone;
use crate::dto::{AppStatus, EndpointStatus, SecretText, SessionInfo};
use crate::error::{AppError, AppResult};
pub use crate::options::Options;
use crate::session::{lock, Session};

/// How often the automatic backup checks the vault, and how long it waits after a change.
const AUTO_BACKUP_TICK: Duration = Duration::from_secs(5);
const AUTO_BACKUP_DEBOUNCE: Duration = Duration::from_secs(60);

/// The idle timer wakes at least this often, and compares wall-clock time: time the machine spent asleep
/// counts as idle (a monotonic clock stops during suspend).
const IDLE_TICK: Duration = Duration::from_secs(5);

/// Why Locket locked (the `reason` of the `locked` event, docs/ipc.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LockReason {
    /// The owner pressed Lock.
    Button,
    /// Nobody used Locket for the auto-lock time.
    Idle,
    /// The owner locked from the tray menu.
    Tray,
    /// The vault was deleted.
    Wiped,
    /// A backup replaced the vault; unlock it again.
    Restore,
}

impl LockReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LockReason::Button => "button",
            LockReason::Idle => "idle",
            LockReason::Tray => "tray",
            LockReason::Wiped => "wiped",
            LockReason::Restore => "restore",
        }
    }

    /// A reason a front end asked for (`idle`, `tray`, `button`); anything else is `button`.
    pub fn from_request(s: &str) -> LockReason {
        match s {
            "idle" => LockReason::Idle,
            "tray" => LockReason::Tray,
            _ => LockReason::Button,
        }
    }
}

/// What the application tells its front ends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AppEvent {
    /// The session ended; every key held by it is dropped.
    Locked(LockReason),
    /// The endpoint server started, stopped or failed to start.
    Endpoint(EndpointStatus),
}

/// How a session is opened.
pub enum Unlock {
    /// With the passphrase.
    Passphrase(Passphrase),
    /// With the key kept in the OS keychain ("unlock on this device").
    Keychain,
    /// With the recovery key, choosing a new passphrase at once.
    Recovery {
        /// The recovery key shown when the vault was made.
        key: RecoveryKey,
        /// The passphrase from now on (checked by [`crate::passphrase::check_new`]).
        new_passphrase: Passphrase,
    },
    /// The vault is damaged: replace it with the newest backup, opened with this passphrase. Revocations,
    /// narrowings and use counts made after it are applied again (from the grant ledger outside the database).
    NewestBackup(Passphrase),
    /// Unlock refused the database as rolled back (`vault_rolled_back`) and the owner keeps it on purpose:
    /// revocations, narrowings and use counts made since are applied again and a `vault_restored` event
    /// (cause `rollback`) records it.
    AcceptRollback(Passphrase),
}

impl Unlock {
    /// How the audit log names this way of unlocking (`passphrase`, `keychain`, `recovery`, `backup`).
    pub fn method(&self) -> &'static str {
        match self {
            Unlock::Passphrase(_) => "passphrase",
            Unlock::Keychain => "keychain",
            Unlock::Recovery { .. } => "recovery",
            Unlock::NewestBackup(_) => "backup",
            Unlock::AcceptRollback(_) => "accept_rollback",
        }
    }
}

/// The application: one vault directory and, while unlocked, its [`Session`]. Cheap to clone.
#[derive(Clone)]
pub struct Locket {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    options: Options,
    session: Mutex<Option<Arc<Session>>>,
    events: broadcast::Sender<AppEvent>,
}

impl std::fmt::Debug for Locket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locket")
            .field("dir", &self.inner.dir)
            .field("unlocked", &self.is_unlocked())
            .finish()
    }
}

/// Runs blocking core work (Argon2, SQLCipher) off the async runtime's worker threads.
pub async fn blocking<T, F>(f: F) -> AppResult<T>
where
    F: FnOnce() -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("a background task failed: {e}")))?
}

/// Unlocks the vault in `dir` on the calling thread (Argon2 takes a moment: async callers use [`blocking`]). A
/// wrong secret is recorded next to the vault (time and reason only) and carried into the log at the next
/// unlock; nothing in the vault is touched by a failed attempt. A recovery unlock sets the new passphrase, which
/// must satisfy [`crate::passphrase::check_new`].
pub fn unlock_vault(dir: &Path, how: &Unlock) -> AppResult<Vault> {
    // A new passphrase (recovery sets one) and its KDF parameters are checked before any attempt is made.
    let new_params = match how {
        Unlock::Recovery { new_passphrase, .. } => {
            crate::passphrase::check_new(new_passphrase)?;
            KdfParams::from_env()?
        }
        _ => KdfParams::default(),
    };
    let result = match how {
        Unlock::Passphrase(p) => Vault::unlock(dir, p),
        Unlock::Keychain => Vault::unlock_with_keychain(dir),
        // A new passphrase means a new data key: the forgotten passphrase opens nothing any more, not even with
        // an old copy of the key slots. The recovery key goes on working.
        Unlock::Recovery { key, new_passphrase } => Vault::unlock_with_recovery(dir, key).and_then(|v| {
            v.rekey(KeyChange {
                passphrase: new_passphrase,
                kdf: new_params,
                recovery: RecoveryChange::Same(key),
            })
            .map(|r| r.vault)
        }),
        Unlock::NewestBackup(p) => {
            let newest = backup::list(dir)?.into_iter().next().ok_or_else(|| {
                AppError::new(
                    "no_backup",
                    "There is no backup of this vault to restore. Restore from an export file instead.",
                )
            })?;
            Vault::recover_from_backup(dir, p, &newest.id, locket_audit::record_restored).map(|(v, _)| v)
        }
        Unlock::AcceptRollback(p) => Vault::accept_rollback(dir, p, locket_audit::record_restored).map(|(v, _)| v),
    };
    result.map_err(|e| failed_unlock(dir, e, how.method()))
}

/// A failed unlock of the vault in `dir` by `method`: recorded next to the vault when it was an attempt (a wrong
/// secret; time and reason only) so the next unlock carries it into the log; returned as the use case's error.
pub fn failed_unlock(dir: &Path, e: locket_vault::VaultError, method: &str) -> AppError {
    if let Err(log) = locket_audit::pending::record_failure_code(dir, e.code(), Some(method)) {
        tracing::warn!(error = %log, "failed unlock not recorded");
    }
    AppError::from(e)
}

impl Locket {
    /// The application for the vault in `dir` (nothing is opened yet).
    pub fn new(dir: impl Into<PathBuf>, options: Options) -> Locket {
        let (events, _) = broadcast::channel(64);
        Locket {
            inner: Arc::new(Inner {
                dir: dir.into(),
                options,
                session: Mutex::new(None),
                events,
            }),
        }
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Lock and endpoint events, for front ends.
    pub fn subscribe(&self) -> broadcast::Receiver<AppEvent> {
        self.inner.events.subscribe()
    }

    /// The open session or `vault_locked`.
    pub fn session(&self) -> AppResult<Arc<Session>> {
        lock(&self.inner.session)?.clone().ok_or_else(AppError::locked)
    }

    /// Whether a session is open.
    pub fn is_unlocked(&self) -> bool {
        self.inner.session.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    /// The owner did something: the idle timer starts again. (Front ends call this on input, throttled.)
    pub fn touch(&self) {
        if let Ok(Some(s)) = self.inner.session.lock().map(|s| s.clone()) {
            s.touch();
        }
    }

    /// Whether a vault exists and how it can be unlocked, without unlocking it.
    pub async fn status(&self) -> AppResult<AppStatus> {
        let dir = self.inner.dir.clone();
        let unlocked = self.is_unlocked();
        let (exists, keychain) = blocking(move || {
            let exists = Vault::exists(&dir);
            let keychain = exists && Vault::inspect(&dir).map(|i| i.keychain_enabled).unwrap_or(false);
            Ok((exists, keychain))
        })
        .await?;
        Ok(AppStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            vault_path: self.inner.dir.display().to_string(),
            vault_exists: exists,
            unlocked,
            keychain_enabled: keychain,
        })
    }

    /// Makes a new vault and opens a session on it. Returns the recovery key (shown once) and the session.
    pub async fn create(
        &self,
        passphrase: Passphrase,
        remember_on_device: bool,
    ) -> AppResult<(SecretText, SessionInfo)> {
        crate::passphrase::check_new(&passphrase)?;
        let dir = self.inner.dir.clone();
        let (vault, recovery) = blocking(move || {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent).map_err(|e| AppError::io("create", parent, &e))?;
            }
            let (vault, recovery) = Vault::create(&dir, &passphrase, KdfParams::from_env()?)?;
            if remember_on_device {
                // The vault exists either way; a keychain failure is shown in Settings, not fatal here.
                if let Err(e) = vault.set_keychain(true) {
                    tracing::warn!(error = %e, "keychain slot not created");
                }
            }
            Ok((vault, recovery))
        })
        .await?;
        let recovery_key = SecretText::from_zeroizing(recovery.display_groups());
        drop(recovery);
        let info = self.open(vault, "create").await?;
        Ok((recovery_key, info))
    }

    /// Unlocks the vault and opens a session. A wrong secret is recorded next to the vault (time and reason
    /// only) and carried into the log at the next unlock; nothing in the vault is touched by a failed attempt.
    pub async fn unlock(&self, how: Unlock) -> AppResult<SessionInfo> {
        let dir = self.inner.dir.clone();
        let method = how.method();
        let vault = blocking(move || unlock_vault(&dir, &how)).await?;
        self.open(vault, method).await
    }

    /// Everything after a successful unlock, the same for every front end.
    async fn open(&self, vault: Vault, method: &'static str) -> AppResult<SessionInfo> {
        // A second unlock replaces the first session cleanly.
        self.shutdown().await?;
        let opened = {
            let vault = vault.clone();
            blocking(move || {
                locket_audit::pending::record_unlock(&vault, method)?;
                let store = vault.connect()?;
                let settings = Settings::load(store.conn())?;
                Ok((store, settings))
            })
            .await?
        };
        let (store, settings) = opened;
        let session = Arc::new(Session::new(vault, store, &settings, self.inner.options.clone())?);
        // Consent receipts that fell due while locked (expiries, revocations made without the key) are issued now.
        {
            let s = session.clone();
            if let Err(e) = blocking(move || s.catch_up_receipts()).await {
                tracing::warn!(code = %e.code, "due consent receipts not issued");
            }
        }
        *lock(&session.auto_backup)? = Some(AutoBackup::start(
            session.vault().clone(),
            BackupPolicy::default(),
            AUTO_BACKUP_TICK,
            AUTO_BACKUP_DEBOUNCE,
        ));
        if self.inner.options.serve && settings.endpoint.enabled {
            self.start_server(&session, self.listen_addr(&settings)).await;
        }
        *lock(&self.inner.session)? = Some(session.clone());
        self.spawn_idle_timer(&session);
        if self.inner.options.serve {
            *lock(&session.delivery_worker)? = crate::deliver::spawn_worker(&session);
        }
        self.info().await
    }

    /// The session summary front ends keep.
    pub async fn info(&self) -> AppResult<SessionInfo> {
        let session = self.session()?;
        let s = session.clone();
        let (settings, keychain, key_id) = blocking(move || {
            let settings = s.settings()?;
            let keychain = s.vault().keychain_enabled()?;
            let key_id = s.vault_key_id()?;
            Ok((settings, keychain, key_id))
        })
        .await?;
        Ok(SessionInfo {
            vault_id: session.vault().id().to_owned(),
            key_id,
            endpoint: session.endpoint_status().await,
            settings: crate::dto::AppSettings::from_core(&settings, keychain),
        })
    }

    /// Ends the session: stops serving, drops every key it held, tells the front ends why.
    pub async fn lock(&self, reason: LockReason) -> AppResult<()> {
        let had = self.shutdown().await?;
        if had {
            let _ = self.inner.events.send(AppEvent::Locked(reason));
        }
        Ok(())
    }

    /// [`Locket::lock`] without telling anyone: for work that must run locked before a front end may unlock
    /// again (restoring a backup). Returns whether a session was open.
    pub async fn shutdown(&self) -> AppResult<bool> {
        let session = lock(&self.inner.session)?.take();
        let Some(s) = session else { return Ok(false) };
        if let Err(e) = s.endpoint().set_vault(None) {
            tracing::warn!(error = %e, "endpoint still held the vault");
        }
        self.stop_server(&s).await;
        if let Some(task) = lock(&s.idle_timer)?.take() {
            task.abort();
        }
        s.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(task) = lock(&s.delivery_worker)?.take() {
            task.abort();
        }
        // Stopping the scheduler waits for its current tick (and any backup in progress): off the runtime.
        let auto = lock(&s.auto_backup)?.take();
        if let Some(auto) = auto {
            let _ = blocking(move || {
                drop(auto);
                Ok(())
            })
            .await;
        }
        Ok(true)
    }

    /// The address the endpoint should listen on: the override, else the vault's settings.
    pub fn listen_addr(&self, settings: &Settings) -> SocketAddr {
        self.inner
            .options
            .listen_override
            .unwrap_or_else(|| settings.endpoint.socket_addr())
    }

    /// Starts the server on `addr` (replacing a running one); a bind failure is kept for Settings rather than
    /// failing the caller.
    pub async fn start_server(&self, session: &Arc<Session>, addr: SocketAddr) {
        session.start_server(addr).await;
        let _ = self
            .inner
            .events
            .send(AppEvent::Endpoint(session.endpoint_status().await));
    }

    /// Stops the server (requests in flight finish first).
    pub async fn stop_server(&self, session: &Arc<Session>) {
        session.stop_server().await;
        let _ = self
            .inner
            .events
            .send(AppEvent::Endpoint(session.endpoint_status().await));
    }

    /// Saves the owner's settings; restarts, starts or stops the endpoint when its address or switch changed.
    pub async fn update_settings(&self, update: crate::dto::AppSettings) -> AppResult<SessionInfo> {
        let s = self.session()?;
        let addr: SocketAddr = update.endpoint_address.trim().parse().map_err(|_| {
            AppError::new(
                "invalid_address",
                "The address must be an IP address and a port, e.g. 127.0.0.1:7419.",
            )
        })?;
        let s2 = s.clone();
        let (before, after) = blocking(move || s2.save_settings(&update, addr)).await?;
        let restart = before.endpoint.socket_addr() != after.endpoint.socket_addr();
        if !after.endpoint.enabled {
            self.stop_server(&s).await;
        } else if !before.endpoint.enabled || restart || !s.endpoint_status().await.running {
            self.start_server(&s, self.listen_addr(&after)).await;
        }
        self.info().await
    }

    /// Deletes the vault after the owner typed the confirmation phrase; only an unlocked owner may.
    pub async fn wipe(&self, confirmation: &str) -> AppResult<()> {
        crate::confirm::check(confirmation, crate::confirm::WIPE_PHRASE, "to confirm")?;
        self.session()?;
        self.lock(LockReason::Wiped).await?;
        let dir = self.inner.dir.clone();
        blocking(move || Ok(Vault::wipe(&dir)?)).await
    }

    /// Replaces the vault with backup `id` after the owner typed the confirmation phrase. Locket locks first
    /// (nothing serves or writes while the database is swapped) and stays locked: unlock the restored vault.
    /// Revocations, narrowings and use counts made after the backup are applied again, and the restore is
    /// logged as a signed `vault_restored` event; the result says what was kept.
    pub async fn restore_backup(&self, id: String, confirmation: &str) -> AppResult<RestoreDone> {
        crate::confirm::check(
            confirmation,
            crate::confirm::RESTORE_PHRASE,
            "to replace your vault with this backup",
        )?;
        let vault = self.session()?.vault().clone();
        self.shutdown().await?;
        let result = blocking(move || {
            let (restored, report) = vault.restore_backup(&id, locket_audit::record_restored)?;
            drop(restored);
            Ok(RestoreDone::from(report))
        })
        .await;
        let reason = if result.is_ok() {
            LockReason::Restore
        } else {
            LockReason::Button
        };
        let _ = self.inner.events.send(AppEvent::Locked(reason));
        result
    }

    /// Changes the passphrase after proving the current one (a walk-up attacker at an unlocked screen does not
    /// know it). The vault is re-keyed (a new data key; database and backups re-encrypted, see
    /// [`Vault::rekey`]), so the old passphrase opens nothing afterwards, not even with an old copy of the key
    /// slots. The session is closed for the re-key (the endpoint pauses) and opened again. Returns a new
    /// recovery key to show once when the old one could not be carried over (a recovery slot made before
    /// re-keying existed); the recovery key goes on working otherwise.
    pub async fn change_passphrase(&self, current: Passphrase, next: Passphrase) -> AppResult<Option<SecretText>> {
        crate::passphrase::check_new(&next)?;
        let kdf = KdfParams::from_env()?;
        let rekeyed = self
            .rekey_session(current, move |vault| {
                vault.rekey(KeyChange {
                    passphrase: &next,
                    kdf,
                    recovery: RecoveryChange::Keep,
                })
            })
            .await?;
        Ok(rekeyed.map(|k| SecretText::from_zeroizing(k.display_groups())))
    }

    /// Makes a new recovery key (the old one stops working) after proving the passphrase; returns it for
    /// showing once. Re-keys the vault like [`Locket::change_passphrase`], so the old recovery key opens
    /// nothing afterwards, not even with an old copy of the key slots.
    pub async fn reset_recovery_key(&self, passphrase: Passphrase) -> AppResult<SecretText> {
        let kept = passphrase.clone();
        let key = self
            .rekey_session(passphrase, move |vault| {
                let (vault, rk) = vault.reset_recovery_key(&kept)?;
                Ok(locket_vault::Rekeyed {
                    vault,
                    new_recovery_key: Some(rk),
                    copies_reencrypted: 0,
                })
            })
            .await?;
        key.map(|k| SecretText::from_zeroizing(k.display_groups()))
            .ok_or_else(|| AppError::internal("the re-key made no recovery key"))
    }

    /// Proves `current`, closes the session (endpoint, backups, timer: nothing of this process may hold the
    /// vault while its database is re-encrypted), runs `rekey` on the sole handle and opens a session on the
    /// re-keyed vault. On failure Locket stays locked (the vault is as before; unlock it again).
    async fn rekey_session<F>(&self, current: Passphrase, rekey: F) -> AppResult<Option<RecoveryKey>>
    where
        F: FnOnce(Vault) -> Result<locket_vault::Rekeyed, locket_vault::VaultError> + Send + 'static,
    {
        let vault = self.session()?.vault().clone();
        let dir = self.inner.dir.clone();
        blocking(move || {
            drop(Vault::unlock(&dir, &current)?);
            Ok(())
        })
        .await?;
        self.shutdown().await?;
        match blocking(move || Ok(rekey(vault)?)).await {
            Ok(done) => {
                self.open(done.vault, "rekey").await?;
                Ok(done.new_recovery_key)
            }
            Err(e) => {
                let _ = self.inner.events.send(AppEvent::Locked(LockReason::Button));
                Err(e)
            }
        }
    }

    fn spawn_idle_timer(&self, session: &Arc<Session>) {
        let app: Weak<Inner> = Arc::downgrade(&self.inner);
        let ours: Weak<Session> = Arc::downgrade(session);
        let task = tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(session) = ours.upgrade() else { break };
                    match session.idle_limit() {
                        None => IDLE_TICK,
                        Some(limit) => {
                            let idle = idle_for(session.last_activity(), Utc::now());
                            if idle >= limit {
                                drop(session);
                                let Some(inner) = app.upgrade() else { break };
                                let locket = Locket { inner };
                                let still_ours = locket
                                    .inner
                                    .session
                                    .lock()
                                    .ok()
                                    .and_then(|s| s.clone())
                                    .is_some_and(|s| Weak::ptr_eq(&Arc::downgrade(&s), &ours));
                                if still_ours {
                                    tracing::info!("locking after {} s without activity", limit.as_secs());
                                    // On a task of its own: locking aborts this timer task, which must not
                                    // cancel the lock halfway (before the keys are dropped and it is announced).
                                    tokio::spawn(async move {
                                        if let Err(e) = locket.lock(LockReason::Idle).await {
                                            tracing::warn!(code = %e.code, "auto-lock failed");
                                        }
                                    });
                                }
                                break;
                            }
                            (limit - idle).min(IDLE_TICK)
                        }
                    }
                };
                tokio::time::sleep(wait).await;
            }
        });
        if let Ok(mut slot) = session.idle_timer.lock() {
            *slot = Some(task);
        }
    }
}

/// How long since `last` (zero if the clock went backwards).
fn idle_for(last: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - last).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_counts_wall_clock_and_never_goes_negative() {
        let t = Utc::now();
        assert_eq!(idle_for(t, t + chrono::Duration::seconds(90)), Duration::from_secs(90));
        assert_eq!(idle_for(t, t - chrono::Duration::seconds(5)), Duration::ZERO);
    }

    #[test]
    fn lock_reasons_keep_their_wire_names() {
        for r in [
            LockReason::Button,
            LockReason::Idle,
            LockReason::Tray,
            LockReason::Wiped,
            LockReason::Restore,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert_eq!(LockReason::from_request("idle"), LockReason::Idle);
        assert_eq!(LockReason::from_request("anything"), LockReason::Button);
    }
}
