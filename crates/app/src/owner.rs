//! The owner's own data: the field catalog and profile values (every write through the vault's writer), the
//! activity log (pages, the daily chart — per retailer from an index, not a walk — and chain verification),
//! export and import, and unlock-on-this-device.
use std::path::Path;

use chrono::{DateTime, Duration, Local, Utc};
use locket_audit::{Cursor, EventKind, Filter, Outcome};
use locket_vault::catalog::{FieldType, Sensitivity};
use locket_vault::export::{self, ExportSection};
use locket_vault::profile::{self, NewCustomField};
use locket_vault::{KdfParams, Passphrase};

use crate::dto::*;
use crate::error::{AppError, AppResult};
use crate::session::Session;

/// Export sections other crates contribute to a `locket.export/v1` file (the same for every front end).
pub fn export_sections() -> Vec<Box<dyn ExportSection>> {
    vec![
        Box::new(locket_audit::export::AuditSection),
        Box::new(locket_grants::export::GrantsSection),
    ]
}

fn parse_time(s: &Option<String>) -> AppResult<Option<DateTime<Utc>>> {
    match s.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| AppError::new("invalid_time", format!("{t} is not an RFC 3339 time"))),
    }
}

/// The log filter for an activity filter as front ends give it.
pub fn core_filter(f: &AuditFilter) -> AppResult<Filter> {
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

/// `vault`'s key fingerprint (see [`Session::vault_fingerprint`]).
pub fn vault_fingerprint(vault: &locket_vault::Vault) -> AppResult<String> {
    let pk = locket_audit::signing_public_key(vault.signing_seed().expose())
        .map_err(|e| AppError::new("storage_failed", e.to_string()))?;
    Ok(locket_wire::token::fingerprint_of_public_key(&pk))
}

/// The fingerprint of the vault that signed an export (`None` when it carries no signed section), after checking
/// that every signed part names one vault and one key: the document's source, the log's signed heads and
/// attestation (`audit` section) and the grants' token key (`grants` section). A file whose parts were signed
/// by different keys, or claim different vaults, was put together from several exports (or re-signed in part)
/// and is refused (`export_signer_mismatch`) before anything is imported.
pub fn export_signer(doc: &export::ExportDocument) -> AppResult<Option<String>> {
    let mismatch = |what: &str| {
        AppError::new(
            "export_signer_mismatch",
            format!(
                "This export was not made by one vault: {what}. It may have been put together from several \
                 exports or altered; nothing was imported."
            ),
        )
    };
    let mut key: Option<Vec<u8>> = None;
    let mut same_key = |raw: Vec<u8>, part: &str| -> AppResult<()> {
        match &key {
            Some(k) if *k != raw => Err(mismatch(&format!("the {part} is signed by another key"))),
            Some(_) => Ok(()),
            None => {
                key = Some(raw);
                Ok(())
            }
        }
    };
    let source = doc.source.vault_id.as_str();
    if let Some(audit) = doc.sections.get("audit") {
        let vault_id = audit.get("source_vault_id").and_then(|v| v.as_str());
        if vault_id.is_some_and(|v| v != source) {
            return Err(mismatch("its activity log comes from another vault"));
        }
        if let Some(hex_key) = audit.get("public_key").and_then(|v| v.as_str()) {
            let raw = hex::decode(hex_key).map_err(|_| mismatch("its activity log's key is not readable"))?;
            same_key(raw, "activity log")?;
        }
    }
    if let Some(grants) = doc.sections.get("grants") {
        let src = grants.get("source");
        let vault_id = src.and_then(|s| s.get("vault_id")).and_then(|v| v.as_str());
        if vault_id.is_some_and(|v| v != source) {
            return Err(mismatch("its grants come from another vault"));
        }
        if let Some(paserk) = src.and_then(|s| s.get("public_key")).and_then(|v| v.as_str()) {
            let raw = locket_wire::token::public_key_bytes(paserk)
                .map_err(|_| mismatch("its grants' key is not readable"))?;
            same_key(raw, "list of grants")?;
        }
    }
    Ok(key.map(|k| locket_wire::token::fingerprint_of_public_key(&k)))
}

/// Progress of a long operation (export, import): `done` of `total` steps.
pub type OnProgress<'a> = &'a (dyn Fn(u32, u32) + Sync);

impl Session {
    /// Every field the owner can fill in: the built-in catalog and their custom fields.
    pub fn catalog(&self) -> AppResult<Vec<CatalogField>> {
        let fields = profile::all_fields(self.store()?.conn())?;
        Ok(fields.iter().map(CatalogField::from).collect())
    }

    /// The profile values the owner has set.
    pub fn profile(&self) -> AppResult<Vec<ProfileValue>> {
        let values = profile::list_current(self.store()?.conn())?;
        Ok(values
            .iter()
            .filter(|v| !v.is_default)
            .map(ProfileValue::from_current)
            .collect())
    }

    /// Sets a field from what the owner typed (validated by the field's type); a new version unless unchanged.
    pub fn set_value(&self, key: String, input: String) -> AppResult<ProfileValue> {
        Ok(self.set_value_outcome(key, input)?.1)
    }

    /// [`Session::set_value`], also saying whether a new version was written.
    pub fn set_value_outcome(&self, key: String, input: String) -> AppResult<(profile::SetOutcome, ProfileValue)> {
        let k = key.clone();
        let outcome = self.write(move |tx| -> AppResult<profile::SetOutcome> {
            let outcome = profile::set_from_input(tx, &k, &input)?;
            // Shops that hold this value get an update (edits within a short window go out as one).
            if outcome.changed {
                locket_grants::outbox::queue_updates_for_field(tx, &k, chrono::Utc::now())?;
            }
            Ok(outcome)
        })?;
        if outcome.changed {
            self.wake_deliveries();
        }
        let current =
            profile::get(self.store()?.conn(), &key)?.ok_or_else(|| AppError::internal("the value vanished"))?;
        Ok((outcome, ProfileValue::from_current(&current)))
    }

    /// Removes a field's value (a removal version; the history stays).
    pub fn remove_value(&self, key: String) -> AppResult<Option<u32>> {
        self.write(move |tx| -> AppResult<Option<u32>> {
            let removed = profile::remove(tx, &key)?;
            if removed.is_some() {
                locket_grants::outbox::queue_updates_for_field(tx, &key, chrono::Utc::now())?;
            }
            Ok(removed)
        })
        .inspect(|_| self.wake_deliveries())
    }

    /// Every version of a field, oldest first.
    pub fn value_history(&self, key: &str) -> AppResult<Vec<ValueVersion>> {
        let h = profile::history(self.store()?.conn(), key)?;
        Ok(h.iter().map(ValueVersion::from).collect())
    }

    /// Adds a custom field to the owner's catalog.
    pub fn add_custom_field(&self, field: CustomFieldInput) -> AppResult<CatalogField> {
        let field_type = FieldType::from_name(&field.field_type)
            .ok_or_else(|| AppError::new("validation_failed", format!("unknown field type {}", field.field_type)))?;
        let sensitivity = Sensitivity::from_name(&field.sensitivity).ok_or_else(|| {
            AppError::new(
                "validation_failed",
                format!("unknown sensitivity {}", field.sensitivity),
            )
        })?;
        let new = NewCustomField {
            key: field.key,
            label: field.label,
            field_type,
            options: field.options,
            sensitivity,
        };
        let def = self.write(move |tx| profile::add_custom_field(tx, &new))?;
        Ok(CatalogField::from(&def))
    }

    /// One page of the activity log, newest first, with retailers' display names; `total` when unfiltered.
    pub fn activity(&self, filter: &AuditFilter, cursor: Option<u64>, limit: usize) -> AppResult<AuditPage> {
        let core = core_filter(filter)?;
        let unfiltered = core == Filter::default();
        let (page, total) = {
            let store = self.store()?;
            let page = locket_audit::query(store.conn(), &core, cursor.map(Cursor), limit.clamp(1, 500))?;
            let total = if unfiltered {
                Some(locket_audit::count(store.conn())?)
            } else {
                None
            };
            (page, total)
        };
        let events = page
            .events
            .iter()
            .map(|e| {
                let name = e.retailer.as_deref().and_then(|id| self.retailer_name(id));
                AuditEvent::from_event(e, name)
            })
            .collect();
        Ok(AuditPage {
            events,
            next: page.next.map(|c| c.0),
            total,
        })
    }

    /// Data shared (redemptions and releases the shops' servers acknowledged) and accesses refused (not
    /// failed deliveries) per local day over the last `days` days, for everyone or one retailer (both from the
    /// log's indexes).
    pub fn activity_chart(&self, days: u32, retailer_id: Option<&str>) -> AppResult<Vec<TimelineDay>> {
        let days = days.clamp(1, 366);
        let offset_min = Local::now().offset().local_minus_utc() / 60;
        let since = Utc::now() - Duration::days(i64::from(days));
        let store = self.store()?;
        let retailer = retailer_id.filter(|r| !r.is_empty());
        let counts = match retailer {
            None => locket_audit::daily_counts(store.conn(), Some(since), None, offset_min)?,
            Some(r) => locket_audit::daily_counts_for_retailer(store.conn(), r, Some(since), None, offset_min)?,
        };
        Ok(counts
            .into_iter()
            .map(|d| TimelineDay {
                day: d.day.to_string(),
                allowed: d.shared(),
                refused: d.refused_accesses(),
            })
            .collect())
    }

    /// Walks the whole log's hash chain and checks its signed heads.
    pub fn verify_log(&self) -> AppResult<ChainStatus> {
        let public = locket_audit::signing_public_key(self.vault().signing_seed().expose())?;
        // Its own connection: walking a long chain must not hold up the page queries.
        let store = self.vault().connect()?;
        let report = locket_audit::verify(store.conn(), Some(&public))?;
        let restores: Vec<String> = locket_audit::restores(store.conn())?
            .iter()
            .map(|r| r.sentence())
            .collect();
        Ok(match &report.problem {
            None => ChainStatus {
                ok: true,
                events: report.events,
                bad_seq: None,
                message: format!("{} events verified", report.events),
                restores,
            },
            Some(p) => ChainStatus {
                ok: false,
                events: report.events,
                bad_seq: Some(p.seq),
                message: p.message.clone(),
                restores,
            },
        })
    }

    /// Writes everything (profile, history, settings, requests, grants, the log) to `path`, encrypted with
    /// `passphrase` when given (which must satisfy [`crate::passphrase::check_new`]); an owner-only file.
    pub fn export_all(
        &self,
        path: &Path,
        passphrase: Option<&Passphrase>,
        progress: OnProgress<'_>,
    ) -> AppResult<ExportResult> {
        // The export passphrase protects the whole profile: the same rule as the vault's.
        if let Some(p) = passphrase {
            crate::passphrase::check_new(p)?;
        }
        progress(0, 3);
        let sections = export_sections();
        let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
        let doc = export::export(self.store()?.conn(), &refs)?;
        progress(1, 3);
        let bytes = match passphrase {
            Some(p) => zeroize::Zeroizing::new(export::encrypt(&doc, p, KdfParams::from_env()?)?),
            None => export::to_json(&doc)?,
        };
        progress(2, 3);
        crate::files::write_private(path, &bytes)?;
        progress(3, 3);
        Ok(ExportResult {
            fields: doc.profile.len(),
            bytes: bytes.len(),
            fingerprint: self.vault_fingerprint()?,
        })
    }

    /// This vault's key fingerprint (SHA-256 of its Ed25519 public key, 8 groups of 4 hex digits): what an
    /// export made here shows on import, so the owner can tell it was signed by this vault.
    pub fn vault_fingerprint(&self) -> AppResult<String> {
        vault_fingerprint(self.vault())
    }

    /// Imports an export file into this (empty) vault, in one transaction on the writer.
    pub fn import_all(
        &self,
        path: &Path,
        passphrase: Option<&Passphrase>,
        progress: OnProgress<'_>,
    ) -> AppResult<ImportResult> {
        progress(0, 3);
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| AppError::io("read", path, &e))?);
        if export::is_encrypted(&bytes) == Some(true) && passphrase.is_none() {
            return Err(AppError::new(
                "export_passphrase_required",
                "This export is protected by a passphrase; enter it to import.",
            ));
        }
        progress(1, 3);
        let doc = export::decode(&bytes, passphrase)?;
        let fingerprint = export_signer(&doc)?;
        let source_vault_id = doc.source.vault_id.clone();
        progress(2, 3);
        let summary = self.write(move |tx| {
            let sections = export_sections();
            let refs: Vec<&dyn ExportSection> = sections.iter().map(|s| s.as_ref()).collect();
            export::import(tx, &doc, &refs)
        })?;
        progress(3, 3);
        Ok(ImportResult {
            fields: summary.fields,
            fingerprint,
            source_vault_id,
        })
    }

    /// Turns unlock-on-this-device (a key in the OS keychain) on or off; returns the settings as they are now.
    pub fn set_keychain(&self, enabled: bool) -> AppResult<AppSettings> {
        self.vault().set_keychain(enabled)?;
        let settings = self.settings()?;
        Ok(AppSettings::from_core(&settings, self.vault().keychain_enabled()?))
    }
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
}
