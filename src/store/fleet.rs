//! The fleet's shared state: scheduled shop runs and per-host
//! leases, for both backends. The statements are the same on both; what
//! differs is how a claim keeps two workers apart:
//!
//! - PostgreSQL: the candidate runs are locked `FOR UPDATE SKIP LOCKED`, so
//!   two workers claiming at once take different runs; a host is taken by
//!   an `INSERT … ON CONFLICT (host) DO UPDATE … WHERE free_at <= now`, which
//!   waits for a concurrent claim of the same host to commit and then sees
//!   it taken.
//! - SQLite: a claim's first statement is a write, so the whole claim runs
//!   under the database's single write lock.
//!
//! A host's `free_at` is when another worker may send it a request: while a
//! worker holds it, the end of its lease plus the host's interval (so a
//! worker that dies mid-request leaves the host a full interval of rest
//! after its lease ends); when it is released, the end of the last response
//! plus the interval.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row, SqlitePool};

use super::{
    ClaimedRun, LeaseRenewal, MAX_RUN_ATTEMPTS, Queued, RunEnd, RunRow, RunToQueue, StoreError,
};

const RUN_COLUMNS: &str = "id, shop, host, slot, status, worker, attempts, scan_id, finished_at";

fn given_up() -> String {
    format!(
        "{{\"error\":\"given up: the run was taken over {MAX_RUN_ATTEMPTS} times (its workers died or lost their lease)\"}}"
    )
}

fn queued_of(status: Option<String>) -> Queued {
    match status.as_deref() {
        Some("due") => Queued::Queued,
        Some(_) => Queued::Skipped,
        None => Queued::AlreadyThere,
    }
}

/// The status a run ends in, and whether it keeps its worker's name.
fn end_status(end: RunEnd) -> &'static str {
    match end {
        RunEnd::Done => "done",
        RunEnd::Failed => "failed",
        RunEnd::Released => "due",
    }
}

/// The statements of one backend: written once with PostgreSQL's `$n`
/// placeholders, which [`sql`] turns into SQLite's `?n` there.
macro_rules! backend {
    ($pool:ty, $lock:expr, $shops_sql:expr, $shops_bind:expr) => {

    pub async fn enqueue(pool: &$pool, run: &RunToQueue) -> Result<Queued, StoreError> {
        // ON CONFLICT without a target: the slot's UNIQUE and the partial
        // "one unfinished run per shop" index both make it a no-op.
        let status: Option<String> = sqlx::query_scalar(
            "INSERT INTO shop_runs (shop, host, slot, due_at, status) \
             SELECT $1, $2, $3, $4, CASE WHEN EXISTS (SELECT 1 FROM shop_runs \
                WHERE shop = $1 AND status IN ('due', 'running')) THEN 'skipped' ELSE 'due' END \
             WHERE true ON CONFLICT DO NOTHING RETURNING status",
        )
        .bind(&run.shop)
        .bind(&run.host)
        .bind(run.slot)
        .bind(run.due_at)
        .fetch_optional(pool)
        .await?;
        Ok(queued_of(status))
    }

    pub async fn claim(
        pool: &$pool,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        scan_clock: DateTime<Utc>,
        interval_ms: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE shop_runs SET status = 'failed', worker = NULL, lease_until = NULL, \
             finished_at = $1, summary = $2 \
             WHERE status = 'running' AND lease_until <= $1 AND attempts >= $3",
        )
        .bind(now)
        .bind(given_up())
        .bind(MAX_RUN_ATTEMPTS)
        .execute(&mut *tx)
        .await?;
        let candidates = sqlx::query(&sql(&format!(
            "SELECT r.id, r.shop, r.host, r.slot, r.scan_id, r.scan_clock, r.worker \
             FROM shop_runs r \
             WHERE ((r.status = 'due' AND r.due_at <= $1) OR (r.status = 'running' AND r.lease_until <= $1)) \
               AND {} \
               AND NOT EXISTS (SELECT 1 FROM host_leases h WHERE h.host = r.host AND h.free_at > $1) \
             ORDER BY r.due_at, r.id LIMIT $2{}",
            $shops_sql, $lock
        )))
        .bind(now)
        .bind(limit)
        .bind($shops_bind(interval_ms))
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::new();
        for c in candidates {
            let id: i64 = c.try_get("id")?;
            let shop: String = c.try_get("shop")?;
            let host: String = c.try_get("host")?;
            let free_at = lease_until
                + chrono::Duration::milliseconds(interval_ms.get(&shop).copied().unwrap_or(1000));
            let took: Option<String> = sqlx::query_scalar(
                "INSERT INTO host_leases (host, worker, lease_until, free_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (host) DO UPDATE SET worker = EXCLUDED.worker, \
                    lease_until = EXCLUDED.lease_until, free_at = EXCLUDED.free_at \
                 WHERE host_leases.free_at <= $5 RETURNING host",
            )
            .bind(&host)
            .bind(worker)
            .bind(lease_until)
            .bind(free_at)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if took.is_none() {
                continue; // another claim took the host first
            }
            let scan_id =
                match c.try_get::<Option<i64>, _>("scan_id")? {
                    Some(s) => s,
                    None => sqlx::query_scalar(
                        &sql("INSERT INTO scans (started_at, wall_started) VALUES ($1, $2) RETURNING id"),
                    )
                    .bind(scan_clock)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?,
                };
            let row = sqlx::query(
                "UPDATE shop_runs SET status = 'running', worker = $1, lease_until = $2, \
                    attempts = attempts + 1, scan_id = $3, scan_clock = COALESCE(scan_clock, $4), \
                    started_at = COALESCE(started_at, $5) \
                 WHERE id = $6 RETURNING attempts, scan_clock",
            )
            .bind(worker)
            .bind(lease_until)
            .bind(scan_id)
            .bind(scan_clock)
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            out.push(ClaimedRun {
                id,
                shop,
                host,
                slot: c.try_get("slot")?,
                scan_id,
                scan_clock: row.try_get("scan_clock")?,
                attempts: row.try_get("attempts")?,
                previous_worker: c.try_get("worker")?,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn renew(
        pool: &$pool,
        worker: &str,
        renewals: &[LeaseRenewal],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut held = Vec::new();
        let mut tx = pool.begin().await?;
        for r in renewals {
            let host: Option<String> = sqlx::query_scalar(
                "UPDATE shop_runs SET lease_until = $1 \
                 WHERE id = $2 AND worker = $3 AND status = 'running' RETURNING host",
            )
            .bind(lease_until)
            .bind(r.run)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(host) = host else { continue };
            sqlx::query(
                &sql("UPDATE host_leases SET lease_until = $1, free_at = $2 WHERE host = $3 AND worker = $4"),
            )
            .bind(lease_until)
            .bind(r.host_free_at)
            .bind(&host)
            .bind(worker)
            .execute(&mut *tx)
            .await?;
            held.push(r.run);
        }
        tx.commit().await?;
        Ok(held)
    }

    pub async fn end(
        pool: &$pool,
        worker: &str,
        run: i64,
        end: RunEnd,
        summary: &str,
        host_free_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = pool.begin().await?;
        let released = end == RunEnd::Released;
        let host: Option<String> = sqlx::query_scalar(
            "UPDATE shop_runs SET status = $1, lease_until = NULL, \
                worker = CASE WHEN $2 THEN NULL ELSE worker END, \
                finished_at = CASE WHEN $2 THEN NULL ELSE $3 END, summary = $4 \
             WHERE id = $5 AND worker = $6 AND status = 'running' RETURNING host",
        )
        .bind(end_status(end))
        .bind(released)
        .bind(Utc::now())
        .bind(summary)
        .bind(run)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(host) = host else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE host_leases SET worker = NULL, lease_until = NULL, free_at = $1 \
             WHERE host = $2 AND worker = $3",
        )
        .bind(host_free_at)
        .bind(&host)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn observed_in_scan(pool: &$pool, scan_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar(&sql("SELECT product_id FROM observations WHERE scan_id = $1"))
                .bind(scan_id)
                .fetch_all(pool)
                .await?,
        )
    }

    pub async fn runs(pool: &$pool, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        Ok(sqlx::query_as(&sql(&format!(
            "SELECT {RUN_COLUMNS} FROM shop_runs ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(pool)
        .await?)
    }
    };
}

/// PostgreSQL: candidates locked `FOR UPDATE SKIP LOCKED`, shops bound as
/// an array.
pub(super) mod pg {
    use super::*;

    fn sql(s: &str) -> String {
        s.to_string()
    }

    fn shops(m: &std::collections::HashMap<String, i64>) -> Vec<String> {
        m.keys().cloned().collect()
    }

    backend!(
        PgPool,
        " FOR UPDATE OF r SKIP LOCKED",
        "r.shop = ANY($3)",
        shops
    );
}

/// SQLite: the claim's first statement is a write, so the claim holds the
/// write lock; shops bound as a JSON array.
pub(super) mod sqlite {
    use super::*;

    fn sql(s: &str) -> String {
        s.replace('$', "?")
    }

    fn shops(m: &std::collections::HashMap<String, i64>) -> String {
        serde_json::to_string(&m.keys().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
    }

    backend!(
        SqlitePool,
        "",
        "r.shop IN (SELECT value FROM json_each($3))",
        shops
    );
}
