-- Scale-out (issue 7): scheduled shop runs shared by a fleet of workers, and
-- per-host leases so that one host is crawled by one worker at a time.
-- Mirrors migrations/postgres/20261123000005_fleet.sql.

-- One row per shop and scheduled slot: the first worker to see the slot
-- inserts it, the others find it there (UNIQUE), so a schedule fires once
-- per fleet.
CREATE TABLE shop_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    shop        TEXT NOT NULL,
    host        TEXT NOT NULL,            -- the shop's host: the unit of the lease
    slot        TEXT NOT NULL,           -- the scheduled time this run is for
    due_at      TEXT NOT NULL,           -- the slot plus its jitter (real time)
    status      TEXT NOT NULL,            -- due | running | done | failed | skipped
    worker      TEXT,                     -- who holds it (running)
    lease_until TEXT,            -- renewed while running; taken over after
    attempts    INTEGER NOT NULL DEFAULT 0,-- claims so far (a takeover adds one)
    scan_id     INTEGER REFERENCES scans(id), -- kept across takeovers: one scan per run
    scan_clock  TEXT,            -- the scan clock of the run
    started_at  TEXT,
    finished_at TEXT,
    summary     TEXT,                     -- JSON, or the error of a failed run
    UNIQUE (shop, slot)
);
-- At most one unfinished run per shop: a slot that comes while the previous
-- run still goes is recorded as skipped.
CREATE UNIQUE INDEX shop_runs_one_unfinished ON shop_runs (shop) WHERE status IN ('due', 'running');
CREATE INDEX shop_runs_claimable ON shop_runs (status, due_at);

-- Who crawls a host, until when, and when the next request to it may start
-- (the end of the last one plus the host's interval), across the fleet.
CREATE TABLE host_leases (
    host        TEXT PRIMARY KEY,
    worker      TEXT,
    lease_until TEXT,
    free_at     TEXT NOT NULL
);
