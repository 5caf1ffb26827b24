//! `vigie serve`: the console (findings, price history, evidence, "my
//! alerts") over the database, until SIGTERM/SIGINT.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::console::auth::OperatorSecret;
use crate::console::{Console, ConsoleConfig};
use crate::metrics::Metrics;

/// Arguments of `vigie serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Put a TLS proxy in front when it is not loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The console's public URL, for the links of the e-mails (also
    /// `public_url` in vigie.toml, or VIGIE_PUBLIC_URL).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Read a password on standard input, print its hash for
    /// VIGIE_OPERATOR_PASSWORD_HASH, and exit.
    #[arg(long)]
    pub hash_password: bool,
}

/// The console's settings: the public URL (flag, else settings) and the
/// operator's secret from the environment.
pub fn console_config(
    flag: Option<&str>,
    settings: &crate::config::Settings,
) -> Result<ConsoleConfig, CliError> {
    let public_url = match flag {
        Some(u) => Some(crate::config::parse_public_url(u).map_err(CliError::config)?),
        None => settings.public_url.clone(),
    };
    let operator = OperatorSecret::from_env().map_err(CliError::config)?;
    Ok(ConsoleConfig {
        public_url,
        operator,
    })
}

/// Runs `vigie serve`.
pub async fn run(g: &GlobalArgs, a: &ServeArgs) -> Result<ExitCode, CliError> {
    if a.hash_password {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .map_err(|e| CliError::config(anyhow::anyhow!("cannot read the password: {e}")))?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.chars().count() < 10 {
            return Err(CliError::config(anyhow::anyhow!(
                "the password is too short: use at least 10 characters"
            )));
        }
        let hash = crate::console::auth::hash_password(password)
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
        println!("{hash}");
        return Ok(ExitCode::from(EXIT_OK));
    }
    let s = settings(g)?;
    let config = console_config(a.public_url.as_deref(), &s)?;
    if config.operator.is_none() {
        tracing::warn!(
            "no operator secret set ({} or {}): the operator's pages cannot be opened; retailers' links work",
            crate::console::auth::PASSWORD_HASH_ENV,
            crate::console::auth::TOKEN_ENV
        );
    }
    let catalog = Arc::new(super::watchlists(&s.watchlists)?);
    let store: Arc<dyn crate::store::Store> = Arc::from(crate::store::open(&s.database).await?);
    let console = Console::new(store, catalog, config, Metrics::default()).await?;
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
        CliError::config(anyhow::anyhow!(
            "--listen {}: cannot listen there: {e}",
            a.listen
        ))
    })?;
    let local = listener.local_addr()?;
    println!("Vigie console on http://{local}/ (stop with Ctrl-C)");
    tracing::info!(addr = %local, "console listening");
    let router = console.router();
    let limits = crate::console::listen::ListenLimits::default();
    crate::console::listen::serve(listener, router, limits, shutdown_signal())
        .await
        .map_err(|e| anyhow::anyhow!("the console stopped: {e}"))?;
    Ok(ExitCode::from(EXIT_OK))
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
