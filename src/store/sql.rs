//! The store's statements, written once with PostgreSQL's `$n`
//! placeholders (SQLite reads them as `?n`). Multi-row inserts are a head
//! (`INSERT INTO … `) and a tail (`ON CONFLICT …`) around the rows a
//! `QueryBuilder` pushes. A list of ids is one parameter, `= ANY($n)`.

/// The columns of [`super::EvidenceRow`].
macro_rules! evidence_columns {
    () => {
        "id, url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash"
    };
}

/// The columns of [`super::FindingRow`].
macro_rules! finding_columns {
    () => {
        "id, rule, severity, legal_basis, shop, brand, product_name, url, \
         price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, \
         closed_at, evidence_id, scope, product_id, dismissed_at, dismissed_reason"
    };
}

pub(super) const BEGIN_SCAN: &str =
    "INSERT INTO scans (started_at, wall_started) VALUES ($1, $2) RETURNING id";

pub(super) const FINISH_SCAN: &str =
    "UPDATE scans SET finished_at = $1, summary = $2 WHERE id = $3";

/// A shop's products with their baseline and latest observation
/// ([`super::rows::ShopProductRow`]).
pub(super) const SHOP_PRODUCTS: &str = "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
        b.regular_minor, b.currency AS b_currency, b.last_price_minor, b.last_observed_at, b.observations, b.history, \
        o.price_minor, o.currency, o.reference_minor, o.reference_kind, o.percent_badge, o.availability, o.promo, \
        o.reference_source, o.warnings \
     FROM products p \
     LEFT JOIN baselines b ON b.product_id = p.id \
     LEFT JOIN observations o ON o.id = (SELECT id FROM observations WHERE product_id = p.id \
                                         ORDER BY observed_at DESC, id DESC LIMIT 1) \
     WHERE p.shop = $1";

/// The open findings of a shop's products (ordered by the caller: the
/// backends' text orderings differ).
pub(super) const SHOP_OPEN_FINDINGS: &str = "SELECT f.product_id, f.rule, f.percent FROM findings f \
     JOIN products p ON p.id = f.product_id WHERE p.shop = $1 AND f.closed_at IS NULL";

pub(super) const SHOP_PAGES: &str =
    "SELECT url, etag, last_modified, fetched_at, product_ids FROM pages WHERE shop = $1";

pub(super) const INSERT_PRODUCTS: &str = "INSERT INTO products (shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen) ";

/// A product scraped again takes the scraped fields.
pub(super) const UPSERT_PRODUCTS_TAIL: &str = " ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
     brand = excluded.brand, sku = excluded.sku, gtin = excluded.gtin, variant = excluded.variant, \
     last_seen = excluded.last_seen RETURNING product_key, id";

/// A shop's pseudo product keeps no SKU, GTIN or variant of its own.
pub(super) const UPSERT_SUBJECT_TAIL: &str = " ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
     brand = excluded.brand, last_seen = excluded.last_seen RETURNING product_key, id";

pub(super) const INSERT_OBSERVATIONS: &str = "INSERT INTO observations (scan_id, product_id, observed_at, price_minor, currency, \
     reference_minor, reference_kind, percent_badge, availability, source, promo, \
     reference_source, warnings) ";

/// Rows sharing (scan, product): the first is kept.
pub(super) const INSERT_OBSERVATIONS_TAIL: &str = " ON CONFLICT (scan_id, product_id) DO NOTHING";

pub(super) const INSERT_BASELINES: &str = "INSERT INTO baselines (product_id, regular_minor, currency, last_price_minor, last_observed_at, observations, history) ";

pub(super) const UPSERT_BASELINES_TAIL: &str = " ON CONFLICT (product_id) DO UPDATE SET regular_minor = excluded.regular_minor, \
     currency = excluded.currency, last_price_minor = excluded.last_price_minor, \
     last_observed_at = excluded.last_observed_at, observations = excluded.observations, \
     history = excluded.history";

pub(super) const INSERT_PAGES: &str =
    "INSERT INTO pages (shop, url, etag, last_modified, fetched_at, product_ids) ";

pub(super) const UPSERT_PAGES_TAIL: &str = " ON CONFLICT (shop, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
     fetched_at = excluded.fetched_at, product_ids = excluded.product_ids";

pub(super) const CLOSE_FINDING: &str =
    "UPDATE findings SET closed_at = $1 WHERE product_id = $2 AND rule = $3 AND closed_at IS NULL";

/// A rule already open for the product opens nothing (no id returned).
pub(super) const INSERT_FINDING: &str = "INSERT INTO findings (rule, severity, legal_basis, product_id, shop, brand, product_name, url, \
     price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, evidence_id, scope) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17) \
     ON CONFLICT (rule, product_id) WHERE closed_at IS NULL DO NOTHING RETURNING id";

pub(super) const INSERT_OUTBOX: &str = "INSERT INTO outbox (finding_id, subscriber, email, next_attempt_at, created_at, digest, language, \
     scan_id, baseline) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (finding_id, email) DO NOTHING";

pub(super) const LAST_EVIDENCE_HASH: &str = "SELECT hash FROM evidence ORDER BY id DESC LIMIT 1";

pub(super) const INSERT_EVIDENCE: &str = "INSERT INTO evidence (url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// Points findings (`$2`, a list of ids) at an evidence record.
pub(super) const SET_EVIDENCE: &str = "UPDATE findings SET evidence_id = $1 WHERE id = ANY($2)";

/// Leases due rows (`{lock}`: how the backend keeps concurrent claims
/// apart). An immediate row waits while its scan runs, so that one shop's
/// scan is one message, unless it was created before `$4` (a scan that
/// crashed holds no alert forever).
pub(super) const CLAIM_OUTBOX: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (\
        SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
        AND (claimed_until IS NULL OR claimed_until <= $2) \
        AND (digest IS NOT NULL OR scan_id IS NULL OR created_at < $4 \
             OR EXISTS (SELECT 1 FROM scans s WHERE s.id = outbox.scan_id AND s.finished_at IS NOT NULL)) \
        ORDER BY id LIMIT $3{lock}) \
     RETURNING id, finding_id, subscriber, email, attempts, digest, language, scan_id, baseline";

/// The findings of claimed rows (`$1`, a list of ids).
pub(super) const FINDINGS_BY_ID: &str = concat!(
    "SELECT ",
    finding_columns!(),
    " FROM findings WHERE id = ANY($1)"
);

/// `$2`: a list of ids; `$3`: the message they were sent in.
pub(super) const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL, \
     claimed_until = NULL, message_id = $3 WHERE id = ANY($2)";

/// `$4`: a list of ids.
pub(super) const MARK_FAILED: &str = "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
     next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL WHERE id = ANY($4)";

pub(super) const RETRY_DEAD: &str = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, \
     claimed_until = NULL WHERE status = 'dead'";

/// `$2`: a list of ids.
pub(super) const RETRY_DEAD_IDS_TAIL: &str = " AND id = ANY($2)";

/// `{filter}`: empty, or a `WHERE` on `o.status`.
pub(super) const OUTBOX_LIST: &str = "SELECT o.id, o.status, o.subscriber, o.email, o.digest, o.attempts, o.next_attempt_at, \
     o.last_error, o.sent_at, o.finding_id, f.rule, f.brand, f.shop \
     FROM outbox o JOIN findings f ON f.id = o.finding_id {filter} ORDER BY o.id DESC LIMIT $1";

pub(super) const OUTBOX_COUNTS: &str = "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status";

/// The observations of the products a needle names
/// ([`super::rows::ObservedRow`]).
pub(super) const HISTORY: &str = "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
        o.observed_at, o.price_minor, o.currency, o.reference_minor, o.reference_kind, \
        o.percent_badge, o.availability, o.promo, o.reference_source, o.warnings \
     FROM products p JOIN observations o ON o.product_id = p.id \
     WHERE p.product_key = $1 OR p.url = $1 OR p.sku = $1 OR p.gtin = $1 \
     ORDER BY p.id, o.observed_at, o.id";

/// The observation series of a page of products ([`super::rows::ObservedRow`]).
pub(super) const SERIES_AFTER: &str = "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
        o.observed_at, o.price_minor, o.currency, o.reference_minor, o.reference_kind, \
        o.percent_badge, o.availability, o.promo, o.reference_source, o.warnings \
     FROM (SELECT * FROM products WHERE id > $1 ORDER BY id LIMIT $2) p \
     JOIN observations o ON o.product_id = p.id ORDER BY p.id, o.observed_at, o.id";

pub(super) const FINDING: &str = concat!(
    "SELECT ",
    finding_columns!(),
    " FROM findings WHERE id = $1"
);

pub(super) const FINDINGS: &str =
    concat!("SELECT ", finding_columns!(), " FROM findings WHERE 1 = 1");

pub(super) const EVIDENCE: &str = concat!(
    "SELECT ",
    evidence_columns!(),
    " FROM evidence WHERE id = $1"
);

pub(super) const EVIDENCE_AFTER: &str = concat!(
    "SELECT ",
    evidence_columns!(),
    " FROM evidence WHERE id > $1 ORDER BY id LIMIT $2"
);

/// The console's findings list: filters follow, pushed by a `QueryBuilder`.
pub(super) const FINDINGS_PAGE: &str =
    concat!("SELECT ", finding_columns!(), " FROM findings WHERE 1 = 1");

/// How many findings match the console's filters (pushed after it).
pub(super) const FINDINGS_COUNT: &str = "SELECT COUNT(*) FROM findings WHERE 1 = 1";

/// Whether a finding exists and when it was dismissed.
pub(super) const FINDING_DISMISSED: &str = "SELECT dismissed_at FROM findings WHERE id = $1";

pub(super) const DISMISS_FINDING: &str = "UPDATE findings SET dismissed_at = $1, dismissed_reason = $2 \
     WHERE id = $3 AND dismissed_at IS NULL";

/// Cancels a finding's pending alerts; `$1` is their `last_error`.
pub(super) const CANCEL_FINDING_OUTBOX: &str = "UPDATE outbox SET status = 'cancelled', last_error = $1, claimed_until = NULL \
     WHERE finding_id = $2 AND status = 'pending'";

pub(super) const DISMISSALS_BY_RULE: &str = "SELECT rule, COUNT(*) FROM findings \
     WHERE dismissed_at IS NOT NULL GROUP BY rule ORDER BY rule";

/// The columns of [`super::ProductRow`].
macro_rules! product_row_columns {
    () => {
        "id, shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen"
    };
}

pub(super) const PRODUCT: &str = concat!(
    "SELECT ",
    product_row_columns!(),
    " FROM products WHERE id = $1"
);

pub(super) const PRODUCTS_AT: &str = concat!(
    "SELECT ",
    product_row_columns!(),
    " FROM products WHERE shop = $1 AND url = $2 ORDER BY id"
);

/// A product's observations, oldest first ([`super::rows::PointRow`]).
pub(super) const OBSERVATIONS_OF: &str = "SELECT product_id AS id, observed_at, price_minor, currency, reference_minor, \
        reference_kind, percent_badge, availability, promo, reference_source, warnings \
     FROM observations WHERE product_id = $1 ORDER BY observed_at, id";

/// The columns of [`super::rows::PreferenceRow`].
macro_rules! preference_columns {
    () => {
        "email, brands, delivery, language, paused, unsubscribed_at, link_version, updated_at"
    };
}

pub(super) const PREFERENCES: &str = concat!(
    "SELECT ",
    preference_columns!(),
    " FROM subscriptions ORDER BY email"
);

pub(super) const PREFERENCE: &str = concat!(
    "SELECT ",
    preference_columns!(),
    " FROM subscriptions WHERE email = $1"
);

pub(super) const SAVE_PREFERENCE: &str = "INSERT INTO subscriptions (email, brands, delivery, language, paused, unsubscribed_at, \
        link_version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (email) DO UPDATE SET brands = excluded.brands, delivery = excluded.delivery, \
        language = excluded.language, paused = excluded.paused, \
        unsubscribed_at = excluded.unsubscribed_at, link_version = excluded.link_version, \
        updated_at = excluded.updated_at";

/// Cancels the pending alerts to an address, whatever its case; `$1` is
/// their `last_error`.
pub(super) const CANCEL_OUTBOX_TO: &str = "UPDATE outbox SET status = 'cancelled', last_error = $1, claimed_until = NULL \
     WHERE LOWER(email) = LOWER($2) AND status = 'pending'";

/// The first key offered under a name is kept.
pub(super) const INSERT_CONSOLE_KEY: &str = "INSERT INTO console_keys (name, key, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO NOTHING";

pub(super) const CONSOLE_KEY: &str = "SELECT key FROM console_keys WHERE name = $1";

/// Rows marked sent together (one `message_id`) count once.
pub(super) const MESSAGES_SENT_SINCE: &str = "SELECT COUNT(DISTINCT COALESCE(message_id, CAST(id AS TEXT))) FROM outbox \
     WHERE email = $1 AND status = 'sent' AND sent_at >= $2";

/// `$3`: a list of ids.
pub(super) const DEFER_OUTBOX: &str = "UPDATE outbox SET digest = $1, next_attempt_at = $2, claimed_until = NULL \
     WHERE id = ANY($3)";

/// The columns of [`super::ShopScanRow`].
macro_rules! shop_scan_columns {
    () => {
        "scan_id, shop, started_at, finished_at, pages_fetched, pages_unchanged, errors, \
         robots_refused, response_ms_avg, findings, failed"
    };
}

/// A run taken over records its scan and shop once: the last record wins.
pub(super) const RECORD_SHOP_SCAN: &str = concat!(
    "INSERT INTO shop_scans (",
    shop_scan_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (scan_id, shop) DO UPDATE SET started_at = excluded.started_at, \
        finished_at = excluded.finished_at, pages_fetched = excluded.pages_fetched, \
        pages_unchanged = excluded.pages_unchanged, errors = excluded.errors, \
        robots_refused = excluded.robots_refused, response_ms_avg = excluded.response_ms_avg, \
        findings = excluded.findings, failed = excluded.failed"
);

/// Each shop's record with the latest end (the greatest scan on a tie).
pub(super) const LATEST_SHOP_SCANS: &str = concat!(
    "SELECT ",
    shop_scan_columns!(),
    " FROM shop_scans s WHERE NOT EXISTS (SELECT 1 FROM shop_scans l WHERE l.shop = s.shop \
        AND (l.finished_at > s.finished_at OR (l.finished_at = s.finished_at AND l.scan_id > s.scan_id))) \
     ORDER BY shop"
);
