//! Sources read from the DOM (built with `scraper` only when needed):
//! schema.org microdata, OpenGraph / product meta tags, and the shop's own
//! CSS selectors.

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::offer::{ExtractedOffer, ReferenceKind, Source};
use super::price_text;
use crate::catalog::Selectors;
use crate::domain::{Currency, Money};

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

fn clean(s: &str) -> Option<String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

fn text_of(e: ElementRef<'_>) -> Option<String> {
    clean(&e.text().collect::<String>())
}

/// A machine amount ("129.90", "129,90") or, failing that, price text.
fn amount(raw: &str, currency: Option<Currency>) -> Option<Money> {
    let t = raw.trim();
    let c = currency?;
    Money::from_decimal_str(t, c)
        .or_else(|_| Money::from_decimal_str(&t.replace(',', "."), c))
        .ok()
        .or_else(|| price_text::parse_money(t, Some(c)).ok())
}

/// A percent in a badge such as "-30 %", "−30%" or "30 % de remise".
pub fn percent_in(text: &str) -> Option<u32> {
    let pct = text.find('%')?;
    let digits: String = text[..pct]
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|p| (1..100).contains(p))
}

/// Offers in schema.org microdata (`itemscope itemtype=…/Product`).
pub fn microdata(
    doc: &Html,
    page_url: &Url,
    default_currency: Option<Currency>,
) -> Vec<ExtractedOffer> {
    let (Some(products), Some(props)) = (
        sel("[itemscope][itemtype*='schema.org/Product']"),
        sel("[itemprop]"),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for product in doc.select(&products) {
        let mut o = ExtractedOffer {
            source: Some(Source::Microdata),
            ..Default::default()
        };
        let mut currency = None;
        let mut price_raw = None;
        let mut list_raw = None;
        for p in product.select(&props) {
            let name = p.value().attr("itemprop").unwrap_or("");
            // A price specification marked as the former price (it may hold
            // only <meta> elements, so no text of its own).
            if name == "priceSpecification" && p.html().contains("StrikethroughPrice") {
                list_raw = p
                    .select(&props)
                    .find(|x| x.value().attr("itemprop") == Some("price"))
                    .and_then(|x| {
                        x.value()
                            .attr("content")
                            .map(str::to_string)
                            .or_else(|| text_of(x))
                    });
                continue;
            }
            if name == "price" && inside_strikethrough_spec(p) {
                continue;
            }
            let value = p
                .value()
                .attr("content")
                .map(str::to_string)
                .or_else(|| p.value().attr("href").map(str::to_string))
                .or_else(|| text_of(p));
            let Some(value) = value else { continue };
            for prop in name.split_whitespace() {
                match prop {
                    "name" if o.name.is_none() && !inside_brand(p) => o.name = clean(&value),
                    "brand" if o.brand.is_none() => o.brand = clean(&value),
                    "name" if inside_brand(p) => o.brand = clean(&value),
                    "sku" => o.sku = o.sku.take().or_else(|| clean(&value)),
                    "gtin13" | "gtin" | "gtin8" | "gtin12" | "gtin14" => {
                        o.gtin = o.gtin.take().or_else(|| clean(&value))
                    }
                    "price" | "lowPrice" => price_raw = price_raw.or(Some(value.clone())),
                    "priceCurrency" => currency = Currency::new(&value).ok(),
                    "availability" => o.availability = value.rsplit('/').next().map(str::to_string),
                    "url" => o.url = page_url.join(&value).ok().map(|u| u.to_string()),
                    _ => {}
                }
            }
        }
        let currency = currency.or(default_currency);
        o.price = price_raw.as_deref().and_then(|r| amount(r, currency));
        if let Some(r) = list_raw.as_deref().and_then(|r| amount(r, currency)) {
            if o.price.is_some_and(|p| r.minor > p.minor) {
                o.reference_price = Some(r);
                o.reference_kind = Some(ReferenceKind::Strikethrough);
                o.reference_source = Some(Source::Microdata);
            }
        }
        if o.url.is_none() {
            o.url = Some(page_url.to_string());
        }
        if o.price.is_some() || o.name.is_some() {
            out.push(o);
        }
    }
    out
}

fn inside_strikethrough_spec(e: ElementRef<'_>) -> bool {
    e.ancestors().filter_map(ElementRef::wrap).any(|a| {
        a.value().attr("itemprop") == Some("priceSpecification")
            && a.html().contains("StrikethroughPrice")
    })
}

fn inside_brand(e: ElementRef<'_>) -> bool {
    e.ancestors()
        .filter_map(ElementRef::wrap)
        .take_while(|a| {
            a.value()
                .attr("itemtype")
                .is_none_or(|t| !t.contains("Product"))
        })
        .any(|a| a.value().attr("itemprop") == Some("brand"))
}

/// The offer OpenGraph / product meta tags describe.
pub fn opengraph(
    doc: &Html,
    page_url: &Url,
    default_currency: Option<Currency>,
) -> Option<ExtractedOffer> {
    let metas = sel("meta[property], meta[name]")?;
    let mut get = std::collections::HashMap::new();
    for m in doc.select(&metas) {
        let key = m
            .value()
            .attr("property")
            .or_else(|| m.value().attr("name"))
            .unwrap_or("");
        if let Some(c) = m.value().attr("content") {
            get.entry(key.to_ascii_lowercase())
                .or_insert_with(|| c.to_string());
        }
    }
    let first = |keys: &[&str]| keys.iter().find_map(|k| get.get(*k).cloned());
    let currency = first(&[
        "product:price:currency",
        "og:price:currency",
        "product:sale_price:currency",
    ])
    .and_then(|c| Currency::new(&c).ok())
    .or(default_currency);
    let regular =
        first(&["product:price:amount", "og:price:amount"]).and_then(|a| amount(&a, currency));
    let sale = first(&["product:sale_price:amount"]).and_then(|a| amount(&a, currency));
    let original = first(&["product:original_price:amount"]).and_then(|a| amount(&a, currency));
    if regular.is_none() && sale.is_none() {
        return None;
    }
    let price = sale.or(regular);
    let reference = original
        .or(if sale.is_some() { regular } else { None })
        .filter(|r| price.is_some_and(|p| r.minor > p.minor));
    Some(ExtractedOffer {
        name: first(&["og:title", "twitter:title"]).and_then(|t| clean(&t)),
        brand: first(&["product:brand", "og:brand"]).and_then(|t| clean(&t)),
        sku: first(&["product:retailer_item_id", "product:sku"]),
        gtin: first(&["product:gtin", "product:ean"]),
        url: first(&["og:url"])
            .and_then(|u| page_url.join(&u).ok())
            .map(|u| u.to_string())
            .or_else(|| Some(page_url.to_string())),
        price,
        reference_price: reference,
        reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
        reference_source: reference.map(|_| Source::OpenGraph),
        availability: first(&["product:availability", "og:availability"]),
        source: Some(Source::OpenGraph),
        ..Default::default()
    })
}

/// Offers read with the shop's own selectors. Inside a product block, a
/// `<del>` or `<s>` price is read as the crossed-out price when no
/// `reference_price` selector is given.
pub fn with_selectors(
    doc: &Html,
    s: &Selectors,
    page_url: &Url,
    default_currency: Option<Currency>,
) -> (Vec<ExtractedOffer>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut compile = |field: &str, v: &Option<String>| -> Option<Selector> {
        let v = v.as_ref()?;
        match Selector::parse(v) {
            Ok(s) => Some(s),
            Err(e) => {
                warnings.push(format!("selector `{field}` = {v:?} is invalid: {e}"));
                None
            }
        }
    };
    let block = compile("product", &s.product);
    let name = compile("name", &s.name);
    let brand = compile("brand", &s.brand);
    let sku = compile("sku", &s.sku);
    let price = compile("price", &s.price);
    let reference = compile("reference_price", &s.reference_price);
    let badge = compile("badge", &s.badge);
    let link = compile("url", &s.url);
    let struck = sel("del, s, strike");
    let root = doc.root_element();
    let blocks: Vec<ElementRef<'_>> = match &block {
        Some(b) => doc.select(b).collect(),
        None => vec![root],
    };
    let mut out = Vec::new();
    for b in blocks {
        let pick = |s: &Option<Selector>| s.as_ref().and_then(|s| b.select(s).next());
        let price_el = pick(&price);
        let Some(price_text) = price_el.and_then(text_of) else {
            continue;
        };
        let mut o = ExtractedOffer {
            name: pick(&name).and_then(text_of),
            brand: pick(&brand).and_then(text_of),
            sku: pick(&sku).and_then(text_of),
            source: Some(Source::Selector),
            ..Default::default()
        };
        o.price = match price_text::parse_money(&price_text, default_currency) {
            Ok(m) => Some(m),
            Err(e) => {
                o.warnings.push(format!("price {price_text:?}: {e}"));
                None
            }
        };
        let ref_text = match &reference {
            Some(_) => pick(&reference).and_then(text_of),
            None => struck
                .as_ref()
                .and_then(|d| b.select(d).next())
                .and_then(text_of),
        };
        if let Some(t) = ref_text
            && let Ok(r) = price_text::parse_money(&t, default_currency)
            && o.price
                .is_some_and(|p| r.minor > p.minor && r.currency == p.currency)
        {
            o.reference_price = Some(r);
            o.reference_kind = Some(ReferenceKind::Strikethrough);
            o.reference_source = Some(Source::Selector);
        }
        o.percent_badge = pick(&badge)
            .and_then(text_of)
            .as_deref()
            .and_then(percent_in);
        o.url = pick(&link)
            .and_then(|l| l.value().attr("href"))
            .and_then(|h| page_url.join(h).ok())
            .map(|u| u.to_string())
            .or_else(|| Some(page_url.to_string()));
        out.push(o);
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://s.example/p/1").unwrap()
    }

    #[test]
    fn microdata_offers_are_read() {
        let html = r#"<div itemscope itemtype="https://schema.org/Product">
            <h1 itemprop="name">Lampe Opaline</h1>
            <div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><span itemprop="name">Maison Lumière</span></div>
            <meta itemprop="sku" content="ML-1">
            <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
              <span itemprop="price" content="129.00">129,00 €</span>
              <meta itemprop="priceCurrency" content="EUR">
              <link itemprop="availability" href="https://schema.org/InStock">
            </div></div>"#;
        let doc = Html::parse_document(html);
        let o = microdata(&doc, &url(), None);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].name.as_deref(), Some("Lampe Opaline"));
        assert_eq!(o[0].brand.as_deref(), Some("Maison Lumière"));
        assert_eq!(o[0].price, Some(Money::new(12900, Currency::EUR)));
        assert_eq!(o[0].availability.as_deref(), Some("InStock"));
    }

    #[test]
    fn opengraph_sale_and_original_prices() {
        let html = r#"<head><meta property="og:title" content="Plaid">
            <meta property="product:brand" content="Atelier Brume">
            <meta property="product:price:amount" content="159.00">
            <meta property="product:sale_price:amount" content="119.00">
            <meta property="product:price:currency" content="EUR"></head>"#;
        let o = opengraph(&Html::parse_document(html), &url(), None).unwrap();
        assert_eq!(o.price, Some(Money::new(11900, Currency::EUR)));
        assert_eq!(o.reference_price, Some(Money::new(15900, Currency::EUR)));
    }

    #[test]
    fn selectors_read_blocks_and_struck_prices() {
        let html = r#"<div class="card"><h2>Coussin</h2><span class="b">Atelier Brume</span>
              <p class="px"><del>59,90 €</del> <strong>49,90 €</strong></p><span class="badge">-17 %</span><a href="/p/2">voir</a></div>
            <div class="card"><h2>Vase</h2><p class="px"><strong>35,00 €</strong></p></div>"#;
        let s = Selectors {
            product: Some(".card".into()),
            name: Some("h2".into()),
            brand: Some(".b".into()),
            price: Some(".px strong".into()),
            badge: Some(".badge".into()),
            url: Some("a".into()),
            ..Default::default()
        };
        let (o, w) = with_selectors(&Html::parse_document(html), &s, &url(), Some(Currency::EUR));
        assert!(w.is_empty());
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].price, Some(Money::new(4990, Currency::EUR)));
        assert_eq!(o[0].reference_price, Some(Money::new(5990, Currency::EUR)));
        assert_eq!(o[0].percent_badge, Some(17));
        assert_eq!(o[0].url.as_deref(), Some("https://s.example/p/2"));
        assert_eq!(o[1].reference_price, None);
    }

    #[test]
    fn badges_give_their_percent() {
        assert_eq!(percent_in("-30 %"), Some(30));
        assert_eq!(percent_in("−30%"), Some(30));
        assert_eq!(percent_in("Jusqu'à -50 % !"), Some(50));
        assert_eq!(percent_in("100 %"), None);
        assert_eq!(percent_in("promo"), None);
    }
}
