//! `vigie daemon` and `vigie worker`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;

use super::{CliError, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, GlobalArgs, settings};
use crate::console::listen::{self, ListenLimits};
use crate::daemon::lock::{self, DaemonLock};
use crate::daemon::worker::{Services, WorkerOptions};
use crate::daemon::{DaemonError, Shutdown};
use crate::fetch::{FetchConfig, HostPool};
use crate::metrics::Metrics;
use crate::notify::Mailer;

/// The exit codes of `vigie daemon` and `vigie worker`, as `--help` shows them.
const EXIT_CODES: &str = "Exit codes: 0 after SIGTERM or SIGINT; 1 when the database fails \
(it cannot be opened, migrated or read) or another daemon holds the lock on the SQLite \
database; 2 for a configuration error (settings, watchlists, a `schedule` line, a flag, an \
address that cannot be listened on).";

/// `vigie daemon` options.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXIT_CODES)]
pub struct DaemonArgs {
    /// Serve the console, /healthz and Prometheus /metrics on this address (e.g. 127.0.0.1:9184).
    #[arg(long, env = "VIGIE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The console's public URL, for the links of the e-mails (also
    /// `public_url` in vigie.toml, or VIGIE_PUBLIC_URL).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The time zone crontab lines are read in (an IANA name).
    #[arg(
        long,
        env = "VIGIE_TIME_ZONE",
        value_name = "ZONE",
        default_value = "Europe/Paris"
    )]
    pub time_zone: String,
    /// Largest random delay added to each scheduled run, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub jitter_seconds: u64,
    /// For tests only: how many real seconds one crontab minute lasts
    /// (default 60). The schedule clock runs 60/N times faster.
    #[arg(
        long,
        hide = true,
        env = "VIGIE_TEST_TICK_SECONDS",
        value_name = "SECONDS"
    )]
    pub tick_seconds: Option<f64>,
    /// For tests only: the origin of the fast schedule clock, shared by the
    /// workers of a test or the successive daemons of one (RFC 3339).
    #[arg(long, hide = true, value_name = "TIME")]
    pub clock_origin: Option<String>,
}

/// `vigie worker` options.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// This worker's name in the database (unique in the fleet).
    #[arg(long, env = "VIGIE_WORKER_NAME", value_name = "NAME")]
    pub name: Option<String>,
    /// The lease on a run and its host, renewed every third of it; a dead
    /// worker's runs are taken over this long after its last renewal.
    #[arg(
        long,
        env = "VIGIE_LEASE_SECONDS",
        value_name = "SECONDS",
        default_value_t = 60.0
    )]
    pub lease_seconds: f64,
    /// Runs (shops) this worker crawls at once.
    #[arg(long, value_name = "N", default_value_t = crate::daemon::worker::DEFAULT_MAX_RUNS)]
    pub max_runs: usize,
    /// Print the latest runs of the fleet (shop, slot, status, worker) and exit.
    #[arg(long)]
    pub status: bool,
    /// For tests only: the scan clock of the first run (RFC 3339); later
    /// runs follow the real clock from there.
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,
}

fn rfc3339(flag: &str, v: &str) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            CliError::config(anyhow::anyhow!(
                "{flag} {v:?}: {e}; expected e.g. 2026-03-10T12:00:00Z"
            ))
        })
}

fn tz_and_tick(a: &DaemonArgs) -> Result<(Tz, Duration), CliError> {
    let tz: Tz = a.time_zone.parse().map_err(|_| {
        CliError::config(anyhow::anyhow!(
            "unknown time zone {:?}; use an IANA name such as Europe/Paris",
            a.time_zone
        ))
    })?;
    let tick = match a.tick_seconds {
        None => Duration::from_secs(60),
        Some(t) if t > 0.0 && t <= 60.0 => Duration::from_secs_f64(t),
        Some(t) => {
            return Err(CliError::config(anyhow::anyhow!(
                "--tick-seconds {t}: must be above 0 and at most 60"
            )));
        }
    };
    Ok((tz, tick))
}

/// What `--listen` serves: the console's pages, `/healthz` and `/metrics`.
struct Listen<'a> {
    addr: Option<SocketAddr>,
    public_url: Option<&'a str>,
    settings: &'a crate::config::Settings,
    metrics: &'a Metrics,
    store: &'a std::sync::Arc<dyn crate::store::Store>,
    catalog: &'a std::sync::Arc<crate::catalog::Catalog>,
}

async fn listen(l: Listen<'_>) -> Result<(), CliError> {
    let Some(addr) = l.addr else {
        return Ok(());
    };
    let config = super::serve::console_config(l.public_url, l.settings)?;
    let console = crate::console::Console::new(
        l.store.clone(),
        l.catalog.clone(),
        config,
        l.metrics.clone(),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::config(anyhow::anyhow!("--listen {addr}: cannot listen there: {e}"))
    })?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "serving the console, /healthz and /metrics");
    let router = console.router();
    tokio::spawn(async move {
        let limits = ListenLimits::default();
        if let Err(e) = listen::serve(listener, router, limits, std::future::pending()).await {
            tracing::error!("the console stopped: {e}");
        }
    });
    Ok(())
}

/// A scheduler error with its exit code: 2 for the watchlists' schedules,
/// 1 for the database.
fn daemon_error(e: DaemonError) -> CliError {
    let code = if e.is_config() {
        EXIT_CONFIG
    } else {
        EXIT_FAILURE
    };
    CliError {
        code,
        error: e.into(),
    }
}

/// Prints the latest runs of the fleet (`vigie worker --status`).
async fn status(database: &str) -> Result<ExitCode, CliError> {
    let store = crate::store::open(database).await?;
    let runs = store.runs(50).await?;
    if runs.is_empty() {
        println!(
            "no run recorded yet: start `vigie daemon` (one process) or `vigie worker` (a fleet on PostgreSQL)"
        );
    }
    for r in runs {
        println!(
            "#{:<6} {:<28} slot {}  {:<8} attempts {}  {}",
            r.id,
            r.shop,
            r.slot.format("%Y-%m-%d %H:%M UTC"),
            r.status,
            r.attempts,
            r.worker.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// The worker's options from the flags; errors are configuration errors.
fn worker_options(a: &WorkerArgs) -> Result<WorkerOptions, CliError> {
    let (tz, tick) = tz_and_tick(&a.daemon)?;
    if !(a.lease_seconds >= 1.0 && a.lease_seconds <= 3600.0) {
        return Err(CliError::config(anyhow::anyhow!(
            "--lease-seconds {}: must be between 1 and 3600",
            a.lease_seconds
        )));
    }
    if a.max_runs == 0 {
        return Err(CliError::config(anyhow::anyhow!(
            "--max-runs must be at least 1"
        )));
    }
    let clock_origin = a
        .daemon
        .clock_origin
        .as_deref()
        .map(|v| rfc3339("--clock-origin", v))
        .transpose()?;
    let scan_offset = match a.now.as_deref() {
        Some(v) => rfc3339("--now", v)? - chrono::Utc::now(),
        None => chrono::Duration::zero(),
    };
    Ok(WorkerOptions {
        name: a
            .name
            .clone()
            .unwrap_or_else(crate::daemon::worker::default_name),
        tz,
        jitter: Duration::from_secs(a.daemon.jitter_seconds),
        tick,
        clock_origin,
        lease: Duration::from_secs_f64(a.lease_seconds),
        max_runs: a.max_runs,
        // Faster polls with a fast test clock; once a second otherwise.
        poll: tick.min(Duration::from_secs(60)) / 60,
        outbox_interval: if tick < Duration::from_secs(60) {
            tick
        } else {
            crate::daemon::OUTBOX_INTERVAL
        },
        scan_offset,
        ..WorkerOptions::default()
    })
}

/// One daemon per SQLite database: the lock beside the database file
/// (none for an in-memory database).
fn daemon_lock(database: &str) -> Result<Option<DaemonLock>, CliError> {
    let Some(db) = lock::database_file(database) else {
        return Ok(None);
    };
    let l = DaemonLock::acquire(&lock::beside(&db, ".daemon.lock"))?;
    tracing::info!(lock = %l.path().display(), pid = std::process::id(), "daemon lock taken");
    crate::daemon::note_old_state_file(&db);
    Ok(Some(l))
}

/// Runs `vigie worker` (or `vigie daemon` on PostgreSQL) until SIGTERM/SIGINT.
pub async fn worker(g: &GlobalArgs, a: &WorkerArgs) -> Result<ExitCode, CliError> {
    serve(g, a, false).await
}

/// Runs the scheduler until SIGTERM/SIGINT; `daemon`: as `vigie daemon`,
/// which holds the lock on a SQLite database.
async fn serve(g: &GlobalArgs, a: &WorkerArgs, daemon: bool) -> Result<ExitCode, CliError> {
    // Listen for SIGTERM/SIGINT first: a signal during start-up is handled.
    let mut shutdown = Shutdown::listen()?;
    let s = settings(g)?;
    if a.status {
        return status(&s.database).await;
    }
    let options = worker_options(a)?;
    let catalog = std::sync::Arc::new(super::watchlists(&s.watchlists)?);
    let mailer = Mailer::from_settings(&s).map_err(CliError::config)?;
    // The lock is taken before anything is written.
    let _lock = if daemon && !crate::store::is_postgres(&s.database) {
        daemon_lock(&s.database)?
    } else {
        None
    };
    let store: std::sync::Arc<dyn crate::store::Store> =
        std::sync::Arc::from(crate::store::open(&s.database).await?);
    // The process's metrics: the pool and everything sharing it count
    // there, and `--listen` serves them.
    let metrics = Metrics::default();
    let pool = HostPool::new(FetchConfig::new(s.user_agent()))?.with_metrics(metrics.clone());
    let links = crate::notify::console_links(store.as_ref(), s.public_url.clone()).await?;
    let mailer = mailer.with_links(links).with_metrics(metrics.clone());
    listen(Listen {
        addr: a.daemon.listen,
        public_url: a.daemon.public_url.as_deref(),
        settings: &s,
        metrics: &metrics,
        store: &store,
        catalog: &catalog,
    })
    .await?;
    let calendar = catalog.calendar();
    let services = Services {
        scan: crate::pipeline::Scanner {
            catalog: &catalog,
            store: store.as_ref(),
            pool: &pool,
            calendar: &calendar,
        },
        mailer: &mailer,
    };
    crate::daemon::worker::run(services, &options, &mut shutdown)
        .await
        .map_err(daemon_error)?;
    Ok(ExitCode::from(EXIT_OK))
}

/// Runs `vigie daemon` until SIGTERM/SIGINT: one worker with the default
/// lease, holding the lock on a SQLite database; on PostgreSQL, a fleet
/// worker like any other.
pub async fn run(g: &GlobalArgs, a: &DaemonArgs) -> Result<ExitCode, CliError> {
    let w = WorkerArgs {
        daemon: a.clone(),
        name: std::env::var("VIGIE_WORKER_NAME").ok(),
        lease_seconds: crate::daemon::worker::DEFAULT_LEASE.as_secs_f64(),
        max_runs: crate::daemon::worker::DEFAULT_MAX_RUNS,
        status: false,
        now: None,
    };
    serve(g, &w, true).await
}
