//! A product's own offer, never its neighbours': a loopback shop laid out
//! like a fashion e-shop, whose regular-price product pages show sale items
//! in their "Vous aimerez aussi" carousels and in their app state's
//! recently-viewed list, scanned outside the soldes by the real binary.

use std::collections::BTreeSet;

use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::support::{
    Shop, sqlite_url, stderr, stdout, vigie, watchlist, with_brands_and_subscribers,
};

/// The shop's one (watched) brand.
const BRAND: &str = "Atelier Brume";

/// A product of the shop.
struct Product {
    slug: &'static str,
    name: &'static str,
    sku: &'static str,
    /// Price to pay, in cents.
    price: i64,
    /// The former price it shows beside its price, when it is discounted.
    former: Option<i64>,
}

/// The product pages the sitemap lists: six at their regular price, one
/// really discounted (-25 %).
const PAGES: [Product; 7] = [
    Product {
        slug: "pull-merinos-ecru",
        name: "Pull Mérinos Écru",
        sku: "AB-PUL-01",
        price: 8900,
        former: None,
    },
    Product {
        slug: "cardigan-alpaga",
        name: "Cardigan Alpaga",
        sku: "AB-CAR-02",
        price: 12900,
        former: None,
    },
    Product {
        slug: "echarpe-cachemire",
        name: "Écharpe Cachemire",
        sku: "AB-ECH-03",
        price: 6900,
        former: None,
    },
    Product {
        slug: "bonnet-cotele",
        name: "Bonnet Côtelé",
        sku: "AB-BON-04",
        price: 3500,
        former: None,
    },
    Product {
        slug: "gilet-sans-manches",
        name: "Gilet Sans Manches",
        sku: "AB-GIL-05",
        price: 7900,
        former: None,
    },
    Product {
        slug: "robe-maille-longue",
        name: "Robe Maille Longue",
        sku: "AB-ROB-06",
        price: 14900,
        former: None,
    },
    Product {
        slug: "manteau-laine-bouillie",
        name: "Manteau Laine Bouillie",
        sku: "AB-MAN-07",
        price: 13500,
        former: Some(18000),
    },
];

/// The discounted product.
const DISCOUNTED: &str = "Manteau Laine Bouillie";

/// Products of the shop on sale (-25 %) that the sitemap does not list:
/// they appear only in carousels and recently-viewed lists.
const SALE_ITEMS: [Product; 3] = [
    Product {
        slug: "veste-tweed",
        name: "Veste Tweed",
        sku: "AB-VES-11",
        price: 9750,
        former: Some(13000),
    },
    Product {
        slug: "jupe-plissee",
        name: "Jupe Plissée",
        sku: "AB-JUP-12",
        price: 5925,
        former: Some(7900),
    },
    Product {
        slug: "chemise-lin",
        name: "Chemise Lin",
        sku: "AB-CHE-13",
        price: 4425,
        former: Some(5900),
    },
];

fn fr(cents: i64) -> String {
    format!("{},{:02}\u{a0}€", cents / 100, cents % 100)
}

fn dec(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn product_by_name(name: &str) -> &'static Product {
    PAGES
        .iter()
        .chain(SALE_ITEMS.iter())
        .find(|p| p.name == name)
        .expect("a product of the shop")
}

/// A price as a shop shows it: on sale, its "-25 %" badge and its former
/// price struck through beside it.
fn price_block(p: &Product) -> String {
    match p.former {
        Some(former) => format!(
            "<span class=\"badge badge--sale\">-{}\u{a0}%</span> <del class=\"price price--compare\">{}</del> \
             <span class=\"price price--sale\">{}</span>",
            (former - p.price) * 100 / former,
            fr(former),
            fr(p.price)
        ),
        None => format!("<span class=\"price\">{}</span>", fr(p.price)),
    }
}

fn card(p: &Product) -> String {
    format!(
        "<li class=\"product-card\"><a href=\"/produits/{}\"><img src=\"/img/{}.jpg\" alt=\"\" loading=\"lazy\">\
         <p class=\"product-card__brand\">{BRAND}</p><h3 class=\"product-card__title\">{}</h3></a>\
         <div class=\"product-card__price\">{}</div>\
         <button type=\"button\" class=\"product-card__add\">Ajouter au panier</button></li>",
        p.slug,
        p.slug,
        p.name,
        price_block(p)
    )
}

fn state_entry(p: &Product) -> Value {
    serde_json::json!({
        "sku": p.sku,
        "title": p.name,
        "vendor": BRAND,
        "url": format!("/produits/{}", p.slug),
        "price": dec(p.price),
        "compareAtPrice": p.former.map(dec),
    })
}

/// Product page `i`: its JSON-LD states only its price; its own block shows
/// its price (and, when it is discounted, its own struck former price and
/// badge); the carousel after it shows sale items with `<del>` prices and
/// "-25 %" badges (the discounted product among them); the app state's
/// recently-viewed list carries their former prices.
fn product_page(i: usize) -> String {
    let p = &PAGES[i];
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{name} — Maison Brume</title>\
         <script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\
         \"name\":\"{name}\",\"sku\":\"{sku}\",\"brand\":{{\"@type\":\"Brand\",\"name\":\"{BRAND}\"}},\
         \"offers\":{{\"@type\":\"Offer\",\"price\":\"{price}\",\"priceCurrency\":\"EUR\",\
         \"availability\":\"https://schema.org/InStock\"}}}}</script></head><body>\
         <header class=\"site-header\"><div class=\"announcement-bar\"><p>Livraison offerte dès 60\u{a0}€</p></div>\
         <a class=\"logo\" href=\"/\">Maison Brume</a><nav aria-label=\"Menu principal\"><ul>\
         <li><a href=\"/c/femme\">Femme</a></li><li><a href=\"/c/homme\">Homme</a></li>\
         <li><a href=\"/c/accessoires\">Accessoires</a></li><li><a href=\"/c/nouveautes\">Nouveautés</a></li></ul></nav>\
         <a href=\"/panier\">Panier (0)</a></header><main>\
         <div class=\"product\"><div class=\"product__gallery\"><img src=\"/img/{slug}.jpg\" alt=\"{name}\"></div>\
         <div class=\"product__info\"><p class=\"product__brand\">{BRAND}</p><h1 class=\"product__title\">{name}</h1>\
         <div class=\"product__price\">{block}</div>\
         <form class=\"product__form\" action=\"/panier/ajouter\" method=\"post\"><input type=\"hidden\" name=\"sku\" value=\"{sku}\">\
         <select name=\"taille\"><option>S</option><option>M</option><option>L</option></select>\
         <button type=\"submit\">Ajouter au panier</button></form>\
         <div class=\"product__description\"><p>Maille douce, coupe droite, fabriqué au Portugal.</p></div></div></div>",
        name = p.name,
        sku = p.sku,
        slug = p.slug,
        price = dec(p.price),
        block = price_block(p),
    );
    // The carousel: two regular products of the shop, the three sale
    // items, and the discounted product (but on its own page).
    let regular: Vec<&Product> = (1..PAGES.len())
        .map(|k| &PAGES[(i + k) % PAGES.len()])
        .filter(|o| o.former.is_none())
        .take(2)
        .collect();
    let mut cards = vec![regular[0], &SALE_ITEMS[0], &SALE_ITEMS[1]];
    if p.name != DISCOUNTED {
        cards.push(product_by_name(DISCOUNTED));
    }
    cards.extend([regular[1], &SALE_ITEMS[2]]);
    s.push_str(
        "<section class=\"product-recommendations\" aria-label=\"Vous aimerez aussi\">\
         <h2>Vous aimerez aussi</h2><ul class=\"carousel\">",
    );
    for c in &cards {
        s.push_str(&card(c));
    }
    s.push_str("</ul></section>");
    // Reviews: one quotes a price "au lieu de" a higher one.
    s.push_str(&format!(
        "<section class=\"reviews\"><h2>Avis clients</h2><article class=\"review\"><p class=\"review__author\">Marion</p>\
         <p>Je l'ai payé {} ici au lieu de {} ailleurs, très contente.</p></article>\
         <article class=\"review\"><p class=\"review__author\">Julien</p><p>Taille un peu petit, prenez la taille au-dessus.</p>\
         </article></section></main>",
        fr(p.price),
        fr(p.price + p.price / 4)
    ));
    s.push_str(
        "<footer class=\"site-footer\"><p>Inscrivez-vous à la newsletter et recevez -10\u{a0}% sur votre première commande.</p>\
         <ul><li><a href=\"/cgv\">CGV</a></li><li><a href=\"/contact\">Contact</a></li></ul></footer>",
    );
    // Recently viewed: the sale items, the discounted product (but on its
    // own page) and a regular one, with their former prices.
    let mut viewed: Vec<Value> = SALE_ITEMS.iter().map(state_entry).collect();
    if p.name != DISCOUNTED {
        viewed.push(state_entry(product_by_name(DISCOUNTED)));
    }
    viewed.push(state_entry(regular[0]));
    let mut product = state_entry(p);
    product["available"] = true.into();
    let state = serde_json::json!({
        "currency": "EUR",
        "product": product,
        "recentlyViewed": viewed,
    });
    s.push_str(&format!(
        "<script>window.__SHOP_STATE__ = {state};</script></body></html>"
    ));
    s
}

/// Serves robots.txt, the sitemap and the seven product pages on
/// 127.0.0.1; returns the shop's base URL.
async fn start_shop() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let base = b.clone();
        async move {
            let path = uri.path();
            if path == "/robots.txt" {
                format!("User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n").into_response()
            } else if path == "/sitemap.xml" {
                let urls: String = PAGES
                    .iter()
                    .map(|p| format!("<url><loc>{base}/produits/{}</loc></url>", p.slug))
                    .collect();
                (
                    [(header::CONTENT_TYPE, "application/xml")],
                    format!(
                        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>"
                    ),
                )
                    .into_response()
            } else if let Some(i) = path
                .strip_prefix("/produits/")
                .and_then(|slug| PAGES.iter().position(|p| p.slug == slug))
            {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    product_page(i),
                )
                    .into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn sale_items_in_carousels_and_recently_viewed_lists_accuse_no_product_and_the_one_discounted_product_opens_one_r3()
 {
    let base = start_shop().await;
    let tmp = tempfile::tempdir().unwrap();
    let shop = Shop::new("Maison Brume", &base, 20.0);
    let wl = watchlist(tmp.path(), "w.toml", &with_brands_and_subscribers(&[shop]));
    let db = sqlite_url(tmp.path(), "v.db");
    let mail = tmp.path().join("mail");
    // A first scan, in March: outside the legal sales periods.
    let out = vigie(
        tmp.path(),
        &[
            "scan",
            "--json",
            "--watchlists",
            wl.to_str().unwrap(),
            "--database",
            &db,
            "--mail-dir",
            mail.to_str().unwrap(),
            "--now",
            "2026-03-10T09:00:00+01:00",
        ],
    )
    .await;
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let summary: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}\n{log}", stdout(&out)));
    assert_eq!(summary["pages_fetched"], 7, "{summary}\n{log}");
    assert_eq!(summary["observations"], 7, "{summary}\n{log}");

    // The findings, by product and rule: the discounted product's R3, and
    // nothing on the six products at their regular price.
    let out = vigie(tmp.path(), &["findings", "--json", "--database", &db]).await;
    let findings: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let opened: BTreeSet<(String, String)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["product_name"].as_str().unwrap_or("?").to_string(),
                f["rule"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let listed: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}: price {}, former {}, percent {}",
                f["rule"], f["product_name"], f["price_minor"], f["reference_minor"], f["percent"]
            )
        })
        .collect();
    assert_eq!(
        opened,
        BTreeSet::from([(DISCOUNTED.to_string(), "R3".to_string())]),
        "findings by product and rule:\n{}",
        listed.join("\n")
    );
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(findings[0]["price_minor"], 13500);
    assert_eq!(findings[0]["reference_minor"], 18000);
    assert_eq!(summary["findings"], 1, "{summary}");

    // What was recorded for each product: the discounted one's own former
    // price and badge, and no former price or badge for any other.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT p.name, o.price_minor, o.reference_minor, o.percent_badge \
         FROM observations o JOIN products p ON p.id = o.product_id ORDER BY p.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), PAGES.len(), "{rows:?}");
    for (name, price, reference, badge) in &rows {
        let p = product_by_name(name);
        assert_eq!(*price, p.price, "{name}: {rows:?}");
        let own = p.former.map(|f| ((f - p.price) * 100 / f, f));
        assert_eq!(
            (*reference, *badge),
            (own.map(|(_, f)| f), own.map(|(pct, _)| pct)),
            "{name}: former price and badge recorded, against its own: {rows:?}"
        );
    }

    // One finding, for the subscribers of Atelier Brume (Bruno, Chloé).
    let emails = std::fs::read_dir(&mail).map(|d| d.count()).unwrap_or(0);
    assert_eq!(emails, 2, "{log}");
}
