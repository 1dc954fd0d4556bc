//! Everything that touches the vault: each call is one job on the vault's group-commit writer that runs the
//! grant checks, records the audit event in the same transaction, and replies only after COMMIT.
use std::sync::Arc;

use locket_audit::{Event, EventKind, NewEvent, Outcome};
use locket_grants::{Issuers, VaultVerifier};
use locket_vault::{Vault, Writer, WriterError};
use rusqlite::Transaction;
use serde_json::json;
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::refusals::{Counted, Refusal, RefusalTally};
use crate::{Endpoint, EndpointError, Notice};

/// The vault being served: its writer and token keys. Built by [`Endpoint::set_vault`].
pub struct Unlocked {
    pub(crate) vault: Vault,
    pub(crate) writer: Writer,
    /// Each retailer's issuer (id and key), derived from the vault's secrets.
    pub(crate) issuers: Issuers,
    /// Checks a token against the key of the retailer it names (or the vault-wide key of older grants).
    pub(crate) verifier: VaultVerifier,
    /// Refusals of callers that proved nothing, counted for this vault's summaries.
    pub(crate) refusals: RefusalTally,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked").field("vault", &self.vault).finish()
    }
}

impl Unlocked {
    pub(crate) fn new(vault: Vault) -> Result<Unlocked, EndpointError> {
        let writer = vault.writer().map_err(|e| EndpointError::Vault(e.to_string()))?;
        let issuers = Issuers::for_vault(&vault);
        let verifier = issuers.verifier().map_err(|e| EndpointError::Vault(e.to_string()))?;
        Ok(Unlocked {
            vault,
            writer,
            issuers,
            verifier,
            refusals: RefusalTally::default(),
        })
    }

    /// Writes the refusal summaries counted so far and stops counting (the vault is no longer served): blocks
    /// until they are committed. Called when the endpoint lets go of this vault.
    pub(crate) fn close_refusals(&self) {
        let events = self.refusals.take(true);
        if events.is_empty() {
            return;
        }
        // The job holds a copy of the seed, not this handle: the vault must be closable right after.
        let seed = zeroize::Zeroizing::new(*self.vault.signing_seed().expose());
        let r = self.writer.submit_repeatable(move |tx: &Transaction<'_>| {
            for ev in &events {
                locket_audit::append(tx, ev)?;
            }
            locket_audit::maybe_sign_head(tx, &seed[..])?;
            Ok::<_, locket_audit::AuditError>(())
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "the refusal summaries could not be written");
        }
    }

    /// The `GET /v1/keys` document for the holder of `token` (verified): the issuer id and key it was
    /// signed with, and no other. Each retailer sees only its own key, so the document links no two shops.
    pub(crate) fn keys_document(
        &self,
        token: &locket_grants::VerifiedToken,
    ) -> Result<serde_json::Value, EndpointError> {
        let claims = &token.claims;
        let signer = if claims.iss == self.issuers.vault_id() {
            self.issuers.vault_wide()
        } else {
            self.issuers.token_signer(&claims.aud)
        }
        .map_err(|e| EndpointError::Vault(e.to_string()))?;
        Ok(json!({
            "issuer": signer.issuer(),
            "keys": [{
                "paserk": signer.public_paserk(),
                "kid": signer.key_id(),
                "version": "v4",
                "purpose": "public",
            }],
        }))
    }
}

/// `GET /v1/keys`: the key that signed the caller's token (any token this vault issued, even an expired or
/// revoked one, so old receipts stay checkable). A token that does not verify is refused and logged.
pub(crate) async fn keys(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: &str,
) -> Result<serde_json::Value, ApiError> {
    let verified = verified(endpoint, unlocked, call, token, "keys").await?;
    unlocked.keys_document(&verified).map_err(ApiError::internal)
}

/// Who is calling, for the audit record.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) route: &'static str,
    pub(crate) remote: String,
    pub(crate) remote_ip: String,
    pub(crate) ip: std::net::IpAddr,
    pub(crate) user_agent: Option<String>,
    pub(crate) origin: Option<String>,
}

impl Call {
    /// Adds the caller's address, user agent and route to an event.
    pub(crate) fn stamp(&self, mut ev: NewEvent) -> NewEvent {
        ev = ev.remote(self.remote.clone()).detail("route", self.route);
        if let Some(ua) = &self.user_agent {
            ev = ev.user_agent(ua.clone());
        }
        if let Some(o) = &self.origin {
            ev = ev.detail("origin", clip(o, 200));
        }
        ev
    }
}

/// Cuts attacker-supplied text to at most `max` characters before it is recorded.
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A `request_received` refusal event.
pub(crate) fn request_refused(_call: &Call, code: &str, size: usize) -> NewEvent {
    NewEvent::new(EventKind::RequestReceived, Outcome::Refused)
        .reason(code)
        .detail("size", size)
}

/// What a job produced: the reply (a refusal is still a committed outcome) and the events it appended.
pub(crate) struct Done<R> {
    pub(crate) reply: Result<R, ApiError>,
    pub(crate) events: Vec<Event>,
    pub(crate) notice: Option<Notice>,
}

/// A job failed in a way that must not be committed (database error): its changes are rolled back.
pub(crate) struct Abort(pub(crate) String);

impl From<rusqlite::Error> for Abort {
    fn from(e: rusqlite::Error) -> Abort {
        Abort(e.to_string())
    }
}

impl From<locket_audit::AuditError> for Abort {
    fn from(e: locket_audit::AuditError) -> Abort {
        Abort(e.to_string())
    }
}

/// Appends `ev` and signs the head now and then, inside the job's transaction.
pub(crate) fn record(tx: &Transaction<'_>, unlocked: &Unlocked, ev: &NewEvent) -> Result<Event, Abort> {
    let e = locket_audit::append(tx, ev).map_err(|e| Abort(e.to_string()))?;
    // Only look at the signed heads now and then: signing is due every HEAD_SIGN_INTERVAL events.
    if e.seq % 64 == 0 {
        locket_audit::maybe_sign_head(tx, unlocked.vault.signing_seed().expose()).map_err(|e| Abort(e.to_string()))?;
    }
    Ok(e)
}

/// Runs `job` on the writer and waits (without blocking the runtime) until its batch committed; then announces
/// the events and returns the reply. Nothing is returned before the commit.
pub(crate) async fn write<R, F>(endpoint: &Endpoint, unlocked: &Arc<Unlocked>, job: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&Transaction<'_>, &Unlocked) -> Result<Done<R>, Abort> + Send + 'static,
{
    let u = Arc::clone(unlocked);
    write_via(endpoint, unlocked, move |writer, done| {
        writer.submit_then(move |t: &Transaction<'_>| job(t, &u), done)
    })
    .await
}

/// [`write`] for a job that only touches the transaction, so the writer may run it again after rolling it
/// back (it then shares a savepoint with its neighbours: see `locket_vault::Writer::submit_then_repeatable`).
pub(crate) async fn write_repeatable<R, F>(endpoint: &Endpoint, unlocked: &Arc<Unlocked>, job: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: Fn(&Transaction<'_>, &Unlocked) -> Result<Done<R>, Abort> + Send + 'static,
{
    let u = Arc::clone(unlocked);
    write_via(endpoint, unlocked, move |writer, done| {
        writer.submit_then_repeatable(move |t: &Transaction<'_>| job(t, &u), done)
    })
    .await
}

type Delivery<R> = Box<dyn FnOnce(Result<Done<R>, WriterError<Abort>>) + Send>;

async fn write_via<R, S>(endpoint: &Endpoint, unlocked: &Arc<Unlocked>, submit: S) -> Result<R, ApiError>
where
    R: Send + 'static,
    S: FnOnce(&Writer, Delivery<R>),
{
    // The slot is released when the job has finished on the writer, not when this future ends: a client that
    // disconnects early cannot make the endpoint queue more than MAX_IN_FLIGHT jobs.
    let permit = Arc::clone(&endpoint.shared.in_flight)
        .acquire_owned()
        .await
        .map_err(|_| ApiError::locked())?;
    let (tx, rx) = oneshot::channel();
    submit(
        &unlocked.writer,
        Box::new(move |r: Result<Done<R>, WriterError<Abort>>| {
            drop(permit);
            let _ = tx.send(r);
        }),
    );
    let done = match rx.await {
        Ok(Ok(done)) => done,
        Ok(Err(WriterError::Job(Abort(why)))) => return Err(ApiError::storage(why)),
        Ok(Err(WriterError::Storage(e))) => return Err(ApiError::storage(e)),
        Ok(Err(WriterError::Closed)) | Err(_) => return Err(ApiError::locked()),
        Ok(Err(_)) => return Err(ApiError::internal("the write failed")),
    };
    for e in done.events {
        let _ = endpoint.shared.notices.send(Notice::EventAppended(Box::new(e)));
    }
    if let Some(n) = done.notice {
        let _ = endpoint.shared.notices.send(n);
    }
    done.reply
}

/// What an unproven caller was refused: the parts the summary counts by.
pub(crate) struct Unproven<'a> {
    /// The refusal code.
    pub(crate) reason: &'a str,
    /// What was refused (`redemption`, `introspection`, `request`, ...).
    pub(crate) action: &'a str,
    /// The grant an unverified token claimed, if it could be read.
    pub(crate) claimed_grant: Option<&'a str>,
}

/// Records the refusal of a caller that proved nothing (no credential, a malformed one, a token whose signature
/// did not verify, an invalid `Origin`, a rate limit): the first of its source and reason in the current window
/// is logged as `ev`, as it happens; the rest are counted into that window's `refusals_summarized` event
/// (`crate::refusals`). Writes the window's summaries when it is over.
pub(crate) async fn log_unproven(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    what: Unproven<'_>,
    ev: NewEvent,
) -> Result<(), ApiError> {
    let source = crate::refusals::source_of(call.ip);
    let counted = unlocked.refusals.count(&Refusal {
        source: &source,
        address: &call.remote,
        reason: what.reason,
        action: what.action,
        claimed_grant: what.claimed_grant,
        user_agent: call.user_agent.as_deref(),
    });
    match counted {
        Counted::LogNow | Counted::Closed => log_refusal(endpoint, unlocked, call, ev).await?,
        Counted::Summarized => {}
    }
    if unlocked.refusals.due(endpoint.shared.config.refusal_window) {
        flush_refusals(endpoint, unlocked).await?;
    }
    Ok(())
}

/// Writes the refusal summaries counted in the window that is ending (nothing if there are none).
pub(crate) async fn flush_refusals(endpoint: &Endpoint, unlocked: &Arc<Unlocked>) -> Result<(), ApiError> {
    let events = unlocked.refusals.take(false);
    if events.is_empty() {
        return Ok(());
    }
    write(endpoint, unlocked, move |tx, u| {
        let mut done = Vec::with_capacity(events.len());
        for ev in &events {
            done.push(record(tx, u, ev)?);
        }
        Ok(Done {
            reply: Ok(()),
            events: done,
            notice: None,
        })
    })
    .await
}

/// Records a refusal decided before any grant lookup (bad header, rate limit, oversized body).
pub(crate) async fn log_refusal(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    ev: NewEvent,
) -> Result<(), ApiError> {
    let ev = call.stamp(ev);
    write_repeatable(endpoint, unlocked, move |tx, u| {
        let e = record(tx, u, &ev)?;
        Ok(Done {
            reply: Ok(()),
            events: vec![e],
            notice: None,
        })
    })
    .await
}

/// `GET /v1/data` reply.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DataReply {
    format: &'static str,
    #[serde(flatten)]
    redemption: locket_grants::Redemption,
    disclosed_at: String,
}

/// `POST /v1/requests` reply.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Accepted {
    request_id: String,
    status: &'static str,
    retailer_id: String,
    received_at: String,
    message: &'static str,
}

/// `POST /v1/grant/revoke` reply.
#[derive(Debug, serde::Serialize)]
pub(crate) struct RevokeReply {
    revoked: bool,
    #[serde(flatten)]
    revocation: locket_grants::redeem::RetailerRevocation,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Checks the token's signature and key (no database needed, runs outside the writer). A failure is logged as
/// a refusal of `action` before the error is returned.
async fn verified(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: &str,
    action: &str,
) -> Result<Arc<locket_grants::VerifiedToken>, ApiError> {
    match unlocked.verifier.verify_signature(token) {
        Ok(v) => Ok(v),
        Err(e) => {
            let e = locket_grants::RedeemError::from(e);
            let mut ev = NewEvent::refusal(e.code(), action);
            // What the token claims is untrusted (the signature did not verify) but helps the owner see
            // which grant someone tried to forge or replay from elsewhere.
            let claims = locket_grants::token::peek_claims(token).ok();
            if let Some(claims) = &claims {
                ev = ev
                    .detail("claimed_grant", clip(&claims.jti, 80))
                    .detail("claimed_retailer", clip(&claims.aud, 120));
            }
            let what = Unproven {
                reason: e.code(),
                action,
                claimed_grant: claims.as_ref().map(|c| c.jti.as_str()),
            };
            log_unproven(endpoint, unlocked, call, what, ev).await?;
            Err(ApiError::from(&e))
        }
    }
}

/// A refusal for a token whose signature verified: grant and retailer are known.
fn refused(
    call: &Call,
    e: &locket_grants::RedeemError,
    token: &locket_grants::VerifiedToken,
    action: &str,
) -> NewEvent {
    call.stamp(
        NewEvent::refusal(e.code(), action)
            .grant(token.claims.jti.clone())
            .retailer(token.claims.aud.clone()),
    )
}

/// Why the step of a token-bearing call failed: a refusal the retailer is told about (logged as a refusal of the
/// call, with its grant and retailer), or a fault that rolls the transaction back.
pub(crate) enum Failed {
    Refused(locket_grants::RedeemError),
    Abort(Abort),
}

impl From<locket_grants::RedeemError> for Failed {
    fn from(e: locket_grants::RedeemError) -> Failed {
        match e {
            locket_grants::RedeemError::Internal(why) => Failed::Abort(Abort(why)),
            other => Failed::Refused(other),
        }
    }
}

impl From<Abort> for Failed {
    fn from(a: Abort) -> Failed {
        Failed::Abort(a)
    }
}

impl From<locket_audit::AuditError> for Failed {
    fn from(e: locket_audit::AuditError) -> Failed {
        Failed::Abort(e.into())
    }
}

/// A step's reply and the events it recorded.
type Step<R> = Result<(R, Vec<Event>), Failed>;

/// The one audited call every token-bearing route makes: the token's signature is checked first (a failure is
/// logged as a refusal of `action`); then `step` runs on the writer inside one transaction and records its own
/// events; a refusal it returns is logged in the same transaction. The reply leaves only after the commit, so
/// every call of these routes is in the log. `repeatable`: the step only touches the transaction, so the writer
/// may re-run it after a rollback (see [`write_repeatable`]).
async fn audited<R, F>(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: &str,
    action: &'static str,
    repeatable: bool,
    step: F,
) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: Fn(&Transaction<'_>, &Unlocked, &locket_grants::VerifiedToken, &Call) -> Step<R> + Send + 'static,
{
    let v = verified(endpoint, unlocked, call, token, action).await?;
    let call = call.clone();
    let job = move |tx: &Transaction<'_>, u: &Unlocked| match step(tx, u, &v, &call) {
        Ok((reply, events)) => Ok(Done {
            reply: Ok(reply),
            events,
            notice: None,
        }),
        Err(Failed::Abort(a)) => Err(a),
        Err(Failed::Refused(err)) => {
            let e = record(tx, u, &refused(&call, &err, &v, action))?;
            Ok(Done {
                reply: Err(ApiError::from(&err)),
                events: vec![e],
                notice: None,
            })
        }
    };
    if repeatable {
        write_repeatable(endpoint, unlocked, job).await
    } else {
        write(endpoint, unlocked, job).await
    }
}

/// `GET /v1/data`: all redemption checks, the use count and the audit event in one transaction; the reply
/// leaves only after it committed.
pub(crate) async fn redeem(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: String,
) -> Result<DataReply, ApiError> {
    audited(
        endpoint,
        unlocked,
        call,
        &token,
        "redemption",
        true,
        |tx, u, v, call| {
            // Time is taken inside the transaction: the checks see the moment the grant state is read.
            let now = chrono::Utc::now();
            let r = locket_grants::redeem::redeem_verified(tx, v, now)?;
            let ev = call.stamp(
                NewEvent::new(EventKind::Redemption, Outcome::Ok)
                    .grant(r.grant_id.clone())
                    .retailer(r.retailer_id.clone())
                    .fields(r.disclosed_fields())
                    .detail("uses", r.uses),
            );
            let e = record(tx, u, &ev)?;
            let reply = DataReply {
                format: "locket.data/v1",
                redemption: r,
                disclosed_at: now_rfc3339(),
            };
            Ok((reply, vec![e]))
        },
    )
    .await
}

/// `GET /v1/grant`: the grant's state (an expired or revoked grant is reported, not refused); logged as an
/// introspection.
pub(crate) async fn introspect(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: String,
) -> Result<locket_grants::Introspection, ApiError> {
    audited(
        endpoint,
        unlocked,
        call,
        &token,
        "introspection",
        false,
        |tx, u, v, call| {
            catch_up_receipts(tx, u, &v.claims.jti)?;
            let i = locket_grants::redeem::introspect(tx, v, chrono::Utc::now())?;
            let ev = call.stamp(
                NewEvent::new(EventKind::Introspection, Outcome::Ok)
                    .grant(i.grant_id.clone())
                    .retailer(i.retailer_id.clone())
                    .detail("status", i.status.as_str()),
            );
            let e = record(tx, u, &ev)?;
            Ok((i, vec![e]))
        },
    )
    .await
}

/// `POST /v1/grant/revoke`: the retailer gives the grant back; durable before the reply.
pub(crate) async fn revoke(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: String,
) -> Result<RevokeReply, ApiError> {
    audited(
        endpoint,
        unlocked,
        call,
        &token,
        "revocation",
        false,
        |tx, u, v, call| {
            let r = locket_grants::redeem::retailer_revoke(tx, v, chrono::Utc::now())?;
            let mut events = Vec::new();
            if !r.already_revoked {
                let ev = call.stamp(
                    NewEvent::new(EventKind::GrantRevoked, Outcome::Ok)
                        .grant(r.grant_id.clone())
                        .retailer(r.retailer_id.clone())
                        .detail("by", "retailer"),
                );
                events.push(record(tx, u, &ev)?);
                // The consent ends here: its `revoke` receipt (method `retailer`), in the same commit.
                catch_up_receipts(tx, u, &r.grant_id).map_err(|e| Abort(e.to_string()))?;
            }
            let reply = RevokeReply {
                revoked: true,
                revocation: r,
            };
            Ok((reply, events))
        },
    )
    .await
}

/// Issues the consent receipts due for one grant (its revocation, its expiry) inside the job's transaction.
fn catch_up_receipts(tx: &Transaction<'_>, u: &Unlocked, grant_id: &str) -> Result<(), locket_grants::RedeemError> {
    use locket_grants::receipt::{self, Collection, ReceiptEvent};
    let internal = |e: receipt::ReceiptError| locket_grants::RedeemError::Internal(e.to_string());
    let now = chrono::Utc::now();
    let template = receipt::context_now(tx, ReceiptEvent::Expiry, now, Collection::Locket);
    receipt::issue_due_receipts(tx, &u.issuers, &template, now, Some(grant_id)).map_err(internal)?;
    Ok(())
}

/// `GET /v1/grant/receipts` reply.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ReceiptsReply {
    format: &'static str,
    grant_id: String,
    receipts: Vec<locket_grants::receipt::Receipt>,
}

/// `GET /v1/grant/receipts`: the grant's consent receipts (after issuing any that fell due); logged as an
/// introspection of that route.
pub(crate) async fn receipts(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: String,
) -> Result<ReceiptsReply, ApiError> {
    audited(endpoint, unlocked, call, &token, "receipts", false, |tx, u, v, call| {
        catch_up_receipts(tx, u, &v.claims.jti)?;
        let list = locket_grants::redeem::receipts(tx, v)?;
        let ev = call.stamp(
            NewEvent::new(EventKind::Introspection, Outcome::Ok)
                .grant(v.claims.jti.clone())
                .retailer(v.claims.aud.clone())
                .detail("receipts", list.len()),
        );
        let e = record(tx, u, &ev)?;
        let reply = ReceiptsReply {
            format: "locket.consent-receipts/v1",
            grant_id: v.claims.jti.clone(),
            receipts: list,
        };
        Ok((reply, vec![e]))
    })
    .await
}

/// `POST /v1/grant/erasure-ack`: the retailer acknowledges the owner's erasure requests for its grant;
/// durable and logged (`erasure_acknowledged`) before the reply.
pub(crate) async fn erasure_ack(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    token: String,
) -> Result<locket_grants::redeem::ErasureAck, ApiError> {
    audited(
        endpoint,
        unlocked,
        call,
        &token,
        "erasure_ack",
        false,
        |tx, u, v, call| {
            let ack = locket_grants::redeem::acknowledge_erasure(tx, v, chrono::Utc::now())?;
            // The grants crate logged the acknowledgement if it changed anything; a call that found nothing open is
            // logged here, so every call of the route is in the log.
            let kind = EventKind::ErasureAcknowledged;
            let events = if ack.acknowledged > 0 {
                let filter = locket_audit::Filter {
                    kind: Some(kind),
                    ..Default::default()
                };
                let logged = locket_audit::query(tx, &filter, None, 1)?.events;
                if logged.first().is_some_and(|e| e.seq % 64 == 0) {
                    locket_audit::maybe_sign_head(tx, u.vault.signing_seed().expose())?;
                }
                logged
            } else {
                let ev = call.stamp(
                    NewEvent::new(kind, Outcome::Ok)
                        .grant(ack.grant_id.clone())
                        .retailer(ack.retailer_id.clone())
                        .detail("requests", 0u64),
                );
                vec![record(tx, u, &ev)?]
            };
            Ok((ack, events))
        },
    )
    .await
}

/// `POST /v1/requests`: validate and store the request (the grants crate logs the acceptance in the same
/// transaction); a refusal is logged here.
pub(crate) async fn submit_request(
    endpoint: &Endpoint,
    unlocked: &Arc<Unlocked>,
    call: &Call,
    body: axum::body::Bytes,
) -> Result<Accepted, ApiError> {
    let call = call.clone();
    let config = &endpoint.shared.config;
    let caps = locket_grants::store::PendingCaps {
        total: config.max_pending_requests,
        per_retailer: config.max_pending_per_retailer,
        per_source: config.max_pending_per_source,
    };
    write(endpoint, unlocked, move |tx, u| {
        let source = locket_grants::RequestSource::Http {
            remote_addr: Some(call.remote.clone()),
            origin_header: call.origin.as_ref().map(|o| clip(o, 200)),
            user_agent: call.user_agent.as_ref().map(|a| clip(a, 256)),
        };
        let now = chrono::Utc::now();
        match locket_grants::store::import_request(tx, &body, &source, now, Some(&caps)) {
            Ok(rec) => {
                // The grants crate appended the `request_received` event; announce it too.
                let events = locket_audit::query(
                    tx,
                    &locket_audit::Filter {
                        kind: Some(EventKind::RequestReceived),
                        ..Default::default()
                    },
                    None,
                    1,
                )?
                .events;
                if events.first().is_some_and(|e| e.seq % 64 == 0) {
                    locket_audit::maybe_sign_head(tx, u.vault.signing_seed().expose())?;
                }
                let notice = Notice::RequestReceived {
                    request_id: rec.id.clone(),
                    retailer_id: rec.request.retailer.id.clone(),
                    retailer_name: rec.request.retailer.name.clone(),
                };
                Ok(Done {
                    reply: Ok(Accepted {
                        request_id: rec.id,
                        status: "pending",
                        retailer_id: rec.request.retailer.id,
                        received_at: now_rfc3339(),
                        message: "the request is waiting for the owner's decision; the owner sends the grant file",
                    }),
                    events,
                    notice: Some(notice),
                })
            }
            Err(locket_grants::GrantError::Database(e)) => Err(Abort(e.to_string())),
            Err(err) => {
                let mut ev = call.stamp(request_refused(&call, err.code(), body.len()));
                if let locket_grants::GrantError::DuplicateRequest { retailer, .. } = &err {
                    ev = ev.retailer(retailer.clone());
                }
                if let Some(first) = err_problems(&err).first() {
                    ev = ev.detail("problem", clip(&first.to_string(), 300));
                }
                let e = record(tx, u, &ev)?;
                Ok(Done {
                    reply: Err(ApiError::from(&err)),
                    events: vec![e],
                    notice: None,
                })
            }
        }
    })
    .await
}

fn err_problems(e: &locket_grants::GrantError) -> &[locket_grants::Problem] {
    match e {
        locket_grants::GrantError::Request(r) => r.problems(),
        _ => &[],
    }
}
