//! Money as integer minor units plus an ISO 4217 currency: never `f64`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code (three upper-case ASCII letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Why a currency code or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The code is not three ASCII letters.
    #[error("`{0}` is not an ISO 4217 currency code (three letters, such as EUR)")]
    BadCurrency(String),
    /// The decimal amount could not be read.
    #[error("`{0}` is not a decimal amount (expected digits with an optional `.` and decimals)")]
    BadAmount(String),
    /// The amount has more decimals than the currency allows.
    #[error("`{amount}` has more decimals than {currency} allows ({exponent})")]
    TooPrecise {
        /// The amount as given.
        amount: String,
        /// The currency.
        currency: Currency,
        /// Decimals the currency allows.
        exponent: u32,
    },
    /// The amount does not fit in 64 bits of minor units.
    #[error("`{0}` is too large")]
    Overflow(String),
}

impl Currency {
    /// The euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// The pound sterling.
    pub const GBP: Currency = Currency(*b"GBP");
    /// The US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// The Swiss franc.
    pub const CHF: Currency = Currency(*b"CHF");

    /// Parses a three-letter code, case-insensitively.
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        let b = code.trim().as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
            Ok(Currency([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(MoneyError::BadCurrency(code.to_string()))
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimals of the currency's minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"ISK" | b"CLP" | b"VND" | b"XOF" | b"XAF" | b"XPF" | b"HUF" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"LYD" | b"IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: integer minor units (cents for EUR) and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in the currency's minor unit.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Parses a plain machine decimal such as `"129.90"` or `"12"` (the form
    /// schema.org and platform APIs use) into minor units, without rounding.
    ///
    /// Extra trailing zeros beyond the currency's exponent are accepted
    /// (`"12.500"` EUR is 1250 cents); other extra decimals are an error.
    pub fn from_decimal_str(s: &str, currency: Currency) -> Result<Self, MoneyError> {
        let t = s.trim();
        let bad = || MoneyError::BadAmount(s.to_string());
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let exp = currency.exponent();
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > exp as usize {
            return Err(MoneyError::TooPrecise {
                amount: s.to_string(),
                currency,
                exponent: exp,
            });
        }
        let overflow = || MoneyError::Overflow(s.to_string());
        let mut minor: i64 = 0;
        for b in int.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        for i in 0..exp as usize {
            let d = frac_trimmed.as_bytes().get(i).map_or(0, |b| b - b'0');
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(d)))
                .ok_or_else(overflow)?;
        }
        Ok(Money::new(if neg { -minor } else { minor }, currency))
    }

    /// The amount as a plain decimal string (`"1299.00"`), for JSON output.
    pub fn decimal_string(&self) -> String {
        let exp = self.currency.exponent();
        if exp == 0 {
            return self.minor.to_string();
        }
        let div = 10i64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let div = div as u64;
        format!(
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = exp as usize
        )
    }

    /// The amount the way a French shopper reads it: `1 299,00 €`.
    pub fn display_fr(&self) -> String {
        let plain = self.decimal_string();
        let (int, frac) = plain.split_once('.').unwrap_or((&plain, ""));
        let (sign, digits) = match int.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", int),
        };
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push('\u{202f}');
            }
            grouped.push(c);
        }
        let symbol = match self.currency.as_str() {
            "EUR" => "€",
            "GBP" => "£",
            "USD" => "$",
            other => other,
        };
        if frac.is_empty() {
            format!("{sign}{grouped}\u{a0}{symbol}")
        } else {
            format!("{sign}{grouped},{frac}\u{a0}{symbol}")
        }
    }

    /// Percentage reduction of `self` against a higher `reference`, rounded
    /// down to a whole percent; `None` when currencies differ or the
    /// reference is not above the price.
    pub fn percent_below(&self, reference: &Money) -> Option<u32> {
        if self.currency != reference.currency
            || reference.minor <= self.minor
            || reference.minor <= 0
        {
            return None;
        }
        let cut = (reference.minor - self.minor) as i128 * 100 / reference.minor as i128;
        u32::try_from(cut).ok()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_read_exactly() {
        let m = Money::from_decimal_str("129.9", Currency::EUR).unwrap();
        assert_eq!(m.minor, 12990);
        assert_eq!(
            Money::from_decimal_str("12", Currency::EUR).unwrap().minor,
            1200
        );
        assert_eq!(
            Money::from_decimal_str("0.05", Currency::EUR)
                .unwrap()
                .minor,
            5
        );
        assert_eq!(
            Money::from_decimal_str("12.500", Currency::EUR)
                .unwrap()
                .minor,
            1250
        );
        assert!(Money::from_decimal_str("12.345", Currency::EUR).is_err());
        assert!(Money::from_decimal_str("1,299.00", Currency::EUR).is_err());
        assert!(Money::from_decimal_str("", Currency::EUR).is_err());
        assert!(Money::from_decimal_str(".", Currency::EUR).is_err());
        assert!(Money::from_decimal_str("99999999999999999999", Currency::EUR).is_err());
    }

    #[test]
    fn displays_round_trip() {
        let m = Money::new(129900, Currency::EUR);
        assert_eq!(m.decimal_string(), "1299.00");
        assert_eq!(m.display_fr(), "1\u{202f}299,00\u{a0}€");
        assert_eq!(Money::new(-5, Currency::EUR).decimal_string(), "-0.05");
        let yen = Currency::new("jpy").unwrap();
        assert_eq!(Money::new(1500, yen).decimal_string(), "1500");
    }

    #[test]
    fn percent_below_rounds_down() {
        let p = Money::new(7000, Currency::EUR);
        let r = Money::new(10000, Currency::EUR);
        assert_eq!(p.percent_below(&r), Some(30));
        assert_eq!(r.percent_below(&p), None);
        assert_eq!(Money::new(6667, Currency::EUR).percent_below(&r), Some(33));
    }
}
