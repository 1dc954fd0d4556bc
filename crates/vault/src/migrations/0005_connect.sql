-- v5: connect from the web. Requests fetched and verified from a retailer's site, and the retailer details
-- Locket pinned the first time it verified an origin. Owned by locket-grants (crates/grants/src/connect.rs).

-- One row per verified request (requests.source = 'connect'): what was checked and against what.
CREATE TABLE verified_requests (
    request_id     TEXT PRIMARY KEY REFERENCES requests (id),
    origin         TEXT NOT NULL,              -- https://host[:port], the retailer's id on the web
    request_uri    TEXT NOT NULL,              -- where the signed request was fetched from
    state          TEXT NOT NULL,              -- the retailer's state, given back with the first release
    key_id         TEXT NOT NULL,              -- kid of the signing key
    key_thumbprint TEXT NOT NULL,              -- RFC 7638 thumbprint of that key
    alg            TEXT NOT NULL,              -- EdDSA | Ed25519 | ES256
    metadata       TEXT NOT NULL,              -- the locket.retailer/v1 document as verified (JSON)
    changes        TEXT NOT NULL DEFAULT '[]', -- JSON: details that differ from the pin when fetched
    fetched_at     TEXT NOT NULL
);
CREATE INDEX verified_requests_origin ON verified_requests (origin);

-- One row per origin Locket verified: the first-seen details (updated only when the owner approves a request
-- that brought different ones).
CREATE TABLE retailer_pins (
    origin              TEXT PRIMARY KEY,
    retailer_id         TEXT NOT NULL,
    name                TEXT NOT NULL,
    contact             TEXT NOT NULL,
    privacy_policy      TEXT NOT NULL,
    delivery_url        TEXT NOT NULL,
    signing_keys        TEXT NOT NULL,          -- JSON: sorted thumbprints of the signing keys
    encryption_keys     TEXT NOT NULL,          -- JSON: sorted thumbprints of the encryption keys
    metadata            TEXT NOT NULL,          -- the document pinned (JSON)
    first_seen_at       TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX retailer_pins_retailer ON retailer_pins (retailer_id);
