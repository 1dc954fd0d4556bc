//! The shop's holdings: what the reference server received from owners' Lockets, kept in `DIR/holdings.sqlite`
//! (plain SQLite, 0600, never keyed). `request publish` records the `state` of each request object it signs;
//! `serve` accepts releases ([`Holdings::receive`]) and `holdings` prints what is held ([`Holdings::report`]).
//!
//! [`locket_wire::release::open`] decrypts and verifies a release — with the stored key of a grant already known,
//! else with the key of the grant file it carries, so only a `grant` release can introduce a grant (any other
//! release for an unknown grant is `release_grant_unknown` at once). What needs storage is checked here, in this
//! order, each refusal a [`RetailerError`] with its stable code:
//!
//! 1. a release id already applied is a duplicate: answered as delivered, applied once;
//! 2. a release is for this shop (`release_retailer_mismatch`); a grant's first release carries the `state` of a
//!    request this shop published, not yet used by another grant and not older than [`DECISION_WINDOW_DAYS`]
//!    past the request object's expiry (`release_state_unknown`); a later one names the same subject and state;
//! 3. the sequence must be greater than the grant's last (`release_out_of_order`; gaps are fine: Locket
//!    withdraws undelivered data releases when the owner revokes);
//! 4. a grant that ended takes no more data (`release_grant_ended`).
//!
//! Everything one release changes is written in one transaction: a refused release leaves nothing behind.
//! `grant`/`update` replace the grant's values with the release's `fields`; `revoke` deletes them and records
//! the erasure; `expire` deletes them when the request promised `until_grant_ends`, else keeps them under the
//! promised retention (and records which).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use locket_wire::release::{
    open, sha256_hex, EndedBy, ExpectedKey, Release, ReleaseError, ReleaseEvent, WebhookHeaders, MAX_RELEASE_BYTES,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension as _, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::store::DataDir;
use crate::RetailerError;

/// Forward migrations, in order; migration `i` (0-based) takes the schema from version `i` to `i + 1`.
/// To change the schema, add a file and a line here — never edit a shipped migration.
const MIGRATIONS: &[(&str, &str)] = &[("0001_holdings", include_str!("migrations/0001_holdings.sql"))];

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long after its request object expired a `state` still binds a grant: the owner opens the link while the
/// object is served, and may take days to decide.
pub const DECISION_WINDOW_DAYS: i64 = 7;

/// The retention a request promises when the shop deletes the data as soon as the grant ends.
pub const UNTIL_GRANT_ENDS: &str = "until_grant_ends";

/// A count or sequence number as SQLite stores it (an `INTEGER` is signed; these never come near the limit).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An `INTEGER` read back as a count or sequence number.
fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A time as the holdings store it (RFC 3339 UTC to the second, so text order is time order).
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

trait Db<T> {
    /// A SQLite failure as `holdings_storage_failed`, naming the file.
    fn db(self, path: &Path) -> Result<T, RetailerError>;
}

impl<T> Db<T> for Result<T, rusqlite::Error> {
    fn db(self, path: &Path) -> Result<T, RetailerError> {
        self.map_err(|e| RetailerError::Holdings {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }
}

/// What became of a delivered release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Received {
    /// Applied now.
    Accepted(Applied),
    /// Applied before (a retry): nothing changed.
    Duplicate {
        /// The release id.
        release_id: String,
        /// Its grant.
        grant_id: String,
    },
}

/// A release that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The release id.
    pub release_id: String,
    /// Its grant.
    pub grant_id: String,
    /// Its sequence number.
    pub sequence: u64,
    /// What it said happened.
    pub event: ReleaseEvent,
    /// Values stored or replaced.
    pub stored: usize,
    /// Values deleted.
    pub deleted: usize,
}

/// One grant as the holdings know it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldGrant {
    /// Grant id.
    pub grant_id: String,
    /// `active` or `ended`.
    pub status: String,
    /// The sequence number of the last release applied.
    pub last_sequence: u64,
    /// The id (PASERK `k4.pid.…`) of the key its releases are verified with.
    pub key_id: String,
    /// When its first release arrived.
    pub granted_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Who ended it: `owner` (revoked) or `expiry`.
    pub ended_by: Option<String>,
    /// Whether the owner asked for erasure.
    pub erasure_requested: bool,
    /// When its values were erased.
    pub erased_at: Option<String>,
    /// After an expiry that kept its values: the retention promise they are kept under (`P90D`).
    pub kept_under: Option<String>,
    /// The values held under it.
    pub fields: Vec<HeldField>,
}

/// One value held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldField {
    /// Catalog key (`contact.email`).
    pub key: String,
    /// Label.
    pub label: String,
    /// Version of the owner's value.
    pub version: u64,
    /// The value.
    pub value: serde_json::Value,
    /// The granted scope it came under.
    pub scope: String,
    /// When this version arrived.
    pub received_at: String,
}

/// One erasure made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The grant whose values were erased.
    pub grant_id: String,
    /// When.
    pub at: String,
    /// How many values were deleted.
    pub deleted: u64,
    /// Why: `revoke` (the owner revoked) or `expire` (the grant ended and the promise was `until_grant_ends`).
    pub reason: String,
}

/// Everything held about one subject (one owner, as this shop knows them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectHoldings {
    /// The pairwise subject id.
    pub subject: String,
    /// Its grants, oldest first.
    pub grants: Vec<HeldGrant>,
    /// The erasures made, oldest first.
    pub erasures: Vec<Erasure>,
}

/// The grant as stored.
struct GrantRow {
    subject: String,
    public_key: String,
    state: String,
    last_sequence: u64,
    ended: bool,
}

/// What a body says before it is verified: which grant, which event. Only used to pick the key to verify with.
#[derive(Deserialize)]
struct Peek {
    grant_id: String,
    event: ReleaseEvent,
}

/// Decrypts `body` and reads the grant id and event of the JWS payload inside, without verifying anything.
fn peek(body: &str, decryption_key: &josekit::jwk::Jwk) -> Option<Peek> {
    // As `open` does: josekit's ECDH-ES decrypter refuses a key whose `alg` it does not expect.
    let mut map = decryption_key.as_ref().clone();
    map.remove("alg");
    let key = josekit::jwk::Jwk::from_map(map).ok()?;
    let decrypter = josekit::jwe::ECDH_ES.decrypter_from_jwk(&key).ok()?;
    let (jws, _) = josekit::jwe::deserialize_compact(body, &decrypter).ok()?;
    let jws = String::from_utf8(jws).ok()?;
    let payload = jws.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The three Standard Webhooks headers as received; a missing or malformed one is `release_headers_invalid`.
pub fn webhook_headers(
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
) -> Result<WebhookHeaders, RetailerError> {
    let bad = RetailerError::DeliveryHeaders;
    let visible = |s: &str| !s.is_empty() && s.len() <= 4096 && s.bytes().all(|b| (b' '..=b'~').contains(&b));
    let id = id.ok_or_else(|| bad("webhook-id is missing".into()))?;
    if !visible(id) || id.contains(' ') {
        return Err(bad("webhook-id is not a release id".into()));
    }
    let timestamp = timestamp.ok_or_else(|| bad("webhook-timestamp is missing".into()))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| bad("webhook-timestamp is not Unix seconds".into()))?;
    let signature = signature.ok_or_else(|| bad("webhook-signature is missing".into()))?;
    if !visible(signature) {
        return Err(bad("webhook-signature is not a list of signatures".into()));
    }
    Ok(WebhookHeaders {
        id: id.to_owned(),
        timestamp,
        signature: signature.to_owned(),
    })
}

/// Text from a release or a grant as it may be printed: every control, line-separator or text-direction
/// character ([`locket_wire::text::is_refused`]) shown as a visible escape such as `\u{1b}`.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(locket_wire::text::is_refused) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if locket_wire::text::is_refused(c) {
                    format!("\\u{{{:x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The holdings database of a shop's data directory.
pub struct Holdings {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Holdings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holdings")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Holdings {
    /// Open `DIR/holdings.sqlite`, making it (0600) and its tables if needed.
    pub fn open(dir: &DataDir) -> Result<Holdings, RetailerError> {
        dir.create()?;
        let path = dir.holdings_path();
        create_private_file(&path)?;
        Holdings::connect(path)
    }

    /// Open `DIR/holdings.sqlite` if it exists (`None`: nothing was ever published or received).
    pub fn open_existing(dir: &DataDir) -> Result<Option<Holdings>, RetailerError> {
        let path = dir.holdings_path();
        if !path.exists() {
            return Ok(None);
        }
        Holdings::connect(path).map(Some)
    }

    fn connect(path: PathBuf) -> Result<Holdings, RetailerError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags).db(&path)?;
        // The server and `request publish` (another process) write the same file: WAL and a busy timeout.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;",
        )
        .db(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).db(&path)?;
        migrate(&mut conn, &path)?;
        Ok(Holdings { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record the `state` of a request object published at `published_at` (its id `request_id`, served until
    /// `expires_at`): a grant release naming it is accepted until [`DECISION_WINDOW_DAYS`] after that. A state
    /// given again extends its window, unless a grant already used it.
    pub fn record_state(
        &mut self,
        state: &str,
        request_id: &str,
        published_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RetailerError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db(&path)?;
        // States nobody used whose window closed are of no more use.
        tx.execute(
            "DELETE FROM states WHERE grant_id IS NULL AND accept_until < ?1",
            [stamp(published_at)],
        )
        .db(&path)?;
        let bound: Option<Option<String>> = tx
            .query_row("SELECT grant_id FROM states WHERE state = ?1", [state], |r| r.get(0))
            .optional()
            .db(&path)?;
        if let Some(Some(grant_id)) = bound {
            return Err(RetailerError::Invalid(format!(
                "--state {state:?} was already used by grant {grant_id}; give another state, or leave --state out \
                 for a random one"
            )));
        }
        let accept_until = expires_at + Duration::days(DECISION_WINDOW_DAYS);
        tx.execute(
            "INSERT INTO states (state, request_id, published_at, expires_at, accept_until) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (state) DO UPDATE SET request_id = ?2, published_at = ?3, expires_at = ?4,
                 accept_until = max(accept_until, ?5)",
            params![
                state,
                request_id,
                stamp(published_at),
                stamp(expires_at),
                stamp(accept_until)
            ],
        )
        .db(&path)?;
        tx.commit().db(&path)
    }

    /// Receive one delivery: open `body` (the compact JWE) with `decryption_key` (the shop's private encryption
    /// JWK), check it against what is stored (see the module's rules) and apply it, all or nothing. `retailer_id`
    /// is this shop's (the origin's host).
    pub fn receive(
        &mut self,
        body: &str,
        headers: &WebhookHeaders,
        decryption_key: &josekit::jwk::Jwk,
        retailer_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Received, RetailerError> {
        if body.len() > MAX_RELEASE_BYTES {
            return Err(ReleaseError::TooLarge(body.len()).into());
        }
        let path = self.path.clone();
        // Which key verifies it: the stored one of a known grant, else the grant file's (a first release).
        let peeked = peek(body, decryption_key);
        let known = match &peeked {
            Some(p) => grant_row(&self.conn, &p.grant_id).db(&path)?,
            None => None,
        };
        if let (Some(p), None) = (&peeked, &known) {
            if p.event != ReleaseEvent::Grant {
                return Err(RetailerError::ReleaseGrantUnknown {
                    grant_id: p.grant_id.clone(),
                    event: p.event.as_str(),
                });
            }
        }
        let expected = match &known {
            Some(g) => ExpectedKey::Known(&g.public_key),
            None => ExpectedKey::FromGrantFile,
        };
        let opened = open(body, headers, decryption_key, expected, now.timestamp())?;
        let release = &opened.release;

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db(&path)?;
        let seen: Option<String> = tx
            .query_row(
                "SELECT grant_id FROM releases WHERE release_id = ?1",
                [&release.release_id],
                |r| r.get(0),
            )
            .optional()
            .db(&path)?;
        if let Some(grant_id) = seen {
            return Ok(Received::Duplicate {
                release_id: release.release_id.clone(),
                grant_id,
            });
        }
        if release.retailer_id != retailer_id {
            return Err(RetailerError::ReleaseRetailerMismatch {
                got: release.retailer_id.clone(),
                expected: retailer_id.to_owned(),
            });
        }
        let grant = match grant_row(&tx, &release.grant_id).db(&path)? {
            Some(g) => {
                // Read again inside the transaction: it may have been made since the key was chosen.
                if g.public_key != opened.public_key {
                    return Err(ReleaseError::UnknownKey {
                        got: locket_wire::token::key_id_of(&opened.public_key).unwrap_or_default(),
                        expected: locket_wire::token::key_id_of(&g.public_key).unwrap_or_default(),
                    }
                    .into());
                }
                if g.subject != release.subject || g.state != release.state {
                    return Err(ReleaseError::Malformed(format!(
                        "release {} names another subject or state than its grant's first release",
                        release.release_id
                    ))
                    .into());
                }
                g
            }
            None => bind_new_grant(&tx, release, &opened.public_key, now).db(&path)??,
        };
        if release.sequence <= grant.last_sequence {
            return Err(RetailerError::ReleaseOutOfOrder {
                grant_id: release.grant_id.clone(),
                sequence: release.sequence,
                last: grant.last_sequence,
            });
        }
        if grant.ended && release.event.carries_data() {
            return Err(RetailerError::ReleaseGrantEnded {
                grant_id: release.grant_id.clone(),
            });
        }
        let (stored, deleted) = apply(&tx, release, now).db(&path)?;
        tx.execute(
            "INSERT INTO releases (release_id, grant_id, sequence, event, received_at, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                release.release_id,
                release.grant_id,
                int(release.sequence),
                release.event.as_str(),
                stamp(now),
                sha256_hex(body.as_bytes())
            ],
        )
        .db(&path)?;
        tx.execute(
            "UPDATE grants SET last_sequence = ?2 WHERE grant_id = ?1",
            params![release.grant_id, int(release.sequence)],
        )
        .db(&path)?;
        tx.commit().db(&path)?;
        Ok(Received::Accepted(Applied {
            release_id: release.release_id.clone(),
            grant_id: release.grant_id.clone(),
            sequence: release.sequence,
            event: release.event,
            stored,
            deleted,
        }))
    }

    /// Everything held, by subject (in the order they were first granted), each grant with its values.
    pub fn report(&self) -> Result<Vec<SubjectHoldings>, RetailerError> {
        let path = &self.path;
        let mut subjects: Vec<SubjectHoldings> = Vec::new();
        let mut grants = self
            .conn
            .prepare(
                "SELECT grant_id, subject, status, last_sequence, public_key, granted_at, ended_at, ended_by,
                        erasure_requested, erased_at, kept_under
                 FROM grants ORDER BY granted_at, rowid",
            )
            .db(path)?;
        let rows = grants
            .query_map([], |r| {
                let public_key: String = r.get(4)?;
                Ok((
                    r.get::<_, String>(1)?,
                    HeldGrant {
                        grant_id: r.get(0)?,
                        status: r.get(2)?,
                        last_sequence: uint(r.get(3)?),
                        key_id: locket_wire::token::key_id_of(&public_key).unwrap_or(public_key),
                        granted_at: r.get(5)?,
                        ended_at: r.get(6)?,
                        ended_by: r.get(7)?,
                        erasure_requested: r.get(8)?,
                        erased_at: r.get(9)?,
                        kept_under: r.get(10)?,
                        fields: Vec::new(),
                    },
                ))
            })
            .db(path)?;
        for row in rows {
            let (subject, grant) = row.db(path)?;
            match subjects.iter_mut().find(|s| s.subject == subject) {
                Some(s) => s.grants.push(grant),
                None => subjects.push(SubjectHoldings {
                    subject,
                    grants: vec![grant],
                    erasures: Vec::new(),
                }),
            }
        }
        let mut fields = self
            .conn
            .prepare(
                "SELECT key, label, version, value, scope, received_at FROM holdings WHERE grant_id = ?1 ORDER BY key",
            )
            .db(path)?;
        let mut erasures = self
            .conn
            .prepare("SELECT grant_id, at, deleted, reason FROM erasures WHERE subject = ?1 ORDER BY id")
            .db(path)?;
        for s in &mut subjects {
            for g in &mut s.grants {
                let rows = fields
                    .query_map([&g.grant_id], |r| {
                        let value: String = r.get(3)?;
                        Ok(HeldField {
                            key: r.get(0)?,
                            label: r.get(1)?,
                            version: uint(r.get(2)?),
                            value: serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value)),
                            scope: r.get(4)?,
                            received_at: r.get(5)?,
                        })
                    })
                    .db(path)?;
                g.fields = rows.collect::<Result<_, _>>().db(path)?;
            }
            let rows = erasures
                .query_map([&s.subject], |r| {
                    Ok(Erasure {
                        grant_id: r.get(0)?,
                        at: r.get(1)?,
                        deleted: uint(r.get(2)?),
                        reason: r.get(3)?,
                    })
                })
                .db(path)?;
            s.erasures = rows.collect::<Result<_, _>>().db(path)?;
        }
        Ok(subjects)
    }
}

/// Make `path` an empty owner-only file unless it exists (SQLite gives its `-wal` and `-shm` files the same mode).
fn create_private_file(path: &Path) -> Result<(), RetailerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(RetailerError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Applies forward migrations, each in its own transaction; a database newer than this build is refused.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), RetailerError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).db(path)?;
    if current > SCHEMA_VERSION {
        return Err(RetailerError::HoldingsTooNew {
            path: path.display().to_string(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let to = i as i64 + 1;
        if to <= current {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db(path)?;
        // Another process may have migrated while this one waited for the lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).db(path)?;
        if now >= to {
            continue;
        }
        tx.execute_batch(sql).map_err(|e| RetailerError::Holdings {
            path: path.display().to_string(),
            detail: format!("migration {name} failed: {e}"),
        })?;
        tx.pragma_update(None, "user_version", to).db(path)?;
        tx.commit().db(path)?;
    }
    Ok(())
}

fn grant_row(conn: &Connection, grant_id: &str) -> rusqlite::Result<Option<GrantRow>> {
    conn.query_row(
        "SELECT subject, public_key, state, last_sequence, status FROM grants WHERE grant_id = ?1",
        [grant_id],
        |r| {
            Ok(GrantRow {
                subject: r.get(0)?,
                public_key: r.get(1)?,
                state: r.get(2)?,
                last_sequence: uint(r.get(3)?),
                ended: r.get::<_, String>(4)? == "ended",
            })
        },
    )
    .optional()
}

/// A grant's first release: its `state` must be one this shop published, still open and unused; it is bound to
/// the grant and the grant is stored with the key that verified the release (its sequence applied later).
fn bind_new_grant(
    tx: &Transaction<'_>,
    release: &Release,
    public_key: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Result<GrantRow, RetailerError>> {
    if release.event != ReleaseEvent::Grant {
        return Ok(Err(RetailerError::ReleaseGrantUnknown {
            grant_id: release.grant_id.clone(),
            event: release.event.as_str(),
        }));
    }
    let open_state: Option<String> = tx
        .query_row(
            "SELECT state FROM states WHERE state = ?1 AND grant_id IS NULL AND accept_until >= ?2",
            params![release.state, stamp(now)],
            |r| r.get(0),
        )
        .optional()?;
    if open_state.is_none() {
        return Ok(Err(RetailerError::ReleaseStateUnknown {
            grant_id: release.grant_id.clone(),
        }));
    }
    tx.execute(
        "UPDATE states SET grant_id = ?2, bound_at = ?3 WHERE state = ?1",
        params![release.state, release.grant_id, stamp(now)],
    )?;
    tx.execute(
        "INSERT INTO grants (grant_id, subject, retailer_id, public_key, state, last_sequence, status, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, 'active', ?6)",
        params![
            release.grant_id,
            release.subject,
            release.retailer_id,
            public_key,
            release.state,
            stamp(now)
        ],
    )?;
    Ok(Ok(GrantRow {
        subject: release.subject.clone(),
        public_key: public_key.to_owned(),
        state: release.state.clone(),
        last_sequence: 0,
        ended: false,
    }))
}

/// Applies the release's event; returns how many values were stored and how many deleted.
fn apply(tx: &Transaction<'_>, release: &Release, now: DateTime<Utc>) -> rusqlite::Result<(usize, usize)> {
    let grant_id = &release.grant_id;
    match (&release.fields, &release.ended) {
        (Some(fields), _) => {
            // The release carries the grant's current values: what it does not carry (an `empty_scopes` scope
            // among them) is no longer held.
            let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            let mut deleted = 0;
            let mut held = tx.prepare("SELECT key FROM holdings WHERE grant_id = ?1")?;
            let stale: Vec<String> = held
                .query_map([grant_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|k| !keys.contains(&k.as_str()))
                .collect();
            for key in stale {
                deleted += tx.execute(
                    "DELETE FROM holdings WHERE grant_id = ?1 AND key = ?2",
                    params![grant_id, key],
                )?;
            }
            for f in fields {
                let value = serde_json::to_string(&f.value).unwrap_or_else(|_| "null".into());
                // A value that did not change keeps the time it first arrived.
                tx.execute(
                    "INSERT INTO holdings (subject, grant_id, key, label, version, value, scope, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (grant_id, key) DO UPDATE SET
                         label = excluded.label, scope = excluded.scope,
                         received_at = CASE WHEN version = excluded.version AND value = excluded.value
                                            THEN received_at ELSE excluded.received_at END,
                         version = excluded.version, value = excluded.value",
                    params![
                        release.subject,
                        grant_id,
                        f.key,
                        f.label,
                        f.version,
                        value,
                        f.scope,
                        stamp(now)
                    ],
                )?;
            }
            Ok((fields.len(), deleted))
        }
        (None, Some(ended)) => {
            let erase = ended.by == EndedBy::Owner
                || ended.erasure_requested
                || ended.retention.max_duration == UNTIL_GRANT_ENDS;
            let by = match ended.by {
                EndedBy::Owner => "owner",
                EndedBy::Expiry => "expiry",
            };
            // The first end stays the grant's end; a later revoke still erases what was kept.
            tx.execute(
                "UPDATE grants SET status = 'ended', ended_at = coalesce(ended_at, ?2),
                     ended_by = coalesce(ended_by, ?3), erasure_requested = max(erasure_requested, ?4)
                 WHERE grant_id = ?1",
                params![grant_id, ended.at, by, ended.erasure_requested],
            )?;
            if !erase {
                tx.execute(
                    "UPDATE grants SET kept_under = ?2 WHERE grant_id = ?1",
                    params![grant_id, ended.retention.max_duration],
                )?;
                return Ok((0, 0));
            }
            let deleted = tx.execute("DELETE FROM holdings WHERE grant_id = ?1", [grant_id])?;
            tx.execute(
                "INSERT INTO erasures (subject, grant_id, at, deleted, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    release.subject,
                    grant_id,
                    stamp(now),
                    int(deleted as u64),
                    release.event.as_str()
                ],
            )?;
            tx.execute(
                "UPDATE grants SET erased_at = ?2, kept_under = NULL WHERE grant_id = ?1",
                params![grant_id, stamp(now)],
            )?;
            Ok((0, deleted))
        }
        // `Release::check` (in `open`) makes every release carry one or the other.
        (None, None) => Ok((0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_made_once_and_a_newer_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("shop"));
        let h = Holdings::open(&dir).unwrap();
        drop(h);
        let h = Holdings::open(&dir).unwrap();
        let version: i64 = h.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.holdings_path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        h.conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(h);
        assert_eq!(Holdings::open(&dir).unwrap_err().code(), "holdings_too_new");
    }

    #[test]
    fn a_state_used_by_a_grant_cannot_be_published_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("shop"));
        let mut h = Holdings::open(&dir).unwrap();
        let now = Utc::now();
        h.record_state("state-0123456789abcdef", "req", now, now + Duration::minutes(10))
            .unwrap();
        // Again (not yet used): fine, the window only grows.
        h.record_state("state-0123456789abcdef", "req2", now, now + Duration::minutes(1))
            .unwrap();
        let until: String = h
            .conn
            .query_row("SELECT accept_until FROM states", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            until,
            stamp(now + Duration::minutes(10) + Duration::days(DECISION_WINDOW_DAYS))
        );
        h.conn.execute("UPDATE states SET grant_id = 'gr_x'", []).unwrap();
        let e = h
            .record_state("state-0123456789abcdef", "req3", now, now + Duration::minutes(10))
            .unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        assert!(e.to_string().contains("gr_x"), "{e}");
    }

    #[test]
    fn headers_are_named_when_missing_or_malformed() {
        let ok = webhook_headers(Some("rel_1"), Some("1796000000"), Some("v1a,abc")).unwrap();
        assert_eq!(ok.timestamp, 1_796_000_000);
        for (id, ts, sig) in [
            (None, Some("1"), Some("v1a,x")),
            (Some("rel_1"), None, Some("v1a,x")),
            (Some("rel_1"), Some("1"), None),
            (Some("rel_1"), Some("soon"), Some("v1a,x")),
            (Some("rel 1"), Some("1"), Some("v1a,x")),
            (Some("rel_1"), Some("1"), Some("v1a,\u{1b}")),
        ] {
            assert_eq!(
                webhook_headers(id, ts, sig).unwrap_err().code(),
                "release_headers_invalid",
                "{id:?} {ts:?} {sig:?}"
            );
        }
    }

    #[test]
    fn printed_text_cannot_drive_the_terminal() {
        assert_eq!(safe("ada@example.org"), "ada@example.org");
        assert_eq!(safe("a\u{1b}[2Kb\nc\u{202e}"), "a\\u{1b}[2Kb\\u{a}c\\u{202e}");
    }
}
