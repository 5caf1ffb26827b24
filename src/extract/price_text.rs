//! Price text as shoppers read it (interim reader; replaced by the full parser).

use crate::domain::{Currency, Money};

/// Why a text is not a price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceTextError {
    /// No number in the text.
    #[error("no amount in {0:?}")]
    NoAmount(String),
    /// No currency in the text and no default.
    #[error("no currency in {0:?}")]
    MissingCurrency(String),
    /// The amount is not readable.
    #[error("unreadable amount in {0:?}")]
    Unreadable(String),
}

/// Reads a price such as "1 299,00 €" or "€1,299.00".
pub fn parse_money(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<Money, PriceTextError> {
    let currency = if text.contains('€') || text.to_ascii_uppercase().contains("EUR") {
        Some(Currency::EUR)
    } else if text.contains('£') {
        Some(Currency::GBP)
    } else if text.contains('$') {
        Some(Currency::USD)
    } else {
        default_currency
    }
    .ok_or_else(|| PriceTextError::MissingCurrency(text.to_string()))?;
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect();
    if kept.is_empty() {
        return Err(PriceTextError::NoAmount(text.to_string()));
    }
    let last_sep = kept.rfind([',', '.']);
    let normalized = match last_sep {
        Some(i) if kept.len() - i - 1 <= 2 => {
            let int: String = kept[..i].chars().filter(char::is_ascii_digit).collect();
            format!("{int}.{}", &kept[i + 1..])
        }
        _ => kept.chars().filter(char::is_ascii_digit).collect(),
    };
    Money::from_decimal_str(&normalized, currency)
        .map_err(|_| PriceTextError::Unreadable(text.to_string()))
}
