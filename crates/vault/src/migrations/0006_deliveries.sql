-- v6: deliveries. The outbox of releases (locket.release/v1) for retailers' servers, written in the same
-- transaction as the change that causes it, and what the delivery worker learned. Owned by locket-grants
-- (crates/grants/src/outbox.rs).

-- Where a grant's releases go (fixed at approval: the verified shop's delivery URL and encryption key).
CREATE TABLE delivery_targets (
    grant_id        TEXT PRIMARY KEY REFERENCES grants (id),
    retailer_id     TEXT NOT NULL,
    delivery_url    TEXT NOT NULL,
    encryption_key  TEXT NOT NULL,             -- the public JWK sealed to (JSON)
    state           TEXT NOT NULL,             -- the request object's state, carried by every release
    grant_file      TEXT NOT NULL,             -- the grant file the first release carries (JSON)
    next_sequence   INTEGER NOT NULL DEFAULT 1,
    updates         INTEGER NOT NULL DEFAULT 1 -- 0: the owner turned updates off for this grant
);

-- One row per release. body is the sealed JWE, made once (a retry sends the same bytes); an update waits
-- unsealed (body NULL) until its coalescing window closes.
CREATE TABLE deliveries (
    release_id      TEXT PRIMARY KEY,          -- rel_…, also the webhook-id
    grant_id        TEXT NOT NULL REFERENCES grants (id),
    retailer_id     TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    event           TEXT NOT NULL,             -- grant | update | revoke | expire
    status          TEXT NOT NULL,             -- pending | delivered | failed | cancelled
    body            TEXT,
    sha256          TEXT,
    fields          TEXT,                      -- JSON: the key/version pairs the release carries
    created_at      TEXT NOT NULL,
    due_at          TEXT NOT NULL,             -- next attempt
    give_up_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_status     INTEGER,                   -- HTTP status of the last answer
    last_error      TEXT,                      -- why the last attempt failed, in words
    finished_at     TEXT,                      -- delivered, failed or cancelled
    UNIQUE (grant_id, sequence)
);
CREATE INDEX deliveries_due ON deliveries (status, due_at);
