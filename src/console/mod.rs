//! The console: findings, price history and evidence in a browser for the
//! operator, and "my alerts" for each retailer, served by `vigie serve`
//! (and by the daemon and workers given `--listen`).
//!
//! Safe by construction: every page is an askama template that escapes
//! what it prints; every form carries a CSRF token; every answer carries a
//! strict Content-Security-Policy (no script at all, styles from the
//! console only); the pages kept as evidence are only ever downloaded,
//! never served as a page; the operator's pages answer 303 to the sign-in
//! page without a session.

pub mod auth;
pub mod chart;
mod findings;
pub mod listen;
pub mod pdf;
mod retailer;
mod shops;
pub mod text;

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::domain::Language;
use crate::metrics::Metrics;
use crate::notify::links::Links;
use crate::store::{Store, StoreError};
use auth::{OperatorSecret, SESSION_COOKIE, Sessions, SignInLimiter};
use text::Texts;

/// What the console needs besides the store and the watchlists.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// The console's public URL (links in e-mails; https makes cookies Secure).
    pub public_url: Option<url::Url>,
    /// The operator's secret; `None`: no one can sign in.
    pub operator: Option<OperatorSecret>,
}

/// The console's shared state; cheap to clone.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    links: Links,
    sessions: Sessions,
    operator: Option<OperatorSecret>,
    limiter: SignInLimiter,
    metrics: Metrics,
}

impl Console {
    /// The console over `store` and the watchlists, its keys read from
    /// (or created in) the database.
    pub async fn new(
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        config: ConsoleConfig,
        metrics: Metrics,
    ) -> Result<Console, StoreError> {
        let links = Links::from_store(store.as_ref(), config.public_url.clone()).await?;
        let key = store
            .console_key("session", &crate::notify::links::random_key()?)
            .await?;
        let secure = config
            .public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https");
        Ok(Console(Arc::new(Inner {
            store,
            catalog,
            links,
            sessions: Sessions::new(key, secure),
            operator: config.operator,
            limiter: SignInLimiter::default(),
            metrics,
        })))
    }

    /// Every page, `/healthz` and `/metrics`, with the security headers.
    pub fn router(&self) -> Router {
        let pages = Router::new()
            .route("/", get(|| async { Redirect::to("/findings") }))
            .route("/static/console.css", get(css))
            .route("/static/print.css", get(print_css))
            .route("/signin", get(signin_page).post(signin))
            .route("/signout", post(signout))
            .route("/findings", get(findings::list))
            .route("/findings/{id}", get(findings::show))
            .route("/findings/{id}/dismiss", post(findings::dismiss))
            .route("/findings/{id}/evidence.tar", get(findings::evidence))
            .route("/products/{id}", get(findings::product))
            .route("/shops", get(shops::shops))
            .route("/brands", get(shops::brands))
            .route("/brands/{brand}/dossier", get(shops::dossier))
            .route("/brands/{brand}/dossier.pdf", get(shops::dossier_pdf))
            .route("/my/{token}", get(retailer::page).post(retailer::save))
            .route(
                "/unsubscribe/{token}",
                get(retailer::unsubscribe_page).post(retailer::unsubscribe),
            )
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(not_found)
            .with_state(self.clone());
        pages.layer(axum::middleware::map_response(security_headers))
    }

    fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    /// The operator's session cookie, when valid.
    fn session<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        auth::cookie(headers, SESSION_COOKIE).filter(|v| self.0.sessions.valid(v, Utc::now()))
    }
}

/// The strict headers every answer carries: no script may run, styles come
/// from the console, nothing frames it, and no referrer leaks a link.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    r
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/console/console.css"),
    )
}

async fn print_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/console/print.css"),
    )
}

/// `/metrics`, with the dismissals per rule read from the database.
async fn metrics(State(c): State<Console>) -> Response {
    match c.store().dismissals_by_rule().await {
        Ok(rows) => c.0.metrics.dismissals(&rows),
        Err(e) => tracing::warn!("cannot count dismissals: {}", crate::domain::Chain(&e)),
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        c.0.metrics.render(),
    )
        .into_response()
}

/// The parts every page's layout shows.
pub(crate) struct Frame {
    pub(crate) t: &'static Texts,
    pub(crate) title: String,
    /// Whether the operator's navigation is shown.
    pub(crate) operator: bool,
    /// The CSRF token of the page's forms.
    pub(crate) csrf: String,
}

/// A page or a refusal.
pub(crate) enum Problem {
    /// 303 to the sign-in page, back to `next` after.
    SignIn(String),
    /// A page saying why, with its status.
    Message(StatusCode, &'static Texts, &'static str),
    /// The store failed (logged; the page says only that something failed).
    Store(&'static Texts, StoreError),
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match self {
            Problem::SignIn(next) => {
                let to = format!("/signin?next={}", urlencode(&next));
                Redirect::to(&to).into_response()
            }
            Problem::Message(status, t, message) => {
                (status, message_page(t, t.failure_title(status), message)).into_response()
            }
            Problem::Store(t, e) => {
                tracing::error!("console: {}", crate::domain::Chain(&e));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    message_page(t, "500", t.failure),
                )
                    .into_response()
            }
        }
    }
}

impl Texts {
    fn failure_title(&self, status: StatusCode) -> &'static str {
        match status {
            StatusCode::NOT_FOUND => self.not_found,
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => self.forbidden,
            _ => "Vigie",
        }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    f: Frame,
    message: &'a str,
    back: Option<String>,
}

fn message_page(t: &'static Texts, title: &str, message: &str) -> axum::response::Html<String> {
    html(&MessagePage {
        f: Frame {
            t,
            title: title.to_string(),
            operator: false,
            csrf: String::new(),
        },
        message,
        back: None,
    })
}

/// Renders a template; a template that fails (it cannot, for these
/// types, but the error is handled) becomes a short error page.
pub(crate) fn html<T: Template>(t: &T) -> axum::response::Html<String> {
    match t.render() {
        Ok(s) => axum::response::Html(s),
        Err(e) => {
            tracing::error!("console: cannot render a page: {e}");
            axum::response::Html("<!doctype html><title>Vigie</title><p>error</p>".into())
        }
    }
}

/// The language a visitor's browser asks for.
pub(crate) fn browser_language(headers: &HeaderMap) -> Language {
    text::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The operator's page frame, or a 303 to the sign-in page.
pub(crate) fn operator_frame(
    c: &Console,
    headers: &HeaderMap,
    title: &str,
    here: &str,
) -> Result<Frame, Problem> {
    let Some(session) = c.session(headers) else {
        return Err(Problem::SignIn(here.to_string()));
    };
    Ok(Frame {
        t: text::texts(browser_language(headers)),
        title: title.to_string(),
        operator: true,
        csrf: c.0.sessions.csrf(session),
    })
}

/// Checks the operator's session and the form's CSRF token.
pub(crate) fn operator_post(
    c: &Console,
    headers: &HeaderMap,
    csrf: &str,
    here: &str,
) -> Result<&'static Texts, Problem> {
    let t = text::texts(browser_language(headers));
    let Some(session) = c.session(headers) else {
        return Err(Problem::SignIn(here.to_string()));
    };
    if !c.0.sessions.csrf_ok(session, csrf) {
        return Err(Problem::Message(StatusCode::FORBIDDEN, t, t.bad_form));
    }
    Ok(t)
}

/// Percent-encodes a query value or a path segment (a space is `%20`,
/// which both read as a space).
pub(crate) fn urlencode(s: &str) -> String {
    // The form encoding writes a space as `+` and a `+` as `%2B`: every `+`
    // left is a space.
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A price for people: `129,90 €` in French, `€129.90` in English.
pub(crate) fn money(minor: i64, currency: &str, l: Language) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let (units, cents) = (minor.unsigned_abs() / 100, minor.unsigned_abs() % 100);
    match (l, currency) {
        (Language::Fr, "EUR") => format!("{sign}{units},{cents:02} €"),
        (Language::Fr, c) => format!("{sign}{units},{cents:02} {c}"),
        (Language::En, "EUR") => format!("{sign}€{units}.{cents:02}"),
        (Language::En, c) => format!("{sign}{units}.{cents:02} {c}"),
    }
}

/// A time for people, in Paris time.
pub(crate) fn when(t: DateTime<Utc>, l: Language) -> String {
    let local = t.with_timezone(&chrono_tz::Europe::Paris);
    match l {
        Language::Fr => local.format("%d/%m/%Y %H:%M").to_string(),
        Language::En => local.format("%Y-%m-%d %H:%M").to_string(),
    }
}

async fn not_found(headers: HeaderMap) -> Problem {
    let t = text::texts(browser_language(&headers));
    Problem::Message(StatusCode::NOT_FOUND, t, t.not_found)
}

/// `?next=` of the sign-in page.
#[derive(serde::Deserialize, Default)]
struct Next {
    #[serde(default)]
    next: String,
}

/// Only a path of the console itself may be returned to after sign-in.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/findings".into()
    }
}

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInPage {
    f: Frame,
    error: Option<&'static str>,
    configured: bool,
    next: String,
}

fn signin_view(
    c: &Console,
    headers: &HeaderMap,
    error: Option<&'static str>,
    next: &str,
) -> SignInPage {
    let t = text::texts(browser_language(headers));
    SignInPage {
        f: Frame {
            t,
            title: t.sign_in.into(),
            operator: false,
            csrf: String::new(),
        },
        error,
        configured: c.0.operator.is_some(),
        next: safe_next(next),
    }
}

async fn signin_page(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    html(&signin_view(&c, &headers, None, &q.next)).into_response()
}

#[derive(serde::Deserialize)]
struct SignInForm {
    secret: String,
    #[serde(default)]
    next: String,
}

/// Signs the operator in. The sign-in form needs no CSRF token: it grants
/// nothing to a forger (the session goes to whoever knows the secret),
/// and the cookie is SameSite=Strict.
async fn signin(
    State(c): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let t = text::texts(browser_language(&headers));
    if !c.0.limiter.allow(peer.ip()) {
        tracing::warn!(client = %peer.ip(), "sign-in refused: too many attempts");
        let page = signin_view(&c, &headers, Some(t.too_many), &form.next);
        return (StatusCode::TOO_MANY_REQUESTS, html(&page)).into_response();
    }
    let ok = c.0.operator.as_ref().is_some_and(|s| s.check(&form.secret));
    if !ok {
        tracing::warn!(client = %peer.ip(), "sign-in refused: wrong secret");
        let page = signin_view(&c, &headers, Some(t.wrong_password), &form.next);
        return (StatusCode::UNAUTHORIZED, html(&page)).into_response();
    }
    tracing::info!(client = %peer.ip(), "operator signed in");
    let session = c.0.sessions.issue(Utc::now());
    let mut r = Redirect::to(&safe_next(&form.next)).into_response();
    if let Ok(v) = HeaderValue::from_str(&c.0.sessions.set_cookie(&session)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(
    State(c): State<Console>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(p) = operator_post(&c, &headers, &form.csrf, "/findings") {
        return p.into_response();
    }
    let mut r = Redirect::to("/signin").into_response();
    if let Ok(v) = HeaderValue::from_str(&c.0.sessions.clear_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_as_people_write_them() {
        assert_eq!(money(12990, "EUR", Language::Fr), "129,90 €");
        assert_eq!(money(12990, "EUR", Language::En), "€129.90");
        assert_eq!(money(5, "CHF", Language::Fr), "0,05 CHF");
    }

    #[test]
    fn only_the_consoles_own_paths_are_returned_to() {
        assert_eq!(safe_next("/findings/3"), "/findings/3");
        assert_eq!(safe_next("//evil.example/"), "/findings");
        assert_eq!(safe_next("https://evil.example/"), "/findings");
        assert_eq!(safe_next("/\\evil"), "/findings");
    }
}
