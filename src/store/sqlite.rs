//! The embedded SQLite store (one file, WAL).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder, Row, Sqlite, Transaction};

/// Rows per multi-row statement (13 columns × 200 stays far below SQLite's 32766 variables).
const CHUNK: usize = 200;

use super::{
    Baseline, Batch, BatchResult, EvidenceInput, EvidenceRow, FindingChanges, FindingFilter,
    FindingRow, KnownProduct, OutboxCounts, OutboxEntry, OutboxItem, PageCache, ProductRecord,
    ShopFindings, ShopSnapshot, Store, StoreError, StoredObservation, warnings_from_json,
    warnings_to_json,
};
use crate::domain::{Currency, Money, Rule};
use crate::store::{Series, evidence_hash};

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const EVIDENCE_COLUMNS: &str =
    "id, url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash";

const FINDING_COLUMNS: &str = "id, rule, severity, legal_basis, shop, brand, product_name, url, \
     price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, \
     closed_at, evidence_id, scope";

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

    /// Inserts one evidence record chained to `prev`; returns its id and hash.
    async fn insert_evidence(
        tx: &mut Transaction<'_, Sqlite>,
        e: &EvidenceInput,
        prev: &str,
    ) -> Result<(i64, String), StoreError> {
        let body_sha256 = &e.body_sha256;
        let headers =
            serde_json::to_string(&e.headers).map_err(|x| StoreError::Corrupt(x.to_string()))?;
        let record = e.record.to_string();
        let fetched_at = e.fetched_at.to_rfc3339();
        let hash = evidence_hash(
            prev,
            &e.url,
            &fetched_at,
            e.status,
            &headers,
            body_sha256,
            &record,
        );
        let id = sqlx::query(
            "INSERT INTO evidence (url, fetched_at, status, headers, body_sha256, body_zstd, record, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.url)
        .bind(&fetched_at)
        .bind(i64::from(e.status))
        .bind(&headers)
        .bind(body_sha256)
        .bind(&e.body_zstd)
        .bind(&record)
        .bind(prev)
        .bind(&hash)
        .execute(&mut **tx)
        .await?
        .last_insert_rowid();
        Ok((id, hash))
    }

    /// Closes, confirms and opens one subject's findings (with the evidence
    /// and outbox rows of those opened). `prev_hash` carries the evidence
    /// chain's last hash through a transaction.
    async fn apply_changes(
        tx: &mut Transaction<'_, Sqlite>,
        c: FindingChanges<'_>,
        product_id: i64,
        prev_hash: &mut Option<String>,
        done: &mut BatchResult,
    ) -> Result<(), StoreError> {
        let at = c.at;
        for rule in c.close_rules {
            done.closed += sqlx::query(
                "UPDATE findings SET closed_at = ? WHERE product_id = ? AND rule = ? AND closed_at IS NULL",
            )
            .bind(at)
            .bind(product_id)
            .bind(rule)
            .execute(&mut **tx)
            .await?
            .rows_affected() as usize;
        }
        if !c.continue_rules.is_empty() {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE findings SET last_seen_at = ");
            q.push_bind(at)
                .push(" WHERE closed_at IS NULL AND product_id = ")
                .push_bind(product_id);
            q.push(" AND rule IN (");
            let mut sep = q.separated(", ");
            for r in c.continue_rules {
                sep.push_bind(r);
            }
            q.push(")");
            done.continued += q.build().execute(&mut **tx).await?.rows_affected() as usize;
        }
        let mut evidence_id = None;
        for f in c.raise {
            if evidence_id.is_none()
                && let Some(e) = c.evidence
            {
                let prev = match prev_hash.take() {
                    Some(h) => h,
                    None => {
                        sqlx::query_scalar("SELECT hash FROM evidence ORDER BY id DESC LIMIT 1")
                            .fetch_optional(&mut **tx)
                            .await?
                            .unwrap_or_else(|| "0".repeat(64))
                    }
                };
                let (id, hash) = Self::insert_evidence(tx, e, &prev).await?;
                evidence_id = Some(id);
                *prev_hash = Some(hash);
            }
            let p = c.product;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO findings (rule, severity, legal_basis, product_id, shop, brand, product_name, url, \
                 price_minor, reference_minor, currency, percent, calendar, details, opened_at, last_seen_at, evidence_id, scope) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (rule, product_id) WHERE closed_at IS NULL DO NOTHING RETURNING id",
            )
            .bind(f.rule)
            .bind(f.severity)
            .bind(&f.legal_basis)
            .bind(product_id)
            .bind(&p.shop)
            .bind(&p.brand)
            .bind(&p.name)
            .bind(&p.url)
            .bind(f.price.minor)
            .bind(f.reference.map(|m| m.minor))
            .bind(f.price.currency.as_str())
            .bind(f.percent.map(i64::from))
            .bind(&f.calendar)
            .bind(f.details.to_string())
            .bind(at)
            .bind(at)
            .bind(evidence_id)
            .bind(c.scope)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(id) = id else {
                done.continued += 1;
                continue;
            };
            done.opened.push((id, p.product_key.clone(), f.rule));
            for r in c
                .recipients
                .iter()
                .filter(|r| r.accepts(f.rule, f.severity))
            {
                done.queued += sqlx::query(
                    "INSERT INTO outbox (finding_id, subscriber, email, next_attempt_at, created_at, digest, language) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (finding_id, email) DO NOTHING",
                )
                .bind(id)
                .bind(&r.name)
                .bind(&r.email)
                .bind(r.deliver_at)
                .bind(Utc::now())
                .bind(&r.digest)
                .bind(&r.language)
                .execute(&mut **tx)
                .await?
                .rows_affected() as usize;
            }
        }
        Ok(())
    }
}

/// An observation read from a row with the observation columns and the
/// currency in `currency_col`.
fn stored_observation(
    row: &SqliteRow,
    currency_col: &str,
) -> Result<StoredObservation, StoreError> {
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

/// Whether a migration failed because another process was applying it.
fn is_concurrent_migration(e: &sqlx::migrate::MigrateError) -> bool {
    let text = e.to_string();
    text.contains("already exists") || text.contains("duplicate column") || text.contains("locked")
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx takes no lock around SQLite migrations: two processes
        // opening a new file at once (two workers) may both apply the same
        // migration, and the second fails on a table the first created.
        // Each migration is one transaction recorded with it, so trying
        // again finds it applied.
        let mut attempt = 0;
        loop {
            match sqlx::migrate!("./migrations/sqlite").run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 20 && is_concurrent_migration(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 + fastrand::u64(0..100))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
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

    async fn load_shop(&self, shop: &str) -> Result<ShopSnapshot, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.shop, p.product_key, p.url, p.name, p.brand, p.sku, p.gtin, p.variant, \
                    b.regular_minor, b.currency AS b_currency, b.last_price_minor, b.last_observed_at, b.observations, b.history, \
                    o.price_minor, o.currency AS o_currency, o.reference_minor, o.reference_kind, o.percent_badge, o.availability, o.promo, \
                    o.reference_source, o.warnings \
             FROM products p \
             LEFT JOIN baselines b ON b.product_id = p.id \
             LEFT JOIN observations o ON o.id = (SELECT id FROM observations WHERE product_id = p.id \
                                                 ORDER BY observed_at DESC, id DESC LIMIT 1) \
             WHERE p.shop = ?",
        )
        .bind(shop)
        .fetch_all(&self.pool)
        .await?;
        let mut snap = ShopSnapshot::default();
        let mut by_id = std::collections::HashMap::new();
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
        let open: Vec<(i64, Rule, Option<i64>)> = sqlx::query_as(
            "SELECT f.product_id, f.rule, f.percent FROM findings f JOIN products p ON p.id = f.product_id \
             WHERE p.shop = ? AND f.closed_at IS NULL ORDER BY f.rule",
        )
        .bind(shop)
        .fetch_all(&self.pool)
        .await?;
        for (id, rule, percent) in open {
            if let Some(p) = by_id.get(&id).and_then(|k| snap.products.get_mut(k)) {
                p.open_rules
                    .push((rule, percent.and_then(|p| u32::try_from(p).ok())));
            }
        }
        let rows = sqlx::query(
            "SELECT url, etag, last_modified, fetched_at, product_ids FROM pages WHERE shop = ?",
        )
        .bind(shop)
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
        let mut product_ids = std::collections::HashMap::new();
        // Products, many rows a statement.
        for chunk in batch.items.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO products (shop, product_key, url, name, brand, sku, gtin, variant, first_seen, last_seen) ",
            );
            q.push_values(chunk, |mut b, it| {
                let p = &it.product;
                b.push_bind(&p.shop)
                    .push_bind(&p.product_key)
                    .push_bind(&p.url)
                    .push_bind(&p.name)
                    .push_bind(&p.brand)
                    .push_bind(&p.sku)
                    .push_bind(&p.gtin)
                    .push_bind(&p.variant)
                    .push_bind(it.observation.observed_at)
                    .push_bind(it.observation.observed_at);
            });
            q.push(
                " ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
                 brand = excluded.brand, sku = excluded.sku, gtin = excluded.gtin, variant = excluded.variant, \
                 last_seen = excluded.last_seen RETURNING product_key, id",
            );
            let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            product_ids.extend(rows);
        }
        let id_of = |key: &str| -> Result<i64, StoreError> {
            product_ids
                .get(key)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no id returned for product {key}")))
        };
        let mut ids = Vec::with_capacity(batch.items.len());
        for it in &batch.items {
            ids.push(id_of(&it.product.product_key)?);
        }
        for (chunk, chunk_ids) in batch.items.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
            let mut q = QueryBuilder::<Sqlite>::new(
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
                    .push_bind(&o.availability)
                    .push_bind(o.source)
                    .push_bind(serde_json::to_string(&o.promo).unwrap_or_else(|_| "[]".into()))
                    .push_bind(o.reference_source)
                    .push_bind(warnings_to_json(&o.warnings));
            });
            q.push(" ON CONFLICT (scan_id, product_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;

            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO baselines (product_id, regular_minor, currency, last_price_minor, last_observed_at, observations, history) ",
            );
            let histories: Vec<String> = chunk
                .iter()
                .map(|it| {
                    serde_json::to_string(&it.baseline.history).unwrap_or_else(|_| "{}".into())
                })
                .collect();
            q.push_values(
                chunk.iter().zip(chunk_ids).zip(histories),
                |mut b, ((it, id), h)| {
                    let bl = &it.baseline;
                    b.push_bind(*id)
                        .push_bind(bl.regular.map(|m| m.minor))
                        .push_bind(bl.last_price.currency.as_str())
                        .push_bind(bl.last_price.minor)
                        .push_bind(bl.last_observed_at)
                        .push_bind(bl.observations)
                        .push_bind(h);
                },
            );
            q.push(
                " ON CONFLICT (product_id) DO UPDATE SET regular_minor = excluded.regular_minor, \
                 currency = excluded.currency, last_price_minor = excluded.last_price_minor, \
                 last_observed_at = excluded.last_observed_at, observations = excluded.observations, \
                 history = excluded.history",
            );
            q.build().execute(&mut *tx).await?;
        }
        let mut prev_hash: Option<String> = None;
        for (it, &product_id) in batch.items.iter().zip(&ids) {
            Self::apply_changes(&mut tx, it.changes(), product_id, &mut prev_hash, &mut done)
                .await?;
        }
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
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO pages (shop, url, etag, last_modified, fetched_at, product_ids) ",
            );
            q.push_values(rows, |mut b, (pw, ids)| {
                b.push_bind(&batch.shop)
                    .push_bind(&pw.url)
                    .push_bind(&pw.cache.etag)
                    .push_bind(&pw.cache.last_modified)
                    .push_bind(pw.cache.fetched_at.unwrap_or_else(Utc::now))
                    .push_bind(ids);
            });
            q.push(
                " ON CONFLICT (shop, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
                 fetched_at = excluded.fetched_at, product_ids = excluded.product_ids",
            );
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        done.product_ids = product_ids;
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (shop, product_key) DO UPDATE SET url = excluded.url, name = excluded.name, \
             brand = excluded.brand, last_seen = excluded.last_seen RETURNING id",
        )
        .bind(&p.shop)
        .bind(&p.product_key)
        .bind(&p.url)
        .bind(&p.name)
        .bind(&p.brand)
        .bind(&p.sku)
        .bind(&p.gtin)
        .bind(&p.variant)
        .bind(w.at)
        .bind(w.at)
        .fetch_one(&mut *tx)
        .await?;
        done.product_ids.insert(p.product_key.clone(), product_id);
        let mut prev_hash = None;
        Self::apply_changes(&mut tx, w.changes(), product_id, &mut prev_hash, &mut done).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_until = ? WHERE id IN (\
                SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? \
                AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY id LIMIT ?) \
             RETURNING id, finding_id, subscriber, email, attempts, digest, language",
        )
        .bind(lease_until)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let finding_id: i64 = row.try_get("finding_id")?;
            let finding: FindingRow = sqlx::query_as(&format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?"
            ))
            .bind(finding_id)
            .fetch_one(&mut *tx)
            .await?;
            items.push(OutboxItem {
                id: row.try_get("id")?,
                subscriber: row.try_get("subscriber")?,
                email: row.try_get("email")?,
                attempts: row.try_get("attempts")?,
                digest: row.try_get("digest")?,
                language: row.try_get("language")?,
                finding,
            });
        }
        tx.commit().await?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn mark_sent(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL, \
                 claimed_until = NULL WHERE id = ?",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let status = if next.is_some() { "pending" } else { "dead" };
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, \
                 next_attempt_at = COALESCE(?, next_attempt_at), claimed_until = NULL WHERE id = ?",
            )
            .bind(status)
            .bind(error)
            .bind(next)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
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
             FROM outbox o JOIN findings f ON f.id = o.finding_id {} ORDER BY o.id DESC LIMIT ?",
            if failed_only { "WHERE o.status = 'dead'" } else { "" }
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn outbox_retry(&self, ids: &[i64], now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, \
                   claimed_until = NULL WHERE status = 'dead'";
        if ids.is_empty() {
            return Ok(sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected());
        }
        let mut n = 0;
        let mut tx = self.pool.begin().await?;
        for id in ids {
            n += sqlx::query(&format!("{sql} AND id = ?"))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
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
             WHERE p.product_key = ?1 OR p.url = ?1 OR p.sku = ?1 OR p.gtin = ?1 \
             ORDER BY p.id, o.observed_at, o.id",
        )
        .bind(needle)
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
             FROM (SELECT * FROM products WHERE id > ? ORDER BY id LIMIT ?) p \
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
            "SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn evidence(&self, id: i64) -> Result<Option<EvidenceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn enqueue_run(&self, run: &super::RunToQueue) -> Result<super::Queued, StoreError> {
        super::fleet::sqlite::enqueue(&self.pool, run).await
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
        super::fleet::sqlite::claim(
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
        super::fleet::sqlite::renew(&self.pool, worker, renewals, lease_until).await
    }

    async fn end_run(
        &self,
        worker: &str,
        run: i64,
        end: super::RunEnd,
        summary: &str,
        host_free_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::fleet::sqlite::end(&self.pool, worker, run, end, summary, host_free_at).await
    }

    async fn observed_in_scan(&self, scan_id: i64) -> Result<Vec<i64>, StoreError> {
        super::fleet::sqlite::observed_in_scan(&self.pool, scan_id).await
    }

    async fn runs(&self, limit: i64) -> Result<Vec<super::RunRow>, StoreError> {
        super::fleet::sqlite::runs(&self.pool, limit).await
    }

    async fn evidence_after(&self, after: i64, limit: i64) -> Result<Vec<EvidenceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
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
        for v in [&f.brand, &f.shop].into_iter().flatten() {
            q = q.bind(v);
        }
        if let Some(rule) = f.rule {
            q = q.bind(rule);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}
