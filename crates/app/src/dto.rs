//! The shapes that cross IPC (camelCase JSON); their TypeScript types are generated from these (ts-rs, into
//! ui/src/generated/ipc.ts: every DTO derives `TS`) and they are listed in docs/ipc.md. Conversions from the core types live here so the commands stay one-liners. Nothing here ever
//! carries a key; a passphrase or recovery key crosses only as a [`SecretText`].
use std::collections::BTreeMap;

use locket_vault::catalog::{self, FieldDef};
use locket_vault::profile::{CurrentValue, HistoryEntry};
use locket_vault::settings::Settings;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// `app_status`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub version: String,
    pub vault_path: String,
    pub vault_exists: bool,
    pub unlocked: bool,
    pub keychain_enabled: bool,
}

/// The embedded endpoint's state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    pub running: bool,
    pub address: Option<String>,
    pub error: Option<String>,
}

/// The settings the UI edits.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppSettings {
    pub auto_lock_minutes: u32,
    pub endpoint_enabled: bool,
    pub endpoint_address: String,
    pub keychain_enabled: bool,
}

impl AppSettings {
    pub fn from_core(s: &Settings, keychain_enabled: bool) -> AppSettings {
        AppSettings {
            auto_lock_minutes: s.auto_lock_minutes,
            endpoint_enabled: s.endpoint.enabled,
            endpoint_address: s.endpoint.socket_addr().to_string(),
            keychain_enabled,
        }
    }
}

/// Returned by every command that opens a session.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub vault_id: String,
    pub key_id: String,
    pub endpoint: EndpointStatus,
    pub settings: AppSettings,
}

/// A secret that crosses IPC as text: a passphrase or recovery key the owner typed (inward), or a new recovery key
/// shown once (outward). Rust holds it only in a zeroizing buffer: an argument is deserialised straight into one
/// and handed on by moving that buffer ([`SecretText::into_passphrase`]), a result is wiped when it is dropped
/// right after being serialised, and every path — errors and early returns included — wipes it by drop, never by
/// a manual call. `Debug` shows `[redacted]`. In TypeScript it is a plain `string`.
#[derive(Clone, TS)]
#[ts(type = "string")]
pub struct SecretText(zeroize::Zeroizing<String>);

impl SecretText {
    /// Wraps a secret (moved in: no copy is left behind by this call).
    pub fn new(s: String) -> SecretText {
        SecretText(zeroize::Zeroizing::new(s))
    }

    /// Takes over a zeroizing buffer.
    pub fn from_zeroizing(s: zeroize::Zeroizing<String>) -> SecretText {
        SecretText(s)
    }

    /// The text, for parsing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The core's zeroizing passphrase, holding this very buffer (moved, not copied).
    pub fn into_passphrase(mut self) -> locket_vault::Passphrase {
        locket_vault::Passphrase::new(std::mem::take(&mut *self.0))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText([redacted])")
    }
}

impl Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretText::new)
    }
}

/// `vault_create`: the recovery key crosses IPC exactly once, outward, to be shown to the owner.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub recovery_key: SecretText,
    pub session: SessionInfo,
}

/// `recovery_reset`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewRecoveryKey {
    pub recovery_key: SecretText,
}

/// What a passphrase change reports: the vault was re-keyed; a vault whose recovery slot was made before
/// re-keying existed also gets a new recovery key, to show once (the old one stops working).
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PassphraseChanged {
    pub new_recovery_key: Option<SecretText>,
}

/// An option of an enum field.
#[derive(Debug, Serialize, TS)]
pub struct FieldOption {
    pub value: String,
    pub label: String,
}

/// A catalog or custom field.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CatalogField {
    pub key: String,
    pub label: String,
    pub group: String,
    pub group_label: String,
    #[ts(type = "FieldType")]
    pub field_type: &'static str,
    pub options: Vec<FieldOption>,
    #[ts(type = "Sensitivity")]
    pub sensitivity: &'static str,
    pub hint: String,
    pub example: String,
    pub custom: bool,
}

impl From<&FieldDef> for CatalogField {
    fn from(f: &FieldDef) -> Self {
        let group_label = catalog::group(&f.group)
            .map(|g| g.label.to_owned())
            .unwrap_or_else(|| f.group.clone());
        CatalogField {
            key: f.key.clone(),
            label: f.label.clone(),
            group: f.group.clone(),
            group_label,
            field_type: f.field_type.as_str(),
            options: f
                .options
                .iter()
                .map(|o| FieldOption {
                    value: o.value.clone(),
                    label: o.label.clone(),
                })
                .collect(),
            sensitivity: f.sensitivity.as_str(),
            hint: f.help.clone(),
            example: f.example_input(),
            custom: !f.builtin,
        }
    }
}

/// A value as the owner edits it: `value` is text that `parse_input` accepts back unchanged.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileValue {
    pub key: String,
    pub value: String,
    pub display: String,
    pub version_id: u32,
    pub updated_at: Option<String>,
}

/// The text form of a stored value that the core's `parse_input` reads back to the same value.
pub fn input_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(o) if o.contains_key("min") && o.contains_key("max") => {
            let mut s = format!(
                "{}-{}",
                o.get("min").map(|v| v.to_string()).unwrap_or_default(),
                o.get("max").map(|v| v.to_string()).unwrap_or_default()
            );
            if let Some(Value::String(c)) = o.get("currency") {
                s.push(' ');
                s.push_str(c);
            }
            s
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ProfileValue {
    pub fn from_current(v: &CurrentValue) -> ProfileValue {
        ProfileValue {
            key: v.key.clone(),
            value: input_text(&v.value),
            display: catalog::display_value(&v.value),
            version_id: v.version,
            updated_at: v.set_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// One version of a value.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ValueVersion {
    pub version_id: u32,
    pub value: Option<String>,
    pub created_at: String,
}

impl From<&HistoryEntry> for ValueVersion {
    fn from(h: &HistoryEntry) -> Self {
        ValueVersion {
            version_id: h.version,
            value: h.value.as_ref().map(catalog::display_value),
            created_at: h.set_at.to_rfc3339(),
        }
    }
}

/// `custom_field_add` input.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldInput {
    pub key: String,
    pub label: String,
    #[ts(type = "FieldType")]
    pub field_type: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[ts(type = "Sensitivity")]
    pub sensitivity: String,
}

/// An audit event for the Activity table.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub seq: u64,
    pub at: String,
    pub kind: String,
    /// `allowed` (data or grant status given out), `refused`, or `info` (everything else).
    #[ts(type = r#""allowed" | "refused" | "info""#)]
    pub outcome: &'static str,
    pub retailer_id: Option<String>,
    pub retailer_name: Option<String>,
    pub grant_id: Option<String>,
    pub fields: Vec<String>,
    pub versions: BTreeMap<String, i64>,
    pub reason: Option<String>,
    pub remote: Option<String>,
    pub user_agent: Option<String>,
    /// For a `refusals_summarized` event: how many refusals it counts, and over which time.
    pub summary: Option<RefusalSummary>,
    /// For a delivery event (`release_queued`, `delivery_attempt`, `release_delivered`, `release_failed`): which
    /// release, what it carries and what the shop answered.
    pub delivery: Option<DeliveryNote>,
}

/// What a delivery event records, for the Activity list.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryNote {
    pub release_id: Option<String>,
    /// `grant`, `update`, `revoke` or `expire` (none for releases withdrawn together).
    #[ts(type = r#""grant" | "update" | "revoke" | "expire" | null"#)]
    pub event: Option<String>,
    /// Which attempt (`delivery_attempt`).
    pub attempt: Option<u64>,
    /// HTTP status of the shop's answer.
    pub status: Option<u64>,
    /// Why it failed or was given up, in words.
    pub error: Option<String>,
    /// How many waiting releases a revocation withdrew (`release_failed`).
    pub withdrawn: Option<u64>,
}

impl DeliveryNote {
    fn of(e: &locket_audit::Event) -> Option<DeliveryNote> {
        use locket_audit::EventKind as K;
        if !matches!(
            e.kind,
            K::ReleaseQueued | K::DeliveryAttempt | K::ReleaseDelivered | K::ReleaseFailed
        ) {
            return None;
        }
        let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let num = |k: &str| e.detail.get(k).and_then(|v| v.as_u64());
        Some(DeliveryNote {
            release_id: text("release"),
            event: text("event"),
            attempt: num("attempt"),
            status: num("status"),
            error: text("error").or_else(|| text("why")),
            withdrawn: num("withdrawn"),
        })
    }
}

/// Refusals of callers that proved nothing, counted instead of logged one by one (`refusals_summarized`).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RefusalSummary {
    pub count: u64,
    pub first_at: String,
    pub last_at: String,
    /// They came from this computer (any loopback address), not from another machine.
    pub from_this_computer: bool,
}

impl RefusalSummary {
    fn of(e: &locket_audit::Event) -> Option<RefusalSummary> {
        if e.kind != locket_audit::EventKind::RefusalsSummarized {
            return None;
        }
        let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        Some(RefusalSummary {
            count: e.detail.get("count").and_then(|v| v.as_u64()).unwrap_or(0),
            first_at: text("first_at"),
            last_at: text("last_at"),
            from_this_computer: e.detail.get("source").and_then(|v| v.as_str()) == Some("loopback"),
        })
    }
}

/// How the UI classifies an event's outcome. A release the shop's server acknowledged with fields in it is
/// data shared, like a redemption; a delivery that failed is not an access refused (nobody was turned away —
/// the shop did not take what Locket sent), so it is `info` and its details say what happened.
pub fn ui_outcome(kind: &str, outcome: &str, carries_fields: bool) -> &'static str {
    match (kind, outcome) {
        ("delivery_attempt" | "release_failed" | "release_queued", _) => "info",
        ("release_delivered", "ok") if carries_fields => "allowed",
        (_, "refused" | "error") => "refused",
        ("redemption" | "introspection", "ok") => "allowed",
        _ => "info",
    }
}

impl AuditEvent {
    pub fn from_event(e: &locket_audit::Event, retailer_name: Option<String>) -> AuditEvent {
        let mut versions = BTreeMap::new();
        for f in &e.fields {
            versions.insert(f.key.clone(), f.version);
        }
        AuditEvent {
            seq: e.seq,
            at: e.time.to_rfc3339(),
            kind: e.kind.as_str().to_owned(),
            outcome: ui_outcome(e.kind.as_str(), &e.outcome, !e.fields.is_empty()),
            retailer_id: e.retailer.clone(),
            retailer_name,
            grant_id: e.grant_id.clone(),
            fields: e.fields.iter().map(|f| f.key.clone()).collect(),
            versions,
            reason: e.reason.clone(),
            remote: e.remote_addr.clone(),
            user_agent: e.user_agent.clone(),
            summary: RefusalSummary::of(e),
            delivery: DeliveryNote::of(e),
        }
    }
}

/// `audit_query` filter.
#[derive(Debug, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields = nullable)]
pub struct AuditFilter {
    pub retailer_id: Option<String>,
    pub field: Option<String>,
    /// `allowed` or `refused`; anything else means any outcome.
    #[ts(type = r#""allowed" | "refused" | null"#, optional)]
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// One page of events, newest first.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Cursor of the next (older) page.
    pub next: Option<u64>,
    /// Number of events in the whole log (only when no filter is set).
    pub total: Option<u64>,
}

/// One day of the Activity chart.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TimelineDay {
    pub day: String,
    pub allowed: u64,
    pub refused: u64,
}

/// `audit_verify`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    pub ok: bool,
    pub events: u64,
    pub bad_seq: Option<u64>,
    pub message: String,
    /// Restores recorded in the log (a restore keeps the chain intact), one sentence each: when, from which
    /// backup, how many events were rolled back and where they are kept, which revocations were kept.
    pub restores: Vec<String>,
}

/// `vault_export`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub fields: usize,
    pub bytes: usize,
    /// This vault's key fingerprint, which the file's import will show.
    pub fingerprint: String,
}

/// `vault_import`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub fields: usize,
    /// The fingerprint of the vault that signed the file (compare it with the one its export showed); `None`
    /// for a file with no signed part.
    pub fingerprint: Option<String>,
    pub source_vault_id: String,
}

/// `locket://progress` payload.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[ts(type = r#""export" | "import""#)]
    pub op: &'static str,
    pub done: u32,
    pub total: u32,
}

/// One release to a shop's server as the owner sees it (`retailer_deliveries`, `delivery_retry`,
/// `delivery_cancel`): what it carries, where it stands, what the shop last answered. Never the sealed body nor
/// any key — only the field names and versions it carries.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Delivery")]
pub struct DeliveryDto {
    pub release_id: String,
    pub grant_id: String,
    pub retailer_id: String,
    /// Its place among the grant's releases (1 = the grant itself).
    pub sequence: u64,
    #[ts(type = r#""grant" | "update" | "revoke" | "expire""#)]
    pub event: String,
    #[ts(type = r#""pending" | "delivered" | "failed" | "cancelled""#)]
    pub status: String,
    pub delivery_url: String,
    /// The fields and versions it carries (empty until sealed, and for revoke/expire releases).
    pub fields: Vec<DeliveredField>,
    pub created_at: String,
    /// Next attempt (pending ones).
    pub due_at: String,
    /// When Locket stops trying.
    pub give_up_at: String,
    pub attempts: u32,
    pub last_attempt_at: Option<String>,
    /// HTTP status of the shop's last answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, in words ("the shop answered HTTP 503").
    pub last_error: Option<String>,
    /// Delivered, failed or cancelled at.
    pub finished_at: Option<String>,
}

/// A field a release carries: key, the owner's label for it, and the version.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeliveredField {
    pub key: String,
    pub label: String,
    pub version: i64,
}

impl DeliveryDto {
    /// The owner's view of `d`; `label` names a field key in the owner's words.
    pub fn from_delivery(d: &locket_grants::outbox::Delivery, label: impl Fn(&str) -> String) -> DeliveryDto {
        DeliveryDto {
            release_id: d.release_id.clone(),
            grant_id: d.grant_id.clone(),
            retailer_id: d.retailer_id.clone(),
            sequence: d.sequence,
            event: d.event.clone(),
            status: d.status.clone(),
            delivery_url: d.delivery_url.clone(),
            fields: d
                .fields
                .iter()
                .map(|f| DeliveredField {
                    key: f.key.clone(),
                    label: label(&f.key),
                    version: f.version,
                })
                .collect(),
            created_at: d.created_at.to_rfc3339(),
            due_at: d.due_at.to_rfc3339(),
            give_up_at: d.give_up_at.to_rfc3339(),
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at.map(|t| t.to_rfc3339()),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            finished_at: d.finished_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A grant whose releases go to the shop's server, and whether it gets updates when a value it holds changes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryGrant {
    pub grant_id: String,
    pub updates: bool,
}

/// `retailer_deliveries`: one retailer's releases, newest first, and its grants that deliver.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetailerDeliveries {
    pub deliveries: Vec<DeliveryDto>,
    pub grants: Vec<DeliveryGrant>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_text_round_trips_through_the_core_parser() {
        for def in catalog::catalog() {
            let sample = def.example_input();
            let Ok(value) = def.parse_input(&sample) else { continue };
            let text = input_text(&value);
            let again = def
                .parse_input(&text)
                .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", def.key));
            assert_eq!(again, value, "{}", def.key);
        }
    }

    #[test]
    fn secrets_cross_as_strings_are_never_shown_and_move_without_a_copy() {
        let inbound: SecretText = serde_json::from_value(json!("correct horse battery staple")).unwrap();
        assert_eq!(format!("{inbound:?}"), "SecretText([redacted])");
        let buffer = inbound.expose().as_ptr();
        let pass = inbound.into_passphrase();
        assert_eq!(
            pass.expose().as_ptr(),
            buffer,
            "the passphrase holds the deserialised buffer itself, not a copy"
        );
        assert_eq!(pass.expose(), "correct horse battery staple");
        let shown = Created {
            recovery_key: SecretText::new("AAAAA-BBBBB".into()),
            session: SessionInfo {
                vault_id: "v".into(),
                key_id: "k".into(),
                endpoint: EndpointStatus {
                    running: false,
                    address: None,
                    error: None,
                },
                settings: AppSettings {
                    auto_lock_minutes: 5,
                    endpoint_enabled: false,
                    endpoint_address: "127.0.0.1:7419".into(),
                    keychain_enabled: false,
                },
            },
        };
        assert_eq!(
            serde_json::to_value(&shown).unwrap()["recoveryKey"],
            json!("AAAAA-BBBBB")
        );
        assert!(
            !format!("{shown:?}").contains("AAAAA"),
            "Debug never shows the recovery key"
        );
    }

    #[test]
    fn outcomes_are_classified_for_the_ui() {
        assert_eq!(ui_outcome("redemption", "ok", true), "allowed");
        assert_eq!(ui_outcome("refusal", "refused", false), "refused");
        assert_eq!(ui_outcome("grant_issued", "ok", false), "info");
        // Deliveries: data acknowledged by the shop's server is shared; a revocation delivered carries none;
        // a failed attempt or a release given up is not an access refused.
        assert_eq!(ui_outcome("release_delivered", "ok", true), "allowed");
        assert_eq!(ui_outcome("release_delivered", "ok", false), "info");
        assert_eq!(ui_outcome("delivery_attempt", "refused", false), "info");
        assert_eq!(ui_outcome("release_failed", "refused", false), "info");
        assert_eq!(ui_outcome("release_queued", "ok", false), "info");
        assert_eq!(
            input_text(&json!({"min": 20, "max": 80, "currency": "GBP"})),
            "20-80 GBP"
        );
    }
}
