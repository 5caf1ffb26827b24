//! Per-collective detection policy: which rules run, their thresholds, and
//! the promotions brands have announced (`[policy]` and `[[announced]]` in
//! the watchlists).

use chrono::NaiveDate;
use serde::Deserialize;

use strum::IntoEnumIterator;

use super::Rule;

/// A promotion a brand announced: its findings are reported as announced,
/// not as disguised.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announced {
    /// The brand (name or alias).
    pub brand: String,
    /// The shop; every shop when absent.
    pub shop: Option<String>,
    /// First day (inclusive, Europe/Paris).
    #[serde(deserialize_with = "toml_date")]
    pub from: NaiveDate,
    /// Last day (inclusive).
    #[serde(deserialize_with = "toml_date")]
    pub to: NaiveDate,
    /// What the brand said, for the record.
    pub note: Option<String>,
}

/// A day written as a TOML date (`2026-05-04`) or a string (`"2026-05-04"`).
pub(crate) fn toml_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Raw::deserialize(d)? {
        Raw::Toml(t) => t.to_string(),
        Raw::Text(s) => s,
    };
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a day such as 2026-05-04")))
}

/// The thresholds and switches of detection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Rules that run (default: all nine).
    pub rules: Vec<Rule>,
    /// R3: smallest declared reduction reported, in percent (default 0: any).
    pub min_discount_percent: u32,
    /// R9: smallest silent cut reported, in percent (default 15).
    pub silent_cut_percent: u32,
    /// R7: days a reduction may run before it is a perpetual promotion (default 42).
    pub perpetual_days: i64,
    /// R2: days before a sales period in which a private sale is reported (default 30).
    pub pre_sale_days: i64,
    /// Raise a finding only after this many consecutive observations (default 1).
    pub confirm: u32,
    /// R5/R6: smallest share of the 30-day window that must be observed (default 50 %).
    pub min_coverage_percent: u32,
    /// Promotions announced by brands.
    #[serde(skip)]
    pub announced: Vec<Announced>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Rule::iter().collect(),
            min_discount_percent: 0,
            silent_cut_percent: 15,
            perpetual_days: 42,
            pre_sale_days: 30,
            confirm: 1,
            min_coverage_percent: 50,
            announced: Vec::new(),
        }
    }
}

impl Policy {
    /// Whether a rule is switched on.
    pub fn enabled(&self, rule: Rule) -> bool {
        self.rules.contains(&rule)
    }

    /// The announcement covering a brand, shop and day, if any.
    pub fn announced_for(&self, brand: &str, shop: &str, day: NaiveDate) -> Option<&Announced> {
        self.announced.iter().find(|a| {
            crate::domain::fold_name(&a.brand) == crate::domain::fold_name(brand)
                && a.shop.as_deref().is_none_or(|s| s == shop)
                && a.from <= day
                && day <= a.to
        })
    }
}
