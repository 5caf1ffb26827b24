-- Vigie schema, SQLite. Migrations only add; an applied one is never edited.
-- Timestamps are UTC, stored as RFC 3339 text by sqlx.

CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   TEXT NOT NULL,          -- the scan clock (--now), UTC
    wall_started TEXT NOT NULL,          -- the real time it ran
    finished_at  TEXT,
    summary      TEXT                    -- JSON summary
);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    shop        TEXT NOT NULL,
    product_key TEXT NOT NULL,           -- sku, else gtin, else url (+ variant)
    url         TEXT NOT NULL,
    name        TEXT,
    brand       TEXT NOT NULL,           -- the watched brand's canonical name
    sku         TEXT,
    gtin        TEXT,
    variant     TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    UNIQUE (shop, product_key)
);

CREATE TABLE observations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id         INTEGER NOT NULL REFERENCES scans(id),
    product_id      INTEGER NOT NULL REFERENCES products(id),
    observed_at     TEXT NOT NULL,
    price_minor     INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    reference_minor INTEGER,
    reference_kind  TEXT,
    percent_badge   INTEGER,
    availability    TEXT,
    source          TEXT NOT NULL,
    UNIQUE (scan_id, product_id)
);
CREATE INDEX observations_by_product ON observations (product_id, observed_at);

-- One row per product variant, updated incrementally after each observation.
CREATE TABLE baselines (
    product_id      INTEGER PRIMARY KEY REFERENCES products(id),
    regular_minor   INTEGER,             -- last undiscounted public price
    currency        TEXT NOT NULL,
    last_price_minor INTEGER NOT NULL,
    last_observed_at TEXT NOT NULL,
    observations    INTEGER NOT NULL
);

-- Raw responses behind findings: write-once, chained by hash.
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT NOT NULL,           -- JSON array of [name, value]
    body_sha256 TEXT NOT NULL,
    body_zstd   BLOB NOT NULL,
    record      TEXT NOT NULL,           -- JSON: structured data and matched text
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);

CREATE TABLE findings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rule            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    product_id      INTEGER NOT NULL REFERENCES products(id),
    shop            TEXT NOT NULL,
    brand           TEXT NOT NULL,
    product_name    TEXT,
    url             TEXT NOT NULL,
    price_minor     INTEGER NOT NULL,
    reference_minor INTEGER,
    currency        TEXT NOT NULL,
    percent         INTEGER,
    calendar        TEXT NOT NULL,       -- the zone and period used
    details         TEXT NOT NULL,       -- JSON: the figures used
    opened_at       TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    closed_at       TEXT,
    evidence_id     INTEGER REFERENCES evidence(id)
);
-- One open finding per rule and product: a promotion seen again raises nothing new.
CREATE UNIQUE INDEX findings_one_open ON findings (rule, product_id) WHERE closed_at IS NULL;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id      INTEGER NOT NULL REFERENCES findings(id),
    subscriber      TEXT NOT NULL,
    email           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (finding_id, email)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
