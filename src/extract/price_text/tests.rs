//! Tests of the price-text reader: a table of real-world shapes, rejected
//! inputs, generated locale formats, price elements carrying several
//! amounts and words, and property tests.

use proptest::prelude::*;

use super::*;

fn cur(c: &str) -> Currency {
    Currency::new(c).unwrap()
}

fn ok(text: &str, default: Option<&str>) -> (i64, String) {
    let m = parse_money(text, default.map(cur)).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    (m.minor, m.currency.to_string())
}

#[test]
fn real_world_shapes() {
    let table: &[(&str, Option<&str>, i64, &str)] = &[
        ("1 299,00 €", None, 129_900, "EUR"),
        ("1\u{a0}299,00\u{a0}€", None, 129_900, "EUR"),
        ("1\u{202f}299,00\u{a0}€", None, 129_900, "EUR"),
        ("1.299,00 EUR", None, 129_900, "EUR"),
        ("€1,299.00", None, 129_900, "EUR"),
        ("29€99", None, 2_999, "EUR"),
        ("1 299 €", None, 129_900, "EUR"),
        ("CHF 1'299.–", None, 129_900, "CHF"),
        ("1’299.50 CHF", None, 129_950, "CHF"),
        ("£12", None, 1_200, "GBP"),
        ("12,-", Some("EUR"), 1_200, "EUR"),
        ("12,--", Some("EUR"), 1_200, "EUR"),
        ("12,50€", None, 1_250, "EUR"),
        ("EUR 12.50", None, 1_250, "EUR"),
        ("12.5 €", None, 1_250, "EUR"),
        ("$1,299", None, 129_900, "USD"),
        ("1,299", Some("USD"), 129_900, "USD"),
        ("0,99 €", None, 99, "EUR"),
        ("12.99", Some("EUR"), 1_299, "EUR"),
        ("Prix : 12,00 €", None, 1_200, "EUR"),
        ("Now €12", None, 1_200, "EUR"),
        ("12,00 € TTC", None, 1_200, "EUR"),
        ("12,00 € HT", None, 1_200, "EUR"),
        ("Price: $19.95", None, 1_995, "USD"),
        ("Le prix : 49,90 euros", None, 4_990, "EUR"),
        ("49 euros", None, 4_900, "EUR"),
        ("1.299 €", None, 129_900, "EUR"),
        ("12.345,67 €", None, 1_234_567, "EUR"),
        ("1.234.567,89 €", None, 123_456_789, "EUR"),
        ("1,234,567.89 USD", None, 123_456_789, "USD"),
        ("1 234 567,89 €", None, 123_456_789, "EUR"),
        ("129 €", None, 12_900, "EUR"),
        ("129€", None, 12_900, "EUR"),
        ("€ 129", None, 12_900, "EUR"),
        ("129,9 €", None, 12_990, "EUR"),
        ("129.90", Some("EUR"), 12_990, "EUR"),
        ("  129,90 €  ", None, 12_990, "EUR"),
        ("129,90\n€", None, 12_990, "EUR"),
        ("€129.90", None, 12_990, "EUR"),
        ("EUR129.90", None, 12_990, "EUR"),
        ("129.90EUR", None, 12_990, "EUR"),
        ("£1,049.99", None, 104_999, "GBP"),
        ("GBP 15", None, 1_500, "GBP"),
        ("Fr. 49.90", None, 4_990, "CHF"),
        ("CHF 49.-", None, 4_900, "CHF"),
        ("49.– CHF", None, 4_900, "CHF"),
        ("SFr 12.50", None, 1_250, "CHF"),
        ("1 299 kr", Some("SEK"), 129_900, "SEK"),
        ("299,95 kr.", Some("DKK"), 29_995, "DKK"),
        ("1 499,00 NOK", None, 149_900, "NOK"),
        ("199,99 zł", None, 19_999, "PLN"),
        ("1 299,00 PLN", None, 129_900, "PLN"),
        ("2 490 Kč", None, 249_000, "CZK"),
        ("12 990 Ft", None, 12_990, "HUF"), // forints are counted whole
        ("12.345 ¥", None, 12_345, "JPY"),
        ("¥1,500", None, 1_500, "JPY"),
        ("1,500円", None, 1_500, "JPY"),
        ("JPY 12,800", None, 12_800, "JPY"),
        ("C$ 19.99", Some("CAD"), 1_999, "CAD"), // C$ is the Canadian dollar, never USD
        ("CAD 19.99", None, 1_999, "CAD"),
        ("AUD 49", None, 4_900, "AUD"),
        ("US$ 5", None, 500, "USD"),
        ("5 USD", None, 500, "USD"),
        ("0.5 €", None, 50, "EUR"),
        ("0,05 €", None, 5, "EUR"),
        ("1 €", None, 100, "EUR"),
        ("€1", None, 100, "EUR"),
        ("1.000 €", None, 100_000, "EUR"),
        ("1,000 €", None, 100_000, "EUR"),
        ("1.000,00 €", None, 100_000, "EUR"),
        ("10.000 €", None, 1_000_000, "EUR"),
        ("9,99€", None, 999, "EUR"),
        ("9.99€", None, 999, "EUR"),
        ("9€", None, 900, "EUR"),
        ("9 €*", None, 900, "EUR"),
        ("ab 9,99 €", None, 999, "EUR"),
        ("dès 19,90 €", None, 1_990, "EUR"),
        ("à partir de 49 €", None, 4_900, "EUR"),
        ("A partir de 49€", None, 4_900, "EUR"),
        ("from £10", None, 1_000, "GBP"),
        ("desde 25,00 €", None, 2_500, "EUR"),
        ("a partire da 30 €", None, 3_000, "EUR"),
        ("vanaf € 15,95", None, 1_595, "EUR"),
        ("Unser Preis: 79,95 €", None, 7_995, "EUR"),
        ("Precio: 59,95 €", None, 5_995, "EUR"),
        ("Prezzo 39,90 €", None, 3_990, "EUR"),
        ("€ 24,95", None, 2_495, "EUR"),
        ("24,95 € inkl. MwSt.", None, 2_495, "EUR"),
        ("Sale price€89.00", None, 8_900, "EUR"),
        ("Regular price €129,00 EUR", None, 12_900, "EUR"),
        ("€129,00 EUR", None, 12_900, "EUR"),
        ("129,00 € EUR", None, 12_900, "EUR"),
        ("1299", Some("EUR"), 129_900, "EUR"),
        ("12", Some("GBP"), 1_200, "GBP"),
    ];
    for (text, default, minor, currency) in table {
        assert_eq!(
            ok(text, *default),
            (*minor, currency.to_string()),
            "{text:?}"
        );
    }
    assert!(table.len() >= 90);
}

#[test]
fn ranges_and_from_prices() {
    let p = parse_price("10,00 € - 20,00 €", None).unwrap();
    assert_eq!(
        (p.amount.minor, p.range_max.map(|m| m.minor)),
        (1_000, Some(2_000))
    );
    let p = parse_price("10 – 20 €", None).unwrap();
    assert_eq!(p.range_max.map(|m| m.minor), Some(2_000));
    let p = parse_price("de 10 € à 20 €", None).unwrap();
    assert_eq!(p.range_max.map(|m| m.minor), Some(2_000));
    let p = parse_price("from £10 to £20", None).unwrap();
    assert!(p.from);
    assert_eq!(
        (p.amount.minor, p.range_max.map(|m| m.minor)),
        (1_000, Some(2_000))
    );
    let p = parse_price("à partir de 49 €", None).unwrap();
    assert!(p.from && p.range_max.is_none());
    let p = parse_price("€12.99 – €19.99", None).unwrap();
    assert_eq!(p.range_max.map(|m| m.minor), Some(1_999));
    assert!(
        parse_price("20 € - 10 €", None).is_err(),
        "a range ending below its start"
    );
}

#[test]
fn rejected_inputs() {
    let table: &[(&str, Option<&str>)] = &[
        ("", None),
        ("   ", Some("EUR")),
        ("Gratuit", Some("EUR")),
        ("Free", Some("EUR")),
        ("Offert", Some("EUR")),
        ("-12,00 €", None),
        ("−12,00 €", None),
        ("- 12 €", None),
        ("-30 %", Some("EUR")),
        ("30%", Some("EUR")),
        ("jusqu'à -50 %", Some("EUR")),
        ("2 pour 10 €", None),
        ("3 x 9,99 €", None),
        ("1.2.3,4,5", Some("EUR")),
        ("12,34,56 €", None),
        ("12.999", None),
        ("129,90", None),
        ("abc", Some("EUR")),
        ("€", None),
        ("EUR", None),
        ("prix sur demande", Some("EUR")),
        ("12/03/2026", Some("EUR")),
        ("12:30", Some("EUR")),
        ("99999999999999999999 €", None),
        ("1,2345 €", None),
        ("12,345.6.7 €", None),
        ("1 299 kr", Some("EUR")),
        ("5 kr", None),
        ("12,,50 €", None),
        ("12..50 €", None),
        ("1.23.45 €", None),
        ("Ref. 123 456 789", None),
        ("Taille 38 - 42", None),
    ];
    for (text, default) in table {
        assert!(
            parse_money(text, default.map(cur)).is_err(),
            "{text:?} should be refused: {:?}",
            parse_money(text, default.map(cur))
        );
    }
    assert!(table.len() >= 33);
    assert!(matches!(
        parse_money("-5 €", None),
        Err(PriceTextError::Negative(_))
    ));
    assert!(matches!(
        parse_money("-30 %", Some(Currency::EUR)),
        Err(PriceTextError::NotAPrice(_))
    ));
    assert!(matches!(
        parse_money("12,00", None),
        Err(PriceTextError::MissingCurrency(_))
    ));
    assert!(matches!(
        parse_money("2 pour 10 €", None),
        Err(PriceTextError::SeveralNumbers(_))
    ));
}

/// Formats minor units the way a locale shows them.
fn format(minor: i64, style: usize) -> String {
    let (int, cents) = (minor / 100, minor % 100);
    let group = |sep: &str| {
        let digits = int.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    };
    match style {
        0 => format!("{},{cents:02} €", group(" ")),
        1 => format!("{},{cents:02}\u{a0}€", group("\u{a0}")),
        2 => format!("{},{cents:02}\u{a0}€", group("\u{202f}")),
        3 => format!("{},{cents:02} €", group(".")),
        4 => format!("€{}.{cents:02}", group(",")),
        5 => format!("{int}.{cents:02} EUR"),
        6 => format!("EUR {int},{cents:02}"),
        7 => format!("{},{cents:02}€", group(".")),
        _ => format!("€ {},{cents:02}", group(" ")),
    }
}

#[test]
fn generated_locale_formats_read_back() {
    let amounts = [
        99,
        500,
        1_250,
        4_990,
        12_900,
        129_900,
        1_299_999,
        123_456_789,
    ];
    let mut n = 0;
    for minor in amounts {
        for style in 0..9 {
            let text = format(minor, style);
            assert_eq!(ok(&text, None), (minor, "EUR".to_string()), "{text:?}");
            n += 1;
        }
    }
    assert_eq!(n, 72);
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        let _ = parse_price(&s, Some(Currency::EUR));
        let _ = parse_price(&s, None);
        let _ = read_price_block(&s, Some(Currency::EUR));
    }

    #[test]
    fn euro_formats_round_trip(minor in 0i64..10_000_000_000, style in 0usize..9) {
        // "499 499,00 €" is refused as repeated fragments (see
        // `fragments_are_never_concatenated`); no shop sells at such a price.
        prop_assume!(!repeats_its_groups(minor / 100));
        let text = format(minor, style);
        prop_assert_eq!(parse_money(&text, None).map(|m| m.minor), Ok(minor), "{}", text);
    }

    #[test]
    fn pounds_and_yen_round_trip(units in 0i64..100_000_000, cents in 0i64..100) {
        let gbp = format!("£{}.{cents:02}", units);
        prop_assert_eq!(parse_money(&gbp, None).map(|m| m.minor), Ok(units * 100 + cents));
        let jpy = format!("¥{units}");
        prop_assert_eq!(parse_money(&jpy, None).map(|m| (m.minor, m.currency)), Ok((units, cur("JPY"))));
    }
}

/// Whole units written as identical groups of three ("499 499").
fn repeats_its_groups(units: i64) -> bool {
    let digits = units.to_string();
    digits.len() >= 6
        && digits.len() % 3 == 0
        && digits
            .as_bytes()
            .chunks(3)
            .all(|g| g == &digits.as_bytes()[..3])
}

/// Labels, badges and notes found around prices, with no digit at either
/// end and no currency of their own (a currency sign would make a number
/// of the noise an amount the text really shows).
const NOISE: &[&str] = &[
    "TTC",
    "HT",
    "inkl. MwSt.",
    "zzgl. Versand",
    "(-15 %)",
    "-20 %",
    "au lieu de",
    "Prix initial",
    "statt",
    "UVP",
    "Was",
    "Now",
    "dont",
    "d'éco-participation",
    "éco-part.",
    "ou 3 ×",
    "ou 4x",
    "/ kg",
    "(",
    ")",
    "soit",
    "Prix membre",
    "Prix",
    "à partir de",
    "ab",
    "Livraison offerte dès",
    "Versand",
    "-",
    "–",
    "à",
    "|",
    "Économisez",
    "100 g",
    "30 derniers jours",
    "Sale price",
    "Regular price",
    "List price",
    "RRP",
    "*",
    "¹",
    ":",
    ",",
    "livraison",
    "code",
    "avec la carte",
    "off",
    "le kg",
    "Grundpreis",
    "=",
    "1 kg",
    "+",
    "x",
    "2 pour",
    "Prix conseillé",
    "Prix le plus bas",
    "soit une économie de",
    "Sie sparen",
    "from",
    "to",
    "ou",
    "or",
    "Nur",
    "jusqu'à",
    "/",
    ".",
    "avant 12:30",
    "jusqu'au 31/12",
    "en 48h",
    "Garantie 2 ans",
    "4 avis",
    "Lot de 2",
    "Réf.",
    "Taille",
    "%",
    "x2",
    "A4",
    "2ème",
    "dès",
    "Prix membre exclusif",
    "(dont",
    "d'éco-part)",
];

proptest! {
    /// Whatever the words around them, a reading is always one of the
    /// amounts written in the text: never a concatenation, a fragment, a
    /// count or a percentage.
    #[test]
    fn never_an_amount_that_is_not_in_the_text(
        amounts in prop::collection::vec((0i64..100_000_000, 0usize..9), 1..4),
        noise in prop::collection::vec(prop::collection::vec(0usize..NOISE.len(), 0..3), 4),
        glue in prop::collection::vec(any::<bool>(), 16),
    ) {
        let mut parts: Vec<String> = Vec::new();
        let mut written: Vec<i64> = Vec::new();
        for (k, (minor, style)) in amounts.iter().enumerate() {
            parts.extend(noise[k].iter().map(|&n| NOISE[n].to_string()));
            parts.push(format(*minor, *style));
            written.push(*minor);
        }
        parts.extend(noise[3].iter().map(|&n| NOISE[n].to_string()));
        // Text nodes are often joined without a space, though not between
        // two numbers (or a number and its punctuation) or two words: those
        // would write another number ("31/12/13 100,00 €") or word.
        let mut text = String::new();
        for (k, part) in parts.iter().enumerate() {
            let numeric = |c: Option<char>| {
                c.is_some_and(|c| c.is_ascii_digit() || ",./:-–".contains(c))
            };
            let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
            let (last, first) = (text.chars().last(), part.chars().next());
            let glued = glue.get(k).copied().unwrap_or(false)
                && !(numeric(last) && numeric(first))
                && !(letter(last) && letter(first));
            if !text.is_empty() && !glued {
                text.push(' ');
            }
            text.push_str(part);
        }
        if let Ok(p) = parse_price(&text, Some(Currency::EUR)) {
            prop_assert!(written.contains(&p.amount.minor), "{:?} read as {}", text, p.amount);
            prop_assert_eq!(p.amount.currency, Currency::EUR);
            if let Some(max) = p.range_max {
                prop_assert!(written.contains(&max.minor), "{:?} up to {}", text, max);
            }
        }
        if let Ok(b) = read_price_block(&text, Some(Currency::EUR)) {
            prop_assert!(written.contains(&b.current.amount.minor), "{:?}: {:?}", text, b);
            if let Some(f) = b.former {
                prop_assert!(written.contains(&f.amount.minor), "{:?}: {:?}", text, b);
                prop_assert!(f.amount.minor >= b.current.amount.minor, "{:?}: {:?}", text, b);
            }
        }
    }
}

fn block(text: &str, default: Option<&str>) -> PriceBlockReading {
    read_price_block(text, default.map(cur)).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Reads each text with both readers: the current price, no former one.
fn assert_prices(table: &[(&str, Option<&str>, i64)]) {
    for (text, default, minor) in table {
        let b = block(text, *default);
        assert_eq!(b.current.amount.minor, *minor, "{text:?}: {b:?}");
        assert_eq!(b.former, None, "{text:?}: {b:?}");
        assert_eq!(ok(text, *default).0, *minor, "{text:?}");
    }
}

/// Both readers refuse each text.
fn assert_refused(table: &[(&str, Option<&str>)]) {
    for (text, default) in table {
        let p = parse_price(text, default.map(cur));
        let b = read_price_block(text, default.map(cur));
        assert!(p.is_err() && b.is_err(), "{text:?} read as {p:?} / {b:?}");
    }
}

#[test]
fn badges_beside_the_price_are_not_read() {
    assert_prices(&[
        ("129,00 € (-15 %)", None, 12_900),
        ("-15 % 129,00 €", None, 12_900),
        ("129,00 € -15%", None, 12_900),
        ("-17 % 49,99 €49,99 €", None, 4_999),
        ("2ème à -50 % 19,90 €", None, 1_990),
    ]);
}

#[test]
fn tax_eco_participation_and_shipping_notes_leave_the_main_amount() {
    assert_prices(&[
        ("49,90 € dont 0,50 € d'éco-participation", None, 4_990),
        ("49,90 € dont éco-part. 0,02 €", None, 4_990),
        ("49,90 € (dont 0,50 € d’éco-part)", None, 4_990),
        ("0,50 € d'éco-part 49,90 €", None, 4_990),
        ("49,90 € éco-part 0,50 €", None, 4_990),
        ("Éco-participation : 0,50 € 49,90 €", None, 4_990),
        ("59,90 € TTC", None, 5_990),
        // An element holding only a price before tax shows that price.
        ("49,92 € HT", None, 4_992),
        ("Prix HT : 49,92 €", None, 4_992),
        ("59,90 € TTC 49,92 € HT", None, 5_990),
        ("49,92 € HT 59,90 € TTC", None, 5_990),
        ("Prix HT : 49,92 € Prix TTC : 59,90 €", None, 5_990),
        ("49,92 € HT soit 59,90 € TTC", None, 5_990),
        ("49.90 € (39.90 € HT)", None, 4_990),
        ("24,95 € inkl. MwSt.", None, 2_495),
        ("24,95 € inkl. MwSt. zzgl. Versand", None, 2_495),
        ("24,95 € inkl. 19 % MwSt. zzgl. Versand", None, 2_495),
        ("24,95 € zzgl. 4,95 € Versand", None, 2_495),
        ("24,95 € + 4,95 € Versand", None, 2_495),
        ("0,99 € zzgl. 0,25 € Pfand", None, 99),
        ("59,90 € IVA incluida", None, 5_990),
        ("59,90 € IVA inclusa", None, 5_990),
        ("£12.00 incl. VAT", None, 1_200),
        ("49,90 € Livraison offerte", None, 4_990),
        ("49,90 € Livraison offerte dès 60 €", None, 4_990),
        ("Livraison offerte dès 60 € 49,90 €", None, 4_990),
        ("49,90 € Retours gratuits", None, 4_990),
        ("49,90 € jusqu'au 31/12/2026", None, 4_990),
        ("49,90 € jusqu'au 31.12.2026", None, 4_990),
        ("jusqu'au 31/12 100 000,00 €", None, 10_000_000),
        ("49,90 € jusqu'au 31 décembre", None, 4_990),
        ("Garantie 2 ans 49,90 €", None, 4_990),
        ("Commandez avant 12:30 49,90 €", None, 4_990),
        ("Dimensions 30 x 40 cm 49,90 €", None, 4_990),
        ("Lot de 2 19,90 €", None, 1_990),
        ("ean 3760123456789 49,90 €", None, 4_990),
    ]);
}

#[test]
fn from_words_in_many_languages_mark_a_from_price() {
    let table: &[(&str, Option<&str>, i64, &str)] = &[
        ("Pris från 299 kr", Some("SEK"), 29_900, "SEK"),
        ("Fra 299 kr.", Some("DKK"), 29_900, "DKK"),
        ("à partir de 49 €", None, 4_900, "EUR"),
        ("Prix à partir de 49,90 €", None, 4_990, "EUR"),
        ("dès 19,90 €", None, 1_990, "EUR"),
        ("ab 9,99 €", None, 999, "EUR"),
        ("ab nur 9,99 €", None, 999, "EUR"),
        ("desde 25,00 €", None, 2_500, "EUR"),
        ("a partire da 30 €", None, 3_000, "EUR"),
        ("from £10", None, 1_000, "GBP"),
        ("from only £10", None, 1_000, "GBP"),
        ("à partir de 49 € au lieu de 59 €", None, 4_900, "EUR"),
    ];
    for (text, default, minor, currency) in table {
        let b = block(text, *default);
        assert_eq!(
            (b.current.amount.minor, b.current.amount.currency.as_str()),
            (*minor, *currency),
            "{text:?}"
        );
        assert!(b.current.from, "{text:?} is a from price");
    }
    // A "from" word that is not right before the price, or that labels a
    // shipping threshold, does not make the price a "from" price.
    for text in [
        "49,90 € livraison offerte dès 60 €",
        "Livraison offerte dès 60 € 49,90 €",
        "Prix des articles 49,90 €",
    ] {
        let b = block(text, None);
        assert_eq!(b.current.amount.minor, 4_990, "{text:?}");
        assert!(!b.current.from, "{text:?} is not a from price");
    }
}

#[test]
fn decimals_written_apart_from_their_units_are_joined() {
    assert_prices(&[
        ("35€ 99", None, 3_599),
        ("35 € 99", None, 3_599),
        ("35€99", None, 3_599),
        ("Prix : 1 299 € 99", None, 129_999),
        ("392. 00", Some("EUR"), 39_200),
        ("392 .00", Some("EUR"), 39_200),
        ("392. 00 €", None, 39_200),
        ("49 ,99 €", None, 4_999),
        ("49 , 99 €", None, 4_999),
        ("49⁹⁹ €", None, 4_999),
        ("49,⁹⁹ €", None, 4_999),
        ("49€⁹⁹", None, 4_999),
        // Footnote marks are not digits of the price.
        ("49,99 €¹", None, 4_999),
        ("Prix¹ 49,95 €*", None, 4_995),
    ]);
}

#[test]
fn copies_of_one_amount_are_one_amount() {
    assert_prices(&[
        ("49,99 €49,99€", None, 4_999),
        ("49,99 € 49,99 €", None, 4_999),
        ("49,99 € 49 , 99 €", None, 4_999),
        ("49,99 € 49,99 € 49,99 €", None, 4_999),
        ("499,00 € 499,00 €", None, 49_900),
        ("499€499€499,00€", None, 49_900),
        ("499 € 499 € 499,00 €", None, 49_900),
        ("$49.99$49.99", None, 4_999),
        ("€ 1 299,00 € 1 299,00", None, 129_900),
    ]);
}

#[test]
fn fragments_are_never_concatenated() {
    // Before: "499 499 499,00" read as 499 499 499,00 €, "29€9" as 299 €,
    // "49 49,99 €" as 4 949,99 €.
    assert_refused(&[
        ("499 499 499,00", Some("EUR")),
        ("499 499 499,00 €", None),
        ("499 499,00 €", None),
        ("100 100 €", None),
        ("29€9", None),
        ("49 49,99 €", None),
        ("12,99 € 29€99", None),
        ("0,00€10 000,01 €", None),
        ("livraison 0,00 € 1 kgau lieu de", None),
        ("1.23,45 €", None),
        ("1,2345.00 €", None),
        ("05 €", None),
        ("000,01 €", None),
        ("au lieu de1 299,00 €", None),
        ("0,00 € A4 100 000,00 €", None),
        ("livraison €0.00-1 100,00 €", None),
        ("1 kg0,00 € 4 avis", None),
        ("livraison avant 12:30€0.00 d'éco-part)", None),
        ("EUR 0,01to au lieu de0,00 €", None),
        ("dont €0.00/6 100,00 €", None),
        ("avant 12:30 EUR 0,00 livraison", None),
        ("dont avant 12:30EUR 0,00 d'éco-participation", None),
        ("4 avis - 0,00€30 derniers jours", None),
        ("1 kg¹EUR 0,00 livraison", None),
        ("x2 €0.00ou 3 ×", None),
        ("0,00 €4 avis", None),
    ]);
    assert!(matches!(
        parse_money("499 499 499,00", Some(Currency::EUR)),
        Err(PriceTextError::Unreadable(..))
    ));
}

#[test]
fn amounts_without_a_leading_digit_are_below_one_unit() {
    // Before: ".75 €" read as 75,00 €.
    assert_prices(&[
        (".75 €", None, 75),
        ("€.75", None, 75),
        (",75 €", None, 75),
        ("Prix : .5 €", None, 50),
        ("0,75 €", None, 75),
    ]);
    assert_refused(&[("0.299 €", None), ("0,999 €", None)]);
}

#[test]
fn current_and_former_prices_are_read_when_words_mark_them() {
    use FormerKind::*;
    let table: &[(&str, i64, i64, FormerKind)] = &[
        ("59,00 € Now 49,00 €", 4_900, 5_900, Unmarked),
        ("Sale €49 €59", 4_900, 5_900, Unmarked),
        ("Prix initial 59,00 € 49,00 €", 4_900, 5_900, Previous),
        (
            "Prix initial : 59,00 € Prix actuel : 49,00 €",
            4_900,
            5_900,
            Previous,
        ),
        ("49,00 € au lieu de 59,00 €", 4_900, 5_900, Previous),
        (
            "Prix : 49,00 € au lieu de 59,00 €, soit -17 %",
            4_900,
            5_900,
            Previous,
        ),
        ("Ancien prix 59 € 49 €", 4_900, 5_900, Previous),
        ("Prix de référence 59 € 49 €", 4_900, 5_900, Previous),
        ("statt 45,99 € 39,99 €", 3_999, 4_599, Previous),
        ("Statt 59,95 € nur 49,95 €", 4_995, 5_995, Previous),
        ("Was £40.00 Now £30.00", 3_000, 4_000, Previous),
        ("Was £40.00 Now £30.00 Save £10.00", 3_000, 4_000, Previous),
        ("£30 (was £40)", 3_000, 4_000, Previous),
        (
            "Regular price €129,00 EUR Sale price €89,00 EUR",
            8_900,
            12_900,
            Previous,
        ),
        (
            "Sale price €89,00 EUR Regular price €129,00 EUR",
            8_900,
            12_900,
            Previous,
        ),
        ("antes 59,95 € 49,95 €", 4_995, 5_995, Previous),
        ("Antes: 59,95 € Ahora: 49,95 €", 4_995, 5_995, Previous),
        ("prima 59,90 € 49,90 €", 4_990, 5_990, Previous),
        ("49,90 € invece di 59,90 €", 4_990, 5_990, Previous),
        ("UVP 59,95 € 49,95 €", 4_995, 5_995, Recommended),
        ("UVP¹ 59,95 € 49,95 €*", 4_995, 5_995, Recommended),
        ("49,95 € UVP 59,95 €", 4_995, 5_995, Recommended),
        ("59,95 € UVP 49,95 €", 4_995, 5_995, Recommended),
        (
            "UVP: 59,95 € | Ihr Preis: 49,95 €",
            4_995,
            5_995,
            Recommended,
        ),
        ("statt UVP 59,95 € 49,95 €", 4_995, 5_995, Recommended),
        (
            "UVP 59,95 € Sie sparen 10,00 € (17 %) 49,95 €",
            4_995,
            5_995,
            Recommended,
        ),
        (
            "UVP 59,95 € 49,95 € inkl. MwSt. zzgl. Versand",
            4_995,
            5_995,
            Recommended,
        ),
        (
            "Prix conseillé : 59,00 € 49,00 €",
            4_900,
            5_900,
            Recommended,
        ),
        ("PVC 59,00 € 49,00 €", 4_900, 5_900, Recommended),
        ("PVP recomendado 59,95 € 49,95 €", 4_995, 5_995, Recommended),
        (
            "prezzo consigliato 59,90 € 49,90 €",
            4_990,
            5_990,
            Recommended,
        ),
        ("RRP £50 £40", 4_000, 5_000, Recommended),
        ("MSRP $59 $49", 4_900, 5_900, Recommended),
        ("List price: $59.99 $49.99", 4_999, 5_999, List),
        ("$49.99$49.99 List Price: $59.99$59.99", 4_999, 5_999, List),
        ("Listenpreis 59,95 € 49,95 €", 4_995, 5_995, List),
        (
            "-17 % 49,99 €49,99 € Prix conseillé : 59,00 €59,00€ \
             Prix le plus bas des 30 derniers jours : 52,00 €",
            4_999,
            5_900,
            Recommended,
        ),
    ];
    for (text, current, former, kind) in table {
        let b = block(text, None);
        assert_eq!(b.current.amount.minor, *current, "{text:?}: {b:?}");
        assert_eq!(
            b.former.map(|f| (f.amount.minor, f.kind)),
            Some((*former, *kind)),
            "{text:?}"
        );
        assert_eq!(ok(text, None).0, *current, "{text:?}");
    }
    let b = block("€49 – €59 was €79", None);
    assert_eq!(
        (b.current.amount.minor, b.current.range_max.map(|m| m.minor)),
        (4_900, Some(5_900))
    );
    assert_eq!(b.former.map(|f| f.amount.minor), Some(7_900));
    assert_eq!(block("49,90 €", None).former, None);
}

#[test]
fn amounts_that_no_word_tells_apart_are_not_guessed() {
    assert_refused(&[
        ("59,00 € 49,00 €", None),
        ("49,00 € 59,00 €", None),
        ("€59 €47", None),
        ("49,00 € ou 45,00 €", None),
        ("Sale -20% €59 €47", None),
        ("59,00 € -17 % 49,00 €", None),
        ("49,90 € 4 avis", None),
        ("4,5/5 49,90 €", None),
        ("49,90 € Versand 4,95 €", None),
        ("Prix : 12,00 € - Livraison 4,99 €", None),
        ("49,00 € avec le code XYZ10 : 39,00 €", None),
        // Labels that contradict the amounts.
        ("statt 39,99 € 49,99 €", None),
        ("49,99 € au lieu de 39,99 €", None),
        ("Now £40 Was £30", None),
        ("statt 59 € statt 69 € 49 €", None),
        ("15,00 € ou 3 × 45,00 €", None),
        ("0,50 € dont 49,90 € d'éco-part", None),
        ("12,00 € (10,00 £)", None),
    ]);
    assert!(matches!(
        read_price_block("59,00 € 49,00 €", None),
        Err(PriceTextError::SeveralNumbers(_))
    ));
    assert!(matches!(
        read_price_block("statt 39,99 € 49,99 €", None),
        Err(PriceTextError::Ambiguous(..))
    ));
}

#[test]
fn instalments_unit_prices_and_member_prices_are_not_the_price() {
    assert_prices(&[
        ("45,00 € ou 3 × 15,00 €", None, 4_500),
        ("45,00 € ou 3x 15,00 € sans frais", None, 4_500),
        ("50,00 € ou 4x 12,50 €", None, 5_000),
        ("90 € ou 3 fois 30 €", None, 9_000),
        ("79,99 € 3 x 26,66 €", None, 7_999),
        ("90 € ou 3 mensualités de 30 €", None, 9_000),
        ("Payable en 3 fois sans frais. Prix 90 €", None, 9_000),
        ("9,96 € soit 8,30 €/kg", None, 996),
        ("12,99 € (2,49 €/L)", None, 1_299),
        ("(2,49 €/L) 12,99 €", None, 1_299),
        ("12,99 € 2,49 € le litre", None, 1_299),
        ("4,99 € (1 kg = 9,98 €)", None, 499),
        ("2,99 € Grundpreis: 5,98 € / 1 kg", None, 299),
        ("£3.00 £1.20 per 100g", None, 300),
        ("49,00 € Prix membre 40,00 €", None, 4_900),
        ("Prix adhérent 40,00 € 49,00 €", None, 4_900),
        ("49,00 € 40,00 € avec la carte", None, 4_900),
        ("Member price £40 £49", None, 4_900),
        ("49,00 € Économisez 10,00 €", None, 4_900),
        ("£30 £10 off", None, 3_000),
    ]);
    let alone: &[(&str, Option<&str>)] = &[
        ("ou 3 × 15,00 €", None),
        ("ou 4x 12,50 €", None),
        ("3 x 9,99 €", None),
        ("3 mensualités de 15 €", None),
        ("12,50 € / kg", None),
        ("(2,49 €/L)", None),
        ("soit 8,30 €/kg", None),
        ("9,99 € / mois", None),
        ("Prix membre 40,00 €", None),
        ("Prix adhérent 40 €", None),
        ("Prix étudiant 39 €", None),
        ("Économisez 10 €", None),
        ("Livraison offerte dès 60 €", None),
        ("Ab 50 € versandkostenfrei", None),
        ("4,95 € Versand", None),
        ("dont 0,50 € d'éco-participation", None),
        ("Carte cadeau 50 €", None),
        ("Ref. 123 456 789", Some("EUR")),
        ("Taille 38 - 42", Some("EUR")),
    ];
    assert_refused(alone);
    for (text, default) in alone {
        let e = parse_price(text, default.map(cur)).unwrap_err();
        assert!(
            matches!(e, PriceTextError::NotTheItemPrice(..)),
            "{text:?}: {e:?}"
        );
    }
}

#[test]
fn an_element_showing_only_a_former_price_reads_as_that_price() {
    // The text of a crossed-out element: parse_price reads it, the block
    // reader says there is no current price in it.
    for (text, minor) in [
        ("statt 59,95 €", 5_995),
        ("UVP 59,95 €", 5_995),
        ("Prix conseillé : 59,00 € 59,00€", 5_900),
        ("Regular price €129,00 EUR", 12_900),
    ] {
        assert_eq!(ok(text, None).0, minor, "{text:?}");
        assert!(
            matches!(
                read_price_block(text, None),
                Err(PriceTextError::NotTheItemPrice(..))
            ),
            "{text:?}"
        );
    }
}

#[test]
fn other_ways_to_a_wrong_amount_are_closed() {
    // Each of these read as a wrong amount or currency before.
    let right: &[(&str, Option<&str>, i64, &str)] = &[
        ("$19.99", Some("CAD"), 1_999, "CAD"),
        ("C$ 19.99", None, 1_999, "CAD"),
        ("A$ 49", None, 4_900, "AUD"),
        ("US$ 5", Some("CAD"), 500, "USD"),
        ("¥1,500", Some("CNY"), 150_000, "CNY"),
        ("49⁹⁹ €", None, 4_999, "EUR"),
    ];
    for (text, default, minor, currency) in right {
        assert_eq!(
            ok(text, *default),
            (*minor, currency.to_string()),
            "{text:?}"
        );
    }
    assert_refused(&[
        ("€1.2k", None),
        ("１２ €", None),
        ("١٢ €", None),
        ("49,99¹ €", None),
        ("€-12", None),
        ("19,99 € Gratuit", None),
        ("12/03/2026", Some("EUR")),
    ]);
}

/// Amounts that read back on their own in every generated format.
fn fine(minor: i64) -> bool {
    !repeats_its_groups(minor / 100)
}

proptest! {
    #[test]
    fn decorated_prices_read_back(
        minor in 100i64..1_000_000_000,
        style in 0usize..9,
        decoration in 0usize..13,
    ) {
        let small = minor / 3;
        prop_assume!(fine(minor) && fine(small) && fine(minor - 1) && fine(minor + 1_000));
        let p = format(minor, style);
        let s = format(small, 0);
        let text = match decoration {
            0 => format!("{p} TTC"),
            1 => format!("{p} inkl. MwSt."),
            2 => format!("{p} (-15 %)"),
            3 => format!("-15 % {p}"),
            4 => format!("{p} {p}"),
            5 => format!("{p}{p}"),
            6 => format!("{p} dont {s} d'éco-participation"),
            7 => format!("{p} ou 3 × {s}"),
            8 => format!("{p} ({s}/kg)"),
            9 => format!("Prix membre {} {p}", format(minor - 1, 0)),
            10 => format!("{p} livraison offerte dès {}", format(minor + 1_000, 0)),
            11 => format!("{p} zzgl. Versand"),
            _ => format!("{p} HT {}", format(minor - 1, 0)),
        };
        let text = if decoration == 12 {
            // The price with tax last, the one before tax first.
            format!("{} HT {p} TTC", format(small, 0))
        } else {
            text
        };
        prop_assert_eq!(parse_money(&text, None).map(|m| m.minor), Ok(minor), "{}", text);
        let b = read_price_block(&text, None);
        prop_assert_eq!(b.map(|b| (b.current.amount.minor, b.former)), Ok((minor, None)), "{}", text);
    }

    #[test]
    fn marked_former_prices_read_back(
        current in 1i64..100_000_000,
        extra in 1i64..100_000_000,
        marker in 0usize..16,
        style in 0usize..9,
        former_first in any::<bool>(),
    ) {
        let former = current + extra;
        prop_assume!(fine(current) && fine(former));
        let (word, kind) = [
            ("au lieu de", FormerKind::Previous),
            ("Prix initial", FormerKind::Previous),
            ("Ancien prix", FormerKind::Previous),
            ("statt", FormerKind::Previous),
            ("Was", FormerKind::Previous),
            ("antes", FormerKind::Previous),
            ("prima", FormerKind::Previous),
            ("invece di", FormerKind::Previous),
            ("Prix conseillé", FormerKind::Recommended),
            ("UVP", FormerKind::Recommended),
            ("RRP", FormerKind::Recommended),
            ("PVP recomendado", FormerKind::Recommended),
            ("prezzo consigliato", FormerKind::Recommended),
            ("MSRP", FormerKind::Recommended),
            ("List price", FormerKind::List),
            ("Listenpreis", FormerKind::List),
        ][marker];
        let (c, f) = (format(current, style), format(former, style));
        let text = if former_first {
            format!("{word} {f} {c}")
        } else {
            format!("{c} {word} {f}")
        };
        let b = read_price_block(&text, None);
        prop_assert_eq!(
            b.map(|b| (b.current.amount.minor, b.former.map(|f| (f.amount.minor, f.kind)))),
            Ok((current, Some((former, kind)))),
            "{}", text
        );
        prop_assert_eq!(parse_money(&text, None).map(|m| m.minor), Ok(current), "{}", text);
    }
}
