-- Where each reading came from, and findings about a shop as a whole (issue 12).
-- Mirrors migrations/postgres/20261123000006_reading_and_shop_findings.sql.

-- The source of the former (reference) price of an observation, as
-- extract::Source::as_str names it (`jsonld`, `product_block`, `buy_box`…);
-- NULL when no former price was read, or for observations recorded before
-- this migration.
ALTER TABLE observations ADD COLUMN reference_source TEXT;
-- The warnings of the reading (a disagreement between sources, a former
-- price taken from the markup…), as a JSON array of strings: '[]' when the
-- reading had none; NULL for observations recorded before this migration.
ALTER TABLE observations ADD COLUMN warnings TEXT;

-- What a finding is about: 'product' (one product's offer), or 'shop' (the
-- shop as a whole: site-wide wording such as a "SOLDES" header banner). A
-- shop-level finding belongs to the shop's pseudo product (product_key
-- 'shop:site'), which has no observation and no baseline, so the unique
-- index findings_one_open keeps one open finding per rule and shop.
ALTER TABLE findings ADD COLUMN scope TEXT NOT NULL DEFAULT 'product';
