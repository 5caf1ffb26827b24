//! Extraction: what a page shows for each product, read exactly.
//!
//! The page's JSON-LD blocks are located by a byte scanner (no DOM is built
//! for pages that carry structured data) and read by [`jsonld`]. Every string out of here is scraped
//! text: untrusted until escaped.

pub mod block;
pub mod html;
pub mod jsonld;
pub mod offer;
pub mod platform;
pub mod price_text;
pub mod promo_text;
pub mod region;

use url::Url;

use crate::domain::Currency;
use block::ProductBlock;
pub use offer::{ExtractedOffer, PromoMatch, ReferenceKind, Source};

/// Everything read from one page.
#[derive(Debug, Clone, Default)]
pub struct PageExtraction {
    /// The offers, one per product variant.
    pub offers: Vec<ExtractedOffer>,
    /// Page-level problems (a broken JSON-LD block, no price at all…).
    pub warnings: Vec<String>,
    /// Promotional wording the page shows outside the main product's block
    /// (a "SOLDES" header banner, a site-wide "jusqu'à -50 %"): the shop's
    /// wording, not any product's reduction.
    pub site_promo: Vec<PromoMatch>,
}

/// Collects the text of every `<script type="application/ld+json">` block.
///
/// A byte scanner, not an HTML parser: it looks for `ld+json` with
/// `memchr`'s SIMD search, checks that the match sits inside a `<script`
/// start tag whose `type` is `application/ld+json`, and takes the text up to
/// the next `</script`. HTML comments are skipped. On a 100 KB page this is
/// tens of microseconds, against about half a millisecond for a streaming
/// HTML rewriter, and the crawl's CPU budget is 0.4 ms per page all told.
pub fn jsonld_blocks(html: &str) -> Vec<&str> {
    let bytes = html.as_bytes();
    let mut blocks = Vec::new();
    let mut pos = 0;
    let finder = memchr::memmem::Finder::new(b"ld+json");
    while let Some(hit) = finder.find(&bytes[pos..]).map(|i| i + pos) {
        // The start tag that contains the hit: the last '<' before it, with no '>' between.
        let Some(lt) = memchr::memrchr(b'<', &bytes[pos..hit]).map(|i| i + pos) else {
            pos = hit + 7;
            continue;
        };
        if memchr::memchr(b'>', &bytes[lt..hit]).is_some()
            || !starts_with_ci(&bytes[lt..], b"<script")
            || inside_comment(bytes, lt)
        {
            pos = hit + 7;
            continue;
        }
        let Some(gt) = memchr::memchr(b'>', &bytes[hit..]).map(|i| i + hit) else {
            break;
        };
        if !script_type_is_jsonld(&html[lt..gt]) {
            pos = gt;
            continue;
        }
        let content_start = gt + 1;
        let end = find_ci(&bytes[content_start..], b"</script")
            .map_or(bytes.len(), |i| i + content_start);
        blocks.push(&html[content_start..end]);
        pos = end;
    }
    blocks
}

fn starts_with_ci(hay: &[u8], prefix: &[u8]) -> bool {
    hay.len() >= prefix.len() && hay[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    // Every `</` is a candidate; compare the rest without regard to case.
    memchr::memmem::find_iter(hay, &needle[..2]).find(|&i| starts_with_ci(&hay[i..], needle))
}

/// Whether `at` falls inside an `<!-- … -->` comment.
fn inside_comment(bytes: &[u8], at: usize) -> bool {
    match memchr::memmem::rfind(&bytes[..at], b"<!--") {
        Some(open) => memchr::memmem::find(&bytes[open..at], b"-->").is_none(),
        None => false,
    }
}

/// Whether a `<script …` start tag (without its `>`) has `type="application/ld+json"`.
fn script_type_is_jsonld(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let Some(i) = lower.find("type") else {
        return false;
    };
    let rest = lower[i + 4..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return false;
    };
    let value = rest.trim_start().trim_start_matches(['"', '\'']);
    value.starts_with("application/ld+json")
}

/// Whether the page may carry microdata or product meta tags (a byte
/// search: the DOM is built only for pages that may).
fn may_have_markup_data(html: &str) -> bool {
    let b = html.as_bytes();
    [
        "itemprop",
        "product:price",
        "og:price",
        "product:sale_price",
    ]
    .iter()
    .any(|n| memchr::memmem::find(b, n.as_bytes()).is_some())
}

/// The page without its excluded blocks (carousels, recently viewed,
/// header, footer, reviews…), for the DOM-based readers.
fn without_excluded(html: &str, block: &ProductBlock) -> String {
    let mut out = String::with_capacity(html.len());
    let mut pos = 0usize;
    for n in &block.outline.nodes {
        let (s, e) = (n.start as usize, n.end as usize);
        if s < pos || !n.excluded {
            continue;
        }
        // Only the outermost excluded element is cut (its parent is kept).
        out.push_str(&html[pos..s]);
        pos = e.max(s);
    }
    out.push_str(&html[pos.min(html.len())..]);
    out
}

/// Extracts every offer of a page.
///
/// 1. The offers come from the most trusted source that has any: platform
///    page data, JSON-LD, then microdata, then OpenGraph; the shop's own
///    selectors when it has some; a buy-box reading of the product block
///    for a page with none of them.
/// 2. The main product's block is located first ([`block::ProductBlock`]):
///    microdata and the buy box read only outside excluded blocks
///    (carousels, recently viewed, bundles, reviews, header, footer).
/// 3. The price the block displays wins over structured data that
///    disagrees with it; a former price missing from structured data is
///    read beside the displayed price, never elsewhere.
/// 4. Promotional wording and percent badges count for the product only
///    inside its block; wording elsewhere on the page is the shop's
///    ([`PageExtraction::site_promo`]).
pub fn extract_page(
    html: &str,
    page_url: &Url,
    default_currency: Option<Currency>,
    selectors: Option<&crate::catalog::Selectors>,
    promo_cache: Option<&mut promo_text::PromoCache>,
) -> PageExtraction {
    let mut out = PageExtraction::default();
    let blocks: Vec<String> = jsonld_blocks(html)
        .into_iter()
        .map(str::to_string)
        .collect();
    let found = jsonld::offers_from_jsonld(&blocks, page_url, default_currency);
    out.warnings.extend(found.warnings);
    let mut offers = found.offers;
    // PrestaShop's own page data is more trusted than its JSON-LD.
    if let Some(p) = platform::prestashop(html, page_url, default_currency) {
        offers = vec![p];
    }
    let priceless = offers.iter().all(|o| o.price.is_none());
    let structured_name = offers
        .iter()
        .chain(&found.priceless)
        .find_map(|o| o.name.clone());
    let structured_price = offers.iter().find_map(|o| o.price);
    let currency = structured_price.map(|m| m.currency).or(default_currency);
    let mut block =
        ProductBlock::locate(html, structured_name.as_deref(), structured_price, currency);
    if selectors.is_some() || (priceless && may_have_markup_data(html)) {
        let lower = markup_offers(
            html,
            page_url,
            default_currency,
            selectors,
            &block,
            &mut out.warnings,
        );
        merge_markup_offers(&mut offers, lower, priceless, &mut out.warnings);
        // The structured product may have moved the block's anchor.
        let name = offers.iter().find_map(|o| o.name.clone());
        let price = offers.iter().find_map(|o| o.price);
        if price.is_some() && price != structured_price {
            block = ProductBlock::locate(
                html,
                name.as_deref(),
                price,
                price.map(|m| m.currency).or(default_currency),
            );
        }
    }
    if offers.is_empty() || offers.iter().all(|o| o.price.is_none()) {
        if let Some(o) = product_block_offer(html, &block, page_url, &offers, &found.priceless) {
            offers = vec![o];
        }
    } else {
        reconcile_with_block(&mut offers, &block);
    }
    let promo = sort_promo_wording(html, promo_cache, &block, &mut out.site_promo);
    attach_promo(&mut offers, &promo);
    out.offers = offers;
    if out.offers.is_empty() {
        out.warnings.push(if blocks.is_empty() {
            "no product data on the page (no JSON-LD, microdata, product meta tags, matching selectors or product block)"
                .to_string()
        } else {
            "no product offer in the page's structured data".to_string()
        });
    }
    out
}

/// The offers of the page's microdata and OpenGraph tags, read outside the
/// put-away blocks (the page's head is never put away), and those of the
/// shop's own selectors, which see the whole page.
fn markup_offers(
    html: &str,
    page_url: &Url,
    default_currency: Option<Currency>,
    selectors: Option<&crate::catalog::Selectors>,
    block: &ProductBlock,
    warnings: &mut Vec<String>,
) -> Vec<ExtractedOffer> {
    let cleaned_html = without_excluded(html, block);
    let cleaned = scraper::Html::parse_document(&cleaned_html);
    let mut lower: Vec<ExtractedOffer> = html::microdata(&cleaned, page_url, default_currency);
    lower.extend(html::opengraph(&cleaned, page_url, default_currency));
    if let Some(s) = selectors {
        let full = scraper::Html::parse_document(html);
        let (sel_offers, sel_warnings) = html::with_selectors(&full, s, page_url, default_currency);
        warnings.extend(sel_warnings);
        lower.extend(sel_offers);
    }
    lower
}

/// Merges the offers of the lower sources (microdata, OpenGraph, selectors)
/// into the structured ones: when structured data states no price, the
/// most trusted lower source with one takes their place; a single offer is
/// completed by the others that agree on its price, and told of those
/// that do not.
fn merge_markup_offers(
    offers: &mut Vec<ExtractedOffer>,
    mut lower: Vec<ExtractedOffer>,
    priceless: bool,
    warnings: &mut Vec<String>,
) {
    if priceless && lower.iter().any(|o| o.price.is_some()) {
        // Structured data without a price does not hide a price shown otherwise.
        if !offers.is_empty() {
            warnings.push("JSON-LD states no price; using the page's other data".into());
        }
        offers.clear();
        lower.retain(|o| o.price.is_some());
    }
    if offers.is_empty() {
        // The most trusted lower source wins; the others only complete it.
        let best = lower.iter().filter_map(|o| o.source).min();
        let (chosen, rest): (Vec<_>, Vec<_>) = lower.into_iter().partition(|o| o.source == best);
        *offers = chosen;
        lower = rest;
    }
    if let [o] = offers.as_mut_slice() {
        for other in &lower {
            match (o.price, other.price) {
                (Some(a), Some(b)) if a == b => {
                    if o.reference_price.is_none() && other.reference_price.is_some() {
                        o.reference_price = other.reference_price;
                        o.reference_kind = other.reference_kind;
                        o.reference_source = other.source;
                    }
                    if o.percent_badge.is_none() {
                        o.percent_badge = other.percent_badge;
                    }
                }
                (Some(a), Some(b)) => o.warnings.push(format!(
                    "sources disagree: {} says {}, {} says {}",
                    o.source.map(|s| s.as_str()).unwrap_or("?"),
                    a,
                    other.source.map(|s| s.as_str()).unwrap_or("?"),
                    b
                )),
                _ => {}
            }
        }
    }
}

/// For a page whose offers state no price: the offer the product block
/// shows. Structured data naming one product without a price gives its
/// identity; the block gives the price.
fn product_block_offer(
    html: &str,
    block: &ProductBlock,
    page_url: &Url,
    offers: &[ExtractedOffer],
    priceless: &[ExtractedOffer],
) -> Option<ExtractedOffer> {
    let mut o = buy_box_offer(html, block, page_url)?;
    let identity = match (offers, priceless) {
        ([one], _) | ([], [one]) => Some(one),
        _ => None,
    };
    if let Some(id) = identity {
        o.name = id.name.clone().or(o.name);
        o.brand = id.brand.clone().or(o.brand);
        o.sku = id.sku.clone();
        o.gtin = id.gtin.clone();
        o.variant = id.variant.clone();
        o.url = id.url.clone().or(o.url);
        o.source = Some(Source::ProductBlock);
        o.reference_source = o.reference_source.map(|_| Source::ProductBlock);
        o.warnings = vec![format!(
            "{} states no price; the price is read from the product block",
            id.source.map(|s| s.as_str()).unwrap_or("structured data")
        )];
    }
    Some(o)
}

/// The promotional wording inside the product's block, with the percent
/// badges among it (each with whether it stands alone).
struct BlockPromo {
    promo: Vec<PromoMatch>,
    badges: Vec<(u32, bool)>,
}

/// Sorts the page's promotional wording: the product's inside its block,
/// the shop's elsewhere (pushed to `site_promo`).
fn sort_promo_wording(
    html: &str,
    promo_cache: Option<&mut promo_text::PromoCache>,
    block: &ProductBlock,
    site_promo: &mut Vec<PromoMatch>,
) -> BlockPromo {
    let phrases = promo_text::classify_html(html, promo_cache);
    let mut found = BlockPromo {
        promo: Vec::new(),
        badges: Vec::new(),
    };
    for p in phrases {
        let m = PromoMatch {
            class: p.class,
            text: p.text.clone(),
            location: format!("page, byte {}", p.start),
        };
        if block.holds(p.start) {
            if let Some(n) = p.percent {
                found.badges.push((n, p.standalone));
            }
            found.promo.push(m);
        } else if block.shop_wording(p.start) {
            site_promo.push(m);
        }
    }
    found
}

/// Gives every offer the product's promotional wording, and its percent
/// badge when it has none.
fn attach_promo(offers: &mut [ExtractedOffer], found: &BlockPromo) {
    if offers.is_empty() {
        return;
    }
    // A page of one product (or of variants at one price).
    let single = offers.len() == 1
        || offers
            .windows(2)
            .all(|w| w[0].name == w[1].name && w[0].price == w[1].price);
    for o in offers.iter_mut() {
        o.promo.extend(found.promo.iter().cloned());
        if o.percent_badge.is_none() && o.price.is_some() {
            o.percent_badge = badge_for(o, &found.badges, single);
        }
    }
}

/// Holds structured offers to what the product block displays: the
/// displayed price wins, and a former price the structured data leaves out
/// is read beside the displayed price. Only for a page of one product (or
/// of variants at one price): the block shows one price.
fn reconcile_with_block(offers: &mut [ExtractedOffer], block: &ProductBlock) {
    let one_price = offers.windows(2).all(|w| w[0].price == w[1].price);
    let Some(price) = offers.first().and_then(|o| o.price) else {
        return;
    };
    if !one_price || block.region.is_none() {
        return;
    }
    let source = offers[0]
        .source
        .map(|s| s.as_str())
        .unwrap_or("structured data");
    if let Some(shown) = block
        .current(Some(price))
        .filter(|r| r.amount == price)
        .copied()
    {
        // The block shows the structured price: complete the former price.
        if let Some((r, kind)) = block.former_beside(&shown) {
            for o in offers.iter_mut() {
                match o.reference_price {
                    None => {
                        o.reference_price = Some(r);
                        o.reference_kind = Some(kind);
                        o.reference_source = Some(Source::ProductBlock);
                    }
                    Some(own) if own != r => o.warnings.push(format!(
                        "{source} gives the former price {own}, the product block shows {r}"
                    )),
                    Some(_) => {}
                }
            }
        }
        return;
    }
    if let Some(lower) = block.struck_with_current(price) {
        // Stale structured data: its price is the one the page shows
        // crossed out next to the price to pay.
        for o in offers.iter_mut() {
            o.warnings.push(format!(
                "{source} says {price}, which the page shows crossed out (a former price); the displayed price {lower} is used"
            ));
            o.price = Some(lower);
            o.reference_price = Some(price);
            o.reference_kind = Some(ReferenceKind::Strikethrough);
            o.reference_source = Some(Source::ProductBlock);
        }
        return;
    }
    match block.current(None).copied() {
        Some(shown) if shown.priced && shown.amount.currency == price.currency => {
            // The page displays another price: what a shopper pays wins.
            let former = block.former_beside(&shown);
            for o in offers.iter_mut() {
                o.warnings.push(format!(
                    "{source} says {price}, the product block displays {}; the displayed price is used",
                    shown.amount
                ));
                o.price = Some(shown.amount);
                o.source = Some(Source::ProductBlock);
                let keep = o.reference_price.is_some_and(|r| {
                    r.minor > shown.amount.minor && former.is_none_or(|(f, _)| f == r)
                });
                if !keep {
                    o.reference_price = former.map(|(r, _)| r);
                    o.reference_kind = former.map(|(_, k)| k);
                    o.reference_source = former.map(|_| Source::ProductBlock);
                }
            }
        }
        _ => {
            for o in offers.iter_mut() {
                o.warnings.push(format!(
                    "{source} says {price}, which the product block does not display"
                ));
            }
        }
    }
}

/// An offer read from the product block alone, for a page without
/// structured data: its title, its byline's brand, the price it displays
/// and the former price beside it. A page whose block shows no price (a
/// listing, whose cards are excluded) gives nothing.
fn buy_box_offer(html: &str, block: &ProductBlock, page_url: &Url) -> Option<ExtractedOffer> {
    let name = block.title_text(html)?;
    // A block showing many prices is a listing, not one product.
    let mut amounts: Vec<_> = block
        .readings
        .iter()
        .filter(|r| r.role == block::Role::Current)
        .map(|r| r.amount)
        .collect();
    amounts.sort_by_key(|m| m.minor);
    amounts.dedup();
    if amounts.len() > 3 {
        return None;
    }
    let shown = block.current(None)?;
    let former = block.former_beside(shown);
    Some(ExtractedOffer {
        name: Some(name),
        brand: block.byline_brand(html),
        url: Some(page_url.to_string()),
        price: Some(shown.amount),
        reference_price: former.map(|(r, _)| r),
        reference_kind: former.map(|(_, k)| k),
        reference_source: former.map(|_| Source::BuyBox),
        source: Some(Source::BuyBox),
        warnings: vec![
            "read from the product block's markup (no structured data): add selectors for this shop to be sure"
                .into(),
        ],
        ..Default::default()
    })
}

/// The percent badge of the page that belongs to an offer: one that states
/// the offer's own reduction from its crossed-out price (to the point, as
/// shops round), else, on a page of one product, the first badge that
/// stands alone as a label. A "jusqu'à -40 %" banner or a newsletter's
/// "-10 % sur votre première commande" is nobody's badge.
fn badge_for(o: &ExtractedOffer, badges: &[(u32, bool)], single: bool) -> Option<u32> {
    if let (Some(p), Some(r)) = (o.price, o.reference_price)
        && p.currency == r.currency
        && r.minor > p.minor
    {
        let off = (r.minor - p.minor) as f64 * 100.0 / r.minor as f64;
        if let Some(&(n, _)) = badges
            .iter()
            .find(|(n, _)| (f64::from(*n) - off).abs() < 1.0)
        {
            return Some(n);
        }
    }
    if single {
        return badges.iter().find(|(_, alone)| *alone).map(|&(n, _)| n);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;

    #[test]
    fn collects_every_jsonld_block_and_nothing_else() {
        let html = r#"<html><head><script>var t = "application/ld+json";</script>
            <script type="application/ld+json">{"@type":"Product"}</script></head>
            <!-- <script type="application/ld+json">{"commented":1}</script> -->
            <body><SCRIPT id=x TYPE='application/ld+json; charset=utf-8'>[1,2]</SCRIPT>
            <div data-x="ld+json">no</div>
            <script type=application/ld+json>{"unquoted":true}</script>
            <script type="application/ld+json">{"unterminated":"#;
        assert_eq!(
            jsonld_blocks(html),
            vec![
                r#"{"@type":"Product"}"#,
                "[1,2]",
                r#"{"unquoted":true}"#,
                r#"{"unterminated":"#
            ]
        );
    }

    #[test]
    fn a_priceless_jsonld_offer_does_not_hide_a_microdata_price() {
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"Vase","brand":"X","offers":{"@type":"Offer"}}</script>
            <div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Vase</span><span itemprop="brand">X</span>
            <span itemprop="price" content="35.00"></span><meta itemprop="priceCurrency" content="EUR"></div>"#;
        let url = Url::parse("https://s.example/p").unwrap();
        let e = extract_page(html, &url, None, None, None);
        assert_eq!(e.offers.len(), 1);
        assert_eq!(e.offers[0].source, Some(Source::Microdata));
        assert_eq!(e.offers[0].price.map(|m| m.minor), Some(3500));
    }

    #[test]
    fn structured_data_showing_the_crossed_out_price_gives_way_to_the_page() {
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"Moulin","brand":"X",
            "offers":{"@type":"Offer","price":"59.00","priceCurrency":"EUR"}}</script>
            <div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Moulin</h1>
            <p><del>59,00 €</del> <span itemprop="price" content="49.00">49,00 €</span>
            <meta itemprop="priceCurrency" content="EUR"></p></div>"#;
        let url = Url::parse("https://s.example/p").unwrap();
        let e = extract_page(html, &url, None, None, None);
        assert_eq!(e.offers.len(), 1);
        let o = &e.offers[0];
        assert_eq!(o.price.map(|m| m.minor), Some(4900));
        assert_eq!(o.reference_price.map(|m| m.minor), Some(5900));
        assert!(
            o.warnings.iter().any(|w| w.contains("crossed out")),
            "{:?}",
            o.warnings
        );
    }

    #[test]
    fn visible_text_gives_one_product_not_a_listing() {
        let url = Url::parse("https://s.example/p").unwrap();
        let page = r#"<h1>Vase bleu</h1><p>Marque : Atelier Nord</p>
            <p class="price"><s>50 €</s> 40 €</p>"#;
        let e = extract_page(page, &url, Some(Currency::EUR), None, None);
        assert_eq!(e.offers.len(), 1);
        let o = &e.offers[0];
        assert_eq!(o.source, Some(Source::BuyBox));
        assert_eq!(o.name.as_deref(), Some("Vase bleu"));
        assert_eq!(o.brand.as_deref(), Some("Atelier Nord"));
        assert_eq!(o.price.map(|m| m.minor), Some(4000));
        assert_eq!(o.reference_price.map(|m| m.minor), Some(5000));
        let listing = r#"<main><h1>Vases</h1><ul>
            <li><span class="price">10 €</span></li><li><span class="price">12 €</span></li>
            <li><span class="price">14 €</span></li><li><span class="price">16 €</span></li>
            </ul></main>"#;
        let e = extract_page(listing, &url, Some(Currency::EUR), None, None);
        assert!(e.offers.is_empty(), "{:?}", e.offers);
    }

    #[test]
    fn a_badge_goes_to_the_variant_it_describes() {
        let eur = |m| Some(Money::new(m, Currency::EUR));
        let sale = ExtractedOffer {
            price: eur(11900),
            reference_price: eur(14900),
            ..Default::default()
        };
        let full = ExtractedOffer {
            price: eur(14900),
            ..Default::default()
        };
        let badges = [(40, false), (20, true)];
        assert_eq!(badge_for(&sale, &badges, false), Some(20));
        assert_eq!(badge_for(&full, &badges, false), None);
        assert_eq!(badge_for(&full, &badges, true), Some(20));
        assert_eq!(badge_for(&full, &[(10, false)], true), None);
    }

    #[test]
    fn the_scanner_finds_what_an_html_parser_finds() {
        let html = r#"<head><script type="application/ld+json">{"a":"<b>"}</script>
            <script type="text/javascript">var s = 1;</script></head><body>
            <script type="application/ld+json">{"b":2}</script></body>"#;
        let doc = scraper::Html::parse_document(html);
        let sel = scraper::Selector::parse(r#"script[type="application/ld+json"]"#).unwrap();
        let parsed: Vec<String> = doc.select(&sel).map(|e| e.text().collect()).collect();
        assert_eq!(jsonld_blocks(html), parsed);
    }
}
