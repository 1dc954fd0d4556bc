-- v4: privacy by design. Differential-privacy budgets, erasure requests, per-retailer email aliases and
-- consent receipts. Owned by locket-grants (crates/grants/src/dp.rs, receipt.rs); see docs/privacy.md.

-- Each retailer's privacy budget for noised (differentially private) answers, in micro-epsilon so sums are
-- exact. A retailer without a row has the default budget (locket_grants::dp::DEFAULT_RETAILER_BUDGET).
CREATE TABLE privacy_budgets (
    retailer_id   TEXT PRIMARY KEY,
    budget_micro  INTEGER NOT NULL CHECK (budget_micro >= 0),
    spent_micro   INTEGER NOT NULL DEFAULT 0 CHECK (spent_micro >= 0),
    updated_at    TEXT NOT NULL                 -- RFC 3339 UTC
);

-- One row per noised answer given (the ledger behind privacy_budgets.spent_micro).
CREATE TABLE privacy_spends (
    id             INTEGER PRIMARY KEY,
    retailer_id    TEXT NOT NULL,
    grant_id       TEXT NOT NULL,
    scope          TEXT NOT NULL,               -- noised:<field>
    epsilon_micro  INTEGER NOT NULL CHECK (epsilon_micro > 0),
    spent_at       TEXT NOT NULL
);
CREATE INDEX privacy_spends_retailer ON privacy_spends (retailer_id, id);

-- "Erase my data" requests the owner sent a retailer, and the retailer's acknowledgement
-- (POST /v1/grant/erasure-ack). grant_id NULL = everything the retailer received under any grant.
CREATE TABLE erasure_requests (
    id               TEXT PRIMARY KEY,          -- "er_" + 32 hex
    retailer_id      TEXT NOT NULL,
    grant_id         TEXT REFERENCES grants (id),
    requested_at     TEXT NOT NULL,
    note             TEXT,                      -- the owner's words to the retailer, if any
    acknowledged_at  TEXT,
    acknowledged_by  TEXT,                      -- grant id whose token acknowledged it
    CHECK (acknowledged_at IS NULL OR acknowledged_at >= requested_at)
);
CREATE INDEX erasure_requests_retailer ON erasure_requests (retailer_id, requested_at);
CREATE INDEX erasure_requests_grant ON erasure_requests (grant_id);

-- The email alias the owner configured for a retailer, to be granted instead of the real address. One
-- alias per retailer; an alias is never reused for another retailer, so a leak names its source.
CREATE TABLE email_aliases (
    retailer_id  TEXT PRIMARY KEY,
    alias        TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    retired_at   TEXT                          -- set when the owner stops using the alias
);

-- Consent receipts issued (locket.consent-receipt/v1, signed); the owner can export them all.
CREATE TABLE consent_receipts (
    id           TEXT PRIMARY KEY,              -- receipt_id, "cr_" + 32 hex
    grant_id     TEXT NOT NULL REFERENCES grants (id),
    retailer_id  TEXT NOT NULL,
    event        TEXT NOT NULL CHECK (event IN ('grant', 'narrowing', 'revoke', 'expiry')),
    version      INTEGER NOT NULL CHECK (version >= 1),   -- 1 for the grant, +1 per later event
    issued_at    TEXT NOT NULL,
    document     TEXT NOT NULL,                 -- the signed receipt JSON exactly as issued
    UNIQUE (grant_id, version)
);
CREATE INDEX consent_receipts_retailer ON consent_receipts (retailer_id, issued_at);
