//! `locket deliveries list|send|retry|cancel|updates`: releases to shops' servers (the outbox). The desktop app and
//! `locket serve` deliver by themselves while the vault is unlocked; `send` does one pass now and exits.
use chrono::{DateTime, Utc};
use clap::Subcommand;
use locket_grants::outbox::Delivery;
use serde_json::json;

use super::output::safe;
use super::{CliResult, Ctx};

/// `locket deliveries …`
#[derive(Debug, Subcommand)]
pub enum DeliveriesCmd {
    /// Releases to shops' servers, newest first: what was delivered, what waits and why.
    List {
        /// Only this retailer's.
        #[arg(long, value_name = "RETAILER")]
        retailer: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Deliver what is due now (one pass), then exit.
    Send,
    /// Try a waiting or failed delivery again now (release id or a unique prefix).
    Retry {
        /// Release id (`rel_…`) or a unique prefix of at least 8 characters.
        id: String,
    },
    /// Cancel a waiting delivery: it is never sent.
    Cancel {
        /// Release id (`rel_…`) or a unique prefix of at least 8 characters.
        id: String,
    },
    /// Turn updates (new versions of granted values) for one grant on or off.
    Updates {
        /// Grant id or unique prefix.
        grant: String,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M");
    let secs = (t - now).num_seconds();
    if secs > 0 {
        let mins = (secs + 59) / 60;
        if mins < 120 {
            format!("{local} (in {mins} min)")
        } else {
            format!("{local} (in {} h)", (mins + 59) / 60)
        }
    } else {
        local.to_string()
    }
}

/// One delivery in words ("waiting to deliver since 10:04 — connection refused; next try in 4 min").
pub fn describe(d: &Delivery, now: DateTime<Utc>) -> String {
    let what = match d.event.as_str() {
        "grant" => "the granted data",
        "update" => "an update",
        "revoke" => "the revocation (erasure request)",
        "expire" => "the end of the grant",
        _ => "a release",
    };
    let head = format!(
        "{}  {} #{} to {}: {what}",
        d.release_id,
        safe(&d.retailer_id),
        d.sequence,
        safe(&d.delivery_url)
    );
    let state = match d.status.as_str() {
        "delivered" => format!(
            "delivered {}{}",
            d.finished_at.map(|t| when(t, now)).unwrap_or_default(),
            if d.fields.is_empty() {
                String::new()
            } else {
                format!(
                    " — {}",
                    d.fields
                        .iter()
                        .map(|f| format!("{} v{}", safe(&f.key), f.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        "pending" if d.attempts == 0 => format!(
            "waiting since {}; first try {}",
            when(d.created_at, now),
            when(d.due_at, now)
        ),
        "pending" => format!(
            "waiting to deliver since {} — {}; next try {} (gives up {})",
            when(d.created_at, now),
            safe(d.last_error.as_deref().unwrap_or("no answer")),
            when(d.due_at, now),
            when(d.give_up_at, now)
        ),
        "failed" => format!(
            "failed after {} attempt(s): {} (`locket deliveries retry {}` tries again)",
            d.attempts,
            safe(d.last_error.as_deref().unwrap_or("gave up")),
            &d.release_id[..12.min(d.release_id.len())]
        ),
        "cancelled" => "cancelled; never sent".to_owned(),
        other => other.to_owned(),
    };
    format!("{head}\n    {state}")
}

/// Runs `locket deliveries …`.
pub fn run(ctx: &mut Ctx, cmd: DeliveriesCmd) -> CliResult {
    let session = ctx.open_session()?;
    let now = Utc::now();
    match cmd {
        DeliveriesCmd::List { retailer, limit } => {
            let list = match &retailer {
                Some(r) => session.retailer_deliveries(r)?,
                None => session.deliveries(limit)?,
            };
            ctx.out.result(&json!({ "deliveries": list }), || {
                if list.is_empty() {
                    "No deliveries. Shops that take deliveries get theirs when you approve a request Locket verified on their site.".to_owned()
                } else {
                    list.iter().map(|d| describe(d, now)).collect::<Vec<_>>().join("\n")
                }
            });
        }
        DeliveriesCmd::Send => {
            let net = locket_app::net::Net::from_env()?;
            let pass = session.deliver_due(&net)?;
            ctx.out.result(&pass, || {
                let mut s = format!(
                    "Delivered {}, {} waiting to be tried again, {} failed.",
                    pass.delivered, pass.retrying, pass.failed
                );
                if let Some(t) = pass.next_due {
                    s.push_str(&format!(" Next one due {}.", when(t, Utc::now())));
                }
                s
            });
        }
        DeliveriesCmd::Retry { id } => {
            let d = session.retry_delivery(id)?;
            ctx.out
                .result(&d, || format!("Will try again now:\n{}", describe(&d, now)));
        }
        DeliveriesCmd::Cancel { id } => {
            let d = session.cancel_delivery(id)?;
            ctx.out.result(&d, || format!("Cancelled:\n{}", describe(&d, now)));
        }
        DeliveriesCmd::Updates { grant, state } => {
            let on = state == "on";
            session.set_grant_updates(grant.clone(), on)?;
            ctx.out.result(&json!({ "grant": grant, "updates": on }), || {
                if on {
                    format!("Grant {grant}: the shop gets an update when a value it holds changes.")
                } else {
                    format!("Grant {grant}: no more updates; the shop keeps the versions it has until the grant ends.")
                }
            });
        }
    }
    Ok(())
}
