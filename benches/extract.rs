//! Extraction benchmark: the CPU cost of reading one ~100 KB product page.
//!
//! `cargo bench --bench extract` prints, for a page with JSON-LD (the
//! common case) and a page with microdata only (DOM fallback), the median
//! time per page over several batches, next to `scraper`'s full parse of
//! the same page for reference.

use std::hint::black_box;
use std::time::{Duration, Instant};

use url::Url;
use vigie::domain::Currency;
use vigie::extract::promo_text::PromoCache;
use vigie::extract::{extract_page, jsonld_blocks};

/// A realistic ~100 KB product page: navigation, description, related
/// products, scripts, and one JSON-LD Product block.
fn page(jsonld: bool, struck: bool) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Lampe Opaline — Boutique</title>\
         <link rel=\"stylesheet\" href=\"/assets/theme.css\"><meta property=\"og:title\" content=\"Lampe Opaline\">",
    );
    if jsonld {
        let spec = if struck {
            r#","priceSpecification":[{"@type":"UnitPriceSpecification","priceType":"https://schema.org/StrikethroughPrice","price":"189.00","priceCurrency":"EUR"}]"#
        } else {
            ""
        };
        s.push_str(&format!(
            r#"<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Lampe Opaline","brand":{{"@type":"Brand","name":"Maison Lumière"}},"sku":"ML-OPA-01","gtin13":"3760123450011","offers":{{"@type":"Offer","price":"129.00","priceCurrency":"EUR","availability":"https://schema.org/InStock"{spec}}}}}</script>"#
        ));
    }
    s.push_str("</head><body><header><nav><ul>");
    for i in 0..300 {
        s.push_str(&format!(
            "<li class=\"menu-item\"><a href=\"/collections/c{i}\">Catégorie {i}</a></li>"
        ));
    }
    s.push_str("</ul></nav></header><main>");
    if jsonld && struck {
        s.push_str(
            "<h1>Lampe Opaline</h1><p class=\"prix\"><del>189,00 €</del> <ins>129,00 €</ins></p>",
        );
    } else if jsonld {
        s.push_str("<h1>Lampe Opaline</h1><p class=\"prix\">129,00 €</p>");
    } else {
        s.push_str(
            r#"<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Lampe Opaline</h1>
            <span itemprop="brand">Maison Lumière</span><div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
            <span itemprop="price" content="129.00">129,00 €</span><meta itemprop="priceCurrency" content="EUR"></div></div>"#,
        );
    }
    while s.len() < 95_000 {
        s.push_str(
            "<section class=\"related\"><article class=\"card\"><img src=\"/img/p.jpg\" alt=\"\" loading=\"lazy\">\
             <h3><a href=\"/produits/x\">Produit associé</a></h3><p>Une description assez longue pour ressembler à une vraie fiche, \
             avec des détails de matière, de dimensions et d'entretien.</p><span class=\"price\">49,90 €</span></article></section>",
        );
    }
    s.push_str("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}</script></main></body></html>");
    s
}

fn median_per_iter(mut f: impl FnMut(), iters: u32, batches: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let url = Url::parse("https://boutique.example/produits/lampe-opaline").expect("static URL");
    let with = page(true, true);
    let plain = page(true, false);
    let without = page(false, false);
    println!(
        "page sizes: {} bytes (JSON-LD), {} bytes (microdata)",
        with.len(),
        without.len()
    );
    let t = median_per_iter(
        || drop(black_box(jsonld_blocks(black_box(&with)))),
        2000,
        15,
    );
    println!(
        "locate JSON-LD blocks       median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    let t = median_per_iter(
        || {
            drop(black_box(extract_page(
                black_box(&with),
                &url,
                Some(Currency::EUR),
                None,
                None,
            )))
        },
        2000,
        15,
    );
    println!(
        "extract_page (JSON-LD, struck price)  median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    let t = median_per_iter(
        || {
            drop(black_box(extract_page(
                black_box(&plain),
                &url,
                Some(Currency::EUR),
                None,
                None,
            )))
        },
        2000,
        15,
    );
    println!(
        "extract_page (JSON-LD, regular price) median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    let t = median_per_iter(
        || {
            drop(black_box(extract_page(
                black_box(&without),
                &url,
                Some(Currency::EUR),
                None,
                None,
            )))
        },
        100,
        15,
    );
    println!(
        "extract_page (microdata)    median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    let mut cache = PromoCache::default();
    let t = median_per_iter(
        || {
            drop(black_box(extract_page(
                black_box(&plain),
                &url,
                Some(Currency::EUR),
                None,
                Some(&mut cache),
            )))
        },
        2000,
        15,
    );
    println!(
        "extract_page (regular price, shop's promo cache warm) median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    let t = median_per_iter(
        || drop(black_box(scraper::Html::parse_document(black_box(&with)))),
        100,
        15,
    );
    println!(
        "scraper parse, reference    median {:>8.1} µs/page",
        t.as_secs_f64() * 1e6
    );
    // The fixture corpus: 53 pages in the forms real shops use (some with
    // no structured data, so the DOM is built), each read once per pass.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let mut corpus: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read_to_string(p).expect("corpus page"))
        .collect();
    corpus.sort();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let t = median_per_iter(
        || {
            for page in &corpus {
                drop(black_box(extract_page(
                    black_box(page),
                    &url,
                    Some(Currency::EUR),
                    None,
                    None,
                )));
            }
        },
        20,
        15,
    );
    println!(
        "extract_page over the corpus ({} pages, {} KB average) median {:>8.1} µs/page",
        corpus.len(),
        bytes / corpus.len().max(1) / 1000,
        t.as_secs_f64() * 1e6 / corpus.len().max(1) as f64
    );
}
