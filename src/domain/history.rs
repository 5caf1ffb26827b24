//! A product's recent price history as runs of identical observations,
//! kept incrementally (one append or extension per observation) and bounded
//! in time, so the rules never rescan the whole observation table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How far back runs are kept.
pub const KEEP_DAYS: i64 = 120;

/// Consecutive observations showing the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRun {
    /// Price to pay, minor units.
    pub price: i64,
    /// Whether a reduction was declared (crossed-out price or badge).
    pub declared: bool,
    /// The reference price shown, minor units.
    pub reference: Option<i64>,
    /// The percent badge shown.
    pub percent: Option<u32>,
    /// First observation.
    pub first: DateTime<Utc>,
    /// Last observation.
    pub last: DateTime<Utc>,
    /// Observations in the run.
    pub count: u32,
    /// Longest interval between two observations of the run, seconds.
    pub max_gap_s: i64,
}

/// Runs, oldest first, and per-rule confirmation streaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The runs.
    pub runs: Vec<PriceRun>,
    /// Consecutive observations on which a rule fired without being raised yet.
    #[serde(default)]
    pub streaks: std::collections::BTreeMap<super::Rule, u32>,
}

/// What the rules learn from the history at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Lowest public price observed in the window, minor units.
    pub lowest: Option<i64>,
    /// Share of the window covered by observations, 0–100.
    pub coverage_percent: u32,
    /// Largest stretch of the window without an observation, in hours.
    pub largest_gap_hours: i64,
}

impl History {
    /// Adds an observation: extends the last run when it shows the same thing.
    pub fn push(
        &mut self,
        at: DateTime<Utc>,
        price: i64,
        declared: bool,
        reference: Option<i64>,
        percent: Option<u32>,
    ) {
        if let Some(last) = self.runs.last_mut()
            && last.price == price
            && last.declared == declared
            && last.reference == reference
            && last.percent == percent
            && at >= last.last
        {
            last.max_gap_s = last.max_gap_s.max((at - last.last).num_seconds());
            last.last = at;
            last.count += 1;
        } else {
            self.runs.push(PriceRun {
                price,
                declared,
                reference,
                percent,
                first: at,
                last: at,
                count: 1,
                max_gap_s: 0,
            });
        }
        let horizon = at - Duration::days(KEEP_DAYS);
        self.runs.retain(|r| r.last >= horizon);
    }

    /// Lowest price and coverage over `[from, to)`. Each run covers from its
    /// first to its last observation; a run of one observation covers a day.
    pub fn window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Window {
        let span = (to - from).num_seconds().max(1);
        let mut lowest = None;
        let mut covered: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for r in &self.runs {
            let end = if r.count == 1 {
                r.first + Duration::days(1)
            } else {
                r.last
            };
            if r.first >= to || end <= from {
                continue;
            }
            lowest = Some(lowest.map_or(r.price, |l: i64| l.min(r.price)));
            covered.push((r.first.max(from), end.min(to)));
        }
        covered.sort();
        let mut total = 0;
        let mut largest_gap = 0;
        let mut cursor = from;
        for (s, e) in covered {
            if s > cursor {
                largest_gap = largest_gap.max((s - cursor).num_seconds());
            }
            if e > cursor {
                total += (e - s.max(cursor)).num_seconds();
                cursor = e;
            }
        }
        largest_gap = largest_gap.max((to - cursor).num_seconds().max(0));
        Window {
            lowest,
            coverage_percent: u32::try_from((total * 100 / span).clamp(0, 100)).unwrap_or(0),
            largest_gap_hours: largest_gap / 3600,
        }
    }

    /// The most frequent undiscounted price over `[from, to)`, weighted by
    /// time, else the last undiscounted price seen.
    pub fn regular_price(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i64> {
        let mut weight: std::collections::BTreeMap<i64, i64> = Default::default();
        for r in self
            .runs
            .iter()
            .filter(|r| !r.declared && r.last >= from && r.first < to)
        {
            *weight.entry(r.price).or_default() += (r.last - r.first).num_seconds().max(86_400);
        }
        weight
            .into_iter()
            .max_by_key(|&(p, w)| (w, std::cmp::Reverse(p)))
            .map(|(p, _)| p)
            .or_else(|| {
                self.runs
                    .iter()
                    .rev()
                    .find(|r| !r.declared)
                    .map(|r| r.price)
            })
    }

    /// The start of the current continuous campaign of declared reductions
    /// (runs with a reduction, back to back), if the last run has one.
    pub fn campaign_start(&self) -> Option<&PriceRun> {
        let mut start = None;
        for r in self.runs.iter().rev() {
            if !r.declared {
                break;
            }
            start = Some(r);
        }
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::days(d)
    }

    #[test]
    fn runs_extend_and_split() {
        let mut h = History::default();
        for d in 0..5 {
            h.push(day(d), 100, false, None, None);
        }
        h.push(day(5), 80, true, Some(100), None);
        h.push(day(7), 80, true, Some(100), None);
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.runs[0].count, 5);
        assert_eq!(h.runs[1].max_gap_s, 2 * 86_400);
        assert_eq!(h.campaign_start().unwrap().first, day(5));
    }

    #[test]
    fn window_lowest_coverage_and_gap() {
        let mut h = History::default();
        for d in 0..10 {
            h.push(day(d), 100, false, None, None);
        }
        h.push(day(20), 90, false, None, None);
        let w = h.window(day(0), day(30));
        assert_eq!(w.lowest, Some(90));
        assert_eq!(
            w.largest_gap_hours,
            11 * 24,
            "observed on days 0–9 and 20: nothing from day 9 to day 20"
        );
        assert!(w.coverage_percent < 50);
        assert_eq!(h.regular_price(day(0), day(30)), Some(100));
        let empty = History::default().window(day(0), day(30));
        assert_eq!((empty.lowest, empty.coverage_percent), (None, 0));
    }

    #[test]
    fn old_runs_are_dropped() {
        let mut h = History::default();
        h.push(day(0), 100, false, None, None);
        h.push(day(KEEP_DAYS + 1), 90, false, None, None);
        assert_eq!(h.runs.len(), 1);
    }
}
