-- The console's lists of open findings (its default) over a large history.
-- Mirrors migrations/postgres/20261130000008_console_indexes.sql.

-- The open findings newest first, and their count, read from the index
-- alone: without it the count looks up every open finding's row to test
-- dismissed_at.
CREATE INDEX findings_open_newest ON findings (opened_at, id)
    WHERE closed_at IS NULL AND dismissed_at IS NULL;
-- The open findings of a rule (and severity), newest first, and their count.
CREATE INDEX findings_open_by_rule ON findings (rule, severity, opened_at, id)
    WHERE closed_at IS NULL AND dismissed_at IS NULL;
