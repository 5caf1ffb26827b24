//! The command line: clap types and one module per subcommand.

mod calendar;
mod check;
mod daemon;
mod demo;
mod evidence;
mod extract;
mod findings;
mod history;
mod outbox;
mod scan;
pub(crate) mod serve;
mod subscribers;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Overrides, Settings};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the infrastructure failed (database, disk…).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad configuration or watchlists.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code: the scan ran but some shops could not be scanned.
pub const EXIT_PARTIAL: u8 = 3;

/// Vigie — watches e-shops for disguised sales and tells the retailers.
#[derive(Debug, Parser)]
#[command(name = "vigie", version, about, long_about = None)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Options every command takes (also read from `VIGIE_*` variables).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: ./vigie.toml when present].
    #[arg(long, global = true, env = "VIGIE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Watchlist directory [default: watchlists].
    #[arg(long, global = true, env = "VIGIE_WATCHLISTS", value_name = "DIR")]
    pub watchlists: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://USER[:PASSWORD]@HOST[:PORT]/DB [default: sqlite://vigie.db].
    #[arg(long, global = true, env = "VIGIE_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// SMTP server for alerts: smtp://host:port [default: none, write .eml files].
    #[arg(
        long,
        global = true,
        env = "VIGIE_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// Folder for .eml files when no SMTP server is set [default: vigie-mail].
    #[arg(long, global = true, env = "VIGIE_MAIL_DIR", value_name = "DIR")]
    pub mail_dir: Option<PathBuf>,
    /// Contact URL put in the User-Agent so shop owners can reach you.
    #[arg(long, global = true, env = "VIGIE_CONTACT_URL", value_name = "URL")]
    pub contact_url: Option<String>,
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// More log lines (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The overrides these flags (and environment) make.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            database: self.database.clone(),
            watchlists: self.watchlists.clone(),
            smtp_url: self.smtp_url.clone(),
            mail_dir: self.mail_dir.clone(),
            contact_url: self.contact_url.clone(),
            mail_from: std::env::var("VIGIE_MAIL_FROM").ok(),
            smtp_username: std::env::var("VIGIE_SMTP_USERNAME").ok(),
            smtp_password: std::env::var("VIGIE_SMTP_PASSWORD").ok(),
            smtp_ca_file: std::env::var_os("VIGIE_SMTP_CA_FILE").map(PathBuf::from),
            public_url: std::env::var("VIGIE_PUBLIC_URL").ok(),
            alerts_daily_cap: std::env::var("VIGIE_ALERTS_DAILY_CAP").ok(),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crawl every shop once, detect, and send the alerts.
    Scan(scan::ScanArgs),
    /// Validate the watchlists without touching the network.
    Check(check::CheckArgs),
    /// Print every offer Vigie reads on a page (a file or a URL).
    Extract(extract::ExtractArgs),
    /// See the whole pipeline offline against a built-in fixture shop.
    Demo(demo::DemoArgs),
    /// Scan each shop on its `schedule` and deliver alerts, until SIGTERM.
    Daemon(daemon::DaemonArgs),
    /// Join a fleet sharing one database: claim scheduled shop runs with
    /// leases (one worker per host), take over dead workers' runs, deliver
    /// the outbox. `--status` lists the latest runs.
    Worker(daemon::WorkerArgs),
    /// Apply database migrations (also done at every start), or copy a
    /// SQLite history into a new PostgreSQL database (`--from`, `--to`).
    Migrate(MigrateArgs),
    /// List findings.
    Findings(findings::FindingsArgs),
    /// Print the legal sales periods.
    Calendar(calendar::CalendarArgs),
    /// Print a product's price series (by URL, SKU or GTIN).
    History(history::HistoryArgs),
    /// Write a finding's evidence bundle (page, record, hashes).
    Evidence(evidence::EvidenceArgs),
    /// Check the evidence hash chain; exit 1 and name the record if broken.
    Verify,
    /// List the email outbox (`--failed`: given-up messages), retry or deliver it.
    Outbox(outbox::OutboxArgs),
    /// Serve the console: findings, price history and evidence for the
    /// operator, "my alerts" for the retailers.
    Serve(serve::ServeArgs),
    /// List every subscriber as the scans see it: the watchlists' values
    /// with the choices made in the console (marked `*`), paused and
    /// unsubscribed addresses, and stored choices of addresses in no watchlist.
    Subscribers(subscribers::SubscribersArgs),
}

/// Arguments of `vigie migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Copy this SQLite database (`sqlite://…`) …
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// … into this new, empty PostgreSQL database (`postgres://…`).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
}

/// An error on the way out, with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// The error.
    pub error: anyhow::Error,
}

impl CliError {
    /// A configuration error (exit 2).
    pub fn config(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: EXIT_CONFIG,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            code: EXIT_FAILURE,
            error: e.into(),
        }
    }
}

/// Loads the watchlists of `dir` and logs what they set that is not read
/// (`vigie check` prints those itself).
pub fn watchlists(dir: &std::path::Path) -> Result<crate::catalog::Catalog, CliError> {
    let catalog = crate::catalog::Catalog::load_dir(dir).map_err(CliError::config)?;
    for w in &catalog.warnings {
        tracing::warn!("{w}");
    }
    Ok(catalog)
}

/// Resolves the settings from file, environment and flags.
pub fn settings(g: &GlobalArgs) -> Result<Settings, CliError> {
    Settings::resolve(&g.overrides()).map_err(CliError::config)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let g = &cli.global;
    match &cli.command {
        Command::Scan(a) => scan::run(g, a).await,
        Command::Check(a) => check::run(g, a),
        Command::Extract(a) => extract::run(g, a).await,
        Command::Demo(a) => demo::run(g, a).await,
        Command::Daemon(a) => daemon::run(g, a).await,
        Command::Worker(a) => daemon::worker(g, a).await,
        Command::Migrate(MigrateArgs {
            from: Some(from),
            to: Some(to),
        }) => {
            let copied = crate::store::copy::sqlite_to_postgres(from, to).await?;
            for (table, n) in &copied {
                println!("{table}: {n} row(s)");
            }
            println!(
                "copied {} into {}; counts and the evidence chain checked",
                crate::config::redact_url(from),
                crate::config::redact_url(to)
            );
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::Migrate(MigrateArgs { from, to }) if from.is_some() || to.is_some() => {
            Err(CliError::config(anyhow::anyhow!(
                "`--from` and `--to` go together: vigie migrate --from sqlite://vigie.db --to postgres://…"
            )))
        }
        Command::Migrate(_) => {
            let s = settings(g)?;
            crate::store::open(&s.database).await?;
            println!(
                "database {} is up to date",
                crate::config::redact_url(&s.database)
            );
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::Findings(a) => findings::run(g, a).await,
        Command::Calendar(a) => calendar::run(g, a),
        Command::History(a) => history::run(g, a).await,
        Command::Evidence(a) => evidence::evidence(g, a).await,
        Command::Verify => evidence::verify(g).await,
        Command::Outbox(a) => outbox::run(g, a).await,
        Command::Serve(a) => serve::run(g, a).await,
        Command::Subscribers(a) => subscribers::run(g, a).await,
    }
}
