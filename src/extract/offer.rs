//! What extraction yields: one [`ExtractedOffer`] per product variant a page shows.

use serde::Serialize;

use crate::domain::Money;

/// Where an offer was read from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A platform catalogue API (Shopify, WooCommerce) or platform page data (PrestaShop).
    Platform,
    /// schema.org JSON-LD.
    JsonLd,
    /// schema.org microdata (`itemprop`).
    Microdata,
    /// OpenGraph / product meta tags.
    OpenGraph,
    /// The shop's own CSS selectors from the watchlist.
    Selector,
    /// Embedded application state (`__NEXT_DATA__`, `window.__…STATE__`,
    /// Shopify's product meta), for the entry that is the page's product only.
    AppState,
    /// The product block's own markup: the element around the displayed
    /// price, inside the main product's region of the page.
    ProductBlock,
    /// A marketplace-style buy box (title, byline, price widgets) on a page
    /// without structured data.
    BuyBox,
    /// The page's visible text alone (its heading and a price element), for
    /// pages with no structured data and no selectors: the least trusted.
    VisibleText,
}

impl Source {
    /// The name used in JSON output and in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Platform => "platform",
            Source::JsonLd => "jsonld",
            Source::Microdata => "microdata",
            Source::OpenGraph => "opengraph",
            Source::Selector => "selector",
            Source::AppState => "app_state",
            Source::ProductBlock => "product_block",
            Source::BuyBox => "buy_box",
            Source::VisibleText => "visible_text",
        }
    }
}

/// What kind of higher price a page shows next to the price to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// A crossed-out former price (`StrikethroughPrice`, `<del>`, `compare_at_price`).
    Strikethrough,
    /// The shop's list price (`ListPrice`, `regular_price`).
    List,
    /// A manufacturer's recommended price (`SRP`, `MSRP`, "prix conseillé", "UVP").
    Recommended,
    /// A previous price stated in words ("au lieu de", "Prix initial",
    /// "Ancien prix", "statt", "was"), not struck through.
    Previous,
}

impl ReferenceKind {
    /// The name used in JSON output and in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReferenceKind::Strikethrough => "strikethrough",
            ReferenceKind::List => "list",
            ReferenceKind::Recommended => "recommended",
            ReferenceKind::Previous => "previous",
        }
    }
}

/// One promotional phrase found on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoMatch {
    /// The class of wording (`soldes`, `private_sale`, `percent_badge`…).
    pub class: String,
    /// The text as it appeared (untrusted: escape before display).
    pub text: String,
    /// Where it was found (`title`, `jsonld`, `body`, a selector…).
    pub location: String,
}

/// One offer (a product, or one variant of it) as the page presents it.
///
/// Every string is scraped text and therefore untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ExtractedOffer {
    /// Product name.
    pub name: Option<String>,
    /// Brand as the page states it.
    pub brand: Option<String>,
    /// Shop SKU.
    pub sku: Option<String>,
    /// GTIN / EAN.
    pub gtin: Option<String>,
    /// Variant label (size, colour) where the page has variants.
    pub variant: Option<String>,
    /// Canonical URL of the product (absolute).
    pub url: Option<String>,
    /// The price a shopper pays now.
    pub price: Option<Money>,
    /// The higher price shown beside it (crossed-out, list or recommended).
    pub reference_price: Option<Money>,
    /// What the higher price is.
    pub reference_kind: Option<ReferenceKind>,
    /// Where the higher price was read from (it may differ from `source`:
    /// structured data giving the price, the product block the former price).
    pub reference_source: Option<Source>,
    /// A percentage badge ("-30 %") shown for this offer.
    pub percent_badge: Option<u32>,
    /// schema.org availability, shortened (`InStock`, `OutOfStock`…).
    pub availability: Option<String>,
    /// Where it was read from.
    pub source: Option<Source>,
    /// Promotional wording found for this offer or its page.
    pub promo: Vec<PromoMatch>,
    /// Problems met while reading it.
    pub warnings: Vec<String>,
}
