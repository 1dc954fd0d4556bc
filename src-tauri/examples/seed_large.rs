//! Makes a large vault for measuring the desktop app: 1,000 custom fields with a value each and 100,000 access-log
//! events spread over the last 30 days (one retailer in five refused now and then).
//!
//! `cargo run -p locket-desktop --example seed_large -- DIR PASSPHRASE` (cheap Argon2 parameters; test use only).
use std::path::PathBuf;

use chrono::{Duration, Utc};
use locket_audit::{DisclosedField, EventKind, NewEvent, Outcome};
use locket_vault::catalog::{FieldType, Sensitivity};
use locket_vault::profile::{self, NewCustomField};
use locket_vault::{KdfParams, Passphrase, Vault};

const FIELDS: usize = 1_000;
const EVENTS: usize = 100_000;
const BATCH: usize = 2_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: seed_large DIR PASSPHRASE")?);
    let pass = Passphrase::new(args.next().ok_or("usage: seed_large DIR PASSPHRASE")?);
    let (vault, _recovery) = Vault::create(&dir, &pass, KdfParams::for_tests())?;
    let store = vault.connect()?;
    for i in 0..FIELDS {
        let key = format!("custom.field_{i:04}");
        profile::add_custom_field(
            store.conn(),
            &NewCustomField {
                key: key.clone(),
                label: format!("Custom field {i}"),
                field_type: FieldType::Text,
                options: Vec::new(),
                sensitivity: Sensitivity::Low,
            },
        )?;
        profile::set_from_input(store.conn(), &key, &format!("value {i}"))?;
    }
    drop(store);
    let writer = vault.writer()?;
    let start = Utc::now() - Duration::days(30);
    let step_ms = (30 * 24 * 3600 * 1000) / EVENTS as i64;
    for batch in 0..EVENTS / BATCH {
        writer.submit(move |tx| -> Result<(), locket_audit::AuditError> {
            for j in 0..BATCH {
                let n = batch * BATCH + j;
                let at = start + Duration::milliseconds(step_ms * n as i64);
                let retailer = format!("shop{}.example", n % 5);
                let ev = if n.is_multiple_of(17) {
                    NewEvent::new(EventKind::Refusal, Outcome::Refused)
                        .reason("token_expired")
                        .retailer(retailer)
                } else {
                    NewEvent::new(EventKind::Redemption, Outcome::Ok)
                        .retailer(retailer)
                        .fields(vec![DisclosedField {
                            key: "contact.email".into(),
                            version: 1,
                        }])
                };
                locket_audit::append(tx, &ev.remote("127.0.0.1:50000").at(at))?;
            }
            Ok(())
        })?;
    }
    println!("seeded {} with {FIELDS} fields and {EVENTS} events", dir.display());
    Ok(())
}
