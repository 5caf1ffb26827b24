//! schema.org JSON-LD offers (interim reader; replaced by the full one).

use serde_json::Value;
use url::Url;

use super::offer::{ExtractedOffer, ReferenceKind, Source};
use crate::domain::{Currency, Money};

/// What the JSON-LD blocks of a page yield.
#[derive(Debug, Clone, Default)]
pub struct JsonLdOutcome {
    /// Offers found.
    pub offers: Vec<ExtractedOffer>,
    /// Problems met.
    pub warnings: Vec<String>,
    /// Blocks read.
    pub blocks_parsed: usize,
    /// Blocks that could not be parsed.
    pub blocks_failed: usize,
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("name").and_then(s),
        Value::Array(a) => a.first().and_then(s),
        _ => None,
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match v.get("@type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(t)),
        _ => false,
    }
}

/// Reads the offers of every block.
pub fn offers_from_jsonld(
    blocks: &[String],
    page_url: &Url,
    default_currency: Option<Currency>,
) -> JsonLdOutcome {
    let mut out = JsonLdOutcome::default();
    for (i, block) in blocks.iter().enumerate() {
        let v: Value = match serde_json::from_str(block) {
            Ok(v) => v,
            Err(e) => {
                out.blocks_failed += 1;
                out.warnings
                    .push(format!("JSON-LD block {} is invalid: {e}", i + 1));
                continue;
            }
        };
        out.blocks_parsed += 1;
        let nodes: Vec<&Value> = match &v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => match o.get("@graph") {
                Some(Value::Array(g)) => g.iter().collect(),
                _ => vec![&v],
            },
            _ => vec![],
        };
        for p in nodes.into_iter().filter(|n| is_type(n, "Product")) {
            let offers: Vec<&Value> = match p.get("offers") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(o) => vec![o],
                None => vec![],
            };
            for o in offers {
                let currency = o
                    .get("priceCurrency")
                    .and_then(s)
                    .and_then(|c| Currency::new(&c).ok())
                    .or(default_currency);
                let Some(currency) = currency else {
                    out.warnings.push("offer without priceCurrency".into());
                    continue;
                };
                let price = o
                    .get("price")
                    .and_then(s)
                    .and_then(|p| Money::from_decimal_str(&p, currency).ok());
                let mut reference = None;
                let specs: Vec<&Value> = match o.get("priceSpecification") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(x) => vec![x],
                    None => vec![],
                };
                for spec in specs {
                    let kind = spec.get("priceType").and_then(s).unwrap_or_default();
                    let k = if kind.ends_with("StrikethroughPrice") {
                        ReferenceKind::Strikethrough
                    } else if kind.ends_with("ListPrice") {
                        ReferenceKind::List
                    } else {
                        continue;
                    };
                    if let Some(m) = spec
                        .get("price")
                        .and_then(s)
                        .and_then(|p| Money::from_decimal_str(&p, currency).ok())
                    {
                        reference = Some((m, k));
                    }
                }
                let url = o
                    .get("url")
                    .or_else(|| p.get("url"))
                    .and_then(s)
                    .and_then(|u| page_url.join(&u).ok())
                    .unwrap_or_else(|| page_url.clone());
                out.offers.push(ExtractedOffer {
                    name: p.get("name").and_then(s),
                    brand: p.get("brand").and_then(s),
                    sku: o.get("sku").or_else(|| p.get("sku")).and_then(s),
                    gtin: p.get("gtin13").and_then(s),
                    url: Some(url.to_string()),
                    price,
                    reference_price: reference.map(|r| r.0),
                    reference_kind: reference.map(|r| r.1),
                    availability: o
                        .get("availability")
                        .and_then(s)
                        .map(|a| a.rsplit('/').next().unwrap_or(&a).to_string()),
                    source: Some(Source::JsonLd),
                    ..Default::default()
                });
            }
        }
    }
    out
}
