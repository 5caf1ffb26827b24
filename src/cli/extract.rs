//! `vigie extract <FILE|URL>`: what Vigie reads on one page.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use url::Url;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::catalog::Shop;
use crate::domain::Currency;
use crate::extract::{self, ExtractedOffer, PromoMatch};
use crate::fetch::{FetchConfig, FetchOutcome, HostPolicy, HostPool};

/// Arguments of `vigie extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A saved HTML file, or an http(s) URL (fetched politely, robots.txt included).
    pub target: String,
    /// Apply this watchlist shop's selectors, currency and fetch policy.
    #[arg(long, value_name = "NAME")]
    pub shop: Option<String>,
    /// For a file: the URL it was saved from (resolves relative links).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<Url>,
    /// One JSON object per offer.
    #[arg(long)]
    pub json: bool,
}

/// One offer as `vigie extract` prints it.
#[derive(Debug, Serialize)]
pub struct OfferLine<'a> {
    name: Option<&'a str>,
    brand: Option<&'a str>,
    sku: Option<&'a str>,
    gtin: Option<&'a str>,
    variant: Option<&'a str>,
    url: Option<&'a str>,
    price: Option<String>,
    currency: Option<&'a str>,
    reference_price: Option<String>,
    reference_kind: Option<&'static str>,
    reference_source: Option<&'static str>,
    percent_badge: Option<u32>,
    availability: Option<&'a str>,
    source: Option<&'static str>,
    promo: Vec<PromoLine<'a>>,
    warnings: &'a [String],
}

/// One promotional phrase in the output.
#[derive(Debug, Serialize)]
pub struct PromoLine<'a> {
    class: &'a str,
    text: &'a str,
}

impl<'a> OfferLine<'a> {
    /// The printable form of an offer.
    pub fn of(o: &'a ExtractedOffer) -> Self {
        OfferLine {
            name: o.name.as_deref(),
            brand: o.brand.as_deref(),
            sku: o.sku.as_deref(),
            gtin: o.gtin.as_deref(),
            variant: o.variant.as_deref(),
            url: o.url.as_deref(),
            price: o.price.map(|m| m.decimal_string()),
            currency: o.price.as_ref().map(|m| m.currency.as_str()),
            reference_price: o.reference_price.map(|m| m.decimal_string()),
            reference_kind: o.reference_kind.map(|k| k.as_str()),
            reference_source: o.reference_source.map(|k| k.as_str()),
            percent_badge: o.percent_badge,
            availability: o.availability.as_deref(),
            source: o.source.map(|s| s.as_str()),
            promo: o
                .promo
                .iter()
                .map(|p: &'a PromoMatch| PromoLine {
                    class: p.class.as_str(),
                    text: &p.text,
                })
                .collect(),
            warnings: &o.warnings,
        }
    }
}

/// Prints every offer found on a page.
pub async fn run(g: &GlobalArgs, a: &ExtractArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let shop: Option<Shop> = match &a.shop {
        None => None,
        Some(name) => {
            let catalog = super::watchlists(&s.watchlists)?;
            Some(catalog.shop(name).cloned().ok_or_else(|| {
                CliError::config(anyhow::anyhow!(
                    "unknown shop {name:?} in {}",
                    s.watchlists.display()
                ))
            })?)
        }
    };
    let currency = shop.as_ref().map_or(Currency::EUR, |s| s.currency);
    let (html, page_url) = if a.target.starts_with("http://") || a.target.starts_with("https://") {
        let url = Url::parse(&a.target)
            .map_err(|e| CliError::config(anyhow::anyhow!("{}: {e}", a.target)))?;
        let policy = shop.as_ref().map(HostPolicy::of).unwrap_or(HostPolicy {
            rate: crate::catalog::DEFAULT_RATE,
            concurrency: 1,
            allow_private_network: false,
            offsite_redirects: false,
        });
        let pool = HostPool::new(FetchConfig::new(s.user_agent()))?;
        match pool.fetch(&url, policy).await {
            FetchOutcome::Fetched(page) => (page.text().into_owned(), page.url),
            other => return Err(anyhow::anyhow!("{}", other.describe()).into()),
        }
    } else {
        let path = PathBuf::from(&a.target);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let base = match &a.base_url {
            Some(u) => u.clone(),
            None => {
                let abs = std::fs::canonicalize(&path).unwrap_or(path.clone());
                Url::from_file_path(&abs).map_err(|_| {
                    anyhow::anyhow!("{} cannot be turned into a file:// URL", abs.display())
                })?
            }
        };
        (crate::fetch::decode_html(&bytes, None), base)
    };
    let extraction = extract::extract_page(
        &html,
        &page_url,
        Some(currency),
        shop.as_ref().and_then(|s| s.selectors.as_ref()),
        None,
    );
    if a.json {
        for o in &extraction.offers {
            println!(
                "{}",
                serde_json::to_string(&OfferLine::of(o)).context("offer")?
            );
        }
    } else {
        println!("{} offer(s) on {page_url}", extraction.offers.len());
        for o in &extraction.offers {
            println!(
                "- {} | {} | {} {}{}{} [{}]",
                o.name.as_deref().unwrap_or("?"),
                o.brand.as_deref().unwrap_or("?"),
                o.price
                    .map(|m| m.display_fr())
                    .unwrap_or_else(|| "no price".into()),
                o.reference_price
                    .map(|m| format!(
                        "(former {} {}, from {}) ",
                        o.reference_kind.map(|k| k.as_str()).unwrap_or("?"),
                        m.display_fr(),
                        o.reference_source.map(|s| s.as_str()).unwrap_or("?")
                    ))
                    .unwrap_or_default(),
                o.percent_badge
                    .map(|p| format!("-{p} % "))
                    .unwrap_or_default(),
                o.sku
                    .as_deref()
                    .map(|s| format!("SKU {s}"))
                    .unwrap_or_default(),
                o.source.map(|s| s.as_str()).unwrap_or("?"),
            );
            for w in &o.warnings {
                println!("    warning: {w}");
            }
        }
    }
    if !extraction.site_promo.is_empty() {
        // Counted by class: the details are in the shop-level findings.
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for p in &extraction.site_promo {
            *counts.entry(p.class.as_str()).or_default() += 1;
        }
        let list: Vec<String> = counts.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        eprintln!(
            "note: {page_url}: wording outside the product's block (the shop's, not the product's): {}",
            list.join(", ")
        );
    }
    for w in &extraction.warnings {
        eprintln!("warning: {page_url}: {w}");
    }
    Ok(ExitCode::from(EXIT_OK))
}
