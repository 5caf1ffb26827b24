//! `vigie worker`: one member of a fleet sharing a database (PostgreSQL,
//! or SQLite on one machine). `vigie daemon` pointed at PostgreSQL runs
//! this too.
//!
//! - **Schedules fire once per fleet.** Every worker reads every shop's
//!   crontab line; when a slot passes, it records the run in `shop_runs`,
//!   whose `UNIQUE (shop, slot)` lets only the first worker's insert
//!   through. A slot that comes while the shop's previous run is still due
//!   or running is recorded as `skipped`. At start, the latest slot that
//!   passed is recorded the same way, so a fleet that was down makes one
//!   missed run, not one per worker.
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
//!   period, then are released (back to `due`) for another worker to resume
//!   at once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use futures::future::{AbortHandle, Abortable, Aborted};
use futures::stream::FuturesUnordered;

use super::{Clock, Shutdown};
use crate::catalog::{Catalog, Shop};
use crate::domain::Crontab;
use crate::domain::calendar::Calendar;
use crate::fetch::HostPool;
use crate::notify::{self, DrainSummary, Mailer};
use crate::pipeline::{self, ScanSummary};
use crate::store::{
    ClaimedRun, LeaseRenewal, Queued, RunEnd, RunToQueue, Store, StoreError, host_of,
};

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

/// A scheduled shop as the worker sees it.
struct Plan<'a> {
    shop: &'a Shop,
    crontab: Crontab,
    host: String,
    /// The last slot this worker recorded (or found recorded).
    recorded: Option<DateTime<Utc>>,
}

/// A run this worker is crawling.
struct Running {
    run: ClaimedRun,
    shop_url: url::Url,
    abort: AbortHandle,
}

enum Done {
    Run {
        id: i64,
        result: Result<Result<ScanSummary, StoreError>, Aborted>,
    },
    Drain(Result<DrainSummary, StoreError>),
}

type Job<'a> = Pin<Box<dyn Future<Output = Done> + 'a>>;

/// Awaits `fut` while the runs go on: a run's future is polled only by
/// this task, so waiting on the database without polling them could wait
/// for a connection a suspended run holds. Runs that end meanwhile are
/// parked, to be recorded next.
async fn drive<'a, T>(
    fut: impl Future<Output = T>,
    jobs: &mut FuturesUnordered<Job<'a>>,
    parked: &mut Vec<Done>,
) -> T {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            Some(done) = jobs.next(), if !jobs.is_empty() => parked.push(done),
        }
    }
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

/// Runs until a shutdown signal; see the module documentation.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    catalog: &Catalog,
    store: &dyn Store,
    pool: &HostPool,
    mailer: &Mailer,
    calendar: &Calendar,
    options: &WorkerOptions,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let me = options.name.as_str();
    let clock = match options.clock_origin {
        Some(o) => Clock::with_origin(options.tick, o),
        None => Clock::new(options.tick),
    };
    let lease = lease_of(options.lease);
    let mut plans: Vec<Plan<'_>> = super::schedules(catalog, options.tz)?
        .into_iter()
        .map(|(shop, crontab)| Plan {
            shop,
            crontab,
            host: host_of(&shop.url),
            recorded: None,
        })
        .collect();
    let intervals: HashMap<String, i64> = catalog
        .shops
        .iter()
        .map(|s| (s.name.clone(), interval_ms(s)))
        .collect();
    tracing::info!(
        worker = me,
        shops = plans.len(),
        lease_s = options.lease.as_secs_f64(),
        max_runs = options.max_runs,
        "worker started"
    );

    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut jobs: FuturesUnordered<Job<'_>> = FuturesUnordered::new();
    let mut parked: Vec<Done> = Vec::new();
    let mut draining = false;
    let mut next_drain = Instant::now();
    let mut next_claim = Instant::now();
    let mut next_renew = Instant::now() + options.lease / 3;
    // Until when our leases hold for sure, on our own clock.
    let mut leases_hold_until = Instant::now() + options.lease;
    let safety = options.lease / 10;

    loop {
        // 0. Record the runs that ended while we waited on the database.
        while let Some(done) = parked.pop() {
            if finish(
                done,
                store,
                pool,
                me,
                &mut running,
                &mut draining,
                &mut jobs,
                &mut parked,
            )
            .await
            {
                next_drain = Instant::now();
                next_claim = Instant::now();
            }
        }
        // 1. Record the slots that passed, once for the fleet.
        let now_sched = clock.now();
        for p in plans.iter_mut() {
            let Some(slot) = p.crontab.prev_at_or_before(now_sched) else {
                continue;
            };
            if p.recorded == Some(slot) {
                continue;
            }
            let jitter = if options.jitter.is_zero() {
                0
            } else {
                fastrand::u64(0..=options.jitter.as_millis() as u64)
            };
            let run = RunToQueue {
                shop: p.shop.name.clone(),
                host: p.host.clone(),
                slot,
                due_at: Utc::now() + chrono::Duration::milliseconds(jitter as i64),
            };
            match drive(store.enqueue_run(&run), &mut jobs, &mut parked).await {
                Ok(q) => {
                    p.recorded = Some(slot);
                    let at = slot.with_timezone(&options.tz).to_rfc3339();
                    match q {
                        Queued::Queued => {
                            tracing::info!(worker = me, shop = %p.shop.name, slot = %at, "run queued")
                        }
                        Queued::Skipped => {
                            pool.metrics().slot_skipped(&p.shop.name);
                            tracing::warn!(
                                worker = me,
                                shop = %p.shop.name,
                                slot = %at,
                                "skipping this slot: the previous run of this shop is still due or running"
                            );
                        }
                        Queued::AlreadyThere => {}
                    }
                }
                Err(e) => {
                    tracing::error!(worker = me, shop = %p.shop.name, "cannot record the run: {e}")
                }
            }
        }

        // 2. Renew the leases; stop the runs we no longer hold.
        if !running.is_empty() && Instant::now() >= next_renew {
            let started = Instant::now();
            let lease_until = Utc::now() + lease;
            let renewals: Vec<LeaseRenewal> = running
                .values()
                .map(|r| LeaseRenewal {
                    run: r.run.id,
                    host_free_at: lease_until
                        + chrono::Duration::milliseconds(
                            intervals.get(&r.run.shop).copied().unwrap_or(1000),
                        ),
                })
                .collect();
            match drive(
                store.renew_runs(me, &renewals, lease_until),
                &mut jobs,
                &mut parked,
            )
            .await
            {
                Ok(held) => {
                    leases_hold_until = started + options.lease;
                    let held: HashSet<i64> = held.into_iter().collect();
                    for r in running.values().filter(|r| !held.contains(&r.run.id)) {
                        tracing::warn!(
                            worker = me,
                            shop = %r.run.shop,
                            run = r.run.id,
                            "lease lost: another worker took this run over; stopping it"
                        );
                        r.abort.abort();
                    }
                }
                Err(e) => tracing::error!(worker = me, "cannot renew the leases: {e}"),
            }
            next_renew = Instant::now() + options.lease / 3;
        }
        if !running.is_empty() && Instant::now() + safety >= leases_hold_until {
            tracing::error!(
                worker = me,
                runs = running.len(),
                "the leases could not be renewed in time: stopping every run so that no host is crawled by two workers"
            );
            for r in running.values() {
                r.abort.abort();
            }
        }

        // 3. Claim due runs.
        if running.len() < options.max_runs && Instant::now() >= next_claim {
            next_claim = Instant::now() + options.poll;
            let now = Utc::now();
            let limit = (options.max_runs - running.len()) as i64;
            let claim = store.claim_runs(
                me,
                now,
                now + lease,
                limit,
                now + options.scan_offset,
                &intervals,
            );
            match drive(claim, &mut jobs, &mut parked).await {
                Ok(claimed) => {
                    if running.is_empty() && !claimed.is_empty() {
                        leases_hold_until = Instant::now() + options.lease;
                        next_renew = Instant::now() + options.lease / 3;
                    }
                    for run in claimed {
                        let started = drive(
                            start(catalog, store, pool, calendar, me, run),
                            &mut jobs,
                            &mut parked,
                        )
                        .await;
                        match started {
                            Ok((r, job)) => {
                                running.insert(r.run.id, r);
                                jobs.push(job);
                            }
                            Err((run, e)) => {
                                tracing::error!(worker = me, shop = %run.shop, "run not started: {e}");
                                let release =
                                    store.end_run(me, run.id, RunEnd::Released, "", Utc::now());
                                let _ = drive(release, &mut jobs, &mut parked).await;
                            }
                        }
                    }
                }
                Err(e) => tracing::error!(worker = me, "cannot claim runs: {e}"),
            }
        }

        // 4. Deliver the outbox now and then.
        if !draining && Instant::now() >= next_drain {
            draining = true;
            next_drain = Instant::now() + options.outbox_interval;
            jobs.push(drain(store, mailer, outbox_lease(options.lease)));
        }

        // Wake for what can happen: a claim when there is room, a delivery
        // pass when none is going, a renewal when runs go, the next slot.
        let wait = [
            (running.len() < options.max_runs).then_some(next_claim),
            (!draining).then_some(next_drain),
            (!running.is_empty()).then_some(next_renew),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.saturating_duration_since(Instant::now()))
        .chain(
            plans
                .iter()
                .filter_map(|p| p.crontab.next_after(clock.now()))
                .map(|t| clock.wait_until(t)),
        )
        .min()
        .unwrap_or(options.poll)
        .clamp(Duration::from_millis(10), Duration::from_secs(60));
        tokio::select! {
            _ = shutdown.recv() => break,
            Some(done) = jobs.next(), if !jobs.is_empty() => {
                if finish(done, store, pool, me, &mut running, &mut draining, &mut jobs, &mut parked).await {
                    // A run ended: its emails go out now, and there is room to claim.
                    next_drain = Instant::now();
                    next_claim = Instant::now();
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }

    // Shutdown: no new claim; the runs in progress get the grace period.
    if running.is_empty() {
        tracing::info!(
            worker = me,
            "shutdown requested; nothing in progress; exiting"
        );
        return Ok(());
    }
    tracing::info!(
        worker = me,
        runs = running.len(),
        grace_s = options.grace.as_secs_f64(),
        "shutdown requested; waiting for the runs in progress"
    );
    let deadline = tokio::time::Instant::now() + options.grace;
    while !running.is_empty() {
        let done = match parked.pop() {
            Some(d) => d,
            None => match tokio::time::timeout_at(deadline, jobs.next()).await {
                Ok(Some(done)) => done,
                Ok(None) | Err(_) => break,
            },
        };
        finish(
            done,
            store,
            pool,
            me,
            &mut running,
            &mut draining,
            &mut jobs,
            &mut parked,
        )
        .await;
    }
    // What is left is dropped here: nothing polls it any more.
    drop(jobs);
    for (_, r) in running.drain() {
        r.abort.abort();
        let free_at = Utc::now() + rest(pool, &r);
        match store
            .end_run(me, r.run.id, RunEnd::Released, "", free_at)
            .await
        {
            Ok(_) => tracing::warn!(
                worker = me,
                shop = %r.run.shop,
                "run interrupted by the shutdown; what it committed is kept, and another worker resumes it"
            ),
            Err(e) => {
                tracing::error!(worker = me, shop = %r.run.shop, "cannot release the run: {e}; another worker takes it over when its lease ends")
            }
        }
    }
    Ok(())
}

/// How long the run's host must rest before another worker's request.
fn rest(pool: &HostPool, r: &Running) -> chrono::Duration {
    let d = pool.rest(&r.shop_url).unwrap_or_default();
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(1))
}

/// Starts a claimed run (reading what its scan already holds when taken over).
async fn start<'a>(
    catalog: &'a Catalog,
    store: &'a dyn Store,
    pool: &'a HostPool,
    calendar: &'a Calendar,
    me: &str,
    run: ClaimedRun,
) -> Result<(Running, Job<'a>), (ClaimedRun, String)> {
    let Some(shop) = catalog.shop(&run.shop) else {
        return Err((
            run.clone(),
            format!("shop {:?} is not in this worker's watchlists", run.shop),
        ));
    };
    let already: HashSet<i64> = if run.attempts > 1 {
        match store.observed_in_scan(run.scan_id).await {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => return Err((run, e.to_string())),
        }
    } else {
        HashSet::new()
    };
    if run.attempts > 1 {
        tracing::warn!(
            worker = me,
            shop = %run.shop,
            run = run.id,
            from = run.previous_worker.as_deref().unwrap_or("?"),
            already_observed = already.len(),
            "run taken over: resuming it"
        );
    } else {
        tracing::info!(worker = me, shop = %run.shop, run = run.id, host = %run.host, "run claimed");
    }
    let (abort, registration) = AbortHandle::new_pair();
    let id = run.id;
    let scan_id = run.scan_id;
    let now = run.scan_clock;
    pool.new_run();
    let job: Job<'a> = Box::pin(async move {
        let scanner = pipeline::Scanner {
            catalog,
            store,
            pool,
            calendar,
        };
        let scan = pipeline::scan_claimed(&scanner, shop, scan_id, now, &already);
        let result = Abortable::new(scan, registration).await;
        Done::Run { id, result }
    });
    Ok((
        Running {
            shop_url: shop.url.clone(),
            run,
            abort,
        },
        job,
    ))
}

fn drain<'a>(store: &'a dyn Store, mailer: &'a Mailer, lease: chrono::Duration) -> Job<'a> {
    Box::pin(
        async move { Done::Drain(notify::drain_leased(store, mailer, Utc::now(), lease).await) },
    )
}

/// Records a finished job. Returns whether a run ended.
#[allow(clippy::too_many_arguments)]
async fn finish<'a>(
    done: Done,
    store: &dyn Store,
    pool: &HostPool,
    me: &str,
    running: &mut HashMap<i64, Running>,
    draining: &mut bool,
    jobs: &mut FuturesUnordered<Job<'a>>,
    parked: &mut Vec<Done>,
) -> bool {
    match done {
        Done::Drain(result) => {
            *draining = false;
            match result {
                Ok(d) => {
                    pool.metrics().outbox_failures(d.retrying + d.dead);
                    if d.sent + d.retrying + d.dead > 0 {
                        tracing::info!(
                            worker = me,
                            sent = d.sent,
                            retrying = d.retrying,
                            dead = d.dead,
                            "outbox delivered"
                        );
                    }
                }
                Err(e) => tracing::error!(worker = me, "outbox delivery failed: {e}"),
            }
            false
        }
        Done::Run { id, result } => {
            let Some(r) = running.remove(&id) else {
                return false;
            };
            let shop = r.run.shop.as_str();
            let free_at = Utc::now() + rest(pool, &r);
            let (end, summary) = match &result {
                Err(Aborted) => return true, // the lease is someone else's, or ends by itself
                Ok(Ok(s)) => (RunEnd::Done, serde_json::to_value(s).unwrap_or_default()),
                Ok(Err(e)) => (
                    RunEnd::Failed,
                    serde_json::json!({ "error": e.to_string() }),
                ),
            };
            let summary_text = summary.to_string();
            let ended = store.end_run(me, id, end, &summary_text, free_at);
            match drive(ended, jobs, parked).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        worker = me,
                        shop,
                        run = id,
                        "run finished after another worker took it over; that worker's run counts"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::error!(
                        worker = me,
                        shop,
                        run = id,
                        "cannot record the end of the run: {e}; another worker takes it over when its lease ends"
                    );
                    return true;
                }
            }
            if let Err(e) = drive(store.finish_scan(r.run.scan_id, &summary), jobs, parked).await {
                tracing::error!(worker = me, shop, "cannot close the scan: {e}");
            }
            match result {
                Ok(Ok(s)) if s.shops_failed.is_empty() => {
                    pool.metrics().shop_run(shop, crate::metrics::RunResult::Ok);
                    pool.metrics().shop_succeeded(shop, r.run.scan_clock);
                    tracing::info!(
                        worker = me,
                        shop,
                        run = id,
                        pages = s.pages_fetched,
                        unchanged = s.pages_unchanged,
                        resumed = s.pages_resumed,
                        observations = s.observations,
                        findings = s.findings,
                        errors = s.errors,
                        "scan done"
                    );
                }
                Ok(Ok(s)) => {
                    pool.metrics()
                        .shop_run(shop, crate::metrics::RunResult::Failed);
                    tracing::error!(worker = me, shop, problems = ?s.problems, "shop could not be scanned; it is tried again at its next slot");
                }
                Ok(Err(e)) => {
                    pool.metrics()
                        .shop_run(shop, crate::metrics::RunResult::Failed);
                    tracing::error!(worker = me, shop, "scan failed: {e}");
                }
                Err(Aborted) => {}
            }
            true
        }
    }
}
