//! The shops page, the brands and a brand's printable dossier.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::text::{self, Texts};
use super::{Console, Frame, Problem, html, money, operator_frame, urlencode, when};
use crate::domain::Language;
use crate::store::{FindingQuery, FindingRow, FindingState};

/// Findings a dossier lists at most (the newest).
const DOSSIER_MAX: i64 = 500;

/// One shop's line.
struct ShopLine {
    name: String,
    href: String,
    last_scan: String,
    failed: Option<String>,
    next_run: String,
    pages: String,
    unchanged: String,
    errors: String,
    robots: String,
    response: String,
    findings: String,
}

#[derive(Template)]
#[template(path = "console/shops.html")]
struct ShopsPage {
    f: Frame,
    rows: Vec<ShopLine>,
}

fn lang(t: &Texts) -> Language {
    if t.lang == "en" {
        Language::En
    } else {
        Language::Fr
    }
}

/// `GET /shops`: each shop's last scan, next scheduled run, pages read,
/// errors, robots.txt refusals and mean response time.
pub(crate) async fn shops(
    State(c): State<Console>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let f = operator_frame(&c, &headers, "", "/shops")?;
    let t = f.t;
    let l = lang(t);
    let scans = c
        .store()
        .latest_shop_scans()
        .await
        .map_err(|e| Problem::Store(t, e))?;
    let now = Utc::now();
    let rows =
        c.0.catalog
            .shops
            .iter()
            .map(|shop| {
                let next_run = shop
                    .schedule
                    .as_ref()
                    .and_then(|s| s.in_zone(chrono_tz::Europe::Paris).next_after(now))
                    .map_or_else(|| t.manual.to_string(), |n| when(n, l));
                let href = format!("/findings?shop={}", urlencode(&shop.name));
                match scans.iter().find(|s| s.shop == shop.name) {
                    None => ShopLine {
                        name: shop.name.clone(),
                        href,
                        last_scan: t.never.into(),
                        failed: None,
                        next_run,
                        pages: "—".into(),
                        unchanged: "—".into(),
                        errors: "—".into(),
                        robots: "—".into(),
                        response: "—".into(),
                        findings: "—".into(),
                    },
                    Some(s) => ShopLine {
                        name: shop.name.clone(),
                        href,
                        last_scan: when(s.finished_at, l),
                        failed: s.failed.clone(),
                        next_run,
                        pages: s.pages_fetched.to_string(),
                        unchanged: s.pages_unchanged.to_string(),
                        errors: s.errors.to_string(),
                        robots: s.robots_refused.to_string(),
                        response: s
                            .response_ms_avg
                            .map_or_else(|| "—".into(), |ms| format!("{ms:.0} ms")),
                        findings: s.findings.to_string(),
                    },
                }
            })
            .collect();
    let page = ShopsPage {
        f: Frame {
            title: t.shops.into(),
            ..f
        },
        rows,
    };
    Ok(html(&page).into_response())
}

/// One brand's line.
struct BrandLine {
    name: String,
    open: i64,
    findings: String,
    dossier: String,
}

#[derive(Template)]
#[template(path = "console/brands.html")]
struct BrandsPage {
    f: Frame,
    rows: Vec<BrandLine>,
}

/// `GET /brands`: each watched brand, its open findings and its dossier.
pub(crate) async fn brands(
    State(c): State<Console>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let f = operator_frame(&c, &headers, "", "/brands")?;
    let t = f.t;
    let mut rows = Vec::new();
    for b in &c.0.catalog.brands {
        let q = FindingQuery {
            brand: Some(b.name.clone()),
            state: Some(FindingState::Open),
            limit: 1,
            ..FindingQuery::default()
        };
        let open = c
            .store()
            .findings_page(&q)
            .await
            .map_err(|e| Problem::Store(t, e))?
            .total;
        rows.push(BrandLine {
            name: b.name.clone(),
            open,
            findings: format!("/findings?brand={}", urlencode(&b.name)),
            dossier: format!("/brands/{}/dossier", urlencode(&b.name)),
        });
    }
    let page = BrandsPage {
        f: Frame {
            title: t.brands.into(),
            ..f
        },
        rows,
    };
    Ok(html(&page).into_response())
}

/// One finding in a dossier.
struct Entry {
    id: i64,
    rule: String,
    shop: String,
    facts: Vec<(&'static str, String)>,
    plain: &'static str,
}

#[derive(Template)]
#[template(path = "console/dossier.html")]
struct DossierPage {
    t: &'static Texts,
    brand: String,
    generated: String,
    pdf: Option<String>,
    /// The stylesheets inlined (the PDF is printed from a file, offline).
    inline_css: Option<String>,
    entries: Vec<Entry>,
}

async fn entry(c: &Console, f: &FindingRow, t: &'static Texts) -> Entry {
    let l = lang(t);
    let mut facts = vec![(
        t.product,
        f.product_name.clone().unwrap_or_else(|| t.no_name.into()),
    )];
    if !f.is_shop_level() {
        facts.push((t.price, money(f.price_minor, &f.currency, l)));
    }
    if let Some(r) = f.reference_minor {
        facts.push((t.reference, money(r, &f.currency, l)));
    }
    if let Some(p) = f.percent {
        facts.push((t.reduction, format!("−{p} %")));
    }
    facts.push((t.severity, text::severity_word(f.severity, l).to_string()));
    facts.push((t.opened, when(f.opened_at, l)));
    facts.push((t.last_seen, when(f.last_seen_at, l)));
    facts.push((t.page, f.url.clone()));
    facts.push((t.basis, f.legal_basis.clone()));
    facts.push((t.calendar, f.calendar.clone()));
    if let Some(eid) = f.evidence_id
        && let Ok(Some(ev)) = c.store().evidence(eid).await
    {
        facts.push((t.page_sha, ev.body_sha256.clone()));
        facts.push((t.chain_hash, ev.hash.clone()));
    }
    Entry {
        id: f.id,
        rule: format!("{} — {}", f.rule, text::rule_title(f.rule, l)),
        shop: f.shop.clone(),
        facts,
        plain: text::rule_plain(f.rule, l),
    }
}

async fn dossier_view(
    c: &Console,
    t: &'static Texts,
    brand: &str,
    for_pdf: bool,
) -> Result<DossierPage, Problem> {
    if !c.0.catalog.brands.iter().any(|b| b.name == brand) {
        return Err(Problem::Message(StatusCode::NOT_FOUND, t, t.not_found));
    }
    let q = FindingQuery {
        brand: Some(brand.to_string()),
        state: Some(FindingState::Open),
        limit: DOSSIER_MAX,
        ..FindingQuery::default()
    };
    let page = c
        .store()
        .findings_page(&q)
        .await
        .map_err(|e| Problem::Store(t, e))?;
    let mut entries = Vec::with_capacity(page.rows.len());
    for f in &page.rows {
        entries.push(entry(c, f, t).await);
    }
    Ok(DossierPage {
        t,
        brand: brand.to_string(),
        generated: when(Utc::now(), lang(t)),
        pdf: (!for_pdf && super::pdf::chromium_path().is_some())
            .then(|| format!("/brands/{}/dossier.pdf", urlencode(brand))),
        inline_css: for_pdf.then(|| {
            format!(
                "{}\n{}",
                include_str!("../../templates/console/console.css"),
                include_str!("../../templates/console/print.css")
            )
        }),
        entries,
    })
}

/// `GET /brands/{brand}/dossier`: a printable page of the brand's open
/// findings, with figures, legal basis and evidence hashes, and the
/// competition-law notice.
pub(crate) async fn dossier(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(brand): Path<String>,
) -> Result<Response, Problem> {
    let f = operator_frame(
        &c,
        &headers,
        "",
        &format!("/brands/{}/dossier", urlencode(&brand)),
    )?;
    let page = dossier_view(&c, f.t, &brand, false).await?;
    Ok(html(&page).into_response())
}

/// `GET /brands/{brand}/dossier.pdf`: the dossier printed by a headless
/// Chromium, from a file (the browser reaches no server).
pub(crate) async fn dossier_pdf(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(brand): Path<String>,
) -> Result<Response, Problem> {
    let f = operator_frame(
        &c,
        &headers,
        "",
        &format!("/brands/{}/dossier", urlencode(&brand)),
    )?;
    let t = f.t;
    let page = dossier_view(&c, t, &brand, true).await?;
    let html_text = html(&page).0;
    let pdf = super::pdf::print_html_to_pdf(&html_text)
        .await
        .map_err(|e| {
            tracing::warn!("dossier PDF: {e}");
            Problem::Message(StatusCode::SERVICE_UNAVAILABLE, t, t.print_hint)
        })?;
    let name: String = brand
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"dossier-{name}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
