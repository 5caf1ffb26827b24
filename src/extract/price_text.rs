//! Price text as shoppers read it, in many locales, into integer minor
//! units and an ISO currency — never through `f64`.
//!
//! "1 299,00 €" (space, no-break or narrow no-break), "1.299,00 EUR",
//! "€1,299.00", "29€99", "1 299 €", "CHF 1'299.–", "£12", "12,-",
//! "à partir de 49 €", "10,00 € – 20,00 €". Rules for ambiguous text:
//!
//! - With both `,` and `.`, the last one is the decimal separator.
//! - With one kind used several times, it groups thousands.
//! - With one separator used once: followed by 1 or 2 digits it is the
//!   decimal separator; followed by exactly 3 digits it groups thousands
//!   ("1.299 €", "1,299 $"), since no price has three decimals in a
//!   currency of two.
//! - `.–`, `,-` and `,--` mean no decimals.
//! - A currency in the text wins over the default one; a text with none
//!   and no default is an error, as are negative amounts, percentages,
//!   several unrelated numbers ("2 pour 10 €") and "gratuit"/"free".

use crate::domain::{Currency, Money, MoneyError};

/// Why a text is not a price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceTextError {
    /// Nothing numeric.
    #[error("no amount in {0:?}")]
    NoAmount(String),
    /// No currency in the text and no default.
    #[error("no currency in {0:?} and none configured for the shop")]
    MissingCurrency(String),
    /// A minus sign before the amount.
    #[error("negative amount in {0:?}")]
    Negative(String),
    /// A percentage, a quantity offer or free: not a price.
    #[error("{0:?} is not a price")]
    NotAPrice(String),
    /// Several numbers that are not a range.
    #[error("several numbers in {0:?}; expected one price or a range")]
    SeveralNumbers(String),
    /// The separators cannot be read.
    #[error("cannot read the amount in {0:?}: {1}")]
    Unreadable(String, String),
}

/// A price read from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedPrice {
    /// The amount (the low end of a range).
    pub amount: Money,
    /// "à partir de", "dès", "from", "ab": the lowest of several prices.
    pub from: bool,
    /// The high end of a range.
    pub range_max: Option<Money>,
}

const SPACES: [char; 6] = ['\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\t', '\n'];

/// Currency markers, longest first; `None` marks ambiguous ones ("kr").
const MARKERS: &[(&str, Option<&str>)] = &[
    ("eur", Some("EUR")),
    ("euros", Some("EUR")),
    ("euro", Some("EUR")),
    ("€", Some("EUR")),
    ("gbp", Some("GBP")),
    ("£", Some("GBP")),
    ("usd", Some("USD")),
    ("us$", Some("USD")),
    ("$", Some("USD")),
    ("chf", Some("CHF")),
    ("fr.", Some("CHF")),
    ("sfr", Some("CHF")),
    ("sek", Some("SEK")),
    ("dkk", Some("DKK")),
    ("nok", Some("NOK")),
    ("kr.", None),
    ("kr", None),
    ("pln", Some("PLN")),
    ("zł", Some("PLN")),
    ("zl", Some("PLN")),
    ("czk", Some("CZK")),
    ("kč", Some("CZK")),
    ("huf", Some("HUF")),
    ("ft", Some("HUF")),
    ("jpy", Some("JPY")),
    ("¥", Some("JPY")),
    ("円", Some("JPY")),
    ("cad", Some("CAD")),
    ("aud", Some("AUD")),
];

fn is_group_char(c: char) -> bool {
    c == ' ' || c == '\'' || c == '’'
}

/// Finds the currency named in a text, if any.
fn currency_in(lower: &str, default: Option<Currency>) -> Result<Option<Currency>, ()> {
    let mut found: Option<Option<&str>> = None;
    for (marker, code) in MARKERS {
        let Some(pos) = lower.find(marker) else {
            continue;
        };
        // Letters must stand alone ("eur" not inside "fleur"; "ft" not in "soft").
        if marker.chars().all(|c| c.is_ascii_alphabetic()) {
            let before = lower[..pos].chars().next_back();
            let after = lower[pos + marker.len()..].chars().next();
            if before.is_some_and(char::is_alphabetic) || after.is_some_and(char::is_alphabetic) {
                continue;
            }
        }
        found = Some(*code);
        break;
    }
    match found {
        None => Ok(None),
        Some(Some(code)) => Ok(Currency::new(code).ok()),
        // "kr": Swedish, Danish or Norwegian — the shop's own when it is one of them.
        Some(None) => match default.map(|c| c.as_str().to_string()).as_deref() {
            Some("SEK" | "DKK" | "NOK") => Ok(default),
            _ => Err(()),
        },
    }
}

/// Reads one amount token ("1 299,00", "29€99", "1'299.–") into minor units.
fn amount(token: &str, currency: Currency, original: &str) -> Result<Money, PriceTextError> {
    let unreadable = |why: &str| PriceTextError::Unreadable(original.to_string(), why.to_string());
    // "29€99": the euro sign as the decimal separator.
    let mut t: String = token.trim().to_string();
    if let Some(i) = t.find('€') {
        let (a, b) = (&t[..i], &t[i + '€'.len_utf8()..]);
        if !a.is_empty() && b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()) {
            t = format!("{a},{b}");
        } else {
            t = t.replace('€', "");
        }
    }
    // ".–", ",-", ",--": no decimals.
    let t = t
        .trim_end_matches(['-', '–', '—'])
        .trim_end_matches([',', '.'])
        .to_string();
    let t: String = t.chars().filter(|c| !is_group_char(*c)).collect();
    if t.is_empty()
        || !t
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b',' || c == b'.')
    {
        return Err(unreadable("unexpected characters"));
    }
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
            (t[..last].replace(group, ""), t[last + 1..].to_string())
        }
        (n, 0) | (0, n) => {
            let sep = if commas > 0 { ',' } else { '.' };
            if n > 1 {
                // Grouping only: every group after the first has three digits.
                let parts: Vec<&str> = t.split(sep).collect();
                if parts[1..].iter().any(|p| p.len() != 3)
                    || parts[0].is_empty()
                    || parts[0].len() > 3
                {
                    return Err(unreadable("separators in odd places"));
                }
                (parts.concat(), String::new())
            } else {
                let (a, b) = t.split_once(sep).unwrap_or((&t, ""));
                if b.len() == 3 && !a.is_empty() && a.len() <= 3 && currency.exponent() < 3 {
                    (format!("{a}{b}"), String::new())
                } else {
                    (a.to_string(), b.to_string())
                }
            }
        }
    };
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

/// The numeric runs of a text: digits with their separators, "€" between
/// digits ("29€99"), and a trailing ".–".
fn number_runs(s: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut j = i;
        let mut end = chars[i].0 + 1;
        while j < chars.len() {
            let c = chars[j].1;
            let next_digit = chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit());
            if c.is_ascii_digit() {
                end = chars[j].0 + 1;
            } else if (c == ',' || c == '.' || is_group_char(c) || c == '€') && next_digit {
                // A separator counts only between digits.
            } else if (c == ',' || c == '.')
                && chars
                    .get(j + 1)
                    .is_some_and(|(_, n)| matches!(n, '-' | '–' | '—'))
            {
                end = chars[j + 1].0 + chars[j + 1].1.len_utf8();
                j += 2;
                while j < chars.len() && matches!(chars[j].1, '-' | '–') {
                    end = chars[j].0 + chars[j].1.len_utf8();
                    j += 1;
                }
                break;
            } else {
                break;
            }
            j += 1;
        }
        runs.push((start, end));
        i = j.max(i + 1);
    }
    runs
}

/// Reads a price, a "from" price or a range.
pub fn parse_price(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<ParsedPrice, PriceTextError> {
    let original = text;
    let s: String = text
        .chars()
        .map(|c| if SPACES.contains(&c) { ' ' } else { c })
        .collect();
    let s = s.trim();
    let lower = s.to_lowercase();
    if lower.contains('%') {
        return Err(PriceTextError::NotAPrice(original.to_string()));
    }
    if ["gratuit", "free", "offert", "kostenlos", "gratis"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Err(PriceTextError::NotAPrice(original.to_string()));
    }
    let currency = match currency_in(&lower, default_currency) {
        Ok(Some(c)) => c,
        Ok(None) => {
            default_currency.ok_or_else(|| PriceTextError::MissingCurrency(original.to_string()))?
        }
        Err(()) => return Err(PriceTextError::MissingCurrency(original.to_string())),
    };
    let from = [
        "à partir de",
        "a partir de",
        "dès ",
        "des ",
        "from ",
        "ab ",
        "desde ",
        "a partire da ",
        "vanaf ",
        "starting at ",
    ]
    .iter()
    .any(|p| lower.starts_with(p) || lower.contains(&format!(" {p}")));
    let runs = number_runs(s);
    let Some(&(a0, a1)) = runs.first() else {
        return Err(PriceTextError::NoAmount(original.to_string()));
    };
    // A minus sign right before the amount (not a range dash between two amounts).
    let before =
        s[..a0].trim_end_matches(|c: char| c == ' ' || c.is_alphabetic() || "€£$¥:".contains(c));
    if before.ends_with(['-', '−', '–']) && runs.len() == 1 {
        return Err(PriceTextError::Negative(original.to_string()));
    }
    let low = amount(&s[a0..a1], currency, original)?;
    match runs.len() {
        1 => Ok(ParsedPrice {
            amount: low,
            from,
            range_max: None,
        }),
        2 => {
            let between_raw = s[a1..runs[1].0].to_lowercase();
            let between = between_raw.trim_matches(|c: char| c == ' ' || "€£$¥".contains(c));
            let between = between.trim_start_matches("eur").trim();
            if ["-", "–", "—", "à", "a", "to", "bis", "~", "/"].contains(&between) {
                let high = amount(&s[runs[1].0..runs[1].1], currency, original)?;
                if high.minor < low.minor {
                    return Err(PriceTextError::Unreadable(
                        original.to_string(),
                        "range ends below its start".into(),
                    ));
                }
                Ok(ParsedPrice {
                    amount: low,
                    from,
                    range_max: Some(high),
                })
            } else {
                Err(PriceTextError::SeveralNumbers(original.to_string()))
            }
        }
        _ => Err(PriceTextError::SeveralNumbers(original.to_string())),
    }
}

/// Reads a price (the low end of a range), as [`parse_price`].
pub fn parse_money(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<Money, PriceTextError> {
    parse_price(text, default_currency).map(|p| p.amount)
}

#[cfg(test)]
mod tests;
