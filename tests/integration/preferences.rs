//! The choices retailers make in the console, as the real binary sees them:
//! a scan routes by them (a dropped brand, a digest, an unsubscribed
//! address), records what it did in each shop, and `vigie subscribers`
//! lists them.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::Value;
use vigie::demo::{FixtureOptions, FixtureShop};
use vigie::domain::{Delivery, Digest, Preference};
use vigie::store::Store;

use crate::support::{Shop, sqlite_url, stderr, stdout, vigie, watchlist};

/// Maison Lumière's lamp and the Nordkapp candle are both reduced on the
/// fixture's day 2: one finding for each brand.
const SUBSCRIBERS: &str = r#"
[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Nordkapp"

[[subscriber]]
name = "Ana (Lyon)"
email = "ana@lanterne.example"
brands = ["Maison Lumière"]

[[subscriber]]
name = "Bruno"
email = "bruno@quais.example"
brands = ["Maison Lumière", "Nordkapp"]

[[subscriber]]
name = "Chloé"
email = "chloe@laine.example"
brands = ["Nordkapp"]
"#;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Setup {
    tmp: tempfile::TempDir,
    shop: FixtureShop,
    wl: String,
    db: String,
}

impl Setup {
    /// The fixture shop with its bad pages (one of them disallowed by
    /// robots.txt), and a shop whose host refuses connections.
    async fn start() -> Setup {
        let shop = FixtureShop::start(
            "127.0.0.1:0",
            FixtureOptions {
                bad_pages: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let tmp = tempfile::tempdir().unwrap();
        let text = format!(
            "{}{}{SUBSCRIBERS}",
            Shop::new("Boutique Démo", &shop.base_url(), 20.0),
            Shop::new("Boutique Fermée", &format!("http://{closed}"), 20.0),
        );
        let wl = watchlist(tmp.path(), "collectif.toml", &text);
        let db = sqlite_url(tmp.path(), "vigie.db");
        Setup {
            wl: wl.to_str().unwrap().to_string(),
            db,
            tmp,
            shop,
        }
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--watchlists", &self.wl, "--database", &self.db]);
        vigie(self.tmp.path(), &all).await
    }

    async fn scan(&self, now: &str) -> Value {
        let out = self
            .run(&["scan", "--json", "--shop", "Boutique Démo", "--now", now])
            .await;
        serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)))
    }

    async fn store(&self) -> Box<dyn Store> {
        vigie::store::open(&self.db).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_queues_by_the_choices_stored_in_the_console() {
    let s = Setup::start().await;
    let day1 = s.scan("2026-03-10T09:00:00+01:00").await;
    assert_eq!(day1["findings"], 0, "{day1}");

    let store = s.store().await;
    let now = Utc::now();
    let mut bruno = Preference::new("Bruno@Quais.example", now);
    bruno.brands = Some(vec!["Nordkapp".into()]);
    bruno.delivery = Some(Delivery::Daily(NaiveTime::from_hms_opt(8, 0, 0).unwrap()));
    store.save_preference(&bruno).await.unwrap();
    let mut ana = Preference::new("ana@lanterne.example", now);
    ana.unsubscribed_at = Some(now);
    store.save_preference(&ana).await.unwrap();

    s.shop.set_day(2);
    let day2 = s.scan("2026-03-11T09:00:00+01:00").await;
    assert_eq!(day2["findings"], 2, "the lamp and the candle: {day2}");

    let rows = store.outbox_list(false, 100).await.unwrap();
    let to = |email: &str| rows.iter().filter(|r| r.email == email).collect::<Vec<_>>();
    assert!(to("ana@lanterne.example").is_empty(), "Ana unsubscribed");
    let bruno_rows = to("bruno@quais.example");
    assert_eq!(
        bruno_rows.len(),
        1,
        "Bruno dropped Maison Lumière: {rows:?}"
    );
    assert_eq!(bruno_rows[0].brand, "Nordkapp");
    assert_eq!(bruno_rows[0].digest, Some(Digest::Daily));
    // 08:00 in Paris (UTC+1) the next morning.
    assert_eq!(bruno_rows[0].next_attempt_at, t("2026-03-12T07:00:00Z"));
    let chloe = to("chloe@laine.example");
    assert_eq!(chloe.len(), 1, "{rows:?}");
    assert_eq!(
        (chloe[0].brand.as_str(), chloe[0].digest),
        ("Nordkapp", None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shop_scan_is_recorded_with_its_pages_refusals_and_failure() {
    let s = Setup::start().await;
    let out = s
        .run(&["scan", "--json", "--now", "2026-03-10T09:00:00+01:00"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "one shop failed: {}",
        stderr(&out)
    );
    let store = s.store().await;
    let rows = store.latest_shop_scans().await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let demo = rows.iter().find(|r| r.shop == "Boutique Démo").unwrap();
    // 5 product pages, the broken JSON-LD and the page without a price; the
    // 500 is an error and /panier/ is refused by robots.txt.
    assert_eq!(demo.pages_fetched, 7, "{demo:?}");
    assert_eq!(demo.pages_unchanged, 0);
    assert_eq!(demo.robots_refused, 1, "{demo:?}");
    assert!(demo.errors >= 3, "{demo:?}");
    assert_eq!(demo.findings, 0);
    assert_eq!(demo.failed, None);
    let ms = demo.response_ms_avg.expect("a mean response time");
    assert!(ms > 0.0 && ms < 10_000.0, "{ms}");
    assert!(demo.started_at <= demo.finished_at);
    let closed = rows.iter().find(|r| r.shop == "Boutique Fermée").unwrap();
    assert_eq!(closed.pages_fetched, 0);
    let why = closed.failed.as_deref().expect("why it failed");
    assert!(!why.is_empty(), "{closed:?}");
    assert_eq!(closed.scan_id, demo.scan_id);

    // The next scan: the unchanged pages are counted as such.
    s.scan("2026-03-11T09:00:00+01:00").await;
    let rows = store.latest_shop_scans().await.unwrap();
    let demo = rows.iter().find(|r| r.shop == "Boutique Démo").unwrap();
    assert!(demo.pages_unchanged >= 3, "{demo:?}");
    assert_eq!(demo.pages_fetched + demo.pages_unchanged, 7, "{demo:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigie_subscribers_lists_the_effective_choices_and_where_they_come_from() {
    let s = Setup::start().await;
    let store = s.store().await;
    let now = t("2026-03-10T08:00:00Z");
    let mut bruno = Preference::new("bruno@quais.example", now);
    bruno.brands = Some(vec!["Nordkapp".into()]);
    bruno.delivery = Some("weekly monday 07:30".parse().unwrap());
    store.save_preference(&bruno).await.unwrap();
    let mut ana = Preference::new("ana@lanterne.example", now);
    ana.unsubscribed_at = Some(now);
    store.save_preference(&ana).await.unwrap();
    let mut chloe = Preference::new("chloe@laine.example", now);
    chloe.paused = true;
    store.save_preference(&chloe).await.unwrap();
    let mut eve = Preference::new("eve@ailleurs.example", now);
    eve.brands = Some(vec!["Nordkapp".into()]);
    store.save_preference(&eve).await.unwrap();

    let out = s.run(&["subscribers"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    println!("{text}");
    let line = |email: &str| {
        text.lines()
            .find(|l| l.contains(email))
            .unwrap_or_else(|| panic!("{email} not listed:\n{text}"))
            .to_string()
    };
    let b = line("bruno@quais.example");
    assert!(
        b.contains("Nordkapp*") && b.contains("weekly monday 07:30*"),
        "{b}"
    );
    assert!(b.contains("fr ") && b.contains("active"), "{b}");
    assert!(line("ana@lanterne.example").contains("unsubscribed 2026-03-10"));
    let c = line("chloe@laine.example");
    assert!(c.contains("paused") && c.contains("immediate "), "{c}");
    let strays = text
        .split("not in the watchlists (no access")
        .nth(1)
        .unwrap_or_else(|| panic!("no stray section:\n{text}"));
    assert!(strays.contains("eve@ailleurs.example"), "{text}");

    let out = s.run(&["subscribers", "--json"]).await;
    let all: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 4);
    let bruno = all
        .iter()
        .find(|v| v["email"] == "bruno@quais.example")
        .unwrap();
    assert_eq!(bruno["brands"], serde_json::json!(["Nordkapp"]));
    assert_eq!(bruno["delivery"], "weekly monday 07:30");
    assert_eq!(bruno["source"]["brands"], "console");
    assert_eq!(bruno["source"]["language"], "watchlist");
    assert_eq!(bruno["in_watchlists"], true);
    let eve = all
        .iter()
        .find(|v| v["email"] == "eve@ailleurs.example")
        .unwrap();
    assert_eq!(eve["in_watchlists"], false);
    assert_eq!(eve["name"], Value::Null);
}
