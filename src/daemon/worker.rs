//! The scheduler: one member of a fleet sharing a database (PostgreSQL,
//! or SQLite on one machine). `vigie worker` runs it; `vigie daemon` runs
//! it too, as the only worker of its SQLite database (see [`super::lock`]).
//!
//! - **Schedules fire once per fleet.** Every worker reads every shop's
//!   crontab line; when a slot passes, it records the run in `shop_runs`,
//!   whose `UNIQUE (shop, slot)` lets only the first worker's insert
//!   through. A slot that comes while the shop's previous run is still due
//!   or running is recorded as `skipped`. At start, the latest slot that
//!   passed is recorded the same way, so a fleet that was down makes one
//!   missed run, not one per worker or per missed slot.
//! - **Runs are claimed with leases.** A worker claims due runs together
//!   with a lease on each run's host ([`crate::store::Store::claim_runs`]:
//!   `FOR UPDATE SKIP LOCKED` on PostgreSQL), so one host is crawled by one
//!   worker at a time. The lease (`--lease-seconds`, 60 s by default) is
//!   renewed every third of its length while the run goes.
//! - **Politeness across the fleet.** A host's lease carries `free_at`, the
//!   time another worker may send it a request: the end of the last
//!   response plus the host's interval when a run ends, the end of the
//!   lease plus the interval while one goes. No worker claims a host
//!   before then.
//! - **A worker that dies** stops renewing; when its lease has ended (and
//!   the host has rested) another worker takes the run over, with the same
//!   scan: the products already observed are not observed twice, and pages
//!   that showed only them are not fetched again. A run taken over
//!   [`crate::store::MAX_RUN_ATTEMPTS`] times is given up as failed.
//! - **A worker that loses its lease** (the database unreachable, a pause
//!   longer than the lease) stops the run itself, before the lease can end
//!   on the database's side: it never crawls a host another worker holds.
//!   Workers' clocks must agree to well under the lease (NTP).
//! - **The outbox** is delivered by every worker, each claiming rows with
//!   a lease ten times the run's (10 min by default, at least 30 s) and
//!   sending only while it holds it; a row is sent by one worker.
//! - **SIGTERM/SIGINT**: no new claim; runs in progress get the grace
//!   period, then are released (back to `due`) for another worker, or the
//!   next start, to resume at once.
//!
//! The loop is a [`Worker`] whose steps each return what they did
//! ([`SlotOutcome`], [`Renewal`], [`ClaimOutcome`], [`Finished`]); [`run`]
//! calls them when their time comes. Events are logged in spans: `worker`
//! (its name), `shop` (slots) and `run` (shop and run id). The spans are at
//! the error level so that they are on whenever an event is: a warning
//! logged under `--quiet` still names its shop.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use futures::future::{AbortHandle, Abortable, Aborted};
use futures::stream::FuturesUnordered;
use tracing::Instrument;

use super::{Clock, DaemonError, Shutdown};
use crate::catalog::Shop;
use crate::domain::{Chain, Crontab, RunStatus};
use crate::fetch::HostPool;
use crate::metrics::{Metrics, RunResult};
use crate::notify::{self, DrainSummary, Mailer};
use crate::pipeline::{self, ScanSummary};
use crate::store::{ClaimedRun, LeaseRenewal, Queued, RunEnd, RunToQueue, StoreError, host_of};

/// The default lease on a run and its host.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The default number of runs one worker crawls at once.
pub const DEFAULT_MAX_RUNS: usize = 64;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The worker's name in `shop_runs` and `host_leases` (unique in the
    /// fleet; `host-pid` by default).
    pub name: String,
    /// The time zone crontab lines are read in.
    pub tz: Tz,
    /// The largest random delay added to each scheduled run.
    pub jitter: Duration,
    /// How long a crontab minute lasts (60 s; tests shorten it).
    pub tick: Duration,
    /// The schedule clock's origin when `tick` is shortened, shared by the
    /// workers of a test (the worker's start otherwise).
    pub clock_origin: Option<DateTime<Utc>>,
    /// The lease on a run, its host and claimed outbox rows.
    pub lease: Duration,
    /// Runs crawled at once by this worker.
    pub max_runs: usize,
    /// How often the database is asked for due runs.
    pub poll: Duration,
    /// How long runs in progress may take to finish after SIGTERM.
    pub grace: Duration,
    /// How often the outbox is delivered, besides after each run.
    pub outbox_interval: Duration,
    /// Added to the real time to give a new run's scan clock (tests and
    /// replays; zero otherwise).
    pub scan_offset: chrono::Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            name: default_name(),
            tz: super::SCHEDULE_TZ,
            jitter: super::DEFAULT_JITTER,
            tick: Duration::from_secs(60),
            clock_origin: None,
            lease: DEFAULT_LEASE,
            max_runs: DEFAULT_MAX_RUNS,
            poll: Duration::from_secs(1),
            grace: super::SHUTDOWN_GRACE,
            outbox_interval: super::OUTBOX_INTERVAL,
            scan_offset: chrono::Duration::zero(),
        }
    }
}

/// `HOSTNAME-PID` (or `worker-PID` when the host name is unknown).
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// The lease on claimed outbox rows: ten times the run lease (10 min by
/// default), at least 30 s. Longer than a run's: a message must never be
/// claimed by a second worker while the first is still sending it, and a
/// dead worker's unsent rows waiting a little longer costs little.
fn outbox_lease(run_lease: Duration) -> chrono::Duration {
    lease_of((run_lease * 10).max(Duration::from_secs(30)))
}

/// The lease in chrono's terms.
fn lease_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(60))
}

/// The pause a host needs between requests, in ms (the shop's rate).
fn interval_ms(shop: &Shop) -> i64 {
    if shop.rate > 0.0 {
        (1000.0 / shop.rate).ceil() as i64
    } else {
        1000
    }
}

/// What a worker works with: what its scans use, and the mailer.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    /// The watchlists, database, HTTP pool and calendar of the scans.
    pub scan: pipeline::Scanner<'a>,
    /// Where the outbox is delivered.
    pub mailer: &'a Mailer,
}

/// A scheduled shop as the worker sees it.
struct Plan<'a> {
    shop: &'a Shop,
    crontab: Crontab,
    host: String,
    /// The last slot this worker recorded (or found recorded).
    recorded: Option<DateTime<Utc>>,
    /// The shop's span, for what the worker says about its slots.
    span: tracing::Span,
}

/// A run this worker is crawling.
struct Running {
    run: ClaimedRun,
    shop_url: url::Url,
    abort: AbortHandle,
    /// The run's span (shop and run id).
    span: tracing::Span,
}

/// What a job of the worker gave back.
enum Done {
    Run {
        id: i64,
        result: Result<Result<ScanSummary, StoreError>, Aborted>,
    },
    /// A delivery pass, and the rows still pending after it.
    Drain(Result<(DrainSummary, usize), StoreError>),
}

type Job<'a> = Pin<Box<dyn Future<Output = Done> + 'a>>;

/// The jobs in progress (runs and a delivery pass), and those that ended
/// while the worker waited on the database.
struct Jobs<'a> {
    set: FuturesUnordered<Job<'a>>,
    parked: Vec<Done>,
}

impl Jobs<'_> {
    /// Awaits `fut` while the runs go on: a run's future is polled only by
    /// this task, so waiting on the database without polling them could
    /// wait for a connection a suspended run holds. Runs that end meanwhile
    /// are parked, to be recorded next.
    async fn drive<T>(&mut self, fut: impl Future<Output = T>) -> T {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return out,
                Some(done) = self.set.next(), if !self.set.is_empty() => self.parked.push(done),
            }
        }
    }

    /// The next job to end, parked ones first; `None` when none goes.
    async fn next(&mut self) -> Option<Done> {
        match self.parked.pop() {
            Some(done) => Some(done),
            None => self.set.next().await,
        }
    }
}

/// When the worker next claims, delivers and renews, on its own clock.
struct Timers {
    next_drain: Instant,
    next_claim: Instant,
    next_renew: Instant,
    /// Until when our leases hold for sure.
    leases_hold_until: Instant,
}

/// What recording a shop's latest slot gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOutcome {
    /// A new run, due at the slot (plus jitter).
    Queued,
    /// At the worker's start: no run was recorded for the slot (the daemon
    /// or the fleet was down), or the shop's previous run was handed back
    /// unfinished at a shutdown; the shop is scanned once (that run resumed).
    Missed,
    /// The shop's previous run is still due or running: the slot is
    /// recorded as skipped.
    Skipped,
    /// Another worker (or an earlier pass) already recorded the slot.
    AlreadyThere,
    /// The database refused; the slot is tried again at the next pass.
    Failed,
}

/// One slot recorded by [`Worker::record_slots`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRecord {
    /// The shop.
    pub shop: String,
    /// The slot (schedule clock).
    pub slot: DateTime<Utc>,
    /// What became of it.
    pub outcome: SlotOutcome,
}

/// What [`Worker::renew`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// No run goes: nothing to renew.
    Nothing,
    /// The leases of `held` runs were renewed; the runs in `stopped` had
    /// been taken over by another worker and are stopped.
    Renewed {
        /// Runs still ours.
        held: Vec<i64>,
        /// Runs stopped.
        stopped: Vec<i64>,
    },
    /// The database refused; the runs stop before the leases can end (see
    /// [`Worker::stop_if_leases_end`]).
    Failed,
}

/// What [`Worker::claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The worker crawls as many runs as it may.
    NoRoom,
    /// Runs claimed: `started` are crawled now (empty when nothing was
    /// due or every due run's host rests); `refused` could not start (their
    /// shop is not in these watchlists, or the database failed) and were
    /// handed back.
    Claimed {
        /// Runs started.
        started: Vec<i64>,
        /// Runs handed back.
        refused: Vec<i64>,
    },
    /// The database refused.
    Failed,
}

/// A job the worker recorded, from [`Worker::next_finished`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// A delivery pass ended, with `pending` rows left in the outbox.
    Delivered {
        /// What the pass did.
        summary: DrainSummary,
        /// Rows still pending, due or not.
        pending: usize,
    },
    /// A delivery pass failed (database).
    DeliveryFailed,
    /// A run ended and was recorded as `end` (`Done` or `Failed`).
    Ended {
        /// The run.
        run: i64,
        /// How it ended.
        end: RunEnd,
    },
    /// A run was stopped before its end (its lease lost): nothing recorded.
    Stopped {
        /// The run.
        run: i64,
    },
    /// A run ended but could not be recorded as this worker's (another
    /// worker took it over, or the database failed).
    Lost {
        /// The run.
        run: i64,
    },
}

/// One worker: its shops, its runs and its outbox passes, advanced one
/// step at a time ([`Worker::record_slots`], [`Worker::renew`],
/// [`Worker::claim`], [`Worker::start_delivery`],
/// [`Worker::next_finished`]) by [`run`], or by a test.
pub struct Worker<'a> {
    s: Services<'a>,
    options: WorkerOptions,
    clock: Clock,
    lease: chrono::Duration,
    plans: Vec<Plan<'a>>,
    intervals: HashMap<String, i64>,
    running: HashMap<i64, Running>,
    jobs: Jobs<'a>,
    draining: bool,
    /// Whether the slots were recorded once (the start's missed runs).
    started: bool,
    /// Shops whose last run was handed back unfinished at a shutdown.
    interrupted: HashSet<String>,
    timers: Timers,
}

/// The real time a run queued now may start: now plus up to `jitter`.
fn jittered(now: DateTime<Utc>, jitter: Duration) -> DateTime<Utc> {
    let ms = if jitter.is_zero() {
        0
    } else {
        fastrand::u64(0..=jitter.as_millis() as u64)
    };
    now + chrono::Duration::milliseconds(ms as i64)
}

impl<'a> Worker<'a> {
    /// A worker for every scheduled shop of the catalog; an unreadable
    /// `schedule`, or none at all, is an error.
    pub fn new(s: Services<'a>, options: &WorkerOptions) -> Result<Worker<'a>, DaemonError> {
        let clock = match options.clock_origin {
            Some(o) => Clock::with_origin(options.tick, o),
            None => Clock::new(options.tick),
        };
        let plans = super::schedules(s.scan.catalog, options.tz)?
            .into_iter()
            .map(|(shop, crontab)| Plan {
                span: tracing::error_span!("shop", shop = %shop.name),
                shop,
                crontab,
                host: host_of(&shop.url),
                recorded: None,
            })
            .collect();
        let intervals = s
            .scan
            .catalog
            .shops
            .iter()
            .map(|shop| (shop.name.clone(), interval_ms(shop)))
            .collect();
        let now = Instant::now();
        Ok(Worker {
            s,
            options: options.clone(),
            clock,
            lease: lease_of(options.lease),
            plans,
            intervals,
            running: HashMap::new(),
            jobs: Jobs {
                set: FuturesUnordered::new(),
                parked: Vec::new(),
            },
            draining: false,
            started: false,
            interrupted: HashSet::new(),
            timers: Timers {
                next_drain: now,
                next_claim: now,
                next_renew: now + options.lease / 3,
                leases_hold_until: now + options.lease,
            },
        })
    }

    /// The runs this worker crawls now.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Reads from `shop_runs` each shop's last finished run (for the
    /// last-success gauge) and whether its last run was handed back
    /// unfinished at a shutdown (a missed run, resumed now); logs each
    /// shop's next slot. Returns how many shops have a finished run.
    pub async fn read_history(&mut self) -> Result<usize, DaemonError> {
        let limit = i64::try_from(self.plans.len() * 8)
            .unwrap_or(i64::MAX)
            .max(64);
        let rows = self.s.scan.store.runs(limit).await?;
        let now = self.clock.now();
        let mut known = 0;
        for p in &self.plans {
            // Newest first: the first finished run is the last one.
            let last = rows
                .iter()
                .find(|r| r.shop == p.shop.name && r.status == RunStatus::Done)
                .and_then(|r| r.finished_at);
            let handed_back = rows
                .iter()
                .any(|r| r.shop == p.shop.name && r.status == RunStatus::Due && r.attempts > 0);
            if handed_back {
                self.interrupted.insert(p.shop.name.clone());
            }
            if let Some(at) = last {
                self.s.scan.pool.metrics().shop_succeeded(&p.shop.name, at);
                known += 1;
            }
            let next = p
                .crontab
                .next_after(now)
                .map(|t| t.with_timezone(&self.options.tz).to_rfc3339())
                .unwrap_or_else(|| "never".into());
            p.span.in_scope(|| {
                tracing::info!(schedule = %p.crontab, next = %next, last_success = ?last, "scheduled");
            });
        }
        Ok(known)
    }

    /// Records, once for the fleet, the latest slot of every shop that
    /// passed on the schedule clock (slots that passed while the worker
    /// slept give one record, the latest).
    pub async fn record_slots(&mut self) -> Vec<SlotRecord> {
        let now = self.clock.now();
        self.record_slots_at(now).await
    }

    /// [`Worker::record_slots`] at `now` on the schedule clock.
    pub async fn record_slots_at(&mut self, now: DateTime<Utc>) -> Vec<SlotRecord> {
        let at_start = !self.started;
        self.started = true;
        let mut out = Vec::new();
        for p in self.plans.iter_mut() {
            let Some(slot) = p.crontab.prev_at_or_before(now) else {
                continue;
            };
            if p.recorded == Some(slot) {
                continue;
            }
            let run = RunToQueue {
                shop: p.shop.name.clone(),
                host: p.host.clone(),
                slot,
                due_at: jittered(Utc::now(), self.options.jitter),
            };
            let queued = self.jobs.drive(self.s.scan.store.enqueue_run(&run)).await;
            let skipped = matches!(queued, Ok(Queued::Skipped));
            let at = slot.with_timezone(&self.options.tz).to_rfc3339();
            let outcome = match queued {
                Ok(q) => {
                    p.recorded = Some(slot);
                    let interrupted = self.interrupted.remove(&p.shop.name);
                    slot_outcome(q, at_start, interrupted)
                }
                Err(e) => {
                    p.span
                        .in_scope(|| tracing::error!("cannot record the run: {}", Chain(&e)));
                    SlotOutcome::Failed
                }
            };
            p.span.in_scope(|| log_slot(outcome, &p.crontab, &at));
            if skipped {
                self.s.scan.pool.metrics().slot_skipped(&p.shop.name);
            }
            out.push(SlotRecord {
                shop: p.shop.name.clone(),
                slot,
                outcome,
            });
        }
        out
    }

    /// Renews the leases of the runs in progress; stops those another
    /// worker took over.
    pub async fn renew(&mut self) -> Renewal {
        self.timers.next_renew = Instant::now() + self.options.lease / 3;
        if self.running.is_empty() {
            return Renewal::Nothing;
        }
        let started = Instant::now();
        let lease_until = Utc::now() + self.lease;
        let renewals: Vec<LeaseRenewal> = self
            .running
            .values()
            .map(|r| LeaseRenewal {
                run: r.run.id,
                host_free_at: lease_until
                    + chrono::Duration::milliseconds(
                        self.intervals.get(&r.run.shop).copied().unwrap_or(1000),
                    ),
            })
            .collect();
        let name = self.options.name.as_str();
        let renewed = self
            .jobs
            .drive(self.s.scan.store.renew_runs(name, &renewals, lease_until))
            .await;
        match renewed {
            Ok(held) => {
                self.timers.leases_hold_until = started + self.options.lease;
                let held: HashSet<i64> = held.into_iter().collect();
                let mut stopped = Vec::new();
                for r in self.running.values().filter(|r| !held.contains(&r.run.id)) {
                    r.span.in_scope(|| {
                        tracing::warn!("lease lost: another worker took this run over; stopping it")
                    });
                    r.abort.abort();
                    stopped.push(r.run.id);
                }
                stopped.sort_unstable();
                let mut held: Vec<i64> = held.into_iter().collect();
                held.sort_unstable();
                Renewal::Renewed { held, stopped }
            }
            Err(e) => {
                tracing::error!("cannot renew the leases: {}", Chain(&e));
                Renewal::Failed
            }
        }
    }

    /// Stops every run when the leases could end before the next renewal
    /// (a tenth of the lease ahead): no host is crawled by two workers.
    /// Returns the runs stopped.
    pub fn stop_if_leases_end(&mut self) -> Vec<i64> {
        let safety = self.options.lease / 10;
        if self.running.is_empty() || Instant::now() + safety < self.timers.leases_hold_until {
            return Vec::new();
        }
        tracing::error!(
            runs = self.running.len(),
            "the leases could not be renewed in time: stopping every run so that no host is crawled by two workers"
        );
        self.running
            .values()
            .map(|r| {
                r.abort.abort();
                r.run.id
            })
            .collect()
    }

    /// Claims due runs, as many as there is room for, and starts them.
    pub async fn claim(&mut self) -> ClaimOutcome {
        self.timers.next_claim = Instant::now() + self.options.poll;
        if self.running.len() >= self.options.max_runs {
            return ClaimOutcome::NoRoom;
        }
        let now = Utc::now();
        let limit = i64::try_from(self.options.max_runs - self.running.len()).unwrap_or(i64::MAX);
        let store = self.s.scan.store;
        let claim = store.claim_runs(
            &self.options.name,
            now,
            now + self.lease,
            limit,
            now + self.options.scan_offset,
            &self.intervals,
        );
        let claimed = match self.jobs.drive(claim).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!("cannot claim runs: {}", Chain(&e));
                return ClaimOutcome::Failed;
            }
        };
        if self.running.is_empty() && !claimed.is_empty() {
            self.timers.leases_hold_until = Instant::now() + self.options.lease;
            self.timers.next_renew = Instant::now() + self.options.lease / 3;
        }
        let (mut started, mut refused) = (Vec::new(), Vec::new());
        for run in claimed {
            let id = run.id;
            let span = tracing::error_span!("run", shop = %run.shop, run = id);
            let start = start(self.s, run, span.clone());
            match self.jobs.drive(start).await {
                Ok((r, job)) => {
                    self.running.insert(id, r);
                    self.jobs.set.push(job);
                    started.push(id);
                }
                Err(why) => {
                    span.in_scope(|| tracing::error!("run not started: {why}"));
                    let release =
                        store.end_run(&self.options.name, id, RunEnd::Released, "", Utc::now());
                    let _ = self.jobs.drive(release).await;
                    refused.push(id);
                }
            }
        }
        ClaimOutcome::Claimed { started, refused }
    }

    /// Starts a delivery pass of the outbox, unless one goes; returns
    /// whether one started.
    pub fn start_delivery(&mut self) -> bool {
        if self.draining {
            return false;
        }
        self.draining = true;
        self.timers.next_drain = Instant::now() + self.options.outbox_interval;
        let (store, mailer) = (self.s.scan.store, self.s.mailer);
        let lease = outbox_lease(self.options.lease);
        self.jobs.set.push(Box::pin(async move {
            let result = async {
                let d = notify::drain_leased(store, mailer, Utc::now(), lease).await?;
                // Every pending row, due or not.
                let depth = usize::try_from(store.outbox_counts().await?.pending).unwrap_or(0);
                Ok((d, depth))
            }
            .await;
            Done::Drain(result)
        }));
        true
    }

    /// Waits for the next run or delivery pass to end and records it;
    /// `None` when nothing goes.
    pub async fn next_finished(&mut self) -> Option<Finished> {
        let done = self.jobs.next().await?;
        Some(self.finish(done).await)
    }

    /// One pass of the loop: what ended, the slots, the leases, the
    /// claims and the outbox, each when its time has come.
    async fn step(&mut self) {
        while let Some(done) = self.jobs.parked.pop() {
            self.finish(done).await;
        }
        self.record_slots().await;
        if !self.running.is_empty() && Instant::now() >= self.timers.next_renew {
            self.renew().await;
        }
        self.stop_if_leases_end();
        if self.running.len() < self.options.max_runs && Instant::now() >= self.timers.next_claim {
            self.claim().await;
        }
        if Instant::now() >= self.timers.next_drain {
            self.start_delivery();
        }
    }

    /// How long to sleep before the next step: until a claim when there is
    /// room, a delivery pass when none goes, a renewal when runs go, or
    /// the next slot.
    fn wait(&self) -> Duration {
        let t = &self.timers;
        [
            (self.running.len() < self.options.max_runs).then_some(t.next_claim),
            (!self.draining).then_some(t.next_drain),
            (!self.running.is_empty()).then_some(t.next_renew),
        ]
        .into_iter()
        .flatten()
        .map(|at| at.saturating_duration_since(Instant::now()))
        .chain(
            self.plans
                .iter()
                .filter_map(|p| p.crontab.next_after(self.clock.now()))
                .map(|at| self.clock.wait_until(at)),
        )
        .min()
        .unwrap_or(self.options.poll)
        .clamp(Duration::from_millis(10), Duration::from_secs(60))
    }

    /// Records a finished job.
    async fn finish(&mut self, done: Done) -> Finished {
        match done {
            Done::Drain(result) => {
                self.draining = false;
                delivered(result, self.s.scan.pool.metrics())
            }
            Done::Run { id, result } => {
                // A run ended: its emails go out now, and there is room to claim.
                self.timers.next_drain = Instant::now();
                self.timers.next_claim = Instant::now();
                let Some(r) = self.running.remove(&id) else {
                    return Finished::Lost { run: id };
                };
                let result = match result {
                    Ok(result) => result,
                    // The lease is someone else's, or ends by itself.
                    Err(Aborted) => return Finished::Stopped { run: id },
                };
                self.end(r, result).await
            }
        }
    }

    /// Records the end of a run that was not stopped.
    async fn end(&mut self, r: Running, result: Result<ScanSummary, StoreError>) -> Finished {
        let id = r.run.id;
        let free_at = Utc::now() + rest(self.s.scan.pool, &r);
        let (end, summary) = match &result {
            Ok(s) => (RunEnd::Done, serde_json::to_value(s).unwrap_or_default()),
            Err(e) => (
                RunEnd::Failed,
                serde_json::json!({ "error": e.to_string() }),
            ),
        };
        let summary_text = summary.to_string();
        let store = self.s.scan.store;
        let ended = store.end_run(&self.options.name, id, end, &summary_text, free_at);
        match self.jobs.drive(ended).await {
            Ok(true) => {}
            Ok(false) => {
                r.span.in_scope(|| {
                    tracing::warn!(
                        "run finished after another worker took it over; that worker's run counts"
                    )
                });
                return Finished::Lost { run: id };
            }
            Err(e) => {
                r.span.in_scope(|| tracing::error!("cannot record the end of the run: {}; another worker takes it over when its lease ends", Chain(&e)));
                return Finished::Lost { run: id };
            }
        }
        let closed = self
            .jobs
            .drive(store.finish_scan(r.run.scan_id, &summary))
            .await;
        let _in_run = r.span.enter();
        if let Err(e) = closed {
            tracing::error!("cannot close the scan: {}", Chain(&e));
        }
        let shop = r.run.shop.as_str();
        let metrics = self.s.scan.pool.metrics();
        match result {
            Ok(s) if s.shops_failed.is_empty() => {
                metrics.shop_run(shop, RunResult::Ok);
                metrics.shop_succeeded(shop, r.run.scan_clock);
                tracing::info!(
                    pages = s.pages_fetched,
                    unchanged = s.pages_unchanged,
                    resumed = s.pages_resumed,
                    observations = s.observations,
                    findings = s.findings,
                    errors = s.errors,
                    "scan done"
                );
            }
            Ok(s) => {
                metrics.shop_run(shop, RunResult::Failed);
                tracing::error!(problems = ?s.problems, "shop could not be scanned; it is tried again at its next slot");
            }
            Err(e) => {
                metrics.shop_run(shop, RunResult::Failed);
                tracing::error!("scan failed: {}", Chain(&e));
            }
        }
        Finished::Ended { run: id, end }
    }

    /// Shutdown: no new claim; the runs in progress get the grace period,
    /// then are handed back (`due`) for the next start or another worker.
    /// Returns the runs handed back.
    pub async fn stop(mut self) -> Vec<i64> {
        if self.running.is_empty() {
            tracing::info!("shutdown requested; nothing in progress; exiting");
            return Vec::new();
        }
        tracing::info!(
            runs = self.running.len(),
            grace_s = self.options.grace.as_secs_f64(),
            "shutdown requested; waiting for the runs in progress"
        );
        let deadline = tokio::time::Instant::now() + self.options.grace;
        while !self.running.is_empty() {
            let done = match self.jobs.parked.pop() {
                Some(d) => d,
                None => match tokio::time::timeout_at(deadline, self.jobs.set.next()).await {
                    Ok(Some(done)) => done,
                    Ok(None) | Err(_) => break,
                },
            };
            self.finish(done).await;
        }
        // What is left is dropped here: nothing polls it any more.
        self.jobs.set = FuturesUnordered::new();
        let mut released = Vec::new();
        for (_, r) in self.running.drain() {
            r.abort.abort();
            let free_at = Utc::now() + rest(self.s.scan.pool, &r);
            let end = self
                .s
                .scan
                .store
                .end_run(&self.options.name, r.run.id, RunEnd::Released, "", free_at)
                .await;
            let _in_run = r.span.enter();
            self.s
                .scan
                .pool
                .metrics()
                .shop_run(&r.run.shop, RunResult::Interrupted);
            match end {
                Ok(_) => {
                    tracing::warn!("{INTERRUPTED}");
                    released.push(r.run.id);
                }
                Err(e) => tracing::error!(
                    "cannot release the run: {}; another worker takes it over when its lease ends",
                    Chain(&e)
                ),
            }
        }
        released.sort_unstable();
        released
    }
}

/// What the log says of a run stopped by the shutdown.
const INTERRUPTED: &str = "run interrupted by the shutdown; what it committed is kept, and it resumes at the next start (or on another worker)";

/// A slot's outcome from the database's answer. At the worker's start, a
/// run queued, or a slot that finds the shop's previous run handed back
/// unfinished (`interrupted`), is a missed run.
fn slot_outcome(q: Queued, at_start: bool, interrupted: bool) -> SlotOutcome {
    match q {
        Queued::Queued if at_start => SlotOutcome::Missed,
        Queued::Skipped | Queued::AlreadyThere if at_start && interrupted => SlotOutcome::Missed,
        Queued::Queued => SlotOutcome::Queued,
        Queued::Skipped => SlotOutcome::Skipped,
        Queued::AlreadyThere => SlotOutcome::AlreadyThere,
    }
}

/// Logs a recorded slot (in the shop's span).
fn log_slot(outcome: SlotOutcome, crontab: &Crontab, slot: &str) {
    match outcome {
        SlotOutcome::Queued => tracing::info!(slot, "run queued"),
        SlotOutcome::Missed => tracing::info!(
            schedule = %crontab,
            slot,
            "missed run while the daemon was down: scanning once now"
        ),
        SlotOutcome::Skipped => tracing::warn!(
            slot,
            "skipping this slot: the previous run of this shop is still due or running"
        ),
        SlotOutcome::AlreadyThere | SlotOutcome::Failed => {}
    }
}

/// Records a delivery pass's result (metrics, log).
fn delivered(result: Result<(DrainSummary, usize), StoreError>, metrics: &Metrics) -> Finished {
    match result {
        Ok((d, pending)) => {
            metrics.outbox_depth(pending);
            metrics.outbox_failures(d.retrying + d.dead);
            if d.sent + d.retrying + d.dead > 0 {
                tracing::info!(
                    sent = d.sent,
                    retrying = d.retrying,
                    dead = d.dead,
                    pending,
                    "outbox delivered"
                );
            }
            Finished::Delivered {
                summary: d,
                pending,
            }
        }
        Err(e) => {
            tracing::error!("outbox delivery failed: {}", Chain(&e));
            Finished::DeliveryFailed
        }
    }
}

/// Runs until a shutdown signal; see the module documentation. Fails at
/// start only: on an unreadable `schedule`, or a database that cannot be
/// read; later database errors are logged and retried.
pub async fn run(
    services: Services<'_>,
    options: &WorkerOptions,
    shutdown: &mut Shutdown,
) -> Result<(), DaemonError> {
    let span = tracing::error_span!("worker", worker = %options.name);
    async move {
        let mut w = Worker::new(services, options)?;
        tracing::info!(
            shops = w.plans.len(),
            lease_s = options.lease.as_secs_f64(),
            max_runs = options.max_runs,
            "worker started"
        );
        w.read_history().await?;
        loop {
            w.step().await;
            let wait = w.wait();
            tokio::select! {
                _ = shutdown.recv() => break,
                Some(done) = w.jobs.set.next(), if !w.jobs.set.is_empty() => {
                    w.finish(done).await;
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        w.stop().await;
        Ok(())
    }
    .instrument(span)
    .await
}

/// How long the run's host must rest before another worker's request.
fn rest(pool: &HostPool, r: &Running) -> chrono::Duration {
    let d = pool.rest(&r.shop_url).unwrap_or_default();
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(1))
}

/// Starts a claimed run (reading what its scan already holds when taken
/// over); the error says why it cannot start.
async fn start<'a>(
    s: Services<'a>,
    run: ClaimedRun,
    span: tracing::Span,
) -> Result<(Running, Job<'a>), String> {
    let Some(shop) = s.scan.catalog.shop(&run.shop) else {
        return Err(format!(
            "shop {:?} is not in this worker's watchlists",
            run.shop
        ));
    };
    let already: HashSet<i64> = if run.attempts > 1 {
        let ids = s
            .scan
            .store
            .observed_in_scan(run.scan_id)
            .await
            .map_err(|e| e.to_string())?;
        ids.into_iter().collect()
    } else {
        HashSet::new()
    };
    span.in_scope(|| {
        if run.attempts > 1 {
            tracing::warn!(
                from = run.previous_worker.as_deref().unwrap_or("?"),
                already_observed = already.len(),
                "run taken over: resuming it"
            );
        } else {
            tracing::info!(host = %run.host, "run claimed");
        }
    });
    let (abort, registration) = AbortHandle::new_pair();
    let id = run.id;
    let scan_id = run.scan_id;
    let now = run.scan_clock;
    s.scan.pool.new_run();
    let job: Job<'a> = Box::pin(
        async move {
            let scan = pipeline::scan_claimed(&s.scan, shop, scan_id, now, &already);
            let result = Abortable::new(scan, registration).await;
            Done::Run { id, result }
        }
        .instrument(span.clone()),
    );
    Ok((
        Running {
            shop_url: shop.url.clone(),
            run,
            abort,
            span,
        },
        job,
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::catalog::Catalog;
    use crate::config::{FileConfig, Overrides, Settings};
    use crate::domain::calendar::Calendar;
    use crate::fetch::FetchConfig;
    use crate::store::Store;

    /// A catalog, a SQLite store and the rest, around two shops on one host
    /// that accepts connections and never answers (a scan polled by
    /// mistake waits instead of finishing).
    struct Setup {
        _dir: tempfile::TempDir,
        _host: std::net::TcpListener,
        store: Box<dyn Store>,
        catalog: Catalog,
        calendar: Calendar,
        pool: HostPool,
        mailer: Mailer,
    }

    async fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = host.local_addr().unwrap().port();
        let shop = |name: &str, path: &str| {
            format!(
                "[[shop]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/{path}/\"\n\
                 allow_private_network = true\nschedule = \"* * * * *\"\n\n"
            )
        };
        let text = shop("Un", "un")
            + &shop("Deux", "deux")
            + "[[brand]]\nname = \"Maison Lumière\"\n\n[[subscriber]]\nname = \"Ana\"\n\
               email = \"ana@lanterne.example\"\nbrands = [\"Maison Lumière\"]\n";
        let catalog = Catalog::from_sources(&[(PathBuf::from("t.toml"), text)]).unwrap();
        let url = format!("sqlite://{}", dir.path().join("v.db").display());
        let store = crate::store::open(&url).await.unwrap();
        let settings = Settings::merge(
            FileConfig::default(),
            &Overrides {
                mail_dir: Some(dir.path().join("mail")),
                ..Default::default()
            },
        )
        .unwrap();
        Setup {
            calendar: catalog.calendar(),
            catalog,
            store,
            pool: HostPool::new(FetchConfig::new("vigie-test".into())).unwrap(),
            mailer: Mailer::from_settings(&settings).unwrap(),
            _host: host,
            _dir: dir,
        }
    }

    impl Setup {
        fn worker(&self, name: &str) -> Worker<'_> {
            let services = Services {
                scan: pipeline::Scanner {
                    catalog: &self.catalog,
                    store: self.store.as_ref(),
                    pool: &self.pool,
                    calendar: &self.calendar,
                },
                mailer: &self.mailer,
            };
            let options = WorkerOptions {
                name: name.into(),
                jitter: Duration::ZERO,
                grace: Duration::from_millis(50),
                ..WorkerOptions::default()
            };
            Worker::new(services, &options).unwrap()
        }
    }

    fn outcomes(records: &[SlotRecord]) -> Vec<(&str, SlotOutcome)> {
        records
            .iter()
            .map(|r| (r.shop.as_str(), r.outcome))
            .collect()
    }

    #[tokio::test]
    async fn a_slot_is_recorded_once_for_the_fleet_and_missed_slots_give_one_run() {
        let s = setup().await;
        let (mut a, mut b) = (s.worker("a"), s.worker("b"));
        let now = Utc::now();
        // At start, a slot no one recorded is a missed run: scanned once.
        let first = a.record_slots_at(now).await;
        assert_eq!(
            outcomes(&first),
            [("Un", SlotOutcome::Missed), ("Deux", SlotOutcome::Missed)]
        );
        // The same slot again: this worker knows it, the other finds it there.
        assert!(a.record_slots_at(now).await.is_empty());
        assert_eq!(
            outcomes(&b.record_slots_at(now).await),
            [
                ("Un", SlotOutcome::AlreadyThere),
                ("Deux", SlotOutcome::AlreadyThere)
            ]
        );
        // An hour asleep: sixty slots passed, one record each, skipped
        // because the missed run has not run yet.
        let later = a.record_slots_at(now + chrono::Duration::hours(1)).await;
        assert_eq!(
            outcomes(&later),
            [("Un", SlotOutcome::Skipped), ("Deux", SlotOutcome::Skipped)]
        );
        let runs = s.store.runs(10).await.unwrap();
        assert_eq!(runs.len(), 4, "{runs:?}");
    }

    #[tokio::test]
    async fn a_host_another_worker_holds_is_not_claimed() {
        let s = setup().await;
        let (mut a, mut b) = (s.worker("a"), s.worker("b"));
        a.record_slots().await;
        // Both shops are due, on one host: one run at a time.
        let ClaimOutcome::Claimed { started, refused } = a.claim().await else {
            panic!("no claim");
        };
        assert_eq!((started.len(), refused.len()), (1, 0));
        assert_eq!(
            b.claim().await,
            ClaimOutcome::Claimed {
                started: vec![],
                refused: vec![]
            }
        );
        assert_eq!(b.renew().await, Renewal::Nothing);
        assert_eq!(a.running(), 1);
    }

    #[tokio::test]
    async fn a_run_taken_over_stops_at_the_next_renewal() {
        let s = setup().await;
        let mut a = s.worker("a");
        a.record_slots().await;
        let ClaimOutcome::Claimed { started, .. } = a.claim().await else {
            panic!("no claim");
        };
        let id = started[0];
        assert_eq!(
            a.renew().await,
            Renewal::Renewed {
                held: vec![id],
                stopped: vec![]
            }
        );
        // Two minutes later on b's clock, a's lease has ended: b takes over.
        let later = Utc::now() + chrono::Duration::minutes(2);
        let taken = s
            .store
            .claim_runs(
                "b",
                later,
                later + chrono::Duration::minutes(1),
                1,
                later,
                &a.intervals,
            )
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, id);
        assert_eq!(
            a.renew().await,
            Renewal::Renewed {
                held: vec![],
                stopped: vec![id]
            }
        );
        assert_eq!(a.next_finished().await, Some(Finished::Stopped { run: id }));
        assert_eq!(a.running(), 0);
    }

    #[tokio::test]
    async fn at_shutdown_a_run_in_progress_is_handed_back() {
        let s = setup().await;
        let mut a = s.worker("a");
        a.record_slots().await;
        let ClaimOutcome::Claimed { started, .. } = a.claim().await else {
            panic!("no claim");
        };
        assert_eq!(a.stop().await, started);
        let runs = s.store.runs(10).await.unwrap();
        let run = runs.iter().find(|r| r.id == started[0]).unwrap();
        assert_eq!((run.status.as_str(), run.worker.as_deref()), ("due", None));
        // The next start reads it from shop_runs: a missed run, resumed.
        let mut again = s.worker("a2");
        again.read_history().await.unwrap();
        let shop = run.shop.clone();
        let records = again.record_slots().await;
        let of_shop: Vec<_> = outcomes(&records)
            .into_iter()
            .filter(|(s, _)| *s == shop)
            .collect();
        assert_eq!(of_shop, [(shop.as_str(), SlotOutcome::Missed)]);
    }

    #[tokio::test]
    async fn one_delivery_pass_at_a_time() {
        let s = setup().await;
        let mut a = s.worker("a");
        assert!(a.start_delivery());
        assert!(!a.start_delivery());
        assert_eq!(
            a.next_finished().await,
            Some(Finished::Delivered {
                summary: DrainSummary::default(),
                pending: 0
            })
        );
        assert!(a.start_delivery());
    }

    #[test]
    fn jitter_delays_a_run_never_by_more_than_asked() {
        let now = Utc::now();
        assert_eq!(jittered(now, Duration::ZERO), now);
        for _ in 0..20 {
            let delay = jittered(now, Duration::from_secs(30)) - now;
            assert!(delay >= chrono::Duration::zero() && delay <= chrono::Duration::seconds(30));
        }
    }

    #[test]
    fn a_watchlist_without_schedules_is_a_configuration_error() {
        let text = "[[shop]]\nname = \"Un\"\nurl = \"https://un.example/\"\n";
        let catalog = Catalog::from_sources(&[(PathBuf::from("t.toml"), text.into())]).unwrap();
        let err = super::super::schedules(&catalog, super::super::SCHEDULE_TZ).unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(
            err.to_string().contains("no shop has a `schedule`"),
            "{err}"
        );
    }
}
