//! Tests of the price-text reader: a table of real-world shapes, rejected
//! inputs, generated locale formats, and property tests.

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
        ("C$ 19.99", Some("CAD"), 1_999, "USD"),
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
    }

    #[test]
    fn euro_formats_round_trip(minor in 0i64..10_000_000_000, style in 0usize..9) {
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
