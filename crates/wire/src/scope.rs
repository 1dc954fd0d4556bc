//! Scopes: what a request asks for and a grant allows. A scope is a catalog field key (`contact.email`), a
//! field group (`contact`), a derived scope (`age_over:18`, one row of [`crate::derived::DERIVED_SCOPES`]) or
//! a noised aggregate (`noised:interests.topics`, see [`crate::noised`]).
//!
//! [`Scope`] is the one typed model: [`Scope::parse`] classifies a scope string once, and its `Display`
//! gives the same string back. Which fields and groups exist is decided by a [`ScopeResolver`] (the vault's
//! catalog, or [`StaticCatalog`]); every resolver recognises derived and noised scopes first
//! ([`resolve_derived`]).

use crate::catalog::{self, FieldDef, Sensitivity};
use crate::derived::{DerivedError, DerivedScope};
use crate::noised::{NoisedScope, NOISED_PREFIX};
use crate::purpose::Purpose;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A scope string, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// A single field key (`contact.email`, `custom.shoe_width`); whether it exists is the vault's call.
    Field(String),
    /// A field group of the catalog (`contact`).
    Group(String),
    /// A derived answer (`age_over:18`).
    Derived(DerivedScope),
    /// A differentially private aggregate (`noised:interests.topics`).
    Noised(NoisedScope),
}

impl Scope {
    /// Classifies a scope string. Field keys are checked for shape only (custom fields live in the vault);
    /// groups, derived and noised scopes are checked fully, including their arguments.
    pub fn parse(scope: &str) -> Result<Scope, DerivedError> {
        let unknown = || DerivedError::UnknownScope(scope.to_owned());
        if scope.split_once(':').is_some_and(|(name, _)| name == NOISED_PREFIX) {
            return NoisedScope::parse(scope).map(Scope::Noised);
        }
        if let Some(derived) = DerivedScope::parse(scope) {
            return derived.map(Scope::Derived);
        }
        if scope.contains(':') {
            return Err(unknown());
        }
        if catalog::group(scope).is_some() {
            return Ok(Scope::Group(scope.to_owned()));
        }
        let well_formed = scope.split_once('.').is_some_and(|(g, rest)| {
            !g.is_empty()
                && !rest.is_empty()
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        });
        if well_formed {
            Ok(Scope::Field(scope.to_owned()))
        } else {
            Err(unknown())
        }
    }

    /// What kind of thing it names: noised scopes are `derived` too (an answer, not stored data).
    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::Field(_) => ScopeKind::Field,
            Scope::Group(_) => ScopeKind::Group,
            Scope::Derived(_) | Scope::Noised(_) => ScopeKind::Derived,
        }
    }

    /// A raw field or group (data as stored), as opposed to a minimized answer.
    pub fn is_raw(&self) -> bool {
        matches!(self, Scope::Field(_) | Scope::Group(_))
    }

    /// The owner-facing label of a derived or noised scope (`None` for raw fields and groups).
    pub fn label(&self) -> Option<String> {
        match self {
            Scope::Derived(d) => Some(d.label()),
            Scope::Noised(n) => Some(n.label()),
            Scope::Field(_) | Scope::Group(_) => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Field(key) | Scope::Group(key) => f.write_str(key),
            Scope::Derived(d) => f.write_str(&d.scope()),
            Scope::Noised(n) => f.write_str(&n.scope()),
        }
    }
}

impl FromStr for Scope {
    type Err = DerivedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

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
        if let Some(derived) = resolve_derived(scope) {
            return Some(derived);
        }
        self.scopes.get(scope).cloned()
    }
}

/// The owner-facing label of a derived or noised scope (`None` for raw fields and groups).
pub fn label(scope: &str) -> Option<String> {
    Scope::parse(scope).ok()?.label()
}

/// The [`ResolvedScope`] of a derived or noised scope (kind `derived`, no fields: the retailer receives the
/// answer, not the fields it is computed from), or `None` for anything else. Every [`ScopeResolver`]
/// consults this first, so derived scopes pass request validation and approval like fields do.
pub fn resolve_derived(scope: &str) -> Option<ResolvedScope> {
    let label = Scope::parse(scope).ok()?.label()?;
    Some(ResolvedScope {
        scope: scope.to_owned(),
        kind: ScopeKind::Derived,
        label,
        fields: Vec::new(),
    })
}

/// The built-in fields a raw scope covers (a field → itself, a group → its members); empty for derived,
/// noised and unknown scopes. Custom fields need the vault (`locket_vault::profile::resolve`).
pub fn builtin_fields(scope: &str) -> Vec<FieldDef> {
    match Scope::parse(scope) {
        Ok(Scope::Field(k)) => catalog::builtin(&k).cloned().into_iter().collect(),
        Ok(Scope::Group(g)) => catalog::fields_in_group(&g).cloned().collect(),
        _ => Vec::new(),
    }
}

/// A request-level rule on derived scopes: noised scopes exist for statistics and may be requested only for
/// `analytics`. Returns the problem in words, or `None` if the pairing is fine.
pub fn purpose_problem(scope: &str, purpose: Purpose) -> Option<String> {
    match Scope::parse(scope) {
        Ok(Scope::Noised(_)) if !NoisedScope::allowed_for(purpose) => Some(format!(
            "{scope:?} is a noised (statistical) scope and may be requested only for analytics, not {purpose}"
        )),
        _ => None,
    }
}

/// How sensitive a scope's answer is: the derived row's sensitivity, the noised field's, or the most
/// sensitive built-in field a raw scope covers (`None` if unknown).
pub fn sensitivity(scope: &str) -> Option<Sensitivity> {
    match Scope::parse(scope).ok()? {
        Scope::Derived(d) => Some(d.def.sensitivity),
        Scope::Noised(_) => Some(Sensitivity::Low),
        Scope::Field(_) | Scope::Group(_) => builtin_fields(scope).iter().map(|d| d.sensitivity).max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(scope: &str) -> Scope {
        Scope::parse(scope).unwrap()
    }

    fn derived(scope: &str) -> DerivedScope {
        match parse(scope) {
            Scope::Derived(d) => d,
            other => panic!("{scope} parsed as {other:?}"),
        }
    }

    #[test]
    fn parse_classifies_every_kind() {
        assert_eq!(parse("contact.email"), Scope::Field("contact.email".into()));
        assert_eq!(parse("custom.shoe_width"), Scope::Field("custom.shoe_width".into()));
        assert_eq!(parse("contact"), Scope::Group("contact".into()));
        assert_eq!(derived("age_over:18").scope(), "age_over:18");
        assert_eq!(derived("region").scope(), "region");
        assert_eq!(derived("has_dietary_restriction:vegan").arg.as_deref(), Some("vegan"));
        assert!(matches!(parse("noised:interests.topics"), Scope::Noised(_)));
        for bad in [
            "nonsense",
            "age_over",
            "age_over:",
            "age_over:0",
            "age_over:126",
            "age_over:018",
            "age_over:x",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Scope::parse("region:GB").unwrap_err().code(), "scope_argument_invalid");
        assert_eq!(Scope::parse("age_over").unwrap_err().code(), "scope_argument_invalid");
        assert_eq!(Scope::parse("whatever:1").unwrap_err().code(), "scope_unknown");
        assert_eq!(
            Scope::parse("has_dietary_restriction:chocolate").unwrap_err().code(),
            "scope_argument_invalid"
        );
        assert!(Scope::parse("Contact.Email").is_err());
    }

    #[test]
    fn labels_and_sensitivity() {
        assert_eq!(label("age_over:21").unwrap(), "Whether you are at least 21");
        assert!(derived("age_over:21").explanation().contains("21 years"));
        assert_eq!(label("contact.email"), None);
        assert_eq!(
            sensitivity("has_dietary_restriction:halal"),
            Some(Sensitivity::Sensitive)
        );
        assert_eq!(sensitivity("contact"), Some(Sensitivity::Personal));
        assert_eq!(sensitivity("age_over:18"), Some(Sensitivity::Low));
    }

    #[test]
    fn display_gives_the_parsed_string_back() {
        for s in [
            "contact.email",
            "custom.shoe_width",
            "contact",
            "age_over:18",
            "region",
            "has_dietary_restriction:vegan",
            "email_alias",
            "noised:interests.topics",
        ] {
            let scope: Scope = s.parse().unwrap();
            assert_eq!(scope.to_string(), s);
            assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
        }
        assert_eq!(parse("age_over:18").kind(), ScopeKind::Derived);
        assert_eq!(parse("noised:interests.topics").kind(), ScopeKind::Derived);
        assert_eq!(parse("contact").kind(), ScopeKind::Group);
        assert!(parse("contact.email").is_raw() && !parse("region").is_raw());
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips_whatever_parses(s in "[a-z_.:0-9]{0,40}") {
            if let Ok(scope) = Scope::parse(&s) {
                proptest::prop_assert_eq!(scope.to_string(), s);
            }
        }
    }
}
