//! The scripted 90-day timeline (2 December 2025 – 2 March 2026): every
//! rule fires exactly where it should and nowhere else.

use chrono::{DateTime, Duration, Utc};
use vigie::catalog::Catalog;
use vigie::config::{FileConfig, Overrides, Settings};
use vigie::demo::timeline;
use vigie::demo::{FixtureOptions, FixtureShop};
use vigie::domain::Rule;
use vigie::domain::calendar::Calendar;
use vigie::fetch::{FetchConfig, HostPool};
use vigie::notify::Mailer;
use vigie::pipeline::{ScanOptions, scan};
use vigie::store::FindingFilter;

use crate::support::{Shop, sqlite_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ninety_days_each_rule_fires_exactly_where_it_should() {
    let shop = FixtureShop::start(
        "127.0.0.1:0",
        FixtureOptions {
            timeline: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let watchlist = Shop::new("Boutique Démo", &shop.base_url(), 1000.0).to_string()
        + r#"
[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Atelier Brume"

[[subscriber]]
name = "Ana"
email = "ana@lanterne.example"
brands = ["Maison Lumière", "Atelier Brume"]

[[announced]]
brand = "Atelier Brume"
shop = "Boutique Démo"
from = 2026-02-20
to = 2026-02-28
note = "Semaine annoncée par la marque"
"#;
    let catalog = Catalog::from_sources(&[("timeline.toml".into(), watchlist)]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let settings = Settings::merge(
        FileConfig::default(),
        &Overrides {
            database: Some(sqlite_url(tmp.path(), "t.db")),
            mail_dir: Some(tmp.path().join("mail")),
            ..Default::default()
        },
    )
    .unwrap();
    let store = vigie::store::open(&settings.database).await.unwrap();
    let pool = HostPool::new(FetchConfig::new(settings.user_agent())).unwrap();
    let mailer = Mailer::from_settings(&settings).unwrap();
    let calendar = Calendar::builtin();
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(timeline::START)
        .unwrap()
        .with_timezone(&Utc);
    for day in 0..timeline::DAYS {
        shop.set_day(day);
        let opts = ScanOptions {
            progress: None,
            now: start + Duration::days(i64::from(day)),
            shops: vec![],
            output: None,
            deliver: false,
        };
        let s = scan(&catalog, store.as_ref(), &pool, &mailer, &calendar, &opts)
            .await
            .unwrap();
        assert_eq!(s.observations, timeline::PRODUCTS.len(), "day {day}: {s:?}");
    }

    let findings = store.findings(&FindingFilter::default()).await.unwrap();
    let mut got: Vec<(String, String, i64, String)> = findings
        .iter()
        .map(|f| {
            let product = f.product_name.clone().unwrap_or_default();
            let tag = product.split_whitespace().next().unwrap_or("").to_string();
            (
                tag,
                f.rule.to_string(),
                (f.opened_at - start).num_days(),
                f.severity.to_string(),
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<(String, String, i64, String)> = [
        ("T1", "R3", 70, "report"), // crossed-out price outside the soldes, seen 10 times: once
        ("T2", "R1", 89, "violation"), // "SOLDES" banner on 1 March
        ("T3", "R2", 22, "report"), // "ventes privées" open to all, 24 December
        ("T3", "R3", 22, "report"),
        ("T4", "R3", 70, "report"),
        ("T4", "R5", 70, "violation"), // crossed-out 150 € never charged
        ("T5", "R3", 70, "report"),
        ("T5", "R6", 70, "violation"), // "-50 %" on a 30 % reduction
        ("T6", "R3", 0, "report"),     // before the soldes
        ("T6", "R7", 43, "report"),    // 43 days in a row
        ("T6", "R3", 64, "report"),    // again after the soldes (4 February)
        ("T7", "R3", 70, "report"),
        ("T7", "R8", 70, "report"), // pumped 50 days before the "reduction"
        ("T8", "R9", 75, "report"), // 20 % cut, nothing declared
        ("T9", "R3", 80, "announced"), // on the allow-list
    ]
    .iter()
    .map(|(p, r, d, s)| (p.to_string(), r.to_string(), *d, s.to_string()))
    .collect();
    expected.sort();
    assert_eq!(got, expected);

    // Episodes close when the promotion ends; the perpetual one stays open.
    let open: Vec<(String, Rule)> = store
        .findings(&FindingFilter {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|f| {
            (
                f.product_name.clone().unwrap_or_default()[..2].to_string(),
                f.rule,
            )
        })
        .collect();
    let mut open_sorted = open.clone();
    open_sorted.sort();
    assert_eq!(
        open_sorted,
        vec![
            ("T2".to_string(), Rule::R1),
            ("T6".into(), Rule::R3),
            ("T6".into(), Rule::R7),
            ("T7".into(), Rule::R3),
            ("T7".into(), Rule::R8),
            ("T8".into(), Rule::R9),
        ]
    );
}
