//! Scopes: the grammar and the resolver trait are formats (`locket_wire::scope`, re-exported here at their
//! old paths); [`VaultCatalog`] resolves them against the vault's catalog, custom fields included.

pub use locket_wire::scope::*;

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
        if let Some(derived) = resolve_derived(scope) {
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
