-- v2: the access log. An append-only, hash-chained event table, an index of disclosed fields for queries, and
-- periodically signed chain heads. The canonical encoding hashed into `hash` is documented in
-- crates/audit/src/chain.rs (locket-audit); changing any column's meaning is a new event format version.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,   -- 1, 2, 3, ... without gaps
    ts_ms       INTEGER NOT NULL,      -- Unix time in milliseconds (UTC), never decreasing along the chain
    kind        TEXT NOT NULL,         -- redemption | introspection | refusal | request_received | grant_issued | ...
    outcome     TEXT NOT NULL,         -- ok | refused | error
    reason      TEXT,                  -- stable error code for refusals
    retailer    TEXT,                  -- retailer id
    grant_id    TEXT,
    request_id  TEXT,
    fields      TEXT,                  -- JSON array of {"key","version"} disclosed (exact bytes are hashed)
    remote_addr TEXT,
    user_agent  TEXT,
    detail      TEXT,                  -- JSON object with kind-specific details (exact bytes are hashed)
    hash        BLOB NOT NULL          -- SHA-256(previous hash || canonical bytes of this event)
);

CREATE INDEX audit_events_ts ON audit_events (ts_ms);
CREATE INDEX audit_events_retailer ON audit_events (retailer) WHERE retailer IS NOT NULL;
CREATE INDEX audit_events_grant ON audit_events (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX audit_events_kind ON audit_events (kind);
CREATE INDEX audit_events_outcome ON audit_events (outcome);

-- One row per disclosed field per event, so "who received my email address" is an index range scan.
-- Derived from audit_events.fields (which the hash covers); `locket audit verify` cross-checks it.
CREATE TABLE audit_event_fields (
    field_key TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (field_key, seq)
) WITHOUT ROWID;

-- A chain head signed with the vault's Ed25519 key: proves the log up to `seq` existed in this form when signed.
CREATE TABLE audit_heads (
    seq        INTEGER PRIMARY KEY,    -- the event the head points at
    hash       BLOB NOT NULL,          -- that event's chain hash
    signed_ms  INTEGER NOT NULL,       -- when it was signed (Unix ms)
    public_key BLOB NOT NULL,          -- Ed25519 public key (32 bytes)
    signature  BLOB NOT NULL           -- Ed25519 over "locket.audit-head/v1" || u64be(seq) || hash || i64be(signed_ms)
);

-- The log is append-only: refuse in-place edits and deletions at the database level.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_event_fields_no_update BEFORE UPDATE ON audit_event_fields
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_event_fields_no_delete BEFORE DELETE ON audit_event_fields
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'signed audit heads are append-only');
END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'signed audit heads are append-only');
END;
