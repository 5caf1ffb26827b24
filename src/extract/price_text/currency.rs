//! Currency markers ("€", "EUR", "kr", "$") and the currency each one names.

use super::text::matches_at;
use crate::domain::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cur {
    Code(&'static str),
    /// "kr": Swedish, Danish or Norwegian.
    Kr,
    /// "$": the shop's own dollar, or the US one.
    Dollar,
    /// "¥": yen, or yuan in a Chinese shop.
    Yen,
}

/// Currency markers, folded as `normalize` leaves them.
const MARKERS: &[(&str, Cur)] = &[
    ("eur", Cur::Code("EUR")),
    ("euros", Cur::Code("EUR")),
    ("euro", Cur::Code("EUR")),
    ("€", Cur::Code("EUR")),
    ("gbp", Cur::Code("GBP")),
    ("£", Cur::Code("GBP")),
    ("usd", Cur::Code("USD")),
    ("us$", Cur::Code("USD")),
    ("c$", Cur::Code("CAD")),
    ("ca$", Cur::Code("CAD")),
    ("a$", Cur::Code("AUD")),
    ("au$", Cur::Code("AUD")),
    ("nz$", Cur::Code("NZD")),
    ("hk$", Cur::Code("HKD")),
    ("s$", Cur::Code("SGD")),
    ("r$", Cur::Code("BRL")),
    ("mx$", Cur::Code("MXN")),
    ("$", Cur::Dollar),
    ("chf", Cur::Code("CHF")),
    ("fr.", Cur::Code("CHF")),
    ("sfr", Cur::Code("CHF")),
    ("sek", Cur::Code("SEK")),
    ("dkk", Cur::Code("DKK")),
    ("nok", Cur::Code("NOK")),
    ("kr.", Cur::Kr),
    ("kr", Cur::Kr),
    ("pln", Cur::Code("PLN")),
    ("zl", Cur::Code("PLN")),
    ("czk", Cur::Code("CZK")),
    ("kc", Cur::Code("CZK")),
    ("huf", Cur::Code("HUF")),
    ("ft", Cur::Code("HUF")),
    ("jpy", Cur::Code("JPY")),
    ("¥", Cur::Yen),
    ("円", Cur::Code("JPY")),
    ("cny", Cur::Code("CNY")),
    ("cad", Cur::Code("CAD")),
    ("aud", Cur::Code("AUD")),
    ("nzd", Cur::Code("NZD")),
];

/// A currency marker found in the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) cur: Cur,
    /// "£", "$": written before the amount only.
    pub(super) prefix_only: bool,
    pub(super) euro: bool,
}

pub(super) fn marker_at(c: &[char], i: usize) -> Option<Mark> {
    // Markers start a word with a letter, or are a sign.
    let first = *c.get(i)?;
    let mid_word = first.is_alphabetic() && i > 0 && c[i - 1].is_alphabetic();
    if mid_word || !(first.is_alphabetic() || matches!(first, '€' | '£' | '$' | '¥' | '円')) {
        return None;
    }
    let mut best: Option<(usize, &str, Cur)> = None;
    for (m, cur) in MARKERS {
        if let Some(end) = matches_at(c, i, m)
            && best.is_none_or(|(e, _, _)| end > e)
        {
            best = Some((end, m, *cur));
        }
    }
    best.map(|(end, m, cur)| Mark {
        start: i,
        end,
        cur,
        prefix_only: m.contains('$') || m == "£",
        euro: m == "€",
    })
}

/// The currency marker ending at `end` ("eur" in "eur129").
pub(super) fn marker_ending_at(c: &[char], end: usize) -> Option<Mark> {
    (0..end)
        .rev()
        .take(4)
        .filter_map(|start| marker_at(c, start))
        .find(|m| m.end == end)
}

pub(super) fn resolve(cur: Cur, default: Option<Currency>) -> Option<Currency> {
    let default_is = |codes: &[&str]| default.filter(|d| codes.contains(&d.as_str()));
    match cur {
        Cur::Code(code) => Currency::new(code).ok(),
        Cur::Kr => default_is(&["SEK", "DKK", "NOK", "ISK"]),
        Cur::Dollar => {
            default_is(&["USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"]).or(Some(Currency::USD))
        }
        Cur::Yen => default_is(&["CNY"]).or_else(|| Currency::new("JPY").ok()),
    }
}
