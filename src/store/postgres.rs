//! The PostgreSQL store, for several workers sharing one database.
//!
//! It mirrors [`super::SqliteStore`] statement for statement: the same
//! transaction in `write_batch`, the same orderings, the same `ON CONFLICT`
//! clauses, so the two pass one contract test suite
//! (`tests/integration/store_contract.rs`). The differences are PostgreSQL's:
//!
//! - Timestamps are `TIMESTAMPTZ`, which keeps microseconds: a time with
//!   nanoseconds reads back truncated to the microsecond.
//! - `TEXT` cannot hold U+0000; a NUL in scraped text is stored as U+FFFD
//!   instead of failing the whole batch.
//! - A multi-row `ON CONFLICT DO UPDATE` may not touch a row twice, so rows
//!   of one statement that share a key are merged first, the last one
//!   winning as it does when SQLite applies them in order.
//! - Appending to the evidence hash chain takes a transaction-level advisory
//!   lock, so that concurrent writers never fork the chain; a batch appends
//!   its evidence last, just before its commit, so the lock is held briefly.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, FromRow, Postgres, QueryBuilder, Row, Transaction};

use super::{
    Baseline, Batch, BatchResult, EvidenceInput, EvidenceRow, FindingChanges, FindingFilter,
    FindingRow, KnownProduct, OutboxCounts, OutboxEntry, OutboxItem, PageCache, ProductRecord,
    Series, ShopFindings, ShopSnapshot, Store, StoreError, StoredObservation, evidence_hash,
    warnings_from_json, warnings_to_json,
};
use crate::domain::{Currency, Money, Rule};

/// `last_seen_at` updates of open findings, sent together.
#[derive(Default)]
struct SeenAgain {
    products: Vec<i64>,
    rules: Vec<String>,
    at: Vec<DateTime<Utc>>,
}

impl SeenAgain {
    fn push(&mut self, product: i64, rule: String, at: DateTime<Utc>) {
        self.products.push(product);
        self.rules.push(rule);
        self.at.push(at);
    }

    fn len(&self) -> usize {
        self.products.len()
    }

    /// Sends the updates waiting; returns how many open findings they touched
    /// (counted per update, as one statement each would count them).
    async fn flush(&mut self, tx: &mut Transaction<'_, Postgres>) -> Result<usize, StoreError> {
        if self.products.is_empty() {
            return Ok(0);
        }
        // One row per finding: a finding updated twice takes the later
        // time, as two statements in order would leave it.
        let products = std::mem::take(&mut self.products);
        let rules = std::mem::take(&mut self.rules);
        let at = std::mem::take(&mut self.at);
        let mut last: HashMap<(i64, &str), DateTime<Utc>> = HashMap::new();
        for ((p, r), a) in products.iter().zip(&rules).zip(&at) {
            last.insert((*p, r.as_str()), *a);
        }
        let (mut ps, mut rs, mut ats) = (Vec::new(), Vec::new(), Vec::new());
        for ((p, r), a) in &last {
            ps.push(*p);
            rs.push(r.to_string());
            ats.push(*a);
        }
        let hit: Vec<(i64, String)> = sqlx::query_as(
            "UPDATE findings f SET last_seen_at = u.at \
             FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(product_id, rule, at) \
             WHERE f.product_id = u.product_id AND f.rule = u.rule AND f.closed_at IS NULL \
             RETURNING f.product_id, f.rule",
        )
        .bind(ps)
        .bind(rs)
        .bind(ats)
        .fetch_all(&mut **tx)
        .await?;
        let hit: std::collections::HashSet<(i64, &str)> =
            hit.iter().map(|(p, r)| (*p, r.as_str())).collect();
        // Counted per update, as one statement each would count them.
        Ok(products
            .iter()
            .zip(&rules)
            .filter(|(p, r)| hit.contains(&(**p, r.as_str())))
            .count())
    }
}

/// Rows per multi-row statement: 13 columns × 1000 rows stays far below
/// PostgreSQL's 65535 bind parameters.
const CHUNK: usize = 1000;

/// The advisory lock held while a transaction appends to the evidence chain.
const EVIDENCE_CHAIN_LOCK: i64 = 0x7669_6769_6500_0001;

const EVIDENCE_COLUMNS: &str =
    "id, url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash";

const FINDING_COLUMNS: &str = "id, rule, severity, legal_basis, shop, brand, product_name, url, \
     price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, \
     closed_at, evidence_id, scope";

/// PostgreSQL-backed [`Store`].
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Text as PostgreSQL can store it: U+0000 becomes U+FFFD.
fn t(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`t`] for an optional text.
fn ot(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(t)
}

/// Rows with distinct keys, in first-occurrence order; a later row with
/// the same key is merged into the earlier one by `merge(earlier, later)`.
fn merge_by_key<T, K: Eq + Hash>(
    rows: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    merge: impl Fn(&mut T, T),
) -> Vec<T> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for row in rows {
        match at.entry(key(&row)) {
            Entry::Occupied(e) => merge(&mut out[*e.get()], row),
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
        }
    }
    out
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` or `postgresql://` URL.
    /// Errors name the URL with its password redacted.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let open_err = |source| StoreError::Open {
            url: crate::config::redact_url(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(open_err)?;
        // One direct connection first: a refused connection or a bad
        // password is reported at once and as itself, where the pool would
        // retry until its timeout and then only say that it timed out.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(open_err)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        Ok(PostgresStore { pool })
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore { pool }
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Inserts one evidence record chained to `prev`; returns its id and hash.
    async fn insert_evidence(
        tx: &mut Transaction<'_, Postgres>,
        e: &EvidenceInput,
        prev: &str,
    ) -> Result<(i64, String), StoreError> {
        let body_sha256 = &e.body_sha256;
        let headers =
            serde_json::to_string(&e.headers).map_err(|x| StoreError::Corrupt(x.to_string()))?;
        let record = e.record.to_string();
        let fetched_at = e.fetched_at.to_rfc3339();
        // JSON escapes control characters and URLs are percent-encoded, so
        // no NUL reaches these columns: what is stored is what was hashed.
        let hash = evidence_hash(
            prev,
            &e.url,
            &fetched_at,
            e.status,
            &headers,
            body_sha256,
            &record,
        );
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO evidence (url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(t(&e.url))
        .bind(&fetched_at)
        .bind(i64::from(e.status))
        .bind(&headers)
        .bind(body_sha256)
        .bind(&e.body_zstd)
        .bind(&record)
        .bind(prev)
        .bind(&hash)
        .fetch_one(&mut **tx)
        .await?;
        Ok((id, hash))
    }

    /// Opens findings for one subject (a batch item, or a shop's pseudo
    /// product), with their outbox rows; its evidence waits in `evidence`
    /// with the findings it backs.
    async fn raise<'b>(
        tx: &mut Transaction<'_, Postgres>,
        it: FindingChanges<'b>,
        product_id: i64,
        evidence: &mut Vec<(Vec<i64>, &'b EvidenceInput)>,
        done: &mut BatchResult,
    ) -> Result<(), StoreError> {
        let at = it.at;
        let mut opened = Vec::new();
        for f in it.raise {
            let p = it.product;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO findings (rule, severity, legal_basis, product_id, shop, brand, product_name, url, \
                 price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, evidence_id, scope) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                 ON CONFLICT (rule, product_id) WHERE closed_at IS NULL DO NOTHING RETURNING id",
            )
            .bind(f.rule)
            .bind(f.severity)
            .bind(t(&f.legal_basis))
            .bind(product_id)
            .bind(t(&p.shop))
            .bind(t(&p.brand))
            .bind(ot(&p.name))
            .bind(t(&p.url))
            .bind(f.price.minor)
            .bind(f.reference.map(|m| m.minor))
            .bind(f.price.currency.as_str())
            .bind(f.percent.map(i64::from))
            .bind(t(&f.calendar))
            .bind(f.details.to_string())
            .bind(at)
            .bind(at)
            .bind(None::<i64>)
            .bind(it.scope)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(id) = id else {
                done.continued += 1;
                continue;
            };
            opened.push(id);
            done.opened.push((id, p.product_key.clone(), f.rule));
            for r in it
                .recipients
                .iter()
                .filter(|r| r.accepts(f.rule, f.severity))
            {
                done.queued += sqlx::query(
                    "INSERT INTO outbox (finding_id, subscriber, email, next_attempt_at, created_at, digest, language) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (finding_id, email) DO NOTHING",
                )
                .bind(id)
                .bind(t(&r.name))
                .bind(r.email.as_str())
                .bind(r.deliver_at)
                .bind(Utc::now())
                .bind(&r.digest)
                .bind(&r.language)
                .execute(&mut **tx)
                .await?
                .rows_affected() as usize;
            }
        }
        if !it.raise.is_empty()
            && let Some(e) = it.evidence
        {
            evidence.push((opened, e));
        }
        Ok(())
    }

    /// Appends the batch's evidence to the chain, in batch order, and points
    /// the findings at it. Last in the transaction: the chain's lock is
    /// held from here to the commit only, so concurrent writers wait for
    /// each other's evidence, not for each other's whole batch.
    async fn append_evidence(
        tx: &mut Transaction<'_, Postgres>,
        evidence: &[(Vec<i64>, &EvidenceInput)],
    ) -> Result<(), StoreError> {
        if evidence.is_empty() {
            return Ok(());
        }
        // Held until commit: one writer at a time extends the chain.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVIDENCE_CHAIN_LOCK)
            .execute(&mut **tx)
            .await?;
        let mut prev: String =
            sqlx::query_scalar("SELECT hash FROM evidence ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await?
                .unwrap_or_else(|| "0".repeat(64));
        for (findings, e) in evidence {
            let (id, hash) = Self::insert_evidence(tx, e, &prev).await?;
            if !findings.is_empty() {
                sqlx::query("UPDATE findings SET evidence_id = $1 WHERE id = ANY($2)")
                    .bind(id)
                    .bind(findings)
                    .execute(&mut **tx)
                    .await?;
            }
            prev = hash;
        }
        Ok(())
    }
}

/// An observation read from a row with the observation columns and the
/// currency in `currency_col`.
fn stored_observation(row: &PgRow, currency_col: &str) -> Result<StoredObservation, StoreError> {
    let currency: String = row.try_get(currency_col)?;
    let reference: Option<i64> = row.try_get("reference_minor")?;
    let badge: Option<i64> = row.try_get("percent_badge")?;
    Ok(StoredObservation {
        price: money(row.try_get("price_minor")?, &currency)?,
        reference: reference.map(|m| money(m, &currency)).transpose()?,
        reference_kind: row.try_get("reference_kind")?,
        percent_badge: badge.and_then(|b| u32::try_from(b).ok()),
        availability: row.try_get("availability")?,
        promo: serde_json::from_str(&row.try_get::<String, _>("promo")?).unwrap_or_default(),
        reference_source: row.try_get("reference_source")?,
        warnings: warnings_from_json(row.try_get::<Option<String>, _>("warnings")?.as_deref())?,
    })
}

fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    Currency::new(currency)
        .map(|c| Money::new(minor, c))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The finding columns qualified with the table alias `f`.
fn finding_columns_of_f() -> String {
    FINDING_COLUMNS
        .split(',')
        .map(|c| format!("f.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn begin_scan(&self, at: DateTime<Utc>) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO scans (started_at, wall_started) VALUES ($1, $2) RETURNING id",
        )
        .bind(at)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn finish_scan(
        &self,
        scan_id: i64,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE scans SET finished_at = $1, summary = $2 WHERE id = $3")
            .bind(Utc::now())
            .bind(summary.to_string())
            .bind(scan_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn load_shop(&self, shop: &str) -> Result<ShopSnapshot, StoreError> {
        let shop = t(shop);
        let rows = sqlx::query(
            "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
                    b.regular_minor, b.currency AS b_currency, b.last_price_minor, b.last_observed_at, b.observations, b.history, \
                    o.price_minor, o.currency AS o_currency, o.reference_minor, o.reference_kind, o.percent_badge, o.availability, o.promo, \
                    o.reference_source, o.warnings \
             FROM products p \
             LEFT JOIN baselines b ON b.product_id = p.id \
             LEFT JOIN observations o ON o.id = (SELECT id FROM observations WHERE product_id = p.id \
                                                 ORDER BY observed_at DESC, id DESC LIMIT 1) \
             WHERE p.shop = $1",
        )
        .bind(&shop)
        .fetch_all(&self.pool)
        .await?;
        let mut snap = ShopSnapshot::default();
        let mut by_id = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let record = ProductRecord::from_row(&row)?;
            let baseline = match row.try_get::<Option<String>, _>("b_currency")? {
                Some(c) => {
                    let regular: Option<i64> = row.try_get("regular_minor")?;
                    Some(Baseline {
                        regular: regular.map(|m| money(m, &c)).transpose()?,
                        last_price: money(row.try_get("last_price_minor")?, &c)?,
                        last_observed_at: row.try_get("last_observed_at")?,
                        observations: row.try_get("observations")?,
                        history: serde_json::from_str(&row.try_get::<String, _>("history")?)
                            .map_err(|e| {
                                StoreError::Corrupt(format!(
                                    "baseline history of product {id}: {e}"
                                ))
                            })?,
                    })
                }
                None => None,
            };
            let last = match row.try_get::<Option<String>, _>("o_currency")? {
                Some(_) => Some(stored_observation(&row, "o_currency")?),
                None => None,
            };
            by_id.insert(id, record.product_key.clone());
            snap.products.insert(
                record.product_key.clone(),
                KnownProduct {
                    id,
                    record,
                    baseline,
                    open_rules: Vec::new(),
                    last,
                },
            );
        }
        // Byte order, as SQLite sorts text, whatever the database's collation.
        let open: Vec<(i64, Rule, Option<i64>)> = sqlx::query_as(
            "SELECT f.product_id, f.rule, f.percent FROM findings f JOIN products p ON p.id = f.product_id \
             WHERE p.shop = $1 AND f.closed_at IS NULL ORDER BY f.rule COLLATE \"C\"",
        )
        .bind(&shop)
        .fetch_all(&self.pool)
        .await?;
        for (id, rule, percent) in open {
            if let Some(p) = by_id.get(&id).and_then(|k| snap.products.get_mut(k)) {
                p.open_rules
                    .push((rule, percent.and_then(|p| u32::try_from(p).ok())));
            }
        }
        let rows = sqlx::query(
            "SELECT url, etag, last_modified, fetched_at, product_ids FROM pages WHERE shop = $1",
        )
        .bind(&shop)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let ids: String = row.try_get("product_ids")?;
            snap.pages.insert(
                row.try_get("url")?,
                PageCache {
                    etag: row.try_get("etag")?,
                    last_modified: row.try_get("last_modified")?,
                    fetched_at: row.try_get("fetched_at")?,
                    product_ids: serde_json::from_str(&ids)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                },
            );
        }
        Ok(snap)
    }

    async fn write_batch(&self, batch: &Batch) -> Result<BatchResult, StoreError> {
        let mut done = BatchResult::default();
        if batch.is_empty() {
            return Ok(done);
        }
        let mut tx = self.pool.begin().await?;
        let mut returned: HashMap<String, i64> = HashMap::new();
        // Products, many rows a statement. A product listed twice keeps its
        // first time as `first_seen` and takes the rest from the last row.
        for chunk in batch.items.chunks(CHUNK) {
            let rows = merge_by_key(
                chunk.iter().map(|it| (it.observation.observed_at, it)),
                |(_, it)| (it.product.shop.as_str(), it.product.product_key.as_str()),
                |earlier, (_, later)| earlier.1 = later,
            );
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO products (shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen) ",
            );
            q.push_values(rows, |mut b, (first_seen, it)| {
                let p = &it.product;
                b.push_bind(t(&p.shop))
                    .push_bind(t(&p.product_key))
                    .push_bind(t(&p.url))
                    .push_bind(ot(&p.name))
                    .push_bind(t(&p.brand))
                    .push_bind(ot(&p.sku))
                    .push_bind(ot(&p.gtin))
                    .push_bind(ot(&p.variant))
                    .push_bind(first_seen)
                    .push_bind(it.observation.observed_at);
            });
            q.push(
                " ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
                 brand = excluded.brand, sku = excluded.sku, gtin = excluded.gtin, variant = excluded.variant, \
                 last_seen = excluded.last_seen RETURNING product_key, id",
            );
            let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            returned.extend(rows);
        }
        // Keys as the database returned them (a NUL stored as U+FFFD); the
        // result names products by the keys the batch gave.
        let id_of = |key: &str| -> Result<i64, StoreError> {
            returned
                .get(t(key).as_ref())
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no id returned for product {key}")))
        };
        for it in &batch.items {
            let key = &it.product.product_key;
            done.product_ids.insert(key.clone(), id_of(key)?);
        }
        let mut ids = Vec::with_capacity(batch.items.len());
        for it in &batch.items {
            ids.push(id_of(&it.product.product_key)?);
        }
        for (chunk, chunk_ids) in batch.items.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
            // Rows sharing (scan, product): the first is kept, as SQLite does.
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO observations (scan_id, product_id, observed_at, price_minor, currency, \
                 reference_minor, reference_kind, percent_badge, availability, source, promo, \
                 reference_source, warnings) ",
            );
            q.push_values(chunk.iter().zip(chunk_ids), |mut b, (it, id)| {
                let o = &it.observation;
                b.push_bind(o.scan_id)
                    .push_bind(*id)
                    .push_bind(o.observed_at)
                    .push_bind(o.price.minor)
                    .push_bind(o.price.currency.as_str())
                    .push_bind(o.reference.map(|m| m.minor))
                    .push_bind(o.reference_kind)
                    .push_bind(o.percent_badge.map(i64::from))
                    .push_bind(ot(&o.availability))
                    .push_bind(o.source)
                    .push_bind(serde_json::to_string(&o.promo).unwrap_or_else(|_| "[]".into()))
                    .push_bind(o.reference_source)
                    // JSON escapes control characters: no NUL reaches the column.
                    .push_bind(warnings_to_json(&o.warnings));
            });
            q.push(" ON CONFLICT (scan_id, product_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;

            // A product's baseline written twice: the last one wins.
            let rows = merge_by_key(
                chunk.iter().zip(chunk_ids).map(|(it, id)| {
                    let h =
                        serde_json::to_string(&it.baseline.history).unwrap_or_else(|_| "{}".into());
                    (*id, &it.baseline, h)
                }),
                |(id, _, _)| *id,
                |earlier, later| *earlier = later,
            );
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO baselines (product_id, regular_minor, currency, last_price_minor, last_observed_at, observations, history) ",
            );
            q.push_values(rows, |mut b, (id, bl, h)| {
                b.push_bind(id)
                    .push_bind(bl.regular.map(|m| m.minor))
                    .push_bind(bl.last_price.currency.as_str())
                    .push_bind(bl.last_price.minor)
                    .push_bind(bl.last_observed_at)
                    .push_bind(bl.observations)
                    .push_bind(h);
            });
            q.push(
                " ON CONFLICT (product_id) DO UPDATE SET regular_minor = excluded.regular_minor, \
                 currency = excluded.currency, last_price_minor = excluded.last_price_minor, \
                 last_observed_at = excluded.last_observed_at, observations = excluded.observations, \
                 history = excluded.history",
            );
            q.build().execute(&mut *tx).await?;
        }
        let mut evidence: Vec<(Vec<i64>, &EvidenceInput)> = Vec::new();
        // Open findings seen again are the common case (each observation of
        // a product under an open finding): their `last_seen_at` updates
        // wait in `seen` and go as one statement, flushed before any close
        // or raise so that the order of the statements is the batch's.
        let mut seen = SeenAgain::default();
        for (it, &product_id) in batch.items.iter().zip(&ids) {
            let at = it.observation.observed_at;
            if !it.close_rules.is_empty() || !it.raise.is_empty() {
                done.continued += seen.flush(&mut tx).await?;
            }
            for rule in &it.close_rules {
                done.closed += sqlx::query(
                    "UPDATE findings SET closed_at = $1 WHERE product_id = $2 AND rule = $3 AND closed_at IS NULL",
                )
                .bind(at)
                .bind(product_id)
                .bind(*rule)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            }
            for r in &it.continue_rules {
                seen.push(product_id, r.as_str().to_string(), at);
                if seen.len() >= CHUNK {
                    done.continued += seen.flush(&mut tx).await?;
                }
            }
            if !it.raise.is_empty() {
                done.continued += seen.flush(&mut tx).await?;
            }
            Self::raise(&mut tx, it.changes(), product_id, &mut evidence, &mut done).await?;
        }
        done.continued += seen.flush(&mut tx).await?;
        for chunk in batch.pages.chunks(CHUNK) {
            let mut rows = Vec::with_capacity(chunk.len());
            for pw in chunk {
                let ids: Vec<i64> = pw
                    .product_keys
                    .iter()
                    .map(|k| id_of(k))
                    .collect::<Result<_, _>>()?;
                let ids =
                    serde_json::to_string(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                rows.push((pw, ids));
            }
            // A page written twice: the last one wins.
            let rows = merge_by_key(
                rows,
                |(pw, _)| t(&pw.url).into_owned(),
                |earlier, later| *earlier = later,
            );
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO pages (shop, url, etag, last_modified, fetched_at, product_ids) ",
            );
            q.push_values(rows, |mut b, (pw, ids)| {
                b.push_bind(t(&batch.shop))
                    .push_bind(t(&pw.url))
                    .push_bind(ot(&pw.cache.etag))
                    .push_bind(ot(&pw.cache.last_modified))
                    .push_bind(pw.cache.fetched_at.unwrap_or_else(Utc::now))
                    .push_bind(ids);
            });
            q.push(
                " ON CONFLICT (shop, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
                 fetched_at = excluded.fetched_at, product_ids = excluded.product_ids",
            );
            q.build().execute(&mut *tx).await?;
        }
        Self::append_evidence(&mut tx, &evidence).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn write_shop_findings(&self, w: &ShopFindings) -> Result<BatchResult, StoreError> {
        let mut done = BatchResult::default();
        if w.is_empty() {
            return Ok(done);
        }
        let mut tx = self.pool.begin().await?;
        let p = &w.subject;
        let product_id: i64 = sqlx::query_scalar(
            "INSERT INTO products (shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
             brand = excluded.brand, last_seen = excluded.last_seen RETURNING id",
        )
        .bind(t(&p.shop))
        .bind(t(&p.product_key))
        .bind(t(&p.url))
        .bind(ot(&p.name))
        .bind(t(&p.brand))
        .bind(ot(&p.sku))
        .bind(ot(&p.gtin))
        .bind(ot(&p.variant))
        .bind(w.at)
        .bind(w.at)
        .fetch_one(&mut *tx)
        .await?;
        done.product_ids.insert(p.product_key.clone(), product_id);
        for rule in &w.close_rules {
            done.closed += sqlx::query(
                "UPDATE findings SET closed_at = $1 WHERE product_id = $2 AND rule = $3 AND closed_at IS NULL",
            )
            .bind(w.at)
            .bind(product_id)
            .bind(*rule)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        let mut seen = SeenAgain::default();
        for r in &w.continue_rules {
            seen.push(product_id, r.as_str().to_string(), w.at);
        }
        done.continued += seen.flush(&mut tx).await?;
        let mut evidence = Vec::new();
        Self::raise(&mut tx, w.changes(), product_id, &mut evidence, &mut done).await?;
        Self::append_evidence(&mut tx, &evidence).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // Workers skip the rows another one is claiming: each row goes to one.
        let rows = sqlx::query(&format!(
            "WITH claimed AS (\
                UPDATE outbox SET claimed_until = $1 WHERE id IN (\
                    SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
                    AND (claimed_until IS NULL OR claimed_until <= $2) \
                    ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                RETURNING id, finding_id, subscriber, email, attempts, digest, language) \
             SELECT o.id AS outbox_id, o.subscriber, o.email, o.attempts, o.digest, o.language, {} \
             FROM claimed o JOIN findings f ON f.id = o.finding_id ORDER BY o.id",
            finding_columns_of_f()
        ))
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(OutboxItem {
                id: row.try_get("outbox_id")?,
                subscriber: row.try_get("subscriber")?,
                email: row.try_get("email")?,
                attempts: row.try_get("attempts")?,
                digest: row.try_get("digest")?,
                language: row.try_get("language")?,
                finding: FindingRow::from_row(&row)?,
            });
        }
        Ok(items)
    }

    async fn mark_sent(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL, \
             claimed_until = NULL WHERE id = ANY($2)",
        )
        .bind(at)
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let status = if next.is_some() { "pending" } else { "dead" };
        sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL WHERE id = ANY($4)",
        )
        .bind(status)
        .bind(t(error))
        .bind(next)
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_list(
        &self,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<OutboxEntry> = sqlx::query_as(&format!(
            "SELECT o.id, o.status, o.subscriber, o.email, o.digest, o.attempts, o.next_attempt_at, \
             o.last_error, o.sent_at, o.finding_id, f.rule, f.brand, f.shop \
             FROM outbox o JOIN findings f ON f.id = o.finding_id {} ORDER BY o.id DESC LIMIT $1",
            if failed_only { "WHERE o.status = 'dead'" } else { "" }
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn outbox_retry(&self, ids: &[i64], now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, \
                   claimed_until = NULL WHERE status = 'dead'";
        let done = if ids.is_empty() {
            sqlx::query(sql).bind(now).execute(&self.pool).await?
        } else {
            sqlx::query(&format!("{sql} AND id = ANY($2)"))
                .bind(now)
                .bind(ids)
                .execute(&self.pool)
                .await?
        };
        Ok(done.rows_affected())
    }

    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        OutboxCounts::from_rows(&rows)
    }

    async fn history(
        &self,
        needle: &str,
    ) -> Result<Vec<(ProductRecord, DateTime<Utc>, StoredObservation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
                    o.observed_at, o.price_minor, o.currency, o.reference_minor, o.reference_kind, \
                    o.percent_badge, o.availability, o.promo, o.reference_source, o.warnings \
             FROM products p JOIN observations o ON o.product_id = p.id \
             WHERE p.product_key = $1 OR p.url = $1 OR p.sku = $1 OR p.gtin = $1 \
             ORDER BY p.id, o.observed_at, o.id",
        )
        .bind(t(needle))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push((
                ProductRecord::from_row(&row)?,
                row.try_get("observed_at")?,
                stored_observation(&row, "currency")?,
            ));
        }
        Ok(out)
    }

    async fn series_after(&self, after: i64, limit: i64) -> Result<Vec<Series>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
                    o.observed_at, o.price_minor, o.currency, o.reference_minor, o.reference_kind, \
                    o.percent_badge, o.availability, o.promo, o.reference_source, o.warnings \
             FROM (SELECT * FROM products WHERE id > $1 ORDER BY id LIMIT $2) p \
             JOIN observations o ON o.product_id = p.id ORDER BY p.id, o.observed_at, o.id",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Series> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let point = (
                row.try_get("observed_at")?,
                stored_observation(&row, "currency")?,
            );
            match out.last_mut() {
                Some(s) if s.product_id == id => s.points.push(point),
                _ => out.push(Series {
                    product_id: id,
                    product: ProductRecord::from_row(&row)?,
                    points: vec![point],
                }),
            }
        }
        Ok(out)
    }

    async fn finding(&self, id: i64) -> Result<Option<FindingRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn evidence(&self, id: i64) -> Result<Option<EvidenceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn enqueue_run(&self, run: &super::RunToQueue) -> Result<super::Queued, StoreError> {
        super::fleet::pg::enqueue(&self.pool, run).await
    }

    async fn claim_runs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        scan_clock: DateTime<Utc>,
        interval_ms: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<super::ClaimedRun>, StoreError> {
        super::fleet::pg::claim(
            &self.pool,
            worker,
            now,
            lease_until,
            limit,
            scan_clock,
            interval_ms,
        )
        .await
    }

    async fn renew_runs(
        &self,
        worker: &str,
        renewals: &[super::LeaseRenewal],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        super::fleet::pg::renew(&self.pool, worker, renewals, lease_until).await
    }

    async fn end_run(
        &self,
        worker: &str,
        run: i64,
        end: super::RunEnd,
        summary: &str,
        host_free_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::fleet::pg::end(&self.pool, worker, run, end, summary, host_free_at).await
    }

    async fn observed_in_scan(&self, scan_id: i64) -> Result<Vec<i64>, StoreError> {
        super::fleet::pg::observed_in_scan(&self.pool, scan_id).await
    }

    async fn runs(&self, limit: i64) -> Result<Vec<super::RunRow>, StoreError> {
        super::fleet::pg::runs(&self.pool, limit).await
    }

    async fn evidence_after(&self, after: i64, limit: i64) -> Result<Vec<EvidenceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn findings(&self, f: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {FINDING_COLUMNS} FROM findings WHERE 1 = 1"
        ));
        if f.open_only {
            q.push(" AND closed_at IS NULL");
        }
        if let Some(brand) = &f.brand {
            q.push(" AND brand = ").push_bind(t(brand));
        }
        if let Some(shop) = &f.shop {
            q.push(" AND shop = ").push_bind(t(shop));
        }
        if let Some(rule) = &f.rule {
            q.push(" AND rule = ").push_bind(*rule);
        }
        q.push(" ORDER BY id");
        Ok(q.build_query_as::<FindingRow>()
            .fetch_all(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_replacement_character() {
        assert_eq!(t("a\0b"), "a\u{FFFD}b");
        assert!(matches!(t("plain"), Cow::Borrowed("plain")));
        assert_eq!(ot(&Some("\0".into())).as_deref(), Some("\u{FFFD}"));
        assert_eq!(ot(&None), None);
    }

    #[test]
    fn merge_keeps_first_position_and_merges_later_rows() {
        let rows = vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        let merged = merge_by_key(rows, |r| r.0, |e, l| e.1 += l.1);
        assert_eq!(merged, vec![("a", 4), ("b", 7), ("c", 4)]);
    }

    #[test]
    fn qualified_finding_columns() {
        let cols = finding_columns_of_f();
        assert!(cols.starts_with("f.id, f.rule, f.severity"));
        assert!(cols.ends_with("f.closed_at, f.evidence_id, f.scope"));
        assert_eq!(cols.matches("f.").count(), 19);
    }
}
