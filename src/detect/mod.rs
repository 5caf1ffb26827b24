//! Detection: legal calendars and rules tied to law. Pure functions, no IO.
//!
//! The rules and their legal basis are described for retailers in
//! `docs/rules.md`; each finding names its rule, its legal basis, the
//! calendar used and the figures.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::Money;
pub use crate::domain::ObservedOffer;
use crate::domain::calendar::{Calendar, Zone};
use crate::domain::{FindingDraft, History, Policy, PromoClass, ReferenceKind, Rule, Severity};

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

/// Everything a rule looks at for one observation.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The observation.
    pub offer: &'a ObservedOffer,
    /// The product's history before this observation.
    pub history: &'a History,
    /// Calendar and clock.
    pub ctx: &'a Context<'a>,
    /// Thresholds.
    pub policy: &'a Policy,
}

fn draft(
    rule: Rule,
    severity: Severity,
    basis: &str,
    input: &Input<'_>,
    details: serde_json::Value,
) -> FindingDraft {
    let o = input.offer;
    let mut figures = json!({
        "price": o.price.decimal_string(),
        "reference_price": o.reference.map(|m| m.decimal_string()),
        "reference_kind": o.reference_kind,
        "percent_badge": o.percent_badge,
        "currency": o.price.currency.as_str(),
        "zone": input.ctx.zone.as_str(),
        "evaluated_at": input.ctx.now.to_rfc3339(),
    });
    if let (Some(f), Some(d)) = (figures.as_object_mut(), details.as_object()) {
        f.extend(d.clone());
    }
    FindingDraft {
        rule,
        severity,
        legal_basis: basis.into(),
        price: o.price,
        reference: o.reference,
        percent: o.declared_percent(),
        calendar: input.ctx.calendar_note(),
        details: figures,
    }
}

fn money(minor: i64, like: &Money) -> String {
    Money::new(minor, like.currency).decimal_string()
}

fn in_period(input: &Input<'_>) -> bool {
    input
        .ctx
        .calendar
        .period_at(input.ctx.zone, input.ctx.now)
        .is_some()
}

fn wording(o: &ObservedOffer, class: PromoClass) -> Option<&str> {
    o.promo
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, t)| t.as_str())
}

/// R1, soldes-out-of-period: "soldes" wording outside the legal periods.
pub fn r1_soldes_out_of_period(input: &Input<'_>) -> Option<FindingDraft> {
    let text = wording(input.offer, PromoClass::Soldes)?;
    if in_period(input) {
        return None;
    }
    Some(draft(
        Rule::R1,
        Severity::Violation,
        R1_BASIS,
        input,
        json!({ "matched_text": text }),
    ))
}

/// R2, disguised-pre-sale: "pré-soldes" / "soldes privés" outside a period
/// (a violation), or a private sale with a declared reduction in the days
/// before a period (reported for information).
pub fn r2_disguised_pre_sale(input: &Input<'_>) -> Option<FindingDraft> {
    if in_period(input) {
        return None;
    }
    if let Some(text) = wording(input.offer, PromoClass::PreSoldes) {
        return Some(draft(
            Rule::R2,
            Severity::Violation,
            "C. com. L310-5 : pré-soldes hors des périodes légales",
            input,
            json!({ "matched_text": text, "variant": "pre_soldes" }),
        ));
    }
    let text = wording(input.offer, PromoClass::PrivateSale)?;
    if !input.offer.declares_reduction() {
        return None;
    }
    let next = input
        .ctx
        .calendar
        .next_period_start_after(input.ctx.zone, input.ctx.now)?;
    let days_before = (next.start - input.ctx.now).num_days();
    if days_before > input.policy.pre_sale_days {
        return None;
    }
    Some(draft(
        Rule::R2,
        Severity::Report,
        "C. com. L310-5 ; pratique déloyale : vente privée accessible à tous juste avant les soldes",
        input,
        json!({ "matched_text": text, "variant": "private_sale", "days_before_soldes": days_before,
                "soldes_start": next.first_day.to_string() }),
    ))
}

/// R3, discount-outside-sales: a declared reduction outside the legal
/// periods. Lawful, but reportable (collective's policy).
pub fn r3_discount_outside_sales(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    if !o.declares_reduction() || in_period(input) {
        return None;
    }
    if o.declared_percent().unwrap_or(0) < input.policy.min_discount_percent {
        return None;
    }
    Some(draft(
        Rule::R3,
        Severity::Report,
        "Réduction annoncée hors des périodes légales de soldes (C. com. L310-3) — licite mais signalée selon la politique du collectif",
        input,
        json!({}),
    ))
}

/// R4, missing-prior-price: a reduction is announced (badge or wording)
/// but no prior price is shown.
pub fn r4_missing_prior_price(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    if o.reference.is_some() {
        return None;
    }
    let badge = o.percent_badge.is_some_and(|p| p > 0);
    if !badge {
        return None;
    }
    Some(draft(
        Rule::R4,
        Severity::Report,
        "C. consom. L112-1-1 : toute réduction annoncée indique le prix antérieur",
        input,
        json!({ "announced_by": "percent badge" }),
    ))
}

/// The reference price the law allows for the current reduction: the lowest
/// price of the 30 days before its start, with the window's coverage.
/// For a continuous campaign, the window is the one before its first step.
fn lawful_reference(
    input: &Input<'_>,
) -> Option<(i64, crate::domain::history::Window, DateTime<Utc>)> {
    let o = input.offer;
    if !o.declares_reduction() {
        return None;
    }
    let start = input
        .history
        .campaign_start()
        .map_or(input.ctx.now, |r| r.first);
    let w = input
        .history
        .window(start - chrono::Duration::days(30), start);
    if w.coverage_percent < input.policy.min_coverage_percent {
        return None;
    }
    Some((w.lowest?, w, start))
}

/// R5, fake-reference-price: the crossed-out price is above the lowest price
/// of the 30 days before the reduction.
pub fn r5_fake_reference(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    let displayed = o
        .reference
        .filter(|_| o.reference_kind != Some(ReferenceKind::Recommended))?;
    let (lowest, w, start) = lawful_reference(input)?;
    // One currency unit of tolerance ("+ 0.01").
    if displayed.minor <= lowest + 1 {
        return None;
    }
    Some(draft(
        Rule::R5,
        Severity::Violation,
        "C. consom. L112-1-1 et L121-2 : le prix barré dépasse le prix le plus bas des 30 jours précédant la réduction",
        input,
        json!({ "lowest_30_days": money(lowest, &o.price), "campaign_start": start.to_rfc3339(),
                "coverage_percent": w.coverage_percent, "largest_gap_hours": w.largest_gap_hours }),
    ))
}

/// R6, wrong-discount-base: the percentage shown is larger than the one
/// computed from the lawful reference price (CJEU C-330/23).
pub fn r6_wrong_discount_base(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    let shown = o.percent_badge?;
    let (lowest, w, start) = lawful_reference(input)?;
    if lowest <= 0 {
        return None;
    }
    let true_percent = 100.0 * (1.0 - o.price.minor as f64 / lowest as f64);
    if f64::from(shown) <= true_percent + 1.0 {
        return None;
    }
    Some(draft(
        Rule::R6,
        Severity::Violation,
        "CJUE C-330/23 (Aldi Süd) : le pourcentage annoncé se calcule sur le prix antérieur",
        input,
        json!({ "percent_shown": shown, "percent_from_prior_price": (true_percent * 10.0).round() / 10.0,
                "lowest_30_days": money(lowest, &o.price), "campaign_start": start.to_rfc3339(),
                "coverage_percent": w.coverage_percent, "largest_gap_hours": w.largest_gap_hours }),
    ))
}

/// R7, perpetual-promotion: a reduction shown continuously for more than N
/// days, its reference not charged in the last 30 days.
pub fn r7_perpetual_promotion(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    if !o.declares_reduction() {
        return None;
    }
    let start = input.history.campaign_start()?.first;
    let days = (input.ctx.now - start).num_days();
    if days <= input.policy.perpetual_days {
        return None;
    }
    let reference = o.reference?;
    let since = input.ctx.now - chrono::Duration::days(30);
    let charged = input
        .history
        .runs
        .iter()
        .any(|r| !r.declared && r.last >= since && r.price >= reference.minor);
    if charged {
        return None;
    }
    Some(draft(
        Rule::R7,
        Severity::Report,
        "C. consom. L121-2 : promotion permanente, prix de référence jamais pratiqué (seuil fixé par le collectif)",
        input,
        json!({ "running_since": start.to_rfc3339(), "days": days, "threshold_days": input.policy.perpetual_days }),
    ))
}

/// R8, pumped-before-promo: the crossed-out price was charged only in the
/// 30–60 days before the reduction, after a lower price that the
/// "reduction" merely returns to.
pub fn r8_pumped_before_promo(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    let reference = o.reference?;
    if !o.declares_reduction() {
        return None;
    }
    let start = input
        .history
        .campaign_start()
        .map_or(input.ctx.now, |r| r.first);
    let undiscounted: Vec<&crate::domain::history::PriceRun> = input
        .history
        .runs
        .iter()
        .filter(|r| !r.declared && r.first < start)
        .collect();
    // The raise: the first run at the reference price, 30–60 days before the reduction.
    let raise = undiscounted.iter().find(|r| r.price == reference.minor)?;
    let raised_days = (start - raise.first).num_days();
    if !(20..=60).contains(&raised_days) {
        return None;
    }
    // Before the raise, the price was (about) what the reduction now shows.
    let before = undiscounted.iter().rev().find(|r| r.last <= raise.first)?;
    let tolerance = before.price / 100;
    if (before.price - o.price.minor).abs() > tolerance.max(1) {
        return None;
    }
    Some(draft(
        Rule::R8,
        Severity::Report,
        "C. consom. L121-2 : prix relevé peu avant une « réduction » qui le ramène à son niveau antérieur",
        input,
        json!({ "price_before_raise": money(before.price, &o.price), "raised_on": raise.first.to_rfc3339(),
                "raised_days_before_reduction": raised_days }),
    ))
}

/// R9, silent-price-cut: the public price is well below the regular price
/// with no declared reduction (collective's policy).
pub fn r9_silent_price_cut(input: &Input<'_>) -> Option<FindingDraft> {
    let o = input.offer;
    if o.declares_reduction() {
        return None;
    }
    let now = input.ctx.now;
    let regular = input
        .history
        .regular_price(now - chrono::Duration::days(60), now)?;
    if regular <= 0 || o.price.minor >= regular {
        return None;
    }
    let cut = (regular - o.price.minor) * 100 / regular;
    if cut < i64::from(input.policy.silent_cut_percent) {
        return None;
    }
    let mut f = draft(
        Rule::R9,
        Severity::Report,
        "Baisse de prix sans réduction annoncée (politique du collectif)",
        input,
        json!({ "regular_price": money(regular, &o.price), "cut_percent": cut }),
    );
    f.percent = u32::try_from(cut).ok();
    Some(f)
}

/// Runs every rule the policy enables on one observation.
pub fn evaluate(input: &Input<'_>) -> Vec<FindingDraft> {
    type Check = fn(&Input<'_>) -> Option<FindingDraft>;
    const RULES: [(Rule, Check); 9] = [
        (Rule::R1, r1_soldes_out_of_period),
        (Rule::R2, r2_disguised_pre_sale),
        (Rule::R3, r3_discount_outside_sales),
        (Rule::R4, r4_missing_prior_price),
        (Rule::R5, r5_fake_reference),
        (Rule::R6, r6_wrong_discount_base),
        (Rule::R7, r7_perpetual_promotion),
        (Rule::R8, r8_pumped_before_promo),
        (Rule::R9, r9_silent_price_cut),
    ];
    RULES
        .iter()
        .filter(|(id, _)| input.policy.enabled(*id))
        .filter_map(|(_, check)| check(input))
        .collect()
}

/// What the rules that fired on one observation do to the product's
/// findings: one finding per promotion episode and rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Findings to open: a new episode, or a deeper reduction ("deepened").
    pub raise: Vec<FindingDraft>,
    /// Rules whose open finding this observation confirms.
    pub continuing: Vec<Rule>,
    /// Rules whose open finding ends (the rule no longer fires, or it deepened).
    pub close: Vec<Rule>,
}

/// Applies the episode logic: a rule already open is confirmed, or closed
/// and raised again as "deepened" when the reduction deepens; a rule not
/// open is raised after `confirm` consecutive observations (the streak is
/// kept in `history`); an open rule that no longer fires is closed.
pub fn decide(
    fired: Vec<FindingDraft>,
    open: &[(Rule, Option<u32>)],
    history: &mut History,
    confirm: u32,
) -> Decision {
    let mut d = Decision::default();
    let fired_rules: Vec<Rule> = fired.iter().map(|f| f.rule).collect();
    for mut f in fired {
        match open.iter().find(|(r, _)| *r == f.rule) {
            Some((_, was)) => {
                if f.percent.is_some_and(|p| p > was.unwrap_or(0)) && was.is_some() {
                    if let Some(obj) = f.details.as_object_mut() {
                        obj.insert("episode".into(), json!("deepened"));
                        obj.insert("previous_percent".into(), json!(was));
                    }
                    d.close.push(f.rule);
                    d.raise.push(f);
                } else {
                    d.continuing.push(f.rule);
                }
            }
            None => {
                let streak = history.streaks.entry(f.rule).or_insert(0);
                *streak += 1;
                if *streak >= confirm.max(1) {
                    history.streaks.remove(&f.rule);
                    if let Some(obj) = f.details.as_object_mut() {
                        obj.insert("episode".into(), json!("opened"));
                    }
                    d.raise.push(f);
                }
            }
        }
    }
    history.streaks.retain(|r, _| fired_rules.contains(r));
    for (r, _) in open {
        if !fired_rules.contains(r) {
            d.close.push(*r);
        }
    }
    d
}

/// One observation of a product, with what is known of it.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// What the page shows.
    pub offer: &'a ObservedOffer,
    /// The product's baseline (and history) before this observation.
    pub baseline: Option<&'a crate::domain::Baseline>,
    /// Its open findings: (rule, percent).
    pub open: &'a [(Rule, Option<u32>)],
    /// The watched brand.
    pub brand: &'a str,
    /// The shop.
    pub shop: &'a str,
    /// Calendar and clock.
    pub ctx: &'a Context<'a>,
    /// Thresholds and announced promotions.
    pub policy: &'a Policy,
}

/// What one observation changes.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Findings to open, confirm and close.
    pub decision: Decision,
    /// The product's baseline after this observation.
    pub baseline: crate::domain::Baseline,
}

/// The whole detection step for one observation, with no IO: the rules,
/// announced promotions, episodes, and the updated baseline and history.
/// Scans, re-evaluations and benchmarks all go through it.
pub fn assess(o: &Observed<'_>) -> Assessment {
    let now = o.ctx.now;
    let mut history = o.baseline.map(|b| b.history.clone()).unwrap_or_default();
    let mut fired = evaluate(&Input {
        offer: o.offer,
        history: &history,
        ctx: o.ctx,
        policy: o.policy,
    });
    // A promotion the brand announced is reported as such, not as disguised.
    let day = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
    if let Some(a) = o.policy.announced_for(o.brand, o.shop, day) {
        for f in fired.iter_mut().filter(|f| f.rule.lasts()) {
            f.severity = Severity::Announced;
            if let Some(obj) = f.details.as_object_mut() {
                obj.insert(
                    "announced".into(),
                    json!({ "from": a.from, "to": a.to, "note": a.note }),
                );
            }
        }
    }
    let decision = decide(fired, o.open, &mut history, o.policy.confirm);
    let offer = o.offer;
    history.push(
        now,
        offer.price.minor,
        offer.declares_reduction(),
        offer.reference.map(|m| m.minor),
        offer.percent_badge,
    );
    // The regular price: the most frequent undiscounted price of the last
    // 60 days (by time), else the last undiscounted price seen.
    let regular = history
        .regular_price(
            now - chrono::Duration::days(60),
            now + chrono::Duration::seconds(1),
        )
        .map(|m| Money::new(m, offer.price.currency));
    let baseline = crate::domain::Baseline {
        regular,
        last_price: offer.price,
        last_observed_at: now,
        observations: o.baseline.map_or(0, |b| b.observations) + 1,
        history,
    };
    Assessment { decision, baseline }
}

/// The legal basis of R1.
const R1_BASIS: &str =
    "C. com. L310-3 et L310-5 : le mot « soldes » est réservé aux périodes légales";

/// What one scan saw of a shop's own wording: the promotional wording its
/// pages show outside any product's block (a "SOLDES" header banner, a
/// site-wide "jusqu'à -50 %"). It is the shop's, not a product's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopWording {
    /// Pages showing a watched brand's offer read afresh in this scan (a
    /// page that answered 304, or that its sitemap says is unchanged, tells
    /// nothing new and is not counted).
    pub pages_read: usize,
    /// Of those, the pages that show "soldes" wording outside any product's block.
    pub pages_with_soldes: usize,
    /// That wording: (class, text), each once, in the order first seen.
    pub soldes: Vec<(PromoClass, String)>,
    /// The first page it was seen on.
    pub url: Option<String>,
}

impl ShopWording {
    /// Records one page read afresh and the site-wide wording it shows:
    /// (class, text) pairs, of any class (only "soldes" wording is kept).
    pub fn page<'a>(
        &mut self,
        url: &str,
        wording: impl IntoIterator<Item = (PromoClass, &'a str)>,
    ) {
        self.pages_read += 1;
        let mut any = false;
        for (class, text) in wording {
            if !class.is_soldes() {
                continue;
            }
            any = true;
            if !self.soldes.iter().any(|(c, t)| *c == class && t == text) {
                self.soldes.push((class, text.to_string()));
            }
        }
        if any {
            self.pages_with_soldes += 1;
            if self.url.is_none() {
                self.url = Some(url.to_string());
            }
        }
    }
}

/// R1 for the shop as a whole: "soldes" wording shown site-wide (outside
/// any product's block) outside the legal periods. One finding for the
/// shop, not one per product the banner happens to sit above. Its figures
/// carry no price (`price` is zero in the shop's currency).
pub fn r1_site_wide_soldes(
    w: &ShopWording,
    ctx: &Context<'_>,
    currency: crate::domain::Currency,
) -> Option<FindingDraft> {
    let (class, text) = w.soldes.first()?;
    if ctx.calendar.period_at(ctx.zone, ctx.now).is_some() {
        return None;
    }
    let matched: Vec<serde_json::Value> = w
        .soldes
        .iter()
        .map(|(c, t)| json!({ "class": c, "text": t }))
        .collect();
    Some(FindingDraft {
        rule: Rule::R1,
        severity: Severity::Violation,
        legal_basis: format!("{R1_BASIS} (mention affichée sur l'ensemble du site)"),
        price: Money::new(0, currency),
        reference: None,
        percent: None,
        calendar: ctx.calendar_note(),
        details: json!({
            "scope": "shop",
            "matched_text": text,
            "matched_class": class,
            "matched": matched,
            "page": w.url,
            "pages_read": w.pages_read,
            "pages_with_wording": w.pages_with_soldes,
            "zone": ctx.zone.as_str(),
            "evaluated_at": ctx.now.to_rfc3339(),
        }),
    })
}

/// The detection step for a shop's own wording over one scan: its
/// shop-level findings (`open`: those open before the scan) opened,
/// confirmed or closed. A scan that read no page afresh changes nothing.
/// The finding opens on the first scan that sees the wording: `confirm`
/// counts a product's consecutive observations, and the shop has none.
pub fn assess_shop(
    w: &ShopWording,
    open: &[(Rule, Option<u32>)],
    ctx: &Context<'_>,
    policy: &Policy,
    currency: crate::domain::Currency,
) -> Decision {
    if w.pages_read == 0 {
        return Decision::default();
    }
    let fired: Vec<FindingDraft> = if policy.enabled(Rule::R1) {
        r1_site_wide_soldes(w, ctx, currency).into_iter().collect()
    } else {
        Vec::new()
    };
    decide(fired, open, &mut History::default(), 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use chrono::Duration;

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
            reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
            percent_badge: None,
            promo: Vec::new(),
        }
    }

    /// Runs the rules on `o` at `now`, after `days` daily observations of
    /// `regular` ending the day before.
    fn rules(o: &ObservedOffer, now: &str, history: &History) -> Vec<Rule> {
        let cal = Calendar::builtin();
        let ctx = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at(now),
        };
        let policy = Policy::default();
        evaluate(&Input {
            offer: o,
            history,
            ctx: &ctx,
            policy: &policy,
        })
        .into_iter()
        .map(|f| f.rule)
        .collect()
    }

    fn daily(from: &str, days: i64, price: i64) -> History {
        let mut h = History::default();
        for d in 0..days {
            h.push(at(from) + Duration::days(d), price, false, None, None);
        }
        h
    }

    #[test]
    fn r3_fires_on_a_crossed_out_price_outside_the_soldes_only() {
        let h = daily("2026-02-05T09:00:00Z", 33, 18900);
        assert_eq!(
            rules(&offer(12900, Some(18900)), "2026-03-10T09:00:00Z", &h),
            vec![Rule::R3]
        );
        // During the winter soldes 2026 (7 Jan – 3 Feb) the same offer is lawful.
        let h = daily("2025-12-10T09:00:00Z", 35, 18900);
        assert!(rules(&offer(12900, Some(18900)), "2026-01-15T12:00:00Z", &h).is_empty());
        // No reduction, or a reference that is not above the price: nothing.
        assert!(rules(&offer(18900, None), "2026-03-10T09:00:00Z", &h).is_empty());
        // A recommended retail price is not a declared reduction.
        let mut rrp = offer(12900, Some(18900));
        rrp.reference_kind = Some(ReferenceKind::Recommended);
        assert!(!rules(&rrp, "2026-03-10T09:00:00Z", &History::default()).contains(&Rule::R3));
        let cal = Calendar::builtin();
        let ctx = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at("2026-03-10T09:00:00Z"),
        };
        let f = r3_discount_outside_sales(&Input {
            offer: &offer(12900, Some(18900)),
            history: &h,
            ctx: &ctx,
            policy: &Policy::default(),
        })
        .unwrap();
        assert_eq!(f.percent, Some(31));
        assert!(
            f.calendar
                .contains("prochaines soldes du 24/06/2026 au 21/07/2026"),
            "{}",
            f.calendar
        );
    }

    #[test]
    fn soldes_wording_out_of_season_is_r1_and_pre_soldes_r2() {
        let mut o = offer(100, None);
        o.promo = vec![(PromoClass::Soldes, "SOLDES".into())];
        assert_eq!(
            rules(&o, "2026-03-10T09:00:00Z", &History::default()),
            vec![Rule::R1]
        );
        assert!(
            rules(&o, "2026-01-10T09:00:00Z", &History::default()).is_empty(),
            "in the soldes"
        );
        o.promo = vec![(PromoClass::PreSoldes, "Pré-soldes".into())];
        assert_eq!(
            rules(&o, "2026-06-20T09:00:00Z", &History::default()),
            vec![Rule::R2]
        );
    }

    #[test]
    fn a_private_sale_just_before_the_soldes_is_r2() {
        let mut o = offer(8000, Some(10000));
        o.promo = vec![(PromoClass::PrivateSale, "Ventes privées".into())];
        let h = daily("2025-11-20T09:00:00Z", 34, 10000);
        let r = rules(&o, "2025-12-27T09:00:00Z", &h);
        assert!(r.contains(&Rule::R2) && r.contains(&Rule::R3), "{r:?}");
        let r = rules(&o, "2025-11-10T09:00:00Z", &History::default());
        assert!(!r.contains(&Rule::R2), "two months before: {r:?}");
    }

    #[test]
    fn a_badge_without_a_prior_price_is_r4() {
        let mut o = offer(8000, None);
        o.percent_badge = Some(20);
        let r = rules(&o, "2026-03-10T09:00:00Z", &History::default());
        assert!(r.contains(&Rule::R4), "{r:?}");
    }

    #[test]
    fn a_reference_above_the_30_day_low_is_r5_and_a_big_badge_r6() {
        let h = daily("2026-02-05T09:00:00Z", 33, 10000);
        // Crossed-out 150 € never charged: the 30-day low is 100 €.
        assert_eq!(
            rules(&offer(9000, Some(15000)), "2026-03-10T09:00:00Z", &h),
            vec![Rule::R3, Rule::R5]
        );
        // "-50 %" against the lawful base of 100 € for 70 €: 30 % at most.
        let mut o = offer(7000, Some(10000));
        o.percent_badge = Some(50);
        assert_eq!(
            rules(&o, "2026-03-10T09:00:00Z", &h),
            vec![Rule::R3, Rule::R6]
        );
        // Not enough history: R5/R6 do not guess.
        assert_eq!(
            rules(
                &offer(9000, Some(15000)),
                "2026-03-10T09:00:00Z",
                &History::default()
            ),
            vec![Rule::R3]
        );
    }

    #[test]
    fn the_reference_of_a_continuous_campaign_stays_the_first_one() {
        let mut h = daily("2026-02-01T09:00:00Z", 30, 10000);
        // First step: 100 → 80 (reference 100, lawful).
        for d in 0..10 {
            h.push(
                at("2026-03-03T09:00:00Z") + Duration::days(d),
                8000,
                true,
                Some(10000),
                None,
            );
        }
        // Second step, deeper: 60 against 100 — still the price before the first step.
        let r = rules(&offer(6000, Some(10000)), "2026-03-13T09:00:00Z", &h);
        assert_eq!(
            r,
            vec![Rule::R3],
            "the 30-day low is 80 € now, but the campaign's base is 100 €"
        );
    }

    #[test]
    fn a_promotion_that_never_ends_is_r7() {
        let mut h = History::default();
        for d in 0..50 {
            h.push(
                at("2026-02-05T09:00:00Z") + Duration::days(d),
                8000,
                true,
                Some(12000),
                None,
            );
        }
        let r = rules(&offer(8000, Some(12000)), "2026-03-27T09:00:00Z", &h);
        assert!(r.contains(&Rule::R7), "{r:?}");
    }

    #[test]
    fn a_price_pumped_then_reduced_is_r8() {
        let mut h = daily("2026-01-01T09:00:00Z", 20, 8000);
        for d in 0..40 {
            h.push(
                at("2026-01-21T09:00:00Z") + Duration::days(d),
                10000,
                false,
                None,
                None,
            );
        }
        let r = rules(&offer(8000, Some(10000)), "2026-03-02T09:00:00Z", &h);
        assert!(r.contains(&Rule::R8), "{r:?}");
        assert!(
            !r.contains(&Rule::R5),
            "the reference was charged in the 30 days: {r:?}"
        );
    }

    #[test]
    fn a_silent_cut_of_15_percent_or_more_is_r9() {
        let h = daily("2026-02-01T09:00:00Z", 30, 10000);
        assert_eq!(
            rules(&offer(8000, None), "2026-03-05T09:00:00Z", &h),
            vec![Rule::R9]
        );
        assert!(
            rules(&offer(9000, None), "2026-03-05T09:00:00Z", &h).is_empty(),
            "10 % is below the threshold"
        );
    }

    fn draft_with(rule: &str, percent: Option<u32>) -> FindingDraft {
        FindingDraft {
            rule: rule.parse().unwrap(),
            severity: Severity::Report,
            legal_basis: String::new(),
            price: eur(100),
            reference: None,
            percent,
            calendar: String::new(),
            details: json!({}),
        }
    }

    /// A scan of a shop: `pages` pages read afresh, each showing `wording`.
    fn shop_scan(pages: usize, wording: &[(&str, &str)]) -> ShopWording {
        let mut w = ShopWording::default();
        for n in 0..pages {
            w.page(
                &format!("https://shop.example/p/{n}"),
                wording
                    .iter()
                    .filter_map(|(c, text)| c.parse().ok().map(|c| (c, *text))),
            );
        }
        w
    }

    fn assess_shop_at(w: &ShopWording, open: &[(Rule, Option<u32>)], now: &str) -> Decision {
        let cal = Calendar::builtin();
        let ctx = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at(now),
        };
        assess_shop(w, open, &ctx, &Policy::default(), Currency::EUR)
    }

    #[test]
    fn site_wide_soldes_wording_is_one_shop_level_r1_per_episode() {
        let banner = [
            ("soldes", "SOLDES jusqu'à -50 %"),
            ("percent_badge", "-50 %"),
        ];
        // Three pages show the banner, in March: one finding for the shop.
        let w = shop_scan(3, &banner);
        assert_eq!((w.pages_read, w.pages_with_soldes), (3, 3));
        assert_eq!(
            w.soldes,
            vec![(PromoClass::Soldes, "SOLDES jusqu'à -50 %".to_string())],
            "each wording once, and only soldes wording"
        );
        assert_eq!(w.url.as_deref(), Some("https://shop.example/p/0"));
        let d = assess_shop_at(&w, &[], "2026-03-10T09:00:00Z");
        assert_eq!(d.raise.len(), 1, "{d:?}");
        let f = &d.raise[0];
        assert_eq!((f.rule.as_str(), f.severity.as_str()), ("R1", "violation"));
        assert!(f.legal_basis.contains("L310-3"), "{}", f.legal_basis);
        assert_eq!(f.details["scope"], "shop");
        assert_eq!(f.details["matched_text"], "SOLDES jusqu'à -50 %");
        assert_eq!(f.details["page"], "https://shop.example/p/0");
        assert_eq!(f.details["pages_with_wording"], 3);
        assert_eq!(f.details["episode"], "opened");
        assert_eq!((f.reference, f.percent), (None, None));
        assert!(f.calendar.contains("hors soldes"), "{}", f.calendar);
        // The next scan sees it again: the same episode goes on.
        let open = vec![(Rule::R1, None)];
        let d = assess_shop_at(&shop_scan(3, &banner), &open, "2026-03-11T09:00:00Z");
        assert_eq!(
            (d.raise.len(), d.continuing.clone(), d.close.len()),
            (0, vec![Rule::R1], 0)
        );
        // Every page answered 304: nothing is known, nothing changes.
        let d = assess_shop_at(&shop_scan(0, &banner), &open, "2026-03-12T09:00:00Z");
        assert_eq!(d, Decision::default());
        // The banner is gone from the pages read: the episode closes.
        let d = assess_shop_at(&shop_scan(2, &[]), &open, "2026-03-13T09:00:00Z");
        assert_eq!((d.raise.len(), d.close.clone()), (0, vec![Rule::R1]));
        // Wording that is not "soldes" wording is not R1.
        let d = assess_shop_at(
            &shop_scan(3, &[("percent_badge", "jusqu'à -50 %"), ("promo", "Promo")]),
            &[],
            "2026-03-10T09:00:00Z",
        );
        assert!(d.raise.is_empty(), "{d:?}");
    }

    #[test]
    fn site_wide_soldes_wording_in_the_soldes_or_with_r1_off_is_nothing() {
        let banner = [("soldes", "SOLDES")];
        // Winter soldes 2026: 7 Jan – 3 Feb.
        let d = assess_shop_at(&shop_scan(2, &banner), &[], "2026-01-15T12:00:00Z");
        assert!(d.raise.is_empty(), "{d:?}");
        // An episode open when the soldes start ends with them.
        let open = vec![(Rule::R1, None)];
        let d = assess_shop_at(&shop_scan(2, &banner), &open, "2026-01-15T12:00:00Z");
        assert_eq!(d.close, vec![Rule::R1]);
        // "Pré-soldes" is soldes wording too.
        let w = shop_scan(1, &[("pre_soldes", "Pré-soldes : accès VIP")]);
        let d = assess_shop_at(&w, &[], "2026-06-10T09:00:00Z");
        assert_eq!(d.raise.len(), 1);
        assert_eq!(d.raise[0].details["matched_class"], "pre_soldes");
        // A collective that switched R1 off hears nothing.
        let cal = Calendar::builtin();
        let ctx = Context {
            calendar: &cal,
            zone: Zone::National,
            now: at("2026-03-10T09:00:00Z"),
        };
        let policy = Policy {
            rules: vec![Rule::R3],
            ..Policy::default()
        };
        let d = assess_shop(&shop_scan(2, &banner), &[], &ctx, &policy, Currency::EUR);
        assert!(d.raise.is_empty());
    }

    #[test]
    fn episodes_open_continue_deepen_and_close() {
        let mut h = History::default();
        let open = vec![(Rule::R3, Some(20))];
        let d = decide(vec![draft_with("R3", Some(20))], &open, &mut h, 1);
        assert_eq!(
            (d.raise.len(), d.continuing.clone(), d.close.len()),
            (0, vec![Rule::R3], 0)
        );
        let d = decide(vec![draft_with("R3", Some(40))], &open, &mut h, 1);
        assert_eq!(d.raise[0].details["episode"], "deepened");
        assert_eq!(d.close, vec![Rule::R3]);
        let d = decide(vec![], &open, &mut h, 1);
        assert_eq!(d.close, vec![Rule::R3]);
    }

    #[test]
    fn confirmation_waits_for_n_consecutive_observations() {
        let mut h = History::default();
        assert!(
            decide(vec![draft_with("R9", Some(20))], &[], &mut h, 3)
                .raise
                .is_empty()
        );
        assert!(
            decide(vec![draft_with("R9", Some(20))], &[], &mut h, 3)
                .raise
                .is_empty()
        );
        assert_eq!(
            decide(vec![draft_with("R9", Some(20))], &[], &mut h, 3)
                .raise
                .len(),
            1
        );
        // A break resets the streak.
        assert!(
            decide(vec![draft_with("R9", Some(20))], &[], &mut h, 3)
                .raise
                .is_empty()
        );
        decide(vec![], &[], &mut h, 3);
        assert!(
            decide(vec![draft_with("R9", Some(20))], &[], &mut h, 3)
                .raise
                .is_empty()
        );
    }
}
