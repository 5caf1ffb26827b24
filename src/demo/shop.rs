//! The built-in fixture e-shop: a small French boutique served on loopback,
//! with robots.txt, a sitemap and product pages carrying JSON-LD and
//! French-formatted visible prices. Its "day" can be switched to script a
//! timeline; it logs every request it receives (path and arrival time), so
//! tests can check politeness from the server's side.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::catalogue::FixtureProduct;
use super::timeline::{self, Display};
use crate::domain::{Currency, Money};

/// One request as the shop saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    /// Path and query.
    pub path: String,
    /// Arrival time.
    pub at: Instant,
    /// The User-Agent header.
    pub user_agent: String,
}

/// The products, in sitemap order.
pub const PRODUCTS: &[FixtureProduct] = &[
    FixtureProduct {
        slug: "lampe-opaline",
        name: "Lampe Opaline",
        brand: "Maison Lumière",
        sku: "ML-OPA-01",
        gtin: "3760123450011",
        regular: 18900,
    },
    FixtureProduct {
        slug: "applique-laiton",
        name: "Applique Laiton brossé",
        brand: "Maison Lumière",
        sku: "ML-APP-02",
        gtin: "3760123450028",
        regular: 24500,
    },
    FixtureProduct {
        slug: "plaid-alpaga",
        name: "Plaid Alpaga 130×170",
        brand: "Atelier Brume",
        sku: "AB-PLA-01",
        gtin: "3760987650017",
        regular: 15900,
    },
    FixtureProduct {
        slug: "coussin-lin",
        name: "Coussin Lin lavé",
        brand: "Atelier Brume",
        sku: "AB-COU-07",
        gtin: "3760987650079",
        regular: 4990,
    },
    FixtureProduct {
        slug: "bougie-cedre",
        name: "Bougie Cèdre & Ambre",
        brand: "Nordkapp",
        sku: "NK-BOU-11",
        gtin: "7350012340115",
        regular: 3900,
    },
];

/// What the shop shows on a given day: a scripted timeline.
///
/// - day 1: every product at its regular price;
/// - day 2 and later: "Lampe Opaline" (Maison Lumière) at 129,00 € with a
///   crossed-out 189,00 €, and the unwatched Nordkapp candle at -20 %.
pub fn price_on(p: &FixtureProduct, day: u32) -> (i64, Option<i64>) {
    match (p.slug, day) {
        ("lampe-opaline", d) if d >= 2 => (12900, Some(p.regular)),
        ("bougie-cedre", d) if d >= 2 => (3120, Some(p.regular)),
        _ => (p.regular, None),
    }
}

/// Extra pages for tests of bad input.
#[derive(Debug, Clone, Default)]
pub struct FixtureOptions {
    /// Adds to the sitemap a page with broken JSON-LD, a page without any
    /// price, a page that answers 500, and a disallowed `/panier/` page.
    pub bad_pages: bool,
    /// Replaces the name of "Lampe Opaline" (to test escaping).
    pub lamp_name: Option<String>,
    /// Serves the 90-day timeline products (see [`super::timeline`]) instead
    /// of the demo's; `set_day(d)` picks the timeline day.
    pub timeline: bool,
}

struct ShopState {
    day: AtomicU32,
    log: Mutex<Vec<RequestLog>>,
    options: FixtureOptions,
    base: String,
}

/// A running fixture shop.
pub struct FixtureShop {
    addr: SocketAddr,
    state: Arc<ShopState>,
    task: tokio::task::JoinHandle<()>,
}

impl FixtureShop {
    /// Starts the shop on `bind` (e.g. `127.0.0.1:0`).
    pub async fn start(bind: &str, options: FixtureOptions) -> std::io::Result<FixtureShop> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ShopState {
            day: AtomicU32::new(1),
            log: Mutex::new(Vec::new()),
            options,
            base: format!("http://{addr}"),
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("fixture shop stopped: {e}");
            }
        });
        Ok(FixtureShop { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches the timeline to `day`.
    pub fn set_day(&self, day: u32) {
        self.state.day.store(day, Ordering::SeqCst);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RequestLog> {
        match self.state.log.lock() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl Drop for FixtureShop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(state): State<Arc<ShopState>>, uri: Uri, headers: HeaderMap) -> Response {
    log_request(&state, &uri, &headers);
    let day = state.day.load(Ordering::SeqCst);
    let base = &state.base;
    match uri.path() {
        "/robots.txt" => text(
            "text/plain; charset=utf-8",
            format!(
                "User-agent: *\nDisallow: /panier/\nDisallow: /compte/\n\nSitemap: {base}/sitemap.xml\n"
            ),
        ),
        "/sitemap.xml" => sitemap(&state.options, base),
        "/products.json" => products_json(&uri, day),
        "/collection" => collection(&uri),
        "/produits/vase-casse" if state.options.bad_pages => html_page(
            "Vase Grès",
            "<script type=\"application/ld+json\">{\"@type\": \"Product\", \"name\": \"Vase Grès\", \"brand\": \"Maison Lumière\", \"offers\": {\"price\": </script><p>Vase Grès — 59,00 €</p>",
        ),
        "/produits/sans-prix" if state.options.bad_pages => html_page(
            "Suspension Nuage",
            "<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Suspension Nuage\",\"brand\":\"Maison Lumière\",\"sku\":\"ML-NUA-09\",\"offers\":{\"@type\":\"Offer\",\"priceCurrency\":\"EUR\",\"availability\":\"https://schema.org/PreOrder\"}}</script><p>Prix sur demande</p>",
        ),
        "/produits/en-panne" if state.options.bad_pages => {
            (StatusCode::INTERNAL_SERVER_ERROR, "erreur").into_response()
        }
        p => match p
            .strip_prefix("/produits/")
            .and_then(|slug| products(&state.options).iter().find(|x| x.slug == slug))
        {
            Some(product) => conditional_product_page(&state, &headers, product, day),
            None => (StatusCode::NOT_FOUND, "page introuvable").into_response(),
        },
    }
}

/// Records a request in the shop's log.
fn log_request(state: &ShopState, uri: &Uri, headers: &HeaderMap) {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Ok(mut log) = state.log.lock() {
        log.push(RequestLog {
            path,
            at: Instant::now(),
            user_agent,
        });
    }
}

/// The sitemap: every product page, and the bad pages when asked for.
fn sitemap(options: &FixtureOptions, base: &str) -> Response {
    let mut urls: Vec<String> = products(options)
        .iter()
        .map(|p| format!("{base}/produits/{}", p.slug))
        .collect();
    if options.bad_pages {
        for extra in [
            "/produits/vase-casse",
            "/produits/sans-prix",
            "/produits/en-panne",
            "/panier/ajout?sku=ML-OPA-01",
        ] {
            urls.push(format!("{base}{extra}"));
        }
    }
    let body: String = urls
        .iter()
        .map(|u| format!("  <url><loc>{}</loc></url>\n", html_escape::encode_text(u)))
        .collect();
    text(
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{body}</urlset>\n"
        ),
    )
}

/// A Shopify-like catalogue: every product on page 1, nothing after.
fn products_json(uri: &Uri, day: u32) -> Response {
    let page: usize = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("page=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let products: Vec<serde_json::Value> = if page == 1 {
        PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (price, reference) = price_on(p, day);
                let eur = |m: i64| Money::new(m, Currency::EUR).decimal_string();
                serde_json::json!({
                    "id": 1000 + i,
                    "title": p.name,
                    "handle": p.slug,
                    "vendor": p.brand,
                    "variants": [{
                        "id": 5000 + i,
                        "title": "Default Title",
                        "sku": p.sku,
                        "barcode": p.gtin,
                        "price": eur(price),
                        "compare_at_price": reference.map(eur),
                        "available": true
                    }]
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    text(
        "application/json",
        serde_json::json!({ "products": products }).to_string(),
    )
}

/// Listing pages: three products a page, with a "next" link.
fn collection(uri: &Uri) -> Response {
    let page: usize = uri
        .query()
        .and_then(|q| q.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let items: String = PRODUCTS
        .iter()
        .skip((page.max(1) - 1) * 3)
        .take(3)
        .map(|p| {
            format!(
                "<li><a class=\"produit\" href=\"/produits/{}\">{}</a></li>",
                p.slug,
                html_escape::encode_text(p.name)
            )
        })
        .collect();
    let next = if page * 3 < PRODUCTS.len() {
        format!(
            "<a rel=\"next\" href=\"/collection?page={}\">Suivant</a>",
            page + 1
        )
    } else {
        String::new()
    };
    html_page("Collection", &format!("<ul>{items}</ul>{next}"))
}

/// A product page, or 304 when the client's `If-None-Match` holds its
/// ETag, which changes when what the page shows changes.
fn conditional_product_page(
    state: &ShopState,
    headers: &HeaderMap,
    product: &FixtureProduct,
    day: u32,
) -> Response {
    let d = show(&state.options, product, day);
    let etag = format!(
        "\"{}-{}-{}-{}-{}\"",
        product.slug,
        d.price,
        d.reference.unwrap_or(0),
        d.badge.unwrap_or(0),
        d.banner.map_or(0, str::len)
    );
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if inm == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut r = product_page(product, day, &state.base, &state.options);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn text(content_type: &'static str, body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn html_page(title: &str, main: &str) -> Response {
    text(
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{} — Boutique Démo</title></head>\
             <body><header><nav><a href=\"/\">Boutique Démo</a> · <a href=\"/panier/\">Panier</a></nav></header><main>{main}</main>\
             <footer>Boutique Démo — livraison offerte dès 80 €</footer></body></html>",
            html_escape::encode_text(title)
        ),
    )
}

fn products(options: &FixtureOptions) -> &'static [FixtureProduct] {
    if options.timeline {
        timeline::PRODUCTS
    } else {
        PRODUCTS
    }
}

/// What a product shows on a day, in the demo or the timeline.
fn show(options: &FixtureOptions, p: &FixtureProduct, day: u32) -> Display {
    if options.timeline {
        return timeline::display(p.slug, day);
    }
    let (price, reference) = price_on(p, day);
    let badge = reference.and_then(|r| {
        Money::new(price, Currency::EUR).percent_below(&Money::new(r, Currency::EUR))
    });
    Display {
        price,
        reference,
        badge,
        banner: None,
    }
}

fn product_page(p: &FixtureProduct, day: u32, base: &str, options: &FixtureOptions) -> Response {
    let d = show(options, p, day);
    let (price, reference) = (d.price, d.reference);
    let eur = |m: i64| Money::new(m, Currency::EUR);
    let name = match (&options.lamp_name, p.slug) {
        (Some(n), "lampe-opaline") => n.clone(),
        _ => p.name.to_string(),
    };
    let url = format!("{base}/produits/{}", p.slug);
    let mut offer = serde_json::json!({
        "@type": "Offer",
        "url": url,
        "price": eur(price).decimal_string(),
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock",
    });
    if let Some(r) = reference {
        offer["priceSpecification"] = serde_json::json!([{
            "@type": "UnitPriceSpecification",
            "priceType": "https://schema.org/StrikethroughPrice",
            "price": eur(r).decimal_string(),
            "priceCurrency": "EUR"
        }]);
    }
    let data = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "brand": { "@type": "Brand", "name": p.brand },
        "sku": p.sku,
        "gtin13": p.gtin,
        "offers": offer,
    });
    // `</` cannot close the script element from inside the JSON.
    let json = data.to_string().replace("</", "<\\/");
    let badge = d
        .badge
        .map(|b| format!(" <span class=\"badge\">-{b} %</span>"))
        .unwrap_or_default();
    let mut visible = match reference {
        Some(r) => format!(
            "<p class=\"prix\"><del>{}</del> <ins>{}</ins>{badge}</p>",
            eur(r).display_fr(),
            eur(price).display_fr(),
        ),
        None => format!("<p class=\"prix\">{}{badge}</p>", eur(price).display_fr()),
    };
    if let Some(banner) = d.banner {
        visible = format!(
            "<div class=\"bandeau\">{}</div>{visible}",
            html_escape::encode_text(banner)
        );
    }
    html_page(
        &name,
        &format!(
            "<script type=\"application/ld+json\">{json}</script><article><h1>{}</h1><p class=\"marque\">{}</p>{visible}\
             <p>Réf. {} — expédié sous 48 h.</p></article>",
            html_escape::encode_text(&name),
            html_escape::encode_text(p.brand),
            p.sku
        ),
    )
}
