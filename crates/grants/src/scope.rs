//! Scopes: what a request asks for and a grant allows. A scope is a catalog field key (`contact.email`), a
//! field group (`contact`), or a derived scope (`age_over:18`, `noised:interests.topics`; see
//! [`crate::derived`]). Which fields and groups exist is decided by a [`ScopeResolver`] (the vault's catalog);
//! both resolvers here recognise the derived scopes of [`crate::derived::DERIVED_SCOPES`] and [`crate::dp`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of thing a scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// One profile field.
    Field,
    /// A group of profile fields (every member the owner has filled in).
    Group,
    /// A computed answer (e.g. `age_over:18`) rather than a stored value.
    Derived,
}

/// A profile field a scope covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRef {
    /// Catalog key (`contact.email`).
    pub key: String,
    /// Label shown to people ("Email address").
    pub label: String,
}

/// A scope as the vault understands it right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedScope {
    /// The scope string.
    pub scope: String,
    /// Field, group or derived.
    pub kind: ScopeKind,
    /// Label shown to people ("Email address", "Contact details").
    pub label: String,
    /// The fields it covers (one for a field, the members for a group).
    pub fields: Vec<FieldRef>,
}

/// Turns scope strings into fields. Implemented over the vault's catalog; tests use [`StaticCatalog`].
pub trait ScopeResolver {
    /// The scope's meaning, or `None` if no such field, group or derived scope exists.
    fn resolve(&self, scope: &str) -> Option<ResolvedScope>;
}

/// A fixed in-memory catalog (tests, fuzzing, tools without a vault).
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    scopes: BTreeMap<String, ResolvedScope>,
}

impl StaticCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a field, and make it a member of `group` (created with `group_label` if new).
    pub fn with_field(mut self, key: &str, label: &str, group: Option<(&str, &str)>) -> Self {
        let field = FieldRef {
            key: key.to_owned(),
            label: label.to_owned(),
        };
        self.scopes.insert(
            key.to_owned(),
            ResolvedScope {
                scope: key.to_owned(),
                kind: ScopeKind::Field,
                label: label.to_owned(),
                fields: vec![field.clone()],
            },
        );
        if let Some((group, group_label)) = group {
            self.scopes
                .entry(group.to_owned())
                .or_insert_with(|| ResolvedScope {
                    scope: group.to_owned(),
                    kind: ScopeKind::Group,
                    label: group_label.to_owned(),
                    fields: Vec::new(),
                })
                .fields
                .push(field);
        }
        self
    }

    /// A small catalog with the usual contact and address fields, used in tests and examples.
    pub fn sample() -> Self {
        Self::new()
            .with_field("identity.given_name", "Given name", Some(("identity", "Identity")))
            .with_field("identity.family_name", "Family name", Some(("identity", "Identity")))
            .with_field(
                "identity.date_of_birth",
                "Date of birth",
                Some(("identity", "Identity")),
            )
            .with_field("contact.email", "Email address", Some(("contact", "Contact details")))
            .with_field("contact.phone", "Phone number", Some(("contact", "Contact details")))
            .with_field("address.line1", "Address line 1", Some(("address", "Postal address")))
            .with_field("address.city", "Town or city", Some(("address", "Postal address")))
            .with_field("address.postcode", "Postcode", Some(("address", "Postal address")))
            .with_field("address.country", "Country", Some(("address", "Postal address")))
            .with_field(
                "preferences.clothing_size",
                "Clothing size",
                Some(("preferences", "Preferences")),
            )
    }
}

impl ScopeResolver for StaticCatalog {
    fn resolve(&self, scope: &str) -> Option<ResolvedScope> {
        if let Some(derived) = crate::derived::resolve_derived(scope) {
            return Some(derived);
        }
        self.scopes.get(scope).cloned()
    }
}

/// The vault's catalog (built-in fields, groups and the owner's custom fields) as a [`ScopeResolver`].
#[derive(Debug, Clone, Copy)]
pub struct VaultCatalog<'c> {
    conn: &'c rusqlite::Connection,
}

impl<'c> VaultCatalog<'c> {
    /// Resolve against the vault open on `conn`.
    pub fn new(conn: &'c rusqlite::Connection) -> Self {
        Self { conn }
    }
}

impl ScopeResolver for VaultCatalog<'_> {
    fn resolve(&self, scope: &str) -> Option<ResolvedScope> {
        use locket_vault::{catalog, profile};
        if let Some(derived) = crate::derived::resolve_derived(scope) {
            return Some(derived);
        }
        let to_ref = |d: locket_vault::catalog::FieldDef| FieldRef {
            key: d.key,
            label: d.label,
        };
        if let Some(group) = catalog::group(scope) {
            let fields = profile::resolve(self.conn, scope).ok()?;
            return Some(ResolvedScope {
                scope: scope.to_owned(),
                kind: ScopeKind::Group,
                label: group.label.to_owned(),
                fields: fields.into_iter().map(to_ref).collect(),
            });
        }
        let def = profile::field_def(self.conn, scope).ok()?;
        Some(ResolvedScope {
            scope: scope.to_owned(),
            kind: ScopeKind::Field,
            label: def.label.clone(),
            fields: vec![to_ref(def)],
        })
    }
}
