-- The web console: dismissed findings, alerts grouped per scan, subscribers'
-- own choices, the console's keys and what each scan did in each shop.
-- Mirrors migrations/postgres/20261130000007_console.sql.

-- A finding the operator dismissed: it stays listed (as dismissed), is not
-- alerted again for this episode, and its pending alerts are cancelled.
ALTER TABLE findings ADD COLUMN dismissed_at TEXT;
ALTER TABLE findings ADD COLUMN dismissed_reason TEXT;
-- The console's list, newest first, unfiltered or by brand or shop.
CREATE INDEX findings_newest ON findings (opened_at, id);
CREATE INDEX findings_by_brand ON findings (brand, opened_at);
CREATE INDEX findings_by_shop ON findings (shop, opened_at);
-- A product's findings.
CREATE INDEX findings_by_product ON findings (product_id);

-- The scan that opened the finding (NULL for rows queued before this
-- migration): an immediate alert waits until its scan ends, so that one
-- shop's scan is one message.
ALTER TABLE outbox ADD COLUMN scan_id INTEGER REFERENCES scans(id);
-- 1 when the finding was opened by the first scan of its shop.
ALTER TABLE outbox ADD COLUMN baseline INTEGER NOT NULL DEFAULT 0;
-- Rows sent together in one message share it (NULL before this migration).
ALTER TABLE outbox ADD COLUMN message_id TEXT;
-- Messages sent to an address lately (the daily cap).
CREATE INDEX outbox_sent_to ON outbox (email, status, sent_at);

-- A subscriber's own choices, one row per address; a NULL column keeps the
-- watchlist's value.
CREATE TABLE subscriptions (
    email           TEXT PRIMARY KEY,        -- lower-case
    brands          TEXT,                    -- JSON array of canonical brand names
    delivery        TEXT,                    -- 'immediate' | 'daily 08:00' | 'weekly monday 08:00'
    language        TEXT,                    -- 'fr' | 'en'
    paused          INTEGER NOT NULL DEFAULT 0,
    unsubscribed_at TEXT,
    link_version    INTEGER NOT NULL DEFAULT 0,  -- bumped to revoke every link sent
    updated_at      TEXT NOT NULL
);

-- The console's secret keys ('link', 'session'), shared by every process
-- using the database.
CREATE TABLE console_keys (
    name       TEXT PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- What one scan did in one shop (the console's shops page).
CREATE TABLE shop_scans (
    scan_id         INTEGER NOT NULL REFERENCES scans(id),
    shop            TEXT NOT NULL,
    started_at      TEXT NOT NULL,           -- real time
    finished_at     TEXT NOT NULL,           -- real time
    pages_fetched   INTEGER NOT NULL,        -- product pages read (2xx)
    pages_unchanged INTEGER NOT NULL,        -- 304 or older <lastmod>
    errors          INTEGER NOT NULL,
    robots_refused  INTEGER NOT NULL,
    response_ms_avg REAL,                    -- mean response time, ms
    findings        INTEGER NOT NULL,        -- findings opened
    failed          TEXT,                    -- why the shop could not be scanned at all
    PRIMARY KEY (scan_id, shop)
);
CREATE INDEX shop_scans_latest ON shop_scans (shop, finished_at);
