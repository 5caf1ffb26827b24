//! The `vigie` binary: parse, set up logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vigie::cli::{self, Cli, LogFormat};

fn init_tracing(g: &cli::GlobalArgs, story: bool) {
    let default = match (g.quiet || story, g.verbose) {
        (true, 0) => "warn",
        (true, _) if g.quiet => "warn",
        (false, 0) => "vigie=info,warn",
        (false, 1) => "vigie=debug,info",
        _ => "trace",
    };
    let mut filter =
        EnvFilter::try_from_env("VIGIE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // The HTML parser's own notes ("foster parenting not implemented") are
    // about its internals, not about the page: they never reach the user.
    for quiet in ["html5ever=off", "markup5ever=off", "selectors=off"] {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.with_target(false).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo tells its own story; its log stays quiet unless asked (-v).
    let story = matches!(cli.command, cli::Command::Demo(_));
    init_tracing(&cli.global, story);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            ExitCode::from(e.code)
        }
    }
}
