//! The portable export of a whole vault (`locket.export/v1`), its optional passphrase-encrypted wrapper
//! (`locket.export.encrypted/v1`), and import into a new, empty vault.
//!
//! The format is documented in `docs/export-format.md` and `docs/schemas/export.v1.schema.json`. An export holds
//! the profile with **every version** of every field, the custom-field definitions and the settings. Other crates
//! add their own data (grants, the access log) as named **sections** by implementing [`ExportSection`]; the
//! caller passes the sections it knows to [`export`] and [`import`].
//!
//! What an export never holds: the data key, the signing key, passphrases or recovery keys. An import therefore
//! creates a vault with a new identity and new keys; it carries the owner's data over, not the old vault's keys.

use std::collections::{BTreeMap, HashSet};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::catalog::{self, FieldDef};
use crate::profile::{self, HistoryEntry, Savepoint, StoredCustomField};
use crate::{settings, KdfParams, Passphrase, VaultError};

/// Format tag of a plain export.
pub const FORMAT: &str = "locket.export/v1";
/// Format tag of an encrypted export.
pub const ENCRYPTED_FORMAT: &str = "locket.export.encrypted/v1";
/// Largest export file accepted by [`decode`] (256 MiB).
pub const MAX_EXPORT_BYTES: usize = 256 * 1024 * 1024;

/// A boxed error from a section provider.
pub type SectionError = Box<dyn std::error::Error + Send + Sync>;

/// Errors from export and import.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A vault operation failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The file is not a Locket export, or it is damaged.
    #[error("not a valid Locket export file: {0}")]
    Malformed(String),
    /// The file uses a format this Locket does not know.
    #[error("unsupported export format `{0}`; this Locket reads {FORMAT} and {ENCRYPTED_FORMAT}")]
    Unsupported(String),
    /// The export is encrypted and no passphrase was given.
    #[error("this export is encrypted; give the passphrase it was exported with")]
    PassphraseRequired,
    /// The passphrase does not open the encrypted export (or the file was altered).
    #[error("wrong export passphrase, or the export file was altered")]
    WrongPassphrase,
    /// Import target already holds data.
    #[error("the vault already holds profile data or custom fields; import only into a new, empty vault")]
    NotEmpty,
    /// The export carries a section no registered provider can import.
    #[error("the export contains a `{0}` section this Locket cannot import; nothing was imported")]
    UnknownSection(String),
    /// A section provider failed.
    #[error("the `{name}` section failed: {source}")]
    Section {
        /// Section name.
        name: String,
        /// What went wrong.
        #[source]
        source: SectionError,
    },
}

impl ExportError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Vault(e) => e.code(),
            ExportError::Malformed(_) => "export_malformed",
            ExportError::Unsupported(_) => "export_unsupported",
            ExportError::PassphraseRequired => "export_passphrase_required",
            ExportError::WrongPassphrase => "wrong_export_passphrase",
            ExportError::NotEmpty => "import_target_not_empty",
            ExportError::UnknownSection(_) => "export_unknown_section",
            ExportError::Section { .. } => "export_section_failed",
        }
    }
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Vault(e.into())
    }
}

/// A named part of the export filled by another crate (e.g. `grants`, `audit`).
///
/// `export` runs on a consistent read of the vault; `import` runs inside the import's transaction, after the
/// profile, custom fields and settings were written, in the order the providers are given.
pub trait ExportSection {
    /// The section's key in `sections` (lowercase, e.g. `audit`).
    fn name(&self) -> &'static str;
    /// Produces the section's JSON, or `None` to leave the section out.
    fn export(&self, conn: &Connection) -> Result<Option<Value>, SectionError>;
    /// Writes the section's data into the (new) vault.
    fn import(&self, conn: &Connection, value: &Value) -> Result<(), SectionError>;
}

/// Facts about the vault an export came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceVault {
    /// The exported vault's id.
    pub vault_id: String,
    /// When that vault was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Its schema version.
    pub schema_version: i64,
}

/// Every version of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedField {
    /// Field key.
    pub key: String,
    /// All versions, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A whole export (`locket.export/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDocument {
    /// Always [`FORMAT`].
    pub format: String,
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// What made it (`locket-vault 0.1.0`).
    pub generator: String,
    /// The vault it came from.
    pub source: SourceVault,
    /// Custom-field definitions.
    pub custom_fields: Vec<StoredCustomField>,
    /// Every field with any history, sorted by key.
    pub profile: Vec<ExportedField>,
    /// Every stored setting, by key.
    pub settings: BTreeMap<String, Value>,
    /// Sections added by other crates, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sections: BTreeMap<String, Value>,
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Fields with history imported.
    pub fields: usize,
    /// Value versions imported.
    pub versions: usize,
    /// Custom fields defined.
    pub custom_fields: usize,
    /// Settings written.
    pub settings: usize,
    /// Sections imported by providers.
    pub sections: Vec<String>,
}

fn meta_text(conn: &Connection, key: &str) -> Result<Option<String>, VaultError> {
    let v: Option<rusqlite::types::Value> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(rusqlite::types::Value::Text(s)) => Some(s),
        Some(rusqlite::types::Value::Blob(b)) => String::from_utf8(b).ok(),
        _ => None,
    })
}

/// Reads everything into an [`ExportDocument`], in one read transaction so the copy is consistent.
pub fn export(conn: &Connection, sections: &[&dyn ExportSection]) -> Result<ExportDocument, ExportError> {
    let sp = Savepoint::new(conn)?;
    let schema_version: i64 = sp.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let source = SourceVault {
        vault_id: meta_text(&sp, "vault_id")?.unwrap_or_default(),
        created_at: meta_text(&sp, "created_at")?,
        schema_version,
    };
    let custom_fields = profile::stored_custom_fields(&sp)?;
    let mut fields = Vec::new();
    for key in profile::keys_with_history(&sp)? {
        let history = profile::history(&sp, &key)?;
        fields.push(ExportedField { key, history });
    }
    let settings = settings::all_raw(&sp)?;
    let mut out_sections = BTreeMap::new();
    for s in sections {
        let value = s.export(&sp).map_err(|source| ExportError::Section {
            name: s.name().to_owned(),
            source,
        })?;
        if let Some(v) = value {
            out_sections.insert(s.name().to_owned(), v);
        }
    }
    // Read-only: nothing to commit, dropping the savepoint ends it.
    drop(sp);
    Ok(ExportDocument {
        format: FORMAT.to_owned(),
        exported_at: Utc::now(),
        generator: format!("locket-vault {}", env!("CARGO_PKG_VERSION")),
        source,
        custom_fields,
        profile: fields,
        settings,
        sections: out_sections,
    })
}

/// Whether the vault holds no profile data and no custom fields (settings do not count).
pub fn is_empty(conn: &Connection) -> Result<bool, VaultError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM field_values) + (SELECT count(*) FROM custom_fields)",
        [],
        |r| r.get(0),
    )?;
    Ok(n == 0)
}

fn malformed(msg: impl Into<String>) -> ExportError {
    ExportError::Malformed(msg.into())
}

/// Imports a document into an empty vault, all or nothing. Every value is validated against its field's
/// definition; every section must be claimed by one of `sections`.
pub fn import(
    conn: &Connection,
    doc: &ExportDocument,
    sections: &[&dyn ExportSection],
) -> Result<ImportSummary, ExportError> {
    if doc.format != FORMAT {
        return Err(ExportError::Unsupported(doc.format.clone()));
    }
    for name in doc.sections.keys() {
        if !sections.iter().any(|s| s.name() == name) {
            return Err(ExportError::UnknownSection(name.clone()));
        }
    }
    let sp = Savepoint::new(conn)?;
    if !is_empty(&sp)? {
        return Err(ExportError::NotEmpty);
    }
    let mut summary = ImportSummary::default();

    // Custom fields.
    let mut defs: BTreeMap<String, FieldDef> = BTreeMap::new();
    for cf in &doc.custom_fields {
        let def = cf.definition().map_err(|e| malformed(format!("custom field: {e}")))?;
        if defs.insert(cf.key.clone(), def).is_some() {
            return Err(malformed(format!("custom field {} is defined twice", cf.key)));
        }
        let options = cf
            .field_type
            .has_options()
            .then(|| serde_json::to_string(&cf.options))
            .transpose()
            .map_err(|e| malformed(e.to_string()))?;
        sp.execute(
            "INSERT INTO custom_fields (key, label, field_type, options, sensitivity, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                cf.key,
                cf.label.trim(),
                cf.field_type.as_str(),
                options,
                cf.sensitivity.as_str(),
                cf.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)
            ],
        )?;
        summary.custom_fields += 1;
    }

    // Profile history, verbatim (versions and timestamps kept), each value validated.
    let mut seen = HashSet::new();
    for field in &doc.profile {
        if !seen.insert(field.key.as_str()) {
            return Err(malformed(format!("field {} appears twice", field.key)));
        }
        let def = catalog::builtin(&field.key).or_else(|| defs.get(&field.key));
        if def.is_none() && catalog::check_custom_key(&field.key).is_err() {
            return Err(malformed(format!("unknown field {}", field.key)));
        }
        let mut last = 0u32;
        for entry in &field.history {
            if entry.version <= last {
                return Err(malformed(format!(
                    "{}: versions must start at 1 and increase (found {} after {last})",
                    field.key, entry.version
                )));
            }
            last = entry.version;
            let value = match (&entry.value, def) {
                (None, _) => None,
                (Some(v), Some(def)) => Some(
                    def.validate(v.clone())
                        .map_err(|e| malformed(format!("version {}: {e}", entry.version)))?,
                ),
                // A removed custom field's history: kept as it was, there is no definition to check against.
                (Some(v), None) => Some(v.clone()),
            };
            sp.execute(
                "INSERT INTO field_values (field_key, version, value, set_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    field.key,
                    entry.version,
                    value.map(|v| v.to_string()),
                    entry.set_at.to_rfc3339_opts(SecondsFormat::Millis, true)
                ],
            )?;
            summary.versions += 1;
        }
        summary.fields += 1;
    }

    // "Unlock on this device" belongs to the old device's keychain, not to the data: the new vault starts with it
    // off, whatever the export says.
    let mut imported_settings = doc.settings.clone();
    imported_settings.remove("keychain_enabled");
    settings::replace_all(&sp, &imported_settings).map_err(|e| malformed(format!("settings: {e}")))?;
    summary.settings = imported_settings.len();

    for provider in sections {
        if let Some(value) = doc.sections.get(provider.name()) {
            provider.import(&sp, value).map_err(|source| ExportError::Section {
                name: provider.name().to_owned(),
                source,
            })?;
            summary.sections.push(provider.name().to_owned());
        }
    }
    sp.commit()?;
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------------------------
// Files

/// The encrypted wrapper (`locket.export.encrypted/v1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptedExport {
    format: String,
    kdf: ExportKdf,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportKdf {
    alg: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

const CIPHER: &str = "aes-256-gcm";

fn aad(kdf: &ExportKdf) -> Vec<u8> {
    format!(
        "{ENCRYPTED_FORMAT}|{}|{}|{}|{}|{}|{CIPHER}",
        kdf.alg, kdf.params.m_cost_kib, kdf.params.t_cost, kdf.params.p_cost, kdf.salt
    )
    .into_bytes()
}

fn derive(passphrase: &Passphrase, salt: &[u8], p: KdfParams) -> Result<Zeroizing<[u8; 32]>, ExportError> {
    let params = argon2::Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
        .map_err(|e| malformed(format!("invalid Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.expose().as_bytes(), salt, out.as_mut())
        .map_err(|e| ExportError::Vault(VaultError::Storage(format!("key derivation failed: {e}"))))?;
    Ok(out)
}

fn aead_key(key: &[u8; 32]) -> Result<LessSafeKey, ExportError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| ExportError::Vault(VaultError::Storage("bad export key".into())))
}

fn random<const N: usize>() -> Result<[u8; N], ExportError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| ExportError::Vault(VaultError::Storage("the system random number generator failed".into())))?;
    Ok(out)
}

/// The plain JSON of a document (pretty-printed, UTF-8). Zeroized when dropped.
pub fn to_json(doc: &ExportDocument) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut bytes = serde_json::to_vec_pretty(doc).map_err(|e| malformed(e.to_string()))?;
    bytes.push(b'\n');
    Ok(Zeroizing::new(bytes))
}

/// Encrypts a document under `passphrase` (Argon2id with `params`, then AES-256-GCM; the header is the AAD).
pub fn encrypt(doc: &ExportDocument, passphrase: &Passphrase, params: KdfParams) -> Result<Vec<u8>, ExportError> {
    if passphrase.is_empty() {
        return Err(VaultError::Invalid {
            key: "export passphrase".into(),
            rule: "must not be empty".into(),
        }
        .into());
    }
    let plain = to_json(doc)?;
    let salt = random::<16>()?;
    let nonce = random::<NONCE_LEN>()?;
    let kdf = ExportKdf {
        alg: "argon2id".into(),
        params,
        salt: B64.encode(salt),
    };
    let key = derive(passphrase, &salt, params)?;
    let mut buf = plain.to_vec();
    aead_key(&key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(&kdf)), &mut buf)
        .map_err(|_| ExportError::Vault(VaultError::Storage("encryption failed".into())))?;
    let wrapper = EncryptedExport {
        format: ENCRYPTED_FORMAT.into(),
        kdf,
        cipher: CIPHER.into(),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(&buf),
    };
    let mut out = serde_json::to_vec_pretty(&wrapper).map_err(|e| malformed(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

#[derive(Deserialize)]
struct FormatOnly {
    format: Option<String>,
}

/// Whether the bytes are an encrypted export (`None` if they are not a Locket export at all).
pub fn is_encrypted(bytes: &[u8]) -> Option<bool> {
    let f: FormatOnly = serde_json::from_slice(bytes).ok()?;
    match f.format.as_deref() {
        Some(ENCRYPTED_FORMAT) => Some(true),
        Some(FORMAT) => Some(false),
        _ => None,
    }
}

fn check_params(p: &KdfParams) -> Result<(), ExportError> {
    if p.m_cost_kib < 8
        || p.m_cost_kib > 4 * 1024 * 1024
        || !(1..=64).contains(&p.t_cost)
        || !(1..=16).contains(&p.p_cost)
    {
        return Err(malformed("the KDF parameters are out of range"));
    }
    Ok(())
}

/// Reads an export file's bytes: a plain export, or an encrypted one opened with `passphrase`.
pub fn decode(bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<ExportDocument, ExportError> {
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(malformed("the file is larger than 256 MiB"));
    }
    let f: FormatOnly = serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    match f.format.as_deref() {
        Some(FORMAT) => parse_plain(bytes),
        Some(ENCRYPTED_FORMAT) => {
            let passphrase = passphrase.ok_or(ExportError::PassphraseRequired)?;
            let w: EncryptedExport = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
            if w.kdf.alg != "argon2id" || w.cipher != CIPHER {
                return Err(malformed(format!(
                    "unknown KDF `{}` or cipher `{}`",
                    w.kdf.alg, w.cipher
                )));
            }
            check_params(&w.kdf.params)?;
            let salt = B64
                .decode(&w.kdf.salt)
                .map_err(|_| malformed("the salt is not base64"))?;
            let nonce: [u8; NONCE_LEN] = B64
                .decode(&w.nonce)
                .ok()
                .and_then(|n| n.try_into().ok())
                .ok_or_else(|| malformed("the nonce is malformed"))?;
            let mut buf = Zeroizing::new(
                B64.decode(&w.ciphertext)
                    .map_err(|_| malformed("the ciphertext is not base64"))?,
            );
            let key = derive(passphrase, &salt, w.kdf.params)?;
            let plain = aead_key(&key)?
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad(&w.kdf)), &mut buf)
                .map_err(|_| ExportError::WrongPassphrase)?;
            parse_plain(plain)
        }
        Some(other) => Err(ExportError::Unsupported(other.to_owned())),
        None => Err(malformed("no `format` field")),
    }
}

fn parse_plain(bytes: &[u8]) -> Result<ExportDocument, ExportError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{FieldType, Sensitivity};
    use crate::profile::tests::mem_db;
    use crate::profile::NewCustomField;
    use serde_json::json;

    fn filled() -> Connection {
        let c = mem_db();
        c.execute(
            "INSERT INTO meta VALUES ('vault_id', 'a2b6f2c0-0000-4000-8000-000000000001')",
            [],
        )
        .unwrap();
        profile::set_from_input(&c, "contact.email", "old@example.com").unwrap();
        profile::set_from_input(&c, "contact.email", "new@example.com").unwrap();
        profile::set_from_input(&c, "budget.range", "50-200 GBP").unwrap();
        profile::set_from_input(&c, "identity.given_name", "Alex").unwrap();
        profile::remove(&c, "identity.given_name").unwrap();
        profile::add_custom_field(
            &c,
            &NewCustomField {
                key: "custom.shoe_width".into(),
                label: "Shoe width".into(),
                field_type: FieldType::Enum,
                options: vec!["narrow".into(), "wide".into()],
                sensitivity: Sensitivity::Low,
            },
        )
        .unwrap();
        profile::set_from_input(&c, "custom.shoe_width", "wide").unwrap();
        settings::set_raw(&c, "auto_lock_minutes", &json!(7)).unwrap();
        settings::set_raw(&c, "keychain_enabled", &json!(true)).unwrap();
        c
    }

    struct Notes;
    impl ExportSection for Notes {
        fn name(&self) -> &'static str {
            "notes_test"
        }
        fn export(&self, _: &Connection) -> Result<Option<Value>, SectionError> {
            Ok(Some(json!({"hello": 1})))
        }
        fn import(&self, conn: &Connection, value: &Value) -> Result<(), SectionError> {
            if value["hello"] != 1 {
                return Err("bad section".into());
            }
            settings::set_raw(conn, "notes_test.imported", &json!(true))?;
            Ok(())
        }
    }

    #[test]
    fn round_trip_keeps_history_custom_fields_settings_sections() {
        let src = filled();
        let doc = export(&src, &[&Notes]).unwrap();
        assert_eq!(doc.format, FORMAT);
        assert_eq!(doc.source.vault_id, "a2b6f2c0-0000-4000-8000-000000000001");
        let email = doc.profile.iter().find(|f| f.key == "contact.email").unwrap();
        assert_eq!(email.history.len(), 2);
        let bytes = to_json(&doc).unwrap();
        let back = decode(&bytes, None).unwrap();
        assert_eq!(back, doc);

        let dst = mem_db();
        let sum = import(&dst, &back, &[&Notes]).unwrap();
        assert_eq!(sum.custom_fields, 1);
        assert_eq!(sum.sections, vec!["notes_test".to_owned()]);
        for key in [
            "contact.email",
            "budget.range",
            "identity.given_name",
            "custom.shoe_width",
        ] {
            assert_eq!(
                profile::history(&src, key).unwrap(),
                profile::history(&dst, key).unwrap(),
                "{key}"
            );
        }
        assert_eq!(settings::Settings::load(&dst).unwrap().auto_lock_minutes, 7);
        assert!(
            !settings::Settings::load(&dst).unwrap().keychain_enabled,
            "device-local, not imported"
        );
        assert_eq!(
            settings::get_raw(&dst, "notes_test.imported").unwrap(),
            Some(json!(true))
        );
        // A second import into the now non-empty vault is refused, and changes nothing.
        assert_eq!(
            import(&dst, &back, &[&Notes]).unwrap_err().code(),
            "import_target_not_empty"
        );
        // Versions continue after import.
        assert_eq!(
            profile::set_from_input(&dst, "contact.email", "x@example.com")
                .unwrap()
                .version,
            3
        );
    }

    #[test]
    fn import_is_all_or_nothing() {
        let doc = export(&filled(), &[]).unwrap();
        let mut bad_phone = doc.clone();
        bad_phone.profile.push(ExportedField {
            key: "contact.phone".into(),
            history: vec![HistoryEntry {
                version: 1,
                value: Some(json!("12345")),
                set_at: Utc::now(),
            }],
        });
        let dst = mem_db();
        let e = import(&dst, &bad_phone, &[]).unwrap_err();
        assert_eq!(e.code(), "export_malformed");
        assert!(e.to_string().contains("contact.phone: expected E.164"), "{e}");
        assert!(is_empty(&dst).unwrap());
        assert!(settings::all_raw(&dst).unwrap().is_empty());

        let mut with_section = doc.clone();
        with_section.sections.insert("grants".into(), json!([]));
        assert_eq!(
            import(&dst, &with_section, &[]).unwrap_err().code(),
            "export_unknown_section"
        );

        let mut unknown = doc.clone();
        unknown.profile[0].key = "contact.fax".into();
        assert_eq!(import(&dst, &unknown, &[]).unwrap_err().code(), "export_malformed");

        let mut versions = doc;
        let email = versions.profile.iter_mut().find(|f| f.key == "contact.email").unwrap();
        email.history.reverse();
        assert!(import(&dst, &versions, &[])
            .unwrap_err()
            .to_string()
            .contains("versions must"));
        assert!(is_empty(&dst).unwrap());
    }

    #[test]
    fn encrypted_round_trip_and_failures() {
        let doc = export(&filled(), &[]).unwrap();
        let pass = Passphrase::new("export-pass".into());
        let bytes = encrypt(&doc, &pass, KdfParams::for_tests()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("new@example.com"));
        assert_eq!(is_encrypted(&bytes), Some(true));
        assert_eq!(decode(&bytes, Some(&pass)).unwrap(), doc);
        assert_eq!(decode(&bytes, None).unwrap_err().code(), "export_passphrase_required");
        let wrong = Passphrase::new("nope".into());
        assert_eq!(
            decode(&bytes, Some(&wrong)).unwrap_err().code(),
            "wrong_export_passphrase"
        );
        // Tampering with the header (e.g. lowering the KDF cost) breaks authentication.
        let mut w: Value = serde_json::from_slice(&bytes).unwrap();
        w["kdf"]["t_cost"] = json!(2);
        let tampered = serde_json::to_vec(&w).unwrap();
        assert_eq!(
            decode(&tampered, Some(&pass)).unwrap_err().code(),
            "wrong_export_passphrase"
        );
        assert_eq!(
            decode(b"{\"format\":\"other/v9\"}", None).unwrap_err().code(),
            "export_unsupported"
        );
        assert_eq!(decode(b"garbage", None).unwrap_err().code(), "export_malformed");
        assert_eq!(is_encrypted(b"garbage"), None);
    }

    const GOLDEN: &[u8] = include_bytes!("../../../tests/golden/export-v1/export.json");
    const GOLDEN_ENCRYPTED: &[u8] = include_bytes!("../../../tests/golden/export-v1/export.encrypted.json");

    #[test]
    fn golden_exports_still_decode_and_import() {
        let doc = decode(GOLDEN, None).unwrap();
        assert_eq!(doc.format, FORMAT);
        let pass = Passphrase::new("golden-export-passphrase".into());
        let enc = decode(GOLDEN_ENCRYPTED, Some(&pass)).unwrap();
        assert_eq!((&enc.profile, &enc.custom_fields), (&doc.profile, &doc.custom_fields));

        let c = mem_db();
        let sum = import(&c, &doc, &[]).unwrap();
        assert_eq!((sum.fields, sum.versions, sum.custom_fields), (10, 12, 1));
        let cur = |k: &str| profile::get(&c, k).unwrap().map(|v| (v.version, v.value));
        assert_eq!(cur("identity.given_name"), Some((2, json!("Alexandra"))));
        assert_eq!(cur("contact.phone"), None);
        assert_eq!(
            profile::value_at(&c, "contact.phone", 1).unwrap().unwrap().value,
            Some(json!("+442071234567"))
        );
        assert_eq!(
            cur("budget.range"),
            Some((1, json!({"min": 50, "max": 200, "currency": "GBP"})))
        );
        assert_eq!(cur("diet.allergies"), Some((1, json!(["peanuts", "sesame"]))));
        assert_eq!(cur("sizes.shoe"), Some((1, json!(42.5))));
        assert_eq!(cur("channels.opt_in_email"), Some((1, json!(true))));
        assert_eq!(cur("custom.shoe_width"), Some((1, json!("wide"))));
        assert_eq!(settings::Settings::load(&c).unwrap().auto_lock_minutes, 5);
    }
}
