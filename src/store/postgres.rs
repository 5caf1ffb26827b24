//! The PostgreSQL store, for several workers sharing one database.
//!
//! Its statements and row mappings are the ones of [`super::backend`], the
//! same as SQLite's, so the two pass one contract test suite
//! (`tests/integration/store_contract.rs`). What is PostgreSQL's own:
//!
//! - Timestamps are `TIMESTAMPTZ`, which keeps microseconds: a time with
//!   nanoseconds reads back truncated to the microsecond.
//! - `TEXT` cannot hold U+0000; a NUL in scraped text is stored as U+FFFD
//!   instead of failing the whole batch.
//! - Id lists are bound as arrays (`= ANY($n)`), and the confirmations of
//!   open findings go as one `UPDATE … FROM unnest(…)` per flush.
//! - Outbox claims lock their rows `FOR UPDATE SKIP LOCKED`.
//! - Appending to the evidence hash chain takes a transaction-level advisory
//!   lock, so that concurrent writers never fork the chain; a transaction
//!   appends its evidence last, just before its commit, so the lock is held
//!   briefly.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};

use super::StoreError;
use super::backend::{SeenAgain, store_backend};
use super::fleet::pg as fleet;

/// Rows per multi-row statement: 13 columns × 1000 rows stays far below
/// PostgreSQL's 65535 bind parameters.
const CHUNK: usize = 1000;

/// Workers skip the rows another one is claiming: each row goes to one.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";

/// The advisory lock held while a transaction appends to the evidence chain.
const EVIDENCE_CHAIN_LOCK: i64 = 0x7669_6769_6500_0001;

/// PostgreSQL-backed [`Store`](super::Store).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` or `postgresql://` URL.
    /// Errors name the URL with its password redacted.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let open_err = |source| StoreError::Open {
            url: crate::config::redact_url(url),
            source: super::DbCause(source),
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
}

/// The statements of [`super::sql`] are written in PostgreSQL's form.
fn native(sql: &str) -> Cow<'_, str> {
    Cow::Borrowed(sql)
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

/// An id list, bound as an array.
fn ids(list: &[i64]) -> &[i64] {
    list
}

/// Takes the chain's advisory lock, held until commit: one writer at a
/// time extends the chain.
async fn lock_evidence_chain(tx: &mut Transaction<'_, Postgres>) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVIDENCE_CHAIN_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sends the confirmations waiting as one statement over arrays; returns
/// how many open findings they touched (counted per update, as one
/// statement each would count them).
async fn flush_seen(
    tx: &mut Transaction<'_, Postgres>,
    seen: &mut SeenAgain,
) -> Result<usize, StoreError> {
    let groups = seen.take();
    if groups.is_empty() {
        return Ok(0);
    }
    // One row per finding: a finding updated twice takes the later time,
    // as two statements in order would leave it.
    let mut last: HashMap<(i64, &str), DateTime<Utc>> = HashMap::new();
    for g in &groups {
        for r in &g.rules {
            last.insert((g.product, r.as_str()), g.at);
        }
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
    let hit: HashSet<(i64, &str)> = hit.iter().map(|(p, r)| (*p, r.as_str())).collect();
    Ok(groups
        .iter()
        .flat_map(|g| g.rules.iter().map(move |r| (g.product, r.as_str())))
        .filter(|k| hit.contains(k))
        .count())
}

/// Applies the PostgreSQL migrations (sqlx holds an advisory lock around
/// them).
async fn run_migrations(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations/postgres").run(pool).await?;
    Ok(())
}

store_backend!(PostgresStore, sqlx::Postgres);

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
    fn outbox_claims_skip_rows_locked_by_another_claim() {
        let claim = crate::store::sql::CLAIM_OUTBOX.replace("{lock}", CLAIM_LOCK);
        assert!(claim.contains("ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"));
        assert_eq!(native(&claim), claim);
    }
}
