//! Numbers as written: found with their separators, told apart (an amount,
//! a percentage, a count, a quantity, a code, a date), and read into minor
//! units.

use super::PriceTextError;
use super::currency::{Mark, marker_ending_at};
use super::labels::{Aside, phrase_at};
use super::text::{skip_space, word_at};
use crate::domain::{Currency, Money, MoneyError};

/// A run of digits with its separators, as written.
#[derive(Debug, Clone)]
pub(super) struct Num {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) token: String,
    /// ".75", ",99": no digit before the separator.
    pub(super) leading_sep: bool,
    /// Glued to a word and grouped by spaces ("de1 299,00"): where the
    /// number starts cannot be told.
    pub(super) glued_groups: bool,
}

fn is_group_char(c: char) -> bool {
    c == ' ' || c == '\''
}

/// The numbers of a text: digits with their separators, "€" between
/// digits ("29€99") and a trailing ".–". A space or an apostrophe joins
/// only a group of exactly three digits.
pub(super) fn scan_numbers(c: &[char]) -> Vec<Num> {
    let digit = |k: usize| c.get(k).is_some_and(|ch| ch.is_ascii_digit());
    let digits_from = |k: usize| (k..).take_while(|&x| digit(x)).count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let prev = i.checked_sub(1).and_then(|k| c.get(k)).copied();
        let lead = matches!(c[i], ',' | '.')
            && digit(i + 1)
            && !prev.is_some_and(|p| p.is_ascii_digit() || p == ',' || p == '.');
        if !(lead || (digit(i) && !prev.is_some_and(|p| p.is_ascii_digit()))) {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = if lead { i + 1 } else { i };
        // Space groups only in a plain integer so far, and not in a number
        // glued to a date or a time ("31/12 100 000,00 €" is a date and a
        // price). Glued to a word or by a dash ("de1 299,00", "0-1 100,00"),
        // where the number starts cannot be told.
        let digit_before_sep = i
            .checked_sub(2)
            .and_then(|k| c.get(k))
            .is_some_and(char::is_ascii_digit);
        // A day or an hour before the separator: one or two digits alone.
        let day_or_hour = digit_before_sep && {
            let digits = (0..i.saturating_sub(1))
                .rev()
                .take_while(|&k| c[k].is_ascii_digit())
                .count();
            let before = (i - 1).checked_sub(digits + 1).and_then(|k| c.get(k));
            digits <= 2 && !before.is_some_and(|b| b.is_ascii_digit() || matches!(b, ',' | '.'))
        };
        let glued_date = matches!(prev, Some('/' | ':')) && day_or_hour;
        let glued = (matches!(prev, Some('/' | ':' | '-')) && digit_before_sep && !glued_date)
            || (prev.is_some_and(char::is_alphabetic) && marker_ending_at(c, i).is_none());
        let mut plain = !lead && !glued_date;
        let mut glued_groups = false;
        let mut decimals = lead;
        let mut group_start = j;
        loop {
            while digit(j) {
                j += 1;
            }
            match c.get(j).copied() {
                Some(',' | '.') if digit(j + 1) => {
                    plain = false;
                    decimals = true;
                    j += 1;
                    group_start = j;
                }
                Some(' ' | '\'') if plain && j - group_start <= 3 && digits_from(j + 1) == 3 => {
                    glued_groups |= glued;
                    j += 1;
                    group_start = j;
                }
                // "29€99", not "0,00€10 000,01" nor "0,00€30".
                Some('€')
                    if !decimals
                        && digits_from(j + 1) == 2
                        && !(matches!(c.get(j + 3), Some(',' | '.' | ' ' | '\''))
                            && digit(j + 4)) =>
                {
                    j += 3;
                    break;
                }
                Some(',' | '.') if c.get(j + 1) == Some(&'-') => {
                    j += 2;
                    while c.get(j) == Some(&'-') {
                        j += 1;
                    }
                    break;
                }
                _ => break,
            }
        }
        out.push(Num {
            start,
            end: j,
            token: c[start..j].iter().collect(),
            leading_sep: lead,
            glued_groups,
        });
        i = j;
    }
    out
}

/// What a number is, from the characters right beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumKind {
    Amount,
    Percent,
    /// "3 ×", "4x", "3 fois", "2 pour": makes the next amount an aside.
    Count(Aside),
    /// "500 ml", "30 jours", "128 Go".
    Quantity,
    /// Part of a word or a code ("A4", "2ème", "x2", "#3").
    Code,
    /// An amount glued to a word after it ("€1.2k").
    Garbled,
}

#[rustfmt::skip]
const PERCENT_WORDS: &[&str] = &[
    "pour cent", "percent", "prozent", "por ciento", "per cento",
];
#[rustfmt::skip]
const INSTALMENT_COUNTS: &[&str] = &[
    "x", "×", "fois", "mal", "rate", "rates", "raten", "plazos", "cuotas", "mensualites",
    "mensualidades", "versements", "echeances", "paiements", "payments", "installments",
    "instalments", "mois", "months", "monate", "meses", "mesi",
];
#[rustfmt::skip]
const MULTIBUY_COUNTS: &[&str] = &[
    "pour", "for", "fur", "por", "per", "achetes", "achete", "gekauft", "acquistati",
    "comprados",
];
/// Units of quantity, weight, size and time written after a number.
#[rustfmt::skip]
const QUANTITY_UNITS: &[&str] = &[
    "kg", "g", "gr", "mg", "l", "ml", "cl", "dl", "lt", "ltr", "litre", "litres", "liter", "m",
    "cm", "mm", "km", "m2", "m3", "oz", "lb", "lbs", "fl", "pcs", "pc", "pieces", "piece", "st",
    "stk", "stuck", "unites", "unite", "units", "unit", "uds", "pz", "pezzi", "capsules",
    "doses", "lavages", "rouleaux", "h", "heures", "heure", "hours", "hour", "hrs", "stunden",
    "std", "min", "minutes", "jours", "jour", "days", "day", "tage", "tagen", "dias", "dia",
    "giorni", "dagar", "dage", "semaines", "weeks", "wochen", "ans", "years", "jahre", "anni",
    "anos", "derniers", "dernier", "go", "gb", "tb", "mo", "mb", "mah", "w", "v", "hz", "mp",
    "pouces", "zoll", "inch", "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet",
    "aout", "septembre", "octobre", "novembre", "decembre", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "januar", "februar", "marz", "juni", "juli", "oktober", "dezember", "enero", "febrero",
    "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
    "diciembre", "gennaio", "febbraio", "aprile", "maggio", "giugno", "luglio", "settembre",
    "ottobre", "dicembre", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec",
];

/// A currency marker right before or after the number.
fn has_mark_beside(c: &[char], n: &Num, marks: &[Mark]) -> bool {
    marks.iter().any(|m| {
        m.start == n.end
            || (m.start == n.end + 1 && c.get(n.end) == Some(&' '))
            || m.end == n.start
            || (m.end + 1 == n.start && c.get(m.end) == Some(&' '))
    })
}

pub(super) fn num_kind(c: &[char], n: &Num, marks: &[Mark]) -> NumKind {
    let after = skip_space(c, n.end);
    if c.get(after) == Some(&'%') || word_at(c, after, PERCENT_WORDS).is_some() {
        return NumKind::Percent;
    }
    // Digits inside a word or a code: "A4", "x2", "#3", "2ème"; not an
    // amount glued to its label ("au lieu de59,00 €", "EUR129").
    let before = n.start.checked_sub(1).and_then(|k| c.get(k)).copied();
    let mark_after = marks.iter().any(|m| m.start == n.end || m.start == after);
    let mark_touching_before = marks.iter().any(|m| m.end == n.start);
    let label_before = || {
        (n.start.saturating_sub(40)..n.start)
            .any(|k| phrase_at(c, k).is_some_and(|p| p.end == n.start))
    };
    if before.is_some_and(|b| matches!(b, '#' | '°' | '№')) {
        return NumKind::Code;
    }
    if before.is_some_and(char::is_alphabetic) && !mark_touching_before {
        return if !mark_after {
            NumKind::Code
        } else if label_before() {
            NumKind::Amount
        } else {
            // "kg0,00 €": an amount glued to a word that is not its label.
            NumKind::Garbled
        };
    }
    if c.get(n.end).is_some_and(|a| a.is_alphabetic())
        && !marks.iter().any(|m| m.start == n.end)
        && word_at(c, n.end, INSTALMENT_COUNTS).is_none()
        && word_at(c, n.end, QUANTITY_UNITS).is_none()
        && phrase_at(c, n.end).is_none()
    {
        // "€1.2k", "EUR 0,01to": an amount, but not the one written.
        let mark_before = marks
            .iter()
            .any(|m| m.end == n.start || skip_space(c, m.end) == n.start);
        return if mark_before {
            NumKind::Garbled
        } else {
            NumKind::Code
        };
    }
    // A currency after the number makes it an amount; one before it does
    // not outweigh a unit after it ("€ 1 kg").
    if mark_after {
        return NumKind::Amount;
    }
    // "3 ×", "2 pour": a small whole number ("0,00 €2 pour" too), not an
    // amount in pounds or dollars ("£1 for").
    let count = n.token.len() <= 3
        && n.token.bytes().all(|b| b.is_ascii_digit())
        && !marks.iter().any(|m| m.end == n.start && m.prefix_only);
    if count && word_at(c, after, INSTALMENT_COUNTS).is_some() {
        return NumKind::Count(Aside::Instalment);
    }
    if count && word_at(c, after, MULTIBUY_COUNTS).is_some() {
        return NumKind::Count(Aside::MultiBuy);
    }
    if word_at(c, after, QUANTITY_UNITS).is_some() {
        return NumKind::Quantity;
    }
    NumKind::Amount
}

/// The numbers that make a date written without a currency ("31/12",
/// "31/12/2026", "31.12.2026") or a time ("12:30").
pub(super) fn dates_and_times(
    c: &[char],
    nums: &[Num],
    kinds: &[NumKind],
    marks: &[Mark],
) -> Vec<usize> {
    let small = |n: &Num, max: u32| {
        n.token.len() <= 2 && n.token.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v))
    };
    let plain = |k: usize| {
        kinds[k] == NumKind::Code
            || (kinds[k] == NumKind::Amount && !has_mark_beside(c, &nums[k], marks))
    };
    let mut out = Vec::new();
    for (k, n) in nums.iter().enumerate() {
        let parts: Vec<&str> = n.token.split('.').collect();
        if plain(k)
            && parts.len() == 3
            && parts[0].len() <= 2
            && parts[1].len() <= 2
            && matches!(parts[2].len(), 2 | 4)
        {
            out.push(k);
        }
        let Some(m) = nums.get(k + 1) else { continue };
        let joined_by = |sep: char| m.start == n.end + 1 && c.get(n.end) == Some(&sep);
        if plain(k) && plain(k + 1) && joined_by('/') && small(n, 31) && small(m, 12) {
            out.extend([k, k + 1]);
            if let Some(y) = nums.get(k + 2)
                && y.start == m.end + 1
                && c.get(m.end) == Some(&'/')
                && matches!(y.token.len(), 2 | 4)
            {
                out.push(k + 2);
            }
        }
        // No price is written with a colon: a time even beside a currency.
        let time_part = |k: usize| matches!(kinds[k], NumKind::Amount | NumKind::Code);
        if time_part(k) && time_part(k + 1) && joined_by(':') && small(n, 24) && m.token.len() == 2
        {
            out.extend([k, k + 1]);
        }
    }
    out
}

/// Reads one amount token ("1 299,00", "29€99", "1'299.–") into minor units.
pub(super) fn amount(
    token: &str,
    currency: Currency,
    original: &str,
) -> Result<Money, PriceTextError> {
    let unreadable = |why: &str| PriceTextError::Unreadable(original.to_string(), why.to_string());
    // "29€99": the euro sign as the decimal separator.
    let mut t: String = token.trim().to_string();
    if let Some(i) = t.find('€') {
        let (a, b) = (&t[..i], &t[i + '€'.len_utf8()..]);
        if a.is_empty() || b.len() != 2 || !b.bytes().all(|c| c.is_ascii_digit()) {
            return Err(unreadable("a currency sign inside the number"));
        }
        t = format!("{a},{b}");
    }
    // ".–", ",-", ",--": no decimals.
    let t = t.trim_end_matches('-').trim_end_matches([',', '.']);
    // Spaces and apostrophes group thousands by three.
    let spaced: Vec<&str> = t.split(is_group_char).collect();
    if spaced.len() > 1 {
        let first = spaced[0];
        let groups_ok = !first.is_empty()
            && first.len() <= 3
            && first.bytes().all(|b| b.is_ascii_digit())
            && !first.starts_with('0')
            && spaced[1..].iter().enumerate().all(|(k, g)| {
                let digits = g.bytes().take_while(u8::is_ascii_digit).count();
                digits == 3 && (k + 2 == spaced.len() || g.len() == 3)
            });
        if !groups_ok {
            return Err(unreadable("separators in odd places"));
        }
        if first.len() == 3 && spaced[1..].iter().all(|g| g.get(..3) == Some(first)) {
            return Err(unreadable(
                "the same digits repeated: fragments of one price, not a number",
            ));
        }
    }
    let t: String = t.chars().filter(|c| !is_group_char(*c)).collect();
    if t.is_empty()
        || !t
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b',' || c == b'.')
    {
        return Err(unreadable("unexpected characters"));
    }
    // Thousands groups: the first of 1 to 3 digits (no leading zero), the
    // others of exactly 3.
    let groups_ok = |int: &str, sep: char| {
        let parts: Vec<&str> = int.split(sep).collect();
        parts.len() == 1
            || (!parts[0].is_empty()
                && parts[0].len() <= 3
                && !parts[0].starts_with('0')
                && parts[1..].iter().all(|p| p.len() == 3))
    };
    let commas = t.matches(',').count();
    let dots = t.matches('.').count();
    let (int, frac): (String, String) = match (commas, dots) {
        (0, 0) => (t.clone(), String::new()),
        (1.., 1..) => {
            let last = t.rfind([',', '.']).unwrap_or(0);
            let dec = t.as_bytes()[last];
            let group = if dec == b',' { '.' } else { ',' };
            if t[..last].contains(dec as char) {
                return Err(unreadable("the decimal separator appears twice"));
            }
            if !groups_ok(&t[..last], group) {
                return Err(unreadable("separators in odd places"));
            }
            (t[..last].replace(group, ""), t[last + 1..].to_string())
        }
        (n, 0) | (0, n) => {
            let sep = if commas > 0 { ',' } else { '.' };
            if n > 1 {
                // Grouping only: every group after the first has three digits.
                if !groups_ok(&t, sep) {
                    return Err(unreadable("separators in odd places"));
                }
                (t.replace(sep, ""), String::new())
            } else {
                let (a, b) = t.split_once(sep).unwrap_or((&t, ""));
                if b.len() == 3
                    && !a.is_empty()
                    && a.len() <= 3
                    && !a.starts_with('0')
                    && currency.exponent() < 3
                {
                    (format!("{a}{b}"), String::new())
                } else {
                    (a.to_string(), b.to_string())
                }
            }
        }
    };
    if int.len() > 1 && int.starts_with('0') {
        return Err(unreadable("a leading zero: a fragment of a number"));
    }
    let int = if int.is_empty() { "0".to_string() } else { int };
    let text = if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    };
    Money::from_decimal_str(&text, currency).map_err(|e| match e {
        MoneyError::TooPrecise { .. } => unreadable(&format!("more decimals than {currency} has")),
        MoneyError::Overflow(_) => unreadable("too large"),
        other => unreadable(&other.to_string()),
    })
}

/// Two digits alone: cents written apart ("35 € 99").
pub(super) fn is_cents(token: &str) -> bool {
    token.len() == 2 && token.bytes().all(|b| b.is_ascii_digit())
}

/// A plain integer token: digits, perhaps grouped by spaces.
pub(super) fn is_plain_integer(token: &str) -> bool {
    token
        .chars()
        .all(|c| c.is_ascii_digit() || is_group_char(c))
}
