//! `vigie outbox [--failed]`, `vigie outbox retry [ID…]`, `vigie outbox deliver`.

use crate::domain::OutboxStatus;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};

use super::{CliError, EXIT_FAILURE, EXIT_OK, GlobalArgs, settings};

/// Arguments of `vigie outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// What to do; without one, list the outbox.
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    /// Only the messages given up on (dead), with the reason.
    #[arg(long)]
    pub failed: bool,
    /// At most this many rows, newest first.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `vigie outbox` actions.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Put dead messages back in the queue (all of them, or these ids) and
    /// deliver what is due.
    Retry {
        /// Outbox ids (as listed); none means every dead message.
        ids: Vec<i64>,
    },
    /// Deliver what is due now, then exit.
    Deliver,
}

/// Lists, retries or delivers the outbox.
pub async fn run(g: &GlobalArgs, a: &OutboxArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let store = crate::store::open(&s.database).await?;
    match &a.action {
        Some(OutboxAction::Retry { ids }) => {
            let n = store.outbox_retry(ids, Utc::now()).await?;
            println!("{n} message(s) put back in the queue");
            if n == 0 && !ids.is_empty() {
                eprintln!("no dead message has these ids; see `vigie outbox --failed`");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
            deliver(&s, store.as_ref()).await
        }
        Some(OutboxAction::Deliver) => deliver(&s, store.as_ref()).await,
        None => {
            let rows = store.outbox_list(a.failed, a.limit).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows).context("outbox")?);
                return Ok(ExitCode::from(EXIT_OK));
            }
            let c = store.outbox_counts().await?;
            println!(
                "outbox: {} pending, {} sent, {} dead",
                c.pending, c.sent, c.dead
            );
            for r in rows {
                let when = match (r.status, r.sent_at) {
                    (OutboxStatus::Sent, Some(t)) => {
                        format!("sent {}", t.format("%Y-%m-%d %H:%M UTC"))
                    }
                    _ => format!("due {}", r.next_attempt_at.format("%Y-%m-%d %H:%M UTC")),
                };
                println!(
                    "#{} {} | {} <{}> | {} | finding #{} {} {} at {} | attempts {} | {}{}",
                    r.id,
                    r.status,
                    r.subscriber,
                    r.email,
                    r.digest.map_or("immediate", |d| d.as_str()),
                    r.finding_id,
                    r.rule,
                    r.brand,
                    r.shop,
                    r.attempts,
                    when,
                    r.last_error
                        .as_deref()
                        .map(|e| format!(" | last error: {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::from(EXIT_OK))
        }
    }
}

async fn deliver(
    s: &crate::config::Settings,
    store: &dyn crate::store::Store,
) -> Result<ExitCode, CliError> {
    let links = crate::notify::console_links(store, s.public_url.clone()).await?;
    let mailer = crate::notify::Mailer::from_settings(s)
        .map_err(CliError::config)?
        .with_links(links);
    let d = crate::notify::drain(store, &mailer, Utc::now()).await?;
    println!(
        "delivered through {}: {} sent, {} to retry later, {} given up",
        mailer.describe(),
        d.sent,
        d.retrying,
        d.dead
    );
    if d.deferred + d.cancelled > 0 {
        println!(
            "{} held for the next digest (daily cap), {} cancelled (unsubscribed or paused)",
            d.deferred, d.cancelled
        );
    }
    Ok(ExitCode::from(if d.retrying + d.dead > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}
