//! A profile field's value as it stands now: what the vault reads and what derived answers are computed from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The value of a field as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentValue {
    /// Field key.
    pub key: String,
    /// The version this value belongs to. `0` means the owner never set the field and `value` is the catalog
    /// default; otherwise it is the row's version (for a removed field with a default, the removal's version).
    pub version: u32,
    /// The value (normalised JSON of the field's type).
    pub value: Value,
    /// When this version was written; `None` for a never-set field's default.
    pub set_at: Option<DateTime<Utc>>,
    /// `true` when `value` is the catalog default rather than something the owner set.
    pub is_default: bool,
}
