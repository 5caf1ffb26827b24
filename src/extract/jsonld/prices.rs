//! Price values as JSON-LD states them, read exactly into minor units.

use std::borrow::Cow;

use serde_json::Value;

use super::quote;
use crate::domain::{Currency, Money, MoneyError};

/// Why a price value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum PriceValueError {
    /// Written with an exponent that cannot be expanded.
    #[error("not a usable number")]
    UnusableExponent,
    /// No digit at all.
    #[error("no digits")]
    NoDigits,
    /// A minus sign before the digits.
    #[error("negative")]
    Negative,
    /// A character that has no place in a number.
    #[error("not a number")]
    NotANumber,
    /// The decimal separator appears more than once.
    #[error("more than one decimal separator")]
    SeveralDecimalSeparators,
    /// A separator among the decimals.
    #[error("misplaced separator")]
    MisplacedSeparator,
    /// Thousands groups not of three digits.
    #[error("misplaced thousands separator")]
    MisplacedThousandsSeparator,
    /// Rounding up leaves 64 bits of minor units.
    #[error("too large")]
    TooLarge,
    /// Zero or less.
    #[error("zero is not a price")]
    NotPositive,
    /// The amount does not fit the currency.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The text of a price value: a string as written, a number as serde_json
/// prints it, or the same inside `{"@value": …}` or an array.
pub(super) fn price_text(v: &Value) -> Option<Cow<'_, str>> {
    let v = match v {
        Value::Object(m) => m.get("@value")?,
        Value::Array(a) => a.first()?,
        v => v,
    };
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Reads a price, recording why it could not be read.
pub(super) fn amount(t: &str, c: Currency, what: &str, w: &mut Vec<String>) -> Option<Money> {
    match parse_price(t, c) {
        Ok((m, note)) => {
            if let Some(note) = note {
                w.push(format!("{what} {note}"));
            }
            Some(m)
        }
        Err(e) => {
            w.push(format!("{what} {} ignored: {e}", quote(Some(t))));
            None
        }
    }
}

/// Reads a price as shops write it (`129.90`, `129,90`, `1 299,90 €`,
/// `1.299,90`, `1,299.90`, `1.2999e3`) into minor units, exactly. Float
/// noise (`129.90000000000001`) is rounded, with a note; other extra
/// decimals, zero and negative amounts are refused.
pub(super) fn parse_price(
    text: &str,
    currency: Currency,
) -> Result<(Money, Option<String>), PriceValueError> {
    let decoded;
    let mut t = text.trim();
    if t.contains('&') {
        decoded = html_escape::decode_html_entities(t).into_owned();
        t = decoded.trim();
    }
    let canonical = canonical_decimal(t)?;
    let (money, note) = match Money::from_decimal_str(&canonical, currency) {
        Ok(m) => (m, None),
        Err(MoneyError::TooPrecise { .. }) if is_float_noise(&canonical) => {
            let m = round_to_minor(&canonical, currency)?;
            (m, Some(format!("{} rounded to {m}", quote(Some(text)))))
        }
        Err(e) => return Err(e.into()),
    };
    if money.minor <= 0 {
        return Err(PriceValueError::NotPositive);
    }
    Ok((money, note))
}

/// `1 299,90 €` → `1299.90`: digits with at most one `.`.
pub(super) fn canonical_decimal(t: &str) -> Result<String, PriceValueError> {
    if t.bytes().any(|b| b == b'e' || b == b'E')
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return expand_exponent(t).ok_or(PriceValueError::UnusableExponent);
    }
    let first = t
        .find(|c: char| c.is_ascii_digit())
        .ok_or(PriceValueError::NoDigits)?;
    let last = t
        .rfind(|c: char| c.is_ascii_digit())
        .ok_or(PriceValueError::NoDigits)?;
    let prefix = &t[..first];
    if prefix.trim_end().ends_with(['-', '−']) {
        return Err(PriceValueError::Negative);
    }
    let mut core = String::with_capacity(last + 3 - first);
    if prefix.ends_with(['.', ',']) {
        core.push_str("0.");
    }
    let mut last_space = false;
    for c in t[first..=last].chars() {
        match c {
            '0'..='9' | '.' | ',' => {
                core.push(c);
                last_space = false;
            }
            ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '\u{2019}' => {
                if last_space {
                    return Err(PriceValueError::NotANumber);
                }
                core.push(' ');
                last_space = true;
            }
            _ => return Err(PriceValueError::NotANumber),
        }
    }
    let dots = core.matches('.').count();
    let commas = core.matches(',').count();
    let (thousands, decimal) = match (dots, commas) {
        (0, 0) => (None, None),
        (1, 0) => (None, Some('.')),
        (_, 0) => (Some('.'), None),
        (0, 1) => (None, Some(',')),
        (0, _) => (Some(','), None),
        _ => {
            if core.rfind('.') > core.rfind(',') {
                (Some(','), Some('.'))
            } else {
                (Some('.'), Some(','))
            }
        }
    };
    let (int, frac) = match decimal {
        Some(d) => {
            if core.matches(d).count() > 1 {
                return Err(PriceValueError::SeveralDecimalSeparators);
            }
            core.split_once(d).unwrap_or((&core, ""))
        }
        None => (core.as_str(), ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PriceValueError::MisplacedSeparator);
    }
    let groups: Vec<&str> = int
        .split(|c: char| c == ' ' || Some(c) == thousands)
        .collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(PriceValueError::MisplacedThousandsSeparator);
    }
    let mut out: String = groups.concat();
    if out.is_empty() {
        out.push('0');
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// `1.2999e3` → `1299.9`; `None` when negative, malformed or absurd.
pub(super) fn expand_exponent(t: &str) -> Option<String> {
    let (mant, exp) = t.split_once(['e', 'E'])?;
    let exp: i32 = exp.parse().ok()?;
    if !(-40..=40).contains(&exp) {
        return None;
    }
    let mant = mant.strip_prefix('+').unwrap_or(mant);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = i32::try_from(int.len()).ok()?.checked_add(exp)?;
    let len = i32::try_from(digits.len()).ok()?;
    Some(if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= len {
        format!("{digits}{}", "0".repeat((point - len) as usize))
    } else {
        let p = point as usize;
        format!("{}.{}", &digits[..p], &digits[p..])
    })
}

/// Whether extra decimals are a binary float printed with 17 digits rather
/// than a price stated to the tenth of a cent.
pub(super) fn is_float_noise(canonical: &str) -> bool {
    let significant = canonical
        .trim_start_matches(['0', '.'])
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    significant >= 15
}

/// Rounds a canonical decimal half up to the currency's minor unit.
pub(super) fn round_to_minor(
    canonical: &str,
    currency: Currency,
) -> Result<Money, PriceValueError> {
    let (int, frac) = canonical.split_once('.').unwrap_or((canonical, ""));
    let exp = currency.exponent() as usize;
    let kept = frac.get(..exp.min(frac.len())).unwrap_or("");
    let base = Money::from_decimal_str(&format!("{int}.{kept}"), currency)?;
    if frac.as_bytes().get(exp).is_some_and(|d| *d >= b'5') {
        let minor = base.minor.checked_add(1).ok_or(PriceValueError::TooLarge)?;
        Ok(Money::new(minor, currency))
    } else {
        Ok(base)
    }
}
