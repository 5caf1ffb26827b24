//! One way of attaching the labels to the amounts, judged: what each
//! amount is, the price (or range) and the former price they give, and
//! whether the amounts agree.

use super::amounts::Amt;
use super::labels::{Aside, Role};
use super::{FormerKind, FormerPrice, Outcome, ParsedPrice, PriceBlockReading, PriceTextError};
use crate::domain::Money;

/// What an amount is, once its labels are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Price { current: bool, from: bool },
    Net,
    Former(FormerKind),
    Aside(Aside),
}

/// A price or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    low: Money,
    high: Option<Money>,
    current: bool,
    from: bool,
    /// Written with a currency (at either end of a range).
    marked: bool,
}

impl Candidate {
    fn top(&self) -> Money {
        self.high.unwrap_or(self.low)
    }
}

/// The amounts of a text, ready to be judged under one labelling.
pub(super) struct Block<'a> {
    /// The text as given, for the errors.
    pub(super) original: &'a str,
    /// The text writes a currency somewhere.
    pub(super) text_marked: bool,
    pub(super) amts: &'a [Amt],
    /// Each amount's value, in the text's currency.
    pub(super) values: &'a [Money],
    /// Whether each amount follows a range connector.
    pub(super) connector_before: &'a [bool],
}

impl Block<'_> {
    fn ambiguous(&self, why: &str) -> PriceTextError {
        PriceTextError::Ambiguous(self.original.to_string(), why.to_string())
    }

    fn classify(&self, k: usize, labels: &[Vec<(usize, Role)>]) -> Result<Class, PriceTextError> {
        let mut roles: Vec<Role> = labels[k].iter().map(|(_, r)| *r).collect();
        // "UVP 59 € - 69 €", "de 10 € à 20 €": the second end of a range
        // shares the first one's labels.
        if self.connector_before[k] {
            let lo = self.amts[k - 1].lo;
            roles.extend(
                labels[k - 1]
                    .iter()
                    .filter(|(p, _)| *p < lo)
                    .map(|(_, r)| *r),
            );
        }
        if let Some(a) = self.amts[k].bound {
            return Ok(Class::Aside(a));
        }
        if let Some(a) = roles.iter().find_map(|r| match r {
            Role::Aside(a) => Some(*a),
            _ => None,
        }) {
            return Ok(Class::Aside(a));
        }
        let has = |r: Role| roles.contains(&r);
        let current = has(Role::Current);
        let former = [
            FormerKind::Recommended,
            FormerKind::List,
            FormerKind::Previous,
        ]
        .into_iter()
        .find(|kind| has(Role::Former(*kind)));
        if let Some(kind) = former {
            if current {
                return Err(self.ambiguous("an amount labelled both current and former"));
            }
            return Ok(Class::Former(kind));
        }
        match (has(Role::Gross), has(Role::Net)) {
            (true, true) => Err(self.ambiguous("an amount labelled both with and without tax")),
            (false, true) => Ok(Class::Net),
            _ => Ok(Class::Price {
                current,
                from: has(Role::From),
            }),
        }
    }

    /// The reading one labelling gives: `labels[k]` holds the labels of
    /// amount `k`, with where each starts.
    pub(super) fn evaluate(
        &self,
        labels: &[Vec<(usize, Role)>],
    ) -> Result<Outcome, PriceTextError> {
        let n = self.amts.len();
        let classes = (0..n)
            .map(|k| self.classify(k, labels))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut prices, mut nets) = self.candidates(&classes)?;
        if prices.is_empty() {
            // An element holding only a price before tax shows that price.
            prices = std::mem::take(&mut nets);
        }
        // In a text that writes a currency, a number without one is a
        // fragment or a count, never the price ("0,00 € 1 kgau").
        let any_marked = self.text_marked;
        let bare_former =
            (0..n).any(|k| matches!(classes[k], Class::Former(_)) && !self.amts[k].marked());
        if any_marked && bare_former {
            return Err(self.ambiguous("a former price without a currency"));
        }
        let mut formers: Vec<FormerPrice> = (0..n)
            .filter_map(|k| match classes[k] {
                Class::Former(kind) => Some(FormerPrice {
                    amount: self.values[k],
                    kind,
                }),
                _ => None,
            })
            .collect();
        let asides: Vec<(Aside, Money)> = (0..n)
            .filter_map(|k| match classes[k] {
                Class::Aside(a) => Some((a, self.values[k])),
                _ => None,
            })
            .collect();
        let current = match prices.as_slice() {
            [] => return self.without_price(&formers, &asides),
            [one] => *one,
            [a, b] if a.current != b.current && a.high.is_none() && b.high.is_none() => {
                let (cur, other) = if a.current { (*a, *b) } else { (*b, *a) };
                formers.push(FormerPrice {
                    amount: other.low,
                    kind: FormerKind::Unmarked,
                });
                cur
            }
            _ => return Err(PriceTextError::SeveralNumbers(self.original.to_string())),
        };
        if any_marked && prices.iter().any(|p| !p.marked) {
            return Err(self.ambiguous("an amount without a currency beside amounts with one"));
        }
        let top = current.top();
        if nets.iter().any(|net| net.low.minor >= top.minor) {
            return Err(self.ambiguous("a price before tax not below the price"));
        }
        for (a, v) in &asides {
            if matches!(a, Aside::Component | Aside::Instalment) && v.minor >= current.low.minor {
                return Err(self.ambiguous(&format!("{} not below the price", a.describe())));
            }
        }
        let former = self.former_price(&formers, top)?;
        Ok(Outcome::Block(PriceBlockReading {
            current: ParsedPrice {
                amount: current.low,
                from: current.from,
                range_max: current.high,
            },
            former,
        }))
    }

    /// The prices and the prices before tax, each range joined into one
    /// candidate and the same amount written twice counted once.
    fn candidates(
        &self,
        classes: &[Class],
    ) -> Result<(Vec<Candidate>, Vec<Candidate>), PriceTextError> {
        let n = self.amts.len();
        let mut prices: Vec<Candidate> = Vec::new();
        let mut nets: Vec<Candidate> = Vec::new();
        let mut k = 0;
        while k < n {
            let (current, from) = match classes[k] {
                Class::Price { current, from } => (current, from),
                Class::Net => (false, false),
                _ => {
                    k += 1;
                    continue;
                }
            };
            let mut cand = Candidate {
                low: self.values[k],
                high: None,
                current,
                from,
                marked: self.amts[k].marked(),
            };
            if k + 1 < n && self.connector_before[k + 1] && classes[k + 1] == classes[k] {
                if k + 2 < n && self.connector_before[k + 2] {
                    return Err(PriceTextError::SeveralNumbers(self.original.to_string()));
                }
                let high = self.values[k + 1];
                if high.minor < cand.low.minor {
                    return Err(PriceTextError::Unreadable(
                        self.original.to_string(),
                        "range ends below its start".into(),
                    ));
                }
                cand.high = Some(high);
                cand.marked |= self.amts[k + 1].marked();
                k += 1;
            }
            let list = if classes[k] == Class::Net {
                &mut nets
            } else {
                &mut prices
            };
            match list
                .iter_mut()
                .find(|c| c.low == cand.low && c.high == cand.high)
            {
                Some(same) => {
                    same.current |= cand.current;
                    same.from |= cand.from;
                    same.marked |= cand.marked;
                }
                None => list.push(cand),
            }
            k += 1;
        }
        Ok((prices, nets))
    }

    /// The former price to report, above the current one (`top`, the high
    /// end of a range): the first of previous, unmarked, list and
    /// recommended; several of one kind that differ are an error.
    fn former_price(
        &self,
        formers: &[FormerPrice],
        top: Money,
    ) -> Result<Option<FormerPrice>, PriceTextError> {
        let mut former = None;
        for kind in [
            FormerKind::Previous,
            FormerKind::Unmarked,
            FormerKind::List,
            FormerKind::Recommended,
        ] {
            let mut of_kind = formers.iter().filter(|f| f.kind == kind).map(|f| f.amount);
            let Some(v) = of_kind.next() else { continue };
            if of_kind.any(|w| w != v) {
                return Err(self.ambiguous("several former prices of one kind"));
            }
            let above = match kind {
                FormerKind::Previous | FormerKind::Unmarked => v.minor > top.minor,
                FormerKind::List | FormerKind::Recommended => v.minor >= top.minor,
            };
            if !above {
                return Err(self.ambiguous("a former price below the current one"));
            }
            former.get_or_insert(FormerPrice { amount: v, kind });
        }
        Ok(former)
    }

    /// A text showing no price of the item: the former price a crossed-out
    /// element shows, or an error saying what it shows instead.
    fn without_price(
        &self,
        formers: &[FormerPrice],
        asides: &[(Aside, Money)],
    ) -> Result<Outcome, PriceTextError> {
        let original = self.original.to_string();
        if let Some(a) = asides.iter().map(|(a, _)| *a).next() {
            return Err(match a {
                Aside::Negative => PriceTextError::Negative(original),
                Aside::MultiBuy => PriceTextError::SeveralNumbers(original),
                a => PriceTextError::NotTheItemPrice(original, a.describe().into()),
            });
        }
        match formers.first() {
            Some(f) if formers.iter().all(|g| g.amount == f.amount) => {
                Ok(Outcome::FormerOnly(ParsedPrice {
                    amount: f.amount,
                    from: false,
                    range_max: None,
                }))
            }
            _ => Err(PriceTextError::SeveralNumbers(original)),
        }
    }
}
