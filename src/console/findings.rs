//! The findings list, a finding (facts, chart, evidence, dismissal), its
//! evidence bundle and a product's history.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::text::{self, Texts};
use super::{Console, Frame, Problem, html, money, operator_frame, operator_post, urlencode, when};
use crate::domain::calendar::Zone;
use crate::domain::{Language, Rule, Severity, StoredObservation};
use crate::notify::links::LinkPurpose;
use crate::store::{EvidenceRow, FindingQuery, FindingRow, FindingState};

/// Findings per page.
const PAGE: i64 = 50;
/// Observations listed under a chart (the chart shows them all).
const TABLE_ROWS: usize = 400;

/// One option of a `<select>`.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

fn choices<I: IntoIterator<Item = (String, String)>>(items: I, current: &str) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// The list's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    shop: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    severity: String,
    /// `open` (default), `closed`, `dismissed` or `all`.
    #[serde(default)]
    state: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The keyset cursor: `<unix micros>_<id>` of the last row shown.
    #[serde(default)]
    before: String,
}

impl ListQuery {
    fn state(&self) -> Option<FindingState> {
        match self.state.as_str() {
            "closed" => Some(FindingState::Closed),
            "dismissed" => Some(FindingState::Dismissed),
            "all" => None,
            _ => Some(FindingState::Open),
        }
    }

    fn to_query(&self) -> FindingQuery {
        let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let day = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|d| chrono_tz::Europe::Paris.from_local_datetime(&d).earliest())
                .map(|d| d.with_timezone(&Utc))
        };
        let before = self.before.split_once('_').and_then(|(t, id)| {
            let t = DateTime::from_timestamp_micros(t.parse().ok()?)?;
            Some((t, id.parse().ok()?))
        });
        FindingQuery {
            brand: nonempty(&self.brand),
            shop: nonempty(&self.shop),
            rule: self.rule.parse::<Rule>().ok(),
            severity: self.severity.parse::<Severity>().ok(),
            state: self.state(),
            opened_from: day(&self.from),
            opened_to: day(&self.to).map(|d| d + Duration::days(1)),
            product_id: None,
            before,
            limit: PAGE,
        }
    }

    /// This list's URL with another cursor.
    fn href(&self, before: Option<String>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("brand", &self.brand),
            ("shop", &self.shop),
            ("rule", &self.rule),
            ("severity", &self.severity),
            ("state", &self.state),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if let Some(b) = before {
            q.append_pair("before", &b);
        }
        let q = q.finish();
        if q.is_empty() {
            "/findings".to_string()
        } else {
            format!("/findings?{q}")
        }
    }
}

/// A finding in the list.
pub(crate) struct Row {
    id: i64,
    href: String,
    rule: String,
    severity: &'static str,
    severity_class: &'static str,
    product: String,
    shop: String,
    brand: String,
    opened: String,
    state: &'static str,
    state_class: &'static str,
    price: String,
    reference: Option<String>,
    percent: Option<i64>,
}

fn state_of(f: &FindingRow, t: &Texts) -> (&'static str, &'static str) {
    if f.dismissed_at.is_some() {
        (t.dismissed, "dismissed")
    } else if f.closed_at.is_some() {
        (t.closed, "closed")
    } else {
        (t.open, "open")
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Violation => "violation",
        Severity::Report => "report",
        Severity::Announced => "announced",
    }
}

fn product_label(f: &FindingRow, t: &Texts) -> String {
    if f.is_shop_level() {
        format!("{} ({})", f.shop, t.whole_shop)
    } else {
        f.product_name.clone().unwrap_or_else(|| t.no_name.into())
    }
}

fn row(f: &FindingRow, t: &Texts, l: Language) -> Row {
    let (state, state_class) = state_of(f, t);
    Row {
        id: f.id,
        href: format!("/findings/{}", f.id),
        rule: f.rule.to_string(),
        severity: text::severity_word(f.severity, l),
        severity_class: severity_class(f.severity),
        product: product_label(f, t),
        shop: f.shop.clone(),
        brand: f.brand.clone(),
        opened: when(f.opened_at, l),
        state,
        state_class,
        price: if f.is_shop_level() {
            String::new()
        } else {
            money(f.price_minor, &f.currency, l)
        },
        reference: f.reference_minor.map(|m| money(m, &f.currency, l)),
        percent: f.percent,
    }
}

#[derive(Template)]
#[template(path = "console/findings.html")]
struct ListPage {
    f: Frame,
    brands: Vec<Choice>,
    shops: Vec<Choice>,
    rules: Vec<Choice>,
    severities: Vec<Choice>,
    states: Vec<Choice>,
    from: String,
    to: String,
    total: i64,
    rows: Vec<Row>,
    first: Option<String>,
    next: Option<String>,
}

/// `GET /findings`: filter by brand, shop, rule, severity, state and
/// date; newest first; 50 a page.
pub(crate) async fn list(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let f = operator_frame(&c, &headers, "", &q.href(None))?;
    let t = f.t;
    let l = lang(t);
    let page = c
        .store()
        .findings_page(&q.to_query())
        .await
        .map_err(|e| Problem::Store(t, e))?;
    let next = (page.rows.len() as i64 == PAGE)
        .then(|| page.rows.last())
        .flatten()
        .map(|r| q.href(Some(format!("{}_{}", r.opened_at.timestamp_micros(), r.id))));
    let cat = &c.0.catalog;
    use strum::IntoEnumIterator;
    let view = ListPage {
        f: Frame {
            title: t.findings.into(),
            ..f
        },
        brands: choices(
            cat.brands.iter().map(|b| (b.name.clone(), b.name.clone())),
            &q.brand,
        ),
        shops: choices(
            cat.shops.iter().map(|s| (s.name.clone(), s.name.clone())),
            &q.shop,
        ),
        rules: choices(
            Rule::iter().map(|r| (r.to_string(), format!("{r} — {}", rule_title(r, l)))),
            &q.rule,
        ),
        severities: choices(
            Severity::iter().map(|s| (s.to_string(), text::severity_word(s, l).to_string())),
            &q.severity,
        ),
        states: choices(
            [
                ("open", t.open),
                ("closed", t.closed),
                ("dismissed", t.dismissed),
                ("all", t.any),
            ]
            .map(|(v, label)| (v.to_string(), label.to_string())),
            if q.state.is_empty() { "open" } else { &q.state },
        ),
        from: q.from.clone(),
        to: q.to.clone(),
        total: page.total,
        rows: page.rows.iter().map(|r| row(r, t, l)).collect(),
        first: (!q.before.is_empty()).then(|| q.href(None)),
        next,
    };
    Ok(html(&view).into_response())
}

fn lang(t: &Texts) -> Language {
    if t.lang == "en" {
        Language::En
    } else {
        Language::Fr
    }
}

fn rule_title(r: Rule, l: Language) -> &'static str {
    text::rule_title(r, l)
}

/// Who is looking at a finding: the operator, or a retailer through the
/// link of an e-mail (`?t=`), for a brand the retailer follows.
pub(crate) enum Viewer {
    /// Signed in.
    Operator(Frame),
    /// Through a link; `token` is passed on to the evidence link.
    Retailer(Frame, String),
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    t: String,
}

/// The operator, or the retailer whose link (`?t=`) allows this finding.
async fn viewer(
    c: &Console,
    headers: &HeaderMap,
    token: &str,
    finding: Option<&FindingRow>,
    here: &str,
) -> Result<Viewer, Problem> {
    if c.session(headers).is_some() || token.is_empty() {
        return operator_frame(c, headers, "", here).map(Viewer::Operator);
    }
    let r = super::retailer::from_token(c, LinkPurpose::Manage, token).await?;
    let allowed = finding.is_some_and(|f| {
        f.brand
            .split(", ")
            .any(|b| r.subscriber.brands.iter().any(|s| s == b))
    });
    if !allowed {
        let t = r.t;
        return Err(Problem::Message(StatusCode::FORBIDDEN, t, t.forbidden));
    }
    Ok(Viewer::Retailer(
        Frame {
            t: r.t,
            title: String::new(),
            operator: false,
            csrf: String::new(),
        },
        token.to_string(),
    ))
}

/// Finding `id` (if it exists) and who is looking at it: the operator, or
/// the retailer whose link (`token`) allows it.
async fn finding_and_viewer(
    c: &Console,
    headers: &HeaderMap,
    id: i64,
    token: &str,
) -> Result<(Option<FindingRow>, Viewer), Problem> {
    let t = text::texts(super::browser_language(headers));
    let found = c
        .store()
        .finding(id)
        .await
        .map_err(|e| Problem::Store(t, e))?;
    let who = viewer(
        c,
        headers,
        token,
        found.as_ref(),
        &format!("/findings/{id}"),
    )
    .await?;
    Ok((found, who))
}

/// The kept page's status on the finding page.
struct EvidenceView {
    body_sha256: String,
    hash: String,
    chain: &'static str,
    chain_class: &'static str,
    download: String,
}

#[derive(Template)]
#[template(path = "console/finding.html")]
struct FindingPage {
    f: Frame,
    id: i64,
    rule: String,
    product: String,
    shop: String,
    brand: String,
    severity: &'static str,
    severity_class: &'static str,
    state: &'static str,
    dismissed: Option<String>,
    facts: Vec<(&'static str, String)>,
    url: String,
    url_link: Option<String>,
    plain: &'static str,
    basis: String,
    chart: Option<String>,
    product_href: Option<String>,
    evidence: Option<EvidenceView>,
    can_dismiss: bool,
}

/// The 30-day window of a finding about a reduction: the 30 days before
/// its campaign start (or before it opened), whose lowest price is the
/// lawful prior price (Code de la consommation L112-1-1).
fn window(f: &FindingRow) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if f.is_shop_level() || (f.reference_minor.is_none() && f.percent.is_none()) {
        return None;
    }
    let details: serde_json::Value = serde_json::from_str(&f.details).unwrap_or_default();
    let start = details
        .get("campaign_start")
        .and_then(|v| v.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(f.opened_at, |d| d.with_timezone(&Utc));
    Some((start - Duration::days(30), start))
}

/// The lowest price observed in `window`, and how many observations fell in it.
fn lowest_observed(
    obs: &[(DateTime<Utc>, StoredObservation)],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Option<(i64, usize)> {
    let inside: Vec<i64> = obs
        .iter()
        .filter(|(at, _)| *at >= from && *at < to)
        .map(|(_, o)| o.price.minor)
        .collect();
    Some((*inside.iter().min()?, inside.len()))
}

fn facts(
    f: &FindingRow,
    t: &Texts,
    l: Language,
    obs: &[(DateTime<Utc>, StoredObservation)],
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !f.is_shop_level() {
        out.push((t.price, money(f.price_minor, &f.currency, l)));
    }
    if let Some(r) = f.reference_minor {
        out.push((t.reference, money(r, &f.currency, l)));
    }
    if let Some(p) = f.percent {
        out.push((t.reduction, format!("−{p} %")));
    }
    let details: serde_json::Value = serde_json::from_str(&f.details).unwrap_or_default();
    if let Some(low) = details.get("lowest_30_days").and_then(|v| v.as_str()) {
        out.push((t.lowest, low.to_string()));
    } else if let Some((low, n)) = window(f).and_then(|w| lowest_observed(obs, w)) {
        out.push((
            t.lowest,
            format!(
                "{} ({n} {})",
                money(low, &f.currency, l),
                if n == 1 { t.reading } else { t.readings }
            ),
        ));
    }
    if let Some((from, to)) = window(f) {
        out.push((t.window, format!("{} → {}", when(from, l), when(to, l))));
    }
    if let Some(c) = details
        .get("coverage_percent")
        .and_then(serde_json::Value::as_f64)
    {
        out.push((t.coverage, format!("{c:.0} %")));
    }
    if let Some(m) = details.get("matched_text").and_then(|v| v.as_str()) {
        out.push((t.badge, format!("« {m} »")));
    }
    out.push((t.calendar, f.calendar.clone()));
    out.push((t.opened, when(f.opened_at, l)));
    out.push((t.last_seen, when(f.last_seen_at, l)));
    if let Some(c) = f.closed_at {
        out.push((t.closed, when(c, l)));
    }
    out
}

/// Whether a stored evidence record still verifies: its own hash over its
/// fields, the page against its SHA-256, and its link to the record
/// before it.
async fn evidence_verifies(c: &Console, ev: &EvidenceRow) -> bool {
    let own = ev.expected_hash(&ev.prev_hash) == ev.hash
        && ev
            .body()
            .is_ok_and(|b| crate::store::sha256_hex(&b) == ev.body_sha256);
    if !own {
        return false;
    }
    if ev.id <= 1 {
        return ev.prev_hash.chars().all(|ch| ch == '0') || ev.prev_hash.is_empty();
    }
    match c.store().evidence_after(ev.id - 2, 1).await {
        Ok(prev) => prev
            .first()
            .is_none_or(|p| p.id != ev.id - 1 || p.hash == ev.prev_hash),
        Err(_) => false,
    }
}

/// `GET /findings/{id}`.
pub(crate) async fn show(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(tq): Query<TokenQuery>,
) -> Result<Response, Problem> {
    let (found, who) = finding_and_viewer(&c, &headers, id, &tq.t).await?;
    let (frame, token) = match who {
        Viewer::Operator(f) => (f, None),
        Viewer::Retailer(f, tok) => (f, Some(tok)),
    };
    let t = frame.t;
    let l = lang(t);
    let Some(f) = found else {
        return Err(Problem::Message(StatusCode::NOT_FOUND, t, t.not_found));
    };
    let obs = if f.is_shop_level() {
        Vec::new()
    } else {
        c.store()
            .observations_of(f.product_id)
            .await
            .map_err(|e| Problem::Store(t, e))?
    };
    let chart = chart_of(&c, &obs, window(&f), f.reference_minor, &f.currency, t);
    let evidence = match f.evidence_id {
        None => None,
        Some(eid) => match c
            .store()
            .evidence(eid)
            .await
            .map_err(|e| Problem::Store(t, e))?
        {
            None => None,
            Some(ev) => {
                let ok = evidence_verifies(&c, &ev).await;
                let suffix = token
                    .as_ref()
                    .map(|tk| format!("?t={}", urlencode(tk)))
                    .unwrap_or_default();
                Some(EvidenceView {
                    body_sha256: ev.body_sha256.clone(),
                    hash: ev.hash.clone(),
                    chain: if ok { t.chain_ok } else { t.chain_broken },
                    chain_class: if ok { "chain-ok" } else { "chain-broken" },
                    download: format!("/findings/{}/evidence.tar{suffix}", f.id),
                })
            }
        },
    };
    let (state, _) = state_of(&f, t);
    let operator = token.is_none();
    let page = FindingPage {
        f: Frame {
            title: format!("{} — {}", f.rule, product_label(&f, t)),
            ..frame
        },
        id: f.id,
        rule: f.rule.to_string(),
        product: product_label(&f, t),
        shop: f.shop.clone(),
        brand: f.brand.clone(),
        severity: text::severity_word(f.severity, l),
        severity_class: severity_class(f.severity),
        state,
        dismissed: f.dismissed_at.map(|d| {
            format!(
                "{} : {}",
                when(d, l),
                f.dismissed_reason.clone().unwrap_or_default()
            )
        }),
        facts: facts(&f, t, l, &obs),
        url: f.url.clone(),
        url_link: (f.url.starts_with("https://") || f.url.starts_with("http://"))
            .then(|| f.url.clone()),
        plain: text::rule_plain(f.rule, l),
        basis: f.legal_basis.clone(),
        chart,
        product_href: (operator && !f.is_shop_level())
            .then(|| format!("/products/{}", f.product_id)),
        evidence,
        can_dismiss: operator && f.dismissed_at.is_none(),
    };
    Ok(html(&page).into_response())
}

/// The chart of a product's observations, with the legal sales periods,
/// the 30-day window and the reference price; `None` without observation.
fn chart_of(
    c: &Console,
    obs: &[(DateTime<Utc>, StoredObservation)],
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    reference: Option<i64>,
    currency: &str,
    t: &'static Texts,
) -> Option<String> {
    use super::chart::{ChartInput, ChartLabels, PricePoint, price_chart};
    let (first, last) = (obs.first()?.0, obs.last()?.0);
    let start = window.map_or(first, |(w, _)| w.min(first));
    let points: Vec<PricePoint> = obs
        .iter()
        .map(|(at, o)| PricePoint {
            at: *at,
            price_minor: o.price.minor,
            reference_minor: o.reference.map(|r| r.minor),
        })
        .collect();
    let calendar = c.0.catalog.calendar();
    use chrono::Datelike;
    let periods: Vec<(DateTime<Utc>, DateTime<Utc>)> = (start.year()..=last.year())
        .flat_map(|y| calendar.periods(Zone::National, y))
        .filter(|p| p.end > start && p.start < last)
        .map(|p| (p.start, p.end))
        .collect();
    let input = ChartInput {
        points: &points,
        currency,
        sales_periods: &periods,
        window,
        reference_minor: reference,
        labels: ChartLabels {
            title: t.history,
            price: t.price,
            reference: t.reference,
            sales_period: t.sales_periods,
            window: t.window,
        },
    };
    match price_chart(&input) {
        Ok(svg) => Some(svg),
        Err(e) => {
            tracing::warn!("console: no chart: {e}");
            None
        }
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct DismissForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /findings/{id}/dismiss`: the operator's reason is required.
pub(crate) async fn dismiss(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<DismissForm>,
) -> Result<Response, Problem> {
    let here = format!("/findings/{id}");
    let t = operator_post(&c, &headers, &form.csrf, &here)?;
    let reason: String = form.reason.trim().chars().take(500).collect();
    if reason.is_empty() {
        return Err(Problem::Message(StatusCode::BAD_REQUEST, t, t.dismiss_help));
    }
    let done = c
        .store()
        .dismiss_finding(id, &reason, Utc::now())
        .await
        .map_err(|e| Problem::Store(t, e))?;
    match done {
        crate::store::Dismissal::NotFound => {
            Err(Problem::Message(StatusCode::NOT_FOUND, t, t.not_found))
        }
        crate::store::Dismissal::Dismissed { cancelled_alerts } => {
            tracing::info!(
                finding = id,
                cancelled_alerts,
                "finding dismissed by the operator"
            );
            Ok(Redirect::to(&here).into_response())
        }
        crate::store::Dismissal::AlreadyDismissed => Ok(Redirect::to(&here).into_response()),
    }
}

/// `GET /findings/{id}/evidence.tar`: the page as fetched, the JSON
/// record and `SHA256SUMS`, as `vigie evidence` writes them — always a
/// download, never a page.
pub(crate) async fn evidence(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(tq): Query<TokenQuery>,
) -> Result<Response, Problem> {
    let (found, who) = finding_and_viewer(&c, &headers, id, &tq.t).await?;
    let t = match &who {
        Viewer::Operator(f) | Viewer::Retailer(f, _) => f.t,
    };
    let not_found = || Problem::Message(StatusCode::NOT_FOUND, t, t.no_evidence);
    let f = found.ok_or_else(not_found)?;
    let eid = f.evidence_id.ok_or_else(not_found)?;
    let ev = c
        .store()
        .evidence(eid)
        .await
        .map_err(|e| Problem::Store(t, e))?
        .ok_or_else(not_found)?;
    let files = crate::store::evidence::bundle(&f, &ev).map_err(|e| Problem::Store(t, e))?;
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in &files {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(ev_time(&ev));
        h.set_cksum();
        let path = format!("evidence-{}/{name}", f.id);
        if let Err(e) = tar.append_data(&mut h, path, bytes.as_slice()) {
            return Err(Problem::Store(
                t,
                crate::store::StoreError::Corrupt(e.to_string()),
            ));
        }
    }
    let body = tar
        .into_inner()
        .map_err(|e| Problem::Store(t, crate::store::StoreError::Corrupt(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence-{}.tar\"", f.id),
            ),
        ],
        body,
    )
        .into_response())
}

fn ev_time(ev: &EvidenceRow) -> u64 {
    DateTime::parse_from_rfc3339(&ev.fetched_at)
        .map(|d| d.timestamp().max(0) as u64)
        .unwrap_or(0)
}

/// One variant's history on the product page.
struct VariantView {
    label: Option<String>,
    chart: String,
    /// (date, price, reference, badge, source).
    rows: Vec<(String, String, String, String, String)>,
    more: usize,
}

#[derive(Template)]
#[template(path = "console/product.html")]
struct ProductPage {
    f: Frame,
    name: String,
    shop: String,
    brand: String,
    url: String,
    url_link: String,
    variants: Vec<VariantView>,
}

/// `GET /products/{id}`: the price history chart and every observation,
/// per variant of the product's page.
pub(crate) async fn product(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, Problem> {
    let frame = operator_frame(&c, &headers, "", &format!("/products/{id}"))?;
    let t = frame.t;
    let l = lang(t);
    let store = c.store();
    let p = store
        .product(id)
        .await
        .map_err(|e| Problem::Store(t, e))?
        .ok_or(Problem::Message(StatusCode::NOT_FOUND, t, t.not_found))?;
    let siblings = store
        .products_at(&p.record.shop, &p.record.url)
        .await
        .map_err(|e| Problem::Store(t, e))?;
    let mut variants = Vec::new();
    for v in siblings
        .iter()
        .filter(|v| v.record.product_key != crate::store::SHOP_PRODUCT_KEY)
    {
        let obs = store
            .observations_of(v.id)
            .await
            .map_err(|e| Problem::Store(t, e))?;
        let currency = obs
            .first()
            .map_or("EUR".to_string(), |(_, o)| o.price.currency.to_string());
        let chart = chart_of(&c, &obs, None, None, &currency, t).unwrap_or_default();
        let rows = obs
            .iter()
            .rev()
            .take(TABLE_ROWS)
            .map(|(at, o)| {
                (
                    when(*at, l),
                    money(o.price.minor, o.price.currency.as_str(), l),
                    o.reference
                        .map(|r| money(r.minor, r.currency.as_str(), l))
                        .unwrap_or_default(),
                    o.percent_badge
                        .map(|b| format!("−{b} %"))
                        .unwrap_or_default(),
                    o.reference_source
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        variants.push(VariantView {
            label: v.record.variant.clone(),
            chart,
            rows,
            more: obs.len().saturating_sub(TABLE_ROWS),
        });
    }
    let name = p.record.name.clone().unwrap_or_else(|| t.no_name.into());
    let page = ProductPage {
        f: Frame {
            title: name.clone(),
            ..frame
        },
        name,
        shop: p.record.shop.clone(),
        brand: p.record.brand.clone(),
        url: p.record.url.clone(),
        url_link: if p.record.url.starts_with("http") {
            p.record.url.clone()
        } else {
            String::new()
        },
        variants,
    };
    Ok(html(&page).into_response())
}
