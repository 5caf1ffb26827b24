//! The products the fixture shop sells, shared by the demo's catalogue and
//! the timeline's.

/// A product of the fixture shop.
#[derive(Debug, Clone)]
pub struct FixtureProduct {
    /// URL slug under `/produits/`.
    pub slug: &'static str,
    /// Name.
    pub name: &'static str,
    /// Brand.
    pub brand: &'static str,
    /// SKU.
    pub sku: &'static str,
    /// EAN-13.
    pub gtin: &'static str,
    /// Regular price in cents.
    pub regular: i64,
}
