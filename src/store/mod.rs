//! Storage: one [`Store`] trait, an embedded SQLite backend (the default)
//! and PostgreSQL for scale-out. Queries are runtime `query_as` with
//! `FromRow`; migrations live in `migrations/<backend>/`.

mod backend;
pub mod copy;
pub mod evidence;
mod fleet;
mod postgres;
mod rows;
mod sql;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

pub use crate::domain::{
    Baseline, FindingDraft, NewObservation, ObservedOffer, Recipient, StoredObservation,
};
use crate::domain::{Digest, Language, Money, OutboxStatus, Rule, RunStatus, Scope, Severity};

/// Why the store failed: infrastructure, not an item's outcome.
///
/// Its message says what failed; the database's error is its
/// [`source`](std::error::Error::source), so a report of the whole chain
/// (`{:#}` of `anyhow`) prints each cause once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open the database {url}")]
    Open {
        /// The URL (password redacted).
        url: String,
        /// The cause.
        source: DbCause<sqlx::Error>,
    },
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[source] DbCause<sqlx::migrate::MigrateError>),
    /// A query failed.
    #[error("database query failed")]
    Sql(#[source] DbCause<sqlx::Error>),
    /// A stored value could not be read back.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The URL names a backend this build cannot use yet.
    #[error("{0}")]
    Unsupported(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Sql(DbCause(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Migrate(DbCause(e))
    }
}

/// The database's own error, as the cause of a [`StoreError`]. Its message
/// already includes the errors beneath it (sqlx's errors print their
/// source in their message), so it names no further source: a chain of
/// causes shows each once.
#[derive(Debug)]
pub struct DbCause<E>(pub E);

impl<E: std::fmt::Display> std::fmt::Display for DbCause<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for DbCause<E> {}

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
    /// SHA-256 of the raw body, lower-case hex.
    pub body_sha256: String,
    /// The raw body, zstd-compressed.
    pub body_zstd: Vec<u8>,
    /// Structured data and matched text, as JSON.
    pub record: serde_json::Value,
}

impl EvidenceInput {
    /// Hashes and compresses a response body at once, so that evidence
    /// waiting to be committed takes a tenth of the memory.
    pub fn new(
        url: String,
        fetched_at: DateTime<Utc>,
        status: u16,
        headers: Vec<(String, String)>,
        body: &[u8],
        record: serde_json::Value,
    ) -> Result<EvidenceInput, StoreError> {
        let mut body_zstd = zstd::bulk::compress(body, 3)
            .map_err(|e| StoreError::Corrupt(format!("cannot compress evidence: {e}")))?;
        // The buffer is allocated at the worst-case size; keep only what is used.
        body_zstd.shrink_to_fit();
        Ok(EvidenceInput {
            url,
            fetched_at,
            status,
            headers,
            body_sha256: sha256_hex(body),
            body_zstd,
            record,
        })
    }
}

/// A finding as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FindingRow {
    /// Id.
    pub id: i64,
    /// The rule.
    pub rule: Rule,
    /// How serious it is.
    pub severity: Severity,
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
    /// What the finding is about.
    pub scope: Scope,
    /// The product (or shop's pseudo product) it is about.
    pub product_id: i64,
    /// When the operator dismissed it.
    pub dismissed_at: Option<DateTime<Utc>>,
    /// Why the operator dismissed it.
    pub dismissed_reason: Option<String>,
}

/// The product key of a shop's pseudo product: the subject of its
/// shop-level findings. No offer can have it (offers' keys start with
/// `sku:`, `gtin:` or `url:`, see [`crate::pipeline::product_key`]).
pub const SHOP_PRODUCT_KEY: &str = "shop:site";

impl FindingRow {
    /// Whether the finding is about the shop as a whole, not a product.
    pub fn is_shop_level(&self) -> bool {
        self.scope == Scope::Shop
    }

    fn money(&self, minor: i64) -> Result<Money, StoreError> {
        rows::money(minor, &self.currency)
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

/// An outbox row claimed for delivery, with its finding.
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
    /// `None` for an immediate email; the digest of a digest row.
    pub digest: Option<Digest>,
    /// Language of the email.
    pub language: Language,
    /// The scan that opened the finding (`None` for rows queued before it
    /// was recorded).
    pub scan_id: Option<i64>,
    /// Whether the finding was opened by the first scan of its shop.
    pub baseline: bool,
    /// The finding to tell about.
    pub finding: FindingRow,
}

/// One outbox row as `vigie outbox` lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct OutboxEntry {
    /// Outbox id.
    pub id: i64,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Subscriber name.
    pub subscriber: String,
    /// Address.
    pub email: String,
    /// Its digest, or none for an immediate email.
    pub digest: Option<Digest>,
    /// Attempts made.
    pub attempts: i64,
    /// When it is (or was) due.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// The finding it tells about.
    pub finding_id: i64,
    /// Its rule.
    pub rule: Rule,
    /// Its brand.
    pub brand: String,
    /// Its shop.
    pub shop: String,
}

/// Outbox rows by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    /// Waiting (due or not yet).
    pub pending: i64,
    /// Sent.
    pub sent: i64,
    /// Given up.
    pub dead: i64,
    /// Cancelled (finding dismissed, address unsubscribed).
    pub cancelled: i64,
}

impl OutboxCounts {
    /// Totals from `(status, count)` rows (`SELECT status, COUNT(*) … GROUP BY status`).
    pub fn from_rows<R: sqlx::Row>(rows: &[R]) -> Result<OutboxCounts, StoreError>
    where
        for<'r> &'r str: sqlx::ColumnIndex<R>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let mut c = OutboxCounts::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("status")?.as_str() {
                "pending" => c.pending = n,
                "sent" => c.sent = n,
                "cancelled" => c.cancelled = n,
                _ => c.dead += n,
            }
        }
        Ok(c)
    }
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

/// The warnings of a reading as stored: a JSON array of strings.
pub fn warnings_to_json(warnings: &[String]) -> String {
    serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into())
}

/// The warnings of a reading from the stored column (NULL, for rows stored
/// before migration 0006, reads as none).
pub fn warnings_from_json(stored: Option<&str>) -> Result<Vec<String>, StoreError> {
    match stored {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str(s)
            .map_err(|e| StoreError::Corrupt(format!("observation warnings {s:?}: {e}"))),
    }
}

/// A product's observations, oldest first.
#[derive(Debug, Clone)]
pub struct Series {
    /// Product id.
    pub product_id: i64,
    /// The product.
    pub product: ProductRecord,
    /// (time, observation).
    pub points: Vec<(DateTime<Utc>, StoredObservation)>,
}

/// An evidence record as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceRow {
    /// Id.
    pub id: i64,
    /// URL fetched.
    pub url: String,
    /// When, RFC 3339 as hashed.
    pub fetched_at: String,
    /// HTTP status.
    pub status: i64,
    /// Headers, JSON.
    pub headers: String,
    /// SHA-256 of the raw body.
    pub body_sha256: String,
    /// The body, zstd.
    pub body_zstd: Vec<u8>,
    /// Structured data and matched text, JSON.
    pub record: String,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// This record's chained hash.
    pub hash: String,
}

impl EvidenceRow {
    /// The hash this record should carry, given the previous record's hash.
    pub fn expected_hash(&self, prev_hash: &str) -> String {
        let status = u16::try_from(self.status).unwrap_or(0);
        evidence_hash(
            prev_hash,
            &self.url,
            &self.fetched_at,
            status,
            &self.headers,
            &self.body_sha256,
            &self.record,
        )
    }

    /// The raw body, decompressed.
    pub fn body(&self) -> Result<Vec<u8>, StoreError> {
        zstd::decode_all(self.body_zstd.as_slice()).map_err(|e| {
            StoreError::Corrupt(format!(
                "evidence #{}: body cannot be decompressed: {e}",
                self.id
            ))
        })
    }
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
    /// The rule.
    pub rule: Option<Rule>,
}

/// What the store knows of a product when a scan starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownProduct {
    /// Product id.
    pub id: i64,
    /// The product as stored.
    pub record: ProductRecord,
    /// Its baseline.
    pub baseline: Option<Baseline>,
    /// Open findings: (rule, percent).
    pub open_rules: Vec<(Rule, Option<u32>)>,
    /// Its latest observation.
    pub last: Option<StoredObservation>,
}

/// A shop's stored state, read once when its scan starts.
#[derive(Debug, Clone, Default)]
pub struct ShopSnapshot {
    /// Products by product key.
    pub products: std::collections::HashMap<String, KnownProduct>,
    /// HTTP cache by page URL.
    pub pages: std::collections::HashMap<String, PageCache>,
}

/// One observation and what it changes.
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// The product (inserted or refreshed).
    pub product: ProductRecord,
    /// The observation (its `product_id` is filled in by the store).
    pub observation: NewObservation,
    /// The product's baseline after this observation.
    pub baseline: Baseline,
    /// Findings to open (a rule already open is not opened twice).
    pub raise: Vec<FindingDraft>,
    /// Rules already open that this observation confirms.
    pub continue_rules: Vec<Rule>,
    /// Rules whose open finding ends with this observation.
    pub close_rules: Vec<Rule>,
    /// Who may be told about each newly opened finding (filtered by rule and severity).
    pub recipients: Vec<Recipient>,
    /// The response, kept as evidence when a finding opens.
    pub evidence: Option<EvidenceInput>,
}

/// What one scan changes in a shop's shop-level findings (site-wide
/// wording such as a "SOLDES" header banner: the shop's, not a product's).
///
/// Their subject is the shop's pseudo product ([`SHOP_PRODUCT_KEY`]): a
/// `products` row with no observation and no baseline, so that a finding
/// keeps its one key (rule, product) and the unique index on open findings
/// holds one open finding per rule and shop, across a fleet of workers.
#[derive(Debug, Clone)]
pub struct ShopFindings {
    /// The shop's pseudo product (see [`ProductRecord::shop_subject`]).
    pub subject: ProductRecord,
    /// The scan clock.
    pub at: DateTime<Utc>,
    /// The scan, recorded with the outbox rows.
    pub scan_id: i64,
    /// Whether this is the shop's first scan (its findings are the
    /// baseline, not news).
    pub baseline: bool,
    /// Findings to open.
    pub raise: Vec<FindingDraft>,
    /// Rules already open that this scan confirms.
    pub continue_rules: Vec<Rule>,
    /// Rules whose open finding ends with this scan.
    pub close_rules: Vec<Rule>,
    /// Who may be told about each newly opened finding.
    pub recipients: Vec<Recipient>,
    /// The page the wording was seen on, kept as evidence when a finding opens.
    pub evidence: Option<EvidenceInput>,
}

impl ProductRecord {
    /// The pseudo product standing for `shop` as a whole: `url` is the page
    /// the shop's wording was seen on, `brands` the shop's watched brands
    /// (their names, joined, as the finding's brand).
    pub fn shop_subject(shop: &str, url: &str, brands: &[String]) -> ProductRecord {
        ProductRecord {
            shop: shop.to_string(),
            product_key: SHOP_PRODUCT_KEY.to_string(),
            url: url.to_string(),
            name: None,
            brand: brands.join(", "),
            sku: None,
            gtin: None,
            variant: None,
        }
    }
}

/// The findings one subject (a product, or a shop's pseudo product) opens,
/// confirms and closes: the part of a write both backends share.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FindingChanges<'a> {
    pub(crate) product: &'a ProductRecord,
    pub(crate) at: DateTime<Utc>,
    pub(crate) raise: &'a [FindingDraft],
    pub(crate) continue_rules: &'a [Rule],
    pub(crate) close_rules: &'a [Rule],
    pub(crate) recipients: &'a [Recipient],
    pub(crate) evidence: Option<&'a EvidenceInput>,
    /// What the findings are about.
    pub(crate) scope: Scope,
    /// The scan writing them.
    pub(crate) scan_id: i64,
    /// Whether the scan is the shop's first.
    pub(crate) baseline: bool,
}

impl BatchItem {
    pub(crate) fn changes(&self, baseline: bool) -> FindingChanges<'_> {
        FindingChanges {
            product: &self.product,
            at: self.observation.observed_at,
            raise: &self.raise,
            continue_rules: &self.continue_rules,
            close_rules: &self.close_rules,
            recipients: &self.recipients,
            evidence: self.evidence.as_ref(),
            scope: Scope::Product,
            scan_id: self.observation.scan_id,
            baseline,
        }
    }
}

impl ShopFindings {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.raise.is_empty() && self.continue_rules.is_empty() && self.close_rules.is_empty()
    }

    pub(crate) fn changes(&self) -> FindingChanges<'_> {
        FindingChanges {
            product: &self.subject,
            at: self.at,
            raise: &self.raise,
            continue_rules: &self.continue_rules,
            close_rules: &self.close_rules,
            recipients: &self.recipients,
            evidence: self.evidence.as_ref(),
            scope: Scope::Shop,
            scan_id: self.scan_id,
            baseline: self.baseline,
        }
    }
}

/// A page's HTTP cache entry, with the products it showed (by key).
#[derive(Debug, Clone)]
pub struct PageWrite {
    /// Page URL.
    pub url: String,
    /// Validators and fetch time (`product_ids` ignored).
    pub cache: PageCache,
    /// Keys of the products read there.
    pub product_keys: Vec<String>,
}

/// Writes that belong together, committed in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The shop the pages belong to.
    pub shop: String,
    /// Observations.
    pub items: Vec<BatchItem>,
    /// Page cache entries.
    pub pages: Vec<PageWrite>,
    /// Whether this is the shop's first scan (its findings are the
    /// baseline, not news).
    pub baseline: bool,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.pages.is_empty()
    }
}

/// What a [`Batch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResult {
    /// Product ids by key, for every product of the batch.
    pub product_ids: std::collections::HashMap<String, i64>,
    /// Findings newly opened: (finding id, product key, rule).
    pub opened: Vec<(i64, String, Rule)>,
    /// Findings already open and seen again.
    pub continued: usize,
    /// Findings closed.
    pub closed: usize,
    /// Outbox rows queued.
    pub queued: usize,
}

/// A scheduled run of one shop, shared by the fleet (table `shop_runs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunToQueue {
    /// The shop.
    pub shop: String,
    /// Its host, the unit of the lease (see [`host_of`]).
    pub host: String,
    /// The scheduled time the run is for: one run per shop and slot.
    pub slot: DateTime<Utc>,
    /// When it may start (the slot plus jitter, real time).
    pub due_at: DateTime<Utc>,
}

/// What [`Store::enqueue_run`] did with a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Queued {
    /// A new run, due at its time.
    Queued,
    /// The shop's previous run is still due or running: the slot is
    /// recorded as skipped.
    Skipped,
    /// Another worker (or an earlier pass) already recorded this slot.
    AlreadyThere,
}

/// A run a worker claimed, with its lease on the run and on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRun {
    /// The run's id.
    pub id: i64,
    /// The shop.
    pub shop: String,
    /// The host leased with it.
    pub host: String,
    /// The scheduled slot.
    pub slot: DateTime<Utc>,
    /// The scan it writes to; the same after a takeover.
    pub scan_id: i64,
    /// The scan clock of the run (set by its first claim).
    pub scan_clock: DateTime<Utc>,
    /// Claims so far, this one included: above 1 the run is taken over and
    /// resumes what the previous worker committed.
    pub attempts: i64,
    /// The worker that held it before, when taken over.
    pub previous_worker: Option<String>,
}

/// A lease to renew: the run, and when its host may next be crawled by
/// another worker if this one dies now (the lease's end plus the host's
/// interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRenewal {
    /// The run.
    pub run: i64,
    /// The host's new `free_at`.
    pub host_free_at: DateTime<Utc>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// Finished (the shop may still have failed: see the summary).
    Done,
    /// Failed (the error is the summary).
    Failed,
    /// Given back unfinished (shutdown): another worker resumes it at once.
    Released,
}

/// One row of `vigie worker --status` / `shop_runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RunRow {
    /// The run's id.
    pub id: i64,
    /// The shop.
    pub shop: String,
    /// Its host.
    pub host: String,
    /// The scheduled slot.
    pub slot: DateTime<Utc>,
    /// Where it stands.
    pub status: RunStatus,
    /// The worker holding it, or that finished it.
    pub worker: Option<String>,
    /// Claims so far.
    pub attempts: i64,
    /// The scan it wrote to.
    pub scan_id: Option<i64>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The lease key of a shop: its host name, lower-case (all ports and both
/// schemes of one host count as one host across the fleet).
pub fn host_of(url: &url::Url) -> String {
    url.host_str().unwrap_or("").to_ascii_lowercase()
}

/// A run taken over more often than this is given up as failed: a shop
/// that kills every worker that scans it must not take the fleet down.
pub const MAX_RUN_ATTEMPTS: i64 = 3;

/// Which findings a console list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingState {
    /// Open and not dismissed.
    Open,
    /// Closed and not dismissed.
    Closed,
    /// Dismissed by the operator (open or closed).
    Dismissed,
}

/// A page of the console's findings list: filters, then a keyset cursor.
#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    /// Brand (canonical name).
    pub brand: Option<String>,
    /// Shop name.
    pub shop: Option<String>,
    /// The rule.
    pub rule: Option<Rule>,
    /// The severity.
    pub severity: Option<Severity>,
    /// Open, closed or dismissed; `None`: all.
    pub state: Option<FindingState>,
    /// Opened at or after.
    pub opened_from: Option<DateTime<Utc>>,
    /// Opened before.
    pub opened_to: Option<DateTime<Utc>>,
    /// Only this product's findings.
    pub product_id: Option<i64>,
    /// Newest first: only the rows after this `(opened_at, id)`, i.e.
    /// opened earlier, or at the same time with a smaller id.
    pub before: Option<(DateTime<Utc>, i64)>,
    /// Rows at most.
    pub limit: i64,
}

/// One page of findings, newest first (`opened_at` then `id`, descending).
#[derive(Debug, Clone, Default)]
pub struct FindingPage {
    /// The rows.
    pub rows: Vec<FindingRow>,
    /// How many rows match the filters (all pages).
    pub total: i64,
}

/// What [`Store::dismiss_finding`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dismissal {
    /// Dismissed now; its pending alerts were cancelled.
    Dismissed {
        /// Outbox rows cancelled.
        cancelled_alerts: u64,
    },
    /// It was dismissed before: nothing changed.
    AlreadyDismissed,
    /// No such finding.
    NotFound,
}

/// A product as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    /// Id.
    pub id: i64,
    /// The product.
    #[sqlx(flatten)]
    pub record: ProductRecord,
    /// First observed.
    pub first_seen: DateTime<Utc>,
    /// Last observed.
    pub last_seen: DateTime<Utc>,
}

/// What one scan did in one shop (table `shop_scans`), for the console's
/// shops page.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ShopScanRow {
    /// The scan.
    pub scan_id: i64,
    /// The shop.
    pub shop: String,
    /// When the shop's scan started (real time).
    pub started_at: DateTime<Utc>,
    /// When it ended (real time).
    pub finished_at: DateTime<Utc>,
    /// Product pages read (2xx).
    pub pages_fetched: i64,
    /// Product pages unchanged (304 or older `<lastmod>`).
    pub pages_unchanged: i64,
    /// Problems met.
    pub errors: i64,
    /// Requests robots.txt refused.
    pub robots_refused: i64,
    /// Mean response time of the shop's pages, in milliseconds.
    pub response_ms_avg: Option<f64>,
    /// Findings opened.
    pub findings: i64,
    /// Why the shop could not be scanned at all.
    pub failed: Option<String>,
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
    /// Everything known of a shop's products and pages.
    async fn load_shop(&self, shop: &str) -> Result<ShopSnapshot, StoreError>;
    /// Writes observations, baselines, findings, evidence, outbox rows and
    /// page cache entries in one transaction.
    async fn write_batch(&self, batch: &Batch) -> Result<BatchResult, StoreError>;
    /// Writes a shop's shop-level findings in one transaction: the shop's
    /// pseudo product (inserted or refreshed; it gets no observation), the
    /// findings closed, confirmed and opened (scope `shop`), their evidence
    /// and outbox rows. `opened` names the pseudo product's key.
    async fn write_shop_findings(&self, w: &ShopFindings) -> Result<BatchResult, StoreError>;
    /// Claims up to `limit` pending rows due at `now` that no live lease
    /// holds, oldest first, leasing them until `lease_until`. A worker that
    /// dies leaves its rows to be claimed again when the lease ends. An
    /// immediate row waits until its scan finishes (so one shop's scan is
    /// one message), or until it is [`SCAN_HOLD_MINUTES`] old.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Marks rows sent (together: a digest is one message, `message_id`)
    /// and ends their lease.
    async fn mark_sent(
        &self,
        ids: &[i64],
        at: DateTime<Utc>,
        message_id: &str,
    ) -> Result<(), StoreError>;
    /// Records a failed attempt on rows; `next` is when to retry, `None` for dead.
    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Outbox rows, newest first: all, or only the dead ones.
    async fn outbox_list(
        &self,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Puts dead rows (all when `ids` is empty) back in the queue, due at
    /// `now` with their attempts reset; returns how many.
    async fn outbox_retry(&self, ids: &[i64], now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Rows by status.
    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError>;
    /// Lists findings.
    async fn findings(&self, f: &FindingFilter) -> Result<Vec<FindingRow>, StoreError>;
    /// Observations of the products whose product key, URL, SKU or GTIN is
    /// `needle`, oldest first: (product, observation time, observation).
    async fn history(
        &self,
        needle: &str,
    ) -> Result<Vec<(ProductRecord, DateTime<Utc>, StoredObservation)>, StoreError>;
    /// The observation series of the products with an id above `after`, at
    /// most `limit` products, in product then time order.
    async fn series_after(&self, after: i64, limit: i64) -> Result<Vec<Series>, StoreError>;
    /// One finding.
    async fn finding(&self, id: i64) -> Result<Option<FindingRow>, StoreError>;
    /// One evidence record.
    async fn evidence(&self, id: i64) -> Result<Option<EvidenceRow>, StoreError>;
    /// Evidence records with an id above `after`, in id order, at most `limit`.
    async fn evidence_after(&self, after: i64, limit: i64) -> Result<Vec<EvidenceRow>, StoreError>;
    /// Records a scheduled slot of a shop, once for the whole fleet.
    async fn enqueue_run(&self, run: &RunToQueue) -> Result<Queued, StoreError>;
    /// Claims up to `limit` runs that are due (or whose holder's lease ended
    /// at `now`) and whose host no other worker holds or rested too
    /// recently, leasing run and host to `worker` until `lease_until`; a
    /// host's `free_at` becomes `lease_until` plus `interval_ms[shop]`.
    /// Only the shops of `interval_ms` are claimed (the worker's
    /// watchlists: a fleet may split its shops between workers). A new run
    /// gets a scan at `scan_clock`. Runs taken over [`MAX_RUN_ATTEMPTS`]
    /// times are marked failed instead.
    async fn claim_runs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        scan_clock: DateTime<Utc>,
        interval_ms: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<ClaimedRun>, StoreError>;
    /// Extends `worker`'s leases on these runs and their hosts; returns the
    /// runs it still holds (a run missing was taken over: stop it).
    async fn renew_runs(
        &self,
        worker: &str,
        renewals: &[LeaseRenewal],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError>;
    /// Ends `worker`'s run and frees its host from `host_free_at`; false
    /// when the run was no longer this worker's (taken over).
    async fn end_run(
        &self,
        worker: &str,
        run: i64,
        end: RunEnd,
        summary: &str,
        host_free_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The products observed in a scan (to resume a run taken over).
    async fn observed_in_scan(&self, scan_id: i64) -> Result<Vec<i64>, StoreError>;
    /// The latest runs, newest first.
    async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError>;

    // ----- The console.

    /// One page of findings (see [`FindingQuery`]).
    async fn findings_page(&self, q: &FindingQuery) -> Result<FindingPage, StoreError>;
    /// Dismisses a finding with the operator's reason: it stays visible as
    /// dismissed, is not alerted again for this episode (its pending outbox
    /// rows become `cancelled`, with the reason), and a later observation
    /// of the same episode confirms it without reopening it.
    async fn dismiss_finding(
        &self,
        id: i64,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Dismissal, StoreError>;
    /// Dismissed findings per rule, for `/metrics`.
    async fn dismissals_by_rule(&self) -> Result<Vec<(Rule, i64)>, StoreError>;
    /// One product.
    async fn product(&self, id: i64) -> Result<Option<ProductRow>, StoreError>;
    /// The variants of a product page: the products of `shop` read at
    /// `url`, by id.
    async fn products_at(&self, shop: &str, url: &str) -> Result<Vec<ProductRow>, StoreError>;
    /// A product's observations, oldest first.
    async fn observations_of(
        &self,
        product_id: i64,
    ) -> Result<Vec<(DateTime<Utc>, StoredObservation)>, StoreError>;
    /// Every stored subscriber choice, by address.
    async fn preferences(&self) -> Result<Vec<crate::domain::Preference>, StoreError>;
    /// The choices stored for one address (lower-cased before the lookup).
    async fn preference(
        &self,
        email: &str,
    ) -> Result<Option<crate::domain::Preference>, StoreError>;
    /// Stores a subscriber's choices (insert or replace, by address).
    async fn save_preference(&self, p: &crate::domain::Preference) -> Result<(), StoreError>;
    /// Cancels the pending outbox rows to an address (`reason` becomes
    /// their `last_error`); returns how many.
    async fn cancel_outbox_to(&self, email: &str, reason: &str) -> Result<u64, StoreError>;
    /// The secret key named `name` (`link`, `session`): `candidate` is
    /// stored if none is yet, and the stored key returned, so every
    /// process sharing the database uses the same key.
    async fn console_key(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Messages sent to an address since `since` (rows marked sent
    /// together count once), for the daily cap.
    async fn messages_sent_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Turns claimed immediate rows into `digest` rows due at `at` and ends
    /// their lease (rows over a subscriber's daily cap wait for the next
    /// digest).
    async fn defer_outbox(
        &self,
        ids: &[i64],
        digest: Digest,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Records what a scan did in one shop (replacing an earlier record of
    /// the same scan and shop: a run taken over records once).
    async fn record_shop_scan(&self, row: &ShopScanRow) -> Result<(), StoreError>;
    /// The latest [`ShopScanRow`] of every shop.
    async fn latest_shop_scans(&self) -> Result<Vec<ShopScanRow>, StoreError>;
}

/// How long an immediate alert waits for its scan to finish: a scan that
/// crashed must not hold its alerts forever.
pub const SCAN_HOLD_MINUTES: i64 = 30;

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store a URL names (`sqlite://FILE`, `postgres://…` or
/// `postgresql://…`), and applies migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(SqliteStore::open(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Box::new(PostgresStore::open(url).await?)
    } else {
        return Err(StoreError::Unsupported(format!(
            "{}: the database URL must start with sqlite://, postgres:// or postgresql://",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_prints_its_cause_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StoreError::from(sqlx::Error::Io(refused));
        assert_eq!(e.to_string(), "database query failed");
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(
            chain,
            "database query failed: error communicating with database: refused"
        );
    }
}
