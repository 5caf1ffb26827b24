-- Vigie schema, PostgreSQL. Mirrors migrations/sqlite/20261123000001_init.sql:
-- same tables, columns and unique keys. Migrations only add; an applied one
-- is never edited.
-- Integers are BIGINT (the Rust side reads i64), timestamps TIMESTAMPTZ in
-- UTC, except evidence.fetched_at: the RFC 3339 text that was hashed.

CREATE TABLE scans (
    id           BIGSERIAL PRIMARY KEY,
    started_at   TIMESTAMPTZ NOT NULL,   -- the scan clock (--now), UTC
    wall_started TIMESTAMPTZ NOT NULL,   -- the real time it ran
    finished_at  TIMESTAMPTZ,
    summary      TEXT                    -- JSON summary
);

CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    shop        TEXT NOT NULL,
    product_key TEXT NOT NULL,           -- sku, else gtin, else url (+ variant)
    url         TEXT NOT NULL,
    name        TEXT,
    brand       TEXT NOT NULL,           -- the watched brand's canonical name
    sku         TEXT,
    gtin        TEXT,
    variant     TEXT,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    UNIQUE (shop, product_key)
);

CREATE TABLE observations (
    id              BIGSERIAL PRIMARY KEY,
    scan_id         BIGINT NOT NULL REFERENCES scans(id),
    product_id      BIGINT NOT NULL REFERENCES products(id),
    observed_at     TIMESTAMPTZ NOT NULL,
    price_minor     BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reference_minor BIGINT,
    reference_kind  TEXT,
    percent_badge   BIGINT,
    availability    TEXT,
    source          TEXT NOT NULL,
    UNIQUE (scan_id, product_id)
);
CREATE INDEX observations_by_product ON observations (product_id, observed_at);

-- One row per product variant, updated incrementally after each observation.
CREATE TABLE baselines (
    product_id      BIGINT PRIMARY KEY REFERENCES products(id),
    regular_minor   BIGINT,              -- last undiscounted public price
    currency        TEXT NOT NULL,
    last_price_minor BIGINT NOT NULL,
    last_observed_at TIMESTAMPTZ NOT NULL,
    observations    BIGINT NOT NULL
);

-- Raw responses behind findings: write-once, chained by hash.
CREATE TABLE evidence (
    id          BIGSERIAL PRIMARY KEY,
    url         TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,           -- RFC 3339, exactly as hashed
    status      BIGINT NOT NULL,
    headers     TEXT NOT NULL,           -- JSON array of [name, value]
    body_sha256 TEXT NOT NULL,
    body_zstd   BYTEA NOT NULL,
    record      TEXT NOT NULL,           -- JSON: structured data and matched text
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);

CREATE TABLE findings (
    id              BIGSERIAL PRIMARY KEY,
    rule            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    product_id      BIGINT NOT NULL REFERENCES products(id),
    shop            TEXT NOT NULL,
    brand           TEXT NOT NULL,
    product_name    TEXT,
    url             TEXT NOT NULL,
    price_minor     BIGINT NOT NULL,
    reference_minor BIGINT,
    currency        TEXT NOT NULL,
    percent         BIGINT,
    calendar        TEXT NOT NULL,       -- the zone and period used
    details         TEXT NOT NULL,       -- JSON: the figures used
    opened_at       TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ,
    evidence_id     BIGINT REFERENCES evidence(id)
);
-- One open finding per rule and product: a promotion seen again raises nothing new.
CREATE UNIQUE INDEX findings_one_open ON findings (rule, product_id) WHERE closed_at IS NULL;

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    finding_id      BIGINT NOT NULL REFERENCES findings(id),
    subscriber      TEXT NOT NULL,
    email           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    UNIQUE (finding_id, email)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
