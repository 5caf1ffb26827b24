//! Evidence bundles and the verification of the evidence hash chain.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{EvidenceRow, FindingRow, Store, StoreError, sha256_hex};

/// The first problem found in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The evidence record concerned.
    pub record: i64,
    /// What does not hold.
    pub reason: String,
}

/// The result of `vigie verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Problems, in chain order (checking goes on after the first).
    pub broken: Vec<Broken>,
}

/// Checks every evidence record: the body against its SHA-256, the record's
/// hash against its content, and the link to the previous record.
pub async fn verify_chain(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut prev_hash = "0".repeat(64);
    let mut after = 0;
    loop {
        let rows = store.evidence_after(after, 500).await?;
        if rows.is_empty() {
            return Ok(report);
        }
        for row in rows {
            after = row.id;
            report.records += 1;
            let mut why = Vec::new();
            if row.prev_hash != prev_hash {
                why.push("its link to the previous record is broken (a record was removed, inserted or edited)".to_string());
            }
            match row.body() {
                Ok(body) if sha256_hex(&body) != row.body_sha256 => {
                    why.push("the stored page does not match its SHA-256".into())
                }
                Ok(_) => {}
                Err(e) => why.push(e.to_string()),
            }
            if row.expected_hash(&row.prev_hash) != row.hash {
                why.push("its content does not match its hash (URL, time, headers, record or body hash edited)".into());
            }
            if !why.is_empty() {
                report.broken.push(Broken {
                    record: row.id,
                    reason: why.join("; "),
                });
            }
            prev_hash = row.hash.clone();
        }
    }
}

/// A finding's evidence bundle: `page.html` (the page as fetched),
/// `record.json` (finding, evidence metadata, hashes) and `SHA256SUMS`,
/// as (file name, bytes).
pub fn bundle(
    finding: &FindingRow,
    ev: &EvidenceRow,
) -> Result<Vec<(&'static str, Vec<u8>)>, StoreError> {
    let body = ev.body()?;
    let headers: serde_json::Value =
        serde_json::from_str(&ev.headers).unwrap_or(serde_json::Value::Null);
    let record: serde_json::Value =
        serde_json::from_str(&ev.record).unwrap_or(serde_json::Value::Null);
    let details: serde_json::Value =
        serde_json::from_str(&finding.details).unwrap_or(serde_json::Value::Null);
    let json = serde_json::json!({
        "finding": {
            "id": finding.id,
            "rule": finding.rule,
            "scope": finding.scope,
            "severity": finding.severity,
            "legal_basis": finding.legal_basis,
            "shop": finding.shop,
            "brand": finding.brand,
            "product": finding.product_name,
            "url": finding.url,
            "price_minor": finding.price_minor,
            "reference_minor": finding.reference_minor,
            "currency": finding.currency,
            "percent": finding.percent,
            "calendar": finding.calendar,
            "figures": details,
            "opened_at": finding.opened_at.to_rfc3339(),
            "closed_at": finding.closed_at.map(|t| t.to_rfc3339()),
        },
        "evidence": {
            "id": ev.id,
            "url": ev.url,
            "fetched_at_utc": ev.fetched_at,
            "http_status": ev.status,
            "headers": headers,
            "structured_data": record,
            "body_sha256": ev.body_sha256,
            "prev_hash": ev.prev_hash,
            "hash": ev.hash,
        },
        "vigie_version": crate::VERSION,
    });
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| StoreError::Corrupt(format!("evidence #{}: {e}", ev.id)))?;
    let sums = format!(
        "{}  page.html\n{}  record.json\n",
        sha256_hex(&body),
        sha256_hex(text.as_bytes())
    );
    Ok(vec![
        ("page.html", body),
        ("record.json", text.into_bytes()),
        ("SHA256SUMS", sums.into_bytes()),
    ])
}

/// Writes a finding's evidence bundle ([`bundle`]) into `dir`. Returns
/// the files written.
pub fn write_bundle(
    finding: &FindingRow,
    ev: &EvidenceRow,
    dir: &Path,
) -> Result<Vec<PathBuf>, std::io::Error> {
    let files = bundle(finding, ev)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}
