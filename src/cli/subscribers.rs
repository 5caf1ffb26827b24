//! `vigie subscribers [--json]`: every subscriber of the watchlists as the
//! scans see it, with the choices stored in the console applied, and what
//! comes from where.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::{CliError, EXIT_OK, GlobalArgs, settings, watchlists};
use crate::catalog::{Catalog, Subscriber};
use crate::domain::Preference;

/// Arguments of `vigie subscribers`.
#[derive(Debug, Args)]
pub struct SubscribersArgs {
    /// JSON output: an array, one object per address.
    #[arg(long)]
    pub json: bool,
    /// Refuse every "my alerts" and unsubscribe link sent so far to this
    /// address (a forwarded or leaked e-mail); the next e-mails carry new ones.
    #[arg(long, value_name = "EMAIL")]
    pub revoke_links: Option<String>,
}

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The watchlist's value.
    Watchlist,
    /// Chosen by the retailer in the console.
    Console,
}

impl Origin {
    fn of(chosen: bool) -> Origin {
        if chosen {
            Origin::Console
        } else {
            Origin::Watchlist
        }
    }

    /// `*` after a value chosen in the console.
    fn mark(self) -> &'static str {
        match self {
            Origin::Console => "*",
            Origin::Watchlist => "",
        }
    }
}

/// Which source each of a subscriber's values comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Sources {
    /// Of the brands.
    pub brands: Origin,
    /// Of the delivery.
    pub delivery: Origin,
    /// Of the language.
    pub language: Origin,
}

/// One address as `vigie subscribers` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberState {
    /// The watchlist's name; `None` for an address in no watchlist.
    pub name: Option<String>,
    /// The address.
    pub email: String,
    /// Whether a watchlist lists it (an address that is not has no access
    /// and receives nothing, whatever it stored).
    pub in_watchlists: bool,
    /// Brands followed (an address that chose only brands the collective no
    /// longer watches follows none).
    pub brands: Vec<String>,
    /// `immediate`, `daily HH:MM` or `weekly DAY HH:MM`.
    pub delivery: String,
    /// The time zone of the digest times.
    pub time_zone: Option<String>,
    /// `fr` or `en`.
    pub language: String,
    /// No alert is queued while paused.
    pub paused: bool,
    /// When the address unsubscribed.
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// Where each value comes from.
    pub source: Sources,
}

impl SubscriberState {
    /// A watchlist subscriber with its stored choices, if any.
    fn listed(s: &Subscriber, p: Option<&Preference>, catalog: &Catalog) -> SubscriberState {
        let effective = p.map_or_else(|| s.clone(), |p| s.with_preference(p, &catalog.brands));
        SubscriberState {
            name: Some(s.name.clone()),
            email: s.email.as_str().to_string(),
            in_watchlists: true,
            brands: effective.brands,
            delivery: effective.delivery.to_string(),
            time_zone: Some(effective.time_zone.name().to_string()),
            language: effective.language.as_str().to_string(),
            paused: p.is_some_and(|p| p.paused),
            unsubscribed_at: p.and_then(|p| p.unsubscribed_at),
            source: Sources {
                brands: Origin::of(p.is_some_and(|p| p.brands.is_some())),
                delivery: Origin::of(p.is_some_and(|p| p.delivery.is_some())),
                language: Origin::of(p.is_some_and(|p| p.language.is_some())),
            },
        }
    }

    /// Choices stored for an address no watchlist lists.
    fn stray(p: &Preference) -> SubscriberState {
        SubscriberState {
            name: None,
            email: p.email.clone(),
            in_watchlists: false,
            brands: p.brands.clone().unwrap_or_default(),
            delivery: p.delivery.map(|d| d.to_string()).unwrap_or_default(),
            time_zone: None,
            language: p
                .language
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
            paused: p.paused,
            unsubscribed_at: p.unsubscribed_at,
            source: Sources {
                brands: Origin::Console,
                delivery: Origin::Console,
                language: Origin::Console,
            },
        }
    }

    fn state(&self) -> String {
        match (self.unsubscribed_at, self.paused) {
            (Some(at), _) => format!("unsubscribed {}", at.format("%Y-%m-%d")),
            (None, true) => "paused".into(),
            (None, false) => "active".into(),
        }
    }

    fn brand_list(&self) -> String {
        if self.brands.is_empty() {
            "(none)".into()
        } else {
            self.brands.join(", ")
        }
    }
}

/// Every watchlist subscriber, in watchlist order, then the addresses with
/// stored choices that no watchlist lists.
pub fn states(catalog: &Catalog, prefs: &[Preference]) -> Vec<SubscriberState> {
    let find = |email: &str| prefs.iter().find(|p| p.email.eq_ignore_ascii_case(email));
    let mut out: Vec<SubscriberState> = catalog
        .subscribers
        .iter()
        .map(|s| SubscriberState::listed(s, find(s.email.as_str()), catalog))
        .collect();
    let mut strays: Vec<&Preference> = prefs
        .iter()
        .filter(|p| catalog.subscriber(&p.email).is_none())
        .collect();
    strays.sort_by(|a, b| a.email.cmp(&b.email));
    out.extend(strays.into_iter().map(SubscriberState::stray));
    out
}

/// The table a shop owner reads.
pub fn table(states: &[SubscriberState]) -> String {
    let header = ["NAME", "ADDRESS", "BRANDS", "DELIVERY", "LANGUAGE", "STATE"];
    let rows: Vec<[String; 6]> = states
        .iter()
        .filter(|s| s.in_watchlists)
        .map(|s| {
            [
                s.name.clone().unwrap_or_default(),
                s.email.clone(),
                format!("{}{}", s.brand_list(), s.source.brands.mark()),
                format!("{}{}", s.delivery, s.source.delivery.mark()),
                format!("{}{}", s.language, s.source.language.mark()),
                s.state(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        l.push('\n');
        l
    };
    let mut out = format!("{} subscriber(s) in the watchlists\n", rows.len());
    out.push_str(&line(&header.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    if states.iter().any(|s| s.in_watchlists && s.source_console()) {
        out.push_str("* chosen in the console (otherwise the watchlist's value)\n");
    }
    let strays: Vec<&SubscriberState> = states.iter().filter(|s| !s.in_watchlists).collect();
    if !strays.is_empty() {
        out.push_str(&format!(
            "\nnot in the watchlists (no access; their stored choices are ignored): {}\n",
            strays.len()
        ));
        for s in strays {
            let mut what = vec![format!("brands {}", s.brand_list())];
            if !s.delivery.is_empty() {
                what.push(s.delivery.clone());
            }
            if !s.language.is_empty() {
                what.push(s.language.clone());
            }
            what.push(s.state());
            out.push_str(&format!("  {}  ({})\n", s.email, what.join("; ")));
        }
    }
    out
}

impl SubscriberState {
    fn source_console(&self) -> bool {
        [
            self.source.brands,
            self.source.delivery,
            self.source.language,
        ]
        .contains(&Origin::Console)
    }
}

/// Lists the subscribers with their effective state.
pub async fn run(g: &GlobalArgs, a: &SubscribersArgs) -> Result<ExitCode, CliError> {
    let s = settings(g)?;
    let catalog = watchlists(&s.watchlists)?;
    let store = crate::store::open(&s.database).await?;
    if let Some(email) = &a.revoke_links {
        let email = email.trim().to_ascii_lowercase();
        if catalog.subscriber(&email).is_none() {
            return Err(CliError::config(anyhow::anyhow!(
                "{email} is in no watchlist: `vigie subscribers` lists the addresses"
            )));
        }
        let now = Utc::now();
        let mut p = store
            .preference(&email)
            .await?
            .unwrap_or_else(|| Preference::new(&email, now));
        p.link_version += 1;
        p.updated_at = now;
        store.save_preference(&p).await?;
        println!(
            "every link sent to {email} so far is refused now; the next e-mails carry new ones"
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    let prefs = store.preferences().await?;
    let states = states(&catalog, &prefs);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&states).context("subscribers")?
        );
    } else {
        print!("{}", table(&states));
    }
    Ok(ExitCode::from(EXIT_OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WATCHLIST: &str = r#"
[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Nordkapp"

[[subscriber]]
name = "Ana"
email = "ana@lanterne.example"
brands = ["Maison Lumière"]

[[subscriber]]
name = "Bruno"
email = "bruno@quais.example"
brands = ["Maison Lumière", "Nordkapp"]
digest = "weekly"
"#;

    #[test]
    fn the_table_marks_console_choices_and_lists_strays_apart() {
        let c = Catalog::from_sources(&[("w.toml".into(), WATCHLIST.into())]).unwrap();
        let now: DateTime<Utc> = "2026-03-10T08:00:00Z".parse().unwrap();
        let mut bruno = Preference::new("Bruno@quais.example", now);
        bruno.brands = Some(vec!["Nordkapp".into()]);
        bruno.delivery = Some("daily 07:30".parse().unwrap());
        bruno.paused = true;
        let mut eve = Preference::new("eve@ailleurs.example", now);
        eve.unsubscribed_at = Some(now);
        let st = states(&c, &[bruno, eve]);
        assert_eq!(st.len(), 3);
        assert_eq!(st[1].brands, vec!["Nordkapp".to_string()]);
        assert_eq!(st[1].source.brands, Origin::Console);
        assert_eq!(st[1].source.language, Origin::Watchlist);
        let t = table(&st);
        assert!(t.contains("Nordkapp*"), "{t}");
        assert!(t.contains("daily 07:30*"), "{t}");
        assert!(t.contains("paused"), "{t}");
        assert!(t.contains("immediate "), "{t}");
        assert!(t.contains("not in the watchlists (no access"), "{t}");
        assert!(
            t.contains("eve@ailleurs.example  (brands (none); unsubscribed 2026-03-10)"),
            "{t}"
        );
    }
}
