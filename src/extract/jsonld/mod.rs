//! schema.org JSON-LD: every offer that a page's `<script type="application/ld+json">`
//! blocks state, with the crossed-out, list or recommended price beside it.
//!
//! It reads what shops really emit, not only what schema.org describes:
//!
//! * A block may hold one object, an array, an object with `@graph`, or
//!   several values one after the other. `@type` may be a string or an array,
//!   bare or prefixed (`schema:Product`, `http://schema.org/Product`). Keys may
//!   be prefixed too (`schema:offers`).
//! * Products are found wherever they sit (`WebPage.mainEntity`,
//!   `ItemList.itemListElement[].item`…), but never inside another product:
//!   `isRelatedTo` and `isSimilarTo` are other products, not this page's.
//! * `Product.offers` may be an object, an array, an `AggregateOffer` (with or
//!   without its own `offers`) or an `@id` reference. A `ProductGroup` gives one
//!   offer per `hasVariant` product, and so does a `Product` with `isVariantOf`.
//!   An `Offer` with `itemOffered` counts too. Identical offers (the same
//!   product stated twice on a page) are kept once.
//! * Prices are read as decimal text into [`Money`], never through `f64`:
//!   strings as written (`"129.90"`, `"129,90"`, `"1 299,90 €"`), and
//!   numbers as serde_json prints them (see [`offers_from_jsonld`]).
//! * A broken block is repaired when it can be (trailing commas, raw control
//!   characters or stray quotes in strings, bad escapes, comments, HTML
//!   entities over the whole block, `<!--` / CDATA wrappers, a BOM). When it
//!   cannot be repaired, it counts as failed and the values before the error
//!   are still read. One block never hides another.
//!
//! Every string that comes out is scraped text: HTML entities are decoded
//! (twice-encoded ones too), white space is collapsed, control and
//! bidirectional formatting characters are removed, but it is still
//! untrusted and must be escaped before display.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use url::Url;

use super::offer::{ExtractedOffer, ReferenceKind, Source};
use crate::domain::{Currency, Money};

/// Deepest nesting of JSON-LD nodes walked when looking for products; deeper
/// parts of a block are ignored with a warning. serde_json itself refuses
/// more than 128 levels, so no input can exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// Most offers read from one page; the rest are dropped with a warning.
pub const MAX_OFFERS: usize = 500;

/// Longest text kept from one JSON-LD value, in characters.
const MAX_TEXT_CHARS: usize = 1000;

/// Longest untrusted text quoted in a warning, in characters.
const MAX_QUOTE_CHARS: usize = 60;

/// Most price specifications read from one offer.
const MAX_SPECS: usize = 64;

/// How deep `AggregateOffer`s may nest inside one another.
const MAX_OFFER_NESTING: usize = 4;

/// What the JSON-LD blocks of a page yield.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonLdOutcome {
    /// The offers, one per product variant, in page order; each has
    /// `source: Some(Source::JsonLd)` and its own warnings.
    pub offers: Vec<ExtractedOffer>,
    /// Problems of the page as a whole: invalid or repaired blocks, products
    /// without offers, nesting too deep, too many offers.
    pub warnings: Vec<String>,
    /// Products stated without any offer (at most two kept): their
    /// identity only (name, brand, SKU, GTIN), for a page whose product
    /// block displays the price.
    pub priceless: Vec<ExtractedOffer>,
    /// Blocks read, including those read after a repair.
    pub blocks_parsed: usize,
    /// Blocks that could not be read (or were empty); values complete before
    /// the error are still used.
    pub blocks_failed: usize,
}

/// Reads the offers of every JSON-LD block of a page.
///
/// `blocks` are the raw texts of the page's `<script type="application/ld+json">`
/// elements, in page order; warnings name a block by its 1-based position
/// ("JSON-LD block 2 of 3"). Relative URLs are resolved against `page_url`,
/// which is also the URL of an offer that states none. `default_currency`
/// is used for prices without `priceCurrency`; when both are missing the
/// price is skipped with a warning.
///
/// Numbers: with serde_json's `arbitrary_precision` feature the literal
/// text is read. Without it serde_json keeps an `f64`, and
/// `Number::to_string` prints its shortest round-trip form, which is the
/// literal itself for up to 15 significant digits (every real price). Float
/// noise such as `129.90000000000001` (PHP's `serialize_precision = 17`) is
/// rounded to the currency's minor unit in both builds.
///
/// Never panics, whatever the input.
pub fn offers_from_jsonld(
    blocks: &[String],
    page_url: &Url,
    default_currency: Option<Currency>,
) -> JsonLdOutcome {
    let mut out = JsonLdOutcome::default();
    let total = blocks.len();
    let mut docs: Vec<(usize, Value)> = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let n = i + 1;
        match parse_block(block) {
            BlockParse::Clean(values) => {
                out.blocks_parsed += 1;
                docs.extend(values.into_iter().map(|v| (n, v)));
            }
            BlockParse::Repaired {
                values,
                error,
                fixes,
            } => {
                out.blocks_parsed += 1;
                out.warnings.push(format!(
                    "JSON-LD block {n} of {total} is malformed ({error}); read after repair: {}",
                    fixes.join(", ")
                ));
                docs.extend(values.into_iter().map(|v| (n, v)));
            }
            BlockParse::Failed { error, salvaged } => {
                out.blocks_failed += 1;
                let mut w = format!("JSON-LD block {n} of {total} is invalid: {error}");
                if !salvaged.is_empty() {
                    w.push_str(&format!(
                        " (the {} complete value(s) before the error were read)",
                        salvaged.len()
                    ));
                }
                out.warnings.push(w);
                docs.extend(salvaged.into_iter().map(|v| (n, v)));
            }
            BlockParse::Empty => {
                out.blocks_failed += 1;
                out.warnings
                    .push(format!("JSON-LD block {n} of {total} is empty"));
            }
        }
    }

    let cx = Ctx {
        docs: &docs,
        page_url,
        default_currency,
        index: OnceCell::new(),
    };
    let mut cands = Vec::new();
    let mut deep_blocks: Vec<usize> = Vec::new();
    for (n, v) in &docs {
        let mut too_deep = false;
        cx.collect(v, 0, &mut cands, &mut too_deep);
        if too_deep && !deep_blocks.contains(n) {
            deep_blocks.push(*n);
            out.warnings.push(format!(
                "JSON-LD block {n} of {total} nests deeper than {MAX_DEPTH} levels: the deeper part is ignored"
            ));
        }
    }

    // Variants reached through a group, and items reached through an offer,
    // are not read a second time on their own.
    let mut consumed: HashSet<*const Obj> = HashSet::new();
    // Groups that their variants name through `isVariantOf`: the variants
    // speak for them.
    let mut linked_groups: HashSet<*const Obj> = HashSet::new();
    for c in &cands {
        match c {
            Cand::Group(g) => consumed.extend(cx.variants(g).map(|v| v as *const Obj)),
            Cand::ItemOffer(_, item) => {
                consumed.insert(*item as *const Obj);
            }
            Cand::Product(p) => {
                if let Some(g) = get(p, "isVariantOf").and_then(|g| cx.obj(g)) {
                    linked_groups.insert(g as *const Obj);
                }
            }
        }
    }

    let mut sink = Sink::default();
    for c in cands {
        match c {
            Cand::Group(g) => {
                let linked = linked_groups.contains(&(g as *const Obj));
                if !(linked && cx.variants(g).next().is_none()) {
                    cx.emit_group(g, &mut sink);
                }
            }
            Cand::Product(p) => {
                if !consumed.contains(&(p as *const Obj)) {
                    cx.emit_standalone(p, &mut sink);
                }
            }
            Cand::ItemOffer(offer, item) => {
                let info = cx.info(item, None);
                cx.emit_entry(offer, None, &info, 0, &mut sink);
            }
        }
    }
    out.offers = sink.offers;
    out.priceless = sink.priceless;
    out.warnings.extend(sink.warnings);
    out
}

mod parse;
mod prices;

use parse::*;
use prices::*;

// ---------------------------------------------------------------------------
// Walking the graph.

type Obj = Map<String, Value>;

const PRODUCT_TYPES: &[&str] = &[
    "Product",
    "IndividualProduct",
    "ProductModel",
    "SomeProducts",
    "Vehicle",
    "Car",
    "Motorcycle",
    "Book",
    "DietarySupplement",
    "Drug",
];
const GROUP_TYPES: &[&str] = &["ProductGroup"];
const OFFER_TYPES: &[&str] = &[
    "Offer",
    "AggregateOffer",
    "OfferForPurchase",
    "OfferForLease",
];
const GTIN_KEYS: &[&str] = &["gtin13", "gtin", "gtin14", "gtin12", "gtin8", "ean", "isbn"];
const DEFAULT_AXES: &[&str] = &["color", "size", "material", "pattern"];
const AVAILABILITY: &[&str] = &[
    "InStock",
    "OutOfStock",
    "PreOrder",
    "BackOrder",
    "Discontinued",
    "InStoreOnly",
    "LimitedAvailability",
    "OnlineOnly",
    "PreSale",
    "SoldOut",
    "Reserved",
    "MadeToOrder",
];

/// A node that yields offers.
enum Cand<'a> {
    Product(&'a Obj),
    Group(&'a Obj),
    /// An offer met outside a product, and the product it names.
    ItemOffer(&'a Obj, &'a Obj),
}

/// What a product (or the group above it) says about every offer of it.
#[derive(Default)]
struct Info {
    name: Option<String>,
    brand: Option<String>,
    sku: Option<String>,
    gtin: Option<String>,
    mpn: Option<String>,
    url: Option<String>,
    variant: Option<String>,
}

/// The offers read so far, deduplicated and capped.
#[derive(Default)]
struct Sink {
    offers: Vec<ExtractedOffer>,
    priceless: Vec<ExtractedOffer>,
    warnings: Vec<String>,
    capped: bool,
}

impl Sink {
    fn push(&mut self, o: ExtractedOffer) -> usize {
        if self.offers.iter().any(|x| same_offer(x, &o)) {
            return 1;
        }
        if self.offers.len() >= MAX_OFFERS {
            if !self.capped {
                self.capped = true;
                self.warnings.push(format!(
                    "more than {MAX_OFFERS} offers on the page: the rest are ignored"
                ));
            }
            return 0;
        }
        self.offers.push(o);
        1
    }
}

/// Equal but for warnings and promotional wording.
fn same_offer(a: &ExtractedOffer, b: &ExtractedOffer) -> bool {
    a.price == b.price
        && a.reference_price == b.reference_price
        && a.reference_kind == b.reference_kind
        && a.sku == b.sku
        && a.gtin == b.gtin
        && a.variant == b.variant
        && a.url == b.url
        && a.name == b.name
        && a.brand == b.brand
        && a.availability == b.availability
        && a.percent_badge == b.percent_badge
        && a.source == b.source
}

/// How a `priceSpecification` is to be read.
enum Role {
    /// The price to pay (no `priceType`, or `SalePrice`).
    Price,
    /// A higher price shown beside it.
    Reference(ReferenceKind),
    /// A known type that is neither (`InvoicePrice`…).
    Ignored,
    /// A type not understood.
    Unknown(String),
}

struct Ctx<'a> {
    docs: &'a [(usize, Value)],
    page_url: &'a Url,
    default_currency: Option<Currency>,
    /// Nodes by `@id`, built on first use.
    index: OnceCell<HashMap<&'a str, &'a Value>>,
}

impl<'a> Ctx<'a> {
    /// Finds the nodes that yield offers, in page order.
    fn collect(&self, v: &'a Value, depth: usize, out: &mut Vec<Cand<'a>>, too_deep: &mut bool) {
        if depth > MAX_DEPTH {
            *too_deep = true;
            return;
        }
        match v {
            Value::Array(a) => {
                for x in a {
                    self.collect(x, depth + 1, out, too_deep);
                }
            }
            Value::Object(m) => {
                let product = has_type(m, PRODUCT_TYPES);
                if has_type(m, GROUP_TYPES) || (product && self.variants(m).next().is_some()) {
                    out.push(Cand::Group(m));
                } else if product {
                    out.push(Cand::Product(m));
                } else if has_type(m, OFFER_TYPES) {
                    let item = get(m, "itemOffered").and_then(|i| self.obj(i));
                    if let Some(item) = item
                        .filter(|i| has_type(i, PRODUCT_TYPES) && list(get(i, "offers")).is_empty())
                    {
                        out.push(Cand::ItemOffer(m, item));
                    }
                } else {
                    for (k, x) in m {
                        if k != "@context" {
                            self.collect(x, depth + 1, out, too_deep);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn index(&self) -> &HashMap<&'a str, &'a Value> {
        self.index.get_or_init(|| {
            let mut map = HashMap::new();
            let mut stack: Vec<(&'a Value, usize)> =
                self.docs.iter().rev().map(|(_, v)| (v, 0)).collect();
            while let Some((v, d)) = stack.pop() {
                if d > MAX_DEPTH {
                    continue;
                }
                match v {
                    Value::Object(m) => {
                        if let Some(id) = m.get("@id").and_then(Value::as_str) {
                            if !is_ref(m) {
                                map.entry(id.trim()).or_insert(v);
                            }
                        }
                        stack.extend(m.values().rev().map(|x| (x, d + 1)));
                    }
                    Value::Array(a) => stack.extend(a.iter().rev().map(|x| (x, d + 1))),
                    _ => {}
                }
            }
            map
        })
    }

    /// The node an `{"@id": …}` reference names, or the value itself.
    fn resolve(&self, v: &'a Value) -> &'a Value {
        let Value::Object(m) = v else {
            return v;
        };
        if !is_ref(m) {
            return v;
        }
        let Some(id) = m.get("@id").and_then(Value::as_str) else {
            return v;
        };
        self.index().get(id.trim()).copied().unwrap_or(v)
    }

    fn obj(&self, v: &'a Value) -> Option<&'a Obj> {
        match self.resolve(v) {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    fn variants(&self, g: &'a Obj) -> impl Iterator<Item = &'a Obj> + '_ {
        list(get(g, "hasVariant"))
            .iter()
            .filter_map(|v| self.obj(v))
    }

    /// The text of a value: a string, a number, `@value`, `name` or
    /// `value` of an object, the first usable element of an array.
    fn raw_text(&self, v: &'a Value, depth: usize) -> Option<Cow<'a, str>> {
        if depth > 4 {
            return None;
        }
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s)),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            Value::Object(_) => {
                let m = self.obj(v)?;
                ["@value", "name", "value"]
                    .iter()
                    .find_map(|k| get(m, k).and_then(|x| self.raw_text(x, depth + 1)))
            }
            Value::Array(a) => a.iter().find_map(|x| self.raw_text(x, depth + 1)),
            _ => None,
        }
    }

    /// Cleaned text of a value.
    fn text(&self, v: Option<&'a Value>) -> Option<String> {
        self.raw_text(v?, 0).and_then(|s| clean(&s))
    }

    /// A URL as text: a string, or the `@id`/`url` of an object.
    fn url_text(&self, v: Option<&'a Value>) -> Option<String> {
        match v? {
            Value::String(s) => clean(s),
            Value::Object(m) => get(m, "url")
                .or_else(|| m.get("@id"))
                .and_then(Value::as_str)
                .and_then(clean),
            Value::Array(a) => a.iter().find_map(|x| self.url_text(Some(x))),
            _ => None,
        }
    }

    fn brand(&self, m: &'a Obj) -> Option<String> {
        self.text(get(m, "brand"))
            .or_else(|| self.text(get(m, "manufacturer")))
    }

    fn gtin(&self, m: &'a Obj) -> Option<String> {
        GTIN_KEYS
            .iter()
            .find_map(|k| self.text(get(m, k)).and_then(|t| gtin_digits(&t)))
    }

    fn info(&self, m: &'a Obj, parent: Option<&Info>) -> Info {
        Info {
            name: self
                .text(get(m, "name"))
                .or_else(|| parent.and_then(|p| p.name.clone())),
            brand: self
                .brand(m)
                .or_else(|| parent.and_then(|p| p.brand.clone())),
            sku: self.text(get(m, "sku")),
            gtin: self.gtin(m),
            mpn: self.text(get(m, "mpn")),
            url: self
                .url_text(get(m, "url"))
                .or_else(|| parent.and_then(|p| p.url.clone())),
            variant: None,
        }
    }

    /// `variesBy` as property names (`https://schema.org/size` → `size`).
    fn varies_by(&self, g: &'a Obj) -> Vec<String> {
        list(get(g, "variesBy"))
            .iter()
            .filter_map(|v| self.raw_text(v, 0))
            .map(|t| {
                let l = local_name(&t);
                let mut c = l.chars();
                match c.next() {
                    Some(f) => f.to_lowercase().chain(c).collect(),
                    None => String::new(),
                }
            })
            .filter(|s| !s.is_empty())
            .take(8)
            .collect()
    }

    /// `M / Noir`: the values of the varying properties of a variant.
    fn variant_label(&self, v: &'a Obj, axes: &[String]) -> Option<String> {
        let defaults: Vec<String>;
        let axes = if axes.is_empty() {
            defaults = DEFAULT_AXES.iter().map(|s| s.to_string()).collect();
            &defaults
        } else {
            axes
        };
        let mut parts: Vec<String> = Vec::new();
        for axis in axes {
            let value = self
                .text(get(v, axis))
                .or_else(|| self.additional_property(v, axis));
            if let Some(value) = value {
                if !parts.contains(&value) {
                    parts.push(value);
                }
            }
        }
        (!parts.is_empty()).then(|| parts.join(" / "))
    }

    fn additional_property(&self, v: &'a Obj, axis: &str) -> Option<String> {
        list(get(v, "additionalProperty"))
            .iter()
            .filter_map(|p| self.obj(p))
            .find(|p| {
                ["name", "propertyID"].iter().any(|k| {
                    get(p, k)
                        .and_then(Value::as_str)
                        .is_some_and(|n| local_name(n).eq_ignore_ascii_case(axis))
                })
            })
            .and_then(|p| self.text(get(p, "value")))
    }

    fn emit_group(&self, g: &'a Obj, sink: &mut Sink) {
        let ginfo = self.info(g, None);
        let axes = self.varies_by(g);
        let mut n = 0;
        for v in self.variants(g) {
            let mut vinfo = self.info(v, Some(&ginfo));
            vinfo.variant = self.variant_label(v, &axes).or_else(|| {
                vinfo
                    .name
                    .as_deref()
                    .and_then(|name| name_label(name, ginfo.name.as_deref()))
            });
            n += self.emit_product(v, &vinfo, sink);
        }
        if n == 0 {
            n += self.emit_product(g, &ginfo, sink);
        }
        if n == 0 {
            sink.warnings.push(format!(
                "product group {} has no offers",
                quote(ginfo.name.as_deref())
            ));
        }
    }

    fn emit_standalone(&self, p: &'a Obj, sink: &mut Sink) {
        let parent = get(p, "isVariantOf").and_then(|g| self.obj(g));
        let pinfo = parent.map(|g| self.info(g, None));
        let mut info = self.info(p, pinfo.as_ref());
        if let (Some(g), Some(pinfo)) = (parent, &pinfo) {
            info.variant = self.variant_label(p, &self.varies_by(g)).or_else(|| {
                info.name
                    .as_deref()
                    .and_then(|name| name_label(name, pinfo.name.as_deref()))
            });
        }
        if self.emit_product(p, &info, sink) == 0 {
            if sink.priceless.len() < 2 {
                let mut o = self.build_offer(p, None, &info);
                o.price = None;
                o.reference_price = None;
                o.reference_kind = None;
                o.reference_source = None;
                sink.priceless.push(o);
            }
            sink.warnings.push(format!(
                "product {} has no offers",
                quote(info.name.as_deref())
            ));
        }
    }

    /// The offers of one product; returns how many were met.
    fn emit_product(&self, p: &'a Obj, info: &Info, sink: &mut Sink) -> usize {
        let offers = list(get(p, "offers"));
        if offers.is_empty() {
            if get(p, "price").is_some() || get(p, "lowPrice").is_some() {
                let mut o = self.build_offer(p, None, info);
                o.warnings
                    .push("price stated on the product itself, not in an Offer".to_string());
                return sink.push(o);
            }
            return 0;
        }
        offers
            .iter()
            .filter_map(|o| self.obj(o))
            .map(|o| self.emit_entry(o, None, info, 0, sink))
            .sum()
    }

    fn emit_entry(
        &self,
        o: &'a Obj,
        agg: Option<&'a Obj>,
        info: &Info,
        depth: usize,
        sink: &mut Sink,
    ) -> usize {
        if depth > MAX_OFFER_NESTING {
            return 0;
        }
        if has_type(o, &["AggregateOffer"]) {
            let mut n = 0;
            for sub in list(get(o, "offers")).iter().filter_map(|v| self.obj(v)) {
                n += self.emit_entry(sub, Some(o), info, depth + 1, sink);
            }
            if n > 0 {
                return n;
            }
        } else if o.contains_key("@type") && !has_type(o, OFFER_TYPES) {
            // A `Demand`, or a product put where an offer belongs.
            return 0;
        }
        sink.push(self.build_offer(o, agg, info))
    }

    /// The price specifications of an offer, compound ones flattened.
    fn specs(&self, o: &'a Obj) -> Vec<&'a Obj> {
        let mut out = Vec::new();
        for s in list(get(o, "priceSpecification")) {
            let Some(m) = self.obj(s) else { continue };
            let parts = list(get(m, "priceComponent"));
            if parts.is_empty() || get(m, "price").is_some() {
                out.push(m);
            }
            out.extend(parts.iter().filter_map(|c| self.obj(c)));
            if out.len() >= MAX_SPECS {
                out.truncate(MAX_SPECS);
                break;
            }
        }
        out
    }

    fn currency_of(&self, m: &'a Obj, w: &mut Vec<String>) -> Option<Currency> {
        let t = self.text(get(m, "priceCurrency"))?;
        let c = parse_currency(&t);
        if c.is_none() {
            w.push(format!(
                "priceCurrency {} is not a currency code",
                quote(Some(&t))
            ));
        }
        c
    }

    fn spec_role(&self, spec: &'a Obj) -> Role {
        let Some(t) = self.text(get(spec, "priceType")) else {
            return Role::Price;
        };
        let lower = t.to_ascii_lowercase();
        let local = local_name(&lower);
        if lower.contains("strikethroughprice") {
            Role::Reference(ReferenceKind::Strikethrough)
        } else if local == "listprice" {
            Role::Reference(ReferenceKind::List)
        } else if matches!(local, "srp" | "msrp" | "suggestedretailprice") {
            Role::Reference(ReferenceKind::Recommended)
        } else if local == "saleprice" {
            Role::Price
        } else if matches!(local, "invoiceprice" | "minimumadvertisedprice") {
            Role::Ignored
        } else {
            Role::Unknown(t)
        }
    }

    fn build_offer(&self, o: &'a Obj, agg: Option<&'a Obj>, info: &Info) -> ExtractedOffer {
        let mut w: Vec<String> = Vec::new();
        let specs = self.specs(o);
        let currency = self.offer_currency(o, agg, &specs, &mut w);
        let (price, refs) = self.offer_prices(o, &specs, currency, &mut w);
        let (reference_price, reference_kind) = first_reference_above(price, refs, &mut w);
        let (name, variant) = self.offer_name_and_variant(o, info);
        let url = self.offer_url(o, info, &mut w);
        let availability = get(o, "availability")
            .or_else(|| agg.and_then(|a| get(a, "availability")))
            .and_then(|v| self.text(Some(v)))
            .and_then(|t| availability(&t));

        ExtractedOffer {
            name,
            brand: info.brand.clone(),
            sku: self.text(get(o, "sku")).or_else(|| info.sku.clone()),
            gtin: self
                .gtin(o)
                .or_else(|| info.gtin.clone())
                .or_else(|| self.text(get(o, "mpn")))
                .or_else(|| info.mpn.clone()),
            variant,
            url: Some(url),
            price,
            reference_price,
            reference_kind,
            reference_source: reference_price.map(|_| Source::JsonLd),
            percent_badge: None,
            availability,
            source: Some(Source::JsonLd),
            promo: Vec::new(),
            warnings: w,
        }
    }

    /// The offer's currency: the first stated by the offer, its aggregate
    /// or its price specifications, else the shop's default.
    fn offer_currency(
        &self,
        o: &'a Obj,
        agg: Option<&'a Obj>,
        specs: &[&'a Obj],
        w: &mut Vec<String>,
    ) -> Option<Currency> {
        for m in std::iter::once(o).chain(agg).chain(specs.iter().copied()) {
            if let Some(c) = self.currency_of(m, w) {
                return Some(c);
            }
        }
        self.default_currency
    }

    /// The offer's price (its own, else its first price specification) and
    /// the reference prices its specifications state.
    fn offer_prices(
        &self,
        o: &'a Obj,
        specs: &[&'a Obj],
        currency: Option<Currency>,
        w: &mut Vec<String>,
    ) -> (Option<Money>, Vec<(ReferenceKind, Money)>) {
        let raw_price = get(o, "price")
            .or_else(|| get(o, "lowPrice"))
            .and_then(price_text);
        let mut price = None;
        let mut no_currency = false;
        match (&raw_price, currency) {
            (Some(t), Some(c)) => price = amount(t, c, "price", w),
            (Some(_), None) => no_currency = true,
            (None, _) => {}
        }

        let mut refs: Vec<(ReferenceKind, Money)> = Vec::new();
        let mut spec_price_read = false;
        for spec in specs {
            if is_unit_price(spec) {
                continue;
            }
            let role = self.spec_role(spec);
            if let Role::Unknown(name) = &role {
                w.push(format!(
                    "priceType {} not understood: ignored",
                    quote(Some(name))
                ));
                continue;
            }
            let Some(t) = get(spec, "price").and_then(price_text) else {
                continue;
            };
            let spec_currency = match get(spec, "priceCurrency") {
                Some(_) => self.currency_of(spec, w).or(currency),
                None => currency,
            };
            let Some(c) = spec_currency else {
                no_currency = true;
                continue;
            };
            match role {
                Role::Price => {
                    if raw_price.is_none() && !spec_price_read {
                        spec_price_read = true;
                        price = amount(&t, c, "priceSpecification price", w);
                    }
                }
                Role::Reference(kind) => {
                    if let Some(m) = amount(&t, c, kind_label(kind), w) {
                        refs.push((kind, m));
                    }
                }
                Role::Ignored | Role::Unknown(_) => {}
            }
        }
        if no_currency {
            w.push("no priceCurrency and no default currency: the price is skipped".to_string());
        }

        if let (Some(p), Some(h)) = (price, get(o, "highPrice").and_then(price_text)) {
            if let Ok((high, _)) = parse_price(&h, p.currency) {
                if high.minor > p.minor {
                    w.push(format!(
                        "price range {p} – {high}: the lowest price is taken"
                    ));
                }
            }
        }
        (price, refs)
    }

    /// The offer's name (the product's, else the offer's own) and its
    /// variant (the product's, else what the offer's name adds to the
    /// product's).
    fn offer_name_and_variant(&self, o: &'a Obj, info: &Info) -> (Option<String>, Option<String>) {
        let mut name = info.name.clone();
        let mut variant = info.variant.clone();
        if let Some(offer_name) = self.text(get(o, "name")) {
            match &name {
                None => name = Some(offer_name),
                Some(n) => {
                    if variant.is_none() {
                        variant = name_label(&offer_name, Some(n));
                    }
                }
            }
        }
        (name, variant)
    }

    /// The offer's absolute http(s) URL, else the page's.
    fn offer_url(&self, o: &'a Obj, info: &Info, w: &mut Vec<String>) -> String {
        let url_raw = self.url_text(get(o, "url")).or_else(|| info.url.clone());
        match url_raw {
            None => self.page_url.to_string(),
            Some(u) => match self.page_url.join(&u) {
                Ok(abs) if matches!(abs.scheme(), "http" | "https") => abs.to_string(),
                _ => {
                    w.push(format!(
                        "url {} unusable: the page URL is used",
                        quote(Some(&u))
                    ));
                    self.page_url.to_string()
                }
            },
        }
    }
}

/// The reference price to keep: the first, by kind, in the price's
/// currency and above it; the others are dropped with a warning saying why.
fn first_reference_above(
    price: Option<Money>,
    mut refs: Vec<(ReferenceKind, Money)>,
    w: &mut Vec<String>,
) -> (Option<Money>, Option<ReferenceKind>) {
    let Some(p) = price else {
        if !refs.is_empty() {
            w.push("a reference price without a price to compare: dropped".to_string());
        }
        return (None, None);
    };
    refs.sort_by_key(|(k, _)| kind_rank(*k));
    for (kind, r) in refs {
        if r.currency != p.currency {
            w.push(format!(
                "{} {r} is not in the currency of the price {p}: dropped",
                kind_label(kind)
            ));
        } else if r.minor <= p.minor {
            w.push(format!(
                "{} {r} is not above the price {p}: not a reduction, dropped",
                kind_label(kind)
            ));
        } else {
            return (Some(r), Some(kind));
        }
    }
    (None, None)
}

// ---------------------------------------------------------------------------
// Small readers.

/// A value under `key`, also when the page prefixes its keys
/// (`schema:offers`, `http://schema.org/price`); `null` counts as absent.
fn get<'v>(m: &'v Obj, key: &str) -> Option<&'v Value> {
    let v = match m.get(key) {
        Some(v) => Some(v),
        None => m
            .iter()
            .find(|(k, _)| {
                k.len() > key.len()
                    && k.ends_with(key)
                    && matches!(
                        k.as_bytes().get(k.len() - key.len() - 1),
                        Some(b':' | b'/' | b'#')
                    )
            })
            .map(|(_, v)| v),
    };
    v.filter(|v| !v.is_null())
}

/// A value as a list: an array's elements, or the value alone.
fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        Some(x) => std::slice::from_ref(x),
        None => &[],
    }
}

/// Whether an object is only a reference to a node defined elsewhere.
fn is_ref(m: &Obj) -> bool {
    m.contains_key("@id")
        && m.keys()
            .all(|k| matches!(k.as_str(), "@id" | "@type" | "@context"))
}

/// The name after the last `/`, `#` or `:`: `https://schema.org/InStock` → `InStock`.
fn local_name(s: &str) -> &str {
    let s = s.trim().trim_end_matches('/');
    s.rsplit(['/', '#', ':']).next().unwrap_or(s).trim()
}

fn has_type(m: &Obj, names: &[&str]) -> bool {
    let is = |v: &Value| {
        v.as_str().is_some_and(|t| {
            let l = local_name(t);
            names.iter().any(|n| n.eq_ignore_ascii_case(l))
        })
    };
    match m.get("@type") {
        Some(Value::Array(a)) => a.iter().any(is),
        Some(v) => is(v),
        None => false,
    }
}

/// Decodes HTML entities (twice-encoded ones too), removes control and
/// bidirectional formatting characters, collapses white space, trims, and
/// caps the length. `None` when nothing is left.
fn clean(raw: &str) -> Option<String> {
    let mut s: Cow<'_, str> = Cow::Borrowed(raw);
    for _ in 0..3 {
        if !s.contains('&') {
            break;
        }
        let decoded = match html_escape::decode_html_entities(&s) {
            Cow::Owned(d) => d,
            Cow::Borrowed(_) => break,
        };
        s = Cow::Owned(decoded);
    }
    let mut out = String::with_capacity(s.len().min(4 * MAX_TEXT_CHARS));
    let mut pending_space = false;
    let mut count = 0;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if count >= MAX_TEXT_CHARS {
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
            count += 1;
        }
        out.push(c);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// Zero-width and bidirectional formatting characters.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Untrusted text quoted in a warning, shortened.
fn quote(s: Option<&str>) -> String {
    match s {
        None => "(unnamed)".to_string(),
        Some(s) => {
            let mut q: String = s.chars().take(MAX_QUOTE_CHARS).collect();
            if s.chars().nth(MAX_QUOTE_CHARS).is_some() {
                q.push('…');
            }
            format!("`{q}`")
        }
    }
}

/// A GTIN as digits (`3 017620 422003` → `3017620422003`; a GS1 Digital
/// Link gives its GTIN); `None` when it is no GTIN.
fn gtin_digits(t: &str) -> Option<String> {
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.'))
        .collect();
    if (8..=14).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(digits);
    }
    let (_, after) = t.split_once("/01/")?;
    let g: String = after.chars().take_while(char::is_ascii_digit).collect();
    (8..=14).contains(&g.len()).then_some(g)
}

/// A variant label from a variant's name and its product's name:
/// `("T-shirt - M", "T-shirt")` → `M`. `None` when the names are the same.
fn name_label(name: &str, base: Option<&str>) -> Option<String> {
    let base = base?;
    if name.to_lowercase() == base.to_lowercase() {
        return None;
    }
    let rest = name
        .get(..base.len())
        .filter(|head| head.eq_ignore_ascii_case(base))
        .and_then(|_| name.get(base.len()..));
    match rest {
        Some(r) => {
            let r = r
                .trim_start_matches(|c: char| c.is_whitespace() || "-–—:,/|(".contains(c))
                .trim_end_matches(|c: char| c.is_whitespace() || c == ')');
            (!r.is_empty()).then(|| r.to_string())
        }
        None => Some(name.to_string()),
    }
}

fn availability(t: &str) -> Option<String> {
    let l = local_name(t);
    let squashed: String = l.chars().filter(|c| c.is_alphanumeric()).collect();
    if squashed.is_empty() {
        return None;
    }
    Some(
        AVAILABILITY
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&squashed))
            .map_or_else(|| l.to_string(), |a| a.to_string()),
    )
}

/// A unit price (per kilogram, per litre) rather than the price of the item.
fn is_unit_price(spec: &Obj) -> bool {
    let Some(q) = get(spec, "referenceQuantity") else {
        return false;
    };
    let Value::Object(q) = q else {
        return true;
    };
    let unit = get(q, "unitCode")
        .or_else(|| get(q, "unitText"))
        .and_then(Value::as_str)
        .map(str::trim);
    match unit {
        Some(u) => !["C62", "H87", "EA", "PCE", "unit", "piece"]
            .iter()
            .any(|x| x.eq_ignore_ascii_case(u)),
        None => !matches!(get(q, "value").and_then(price_text).as_deref(), Some("1")),
    }
}

fn kind_rank(k: ReferenceKind) -> u8 {
    match k {
        ReferenceKind::Strikethrough => 0,
        ReferenceKind::Previous => 0,
        ReferenceKind::List => 1,
        ReferenceKind::Recommended => 2,
    }
}

fn kind_label(k: ReferenceKind) -> &'static str {
    match k {
        ReferenceKind::Strikethrough => "StrikethroughPrice",
        ReferenceKind::Previous => "previous price",
        ReferenceKind::List => "ListPrice",
        ReferenceKind::Recommended => "recommended price",
    }
}

/// A currency code, or the symbols and words shops put there instead.
fn parse_currency(t: &str) -> Option<Currency> {
    let t = t.trim();
    if t == "€" || t.eq_ignore_ascii_case("euro") || t.eq_ignore_ascii_case("euros") {
        return Some(Currency::EUR);
    }
    if t == "£" {
        return Some(Currency::GBP);
    }
    Currency::new(t).ok()
}

#[cfg(test)]
mod tests;
