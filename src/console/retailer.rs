//! "My alerts": a retailer's own choices, reached through the signed link
//! of an e-mail, and the one-click unsubscribe of RFC 8058.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveTime, Utc, Weekday};

use super::findings::Choice;
use super::text::{self, Texts};
use super::{Console, Frame, Problem, html};
use crate::catalog::Subscriber;
use crate::domain::{Delivery, Language, Preference};
use crate::notify::links::{LinkError, LinkPurpose};

/// A retailer arriving through a link.
pub(crate) struct Retailer {
    /// The words of the retailer's language.
    pub(crate) t: &'static Texts,
    /// The subscriber as alerts treat it now (watchlist + choices).
    pub(crate) subscriber: Subscriber,
    /// The choices stored (or none yet).
    pub(crate) pref: Preference,
}

/// The retailer a link names, if the link is valid, not revoked, and the
/// address is still a subscriber of the watchlists.
pub(crate) async fn from_token(
    c: &Console,
    purpose: LinkPurpose,
    token: &str,
) -> Result<Retailer, Problem> {
    let fallback = text::texts(Language::Fr);
    let refused = |e: LinkError| {
        tracing::info!("retailer link refused: {e}");
        Problem::Message(StatusCode::FORBIDDEN, fallback, fallback.bad_link)
    };
    let claims =
        c.0.links
            .verify(purpose, token, Utc::now())
            .map_err(refused)?;
    let Some(watch) = c.0.catalog.subscriber(&claims.email) else {
        tracing::info!("retailer link refused: the address is in no watchlist any more");
        return Err(Problem::Message(
            StatusCode::FORBIDDEN,
            fallback,
            fallback.bad_link,
        ));
    };
    let pref = c
        .store()
        .preference(&claims.email)
        .await
        .map_err(|e| Problem::Store(fallback, e))?
        .unwrap_or_else(|| Preference::new(&claims.email, Utc::now()));
    if pref.link_version != claims.version {
        return Err(refused(LinkError::Invalid));
    }
    let subscriber = watch.with_preference(&pref, &c.0.catalog.brands);
    Ok(Retailer {
        t: text::texts(subscriber.language),
        subscriber,
        pref,
    })
}

#[derive(Template)]
#[template(path = "console/my.html")]
struct MyPage {
    f: Frame,
    name: String,
    email: String,
    saved: bool,
    unsubscribed: bool,
    action: String,
    brands: Vec<Choice>,
    delivery: &'static str,
    hours: Vec<Choice>,
    days: Vec<Choice>,
    language: &'static str,
    paused: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SavedQuery {
    #[serde(default)]
    saved: String,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn my_page(c: &Console, r: &Retailer, token: &str, saved: bool) -> MyPage {
    let t = r.t;
    let s = &r.subscriber;
    let (delivery, time, day) = match s.delivery {
        Delivery::Immediate => ("immediate", None, None),
        Delivery::Daily(tm) => ("daily", Some(tm), None),
        Delivery::Weekly(d, tm) => ("weekly", Some(tm), Some(d)),
    };
    let hour = time.map_or(8, |tm| chrono::Timelike::hour(&tm));
    MyPage {
        f: Frame {
            t,
            title: t.my_alerts.into(),
            operator: false,
            csrf: c.0.sessions.csrf(token),
        },
        name: s.name.clone(),
        email: s.email.to_string(),
        saved,
        unsubscribed: r.pref.unsubscribed_at.is_some(),
        action: format!("/my/{token}"),
        brands: c
            .0
            .catalog
            .brands
            .iter()
            .map(|b| Choice {
                value: b.name.clone(),
                label: b.name.clone(),
                selected: s.brands.contains(&b.name),
            })
            .collect(),
        delivery,
        hours: (0..24)
            .map(|h| Choice {
                value: h.to_string(),
                label: format!("{h:02}:00"),
                selected: h == hour,
            })
            .collect(),
        days: WEEKDAYS
            .iter()
            .zip(t.weekdays)
            .enumerate()
            .map(|(i, (d, label))| Choice {
                value: i.to_string(),
                label: label.to_string(),
                selected: day.map_or(i == 0, |x| x == *d),
            })
            .collect(),
        language: s.language.into(),
        paused: r.pref.paused,
    }
}

/// `GET /my/{token}`.
pub(crate) async fn page(
    State(c): State<Console>,
    Path(token): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, Problem> {
    let r = from_token(&c, LinkPurpose::Manage, &token).await?;
    Ok(html(&my_page(&c, &r, &token, !q.saved.is_empty())).into_response())
}

/// The posted "my alerts" form (repeated `brand` fields).
#[derive(Debug, Default)]
struct MyForm {
    csrf: String,
    action: String,
    brands: Vec<String>,
    delivery: String,
    hour: u32,
    day: usize,
    language: String,
    paused: bool,
}

fn parse_form(body: &[u8]) -> MyForm {
    let mut f = MyForm {
        hour: 8,
        ..MyForm::default()
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf" => f.csrf = v.into_owned(),
            "action" => f.action = v.into_owned(),
            "brand" => f.brands.push(v.into_owned()),
            "delivery" => f.delivery = v.into_owned(),
            "hour" => f.hour = v.parse().unwrap_or(8).min(23),
            "day" => f.day = v.parse().unwrap_or(0).min(6),
            "language" => f.language = v.into_owned(),
            "paused" => f.paused = !v.is_empty(),
            _ => {}
        }
    }
    f
}

/// The choices of a posted form applied to the stored ones.
fn apply(c: &Console, mut pref: Preference, form: &MyForm) -> Preference {
    let time = NaiveTime::from_hms_opt(form.hour, 0, 0).unwrap_or(NaiveTime::MIN);
    pref.brands = Some(
        c.0.catalog
            .brands
            .iter()
            .filter(|b| form.brands.contains(&b.name))
            .map(|b| b.name.clone())
            .collect(),
    );
    pref.delivery = Some(match form.delivery.as_str() {
        "daily" => Delivery::Daily(time),
        "weekly" => Delivery::Weekly(WEEKDAYS[form.day.min(6)], time),
        _ => Delivery::Immediate,
    });
    pref.language = form.language.parse::<Language>().ok().or(pref.language);
    pref.paused = form.paused;
    pref
}

/// `POST /my/{token}`: save, unsubscribe or subscribe again.
pub(crate) async fn save(
    State(c): State<Console>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let r = from_token(&c, LinkPurpose::Manage, &token).await?;
    let t = r.t;
    let form = parse_form(&body);
    if !c.0.sessions.csrf_ok(&token, &form.csrf) {
        return Err(Problem::Message(StatusCode::FORBIDDEN, t, t.bad_form));
    }
    let now = Utc::now();
    let email = r.pref.email.clone();
    let mut pref = match form.action.as_str() {
        "unsubscribe" => Preference {
            unsubscribed_at: Some(now),
            ..r.pref
        },
        "resubscribe" => Preference {
            unsubscribed_at: None,
            ..r.pref
        },
        _ => apply(&c, r.pref, &form),
    };
    pref.updated_at = now;
    let store = c.store();
    store
        .save_preference(&pref)
        .await
        .map_err(|e| Problem::Store(t, e))?;
    if !pref.receives() {
        let why = if pref.unsubscribed_at.is_some() {
            "unsubscribed"
        } else {
            "paused"
        };
        let n = store
            .cancel_outbox_to(&email, why)
            .await
            .map_err(|e| Problem::Store(t, e))?;
        tracing::info!(cancelled = n, "a retailer {why}: pending alerts cancelled");
    }
    Ok(Redirect::to(&format!("/my/{token}?saved=1")).into_response())
}

#[derive(Template)]
#[template(path = "console/unsubscribe.html")]
struct UnsubscribePage {
    f: Frame,
    done: bool,
    email: String,
    action: String,
}

fn unsubscribe_view(r: &Retailer, token: &str, done: bool) -> UnsubscribePage {
    UnsubscribePage {
        f: Frame {
            t: r.t,
            title: r.t.unsubscribe.into(),
            operator: false,
            csrf: String::new(),
        },
        done,
        email: r.subscriber.email.to_string(),
        action: format!("/unsubscribe/{token}"),
    }
}

/// `GET /unsubscribe/{token}`: a confirmation button (a GET changes
/// nothing: mail scanners open links).
pub(crate) async fn unsubscribe_page(
    State(c): State<Console>,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let r = from_token(&c, LinkPurpose::Unsubscribe, &token).await?;
    let done = r.pref.unsubscribed_at.is_some();
    Ok(html(&unsubscribe_view(&r, &token, done)).into_response())
}

/// `POST /unsubscribe/{token}`: one-click unsubscribe (RFC 8058), answered
/// without a session or CSRF token — the signed link is the credential;
/// pending alerts to the address are cancelled.
pub(crate) async fn unsubscribe(
    State(c): State<Console>,
    _headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let r = from_token(&c, LinkPurpose::Unsubscribe, &token).await?;
    let t = r.t;
    if r.pref.unsubscribed_at.is_none() {
        let now = Utc::now();
        let pref = Preference {
            unsubscribed_at: Some(now),
            updated_at: now,
            ..r.pref.clone()
        };
        let store = c.store();
        store
            .save_preference(&pref)
            .await
            .map_err(|e| Problem::Store(t, e))?;
        let n = store
            .cancel_outbox_to(&pref.email, "unsubscribed")
            .await
            .map_err(|e| Problem::Store(t, e))?;
        tracing::info!(cancelled = n, "one-click unsubscribe");
    }
    Ok(html(&unsubscribe_view(&r, &token, true)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_form_keeps_every_brand_ticked() {
        let f = parse_form(b"csrf=x&action=save&brand=A&brand=B%20C&delivery=weekly&hour=7&day=4&language=en&paused=1");
        assert_eq!(f.brands, vec!["A", "B C"]);
        assert_eq!((f.hour, f.day, f.paused), (7, 4, true));
        let f = parse_form(b"hour=99&day=x");
        assert_eq!((f.hour, f.day), (23, 0));
    }
}
