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

// ---------------------------------------------------------------------------
// Text normalisation

const SPACES: [char; 6] = ['\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\t', '\n'];
const INVISIBLE: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{feff}', '\u{ad}'];

fn superscript_digit(c: char) -> Option<char> {
    match c {
        '⁰' => Some('0'),
        '¹' => Some('1'),
        '²' => Some('2'),
        '³' => Some('3'),
        '\u{2074}'..='\u{2079}' => char::from_digit(c as u32 - 0x2070, 10),
        _ => None,
    }
}

/// Lower-cased letters without their accents, one apostrophe, one dash.
fn fold(c: char, out: &mut Vec<char>) {
    let f = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ą' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ě' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ł' => 'l',
        'ś' | 'š' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ř' => 'r',
        'ß' => {
            out.extend(['s', 's']);
            return;
        }
        'æ' => {
            out.extend(['a', 'e']);
            return;
        }
        '’' | '‘' | '`' | '´' => '\'',
        '−' | '–' | '—' | '‐' | '‑' | '‒' => '-',
        c => c,
    };
    out.push(f);
}

/// The text as characters: folded, one space between words, superscript
/// cents ("49⁹⁹") as decimals, footnote marks ("UVP¹") dropped.
fn normalize(text: &str) -> Result<Vec<char>, &'static str> {
    let src: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let ch = src[i];
        if superscript_digit(ch).is_some() {
            let mut run = Vec::new();
            while let Some(d) = src.get(i).copied().and_then(superscript_digit) {
                run.push(d);
                i += 1;
            }
            let last = out.last().copied();
            let before_last = out.len().checked_sub(2).and_then(|k| out.get(k)).copied();
            let digit_before = before_last.is_some_and(|c| c.is_ascii_digit());
            if last.is_some_and(|c| c.is_ascii_digit()) {
                if run.len() != 2 {
                    return Err("superscript digits right after a number");
                }
                out.push(',');
                out.extend(run);
            } else if matches!(last, Some(',' | '.')) && digit_before {
                if run.len() != 2 {
                    return Err("superscript digits right after a number");
                }
                out.extend(run);
            } else if last == Some('€') && digit_before && run.len() == 2 {
                out.extend(run);
            } else if last.is_some_and(|c| c != ' ') {
                // Elsewhere a superscript is a footnote mark, and a word
                // break ("kg¹EUR").
                out.push(' ');
            }
            continue;
        }
        i += 1;
        if INVISIBLE.contains(&ch) {
            continue;
        }
        if ch.is_whitespace() || SPACES.contains(&ch) {
            if out.last().is_some_and(|c| *c != ' ') {
                out.push(' ');
            }
            continue;
        }
        if ch.is_numeric() && !ch.is_ascii_digit() {
            return Err("digits of another script");
        }
        for l in ch.to_lowercase() {
            fold(l, &mut out);
        }
    }
    while out.last() == Some(&' ') {
        out.pop();
    }
    Ok(out)
}

/// `p` at `c[i..]`, standing alone when it starts or ends with a letter.
fn matches_at(c: &[char], i: usize, p: &str) -> Option<usize> {
    let mut k = i;
    for pc in p.chars() {
        if c.get(k) != Some(&pc) {
            return None;
        }
        k += 1;
    }
    let first = p.chars().next()?;
    let last = p.chars().last()?;
    if first.is_alphabetic() && i > 0 && c.get(i - 1).is_some_and(|x| x.is_alphabetic()) {
        return None;
    }
    if last.is_alphabetic() && c.get(k).is_some_and(|x| x.is_alphabetic()) {
        return None;
    }
    Some(k)
}

/// The longest word of `words` at `c[i..]`.
fn word_at(c: &[char], i: usize, words: &[&str]) -> Option<usize> {
    words.iter().filter_map(|w| matches_at(c, i, w)).max()
}

/// The position after `end`, past one space.
fn skip_space(c: &[char], end: usize) -> usize {
    if c.get(end) == Some(&' ') {
        end + 1
    } else {
        end
    }
}

// ---------------------------------------------------------------------------
// Currencies

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cur {
    Code(&'static str),
    /// "kr": Swedish, Danish or Norwegian.
    Kr,
    /// "$": the shop's own dollar, or the US one.
    Dollar,
    /// "¥": yen, or yuan in a Chinese shop.
    Yen,
}

/// Currency markers, folded as [`normalize`] leaves them.
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
struct Mark {
    start: usize,
    end: usize,
    cur: Cur,
    /// "£", "$": written before the amount only.
    prefix_only: bool,
    euro: bool,
}

fn marker_at(c: &[char], i: usize) -> Option<Mark> {
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
fn marker_ending_at(c: &[char], end: usize) -> Option<Mark> {
    (0..end)
        .rev()
        .take(4)
        .filter_map(|start| marker_at(c, start))
        .find(|m| m.end == end)
}

fn resolve(cur: Cur, default: Option<Currency>) -> Option<Currency> {
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

// ---------------------------------------------------------------------------
// Numbers

/// A run of digits with its separators, as written.
#[derive(Debug, Clone)]
struct Num {
    start: usize,
    end: usize,
    token: String,
    /// ".75", ",99": no digit before the separator.
    leading_sep: bool,
    /// Glued to a word and grouped by spaces ("de1 299,00"): where the
    /// number starts cannot be told.
    glued_groups: bool,
}

fn is_group_char(c: char) -> bool {
    c == ' ' || c == '\''
}

/// The numbers of a text: digits with their separators, "€" between
/// digits ("29€99") and a trailing ".–". A space or an apostrophe joins
/// only a group of exactly three digits.
fn scan_numbers(c: &[char]) -> Vec<Num> {
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
enum NumKind {
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

fn num_kind(c: &[char], n: &Num, marks: &[Mark]) -> NumKind {
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
fn dates_and_times(c: &[char], nums: &[Num], kinds: &[NumKind], marks: &[Mark]) -> Vec<usize> {
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
fn amount(token: &str, currency: Currency, original: &str) -> Result<Money, PriceTextError> {
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
fn is_cents(token: &str) -> bool {
    token.len() == 2 && token.bytes().all(|b| b.is_ascii_digit())
}

/// A plain integer token: digits, perhaps grouped by spaces.
fn is_plain_integer(token: &str) -> bool {
    token
        .chars()
        .all(|c| c.is_ascii_digit() || is_group_char(c))
}

// ---------------------------------------------------------------------------
// Labels

/// Amounts a text may show that are not what the item costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aside {
    Instalment,
    UnitPrice,
    Component,
    AddOn,
    Shipping,
    Member,
    Saving,
    Voucher,
    Reference,
    MultiBuy,
    LowestRecent,
    Negative,
}

impl Aside {
    fn describe(self) -> &'static str {
        match self {
            Aside::Instalment => "an instalment",
            Aside::UnitPrice => "a unit price",
            Aside::Component => "an included part (eco-participation, tax, deposit)",
            Aside::AddOn => "an amount added on top",
            Aside::Shipping => "a shipping cost or threshold",
            Aside::Member => "a member or loyalty price",
            Aside::Saving => "a saving",
            Aside::Voucher => "a voucher or cashback amount",
            Aside::Reference => "a reference, size or pack count",
            Aside::MultiBuy => "a multi-buy offer",
            Aside::LowestRecent => "a reference price of recent days",
            Aside::Negative => "a negative amount",
        }
    }
}

/// What a label says about its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// "à partir de", "ab", "from".
    From,
    /// "now", "Sale price", "Prix promo".
    Current,
    Former(FormerKind),
    /// Tax included: "TTC", "inkl. MwSt.".
    Gross,
    /// Tax excluded: "HT", "zzgl. MwSt.".
    Net,
    Aside(Aside),
    /// "Prix", "Price": starts a label, says nothing.
    Label,
    /// "zzgl. Versand": a note with no amount of its own.
    Note,
    /// "gratuit", "free": the item costs nothing.
    Free,
}

/// Which amount a label belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attach {
    /// The amount after it ("au lieu de 59 €").
    Next,
    /// The amount before it ("12 € / kg", "12 € TTC").
    Prev,
    /// Either ("UVP 59 €", "59 € UVP").
    Either,
}

#[rustfmt::skip]
const FROM: &[&str] = &[
    "a partir de", "des", "from", "ab", "desde", "a partire da", "vanaf", "starting at",
    "starting from", "fran", "fra", "od",
];
#[rustfmt::skip]
const CURRENT: &[&str] = &[
    "now", "maintenant", "jetzt", "jetzt nur", "nur", "nu", "ahora", "ora", "adesso", "sale",
    "sale price", "promo", "prix promo", "prix promotionnel", "prix solde", "prix reduit",
    "prix apres remise", "prix apres reduction", "nouveau prix", "prix actuel", "prix special",
    "aktionspreis", "angebotspreis", "sonderpreis", "unser preis", "ihr preis", "our price",
    "offer price", "deal price", "special price", "your price", "votre prix", "precio oferta",
    "precio rebajado", "precio especial", "oferta", "prezzo scontato", "prezzo offerta",
    "prezzo speciale", "offerta", "reapris", "kampanjpris", "tilbudspris", "tilbud",
];
#[rustfmt::skip]
const PREVIOUS: &[&str] = &[
    "au lieu de", "prix initial", "ancien prix", "prix barre", "prix de reference",
    "prix habituel", "prix normal", "prix d'origine", "prix avant", "avant", "statt", "anstatt",
    "statt bisher", "vorher", "bisher", "ursprunglich", "ursprunglicher preis", "alter preis",
    "fruher", "fruherer preis", "normalpreis", "streichpreis", "regularer preis", "was",
    "previously", "previous price", "regular price", "reg.", "original price", "orig.",
    "old price", "antes", "precio anterior", "precio original", "precio habitual",
    "precio normal", "prima", "invece di", "anziche", "prezzo precedente", "prezzo originale",
    "prezzo iniziale", "prezzo pieno", "prezzo normale", "ord. pris", "ord.pris",
    "ordinarie pris", "ordinarie", "tidigare pris", "normalpris", "voorheen",
];
/// Recommended-price words that also follow their amount ("59,95 € UVP").
#[rustfmt::skip]
const RECOMMENDED_EITHER: &[&str] = &[
    "uvp", "rrp", "msrp", "srp", "pvc", "ppc", "pvpr",
];
#[rustfmt::skip]
const RECOMMENDED: &[&str] = &[
    "prix conseille", "prix de vente conseille", "prix public conseille",
    "unverbindliche preisempfehlung", "unverb. preisempfehlung", "preisempfehlung", "empf. vk",
    "recommended retail price", "recommended price", "suggested retail price",
    "manufacturer's suggested retail price", "pvp recomendado", "precio recomendado",
    "precio de venta recomendado", "prezzo consigliato", "prezzo di vendita consigliato",
    "prezzo al pubblico consigliato", "rek. pris", "rekommenderat pris", "cirkapris", "ca-pris",
    "vejl. pris", "vejledende pris", "veil. pris", "veiledende pris", "adviesprijs",
];
#[rustfmt::skip]
const LIST: &[&str] = &[
    "list price", "list", "listenpreis", "prix catalogue", "prix de liste", "prezzo di listino",
    "prezzo listino", "precio de lista", "precio de catalogo", "listpris",
];
#[rustfmt::skip]
const GROSS: &[&str] = &[
    "ttc", "t.t.c.", "toutes taxes comprises", "inkl. mwst.", "inkl. mwst", "incl. mwst",
    "inkl. gesetzl. mwst.", "inkl. gesetzl. mwst", "inkl. ust.", "inkl. ust",
    "inkl. mehrwertsteuer", "incl. vat", "inc. vat", "incl vat", "inc vat", "including vat",
    "vat included", "iva incluida", "iva incl.", "iva incluido", "iva inclusa", "iva compresa",
    "tva incluse", "tva comprise", "incl. btw", "inkl. moms", "inkl moms",
];
#[rustfmt::skip]
const GROSS_LABELS: &[&str] = &[
    "prix ttc", "bruttopreis",
];
#[rustfmt::skip]
const NET: &[&str] = &[
    "ht", "h.t.", "hors taxes", "hors taxe", "hors tva", "exkl. mwst.", "exkl. mwst",
    "zzgl. mwst.", "zzgl. mwst", "zzgl. ust.", "zzgl. ust", "exkl. ust", "excl. vat", "ex. vat",
    "ex vat", "exc. vat", "excluding vat", "+ vat", "plus vat", "+ iva", "iva excluida",
    "sin iva", "mas iva", "iva esclusa", "+ tva", "excl. btw", "exkl. moms", "netto",
];
#[rustfmt::skip]
const NET_LABELS: &[&str] = &[
    "prix ht", "prix hors taxes", "nettopreis",
];
#[rustfmt::skip]
const COMPONENT_PREFIX: &[&str] = &[
    "dont", "davon", "inkl.", "incl.", "inclus", "including", "incluye", "di cui", "inclusief",
];
#[rustfmt::skip]
const COMPONENT_EITHER: &[&str] = &[
    "eco-participation", "eco participation", "ecoparticipation", "eco-part.", "eco-part",
    "ecopart", "ecotaxe", "eco-taxe", "eco-contribution", "eco-mobilier", "ecomobilier", "deee",
    "d3e", "pfand", "deposit", "consigne", "raee", "contributo raee", "ecotasa",
    "canon digital", "copie privee", "urheberrechtsabgabe",
];
#[rustfmt::skip]
const COMPONENT_SUFFIX: &[&str] = &[
    "d'eco-participation", "d'eco participation", "d'ecoparticipation", "d'eco-part.",
    "d'eco-part", "d'ecopart", "d'ecotaxe", "d'eco-taxe", "d'eco-contribution",
    "d'eco-mobilier", "de consigne", "de deee",
];
#[rustfmt::skip]
const ADD_ON: &[&str] = &[
    "+", "zzgl.", "zzgl", "zuzuglich", "plus", "en plus", "mas",
];
#[rustfmt::skip]
const SHIPPING: &[&str] = &[
    "livraison", "frais de livraison", "frais de port", "frais d'envoi", "port", "shipping",
    "delivery", "postage", "p&p", "versand", "versandkosten", "lieferung", "envio",
    "gastos de envio", "spedizione", "spese di spedizione", "consegna", "frakt", "porto",
    "verzendkosten", "verzending",
];
/// Free shipping: labels the threshold after it ("livraison offerte dès 60 €").
#[rustfmt::skip]
const FREE_SHIPPING: &[&str] = &[
    "livraison offerte", "livraison gratuite", "frais de port offerts",
    "frais de port gratuits", "port offert", "port gratuit", "free shipping", "free delivery",
    "free standard delivery", "kostenloser versand", "versandkostenfrei", "gratis versand",
    "versand kostenlos", "envio gratis", "envio gratuito", "spedizione gratuita",
    "spedizione gratis", "fri frakt", "gratis verzending",
];
#[rustfmt::skip]
const NOTES: &[&str] = &[
    "zzgl. versand", "zzgl. versandkosten", "zuzuglich versand", "zuzuglich versandkosten",
    "zzgl. porto", "inkl. versand", "plus shipping", "+ shipping", "plus postage", "+ p&p",
    "+ versand", "hors frais de port", "hors livraison", "frais de port en sus",
    "plus frais de port", "+ frais de port", "+ frais de livraison", "excl. shipping",
    "incl. shipping", "spedizione esclusa", "envio no incluido", "+ envio", "+ port",
    "retours gratuits", "retour gratuit", "retours offerts", "free returns", "free return",
    "kostenlose rucksendung", "kostenloser ruckversand", "devolucion gratuita",
    "devoluciones gratis", "reso gratuito", "resi gratuiti", "retrait gratuit",
    "retrait en magasin gratuit", "click & collect gratuit", "free click & collect",
    "free collection",
];
#[rustfmt::skip]
const MEMBER: &[&str] = &[
    "prix membre", "prix membres", "prix adherent", "prix adherents", "prix fidelite",
    "prix carte", "prix club", "prix abonne", "prix abonnes", "prix etudiant", "prix pro",
    "prix professionnel", "member price", "members price", "member's price", "members' price",
    "club price", "loyalty price", "student price", "trade price", "mitgliederpreis",
    "mitgliedspreis", "clubpreis", "kundenkartenpreis", "precio socio", "precio socios",
    "precio club", "precio miembro", "prezzo soci", "prezzo socio", "prezzo riservato",
    "prezzo membri", "medlemspris", "klubbpris",
];
#[rustfmt::skip]
const MEMBER_EITHER: &[&str] = &[
    "avec la carte", "avec carte", "avec votre carte", "with card", "for members",
    "pour les membres", "pour les adherents", "fur mitglieder", "para socios", "per i soci",
    "membres", "adherents", "members",
];
#[rustfmt::skip]
const SAVING: &[&str] = &[
    "economisez", "vous economisez", "economie", "soit une economie de", "sie sparen",
    "sparen sie", "ersparnis", "you save", "save", "ahorra", "ahorras", "ahorro", "ahorre",
    "risparmi", "risparmia", "risparmio", "spara", "du sparar", "remise", "remise immediate",
    "reduction", "rabatt", "discount", "descuento", "sconto",
];
#[rustfmt::skip]
const SAVING_SUFFIX: &[&str] = &[
    "off", "de remise", "de reduction", "d'economie", "d'economies", "gespart", "de descuento",
    "di sconto",
];
#[rustfmt::skip]
const VOUCHER: &[&str] = &[
    "carte cadeau", "carte-cadeau", "e-carte cadeau", "cheque cadeau", "bon d'achat",
    "bon de reduction", "gift card", "gift voucher", "e-gift card", "voucher", "gutschein",
    "coupon", "code promo", "code", "cashback", "rembourse", "remboursement", "odr",
    "offre de remboursement", "tarjeta regalo", "cheque regalo", "buono", "buono regalo",
    "carta regalo", "presentkort",
];
#[rustfmt::skip]
const REFERENCE: &[&str] = &[
    "ref.", "ref", "reference", "sku", "ean", "art.-nr.", "art.-nr", "art. nr.",
    "artikelnummer", "artikel-nr.", "modele", "model", "taille", "size", "grosse", "talla",
    "taglia", "pointure", "lot de", "pack de", "pack of", "set of", "set de", "lote de",
    "confezione da", "packung mit", "quantite", "quantity", "menge", "cantidad", "quantita",
    "qte", "qty",
];
#[rustfmt::skip]
const LOWEST_RECENT: &[&str] = &[
    "prix le plus bas", "le prix le plus bas", "lowest price", "niedrigster preis",
    "niedrigster gesamtpreis", "tiefstpreis", "precio mas bajo", "prezzo piu basso",
    "laagste prijs", "lagsta pris", "laveste pris", "typical price", "typical",
];
#[rustfmt::skip]
const UNIT_LABELS: &[&str] = &[
    "grundpreis", "prix au kilo", "prix au kg", "prix au litre", "prix au l", "prix/kg",
    "prix/l", "prix unitaire", "prix a l'unite", "unit price", "price per", "precio por",
    "precio unitario", "prezzo al", "prezzo per", "prezzo unitario", "jamforpris", "literpreis",
    "kilopreis", "stuckpreis", "=",
];
#[rustfmt::skip]
const LABELS: &[&str] = &[
    "only", "seulement", "just", "solo", "solamente", "soltanto", "prix", "price", "preis",
    "precio", "prezzo", "pris", "prijs", "cena", "soit", "tarif",
];
#[rustfmt::skip]
const FREE: &[&str] = &[
    "gratuit", "gratuite", "gratuits", "gratuites", "free", "offert", "offerte", "offerts",
    "offertes", "kostenlos", "kostenlose", "kostenloser", "gratis", "gratuito", "gratuita",
];

/// Every label, with what it says and where its amount is.
const PHRASES: &[(&[&str], Role, Attach)] = &[
    (FROM, Role::From, Attach::Next),
    (CURRENT, Role::Current, Attach::Next),
    (PREVIOUS, Role::Former(FormerKind::Previous), Attach::Next),
    (
        RECOMMENDED,
        Role::Former(FormerKind::Recommended),
        Attach::Next,
    ),
    (
        RECOMMENDED_EITHER,
        Role::Former(FormerKind::Recommended),
        Attach::Either,
    ),
    (LIST, Role::Former(FormerKind::List), Attach::Next),
    (GROSS, Role::Gross, Attach::Prev),
    (GROSS_LABELS, Role::Gross, Attach::Next),
    (NET, Role::Net, Attach::Prev),
    (NET_LABELS, Role::Net, Attach::Next),
    (
        COMPONENT_PREFIX,
        Role::Aside(Aside::Component),
        Attach::Next,
    ),
    (
        COMPONENT_EITHER,
        Role::Aside(Aside::Component),
        Attach::Either,
    ),
    (
        COMPONENT_SUFFIX,
        Role::Aside(Aside::Component),
        Attach::Prev,
    ),
    (ADD_ON, Role::Aside(Aside::AddOn), Attach::Next),
    (SHIPPING, Role::Aside(Aside::Shipping), Attach::Either),
    (FREE_SHIPPING, Role::Aside(Aside::Shipping), Attach::Next),
    (NOTES, Role::Note, Attach::Prev),
    (MEMBER, Role::Aside(Aside::Member), Attach::Next),
    (MEMBER_EITHER, Role::Aside(Aside::Member), Attach::Either),
    (SAVING, Role::Aside(Aside::Saving), Attach::Next),
    (SAVING_SUFFIX, Role::Aside(Aside::Saving), Attach::Prev),
    (VOUCHER, Role::Aside(Aside::Voucher), Attach::Either),
    (REFERENCE, Role::Aside(Aside::Reference), Attach::Next),
    (
        LOWEST_RECENT,
        Role::Aside(Aside::LowestRecent),
        Attach::Next,
    ),
    (UNIT_LABELS, Role::Aside(Aside::UnitPrice), Attach::Next),
    (LABELS, Role::Label, Attach::Next),
    (FREE, Role::Free, Attach::Prev),
];

/// Units of a unit price ("€/kg", "le litre", "pro Stück", "/mois").
#[rustfmt::skip]
const PRICE_UNITS: &[&str] = &[
    "kg", "kilo", "kilogramme", "kilogram", "g", "gr", "gramme", "grammes", "mg", "l", "litre",
    "liter", "litro", "lt", "ltr", "ml", "cl", "dl", "m", "metre", "meter", "metro", "m2", "m3",
    "cm", "mm", "km", "lb", "lbs", "oz", "fl oz", "piece", "pieces", "pc", "pcs", "unite",
    "unit", "u", "ud", "uds", "unidad", "pz", "pezzo", "stuck", "stk", "st", "rouleau", "roll",
    "rolle", "dose", "lavage", "wash", "waschgang", "capsule", "tab", "tablet", "mois", "month",
    "mo", "monat", "mes", "mese", "an", "annee", "year", "yr", "jahr", "semaine", "week",
    "woche", "jour", "day", "tag", "nuit", "night", "nacht", "personne", "person", "pers.",
];
#[rustfmt::skip]
const PER: &[&str] = &[
    "/", "le", "la", "l'", "per", "pro", "al", "el", "par", "por", "the",
];

/// A unit-price tail at `c[i..]`: "/kg", "/ 100 g", "le kg", "pro Stück".
fn unit_phrase_at(c: &[char], i: usize) -> Option<usize> {
    let per = word_at(c, i, PER)?;
    let mut k = skip_space(c, per);
    let num = (k..)
        .take_while(|&x| {
            c.get(x)
                .is_some_and(|ch| ch.is_ascii_digit() || *ch == ',' || *ch == '.')
        })
        .count();
    if num > 0 {
        k = skip_space(c, k + num);
    }
    word_at(c, k, PRICE_UNITS)
}

/// A label found in the text.
#[derive(Debug, Clone, Copy)]
struct Phrase {
    start: usize,
    end: usize,
    role: Role,
    attach: Attach,
}

fn phrase_at(c: &[char], i: usize) -> Option<Phrase> {
    // Labels start a word, with a letter or one of "+", "=", "/".
    let first = *c.get(i)?;
    let mid_word = first.is_alphabetic() && i > 0 && c[i - 1].is_alphabetic();
    if mid_word || !(first.is_alphabetic() || matches!(first, '+' | '=' | '/')) {
        return None;
    }
    let mut best: Option<Phrase> = None;
    let mut consider = |end: usize, role: Role, attach: Attach| {
        if best.is_none_or(|b| end > b.end) {
            best = Some(Phrase {
                start: i,
                end,
                role,
                attach,
            });
        }
    };
    for (words, role, attach) in PHRASES {
        if let Some(end) = word_at(c, i, words) {
            consider(end, *role, *attach);
        }
    }
    if let Some(end) = unit_phrase_at(c, i) {
        consider(end, Role::Aside(Aside::UnitPrice), Attach::Prev);
    }
    best
}

// ---------------------------------------------------------------------------
// Reading

/// An amount of the text, with the currency markers it owns.
#[derive(Debug, Clone)]
struct Amt {
    /// With its currency markers.
    lo: usize,
    hi: usize,
    token: String,
    leading_sep: bool,
    marker_before: bool,
    marker_after: bool,
    euro_after: bool,
    /// Set aside by the number before it ("3 ×") or a minus sign.
    bound: Option<Aside>,
}

impl Amt {
    /// Written with a currency of its own.
    fn marked(&self) -> bool {
        self.marker_before || self.marker_after || self.token.contains('€')
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Block(PriceBlockReading),
    /// Only a former price: what a crossed-out element shows.
    FormerOnly(ParsedPrice),
}

/// Where a label goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    To(usize),
    Either(usize, usize),
    Nowhere,
}

/// At most this many labels tried both ways (2^n readings).
const MAX_UNDECIDED: usize = 6;

const RANGE_CONNECTORS: &[&str] = &["-", "a", "to", "bis", "~", "/"];
const HEAD_PUNCTUATION: &[char] = &['(', '[', '|', '•', '·', ';', '/'];

fn read(text: &str, default: Option<Currency>) -> Result<Outcome, PriceTextError> {
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
    let in_num = |k: usize| nums.iter().any(|n| (n.start..n.end).contains(&k));

    // Currency markers outside the numbers.
    let mut marks: Vec<Mark> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !in_num(i)
            && let Some(m) = marker_at(&c, i)
        {
            marks.push(m);
            i = m.end;
        } else {
            i += 1;
        }
    }
    let in_mark = |k: usize| marks.iter().any(|m| (m.start..m.end).contains(&k));

    // Labels outside the numbers and markers.
    let mut phrases: Vec<Phrase> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !in_num(i)
            && !in_mark(i)
            && let Some(p) = phrase_at(&c, i)
        {
            phrases.push(p);
            i = p.end;
        } else {
            i += 1;
        }
    }
    if phrases.iter().any(|p| p.role == Role::Free) {
        return Err(PriceTextError::NotAPrice(original.to_string()));
    }

    // Amounts, each with the markers written beside it.
    let mut kinds: Vec<NumKind> = nums.iter().map(|n| num_kind(&c, n, &marks)).collect();
    if kinds.contains(&NumKind::Garbled) {
        return Err(PriceTextError::Unreadable(
            original.to_string(),
            "an amount glued to a word".into(),
        ));
    }
    for k in dates_and_times(&c, &nums, &kinds, &marks) {
        kinds[k] = NumKind::Code;
    }
    // Which amount owns each currency marker. Between two amounts it goes
    // to the one written in the same style as its neighbours: "49,99
    // €49,99 €" and "35 € 99" (the first), "€59 €47" and "EUR 0,02 EUR
    // 0,01" (the second); with no such sign, to the first when it touches
    // only the first ("35€ 99") or the second is split cents ("35 € 99"),
    // else to neither ("0,00 €4 avis", "12:30€0.00", "12:30 EUR 0,00").
    let amount_nums: Vec<usize> = (0..nums.len())
        .filter(|&k| kinds[k] == NumKind::Amount)
        .collect();
    let number_after = |m: &Mark| {
        amount_nums
            .iter()
            .copied()
            .find(|&x| m.end == nums[x].start || skip_space(&c, m.end) == nums[x].start)
    };
    let number_before = |m: &Mark| {
        amount_nums.iter().copied().find(|&x| {
            !m.prefix_only && (m.start == nums[x].end || m.start == skip_space(&c, nums[x].end))
        })
    };
    let owner: Vec<Option<usize>> = marks
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
        .collect();
    let mut amts: Vec<Amt> = Vec::new();
    let mut count: Option<(Aside, usize)> = None;
    for (idx, (n, kind)) in nums.iter().zip(&kinds).enumerate() {
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
    if amts.is_empty() {
        return Err(if kinds.contains(&NumKind::Percent) {
            PriceTextError::NotAPrice(original.to_string())
        } else {
            PriceTextError::NoAmount(original.to_string())
        });
    }

    // One currency for the whole text.
    let mut currency: Option<Currency> = None;
    for m in &marks {
        let r = resolve(m.cur, default)
            .ok_or_else(|| PriceTextError::MissingCurrency(original.to_string()))?;
        if currency.is_some_and(|cur| cur != r) {
            return Err(PriceTextError::Ambiguous(
                original.to_string(),
                "amounts in several currencies".into(),
            ));
        }
        currency = Some(r);
    }
    // "29€99": the euro sign inside a number.
    if amts.iter().any(|a| a.token.contains('€')) {
        if currency.is_some_and(|cur| cur != Currency::EUR) {
            return Err(PriceTextError::Ambiguous(
                original.to_string(),
                "amounts in several currencies".into(),
            ));
        }
        currency = Some(Currency::EUR);
    }
    let currency = currency
        .or(default)
        .ok_or_else(|| PriceTextError::MissingCurrency(original.to_string()))?;

    let amts = join_split_decimals(&c, amts, currency, original);
    let mut values = Vec::with_capacity(amts.len());
    for a in &amts {
        values.push(amount(&a.token, currency, original)?);
    }
    let (mut amts, values) = join_repeats(&c, amts, values);

    // A minus sign right before an amount (not a range dash) sets it aside.
    let gap = |from: usize, to: usize| -> String { c[from..to].iter().collect() };
    // "10 € - 20 €", "de 10 € à 20 €"; a word stands alone ("A4" is no "à").
    let connector_before: Vec<bool> = (0..amts.len())
        .map(|k| {
            let g = if k > 0 {
                gap(amts[k - 1].hi, amts[k].lo)
            } else {
                String::new()
            };
            let t = g.trim();
            RANGE_CONNECTORS.contains(&t)
                && (!t.chars().all(char::is_alphabetic) || (g.starts_with(' ') && g.ends_with(' ')))
        })
        .collect();
    for k in 0..amts.len() {
        let from = if k == 0 { 0 } else { amts[k - 1].hi };
        let head = gap(from, amts[k].lo);
        if head.trim_end().ends_with('-') && !connector_before[k] {
            amts[k].bound = Some(Aside::Negative);
        }
    }

    let targets = place_labels(&c, &amts, &phrases, &nums);
    let undecided: Vec<usize> = (0..targets.len())
        .filter(|&k| matches!(targets[k], Target::Either(..)))
        .collect();
    if undecided.len() > MAX_UNDECIDED {
        return Err(PriceTextError::Ambiguous(
            original.to_string(),
            "too many labels between the amounts".into(),
        ));
    }
    let block = Block {
        original,
        text_marked: !marks.is_empty() || amts.iter().any(Amt::marked),
        amts: &amts,
        values: &values,
        connector_before: &connector_before,
    };
    let mut readings: Vec<Outcome> = Vec::new();
    let mut first_error = None;
    for mask in 0u32..(1 << undecided.len()) {
        let mut labels: Vec<Vec<(usize, Role)>> = vec![Vec::new(); amts.len()];
        for (pi, (p, target)) in phrases.iter().zip(&targets).enumerate() {
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

/// "35€ 99", "35 € 99", "392. 00", "392 .00", "49 ,99": decimals written
/// apart from their units, joined back when the result reads.
fn join_split_decimals(c: &[char], amts: Vec<Amt>, currency: Currency, original: &str) -> Vec<Amt> {
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
fn join_repeats(c: &[char], amts: Vec<Amt>, values: Vec<Money>) -> (Vec<Amt>, Vec<Money>) {
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

struct Block<'a> {
    original: &'a str,
    /// The text writes a currency somewhere.
    text_marked: bool,
    amts: &'a [Amt],
    values: &'a [Money],
    connector_before: &'a [bool],
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

    fn evaluate(&self, labels: &[Vec<(usize, Role)>]) -> Result<Outcome, PriceTextError> {
        let n = self.amts.len();
        let classes = (0..n)
            .map(|k| self.classify(k, labels))
            .collect::<Result<Vec<_>, _>>()?;
        // Prices and prices before tax, ranges joined.
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
        Ok(Outcome::Block(PriceBlockReading {
            current: ParsedPrice {
                amount: current.low,
                from: current.from,
                range_max: current.high,
            },
            former,
        }))
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

#[cfg(test)]
mod tests;
