//! Moving a SQLite history into PostgreSQL, row for row, ids kept:
//! `vigie migrate --from sqlite://… --to postgres://…`.
//!
//! The target must be empty (freshly migrated). Every table is copied in
//! one PostgreSQL transaction, in foreign-key order, in chunks; the id
//! sequences are moved past the copied ids; then the row counts are
//! compared and the evidence hash chain is verified on the target. Nothing
//! is written to the source.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Row};

use super::{PostgresStore, SqliteStore, Store, StoreError};

/// How a column is read and written.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Time,
    Blob,
    Bool,
    Float,
}

use Kind::{Blob, Bool, Float, Int, Text, Time};

/// The tables, in foreign-key order, with every column.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "scans",
        &[
            ("id", Int),
            ("started_at", Time),
            ("wall_started", Time),
            ("finished_at", Time),
            ("summary", Text),
        ],
    ),
    (
        "products",
        &[
            ("id", Int),
            ("shop", Text),
            ("product_key", Text),
            ("url", Text),
            ("name", Text),
            ("brand", Text),
            ("sku", Text),
            ("gtin", Text),
            ("variant", Text),
            ("first_seen", Time),
            ("last_seen", Time),
        ],
    ),
    (
        "observations",
        &[
            ("id", Int),
            ("scan_id", Int),
            ("product_id", Int),
            ("observed_at", Time),
            ("price_minor", Int),
            ("currency", Text),
            ("reference_minor", Int),
            ("reference_kind", Text),
            ("percent_badge", Int),
            ("availability", Text),
            ("source", Text),
            ("promo", Text),
            ("reference_source", Text),
            ("warnings", Text),
        ],
    ),
    (
        "baselines",
        &[
            ("product_id", Int),
            ("regular_minor", Int),
            ("currency", Text),
            ("last_price_minor", Int),
            ("last_observed_at", Time),
            ("observations", Int),
            ("history", Text),
        ],
    ),
    (
        "evidence",
        &[
            ("id", Int),
            ("url", Text),
            // Kept as the exact text that was hashed.
            ("fetched_at", Text),
            ("status", Int),
            ("headers", Text),
            ("body_sha256", Text),
            ("body_zstd", Blob),
            ("record", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    ),
    (
        "findings",
        &[
            ("id", Int),
            ("rule", Text),
            ("severity", Text),
            ("legal_basis", Text),
            ("product_id", Int),
            ("shop", Text),
            ("brand", Text),
            ("product_name", Text),
            ("url", Text),
            ("price_minor", Int),
            ("reference_minor", Int),
            ("currency", Text),
            ("percent", Int),
            ("calendar", Text),
            ("details", Text),
            ("opened_at", Time),
            ("last_seen_at", Time),
            ("closed_at", Time),
            ("evidence_id", Int),
            ("scope", Text),
            ("dismissed_at", Time),
            ("dismissed_reason", Text),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Int),
            ("finding_id", Int),
            ("subscriber", Text),
            ("email", Text),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("sent_at", Time),
            ("digest", Text),
            ("language", Text),
            ("claimed_until", Time),
            ("scan_id", Int),
            ("baseline", Bool),
            ("message_id", Text),
        ],
    ),
    (
        "pages",
        &[
            ("shop", Text),
            ("url", Text),
            ("etag", Text),
            ("last_modified", Text),
            ("fetched_at", Time),
            ("product_ids", Text),
        ],
    ),
    (
        "subscriptions",
        &[
            ("email", Text),
            ("brands", Text),
            ("delivery", Text),
            ("language", Text),
            ("paused", Bool),
            ("unsubscribed_at", Time),
            ("link_version", Int),
            ("updated_at", Time),
        ],
    ),
    (
        "console_keys",
        &[("name", Text), ("key", Blob), ("created_at", Time)],
    ),
    (
        "shop_scans",
        &[
            ("scan_id", Int),
            ("shop", Text),
            ("started_at", Time),
            ("finished_at", Time),
            ("pages_fetched", Int),
            ("pages_unchanged", Int),
            ("errors", Int),
            ("robots_refused", Int),
            ("response_ms_avg", Float),
            ("findings", Int),
            ("failed", Text),
        ],
    ),
];

/// Rows per chunk (at most 20 columns × 500 binds, far below PostgreSQL's 65535).
const CHUNK: i64 = 500;

/// One value of a row.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Blob(Option<Vec<u8>>),
    Bool(Option<bool>),
    Float(Option<f64>),
}

/// Rows copied per table.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies every row of the SQLite database `from` into the empty
/// PostgreSQL database `to` (both migrated first), then checks the counts
/// and the evidence chain of the target.
pub async fn sqlite_to_postgres(from: &str, to: &str) -> Result<Copied, StoreError> {
    if !from.starts_with("sqlite:")
        || !(to.starts_with("postgres://") || to.starts_with("postgresql://"))
    {
        return Err(StoreError::Unsupported(format!(
            "copying goes from a sqlite:// database to a postgres:// one, not from {} to {}",
            crate::config::redact_url(from),
            crate::config::redact_url(to)
        )));
    }
    let source = SqliteStore::open(from).await?;
    source.migrate().await?;
    let target = PostgresStore::open(to).await?;
    target.migrate().await?;
    let src = source.pool();
    let dst = target.pool();
    for (table, _) in TABLES {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(dst)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Err(StoreError::Unsupported(format!(
                "{} is not empty ({table} has {n} rows): copy into a new database",
                crate::config::redact_url(to)
            )));
        }
    }
    let mut tx = dst.begin().await?;
    let mut copied = Vec::new();
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let list = names.join(", ");
        let mut total = 0u64;
        // Keyset pagination on the rowid: each chunk starts where the last ended.
        let mut after = i64::MIN;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT rowid AS copy_rowid, {list} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
            ))
            .bind(after)
            .bind(CHUNK)
            .fetch_all(src)
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.try_get("copy_rowid")?;
            let mut values: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut v = Vec::with_capacity(columns.len());
                for (i, (_, kind)) in columns.iter().enumerate() {
                    let i = i + 1;
                    v.push(match kind {
                        Int => Value::Int(row.try_get(i)?),
                        Text => Value::Text(row.try_get(i)?),
                        Time => Value::Time(row.try_get(i)?),
                        Blob => Value::Blob(row.try_get(i)?),
                        Bool => Value::Bool(row.try_get(i)?),
                        Float => Value::Float(row.try_get(i)?),
                    });
                }
                values.push(v);
            }
            total += values.len() as u64;
            let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({list}) "));
            q.push_values(values, |mut b, row| {
                for v in row {
                    match v {
                        Value::Int(x) => b.push_bind(x),
                        // PostgreSQL text cannot hold NUL (see the store).
                        Value::Text(x) => b.push_bind(x.map(|s| s.replace('\0', "\u{FFFD}"))),
                        Value::Time(x) => b.push_bind(x),
                        Value::Blob(x) => b.push_bind(x),
                        Value::Bool(x) => b.push_bind(x),
                        Value::Float(x) => b.push_bind(x),
                    };
                }
            });
            q.build().execute(&mut *tx).await?;
        }
        if names.contains(&"id") {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
            ))
            .execute(&mut *tx)
            .await?;
        }
        copied.push((*table, total));
    }
    tx.commit().await?;
    for (table, n) in &copied {
        let got: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(dst)
            .await?
            .try_get("n")?;
        if u64::try_from(got).ok() != Some(*n) {
            return Err(StoreError::Corrupt(format!(
                "{table}: {n} rows copied but {got} in the target"
            )));
        }
    }
    let report = super::evidence::verify_chain(&target).await?;
    if let Some(b) = report.broken.first() {
        return Err(StoreError::Corrupt(format!(
            "the evidence chain does not verify on the target at record #{}: {}",
            b.record, b.reason
        )));
    }
    Ok(copied)
}
