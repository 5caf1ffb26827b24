//! The embedded SQLite store (one file, WAL).
//!
//! Its statements and row mappings are the ones of [`super::backend`];
//! this module holds what is SQLite's own: opening the file, migrations
//! that tolerate a concurrent first opening, `?n` placeholders, id lists
//! bound as JSON arrays, and the single write lock that keeps writers
//! apart.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::StoreError;
use super::backend::{SeenAgain, store_backend};
use super::fleet::sqlite as fleet;

/// Rows per multi-row statement (13 columns × 200 stays far below SQLite's 32766 variables).
const CHUNK: usize = 200;

/// No row lock to take: a claim's first statement is a write, so the claim
/// holds the database's single write lock.
const CLAIM_LOCK: &str = "";

/// SQLite-backed [`Store`](super::Store).
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://` URL.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let open_err = |source| StoreError::Open {
            url: url.to_string(),
            source: super::DbCause(source),
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
}

/// A statement of [`super::sql`] in SQLite's form: `$n` becomes `?n`, and
/// an id list `= ANY($n)` (SQLite has no arrays) becomes a membership in
/// the JSON array bound there.
fn native(sql: &str) -> Cow<'_, str> {
    const ANY: &str = "= ANY(";
    let mut out = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(i) = rest.find(ANY) {
        out.push_str(&rest[..i]);
        rest = &rest[i + ANY.len()..];
        let end = rest.find(')').unwrap_or(rest.len());
        out.push_str("IN (SELECT value FROM json_each(");
        out.push_str(&rest[..end]);
        out.push_str("))");
        rest = rest.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Cow::Owned(out.replace('$', "?"))
}

/// SQLite stores any text, U+0000 included.
fn t(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

/// [`t`] for an optional text.
fn ot(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(t)
}

/// An id list, bound as a JSON array (see [`native`]).
fn ids(list: &[i64]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// Nothing to take: the transaction holds SQLite's single write lock from
/// its first write on, so no other writer extends the chain meanwhile.
async fn lock_evidence_chain(_tx: &mut Transaction<'_, Sqlite>) -> Result<(), StoreError> {
    Ok(())
}

/// Sends the confirmations waiting, one statement per subject (its rules
/// as an `IN` list); returns how many open findings they touched.
async fn flush_seen(
    tx: &mut Transaction<'_, Sqlite>,
    seen: &mut SeenAgain,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for g in seen.take() {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE findings SET last_seen_at = ");
        q.push_bind(g.at)
            .push(" WHERE closed_at IS NULL AND product_id = ")
            .push_bind(g.product);
        q.push(" AND rule IN (");
        let mut sep = q.separated(", ");
        for r in &g.rules {
            sep.push_bind(r);
        }
        q.push(")");
        n += q.build().execute(&mut **tx).await?.rows_affected() as usize;
    }
    Ok(n)
}

/// Whether a migration failed because another process was applying it.
fn is_concurrent_migration(e: &sqlx::migrate::MigrateError) -> bool {
    let text = e.to_string();
    text.contains("already exists") || text.contains("duplicate column") || text.contains("locked")
}

/// Applies the SQLite migrations.
async fn run_migrations(pool: &SqlitePool) -> Result<(), StoreError> {
    // sqlx takes no lock around SQLite migrations: two processes opening a
    // new file at once (two workers) may both apply the same migration,
    // and the second fails on a table the first created. Each migration is
    // one transaction recorded with it, so trying again finds it applied.
    let mut attempt = 0;
    loop {
        match sqlx::migrate!("./migrations/sqlite").run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 20 && is_concurrent_migration(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 + fastrand::u64(0..100))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

store_backend!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_sqlite_placeholders_and_json_id_lists() {
        assert_eq!(
            native("UPDATE t SET a = $1 WHERE id = ANY($2) AND b = $1"),
            "UPDATE t SET a = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND b = ?1"
        );
        assert_eq!(native("SELECT 1"), "SELECT 1");
        assert_eq!(ids(&[3, 1]), "[3,1]");
    }
}
