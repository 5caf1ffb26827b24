//! `vigie history <PRODUCT|URL> [--json]`: a product's price series.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::{CliError, EXIT_OK, GlobalArgs, settings};

/// Arguments of `vigie history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A product URL, SKU, GTIN or product key.
    pub product: String,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Point<'a> {
    shop: &'a str,
    brand: &'a str,
    name: Option<&'a str>,
    sku: Option<&'a str>,
    url: &'a str,
    observed_at: String,
    price: String,
    reference_price: Option<String>,
    /// Where the reference price was read from.
    reference_source: Option<&'a str>,
    percent_badge: Option<u32>,
    currency: &'a str,
    promo: Vec<&'a str>,
    /// The warnings of the reading.
    warnings: &'a [String],
}

/// Prints the series.
pub async fn run(g: &GlobalArgs, a: &HistoryArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let store = crate::store::open(&s.database).await?;
    let rows = store.history(&a.product).await?;
    if rows.is_empty() {
        return Err(CliError::config(anyhow::anyhow!(
            "no product has the URL, SKU, GTIN or key {:?}",
            a.product
        )));
    }
    let points: Vec<Point<'_>> = rows
        .iter()
        .map(|(p, at, o)| Point {
            shop: &p.shop,
            brand: &p.brand,
            name: p.name.as_deref(),
            sku: p.sku.as_deref(),
            url: &p.url,
            observed_at: at.to_rfc3339(),
            price: o.price.decimal_string(),
            reference_price: o.reference.map(|m| m.decimal_string()),
            reference_source: o.reference_source.map(|s| s.as_str()),
            percent_badge: o.percent_badge,
            currency: o.price.currency.as_str(),
            promo: o.promo.iter().map(|(c, _)| c.as_str()).collect(),
            warnings: &o.warnings,
        })
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&points).context("history")?
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    let mut last_product = "";
    for ((p, at, o), _) in rows.iter().zip(&points) {
        if p.product_key != last_product {
            println!(
                "{} — {} ({}) at {}",
                p.name.as_deref().unwrap_or("?"),
                p.brand,
                p.shop,
                p.url
            );
            last_product = &p.product_key;
        }
        println!(
            "  {}  {:>12}{}{}",
            at.with_timezone(&chrono_tz::Europe::Paris)
                .format("%Y-%m-%d %H:%M"),
            o.price.display_fr(),
            o.reference
                .map(|r| format!(
                    "  barré {}{}",
                    r.display_fr(),
                    o.reference_source
                        .map(|s| s.as_str())
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                ))
                .unwrap_or_default(),
            o.percent_badge
                .map(|b| format!("  -{b} %"))
                .unwrap_or_default(),
        );
        for w in &o.warnings {
            println!("      warning: {w}");
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}
