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
use crate::fetch::{FetchOutcome, HostPolicy, HostPool, Page};
use crate::notify::{self, Mailer};
use crate::store::{EvidenceInput, NewObservation, ProductRecord, Recording, Store, StoreError};

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

async fn scan_shop(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    calendar: &Calendar,
    shop: &Shop,
    scan_id: i64,
    opts: &ScanOptions,
) -> Result<ShopResult, StoreError> {
    let policy = HostPolicy {
        rate: shop.rate,
        allow_private_network: shop.allow_private_network,
    };
    let mut s = ScanSummary::default();
    let mut lines = Vec::new();
    let problem = |s: &mut ScanSummary, msg: String| {
        tracing::warn!(shop = %shop.name, "{msg}");
        s.errors += 1;
        s.problems.push(format!("{}: {msg}", shop.name));
    };
    let found = discover::discover(pool, shop, policy).await;
    for e in &found.errors {
        problem(&mut s, e.clone());
    }
    if found.pages.is_empty() {
        let why = found
            .errors
            .first()
            .cloned()
            .unwrap_or_else(|| "the sitemap lists no page".into());
        tracing::error!(shop = %shop.name, "shop not scanned: {why}");
        s.shops_failed.push(shop.name.clone());
        return Ok(ShopResult { summary: s, lines });
    }
    tracing::info!(shop = %shop.name, pages = found.pages.len(), "crawling");
    // E-shops follow the national dates whatever their département (LEGAL_RULES §1).
    let ctx = Context {
        calendar,
        zone: Zone::National,
        now: opts.now,
    };
    let currency = default_currency(&shop.country);
    let mut fetched_any = false;
    for url in &found.pages {
        let page = match pool.fetch(url, policy).await {
            FetchOutcome::Fetched(p) => p,
            FetchOutcome::Disallowed { .. } => continue,
            other => {
                problem(&mut s, other.describe());
                continue;
            }
        };
        fetched_any = true;
        s.pages_fetched += 1;
        let html = page.text();
        let extraction = extract::extract_page(&html, &page.url, currency);
        for w in &extraction.warnings {
            tracing::info!(shop = %shop.name, url = %page.url, "{w}");
        }
        let mut watched = 0;
        for offer in &extraction.offers {
            let Some(brand) = offer.brand.as_deref().and_then(|b| catalog.match_brand(b)) else {
                continue;
            };
            watched += 1;
            let Some(price) = offer.price else {
                problem(
                    &mut s,
                    format!(
                        "{}: no readable price for {:?}",
                        page.url,
                        offer.name.as_deref().unwrap_or("?")
                    ),
                );
                continue;
            };
            let record = ProductRecord {
                shop: shop.name.clone(),
                product_key: product_key(offer, &page),
                url: offer.url.clone().unwrap_or_else(|| page.url.to_string()),
                name: offer.name.clone(),
                brand: brand.name.clone(),
                sku: offer.sku.clone(),
                gtin: offer.gtin.clone(),
                variant: offer.variant.clone(),
            };
            let product_id = store.upsert_product(&record, opts.now).await?;
            let baseline = store.baseline(product_id).await?;
            let open = store.open_rules(product_id).await?;
            let observed = ObservedOffer {
                price,
                reference: offer.reference_price,
                reference_kind: offer.reference_kind.map(|k| k.as_str().to_string()),
                percent_badge: offer.percent_badge,
            };
            let raise = detect::evaluate(&observed, baseline.as_ref(), &ctx);
            let close_rules = detect::rules_to_close(&raise, &open);
            let evidence = (!raise.is_empty()).then(|| EvidenceInput {
                url: page.url.to_string(),
                fetched_at: page.fetched_at,
                status: page.status,
                headers: page.headers.clone(),
                body: page.body.clone(),
                record: json!({ "offer": offer, "scan_clock": opts.now.to_rfc3339() }),
            });
            let recipients = catalog
                .subscribers_of(&brand.name)
                .map(|sub| (sub.name.clone(), sub.email.clone()))
                .collect();
            let done = store
                .record(&Recording {
                    observation: NewObservation {
                        scan_id,
                        product_id,
                        observed_at: opts.now,
                        price,
                        reference: offer.reference_price,
                        reference_kind: offer.reference_kind.map(|k| k.as_str().to_string()),
                        percent_badge: offer.percent_badge,
                        availability: offer.availability.clone(),
                        source: offer
                            .source
                            .map(|s| s.as_str())
                            .unwrap_or("unknown")
                            .to_string(),
                    },
                    raise,
                    close_rules,
                    recipients,
                    evidence,
                })
                .await?;
            s.observations += 1;
            s.findings += done.opened.len();
            for id in &done.opened {
                tracing::info!(shop = %shop.name, brand = %brand.name, finding = id, url = %record.url, "new finding");
            }
            if opts.output.is_some() {
                lines.push(output_line(&record, price, offer.reference_price, opts.now));
            }
        }
        if watched == 0 && extraction.offers.is_empty() {
            let why = extraction.warnings.join("; ");
            problem(&mut s, format!("{}: no offer read ({why})", page.url));
        }
    }
    if !fetched_any {
        s.shops_failed.push(shop.name.clone());
    }
    Ok(ShopResult { summary: s, lines })
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
