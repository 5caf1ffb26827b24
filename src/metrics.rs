//! The counters and gauges of a running Vigie, served in the OpenMetrics
//! text format by `vigie daemon --listen ADDR` on `/metrics` (and
//! `/healthz`).
//!
//! A [`Metrics`] value owns a `prometheus-client` registry and its metric
//! families, with typed label sets. The command that runs creates one
//! (`vigie daemon`, `vigie worker`), hands it to its
//! [`HostPool`](crate::fetch::HostPool) and to [`router`], and every part
//! that counts reaches it through the pool it already holds: the fetcher
//! (responses, robots.txt refusals, retries), the pipeline (observations,
//! findings) and the scheduler (runs, skipped slots, outbox). Other
//! commands count into the pool's own value, which nothing serves.
//! Cloning a `Metrics` is cheap and shares the counters.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::Rule;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The `Content-Type` of the OpenMetrics text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a shop's scheduled scan ended (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunResult {
    /// The scan finished and every page could be read or was skipped politely.
    Ok,
    /// The scan failed, or the shop could not be scanned at all.
    Failed,
    /// A shutdown stopped the scan before it finished.
    Interrupted,
}

impl RunResult {
    /// The label value: `ok`, `failed` or `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Ok => "ok",
            RunResult::Failed => "failed",
            RunResult::Interrupted => "interrupted",
        }
    }
}

impl EncodeLabelValue for RunResult {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The labels of `vigie_pages_fetched_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
}

/// The labels of `vigie_findings_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RuleLabels {
    rule: RuleLabel,
}

/// A rule as a label value: its name (`R3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RuleLabel(Rule);

impl EncodeLabelValue for RuleLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.0.as_str(), encoder)
    }
}

/// The labels of the per-shop series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ShopLabels {
    shop: String,
}

/// The labels of `vigie_shop_runs_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ShopRunLabels {
    shop: String,
    result: RunResult,
}

/// The registry and the families registered in it.
#[derive(Debug)]
struct Inner {
    registry: Registry,
    pages_fetched: Family<StatusLabels, Counter>,
    robots_refusals: Counter,
    retries: Counter,
    observations: Counter,
    findings: Family<RuleLabels, Counter>,
    outbox_depth: Gauge,
    outbox_failures: Counter,
    alerts_grouped: Counter,
    alerts_throttled: Counter,
    outbox_cancelled: Counter,
    shop_last_success: Family<ShopLabels, Gauge>,
    shop_runs: Family<ShopRunLabels, Counter>,
    slots_skipped: Family<ShopLabels, Counter>,
    dismissed: Family<RuleLabels, Gauge>,
}

impl Default for Inner {
    fn default() -> Self {
        let mut registry = Registry::default();
        // Counters are named without `_total`: the encoder adds it.
        let pages_fetched = Family::default();
        registry.register(
            "vigie_pages_fetched",
            "HTTP responses received, by status (pages, sitemaps and robots.txt; every attempt)",
            pages_fetched.clone(),
        );
        let robots_refusals = Counter::default();
        registry.register(
            "vigie_robots_refusals",
            "URLs not requested because robots.txt disallows them or could not be read",
            robots_refusals.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "vigie_retries",
            "Requests retried after a 429, a 5xx, a time-out or a connection error",
            retries.clone(),
        );
        let observations = Counter::default();
        registry.register(
            "vigie_observations",
            "Observations of watched brands recorded",
            observations.clone(),
        );
        let findings = Family::default();
        registry.register(
            "vigie_findings",
            "Findings opened, by rule",
            findings.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "vigie_outbox_depth",
            "Emails waiting in the outbox (pending, due or not), as of the last delivery pass",
            outbox_depth.clone(),
        );
        let outbox_failures = Counter::default();
        registry.register(
            "vigie_outbox_failures",
            "Email delivery attempts that failed (retried later or given up)",
            outbox_failures.clone(),
        );
        let alerts_grouped = Counter::default();
        registry.register(
            "vigie_alerts_grouped",
            "Findings sent in a message with others of the same shop and scan (or in a first-scan summary) instead of their own",
            alerts_grouped.clone(),
        );
        let alerts_throttled = Counter::default();
        registry.register(
            "vigie_alerts_throttled",
            "Outbox rows over a subscriber's daily cap, deferred to the next daily digest",
            alerts_throttled.clone(),
        );
        let outbox_cancelled = Counter::default();
        registry.register(
            "vigie_outbox_cancelled",
            "Outbox rows cancelled at delivery because their address unsubscribed or paused its alerts",
            outbox_cancelled.clone(),
        );
        let shop_last_success = Family::default();
        registry.register_with_unit(
            "vigie_shop_last_success_timestamp",
            "When each shop's last successful scheduled scan started (Unix time)",
            Unit::Seconds,
            shop_last_success.clone(),
        );
        let shop_runs = Family::default();
        registry.register(
            "vigie_shop_runs",
            "Scheduled scans of a shop, by result (ok, failed, interrupted)",
            shop_runs.clone(),
        );
        let slots_skipped = Family::default();
        registry.register(
            "vigie_slots_skipped",
            "Scheduled slots skipped because the shop's previous scan was still running",
            slots_skipped.clone(),
        );
        let dismissed = Family::default();
        registry.register(
            "vigie_findings_dismissed",
            "Findings the operator dismissed in the console, by rule (read from the database when /metrics is served): the rules' false readings in the field",
            dismissed.clone(),
        );
        Inner {
            registry,
            dismissed,
            pages_fetched,
            robots_refusals,
            retries,
            observations,
            findings,
            outbox_depth,
            outbox_failures,
            alerts_grouped,
            alerts_throttled,
            outbox_cancelled,
            shop_last_success,
            shop_runs,
            slots_skipped,
        }
    }
}

/// The metrics of one process: a registry with every Vigie family in it.
/// Clones share the same counters.
#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    /// An HTTP response was received with this status.
    pub fn page_fetched(&self, status: u16) {
        self.0
            .pages_fetched
            .get_or_create(&StatusLabels { status })
            .inc();
    }

    /// A URL was not requested: robots.txt disallows it (or could not be read).
    pub fn robots_refusal(&self) {
        self.0.robots_refusals.inc();
    }

    /// A request is retried.
    pub fn retry(&self) {
        self.0.retries.inc();
    }

    /// An observation of a watched brand was recorded.
    pub fn observation(&self) {
        self.0.observations.inc();
    }

    /// A finding was opened under this rule.
    pub fn finding(&self, rule: Rule) {
        self.0
            .findings
            .get_or_create(&RuleLabels {
                rule: RuleLabel(rule),
            })
            .inc();
    }

    /// The findings dismissed so far, per rule (every rule is shown, 0
    /// when none is dismissed).
    pub fn dismissals(&self, per_rule: &[(Rule, i64)]) {
        use strum::IntoEnumIterator;
        for rule in Rule::iter() {
            let n = per_rule
                .iter()
                .find(|(r, _)| *r == rule)
                .map_or(0, |(_, n)| *n);
            self.0
                .dismissed
                .get_or_create(&RuleLabels {
                    rule: RuleLabel(rule),
                })
                .set(n);
        }
    }

    /// The outbox holds this many pending emails.
    pub fn outbox_depth(&self, pending: usize) {
        self.0
            .outbox_depth
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// This many delivery attempts failed.
    pub fn outbox_failures(&self, failed: usize) {
        self.0.outbox_failures.inc_by(failed as u64);
    }

    /// This many findings went into a grouped message or a first-scan
    /// summary rather than their own.
    pub fn alerts_grouped(&self, findings: usize) {
        self.0.alerts_grouped.inc_by(findings as u64);
    }

    /// This many outbox rows were over their subscriber's daily cap and
    /// deferred to the next digest.
    pub fn alerts_throttled(&self, rows: usize) {
        self.0.alerts_throttled.inc_by(rows as u64);
    }

    /// This many outbox rows were cancelled at delivery (the address
    /// unsubscribed or paused).
    pub fn outbox_cancelled(&self, rows: u64) {
        self.0.outbox_cancelled.inc_by(rows);
    }

    /// A shop's scheduled scan that started at `at` succeeded.
    pub fn shop_succeeded(&self, shop: &str, at: DateTime<Utc>) {
        self.0
            .shop_last_success
            .get_or_create(&ShopLabels {
                shop: shop.to_string(),
            })
            .set(at.timestamp());
    }

    /// A shop's scheduled scan ended with this result.
    pub fn shop_run(&self, shop: &str, result: RunResult) {
        self.0
            .shop_runs
            .get_or_create(&ShopRunLabels {
                shop: shop.to_string(),
                result,
            })
            .inc();
    }

    /// A shop's scheduled slot was skipped: its previous scan was still running.
    pub fn slot_skipped(&self, shop: &str) {
        self.0
            .slots_skipped
            .get_or_create(&ShopLabels {
                shop: shop.to_string(),
            })
            .inc();
    }

    /// Every metric in the OpenMetrics text format, ending with `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail, nor can these metrics' encoding.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.0.registry) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        out
    }
}

/// `/healthz` (200 "ok") and `/metrics` (the text exposition of `metrics`).
pub fn router(metrics: Metrics) -> axum::Router {
    use axum::http::header;
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_in_the_text_format() {
        let m = Metrics::default();
        m.page_fetched(200);
        m.clone().page_fetched(200);
        m.page_fetched(404);
        m.finding(Rule::R5);
        m.shop_succeeded(
            "Exemple \"Déco\"\nà Lyon\\",
            DateTime::from_timestamp(1_773_130_000, 0).unwrap(),
        );
        m.shop_run("Déco", RunResult::Interrupted);
        m.outbox_depth(3);
        m.outbox_failures(0);
        m.alerts_grouped(3);
        m.alerts_throttled(2);
        m.outbox_cancelled(1);
        let text = m.render();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        };
        // The registry is this value's own: exact counts.
        assert_eq!(value("vigie_pages_fetched_total{status=\"200\"}"), 2.0);
        assert_eq!(value("vigie_pages_fetched_total{status=\"404\"}"), 1.0);
        assert_eq!(value("vigie_findings_total{rule=\"R5\"}"), 1.0);
        assert_eq!(
            value("vigie_shop_runs_total{shop=\"Déco\",result=\"interrupted\"}"),
            1.0
        );
        assert_eq!(
            value(
                "vigie_shop_last_success_timestamp_seconds{shop=\"Exemple \\\"Déco\\\"\\nà Lyon\\\\\"}"
            ),
            1_773_130_000.0
        );
        assert_eq!(value("vigie_outbox_depth"), 3.0);
        assert_eq!(value("vigie_outbox_failures_total"), 0.0);
        assert_eq!(value("vigie_alerts_grouped_total"), 3.0);
        assert_eq!(value("vigie_alerts_throttled_total"), 2.0);
        assert_eq!(value("vigie_outbox_cancelled_total"), 1.0);
        // Unlabelled counters are shown before anything happened.
        assert_eq!(value("vigie_retries_total"), 0.0);
        assert!(text.contains("# TYPE vigie_retries counter\n"), "{text}");
        assert!(text.contains("# TYPE vigie_outbox_depth gauge\n"));
        assert!(text.ends_with("# EOF\n"));
        // Every sample line belongs to the family declared just above it.
        let mut family = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(family), "{line} outside {family}");
            }
        }
        // Another value counts apart.
        assert!(
            !Metrics::default()
                .render()
                .contains("vigie_pages_fetched_total{")
        );
    }
}
