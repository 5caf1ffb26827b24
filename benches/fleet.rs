//! Fleet benchmark: fleets of N `vigie worker` processes (the release
//! binary) sharing one PostgreSQL database crawl the polite fixture network
//! of `fixture/mod.rs` (H hosts × P pages on 127.0.0.x, at R requests/s per
//! host), and the hosts' own request logs tell how fast and how politely.
//!
//! ```text
//! cargo bench --bench fleet                    # 200 hosts × 10 pages, 4 req/s, fleets of 1, 2, 4
//! cargo bench --bench fleet -- --runs 3        # median of 3 runs per fleet
//! options: --hosts H --pages P --rate R --workers 1,2,4 --runs K
//!          --database postgres://postgres@127.0.0.1:5432/postgres
//!          --lease-seconds S --max-runs M (instead of ceil(H/N))
//!          --latency-ms L --timeout-seconds T (120) --keep
//! ```
//!
//! For each fleet size N and each run, the bench creates a fresh database
//! `vigie_bench_<pid>_<N>` next to `--database` (which must allow CREATE
//! DATABASE), migrates it with `vigie migrate`, writes a watchlist where
//! every shop has `schedule = "0 0 1 1 *"` (a yearly slot that has passed:
//! every worker records it at start, and the fleet queues exactly one run
//! per shop, due at once), and starts N workers
//! (`--jitter-seconds 0 --max-runs ceil(H/N)`: the same capacity for every
//! N, so the runs must be shared). It polls the database every 100 ms until
//! every run is `done`, sends SIGTERM, reaps the workers (their CPU from
//! wait4), drops the database, and prints one line:
//!
//! - achieved: from the first request any host saw to the last response
//!   any host gave, server-side;
//! - ideal: what the politest possible crawl takes, as in
//!   `benches/network.rs`: (requests on the busiest host − 1) / rate;
//! - 1st-req spread: from the first host's first request to the last
//!   host's first one (claims and start-up staggered); host span: the
//!   longest first-to-last request on one host;
//! - the smallest gap between two requests to one host (vs 1/rate), the
//!   most requests in flight at once on one host;
//! - workers per host (distinct `shop_runs.worker` per host) and runs per
//!   worker, from the database;
//! - the workers' CPU (user + sys, summed), per product page, and their
//!   peak RSS (each one's own VmHWM: largest and sum);
//! - start-up: from spawning the first worker to the first request, and to
//!   the moment the bench saw every run done.
//!
//! Then the medians over the runs, per N, and one JSON line. Mail goes to a
//! temporary directory of .eml files (no SMTP server); `--keep` keeps the
//! directories with the workers' JSON logs.

mod fixture;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};

use fixture::{HwmSampler, Network, median, start_network, write_watchlist};

/// A yearly slot (1 January, 00:00) that has always passed already.
const SCHEDULE: &str = "0 0 1 1 *";

#[derive(Clone, Debug)]
struct Opts {
    hosts: usize,
    pages: usize,
    rate: f64,
    workers: Vec<usize>,
    database: String,
    runs: usize,
    lease_seconds: f64,
    /// `--max-runs` of every worker; ceil(hosts / N) when not given.
    max_runs: Option<usize>,
    latency_ms: u64,
    timeout: Duration,
    keep: bool,
}

fn parse_opts() -> Result<Opts> {
    let mut o = Opts {
        hosts: 200,
        pages: 10,
        rate: 4.0,
        workers: vec![1, 2, 4],
        database: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        runs: 1,
        lease_seconds: 30.0,
        max_runs: None,
        latency_ms: 0,
        timeout: Duration::from_secs(120),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| anyhow!("{flag} {v:?}: not a valid number"))
        }
        match flag.as_str() {
            "--hosts" => o.hosts = num(&flag, value()?)?,
            "--pages" => o.pages = num(&flag, value()?)?,
            "--rate" => o.rate = num(&flag, value()?)?,
            "--workers" => {
                o.workers = value()?
                    .split(',')
                    .map(|w| num(&flag, w.trim().to_string()))
                    .collect::<Result<_>>()?
            }
            "--database" => o.database = value()?,
            "--runs" => o.runs = num(&flag, value()?)?,
            "--lease-seconds" => o.lease_seconds = num(&flag, value()?)?,
            "--max-runs" => o.max_runs = Some(num(&flag, value()?)?),
            "--latency-ms" => o.latency_ms = num(&flag, value()?)?,
            "--timeout-seconds" => o.timeout = Duration::from_secs(num(&flag, value()?)?),
            "--keep" => o.keep = true,
            _ => {} // --bench and anything cargo adds
        }
    }
    if o.hosts == 0 || o.hosts > 240 * 256 {
        bail!("--hosts {}: must be between 1 and {}", o.hosts, 240 * 256);
    }
    if o.pages == 0 {
        bail!("--pages must be at least 1");
    }
    if !(o.rate > 0.0 && o.rate.is_finite()) {
        bail!("--rate {}: must be above 0", o.rate);
    }
    if o.workers.is_empty() || o.workers.contains(&0) {
        bail!("--workers: a comma-separated list of fleet sizes, each at least 1");
    }
    if o.max_runs == Some(0) {
        bail!("--max-runs must be at least 1");
    }
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(o)
}

/// `admin` with its database name replaced by `name`.
fn database_url(admin: &str, name: &str) -> Result<String> {
    let mut u = url::Url::parse(admin).with_context(|| format!("--database {admin:?}"))?;
    u.set_path(&format!("/{name}"));
    Ok(u.into())
}

async fn create_database(admin: &str, name: &str) -> Result<()> {
    let mut c = PgConnection::connect(admin)
        .await
        .with_context(|| format!("cannot connect to {admin} to create the bench database"))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut c)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .with_context(|| format!("CREATE DATABASE {name}"))?;
    let _ = c.close().await;
    Ok(())
}

async fn drop_database(admin: &str, name: &str) -> Result<()> {
    let mut c = PgConnection::connect(admin)
        .await
        .with_context(|| format!("cannot connect to {admin} to drop {name}"))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut c)
        .await
        .with_context(|| format!("DROP DATABASE {name}"))?;
    let _ = c.close().await;
    Ok(())
}

/// A `vigie` command with the bench's settings and none of the caller's
/// `VIGIE_*` variables (a test tick or an SMTP URL would change the run).
fn vigie(dir: &Path, db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VIGIE_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir) // no stray vigie.toml
        .env("VIGIE_DATABASE", db_url)
        .env("VIGIE_WATCHLISTS", dir.join("watchlists"))
        .env("VIGIE_MAIL_DIR", dir.join("mail"))
        .stdin(Stdio::null());
    c
}

/// One worker process.
struct Worker {
    name: String,
    pid: libc::pid_t,
    hwm: Option<HwmSampler>,
    reaped: bool,
}

/// How a worker ended.
struct Exit {
    cpu: Duration,
    rss_mb: f64,
}

/// The fleet's processes; whatever is left of them is killed on drop.
struct Fleet {
    workers: Vec<Worker>,
}

/// Whether a (not yet reaped) child has exited.
fn has_exited(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_none_or(|state| state == 'Z' || state == 'X'),
        Err(_) => true,
    }
}

fn describe(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit code {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    }
}

impl Fleet {
    fn spawn(dir: &Path, db_url: &str, n: usize, max_runs: usize, lease: f64) -> Result<Fleet> {
        let mut fleet = Fleet {
            workers: Vec::new(),
        };
        for i in 0..n {
            let name = format!("w{i}");
            let log = dir.join(format!("{name}.log"));
            let stderr = File::create(&log).with_context(|| format!("create {}", log.display()))?;
            let out = dir.join(format!("{name}.out"));
            let stdout = File::create(&out).with_context(|| format!("create {}", out.display()))?;
            let child = vigie(dir, db_url)
                .args(["--log-format", "json", "worker", "--name", &name])
                .args([
                    "--jitter-seconds",
                    "0",
                    "--lease-seconds",
                    &lease.to_string(),
                ])
                .args(["--max-runs", &max_runs.to_string()])
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .context("cannot start `vigie worker`")?;
            let pid = child.id() as libc::pid_t;
            // Reaped with wait4 below, for its rusage (std's Child has no Drop).
            drop(child);
            fleet.workers.push(Worker {
                name,
                pid,
                hwm: Some(HwmSampler::start(pid)),
                reaped: false,
            });
        }
        Ok(fleet)
    }

    /// A worker that exited on its own, if any.
    fn exited(&self) -> Option<&Worker> {
        self.workers.iter().find(|w| !w.reaped && has_exited(w.pid))
    }

    /// SIGTERM, then reap every worker (SIGKILL after `patience`).
    fn stop(&mut self, patience: Duration) -> Result<Vec<Exit>> {
        for w in &self.workers {
            // SAFETY: signalling our own child, not yet reaped.
            unsafe { libc::kill(w.pid, libc::SIGTERM) };
        }
        let mut exits = Vec::new();
        let mut problems = Vec::new();
        let start = Instant::now();
        for w in &mut self.workers {
            let mut status = 0;
            // SAFETY: rusage is plain data; wait4 fills it for our own child.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            let mut killed = false;
            loop {
                let r = unsafe { libc::wait4(w.pid, &mut status, libc::WNOHANG, &mut usage) };
                if r == w.pid {
                    break;
                }
                if r < 0 {
                    bail!(
                        "wait4 on worker {} (pid {}): {}",
                        w.name,
                        w.pid,
                        std::io::Error::last_os_error()
                    );
                }
                if !killed && start.elapsed() > patience {
                    problems.push(format!("{} ignored SIGTERM for {patience:?}", w.name));
                    unsafe { libc::kill(w.pid, libc::SIGKILL) };
                    killed = true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            w.reaped = true;
            if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                problems.push(format!("{} ended with {}", w.name, describe(status)));
            }
            let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            exits.push(Exit {
                cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
                rss_mb: w.hwm.take().map(HwmSampler::finish).unwrap_or(0.0),
            });
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        Ok(exits)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for w in self.workers.iter_mut().filter(|w| !w.reaped) {
            // SAFETY: our own child, not yet reaped.
            unsafe {
                libc::kill(w.pid, libc::SIGKILL);
                libc::waitpid(w.pid, std::ptr::null_mut(), 0);
            }
            w.reaped = true;
        }
    }
}

/// What one fleet run measured.
#[derive(Clone, Debug, Default)]
struct FleetRun {
    n: usize,
    /// The run's number, or "med".
    run: String,
    requests: usize,
    achieved: f64,
    ideal: f64,
    ratio: f64,
    first_spread: f64,
    host_span: f64,
    min_gap_ms: f64,
    max_in_flight: usize,
    workers_per_host: i64,
    max_attempts: i64,
    runs_per_worker: Vec<(String, i64)>,
    cpu_s: f64,
    cpu_ms_per_page: f64,
    rss_max_mb: f64,
    rss_sum_mb: f64,
    to_first_request: f64,
    to_all_done: f64,
    claim_spread: f64,
    warnings: usize,
    errors: usize,
}

/// The database's view once every run is done.
struct DbStats {
    runs_per_worker: Vec<(String, i64)>,
    workers_per_host: i64,
    max_attempts: i64,
    claim_spread: f64,
}

async fn db_stats(pool: &PgPool) -> Result<DbStats> {
    let runs_per_worker: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(worker, '-'), count(*) FROM shop_runs GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let workers_per_host: i64 = sqlx::query_scalar(
        "SELECT COALESCE(max(c), 0) FROM \
         (SELECT count(DISTINCT worker) AS c FROM shop_runs GROUP BY host) t",
    )
    .fetch_one(pool)
    .await?;
    let (max_attempts, first, last): (Option<i64>, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT max(attempts), min(started_at), max(started_at) FROM shop_runs")
            .fetch_one(pool)
            .await?;
    let claim_spread = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_seconds_f64(),
        _ => 0.0,
    };
    Ok(DbStats {
        runs_per_worker,
        workers_per_host,
        max_attempts: max_attempts.unwrap_or(0),
        claim_spread,
    })
}

/// Polls the database every 100 ms until every shop's run is done.
async fn wait_done(pool: &PgPool, hosts: usize, fleet: &Fleet, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let (done, failed, total): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'done'), \
                    count(*) FILTER (WHERE status = 'failed'), count(*) FROM shop_runs",
        )
        .fetch_one(pool)
        .await
        .context("polling shop_runs")?;
        if done as usize == hosts {
            if total as usize != hosts {
                bail!("{total} runs recorded for {hosts} shops (expected one per shop)");
            }
            return Ok(());
        }
        if failed > 0 {
            let errors: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT shop, summary FROM shop_runs WHERE status = 'failed' ORDER BY id LIMIT 3",
            )
            .fetch_all(pool)
            .await?;
            bail!("{failed} runs failed, e.g. {errors:?}");
        }
        if let Some(w) = fleet.exited() {
            bail!("worker {} exited before the runs were done", w.name);
        }
        if start.elapsed() > timeout {
            bail!("{done} of {hosts} runs done after {timeout:?} (--timeout-seconds)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Counts the WARN and ERROR lines of the workers' JSON logs; prints a few.
fn log_problems(dir: &Path, n: usize) -> (usize, usize) {
    let (mut warnings, mut errors) = (0, 0);
    let mut shown = 0;
    for i in 0..n {
        let path = dir.join(format!("w{i}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            let warn = line.contains("\"level\":\"WARN\"");
            let error = line.contains("\"level\":\"ERROR\"") || !line.starts_with('{');
            warnings += usize::from(warn);
            errors += usize::from(error);
            if (warn || error) && shown < 5 {
                let short: String = line.chars().take(400).collect();
                eprintln!("  w{i}: {short}");
                shown += 1;
            }
        }
    }
    (warnings, errors)
}

/// One fleet of `n` workers on a fresh database.
fn run_fleet(
    rt: &tokio::runtime::Runtime,
    o: &Opts,
    net: &Network,
    n: usize,
    run: usize,
) -> Result<FleetRun> {
    for h in &net.hosts {
        h.reset();
    }
    let name = format!("vigie_bench_{}_{n}", std::process::id());
    let db_url = database_url(&o.database, &name)?;
    rt.block_on(create_database(&o.database, &name))?;
    let result = fleet_on(rt, o, net, n, run, &db_url);
    let dropped = rt.block_on(drop_database(&o.database, &name));
    let r = result?;
    dropped?;
    Ok(r)
}

fn fleet_on(
    rt: &tokio::runtime::Runtime,
    o: &Opts,
    net: &Network,
    n: usize,
    run: usize,
    db_url: &str,
) -> Result<FleetRun> {
    let tmp = tempfile::tempdir().context("tempdir")?;
    let dir = tmp.path().to_path_buf();
    let result = measure(rt, o, net, n, run, db_url, &dir);
    if result.is_err() {
        log_problems(&dir, n);
    }
    if o.keep {
        println!("kept {}", tmp.keep().display());
    }
    result
}

fn measure(
    rt: &tokio::runtime::Runtime,
    o: &Opts,
    net: &Network,
    n: usize,
    run: usize,
    db_url: &str,
    dir: &Path,
) -> Result<FleetRun> {
    write_watchlist(&dir.join("watchlists"), net, o.rate, Some(SCHEDULE));
    // Migrate first, so that the workers start on the same footing.
    let out = vigie(dir, db_url)
        .arg("migrate")
        .output()
        .context("cannot run `vigie migrate`")?;
    if !out.status.success() {
        bail!(
            "vigie migrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pool = rt
        .block_on(PgPoolOptions::new().max_connections(1).connect(db_url))
        .with_context(|| format!("cannot connect to {db_url}"))?;

    let max_runs = o.max_runs.unwrap_or(o.hosts.div_ceil(n));
    let spawned_at = Instant::now();
    let mut fleet = Fleet::spawn(dir, db_url, n, max_runs, o.lease_seconds)?;
    rt.block_on(wait_done(&pool, o.hosts, &fleet, o.timeout))?;
    let all_done = spawned_at.elapsed();
    let exits = fleet.stop(Duration::from_secs(30))?;
    let db = rt.block_on(db_stats(&pool))?;
    rt.block_on(pool.close());
    let (warnings, errors) = log_problems(dir, n);

    // Server-side: what the hosts saw.
    let interval = 1.0 / o.rate;
    let logs: Vec<Vec<Instant>> = net.logs();
    let requests: usize = logs.iter().map(Vec::len).sum();
    let firsts: Vec<Instant> = logs.iter().filter_map(|l| l.first().copied()).collect();
    let (Some(first), Some(last_first)) = (firsts.iter().min(), firsts.iter().max()) else {
        bail!("no host saw a request");
    };
    let last_response = net
        .hosts
        .iter()
        .filter_map(|h| *h.last_response.lock().expect("last response"))
        .max()
        .unwrap_or(*first);
    let ideal = logs
        .iter()
        .map(|l| l.len().saturating_sub(1) as f64 * interval)
        .fold(0.0, f64::max);
    let host_span = logs
        .iter()
        .filter_map(|l| Some(l.last()?.duration_since(*l.first()?).as_secs_f64()))
        .fold(0.0, f64::max);
    let min_gap = fixture::min_gap(&logs);
    let max_in_flight = net.max_in_flight();
    let cpu: Duration = exits.iter().map(|e| e.cpu).sum();
    let achieved = last_response.duration_since(*first).as_secs_f64();
    Ok(FleetRun {
        n,
        run: format!("{}", run + 1),
        requests,
        achieved,
        ideal,
        ratio: achieved / ideal,
        first_spread: last_first.duration_since(*first).as_secs_f64(),
        host_span,
        min_gap_ms: min_gap.as_secs_f64() * 1000.0,
        max_in_flight,
        workers_per_host: db.workers_per_host,
        max_attempts: db.max_attempts,
        runs_per_worker: db.runs_per_worker,
        cpu_s: cpu.as_secs_f64(),
        cpu_ms_per_page: cpu.as_secs_f64() * 1000.0 / (o.hosts * o.pages) as f64,
        rss_max_mb: exits.iter().map(|e| e.rss_mb).fold(0.0, f64::max),
        rss_sum_mb: exits.iter().map(|e| e.rss_mb).sum(),
        to_first_request: first.duration_since(spawned_at).as_secs_f64(),
        to_all_done: all_done.as_secs_f64(),
        claim_spread: db.claim_spread,
        warnings,
        errors,
    })
}

const HEADER: &str = "  N run  reqs achieved   ideal ach/ideal 1st-req-spread host-span min-gap in-flight wk/host attempts  CPU s CPU ms/page RSS max/sum MB claim-spread spawn→1st-req spawn→done warn/err  runs/worker";

fn line(r: &FleetRun) -> String {
    let per_worker: Vec<String> = r
        .runs_per_worker
        .iter()
        .map(|(w, c)| format!("{w}:{c}"))
        .collect();
    format!(
        "{:>3} {:>3} {:>5} {:>7.3}s {:>6.3}s {:>9.4} {:>13.3}s {:>8.3}s {:>5.1}ms {:>9} {:>7} {:>8} {:>6.2} {:>11.3} {:>6.1}/{:<6.1} {:>11.3}s {:>12.3}s {:>10.3}s {:>4}/{:<3}  {}",
        r.n,
        r.run,
        r.requests,
        r.achieved,
        r.ideal,
        r.ratio,
        r.first_spread,
        r.host_span,
        r.min_gap_ms,
        r.max_in_flight,
        r.workers_per_host,
        r.max_attempts,
        r.cpu_s,
        r.cpu_ms_per_page,
        r.rss_max_mb,
        r.rss_sum_mb,
        r.claim_spread,
        r.to_first_request,
        r.to_all_done,
        r.warnings,
        r.errors,
        per_worker.join(" "),
    )
}

fn main() {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fleet bench: {e:#}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fleet bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let net = rt.block_on(start_network(o.hosts, o.pages, o.latency_ms));
    let workers: Vec<String> = o.workers.iter().map(ToString::to_string).collect();
    println!(
        "fixture: {} hosts × {} pages, rate {}/s per host (interval {:.1} ms), latency {} ms; fleets of {} workers, {} run(s) each; --max-runs {}; lease {} s; schedule \"{SCHEDULE}\"; {} cores",
        o.hosts,
        o.pages,
        o.rate,
        1000.0 / o.rate,
        o.latency_ms,
        workers.join(", "),
        o.runs,
        o.max_runs
            .map_or_else(|| "ceil(hosts/N)".to_string(), |m| m.to_string()),
        o.lease_seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "achieved = first request → last response, server-side; ideal = (requests on the busiest host − 1) / rate, the politest crawl (as benches/network.rs)"
    );
    if let Some(m) = o.max_runs {
        println!(
            "note: --max-runs {m}: a fleet of N holds N×{m} runs at once; below {} hosts the runs go in waves, and achieved/ideal counts the waves",
            o.hosts
        );
    }
    println!("{HEADER}");
    let mut results: Vec<FleetRun> = Vec::new();
    let mut failures = 0;
    for &n in &o.workers {
        for run in 0..o.runs {
            match run_fleet(&rt, &o, &net, n, run) {
                Ok(r) => {
                    println!("{}", line(&r));
                    results.push(r);
                }
                Err(e) => {
                    println!("{n:>3} {:>3} FAILED: {e:#}", run + 1);
                    failures += 1;
                }
            }
        }
    }
    println!("medians over {} run(s):", o.runs);
    println!("{HEADER}");
    let mut json = Vec::new();
    for &n in &o.workers {
        let rs: Vec<&FleetRun> = results.iter().filter(|r| r.n == n).collect();
        if rs.is_empty() {
            println!("{n:>3} med no run succeeded");
            continue;
        }
        let med = |f: fn(&FleetRun) -> f64| median(rs.iter().map(|r| f(r)).collect());
        let m = FleetRun {
            n,
            run: "med".into(),
            requests: med(|r| r.requests as f64) as usize,
            achieved: med(|r| r.achieved),
            ideal: med(|r| r.ideal),
            // The median of the runs' ratios, not the ratio of the medians.
            ratio: med(|r| r.ratio),
            first_spread: med(|r| r.first_spread),
            host_span: med(|r| r.host_span),
            min_gap_ms: med(|r| r.min_gap_ms),
            max_in_flight: rs.iter().map(|r| r.max_in_flight).max().unwrap_or(0),
            workers_per_host: rs.iter().map(|r| r.workers_per_host).max().unwrap_or(0),
            max_attempts: rs.iter().map(|r| r.max_attempts).max().unwrap_or(0),
            runs_per_worker: Vec::new(),
            cpu_s: med(|r| r.cpu_s),
            cpu_ms_per_page: med(|r| r.cpu_ms_per_page),
            rss_max_mb: med(|r| r.rss_max_mb),
            rss_sum_mb: med(|r| r.rss_sum_mb),
            to_first_request: med(|r| r.to_first_request),
            to_all_done: med(|r| r.to_all_done),
            claim_spread: med(|r| r.claim_spread),
            warnings: rs.iter().map(|r| r.warnings).sum(),
            errors: rs.iter().map(|r| r.errors).sum(),
        };
        println!("{}", line(&m));
        json.push(serde_json::json!({
            "workers": n,
            "runs": rs.len(),
            "hosts": o.hosts,
            "pages_per_host": o.pages,
            "rate": o.rate,
            "requests": m.requests,
            "achieved_s_median": m.achieved,
            "ideal_s": m.ideal,
            "achieved_over_ideal_median": m.ratio,
            "first_request_spread_s_median": m.first_spread,
            "host_span_s_median": m.host_span,
            "min_gap_ms_median": m.min_gap_ms,
            "max_in_flight_per_host": m.max_in_flight,
            "max_workers_per_host": m.workers_per_host,
            "max_attempts": m.max_attempts,
            "cpu_s_median": m.cpu_s,
            "cpu_ms_per_page_median": m.cpu_ms_per_page,
            "peak_rss_mb_max_median": m.rss_max_mb,
            "peak_rss_mb_sum_median": m.rss_sum_mb,
            "claim_spread_s_median": m.claim_spread,
            "spawn_to_first_request_s_median": m.to_first_request,
            "spawn_to_all_done_s_median": m.to_all_done,
        }));
    }
    println!("{}", serde_json::Value::Array(json));
    if failures > 0 {
        eprintln!("fleet bench: {failures} fleet run(s) failed");
        std::process::exit(1);
    }
}
