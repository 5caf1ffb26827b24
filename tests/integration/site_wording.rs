//! Site-wide wording is the shop's: a loopback shop whose every
//! product page carries a "SOLDES" header banner, out of season, opens one
//! shop-level R1 finding, not one per product, and keeps it over two scans.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::support::{
    Shop, SmtpServer, sqlite_url, stderr, stdout, vigie, watchlist, with_brands_and_subscribers,
};

const PRODUCTS: usize = 3;

/// A product page at its regular price, under the shop's header banner.
fn product_page(n: usize) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Lampe {n} — Boutique Bannière</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Lampe {n}",
"sku":"ML-BAN-{n}","brand":{{"@type":"Brand","name":"Maison Lumière"}},
"offers":{{"@type":"Offer","price":"49.00","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}}}</script>
</head><body>
<header class="site-header"><div class="promo-banner" role="banner">SOLDES : jusqu'à -50 % sur tout le site !</div>
<nav><a href="/">Accueil</a> <a href="/luminaires">Luminaires</a></nav></header>
<main><div class="product" itemscope itemtype="https://schema.org/Product">
<h1 itemprop="name">Lampe {n}</h1><p class="brand">Maison Lumière</p>
<p class="price"><span>49,00 €</span></p>
<form action="/panier/ajouter" method="post"><button type="submit">Ajouter au panier</button></form>
<p class="description">Une lampe de chevet en verre soufflé.</p>
</div></main>
<footer><p>Livraison offerte dès 60 €</p></footer>
</body></html>"#
    )
}

async fn serve(base: Arc<String>, uri: Uri) -> Response {
    let html = [("content-type", "text/html; charset=utf-8")];
    match uri.path() {
        "/sitemap.xml" => {
            let urls: String = (0..PRODUCTS)
                .map(|n| format!("<url><loc>{base}/produits/lampe-{n}</loc></url>"))
                .collect();
            (
                [("content-type", "application/xml")],
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>"#
                ),
            )
                .into_response()
        }
        p => match p
            .strip_prefix("/produits/lampe-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n < PRODUCTS => (html, product_page(n)).into_response(),
            _ => (StatusCode::NOT_FOUND, "not found").into_response(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_site_wide_soldes_banner_is_one_shop_level_finding() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Arc::new(format!("http://{}", listener.local_addr().unwrap()));
    let b = base.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| serve(b.clone(), uri));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let smtp = SmtpServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(
        tmp.path(),
        "collectif.toml",
        &with_brands_and_subscribers(&[Shop::new("Boutique Bannière", &base, 20.0)]),
    );
    let db = sqlite_url(tmp.path(), "vigie.db");
    let smtp_url = smtp.url();
    let wl = wl.to_str().unwrap();

    // Two scans in March, outside the soldes.
    for (now, opened) in [
        ("2026-03-10T09:00:00+01:00", 1),
        ("2026-03-11T09:00:00+01:00", 0),
    ] {
        let out = vigie(
            tmp.path(),
            &[
                "scan",
                "--json",
                "--watchlists",
                wl,
                "--database",
                &db,
                "--smtp-url",
                &smtp_url,
                "--now",
                now,
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let s: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(s["observations"], PRODUCTS, "{s}");
        assert_eq!(s["findings"], opened, "{now}: {s}\n{}", stderr(&out));
    }

    // Exactly one finding: the shop's R1, and none for its products.
    let out = vigie(tmp.path(), &["findings", "--json", "--database", &db]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let findings: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule"], "R1");
    assert_eq!(f["scope"], "shop");
    assert_eq!(f["shop"], "Boutique Bannière");
    assert!(f["closed_at"].is_null(), "the banner is still there: {f}");
    assert!(
        f["url"].as_str().unwrap().contains("/produits/lampe-"),
        "the page it was seen on: {f}"
    );

    // One email to each subscriber of the shop's watched brand, quoting the
    // banner: the first scan's summary.
    let mails = smtp.mails();
    let to: BTreeSet<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(
        to,
        BTreeSet::from([
            "ana@lanterne.example".to_string(),
            "bruno@quais.example".to_string()
        ])
    );
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert_eq!(
            m.subject(),
            "[Vigie] Première lecture de Boutique Bannière : 1 constat"
        );
        let (_, text) = &m.bodies()[0];
        assert!(
            text.contains("- R1 — mot « soldes » hors période : 1"),
            "{text}"
        );
        assert!(text.contains("SOLDES"), "{text}");
    }

    // Its evidence bundle is the page it was seen on.
    let id = f["id"].as_i64().unwrap().to_string();
    let bundle = tmp.path().join("evidence");
    let out = vigie(
        tmp.path(),
        &[
            "evidence",
            &id,
            "--out",
            bundle.to_str().unwrap(),
            "--database",
            &db,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(bundle.join("page.html")).unwrap();
    assert!(page.contains("promo-banner"));
    server.abort();
}
