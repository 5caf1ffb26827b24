//! The [`Store`](super::Store) implementation, written once for both
//! backends: [`store_backend!`] is instantiated in `sqlite.rs` and
//! `postgres.rs` with each backend's database type. The statements are
//! those of [`super::sql`], the rows those of [`super::rows`].
//!
//! Where the databases really differ, the instantiating module supplies
//! the piece, and says why:
//!
//! - `native(sql)`: the statement in the backend's placeholders (`$n` on
//!   PostgreSQL, `?n` on SQLite) and its form of an id-list parameter
//!   (`= ANY($n)` with an array on PostgreSQL, `json_each` over a JSON
//!   array on SQLite);
//! - `t(text)` / `ot(text)`: text as the database can store it (PostgreSQL
//!   cannot store U+0000);
//! - `ids(list)`: an id list as the backend binds it;
//! - `CHUNK`: rows per multi-row statement, under the backend's limit on
//!   bound parameters;
//! - `CLAIM_LOCK`: how concurrent outbox claims keep apart;
//! - `lock_evidence_chain(tx)`: how one writer at a time extends the
//!   evidence chain;
//! - `flush_seen(tx, seen)`: how the `last_seen_at` updates of open
//!   findings are sent;
//! - `run_migrations(pool)`: the backend's migrations.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use chrono::{DateTime, Utc};

/// Rows with distinct keys, in first-occurrence order; a later row with
/// the same key is merged into the earlier one by `merge(earlier, later)`.
///
/// A multi-row `ON CONFLICT DO UPDATE` may not touch a row twice on
/// PostgreSQL; merged first, the rows give what SQLite gives applying them
/// in order.
pub(super) fn merge_by_key<T, K: Eq + Hash>(
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

/// The rules one subject confirms at one time.
pub(super) struct SeenGroup {
    /// The product.
    pub(super) product: i64,
    /// Its rules seen again (as stored: see the backend's `t`).
    pub(super) rules: Vec<String>,
    /// When.
    pub(super) at: DateTime<Utc>,
}

/// `last_seen_at` updates of open findings, waiting to be sent together.
/// They are flushed before any other change to findings, so the order of
/// the changes stays the batch's.
#[derive(Default)]
pub(super) struct SeenAgain {
    groups: Vec<SeenGroup>,
    len: usize,
}

impl SeenAgain {
    /// Adds one subject's rules seen again.
    pub(super) fn push(&mut self, product: i64, rules: Vec<String>, at: DateTime<Utc>) {
        if rules.is_empty() {
            return;
        }
        self.len += rules.len();
        self.groups.push(SeenGroup { product, rules, at });
    }

    /// Updates waiting.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The updates waiting, in the order they came; none wait after.
    pub(super) fn take(&mut self) -> Vec<SeenGroup> {
        self.len = 0;
        std::mem::take(&mut self.groups)
    }
}

/// The [`Store`](super::Store) implementation of `$store`, a struct with a
/// `pool` of database `$db`; the backend's pieces (see the module
/// documentation) and its fleet module, as `fleet`, are in scope where it
/// is instantiated.
macro_rules! store_backend {
    ($store:ident, $db:ty) => {
        /// The statements of this backend, written once in
        /// [`super::backend`].
        mod written_once {
            use std::collections::HashMap;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::{FromRow, QueryBuilder, Transaction};

            use super::{
                CHUNK, CLAIM_LOCK, fleet, flush_seen, ids, lock_evidence_chain, native, ot,
                run_migrations, t, $store,
            };
            use $crate::domain::{Digest, Preference, Rule};
            use $crate::store::backend::{SeenAgain, merge_by_key};
            use $crate::store::rows::{
                ObservedRow, OpenFindingRow, OutboxClaimRow, PageRow, PointRow, PreferenceRow,
                ShopProduct, ShopProductRow,
            };
            use $crate::store::{
                Batch, BatchItem, BatchResult, ClaimedRun, Dismissal, EvidenceInput, EvidenceRow,
                FindingChanges, FindingFilter, FindingPage, FindingQuery, FindingRow, FindingState,
                KnownProduct, LeaseRenewal, OutboxCounts, OutboxEntry, OutboxItem, ProductRecord,
                ProductRow, Queued, RunEnd, RunRow, RunToQueue, SCAN_HOLD_MINUTES, Series,
                ShopFindings, ShopScanRow, ShopSnapshot, Store, StoreError, StoredObservation,
                evidence_hash, sql, warnings_to_json,
            };

            type Tx<'c> = Transaction<'c, $db>;

            /// Binds a product's columns, in [`sql::INSERT_PRODUCTS`] order.
            fn push_product<'q>(
                mut b: sqlx::query_builder::Separated<'_, 'q, $db, &'static str>,
                p: &'q ProductRecord,
                first_seen: DateTime<Utc>,
                last_seen: DateTime<Utc>,
            ) {
                b.push_bind(t(&p.shop))
                    .push_bind(t(&p.product_key))
                    .push_bind(t(&p.url))
                    .push_bind(ot(&p.name))
                    .push_bind(t(&p.brand))
                    .push_bind(ot(&p.sku))
                    .push_bind(ot(&p.gtin))
                    .push_bind(ot(&p.variant))
                    .push_bind(first_seen)
                    .push_bind(last_seen);
            }

            /// The id the database returned for a product key (keys as
            /// stored: a NUL stored as U+FFFD on PostgreSQL).
            fn id_of(returned: &HashMap<String, i64>, key: &str) -> Result<i64, StoreError> {
                returned
                    .get(t(key).as_ref())
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt(format!("no id returned for product {key}")))
            }

            /// Inserts or refreshes the batch's products, many rows a
            /// statement; returns their ids by key as stored. A product
            /// listed twice keeps its first time as `first_seen` and takes
            /// the rest from the last row.
            async fn upsert_products(
                tx: &mut Tx<'_>,
                items: &[BatchItem],
            ) -> Result<HashMap<String, i64>, StoreError> {
                let mut returned = HashMap::new();
                for chunk in items.chunks(CHUNK) {
                    let rows = merge_by_key(
                        chunk.iter().map(|it| (it.observation.observed_at, it)),
                        |(_, it)| (it.product.shop.as_str(), it.product.product_key.as_str()),
                        |earlier, (_, later)| earlier.1 = later,
                    );
                    let mut q = QueryBuilder::<$db>::new(sql::INSERT_PRODUCTS);
                    q.push_values(rows, |b, (first_seen, it)| {
                        push_product(b, &it.product, first_seen, it.observation.observed_at)
                    });
                    q.push(sql::UPSERT_PRODUCTS_TAIL);
                    let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut **tx).await?;
                    returned.extend(rows);
                }
                Ok(returned)
            }

            /// Inserts one chunk's observations.
            async fn insert_observations(
                tx: &mut Tx<'_>,
                chunk: &[BatchItem],
                ids: &[i64],
            ) -> Result<(), StoreError> {
                let mut q = QueryBuilder::<$db>::new(sql::INSERT_OBSERVATIONS);
                q.push_values(chunk.iter().zip(ids), |mut b, (it, id)| {
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
                q.push(sql::INSERT_OBSERVATIONS_TAIL);
                q.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Writes one chunk's baselines; a product's baseline written
            /// twice: the last one wins.
            async fn upsert_baselines(
                tx: &mut Tx<'_>,
                chunk: &[BatchItem],
                ids: &[i64],
            ) -> Result<(), StoreError> {
                let rows = merge_by_key(
                    chunk.iter().zip(ids).map(|(it, id)| {
                        let h = serde_json::to_string(&it.baseline.history)
                            .unwrap_or_else(|_| "{}".into());
                        (*id, &it.baseline, h)
                    }),
                    |(id, _, _)| *id,
                    |earlier, later| *earlier = later,
                );
                let mut q = QueryBuilder::<$db>::new(sql::INSERT_BASELINES);
                q.push_values(rows, |mut b, (id, bl, h)| {
                    b.push_bind(id)
                        .push_bind(bl.regular.map(|m| m.minor))
                        .push_bind(bl.last_price.currency.as_str())
                        .push_bind(bl.last_price.minor)
                        .push_bind(bl.last_observed_at)
                        .push_bind(bl.observations)
                        .push_bind(h);
                });
                q.push(sql::UPSERT_BASELINES_TAIL);
                q.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Writes the batch's page cache entries; a page written twice:
            /// the last one wins.
            async fn upsert_pages(
                tx: &mut Tx<'_>,
                batch: &Batch,
                returned: &HashMap<String, i64>,
            ) -> Result<(), StoreError> {
                for chunk in batch.pages.chunks(CHUNK) {
                    let mut rows = Vec::with_capacity(chunk.len());
                    for pw in chunk {
                        let ids: Vec<i64> = pw
                            .product_keys
                            .iter()
                            .map(|k| id_of(returned, k))
                            .collect::<Result<_, _>>()?;
                        let ids = serde_json::to_string(&ids)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        rows.push((pw, ids));
                    }
                    let rows = merge_by_key(
                        rows,
                        |(pw, _)| t(&pw.url).into_owned(),
                        |earlier, later| *earlier = later,
                    );
                    let mut q = QueryBuilder::<$db>::new(sql::INSERT_PAGES);
                    q.push_values(rows, |mut b, (pw, ids)| {
                        b.push_bind(t(&batch.shop))
                            .push_bind(t(&pw.url))
                            .push_bind(ot(&pw.cache.etag))
                            .push_bind(ot(&pw.cache.last_modified))
                            .push_bind(pw.cache.fetched_at.unwrap_or_else(Utc::now))
                            .push_bind(ids);
                    });
                    q.push(sql::UPSERT_PAGES_TAIL);
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Closes, confirms and opens one subject's findings. The
            /// confirmations wait in `seen`, the evidence of the findings
            /// opened in `evidence`.
            async fn write_changes<'b>(
                tx: &mut Tx<'_>,
                c: FindingChanges<'b>,
                product_id: i64,
                seen: &mut SeenAgain,
                evidence: &mut Vec<(Vec<i64>, &'b EvidenceInput)>,
                done: &mut BatchResult,
            ) -> Result<(), StoreError> {
                if !c.close_rules.is_empty() || !c.raise.is_empty() {
                    done.continued += flush_seen(tx, seen).await?;
                }
                for rule in c.close_rules {
                    done.closed += sqlx::query(&native(sql::CLOSE_FINDING))
                        .bind(c.at)
                        .bind(product_id)
                        .bind(*rule)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected() as usize;
                }
                let rules = c
                    .continue_rules
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect();
                seen.push(product_id, rules, c.at);
                if seen.len() >= CHUNK || !c.raise.is_empty() {
                    done.continued += flush_seen(tx, seen).await?;
                }
                raise(tx, c, product_id, evidence, done).await
            }

            /// Opens findings for one subject, with their outbox rows; its
            /// evidence waits in `evidence` with the findings it backs.
            async fn raise<'b>(
                tx: &mut Tx<'_>,
                c: FindingChanges<'b>,
                product_id: i64,
                evidence: &mut Vec<(Vec<i64>, &'b EvidenceInput)>,
                done: &mut BatchResult,
            ) -> Result<(), StoreError> {
                let p = c.product;
                let mut opened = Vec::new();
                for f in c.raise {
                    let id: Option<i64> = sqlx::query_scalar(&native(sql::INSERT_FINDING))
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
                        .bind(c.at)
                        .bind(c.at)
                        .bind(c.scope)
                        .fetch_optional(&mut **tx)
                        .await?;
                    let Some(id) = id else {
                        done.continued += 1;
                        continue;
                    };
                    opened.push(id);
                    done.opened
                        .push((id, p.product_key.clone(), f.rule.clone()));
                    for r in c
                        .recipients
                        .iter()
                        .filter(|r| r.accepts(f.rule, f.severity))
                    {
                        done.queued += sqlx::query(&native(sql::INSERT_OUTBOX))
                            .bind(id)
                            .bind(t(&r.name))
                            .bind(r.email.as_str())
                            .bind(r.deliver_at)
                            .bind(Utc::now())
                            .bind(&r.digest)
                            .bind(&r.language)
                            .bind(c.scan_id)
                            .bind(c.baseline)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected() as usize;
                    }
                }
                if !c.raise.is_empty()
                    && let Some(e) = c.evidence
                {
                    evidence.push((opened, e));
                }
                Ok(())
            }

            /// Inserts one evidence record chained to `prev`; returns its
            /// id and hash.
            async fn insert_evidence(
                tx: &mut Tx<'_>,
                e: &EvidenceInput,
                prev: &str,
            ) -> Result<(i64, String), StoreError> {
                let headers = serde_json::to_string(&e.headers)
                    .map_err(|x| StoreError::Corrupt(x.to_string()))?;
                let record = e.record.to_string();
                let fetched_at = e.fetched_at.to_rfc3339();
                // JSON escapes control characters and URLs are
                // percent-encoded, so no NUL reaches these columns: what is
                // stored is what was hashed.
                let hash = evidence_hash(
                    prev,
                    &e.url,
                    &fetched_at,
                    e.status,
                    &headers,
                    &e.body_sha256,
                    &record,
                );
                let id: i64 = sqlx::query_scalar(&native(sql::INSERT_EVIDENCE))
                    .bind(t(&e.url))
                    .bind(&fetched_at)
                    .bind(i64::from(e.status))
                    .bind(&headers)
                    .bind(&e.body_sha256)
                    .bind(&e.body_zstd)
                    .bind(&record)
                    .bind(prev)
                    .bind(&hash)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok((id, hash))
            }

            /// Appends the transaction's evidence to the chain, in order,
            /// and points the findings at it. Last in the transaction: the
            /// chain is held from here to the commit only.
            async fn append_evidence(
                tx: &mut Tx<'_>,
                evidence: &[(Vec<i64>, &EvidenceInput)],
            ) -> Result<(), StoreError> {
                if evidence.is_empty() {
                    return Ok(());
                }
                lock_evidence_chain(tx).await?;
                let mut prev: String = sqlx::query_scalar(sql::LAST_EVIDENCE_HASH)
                    .fetch_optional(&mut **tx)
                    .await?
                    .unwrap_or_else(|| "0".repeat(64));
                for (findings, e) in evidence {
                    let (id, hash) = insert_evidence(tx, e, &prev).await?;
                    if !findings.is_empty() {
                        sqlx::query(&native(sql::SET_EVIDENCE))
                            .bind(id)
                            .bind(ids(findings))
                            .execute(&mut **tx)
                            .await?;
                    }
                    prev = hash;
                }
                Ok(())
            }

            /// Pushes the console's filters (all but the cursor) after a
            /// `WHERE 1 = 1`.
            fn push_console_filters<'a>(q: &mut QueryBuilder<'a, $db>, f: &'a FindingQuery) {
                if let Some(brand) = &f.brand {
                    q.push(" AND brand = ").push_bind(t(brand));
                }
                if let Some(shop) = &f.shop {
                    q.push(" AND shop = ").push_bind(t(shop));
                }
                if let Some(rule) = f.rule {
                    q.push(" AND rule = ").push_bind(rule);
                }
                if let Some(severity) = f.severity {
                    q.push(" AND severity = ").push_bind(severity);
                }
                match f.state {
                    None => {}
                    Some(FindingState::Open) => {
                        q.push(" AND closed_at IS NULL AND dismissed_at IS NULL");
                    }
                    Some(FindingState::Closed) => {
                        q.push(" AND closed_at IS NOT NULL AND dismissed_at IS NULL");
                    }
                    Some(FindingState::Dismissed) => {
                        q.push(" AND dismissed_at IS NOT NULL");
                    }
                }
                if let Some(from) = f.opened_from {
                    q.push(" AND opened_at >= ").push_bind(from);
                }
                if let Some(to) = f.opened_to {
                    q.push(" AND opened_at < ").push_bind(to);
                }
                if let Some(product) = f.product_id {
                    q.push(" AND product_id = ").push_bind(product);
                }
            }

            /// The products of a shop with their open findings.
            async fn shop_products(
                pool: &sqlx::Pool<$db>,
                shop: &str,
                snap: &mut ShopSnapshot,
            ) -> Result<(), StoreError> {
                let rows: Vec<ShopProductRow> = sqlx::query_as(&native(sql::SHOP_PRODUCTS))
                    .bind(shop)
                    .fetch_all(pool)
                    .await?;
                let mut by_id = HashMap::with_capacity(rows.len());
                for row in rows {
                    let (id, record, baseline, last) = ShopProduct::try_from(row)?;
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
                let mut open: Vec<OpenFindingRow> =
                    sqlx::query_as(&native(sql::SHOP_OPEN_FINDINGS))
                        .bind(shop)
                        .fetch_all(pool)
                        .await?;
                // By rule in byte order, whatever the database's collation.
                open.sort_by(|a, b| a.rule.cmp(&b.rule));
                for row in open {
                    if let Some(p) = by_id
                        .get(&row.product_id)
                        .and_then(|k| snap.products.get_mut(k))
                    {
                        p.open_rules.push(row.into_open_rule());
                    }
                }
                Ok(())
            }

            #[async_trait]
            impl Store for $store {
                async fn migrate(&self) -> Result<(), StoreError> {
                    run_migrations(&self.pool).await
                }

                async fn begin_scan(&self, at: DateTime<Utc>) -> Result<i64, StoreError> {
                    Ok(sqlx::query_scalar(&native(sql::BEGIN_SCAN))
                        .bind(at)
                        .bind(Utc::now())
                        .fetch_one(&self.pool)
                        .await?)
                }

                async fn finish_scan(
                    &self,
                    scan_id: i64,
                    summary: &serde_json::Value,
                ) -> Result<(), StoreError> {
                    sqlx::query(&native(sql::FINISH_SCAN))
                        .bind(Utc::now())
                        .bind(summary.to_string())
                        .bind(scan_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn load_shop(&self, shop: &str) -> Result<ShopSnapshot, StoreError> {
                    let shop = t(shop);
                    let mut snap = ShopSnapshot::default();
                    shop_products(&self.pool, &shop, &mut snap).await?;
                    let pages: Vec<PageRow> = sqlx::query_as(&native(sql::SHOP_PAGES))
                        .bind(shop.as_ref())
                        .fetch_all(&self.pool)
                        .await?;
                    for row in pages {
                        let (url, cache) = row.try_into()?;
                        snap.pages.insert(url, cache);
                    }
                    Ok(snap)
                }

                async fn write_batch(&self, batch: &Batch) -> Result<BatchResult, StoreError> {
                    let mut done = BatchResult::default();
                    if batch.is_empty() {
                        return Ok(done);
                    }
                    let mut tx = self.pool.begin().await?;
                    let returned = upsert_products(&mut tx, &batch.items).await?;
                    // The result names products by the keys the batch gave.
                    let mut ids = Vec::with_capacity(batch.items.len());
                    for it in &batch.items {
                        let key = &it.product.product_key;
                        let id = id_of(&returned, key)?;
                        done.product_ids.insert(key.clone(), id);
                        ids.push(id);
                    }
                    for (chunk, chunk_ids) in batch.items.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
                        insert_observations(&mut tx, chunk, chunk_ids).await?;
                        upsert_baselines(&mut tx, chunk, chunk_ids).await?;
                    }
                    let mut seen = SeenAgain::default();
                    let mut evidence = Vec::new();
                    for (it, &product_id) in batch.items.iter().zip(&ids) {
                        let c = it.changes(batch.baseline);
                        write_changes(&mut tx, c, product_id, &mut seen, &mut evidence, &mut done)
                            .await?;
                    }
                    done.continued += flush_seen(&mut tx, &mut seen).await?;
                    upsert_pages(&mut tx, batch, &returned).await?;
                    append_evidence(&mut tx, &evidence).await?;
                    tx.commit().await?;
                    Ok(done)
                }

                async fn write_shop_findings(
                    &self,
                    w: &ShopFindings,
                ) -> Result<BatchResult, StoreError> {
                    let mut done = BatchResult::default();
                    if w.is_empty() {
                        return Ok(done);
                    }
                    let mut tx = self.pool.begin().await?;
                    let p = &w.subject;
                    let mut q = QueryBuilder::<$db>::new(sql::INSERT_PRODUCTS);
                    q.push_values([p], |b, p| push_product(b, p, w.at, w.at));
                    q.push(sql::UPSERT_SUBJECT_TAIL);
                    let (_, product_id): (String, i64) =
                        q.build_query_as().fetch_one(&mut *tx).await?;
                    done.product_ids.insert(p.product_key.clone(), product_id);
                    let mut seen = SeenAgain::default();
                    let mut evidence = Vec::new();
                    let c = w.changes();
                    write_changes(&mut tx, c, product_id, &mut seen, &mut evidence, &mut done)
                        .await?;
                    done.continued += flush_seen(&mut tx, &mut seen).await?;
                    append_evidence(&mut tx, &evidence).await?;
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
                    let claim = sql::CLAIM_OUTBOX.replace("{lock}", CLAIM_LOCK);
                    let claimed: Vec<OutboxClaimRow> = sqlx::query_as(&native(&claim))
                        .bind(lease_until)
                        .bind(now)
                        .bind(limit)
                        .bind(now - chrono::Duration::minutes(SCAN_HOLD_MINUTES))
                        .fetch_all(&mut *tx)
                        .await?;
                    let finding_ids: Vec<i64> = claimed.iter().map(|c| c.finding_id).collect();
                    let findings: Vec<FindingRow> = if claimed.is_empty() {
                        Vec::new()
                    } else {
                        sqlx::query_as(&native(sql::FINDINGS_BY_ID))
                            .bind(ids(&finding_ids))
                            .fetch_all(&mut *tx)
                            .await?
                    };
                    tx.commit().await?;
                    let findings: HashMap<i64, FindingRow> =
                        findings.into_iter().map(|f| (f.id, f)).collect();
                    let mut items = claimed
                        .into_iter()
                        .map(|c| {
                            let f = findings.get(&c.finding_id).cloned().ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "outbox row for a missing finding {}",
                                    c.finding_id
                                ))
                            })?;
                            Ok(c.with_finding(f))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    items.sort_by_key(|i| i.id);
                    Ok(items)
                }

                async fn mark_sent(
                    &self,
                    list: &[i64],
                    at: DateTime<Utc>,
                    message_id: &str,
                ) -> Result<(), StoreError> {
                    sqlx::query(&native(sql::MARK_SENT))
                        .bind(at)
                        .bind(ids(list))
                        .bind(t(message_id))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn mark_failed(
                    &self,
                    list: &[i64],
                    error: &str,
                    next: Option<DateTime<Utc>>,
                ) -> Result<(), StoreError> {
                    let status = if next.is_some() { "pending" } else { "dead" };
                    sqlx::query(&native(sql::MARK_FAILED))
                        .bind(status)
                        .bind(t(error))
                        .bind(next)
                        .bind(ids(list))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn outbox_list(
                    &self,
                    failed_only: bool,
                    limit: i64,
                ) -> Result<Vec<OutboxEntry>, StoreError> {
                    let filter = if failed_only {
                        "WHERE o.status = 'dead'"
                    } else {
                        ""
                    };
                    let list = sql::OUTBOX_LIST.replace("{filter}", filter);
                    Ok(sqlx::query_as(&native(&list))
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?)
                }

                async fn outbox_retry(
                    &self,
                    list: &[i64],
                    now: DateTime<Utc>,
                ) -> Result<u64, StoreError> {
                    let done = if list.is_empty() {
                        sqlx::query(&native(sql::RETRY_DEAD))
                            .bind(now)
                            .execute(&self.pool)
                            .await?
                    } else {
                        let retry = format!("{}{}", sql::RETRY_DEAD, sql::RETRY_DEAD_IDS_TAIL);
                        sqlx::query(&native(&retry))
                            .bind(now)
                            .bind(ids(list))
                            .execute(&self.pool)
                            .await?
                    };
                    Ok(done.rows_affected())
                }

                async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
                    let rows = sqlx::query(sql::OUTBOX_COUNTS)
                        .fetch_all(&self.pool)
                        .await?;
                    OutboxCounts::from_rows(&rows)
                }

                async fn findings(&self, f: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
                    let mut q = QueryBuilder::<$db>::new(sql::FINDINGS);
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

                async fn history(
                    &self,
                    needle: &str,
                ) -> Result<Vec<(ProductRecord, DateTime<Utc>, StoredObservation)>, StoreError>
                {
                    let rows: Vec<ObservedRow> = sqlx::query_as(&native(sql::HISTORY))
                        .bind(t(needle))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter()
                        .map(|r| -> Result<_, StoreError> {
                            Ok((
                                r.product,
                                r.point.observed_at,
                                r.point.observation.try_into()?,
                            ))
                        })
                        .collect()
                }

                async fn series_after(
                    &self,
                    after: i64,
                    limit: i64,
                ) -> Result<Vec<Series>, StoreError> {
                    let rows = sqlx::query(&native(sql::SERIES_AFTER))
                        .bind(after)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                    let mut out: Vec<Series> = Vec::new();
                    for row in rows {
                        let r = PointRow::from_row(&row)?;
                        let point = (r.observed_at, r.observation.try_into()?);
                        match out.last_mut() {
                            Some(s) if s.product_id == r.id => s.points.push(point),
                            // The product is read once, from its first row.
                            _ => out.push(Series {
                                product_id: r.id,
                                product: ProductRecord::from_row(&row)?,
                                points: vec![point],
                            }),
                        }
                    }
                    Ok(out)
                }

                async fn finding(&self, id: i64) -> Result<Option<FindingRow>, StoreError> {
                    Ok(sqlx::query_as(&native(sql::FINDING))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn evidence(&self, id: i64) -> Result<Option<EvidenceRow>, StoreError> {
                    Ok(sqlx::query_as(&native(sql::EVIDENCE))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn evidence_after(
                    &self,
                    after: i64,
                    limit: i64,
                ) -> Result<Vec<EvidenceRow>, StoreError> {
                    Ok(sqlx::query_as(&native(sql::EVIDENCE_AFTER))
                        .bind(after)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?)
                }

                async fn enqueue_run(&self, run: &RunToQueue) -> Result<Queued, StoreError> {
                    fleet::enqueue(&self.pool, run).await
                }

                async fn claim_runs(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: i64,
                    scan_clock: DateTime<Utc>,
                    interval_ms: &HashMap<String, i64>,
                ) -> Result<Vec<ClaimedRun>, StoreError> {
                    fleet::claim(
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
                    renewals: &[LeaseRenewal],
                    lease_until: DateTime<Utc>,
                ) -> Result<Vec<i64>, StoreError> {
                    fleet::renew(&self.pool, worker, renewals, lease_until).await
                }

                async fn end_run(
                    &self,
                    worker: &str,
                    run: i64,
                    end: RunEnd,
                    summary: &str,
                    host_free_at: DateTime<Utc>,
                ) -> Result<bool, StoreError> {
                    fleet::end(&self.pool, worker, run, end, summary, host_free_at).await
                }

                async fn observed_in_scan(&self, scan_id: i64) -> Result<Vec<i64>, StoreError> {
                    fleet::observed_in_scan(&self.pool, scan_id).await
                }

                async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError> {
                    fleet::runs(&self.pool, limit).await
                }

                async fn findings_page(&self, f: &FindingQuery) -> Result<FindingPage, StoreError> {
                    let mut count = QueryBuilder::<$db>::new(sql::FINDINGS_COUNT);
                    push_console_filters(&mut count, f);
                    let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                    let mut q = QueryBuilder::<$db>::new(sql::FINDINGS_PAGE);
                    push_console_filters(&mut q, f);
                    if let Some((opened, id)) = f.before {
                        q.push(" AND (opened_at < ")
                            .push_bind(opened)
                            .push(" OR (opened_at = ")
                            .push_bind(opened)
                            .push(" AND id < ")
                            .push_bind(id)
                            .push("))");
                    }
                    q.push(" ORDER BY opened_at DESC, id DESC LIMIT ")
                        .push_bind(f.limit.max(0));
                    let rows = q
                        .build_query_as::<FindingRow>()
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(FindingPage { rows, total })
                }

                async fn dismiss_finding(
                    &self,
                    id: i64,
                    reason: &str,
                    at: DateTime<Utc>,
                ) -> Result<Dismissal, StoreError> {
                    let mut tx = self.pool.begin().await?;
                    // The write first: on SQLite the transaction takes the
                    // write lock at once, and on PostgreSQL the row's lock
                    // decides between two concurrent dismissals.
                    let changed = sqlx::query(&native(sql::DISMISS_FINDING))
                        .bind(at)
                        .bind(t(reason))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if changed == 0 {
                        let found: Option<Option<DateTime<Utc>>> =
                            sqlx::query_scalar(&native(sql::FINDING_DISMISSED))
                                .bind(id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        tx.rollback().await?;
                        return Ok(match found {
                            None => Dismissal::NotFound,
                            Some(_) => Dismissal::AlreadyDismissed,
                        });
                    }
                    let error = format!("dismissed: {reason}");
                    let cancelled_alerts = sqlx::query(&native(sql::CANCEL_FINDING_OUTBOX))
                        .bind(t(&error))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(Dismissal::Dismissed { cancelled_alerts })
                }

                async fn dismissals_by_rule(&self) -> Result<Vec<(Rule, i64)>, StoreError> {
                    let mut rows: Vec<(Rule, i64)> = sqlx::query_as(sql::DISMISSALS_BY_RULE)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.sort();
                    Ok(rows)
                }

                async fn product(&self, id: i64) -> Result<Option<ProductRow>, StoreError> {
                    Ok(sqlx::query_as(&native(sql::PRODUCT))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn products_at(
                    &self,
                    shop: &str,
                    url: &str,
                ) -> Result<Vec<ProductRow>, StoreError> {
                    Ok(sqlx::query_as(&native(sql::PRODUCTS_AT))
                        .bind(t(shop))
                        .bind(t(url))
                        .fetch_all(&self.pool)
                        .await?)
                }

                async fn observations_of(
                    &self,
                    product_id: i64,
                ) -> Result<Vec<(DateTime<Utc>, StoredObservation)>, StoreError> {
                    let rows: Vec<PointRow> = sqlx::query_as(&native(sql::OBSERVATIONS_OF))
                        .bind(product_id)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter()
                        .map(|r| Ok((r.observed_at, r.observation.try_into()?)))
                        .collect()
                }

                async fn preferences(&self) -> Result<Vec<Preference>, StoreError> {
                    let rows: Vec<PreferenceRow> = sqlx::query_as(sql::PREFERENCES)
                        .fetch_all(&self.pool)
                        .await?;
                    let mut out = rows
                        .into_iter()
                        .map(Preference::try_from)
                        .collect::<Result<Vec<_>, _>>()?;
                    // By address in byte order, whatever the collation.
                    out.sort_by(|a, b| a.email.cmp(&b.email));
                    Ok(out)
                }

                async fn preference(&self, email: &str) -> Result<Option<Preference>, StoreError> {
                    let row: Option<PreferenceRow> = sqlx::query_as(&native(sql::PREFERENCE))
                        .bind(t(&email.to_ascii_lowercase()).into_owned())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(Preference::try_from).transpose()
                }

                async fn save_preference(&self, p: &Preference) -> Result<(), StoreError> {
                    let brands = p
                        .brands
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("brands of {}: {e}", p.email)))?;
                    sqlx::query(&native(sql::SAVE_PREFERENCE))
                        .bind(t(&p.email.to_ascii_lowercase()).into_owned())
                        .bind(brands)
                        .bind(p.delivery.map(|d| d.to_string()))
                        .bind(p.language)
                        .bind(p.paused)
                        .bind(p.unsubscribed_at)
                        .bind(p.link_version)
                        .bind(p.updated_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn cancel_outbox_to(
                    &self,
                    email: &str,
                    reason: &str,
                ) -> Result<u64, StoreError> {
                    Ok(sqlx::query(&native(sql::CANCEL_OUTBOX_TO))
                        .bind(t(reason))
                        .bind(t(email))
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                }

                async fn console_key(
                    &self,
                    name: &str,
                    candidate: &[u8],
                ) -> Result<Vec<u8>, StoreError> {
                    sqlx::query(&native(sql::INSERT_CONSOLE_KEY))
                        .bind(t(name))
                        .bind(candidate)
                        .bind(Utc::now())
                        .execute(&self.pool)
                        .await?;
                    Ok(sqlx::query_scalar(&native(sql::CONSOLE_KEY))
                        .bind(t(name))
                        .fetch_one(&self.pool)
                        .await?)
                }

                async fn messages_sent_since(
                    &self,
                    email: &str,
                    since: DateTime<Utc>,
                ) -> Result<i64, StoreError> {
                    Ok(sqlx::query_scalar(&native(sql::MESSAGES_SENT_SINCE))
                        .bind(t(email))
                        .bind(since)
                        .fetch_one(&self.pool)
                        .await?)
                }

                async fn defer_outbox(
                    &self,
                    list: &[i64],
                    digest: Digest,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    sqlx::query(&native(sql::DEFER_OUTBOX))
                        .bind(digest)
                        .bind(at)
                        .bind(ids(list))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn record_shop_scan(&self, r: &ShopScanRow) -> Result<(), StoreError> {
                    sqlx::query(&native(sql::RECORD_SHOP_SCAN))
                        .bind(r.scan_id)
                        .bind(t(&r.shop))
                        .bind(r.started_at)
                        .bind(r.finished_at)
                        .bind(r.pages_fetched)
                        .bind(r.pages_unchanged)
                        .bind(r.errors)
                        .bind(r.robots_refused)
                        .bind(r.response_ms_avg)
                        .bind(r.findings)
                        .bind(ot(&r.failed))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn latest_shop_scans(&self) -> Result<Vec<ShopScanRow>, StoreError> {
                    let mut rows: Vec<ShopScanRow> = sqlx::query_as(sql::LATEST_SHOP_SCANS)
                        .fetch_all(&self.pool)
                        .await?;
                    // By shop in byte order, whatever the collation.
                    rows.sort_by(|a, b| a.shop.cmp(&b.shop));
                    Ok(rows)
                }
            }
        }
    };
}

pub(super) use store_backend;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_first_position_and_merges_later_rows() {
        let rows = vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        let merged = merge_by_key(rows, |r| r.0, |e, l| e.1 += l.1);
        assert_eq!(merged, vec![("a", 4), ("b", 7), ("c", 4)]);
    }

    #[test]
    fn seen_again_keeps_groups_in_order_and_empties_on_take() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut seen = SeenAgain::default();
        seen.push(1, vec!["R1".into(), "R3".into()], at);
        seen.push(2, Vec::new(), at);
        seen.push(3, vec!["R7".into()], at);
        assert_eq!(seen.len(), 3);
        let groups = seen.take();
        assert_eq!(
            groups.iter().map(|g| g.product).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(seen.len(), 0);
        assert!(seen.take().is_empty());
    }
}
