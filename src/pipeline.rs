//! One scan, end to end: for every shop, discover → fetch → extract →
//! store → detect, then deliver the outbox.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;

use crate::catalog::{Catalog, Shop};
use crate::detect::calendar::{Calendar, Zone};
use crate::detect::{self, Context, ObservedOffer};
use crate::discover;
use crate::domain::{Currency, Money};
use crate::extract::{self, ExtractedOffer};
use crate::fetch::{FetchOutcome, HostPolicy, HostPool, Page, Validators};
use crate::notify::{self, Mailer};
use crate::store::{
    EvidenceInput, NewObservation, PageCache, ProductRecord, Recording, Store, StoreError,
};

/// How many shops are crawled at once (each shop's host keeps its own pace).
pub const SHOP_CONCURRENCY: usize = 64;

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
}

/// The totals a scan prints with `--json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ScanSummary {
    /// Product pages fetched with a 2xx answer.
    pub pages_fetched: usize,
    /// Product pages not fetched again: a 304, or a sitemap `<lastmod>` older than our copy.
    pub pages_unchanged: usize,
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
    currency: &'a str,
    observed_at: String,
}

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--output` could not be written.
    #[error("cannot write {}: {source}", path.display())]
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

/// The default currency of a country's shops.
pub fn default_currency(country: &str) -> Option<Currency> {
    match country.to_ascii_uppercase().as_str() {
        "GB" | "UK" => Some(Currency::GBP),
        "CH" | "LI" => Some(Currency::CHF),
        "US" => Some(Currency::USD),
        _ => Some(Currency::EUR),
    }
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
    let results: Vec<Result<ShopResult, StoreError>> = futures::stream::iter(shops)
        .map(|shop| scan_shop(catalog, store, pool, calendar, shop, scan_id, opts))
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

/// One shop's scan: the shared context and the running totals.
struct ShopRun<'a> {
    catalog: &'a Catalog,
    store: &'a dyn Store,
    shop: &'a Shop,
    ctx: Context<'a>,
    scan_id: i64,
    opts: &'a ScanOptions,
    summary: ScanSummary,
    lines: Vec<String>,
}

/// One observation to record, from a fresh page or repeated from a page
/// that did not change.
struct Sighting<'p> {
    record: ProductRecord,
    offer: ObservedOffer,
    availability: Option<String>,
    source: &'static str,
    /// The page and the offer's structured data, kept as evidence.
    evidence: Option<(&'p Page, &'p ExtractedOffer)>,
}

impl ShopRun<'_> {
    fn problem(&mut self, msg: String) {
        tracing::warn!(shop = %self.shop.name, "{msg}");
        self.summary.errors += 1;
        self.summary
            .problems
            .push(format!("{}: {msg}", self.shop.name));
    }

    /// Stores an observation, runs the rules, opens or closes findings.
    async fn observe(&mut self, product_id: i64, s: Sighting<'_>) -> Result<(), StoreError> {
        let baseline = self.store.baseline(product_id).await?;
        let open = self.store.open_rules(product_id).await?;
        let raise = detect::evaluate(&s.offer, baseline.as_ref(), &self.ctx);
        let close_rules = detect::rules_to_close(&raise, &open);
        let evidence = match (&s.evidence, raise.is_empty()) {
            (Some((page, offer)), false) => Some(EvidenceInput {
                url: page.url.to_string(),
                fetched_at: page.fetched_at,
                status: page.status,
                headers: page.headers.clone(),
                body: page.body.clone(),
                record: json!({ "offer": offer, "scan_clock": self.opts.now.to_rfc3339() }),
            }),
            _ => None,
        };
        let recipients = self
            .catalog
            .subscribers_of(&s.record.brand)
            .map(|sub| (sub.name.clone(), sub.email.clone()))
            .collect();
        let done = self
            .store
            .record(&Recording {
                observation: NewObservation {
                    scan_id: self.scan_id,
                    product_id,
                    observed_at: self.opts.now,
                    price: s.offer.price,
                    reference: s.offer.reference,
                    reference_kind: s.offer.reference_kind.clone(),
                    percent_badge: s.offer.percent_badge,
                    availability: s.availability,
                    source: s.source.to_string(),
                },
                raise,
                close_rules,
                recipients,
                evidence,
            })
            .await?;
        self.summary.observations += 1;
        self.summary.findings += done.opened.len();
        for id in &done.opened {
            tracing::info!(shop = %self.shop.name, brand = %s.record.brand, finding = id, url = %s.record.url, "new finding");
        }
        if self.opts.output.is_some() {
            self.lines.push(output_line(
                &s.record,
                s.offer.price,
                s.offer.reference,
                self.opts.now,
            ));
        }
        Ok(())
    }

    /// A page that did not change: its products are observed again as they were.
    async fn unchanged(&mut self, cached: &PageCache) -> Result<(), StoreError> {
        self.summary.pages_unchanged += 1;
        for &product_id in &cached.product_ids {
            let (Some(last), Some(record)) = (
                self.store.last_observation(product_id).await?,
                self.store.product(product_id).await?,
            ) else {
                continue;
            };
            let sighting = Sighting {
                record,
                offer: ObservedOffer {
                    price: last.price,
                    reference: last.reference,
                    reference_kind: last.reference_kind,
                    percent_badge: last.percent_badge,
                },
                availability: last.availability,
                source: "unchanged",
                evidence: None,
            };
            self.observe(product_id, sighting).await?;
        }
        Ok(())
    }

    /// A fresh page: extract, keep the watched brands, observe.
    async fn fetched(&mut self, page: &Page) -> Result<Vec<i64>, StoreError> {
        self.summary.pages_fetched += 1;
        let html = page.text();
        let extraction = extract::extract_page(
            &html,
            &page.url,
            default_currency(&self.shop.country),
            self.shop.selectors.as_ref(),
        );
        for w in &extraction.warnings {
            tracing::info!(shop = %self.shop.name, url = %page.url, "{w}");
        }
        if extraction.offers.is_empty() {
            let why = extraction.warnings.join("; ");
            self.problem(format!("{}: no offer read ({why})", page.url));
        }
        let mut product_ids = Vec::new();
        for offer in &extraction.offers {
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
            let product_id = self.store.upsert_product(&record, self.opts.now).await?;
            product_ids.push(product_id);
            let sighting = Sighting {
                record,
                offer: ObservedOffer {
                    price,
                    reference: offer.reference_price,
                    reference_kind: offer.reference_kind.map(|k| k.as_str().to_string()),
                    percent_badge: offer.percent_badge,
                },
                availability: offer.availability.clone(),
                source: offer.source.map(|s| s.as_str()).unwrap_or("unknown"),
                evidence: Some((page, offer)),
            };
            self.observe(product_id, sighting).await?;
        }
        Ok(product_ids)
    }
}

async fn scan_shop(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    calendar: &Calendar,
    shop: &Shop,
    scan_id: i64,
    opts: &ScanOptions,
) -> Result<ShopResult, StoreError> {
    let policy = HostPolicy::of(shop);
    let mut run = ShopRun {
        catalog,
        store,
        shop,
        // E-shops follow the national dates whatever their département (LEGAL_RULES §1).
        ctx: Context {
            calendar,
            zone: Zone::National,
            now: opts.now,
        },
        scan_id,
        opts,
        summary: ScanSummary::default(),
        lines: Vec::new(),
    };
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
        tracing::error!(shop = %shop.name, "shop not scanned: {why}");
        run.summary.shops_failed.push(shop.name.clone());
        return Ok(ShopResult {
            summary: run.summary,
            lines: run.lines,
        });
    }
    tracing::info!(shop = %shop.name, pages = found.pages.len(), "crawling");
    let cache = store.page_cache(&shop.name).await?;
    let mut reached_any = false;
    for page_ref in &found.pages {
        let cached = cache.get(page_ref.url.as_str());
        // The sitemap says the page has not changed since we read it: no request.
        if let Some(c) = cached
            && let (Some(lastmod), Some(fetched_at)) = (page_ref.lastmod, c.fetched_at)
            && lastmod <= fetched_at
            && !c.product_ids.is_empty()
        {
            reached_any = true;
            run.unchanged(c).await?;
            continue;
        }
        let validators = cached.map(|c| Validators {
            etag: c.etag.clone(),
            last_modified: c.last_modified.clone(),
        });
        match pool
            .fetch_conditional(&page_ref.url, policy, validators.as_ref())
            .await
        {
            FetchOutcome::Fetched(page) => {
                reached_any = true;
                let product_ids = run.fetched(&page).await?;
                let v = page.validators();
                let entry = PageCache {
                    etag: v.etag,
                    last_modified: v.last_modified,
                    fetched_at: Some(page.fetched_at),
                    product_ids,
                };
                store
                    .save_page(&shop.name, page_ref.url.as_str(), &entry)
                    .await?;
            }
            FetchOutcome::NotModified { .. } => {
                reached_any = true;
                if let Some(c) = cached {
                    run.unchanged(c).await?;
                }
            }
            FetchOutcome::Disallowed { ref reason, .. }
                if reason.starts_with("disallowed by robots.txt") => {}
            other => run.problem(other.describe()),
        }
    }
    if !reached_any {
        run.summary.shops_failed.push(shop.name.clone());
    }
    Ok(ShopResult {
        summary: run.summary,
        lines: run.lines,
    })
}

fn output_line(
    p: &ProductRecord,
    price: Money,
    reference: Option<Money>,
    at: DateTime<Utc>,
) -> String {
    let line = OutputLine {
        url: &p.url,
        shop: &p.shop,
        brand: &p.brand,
        name: p.name.as_deref(),
        sku: p.sku.as_deref(),
        price: price.decimal_string(),
        reference_price: reference.map(|r| r.decimal_string()),
        currency: price.currency.as_str(),
        observed_at: at.to_rfc3339(),
    };
    serde_json::to_string(&line).unwrap_or_default()
}
