//! `vigie findings`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::store::FindingFilter;

/// Arguments of `vigie findings`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Only findings still open.
    #[arg(long)]
    pub open: bool,
    /// Only this brand.
    #[arg(long)]
    pub brand: Option<String>,
    /// Only this shop.
    #[arg(long)]
    pub shop: Option<String>,
    /// Only this rule (R1…R9).
    #[arg(long)]
    pub rule: Option<crate::domain::Rule>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// Lists findings.
pub async fn run(g: &GlobalArgs, a: &FindingsArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let store = crate::store::open(&s.database).await?;
    let rows = store
        .findings(&FindingFilter {
            open_only: a.open,
            brand: a.brand.clone(),
            shop: a.shop.clone(),
            rule: a.rule,
        })
        .await?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).context("findings")?
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    if rows.is_empty() {
        println!("no finding");
    }
    for f in rows {
        if f.is_shop_level() {
            // The shop's own wording: no product, no price.
            let text = serde_json::from_str::<serde_json::Value>(&f.details)
                .ok()
                .and_then(|d| d["matched_text"].as_str().map(str::to_string))
                .unwrap_or_default();
            println!(
                "#{} {} {} | {} | {} | site-wide {:?} | {}",
                f.id,
                f.rule,
                if f.closed_at.is_some() {
                    "closed"
                } else {
                    "open"
                },
                f.shop,
                f.brand,
                text,
                f.url
            );
            continue;
        }
        let price = f.price().map(|m| m.display_fr()).unwrap_or_default();
        let reference = f
            .reference()
            .ok()
            .flatten()
            .map(|m| format!(" (barré {})", m.display_fr()))
            .unwrap_or_default();
        println!(
            "#{} {} {} | {} | {} | {}{} | {} | {}",
            f.id,
            f.rule,
            if f.closed_at.is_some() {
                "closed"
            } else {
                "open"
            },
            f.shop,
            f.brand,
            price,
            reference,
            f.product_name.as_deref().unwrap_or("?"),
            f.url
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}
