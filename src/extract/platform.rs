//! Platform catalogues: Shopify's `/products.json`, WooCommerce's Store API,
//! and PrestaShop's `data-product` page data. A catalogue page lists many
//! products with their brand, so a shop of 50,000 products costs a few
//! requests, and brand filtering happens before any product page is read.

use serde_json::Value;
use url::Url;

use super::offer::{ExtractedOffer, ReferenceKind, Source};
use crate::domain::{Currency, Money};

pub use crate::domain::Platform;

/// Products per catalogue page requested.
pub fn page_size(p: Platform) -> usize {
    match p {
        Platform::Shopify => 250,
        Platform::Woocommerce => 100,
        Platform::Prestashop => 0,
    }
}

/// The URL of catalogue page `n` (1-based), for platforms that have one.
pub fn catalogue_url(p: Platform, base: &Url, n: usize) -> Option<Url> {
    let path = match p {
        Platform::Shopify => format!("/products.json?limit=250&page={n}"),
        Platform::Woocommerce => format!("/wp-json/wc/store/v1/products?per_page=100&page={n}"),
        Platform::Prestashop => return None,
    };
    base.join(&path).ok()
}

/// What one catalogue page gave.
#[derive(Debug, Default)]
pub struct CataloguePage {
    /// Offers, one per variant.
    pub offers: Vec<ExtractedOffer>,
    /// Products on the page (a page shorter than the page size is the last).
    pub products: usize,
    /// Product ids, for de-duplication across pages.
    pub ids: Vec<String>,
}

/// Why a catalogue page cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Shopify's `products.json` answer is not JSON.
    #[error("products.json is not JSON: {0}")]
    ShopifyNotJson(serde_json::Error),
    /// Shopify's `products.json` answer holds no `products` list.
    #[error("products.json has no `products` list")]
    ShopifyNoProducts,
    /// The WooCommerce Store API answer is not JSON.
    #[error("Store API answer is not JSON: {0}")]
    WoocommerceNotJson(serde_json::Error),
    /// The WooCommerce Store API answer is not a list.
    #[error("Store API answer is not a list of products")]
    WoocommerceNotAList,
}

fn money(raw: &Value, currency: Currency) -> Option<Money> {
    match raw {
        Value::String(s) if !s.trim().is_empty() => Money::from_decimal_str(s, currency).ok(),
        Value::Number(n) => Money::from_decimal_str(&n.to_string(), currency).ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a Shopify `/products.json` page. Shopify gives no currency there:
/// the shop's own is used.
pub fn shopify(
    json: &[u8],
    base: &Url,
    currency: Currency,
) -> Result<CataloguePage, CatalogueError> {
    let v: Value = serde_json::from_slice(json).map_err(CatalogueError::ShopifyNotJson)?;
    let products = v
        .get("products")
        .and_then(Value::as_array)
        .ok_or(CatalogueError::ShopifyNoProducts)?;
    let mut page = CataloguePage {
        products: products.len(),
        ..Default::default()
    };
    for p in products {
        let id = p.get("id").and_then(text).unwrap_or_default();
        page.ids.push(id.clone());
        let url = p
            .get("handle")
            .and_then(Value::as_str)
            .and_then(|h| base.join(&format!("/products/{h}")).ok())
            .map(|u| u.to_string());
        let variants = p
            .get("variants")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let several = variants.len() > 1;
        for var in &variants {
            let price = var.get("price").and_then(|x| money(x, currency));
            let compare = var.get("compare_at_price").and_then(|x| money(x, currency));
            let reference = compare.filter(|c| price.is_some_and(|p| c.minor > p.minor));
            let title = var
                .get("title")
                .and_then(text)
                .filter(|t| t != "Default Title");
            out_push(
                &mut page.offers,
                ExtractedOffer {
                    name: p.get("title").and_then(text),
                    brand: p.get("vendor").and_then(text),
                    sku: var
                        .get("sku")
                        .and_then(text)
                        .or_else(|| var.get("id").and_then(text).map(|i| format!("variant-{i}"))),
                    gtin: var.get("barcode").and_then(text),
                    variant: if several { title } else { None },
                    url: url.clone(),
                    price,
                    reference_price: reference,
                    reference_source: reference.map(|_| Source::Platform),
                    reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
                    availability: var
                        .get("available")
                        .and_then(Value::as_bool)
                        .map(|a| if a { "InStock" } else { "OutOfStock" }.to_string()),
                    source: Some(Source::Platform),
                    ..Default::default()
                },
            );
        }
    }
    Ok(page)
}

fn out_push(offers: &mut Vec<ExtractedOffer>, o: ExtractedOffer) {
    if !offers.contains(&o) {
        offers.push(o);
    }
}

/// Parses a WooCommerce Store API products page (prices in minor units).
pub fn woocommerce(json: &[u8]) -> Result<CataloguePage, CatalogueError> {
    let v: Value = serde_json::from_slice(json).map_err(CatalogueError::WoocommerceNotJson)?;
    let products = v.as_array().ok_or(CatalogueError::WoocommerceNotAList)?;
    let mut page = CataloguePage {
        products: products.len(),
        ..Default::default()
    };
    for p in products {
        page.ids
            .push(p.get("id").and_then(text).unwrap_or_default());
        let prices = p.get("prices").cloned().unwrap_or(Value::Null);
        let Some(currency) = prices
            .get("currency_code")
            .and_then(Value::as_str)
            .and_then(|c| Currency::new(c).ok())
        else {
            continue;
        };
        let unit = prices
            .get("currency_minor_unit")
            .and_then(Value::as_u64)
            .unwrap_or(2) as u32;
        let minor = |key: &str| -> Option<Money> {
            let raw = prices.get(key).and_then(text)?;
            let n: i64 = raw.parse().ok()?;
            // Rescale when the shop's minor unit differs from ISO's.
            let exp = currency.exponent();
            let scaled = match exp.cmp(&unit) {
                std::cmp::Ordering::Equal => n,
                std::cmp::Ordering::Greater => n.checked_mul(10i64.pow(exp - unit))?,
                std::cmp::Ordering::Less => n / 10i64.pow(unit - exp),
            };
            Some(Money::new(scaled, currency))
        };
        let price = minor("sale_price")
            .filter(|_| p.get("on_sale").and_then(Value::as_bool) == Some(true))
            .or_else(|| minor("price"));
        let regular = minor("regular_price").filter(|r| price.is_some_and(|p| r.minor > p.minor));
        let brand = p
            .get("brands")
            .and_then(Value::as_array)
            .and_then(|b| b.first())
            .and_then(|b| b.get("name"))
            .and_then(text);
        page.offers.push(ExtractedOffer {
            name: p
                .get("name")
                .and_then(text)
                .map(|n| html_escape::decode_html_entities(&n).into_owned()),
            brand: brand.map(|b| html_escape::decode_html_entities(&b).into_owned()),
            sku: p.get("sku").and_then(text),
            url: p.get("permalink").and_then(text),
            price,
            reference_price: regular,
            reference_source: regular.map(|_| Source::Platform),
            reference_kind: regular.map(|_| ReferenceKind::List),
            availability: p
                .get("is_in_stock")
                .and_then(Value::as_bool)
                .map(|a| if a { "InStock" } else { "OutOfStock" }.to_string()),
            source: Some(Source::Platform),
            ..Default::default()
        });
    }
    Ok(page)
}

/// Reads PrestaShop's `data-product` JSON from a product page, if any.
pub fn prestashop(
    html: &str,
    page_url: &Url,
    currency: Option<Currency>,
) -> Option<ExtractedOffer> {
    let at = html.find("data-product=")?;
    let rest = &html[at + "data-product=".len()..];
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let end = rest[1..].find(quote)? + 1;
    let raw = html_escape::decode_html_entities(&rest[1..end]).into_owned();
    let v: Value = serde_json::from_str(&raw).ok()?;
    let currency = v
        .get("currency_iso_code")
        .or_else(|| v.get("currency"))
        .and_then(Value::as_str)
        .and_then(|c| Currency::new(c).ok())
        .or(currency)?;
    let price = v.get("price_amount").and_then(|x| money(x, currency));
    let without = v
        .get("price_without_reduction")
        .and_then(|x| money(x, currency));
    let discounted = v
        .get("has_discount")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let reference = without.filter(|w| discounted && price.is_some_and(|p| w.minor > p.minor));
    let percent = v
        .get("discount_percentage")
        .and_then(text)
        .and_then(|t| {
            t.trim_start_matches(['-', '−'])
                .trim_end_matches('%')
                .trim()
                .parse::<u32>()
                .ok()
        })
        .filter(|_| discounted);
    Some(ExtractedOffer {
        name: v.get("name").and_then(text),
        brand: v.get("manufacturer_name").and_then(text),
        sku: v.get("reference").and_then(text),
        gtin: v.get("ean13").and_then(text),
        url: v
            .get("link")
            .and_then(text)
            .or_else(|| Some(page_url.to_string())),
        price,
        reference_price: reference,
        reference_source: reference.map(|_| Source::Platform),
        reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
        percent_badge: percent,
        source: Some(Source::Platform),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://shop.example/").unwrap()
    }

    #[test]
    fn shopify_variants_with_compare_at_prices() {
        let json = br#"{"products":[{"id":1,"title":"Plaid","handle":"plaid","vendor":"Atelier Brume",
            "variants":[{"id":11,"title":"130x170","sku":"AB-1","price":"119.00","compare_at_price":"159.00","available":true},
                        {"id":12,"title":"150x200","sku":"AB-2","price":"179.00","compare_at_price":null,"available":false}]}]}"#;
        let p = shopify(json, &base(), Currency::EUR).unwrap();
        assert_eq!(p.products, 1);
        assert_eq!(p.offers.len(), 2);
        assert_eq!(p.offers[0].brand.as_deref(), Some("Atelier Brume"));
        assert_eq!(p.offers[0].variant.as_deref(), Some("130x170"));
        assert_eq!(p.offers[0].price, Some(Money::new(11900, Currency::EUR)));
        assert_eq!(
            p.offers[0].reference_price,
            Some(Money::new(15900, Currency::EUR))
        );
        assert_eq!(
            p.offers[0].url.as_deref(),
            Some("https://shop.example/products/plaid")
        );
        assert_eq!(p.offers[1].reference_price, None);
        assert_eq!(p.offers[1].availability.as_deref(), Some("OutOfStock"));
    }

    #[test]
    fn woocommerce_minor_units_and_brands() {
        let json = br#"[{"id":5,"name":"Lampe &amp; abat-jour","permalink":"https://shop.example/p/lampe","sku":"L-1",
            "on_sale":true,"is_in_stock":true,"brands":[{"name":"Maison Lumi&egrave;re"}],
            "prices":{"price":"12900","regular_price":"18900","sale_price":"12900","currency_code":"EUR","currency_minor_unit":2}}]"#;
        let p = woocommerce(json).unwrap();
        let o = &p.offers[0];
        assert_eq!(o.name.as_deref(), Some("Lampe & abat-jour"));
        assert_eq!(o.brand.as_deref(), Some("Maison Lumière"));
        assert_eq!(o.price, Some(Money::new(12900, Currency::EUR)));
        assert_eq!(o.reference_price, Some(Money::new(18900, Currency::EUR)));
    }

    #[test]
    fn prestashop_data_product() {
        let html = r#"<div id="product-details" data-product="{&quot;id_product&quot;:&quot;7&quot;,&quot;name&quot;:&quot;Vase&quot;,&quot;price_amount&quot;:48,&quot;price_without_reduction&quot;:60,&quot;has_discount&quot;:true,&quot;discount_percentage&quot;:&quot;-20%&quot;,&quot;manufacturer_name&quot;:&quot;Verre &amp; Sable&quot;,&quot;reference&quot;:&quot;VS-7&quot;}"></div>"#;
        let o = prestashop(html, &base(), Some(Currency::EUR)).unwrap();
        assert_eq!(o.brand.as_deref(), Some("Verre & Sable"));
        assert_eq!(o.price, Some(Money::new(4800, Currency::EUR)));
        assert_eq!(o.reference_price, Some(Money::new(6000, Currency::EUR)));
        assert_eq!(o.percent_badge, Some(20));
    }

    #[test]
    fn malformed_catalogues_are_errors_not_panics() {
        assert!(shopify(b"<html>", &base(), Currency::EUR).is_err());
        assert!(woocommerce(b"{}").is_err());
        assert!(prestashop("<div data-product=x>", &base(), None).is_none());
    }
}
