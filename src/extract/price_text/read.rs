//! Reading a text, step by step: the characters, the numbers, the currency
//! markers and labels between them, the amounts, the text's currency, where
//! each label goes, and the one reading that fits.

use super::amounts::{
    Amt, amounts, join_repeats, join_split_decimals, range_connectors, set_negatives_aside,
};
use super::currency::{Mark, marker_at, resolve};
use super::evaluate::Block;
use super::labels::{Aside, Attach, Phrase, Role, phrase_at};
use super::numbers::{Num, NumKind, amount, dates_and_times, num_kind, scan_numbers};
use super::text::normalize;
use super::{Outcome, PriceTextError};
use crate::domain::Currency;

/// Where a label goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    To(usize),
    Either(usize, usize),
    Nowhere,
}

/// At most this many labels tried both ways (2^n readings).
const MAX_UNDECIDED: usize = 6;

const HEAD_PUNCTUATION: &[char] = &['(', '[', '|', '•', '·', ';', '/'];

/// Reads a text into the one reading that fits (see the module
/// documentation).
pub(super) fn read(text: &str, default: Option<Currency>) -> Result<Outcome, PriceTextError> {
    let original = text;
    let c = normalize(text)
        .map_err(|why| PriceTextError::Unreadable(original.to_string(), why.to_string()))?;
    let nums = scan_numbers(&c);
    if nums.iter().any(|n| n.glued_groups) {
        return Err(PriceTextError::Unreadable(
            original.to_string(),
            "digits glued to a word, then grouped: where the number starts is unclear".into(),
        ));
    }
    let marks = find_marks(&c, &nums);
    let phrases = find_phrases(&c, &nums, &marks);
    if phrases.iter().any(|p| p.role == Role::Free) {
        return Err(PriceTextError::NotAPrice(original.to_string()));
    }
    let kinds = number_kinds(&c, &nums, &marks, original)?;
    let amts = amounts(&c, &nums, &kinds, &marks);
    if amts.is_empty() {
        return Err(if kinds.contains(&NumKind::Percent) {
            PriceTextError::NotAPrice(original.to_string())
        } else {
            PriceTextError::NoAmount(original.to_string())
        });
    }
    let currency = text_currency(&marks, &amts, default, original)?;
    let amts = join_split_decimals(&c, amts, currency, original);
    let mut values = Vec::with_capacity(amts.len());
    for a in &amts {
        values.push(amount(&a.token, currency, original)?);
    }
    let (mut amts, values) = join_repeats(&c, amts, values);
    let connector_before = range_connectors(&c, &amts);
    set_negatives_aside(&c, &mut amts, &connector_before);
    let targets = place_labels(&c, &amts, &phrases, &nums);
    let block = Block {
        original,
        text_marked: !marks.is_empty() || amts.iter().any(Amt::marked),
        amts: &amts,
        values: &values,
        connector_before: &connector_before,
    };
    the_one_reading(&block, &phrases, &targets)
}

/// The currency markers outside the numbers.
fn find_marks(c: &[char], nums: &[Num]) -> Vec<Mark> {
    let in_num = |k: usize| nums.iter().any(|n| (n.start..n.end).contains(&k));
    let mut marks: Vec<Mark> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !in_num(i)
            && let Some(m) = marker_at(c, i)
        {
            marks.push(m);
            i = m.end;
        } else {
            i += 1;
        }
    }
    marks
}

/// The labels outside the numbers and markers.
fn find_phrases(c: &[char], nums: &[Num], marks: &[Mark]) -> Vec<Phrase> {
    let in_num = |k: usize| nums.iter().any(|n| (n.start..n.end).contains(&k));
    let in_mark = |k: usize| marks.iter().any(|m| (m.start..m.end).contains(&k));
    let mut phrases: Vec<Phrase> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !in_num(i)
            && !in_mark(i)
            && let Some(p) = phrase_at(c, i)
        {
            phrases.push(p);
            i = p.end;
        } else {
            i += 1;
        }
    }
    phrases
}

/// What each number is; an amount glued to a word is an error, and the
/// numbers of a date or a time are codes.
fn number_kinds(
    c: &[char],
    nums: &[Num],
    marks: &[Mark],
    original: &str,
) -> Result<Vec<NumKind>, PriceTextError> {
    let mut kinds: Vec<NumKind> = nums.iter().map(|n| num_kind(c, n, marks)).collect();
    if kinds.contains(&NumKind::Garbled) {
        return Err(PriceTextError::Unreadable(
            original.to_string(),
            "an amount glued to a word".into(),
        ));
    }
    for k in dates_and_times(c, nums, &kinds, marks) {
        kinds[k] = NumKind::Code;
    }
    Ok(kinds)
}

/// One currency for the whole text: the markers', the euro sign inside a
/// number ("29€99"), or the default.
fn text_currency(
    marks: &[Mark],
    amts: &[Amt],
    default: Option<Currency>,
    original: &str,
) -> Result<Currency, PriceTextError> {
    let several =
        || PriceTextError::Ambiguous(original.to_string(), "amounts in several currencies".into());
    let mut currency: Option<Currency> = None;
    for m in marks {
        let r = resolve(m.cur, default)
            .ok_or_else(|| PriceTextError::MissingCurrency(original.to_string()))?;
        if currency.is_some_and(|cur| cur != r) {
            return Err(several());
        }
        currency = Some(r);
    }
    if amts.iter().any(|a| a.token.contains('€')) {
        if currency.is_some_and(|cur| cur != Currency::EUR) {
            return Err(several());
        }
        currency = Some(Currency::EUR);
    }
    currency
        .or(default)
        .ok_or_else(|| PriceTextError::MissingCurrency(original.to_string()))
}

/// Tries every way the labels that may go either way can go, and returns
/// the one reading they agree on; none or several is an error.
fn the_one_reading(
    block: &Block<'_>,
    phrases: &[Phrase],
    targets: &[Target],
) -> Result<Outcome, PriceTextError> {
    let original = block.original;
    let undecided: Vec<usize> = (0..targets.len())
        .filter(|&k| matches!(targets[k], Target::Either(..)))
        .collect();
    if undecided.len() > MAX_UNDECIDED {
        return Err(PriceTextError::Ambiguous(
            original.to_string(),
            "too many labels between the amounts".into(),
        ));
    }
    let mut readings: Vec<Outcome> = Vec::new();
    let mut first_error = None;
    for mask in 0u32..(1 << undecided.len()) {
        let mut labels: Vec<Vec<(usize, Role)>> = vec![Vec::new(); block.amts.len()];
        for (pi, (p, target)) in phrases.iter().zip(targets).enumerate() {
            let to = match *target {
                Target::To(k) => k,
                Target::Either(prev, next) => match undecided.iter().position(|&u| u == pi) {
                    Some(b) if mask & (1 << b) != 0 => prev,
                    _ => next,
                },
                Target::Nowhere => continue,
            };
            labels[to].push((p.start, p.role));
        }
        match block.evaluate(&labels) {
            Ok(r) => {
                if !readings.contains(&r) {
                    readings.push(r);
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match readings.as_slice() {
        [one] => Ok(*one),
        [] => Err(first_error.unwrap_or_else(|| PriceTextError::NoAmount(original.to_string()))),
        _ => Err(PriceTextError::Ambiguous(
            original.to_string(),
            "the words around the amounts fit several readings".into(),
        )),
    }
}

/// Which amount each label belongs to. Before the first amount, labels go
/// to it; after the last, suffix labels go to it. Between two amounts, the
/// first prefix label or opening bracket starts the next amount's labels;
/// suffix labels before it go to the amount before, and labels that may
/// go either way are tried both ways. No label reaches across a sentence
/// break, and a label that makes an amount a former, current or "from"
/// price reaches only the amount right beside it.
fn place_labels(c: &[char], amts: &[Amt], phrases: &[Phrase], nums: &[Num]) -> Vec<Target> {
    let n = amts.len();
    let gap_of = |pos: usize| amts.iter().take_while(|a| a.hi <= pos).count();
    let in_phrase = |k: usize| phrases.iter().any(|p| (p.start..p.end).contains(&k));
    let in_amount = |k: usize| amts.iter().any(|a| (a.lo..a.hi).contains(&k));
    let in_number = |k: usize| nums.iter().any(|x| (x.start..x.end).contains(&k));
    let free = |k: usize| !in_phrase(k) && !in_amount(k) && !in_number(k);
    // Where the labels of amount g start, in the gap before it.
    let split: Vec<Option<usize>> = (0..=n)
        .map(|g| {
            if g == 0 || g == n {
                return None;
            }
            let (from, to) = (amts[g - 1].hi, amts[g].lo);
            let by_label = phrases
                .iter()
                .filter(|p| p.attach == Attach::Next && p.start >= from && p.end <= to)
                .map(|p| p.start)
                .min();
            let by_bracket = (from..to).find(|&k| HEAD_PUNCTUATION.contains(&c[k]) && free(k));
            by_label.into_iter().chain(by_bracket).min()
        })
        .collect();
    let from_before = |k: usize| {
        phrases
            .iter()
            .any(|p| p.role == Role::From && gap_of(p.start) == k)
    };
    // Whether a label reaches an amount across the text between them:
    // never across a sentence break; an aside across other words ("Prix
    // membre exclusif 40 €"), other labels only across other labels ("ab
    // nur 9,99 €", not "Commandez avant 12:30 49,90 €").
    let reaches = |role: Role, from: usize, to: usize| {
        let sentence_break = (from..to).any(|k| ".!?;|".contains(c[k]) && free(k));
        let loose = (from..to).any(|k| {
            (c[k].is_alphabetic() && !in_phrase(k)) || (c[k].is_ascii_digit() && !in_amount(k))
        });
        !sentence_break && (matches!(role, Role::Aside(_)) || !loose)
    };
    let forward = |p: &Phrase, g: usize| {
        if reaches(p.role, p.end, amts[g].lo) {
            Target::To(g)
        } else {
            Target::Nowhere
        }
    };
    let backward = |p: &Phrase, g: usize| {
        if reaches(p.role, amts[g].hi, p.start) {
            Target::To(g)
        } else {
            Target::Nowhere
        }
    };
    phrases
        .iter()
        .map(|p| {
            if matches!(p.role, Role::Note | Role::Label | Role::Free) {
                return Target::Nowhere;
            }
            let g = gap_of(p.start);
            if g == 0 {
                return forward(p, 0);
            }
            if g == n {
                return match p.attach {
                    Attach::Prev | Attach::Either => backward(p, n - 1),
                    // "ab 50 € versandkostenfrei": the threshold is not the price.
                    Attach::Next
                        if p.role == Role::Aside(Aside::Shipping) && from_before(n - 1) =>
                    {
                        backward(p, n - 1)
                    }
                    Attach::Next => Target::Nowhere,
                };
            }
            if split[g].is_some_and(|s| p.start >= s) {
                return forward(p, g);
            }
            match p.attach {
                Attach::Prev => backward(p, g - 1),
                Attach::Next => forward(p, g),
                Attach::Either => {
                    // "livraison offerte dès 60 €": a shipping word before a
                    // threshold labels the threshold.
                    let before_from = phrases
                        .iter()
                        .any(|q| q.role == Role::From && q.start > p.start && gap_of(q.start) == g);
                    match (backward(p, g - 1), forward(p, g)) {
                        (_, Target::To(_))
                            if p.role == Role::Aside(Aside::Shipping) && before_from =>
                        {
                            Target::To(g)
                        }
                        (Target::To(_), Target::To(_)) => Target::Either(g - 1, g),
                        (Target::To(_), _) => Target::To(g - 1),
                        (_, next) => next,
                    }
                }
            }
        })
        .collect()
}
