//! The main product's block: where it is on the page, the amounts it
//! displays, the current price among them and the former price beside it.
//!
//! Built on the [`Outline`](super::region::Outline): amounts are read only
//! from elements of the product region that no excluded block holds. A
//! former price is the product's only when it sits in the current price's
//! own block (a few levels around the displayed price, never beyond the
//! region), crossed out, classed as an old price, or labelled as one
//! ("au lieu de", "Prix conseillé", "statt", "UVP", "was", "RRP"…).

use super::offer::ReferenceKind;
use super::price_text;
use super::region::{H1_BIT, Kind, Outline, flag, fold};
use crate::domain::{Currency, Money};

/// What an amount of the product block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A price to pay now.
    Current,
    /// A former, list or recommended price.
    Former(ReferenceKind),
    /// Not the public price (an instalment, a unit or member price, a
    /// shipping threshold, an eco-participation).
    Other,
}

/// One amount the product block displays.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// The element showing it.
    pub node: usize,
    /// Its byte offset on the page.
    pub start: usize,
    /// The amount.
    pub amount: Money,
    /// What it is.
    pub role: Role,
    /// Whether its element is classed as a price (not merely text with an amount).
    pub priced: bool,
    /// A former price by its class alone (`regular-price`): the current
    /// price when the block shows no other.
    pub weak: bool,
}

/// The main product's block of a page.
#[derive(Debug, Default)]
pub struct ProductBlock {
    /// The page's outline.
    pub outline: Outline,
    /// The region's element, when one was found.
    pub region: Option<usize>,
    /// The product title's element.
    pub title: Option<usize>,
    /// The amounts the region displays, in document order.
    pub readings: Vec<Reading>,
    /// Byte ranges of the badges on the product's picture, beside the region.
    pub badges: Vec<(usize, usize)>,
}

/// Labels that make an amount a former price, folded, with the kind.
const FORMER_LABELS: &[(&str, ReferenceKind)] = &[
    ("au lieu de", ReferenceKind::Previous),
    ("prix initial", ReferenceKind::Previous),
    ("ancien prix", ReferenceKind::Previous),
    ("prix d'origine", ReferenceKind::Previous),
    ("prix de reference", ReferenceKind::Previous),
    ("prix barre", ReferenceKind::Strikethrough),
    ("prix habituel", ReferenceKind::Previous),
    ("statt", ReferenceKind::Previous),
    ("vorher", ReferenceKind::Previous),
    ("ursprunglich", ReferenceKind::Previous),
    ("streichpreis", ReferenceKind::Strikethrough),
    ("was", ReferenceKind::Previous),
    ("previously", ReferenceKind::Previous),
    ("antes", ReferenceKind::Previous),
    ("precio anterior", ReferenceKind::Previous),
    ("prima", ReferenceKind::Previous),
    ("invece di", ReferenceKind::Previous),
    ("prezzo precedente", ReferenceKind::Previous),
    ("in plaats van", ReferenceKind::Previous),
    ("prix conseille", ReferenceKind::Recommended),
    ("prix public conseille", ReferenceKind::Recommended),
    ("pvc", ReferenceKind::Recommended),
    ("uvp", ReferenceKind::Recommended),
    ("rrp", ReferenceKind::Recommended),
    ("srp", ReferenceKind::Recommended),
    ("msrp", ReferenceKind::Recommended),
    ("pvp recomendado", ReferenceKind::Recommended),
    ("precio recomendado", ReferenceKind::Recommended),
    ("prezzo consigliato", ReferenceKind::Recommended),
    ("adviesprijs", ReferenceKind::Recommended),
    ("list price", ReferenceKind::List),
    ("listenpreis", ReferenceKind::List),
    ("prix catalogue", ReferenceKind::List),
    ("prezzo di listino", ReferenceKind::List),
];

/// Words before an amount that make it something else than the public price.
const OTHER_LABELS: &[&str] = &[
    "ou 2",
    "ou 3",
    "ou 4",
    "ou 10",
    "3 x",
    "4 x",
    "3x",
    "4x",
    "×",
    "dont",
    "soit",
    "membre",
    "member",
    "adherent",
    "fidelite",
    "club",
    "livraison",
    "shipping",
    "delivery",
    "versand",
    "eco-part",
    "ecopart",
    "eco-participation",
    "ecotaxe",
    "mensualit",
    "par mois",
    "/mois",
    "per month",
    "carte cadeau",
    "bon d'achat",
    "economisez",
    "vous economisez",
    "you save",
    "sie sparen",
    "risparmi",
    "ahorra",
    "2 pour",
    "3 pour",
    "2 for",
    "pour 2",
    "le lot",
];

/// Words after an amount that make it something else than the public price.
const OTHER_SUFFIXES: &[&str] = &[
    "/kg",
    "/g",
    "/l",
    "/m",
    "/cl",
    "/ml",
    "le kg",
    "le litre",
    "/100",
    "par mois",
    "/mois",
    "/unite",
    "/piece",
    "/pc",
    "per kg",
    "pro kg",
    "al kg",
    "/stk",
    "per month",
    "/month",
    "au kg",
    "au litre",
    "/lb",
    "/oz",
    "each",
];

fn kind_of_label(folded: &str) -> Option<ReferenceKind> {
    FORMER_LABELS
        .iter()
        .filter(|(l, _)| ends_with_word(folded, l) || starts_with_word(folded, l))
        .map(|(_, k)| *k)
        .next()
}

fn ends_with_word(hay: &str, w: &str) -> bool {
    let h = hay.trim_end_matches(|c: char| c == ':' || c == '.' || c.is_whitespace());
    h.ends_with(w)
        && h[..h.len() - w.len()]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
}

fn starts_with_word(hay: &str, w: &str) -> bool {
    let h = hay.trim_start();
    h.starts_with(w)
        && h[w.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
}

/// The kind a class names (`uvp`, `rrp`, `msrp`, `retail` → recommended; `list` → list).
fn kind_of_class(tag: &str) -> ReferenceKind {
    let t = tag.to_ascii_lowercase();
    if ["uvp", "rrp", "msrp", "retail", "conseill", "recommend"]
        .iter()
        .any(|w| t.contains(w))
    {
        ReferenceKind::Recommended
    } else if t.contains("list") {
        ReferenceKind::List
    } else {
        ReferenceKind::Strikethrough
    }
}

impl ProductBlock {
    /// Locates the main product's block of a page. `name` and `price` are
    /// what its structured data says, when it has some.
    pub fn locate(
        html: &str,
        name: Option<&str>,
        price: Option<Money>,
        currency: Option<Currency>,
    ) -> ProductBlock {
        let outline = Outline::read(html);
        let mut block = ProductBlock {
            outline,
            ..Default::default()
        };
        let o = &block.outline;
        let visible = |k: usize| !o.nodes[k].excluded;
        // The title: an <h1> outside every excluded block; the one naming
        // the structured product when there are several.
        let h1s: Vec<usize> = (0..o.nodes.len())
            .filter(|&k| o.nodes[k].kind == Kind::H1 && visible(k))
            // A title is short; a hostile page's thousands of headings are not read.
            .filter(|&k| o.nodes[k].end - o.nodes[k].open_end <= 4000)
            .take(16)
            .filter(|&k| !o.text(html, k).is_empty())
            .collect();
        let wanted = name.map(|n| fold(n.as_bytes()));
        let title = match (h1s.len(), &wanted) {
            (0, _) => None,
            (1, _) | (_, None) => h1s.first().copied(),
            (_, Some(w)) => h1s
                .iter()
                .copied()
                .find(|&k| {
                    let t = fold(o.text(html, k).as_bytes());
                    !t.is_empty() && (w.contains(&t) || t.contains(w.as_str()))
                })
                .or_else(|| h1s.first().copied()),
        };
        // Every amount shown outside excluded blocks.
        let mut readings = Vec::new();
        for k in 1..o.nodes.len() {
            let n = o.nodes[k];
            // Elements showing an amount, classed as a price, or crossed
            // out (an amount split over child spans has no amount of its own).
            if n.excluded
                || n.flags & (flag::MONEY | flag::PRICE | flag::OLD | flag::STRUCK) == 0
                || n.end - n.open_end > 3000
            {
                continue;
            }
            if let Some(r) = block.reading(html, k, currency) {
                readings.push(r);
            }
        }
        let o = &block.outline;
        // The displayed current price: the structured price where shown, else
        // the first price after the title.
        let after_title = |r: &&Reading| title.is_none_or(|t| r.start >= o.nodes[t].start as usize);
        let current = readings
            .iter()
            .filter(|r| r.role == Role::Current)
            .filter(|r| price.is_none_or(|p| r.amount == p))
            .find(after_title)
            .or_else(|| {
                readings
                    .iter()
                    .filter(|r| price.is_some_and(|p| r.amount == p))
                    .find(after_title)
            })
            .or_else(|| {
                readings
                    .iter()
                    .filter(|r| r.role == Role::Current && r.priced)
                    .find(after_title)
            })
            .or_else(|| readings.iter().filter(|r| r.weak).find(after_title))
            .map(|r| r.node);
        // The buy action nearest the title.
        let buy = (0..o.nodes.len())
            .filter(|&k| o.nodes[k].flags & flag::BUY != 0 && visible(k))
            .min_by_key(|&k| {
                let anchor = title.or(current).map_or(0, |a| o.nodes[a].start as i64);
                (o.nodes[k].start as i64 - anchor).abs()
            });
        let anchors: Vec<usize> = [title, current, buy].into_iter().flatten().collect();
        let region = match anchors.as_slice() {
            [] => None,
            [one] => o.ancestors(*one).nth(1).or(Some(*one)),
            [first, rest @ ..] => rest.iter().try_fold(*first, |acc, &k| o.common(acc, k)),
        };
        // Badges on the product's picture ("-20 %", "Promo !") sit beside
        // the region, in its parent or grandparent: short, priceless.
        if let Some(g) = region {
            let outer = o.ancestors(g).take(2).last().unwrap_or(g);
            let (lo, hi) = (o.nodes[outer].start, o.nodes[outer].end);
            block.badges = (0..o.nodes.len())
                .filter(|&k| {
                    let n = o.nodes[k];
                    n.start >= lo
                        && n.end <= hi
                        && !o.contains(g, k)
                        && !n.excluded
                        && n.flags & flag::BADGE != 0
                        && n.sub & (flag::MONEY | flag::PRICE | flag::LINK | H1_BIT) == 0
                        && n.end - n.open_end < 200
                })
                .map(|k| (o.nodes[k].open_end as usize, o.nodes[k].end as usize))
                .collect();
        }
        block.region = region;
        block.title = title;
        block.readings = readings
            .into_iter()
            .filter(|r| region.is_some_and(|g| o.contains(g, r.node)))
            .collect();
        block
    }

    /// Reads the amount an element shows, if it shows exactly one.
    fn reading(&self, html: &str, k: usize, currency: Option<Currency>) -> Option<Reading> {
        let o = &self.outline;
        let n = o.nodes[k];
        // Its children price elements are read on their own.
        let mut text = o.text(html, k);
        if text.is_empty() || text.len() > 200 {
            return None;
        }
        let parsed = match price_text::parse_price(&text, currency) {
            Ok(p) => p,
            // Without its crossed-out part: "49 € <del>59 €</del>".
            Err(_) if n.flags & (flag::STRUCK | flag::OLD) == 0 => {
                text = o.text_without(html, k, flag::STRUCK | flag::OLD);
                match price_text::parse_price(&text, currency) {
                    Ok(p) => p,
                    // Its own text alone: "11,90 € <small>(47,60 € / kg)</small>".
                    Err(_) if n.flags & flag::MONEY != 0 => {
                        text = o.own_text(html, k);
                        price_text::parse_price(&text, currency).ok()?
                    }
                    Err(_) => return None,
                }
            }
            Err(_) => return None,
        };
        let amount = parsed.amount;
        let folded = fold(text.as_bytes());
        let mut ancestors = std::iter::once(k).chain(o.ancestors(k)).take(4);
        let struck_by = ancestors.find(|&a| o.nodes[a].flags & (flag::STRUCK | flag::OLD) != 0);
        let not_public = std::iter::once(k)
            .chain(o.ancestors(k))
            .take(3)
            .any(|a| o.nodes[a].flags & flag::NOT_PUBLIC != 0);
        // The words just before the element, within its parent.
        let before = if n.parent != u32::MAX {
            let p = o.nodes[n.parent as usize];
            let from = (n.start as usize)
                .saturating_sub(160)
                .max(p.open_end as usize);
            let mut from = from;
            while !html.is_char_boundary(from) {
                from += 1;
            }
            let raw = &html[from..n.start as usize];
            let plain = strip_tags(raw);
            fold(plain.as_bytes())
        } else {
            String::new()
        };
        let digits_at = folded.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        let own_prefix = &folded[..digits_at];
        let own_suffix = &folded[folded
            .rfind(|c: char| c.is_ascii_digit())
            .map_or(folded.len(), |i| i + 1)..];
        let label = kind_of_label(own_prefix).or_else(|| kind_of_label(&before));
        let other = OTHER_LABELS
            .iter()
            .any(|l| own_prefix.contains(l) || last_words(&before, 24).contains(l))
            || {
                let tail: String = own_suffix.chars().filter(|c| !c.is_whitespace()).collect();
                OTHER_SUFFIXES.iter().any(|s| {
                    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                    tail.contains(&s)
                })
            }
            || not_public;
        let mut weak = false;
        let role = if let Some(kind) = label {
            Role::Former(kind)
        } else if let Some(a) = struck_by {
            let tag = &html[o.nodes[a].start as usize..o.nodes[a].open_end as usize];
            weak = o.nodes[a].flags & flag::STRUCK == 0 && !other;
            Role::Former(kind_of_class(tag))
        } else if other || parsed.range_max.is_some() {
            Role::Other
        } else {
            Role::Current
        };
        let priced = std::iter::once(k)
            .chain(o.ancestors(k))
            .take(3)
            .any(|a| o.nodes[a].flags & flag::PRICE != 0);
        Some(Reading {
            node: k,
            start: n.start as usize,
            amount,
            role,
            priced,
            weak,
        })
    }

    /// The displayed current price: the structured one where the block
    /// shows it, else the first current price after the title.
    pub fn current(&self, structured: Option<Money>) -> Option<&Reading> {
        let o = &self.outline;
        let after_title = |r: &&Reading| {
            self.title
                .is_none_or(|t| r.start >= o.nodes[t].start as usize)
        };
        let any_current = self.readings.iter().any(|r| r.role == Role::Current);
        let cur = || {
            self.readings
                .iter()
                .filter(move |r| r.role == Role::Current || (!any_current && r.weak))
        };
        match structured {
            Some(p) => cur()
                .filter(|r| r.amount == p)
                .find(after_title)
                .or_else(|| cur().find(|r| r.amount == p)),
            None => cur()
                .filter(|r| r.priced)
                .find(after_title)
                .or_else(|| cur().find(after_title)),
        }
    }

    /// The former price beside a displayed price: in the price's own block
    /// (its fourth ancestor at most, never beyond the region), above it,
    /// the nearest to it.
    pub fn former_beside(&self, price: &Reading) -> Option<(Money, ReferenceKind)> {
        let o = &self.outline;
        let region = self.region?;
        let mut scope = price.node;
        for a in o.ancestors(price.node).take(4) {
            scope = a;
            if a == region {
                break;
            }
        }
        if !o.contains(region, scope) {
            scope = region;
        }
        self.readings
            .iter()
            .filter_map(|r| match r.role {
                Role::Former(kind)
                    if o.contains(scope, r.node)
                        && r.amount.currency == price.amount.currency
                        && r.amount.minor > price.amount.minor
                        && r.amount.minor <= price.amount.minor.saturating_mul(10) =>
                {
                    Some((r, kind))
                }
                _ => None,
            })
            .min_by_key(|(r, _)| (r.start as i64 - price.start as i64).abs())
            .map(|(r, k)| (r.amount, k))
    }

    /// A displayed price shown crossed out (or as a former price) in the
    /// block, with a lower current price beside it: structured data that
    /// states the former price as the price.
    pub fn struck_with_current(&self, amount: Money) -> Option<Money> {
        let o = &self.outline;
        let struck = self
            .readings
            .iter()
            .find(|r| matches!(r.role, Role::Former(_)) && r.amount == amount)?;
        let mut scope = struck.node;
        for a in o.ancestors(struck.node).take(3) {
            scope = a;
            if Some(a) == self.region {
                break;
            }
        }
        self.readings
            .iter()
            .filter(|r| {
                r.role == Role::Current
                    && o.contains(scope, r.node)
                    && r.amount.currency == amount.currency
                    && r.amount.minor < amount.minor
            })
            .min_by_key(|r| (r.start as i64 - struck.start as i64).abs())
            .map(|r| r.amount)
    }

    /// Whether a byte offset of the page lies in the product's own block.
    pub fn holds(&self, offset: usize) -> bool {
        let Some(g) = self.region else { return false };
        if self.badges.iter().any(|&(s, e)| s <= offset && offset < e) {
            return true;
        }
        let o = &self.outline;
        let r = o.nodes[g];
        if offset < r.start as usize || offset >= r.end as usize {
            return false;
        }
        o.at(offset).is_some_and(|k| !o.nodes[k].excluded)
    }

    /// Whether wording at a byte offset is the shop's: shown to shoppers,
    /// and not in shoppers' own words (reviews).
    pub fn shop_wording(&self, offset: usize) -> bool {
        self.outline
            .at(offset)
            .is_none_or(|k| !self.outline.nodes[k].ugc && !self.outline.nodes[k].hidden)
    }

    /// The title's text.
    pub fn title_text(&self, html: &str) -> Option<String> {
        let t = self.outline.text(html, self.title?);
        (!t.is_empty() && t.chars().count() <= 300).then_some(t)
    }

    /// The brand the block names: a byline ("Visiter la boutique X",
    /// "Visit the X Store", "Marque : X", "Brand: X", "Marke: X") in the
    /// region or beside the title.
    pub fn byline_brand(&self, html: &str) -> Option<String> {
        let o = &self.outline;
        let region = self.region?;
        let r = o.nodes[region];
        let lo = self
            .title
            .map_or(r.start, |t| o.nodes[t].start.min(r.start));
        let hi = r.end;
        for k in 0..o.nodes.len() {
            let n = o.nodes[k];
            if n.start < lo || n.end > hi || n.excluded || n.end - n.open_end > 400 {
                continue;
            }
            let tag = html[n.start as usize..n.open_end as usize].to_ascii_lowercase();
            let named = ["byline", "brand", "marque", "vendor", "manufacturer"]
                .iter()
                .any(|w| tag.contains(w));
            let text = o.text(html, k);
            if let Some(b) = brand_from_text(&text, named) {
                return Some(b);
            }
        }
        None
    }
}

/// The brand in a byline's text.
fn brand_from_text(text: &str, named: bool) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 80 {
        return None;
    }
    let lower = t.to_lowercase();
    let prefixes = [
        "visiter la boutique ",
        "visitez la boutique ",
        "visit the ",
        "besuchen sie den ",
        "visita lo store di ",
        "visita la tienda de ",
    ];
    for p in prefixes {
        if lower.starts_with(p) {
            // Lower-casing may change byte lengths: slice only where `t` allows.
            let Some(rest) = t.get(p.len()..) else {
                continue;
            };
            let rest = rest
                .strip_suffix(" Store")
                .or_else(|| rest.strip_suffix("-Store"))
                .or_else(|| rest.strip_suffix(" store"))
                .unwrap_or(rest)
                .trim();
            return (!rest.is_empty()).then(|| rest.to_string());
        }
    }
    for label in [
        "marque",
        "brand",
        "marke",
        "marca",
        "merk",
        "fabricant",
        "hersteller",
        "créateur",
        "créatrice",
        "designer",
    ] {
        if lower.starts_with(label) {
            let Some(rest) = t.get(label.len()..).map(str::trim_start) else {
                continue;
            };
            if let Some(v) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
                let v = v.trim();
                if !v.is_empty() && v.chars().count() <= 60 && !v.contains(':') {
                    return Some(v.to_string());
                }
            }
        }
    }
    if named && (lower.starts_with("by ") || lower.starts_with("par ") || lower.starts_with("von "))
    {
        let v = t.get(3..)?.trim_start_matches(' ').trim();
        let v = v.strip_prefix("r ").unwrap_or(v).trim();
        return (!v.is_empty() && v.chars().count() <= 60).then(|| v.to_string());
    }
    None
}

fn last_words(s: &str, n: usize) -> &str {
    let mut from = s.len().saturating_sub(n);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    &s[from..]
}

fn strip_tags(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    // A '>' at the start closes a tag cut by the window.
    if let Some(gt) = rest.find('>')
        && !rest[..gt].contains('<')
    {
        rest = &rest[gt + 1..];
    }
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        rest = rest[lt..].find('>').map_or("", |g| &rest[lt + g + 1..]);
    }
    out.push_str(rest);
    html_escape::decode_html_entities(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::super::{Source, extract_page};
    use crate::domain::Currency;
    use crate::extract::ReferenceKind;

    fn read(body: &str) -> crate::extract::PageExtraction {
        let page = format!(
            r#"<!DOCTYPE html><html><head><title>Boutique</title>
            <script type="application/ld+json">{{"@type":"Product","name":"Pull mérinos","brand":"Alba","sku":"A1",
            "offers":{{"@type":"Offer","price":"89.00","priceCurrency":"EUR"}}}}</script></head>
            <body><header class="top"><div class="promo-strip">SOLDES jusqu'à -50 %</div><nav><a href="/">Accueil</a></nav></header>
            <main>{body}</main><footer><p>Livraison offerte dès 60 €</p></footer></body></html>"#
        );
        let url = Url::parse("https://s.example/p/pull").unwrap();
        extract_page(&page, &url, Some(Currency::EUR), None, None)
    }

    const CARDS: &str = r#"<section><h2>Vous aimerez aussi</h2><ul>
        <li><a href="/p/a">Bonnet</a><p><del>59,00 €</del> <span>47,00 €</span> <span>-20 %</span></p></li>
        <li><a href="/p/b">Écharpe</a><p><del>99,00 €</del> <span>89,00 €</span> <span>-10 %</span></p></li>
        <li><a href="/p/c">Gants</a><p>29,00 €</p></li></ul></section>"#;

    #[test]
    fn a_regular_price_product_keeps_none_of_its_carousels_former_prices_or_badges() {
        let e = read(&format!(
            r#"<div class="product"><h1>Pull mérinos</h1><p class="price">89,00 €</p>
            <p>ou 3 × 29,67 € sans frais</p><form action="/cart/add"><button name="add">Ajouter au panier</button></form></div>{CARDS}"#
        ));
        assert_eq!(e.offers.len(), 1);
        let o = &e.offers[0];
        assert_eq!(o.price.map(|m| m.minor), Some(8900));
        assert_eq!(o.reference_price, None, "{:?}", o.warnings);
        assert_eq!(o.percent_badge, None);
        assert!(o.promo.is_empty(), "{:?}", o.promo);
        // The header's banner is the shop's wording.
        assert!(
            e.site_promo
                .iter()
                .any(|p| p.class == crate::domain::PromoClass::Soldes),
            "{:?}",
            e.site_promo
        );
    }

    #[test]
    fn a_carousel_without_any_class_or_heading_is_still_other_products() {
        let e = read(
            r#"<div><h1>Pull mérinos</h1><span>89,00 €</span><button>Ajouter au panier</button></div>
            <div><div><a href="/p/a">Bonnet</a> <s>59,00 €</s> 47,00 €</div>
            <div><a href="/p/b">Écharpe</a> <s>99,00 €</s> 89,00 €</div></div>"#,
        );
        assert_eq!(e.offers[0].reference_price, None);
    }

    #[test]
    fn a_former_price_only_in_the_markup_beside_the_price_is_read_with_its_kind() {
        for (markup, kind) in [
            (
                r#"<p><span class="price">89,00 €</span> au lieu de <span>119,00 €</span></p>"#,
                ReferenceKind::Previous,
            ),
            (
                r#"<p><del>119,00 €</del> <ins>89,00 €</ins></p>"#,
                ReferenceKind::Strikethrough,
            ),
            (
                r#"<p>Prix conseillé : <span>119,00 €</span></p><p class="price">89,00 €</p>"#,
                ReferenceKind::Recommended,
            ),
            (
                r#"<div class="prices"><span class="price price--old">119,00 €</span><span class="price">89,00 €</span></div>"#,
                ReferenceKind::Strikethrough,
            ),
            (
                r#"<p><span style="text-decoration: line-through">119,00 €</span> 89,00 €</p>"#,
                ReferenceKind::Strikethrough,
            ),
        ] {
            let e = read(&format!(
                r#"<div class="product"><h1>Pull mérinos</h1>{markup}<button name="add">Ajouter au panier</button></div>{CARDS}"#
            ));
            let o = &e.offers[0];
            assert_eq!(o.price.map(|m| m.minor), Some(8900), "{markup}");
            assert_eq!(
                o.reference_price.map(|m| m.minor),
                Some(11900),
                "{markup}: {:?}",
                o.warnings
            );
            assert_eq!(o.reference_kind, Some(kind), "{markup}");
            assert_eq!(o.reference_source, Some(Source::ProductBlock), "{markup}");
        }
    }

    #[test]
    fn hidden_variants_reviews_and_member_prices_give_no_former_price() {
        let e = read(
            r#"<div class="product"><h1>Pull mérinos</h1><p class="price">89,00 €</p>
            <template><p><del>129,00 €</del> 99,00 €</p></template>
            <p style="display:none"><del>109,00 €</del></p>
            <p class="member-price">Prix membre 79,00 €</p>
            <button name="add">Ajouter au panier</button>
            <div class="reviews"><p>Acheté 70 € au lieu de 95 € pendant les soldes !</p></div></div>"#,
        );
        let o = &e.offers[0];
        assert_eq!(o.price.map(|m| m.minor), Some(8900));
        assert_eq!(o.reference_price, None);
        // A review's words are no one's wording.
        assert!(o.promo.is_empty(), "{:?}", o.promo);
        assert!(
            !e.site_promo.iter().any(|p| p.text.contains("au lieu")),
            "{:?}",
            e.site_promo
        );
    }

    #[test]
    fn stale_structured_data_gives_way_to_the_displayed_price() {
        let e = read(
            r#"<div class="product"><h1>Pull mérinos</h1><p class="price"><s>89,00 €</s> <b>69,00 €</b></p>
            <button name="add">Ajouter au panier</button></div>"#,
        );
        let o = &e.offers[0];
        assert_eq!(o.price.map(|m| m.minor), Some(6900));
        assert_eq!(o.reference_price.map(|m| m.minor), Some(8900));
    }

    /// The product block's price is 89,00 € and its crossed-out former
    /// price 119,00 €, read from the block.
    fn assert_reads_89_against_119(e: &crate::extract::PageExtraction) {
        assert_eq!(e.offers.len(), 1, "{:?}", e.offers);
        let o = &e.offers[0];
        assert_eq!(
            (o.price.map(|m| m.minor), o.reference_price.map(|m| m.minor)),
            (Some(8900), Some(11900)),
            "{:?}",
            o.warnings
        );
        assert_eq!(o.reference_source, Some(Source::ProductBlock));
    }

    #[test]
    fn unlike_neighbours_with_links_and_amounts_are_not_taken_for_cards() {
        let e = read(
            r#"<div class="product"><h1>Pull mérinos</h1><div class="info">
            <div class="price-line"><del>119,00 €</del> <span class="price">89,00 €</span> <a href="/guide">Guide des tailles</a></div>
            <div class="shipping"><a href="/livraison">Livraison</a> offerte dès 60 €</div></div>
            <button name="add">Ajouter au panier</button></div>"#,
        );
        assert_reads_89_against_119(&e);
    }

    #[test]
    fn a_magento_old_price_is_read_by_its_price_type() {
        let e = read(
            r#"<div class="product-info-main"><h1>Pull mérinos</h1><div class="price-box">
            <span class="special-price"><span class="price-container"><span data-price-type="finalPrice" class="price-wrapper"><span class="price">89,00 €</span></span></span></span>
            <span class="old-price"><span class="price-container"><span data-price-type="oldPrice" class="price-wrapper"><span class="price">119,00 €</span></span></span></span>
            </div><button id="product-addtocart-button">Ajouter au panier</button></div>"#,
        );
        assert_reads_89_against_119(&e);
    }

    #[test]
    fn a_crossed_out_amount_split_over_spans_is_read() {
        let e = read(
            r#"<div class="product"><h1>Pull mérinos</h1>
            <p><del><span>119</span><span>,00</span> €</del> <span class="price">89,00 €</span></p>
            <button name="add">Ajouter au panier</button></div>"#,
        );
        assert_reads_89_against_119(&e);
    }

    #[test]
    fn a_byline_whose_lower_case_changes_length_does_not_panic() {
        // The Kelvin sign lower-cases to an ASCII "k".
        for t in [
            "MAR\u{212A}E: Alba",
            "\u{212A}by x",
            "VISIT THE \u{212A} STORE",
        ] {
            let _ = super::brand_from_text(t, true);
        }
        assert_eq!(
            super::brand_from_text("Marque : Alba", false).as_deref(),
            Some("Alba")
        );
    }

    #[test]
    fn a_listing_with_a_title_gives_no_product() {
        let url = Url::parse("https://s.example/c/pulls").unwrap();
        let page = r#"<html><body><main><h1>Pulls</h1><ul>
            <li><a href="/p/a">A</a> <span class="price">10 €</span></li>
            <li><a href="/p/b">B</a> <span class="price">12 €</span></li>
            <li><a href="/p/c">C</a> <span class="price">14 €</span></li></ul></main></body></html>"#;
        let e = extract_page(page, &url, Some(Currency::EUR), None, None);
        assert!(e.offers.is_empty(), "{:?}", e.offers);
    }

    #[test]
    fn hostile_nesting_is_read_in_time_without_a_region() {
        let mut page = String::new();
        for _ in 0..20_000 {
            page.push_str("<div><h1><span class=price>1 €");
        }
        for _ in 0..20_000 {
            page.push_str("</b></i>");
        }
        let url = Url::parse("https://s.example/p").unwrap();
        let e = extract_page(&page, &url, Some(Currency::EUR), None, None);
        assert!(e.offers.len() <= 1);
    }
}
