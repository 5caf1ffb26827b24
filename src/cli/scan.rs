//! `vigie scan`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use super::{CliError, EXIT_OK, EXIT_PARTIAL, GlobalArgs, settings};
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
    let catalog = super::watchlists(&s.watchlists)?;
    let mailer = Mailer::from_settings(&s).map_err(CliError::config)?;
    let store = crate::store::open(&s.database).await?;
    let pool = HostPool::new(FetchConfig::new(s.user_agent()))?;
    let links = crate::notify::console_links(store.as_ref(), s.public_url.clone()).await?;
    let mailer = mailer
        .with_links(links)
        .with_metrics(pool.metrics().clone());
    let calendar = catalog.calendar();
    let opts = ScanOptions {
        now: a.now.unwrap_or_else(Utc::now),
        shops: a.shop.clone(),
        output: a.output.clone(),
        deliver: !a.no_send,
        progress: if a.json || g.quiet {
            None
        } else {
            Some(progress::reporter())
        },
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

/// Scan progress on standard error: a bar per shop on a terminal (indicatif),
/// plain lines otherwise (a log, a pipe).
mod progress {
    use std::collections::HashMap;
    use std::io::IsTerminal as _;
    use std::sync::{Arc, Mutex};

    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

    use crate::pipeline::{ScanProgress, ScanSummary};

    /// The reporter for this terminal.
    pub fn reporter() -> Arc<dyn ScanProgress> {
        if std::io::stderr().is_terminal() {
            Arc::new(Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(HashMap::new()),
            })
        } else {
            Arc::new(Lines)
        }
    }

    #[derive(Debug)]
    struct Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    }

    impl ScanProgress for Bars {
        fn shop_started(&self, shop: &str, pages: usize) {
            let bar = self.multi.add(ProgressBar::new(pages as u64));
            let style = ProgressStyle::with_template(
                "{prefix:>20} [{bar:30}] {pos}/{len} pages {elapsed} (about {eta} left)",
            )
            .map(|s| s.progress_chars("=> "));
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar.set_prefix(shop.chars().take(20).collect::<String>());
            if let Ok(mut bars) = self.bars.lock() {
                bars.insert(shop.to_string(), bar);
            }
        }

        fn page_done(&self, shop: &str) {
            if let Ok(bars) = self.bars.lock()
                && let Some(b) = bars.get(shop)
            {
                b.inc(1);
            }
        }

        fn shop_finished(&self, shop: &str, s: &ScanSummary) {
            if let Ok(bars) = self.bars.lock()
                && let Some(b) = bars.get(shop)
            {
                b.finish_with_message(format!("{} finding(s)", s.findings));
            }
        }
    }

    #[derive(Debug)]
    struct Lines;

    impl ScanProgress for Lines {
        fn shop_started(&self, shop: &str, pages: usize) {
            eprintln!("{shop}: {pages} page(s) to read");
        }

        fn page_done(&self, _shop: &str) {}

        fn shop_finished(&self, shop: &str, s: &ScanSummary) {
            eprintln!(
                "{shop}: done, {} page(s) fetched, {} observation(s), {} new finding(s)",
                s.pages_fetched, s.observations, s.findings
            );
        }
    }
}
