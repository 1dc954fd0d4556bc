-- v3: grants. Retailers' requests as received, the owner's decisions, and the grants issued from them.
-- Owned by locket-grants (crates/grants/src/store.rs); the JSON columns are documented there.

-- One row per grant request received (from a file or over HTTP). The document is kept exactly as received so
-- the owner can always be shown what was asked. A (retailer_id, nonce) pair is accepted once.
CREATE TABLE requests (
    id            TEXT PRIMARY KEY,            -- "req_" + 32 hex
    retailer_id   TEXT NOT NULL,
    retailer_name TEXT NOT NULL,
    origin        TEXT NOT NULL,               -- the retailer's declared website origin
    nonce         TEXT NOT NULL,
    source        TEXT NOT NULL,               -- file | http
    source_detail TEXT,                        -- file path, or remote address / Origin header for http
    document      TEXT NOT NULL,               -- the locket.grant-request/v1 JSON as received
    received_at   TEXT NOT NULL,               -- RFC 3339 UTC
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    decided_at    TEXT,
    decision      TEXT,                        -- JSON: asked vs granted and why they differ (see store.rs)
    UNIQUE (retailer_id, nonce)
);
CREATE INDEX requests_status ON requests (status, received_at);

-- One row per grant issued. The token itself is not stored (it is a bearer credential); the grant id is its jti.
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,           -- "gr_" + 32 hex; the token's jti
    request_id     TEXT NOT NULL REFERENCES requests (id),
    retailer_id    TEXT NOT NULL,
    retailer_name  TEXT NOT NULL,
    subject        TEXT NOT NULL,              -- pairwise subject id given to this retailer (token sub)
    scopes         TEXT NOT NULL,              -- JSON array of {scope, kind, label, purpose, purpose_text?, required}
    issued_at      TEXT NOT NULL,
    not_before     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    max_uses       INTEGER CHECK (max_uses IS NULL OR max_uses > 0),   -- NULL = unlimited
    uses           INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    last_used_at   TEXT,
    revoked_at     TEXT,
    revoked_by     TEXT CHECK (revoked_by IS NULL OR revoked_by IN ('owner', 'retailer')),
    revoke_reason  TEXT,
    CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX grants_retailer ON grants (retailer_id);
CREATE INDEX grants_request ON grants (request_id);
