//! The page corpus: product pages in the forms real shops publish
//! (Shopify, WooCommerce, PrestaShop, Magento, hand-made shops; French,
//! German, Belgian, Swiss, Italian, Spanish, Dutch and UK formats), each
//! with the offers a shopper sees on it in `NN-name.expected.json`.
//!
//! Every page is read as the crawler reads it, and every difference on
//! every page is collected before the test fails once, listing them all.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use url::Url;
use vigie::catalog::Selectors;
use vigie::domain::Currency;
use vigie::extract::{ExtractedOffer, extract_page};

/// The keys of one expected offer, exactly.
const KEYS: [&str; 8] = [
    "name",
    "brand",
    "sku",
    "price",
    "currency",
    "reference_price",
    "percent_badge",
    "promo_classes",
];

/// Pages the corpus must hold at least.
const MIN_PAGES: usize = 90;

fn pages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages")
}

/// An extracted offer in the shape of the expected files.
fn offer_json(o: &ExtractedOffer) -> Value {
    let classes: BTreeSet<&str> = o.promo.iter().map(|p| p.class.as_str()).collect();
    json!({
        "name": o.name,
        "brand": o.brand,
        "sku": o.sku,
        "price": o.price.map(|m| m.decimal_string()),
        "currency": o.price.or(o.reference_price).map(|m| m.currency.as_str().to_string()),
        "reference_price": o.reference_price.map(|m| m.decimal_string()),
        "percent_badge": o.percent_badge,
        "promo_classes": classes.into_iter().collect::<Vec<_>>(),
    })
}

/// The currency a page's shop is configured with: the expected first
/// offer's, EUR when it states none.
fn default_currency(expected: &[Value]) -> Result<Currency, String> {
    match expected
        .first()
        .and_then(|o| o.get("currency"))
        .and_then(Value::as_str)
    {
        None => Ok(Currency::EUR),
        Some(c) => Currency::new(c).map_err(|e| format!("expected currency {c:?}: {e}")),
    }
}

/// Checks that an expected file has the agreed shape: an array of objects
/// with exactly [`KEYS`], `promo_classes` sorted and without duplicates.
fn check_shape(expected: &Value) -> Result<Vec<Value>, String> {
    let list = expected
        .as_array()
        .ok_or("the expected file is not a JSON array")?;
    for (i, o) in list.iter().enumerate() {
        let m = o
            .as_object()
            .ok_or_else(|| format!("expected offer {i} is not an object"))?;
        let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
        let wanted: BTreeSet<&str> = KEYS.into_iter().collect();
        if keys != wanted {
            return Err(format!(
                "expected offer {i} has keys {keys:?}, wanted exactly {wanted:?}"
            ));
        }
        let classes: Vec<&str> = m["promo_classes"]
            .as_array()
            .ok_or_else(|| format!("expected offer {i}: promo_classes is not a list"))?
            .iter()
            .map(|c| c.as_str().unwrap_or("?"))
            .collect();
        let mut sorted = classes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != classes {
            return Err(format!(
                "expected offer {i}: promo_classes {classes:?} is not sorted and deduplicated"
            ));
        }
    }
    Ok(list.clone())
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(missing)".to_string(), Value::to_string)
}

/// Counts of one field (former price, badge) over the corpus.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    /// Read and right.
    right: usize,
    /// Read where the page shows none, or a different one: a false reading.
    wrong: usize,
    /// Shown on the page, not read.
    missed: usize,
    /// Pages correctly read as showing none.
    none: usize,
}

impl Score {
    fn add(&mut self, expected: &Value, read: &Value) {
        match (expected.is_null(), read.is_null()) {
            (true, true) => self.none += 1,
            (false, true) => self.missed += 1,
            (true, false) => self.wrong += 1,
            (false, false) if expected == read => self.right += 1,
            (false, false) => {
                self.wrong += 1;
                self.missed += 1;
            }
        }
    }

    fn precision(&self) -> f64 {
        let read = self.right + self.wrong;
        if read == 0 {
            1.0
        } else {
            self.right as f64 / read as f64
        }
    }

    fn recall(&self) -> f64 {
        let shown = self.right + self.missed;
        if shown == 0 {
            1.0
        } else {
            self.right as f64 / shown as f64
        }
    }

    fn line(&self, what: &str) -> String {
        format!(
            "{what}: precision {:.3}, recall {:.3} ({} right, {} false, {} missed, {} pages rightly without)",
            self.precision(),
            self.recall(),
            self.right,
            self.wrong,
            self.missed,
            self.none
        )
    }
}

/// The former-price and badge scores of a page, and the false former prices.
#[derive(Debug, Default)]
struct PageScore {
    former: Score,
    badge: Score,
    false_former: Vec<String>,
}

/// Reads one page and lists how its offers differ from the expected ones.
fn check_page(html_path: &Path, score: &mut PageScore) -> Result<Vec<String>, String> {
    let stem = html_path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("file name is not UTF-8")?
        .to_string();
    let html = std::fs::read_to_string(html_path).map_err(|e| format!("read page: {e}"))?;
    let expected_path = html_path.with_file_name(format!("{stem}.expected.json"));
    let expected_text = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("read {}: {e}", expected_path.display()))?;
    let expected: Value = serde_json::from_str(&expected_text)
        .map_err(|e| format!("{} is not JSON: {e}", expected_path.display()))?;
    let expected = check_shape(&expected)?;

    let selectors: Option<Selectors> = if stem.contains("selectors") {
        let p = html_path.with_file_name(format!("{stem}.selectors.toml"));
        let t = std::fs::read_to_string(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
        Some(toml::from_str(&t).map_err(|e| format!("{}: {e}", p.display()))?)
    } else {
        None
    };

    let url = Url::parse(&format!("https://shop.example/produits/{stem}"))
        .map_err(|e| format!("page URL: {e}"))?;
    let currency = default_currency(&expected)?;
    let page = extract_page(&html, &url, Some(currency), selectors.as_ref(), None);
    let got: Vec<Value> = page.offers.iter().map(offer_json).collect();
    for (i, e) in expected.iter().enumerate() {
        let g = got.get(i).cloned().unwrap_or(Value::Null);
        let read_former = g.get("reference_price").cloned().unwrap_or(Value::Null);
        score.former.add(&e["reference_price"], &read_former);
        score.badge.add(
            &e["percent_badge"],
            &g.get("percent_badge").cloned().unwrap_or(Value::Null),
        );
        if !read_former.is_null() && read_former != e["reference_price"] {
            score.false_former.push(format!(
                "{stem} offer {i}: former price {read_former} read, {} shown",
                e["reference_price"]
            ));
        }
    }
    for (i, g) in got.iter().enumerate().skip(expected.len()) {
        if !g["reference_price"].is_null() {
            score.false_former.push(format!(
                "{stem} offer {i} (not expected): former price {} read",
                g["reference_price"]
            ));
        }
    }

    let mut diffs = Vec::new();
    if got.len() != expected.len() {
        diffs.push(format!(
            "{} offer(s) expected, {} read\n      expected: {}\n      read:     {}\n      warnings: {:?}",
            expected.len(),
            got.len(),
            Value::Array(expected.clone()),
            Value::Array(got.clone()),
            page.warnings
        ));
        return Ok(diffs);
    }
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        for key in KEYS {
            if e.get(key) != g.get(key) {
                diffs.push(format!(
                    "offer {i} `{key}`: expected {}, read {}",
                    show(e.get(key)),
                    show(g.get(key))
                ));
            }
        }
    }
    Ok(diffs)
}

/// Pages whose expected offers are right but which Vigie does not read
/// right yet. Empty: every page is read right. A page added here must say
/// why in the commit; the test fails when one of them starts passing, so
/// the list only shrinks.
const KNOWN_GAPS: &[&str] = &[];

#[test]
fn every_fixture_page_gives_its_expected_offers() {
    let dir = pages_dir();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    pages.sort();

    let mut report = String::new();
    let mut failing = 0;
    let mut passing = 0;
    let mut score = PageScore::default();
    for path in &pages {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.trim_end_matches(".html");
        let diffs = match check_page(path, &mut score) {
            Ok(d) => d,
            Err(e) => vec![format!("fixture error: {e}")],
        };
        let known = KNOWN_GAPS.contains(&stem);
        match (diffs.is_empty(), known) {
            (true, false) => passing += 1,
            (true, true) => {
                failing += 1;
                let _ = writeln!(report, "{name}: now read right; take it off KNOWN_GAPS");
            }
            (false, true) => {
                // `VIGIE_CORPUS_SHOW_GAPS=1` lists what the known gaps still miss.
                if std::env::var_os("VIGIE_CORPUS_SHOW_GAPS").is_some() {
                    eprintln!("known gap {name}:");
                    for d in &diffs {
                        eprintln!("    {d}");
                    }
                }
            }
            (false, false) => {
                failing += 1;
                let _ = writeln!(report, "{name}:");
                for d in diffs {
                    let _ = writeln!(report, "    {d}");
                }
            }
        }
    }

    // `cargo test --test integration corpus -- --nocapture` shows these.
    println!("corpus of {} pages", pages.len());
    println!("{}", score.former.line("former prices"));
    println!("{}", score.badge.line("percent badges"));
    assert!(
        score.false_former.is_empty(),
        "false former prices (a finding a shop could contest):\n{}",
        score.false_former.join("\n")
    );
    assert!(
        pages.len() >= MIN_PAGES,
        "only {} pages in {}; the corpus must hold at least {MIN_PAGES}",
        pages.len(),
        dir.display()
    );
    assert!(
        report.is_empty(),
        "{failing} of {} pages differ from what is expected:\n{report}",
        pages.len()
    );
    assert_eq!(
        passing + KNOWN_GAPS.len(),
        pages.len(),
        "every page passes or is a known gap"
    );
}
