//! `vigie demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, EXIT_OK, GlobalArgs, settings};
use crate::demo;

/// Arguments of `vigie demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's database and emails (emptied first).
    #[arg(long, default_value = "vigie-demo", value_name = "DIR")]
    pub dir: PathBuf,
}

/// Runs the demo and tells what happened.
pub async fn run(g: &GlobalArgs, a: &DemoArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    println!(
        "Vigie demo: a built-in boutique on loopback, two watched brands, three retailers. No network needed."
    );
    let report = demo::run(&s, &a.dir, g.database.is_some()).await?;
    println!(
        "Fixture shop: {} (Maison Lumière, Atelier Brume, and Nordkapp which nobody watches)",
        report.shop_url
    );
    let story = [
        "every product at its regular price: the baseline is recorded",
        "Maison Lumière's \"Lampe Opaline\" now shows 129,00 € against a crossed-out 189,00 € — a declared reduction outside the soldes",
        "the same promotion is still online: nothing new to send",
    ];
    for (i, (now, sum)) in report.days.iter().enumerate() {
        println!(
            "Day {} ({}): {}.\n        {} page(s) downloaded, {} unchanged (HTTP 304), {} observation(s) of watched brands, {} new finding(s), {} email(s) sent.",
            i + 1,
            now.format("%d/%m/%Y"),
            story.get(i).unwrap_or(&""),
            sum.pages_fetched,
            sum.pages_unchanged,
            sum.observations,
            sum.findings,
            sum.emails_sent
        );
    }
    for f in &report.findings {
        println!(
            "Finding #{} ({}, {}): {} — {} {} at {}, crossed-out {}.",
            f.id,
            f.rule,
            f.severity,
            f.brand,
            f.product_name.as_deref().unwrap_or("?"),
            f.price().map(|m| m.display_fr()).unwrap_or_default(),
            f.shop,
            f.reference()
                .ok()
                .flatten()
                .map(|m| m.display_fr())
                .unwrap_or_else(|| "none".into()),
        );
    }
    if let Some(dir) = &report.mail_dir {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path().display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        println!(
            "Emails written to {}/ (open them with any mail reader):",
            dir.display()
        );
        for f in files {
            println!("  {f}");
        }
    }
    println!(
        "Database: {db}\nNext: `cargo run --release -- findings --database {db}` lists what was found,\n      `cargo run --release -- evidence 1 --database {db}` writes the proof of finding #1,\n      `VIGIE_OPERATOR_TOKEN=choose-a-long-secret-here cargo run --release -- serve --database {db}`\n      shows them in a browser at http://127.0.0.1:8080/ (sign in with that token);\n      then describe your own shops in watchlists/ (see watchlists/example.toml) and run `check`.",
        db = report.database
    );
    Ok(ExitCode::from(EXIT_OK))
}
