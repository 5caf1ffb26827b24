//! The amounts of a text: the numbers that are amounts, each with the
//! currency markers written beside it, decimals written apart joined back,
//! repeated copies merged, and minus signs and range dashes told apart.

use super::currency::Mark;
use super::labels::Aside;
use super::numbers::{Num, NumKind, amount, is_cents, is_plain_integer};
use super::text::skip_space;
use crate::domain::{Currency, Money};

/// An amount of the text, with the currency markers it owns.
#[derive(Debug, Clone)]
pub(super) struct Amt {
    /// With its currency markers.
    pub(super) lo: usize,
    pub(super) hi: usize,
    pub(super) token: String,
    pub(super) leading_sep: bool,
    pub(super) marker_before: bool,
    pub(super) marker_after: bool,
    pub(super) euro_after: bool,
    /// Set aside by the number before it ("3 ×") or a minus sign.
    pub(super) bound: Option<Aside>,
}

impl Amt {
    /// Written with a currency of its own.
    pub(super) fn marked(&self) -> bool {
        self.marker_before || self.marker_after || self.token.contains('€')
    }
}

const RANGE_CONNECTORS: &[&str] = &["-", "a", "to", "bis", "~", "/"];

/// The numbers of kind [`NumKind::Amount`], each with the markers it owns;
/// an amount right after a count ("3 ×") is bound to it.
pub(super) fn amounts(c: &[char], nums: &[Num], kinds: &[NumKind], marks: &[Mark]) -> Vec<Amt> {
    let owner = marker_owners(c, nums, kinds, marks);
    let mut amts: Vec<Amt> = Vec::new();
    let mut count: Option<(Aside, usize)> = None;
    for (idx, (n, kind)) in nums.iter().zip(kinds).enumerate() {
        match kind {
            NumKind::Count(a) => {
                count = Some((*a, n.end));
                continue;
            }
            NumKind::Amount => {}
            _ => {
                count = None;
                continue;
            }
        }
        let mut a = Amt {
            lo: n.start,
            hi: n.end,
            token: n.token.clone(),
            leading_sep: n.leading_sep,
            marker_before: false,
            marker_after: false,
            euro_after: false,
            // "3 × 15 €", "3 mensualités de 15 €", not "3 fois sans frais. 90 €".
            bound: count
                .take()
                .filter(|(_, end)| !c[*end..n.start].iter().any(|ch| ".;|!?".contains(*ch)))
                .map(|(a, _)| a),
        };
        for (m, _) in marks.iter().zip(&owner).filter(|(_, o)| **o == Some(idx)) {
            if m.start >= n.end {
                a.hi = a.hi.max(m.end);
                a.marker_after = true;
                a.euro_after |= m.euro;
            } else {
                a.lo = a.lo.min(m.start);
                a.marker_before = true;
            }
        }
        amts.push(a);
    }
    amts
}

/// Which amount owns each currency marker. Between two amounts it goes
/// to the one written in the same style as its neighbours: "49,99
/// €49,99 €" and "35 € 99" (the first), "€59 €47" and "EUR 0,02 EUR
/// 0,01" (the second); with no such sign, to the first when it touches
/// only the first ("35€ 99") or the second is split cents ("35 € 99"),
/// else to neither ("0,00 €4 avis", "12:30€0.00", "12:30 EUR 0,00").
fn marker_owners(
    c: &[char],
    nums: &[Num],
    kinds: &[NumKind],
    marks: &[Mark],
) -> Vec<Option<usize>> {
    let amount_nums: Vec<usize> = (0..nums.len())
        .filter(|&k| kinds[k] == NumKind::Amount)
        .collect();
    let number_after = |m: &Mark| {
        amount_nums
            .iter()
            .copied()
            .find(|&x| m.end == nums[x].start || skip_space(c, m.end) == nums[x].start)
    };
    let number_before = |m: &Mark| {
        amount_nums.iter().copied().find(|&x| {
            !m.prefix_only && (m.start == nums[x].end || m.start == skip_space(c, nums[x].end))
        })
    };
    marks
        .iter()
        .enumerate()
        .map(|(k, m)| match (number_before(m), number_after(m)) {
            (None, None) => None,
            (Some(a), None) => Some(a),
            (None, Some(b)) => Some(b),
            (Some(a), Some(b)) => {
                let others = || marks.iter().enumerate().filter(move |(j, _)| *j != k);
                if others().any(|(_, o)| number_before(o) == Some(b)) {
                    Some(a)
                } else if others().any(|(_, o)| number_after(o) == Some(a)) {
                    Some(b)
                } else if m.end != nums[b].start
                    && (m.start == nums[a].end || is_cents(&nums[b].token))
                {
                    Some(a)
                } else {
                    None
                }
            }
        })
        .collect()
}

/// "35€ 99", "35 € 99", "392. 00", "392 .00", "49 ,99": decimals written
/// apart from their units, joined back when the result reads.
pub(super) fn join_split_decimals(
    c: &[char],
    amts: Vec<Amt>,
    currency: Currency,
    original: &str,
) -> Vec<Amt> {
    let mut out: Vec<Amt> = Vec::with_capacity(amts.len());
    for b in amts {
        if let Some(a) = out.last_mut()
            && is_plain_integer(&a.token)
            && !a.marker_before
            && b.bound.is_none()
            && !b.marker_before
        {
            let between: String = c[a.hi..b.lo].iter().collect();
            let two_digits = !b.leading_sep && is_cents(&b.token);
            let joined =
                if a.euro_after && two_digits && !b.marker_after && between.trim().is_empty() {
                    Some(format!("{},{}", a.token, b.token))
                } else if !a.marker_after
                    && b.leading_sep
                    && !between.is_empty()
                    && between.trim().is_empty()
                {
                    Some(format!("{}{}", a.token, b.token))
                } else if !a.marker_after
                    && two_digits
                    && between.contains(' ')
                    && matches!(between.trim(), "," | ".")
                {
                    Some(format!("{}{}{}", a.token, between.trim(), b.token))
                } else {
                    None
                };
            if let Some(token) = joined
                && amount(&token, currency, original).is_ok()
            {
                a.token = token;
                a.hi = b.hi;
                a.marker_after = a.marker_after || b.marker_after;
                a.euro_after = a.euro_after || b.euro_after;
                continue;
            }
        }
        out.push(b);
    }
    out
}

/// The same amount written again right after itself (a screen-reader copy
/// beside the visual one) is one amount.
pub(super) fn join_repeats(
    c: &[char],
    amts: Vec<Amt>,
    values: Vec<Money>,
) -> (Vec<Amt>, Vec<Money>) {
    let mut out: Vec<Amt> = Vec::with_capacity(amts.len());
    let mut out_values: Vec<Money> = Vec::with_capacity(values.len());
    for (b, v) in amts.into_iter().zip(values) {
        if let (Some(a), Some(av)) = (out.last_mut(), out_values.last())
            && *av == v
            && a.bound == b.bound
            && c[a.hi..b.lo].iter().all(|ch| *ch == ' ')
        {
            a.hi = b.hi;
            continue;
        }
        out.push(b);
        out_values.push(v);
    }
    (out, out_values)
}

/// Whether each amount follows a range connector: "10 € - 20 €", "de 10 €
/// à 20 €"; a word stands alone ("A4" is no "à").
pub(super) fn range_connectors(c: &[char], amts: &[Amt]) -> Vec<bool> {
    (0..amts.len())
        .map(|k| {
            let g = if k > 0 {
                gap(c, amts[k - 1].hi, amts[k].lo)
            } else {
                String::new()
            };
            let t = g.trim();
            RANGE_CONNECTORS.contains(&t)
                && (!t.chars().all(char::is_alphabetic) || (g.starts_with(' ') && g.ends_with(' ')))
        })
        .collect()
}

/// Sets aside an amount with a minus sign right before it (not a range
/// dash).
pub(super) fn set_negatives_aside(c: &[char], amts: &mut [Amt], connector_before: &[bool]) {
    for k in 0..amts.len() {
        let from = if k == 0 { 0 } else { amts[k - 1].hi };
        let head = gap(c, from, amts[k].lo);
        if head.trim_end().ends_with('-') && !connector_before[k] {
            amts[k].bound = Some(Aside::Negative);
        }
    }
}

/// The text between two positions.
fn gap(c: &[char], from: usize, to: usize) -> String {
    c[from..to].iter().collect()
}
