//! Extraction: what a page shows for each product, read exactly.
//!
//! The page is streamed once through `lol_html` to collect its JSON-LD
//! blocks (no DOM is built for pages that carry structured data); the
//! blocks are then read by [`jsonld`]. Every string out of here is scraped
//! text: untrusted until escaped.

pub mod jsonld;
pub mod offer;

use std::cell::RefCell;

use lol_html::{HtmlRewriter, Settings, text};
use url::Url;

use crate::domain::Currency;
pub use offer::{ExtractedOffer, PromoMatch, ReferenceKind, Source};

/// Everything read from one page.
#[derive(Debug, Clone, Default)]
pub struct PageExtraction {
    /// The offers, one per product variant.
    pub offers: Vec<ExtractedOffer>,
    /// Page-level problems (a broken JSON-LD block, no price at all…).
    pub warnings: Vec<String>,
}

/// Collects the text of every `<script type="application/ld+json">` block.
pub fn jsonld_blocks(html: &str) -> Result<Vec<String>, String> {
    let blocks = RefCell::new(Vec::new());
    let current = RefCell::new(String::new());
    {
        let mut rewriter = HtmlRewriter::new(
            Settings {
                element_content_handlers: vec![text!(
                    r#"script[type="application/ld+json"]"#,
                    |t| {
                        current.borrow_mut().push_str(t.as_str());
                        if t.last_in_text_node() {
                            blocks
                                .borrow_mut()
                                .push(std::mem::take(&mut *current.borrow_mut()));
                        }
                        Ok(())
                    }
                )],
                ..Settings::new()
            },
            |_: &[u8]| {},
        );
        rewriter.write(html.as_bytes()).map_err(|e| e.to_string())?;
        rewriter.end().map_err(|e| e.to_string())?;
    }
    Ok(blocks.into_inner())
}

/// Extracts every offer of a page.
pub fn extract_page(
    html: &str,
    page_url: &Url,
    default_currency: Option<Currency>,
) -> PageExtraction {
    let mut out = PageExtraction::default();
    let blocks = match jsonld_blocks(html) {
        Ok(b) => b,
        Err(e) => {
            out.warnings.push(format!("cannot read the HTML: {e}"));
            return out;
        }
    };
    let found = jsonld::offers_from_jsonld(&blocks, page_url, default_currency);
    out.warnings.extend(found.warnings);
    out.offers = found.offers;
    if out.offers.is_empty() {
        out.warnings.push(if blocks.is_empty() {
            "no structured product data (JSON-LD) on the page".to_string()
        } else {
            "no product offer in the page's JSON-LD".to_string()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_jsonld_block_and_nothing_else() {
        let html = r#"<html><head><script>var x = 1;</script>
            <script type="application/ld+json">{"@type":"Product"}</script></head>
            <body><script type="application/ld+json">[1,2]</script></body></html>"#;
        assert_eq!(
            jsonld_blocks(html).unwrap(),
            vec![r#"{"@type":"Product"}"#, "[1,2]"]
        );
    }
}
