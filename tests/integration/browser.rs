//! The browser harness itself: a real headless Chromium fills and submits
//! a form served on loopback, and takes a phone-size screenshot.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;

use crate::support::browser::{Browser, BrowserSize, png_size};

const FORM: &str = r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alerte</title></head>
<body><form method="post" action="/alerts">
<label>Produit <input id="product" name="product"></label>
<label>Seuil <input id="threshold" name="threshold" inputmode="decimal"></label>
<button id="submit" type="submit">Créer l'alerte</button>
</form></body></html>"#;

/// What the form posted, as (name, value) pairs, one entry per POST.
type Posts = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// Serves the form at `/`, takes its POST at `/alerts` (then redirects to
/// `/done`, which sets a cookie and names what was posted); returns the
/// base URL.
async fn serve_form(posts: Posts) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/", get(|| async { Html(FORM) }))
        .route(
            "/alerts",
            axum::routing::post(|State(posts): State<Posts>, body: String| async move {
                let fields = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                posts.lock().unwrap().push(fields);
                Redirect::to("/done")
            }),
        )
        .route(
            "/done",
            get(|State(posts): State<Posts>| async move {
                let last = posts.lock().unwrap().last().cloned().unwrap_or_default();
                let text: Vec<String> = last.iter().map(|(k, v)| format!("{k}={v}")).collect();
                (
                    [(
                        header::SET_COOKIE,
                        "vigie_test=1; Path=/; HttpOnly; SameSite=Strict",
                    )],
                    Html(format!(
                        "<!doctype html><meta charset=utf-8><p id=result>Alerte créée : {}</p>",
                        html_escape::encode_text(&text.join(", "))
                    )),
                )
                    .into_response()
            }),
        )
        .with_state(posts);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_chromium_fills_and_submits_a_form_on_loopback_and_takes_a_phone_screenshot() {
    let started = Instant::now();
    let posts = Posts::default();
    let base = serve_form(posts.clone()).await;
    let Some(browser) = Browser::start(BrowserSize::Phone).await else {
        return;
    };
    let session = started.elapsed();

    browser.goto(&format!("{base}/")).await;
    browser.fill("#product", "Perceuse à percussion").await;
    browser.fill("#threshold", "79,90").await;
    browser.click("#submit").await;

    let result = browser.text("#result").await;
    assert_eq!(
        result,
        "Alerte créée : product=Perceuse à percussion, threshold=79,90"
    );
    assert_eq!(browser.current_url().await.as_str(), format!("{base}/done"));
    assert_eq!(
        *posts.lock().unwrap(),
        vec![vec![
            ("product".to_string(), "Perceuse à percussion".to_string()),
            ("threshold".to_string(), "79,90".to_string()),
        ]]
    );
    let cookies = browser.cookies().await;
    assert!(
        cookies
            .iter()
            .any(|c| c.name() == "vigie_test" && c.value() == "1" && c.http_only() == Some(true)),
        "{cookies:?}"
    );

    let png = browser.screenshot_png().await;
    let (width, height) = png_size(&png);
    let (css_width, css_height) = browser.size().css_pixels();
    let scale = browser.size().device_scale();
    assert_eq!(width, css_width * scale, "screenshot {width}×{height}");
    assert_eq!(height, css_height * scale, "screenshot {width}×{height}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.png");
    browser.save_screenshot(&path).await;
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));

    browser.quit().await;
    eprintln!(
        "browser test: session in {session:?}, whole test in {:?}",
        started.elapsed()
    );
}
