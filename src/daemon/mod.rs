//! `vigie daemon`: scans each shop on its own crontab schedule and delivers
//! the outbox, until SIGTERM or SIGINT.
//!
//! - Each shop with a `schedule` has its own timer, read as Vixie cron reads
//!   the line ([`schedule`]) in the configured time zone (Europe/Paris by
//!   default), plus a random delay of up to `jitter` so that shops sharing
//!   a slot do not all start in the same second. A shop without a
//!   `schedule` is not scanned by the daemon.
//! - A shop is never scanned twice at once: when its slot comes while its
//!   previous scan is still going, the slot is skipped (and logged).
//! - Missed runs: at start, a shop whose last successful scan (kept in
//!   `<database>.daemon-state.json`, see [`state`]) is older than its
//!   previous scheduled time is scanned once, however many slots were
//!   missed. The same holds after a suspend: slots that passed while the
//!   process slept give one run.
//! - Shutdown: on SIGTERM or SIGINT no new scan starts; scans in progress
//!   get [`DaemonOptions::grace`] (8 s) to finish, then are dropped. Every
//!   batch a scan committed stays committed (a batch is committed at most
//!   every 64 pages or 5 s); an interrupted scan is not recorded as a
//!   success, so it runs again at the next start.
//! - One daemon per database: see [`lock`].

pub mod lock;
pub mod state;
pub mod worker;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::catalog::{Catalog, Shop};
use crate::domain::calendar::Calendar;
use crate::domain::crontab::{self as schedule, Crontab};
use crate::fetch::HostPool;
use crate::notify::{self, DrainSummary, Mailer};
use crate::pipeline::{self, ScanError, ScanOptions, ScanSummary};
use crate::store::{Store, StoreError};
use state::StateFile;

/// The time zone schedules are read in by default.
pub const SCHEDULE_TZ: Tz = schedule::DEFAULT_TZ;

/// How often the outbox is retried between scans.
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(60);

/// The default largest random delay added to each scheduled run.
pub const DEFAULT_JITTER: Duration = Duration::from_secs(30);

/// How long scans in progress may take to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The time zone crontab lines are read in.
    pub tz: Tz,
    /// The largest random delay added to each scheduled run (0: none).
    pub jitter: Duration,
    /// How long scans in progress may take to finish after a shutdown signal.
    pub grace: Duration,
    /// How long one crontab minute lasts: 60 s, except in tests, which
    /// shorten it to see minute-by-minute schedules fire in seconds.
    pub tick: Duration,
    /// The state file (last successful scan of each shop); none: in memory.
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            tz: SCHEDULE_TZ,
            jitter: DEFAULT_JITTER,
            grace: SHUTDOWN_GRACE,
            tick: Duration::from_secs(60),
            state_file: None,
        }
    }
}

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

/// One scheduled shop.
struct Slot<'a> {
    shop: &'a Shop,
    crontab: Crontab,
    /// The scheduled time waited for (schedule clock).
    slot: Option<DateTime<Utc>>,
    /// When it starts: the slot plus this slot's jitter (schedule clock).
    fire_at: Option<DateTime<Utc>>,
    running: bool,
}

impl Slot<'_> {
    /// Moves to the first slot after `now`: slots that passed while the
    /// daemon was busy or asleep give one run, not one each.
    fn advance(&mut self, now: DateTime<Utc>, clock: &Clock, jitter: Duration) {
        self.slot = self.crontab.next_after(now);
        let delay = if jitter.is_zero() {
            0
        } else {
            fastrand::u64(0..=jitter.as_millis() as u64)
        };
        let delay = chrono::Duration::milliseconds((delay as f64 * clock.speed) as i64);
        self.fire_at = self.slot.map(|s| s + delay);
    }
}

/// What a job of the daemon gave back.
enum Done {
    Scan {
        index: usize,
        started: DateTime<Utc>,
        result: Result<ScanSummary, ScanError>,
    },
    Drain(Result<(DrainSummary, usize), StoreError>),
}

type Job<'a> = Pin<Box<dyn Future<Output = Done> + 'a>>;

/// What the jobs work with.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    catalog: &'a Catalog,
    store: &'a dyn Store,
    pool: &'a HostPool,
    mailer: &'a Mailer,
    calendar: &'a Calendar,
}

impl<'a> Ctx<'a> {
    /// One shop's scan, delivery left to [`Ctx::drain`].
    fn scan(self, index: usize, shop: &str) -> Job<'a> {
        let shop = shop.to_string();
        Box::pin(async move {
            let started = Utc::now();
            let opts = ScanOptions {
                progress: None,
                now: started,
                shops: vec![shop],
                output: None,
                deliver: false,
            };
            let result = pipeline::scan(
                self.catalog,
                self.store,
                self.pool,
                self.mailer,
                self.calendar,
                &opts,
            )
            .await;
            Done::Scan {
                index,
                started,
                result,
            }
        })
    }

    /// Delivers what is due in the outbox (one delivery pass at a time, so
    /// no email is sent twice), then counts what is left.
    fn drain(self) -> Job<'a> {
        Box::pin(async move {
            let result = async {
                let d = notify::drain(self.store, self.mailer, Utc::now()).await?;
                // Every pending row, due or not.
                let depth = usize::try_from(self.store.outbox_counts().await?.pending).unwrap_or(0);
                Ok((d, depth))
            }
            .await;
            Done::Drain(result)
        })
    }
}

/// The crontab of every scheduled shop, in `tz`; an error names the shop.
pub(crate) fn schedules(catalog: &Catalog, tz: Tz) -> anyhow::Result<Vec<(&Shop, Crontab)>> {
    let mut out = Vec::new();
    for shop in &catalog.shops {
        let Some(crontab) = &shop.schedule else {
            tracing::warn!(shop = %shop.name, "no schedule: the daemon will not scan this shop");
            continue;
        };
        out.push((shop, crontab.in_zone(tz)));
    }
    if out.is_empty() {
        anyhow::bail!("no shop has a `schedule`; add e.g. schedule = \"30 6 * * *\" to a [[shop]]");
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

/// Whether a shop missed a run while the daemon was down: its last success
/// is older than its latest scheduled time (or unknown).
pub fn missed_run(
    crontab: &Crontab,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    match (crontab.prev_at_or_before(now), last_success) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(prev), Some(last)) => last < prev,
    }
}

/// Runs until a shutdown signal; see the module documentation.
pub async fn run(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    mailer: &Mailer,
    calendar: &Calendar,
    options: &DaemonOptions,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let clock = Clock::new(options.tick);
    let mut state = StateFile::load(options.state_file.clone());
    let mut slots: Vec<Slot<'_>> = schedules(catalog, options.tz)?
        .into_iter()
        .map(|(shop, crontab)| Slot {
            shop,
            crontab,
            slot: None,
            fire_at: None,
            running: false,
        })
        .collect();
    let ctx = Ctx {
        catalog,
        store,
        pool,
        mailer,
        calendar,
    };
    let mut jobs: FuturesUnordered<Job<'_>> = FuturesUnordered::new();

    let now = clock.now();
    for (i, s) in slots.iter_mut().enumerate() {
        s.advance(now, &clock, options.jitter);
        let last = state.state.last_success.get(&s.shop.name).copied();
        if let Some(last) = last {
            pool.metrics().shop_succeeded(&s.shop.name, last);
        }
        let next = s
            .fire_at
            .map(|t| t.with_timezone(&options.tz).to_rfc3339())
            .unwrap_or_else(|| "never".into());
        if missed_run(&s.crontab, last.map(|l| clock.to_schedule(l)), now) {
            tracing::info!(
                shop = %s.shop.name,
                schedule = %s.crontab,
                last_success = ?last,
                "missed run while the daemon was down: scanning once now"
            );
            s.running = true;
            jobs.push(ctx.scan(i, &s.shop.name));
        }
        tracing::info!(shop = %s.shop.name, schedule = %s.crontab, next = %next, "scheduled");
    }
    jobs.push(ctx.drain());
    let mut draining = true;
    let mut drain_due = false;
    let mut next_drain = tokio::time::Instant::now() + OUTBOX_INTERVAL;

    loop {
        let now = clock.now();
        for (i, s) in slots.iter_mut().enumerate() {
            let Some(fire_at) = s.fire_at else { continue };
            if fire_at > now {
                continue;
            }
            if s.running {
                let slot = s.slot.map(|t| t.with_timezone(&options.tz).to_rfc3339());
                tracing::warn!(
                    shop = %s.shop.name,
                    slot = slot.as_deref().unwrap_or("?"),
                    "skipping this slot: the previous scan of this shop is still running"
                );
                pool.metrics().slot_skipped(&s.shop.name);
            } else {
                tracing::info!(shop = %s.shop.name, "scheduled scan");
                s.running = true;
                jobs.push(ctx.scan(i, &s.shop.name));
            }
            s.advance(now, &clock, options.jitter);
        }
        if tokio::time::Instant::now() >= next_drain {
            drain_due = true;
        }
        if drain_due && !draining {
            drain_due = false;
            draining = true;
            next_drain = tokio::time::Instant::now() + OUTBOX_INTERVAL;
            jobs.push(ctx.drain());
        }
        let wake = slots
            .iter()
            .filter_map(|s| s.fire_at)
            .min()
            .map(|t| clock.wait_until(t))
            .unwrap_or(OUTBOX_INTERVAL);
        // While a delivery pass runs, the next one waits for it to end.
        let drain_wait = if draining {
            OUTBOX_INTERVAL
        } else {
            next_drain.saturating_duration_since(tokio::time::Instant::now())
        };
        let wait = wake
            .min(drain_wait)
            // The wall clock is looked at again at least once a minute.
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = shutdown.recv() => break,
            Some(done) = jobs.next(), if !jobs.is_empty() => {
                if handle(done, &mut slots, &mut state, &mut draining, pool.metrics()) {
                    drain_due = true;
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }

    let running: Vec<&str> = slots
        .iter()
        .filter(|s| s.running)
        .map(|s| s.shop.name.as_str())
        .collect();
    if jobs.is_empty() {
        tracing::info!("shutdown requested; nothing in progress; exiting");
        return Ok(());
    }
    tracing::info!(
        scans = ?running,
        grace_s = options.grace.as_secs_f64(),
        "shutdown requested; waiting for the work in progress"
    );
    let finish = async {
        while let Some(done) = jobs.next().await {
            handle(done, &mut slots, &mut state, &mut draining, pool.metrics());
        }
    };
    if tokio::time::timeout(options.grace, finish).await.is_err() {
        for s in slots.iter().filter(|s| s.running) {
            pool.metrics()
                .shop_run(&s.shop.name, crate::metrics::RunResult::Interrupted);
            tracing::warn!(
                shop = %s.shop.name,
                "scan interrupted by the shutdown; what it committed is kept, and it runs again at the next start"
            );
        }
    } else {
        tracing::info!("work in progress finished; exiting");
    }
    Ok(())
}

/// Records a finished job. Returns whether the outbox should be delivered
/// now (a scan ended).
fn handle(
    done: Done,
    slots: &mut [Slot<'_>],
    state: &mut StateFile,
    draining: &mut bool,
    metrics: &crate::metrics::Metrics,
) -> bool {
    match done {
        Done::Drain(result) => {
            *draining = false;
            match result {
                Ok((d, depth)) => {
                    metrics.outbox_depth(depth);
                    metrics.outbox_failures(d.retrying + d.dead);
                    if d.sent + d.retrying + d.dead > 0 {
                        tracing::info!(
                            sent = d.sent,
                            retrying = d.retrying,
                            dead = d.dead,
                            pending = depth,
                            "outbox delivered"
                        );
                    }
                }
                Err(e) => tracing::error!("outbox delivery failed: {e}"),
            }
            false
        }
        Done::Scan {
            index,
            started,
            result,
        } => {
            let Some(slot) = slots.get_mut(index) else {
                return false;
            };
            slot.running = false;
            let name = &slot.shop.name;
            match result {
                Ok(s) if s.shops_failed.is_empty() => {
                    tracing::info!(
                        shop = %name,
                        pages = s.pages_fetched,
                        unchanged = s.pages_unchanged,
                        observations = s.observations,
                        findings = s.findings,
                        errors = s.errors,
                        "scan done"
                    );
                    metrics.shop_run(name, crate::metrics::RunResult::Ok);
                    metrics.shop_succeeded(name, started);
                    state.record_success(name, started);
                }
                Ok(s) => {
                    metrics.shop_run(name, crate::metrics::RunResult::Failed);
                    tracing::error!(
                        shop = %name,
                        problems = ?s.problems,
                        "shop could not be scanned; it is tried again at its next slot"
                    );
                }
                Err(e) => {
                    metrics.shop_run(name, crate::metrics::RunResult::Failed);
                    tracing::error!(shop = %name, "scan failed: {e}");
                }
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_missed_run_is_made_once_when_the_last_success_is_older_than_the_last_slot() {
        let daily = schedule::parse_crontab("30 6 * * *").unwrap();
        let now = utc("2026-03-10T12:00:00Z"); // 13:00 in Paris; today's 06:30 has passed
        // Never ran: run now.
        assert!(missed_run(&daily, None, now));
        // Ran at today's slot: nothing missed.
        assert!(!missed_run(&daily, Some(utc("2026-03-10T05:30:04Z")), now));
        // Last ran yesterday (or a week ago: still one run).
        assert!(missed_run(&daily, Some(utc("2026-03-09T05:30:04Z")), now));
        assert!(missed_run(&daily, Some(utc("2026-03-03T05:30:04Z")), now));
        // Before today's slot: yesterday's success is enough.
        let early = utc("2026-03-10T04:00:00Z");
        assert!(!missed_run(
            &daily,
            Some(utc("2026-03-09T05:30:04Z")),
            early
        ));
    }

    #[test]
    fn slots_that_passed_give_one_run() {
        let clock = Clock::new(Duration::from_secs(60));
        let mut s = Slot {
            shop: &Shop {
                name: "x".into(),
                url: url::Url::parse("https://x.example/").unwrap(),
                sitemap: None,
                currency: crate::domain::Currency::EUR,
                rate: 1.0,
                allow_private_network: false,
                concurrency: 1,
                follow_offsite_redirects: false,
                schedule: Some(schedule::parse_crontab("*/5 * * * *").unwrap()),
                max_pages: 10,
                selectors: None,
                listing: None,
                platform: None,
                defined_in: Default::default(),
            },
            crontab: schedule::parse_crontab("*/5 * * * *").unwrap(),
            slot: None,
            fire_at: None,
            running: false,
        };
        s.advance(utc("2026-03-10T12:01:00Z"), &clock, Duration::ZERO);
        assert_eq!(s.fire_at, Some(utc("2026-03-10T12:05:00Z")));
        // Asleep for an hour: the next slot is after the wake-up, once.
        s.advance(utc("2026-03-10T13:02:00Z"), &clock, Duration::ZERO);
        assert_eq!(s.slot, Some(utc("2026-03-10T13:05:00Z")));
        // Jitter delays the start, never by more than asked.
        for _ in 0..20 {
            s.advance(utc("2026-03-10T13:02:00Z"), &clock, Duration::from_secs(30));
            let delay = s.fire_at.unwrap() - s.slot.unwrap();
            assert!(delay >= chrono::Duration::zero() && delay <= chrono::Duration::seconds(30));
        }
    }

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
