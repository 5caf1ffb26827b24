//! The console, for real: `vigie serve` over a database filled by real
//! scans of a loopback shop, a real SMTP server on loopback, and a real
//! headless Chromium driving the pages as the operator and a retailer do.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::support::browser::{Browser, BrowserSize};
use crate::support::{
    Process, Shop, SmtpServer, command, sqlite_url, stderr, stdout, vigie, watchlist,
};

/// The operator's token in these tests.
const TOKEN: &str = "test-operator-token-0123456789";
/// The product whose name carries markup.
const SCRIPT_NAME: &str = "Lampe <script>alert('x')</script> Opaline";

/// (sku, name, brand, regular price in cents).
const PRODUCTS: [(&str, &str, &str, i64); 3] = [
    ("ML-1", SCRIPT_NAME, "Maison Lumière", 18900),
    ("ML-2", "Applique Laiton", "Maison Lumière", 24500),
    ("AB-1", "Plaid Alpaga", "Atelier Brume", 15900),
];

/// The price shown on a day: (price, crossed-out price).
fn price_on(sku: &str, regular: i64, day: u32) -> (i64, Option<i64>) {
    let off = |pct: i64| (regular * (100 - pct) / 100, Some(regular));
    match (sku, day) {
        ("ML-1", 2) | ("AB-1", 2) | ("ML-2", 3) => off(20),
        ("ML-1", 3) | ("AB-1", 3) | ("ML-2", 4) => off(30),
        ("ML-1", d) | ("AB-1", d) if d >= 4 => off(40),
        _ => (regular, None),
    }
}

/// A small shop on loopback whose prices follow [`price_on`].
struct TestShop {
    base: String,
    day: Arc<AtomicU32>,
}

async fn product(
    State((day, base)): State<(Arc<AtomicU32>, String)>,
    UrlPath(sku): UrlPath<String>,
) -> axum::response::Response {
    let Some((sku, name, brand, regular)) = PRODUCTS.iter().find(|p| p.0 == sku) else {
        return (axum::http::StatusCode::NOT_FOUND, "no").into_response();
    };
    let (price, reference) = price_on(sku, *regular, day.load(Ordering::SeqCst));
    let eur = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    let mut offer = serde_json::json!({
        "@type": "Offer", "url": format!("{base}/p/{sku}"), "price": eur(price),
        "priceCurrency": "EUR", "availability": "https://schema.org/InStock",
    });
    if let Some(r) = reference {
        offer["priceSpecification"] = serde_json::json!([{
            "@type": "UnitPriceSpecification",
            "priceType": "https://schema.org/StrikethroughPrice",
            "price": eur(r), "priceCurrency": "EUR"
        }]);
    }
    let data = serde_json::json!({
        "@context": "https://schema.org", "@type": "Product", "name": name,
        "brand": {"@type": "Brand", "name": brand}, "sku": sku, "offers": offer,
    });
    let json = data.to_string().replace("</", "<\\/");
    let fr = |m: i64| format!("{},{:02} €", m / 100, m % 100);
    let shown = match reference {
        Some(r) => format!(
            "<p class=\"prix\"><del>{}</del> <ins>{}</ins></p>",
            fr(r),
            fr(price)
        ),
        None => format!("<p class=\"prix\">{}</p>", fr(price)),
    };
    let escaped = name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    axum::response::Html(format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{escaped}</title></head><body>\
         <main><script type=\"application/ld+json\">{json}</script><article><h1>{escaped}</h1>\
         <p class=\"marque\">{brand}</p>{shown}</article></main></body></html>"
    ))
    .into_response()
}

impl TestShop {
    async fn start() -> TestShop {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let day = Arc::new(AtomicU32::new(1));
        let sitemap: String = PRODUCTS
            .iter()
            .map(|p| format!("<url><loc>{base}/p/{}</loc></url>", p.0))
            .collect();
        let sitemap = format!(
            "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{sitemap}</urlset>"
        );
        let robots = format!("User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n");
        let app = Router::new()
            .route(
                "/robots.txt",
                axum::routing::get(move || async move { robots }),
            )
            .route(
                "/sitemap.xml",
                axum::routing::get(move || async move {
                    ([("content-type", "application/xml")], sitemap)
                }),
            )
            .route("/p/{sku}", axum::routing::get(product))
            .with_state((day.clone(), base.clone()));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestShop { base, day }
    }
}

const SUBSCRIBERS: &str = r#"
[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Atelier Brume"

[[subscriber]]
name = "Ana"
email = "ana@lanterne.example"
brands = ["Maison Lumière"]

[[subscriber]]
name = "Bruno"
email = "bruno@quais.example"
brands = ["Maison Lumière", "Atelier Brume"]
"#;

/// Everything a console test needs: the shop, the mail server, the
/// database and a running `vigie serve`.
struct Setup {
    tmp: tempfile::TempDir,
    shop: TestShop,
    smtp: SmtpServer,
    db: String,
    console: String,
    _serve: Process,
}

impl Setup {
    async fn start() -> Setup {
        let shop = TestShop::start().await;
        let smtp = SmtpServer::start();
        let tmp = tempfile::tempdir().unwrap();
        let text = format!(
            "{}{SUBSCRIBERS}",
            Shop::new("Boutique Test", &shop.base, 20.0)
        );
        watchlist(tmp.path(), "collectif.toml", &text);
        let db = sqlite_url(tmp.path(), "vigie.db");
        let port = SmtpServer::free_port();
        let console = format!("http://127.0.0.1:{port}");
        // The database exists (migrated) before the console opens it.
        let out = vigie(tmp.path(), &["--database", &db, "migrate"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let mut cmd = command(
            tmp.path(),
            &[
                "--database",
                &db,
                "--watchlists",
                "watchlists",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--public-url",
                &console,
            ],
        );
        cmd.env("VIGIE_OPERATOR_TOKEN", TOKEN);
        let serve = Process::start(cmd, tmp.path(), "serve");
        let client = reqwest::Client::new();
        let mut up = false;
        for _ in 0..100 {
            if client
                .get(format!("{console}/healthz"))
                .send()
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "vigie serve did not start\n{}", serve.log_text());
        Setup {
            tmp,
            shop,
            smtp,
            db,
            console,
            _serve: serve,
        }
    }

    /// `vigie scan` on `day` (10 March 2026 + day), with the console's URL.
    async fn scan(&self, day: u32) -> Value {
        self.shop.day.store(day, Ordering::SeqCst);
        let now = format!("2026-03-{:02}T09:00:00+01:00", 9 + day);
        let mut cmd = command(
            self.tmp.path(),
            &[
                "--database",
                &self.db,
                "--watchlists",
                "watchlists",
                "--smtp-url",
                &self.smtp.url(),
                "scan",
                "--json",
                "--now",
                &now,
            ],
        );
        cmd.env("VIGIE_PUBLIC_URL", &self.console);
        let out = tokio::process::Command::from(cmd).output().await.unwrap();
        assert!(out.status.success(), "scan day {day}: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    /// `vigie outbox --json`: every row.
    async fn outbox(&self) -> Vec<Value> {
        let out = vigie(
            self.tmp.path(),
            &[
                "--database",
                &self.db,
                "outbox",
                "--json",
                "--limit",
                "1000",
            ],
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    fn mails_to(&self, who: &str) -> Vec<crate::support::smtp::ReceivedMail> {
        self.smtp
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains(who)))
            .collect()
    }

    /// A client that follows no redirect (the tests check them).
    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in over HTTP; the session cookie.
    async fn session(&self) -> String {
        let r = Self::http()
            .post(format!("{}/signin", self.console))
            .form(&[("secret", TOKEN), ("next", "/findings")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_string()
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut rq = Self::http().get(format!("{}{path}", self.console));
        if let Some(c) = cookie {
            rq = rq.header("cookie", c);
        }
        rq.send().await.unwrap()
    }
}

/// The first URL in `text` containing `needle`.
fn url_in(text: &str, needle: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        .find(|w| w.starts_with("http") && w.contains(needle))
        .map(|w| w.trim_end_matches(['.', ',', ')']).replace("&amp;", "&"))
}

fn text_body(m: &crate::support::smtp::ReceivedMail) -> String {
    m.bodies()
        .into_iter()
        .find(|(t, _)| t == "text/plain")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

/// The finding ids of a findings page.
fn finding_ids(html: &str) -> Vec<i64> {
    html.split("data-finding=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_pages_refuse_strangers_forgeries_and_markup() {
    let s = Setup::start().await;
    s.scan(1).await;
    let day2 = s.scan(2).await;
    assert_eq!(day2["findings"], 2, "{day2}");

    // Without a session, the operator's pages send to the sign-in page.
    for path in [
        "/findings",
        "/findings/1",
        "/products/1",
        "/shops",
        "/brands",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status(), 303, "{path}");
        let to = r.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/signin?next="), "{path} → {to}");
    }
    // A wrong secret is refused; the right one opens a session.
    let r = Setup::http()
        .post(format!("{}/signin", s.console))
        .form(&[("secret", "wrong-secret-wrong-secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let cookie = s.session().await;

    // Every page carries the strict headers.
    let r = s.get("/findings", Some(&cookie)).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let list = r.text().await.unwrap();

    // A product name carrying <script> shows as text on every page.
    let listed = finding_ids(&list);
    let findings: Vec<Value> = serde_json::from_str(&stdout(
        &vigie(s.tmp.path(), &["--database", &s.db, "findings", "--json"]).await,
    ))
    .unwrap();
    let lamp_finding = findings
        .iter()
        .find(|f| {
            f["product_name"]
                .as_str()
                .is_some_and(|n| n.contains("<script>"))
        })
        .unwrap_or_else(|| panic!("no lamp finding in {findings:?}"));
    let lamp_id = lamp_finding["id"].as_i64().unwrap();
    // The open list shows the two findings the scan opened, the lamp's among them.
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&lamp_id), "{listed:?}");
    let brand_path = format!("/brands/{}/dossier", urlencode("Maison Lumière"));
    for path in [
        "/findings".to_string(),
        format!("/findings/{lamp_id}"),
        format!("/products/{}", lamp_finding["product_id"].as_i64().unwrap()),
        brand_path,
    ] {
        let page = s.get(&path, Some(&cookie)).await.text().await.unwrap();
        assert!(
            page.contains("&lt;script&gt;alert("),
            "{path} does not show the name as text"
        );
        assert!(
            !page.contains("<script>alert("),
            "{path} lets the markup through"
        );
        assert!(
            !page.to_ascii_lowercase().contains("<script"),
            "{path} has a script"
        );
    }

    // A form posted without its CSRF token is refused.
    let r = Setup::http()
        .post(format!("{}/findings/{lamp_id}/dismiss", s.console))
        .header("cookie", &cookie)
        .form(&[("reason", "no token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = s
        .get(&format!("/findings/{lamp_id}"), Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("class=\"dismissed\"") && page.contains("id=\"dismiss\""),
        "the refused form dismissed nothing"
    );

    // A retailer's link: valid, tampered with, expired.
    let mail = s.mails_to("bruno@").pop().expect("a mail to Bruno");
    let manage = url_in(&text_body(&mail), "/my/").expect("a my-alerts link in the e-mail");
    let path = manage.trim_start_matches(&s.console).to_string();
    assert_eq!(s.get(&path, None).await.status(), 200);
    let tampered = format!("{}A", &path[..path.len() - 1]);
    let tampered = if tampered == path {
        format!("{}B", &path[..path.len() - 1])
    } else {
        tampered
    };
    let r = s.get(&tampered, None).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text().await.unwrap().contains("lien"),
        "the refusal says why"
    );
    let key: Vec<u8> = {
        let pool = sqlx::SqlitePool::connect(&s.db).await.unwrap();
        let row: (Vec<u8>,) = sqlx::query_as("SELECT key FROM console_keys WHERE name = 'link'")
            .fetch_one(&pool)
            .await
            .unwrap();
        row.0
    };
    let links = vigie::notify::links::Links::new(None, key);
    let old = chrono::Utc::now() - chrono::Duration::days(61);
    let expired = links.token(
        vigie::notify::links::LinkPurpose::Manage,
        "bruno@quais.example",
        0,
        old,
    );
    assert_eq!(s.get(&format!("/my/{expired}"), None).await.status(), 403);
    let fresh = links.token(
        vigie::notify::links::LinkPurpose::Manage,
        "bruno@quais.example",
        0,
        chrono::Utc::now(),
    );
    assert_eq!(s.get(&format!("/my/{fresh}"), None).await.status(), 200);
    // An address in no watchlist has no page, even with a signed link.
    let stranger = links.token(
        vigie::notify::links::LinkPurpose::Manage,
        "eve@elsewhere.example",
        0,
        chrono::Utc::now(),
    );
    assert_eq!(s.get(&format!("/my/{stranger}"), None).await.status(), 403);
    // A finding's link in an e-mail opens it for a brand the retailer
    // follows, and for no other brand.
    let ana_mail = s.mails_to("ana@").pop().expect("a mail to Ana");
    let ana_link = url_in(&text_body(&ana_mail), "/findings/").expect("a finding link");
    let page = s.get(ana_link.trim_start_matches(&s.console), None).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("id=\"dismiss\""),
        "a retailer cannot dismiss"
    );
    let token = ana_link.split("?t=").nth(1).unwrap();
    let plaid = findings
        .iter()
        .find(|f| f["brand"] == "Atelier Brume")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        s.get(&format!("/findings/{plaid}?t={token}"), None)
            .await
            .status(),
        403
    );

    // The operator revokes Ana's links: the link of her e-mail is refused.
    let out = vigie(
        s.tmp.path(),
        &[
            "--database",
            &s.db,
            "subscribers",
            "--revoke-links",
            "ana@lanterne.example",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let r = s.get(ana_link.trim_start_matches(&s.console), None).await;
    assert_eq!(r.status(), 403);

    // The brand dossier prints to PDF where a Chromium is installed.
    let pdf = s
        .get(
            &format!("/brands/{}/dossier.pdf", urlencode("Maison Lumière")),
            Some(&cookie),
        )
        .await;
    if vigie::console::pdf::chromium_path().is_some() {
        assert_eq!(pdf.status(), 200);
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    }

    // The retailer's form without its token is refused too.
    let r = Setup::http()
        .post(&manage)
        .form(&[("action", "unsubscribe")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Sign-in attempts are limited per address: a guesser is slowed down.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = Setup::http()
            .post(format!("{}/signin", s.console))
            .form(&[("secret", "guess-guess-guess-guess")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Waits until the element `css` shows `needle` (a page reloading in the
/// meantime is waited for).
async fn wait_text(b: &Browser, css: &str, needle: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = b.client().find(fantoccini::Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(needle) {
                return;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} shows {last:?}, not {needle:?}");
}

/// Waits until the browser's URL contains `part`.
async fn wait_url(b: &Browser, part: &str) {
    for _ in 0..100 {
        if b.current_url().await.as_str().contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the browser is on {}, not on …{part}…",
        b.current_url().await
    );
}

/// Waits until the browser is on `path` (a form's redirect takes a moment).
async fn wait_path(b: &Browser, path: &str) {
    for _ in 0..100 {
        if b.current_url().await.path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser is on {}, not {path}", b.current_url().await);
}

/// Saves a phone screenshot into `VIGIE_SCREENSHOT_DIR` when it is set
/// (the README's pictures are made this way).
async fn keep_screenshot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("VIGIE_SCREENSHOT_DIR") {
        b.save_screenshot(&Path::new(&dir).join(name)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_and_a_retailer_use_the_console_in_a_real_browser() {
    let s = Setup::start().await;
    s.scan(1).await;
    s.scan(2).await;
    let Some(b) = Browser::start(BrowserSize::Phone).await else {
        return;
    };

    // Sign in.
    b.goto(&format!("{}/findings", s.console)).await;
    assert!(b.current_url().await.path().starts_with("/signin"));
    b.fill("input[name=secret]", TOKEN).await;
    b.click("form.stack button[type=submit]").await;
    wait_path(&b, "/findings").await;
    assert_eq!(b.text("#total").await, "2");
    keep_screenshot(&b, "console-findings.png").await;

    // Filter on a brand.
    let select = b.find("select[name=brand]").await;
    select.select_by_value("Atelier Brume").await.unwrap();
    b.click("form.filters button[type=submit]").await;
    wait_url(&b, "brand=Atelier").await;
    assert_eq!(b.text("#total").await, "1");
    assert!(b.text("#findings").await.contains("Plaid Alpaga"));

    // Open the lamp's finding: its chart has one marker per observation.
    b.goto(&format!(
        "{}/findings?brand={}",
        s.console,
        urlencode("Maison Lumière")
    ))
    .await;
    b.click("#findings li a").await;
    wait_url(&b, "/findings/").await;
    let finding_path = b.current_url().await.path().to_string();
    let id: i64 = finding_path.rsplit('/').next().unwrap().parse().unwrap();
    let markers = b
        .client()
        .find_all(fantoccini::Locator::Css(
            "svg.price-chart g.observations circle",
        ))
        .await
        .unwrap();
    assert_eq!(markers.len(), 2, "two scans observed the lamp");
    let chart = b.find("svg.price-chart").await.html(false).await.unwrap();
    assert!(
        chart.contains("data-price-minor=\"15120\""),
        "the discounted price is a point"
    );
    keep_screenshot(&b, "console-finding.png").await;

    // Download its evidence and check the page's SHA-256.
    let shown_sha = b.text("#body-sha256").await;
    let href = b
        .find("#evidence-download")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = b
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name() == "vigie_session")
        .map(|c| format!("vigie_session={}", c.value()))
        .expect("a session cookie");
    let tar_bytes = s.get(&href, Some(&cookie)).await.bytes().await.unwrap();
    let mut archive = tar::Archive::new(tar_bytes.as_ref());
    let mut page = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("page.html") {
            std::io::Read::read_to_end(&mut entry, &mut page).unwrap();
        }
    }
    assert!(!page.is_empty(), "the bundle holds the page");
    assert_eq!(vigie::store::sha256_hex(&page), shown_sha);

    // Dismiss it: gone from the open list, counted in /metrics.
    b.fill("#dismiss input[name=reason]", "lecture erronée")
        .await;
    b.click("#dismiss button[type=submit]").await;
    wait_text(&b, "#state", "dismissed").await;
    assert_eq!(b.current_url().await.path(), finding_path);
    b.goto(&format!("{}/findings", s.console)).await;
    let list = b.find("main").await.html(false).await.unwrap();
    assert!(
        !finding_ids(&list).contains(&id),
        "dismissed, not open any more"
    );
    let metrics = s.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("vigie_findings_dismissed{rule=\"R3\"} 1"),
        "{metrics}"
    );

    // Bruno follows his e-mail's link: drops Atelier Brume, daily digest.
    let mail = s.mails_to("bruno@").pop().expect("a mail to Bruno");
    let manage = url_in(&text_body(&mail), "/my/").expect("a my-alerts link");
    b.goto(&manage).await;
    keep_screenshot(&b, "console-my-alerts.png").await;
    b.click("input[name=brand][value='Atelier Brume']").await;
    b.click("input[name=delivery][value=daily]").await;
    b.click("#prefs button[type=submit]").await;
    wait_url(&b, "saved=1").await;
    assert!(b.find("p.ok").await.text().await.unwrap().len() > 3);
    let subs = vigie(
        s.tmp.path(),
        &["--database", &s.db, "subscribers", "--json"],
    )
    .await;
    let subs: Value = serde_json::from_str(&stdout(&subs)).unwrap();
    let bruno = subs
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "bruno@quais.example")
        .unwrap();
    assert_eq!(
        bruno["brands"],
        serde_json::json!(["Maison Lumière"]),
        "{bruno}"
    );

    // The next scan routes accordingly: no row for the dropped brand,
    // daily rows for the other.
    let before: Vec<i64> = s
        .outbox()
        .await
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    s.scan(3).await;
    let new: Vec<Value> = s
        .outbox()
        .await
        .into_iter()
        .filter(|r| !before.contains(&r["id"].as_i64().unwrap()))
        .collect();
    let bruno_rows: Vec<&Value> = new
        .iter()
        .filter(|r| r["email"] == "bruno@quais.example")
        .collect();
    assert!(!bruno_rows.is_empty(), "{new:?}");
    assert!(
        bruno_rows.iter().all(|r| r["brand"] == "Maison Lumière"),
        "{bruno_rows:?}"
    );
    assert!(
        bruno_rows.iter().all(|r| r["digest"] == "daily"),
        "{bruno_rows:?}"
    );

    // Ana unsubscribes in one click from her e-mail's header.
    let mail = s.mails_to("ana@").pop().expect("a mail to Ana");
    let header = mail.header("List-Unsubscribe").join(",");
    assert!(!mail.header("List-Unsubscribe-Post").is_empty());
    let unsubscribe = url_in(&header, "/unsubscribe/").expect("an https/http unsubscribe link");
    let r = Setup::http()
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent_to_ana = s.mails_to("ana@").len();
    s.scan(4).await;
    assert_eq!(s.mails_to("ana@").len(), sent_to_ana, "nothing more to Ana");
    assert!(
        s.outbox()
            .await
            .iter()
            .all(|r| r["email"] != "ana@lanterne.example" || r["status"] != "pending"),
        "nothing waits for Ana"
    );
    b.quit().await;
}
