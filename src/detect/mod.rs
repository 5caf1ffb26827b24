//! Detection: legal calendars and rules tied to law. Pure functions, no IO.
//!
//! Rules follow `LEGAL_RULES.md`; each finding names its rule, its legal
//! basis, the calendar used and the figures.

pub mod calendar;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::Money;
use crate::store::{Baseline, FindingDraft};
use calendar::{Calendar, Zone};

/// What the detector looks at in one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedOffer {
    /// Price to pay.
    pub price: Money,
    /// Higher price displayed beside it.
    pub reference: Option<Money>,
    /// Kind of that price (`strikethrough`, `list`, `recommended`).
    pub reference_kind: Option<String>,
    /// Percent badge displayed.
    pub percent_badge: Option<u32>,
}

impl ObservedOffer {
    /// Whether the page announces a reduction: a higher reference price
    /// (other than a manufacturer's recommended price) or a percent badge.
    pub fn declares_reduction(&self) -> bool {
        let reference_above = self
            .reference
            .is_some_and(|r| r.currency == self.price.currency && r.minor > self.price.minor)
            && self.reference_kind.as_deref() != Some("recommended");
        reference_above || self.percent_badge.is_some_and(|p| p > 0)
    }

    /// The declared reduction in percent: the badge, else computed from the reference.
    pub fn declared_percent(&self) -> Option<u32> {
        self.percent_badge
            .or_else(|| self.reference.and_then(|r| self.price.percent_below(&r)))
    }
}

/// The calendar and clock a detection runs against.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The sales calendar.
    pub calendar: &'a Calendar,
    /// The zone whose periods apply (national for every e-shop).
    pub zone: Zone,
    /// The scan clock.
    pub now: DateTime<Utc>,
}

impl Context<'_> {
    /// A sentence naming the zone and the period in force or the next one.
    pub fn calendar_note(&self) -> String {
        match self.calendar.period_at(self.zone, self.now) {
            Some(p) => format!(
                "{} : soldes d'{} {} en cours (du {} au {})",
                self.zone,
                if p.season.as_str() == "winter" {
                    "hiver"
                } else {
                    "été"
                },
                p.year,
                p.first_day.format("%d/%m/%Y"),
                p.last_day.format("%d/%m/%Y")
            ),
            None => match self.calendar.next_period_start_after(self.zone, self.now) {
                Some(p) => format!(
                    "{} : hors soldes ; prochaines soldes du {} au {}",
                    self.zone,
                    p.first_day.format("%d/%m/%Y"),
                    p.last_day.format("%d/%m/%Y")
                ),
                None => format!("{} : hors soldes", self.zone),
            },
        }
    }
}

/// Rule R3, discount-outside-sales: a declared reduction on a watched brand
/// outside the legal sales periods. Lawful, but reportable (collective's policy).
pub fn r3_discount_outside_sales(offer: &ObservedOffer, ctx: &Context<'_>) -> Option<FindingDraft> {
    if !offer.declares_reduction() || ctx.calendar.period_at(ctx.zone, ctx.now).is_some() {
        return None;
    }
    Some(FindingDraft {
        rule: "R3".into(),
        severity: "report".into(),
        legal_basis: "Réduction annoncée hors des périodes légales de soldes (C. com. L310-3) — licite mais signalée selon la politique du collectif".into(),
        price: offer.price,
        reference: offer.reference,
        percent: offer.declared_percent(),
        calendar: ctx.calendar_note(),
        details: json!({
            "price": offer.price.decimal_string(),
            "reference_price": offer.reference.map(|m| m.decimal_string()),
            "reference_kind": offer.reference_kind,
            "percent_badge": offer.percent_badge,
            "currency": offer.price.currency.as_str(),
            "zone": ctx.zone.as_str(),
            "evaluated_at": ctx.now.to_rfc3339(),
        }),
    })
}

/// Runs every rule on one observation.
pub fn evaluate(
    offer: &ObservedOffer,
    _baseline: Option<&Baseline>,
    ctx: &Context<'_>,
) -> Vec<FindingDraft> {
    r3_discount_outside_sales(offer, ctx).into_iter().collect()
}

/// Which open findings end: those whose rule no longer fires.
pub fn rules_to_close(raised: &[FindingDraft], open_rules: &[String]) -> Vec<String> {
    open_rules
        .iter()
        .filter(|r| !raised.iter().any(|f| &f.rule == *r))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn offer(price: i64, reference: Option<i64>) -> ObservedOffer {
        ObservedOffer {
            price: eur(price),
            reference: reference.map(eur),
            reference_kind: reference.map(|_| "strikethrough".to_string()),
            percent_badge: None,
        }
    }

    #[test]
    fn r3_fires_on_a_crossed_out_price_outside_the_soldes_only() {
        let cal = Calendar::builtin();
        let march = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at("2026-03-10T09:00:00Z"),
        };
        let f = r3_discount_outside_sales(&offer(12900, Some(18900)), &march).unwrap();
        assert_eq!(f.rule, "R3");
        assert_eq!(f.percent, Some(31));
        assert!(
            f.calendar
                .contains("prochaines soldes du 24/06/2026 au 21/07/2026"),
            "{}",
            f.calendar
        );
        // During the winter soldes 2026 (7 Jan – 3 Feb) the same offer is lawful.
        let january = Context {
            now: at("2026-01-15T12:00:00Z"),
            ..march.clone()
        };
        assert!(r3_discount_outside_sales(&offer(12900, Some(18900)), &january).is_none());
        // No reduction, or a reference that is not above the price: nothing.
        assert!(r3_discount_outside_sales(&offer(12900, None), &march).is_none());
        assert!(r3_discount_outside_sales(&offer(12900, Some(12900)), &march).is_none());
        // A recommended retail price is not a declared reduction.
        let mut rrp = offer(12900, Some(18900));
        rrp.reference_kind = Some("recommended".into());
        assert!(r3_discount_outside_sales(&rrp, &march).is_none());
        // A percent badge alone is.
        let mut badge = offer(12900, None);
        badge.percent_badge = Some(20);
        assert_eq!(
            r3_discount_outside_sales(&badge, &march).unwrap().percent,
            Some(20)
        );
    }

    #[test]
    fn findings_close_when_their_rule_stops_firing() {
        assert_eq!(
            rules_to_close(&[], &["R3".to_string()]),
            vec!["R3".to_string()]
        );
        let cal = Calendar::builtin();
        let ctx = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at("2026-03-10T09:00:00Z"),
        };
        let raised = evaluate(&offer(100, Some(200)), None, &ctx);
        assert!(rules_to_close(&raised, &["R3".to_string()]).is_empty());
    }
}
