//! Storage: one [`Store`] trait, an embedded SQLite backend (the default)
//! and, later, PostgreSQL for scale-out. Queries are runtime `query_as`
//! with `FromRow`; migrations live in `migrations/<backend>/`.

mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use sqlite::SqliteStore;

use crate::domain::{Currency, Money};

/// Why the store failed: infrastructure, not an item's outcome.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open the database {url}: {source}")]
    Open {
        /// The URL (password redacted).
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The URL names a backend this build cannot use yet.
    #[error("{0}")]
    Unsupported(String),
}

/// A product variant as identified in one shop.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRecord {
    /// Shop name.
    pub shop: String,
    /// Stable key within the shop (SKU, else GTIN, else URL; plus variant).
    pub product_key: String,
    /// Product URL.
    pub url: String,
    /// Name as scraped.
    pub name: Option<String>,
    /// The watched brand's canonical name.
    pub brand: String,
    /// SKU.
    pub sku: Option<String>,
    /// GTIN.
    pub gtin: Option<String>,
    /// Variant label.
    pub variant: Option<String>,
}

/// One observation of one product in one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObservation {
    /// The scan.
    pub scan_id: i64,
    /// The product.
    pub product_id: i64,
    /// When (scan clock).
    pub observed_at: DateTime<Utc>,
    /// Price to pay.
    pub price: Money,
    /// Higher price shown beside it.
    pub reference: Option<Money>,
    /// Kind of that higher price.
    pub reference_kind: Option<String>,
    /// Percent badge shown.
    pub percent_badge: Option<u32>,
    /// Availability.
    pub availability: Option<String>,
    /// Where the data came from.
    pub source: String,
}

/// The stored baseline of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// Last undiscounted public price, if one was seen.
    pub regular: Option<Money>,
    /// Last price seen.
    pub last_price: Money,
    /// When it was seen.
    pub last_observed_at: DateTime<Utc>,
    /// Observations counted.
    pub observations: i64,
}

/// The raw response behind a finding.
#[derive(Debug, Clone)]
pub struct EvidenceInput {
    /// URL fetched.
    pub url: String,
    /// When.
    pub fetched_at: DateTime<Utc>,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
    /// Structured data and matched text, as JSON.
    pub record: serde_json::Value,
}

/// A finding the detector raised, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingDraft {
    /// Rule id (`R3`…).
    pub rule: String,
    /// `violation` or `report`.
    pub severity: String,
    /// Legal basis in words.
    pub legal_basis: String,
    /// Price to pay.
    pub price: Money,
    /// Reference price displayed.
    pub reference: Option<Money>,
    /// Declared or computed reduction in percent.
    pub percent: Option<u32>,
    /// Calendar zone and period used.
    pub calendar: String,
    /// Figures used, as JSON.
    pub details: serde_json::Value,
}

/// Everything one observation changes, written in one transaction.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The observation.
    pub observation: NewObservation,
    /// Findings to open (those already open for the same rule are kept, not duplicated).
    pub raise: Vec<FindingDraft>,
    /// Rules whose open finding ends with this observation.
    pub close_rules: Vec<String>,
    /// Who to tell about each newly opened finding: (name, email).
    pub recipients: Vec<(String, String)>,
    /// The response, kept as evidence when a finding opens.
    pub evidence: Option<EvidenceInput>,
}

/// What a [`Recording`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Findings newly opened (ids).
    pub opened: Vec<i64>,
    /// Findings already open and seen again.
    pub continued: usize,
    /// Findings closed.
    pub closed: usize,
    /// Outbox rows queued.
    pub queued: usize,
}

/// A finding as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FindingRow {
    /// Id.
    pub id: i64,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Shop.
    pub shop: String,
    /// Brand.
    pub brand: String,
    /// Product name.
    pub product_name: Option<String>,
    /// URL.
    pub url: String,
    /// Price, minor units.
    pub price_minor: i64,
    /// Reference price, minor units.
    pub reference_minor: Option<i64>,
    /// Currency code.
    pub currency: String,
    /// Percent.
    pub percent: Option<i64>,
    /// Calendar used.
    pub calendar: String,
    /// Figures, JSON text.
    pub details: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Last seen.
    pub last_seen_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Evidence record.
    pub evidence_id: Option<i64>,
}

impl FindingRow {
    fn money(&self, minor: i64) -> Result<Money, StoreError> {
        let c = Currency::new(&self.currency).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Money::new(minor, c))
    }

    /// The price as [`Money`].
    pub fn price(&self) -> Result<Money, StoreError> {
        self.money(self.price_minor)
    }

    /// The reference price as [`Money`].
    pub fn reference(&self) -> Result<Option<Money>, StoreError> {
        self.reference_minor.map(|m| self.money(m)).transpose()
    }
}

/// An outbox row due for delivery, with its finding.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Outbox id (the Message-ID derives from it).
    pub id: i64,
    /// Subscriber name.
    pub subscriber: String,
    /// Address.
    pub email: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The finding to tell about.
    pub finding: FindingRow,
}

/// What a page gave last time it was fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCache {
    /// `ETag` received.
    pub etag: Option<String>,
    /// `Last-Modified` received.
    pub last_modified: Option<String>,
    /// Wall-clock time of that fetch.
    pub fetched_at: Option<DateTime<Utc>>,
    /// Products read on the page.
    pub product_ids: Vec<i64>,
}

/// The last stored observation of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObservation {
    /// Price to pay.
    pub price: Money,
    /// Reference price shown.
    pub reference: Option<Money>,
    /// Its kind.
    pub reference_kind: Option<String>,
    /// Percent badge shown.
    pub percent_badge: Option<u32>,
    /// Availability.
    pub availability: Option<String>,
}

/// Filters for listing findings.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only open findings.
    pub open_only: bool,
    /// Brand (canonical name).
    pub brand: Option<String>,
    /// Shop name.
    pub shop: Option<String>,
    /// Rule id.
    pub rule: Option<String>,
}

/// The storage interface every backend implements.
#[async_trait]
pub trait Store: Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Starts a scan at the scan clock `at`; returns its id.
    async fn begin_scan(&self, at: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Ends a scan with its JSON summary.
    async fn finish_scan(
        &self,
        scan_id: i64,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError>;
    /// Inserts or refreshes a product; returns its id.
    async fn upsert_product(
        &self,
        p: &ProductRecord,
        seen: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// A stored product.
    async fn product(&self, product_id: i64) -> Result<Option<ProductRecord>, StoreError>;
    /// The product's baseline, if it was seen before.
    async fn baseline(&self, product_id: i64) -> Result<Option<Baseline>, StoreError>;
    /// Rules with an open finding for the product.
    async fn open_rules(&self, product_id: i64) -> Result<Vec<String>, StoreError>;
    /// Writes an observation, its baseline update, findings, evidence and
    /// outbox rows in one transaction.
    async fn record(&self, r: &Recording) -> Result<Recorded, StoreError>;
    /// The HTTP cache of every page of a shop, by URL.
    async fn page_cache(
        &self,
        shop: &str,
    ) -> Result<std::collections::HashMap<String, PageCache>, StoreError>;
    /// Records what a page gave.
    async fn save_page(&self, shop: &str, url: &str, page: &PageCache) -> Result<(), StoreError>;
    /// The latest observation of a product.
    async fn last_observation(
        &self,
        product_id: i64,
    ) -> Result<Option<StoredObservation>, StoreError>;
    /// Outbox rows due at `now`, oldest first.
    async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Marks a row sent.
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a failed attempt; `next` is when to retry, `None` for dead.
    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Lists findings.
    async fn findings(&self, f: &FindingFilter) -> Result<Vec<FindingRow>, StoreError>;
}

/// Opens the store a URL names, and applies migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(SqliteStore::open(url).await?)
    } else {
        return Err(StoreError::Unsupported(format!(
            "{}: only sqlite:// databases are supported in this version",
            crate::config::redact_url(url)
        )));
    };
    store.migrate().await?;
    Ok(store)
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The chained hash of an evidence record: any edit to a stored field, or
/// to an earlier record, changes it.
pub fn evidence_hash(
    prev_hash: &str,
    url: &str,
    fetched_at: &str,
    status: u16,
    headers_json: &str,
    body_sha256: &str,
    record_json: &str,
) -> String {
    let mut material = Vec::new();
    for part in [
        prev_hash,
        url,
        fetched_at,
        &status.to_string(),
        headers_json,
        body_sha256,
        record_json,
    ] {
        material.extend_from_slice(&(part.len() as u64).to_be_bytes());
        material.extend_from_slice(part.as_bytes());
    }
    sha256_hex(&material)
}
