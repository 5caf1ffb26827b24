//! The page's outline, read in one streaming pass, and the main product's
//! region in it.
//!
//! A byte scanner walks the page once and records every element (its byte
//! span, its parent, a few flags read from its start tag), closing the
//! elements HTML closes implicitly (`<p>`, `<li>`, table cells). No DOM is
//! built. From the outline:
//!
//! - **Excluded blocks**: `nav`, `aside`, dialogs, `template`, `noscript`,
//!   a site `header`/`footer`, hidden elements, blocks whose class, id or
//!   aria-label says related / recommended / recently viewed / complete the
//!   look / bundle / sponsored / reviews / newsletter / sticky bar, blocks
//!   under a heading that says so ("Vous aimerez aussi"…), and repeated card
//!   lists (siblings that each link to another page and show a price).
//! - **The product region**: the smallest element holding the product's
//!   title (`<h1>`), its displayed price and its buy action.
//!
//! A price, a former price, a badge or a promotion word counts for the
//! product only inside that region and outside every excluded block.

use super::promo_text::{
    hiding_marks, is_hidden_attrs, shopify_price_on_sale, tag_attributes, tag_attributes_into,
};

/// No parent.
const NONE: u32 = u32::MAX;

/// The element kinds the analysis tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `<h1>`.
    H1,
    /// `<h2>`–`<h6>`.
    Heading,
    /// `<a>`.
    A,
    /// `<del>`, `<s>`, `<strike>`.
    Struck,
    /// `<header>`.
    Header,
    /// `<footer>`.
    Footer,
    /// `<nav>`, `<aside>`, `<dialog>`, `<template>`, `<noscript>`.
    Away,
    /// `<main>`, `<article>`, `<section>`.
    Sectioning,
    /// `<form>`.
    Form,
    /// `<button>`, `<input>`.
    Button,
    /// `<p>`.
    P,
    /// `<li>`.
    Li,
    /// `<dt>`, `<dd>`.
    Dtd,
    /// `<tr>`.
    Tr,
    /// `<td>`, `<th>`.
    Cell,
    /// `<option>`.
    Option,
    /// `<ul>`, `<ol>`, `<dl>`, `<table>`: they bound implicit closes.
    ListRoot,
    /// Anything else.
    Other,
}

/// Start-tag flags.
pub mod flag {
    /// Hidden from a shopper (`hidden`, `display: none`…).
    pub const HIDDEN: u16 = 1;
    /// Not part of the product by its tag, class, id or label.
    pub const AWAY: u16 = 1 << 1;
    /// Reviews and other shoppers' words: neither the product's nor the shop's.
    pub const UGC: u16 = 1 << 2;
    /// Crossed out: `<del>`, `<s>`, `<strike>`, inline `line-through`.
    pub const STRUCK: u16 = 1 << 3;
    /// A class naming a former price (`old`, `was`, `compare`, `uvp`…).
    pub const OLD: u16 = 1 << 4;
    /// A class, id or itemprop naming a price.
    pub const PRICE: u16 = 1 << 5;
    /// A buy action (add-to-cart form or button).
    pub const BUY: u16 = 1 << 6;
    /// A link to another page.
    pub const LINK: u16 = 1 << 7;
    /// Its own text holds an amount with a currency.
    pub const MONEY: u16 = 1 << 8;
    /// A heading that introduces other products ("Vous aimerez aussi").
    pub const OTHERS_HEADING: u16 = 1 << 9;
    /// A class naming a member / loyalty / instalment / unit price.
    pub const NOT_PUBLIC: u16 = 1 << 10;
    /// A class naming a badge, flag or sticker (`onsale`, `product-flag`…).
    pub const BADGE: u16 = 1 << 11;
    /// A class or role naming a heading or a title (`section-title`).
    pub const TITLE_CLASS: u16 = 1 << 12;
}

/// One element of the page.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// Byte offset of its `<`.
    pub start: u32,
    /// Byte offset just past its start tag.
    pub open_end: u32,
    /// Byte offset just past its end (its end tag, or where it was closed).
    pub end: u32,
    /// Index of its parent, [`NONE`] at the top.
    pub parent: u32,
    /// Its kind.
    pub kind: Kind,
    /// Its own flags (see [`flag`]).
    pub flags: u16,
    /// Flags of its whole subtree (its own and its descendants').
    pub sub: u16,
    /// Excluded, by itself or by an ancestor.
    pub excluded: bool,
    /// Inside shoppers' words (reviews), by itself or by an ancestor.
    pub ugc: bool,
    /// Hidden from a shopper, by itself or by an ancestor.
    pub hidden: bool,
}

/// The outline of a page.
#[derive(Debug, Default)]
pub struct Outline {
    /// Elements in document order (a parent before its children).
    pub nodes: Vec<Node>,
}

fn kind_of(name: &[u8]) -> Kind {
    let mut buf = [0u8; 10];
    if name.len() > buf.len() {
        return Kind::Other;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    match &buf[..name.len()] {
        b"h1" => Kind::H1,
        b"h2" | b"h3" | b"h4" | b"h5" | b"h6" => Kind::Heading,
        b"a" => Kind::A,
        b"del" | b"s" | b"strike" => Kind::Struck,
        b"header" => Kind::Header,
        b"footer" => Kind::Footer,
        b"nav" | b"aside" | b"dialog" | b"template" | b"noscript" => Kind::Away,
        b"main" | b"article" | b"section" => Kind::Sectioning,
        b"form" => Kind::Form,
        b"button" | b"input" => Kind::Button,
        b"p" => Kind::P,
        b"li" => Kind::Li,
        b"dt" | b"dd" => Kind::Dtd,
        b"tr" => Kind::Tr,
        b"td" | b"th" => Kind::Cell,
        b"option" => Kind::Option,
        b"ul" | b"ol" | b"dl" | b"table" | b"tbody" | b"thead" | b"select" => Kind::ListRoot,
        _ => Kind::Other,
    }
}

fn is_void(name: &[u8]) -> bool {
    const VOID: [&[u8]; 14] = [
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
        b"source", b"track", b"wbr", b"param",
    ];
    VOID.iter().any(|v| v.eq_ignore_ascii_case(name))
}

fn is_raw_text(name: &[u8]) -> bool {
    [&b"script"[..], b"style", b"textarea", b"xmp"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(name))
}

/// Block-level start tags that close an open `<p>`.
fn closes_p(name: &[u8]) -> bool {
    const BLOCKS: [&[u8]; 22] = [
        b"div",
        b"p",
        b"ul",
        b"ol",
        b"dl",
        b"table",
        b"section",
        b"article",
        b"aside",
        b"header",
        b"footer",
        b"nav",
        b"main",
        b"form",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"figure",
        b"blockquote",
    ];
    BLOCKS.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// Words of a class, id or label that put a block away from the product.
const AWAY_WORDS: &[&str] = &[
    "related",
    "recommend",
    "similar",
    "alsolike",
    "also-like",
    "also_like",
    "you-may",
    "youmay",
    "you_may",
    "may-also",
    "upsell",
    "up-sell",
    "cross-sell",
    "crosssell",
    "cross_sell",
    "recently",
    "recent-view",
    "recentlyviewed",
    "viewed",
    "complete-the-look",
    "complete-look",
    "completez",
    "complete_the_look",
    "shop-the-look",
    "shopthelook",
    "bundle",
    "frequently",
    "sponsored",
    "sponsor",
    "carousel",
    "newsletter",
    "popup",
    "modal",
    "announcement",
    "promo-bar",
    "promobar",
    "topbar",
    "top-bar",
    "banner",
    "cookie",
    "mega-menu",
    "megamenu",
    "breadcrumb",
    "mini-cart",
    "minicart",
    "cart-drawer",
    "site-header",
    "site-footer",
    "aussi-aime",
    "vous-aimerez",
    "accessor",
    "cross-selling",
    "crossselling",
];

/// Words of a class or id that name shoppers' words.
const UGC_WORDS: &[&str] = &[
    "review",
    "avis-client",
    "testimonial",
    "comment",
    "rating",
    "bewertung",
    "recension",
    "opinion",
];

/// Whole class tokens naming a former price.
const OLD_TOKENS: &[&str] = &[
    "old",
    "was",
    "compare",
    "compared",
    "strike",
    "striked",
    "strikethrough",
    "crossed",
    "before",
    "original",
    "retail",
    "regular",
    "uvp",
    "rrp",
    "msrp",
    "initial",
    "former",
    "previous",
    "ancien",
    "barre",
    "barrato",
    "anterior",
    "streichpreis",
    "oldprice",
    "regularprice-old",
    "text-price",
    "listprice",
];

/// Class tokens naming a price that is not the public one.
const NOT_PUBLIC_TOKENS: &[&str] = &[
    "member",
    "membre",
    "loyalty",
    "fidelite",
    "club",
    "installment",
    "installments",
    "instalment",
    "instalments",
    "klarna",
    "alma",
    "oney",
    "unit",
    "unitprice",
    "per-unit",
    "ecotax",
    "ecopart",
    "eco",
    "shipping",
    "livraison",
];

/// Headings (folded: lower case, no accents) that introduce other products.
const OTHERS_HEADINGS: &[&str] = &[
    "vous aimerez aussi",
    "vous aimerez peut-etre",
    "vous pourriez aussi aimer",
    "vous pourriez aimer",
    "nos clients ont aussi aime",
    "nos clients ont egalement",
    "les clients ont egalement",
    "les clients ayant consulte",
    "les clients qui ont",
    "completez le look",
    "completez votre look",
    "complete the look",
    "shop the look",
    "recemment consultes",
    "recemment vus",
    "vus recemment",
    "derniers produits consultes",
    "produits consultes",
    "recently viewed",
    "you may also like",
    "you might also like",
    "customers also",
    "customers who",
    "frequently bought",
    "frequemment achetes",
    "souvent achetes ensemble",
    "achetes ensemble",
    "produits similaires",
    "articles similaires",
    "similar products",
    "similar items",
    "related products",
    "produits associes",
    "sponsorise",
    "sponsored",
    "das konnte ihnen auch gefallen",
    "das koennte ihnen auch gefallen",
    "ahnliche produkte",
    "ahnliche artikel",
    "kunden kauften auch",
    "zuletzt angesehen",
    "potrebbe interessarti",
    "potrebbero interessarti",
    "prodotti correlati",
    "prodotti simili",
    "visti di recente",
    "tambien te puede gustar",
    "te puede interesar",
    "productos relacionados",
    "productos similares",
    "vistos recientemente",
    "avis clients",
    "avis des clients",
    "customer reviews",
    "kundenbewertungen",
    "recensioni",
    "opiniones",
    "dans la meme collection",
    "de la meme marque",
    "more from",
    "accessoires",
    "accessories",
];

static OTHERS_HEADINGS_AC: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| aho_corasick::AhoCorasick::new(OTHERS_HEADINGS).ok());

/// Stems (ASCII, any case) without which no heading introduces other
/// products: a cheap test before a heading's text is read and folded.
static HEADING_STEMS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "aussi",
                "also",
                "look",
                "consult",
                "viewed",
                "ensemble",
                "together",
                "simil",
                "related",
                "associ",
                "sponsor",
                "gefallen",
                "interess",
                "correlat",
                "gustar",
                "relacion",
                "recient",
                "angesehen",
                "kauften",
                "avis",
                "review",
                "bewert",
                "recension",
                "opinion",
                "collection",
                "marque",
                "more from",
                "accessor",
                "accessoir",
                "client",
                "customer",
                "vus",
                "visti",
                "vistos",
                "zuletzt",
                "hnlich",
                "recomm",
                "egalement",
                "également",
                "ayant",
                "peut-",
            ])
            .ok()
    });

/// Words of an add-to-cart action, in a class, id, name or form action.
const BUY_ATTR_WORDS: &[&str] = &[
    "add-to-cart",
    "addtocart",
    "add_to_cart",
    "add-to-bag",
    "addtobag",
    "add_to_bag",
    "add-to-basket",
    "addtobasket",
    "buy-now",
    "buynow",
    "buy-button",
    "product-form",
    "product_form",
    "/cart",
    "cart/add",
    "panier",
    "warenkorb",
    "carrello",
    "cesta",
    "tocart",
];

/// Words of a buy button's text (folded).
const BUY_TEXT_WORDS: &[&str] = &[
    "panier",
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "acheter",
    "warenkorb",
    "kaufen",
    "carrello",
    "acquista",
    "cesta",
    "comprar",
    "carrito",
    "commander",
];

/// Lower case, accents removed (for comparing words).
pub fn fold(t: &[u8]) -> String {
    if t.is_ascii() {
        // Safe to view as text: ASCII only.
        return String::from_utf8_lossy(t).to_ascii_lowercase();
    }
    let s = String::from_utf8_lossy(t);
    // deunicode also turns typographic apostrophes into "'".
    deunicode::deunicode(&s.to_lowercase())
}

fn contains_any(hay: &[u8], words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| memchr::memmem::find(hay, w.as_bytes()).is_some())
}

fn has_token(hay: &[u8], tokens: &[&str]) -> bool {
    hay.split(|c| !c.is_ascii_alphanumeric())
        .any(|t| !t.is_empty() && tokens.iter().any(|w| w.as_bytes() == t))
}

/// Whether a text segment shows an amount with a currency.
pub fn looks_like_money(t: &[u8]) -> bool {
    // A currency sign or code first (SIMD search), digits after.
    let sign = memchr::memchr3_iter(0xE2, 0xC2, b'$', t).any(|i| match t[i] {
        b'$' => true,
        0xE2 => t.get(i + 1..i + 3) == Some(&[0x82, 0xAC][..]),
        _ => t.get(i + 1) == Some(&0xA3),
    });
    let code = || {
        memchr::memchr3_iter(b'E', b'C', b'G', t)
            .any(|i| matches!(t.get(i..i + 3), Some(b"EUR" | b"CHF" | b"GBP")))
    };
    (sign || code()) && t.iter().any(u8::is_ascii_digit)
}

/// What a word found in a class, id or label says.
#[derive(Clone, Copy)]
enum Said {
    Away,
    Ugc,
    Price,
    Old,
    Badge,
    Buy,
    Title,
}

/// One automaton for every word an attribute value is searched for: an
/// attribute costs one pass, however many words there are.
static ATTR_WORDS: std::sync::LazyLock<Option<(aho_corasick::AhoCorasick, Vec<Said>)>> =
    std::sync::LazyLock::new(|| {
        let mut words: Vec<&str> = Vec::new();
        let mut said = Vec::new();
        let mut add = |list: &[&'static str], s: Said| {
            for w in list {
                words.push(w);
                said.push(s);
            }
        };
        add(AWAY_WORDS, Said::Away);
        add(UGC_WORDS, Said::Ugc);
        add(
            &[
                "price", "prix", "preis", "prezzo", "precio", "amount", "prijs",
            ],
            Said::Price,
        );
        add(
            &[
                "oldprice",
                "old-price",
                "old_price",
                "was-price",
                "wasprice",
                "compare-at",
                "compare_at",
                "compareat",
                "price--compare",
                "a-text-price",
                "strike",
                "list-price",
                "list_price",
                "listprice",
            ],
            Said::Old,
        );
        add(
            &[
                "badge", "flag", "onsale", "sticker", "ribbon", "discount", "promo", "sale",
            ],
            Said::Badge,
        );
        add(BUY_ATTR_WORDS, Said::Buy);
        add(&["title", "heading"], Said::Title);
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&words)
            .ok()
            .map(|ac| (ac, said))
    });

/// What the words of an attribute value say, as flags (`BUY` only for a
/// button or a form).
fn said_flags(v: &[u8], kind: Kind, all: bool) -> u16 {
    let Some((ac, said)) = ATTR_WORDS.as_ref() else {
        return 0;
    };
    let mut f = 0;
    for m in ac.find_iter(v) {
        f |= match said[m.pattern().as_usize()] {
            Said::Away => flag::AWAY,
            Said::Ugc => flag::AWAY | flag::UGC,
            Said::Price if all => flag::PRICE,
            Said::Old if all => flag::OLD,
            Said::Badge if all => flag::BADGE,
            Said::Title if all => flag::TITLE_CLASS,
            Said::Buy if matches!(kind, Kind::Button | Kind::Form) => flag::BUY,
            _ => 0,
        };
    }
    f
}

/// The flags a start tag gives its element.
fn tag_flags<'t>(
    tag: &'t [u8],
    kind: Kind,
    on_sale: bool,
    may_hide: bool,
    attrs: &mut Vec<(&'t [u8], &'t [u8])>,
) -> u16 {
    if !tag.iter().any(u8::is_ascii_whitespace) {
        return match kind {
            Kind::Struck => flag::STRUCK,
            Kind::Away => flag::AWAY,
            _ => 0,
        };
    }
    let mut f = 0;
    match kind {
        Kind::Struck => f |= flag::STRUCK,
        Kind::Away => f |= flag::AWAY,
        _ => {}
    }
    if !tag.iter().any(u8::is_ascii_whitespace) {
        return f;
    }
    attrs.clear();
    tag_attributes_into(tag, attrs);
    if may_hide && is_hidden_attrs(attrs, on_sale) {
        f |= flag::HIDDEN;
    }
    let mut lower = [0u8; 256];
    for &(name, value) in attrs.iter() {
        let n = value.len().min(lower.len());
        for (d, s) in lower.iter_mut().zip(&value[..n]) {
            *d = s.to_ascii_lowercase();
        }
        let v = &lower[..n];
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if is("class") || is("id") || is("data-testid") || is("data-test") {
            f |= said_flags(v, kind, true);
            if has_token(v, OLD_TOKENS) {
                f |= flag::OLD;
            }
            if has_token(v, NOT_PUBLIC_TOKENS) {
                f |= flag::NOT_PUBLIC;
            }
        } else if is("aria-label")
            || is("data-section-type")
            || is("data-component-type")
            || is("data-role")
        {
            f |= said_flags(v, kind, false);
        } else if is("data-price-type") {
            if v == b"oldprice" {
                f |= flag::OLD;
            }
        } else if is("itemprop") {
            if v == b"price" || v == b"lowprice" {
                f |= flag::PRICE;
            }
            if v == b"review" || v == b"reviews" {
                f |= flag::AWAY | flag::UGC;
            }
        } else if is("style") {
            if memchr::memmem::find(v, b"line-through").is_some() {
                f |= flag::STRUCK;
            }
        } else if is("role") {
            if v == b"dialog" || v == b"alertdialog" {
                f |= flag::AWAY;
            }
            if v == b"heading" {
                f |= flag::TITLE_CLASS;
            }
        } else if is("href") && kind == Kind::A {
            if !(v.is_empty() || v.starts_with(b"#") || v.starts_with(b"javascript:")) {
                f |= flag::LINK;
            }
        } else if is("action") && kind == Kind::Form {
            if contains_any(v, BUY_ATTR_WORDS) || contains_any(v, &["cart", "basket", "bag"]) {
                f |= flag::BUY;
            }
        } else if (is("name") || is("value") || is("data-action"))
            && kind == Kind::Button
            && (v == b"add" || contains_any(v, BUY_ATTR_WORDS))
        {
            f |= flag::BUY;
        }
    }
    f
}

/// The state of the one pass over a page: the elements so far and the
/// open ones.
struct Scan<'h> {
    b: &'h [u8],
    nodes: Vec<Node>,
    /// Open elements, the document first.
    stack: Vec<u32>,
    /// How many open ancestors are article/section (not main): a header or
    /// footer inside one is the section's, not the site's.
    sectioning_depth: usize,
    attr_buf: Vec<(&'h [u8], &'h [u8])>,
    /// Where a tag may hide its element (see [`hiding_marks`]), and the
    /// first not yet passed.
    marks: Vec<usize>,
    mark: usize,
    on_sale: bool,
}

impl<'h> Scan<'h> {
    fn new(b: &'h [u8]) -> Scan<'h> {
        let mut nodes: Vec<Node> = Vec::with_capacity(b.len() / 60);
        // The document itself: every top-level element's parent.
        nodes.push(Node {
            start: 0,
            open_end: 0,
            end: b.len() as u32,
            parent: NONE,
            kind: Kind::Other,
            flags: 0,
            sub: 0,
            excluded: false,
            ugc: false,
            hidden: false,
        });
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        stack.push(0);
        Scan {
            b,
            nodes,
            stack,
            sectioning_depth: 0,
            attr_buf: Vec::with_capacity(16),
            marks: hiding_marks(b),
            mark: 0,
            on_sale: shopify_price_on_sale(b),
        }
    }

    /// Walks the page and returns its elements, every one closed.
    fn run(mut self) -> Vec<Node> {
        let b = self.b;
        let mut i = 0;
        while i < b.len() {
            let Some(lt) = memchr::memchr(b'<', &b[i..]).map(|p| p + i) else {
                Outline::on_text(&mut self.nodes, &self.stack, &b[i..]);
                break;
            };
            if lt > i {
                Outline::on_text(&mut self.nodes, &self.stack, &b[i..lt]);
            }
            let rest = &b[lt..];
            let next = rest.get(1).copied().unwrap_or(b' ');
            if rest.starts_with(b"<!--") {
                i = memchr::memmem::find(&rest[4..], b"-->").map_or(b.len(), |p| lt + 4 + p + 3);
                continue;
            }
            if next == b'!' || next == b'?' {
                i = memchr::memchr(b'>', rest).map_or(b.len(), |p| lt + p + 1);
                continue;
            }
            let closing = next == b'/';
            let ns = lt + 1 + usize::from(closing);
            let ne = b[ns..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b':'))
                .map_or(b.len(), |p| p + ns);
            if ne == ns || !b[ns].is_ascii_alphabetic() {
                // A '<' that starts no tag is text.
                i = lt + 1;
                continue;
            }
            let name = &b[ns..ne];
            let tag_end = tag_end(b, ne);
            i = if closing {
                self.end_tag(name, lt, tag_end);
                tag_end
            } else {
                self.start_tag(name, lt, tag_end)
            };
        }
        while self.stack.len() > 1 {
            self.close(b.len());
        }
        self.nodes
    }

    /// Closes the innermost open element at `at`.
    #[inline]
    fn close(&mut self, at: usize) {
        if let Some(top) = self.stack.pop() {
            let n = &mut self.nodes[top as usize];
            n.end = at as u32;
            if n.kind == Kind::Sectioning
                && !self
                    .b
                    .get(n.start as usize + 1..n.start as usize + 5)
                    .is_some_and(|x| x.eq_ignore_ascii_case(b"main"))
            {
                self.sectioning_depth = self.sectioning_depth.saturating_sub(1);
            }
        }
    }

    /// An end tag at `lt`: pops to the matching open element, if it is open
    /// (looked for among the last 256 only: hostile nesting stays linear).
    #[inline]
    fn end_tag(&mut self, name: &[u8], lt: usize, tag_end: usize) {
        let b = self.b;
        let nodes = &self.nodes;
        let found = self.stack[1..].iter().rev().take(256).position(|&n| {
            let s = nodes[n as usize].start as usize + 1;
            b.get(s..s + name.len())
                .is_some_and(|x| x.eq_ignore_ascii_case(name))
                && b.get(s + name.len())
                    .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b':'))
        });
        if let Some(k) = found {
            for _ in 0..k {
                self.close(lt);
            }
            self.close(tag_end);
        }
    }

    /// A start tag at `lt`: closes what it closes implicitly, records the
    /// element and opens it. Returns where the scan goes on.
    #[inline]
    fn start_tag(&mut self, name: &[u8], lt: usize, tag_end: usize) -> usize {
        let b = self.b;
        let kind = kind_of(name);
        self.close_implied(name, kind, lt);
        let tag = &b[lt..tag_end];
        // Only a tag holding "hidden", "none" or a sale badge's class may hide.
        while self.marks.get(self.mark).is_some_and(|&m| m < lt) {
            self.mark += 1;
        }
        let may_hide = self.marks.get(self.mark).is_some_and(|&m| m < tag_end);
        let mut flags = tag_flags(tag, kind, self.on_sale, may_hide, &mut self.attr_buf);
        if matches!(kind, Kind::Header | Kind::Footer) && self.sectioning_depth == 0 {
            flags |= flag::AWAY;
        }
        let parent = self.stack.last().copied().unwrap_or(NONE);
        let self_closing = tag.len() >= 2 && tag[tag.len() - 2] == b'/';
        let idx = self.nodes.len() as u32;
        self.nodes.push(Node {
            start: lt as u32,
            open_end: tag_end as u32,
            end: tag_end as u32,
            parent,
            kind,
            flags,
            sub: flags,
            excluded: false,
            ugc: false,
            hidden: false,
        });
        if is_raw_text(name) {
            // Skip to its end tag; its text is not the page's.
            let end = find_end_tag(b, tag_end, name);
            self.nodes[idx as usize].end = end as u32;
            return end;
        }
        if !(is_void(name) || self_closing) {
            if kind == Kind::Sectioning && !name.eq_ignore_ascii_case(b"main") {
                self.sectioning_depth += 1;
            }
            self.stack.push(idx);
        }
        tag_end
    }

    /// Closes the elements a start tag of `kind` closes implicitly (`<p>`
    /// before a block, `<li>`, `<dt>`/`<dd>`, `<tr>`, cells, `<option>`).
    #[inline]
    fn close_implied(&mut self, name: &[u8], kind: Kind, lt: usize) {
        let Some(&top) = self.stack.last() else {
            return;
        };
        let (nodes, stack) = (&self.nodes, &self.stack);
        let top_kind = nodes[top as usize].kind;
        let implied = match kind {
            _ if top_kind == Kind::P && closes_p(name) => true,
            Kind::Li => Outline::open_before(nodes, stack, Kind::Li, Kind::ListRoot),
            Kind::Dtd => Outline::open_before(nodes, stack, Kind::Dtd, Kind::ListRoot),
            Kind::Tr => Outline::open_before(nodes, stack, Kind::Tr, Kind::ListRoot),
            Kind::Cell => Outline::open_before(nodes, stack, Kind::Cell, Kind::Tr),
            Kind::Option => top_kind == Kind::Option,
            _ => false,
        };
        if !implied {
            return;
        }
        let target = match kind {
            _ if top_kind == Kind::P && closes_p(name) => Kind::P,
            k => k,
        };
        while self.stack.len() > 1 {
            let t = self.stack[self.stack.len() - 1];
            let tk = self.nodes[t as usize].kind;
            self.close(lt);
            if tk == target {
                break;
            }
        }
    }
}

impl Outline {
    /// Reads the outline of a page in one pass.
    pub fn read(html: &str) -> Outline {
        let mut outline = Outline {
            nodes: Scan::new(html.as_bytes()).run(),
        };
        outline.analyse(html);
        outline
    }

    /// Whether an element of `kind` is open above the nearest `bound`.
    fn open_before(nodes: &[Node], stack: &[u32], kind: Kind, bound: Kind) -> bool {
        for &n in stack.iter().rev().take(64) {
            let k = nodes[n as usize].kind;
            if k == kind {
                return true;
            }
            if k == bound || k == Kind::ListRoot {
                return false;
            }
        }
        false
    }

    /// Marks the open element that owns a text segment.
    fn on_text(nodes: &mut [Node], stack: &[u32], t: &[u8]) {
        let Some(&top) = stack.last() else { return };
        let n = &mut nodes[top as usize];
        if t.len() <= 400 && looks_like_money(t) {
            n.flags |= flag::MONEY;
        }
        if n.kind == Kind::Button {
            let folded = fold(t);
            if contains_any(folded.as_bytes(), BUY_TEXT_WORDS) {
                n.flags |= flag::BUY;
            }
        }
    }

    /// Subtree flags, headings, card lists, exclusions.
    fn analyse(&mut self, html: &str) {
        self.mark_buy_buttons_by_child_text(html);
        self.mark_others_headings(html);
        self.gather_subtree_flags();
        self.keep_title_blocks();
        self.put_away_blocks_under_others_headings();
        self.put_away_card_lists(html);
        self.dawn_price_states(html);
        self.inherit();
    }

    /// A button's text may sit in a child span: a buy word there marks the
    /// button.
    fn mark_buy_buttons_by_child_text(&mut self, html: &str) {
        for k in 0..self.nodes.len() {
            if self.nodes[k].kind != Kind::Button && self.nodes[k].flags & flag::BUY == 0 {
                let p = self.nodes[k].parent;
                if p != NONE && self.nodes[p as usize].kind == Kind::Button {
                    let t = &html.as_bytes()
                        [self.nodes[k].open_end as usize..self.nodes[k].end as usize];
                    if t.len() < 200 && contains_any(fold(t).as_bytes(), BUY_TEXT_WORDS) {
                        self.nodes[p as usize].flags |= flag::BUY;
                    }
                }
            }
        }
    }

    /// Marks the headings that introduce other products ("Vous aimerez
    /// aussi"), and those that introduce reviews as shoppers' words.
    fn mark_others_headings(&mut self, html: &str) {
        for k in 0..self.nodes.len() {
            let node = self.nodes[k];
            if matches!(node.kind, Kind::Heading | Kind::Other | Kind::P)
                && node.end - node.open_end < 300
            {
                let is_heading = node.kind == Kind::Heading || node.flags & flag::TITLE_CLASS != 0;
                if !is_heading {
                    continue;
                }
                let raw = &html.as_bytes()[node.open_end as usize..node.end as usize];
                if !HEADING_STEMS.as_ref().is_some_and(|ac| ac.is_match(raw)) {
                    continue;
                }
                // Already inside a block put away by its class or tag.
                if self
                    .ancestors(k)
                    .take(8)
                    .any(|a| self.nodes[a].flags & (flag::AWAY | flag::HIDDEN) != 0)
                {
                    continue;
                }
                let text = self.text(html, k);
                let folded = fold(text.as_bytes());
                if folded.len() < 80
                    && OTHERS_HEADINGS_AC
                        .as_ref()
                        .is_some_and(|ac| ac.is_match(&folded))
                {
                    self.nodes[k].flags |= flag::OTHERS_HEADING;
                    if folded.contains("avis")
                        || folded.contains("review")
                        || folded.contains("bewertung")
                        || folded.contains("recension")
                        || folded.contains("opinion")
                    {
                        self.nodes[k].flags |= flag::UGC;
                    }
                }
            }
        }
    }

    /// Each element's subtree flags ([`Node::sub`]), with [`H1_BIT`] on the
    /// elements holding an `<h1>`.
    fn gather_subtree_flags(&mut self) {
        let n = self.nodes.len();
        for k in 0..n {
            self.nodes[k].sub = self.nodes[k].flags;
        }
        for k in (0..n).rev() {
            let p = self.nodes[k].parent;
            if p != NONE {
                let mut s = self.nodes[k].sub;
                if self.nodes[k].kind == Kind::H1 {
                    s |= H1_BIT;
                }
                self.nodes[p as usize].sub |= s;
            }
        }
        for k in 0..n {
            if self.nodes[k].kind == Kind::H1 {
                self.nodes[k].sub |= H1_BIT;
            }
        }
    }

    /// A block holding a product title is the product's, whatever its
    /// class says ("product__column-sticky", a "slider" layout): only its
    /// tag or its being hidden can put it away.
    fn keep_title_blocks(&mut self) {
        for k in 0..self.nodes.len() {
            let node = self.nodes[k];
            if node.sub & H1_BIT != 0
                && node.flags & flag::AWAY != 0
                && !matches!(node.kind, Kind::Away | Kind::Header | Kind::Footer)
            {
                self.nodes[k].flags &= !(flag::AWAY | flag::UGC);
            }
        }
    }

    /// A heading that introduces other products puts away its block: the
    /// nearest ancestor that holds links or prices beside the heading.
    fn put_away_blocks_under_others_headings(&mut self) {
        for k in 0..self.nodes.len() {
            if self.nodes[k].flags & flag::OTHERS_HEADING == 0 {
                continue;
            }
            let ugc = self.nodes[k].flags & flag::UGC != 0;
            let mut a = self.nodes[k].parent;
            let mut steps = 0;
            while a != NONE && steps < 4 {
                let an = self.nodes[a as usize];
                if an.sub & H1_BIT != 0 {
                    break;
                }
                let beyond = an.end - an.open_end > (self.nodes[k].end - self.nodes[k].start) + 120;
                if beyond && (an.sub & (flag::LINK | flag::MONEY | flag::PRICE) != 0 || ugc) {
                    self.nodes[a as usize].flags |= flag::AWAY | if ugc { flag::UGC } else { 0 };
                    break;
                }
                a = an.parent;
                steps += 1;
            }
        }
    }

    /// Repeated cards: two or more siblings of one kind (the same tag and
    /// first class) that each link to another page and show a price are a
    /// list of other products.
    fn put_away_card_lists(&mut self, html: &str) {
        let card = |x: &Node| {
            x.sub & flag::LINK != 0
                && x.sub & (flag::MONEY | flag::PRICE) != 0
                && x.sub & H1_BIT == 0
        };
        let b = html.as_bytes();
        let shape = |x: &Node| -> u64 {
            use std::hash::{BuildHasher, Hash, Hasher};
            let tag = &b[x.start as usize..x.open_end as usize];
            let mut h = rustc_hash::FxBuildHasher.build_hasher();
            let name_end = tag
                .iter()
                .skip(1)
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(tag.len(), |p| p + 1);
            tag[1.min(tag.len())..name_end]
                .to_ascii_lowercase()
                .hash(&mut h);
            let first_class = tag_attributes(tag)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"class"))
                .and_then(|(_, v)| v.split(|c| c.is_ascii_whitespace()).find(|t| !t.is_empty()))
                .unwrap_or(&[]);
            first_class.hash(&mut h);
            h.finish()
        };
        let mut groups: rustc_hash::FxHashMap<(u32, u64), u16> = Default::default();
        let shapes: Vec<Option<u64>> = self
            .nodes
            .iter()
            .map(|x| (x.parent != NONE && card(x)).then(|| shape(x)))
            .collect();
        for (x, s) in self.nodes.iter().zip(&shapes) {
            if let Some(s) = s {
                *groups.entry((x.parent, *s)).or_default() += 1;
            }
        }
        for (x, s) in self.nodes.iter_mut().zip(&shapes) {
            if s.is_some_and(|s| groups.get(&(x.parent, s)).is_some_and(|&c| c >= 2)) {
                x.flags |= flag::AWAY;
            }
        }
    }

    /// Each element inherits its parent's being excluded, shoppers' words
    /// or hidden.
    fn inherit(&mut self) {
        for k in 0..self.nodes.len() {
            let node = self.nodes[k];
            let (pe, pu, ph) = if node.parent == NONE {
                (false, false, false)
            } else {
                let p = self.nodes[node.parent as usize];
                (p.excluded, p.ugc, p.hidden)
            };
            self.nodes[k].hidden = ph || node.flags & flag::HIDDEN != 0;
            // The page's own product title is never put away with a block
            // whose class merely mentions a carousel or a banner.
            let own = node.flags & (flag::AWAY | flag::HIDDEN) != 0;
            self.nodes[k].excluded = pe || own;
            self.nodes[k].ugc = pu || node.flags & flag::UGC != 0;
        }
    }

    /// Shopify's Dawn family shows a price's sale part and its "Sale"
    /// badge only when the price block has `price--on-sale`, and its regular
    /// part only when it has not (stylesheet rules, not inline styles).
    /// Each price block is judged on its own, so that a card on sale does
    /// not make the product's hidden badge visible.
    fn dawn_price_states(&mut self, html: &str) {
        let b = html.as_bytes();
        if memchr::memmem::find(b, b"price__").is_none() {
            return;
        }
        let class_of = |n: &Node| -> &[u8] {
            let tag = &b[n.start as usize..n.open_end as usize];
            tag_attributes(tag)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"class"))
                .map_or(&[][..], |(_, v)| v)
        };
        for k in 0..self.nodes.len() {
            let c = class_of(&self.nodes[k]);
            let part = if has_class(c, b"price__badge-sale") || has_class(c, b"price__sale") {
                Some(true)
            } else if has_class(c, b"price__regular") {
                Some(false)
            } else {
                None
            };
            let Some(sale_part) = part else { continue };
            let container = self
                .ancestors(k)
                .take(4)
                .find(|&a| has_class(class_of(&self.nodes[a]), b"price"));
            let Some(a) = container else { continue };
            let on_sale = has_class(class_of(&self.nodes[a]), b"price--on-sale");
            if sale_part != on_sale {
                self.nodes[k].flags |= flag::HIDDEN;
            }
        }
    }

    /// Whether `a` is `b` or an ancestor of it.
    pub fn contains(&self, a: usize, b: usize) -> bool {
        let (x, y) = (self.nodes[a], self.nodes[b]);
        x.start <= y.start && y.end <= x.end
    }

    /// The lowest common ancestor of two elements.
    pub fn common(&self, a: usize, b: usize) -> Option<usize> {
        let mut x = a as u32;
        while x != NONE {
            if self.contains(x as usize, b) {
                return Some(x as usize);
            }
            x = self.nodes[x as usize].parent;
        }
        None
    }

    /// The ancestors of an element, nearest first (itself excluded).
    pub fn ancestors(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        let mut x = self.nodes[k].parent;
        std::iter::from_fn(move || {
            if x == NONE {
                return None;
            }
            let cur = x as usize;
            x = self.nodes[cur].parent;
            Some(cur)
        })
    }

    /// The innermost element holding a byte offset.
    pub fn at(&self, offset: usize) -> Option<usize> {
        let off = offset as u32;
        // Nodes are sorted by start: the last one starting at or before `off`
        // that still holds it, else its nearest holding ancestor.
        let idx = self.nodes.partition_point(|n| n.start <= off);
        let mut k = idx.checked_sub(1)?;
        // Bounded: a hostile page's deep nesting costs at most this per look-up.
        for _ in 0..1024 {
            let n = self.nodes[k];
            if n.start <= off && off < n.end {
                return Some(k);
            }
            if n.parent == NONE {
                return None;
            }
            k = n.parent as usize;
        }
        None
    }

    /// The visible text of an element, without its hidden or excluded
    /// descendants, whitespace collapsed and entities decoded.
    pub fn text(&self, html: &str, k: usize) -> String {
        self.text_without(html, k, 0)
    }

    /// The text an element holds directly, without its child elements'
    /// ("11,90 € <small>(47,60 € / kg)</small>" gives "11,90 €").
    pub fn own_text(&self, html: &str, k: usize) -> String {
        let node = self.nodes[k];
        let mut out = String::new();
        let mut pos = node.open_end as usize;
        let mut j = k + 1;
        while j < self.nodes.len() && self.nodes[j].start < node.end {
            let c = self.nodes[j];
            if c.parent as usize == k {
                push_text(&mut out, &html[pos..c.start as usize]);
                out.push(' ');
                pos = c.end as usize;
            }
            j += 1;
        }
        if pos < node.end as usize {
            push_text(&mut out, &html[pos..node.end as usize]);
        }
        let decoded = html_escape::decode_html_entities(&out).into_owned();
        decoded.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The visible text of an element without its descendants that carry
    /// any of the flags of `mask` (a price without its crossed-out part).
    pub fn text_without(&self, html: &str, k: usize, mask: u16) -> String {
        let node = self.nodes[k];
        let mut out = String::new();
        let mut pos = node.open_end as usize;
        let end = node.end as usize;
        let mut j = k + 1;
        while j < self.nodes.len() && self.nodes[j].start < node.end {
            let c = self.nodes[j];
            let skip = (c.excluded && !node.excluded)
                || c.flags & (flag::HIDDEN | mask) != 0
                || is_raw(html, c);
            if skip {
                push_text(&mut out, &html[pos..c.start as usize]);
                pos = c.end as usize;
                // Skip its descendants.
                while j < self.nodes.len() && self.nodes[j].start < c.end {
                    j += 1;
                }
                continue;
            }
            j += 1;
        }
        if pos < end {
            push_text(&mut out, &html[pos..end]);
        }
        let decoded = html_escape::decode_html_entities(&out).into_owned();
        decoded.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn has_class(list: &[u8], class: &[u8]) -> bool {
    list.split(|c| c.is_ascii_whitespace()).any(|c| c == class)
}

/// Marks elements holding an `<h1>` in [`Node::sub`].
pub const H1_BIT: u16 = 1 << 15;

fn is_raw(html: &str, n: Node) -> bool {
    let b = &html.as_bytes()[n.start as usize + 1..n.open_end as usize];
    let end = b
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .unwrap_or(b.len());
    is_raw_text(&b[..end])
}

/// Appends markup's text, its tags removed (a tag separates words).
fn push_text(out: &mut String, markup: &str) {
    let b = markup.as_bytes();
    let mut pos = 0;
    while let Some(lt) = memchr::memchr(b'<', &b[pos..]).map(|p| p + pos) {
        out.push_str(&markup[pos..lt]);
        let gt = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |g| lt + g + 1);
        let ns = lt + 1 + usize::from(b.get(lt + 1) == Some(&b'/'));
        let ne = b[ns..gt]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(gt, |p| ns + p);
        // Inline tags do not separate the parts of an amount ("49<sup>,99</sup>").
        if !is_inline(&b[ns..ne]) {
            out.push(' ');
        }
        pos = gt;
    }
    out.push_str(&markup[pos..]);
}

/// Tags that do not break a word or an amount.
fn is_inline(name: &[u8]) -> bool {
    let mut buf = [0u8; 6];
    if name.is_empty() || name.len() > buf.len() {
        return false;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    matches!(
        &buf[..name.len()],
        b"span" | b"sup" | b"sub" | b"b" | b"strong" | b"em" | b"small" | b"i" | b"ins" | b"font"
    )
}

/// The end of a start tag that begins before `from`: the `>` outside quotes.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(p) = memchr::memchr3(b'>', b'"', b'\'', &b[i..]) {
        let at = i + p;
        let c = b[at];
        if c == b'>' {
            return at + 1;
        }
        // A quote starts a value only after '=' (spaces allowed between).
        let after_eq = b[from..at]
            .iter()
            .rev()
            .find(|x| !x.is_ascii_whitespace())
            .is_some_and(|x| *x == b'=');
        if after_eq {
            match memchr::memchr(c, &b[at + 1..]) {
                Some(q) => i = at + 1 + q + 1,
                None => return b.len(),
            }
        } else {
            i = at + 1;
        }
    }
    b.len()
}

/// Just past the end tag of a raw-text element.
fn find_end_tag(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(p) = memchr::memmem::find(&b[i..], b"</") {
        let at = i + p;
        let s = at + 2;
        if b.get(s..s + name.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(name))
        {
            return memchr::memchr(b'>', &b[s..]).map_or(b.len(), |q| s + q + 1);
        }
        i = at + 2;
    }
    b.len()
}
