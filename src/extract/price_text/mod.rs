//! Price text as shoppers read it, in many locales, into integer minor
//! units and an ISO currency — never through `f64`.
//!
//! [`parse_price`] reads the price an element shows; [`read_price_block`]
//! reads a block that may also show a former price beside it.
//!
//! "1 299,00 €" (space, no-break or narrow no-break), "1.299,00 EUR",
//! "€1,299.00", "29€99", "49⁹⁹ €", "1 299 €", "CHF 1'299.–", "£12", "12,-",
//! "à partir de 49 €", "10,00 € – 20,00 €". Rules for ambiguous numbers:
//!
//! - With both `,` and `.`, the last one is the decimal separator, and the
//!   other groups thousands by threes.
//! - With one kind used several times, it groups thousands.
//! - With one separator used once: followed by 1 or 2 digits it is the
//!   decimal separator; followed by exactly 3 digits it groups thousands
//!   ("1.299 €", "1,299 $"), since no price has three decimals in a
//!   currency of two (".75 €" and "0.299 €" are not thousands: the first is
//!   0,75 €, the second is refused).
//! - A space or an apostrophe groups thousands only before exactly three
//!   digits; identical groups ("499 499 499,00") are repeated fragments of
//!   one price, not a number, and are refused.
//! - `.–`, `,-` and `,--` mean no decimals.
//! - Decimals split from their units are joined: "35€ 99", "35 € 99",
//!   "392. 00", "392 .00", "49 ,99 €". The same amount written several
//!   times in a row (a screen-reader copy beside the visual one:
//!   "49,99 €49,99€") is one amount; fragments are never concatenated.
//! - A number glued to a word ("A4", "2ème", "x2"), a date or a time
//!   written without a currency ("31/12", "12:30") is not an amount; an
//!   amount glued to a word that is not its label ("€1.2k", "kg0,00 €"), or
//!   grouped right after a word or a dash ("de1 299,00"), is refused: where
//!   it starts or ends cannot be told.
//! - A currency in the text wins over the default one ("$" and "kr" take
//!   the shop's own when it is a dollar or a Scandinavian crown; "C$",
//!   "A$"… name theirs); a text with none and no default is an error, as
//!   are several currencies, digits of other scripts, percentages alone and
//!   "gratuit"/"free". A currency sign between two numbers belongs to the
//!   one written in the style of its neighbours ("49,99 €49,99 €", "€59
//!   €47"), or to neither; in a text that writes a currency, a price
//!   written without one is a fragment or a count, and is refused.
//!
//! # Several amounts in one text
//!
//! Real price elements carry badges ("-15 %"), tax notes ("TTC", "inkl.
//! MwSt."), eco-participation ("dont 0,50 € d'éco-participation"),
//! instalments ("ou 3 × 15,00 €"), unit prices ("(2,49 €/L)"), member
//! prices, shipping thresholds and former prices. Each amount is labelled
//! by the words around it: most labels come before their amount ("au lieu
//! de", "UVP", "Prix membre", "dont"), some after it ("/kg", "TTC", "HT",
//! "d'éco-part"), and a few either way ("UVP", "éco-part", "Versand"); a
//! label that could belong to the amount before or after it is tried both
//! ways. No label reaches across a sentence break, and the words that make
//! an amount a former, current or "from" price label only the amount right
//! beside them. Amounts that are not the item's price are set aside; what
//! remains must be one price (or one range), with at most former prices
//! named as such. A reading is returned only when exactly one reading fits
//! and its amounts agree (a former price above the current one, an
//! eco-participation or an instalment below it); otherwise the text is an
//! error: a wrong price is worse than none.
//!
//! # Where each step lives
//!
//! `text` folds the text into characters, `currency` finds the currency
//! markers, `numbers` finds the numbers and reads an amount, `labels` finds
//! the words that label amounts, `amounts` pairs numbers with their markers,
//! `read` runs the steps in order, and `evaluate` judges one way of
//! attaching the labels to the amounts.

mod amounts;
mod currency;
mod evaluate;
mod labels;
mod numbers;
mod read;
mod text;

use crate::domain::{Currency, Money};
use read::read;

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
    /// Several numbers that are not a range, and no words saying which one
    /// is the price.
    #[error("several numbers in {0:?}; expected one price or a range")]
    SeveralNumbers(String),
    /// The separators cannot be read.
    #[error("cannot read the amount in {0:?}: {1}")]
    Unreadable(String, String),
    /// Only amounts that are not what the item costs (an instalment, a unit
    /// price, a member price, a shipping cost, a former price alone…).
    #[error("{0:?} shows {1}, not the item's price; read the element that shows the price itself")]
    NotTheItemPrice(String, String),
    /// The amounts' labels contradict each other, or fit several readings.
    #[error("cannot tell the price in {0:?}: {1}")]
    Ambiguous(String, String),
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

/// Which former price the words beside an amount name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormerKind {
    /// The shop's own earlier price: "au lieu de", "Prix initial", "Ancien
    /// prix", "Prix de référence", "statt", "was", "Regular price", "antes",
    /// "prima", "invece di".
    Previous,
    /// A manufacturer's recommended price: "prix conseillé", "UVP", "RRP",
    /// "PVC", "PVP recomendado", "prezzo consigliato", "MSRP".
    Recommended,
    /// A list price: "List price", "Listenpreis", "prix catalogue".
    List,
    /// An amount above a price marked as the current one ("59,00 € Now
    /// 49,00 €"), with no word of its own: crossed out, of unknown kind.
    Unmarked,
}

/// A former price read beside the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormerPrice {
    /// The former amount, in the current price's currency.
    pub amount: Money,
    /// What the words beside it call it.
    pub kind: FormerKind,
}

/// What a price block shows: the current price and, when words mark one
/// unambiguously, a former price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceBlockReading {
    /// The price the item costs now (a "from" price or a range included).
    pub current: ParsedPrice,
    /// The former price, above the current one (a recommended or list
    /// price may equal it). When several kinds are shown, the first of
    /// previous, unmarked, list and recommended.
    pub former: Option<FormerPrice>,
}

/// Reads a price, a "from" price or a range.
///
/// The text of a price element may carry badges, tax and eco-participation
/// notes, instalments, unit prices and a former price: the item's current
/// price is read (see the module documentation). A text whose only amount
/// is labelled as a former price ("Regular price €129,00", the text of a
/// crossed-out element) reads as that amount; use [`read_price_block`] to
/// tell the two apart.
pub fn parse_price(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<ParsedPrice, PriceTextError> {
    match read(text, default_currency)? {
        Outcome::Block(b) => Ok(b.current),
        Outcome::FormerOnly(p) => Ok(p),
    }
}

/// Reads a price (the low end of a range), as [`parse_price`].
pub fn parse_money(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<Money, PriceTextError> {
    parse_price(text, default_currency).map(|p| p.amount)
}

/// Reads a price block: the current price and the former price shown
/// beside it ("49,00 € au lieu de 59,00 €", "UVP 59,95 € 49,95 €", "Was
/// £40.00 Now £30.00").
///
/// The former price is given only when words mark it ("au lieu de",
/// "statt", "UVP", "List price"…) or when the current one is marked ("Now",
/// "Sale price") and the other is above it; two bare amounts ("59,00 €
/// 49,00 €") are an error, never a guess. Instalments, unit prices,
/// eco-participations, shipping costs, savings and member prices are never
/// the price; a text showing only those, or only a former price, is an
/// error.
pub fn read_price_block(
    text: &str,
    default_currency: Option<Currency>,
) -> Result<PriceBlockReading, PriceTextError> {
    match read(text, default_currency)? {
        Outcome::Block(b) => Ok(b),
        Outcome::FormerOnly(_) => Err(PriceTextError::NotTheItemPrice(
            text.to_string(),
            "only a former price".into(),
        )),
    }
}

/// What a text shows: a price block, or only a former price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Block(PriceBlockReading),
    /// Only a former price: what a crossed-out element shows.
    FormerOnly(ParsedPrice),
}

#[cfg(test)]
mod tests;
