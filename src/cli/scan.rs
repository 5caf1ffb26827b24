//! `vigie scan`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use super::{CliError, EXIT_OK, EXIT_PARTIAL, GlobalArgs, settings};
use crate::catalog::Catalog;
use crate::fetch::{FetchConfig, HostPool};
use crate::notify::Mailer;
use crate::pipeline::{self, ScanOptions};

/// Arguments of `vigie scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The scan clock, RFC 3339 (e.g. 2026-03-10T09:00:00+01:00) [default: now].
    #[arg(long, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    pub json: bool,
    /// Write every observation as JSON lines to FILE.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only this shop (repeatable).
    #[arg(long, value_name = "NAME")]
    pub shop: Vec<String>,
    /// Queue alerts but do not send them now.
    #[arg(long)]
    pub no_send: bool,
}

/// Parses `--now`.
pub fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            format!("{s:?} is not an RFC 3339 time such as 2026-03-10T09:00:00+01:00 ({e})")
        })
}

/// Runs one scan and prints its summary.
pub async fn run(g: &GlobalArgs, a: &ScanArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let catalog = Catalog::load_dir(&s.watchlists).map_err(CliError::config)?;
    let mailer = Mailer::from_settings(&s).map_err(CliError::config)?;
    let store = crate::store::open(&s.database).await?;
    let pool = HostPool::new(FetchConfig::new(s.user_agent()))?;
    let calendar = catalog.calendar();
    let opts = ScanOptions {
        now: a.now.unwrap_or_else(Utc::now),
        shops: a.shop.clone(),
        output: a.output.clone(),
        deliver: !a.no_send,
    };
    let summary =
        match pipeline::scan(&catalog, store.as_ref(), &pool, &mailer, &calendar, &opts).await {
            Err(crate::pipeline::ScanError::UnknownShop(n)) => {
                return Err(CliError::config(anyhow::anyhow!(
                    "unknown shop {n:?}; `vigie check` lists the shops"
                )));
            }
            other => other.context("scan failed")?,
        };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("summary")?
        );
    } else {
        println!(
            "{} page(s) fetched, {} observation(s), {} new finding(s), {} email(s) sent, {} problem(s)",
            summary.pages_fetched,
            summary.observations,
            summary.findings,
            summary.emails_sent,
            summary.errors
        );
        for p in &summary.problems {
            println!("  - {p}");
        }
    }
    if summary.shops_failed.is_empty() {
        Ok(ExitCode::from(EXIT_OK))
    } else {
        eprintln!("shops not scanned: {}", summary.shops_failed.join(", "));
        Ok(ExitCode::from(EXIT_PARTIAL))
    }
}
