//! One scan, end to end: for every shop, discover → fetch → extract →
//! store → detect, then deliver the outbox.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;

use crate::catalog::{Catalog, Shop, Subscriber};
use crate::detect::{self, Context, ObservedOffer};
use crate::discover;
use crate::domain::calendar::{Calendar, Zone};
use crate::domain::{Rule, Source};
use crate::extract::platform::{self, Platform};
use crate::extract::{self, ExtractedOffer};
use crate::fetch::{FetchOutcome, FetchTally, HostPolicy, HostPool, Page, Validators};
use crate::notify::{self, Mailer};
use std::collections::{HashMap, HashSet};

use crate::store::{
    Batch, BatchItem, EvidenceInput, KnownProduct, NewObservation, PageCache, PageWrite,
    ProductRecord, SHOP_PRODUCT_KEY, ShopFindings, ShopScanRow, ShopSnapshot, Store, StoreError,
    StoredObservation,
};

/// How many shops are crawled at once (each host keeps its own pace, so
/// this only bounds memory; 1,000 polite hosts run side by side).
pub const SHOP_CONCURRENCY: usize = 4096;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The scan clock (`--now`), used for the calendar and timestamps.
    pub now: DateTime<Utc>,
    /// Only these shops (all when empty).
    pub shops: Vec<String>,
    /// Write every observation as a JSON line to this file.
    pub output: Option<PathBuf>,
    /// Deliver the outbox after the scan.
    pub deliver: bool,
    /// Told as each shop's pages are crawled (progress bars, plain lines).
    pub progress: Option<std::sync::Arc<dyn ScanProgress>>,
}

/// Hears how a scan advances, shop by shop.
pub trait ScanProgress: Send + Sync + std::fmt::Debug {
    /// A shop's crawl starts with this many pages to read.
    fn shop_started(&self, shop: &str, pages: usize);
    /// One page of the shop is done (fetched, unchanged or failed).
    fn page_done(&self, shop: &str);
    /// The shop is done, with these totals.
    fn shop_finished(&self, shop: &str, summary: &ScanSummary);
}

/// The totals a scan prints with `--json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ScanSummary {
    /// Product pages fetched with a 2xx answer.
    pub pages_fetched: usize,
    /// Product pages not fetched again: a 304, or a sitemap `<lastmod>` older than our copy.
    pub pages_unchanged: usize,
    /// Product pages not asked for again because the run was taken over
    /// from a worker that had already read them.
    #[serde(skip_serializing_if = "is_zero")]
    pub pages_resumed: usize,
    /// Observations of watched brands stored.
    pub observations: usize,
    /// Findings newly opened.
    pub findings: usize,
    /// Emails delivered after the scan.
    pub emails_sent: usize,
    /// Problems met (pages, sitemaps, deliveries), not fatal.
    pub errors: usize,
    /// Shops that could not be scanned at all.
    pub shops_failed: Vec<String>,
    /// The problems, one line each.
    #[serde(skip)]
    pub problems: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What every shop's scan reads from and writes to: the watchlists, the
/// store, the politeness-keeping HTTP pool and the sales calendar.
#[derive(Clone, Copy)]
pub struct Scanner<'a> {
    /// The watchlists.
    pub catalog: &'a Catalog,
    /// Where observations and findings go.
    pub store: &'a dyn Store,
    /// The HTTP pool (one politeness state per host).
    pub pool: &'a HostPool,
    /// The sales calendar.
    pub calendar: &'a Calendar,
}

/// One shop's part of a fleet run ([`crate::daemon::worker`]): scans
/// `shop` into the existing scan `scan_id` at the scan clock `now`.
/// `already` holds the products that scan already observed (a run taken
/// over from a worker that died): they are not observed twice, and the
/// pages that showed only them are not fetched again. Ending the scan row
/// is the caller's job.
pub async fn scan_claimed(
    scanner: &Scanner<'_>,
    shop: &Shop,
    scan_id: i64,
    now: DateTime<Utc>,
    already: &HashSet<i64>,
) -> Result<ScanSummary, StoreError> {
    let opts = ScanOptions {
        now,
        shops: vec![shop.name.clone()],
        output: None,
        deliver: false,
        progress: None,
    };
    let r = scan_shop(scanner, shop, scan_id, &opts, already).await?;
    Ok(r.summary)
}

/// One JSON line of `--output`.
#[derive(Debug, Serialize)]
struct OutputLine<'a> {
    url: &'a str,
    shop: &'a str,
    brand: &'a str,
    name: Option<&'a str>,
    sku: Option<&'a str>,
    price: String,
    reference_price: Option<String>,
    /// Where the reference price was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_source: Option<Source>,
    currency: &'a str,
    observed_at: String,
    /// The warnings of the reading.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--output` could not be written.
    #[error("cannot write {}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// `--shop` names a shop that is not in the watchlists.
    #[error("unknown shop {0:?}; `vigie check` lists the shops")]
    UnknownShop(String),
}

struct ShopResult {
    summary: ScanSummary,
    lines: Vec<String>,
}

/// A stable key for a product variant within a shop.
pub fn product_key(o: &ExtractedOffer, page: &Page) -> String {
    let base = o
        .sku
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!("sku:{s}"))
        .or_else(|| {
            o.gtin
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|g| format!("gtin:{g}"))
        })
        .unwrap_or_else(|| format!("url:{}", o.url.as_deref().unwrap_or(page.url.as_str())));
    match &o.variant {
        Some(v) if !v.is_empty() => format!("{base}#{v}"),
        _ => base,
    }
}

/// Runs one scan.
pub async fn scan(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    mailer: &Mailer,
    calendar: &Calendar,
    opts: &ScanOptions,
) -> Result<ScanSummary, ScanError> {
    for name in &opts.shops {
        if catalog.shop(name).is_none() {
            return Err(ScanError::UnknownShop(name.clone()));
        }
    }
    let shops: Vec<&Shop> = catalog
        .shops
        .iter()
        .filter(|s| opts.shops.is_empty() || opts.shops.contains(&s.name))
        .collect();
    let scan_id = store.begin_scan(opts.now).await?;
    pool.new_run();
    let no_resume = HashSet::new();
    let scanner = Scanner {
        catalog,
        store,
        pool,
        calendar,
    };
    let results: Vec<Result<ShopResult, StoreError>> = futures::stream::iter(shops)
        .map(|shop| scan_shop(&scanner, shop, scan_id, opts, &no_resume))
        .buffer_unordered(SHOP_CONCURRENCY)
        .collect()
        .await;
    let mut summary = ScanSummary::default();
    let mut lines = Vec::new();
    for r in results {
        let r = r?;
        summary.pages_fetched += r.summary.pages_fetched;
        summary.pages_unchanged += r.summary.pages_unchanged;
        summary.observations += r.summary.observations;
        summary.findings += r.summary.findings;
        summary.errors += r.summary.errors;
        summary.shops_failed.extend(r.summary.shops_failed);
        summary.problems.extend(r.summary.problems);
        lines.extend(r.lines);
    }
    summary.shops_failed.sort();
    if let Some(path) = &opts.output {
        let io_err = |source| ScanError::Output {
            path: path.clone(),
            source,
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io_err)?);
        for l in &lines {
            writeln!(f, "{l}").map_err(io_err)?;
        }
        f.flush().map_err(io_err)?;
    }
    if opts.deliver {
        // The scan ends before its alerts go: an immediate alert waits
        // while its scan runs (one message per shop and scan). The summary
        // is written again below, with what was delivered.
        store
            .finish_scan(scan_id, &serde_json::to_value(&summary).unwrap_or_default())
            .await?;
        let d = notify::drain(store, mailer, Utc::now()).await?;
        summary.emails_sent = d.sent;
        if d.retrying + d.dead > 0 {
            summary.errors += d.retrying + d.dead;
            summary.problems.push(format!(
                "{} email(s) could not be delivered yet ({} will be retried; see the log)",
                d.retrying + d.dead,
                d.retrying
            ));
        }
    }
    store
        .finish_scan(scan_id, &serde_json::to_value(&summary).unwrap_or_default())
        .await?;
    Ok(summary)
}

/// Pages whose writes are committed together, at most.
pub const BATCH_PAGES: usize = 64;
/// Longest time writes wait before being committed, at slow crawl rates.
pub const BATCH_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// One shop's scan: its stored state (read once), the writes waiting to be
/// committed, and the running totals.
struct ShopRun<'a> {
    catalog: &'a Catalog,
    store: &'a dyn Store,
    shop: &'a Shop,
    ctx: Context<'a>,
    scan_id: i64,
    opts: &'a ScanOptions,
    snapshot: ShopSnapshot,
    key_of_id: HashMap<i64, String>,
    observed: HashSet<String>,
    batch: Batch,
    batch_pages: usize,
    batch_started: std::time::Instant,
    promo_cache: extract::promo_text::PromoCache,
    /// The shop's own wording over the pages read afresh (site-wide banners).
    wording: detect::ShopWording,
    /// The first page showing "soldes" wording site-wide, kept as the
    /// evidence of a shop-level finding.
    wording_evidence: Option<EvidenceInput>,
    summary: ScanSummary,
    lines: Vec<String>,
    /// Where observations and findings are counted.
    metrics: crate::metrics::Metrics,
    /// The subscribers as they are at the start of this shop's scan: the
    /// watchlists' with the choices stored in the console applied
    /// ([`Catalog::effective_subscribers`]).
    subscribers: Vec<Subscriber>,
    /// The robots.txt refusals and response times of the shop's pages.
    tally: FetchTally,
    /// When the shop's scan started (real time).
    started_at: DateTime<Utc>,
    /// Why the shop could not be scanned, when it could not.
    failed: Option<String>,
}

/// One observation to record, from a fresh page or repeated from a page
/// that did not change.
struct Sighting<'p> {
    record: ProductRecord,
    offer: ObservedOffer,
    availability: Option<String>,
    source: Source,
    /// Where the reference price was read from.
    reference_source: Option<Source>,
    /// The warnings of the reading (the offer's, then the page's).
    warnings: Vec<String>,
    /// The page and the offer's structured data, kept as evidence.
    evidence: Option<(&'p Page, &'p ExtractedOffer)>,
}

impl<'a> ShopRun<'a> {
    /// A shop's scan, from its stored state. `already` holds the products
    /// the scan observed before a takeover (see [`scan_claimed`]).
    async fn start(
        catalog: &'a Catalog,
        store: &'a dyn Store,
        calendar: &'a Calendar,
        shop: &'a Shop,
        scan_id: i64,
        opts: &'a ScanOptions,
        already: &HashSet<i64>,
    ) -> Result<ShopRun<'a>, StoreError> {
        let started_at = Utc::now();
        let snapshot = store.load_shop(&shop.name).await?;
        let subscribers = catalog.effective_subscribers(&store.preferences().await?);
        let first_scan = snapshot.products.is_empty();
        let key_of_id: HashMap<i64, String> = snapshot
            .products
            .values()
            .map(|p| (p.id, p.record.product_key.clone()))
            .collect();
        let observed: HashSet<String> = already
            .iter()
            .filter_map(|id| key_of_id.get(id).cloned())
            .collect();
        Ok(ShopRun {
            catalog,
            store,
            shop,
            // E-shops follow the national dates whatever their département.
            ctx: Context {
                calendar,
                zone: Zone::National,
                now: opts.now,
            },
            scan_id,
            opts,
            snapshot,
            key_of_id,
            observed,
            batch: Batch {
                shop: shop.name.clone(),
                // A shop with no product yet: its first scan.
                baseline: first_scan,
                ..Batch::default()
            },
            batch_pages: 0,
            // The first batch of each shop counts as up to 40 % older, so that shops
            // started together do not all commit in the same instant.
            batch_started: std::time::Instant::now()
                .checked_sub(BATCH_MAX_AGE.mul_f64(fastrand::f64() * 0.4))
                .unwrap_or_else(std::time::Instant::now),
            promo_cache: Default::default(),
            wording: detect::ShopWording::default(),
            wording_evidence: None,
            summary: ScanSummary::default(),
            lines: Vec::new(),
            metrics: crate::metrics::Metrics::default(),
            subscribers,
            tally: FetchTally::default(),
            started_at,
            failed: None,
        })
    }

    /// The subscribers to tell of a finding about `brand` at this shop.
    fn followers<'s>(&'s self, brand: &'s str) -> impl Iterator<Item = &'s Subscriber> {
        self.subscribers.iter().filter(move |sub| {
            sub.brands.iter().any(|b| b == brand) && sub.watches_shop(&self.shop.name)
        })
    }

    /// The shop could not be scanned, for this reason.
    fn fail(&mut self, why: String) {
        self.summary.shops_failed.push(self.shop.name.clone());
        self.failed = Some(why);
    }

    /// What this shop's scan did, for the console's shops page.
    fn scan_row(&self) -> ShopScanRow {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        ShopScanRow {
            scan_id: self.scan_id,
            shop: self.shop.name.clone(),
            started_at: self.started_at,
            finished_at: Utc::now(),
            pages_fetched: count(self.summary.pages_fetched),
            pages_unchanged: count(self.summary.pages_unchanged),
            errors: count(self.summary.errors),
            robots_refused: i64::try_from(self.tally.robots_refused()).unwrap_or(i64::MAX),
            response_ms_avg: self.tally.mean_response_ms(),
            findings: count(self.summary.findings),
            failed: self.failed.clone(),
        }
    }

    /// Records what this shop's scan did ([`Store::record_shop_scan`]). A
    /// failed write does not fail the scan: its observations and findings
    /// are written already.
    async fn record(&self) {
        if let Err(e) = self.store.record_shop_scan(&self.scan_row()).await {
            tracing::warn!("the shop's scan record was not written: {e}");
        }
    }

    /// The scan counting its observations and findings into `metrics`
    /// (its own until then).
    fn counting_into(self, metrics: &crate::metrics::Metrics) -> ShopRun<'a> {
        ShopRun {
            metrics: metrics.clone(),
            ..self
        }
    }

    fn problem(&mut self, msg: String) {
        tracing::warn!("{msg}");
        self.summary.errors += 1;
        self.summary
            .problems
            .push(format!("{}: {msg}", self.shop.name));
    }

    /// Runs the rules on an observation against the product's state, and
    /// queues what it changes. No IO: the batch is written by [`Self::flush`].
    fn observe(&mut self, s: Sighting<'_>) {
        let key = s.record.product_key.clone();
        if !self.observed.insert(key.clone()) {
            // Listed twice in one scan (two pages show it): one observation.
            return;
        }
        let now = self.opts.now;
        let known = self.snapshot.products.get(&key);
        let baseline = known.and_then(|k| k.baseline.as_ref());
        let open: Vec<(Rule, Option<u32>)> =
            known.map(|k| k.open_rules.clone()).unwrap_or_default();
        let assessment = detect::assess(&detect::Observed {
            offer: &s.offer,
            baseline,
            open: &open,
            brand: &s.record.brand,
            shop: &self.shop.name,
            ctx: &self.ctx,
            policy: &self.catalog.policy,
        });
        let (raise, continuing, close_rules) = (
            assessment.decision.raise,
            assessment.decision.continuing,
            assessment.decision.close,
        );
        let new_baseline = assessment.baseline;
        let evidence = match (&s.evidence, raise.is_empty()) {
            (Some((page, offer)), false) => EvidenceInput::new(
                page.url.to_string(),
                page.fetched_at,
                page.status,
                page.headers.clone(),
                &page.body,
                json!({ "offer": offer, "scan_clock": now.to_rfc3339() }),
            )
            .map_err(|e| tracing::error!("evidence for {} not kept: {e}", page.url))
            .ok(),
            _ => None,
        };
        let mut open_after: Vec<(Rule, Option<u32>)> = open
            .into_iter()
            .filter(|(r, _)| !close_rules.contains(r))
            .collect();
        open_after.extend(raise.iter().map(|f| (f.rule, f.percent)));
        let last = StoredObservation {
            price: s.offer.price,
            reference: s.offer.reference,
            reference_kind: s.offer.reference_kind,
            percent_badge: s.offer.percent_badge,
            availability: s.availability.clone(),
            promo: s.offer.promo.clone(),
            reference_source: s.reference_source,
            warnings: s.warnings.clone(),
        };
        let entry = self
            .snapshot
            .products
            .entry(key.clone())
            .or_insert_with(|| KnownProduct {
                id: 0,
                record: s.record.clone(),
                baseline: None,
                open_rules: Vec::new(),
                last: None,
            });
        entry.record = s.record.clone();
        entry.baseline = Some(new_baseline.clone());
        entry.open_rules = open_after;
        entry.last = Some(last);
        if self.opts.output.is_some() {
            self.lines.push(output_line(&s, now));
        }
        let recipients = if raise.is_empty() {
            Vec::new()
        } else {
            self.followers(&s.record.brand)
                .map(|sub| sub.recipient(now))
                .collect()
        };
        self.batch.items.push(BatchItem {
            product: s.record,
            observation: NewObservation {
                scan_id: self.scan_id,
                observed_at: now,
                price: s.offer.price,
                reference: s.offer.reference,
                reference_kind: s.offer.reference_kind,
                percent_badge: s.offer.percent_badge,
                availability: s.availability,
                source: s.source,
                promo: s.offer.promo,
                reference_source: s.reference_source,
                warnings: s.warnings,
            },
            baseline: new_baseline,
            raise,
            continue_rules: continuing,
            close_rules,
            recipients,
            evidence,
        });
        self.summary.observations += 1;
        self.metrics.observation();
    }

    /// Commits the queued writes when the batch is full or old enough.
    async fn page_done(&mut self) -> Result<(), StoreError> {
        self.batch_pages += 1;
        if self.batch_pages >= BATCH_PAGES || self.batch_started.elapsed() >= BATCH_MAX_AGE {
            self.flush().await?;
        }
        Ok(())
    }

    /// Commits the queued writes in one transaction.
    async fn flush(&mut self) -> Result<(), StoreError> {
        let baseline = self.batch.baseline;
        let batch = std::mem::replace(
            &mut self.batch,
            Batch {
                shop: self.shop.name.clone(),
                baseline,
                ..Batch::default()
            },
        );
        self.batch_pages = 0;
        self.batch_started = std::time::Instant::now();
        if batch.is_empty() {
            return Ok(());
        }
        let done = self.store.write_batch(&batch).await?;
        for (key, id) in &done.product_ids {
            if let Some(p) = self.snapshot.products.get_mut(key) {
                p.id = *id;
            }
            self.key_of_id.insert(*id, key.clone());
        }
        self.summary.findings += done.opened.len();
        for (id, key, rule) in &done.opened {
            self.metrics.finding(*rule);
            tracing::info!(finding = id, rule = %rule, product = %key, "new finding");
        }
        Ok(())
    }

    /// A page that did not change: its products are observed again as they were.
    fn unchanged(&mut self, cached: &PageCache) {
        self.summary.pages_unchanged += 1;
        for id in &cached.product_ids {
            let Some(known) = self
                .key_of_id
                .get(id)
                .and_then(|k| self.snapshot.products.get(k))
            else {
                continue;
            };
            let Some(last) = known.last.clone() else {
                continue;
            };
            let sighting = Sighting {
                record: known.record.clone(),
                offer: ObservedOffer {
                    price: last.price,
                    reference: last.reference,
                    reference_kind: last.reference_kind,
                    percent_badge: last.percent_badge,
                    promo: last.promo,
                },
                availability: last.availability,
                source: Source::Unchanged,
                reference_source: last.reference_source,
                warnings: last.warnings,
                evidence: None,
            };
            self.observe(sighting);
        }
    }

    /// A fresh page: extract, keep the watched brands, observe. Returns the
    /// keys of the products read.
    fn fetched(&mut self, page: &Page) -> Vec<String> {
        self.summary.pages_fetched += 1;
        let html = page.text();
        let extraction = extract::extract_page(
            &html,
            &page.url,
            Some(self.shop.currency),
            self.shop.selectors.as_ref(),
            Some(&mut self.promo_cache),
        );
        self.read(page, &extraction)
    }

    /// What a fresh page yields: its offers of watched brands observed, and
    /// its site-wide wording kept for the shop. Returns the keys of the
    /// products read.
    fn read(&mut self, page: &Page, extraction: &extract::PageExtraction) -> Vec<String> {
        for w in &extraction.warnings {
            tracing::info!(url = %page.url, "{w}");
        }
        if extraction.offers.is_empty() {
            let why = extraction.warnings.join("; ");
            self.problem(format!("{}: no offer read ({why})", page.url));
        }
        let keys = self.offers(page, &extraction.offers, &extraction.warnings);
        if !keys.is_empty() {
            // A page of a watched brand: its site-wide wording is the shop's.
            self.site_wording(page, extraction);
        }
        keys
    }

    /// Records the wording a page of a watched brand shows outside any
    /// product's block, for the shop-level findings of the scan.
    fn site_wording(&mut self, page: &Page, extraction: &extract::PageExtraction) {
        let first = self.wording.url.is_none();
        self.wording.page(
            page.url.as_str(),
            extraction
                .site_promo
                .iter()
                .map(|p| (p.class, p.text.as_str())),
        );
        if first && self.wording.url.is_some() {
            self.wording_evidence = EvidenceInput::new(
                page.url.to_string(),
                page.fetched_at,
                page.status,
                page.headers.clone(),
                &page.body,
                json!({
                    "scope": "shop",
                    "site_promo": extraction.site_promo,
                    "page_warnings": extraction.warnings,
                    "scan_clock": self.opts.now.to_rfc3339(),
                }),
            )
            .map_err(|e| tracing::error!("evidence for {} not kept: {e}", page.url))
            .ok();
        }
    }

    /// The watched brands of the shop: those of its products the store knows.
    fn shop_brands(&self) -> Vec<String> {
        let brands: std::collections::BTreeSet<&str> = self
            .snapshot
            .products
            .values()
            .filter(|k| k.record.product_key != SHOP_PRODUCT_KEY)
            .map(|k| k.record.brand.as_str())
            .filter(|b| self.catalog.brands.iter().any(|c| c.name == *b))
            .collect();
        brands.into_iter().map(str::to_string).collect()
    }

    /// Opens, confirms or closes the shop's shop-level findings from what
    /// the scan's pages showed outside any product's block (one finding
    /// per shop and episode, whatever the number of pages or products).
    async fn shop_level(&mut self) -> Result<(), StoreError> {
        let known = self.snapshot.products.get(SHOP_PRODUCT_KEY);
        let open = known.map(|k| k.open_rules.clone()).unwrap_or_default();
        let currency = self.shop.currency;
        let d = detect::assess_shop(
            &self.wording,
            &open,
            &self.ctx,
            &self.catalog.policy,
            currency,
        );
        if d.raise.is_empty() && d.continuing.is_empty() && d.close.is_empty() {
            return Ok(());
        }
        let brands = self.shop_brands();
        let subject = match (known, &self.wording.url) {
            (_, Some(url)) => ProductRecord::shop_subject(&self.shop.name, url, &brands),
            (Some(k), None) => k.record.clone(),
            (None, None) => {
                ProductRecord::shop_subject(&self.shop.name, self.shop.url.as_str(), &brands)
            }
        };
        let now = self.opts.now;
        let mut recipients: Vec<crate::store::Recipient> = Vec::new();
        if !d.raise.is_empty() {
            for brand in &brands {
                for sub in self.followers(brand) {
                    if !recipients.iter().any(|r| r.email == sub.email) {
                        recipients.push(sub.recipient(now));
                    }
                }
            }
        }
        let mut open_after: Vec<(Rule, Option<u32>)> = open
            .into_iter()
            .filter(|(r, _)| !d.close.contains(r))
            .collect();
        open_after.extend(d.raise.iter().map(|f| (f.rule, f.percent)));
        let write = ShopFindings {
            subject: subject.clone(),
            at: now,
            scan_id: self.scan_id,
            baseline: self.batch.baseline,
            evidence: if d.raise.is_empty() {
                None
            } else {
                self.wording_evidence.take()
            },
            raise: d.raise,
            continue_rules: d.continuing,
            close_rules: d.close,
            recipients,
        };
        let done = self.store.write_shop_findings(&write).await?;
        let id = done.product_ids.get(SHOP_PRODUCT_KEY).copied().unwrap_or(0);
        self.snapshot.products.insert(
            SHOP_PRODUCT_KEY.to_string(),
            KnownProduct {
                id,
                record: subject,
                baseline: None,
                open_rules: open_after,
                last: None,
            },
        );
        self.summary.findings += done.opened.len();
        for (id, _, rule) in &done.opened {
            self.metrics.finding(*rule);
            tracing::info!(finding = id, rule = %rule, "new shop-level finding (site-wide wording)");
        }
        Ok(())
    }

    /// Observes the offers of watched brands read from a page (a product
    /// page or a catalogue page), with the page's own warnings. Returns the
    /// keys of the products read.
    fn offers(
        &mut self,
        page: &Page,
        offers: &[ExtractedOffer],
        page_warnings: &[String],
    ) -> Vec<String> {
        let mut keys = Vec::new();
        for offer in offers {
            let Some(brand) = offer
                .brand
                .as_deref()
                .and_then(|b| self.catalog.match_brand(b))
            else {
                continue;
            };
            let Some(price) = offer.price else {
                self.problem(format!(
                    "{}: no readable price for {:?}",
                    page.url,
                    offer.name.as_deref().unwrap_or("?")
                ));
                continue;
            };
            // Every reader names its source; an offer without one is not
            // an offer Vigie can vouch for.
            let Some(source) = offer.source else {
                continue;
            };
            let record = ProductRecord {
                shop: self.shop.name.clone(),
                product_key: product_key(offer, page),
                url: offer.url.clone().unwrap_or_else(|| page.url.to_string()),
                name: offer.name.clone(),
                brand: brand.name.clone(),
                sku: offer.sku.clone(),
                gtin: offer.gtin.clone(),
                variant: offer.variant.clone(),
            };
            keys.push(record.product_key.clone());
            let sighting = Sighting {
                record,
                offer: ObservedOffer {
                    price,
                    reference: offer.reference_price,
                    reference_kind: offer.reference_kind,
                    percent_badge: offer.percent_badge,
                    promo: offer
                        .promo
                        .iter()
                        .map(|p| (p.class, p.text.clone()))
                        .collect(),
                },
                availability: offer.availability.clone(),
                source,
                reference_source: offer.reference_price.and(offer.reference_source),
                warnings: reading_warnings(offer, page_warnings),
                evidence: Some((page, offer)),
            };
            self.observe(sighting);
        }
        keys
    }
}

// At the error level, the span is on whenever an event is (`--quiet` too).
#[tracing::instrument(name = "shop", level = "error", skip_all, fields(shop = %shop.name))]
async fn scan_shop(
    scanner: &Scanner<'_>,
    shop: &Shop,
    scan_id: i64,
    opts: &ScanOptions,
    already: &HashSet<i64>,
) -> Result<ShopResult, StoreError> {
    let Scanner {
        catalog,
        store,
        pool,
        calendar,
    } = *scanner;
    let mut run = ShopRun::start(catalog, store, calendar, shop, scan_id, opts, already)
        .await?
        .counting_into(pool.metrics());
    // The shop's record is written however its scan ends, in this one place
    // (`vigie scan`, the daemon, the fleet workers and the demo come here).
    let crawled = crawl_shop(&mut run, pool, already).await;
    if let Err(e) = &crawled {
        run.fail(format!("database: {e}"));
    }
    run.record().await;
    crawled?;
    Ok(ShopResult {
        summary: run.summary,
        lines: run.lines,
    })
}

/// Reads a shop's catalogue, or discovers its pages and reads them.
async fn crawl_shop(
    run: &mut ShopRun<'_>,
    pool: &HostPool,
    already: &HashSet<i64>,
) -> Result<(), StoreError> {
    let (shop, opts) = (run.shop, run.opts);
    let policy = HostPolicy::of(shop);
    if let Some(platform) = shop.platform
        && let Some(reached) = walk_catalogue(run, pool, policy, platform).await?
    {
        run.flush().await?;
        if !reached {
            let why = run.summary.problems.first().cloned();
            run.fail(why.unwrap_or_else(|| "the catalogue could not be read".into()));
        }
        return Ok(());
    }
    let found = discover::discover(pool, shop, policy).await;
    for e in &found.errors {
        run.problem(e.clone());
    }
    if found.pages.is_empty() {
        let why = found
            .errors
            .first()
            .cloned()
            .unwrap_or_else(|| "the sitemap lists no page".into());
        tracing::error!("shop not scanned: {why}");
        run.fail(why);
        return Ok(());
    }
    tracing::info!(pages = found.pages.len(), "crawling");
    if let Some(p) = &opts.progress {
        p.shop_started(&shop.name, found.pages.len());
    }
    let mut reached_any = false;
    for page_ref in &found.pages {
        let cached = run.snapshot.pages.get(page_ref.url.as_str()).cloned();
        // A run taken over: a page whose products the scan already holds
        // was read by the previous worker, and is not asked for again.
        if let Some(c) = &cached
            && !already.is_empty()
            && !c.product_ids.is_empty()
            && c.product_ids.iter().all(|id| already.contains(id))
        {
            run.summary.pages_resumed += 1;
            if let Some(p) = &opts.progress {
                p.page_done(&shop.name);
            }
            continue;
        }
        // The sitemap says the page has not changed since we read it: no request.
        if let Some(c) = &cached
            && let (Some(lastmod), Some(fetched_at)) = (page_ref.lastmod, c.fetched_at)
            && lastmod <= fetched_at
            && !c.product_ids.is_empty()
        {
            reached_any = true;
            run.unchanged(c);
            run.page_done().await?;
            continue;
        }
        let validators = cached.as_ref().map(|c| Validators {
            etag: c.etag.clone(),
            last_modified: c.last_modified.clone(),
        });
        match pool
            .fetch_counted(&page_ref.url, policy, validators.as_ref(), &run.tally)
            .await
        {
            FetchOutcome::Fetched(page) => {
                reached_any = true;
                let product_keys = run.fetched(&page);
                let v = page.validators();
                run.batch.pages.push(PageWrite {
                    url: page_ref.url.to_string(),
                    cache: PageCache {
                        etag: v.etag,
                        last_modified: v.last_modified,
                        fetched_at: Some(page.fetched_at),
                        product_ids: Vec::new(),
                    },
                    product_keys,
                });
            }
            FetchOutcome::NotModified { .. } => {
                reached_any = true;
                if let Some(c) = &cached {
                    run.unchanged(c);
                }
            }
            FetchOutcome::Disallowed { ref reason, .. }
                if reason.starts_with("disallowed by robots.txt") => {}
            other => run.problem(other.describe()),
        }
        run.page_done().await?;
        if let Some(p) = &opts.progress {
            p.page_done(&shop.name);
        }
    }
    run.flush().await?;
    // The shop's own wording, over every page read afresh.
    run.shop_level().await?;
    if !reached_any {
        let why = match run.summary.problems.first() {
            Some(p) => p.clone(),
            None if run.tally.robots_refused() > 0 => "robots.txt refuses every page".into(),
            None => "no page could be read".into(),
        };
        run.fail(why);
    }
    if let Some(p) = &opts.progress {
        p.shop_finished(&shop.name, &run.summary);
    }
    Ok(())
}

/// Reads a platform catalogue page by page. `Ok(None)` when the shop has
/// no catalogue there (401/404 on the first page, or a platform without
/// one): the caller falls back to sitemaps. `Ok(Some(reached))` otherwise.
async fn walk_catalogue(
    run: &mut ShopRun<'_>,
    pool: &HostPool,
    policy: HostPolicy,
    platform: Platform,
) -> Result<Option<bool>, StoreError> {
    let size = platform::page_size(platform);
    if size == 0 {
        return Ok(None);
    }
    let currency = run.shop.currency;
    let max_pages = run.shop.max_pages / size + 1;
    let mut seen_ids = HashSet::new();
    let mut reached = false;
    for n in 1..=max_pages {
        let Some(url) = platform::catalogue_url(platform, &run.shop.url, n) else {
            return Ok(None);
        };
        let page = match pool.fetch_counted(&url, policy, None, &run.tally).await {
            FetchOutcome::Fetched(p) => p,
            FetchOutcome::Status {
                status: 401 | 403 | 404,
                ..
            } if n == 1 => {
                tracing::info!("no {platform:?} catalogue at {url}; reading sitemaps instead");
                return Ok(None);
            }
            other => {
                run.problem(format!("catalogue {}", other.describe()));
                break;
            }
        };
        reached = true;
        let parsed = match platform {
            Platform::Shopify => platform::shopify(&page.body, &run.shop.url, currency),
            Platform::Woocommerce => platform::woocommerce(&page.body),
            Platform::Prestashop => return Ok(None),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) if n == 1 => {
                tracing::warn!("{url}: {e}; reading sitemaps instead");
                return Ok(None);
            }
            Err(e) => {
                run.problem(format!("{url}: {e}"));
                break;
            }
        };
        run.summary.pages_fetched += 1;
        let fresh = parsed
            .ids
            .iter()
            .filter(|id| seen_ids.insert((*id).clone()))
            .count();
        run.offers(&page, &parsed.offers, &[]);
        run.page_done().await?;
        // A short page is the last; a page of products already seen means
        // the shop ignores `page=` and repeats itself.
        if parsed.products < size || fresh == 0 {
            break;
        }
    }
    Ok(Some(reached))
}

fn output_line(s: &Sighting<'_>, at: DateTime<Utc>) -> String {
    let (p, price) = (&s.record, s.offer.price);
    let line = OutputLine {
        url: &p.url,
        shop: &p.shop,
        brand: &p.brand,
        name: p.name.as_deref(),
        sku: p.sku.as_deref(),
        price: price.decimal_string(),
        reference_price: s.offer.reference.map(|r| r.decimal_string()),
        reference_source: s.reference_source,
        currency: price.currency.as_str(),
        observed_at: at.to_rfc3339(),
        warnings: &s.warnings,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// The warnings of one offer's reading: its own, then those of its page
/// (a broken JSON-LD block, structured data without a price…), each once.
fn reading_warnings(offer: &ExtractedOffer, page_warnings: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(offer.warnings.len() + page_warnings.len());
    for w in offer.warnings.iter().chain(page_warnings) {
        if !out.contains(w) {
            out.push(w.clone());
        }
    }
    out
}

/// What a full re-evaluation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reevaluation {
    /// Products replayed.
    pub products: usize,
    /// Observations replayed.
    pub observations: usize,
    /// Findings the rules would open, by rule.
    pub findings_by_rule: std::collections::BTreeMap<Rule, usize>,
}

/// Replays every stored observation through the rules, product by product,
/// from an empty history, as if each had just been scanned (the calendar and
/// policy in force now). Nothing is written: this shows what the current
/// rules make of the whole history.
pub async fn reevaluate(
    store: &dyn Store,
    catalog: &Catalog,
    calendar: &Calendar,
) -> Result<Reevaluation, StoreError> {
    let mut r = Reevaluation::default();
    let mut after = 0;
    loop {
        let page = store.series_after(after, 2_000).await?;
        let Some(last) = page.last() else {
            return Ok(r);
        };
        after = last.product_id;
        for series in page {
            r.products += 1;
            let mut baseline = None;
            let mut open: Vec<(Rule, Option<u32>)> = Vec::new();
            for (at, obs) in series.points {
                let offer = ObservedOffer {
                    price: obs.price,
                    reference: obs.reference,
                    reference_kind: obs.reference_kind,
                    percent_badge: obs.percent_badge,
                    promo: obs.promo,
                };
                let ctx = Context {
                    calendar,
                    zone: Zone::National,
                    now: at,
                };
                let a = detect::assess(&detect::Observed {
                    offer: &offer,
                    baseline: baseline.as_ref(),
                    open: &open,
                    brand: &series.product.brand,
                    shop: &series.product.shop,
                    ctx: &ctx,
                    policy: &catalog.policy,
                });
                open.retain(|(rule, _)| !a.decision.close.contains(rule));
                for f in &a.decision.raise {
                    *r.findings_by_rule.entry(f.rule).or_default() += 1;
                    open.push((f.rule, f.percent));
                }
                baseline = Some(a.baseline);
                r.observations += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use crate::domain::Money;
    use crate::extract::{PageExtraction, PromoMatch, Source};
    use crate::store::{FindingFilter, SqliteStore};

    const WATCHLIST: &str = r#"
[[shop]]
name = "Boutique Bannière"
url = "https://banniere.example/"

[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Atelier Brume"

[[subscriber]]
name = "Ana"
email = "ana@lanterne.example"
brands = ["Maison Lumière"]

[[subscriber]]
name = "Bruno"
email = "bruno@quais.example"
brands = ["Maison Lumière", "Atelier Brume"]

[[subscriber]]
name = "Chloé"
email = "chloe@laine.example"
brands = ["Atelier Brume"]
"#;

    fn day(d: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-03-{d:02}T09:00:00+01:00"))
            .expect("time")
            .with_timezone(&Utc)
    }

    fn page(n: usize, at: DateTime<Utc>) -> Page {
        let url = url::Url::parse(&format!("https://banniere.example/p/{n}")).expect("url");
        Page {
            requested: url.clone(),
            url,
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: format!("<header>SOLDES</header><h1>Lampe {n}</h1>").into_bytes(),
            fetched_at: at,
        }
    }

    /// What the product-region extraction gives for product page `n`: one
    /// regular-price offer, and the header banner (when shown) as the
    /// page's site-wide wording.
    fn extraction(n: usize, banner: bool) -> PageExtraction {
        let mut offer = ExtractedOffer {
            name: Some(format!("Lampe {n}")),
            brand: Some("Maison Lumière".into()),
            sku: Some(format!("ML-{n}")),
            price: Some(Money::new(4900, Currency::EUR)),
            source: Some(Source::JsonLd),
            ..Default::default()
        };
        if n == 0 {
            // A reading whose former price came from the product block and
            // whose sources disagree (a reference kind the rules ignore).
            offer.reference_price = Some(Money::new(5900, Currency::EUR));
            offer.reference_kind = Some(extract::ReferenceKind::Recommended);
            offer.reference_source = Some(Source::ProductBlock);
            offer.warnings =
                vec!["sources disagree: jsonld says 49.00, microdata says 45.00".into()];
        }
        PageExtraction {
            offers: vec![offer],
            warnings: Vec::new(),
            site_promo: if banner {
                vec![PromoMatch {
                    class: crate::domain::PromoClass::Soldes,
                    text: "SOLDES <b>jusqu'à -50 %</b>".into(),
                    location: "page, byte 8".into(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    /// One scan of the shop at `at`: `pages` product pages read afresh.
    async fn scan_pages(
        catalog: &Catalog,
        store: &SqliteStore,
        at: DateTime<Utc>,
        pages: usize,
        banner: bool,
    ) -> ScanSummary {
        let calendar = catalog.calendar();
        let shop = catalog.shop("Boutique Bannière").expect("shop");
        let opts = ScanOptions {
            now: at,
            shops: Vec::new(),
            output: None,
            deliver: false,
            progress: None,
        };
        let scan_id = store.begin_scan(at).await.expect("scan");
        let mut run = ShopRun::start(
            catalog,
            store,
            &calendar,
            shop,
            scan_id,
            &opts,
            &HashSet::new(),
        )
        .await
        .expect("start");
        for n in 0..pages {
            let keys = run.read(&page(n, at), &extraction(n, banner));
            assert_eq!(keys.len(), 1);
        }
        run.flush().await.expect("flush");
        run.shop_level().await.expect("shop level");
        // Its immediate alerts are held until the scan ends.
        store
            .finish_scan(scan_id, &serde_json::json!({}))
            .await
            .expect("finish");
        run.summary
    }

    #[tokio::test]
    async fn a_site_wide_banner_is_one_shop_level_finding_per_episode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        store.migrate().await.expect("migrate");
        let catalog =
            Catalog::from_sources(&[(PathBuf::from("t.toml"), WATCHLIST.into())]).expect("catalog");

        // Three pages show the banner, out of season: one finding, for the shop.
        let s = scan_pages(&catalog, &store, day(10), 3, true).await;
        assert_eq!((s.observations, s.findings), (3, 1));
        let rows = store
            .findings(&FindingFilter::default())
            .await
            .expect("findings");
        assert_eq!(rows.len(), 1, "{rows:?}");
        let f = &rows[0];
        assert!(f.is_shop_level());
        assert_eq!(
            (f.rule.as_str(), f.shop.as_str()),
            ("R1", "Boutique Bannière")
        );
        assert_eq!(f.brand, "Maison Lumière");
        assert_eq!(f.url, "https://banniere.example/p/0");
        let details: serde_json::Value = serde_json::from_str(&f.details).expect("details");
        assert_eq!(details["matched_text"], "SOLDES <b>jusqu'à -50 %</b>");
        assert_eq!(details["pages_with_wording"], 3);
        // Its evidence is the page it was seen on.
        let ev = store
            .evidence(f.evidence_id.expect("evidence"))
            .await
            .expect("evidence")
            .expect("stored");
        assert_eq!(ev.url, "https://banniere.example/p/0");
        assert!(ev.record.contains("site_promo"), "{}", ev.record);
        // It goes to the subscribers of the shop's watched brands, once each.
        let due = store
            .claim_outbox(day(20), day(20), 100)
            .await
            .expect("outbox");
        let mut to: Vec<&str> = due.iter().map(|o| o.email.as_str()).collect();
        to.sort();
        assert_eq!(to, vec!["ana@lanterne.example", "bruno@quais.example"]);
        // The shop's first scan: its findings are the baseline.
        assert!(due.iter().all(|o| o.baseline && o.scan_id.is_some()));

        // The readings keep where their former price came from and their warnings.
        let h = store.history("ML-0").await.expect("history");
        assert_eq!(h[0].2.reference_source, Some(Source::ProductBlock));
        assert_eq!(
            h[0].2.warnings,
            vec!["sources disagree: jsonld says 49.00, microdata says 45.00".to_string()]
        );

        // The next scan sees the banner again: the same episode.
        let s = scan_pages(&catalog, &store, day(11), 3, true).await;
        assert_eq!(s.findings, 0);
        // A scan that read no page afresh (all 304) leaves it as it was.
        let s = scan_pages(&catalog, &store, day(12), 0, false).await;
        assert_eq!(s.findings, 0);
        let rows = store
            .findings(&FindingFilter::default())
            .await
            .expect("findings");
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].last_seen_at, rows[0].closed_at), (day(11), None));

        // The banner is gone: the episode closes; it comes back: a new one.
        scan_pages(&catalog, &store, day(13), 3, false).await;
        let rows = store
            .findings(&FindingFilter::default())
            .await
            .expect("findings");
        assert_eq!(rows[0].closed_at, Some(day(13)));
        let s = scan_pages(&catalog, &store, day(14), 2, true).await;
        assert_eq!(s.findings, 1);
        let rows = store
            .findings(&FindingFilter::default())
            .await
            .expect("findings");
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|f| f.is_shop_level()), "no product finding");
        // A later scan's findings are news, not the baseline.
        let due = store
            .claim_outbox(day(20), day(20), 100)
            .await
            .expect("outbox");
        let reopened: Vec<_> = due.iter().filter(|o| o.finding.id == rows[1].id).collect();
        assert!(!reopened.is_empty());
        assert!(reopened.iter().all(|o| !o.baseline));
    }
}
