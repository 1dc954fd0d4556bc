//! A keyed SQLCipher connection with the vault's pragmas and forward migrations.
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::secret::DataKey;
use crate::VaultError;

/// Forward migrations, in order; migration `i` (0-based) takes the schema from version `i` to `i + 1`.
/// To change the schema, add a file and a line here — never edit a shipped migration.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_foundation", include_str!("migrations/0001_foundation.sql")),
    ("0002_audit", include_str!("migrations/0002_audit.sql")),
    ("0003_grants", include_str!("migrations/0003_grants.sql")),
    ("0004_privacy", include_str!("migrations/0004_privacy.sql")),
    ("0005_connect", include_str!("migrations/0005_connect.sql")),
    ("0006_deliveries", include_str!("migrations/0006_deliveries.sql")),
];

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A keyed, migrated connection to the vault database. Only an unlocked [`crate::Vault`] can make one.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Opens the database file and applies the key. Does not read or write anything yet.
pub(crate) fn open_keyed(path: &Path, key: &DataKey, create: bool) -> Result<Connection, VaultError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !path.exists() {
        return Err(VaultError::damaged(path, "the database file is missing"));
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| VaultError::damaged(path, e.to_string()))?;
    // Silence SQLCipher's own stderr logging of HMAC failures; we report damage ourselves.
    let _ = conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()));
    conn.execute_batch(&key.pragma())
        .map_err(|e| VaultError::damaged(path, e.to_string()))?;
    Ok(conn)
}

/// Proves the key with a real read; SQLCipher accepts any key at `PRAGMA key`.
pub(crate) fn probe(conn: &Connection, path: &Path) -> Result<i64, VaultError> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| VaultError::damaged(path, format!("cannot be decrypted or read ({e})")))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| VaultError::damaged(path, e.to_string()))?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Reads every page (each page's HMAC is checked on read), so flipped bytes anywhere are found.
pub(crate) fn quick_check(conn: &Connection, path: &Path) -> Result<(), VaultError> {
    let res: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| VaultError::damaged(path, format!("integrity check failed ({e})")))?;
    if res != "ok" {
        return Err(VaultError::damaged(path, format!("integrity check failed: {res}")));
    }
    Ok(())
}

/// Per-connection settings: WAL with full fsync, foreign keys, a generous busy timeout for multi-process use.
pub(crate) fn configure(conn: &Connection) -> Result<(), VaultError> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A redemption alone runs about a dozen distinct statements; with rusqlite's default of 16 cached
    // statements the writer's mix of jobs would evict and re-parse them all the time.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Applies forward migrations up to `target`, each in its own transaction.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), VaultError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let to = i as i64 + 1;
        if to <= current || to > target {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| VaultError::Storage(format!("migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
        tracing::info!(migration = name, "vault schema migrated");
    }
    Ok(())
}

impl Store {
    pub(crate) fn new(conn: Connection) -> Self {
        Store { conn }
    }

    /// The underlying connection (for sibling crates' queries).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The underlying connection, mutably (to open transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The schema version of this database.
    pub fn schema_version(&self) -> Result<i64, VaultError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// `PRAGMA cipher_integrity_check`: verifies every page's HMAC. Returns the problems found (empty = ok).
    pub fn integrity_check(&self) -> Result<Vec<String>, VaultError> {
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut problems = Vec::new();
        for r in rows {
            problems.push(r?);
        }
        Ok(problems)
    }
}
