-- v1: the foundation. Vault metadata, settings, the owner's custom fields and versioned profile values.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL              -- JSON
);

CREATE TABLE custom_fields (
    key         TEXT PRIMARY KEY,    -- always "custom.<slug>"
    label       TEXT NOT NULL,
    field_type  TEXT NOT NULL,       -- text | email | phone | date | country | enum | multi_enum | number | range | bool
    options     TEXT,                -- JSON array of allowed values for enum / multi_enum
    sensitivity TEXT NOT NULL,       -- low | personal | sensitive
    created_at  TEXT NOT NULL        -- RFC 3339 UTC
);

-- One row per version of a field's value; value NULL marks a removal. The current value of a field is its
-- highest version. Rows are never updated or deleted (except by wipe), so any version a retailer received can be
-- shown later.
CREATE TABLE field_values (
    id        INTEGER PRIMARY KEY,
    field_key TEXT NOT NULL,
    version   INTEGER NOT NULL,
    value     TEXT,                  -- JSON, NULL = removed
    set_at    TEXT NOT NULL,         -- RFC 3339 UTC with milliseconds
    UNIQUE (field_key, version)
);
