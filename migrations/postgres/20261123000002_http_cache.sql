-- Per-URL HTTP validators and what each page yielded, for conditional GETs
-- and for revisiting only what a sitemap's <lastmod> says changed.
-- Mirrors migrations/sqlite/20261123000002_http_cache.sql.
CREATE TABLE pages (
    shop          TEXT NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    fetched_at    TIMESTAMPTZ NOT NULL,   -- wall-clock time of the last 200
    product_ids   TEXT NOT NULL DEFAULT '[]', -- JSON array of products read there
    PRIMARY KEY (shop, url)
);
