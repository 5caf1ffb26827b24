//! The embedded SQLite store (one file, WAL).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::{
    Baseline, EvidenceInput, FindingFilter, FindingRow, OutboxItem, PageCache, ProductRecord,
    Recorded, Recording, Store, StoreError, StoredObservation,
};
use crate::domain::{Currency, Money};
use crate::store::evidence_hash;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const FINDING_COLUMNS: &str = "id, rule, severity, legal_basis, shop, brand, product_name, url, \
     price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, \
     closed_at, evidence_id";

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://` URL.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let open_err = |source| StoreError::Open {
            url: url.to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        Ok(SqliteStore { pool })
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn insert_evidence(
        tx: &mut Transaction<'_, Sqlite>,
        e: &EvidenceInput,
    ) -> Result<i64, StoreError> {
        let prev: Option<String> =
            sqlx::query_scalar("SELECT hash FROM evidence ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await?;
        let prev = prev.unwrap_or_else(|| "0".repeat(64));
        let body_sha256 = crate::store::sha256_hex(&e.body);
        let headers =
            serde_json::to_string(&e.headers).map_err(|x| StoreError::Corrupt(x.to_string()))?;
        let record = e.record.to_string();
        let fetched_at = e.fetched_at.to_rfc3339();
        let hash = evidence_hash(
            &prev,
            &e.url,
            &fetched_at,
            e.status,
            &headers,
            &body_sha256,
            &record,
        );
        let compressed = zstd::encode_all(e.body.as_slice(), 3)
            .map_err(|x| StoreError::Corrupt(format!("cannot compress evidence: {x}")))?;
        let id = sqlx::query(
            "INSERT INTO evidence (url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.url)
        .bind(&fetched_at)
        .bind(i64::from(e.status))
        .bind(&headers)
        .bind(&body_sha256)
        .bind(compressed)
        .bind(&record)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut **tx)
        .await?
        .last_insert_rowid();
        Ok(id)
    }
}

fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    Currency::new(currency)
        .map(|c| Money::new(minor, c))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn begin_scan(&self, at: DateTime<Utc>) -> Result<i64, StoreError> {
        let id = sqlx::query("INSERT INTO scans (started_at, wall_started) VALUES (?, ?)")
            .bind(at)
            .bind(Utc::now())
            .execute(&self.pool)
            .await?
            .last_insert_rowid();
        Ok(id)
    }

    async fn finish_scan(
        &self,
        scan_id: i64,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE scans SET finished_at = ?, summary = ? WHERE id = ?")
            .bind(Utc::now())
            .bind(summary.to_string())
            .bind(scan_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upsert_product(
        &self,
        p: &ProductRecord,
        seen: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
             brand = excluded.brand, sku = excluded.sku, gtin = excluded.gtin, variant = excluded.variant, \
             last_seen = excluded.last_seen \
             RETURNING id",
        )
        .bind(&p.shop)
        .bind(&p.product_key)
        .bind(&p.url)
        .bind(&p.name)
        .bind(&p.brand)
        .bind(&p.sku)
        .bind(&p.gtin)
        .bind(&p.variant)
        .bind(seen)
        .bind(seen)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn product(&self, product_id: i64) -> Result<Option<ProductRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT shop, product_key, url, name, brand, sku, gtin, variant FROM products WHERE id = ?",
        )
        .bind(product_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn baseline(&self, product_id: i64) -> Result<Option<Baseline>, StoreError> {
        let row = sqlx::query(
            "SELECT regular_minor, currency, last_price_minor, last_observed_at, observations \
             FROM baselines WHERE product_id = ?",
        )
        .bind(product_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let currency: String = row.try_get("currency")?;
        let regular: Option<i64> = row.try_get("regular_minor")?;
        Ok(Some(Baseline {
            regular: regular.map(|m| money(m, &currency)).transpose()?,
            last_price: money(row.try_get("last_price_minor")?, &currency)?,
            last_observed_at: row.try_get("last_observed_at")?,
            observations: row.try_get("observations")?,
        }))
    }

    async fn open_rules(&self, product_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT rule FROM findings WHERE product_id = ? AND closed_at IS NULL ORDER BY rule",
        )
        .bind(product_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record(&self, r: &Recording) -> Result<Recorded, StoreError> {
        let o = &r.observation;
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO observations (scan_id, product_id, observed_at, price_minor, currency, \
             reference_minor, reference_kind, percent_badge, availability, source) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scan_id, product_id) DO NOTHING",
        )
        .bind(o.scan_id)
        .bind(o.product_id)
        .bind(o.observed_at)
        .bind(o.price.minor)
        .bind(o.price.currency.as_str())
        .bind(o.reference.map(|m| m.minor))
        .bind(&o.reference_kind)
        .bind(o.percent_badge.map(i64::from))
        .bind(&o.availability)
        .bind(&o.source)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // This product was already observed in this scan (listed twice).
            tx.commit().await?;
            return Ok(Recorded::default());
        }
        let undiscounted = o.reference.is_none() && o.percent_badge.is_none();
        sqlx::query(
            "INSERT INTO baselines (product_id, regular_minor, currency, last_price_minor, last_observed_at, observations) \
             VALUES (?, ?, ?, ?, ?, 1) \
             ON CONFLICT (product_id) DO UPDATE SET \
               regular_minor = CASE WHEN ? THEN excluded.last_price_minor ELSE baselines.regular_minor END, \
               currency = excluded.currency, last_price_minor = excluded.last_price_minor, \
               last_observed_at = excluded.last_observed_at, observations = baselines.observations + 1",
        )
        .bind(o.product_id)
        .bind(undiscounted.then_some(o.price.minor))
        .bind(o.price.currency.as_str())
        .bind(o.price.minor)
        .bind(o.observed_at)
        .bind(undiscounted)
        .execute(&mut *tx)
        .await?;

        let mut done = Recorded::default();
        for rule in &r.close_rules {
            done.closed += sqlx::query(
                "UPDATE findings SET closed_at = ? WHERE product_id = ? AND rule = ? AND closed_at IS NULL",
            )
            .bind(o.observed_at)
            .bind(o.product_id)
            .bind(rule)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        let product: (String, String, Option<String>, String) =
            sqlx::query_as("SELECT shop, brand, name, url FROM products WHERE id = ?")
                .bind(o.product_id)
                .fetch_one(&mut *tx)
                .await?;
        let mut evidence_id = None;
        for f in &r.raise {
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM findings WHERE product_id = ? AND rule = ? AND closed_at IS NULL",
            )
            .bind(o.product_id)
            .bind(&f.rule)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = open {
                sqlx::query("UPDATE findings SET last_seen_at = ? WHERE id = ?")
                    .bind(o.observed_at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                done.continued += 1;
                continue;
            }
            if evidence_id.is_none()
                && let Some(e) = &r.evidence
            {
                evidence_id = Some(Self::insert_evidence(&mut tx, e).await?);
            }
            let id = sqlx::query(
                "INSERT INTO findings (rule, severity, legal_basis, product_id, shop, brand, product_name, url, \
                 price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, evidence_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&f.rule)
            .bind(&f.severity)
            .bind(&f.legal_basis)
            .bind(o.product_id)
            .bind(&product.0)
            .bind(&product.1)
            .bind(&product.2)
            .bind(&product.3)
            .bind(f.price.minor)
            .bind(f.reference.map(|m| m.minor))
            .bind(f.price.currency.as_str())
            .bind(f.percent.map(i64::from))
            .bind(&f.calendar)
            .bind(f.details.to_string())
            .bind(o.observed_at)
            .bind(o.observed_at)
            .bind(evidence_id)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            done.opened.push(id);
            for (name, email) in &r.recipients {
                done.queued += sqlx::query(
                    "INSERT INTO outbox (finding_id, subscriber, email, next_attempt_at, created_at) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT (finding_id, email) DO NOTHING",
                )
                .bind(id)
                .bind(name)
                .bind(email)
                .bind(Utc::now())
                .bind(Utc::now())
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn page_cache(
        &self,
        shop: &str,
    ) -> Result<std::collections::HashMap<String, PageCache>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, etag, last_modified, fetched_at, product_ids FROM pages WHERE shop = ?",
        )
        .bind(shop)
        .fetch_all(&self.pool)
        .await?;
        let mut out = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let ids: String = row.try_get("product_ids")?;
            out.insert(
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
        Ok(out)
    }

    async fn save_page(&self, shop: &str, url: &str, page: &PageCache) -> Result<(), StoreError> {
        let ids = serde_json::to_string(&page.product_ids)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO pages (shop, url, etag, last_modified, fetched_at, product_ids) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (shop, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
             fetched_at = excluded.fetched_at, product_ids = excluded.product_ids",
        )
        .bind(shop)
        .bind(url)
        .bind(&page.etag)
        .bind(&page.last_modified)
        .bind(page.fetched_at.unwrap_or_else(Utc::now))
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn last_observation(
        &self,
        product_id: i64,
    ) -> Result<Option<StoredObservation>, StoreError> {
        let row = sqlx::query(
            "SELECT price_minor, currency, reference_minor, reference_kind, percent_badge, availability \
             FROM observations WHERE product_id = ? ORDER BY observed_at DESC, id DESC LIMIT 1",
        )
        .bind(product_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let currency: String = row.try_get("currency")?;
        let reference: Option<i64> = row.try_get("reference_minor")?;
        let badge: Option<i64> = row.try_get("percent_badge")?;
        Ok(Some(StoredObservation {
            price: money(row.try_get("price_minor")?, &currency)?,
            reference: reference.map(|m| money(m, &currency)).transpose()?,
            reference_kind: row.try_get("reference_kind")?,
            percent_badge: badge.and_then(|b| u32::try_from(b).ok()),
            availability: row.try_get("availability")?,
        }))
    }

    async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, finding_id, subscriber, email, attempts FROM outbox \
             WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let finding_id: i64 = row.try_get("finding_id")?;
            let finding: FindingRow = sqlx::query_as(&format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?"
            ))
            .bind(finding_id)
            .fetch_one(&self.pool)
            .await?;
            items.push(OutboxItem {
                id: row.try_get("id")?,
                subscriber: row.try_get("subscriber")?,
                email: row.try_get("email")?,
                attempts: row.try_get("attempts")?,
                finding,
            });
        }
        Ok(items)
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let status = if next.is_some() { "pending" } else { "dead" };
        sqlx::query(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, \
             next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
        )
        .bind(status)
        .bind(error)
        .bind(next)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn findings(&self, f: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let mut sql = format!("SELECT {FINDING_COLUMNS} FROM findings WHERE 1 = 1");
        if f.open_only {
            sql.push_str(" AND closed_at IS NULL");
        }
        if f.brand.is_some() {
            sql.push_str(" AND brand = ?");
        }
        if f.shop.is_some() {
            sql.push_str(" AND shop = ?");
        }
        if f.rule.is_some() {
            sql.push_str(" AND rule = ?");
        }
        sql.push_str(" ORDER BY id");
        let mut q = sqlx::query_as::<_, FindingRow>(&sql);
        for v in [&f.brand, &f.shop, &f.rule].into_iter().flatten() {
            q = q.bind(v);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}
