//! `vigie daemon`.

use std::process::ExitCode;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::catalog::Catalog;
use crate::fetch::{FetchConfig, HostPool};
use crate::notify::Mailer;

/// Runs the scheduler until SIGTERM/SIGINT.
pub async fn run(g: &GlobalArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let catalog = Catalog::load_dir(&s.watchlists).map_err(CliError::config)?;
    let mailer = Mailer::from_settings(&s).map_err(CliError::config)?;
    let store = crate::store::open(&s.database).await?;
    let pool = HostPool::new(FetchConfig::new(s.user_agent()))?;
    crate::daemon::run(
        &catalog,
        store.as_ref(),
        &pool,
        &mailer,
        &catalog.calendar(),
    )
    .await
    .map_err(CliError::config)?;
    Ok(ExitCode::from(EXIT_OK))
}
