-- Digests, language and claims for the outbox (issue 6).
ALTER TABLE outbox ADD COLUMN digest TEXT;                 -- NULL: immediate; 'daily' | 'weekly'
ALTER TABLE outbox ADD COLUMN language TEXT NOT NULL DEFAULT 'fr';
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ;   -- a worker's lease on the row
