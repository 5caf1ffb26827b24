//! What the stages hand each other about products: an observation as the
//! detector reads it, as it is stored and as it is read back; a product's
//! baseline; a finding before it is stored; who receives it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Digest, Email, History, Language, Money, PromoClass, ReferenceKind, Rule, Severity, Source,
};

/// What the detector looks at in one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedOffer {
    /// Price to pay.
    pub price: Money,
    /// Higher price displayed beside it.
    pub reference: Option<Money>,
    /// Kind of that price (`strikethrough`, `list`, `recommended`).
    pub reference_kind: Option<ReferenceKind>,
    /// Percent badge displayed.
    pub percent_badge: Option<u32>,
    /// Promotional wording on the page: (class, text).
    pub promo: Vec<(PromoClass, String)>,
}

impl ObservedOffer {
    /// Whether the page announces a reduction: a higher reference price
    /// (other than a manufacturer's recommended price) or a percent badge.
    pub fn declares_reduction(&self) -> bool {
        let reference_above = self
            .reference
            .is_some_and(|r| r.currency == self.price.currency && r.minor > self.price.minor)
            && self.reference_kind != Some(ReferenceKind::Recommended);
        reference_above || self.percent_badge.is_some_and(|p| p > 0)
    }

    /// The declared reduction in percent: the badge, else computed from the reference.
    pub fn declared_percent(&self) -> Option<u32> {
        self.percent_badge
            .or_else(|| self.reference.and_then(|r| self.price.percent_below(&r)))
    }
}

/// One observation of one product in one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObservation {
    /// The scan.
    pub scan_id: i64,
    /// When (scan clock).
    pub observed_at: DateTime<Utc>,
    /// Price to pay.
    pub price: Money,
    /// Higher price shown beside it.
    pub reference: Option<Money>,
    /// Kind of that higher price.
    pub reference_kind: Option<ReferenceKind>,
    /// Percent badge shown.
    pub percent_badge: Option<u32>,
    /// Availability.
    pub availability: Option<String>,
    /// Where the data came from.
    pub source: Source,
    /// Promotional wording on the page: (class, text).
    pub promo: Vec<(PromoClass, String)>,
    /// Where the reference price was read from (`jsonld`, `product_block`…,
    /// see [`crate::extract::Source::as_str`]), when there is one.
    pub reference_source: Option<Source>,
    /// The warnings of the reading (a disagreement between sources, a former
    /// price taken from the markup…). Stored as a JSON array.
    pub warnings: Vec<String>,
}

/// The stored baseline of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// Last undiscounted public price, if one was seen.
    pub regular: Option<Money>,
    /// Last price seen.
    pub last_price: Money,
    /// When it was seen.
    pub last_observed_at: DateTime<Utc>,
    /// Observations counted.
    pub observations: i64,
    /// Recent price runs and confirmation streaks.
    pub history: History,
}

/// The last stored observation of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObservation {
    /// Price to pay.
    pub price: Money,
    /// Reference price shown.
    pub reference: Option<Money>,
    /// Its kind.
    pub reference_kind: Option<ReferenceKind>,
    /// Percent badge shown.
    pub percent_badge: Option<u32>,
    /// Availability.
    pub availability: Option<String>,
    /// Promotional wording on the page: (class, text).
    pub promo: Vec<(PromoClass, String)>,
    /// Where the reference price was read from, when there is one (none
    /// either for observations stored before migration 0006).
    pub reference_source: Option<Source>,
    /// The warnings of the reading (empty for observations stored before
    /// migration 0006).
    pub warnings: Vec<String>,
}

/// A finding the detector raised, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingDraft {
    /// The rule.
    pub rule: Rule,
    /// How serious it is.
    pub severity: Severity,
    /// Legal basis in words.
    pub legal_basis: String,
    /// Price to pay.
    pub price: Money,
    /// Reference price displayed.
    pub reference: Option<Money>,
    /// Declared or computed reduction in percent.
    pub percent: Option<u32>,
    /// Calendar zone and period used.
    pub calendar: String,
    /// Figures used, as JSON.
    pub details: serde_json::Value,
}

/// A subscriber as the outbox sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// Subscriber name.
    pub name: String,
    /// Address.
    pub email: Email,
    /// Language of the emails.
    pub language: Language,
    /// `None` for one email per finding; `daily` or `weekly` for a digest.
    pub digest: Option<Digest>,
    /// When a finding opened now is to be sent.
    pub deliver_at: DateTime<Utc>,
    /// Rules reported (empty: all).
    pub rules: Vec<Rule>,
    /// Severities reported (empty: all).
    pub severities: Vec<Severity>,
}

impl Recipient {
    /// Whether a finding of this rule and severity is for this recipient.
    pub fn accepts(&self, rule: Rule, severity: Severity) -> bool {
        (self.rules.is_empty() || self.rules.contains(&rule))
            && (self.severities.is_empty() || self.severities.contains(&severity))
    }
}
