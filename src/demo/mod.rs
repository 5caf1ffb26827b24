//! `vigie demo`: the whole pipeline, offline, against the built-in fixture
//! shop on loopback, over two simulated days.

pub mod catalogue;
pub mod shop;
pub mod timeline;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::config::{MailTransport, Settings};
use crate::fetch::{FetchConfig, HostPool};
use crate::notify::Mailer;
use crate::pipeline::{self, ScanOptions, ScanSummary};
pub use shop::{FixtureOptions, FixtureShop};

/// The demo watchlist, with `{BASE_URL}` to fill in.
pub const DEMO_WATCHLIST: &str = include_str!("demo.toml");

/// The simulated days: two ordinary March mornings, outside the soldes.
pub const DAYS: [&str; 3] = [
    "2026-03-10T08:00:00Z",
    "2026-03-11T08:00:00Z",
    "2026-03-12T08:00:00Z",
];

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The fixture shop could not listen on loopback.
    #[error("cannot start the fixture shop on 127.0.0.1")]
    Fixture(#[source] std::io::Error),
    /// The demo folder could not be cleared or created.
    #[error("cannot {action} {}", path.display())]
    Folder {
        /// "clear" or "create".
        action: &'static str,
        /// The folder.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The built-in watchlist was refused.
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Pool(#[from] crate::fetch::PoolError),
    /// The mail folder could not be set up.
    #[error(transparent)]
    Mail(#[from] crate::notify::SendError),
    /// A simulated day's scan failed.
    #[error(transparent)]
    Scan(#[from] pipeline::ScanError),
    /// A simulated day is not a valid time.
    #[error("demo clock")]
    Clock(#[from] chrono::ParseError),
}

/// What the demo did, for printing.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The shop's address.
    pub shop_url: String,
    /// The database used.
    pub database: String,
    /// Where the emails went.
    pub mail_dir: Option<PathBuf>,
    /// One summary per simulated day.
    pub days: Vec<(DateTime<Utc>, ScanSummary)>,
    /// The findings at the end.
    pub findings: Vec<crate::store::FindingRow>,
}

/// The demo's catalog for a shop at `base_url`.
pub fn demo_catalog(base_url: &str) -> Result<Catalog, crate::catalog::CatalogError> {
    let text = DEMO_WATCHLIST.replace("{BASE_URL}", base_url.trim_end_matches('/'));
    Catalog::from_sources(&[(PathBuf::from("demo.toml (built into vigie)"), text)])
}

/// Runs the demo. `workdir` receives the database and the mail folder
/// unless `settings` names another database.
pub async fn run(
    settings: &Settings,
    workdir: &Path,
    database_given: bool,
) -> Result<DemoReport, DemoError> {
    let shop = FixtureShop::start("127.0.0.1:0", FixtureOptions::default())
        .await
        .map_err(DemoError::Fixture)?;
    let catalog = demo_catalog(&shop.base_url())?;
    if workdir.exists() {
        std::fs::remove_dir_all(workdir).map_err(|source| DemoError::Folder {
            action: "clear",
            path: workdir.to_path_buf(),
            source,
        })?;
    }
    std::fs::create_dir_all(workdir).map_err(|source| DemoError::Folder {
        action: "create",
        path: workdir.to_path_buf(),
        source,
    })?;
    let database = if database_given {
        settings.database.clone()
    } else {
        format!("sqlite://{}", workdir.join("demo.db").display())
    };
    let mail_dir = workdir.join("mail");
    let mut demo_settings = settings.clone();
    demo_settings.mail = MailTransport::Dir(mail_dir.clone());
    let store = crate::store::open(&database).await?;
    let pool = HostPool::new(FetchConfig::new(settings.user_agent()))?;
    let links = crate::notify::console_links(store.as_ref(), settings.public_url.clone()).await?;
    let mailer = Mailer::from_settings(&demo_settings)?.with_links(links);
    let calendar = catalog.calendar();
    let mut days = Vec::new();
    for (i, day) in DAYS.iter().enumerate() {
        let now = DateTime::parse_from_rfc3339(day)?.with_timezone(&Utc);
        shop.set_day(i as u32 + 1);
        let summary = pipeline::scan(
            &catalog,
            store.as_ref(),
            &pool,
            &mailer,
            &calendar,
            &ScanOptions {
                now,
                progress: None,
                shops: vec![],
                output: None,
                deliver: true,
            },
        )
        .await?;
        days.push((now, summary));
    }
    let findings = store
        .findings(&crate::store::FindingFilter::default())
        .await?;
    Ok(DemoReport {
        shop_url: shop.base_url(),
        database,
        mail_dir: Some(mail_dir),
        days,
        findings,
    })
}
