//! Process-wide counters and gauges, served in the Prometheus text format
//! by `vigie daemon --listen ADDR` on `/metrics` (and `/healthz`).
//!
//! A small registry of our own rather than the `prometheus-client` crate:
//! a dozen series, no histograms, and a global map behind a mutex is all it
//! takes; the crawl calls these functions a few times a page, which costs
//! nothing next to a page's parse. Other commands update the same counters
//! (they are cheap) but never serve them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// A metric family: its name, help line and type. `labels` is empty for an
/// unlabelled series, which is always shown (at 0 before anything happened).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    labels: bool,
}

const PAGES_FETCHED: &str = "vigie_pages_fetched_total";
const ROBOTS_REFUSALS: &str = "vigie_robots_refusals_total";
const RETRIES: &str = "vigie_retries_total";
const OBSERVATIONS: &str = "vigie_observations_total";
const FINDINGS: &str = "vigie_findings_total";
const OUTBOX_DEPTH: &str = "vigie_outbox_depth";
const OUTBOX_FAILURES: &str = "vigie_outbox_failures_total";
const SHOP_LAST_SUCCESS: &str = "vigie_shop_last_success_timestamp_seconds";
const SHOP_RUNS: &str = "vigie_shop_runs_total";
const SLOTS_SKIPPED: &str = "vigie_slots_skipped_total";

const FAMILIES: &[Family] = &[
    Family {
        name: PAGES_FETCHED,
        help: "HTTP responses received, by status (pages, sitemaps and robots.txt; every attempt).",
        kind: Kind::Counter,
        labels: true,
    },
    Family {
        name: ROBOTS_REFUSALS,
        help: "URLs not requested because robots.txt disallows them or could not be read.",
        kind: Kind::Counter,
        labels: false,
    },
    Family {
        name: RETRIES,
        help: "Requests retried after a 429, a 5xx, a time-out or a connection error.",
        kind: Kind::Counter,
        labels: false,
    },
    Family {
        name: OBSERVATIONS,
        help: "Observations of watched brands recorded.",
        kind: Kind::Counter,
        labels: false,
    },
    Family {
        name: FINDINGS,
        help: "Findings opened, by rule.",
        kind: Kind::Counter,
        labels: true,
    },
    Family {
        name: OUTBOX_DEPTH,
        help: "Emails waiting in the outbox (pending, due or not), as of the last delivery pass.",
        kind: Kind::Gauge,
        labels: false,
    },
    Family {
        name: OUTBOX_FAILURES,
        help: "Email delivery attempts that failed (retried later or given up).",
        kind: Kind::Counter,
        labels: false,
    },
    Family {
        name: SHOP_LAST_SUCCESS,
        help: "When each shop's last successful scheduled scan started (Unix time).",
        kind: Kind::Gauge,
        labels: true,
    },
    Family {
        name: SHOP_RUNS,
        help: "Scheduled scans of a shop, by result (ok, failed, interrupted).",
        kind: Kind::Counter,
        labels: true,
    },
    Family {
        name: SLOTS_SKIPPED,
        help: "Scheduled slots skipped because the shop's previous scan was still running.",
        kind: Kind::Counter,
        labels: true,
    },
];

/// Series values by (family, rendered label set).
type Series = BTreeMap<(&'static str, String), f64>;

fn registry() -> MutexGuard<'static, Series> {
    static REGISTRY: OnceLock<Mutex<Series>> = OnceLock::new();
    let m = REGISTRY.get_or_init(|| Mutex::new(BTreeMap::new()));
    // A panic while holding the lock cannot leave a number half-written.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn add(name: &'static str, labels: String, by: f64) {
    *registry().entry((name, labels)).or_insert(0.0) += by;
}

fn set(name: &'static str, labels: String, value: f64) {
    registry().insert((name, labels), value);
}

/// An HTTP response was received with this status.
pub fn page_fetched(status: u16) {
    add(
        PAGES_FETCHED,
        labels(&[("status", &status.to_string())]),
        1.0,
    );
}

/// A URL was not requested: robots.txt disallows it (or could not be read).
pub fn robots_refusal() {
    add(ROBOTS_REFUSALS, String::new(), 1.0);
}

/// A request is retried.
pub fn retry() {
    add(RETRIES, String::new(), 1.0);
}

/// An observation of a watched brand was recorded.
pub fn observation() {
    add(OBSERVATIONS, String::new(), 1.0);
}

/// A finding was opened under this rule.
pub fn finding(rule: &str) {
    add(FINDINGS, labels(&[("rule", rule)]), 1.0);
}

/// The outbox holds this many pending emails.
pub fn outbox_depth(pending: usize) {
    set(OUTBOX_DEPTH, String::new(), pending as f64);
}

/// This many delivery attempts failed.
pub fn outbox_failures(failed: usize) {
    if failed > 0 {
        add(OUTBOX_FAILURES, String::new(), failed as f64);
    }
}

/// A shop's scheduled scan that started at `at` succeeded.
pub fn shop_succeeded(shop: &str, at: DateTime<Utc>) {
    set(
        SHOP_LAST_SUCCESS,
        labels(&[("shop", shop)]),
        at.timestamp() as f64,
    );
}

/// A shop's scheduled scan ended with this result (`ok`, `failed`, `interrupted`).
pub fn shop_run(shop: &str, result: &str) {
    add(
        SHOP_RUNS,
        labels(&[("shop", shop), ("result", result)]),
        1.0,
    );
}

/// A shop's scheduled slot was skipped: its previous scan was still running.
pub fn slot_skipped(shop: &str) {
    add(SLOTS_SKIPPED, labels(&[("shop", shop)]), 1.0);
}

/// Every metric in the Prometheus text exposition format (version 0.0.4).
pub fn render() -> String {
    let series = registry().clone();
    let mut out = String::new();
    for f in FAMILIES {
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        let mut any = false;
        for ((name, l), v) in series.range((f.name, String::new())..) {
            // The range runs past this family: stop at the first other name.
            if *name != f.name {
                break;
            }
            let _ = writeln!(out, "{}{l} {v}", f.name);
            any = true;
        }
        if !any && !f.labels {
            let _ = writeln!(out, "{} 0", f.name);
        }
    }
    out
}

/// `/healthz` (200 "ok") and `/metrics` (the text exposition).
pub fn router() -> axum::Router {
    use axum::http::header;
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(|| async { ([(header::CONTENT_TYPE, CONTENT_TYPE)], render()) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_in_the_text_format() {
        page_fetched(200);
        page_fetched(200);
        page_fetched(404);
        finding("R5");
        shop_succeeded(
            "Exemple \"Déco\"\nà Lyon\\",
            DateTime::from_timestamp(1_773_130_000, 0).unwrap(),
        );
        outbox_depth(3);
        let text = render();
        // Other tests of this binary may count too: compare at least.
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        };
        assert!(value("vigie_pages_fetched_total{status=\"200\"}") >= 2.0);
        assert!(value("vigie_pages_fetched_total{status=\"404\"}") >= 1.0);
        assert!(value("vigie_findings_total{rule=\"R5\"}") >= 1.0);
        assert_eq!(
            value(
                "vigie_shop_last_success_timestamp_seconds{shop=\"Exemple \\\"Déco\\\"\\nà Lyon\\\\\"}"
            ),
            1_773_130_000.0
        );
        // Unlabelled counters are shown before anything happened.
        assert!(text.contains("\n# TYPE vigie_retries_total counter\nvigie_retries_total "));
        assert!(text.contains("# TYPE vigie_outbox_depth gauge\n"));
        // Every sample line belongs to the family declared just above it.
        let mut family = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(family), "{line} outside {family}");
            }
        }
    }
}
