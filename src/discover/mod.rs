//! Discovery: which product pages a shop has, from its sitemaps.
//!
//! Sitemap URLs come from the shop entry, else the `Sitemap:` lines of
//! robots.txt, else `/sitemap.xml`. Sitemap index files are followed (two
//! levels at most), gzip files are inflated with a size cap, and a
//! malformed file is an error for that file only.

use std::collections::HashSet;
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use crate::catalog::Shop;
use crate::fetch::{FetchOutcome, HostPolicy, HostPool};

/// Largest sitemap after decompression (the sitemaps.org limit is 50 MB).
pub const MAX_SITEMAP_BYTES: usize = 50 * 1024 * 1024;
/// How deep sitemap indexes are followed.
pub const MAX_INDEX_DEPTH: usize = 2;

/// One `<url>` of a sitemap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapEntry {
    /// `<loc>`.
    pub loc: String,
    /// `<lastmod>`, parsed (W3C datetime: a date, or a date and time).
    pub lastmod: Option<DateTime<Utc>>,
}

/// What one sitemap file lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SitemapFile {
    /// Pages (`<url>`).
    pub pages: Vec<SitemapEntry>,
    /// Child sitemaps (`<sitemap><loc>` in an index).
    pub sitemaps: Vec<String>,
}

/// Why a sitemap file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SitemapError {
    /// The XML is malformed.
    #[error("malformed sitemap XML at byte {position}: {message}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// The gzip stream is broken or too large.
    #[error("cannot inflate gzip sitemap: {0}")]
    Gzip(String),
}

/// Parses a sitemap or sitemap index (gzip accepted).
pub fn parse_sitemap(body: &[u8]) -> Result<SitemapFile, SitemapError> {
    let inflated;
    let xml: &[u8] = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_SITEMAP_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| SitemapError::Gzip(e.to_string()))?;
        if out.len() > MAX_SITEMAP_BYTES {
            return Err(SitemapError::Gzip(format!(
                "over {MAX_SITEMAP_BYTES} bytes once inflated"
            )));
        }
        inflated = out;
        &inflated
    } else {
        body
    };
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut out = SitemapFile::default();
    let mut in_url = false;
    let mut in_sitemap = false;
    let mut in_loc = false;
    let mut in_lastmod = false;
    let mut loc = String::new();
    let mut lastmod = String::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| SitemapError::Xml {
                position: reader.error_position(),
                message: e.to_string(),
            })?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"url" => {
                    in_url = true;
                    lastmod.clear();
                }
                b"lastmod" => in_lastmod = true,
                b"sitemap" => in_sitemap = true,
                b"loc" => {
                    in_loc = true;
                    loc.clear();
                }
                _ => {}
            },
            Event::Text(t) if in_loc => {
                let text = t.unescape().map_err(|e| SitemapError::Xml {
                    position: reader.buffer_position(),
                    message: e.to_string(),
                })?;
                loc.push_str(&text);
            }
            Event::Text(t) if in_lastmod => lastmod.push_str(&String::from_utf8_lossy(&t)),
            Event::CData(t) if in_loc => loc.push_str(&String::from_utf8_lossy(&t)),
            Event::End(e) => match e.local_name().as_ref() {
                b"lastmod" => in_lastmod = false,
                b"url" => {
                    in_url = false;
                    if let Some(last) = out.pages.last_mut()
                        && last.lastmod.is_none()
                    {
                        last.lastmod = parse_lastmod(&lastmod);
                    }
                }
                b"sitemap" => in_sitemap = false,
                b"loc" => {
                    in_loc = false;
                    let l = loc.trim().to_string();
                    if !l.is_empty() {
                        if in_sitemap {
                            out.sitemaps.push(l);
                        } else if in_url {
                            out.pages.push(SitemapEntry {
                                loc: l,
                                lastmod: parse_lastmod(&lastmod),
                            });
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// Parses a sitemap `<lastmod>` (W3C datetime).
pub fn parse_lastmod(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    // "2026-01-01T10:00Z" lacks seconds; "2026-01-01T10:00:00" lacks a zone (read as UTC).
    for fmt in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A page to visit, with the sitemap's word on when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRef {
    /// The page.
    pub url: Url,
    /// Its `<lastmod>`.
    pub lastmod: Option<DateTime<Utc>>,
}

/// The pages found for a shop, and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Product pages on the shop's site, deduplicated, in sitemap order.
    pub pages: Vec<PageRef>,
    /// Sitemap files read.
    pub sitemaps_read: usize,
    /// Requests made.
    pub requests: usize,
    /// One line per problem (file-level: the rest still counts).
    pub errors: Vec<String>,
}

/// Product links and the next page's link on one listing page.
pub fn parse_listing(
    html: &str,
    base: &Url,
    product: &str,
    next: Option<&str>,
) -> (Vec<Url>, Option<Url>) {
    let doc = scraper::Html::parse_document(html);
    let links = |sel: &str| -> Vec<Url> {
        match scraper::Selector::parse(sel) {
            Ok(s) => doc
                .select(&s)
                .filter_map(|e| e.value().attr("href"))
                .filter_map(|h| base.join(h.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    let products = links(product);
    let next = next.and_then(|n| links(n).into_iter().next());
    (products, next)
}

/// Walks a shop's listing pages (pagination by a "next" selector).
async fn walk_listing(
    pool: &HostPool,
    shop: &Shop,
    policy: HostPolicy,
    d: &mut Discovery,
    seen: &mut HashSet<Url>,
) {
    let Some(listing) = &shop.listing else { return };
    let mut next = match shop.url.join(&listing.start) {
        Ok(u) => Some(u),
        Err(e) => {
            d.errors
                .push(format!("listing start {:?}: {e}", listing.start));
            return;
        }
    };
    let mut visited = HashSet::new();
    let max = listing.max_pages.unwrap_or(50);
    while let Some(url) = next.take() {
        if visited.len() >= max || !visited.insert(url.clone()) {
            break;
        }
        d.requests += 1;
        let page = match pool.fetch(&url, policy).await {
            FetchOutcome::Fetched(p) => p,
            other => {
                d.errors.push(format!("listing {}", other.describe()));
                break;
            }
        };
        let (products, following) = parse_listing(
            &page.text(),
            &page.url,
            &listing.product,
            listing.next.as_deref(),
        );
        for u in products {
            if crate::fetch::same_site(&u, &shop.url)
                && d.pages.len() < shop.max_pages
                && seen.insert(u.clone())
            {
                d.pages.push(PageRef {
                    url: u,
                    lastmod: None,
                });
            }
        }
        next = following;
    }
}

/// Finds the shop's product pages through its sitemaps, then its listing pages.
pub async fn discover(pool: &HostPool, shop: &Shop, policy: HostPolicy) -> Discovery {
    let mut d = Discovery::default();
    let robots = pool.robots(&shop.url, policy).await;
    let mut queue: Vec<(Url, usize)> = match &shop.sitemap {
        Some(s) => vec![(s.clone(), 0)],
        None => {
            let listed: Vec<Url> = robots
                .sitemaps()
                .iter()
                .filter_map(|s| shop.url.join(s).ok())
                .collect();
            if listed.is_empty() {
                shop.url
                    .join("/sitemap.xml")
                    .into_iter()
                    .map(|u| (u, 0))
                    .collect()
            } else {
                listed.into_iter().map(|u| (u, 0)).collect()
            }
        }
    };
    let mut seen_sitemaps = HashSet::new();
    let mut seen_pages = HashSet::new();
    while let Some((sitemap_url, depth)) = queue.pop() {
        if !seen_sitemaps.insert(sitemap_url.clone()) {
            continue;
        }
        d.requests += 1;
        let page = match pool.fetch(&sitemap_url, policy).await {
            FetchOutcome::Fetched(p) => p,
            other => {
                d.errors.push(format!("sitemap {}", other.describe()));
                continue;
            }
        };
        let file = match parse_sitemap(&page.body) {
            Ok(f) => f,
            Err(e) => {
                d.errors.push(format!("sitemap {sitemap_url}: {e}"));
                continue;
            }
        };
        d.sitemaps_read += 1;
        for child in file.sitemaps.iter().rev() {
            match sitemap_url.join(child) {
                Ok(u) if depth < MAX_INDEX_DEPTH => queue.push((u, depth + 1)),
                Ok(u) => d.errors.push(format!(
                    "sitemap {u}: skipped, sitemap indexes nested deeper than {MAX_INDEX_DEPTH}"
                )),
                Err(e) => d
                    .errors
                    .push(format!("sitemap {sitemap_url}: bad <loc> {child:?}: {e}")),
            }
        }
        for entry in &file.pages {
            let loc = &entry.loc;
            match sitemap_url.join(loc) {
                Ok(u) if crate::fetch::same_site(&u, &shop.url) => {
                    if d.pages.len() < shop.max_pages && seen_pages.insert(u.clone()) {
                        d.pages.push(PageRef {
                            url: u,
                            lastmod: entry.lastmod,
                        });
                    }
                }
                Ok(u) => tracing::debug!(url = %u, "sitemap entry on another host skipped"),
                Err(e) => d
                    .errors
                    .push(format!("sitemap {sitemap_url}: bad <loc> {loc:?}: {e}")),
            }
        }
    }
    walk_listing(pool, shop, policy, &mut d, &mut seen_pages).await;
    if shop.listing.is_some() && !d.pages.is_empty() {
        // Listing pages found products: a missing sitemap is not a problem then.
        d.errors.retain(|e| !e.starts_with("sitemap "));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlsets_indexes_and_gzip() {
        let xml =
            br#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc>https://s.example/a?x=1&amp;y=2</loc><lastmod>2026-01-01</lastmod></url>
            <url><loc> https://s.example/b </loc></url></urlset>"#;
        let f = parse_sitemap(xml).unwrap();
        let locs: Vec<&str> = f.pages.iter().map(|p| p.loc.as_str()).collect();
        assert_eq!(
            locs,
            vec!["https://s.example/a?x=1&y=2", "https://s.example/b"]
        );
        assert_eq!(f.pages[0].lastmod, parse_lastmod("2026-01-01"));
        assert_eq!(f.pages[1].lastmod, None);
        let idx = br#"<sitemapindex><sitemap><loc>https://s.example/s1.xml.gz</loc></sitemap></sitemapindex>"#;
        assert_eq!(
            parse_sitemap(idx).unwrap().sitemaps,
            vec!["https://s.example/s1.xml.gz"]
        );
        let mut gz = Vec::new();
        {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
            e.write_all(xml).unwrap();
        }
        assert_eq!(parse_sitemap(&gz).unwrap().pages.len(), 2);
    }

    #[test]
    fn lastmod_reads_every_w3c_form() {
        let t = |s| parse_lastmod(s).map(|d| d.to_rfc3339());
        assert_eq!(t("2026-01-02"), Some("2026-01-02T00:00:00+00:00".into()));
        assert_eq!(
            t("2026-01-02T10:30:00+01:00"),
            Some("2026-01-02T09:30:00+00:00".into())
        );
        assert_eq!(
            t("2026-01-02T10:30+01:00"),
            Some("2026-01-02T09:30:00+00:00".into())
        );
        assert_eq!(
            t("2026-01-02T10:30:00"),
            Some("2026-01-02T10:30:00+00:00".into())
        );
        assert_eq!(t("yesterday"), None);
    }

    #[test]
    fn listing_pages_yield_product_links_and_the_next_page() {
        let html = r#"<ul><li><a class="p" href="/p/1">1</a></li><li><a class="p" href="https://s.example/p/2">2</a></li>
            <li><a class="p" href="javascript:void(0)">x</a></li></ul><a rel="next" href="?page=2">suivant</a>"#;
        let base = Url::parse("https://s.example/c/all").unwrap();
        let (p, n) = parse_listing(html, &base, "a.p", Some("a[rel=next]"));
        let p: Vec<&str> = p.iter().map(Url::as_str).collect();
        assert_eq!(p, vec!["https://s.example/p/1", "https://s.example/p/2"]);
        assert_eq!(n.unwrap().as_str(), "https://s.example/c/all?page=2");
    }

    #[test]
    fn malformed_xml_is_an_error_for_that_file() {
        assert!(parse_sitemap(b"<urlset><url><loc>x</url></urlset>").is_err());
    }
}
