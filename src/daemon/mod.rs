//! `vigie daemon`: scans each shop on its own crontab schedule and delivers
//! the outbox, until SIGTERM or SIGINT.
//!
//! Schedules are read in the `Europe/Paris` time zone. A shop without a
//! `schedule` is not scanned by the daemon. After downtime a missed run is
//! made once, not once per missed slot.

pub mod schedule;

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::catalog::Catalog;
use crate::detect::calendar::Calendar;
use crate::fetch::HostPool;
use crate::notify::{self, Mailer};
use crate::pipeline::{self, ScanOptions};
use crate::store::Store;

/// The time zone schedules are read in.
pub const SCHEDULE_TZ: Tz = chrono_tz::Europe::Paris;

/// How often the outbox is retried between scans.
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(60);

/// The next run of every scheduled shop after `after`.
pub fn next_runs(catalog: &Catalog, after: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    catalog
        .shops
        .iter()
        .filter_map(|s| {
            let sched = schedule::parse_crontab(s.schedule.as_deref()?).ok()?;
            let next = sched.next_after(after)?;
            Some((s.name.clone(), next))
        })
        .collect()
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs until a shutdown signal. A scan in progress when the signal comes is
/// finished (every observation is committed as it is made) before exiting.
pub async fn run(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    mailer: &Mailer,
    calendar: &Calendar,
) -> anyhow::Result<()> {
    let scheduled = next_runs(catalog, Utc::now());
    if scheduled.is_empty() {
        anyhow::bail!("no shop has a `schedule`; add e.g. schedule = \"30 6 * * *\" to a [[shop]]");
    }
    for s in catalog.shops.iter().filter(|s| s.schedule.is_none()) {
        tracing::warn!(shop = %s.name, "no schedule: the daemon will not scan this shop");
    }
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut last_check = Utc::now();
    loop {
        let upcoming = next_runs(catalog, last_check);
        let Some(next) = upcoming.iter().map(|(_, t)| *t).min() else {
            anyhow::bail!("no upcoming scheduled run");
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tracing::info!(next = %next, "waiting for the next scheduled scan");
        tokio::select! {
            _ = &mut shutdown => {
                tracing::info!("shutdown requested; exiting");
                return Ok(());
            }
            _ = tokio::time::sleep(wait.min(OUTBOX_INTERVAL)) => {}
        }
        let now = Utc::now();
        if now < next {
            // Between scans: retry what is due in the outbox.
            if let Err(e) = notify::drain(store, mailer, now).await {
                tracing::error!("outbox delivery failed: {e}");
            }
            continue;
        }
        let due: Vec<String> = upcoming
            .into_iter()
            .filter(|(_, t)| *t <= now)
            .map(|(n, _)| n)
            .collect();
        last_check = now;
        tracing::info!(shops = ?due, "scheduled scan");
        let opts = ScanOptions {
            now,
            shops: due,
            output: None,
            deliver: true,
        };
        let scan = pipeline::scan(catalog, store, pool, mailer, calendar, &opts);
        tokio::pin!(scan);
        let result = tokio::select! {
            r = &mut scan => r,
            _ = &mut shutdown => {
                tracing::info!("shutdown requested during a scan; what was observed is committed");
                return Ok(());
            }
        };
        match result {
            Ok(s) => tracing::info!(
                pages = s.pages_fetched,
                observations = s.observations,
                findings = s.findings,
                emails = s.emails_sent,
                "scan done"
            ),
            Err(e) => tracing::error!("scan failed: {e}"),
        }
    }
}
