//! `vigie daemon`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::catalog::Catalog;
use crate::daemon::lock::{self, DaemonLock};
use crate::daemon::{DaemonOptions, Shutdown};
use crate::fetch::{FetchConfig, HostPool};
use crate::notify::Mailer;

/// `vigie daemon` options.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Serve /healthz and Prometheus /metrics on this address (e.g. 127.0.0.1:9184).
    #[arg(long, env = "VIGIE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
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
}

/// Runs the scheduler until SIGTERM/SIGINT.
pub async fn run(g: &GlobalArgs, a: &DaemonArgs) -> Result<ExitCode, CliError> {
    // Listen for SIGTERM/SIGINT first: a signal during start-up is handled.
    let mut shutdown = Shutdown::listen()?;
    let s = settings(g)?;
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
    let catalog = Catalog::load_dir(&s.watchlists).map_err(CliError::config)?;
    let mailer = Mailer::from_settings(&s).map_err(CliError::config)?;
    // One daemon per database: the lock is taken before anything is written.
    let db_file = lock::database_file(&s.database);
    let _lock = match &db_file {
        Some(db) => {
            let l = DaemonLock::acquire(&lock::beside(db, ".daemon.lock"))?;
            tracing::info!(lock = %l.path().display(), pid = std::process::id(), "daemon lock taken");
            Some(l)
        }
        None => None,
    };
    let store = crate::store::open(&s.database).await?;
    let pool = HostPool::new(FetchConfig::new(s.user_agent()))?;
    if let Some(addr) = a.listen {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            CliError::config(anyhow::anyhow!("--listen {addr}: cannot listen there: {e}"))
        })?;
        let local = listener.local_addr()?;
        tracing::info!(addr = %local, "serving /healthz and /metrics");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, crate::metrics::router()).await {
                tracing::error!("the metrics server stopped: {e}");
            }
        });
    }
    let options = DaemonOptions {
        tz,
        jitter: Duration::from_secs(a.jitter_seconds),
        tick,
        state_file: db_file.map(|db| lock::beside(&db, ".daemon-state.json")),
        ..DaemonOptions::default()
    };
    crate::daemon::run(
        &catalog,
        store.as_ref(),
        &pool,
        &mailer,
        &catalog.calendar(),
        &options,
        &mut shutdown,
    )
    .await
    .map_err(CliError::config)?;
    Ok(ExitCode::from(EXIT_OK))
}
