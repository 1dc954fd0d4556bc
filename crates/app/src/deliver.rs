//! Delivering releases to retailers' servers: the worker that drains the outbox
//! ([`locket_grants::outbox`]) while the vault is unlocked, and the owner's view and controls (list, retry,
//! cancel, updates on or off). Locket is always the client: it POSTs each sealed release to the shop's
//! delivery URL over the guarded HTTPS client ([`crate::net`]) with Standard Webhooks headers, and records every
//! attempt in the vault before the next one.

use chrono::{DateTime, Utc};
use locket_grants::outbox::{self, Attempt, Delivery};
use locket_wire::release::{self, Sealed, RELEASE_CONTENT_TYPE};
use serde::Serialize;

use crate::dto::{DeliveryDto, DeliveryGrant, RetailerDeliveries};
use crate::error::AppResult;
use crate::net::{Net, NetError};
use crate::privacy::field_label;
use crate::session::Session;

/// Most releases one pass sends.
pub const PASS_LIMIT: u32 = 64;
/// Largest answer read from a delivery URL.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryPass {
    /// Releases the shops acknowledged.
    pub delivered: usize,
    /// Releases that will be tried again later.
    pub retrying: usize,
    /// Releases given up (refused for good, 410, out of time).
    pub failed: usize,
    /// `expire` releases queued for grants that ended.
    pub expiries_queued: usize,
    /// When the next pending release falls due.
    pub next_due: Option<DateTime<Utc>>,
}

/// What a shop's answer means for a release.
pub fn outcome_of(status: u16, body: &[u8]) -> Attempt {
    let reason = || {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        match (v["code"].as_str(), v["message"].as_str()) {
            (Some(c), Some(m)) => format!("the shop answered HTTP {status}: {c}: {m}"),
            (Some(c), None) => format!("the shop answered HTTP {status}: {c}"),
            _ => format!("the shop answered HTTP {status}"),
        }
    };
    match status {
        200..=299 => match std::str::from_utf8(body)
            .ok()
            .filter(|t| serde_json::from_str::<serde_json::Value>(t).is_ok())
        {
            Some(answer) => Attempt::Acknowledged {
                status,
                answer: answer.trim().to_owned(),
            },
            None => Attempt::Delivered { status },
        },
        410 => Attempt::Gone,
        408 | 425 | 429 => Attempt::Retry {
            status: Some(status),
            reason: reason(),
        },
        400..=499 => Attempt::Refused {
            status,
            reason: reason(),
        },
        _ => Attempt::Retry {
            status: Some(status),
            reason: reason(),
        },
    }
}

/// A number in [0, 1) that spreads retries of many releases apart (taken from a fresh random id).
fn jitter() -> f64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) / (f64::from(u32::MAX) + 1.0)
}

/// Longest sleep of the worker between two passes.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_secs(30);
/// Shortest sleep (a release due "now" that keeps failing at once cannot spin the worker).
const MIN_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts the delivery worker of `session` on the current tokio runtime: a pass whenever something is queued
/// ([`Session::wake_deliveries`]) or falls due, at least every 30 s. While the network settings are unusable
/// (logged), deliveries wait in the outbox and the worker tries the settings again at each pass.
pub fn spawn_worker(session: &std::sync::Arc<Session>) -> Option<tokio::task::JoinHandle<()>> {
    let weak = std::sync::Arc::downgrade(session);
    let wake = std::sync::Arc::clone(&session.delivery_wake);
    Some(tokio::spawn(async move {
        // Made on first use and kept; unusable settings (a test CA file not there yet) are tried again at the
        // next pass instead of stopping deliveries for the whole session.
        let mut net: Option<Net> = None;
        loop {
            let Some(s) = weak.upgrade() else { break };
            if s.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            if net.is_none() {
                match Net::from_env() {
                    Ok(n) => net = Some(n),
                    Err(e) => tracing::warn!(code = %e.code, "deliveries wait: the network settings are unusable"),
                }
            }
            let wait = match net.clone() {
                None => IDLE_POLL,
                Some(n) => match tokio::task::spawn_blocking(move || s.deliver_due(&n)).await {
                    Ok(Ok(p)) => p
                        .next_due
                        .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                        .unwrap_or(IDLE_POLL),
                    Ok(Err(e)) => {
                        tracing::warn!(code = %e.code, "a delivery pass failed");
                        IDLE_POLL
                    }
                    Err(_) => IDLE_POLL,
                },
            }
            .clamp(MIN_POLL, IDLE_POLL);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
            }
        }
    }))
}

impl Session {
    /// Tells the delivery worker something was queued.
    pub(crate) fn wake_deliveries(&self) {
        self.delivery_wake.notify_one();
    }

    /// One pass of the worker: queues `expire` for grants that ended, then sends every due release (each sealed
    /// once, in its own committed transaction, before its first attempt) and records each attempt.
    pub fn deliver_due(&self, net: &Net) -> AppResult<DeliveryPass> {
        let mut pass = DeliveryPass {
            expiries_queued: self.write(|tx| outbox::queue_due_expiries(tx, Utc::now()))?,
            ..DeliveryPass::default()
        };
        let ids = outbox::due_ids(self.store()?.conn(), Utc::now(), PASS_LIMIT)?;
        for id in ids {
            if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let issuers = self.issuers();
            let rid = id.clone();
            let due = self.write(move |tx| outbox::seal_due(tx, &issuers, &rid, Utc::now()));
            let due = match due {
                Ok(d) => d,
                Err(e) => {
                    // A release that cannot be sealed (the shop's key is unusable) is given up with the reason.
                    let reason = format!("it could not be sealed: {}", e.message);
                    let rid = id.clone();
                    let d = self.write(move |tx| {
                        outbox::record_attempt(tx, &rid, &Attempt::Refused { status: 0, reason }, 0.5, Utc::now())
                    })?;
                    tally(&mut pass, &d);
                    continue;
                }
            };
            let signer = self
                .issuers()
                .token_signer(&due.retailer_id)
                .map_err(|e| crate::error::AppError::new("signing_key_unusable", e.to_string()))?;
            let sealed = Sealed {
                release_id: due.release_id.clone(),
                body: due.body.clone(),
                sha256: due.sha256.clone(),
            };
            let headers = release::webhook_headers(&sealed, &signer, Utc::now().timestamp())
                .map_err(|e| crate::error::AppError::new(e.code(), e.to_string()))?;
            let sent = net.post(
                &due.delivery_url,
                RELEASE_CONTENT_TYPE,
                vec![
                    ("webhook-id".into(), headers.id.clone()),
                    ("webhook-timestamp".into(), headers.timestamp.to_string()),
                    ("webhook-signature".into(), headers.signature.clone()),
                ],
                due.body.clone(),
                MAX_ANSWER_BYTES,
            );
            let attempt = match sent {
                Ok(answer) => outcome_of(answer.status, &answer.body),
                Err(e @ NetError::NotHttps(_)) | Err(e @ NetError::AddressRefused { .. }) => Attempt::Refused {
                    status: 0,
                    reason: e.to_string(),
                },
                Err(e) => Attempt::Retry {
                    status: None,
                    reason: e.to_string(),
                },
            };
            let rid = id.clone();
            let j = jitter();
            let d = self.write(move |tx| outbox::record_attempt(tx, &rid, &attempt, j, Utc::now()))?;
            tally(&mut pass, &d);
        }
        pass.next_due = outbox::next_due(self.store()?.conn())?;
        Ok(pass)
    }

    /// The deliveries, newest first (at most `limit`).
    pub fn deliveries(&self, limit: u32) -> AppResult<Vec<Delivery>> {
        Ok(outbox::list(self.store()?.conn(), limit)?)
    }

    /// One retailer's deliveries, newest first.
    pub fn retailer_deliveries(&self, retailer_id: &str) -> AppResult<Vec<Delivery>> {
        Ok(outbox::for_retailer(self.store()?.conn(), retailer_id)?)
    }

    /// Makes a waiting or failed delivery due now.
    pub fn retry_delivery(&self, id: String) -> AppResult<Delivery> {
        let d = self.write(move |tx| outbox::retry(tx, &id, Utc::now()))?;
        self.wake_deliveries();
        Ok(d)
    }

    /// Cancels a waiting delivery: it is never sent.
    pub fn cancel_delivery(&self, id: String) -> AppResult<Delivery> {
        self.write(move |tx| outbox::cancel(tx, &id, Utc::now()))
    }

    /// Turns updates of a delivered grant on or off.
    pub fn set_grant_updates(&self, grant_id: String, on: bool) -> AppResult<()> {
        let grant = self.grant_record(&grant_id)?;
        self.write(move |tx| outbox::set_updates(tx, &grant.id, on))
    }

    /// One retailer's deliveries as the owner reads them (fields named in the owner's words), newest first, with
    /// its grants that deliver and whether each gets updates.
    pub fn retailer_deliveries_view(&self, retailer_id: &str) -> AppResult<RetailerDeliveries> {
        let store = self.store()?;
        let conn = store.conn();
        let deliveries = outbox::for_retailer(conn, retailer_id)?
            .iter()
            .map(|d| DeliveryDto::from_delivery(d, |k| field_label(conn, k)))
            .collect();
        let grants = outbox::update_settings(conn, retailer_id)?
            .into_iter()
            .map(|(grant_id, updates)| DeliveryGrant { grant_id, updates })
            .collect();
        Ok(RetailerDeliveries { deliveries, grants })
    }

    /// `d` as the owner reads it.
    pub fn delivery_view(&self, d: &Delivery) -> AppResult<DeliveryDto> {
        let store = self.store()?;
        Ok(DeliveryDto::from_delivery(d, |k| field_label(store.conn(), k)))
    }
}

fn tally(pass: &mut DeliveryPass, d: &Delivery) {
    match d.status.as_str() {
        "delivered" => pass.delivered += 1,
        "pending" => pass.retrying += 1,
        _ => pass.failed += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_what_happens_next() {
        assert_eq!(outcome_of(200, b""), Attempt::Delivered { status: 200 });
        assert_eq!(
            outcome_of(200, br#"{"status":"accepted"}"#),
            Attempt::Acknowledged {
                status: 200,
                answer: r#"{"status":"accepted"}"#.into()
            }
        );
        assert_eq!(outcome_of(204, b""), Attempt::Delivered { status: 204 });
        assert_eq!(outcome_of(410, b""), Attempt::Gone);
        assert!(matches!(outcome_of(503, b""), Attempt::Retry { status: Some(503), .. }));
        assert!(matches!(outcome_of(429, b""), Attempt::Retry { .. }));
        match outcome_of(401, br#"{"code":"release_invalid_signature","message":"no"}"#) {
            Attempt::Refused { status, reason } => {
                assert_eq!(status, 401);
                assert!(reason.contains("release_invalid_signature"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
