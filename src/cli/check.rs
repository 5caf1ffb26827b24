//! `vigie check [DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::catalog::Catalog;

/// Arguments of `vigie check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Watchlist directory (overrides --watchlists).
    pub dir: Option<PathBuf>,
}

/// Validates the watchlists and prints what they hold.
pub fn run(g: &GlobalArgs, a: &CheckArgs) -> Result<ExitCode, CliError> {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => settings(g)?.watchlists,
    };
    let catalog = Catalog::load_dir(&dir).map_err(CliError::config)?;
    println!(
        "{}: {} file(s), {} shop(s), {} brand(s), {} subscriber(s) — all valid",
        dir.display(),
        catalog.files.len(),
        catalog.shops.len(),
        catalog.brands.len(),
        catalog.subscribers.len()
    );
    for s in &catalog.shops {
        println!(
            "  shop {:?}: {} at {} req/s{}",
            s.name,
            s.url,
            s.rate,
            s.schedule
                .as_ref()
                .map(|c| format!(", schedule \"{}\"", c.line()))
                .unwrap_or_default()
        );
    }
    for b in &catalog.brands {
        let followers = catalog.subscribers_of(&b.name).count();
        println!("  brand {:?}: {} subscriber(s)", b.name, followers);
    }
    for w in &catalog.warnings {
        println!("  warning: {w}");
    }
    Ok(ExitCode::from(EXIT_OK))
}
