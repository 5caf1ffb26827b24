//! What extraction yields: one [`ExtractedOffer`] per product variant a page shows.

use serde::Serialize;

use crate::domain::Money;

pub use crate::domain::{PromoClass, ReferenceKind, Source};

/// One promotional phrase found on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoMatch {
    /// The class of wording.
    pub class: PromoClass,
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
