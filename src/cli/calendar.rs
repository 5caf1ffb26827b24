//! `vigie calendar [YEAR] [--zone Z]`.

use std::process::ExitCode;

use chrono::Datelike;
use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::catalog::Catalog;
use crate::domain::calendar::{Calendar, Zone};

/// Arguments of `vigie calendar`.
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// Year [default: this year].
    pub year: Option<i32>,
    /// Zone (national, lorraine, corse, 971, 972, 974, 975, 977, 978…).
    #[arg(long, default_value = "national")]
    pub zone: String,
}

/// Prints the sales periods of a year.
/// The watchlists' `[[calendar_override]]` entries apply when they load.
pub fn run(g: &GlobalArgs, a: &CalendarArgs) -> Result<ExitCode, CliError> {
    let zone: Zone = a.zone.parse().map_err(CliError::config)?;
    let year = a.year.unwrap_or_else(|| chrono::Utc::now().year());
    let cal = settings(g)
        .ok()
        .and_then(|s| Catalog::load_dir(&s.watchlists).ok())
        .map_or_else(Calendar::builtin, |c| c.calendar());
    for p in cal.periods(zone, year) {
        println!(
            "{} {} {}: {} {} 08:00 → {} 23:59:59 ({})",
            zone,
            year,
            p.season.as_str(),
            p.first_day.format("%A"),
            p.first_day,
            p.last_day,
            zone.time_zone()
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}
