-- A product's recent price runs (120 days) and confirmation streaks, kept
-- incrementally with its baseline (JSON, see detect::history::History).
-- Mirrors migrations/sqlite/20261123000003_history.sql.
ALTER TABLE baselines ADD COLUMN history TEXT NOT NULL DEFAULT '{}';
-- Promotional wording seen with an observation (JSON [[class, text], …]),
-- so that a page answering 304 keeps its wording.
ALTER TABLE observations ADD COLUMN promo TEXT NOT NULL DEFAULT '[]';
