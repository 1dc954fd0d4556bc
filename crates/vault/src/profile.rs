//! The owner's profile: versioned field values and custom fields, stored in the `field_values` and
//! `custom_fields` tables.
//!
//! Every change appends a row: setting a value appends version `n + 1`, removing one appends a version whose
//! value is `NULL`. Rows are never updated, so [`history`] shows every version and a disclosure can record exactly
//! which version a retailer received (see [`current_values`]). Versions of a field start at 1.
//!
//! All functions take a plain [`rusqlite::Connection`]; a [`rusqlite::Transaction`] derefs to one, so they can
//! run inside the group-commit writer or a caller's transaction too.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{self, FieldDef, FieldType, Sensitivity, ValidationError, CUSTOM_GROUP};
use crate::VaultError;

/// Profile operations fail with [`VaultError`]: `UnknownField`, `Invalid` (a broken validation rule, named
/// `key: rule`), `Damaged` (stored data unreadable) or a storage error.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

impl From<ValidationError> for VaultError {
    fn from(e: ValidationError) -> Self {
        VaultError::Invalid {
            key: e.key,
            rule: e.rule,
        }
    }
}

fn corrupt(key: &str, detail: impl std::fmt::Display) -> VaultError {
    VaultError::Damaged {
        path: crate::DB_FILE.into(),
        detail: format!("stored data for `{key}` is not readable: {detail}"),
    }
}

fn unknown(key: &str) -> VaultError {
    VaultError::UnknownField(key.to_owned())
}

pub use locket_wire::value::CurrentValue;

/// One version in a field's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Version number, from 1.
    pub version: u32,
    /// The value, or `None` if this version removed the value.
    pub value: Option<Value>,
    /// When it was written.
    pub set_at: DateTime<Utc>,
}

/// What [`set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SetOutcome {
    /// The field's current version after the call.
    pub version: u32,
    /// `false` if the value equalled the current one, so no new version was written.
    pub changed: bool,
}

/// What the owner chose for a new custom field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewCustomField {
    /// `custom.<slug>`.
    pub key: String,
    /// Label shown to the owner and retailers.
    pub label: String,
    /// Value type.
    pub field_type: FieldType,
    /// Options for enum / multi-enum fields.
    #[serde(default)]
    pub options: Vec<String>,
    /// Sensitivity level.
    pub sensitivity: Sensitivity,
}

/// A custom-field definition as stored, with its creation time (used by export).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCustomField {
    /// `custom.<slug>`.
    pub key: String,
    /// Label.
    pub label: String,
    /// Value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Options for enum / multi-enum fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Sensitivity level.
    pub sensitivity: Sensitivity,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl StoredCustomField {
    /// The field definition.
    pub fn definition(&self) -> Result<FieldDef> {
        Ok(FieldDef::custom(
            &self.key,
            &self.label,
            self.field_type,
            &self.options,
            self.sensitivity,
        )?)
    }
}

/// Current time as stored: RFC 3339 UTC with milliseconds.
pub(crate) fn now_string() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A SAVEPOINT on a shared connection: works both on its own (it then acts as a transaction) and nested inside
/// a caller's transaction. Rolled back on drop unless committed.
pub(crate) struct Savepoint<'a> {
    conn: &'a Connection,
    done: bool,
}

impl<'a> Savepoint<'a> {
    pub(crate) fn new(conn: &'a Connection) -> rusqlite::Result<Self> {
        conn.execute_batch("SAVEPOINT locket_op")?;
        Ok(Self { conn, done: false })
    }

    pub(crate) fn commit(mut self) -> rusqlite::Result<()> {
        self.done = true;
        self.conn.execute_batch("RELEASE locket_op")
    }
}

impl std::ops::Deref for Savepoint<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: if this fails the connection is unusable anyway and the caller sees the first error.
            let _ = self.conn.execute_batch("ROLLBACK TO locket_op; RELEASE locket_op");
        }
    }
}

pub(crate) fn parse_time(key: &str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(key, format!("bad timestamp: {e}")))
}

fn parse_json(key: &str, s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| corrupt(key, format!("bad JSON value: {e}")))
}

// ---------------------------------------------------------------------------------------------------------------
// Field definitions

/// The stored custom fields, ordered by key.
pub fn stored_custom_fields(conn: &Connection) -> Result<Vec<StoredCustomField>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, label, field_type, options, sensitivity, created_at FROM custom_fields ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, label, ty, options, sens, created) = row?;
        let bad = |detail: &str| corrupt(&key, detail);
        let field_type = FieldType::from_name(&ty).ok_or_else(|| bad("unknown field type"))?;
        let sensitivity = Sensitivity::from_name(&sens).ok_or_else(|| bad("unknown sensitivity"))?;
        let options: Vec<String> = match options {
            Some(o) => serde_json::from_str(&o).map_err(|_| bad("options are not a JSON list"))?,
            None => Vec::new(),
        };
        let created_at = parse_time(&key, &created)?;
        out.push(StoredCustomField {
            key,
            label,
            field_type,
            options,
            sensitivity,
            created_at,
        });
    }
    Ok(out)
}

/// The owner's custom field definitions, ordered by key.
pub fn custom_fields(conn: &Connection) -> Result<Vec<FieldDef>> {
    stored_custom_fields(conn)?
        .iter()
        .map(StoredCustomField::definition)
        .collect()
}

/// Every field definition: the catalog (in catalog order), then the custom fields.
pub fn all_fields(conn: &Connection) -> Result<Vec<FieldDef>> {
    let mut out: Vec<FieldDef> = catalog::catalog().to_vec();
    out.extend(custom_fields(conn)?);
    Ok(out)
}

/// Looks up the definition of a catalog or custom field.
pub fn field_def(conn: &Connection, key: &str) -> Result<FieldDef> {
    if let Some(d) = catalog::builtin(key) {
        return Ok(d.clone());
    }
    if key.starts_with("custom.") {
        let found = stored_custom_fields(conn)?.into_iter().find(|f| f.key == key);
        if let Some(f) = found {
            return f.definition();
        }
    }
    Err(unknown(key))
}

/// Resolves a selector to field definitions: a field key (`contact.email`) gives that field, a group key
/// (`contact`, `custom`) gives every field of the group. Unknown selectors are a [`VaultError::UnknownField`].
pub fn resolve(conn: &Connection, selector: &str) -> Result<Vec<FieldDef>> {
    if catalog::group(selector).is_some() {
        if selector == CUSTOM_GROUP {
            return custom_fields(conn);
        }
        return Ok(catalog::fields_in_group(selector).cloned().collect());
    }
    field_def(conn, selector).map(|d| vec![d])
}

/// Adds a custom field. The key must be `custom.<slug>` and not exist yet.
pub fn add_custom_field(conn: &Connection, new: &NewCustomField) -> Result<FieldDef> {
    let def = FieldDef::custom(&new.key, &new.label, new.field_type, &new.options, new.sensitivity)?;
    let options = def
        .field_type
        .has_options()
        .then(|| serde_json::to_string(&def.option_values().collect::<Vec<_>>()))
        .transpose()
        .map_err(|e| corrupt(&def.key, e))?;
    let inserted = conn.execute(
        "INSERT INTO custom_fields (key, label, field_type, options, sensitivity, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO NOTHING",
        params![
            def.key,
            def.label,
            def.field_type.as_str(),
            options,
            def.sensitivity.as_str(),
            now_string()
        ],
    )?;
    if inserted == 0 {
        return Err(VaultError::Invalid {
            key: def.key,
            rule: "a custom field with this key already exists; remove it first or pick another name".into(),
        });
    }
    Ok(def)
}

/// Removes a custom field's definition. If it has a current value, a removal version is appended first, so
/// the history (and what retailers received) stays readable with [`history`]. Returns `false` if there was no
/// such custom field.
pub fn remove_custom_field(conn: &Connection, key: &str) -> Result<bool> {
    let tx = Savepoint::new(conn)?;
    let exists: bool = tx
        .query_row("SELECT 1 FROM custom_fields WHERE key = ?1", [key], |_| Ok(()))
        .optional()?
        .is_some();
    if !exists {
        return Ok(false);
    }
    append_removal(&tx, key)?;
    tx.execute("DELETE FROM custom_fields WHERE key = ?1", [key])?;
    tx.commit()?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/// The newest row of a field: (version, value).
fn latest(conn: &Connection, key: &str) -> Result<Option<(u32, Option<String>, String)>> {
    Ok(conn
        .query_row(
            "SELECT version, value, set_at FROM field_values WHERE field_key = ?1 ORDER BY version DESC LIMIT 1",
            [key],
            |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?)
}

fn append(conn: &Connection, key: &str, value: Option<&str>) -> Result<u32> {
    // One statement, so the version read and the insert cannot interleave with another writer.
    let version = conn.query_row(
        "INSERT INTO field_values (field_key, version, value, set_at)
         SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2, ?3 FROM field_values WHERE field_key = ?1
         RETURNING version",
        params![key, value, now_string()],
        |r| r.get::<_, u32>(0),
    )?;
    Ok(version)
}

fn append_removal(conn: &Connection, key: &str) -> Result<Option<u32>> {
    match latest(conn, key)? {
        Some((_, Some(_), _)) => Ok(Some(append(conn, key, None)?)),
        _ => Ok(None),
    }
}

/// Validates `value` against the field's definition and appends it as a new version (unless it equals the
/// current value, in which case nothing is written).
pub fn set(conn: &Connection, key: &str, value: Value) -> Result<SetOutcome> {
    let def = field_def(conn, key)?;
    let value = def.validate(value)?;
    write_value(conn, key, &value)
}

/// Parses what the owner typed for the field (see [`FieldDef::parse_input`]) and stores it like [`set`].
pub fn set_from_input(conn: &Connection, key: &str, input: &str) -> Result<SetOutcome> {
    let def = field_def(conn, key)?;
    let value = def.parse_input(input)?;
    write_value(conn, key, &value)
}

fn write_value(conn: &Connection, key: &str, value: &Value) -> Result<SetOutcome> {
    let json = value.to_string();
    let tx = Savepoint::new(conn)?;
    if let Some((version, Some(current), _)) = latest(&tx, key)? {
        if parse_json(key, &current)? == *value {
            return Ok(SetOutcome {
                version,
                changed: false,
            });
        }
    }
    let version = append(&tx, key, Some(&json))?;
    tx.commit()?;
    Ok(SetOutcome { version, changed: true })
}

/// Removes the field's value by appending a removal version. Returns the new version, or `None` if the field
/// had no value (nothing written). Unknown keys are an error unless they have history (a removed custom field).
pub fn remove(conn: &Connection, key: &str) -> Result<Option<u32>> {
    if field_def(conn, key).is_err() && latest(conn, key)?.is_none() {
        return Err(unknown(key));
    }
    let tx = Savepoint::new(conn)?;
    let v = append_removal(&tx, key)?;
    tx.commit()?;
    Ok(v)
}

fn current_from(
    def: Option<&FieldDef>,
    key: &str,
    row: Option<(u32, Option<String>, String)>,
) -> Result<Option<CurrentValue>> {
    let default = def.and_then(|d| d.default.clone());
    match row {
        Some((version, Some(v), at)) => Ok(Some(CurrentValue {
            key: key.to_owned(),
            version,
            value: parse_json(key, &v)?,
            set_at: Some(parse_time(key, &at)?),
            is_default: false,
        })),
        Some((version, None, at)) => Ok(default.map(|value| CurrentValue {
            key: key.to_owned(),
            version,
            value,
            set_at: parse_time(key, &at).ok(),
            is_default: true,
        })),
        None => Ok(default.map(|value| CurrentValue {
            key: key.to_owned(),
            version: 0,
            value,
            set_at: None,
            is_default: true,
        })),
    }
}

/// The current value of a field (or its catalog default), or `None` if it has none.
pub fn get(conn: &Connection, key: &str) -> Result<Option<CurrentValue>> {
    let def = field_def(conn, key)?;
    current_from(Some(&def), key, latest(conn, key)?)
}

/// The current values of the given fields, in the order asked, for disclosure to a retailer. Fields without a
/// value (and without a default) are left out; each returned entry carries the version disclosed. Keys must be
/// catalog or custom fields (resolve groups first with [`resolve`]).
pub fn current_values<S: AsRef<str>>(conn: &Connection, keys: &[S]) -> Result<Vec<CurrentValue>> {
    let mut out = Vec::with_capacity(keys.len());
    let mut stmt = conn.prepare_cached(
        "SELECT version, value, set_at FROM field_values WHERE field_key = ?1 ORDER BY version DESC LIMIT 1",
    )?;
    // Custom definitions are read only if a key needs one (most disclosures are catalog fields).
    let mut customs: Option<Vec<FieldDef>> = None;
    for key in keys {
        let key = key.as_ref();
        let def = match catalog::builtin(key) {
            Some(d) => d,
            None => {
                let list = match &mut customs {
                    Some(list) => list,
                    None => customs.insert(custom_fields(conn)?),
                };
                list.iter().find(|d| d.key == key).ok_or_else(|| unknown(key))?
            }
        };
        let row = stmt
            .query_row([key], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        if let Some(cv) = current_from(Some(def), key, row)? {
            out.push(cv);
        }
    }
    Ok(out)
}

/// Every field that currently has a value (set by the owner, or a catalog default), in catalog order then
/// custom fields by key.
pub fn list_current(conn: &Connection) -> Result<Vec<CurrentValue>> {
    let mut latest_rows = std::collections::HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT f.field_key, f.version, f.value, f.set_at FROM field_values f
         JOIN (SELECT field_key, MAX(version) AS v FROM field_values GROUP BY field_key) m
           ON m.field_key = f.field_key AND m.v = f.version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (
                r.get::<_, u32>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ),
        ))
    })?;
    for row in rows {
        let (k, v) = row?;
        latest_rows.insert(k, v);
    }
    let mut out = Vec::new();
    for def in all_fields(conn)? {
        if let Some(cv) = current_from(Some(&def), &def.key, latest_rows.remove(&def.key))? {
            out.push(cv);
        }
    }
    Ok(out)
}

/// Every version of a field, oldest first. Works for removed custom fields too (their history is kept).
pub fn history(conn: &Connection, key: &str) -> Result<Vec<HistoryEntry>> {
    let mut stmt =
        conn.prepare("SELECT version, value, set_at FROM field_values WHERE field_key = ?1 ORDER BY version")?;
    let rows = stmt.query_map([key], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (version, value, at) = row?;
        out.push(HistoryEntry {
            version,
            value: value.map(|v| parse_json(key, &v)).transpose()?,
            set_at: parse_time(key, &at)?,
        });
    }
    if out.is_empty() {
        field_def(conn, key)?;
    }
    Ok(out)
}

/// One specific version of a field (what a retailer received), or `None` if that version does not exist.
pub fn value_at(conn: &Connection, key: &str, version: u32) -> Result<Option<HistoryEntry>> {
    let row = conn
        .query_row(
            "SELECT value, set_at FROM field_values WHERE field_key = ?1 AND version = ?2",
            params![key, version],
            |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    row.map(|(value, at)| {
        Ok(HistoryEntry {
            version,
            value: value.map(|v| parse_json(key, &v)).transpose()?,
            set_at: parse_time(key, &at)?,
        })
    })
    .transpose()
}

/// Keys of every field with any history (including removed custom fields), sorted.
pub fn keys_with_history(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT DISTINCT field_key FROM field_values ORDER BY field_key")?;
    let keys = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A plain in-memory database with the v1 schema.
    pub(crate) fn mem_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("migrations/0001_foundation.sql"))
            .unwrap();
        conn
    }

    #[test]
    fn set_get_history_versions() {
        let c = mem_db();
        assert_eq!(get(&c, "contact.email").unwrap(), None);
        let o = set_from_input(&c, "contact.email", "a@example.com").unwrap();
        assert_eq!(
            o,
            SetOutcome {
                version: 1,
                changed: true
            }
        );
        let o = set(&c, "contact.email", json!("b@example.com")).unwrap();
        assert_eq!(o.version, 2);
        // Same value again: no new version.
        let o = set(&c, "contact.email", json!("b@example.com")).unwrap();
        assert_eq!(
            o,
            SetOutcome {
                version: 2,
                changed: false
            }
        );
        let cur = get(&c, "contact.email").unwrap().unwrap();
        assert_eq!(
            (cur.version, cur.value.clone(), cur.is_default),
            (2, json!("b@example.com"), false)
        );
        assert!(cur.set_at.is_some());

        assert_eq!(remove(&c, "contact.email").unwrap(), Some(3));
        assert_eq!(remove(&c, "contact.email").unwrap(), None);
        assert_eq!(get(&c, "contact.email").unwrap(), None);
        set(&c, "contact.email", json!("c@example.com")).unwrap();
        let h = history(&c, "contact.email").unwrap();
        let summary: Vec<_> = h.iter().map(|e| (e.version, e.value.clone())).collect();
        assert_eq!(
            summary,
            vec![
                (1, Some(json!("a@example.com"))),
                (2, Some(json!("b@example.com"))),
                (3, None),
                (4, Some(json!("c@example.com"))),
            ]
        );
        assert!(h.windows(2).all(|w| w[0].set_at <= w[1].set_at));
        assert_eq!(
            value_at(&c, "contact.email", 2).unwrap().unwrap().value,
            Some(json!("b@example.com"))
        );
        assert_eq!(value_at(&c, "contact.email", 9).unwrap(), None);
    }

    #[test]
    fn validation_and_unknown_fields() {
        let c = mem_db();
        let e = set_from_input(&c, "contact.phone", "12345").unwrap_err();
        assert_eq!(e.to_string(), "contact.phone: expected E.164, e.g. +442071234567");
        assert_eq!(e.code(), "validation_failed");
        let e = set_from_input(&c, "contact.fax", "1").unwrap_err();
        assert_eq!(e.code(), "unknown_field");
        assert!(history(&c, "nope.nope").is_err());
        assert!(remove(&c, "nope.nope").is_err());
        let n: i64 = c
            .query_row("SELECT count(*) FROM field_values", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn defaults_for_opt_ins() {
        let c = mem_db();
        let cur = get(&c, "channels.opt_in_email").unwrap().unwrap();
        assert_eq!((cur.version, cur.value, cur.is_default), (0, json!(false), true));
        set_from_input(&c, "channels.opt_in_email", "yes").unwrap();
        remove(&c, "channels.opt_in_email").unwrap();
        let cur = get(&c, "channels.opt_in_email").unwrap().unwrap();
        assert_eq!((cur.version, cur.value, cur.is_default), (2, json!(false), true));
        let all = list_current(&c).unwrap();
        assert_eq!(all.iter().filter(|v| v.key.starts_with("channels.opt_in_")).count(), 4);
    }

    #[test]
    fn current_values_for_disclosure() {
        let c = mem_db();
        set_from_input(&c, "contact.email", "a@example.com").unwrap();
        set_from_input(&c, "contact.email", "b@example.com").unwrap();
        set_from_input(&c, "contact.country", "de").unwrap();
        let keys: Vec<String> = resolve(&c, "contact").unwrap().into_iter().map(|d| d.key).collect();
        assert!(keys.contains(&"contact.phone".to_owned()));
        let vals = current_values(&c, &keys).unwrap();
        let got: Vec<_> = vals
            .iter()
            .map(|v| (v.key.as_str(), v.version, v.value.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("contact.email", 2, json!("b@example.com")),
                ("contact.country", 1, json!("DE"))
            ]
        );
        let vals = current_values(&c, &["channels.opt_in_sms", "contact.country"]).unwrap();
        assert_eq!(vals[0].version, 0);
        assert_eq!(vals[1].key, "contact.country");
        assert!(current_values(&c, &["contact.nope"]).is_err());
    }

    #[test]
    fn custom_fields_lifecycle() {
        let c = mem_db();
        let new = NewCustomField {
            key: "custom.shoe_width".into(),
            label: "Shoe width".into(),
            field_type: FieldType::Enum,
            options: vec!["narrow".into(), "regular".into(), "wide".into()],
            sensitivity: Sensitivity::Low,
        };
        add_custom_field(&c, &new).unwrap();
        assert!(add_custom_field(&c, &new)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        assert_eq!(custom_fields(&c).unwrap().len(), 1);
        assert_eq!(resolve(&c, "custom").unwrap()[0].key, "custom.shoe_width");
        assert_eq!(field_def(&c, "custom.shoe_width").unwrap().options.len(), 3);
        assert!(set_from_input(&c, "custom.shoe_width", "huge").is_err());
        set_from_input(&c, "custom.shoe_width", "wide").unwrap();
        assert_eq!(list_current(&c).unwrap().last().unwrap().key, "custom.shoe_width");

        assert!(remove_custom_field(&c, "custom.shoe_width").unwrap());
        assert!(!remove_custom_field(&c, "custom.shoe_width").unwrap());
        assert_eq!(field_def(&c, "custom.shoe_width").unwrap_err().code(), "unknown_field");
        // History is kept, ending in a removal.
        let h = history(&c, "custom.shoe_width").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].value, None);
        assert_eq!(keys_with_history(&c).unwrap(), vec!["custom.shoe_width".to_owned()]);
        // Re-adding continues the version sequence.
        add_custom_field(&c, &new).unwrap();
        assert_eq!(set_from_input(&c, "custom.shoe_width", "narrow").unwrap().version, 3);

        let bad = NewCustomField {
            key: "contact.extra".into(),
            ..new
        };
        assert_eq!(add_custom_field(&c, &bad).unwrap_err().code(), "validation_failed");
    }

    #[test]
    fn works_inside_a_transaction() {
        let mut c = mem_db();
        let tx = c.transaction().unwrap();
        set_from_input(&tx, "identity.given_name", "Alex").unwrap();
        set_from_input(&tx, "identity.given_name", "Sam").unwrap();
        tx.rollback().unwrap();
        assert_eq!(get(&c, "identity.given_name").unwrap(), None);
    }
}
