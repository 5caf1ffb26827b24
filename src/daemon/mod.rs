//! `vigie daemon` and `vigie worker`: scan each shop on its own crontab
//! schedule and deliver the outbox, until SIGTERM or SIGINT.
//!
//! Both run the same scheduler, a [`worker::Worker`]: `shop_runs` in the
//! database is the one record of what ran, what was missed and what was
//! skipped. `vigie daemon` is one worker with the lock ([`lock`]) that keeps
//! a second daemon off the same SQLite database; `vigie worker` is one
//! member of a fleet sharing a database.
//!
//! - Each shop with a `schedule` is read as Vixie cron reads the line
//!   ([`crate::domain::crontab`]) in the configured time zone (Europe/Paris by default).
//!   Its run starts after a random delay of up to `jitter` so that shops
//!   sharing a slot do not all start in the same second. A shop without a
//!   `schedule` is not scanned on a schedule.
//! - A shop is never scanned twice at once: when its slot comes while its
//!   previous run is still due or running, the slot is recorded as skipped
//!   (and logged).
//! - Missed runs: at start, the latest slot of each shop is recorded; when
//!   no run was recorded for it (the daemon was down), or the shop's
//!   previous run was left unfinished, the shop is scanned once, however
//!   many slots were missed. Slots that pass while the process sleeps give
//!   one run too.
//! - Shutdown: on SIGTERM or SIGINT no new run starts; runs in progress get
//!   [`SHUTDOWN_GRACE`] (8 s) to finish, then are handed back (`due`). What a
//!   scan committed stays committed (a batch is committed at most every 64
//!   pages or 5 s), and the run resumes where it stopped at the next start
//!   (or on another worker of the fleet).

pub mod lock;
pub mod worker;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::catalog::{Catalog, Shop};
use crate::domain::crontab::{self as schedule, Crontab};
use crate::store::StoreError;

/// Why the scheduler could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No shop has a `schedule`: there is nothing to run.
    #[error("no shop has a `schedule`; add e.g. schedule = \"30 6 * * *\" to a [[shop]]")]
    NoSchedule,
    /// The database failed.
    #[error("the database failed")]
    Database(#[from] StoreError),
}

impl DaemonError {
    /// Whether the error is in the configuration (the watchlists), not in
    /// the database.
    pub fn is_config(&self) -> bool {
        matches!(self, DaemonError::NoSchedule)
    }
}

/// The time zone schedules are read in by default.
pub const SCHEDULE_TZ: Tz = schedule::DEFAULT_TZ;

/// How often the outbox is retried between scans.
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(60);

/// The default largest random delay added to each scheduled run.
pub const DEFAULT_JITTER: Duration = Duration::from_secs(30);

/// How long scans in progress may take to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The clock schedules are read on: the wall clock, or, when a crontab
/// minute is made shorter than 60 s (tests), a clock running that much
/// faster from the daemon's start. Scans themselves always use the real
/// time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: DateTime<Utc>,
    speed: f64,
}

impl Clock {
    /// A clock starting now, `60 s / tick` times faster than the wall clock.
    pub fn new(tick: Duration) -> Clock {
        let speed = if tick.is_zero() {
            1.0
        } else {
            60.0 / tick.as_secs_f64()
        };
        Clock {
            origin: Utc::now(),
            speed,
        }
    }

    /// A clock `60 s / tick` times faster than the wall clock from
    /// `origin`: fleet workers in tests share one origin, so their
    /// schedule clocks agree.
    pub fn with_origin(tick: Duration, origin: DateTime<Utc>) -> Clock {
        Clock {
            origin,
            ..Clock::new(tick)
        }
    }

    /// A real instant on the schedule clock.
    pub fn to_schedule(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        if self.speed == 1.0 {
            return real;
        }
        let ms = (real - self.origin).num_milliseconds() as f64 * self.speed;
        self.origin + chrono::Duration::milliseconds(ms as i64)
    }

    /// Now on the schedule clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.to_schedule(Utc::now())
    }

    /// Real time to wait until `at` on the schedule clock.
    pub fn wait_until(&self, at: DateTime<Utc>) -> Duration {
        let ms = (at - self.now()).num_milliseconds().max(0) as f64 / self.speed;
        Duration::from_millis(ms as u64)
    }
}

/// SIGTERM and SIGINT, listened to from the moment this is built (so a
/// signal during start-up is not lost to the default action).
pub struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Starts listening (needs a Tokio runtime).
    pub fn listen() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Shutdown {})
        }
    }

    /// Resolves at the first SIGTERM or SIGINT (Ctrl-C elsewhere).
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {},
                _ = self.int.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The crontab of every scheduled shop, in `tz`; none is an error.
pub(crate) fn schedules(catalog: &Catalog, tz: Tz) -> Result<Vec<(&Shop, Crontab)>, DaemonError> {
    let mut out = Vec::new();
    for shop in &catalog.shops {
        let Some(crontab) = &shop.schedule else {
            tracing::warn!(shop = %shop.name, "no schedule: the daemon will not scan this shop");
            continue;
        };
        out.push((shop, crontab.in_zone(tz)));
    }
    if out.is_empty() {
        return Err(DaemonError::NoSchedule);
    }
    Ok(out)
}

/// The next run of every scheduled shop after `after` (in the default time zone).
pub fn next_runs(catalog: &Catalog, after: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    catalog
        .shops
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.schedule.as_ref()?.next_after(after)?)))
        .collect()
}

/// Says once, at info, that a `<database>.daemon-state.json` left beside
/// the database is no longer read (`shop_runs` holds what ran) and can be
/// deleted. The file is left in place.
pub fn note_old_state_file(database: &Path) {
    let old = lock::beside(database, ".daemon-state.json");
    if old.exists() {
        tracing::info!(
            file = %old.display(),
            "this file is no longer read (the database records what ran); it can be deleted"
        );
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_for_tests() {
        // One crontab minute in 2 s: the schedule clock runs 30 times faster.
        let clock = Clock::new(Duration::from_secs(2));
        let later = clock.origin + chrono::Duration::seconds(10);
        assert_eq!(
            clock.to_schedule(later),
            clock.origin + chrono::Duration::seconds(300)
        );
        let wait = clock.wait_until(clock.now() + chrono::Duration::seconds(60));
        assert!(wait <= Duration::from_secs(2) && wait > Duration::from_millis(1900));
        // And the real clock at 60 s.
        let real = Clock::new(Duration::from_secs(60));
        assert_eq!(real.to_schedule(later), later);
    }
}
