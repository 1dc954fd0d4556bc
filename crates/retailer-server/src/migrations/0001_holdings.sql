-- The reference retailer's holdings (DIR/holdings.sqlite): the states of the requests it published, the grants
-- it accepted, the values it holds under them, every release it applied, and the erasures it made.
-- Times are RFC 3339 UTC to the second ("2026-11-24T15:00:00Z"), so they also sort as text.

-- One row per published request object (`request publish`): its state binds at most one grant.
CREATE TABLE states (
    state        TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    published_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,  -- when the request object stops being served
    accept_until TEXT NOT NULL,  -- until when a grant release may still name the state
    grant_id     TEXT UNIQUE,    -- the grant it bound, once one did
    bound_at     TEXT
);

CREATE TABLE grants (
    grant_id          TEXT PRIMARY KEY,
    subject           TEXT NOT NULL,
    retailer_id       TEXT NOT NULL,
    public_key        TEXT NOT NULL,  -- PASERK k4.public.…, from the grant file: verifies every later release
    state             TEXT NOT NULL UNIQUE REFERENCES states (state),
    last_sequence     INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    granted_at        TEXT NOT NULL,
    ended_at          TEXT,
    ended_by          TEXT CHECK (ended_by IN ('owner', 'expiry')),
    erasure_requested INTEGER NOT NULL DEFAULT 0 CHECK (erasure_requested IN (0, 1)),
    erased_at         TEXT,
    kept_under        TEXT            -- after an expiry that kept the values: the retention promise they are kept under
);
CREATE INDEX grants_subject ON grants (subject);

-- The current values: what the grant's last data release carried.
CREATE TABLE holdings (
    subject     TEXT NOT NULL,
    grant_id    TEXT NOT NULL REFERENCES grants (grant_id),
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    value       TEXT NOT NULL,  -- JSON
    scope       TEXT NOT NULL,
    received_at TEXT NOT NULL,  -- when this version of the value arrived
    PRIMARY KEY (grant_id, key)
);
CREATE INDEX holdings_subject ON holdings (subject);

-- Every release applied, by id: a release seen again is answered as a duplicate and not applied twice.
CREATE TABLE releases (
    release_id  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES grants (grant_id),
    sequence    INTEGER NOT NULL,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    sha256      TEXT NOT NULL,  -- of the body as received
    UNIQUE (grant_id, sequence)
);

CREATE TABLE erasures (
    id       INTEGER PRIMARY KEY,
    subject  TEXT NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants (grant_id),
    at       TEXT NOT NULL,
    deleted  INTEGER NOT NULL,  -- how many values were deleted
    reason   TEXT NOT NULL CHECK (reason IN ('revoke', 'expire'))
);
