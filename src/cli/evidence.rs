//! `vigie evidence <FINDING_ID> --out DIR` and `vigie verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, EXIT_FAILURE, EXIT_OK, GlobalArgs, settings};
use crate::store::evidence::{verify_chain, write_bundle};

/// Arguments of `vigie evidence`.
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The finding (`vigie findings` lists them).
    pub finding: i64,
    /// Folder to write the bundle into [default: evidence-<ID>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Writes a finding's evidence bundle.
pub async fn evidence(g: &GlobalArgs, a: &EvidenceArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let store = crate::store::open(&s.database).await?;
    let finding = store.finding(a.finding).await?.ok_or_else(|| {
        CliError::config(anyhow::anyhow!(
            "no finding #{}; `vigie findings` lists them",
            a.finding
        ))
    })?;
    let Some(ev_id) = finding.evidence_id else {
        return Err(anyhow::anyhow!(
            "finding #{} has no stored page (it was raised on a page that had not changed)",
            finding.id
        )
        .into());
    };
    let ev = store.evidence(ev_id).await?.ok_or_else(|| {
        anyhow::anyhow!("evidence #{ev_id} of finding #{} is missing", finding.id)
    })?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("evidence-{}", finding.id)));
    let files = write_bundle(&finding, &ev, &dir)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dir.display()))?;
    println!(
        "evidence of finding #{} ({} at {}):",
        finding.id, finding.rule, finding.url
    );
    for f in files {
        println!("  {}", f.display());
    }
    println!(
        "chain hash {}; check the whole chain with `vigie verify`",
        ev.hash
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// Checks the evidence chain.
pub async fn verify(g: &GlobalArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let store = crate::store::open(&s.database).await?;
    let report = verify_chain(store.as_ref()).await?;
    if report.broken.is_empty() {
        println!(
            "evidence chain intact: {} record(s) checked",
            report.records
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    for b in &report.broken {
        println!("evidence record #{} FAILS: {}", b.record, b.reason);
    }
    println!(
        "evidence chain BROKEN: {} of {} record(s) fail",
        report.broken.len(),
        report.records
    );
    Ok(ExitCode::from(EXIT_FAILURE))
}
