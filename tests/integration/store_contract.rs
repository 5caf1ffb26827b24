//! The storage contract: the same assertions against every `Store` backend.
//!
//! Each case runs on SQLite (a file in a temporary directory) and on
//! PostgreSQL when `VIGIE_TEST_DATABASE_URL` names a server the tests may
//! create databases on (`postgres://postgres@127.0.0.1:5432/postgres`).
//! Every PostgreSQL test creates its own database `vigie_t_<random>` and
//! drops it at the end, panic or not, so reruns and parallel tests never
//! meet. Without the variable the PostgreSQL tests say so on stderr and pass,
//! except with `CI=true`, where they fail.
//!
//! `same_results_on_sqlite_and_postgres` also runs one script on both and
//! compares everything the trait can read back.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use vigie::domain::History;
use vigie::domain::history::PriceRun;
use vigie::domain::{Currency, Money};
use vigie::domain::{PromoClass, ReferenceKind, Rule, Severity, Source};
use vigie::store::evidence::verify_chain;
use vigie::store::{
    Baseline, Batch, BatchItem, BatchResult, EvidenceInput, EvidenceRow, FindingDraft,
    FindingFilter, FindingRow, KnownProduct, NewObservation, PageCache, PageWrite, ProductRecord,
    SHOP_PRODUCT_KEY, ShopFindings, Store, StoredObservation,
};

use crate::support::{sqlite_url, with_postgres};

const SHOP: &str = "Boutique Contrat";
const BRAND: &str = "Maison Lumière";

type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a case against a fresh SQLite file.
async fn on_sqlite(case: fn(String) -> CaseFuture) {
    let dir = tempfile::tempdir().expect("tempdir");
    case(sqlite_url(dir.path(), "contract.db")).await;
}

/// Runs a case against a fresh PostgreSQL database, when one is configured.
async fn on_postgres(test: &str, case: fn(String) -> CaseFuture) {
    with_postgres(test, case).await;
}

/// One test per case and backend: `store_contract::sqlite::CASE` and
/// `store_contract::postgres::CASE`.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::on_sqlite(|url| Box::pin(super::$case(url))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::on_postgres(stringify!($case), |url| Box::pin(super::$case(url))).await;
                }
            )*
        }
    };
}

contract!(
    migrating_twice_is_a_no_op,
    a_batch_reads_back_through_every_method,
    writing_the_same_batch_twice_duplicates_nothing,
    findings_continue_close_and_reopen,
    outbox_due_sent_failed_and_dead,
    the_evidence_chain_verifies,
    a_product_listed_twice_in_one_batch,
    a_nul_in_scraped_text_does_not_fail_the_batch,
    an_empty_batch_writes_nothing,
    concurrent_writers_keep_one_evidence_chain,
    outbox_claims_digests_filters_and_retries,
    fleet_runs_fire_once_lease_hosts_and_are_taken_over,
    an_observation_keeps_where_its_former_price_came_from_and_its_warnings,
    shop_level_findings_open_continue_close_and_reopen,
    a_dismissed_finding_leaves_the_open_list,
    finding_pages_cover_every_row_once_newest_first,
    preferences_round_trip,
    console_keys_are_stable,
    claims_hold_an_immediate_alert_until_its_scan_ends,
    sent_messages_deferred_and_cancelled_alerts,
    shop_scans_and_products_for_the_console,
);

/// `vigie migrate --from sqlite://… --to postgres://…` moves the demo's
/// history without loss: the same findings, the same price series, an
/// intact evidence chain; a second copy into the same database is refused.
#[tokio::test]
async fn a_sqlite_history_moves_to_postgres_without_loss() {
    on_postgres("a_sqlite_history_moves_to_postgres_without_loss", |url| {
        Box::pin(copy_the_demo(url))
    })
    .await;
}

/// The copy keeps migration 0006's columns: where a former price came
/// from, a reading's warnings, and a finding's scope (a shop-level one).
#[tokio::test]
async fn readings_and_shop_findings_move_to_postgres() {
    on_postgres("readings_and_shop_findings_move_to_postgres", |url| {
        Box::pin(copy_readings(url))
    })
    .await;
}

/// The copy keeps the console's data: dismissals, alerts with their scan,
/// baseline flag and message, subscribers' choices, keys and shop scans.
#[tokio::test]
async fn console_data_moves_to_postgres() {
    on_postgres("console_data_moves_to_postgres", |url| {
        Box::pin(copy_console_data(url))
    })
    .await;
}

async fn copy_console_data(pg: String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lite = sqlite_url(dir.path(), "console.db");
    let store = open(&lite).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let mut batch = first_batch(s0);
    batch.baseline = true;
    let done = store.write_batch(&batch).await.expect("write");
    store.finish_scan(s0, &json!({})).await.expect("finish");
    let due = due_rows(store.as_ref(), at(400), 10).await.expect("due");
    store
        .mark_sent(&[due[0].id], at(1), "outbox-1")
        .await
        .expect("sent");
    store
        .dismiss_finding(done.opened[0].0, "vu", at(1))
        .await
        .expect("dismiss");
    let mut pref = vigie::domain::Preference::new("ana@x.example", at(1));
    pref.brands = Some(vec![BRAND.into()]);
    pref.paused = true;
    store.save_preference(&pref).await.expect("save");
    let key = store.console_key("link", &[4, 2]).await.expect("key");
    store
        .record_shop_scan(&shop_scan(s0, SHOP, 0))
        .await
        .expect("record");
    let everything = every_finding(10);
    let (findings, outbox, scans) = (
        store.findings_page(&everything).await.expect("page").rows,
        store.outbox_list(false, 10).await.expect("list"),
        store.latest_shop_scans().await.expect("scans"),
    );
    drop(store);
    vigie::store::copy::sqlite_to_postgres(&lite, &pg)
        .await
        .expect("copy");
    let target = open(&pg).await;
    assert_eq!(
        target.findings_page(&everything).await.expect("page").rows,
        findings
    );
    assert!(findings[0].dismissed_at.is_some());
    // Times with nanoseconds read back truncated on PostgreSQL: compared without them.
    let outbox_view = |rows: Vec<vigie::store::OutboxEntry>| {
        rows.into_iter()
            .map(|o| (o.id, o.status, o.email, o.attempts, o.last_error, o.sent_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        outbox_view(target.outbox_list(false, 10).await.expect("list")),
        outbox_view(outbox)
    );
    assert_eq!(
        target
            .messages_sent_since(&due[0].email, at(0))
            .await
            .expect("count"),
        1
    );
    assert_eq!(target.preferences().await.expect("prefs"), vec![pref]);
    assert_eq!(target.console_key("link", &[9]).await.expect("key"), key);
    assert_eq!(target.latest_shop_scans().await.expect("scans"), scans);
    assert_eq!(scans.len(), 1);
    let counts = target.outbox_counts().await.expect("counts");
    assert_eq!((counts.sent, counts.cancelled), (1, 1));
}

async fn copy_readings(pg: String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lite = sqlite_url(dir.path(), "readings.db");
    let store = open(&lite).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let mut batch = first_batch(s0);
    batch.items[0].observation.reference_source = Some(Source::BuyBox);
    batch.items[0].observation.warnings = two_warnings();
    store.write_batch(&batch).await.expect("write");
    let mut w = shop_findings(0, "/p/A1");
    w.raise = vec![shop_draft()];
    w.evidence = Some(evidence("A1", 0));
    store.write_shop_findings(&w).await.expect("shop");
    let (history, findings) = (
        store.history("A1").await.expect("history"),
        store.findings(&all()).await.expect("findings"),
    );
    drop(store);
    vigie::store::copy::sqlite_to_postgres(&lite, &pg)
        .await
        .expect("copy");
    let target = open(&pg).await;
    assert_eq!(target.history("A1").await.expect("history"), history);
    assert_eq!(history[0].2.warnings, two_warnings());
    assert_eq!(
        history[0].2.reference_source.map(|s| s.as_str()),
        Some("buy_box")
    );
    assert_eq!(target.findings(&all()).await.expect("findings"), findings);
    assert_eq!(
        findings
            .iter()
            .map(|f| f.scope.as_str())
            .collect::<Vec<_>>(),
        vec!["product", "shop"]
    );
    assert_eq!(
        target.load_shop(SHOP).await.expect("load").products[SHOP_PRODUCT_KEY].open_rules,
        vec![(Rule::R1, None)]
    );
}

async fn copy_the_demo(pg: String) {
    use crate::support::{stderr, stdout, vigie};
    let dir = tempfile::tempdir().expect("tempdir");
    let out = vigie(dir.path(), &["demo"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lite = sqlite_url(dir.path(), "vigie-demo/demo.db");
    let out = vigie(dir.path(), &["migrate", "--from", &lite, "--to", &pg]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("observations: 12 row(s)") && text.contains("evidence chain checked"),
        "{text}"
    );
    for args in [
        vec!["findings", "--json"],
        vec!["history", "ML-OPA-01", "--json"],
    ] {
        let on = |db: &str| {
            let mut a = args.clone();
            a.extend(["--database", db]);
            a.into_iter().map(str::to_string).collect::<Vec<_>>()
        };
        let (a, b) = (on(&lite), on(&pg));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let from = stdout(&vigie(dir.path(), &a).await);
        let to = stdout(&vigie(dir.path(), &b).await);
        assert!(from.len() > 20, "{from}");
        assert_eq!(from, to, "{args:?}");
    }
    let out = vigie(dir.path(), &["verify", "--database", &pg]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    let out = vigie(dir.path(), &["migrate", "--from", &lite, "--to", &pg]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- builders

fn at(day: i64) -> DateTime<Utc> {
    "2026-03-10T09:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time")
        + Duration::days(day)
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn product(sku: &str) -> ProductRecord {
    ProductRecord {
        shop: SHOP.into(),
        product_key: format!("sku:{sku}"),
        url: format!("https://shop.example/p/{sku}"),
        name: Some(format!("Lampe {sku}")),
        brand: BRAND.into(),
        sku: Some(sku.into()),
        gtin: Some(format!("376000000{sku}")),
        variant: None,
    }
}

fn history(price: i64, first: DateTime<Utc>, last: DateTime<Utc>) -> History {
    History {
        runs: vec![PriceRun {
            price,
            declared: false,
            reference: None,
            percent: None,
            first,
            last,
            count: 2,
            max_gap_s: 86_400,
        }],
        streaks: BTreeMap::from([(Rule::R3, 1)]),
    }
}

/// An observation of `sku` at `price` (with a crossed-out `reference`).
fn item(scan_id: i64, day: i64, sku: &str, price: i64, reference: Option<i64>) -> BatchItem {
    let now = at(day);
    BatchItem {
        product: product(sku),
        observation: NewObservation {
            scan_id,
            observed_at: now,
            price: eur(price),
            reference: reference.map(eur),
            reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
            percent_badge: reference.map(|r| u32::try_from(100 - price * 100 / r).unwrap_or(0)),
            availability: Some("InStock".into()),
            source: Source::JsonLd,
            promo: if reference.is_some() {
                vec![(PromoClass::Soldes, "Soldes d'hiver !".into())]
            } else {
                Vec::new()
            },
            reference_source: reference.map(|_| Source::ProductBlock),
            warnings: Vec::new(),
        },
        baseline: Baseline {
            regular: Some(eur(reference.unwrap_or(price))),
            last_price: eur(price),
            last_observed_at: now,
            observations: day + 1,
            history: history(price, at(0), now),
        },
        raise: Vec::new(),
        continue_rules: Vec::new(),
        close_rules: Vec::new(),
        recipients: Vec::new(),
        evidence: None,
    }
}

fn draft(rule: &str, price: i64, reference: i64) -> FindingDraft {
    FindingDraft {
        rule: rule.parse().expect("a rule"),
        severity: Severity::Violation,
        legal_basis: "Code de commerce, L. 310-3".into(),
        price: eur(price),
        reference: Some(eur(reference)),
        percent: Some(u32::try_from(100 - price * 100 / reference).unwrap_or(0)),
        calendar: "national, hors soldes".into(),
        details: json!({ "lowest_30_days": reference, "rule": rule }),
    }
}

fn page_body(sku: &str, day: i64) -> Vec<u8> {
    format!("<html><body><h1>Lampe {sku}</h1><p>jour {day}</p></body></html>").into_bytes()
}

fn evidence(sku: &str, day: i64) -> EvidenceInput {
    EvidenceInput::new(
        format!("https://shop.example/p/{sku}"),
        at(day),
        200,
        vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("etag".into(), format!("\"{sku}-{day}\"")),
        ],
        &page_body(sku, day),
        json!({ "offer": { "sku": sku, "day": day }, "scan_clock": at(day).to_rfc3339() }),
    )
    .expect("evidence")
}

/// An immediate, unfiltered recipient.
fn recipient(name: &str, email: &str) -> vigie::store::Recipient {
    vigie::store::Recipient {
        name: name.into(),
        email: email.parse().expect("an address"),
        language: vigie::domain::Language::Fr,
        digest: None,
        deliver_at: Utc::now(),
        rules: Vec::new(),
        severities: Vec::new(),
    }
}

/// The rows due at `now`, claimed with a lease that ends at once, so the
/// same rows can be claimed again: a look at the queue.
async fn due_rows(
    store: &dyn vigie::store::Store,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<vigie::store::OutboxItem>, vigie::store::StoreError> {
    store.claim_outbox(now, now, limit).await
}

/// `item` raising `rule`, with evidence and two subscribers.
fn raising(scan_id: i64, day: i64, sku: &str, rule: &str) -> BatchItem {
    let mut it = item(scan_id, day, sku, 6000, Some(10000));
    it.raise = vec![draft(rule, 6000, 10000)];
    it.recipients = vec![
        recipient("Alice", "alice@members.example"),
        recipient("Bruno", "bruno@members.example"),
    ];
    it.evidence = Some(evidence(sku, day));
    it
}

fn page(url: &str, day: i64, keys: &[&str]) -> PageWrite {
    PageWrite {
        url: url.into(),
        cache: PageCache {
            etag: Some(format!("\"{day}\"")),
            last_modified: Some("Tue, 10 Mar 2026 08:00:00 GMT".into()),
            fetched_at: Some(at(day)),
            product_ids: Vec::new(),
        },
        product_keys: keys.iter().map(|k| k.to_string()).collect(),
    }
}

/// The first scan: A raises R3 (evidence, two subscribers), B is plain.
fn first_batch(scan_id: i64) -> Batch {
    Batch {
        shop: SHOP.into(),
        baseline: false,
        items: vec![
            raising(scan_id, 0, "A1", "R3"),
            item(scan_id, 0, "B2", 2500, None),
        ],
        pages: vec![
            page("https://shop.example/p/A1", 0, &["sku:A1"]),
            page("https://shop.example/c/lampes", 0, &["sku:A1", "sku:B2"]),
        ],
    }
}

/// Two readings' warnings: a disagreement between sources, and text that
/// needs care (quotes, a newline, non-ASCII).
fn two_warnings() -> Vec<String> {
    vec![
        "sources disagree: jsonld says 59.00 EUR, product_block says 49.00 EUR".into(),
        "crossed-out price read from the page markup (\"au lieu de\"\nligne 2, été)".into(),
    ]
}

/// The shop-level R1 draft of a "SOLDES" header banner.
fn shop_draft() -> FindingDraft {
    FindingDraft {
        rule: Rule::R1,
        severity: Severity::Violation,
        legal_basis: "C. com. L310-3 et L310-5 (mention affichée sur l'ensemble du site)".into(),
        price: eur(0),
        reference: None,
        percent: None,
        calendar: "national, hors soldes".into(),
        details: json!({ "scope": "shop", "matched_text": "SOLDES -50 % <b>partout</b>" }),
    }
}

/// A scan's shop-level changes: the shop's pseudo product, seen on `page`.
fn shop_findings(day: i64, page: &str) -> ShopFindings {
    ShopFindings {
        subject: ProductRecord::shop_subject(
            SHOP,
            &format!("https://shop.example{page}"),
            &[BRAND.to_string(), "Atelier Brume".to_string()],
        ),
        at: at(day),
        // The first scan of the test's fresh database.
        scan_id: 1,
        baseline: false,
        raise: Vec::new(),
        continue_rules: Vec::new(),
        close_rules: Vec::new(),
        recipients: Vec::new(),
        evidence: None,
    }
}

async fn open(url: &str) -> Box<dyn Store> {
    vigie::store::open(url)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"))
}

fn all() -> FindingFilter {
    FindingFilter::default()
}

fn expected_observation(it: &BatchItem) -> StoredObservation {
    let o = &it.observation;
    StoredObservation {
        price: o.price,
        reference: o.reference,
        reference_kind: o.reference_kind,
        percent_badge: o.percent_badge,
        availability: o.availability.clone(),
        promo: o.promo.clone(),
        reference_source: o.reference_source,
        warnings: o.warnings.clone(),
    }
}

// ------------------------------------------------------------------- cases

async fn migrating_twice_is_a_no_op(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    store.write_batch(&first_batch(scan)).await.expect("write");
    store.migrate().await.expect("second migrate");
    drop(store);
    // Opening again migrates again: nothing to do, nothing lost.
    let store = open(&url).await;
    store.migrate().await.expect("third migrate");
    assert_eq!(store.findings(&all()).await.expect("findings").len(), 1);
    assert_eq!(store.load_shop(SHOP).await.expect("load").products.len(), 2);
}

async fn a_batch_reads_back_through_every_method(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let batch = first_batch(scan);
    let done = store.write_batch(&batch).await.expect("write");
    store
        .finish_scan(scan, &json!({ "observations": 2 }))
        .await
        .expect("finish");

    let (a, b) = (done.product_ids["sku:A1"], done.product_ids["sku:B2"]);
    assert_eq!(done.product_ids.len(), 2);
    assert!(a < b, "ids in batch order: {a} {b}");
    assert_eq!(done.opened.len(), 1);
    let (finding_id, key, rule) = &done.opened[0];
    assert_eq!((key.as_str(), rule.as_str()), ("sku:A1", "R3"));
    assert_eq!((done.continued, done.closed, done.queued), (0, 0, 2));

    // load_shop: products, baselines, last observations, open rules, pages.
    let snap = store.load_shop(SHOP).await.expect("load");
    assert_eq!(snap.products.len(), 2);
    for it in &batch.items {
        let k = &snap.products[&it.product.product_key];
        assert_eq!(
            k,
            &KnownProduct {
                id: done.product_ids[&it.product.product_key],
                record: it.product.clone(),
                baseline: Some(it.baseline.clone()),
                open_rules: if it.raise.is_empty() {
                    Vec::new()
                } else {
                    vec![(Rule::R3, Some(40))]
                },
                last: Some(expected_observation(it)),
            }
        );
    }
    assert_eq!(snap.pages.len(), 2);
    assert_eq!(
        snap.pages["https://shop.example/c/lampes"],
        PageCache {
            etag: Some("\"0\"".into()),
            last_modified: Some("Tue, 10 Mar 2026 08:00:00 GMT".into()),
            fetched_at: Some(at(0)),
            product_ids: vec![a, b],
        }
    );
    assert!(
        store
            .load_shop("Another shop")
            .await
            .expect("load")
            .products
            .is_empty()
    );

    // findings, with each filter, and finding.
    let rows = store.findings(&all()).await.expect("findings");
    assert_eq!(rows.len(), 1);
    let f = &rows[0];
    assert_eq!(f.id, *finding_id);
    assert_eq!(
        (
            f.rule.as_str(),
            f.severity.as_str(),
            f.shop.as_str(),
            f.brand.as_str()
        ),
        ("R3", "violation", SHOP, BRAND)
    );
    assert_eq!(f.product_name.as_deref(), Some("Lampe A1"));
    assert_eq!(f.url, "https://shop.example/p/A1");
    assert_eq!(
        (f.price_minor, f.reference_minor, f.percent),
        (6000, Some(10000), Some(40))
    );
    assert_eq!(f.currency, "EUR");
    assert_eq!(f.calendar, "national, hors soldes");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&f.details).expect("details"),
        json!({ "lowest_30_days": 10000, "rule": "R3" })
    );
    assert_eq!(
        (f.opened_at, f.last_seen_at, f.closed_at),
        (at(0), at(0), None)
    );
    assert_eq!(f.price().expect("price"), eur(6000));
    assert_eq!(f.reference().expect("reference"), Some(eur(10000)));
    assert_eq!(
        store.finding(f.id).await.expect("finding").as_ref(),
        Some(f)
    );
    assert_eq!(store.finding(f.id + 1000).await.expect("finding"), None);
    for (filter, n) in [
        (
            FindingFilter {
                open_only: true,
                ..all()
            },
            1,
        ),
        (
            FindingFilter {
                brand: Some(BRAND.into()),
                ..all()
            },
            1,
        ),
        (
            FindingFilter {
                brand: Some("Autre".into()),
                ..all()
            },
            0,
        ),
        (
            FindingFilter {
                shop: Some(SHOP.into()),
                ..all()
            },
            1,
        ),
        (
            FindingFilter {
                shop: Some("Autre".into()),
                ..all()
            },
            0,
        ),
        (
            FindingFilter {
                rule: Some(Rule::R3),
                ..all()
            },
            1,
        ),
        (
            FindingFilter {
                rule: Some(Rule::R5),
                shop: Some(SHOP.into()),
                ..all()
            },
            0,
        ),
    ] {
        assert_eq!(
            store.findings(&filter).await.expect("findings").len(),
            n,
            "{filter:?}"
        );
    }

    // Evidence: the record, its body, its place in the chain.
    let ev_id = f.evidence_id.expect("evidence id");
    let ev = store
        .evidence(ev_id)
        .await
        .expect("evidence")
        .expect("stored");
    assert_eq!(ev.url, "https://shop.example/p/A1");
    assert_eq!(ev.fetched_at, at(0).to_rfc3339());
    assert_eq!(ev.status, 200);
    assert_eq!(ev.prev_hash, "0".repeat(64));
    assert_eq!(ev.body().expect("body"), page_body("A1", 0));
    assert_eq!(ev.hash, ev.expected_hash(&ev.prev_hash));
    assert_eq!(store.evidence(ev_id + 1000).await.expect("evidence"), None);
    assert_eq!(
        store.evidence_after(0, 10).await.expect("after"),
        vec![ev.clone()]
    );
    assert!(
        store
            .evidence_after(ev_id, 10)
            .await
            .expect("after")
            .is_empty()
    );

    // A second scan: history and series, oldest first.
    let scan2 = store.begin_scan(at(1)).await.expect("scan");
    let mut a2 = item(scan2, 1, "A1", 6000, Some(10000));
    a2.continue_rules = vec![Rule::R3];
    let b2 = item(scan2, 1, "B2", 2400, None);
    let second = Batch {
        shop: SHOP.into(),
        baseline: false,
        items: vec![b2.clone(), a2.clone()],
        pages: Vec::new(),
    };
    let done2 = store.write_batch(&second).await.expect("write");
    assert_eq!(done2.continued, 1);
    assert_eq!(done2.product_ids, done.product_ids);

    for needle in ["sku:B2", "B2", "https://shop.example/p/B2", "376000000B2"] {
        let h = store.history(needle).await.expect("history");
        let got: Vec<(ProductRecord, DateTime<Utc>, StoredObservation)> = h;
        assert_eq!(
            got,
            vec![
                (product("B2"), at(0), expected_observation(&batch.items[1])),
                (product("B2"), at(1), expected_observation(&b2)),
            ],
            "{needle}"
        );
    }
    assert!(store.history("nothing").await.expect("history").is_empty());

    let series = store.series_after(0, 10).await.expect("series");
    assert_eq!(
        series.iter().map(|s| s.product_id).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(series[0].product, product("A1"));
    assert_eq!(
        series[0].points,
        vec![
            (at(0), expected_observation(&batch.items[0])),
            (at(1), expected_observation(&a2)),
        ]
    );
    let rest = store.series_after(a, 1).await.expect("series");
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].product_id, rest[0].points.len()), (b, 2));
    assert!(store.series_after(b, 10).await.expect("series").is_empty());
    let first_only = store.series_after(0, 1).await.expect("series");
    assert_eq!(first_only.len(), 1);
    assert_eq!(first_only[0].product_id, a);

    // The latest observation and baseline are the second scan's.
    let snap = store.load_shop(SHOP).await.expect("load");
    assert_eq!(
        snap.products["sku:B2"].last,
        Some(expected_observation(&b2))
    );
    assert_eq!(snap.products["sku:B2"].baseline, Some(b2.baseline.clone()));
    let f = store
        .finding(*finding_id)
        .await
        .expect("finding")
        .expect("stored");
    assert_eq!((f.opened_at, f.last_seen_at), (at(0), at(1)));
}

async fn writing_the_same_batch_twice_duplicates_nothing(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let batch = first_batch(scan);
    let first = store.write_batch(&batch).await.expect("write");
    let again = store.write_batch(&batch).await.expect("write again");
    assert_eq!(again.product_ids, first.product_ids);
    assert!(again.opened.is_empty(), "{again:?}");
    assert_eq!((again.queued, again.closed), (0, 0));
    // The rule already open counts as seen again.
    assert_eq!(again.continued, 1);

    assert_eq!(store.findings(&all()).await.expect("findings").len(), 1);
    assert_eq!(
        due_rows(store.as_ref(), at(400), 100)
            .await
            .expect("due")
            .len(),
        2
    );
    // One observation per scan and product.
    assert_eq!(store.history("A1").await.expect("history").len(), 1);
    assert_eq!(store.history("B2").await.expect("history").len(), 1);
    let snap = store.load_shop(SHOP).await.expect("load");
    assert_eq!(snap.products.len(), 2);
    assert_eq!(snap.pages.len(), 2);
    let report = verify_chain(store.as_ref()).await.expect("verify");
    assert!(report.broken.is_empty(), "{report:?}");
}

async fn findings_continue_close_and_reopen(url: String) {
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let done = store.write_batch(&first_batch(s0)).await.expect("write");
    let first_id = done.opened[0].0;

    // Seen again, twice in one batch item: one finding, last seen updated.
    let s1 = store.begin_scan(at(1)).await.expect("scan");
    let mut a = item(s1, 1, "A1", 6000, Some(10000));
    a.continue_rules = vec![Rule::R3, Rule::R9];
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![a],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert_eq!((done.continued, done.closed, done.opened.len()), (1, 0, 0));

    // Closed.
    let s2 = store.begin_scan(at(2)).await.expect("scan");
    let mut a = item(s2, 2, "A1", 10000, None);
    a.close_rules = vec![Rule::R3, Rule::R9];
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![a],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert_eq!((done.continued, done.closed, done.opened.len()), (0, 1, 0));
    let f = store
        .finding(first_id)
        .await
        .expect("finding")
        .expect("stored");
    assert_eq!(
        (f.opened_at, f.last_seen_at, f.closed_at),
        (at(0), at(1), Some(at(2)))
    );
    assert!(
        store
            .findings(&FindingFilter {
                open_only: true,
                ..all()
            })
            .await
            .expect("findings")
            .is_empty()
    );
    assert!(
        store.load_shop(SHOP).await.expect("load").products["sku:A1"]
            .open_rules
            .is_empty()
    );

    // Raised again: a new finding, new outbox rows; two rules, sorted.
    let s3 = store.begin_scan(at(3)).await.expect("scan");
    let mut a = raising(s3, 3, "A1", "R3");
    a.raise.insert(0, draft("R5", 6000, 10000));
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![a],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert_eq!(
        done.opened
            .iter()
            .map(|(_, k, r)| (k.as_str(), r.as_str()))
            .collect::<Vec<_>>(),
        vec![("sku:A1", "R5"), ("sku:A1", "R3")]
    );
    assert_eq!(done.queued, 4);
    assert!(done.opened.iter().all(|(id, _, _)| *id > first_id));
    let rows = store.findings(&all()).await.expect("findings");
    assert_eq!(
        rows.iter()
            .map(|f| (f.rule.as_str(), f.closed_at.is_none()))
            .collect::<Vec<_>>(),
        vec![("R3", false), ("R5", true), ("R3", true)]
    );
    // Both findings of the batch item share one evidence record.
    assert_eq!(rows[1].evidence_id, rows[2].evidence_id);
    assert_ne!(rows[0].evidence_id, rows[1].evidence_id);
    assert_eq!(
        store.load_shop(SHOP).await.expect("load").products["sku:A1"].open_rules,
        vec![(Rule::R3, Some(40)), (Rule::R5, Some(40))]
    );
    assert_eq!(
        due_rows(store.as_ref(), at(400), 100)
            .await
            .expect("due")
            .len(),
        6
    );
}

async fn outbox_due_sent_failed_and_dead(url: String) {
    let store = open(&url).await;
    let before = Utc::now() - Duration::hours(1);
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let done = store.write_batch(&first_batch(scan)).await.expect("write");
    let finding_id = done.opened[0].0;
    let now = Utc::now() + Duration::seconds(1);
    // Immediate alerts wait for their scan to end.
    store.finish_scan(scan, &json!({})).await.expect("finish");

    // Queued at write time, oldest first, with their finding.
    assert!(
        due_rows(store.as_ref(), before, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = due_rows(store.as_ref(), now, 10).await.expect("due");
    assert_eq!(
        due.iter()
            .map(|o| (o.subscriber.as_str(), o.email.as_str(), o.attempts))
            .collect::<Vec<_>>(),
        vec![
            ("Alice", "alice@members.example", 0),
            ("Bruno", "bruno@members.example", 0)
        ]
    );
    assert!(due[0].id < due[1].id);
    let finding = store
        .finding(finding_id)
        .await
        .expect("finding")
        .expect("stored");
    assert!(due.iter().all(|o| o.finding == finding));
    let limited = due_rows(store.as_ref(), now, 1).await.expect("due");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, due[0].id);
    let (alice, bruno) = (due[0].id, due[1].id);

    // Sent: never due again.
    store
        .mark_sent(&[alice], now, "test-message")
        .await
        .expect("sent");
    let due = due_rows(store.as_ref(), now, 10).await.expect("due");
    assert_eq!(due.iter().map(|o| o.id).collect::<Vec<_>>(), vec![bruno]);

    // Failed with a retry time: due again from then, attempts counted.
    let retry = now + Duration::minutes(10);
    store
        .mark_failed(&[bruno], "421 try later", Some(retry))
        .await
        .expect("failed");
    assert!(
        due_rows(store.as_ref(), now, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = due_rows(store.as_ref(), retry, 10).await.expect("due");
    assert_eq!(
        due.iter().map(|o| (o.id, o.attempts)).collect::<Vec<_>>(),
        vec![(bruno, 1)]
    );
    store
        .mark_failed(
            &[bruno],
            "421 still later",
            Some(retry + Duration::minutes(20)),
        )
        .await
        .expect("failed");
    let due = due_rows(store.as_ref(), retry + Duration::hours(1), 10)
        .await
        .expect("due");
    assert_eq!(
        due.iter().map(|o| (o.id, o.attempts)).collect::<Vec<_>>(),
        vec![(bruno, 2)]
    );

    // Dead: never due again.
    store
        .mark_failed(&[bruno], "550 no such user", None)
        .await
        .expect("dead");
    assert!(
        due_rows(store.as_ref(), at(4000), 10)
            .await
            .expect("due")
            .is_empty()
    );
    // Unknown ids change nothing and are not errors.
    store
        .mark_sent(&[bruno + 1000], now, "test-message")
        .await
        .expect("sent");
    store
        .mark_failed(&[bruno + 1000], "x", None)
        .await
        .expect("failed");
}

async fn outbox_claims_digests_filters_and_retries(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let now = Utc::now() + Duration::seconds(1);
    let digest_at = now + Duration::hours(20);
    let mut it = raising(scan, 0, "SKU-D", "R3");
    let mut carla = recipient("Carla", "carla@members.example");
    carla.digest = Some(vigie::domain::Digest::Daily);
    carla.language = vigie::domain::Language::En;
    carla.deliver_at = digest_at;
    let mut dan = recipient("Dan", "dan@members.example");
    dan.rules = vec![Rule::R1];
    it.recipients.push(carla);
    it.recipients.push(dan);
    let done = store
        .write_batch(&Batch {
            shop: "Boutique".into(),
            baseline: false,
            items: vec![it],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    // Dan follows R1 only: three rows, not four.
    assert_eq!(done.queued, 3);
    store.finish_scan(scan, &json!({})).await.expect("finish");
    // One claim takes the two immediate rows; a second claim meanwhile gets none.
    let lease = now + Duration::minutes(10);
    let first = store.claim_outbox(now, lease, 10).await.expect("claim");
    assert_eq!(first.len(), 2);
    assert!(
        store
            .claim_outbox(now, lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    // After the lease, they are claimable again (a worker died).
    let again = store
        .claim_outbox(lease, lease + Duration::minutes(10), 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 2);
    store
        .mark_sent(&[again[0].id, again[1].id], lease, "test-message")
        .await
        .expect("sent");
    // The digest row waits for its time, with its language.
    let d = store
        .claim_outbox(digest_at, digest_at, 10)
        .await
        .expect("claim");
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].digest, d[0].language),
        (
            Some(vigie::domain::Digest::Daily),
            vigie::domain::Language::En
        )
    );
    store
        .mark_failed(&[d[0].id], "550 no such user", None)
        .await
        .expect("dead");
    let c = store.outbox_counts().await.expect("counts");
    assert_eq!((c.pending, c.sent, c.dead), (0, 2, 1));
    let failed = store.outbox_list(true, 10).await.expect("list");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].email, "carla@members.example");
    assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(failed[0].rule, Rule::R3);
    assert_eq!(store.outbox_list(false, 10).await.expect("list").len(), 3);
    // Retried: pending again, attempts reset, due at once.
    assert_eq!(
        store
            .outbox_retry(&[failed[0].id + 1000], now)
            .await
            .expect("retry"),
        0
    );
    assert_eq!(store.outbox_retry(&[], now).await.expect("retry"), 1);
    let d = store.claim_outbox(now, now, 10).await.expect("claim");
    assert_eq!(
        d.iter().map(|o| (o.id, o.attempts)).collect::<Vec<_>>(),
        vec![(failed[0].id, 0)]
    );
}

async fn the_evidence_chain_verifies(url: String) {
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let mut batch = first_batch(s0);
    batch.items.push(raising(s0, 0, "C3", "R5"));
    store.write_batch(&batch).await.expect("write");
    let s1 = store.begin_scan(at(1)).await.expect("scan");
    store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![raising(s1, 1, "D4", "R3")],
            pages: Vec::new(),
        })
        .await
        .expect("write");

    let rows: Vec<EvidenceRow> = store.evidence_after(0, 100).await.expect("after");
    assert_eq!(
        rows.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(),
        vec![
            "https://shop.example/p/A1",
            "https://shop.example/p/C3",
            "https://shop.example/p/D4"
        ]
    );
    let mut prev = "0".repeat(64);
    for r in &rows {
        assert_eq!(r.prev_hash, prev, "record {}", r.id);
        assert_eq!(r.hash, r.expected_hash(&prev));
        prev = r.hash.clone();
    }
    assert_eq!(rows[2].body().expect("body"), page_body("D4", 1));
    // Paging by id.
    let page1 = store.evidence_after(0, 2).await.expect("after");
    let page2 = store.evidence_after(page1[1].id, 2).await.expect("after");
    assert_eq!([page1, page2].concat(), rows);

    let report = verify_chain(store.as_ref()).await.expect("verify");
    assert_eq!(report.records, 3);
    assert!(report.broken.is_empty(), "{report:?}");
}

async fn a_product_listed_twice_in_one_batch(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let first = item(scan, 0, "A1", 5000, None);
    let mut second = item(scan, 0, "A1", 4500, Some(5000));
    second.product.name = Some("Lampe A1, nouveau nom".into());
    second.baseline.observations = 7;
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![first.clone(), second.clone()],
            pages: vec![
                page("https://shop.example/c/lampes", 0, &["sku:A1"]),
                page("https://shop.example/c/lampes", 1, &["sku:A1"]),
            ],
        })
        .await
        .expect("write");
    assert_eq!(done.product_ids.len(), 1);
    let snap = store.load_shop(SHOP).await.expect("load");
    let p = &snap.products["sku:A1"];
    // The product and baseline as last written; the scan's first observation kept.
    assert_eq!(p.record, second.product);
    assert_eq!(p.baseline, Some(second.baseline.clone()));
    assert_eq!(p.last, Some(expected_observation(&first)));
    assert_eq!(store.history("A1").await.expect("history").len(), 1);
    assert_eq!(snap.pages.len(), 1);
    assert_eq!(
        snap.pages["https://shop.example/c/lampes"].etag.as_deref(),
        Some("\"1\"")
    );
}

async fn a_nul_in_scraped_text_does_not_fail_the_batch(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let mut it = raising(scan, 0, "A1", "R3");
    it.product.name = Some("Lampe\0A1".into());
    it.observation.availability = Some("In\0Stock".into());
    it.observation.promo = vec![(PromoClass::Soldes, "Sol\0des".into())];
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![it],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert_eq!(done.opened.len(), 1);
    let snap = store.load_shop(SHOP).await.expect("load");
    let p = &snap.products["sku:A1"];
    // SQLite keeps the NUL; PostgreSQL TEXT cannot, and stores U+FFFD.
    let nul_or_replaced = |got: Option<&str>, want: &str| {
        let replaced = want.replace('\0', "\u{FFFD}");
        assert!(
            got == Some(want) || got == Some(replaced.as_str()),
            "{got:?}"
        );
    };
    nul_or_replaced(p.record.name.as_deref(), "Lampe\0A1");
    let last = p.last.as_ref().expect("last");
    nul_or_replaced(last.availability.as_deref(), "In\0Stock");
    // Promotion wording is JSON, which escapes the NUL: kept on both.
    assert_eq!(
        last.promo,
        vec![(PromoClass::Soldes, "Sol\0des".to_string())]
    );
    let f = &store.findings(&all()).await.expect("findings")[0];
    nul_or_replaced(f.product_name.as_deref(), "Lampe\0A1");
}

async fn an_empty_batch_writes_nothing(url: String) {
    let store = open(&url).await;
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            ..Batch::default()
        })
        .await
        .expect("write");
    assert_eq!(done, BatchResult::default());
    let snap = store.load_shop(SHOP).await.expect("load");
    assert!(snap.products.is_empty() && snap.pages.is_empty());
    assert!(store.findings(&all()).await.expect("findings").is_empty());
    assert!(store.series_after(0, 10).await.expect("series").is_empty());
    assert!(store.evidence_after(0, 10).await.expect("after").is_empty());
    assert!(
        due_rows(store.as_ref(), at(4000), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let report = verify_chain(store.as_ref()).await.expect("verify");
    assert_eq!(report.records, 0);
}

async fn concurrent_writers_keep_one_evidence_chain(url: String) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 5;
    // Migrated once, then several stores write at the same time.
    drop(open(&url).await);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let store = open(&url).await;
            for b in 0..BATCHES {
                let scan = store.begin_scan(at(0)).await.expect("scan");
                let items = (0..2)
                    .map(|i| raising(scan, 0, &format!("W{w}B{b}I{i}"), "R3"))
                    .collect();
                store
                    .write_batch(&Batch {
                        shop: SHOP.into(),
                        baseline: false,
                        items,
                        pages: Vec::new(),
                    })
                    .await
                    .expect("write");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let store = open(&url).await;
    let report = verify_chain(store.as_ref()).await.expect("verify");
    assert_eq!(report.records, (WRITERS * BATCHES * 2) as u64);
    assert!(report.broken.is_empty(), "{report:?}");
    assert_eq!(
        store.findings(&all()).await.expect("findings").len(),
        WRITERS * BATCHES * 2
    );
}

/// Migration 0006: an observation records where its former price was read
/// and the warnings of its reading; `load_shop` (what a page answering 304
/// repeats), `history` and `series_after` read them back.
async fn an_observation_keeps_where_its_former_price_came_from_and_its_warnings(url: String) {
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let mut a = item(s0, 0, "A1", 6000, Some(10000));
    a.observation.reference_source = Some(Source::ProductBlock);
    a.observation.warnings = two_warnings();
    let b = item(s0, 0, "B2", 2500, None);
    assert_eq!(b.observation.reference_source, None);
    let batch = Batch {
        shop: SHOP.into(),
        baseline: false,
        items: vec![a.clone(), b.clone()],
        pages: Vec::new(),
    };
    store.write_batch(&batch).await.expect("write");
    // The second scan: A's former price now from structured data, no warning.
    let s1 = store.begin_scan(at(1)).await.expect("scan");
    let mut a1 = item(s1, 1, "A1", 6000, Some(10000));
    a1.observation.reference_source = Some(Source::JsonLd);
    store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![a1.clone()],
            pages: Vec::new(),
        })
        .await
        .expect("write");

    let snap = store.load_shop(SHOP).await.expect("load");
    let last_a = snap.products["sku:A1"].last.clone().expect("last");
    assert_eq!(last_a, expected_observation(&a1));
    assert_eq!(last_a.reference_source.map(|s| s.as_str()), Some("jsonld"));
    assert!(last_a.warnings.is_empty());
    let last_b = snap.products["sku:B2"].last.clone().expect("last");
    assert_eq!(last_b, expected_observation(&b));
    assert_eq!(
        (last_b.reference_source, last_b.warnings),
        (None, Vec::new())
    );

    let h = store.history("A1").await.expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].2, expected_observation(&a));
    assert_eq!(
        h[0].2.reference_source.map(|s| s.as_str()),
        Some("product_block")
    );
    assert_eq!(h[0].2.warnings, two_warnings());
    assert_eq!(h[1].2, expected_observation(&a1));
    let series = store.series_after(0, 10).await.expect("series");
    let a_series = series
        .iter()
        .find(|s| s.product.product_key == "sku:A1")
        .expect("A1");
    assert_eq!(a_series.points[0].1.warnings, two_warnings());
    assert_eq!(a_series.points[1].1.reference_source, Some(Source::JsonLd));
}

/// A shop-level finding (site-wide "soldes" wording): its subject is the
/// shop's pseudo product, which has no observation; one open finding per
/// rule and shop, seen again, closed, opened again as a new episode; its
/// outbox rows and evidence like any finding's.
async fn shop_level_findings_open_continue_close_and_reopen(url: String) {
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let product_done = store.write_batch(&first_batch(s0)).await.expect("write");
    // Nothing to write: nothing written, not even the pseudo product.
    let none = store
        .write_shop_findings(&shop_findings(0, "/p/A1"))
        .await
        .expect("write");
    assert_eq!(none, BatchResult::default());
    assert!(
        !store
            .load_shop(SHOP)
            .await
            .expect("load")
            .products
            .contains_key(SHOP_PRODUCT_KEY)
    );

    let mut w = shop_findings(0, "/p/A1");
    w.raise = vec![shop_draft()];
    w.recipients = vec![
        recipient("Alice", "alice@members.example"),
        recipient("Bruno", "bruno@members.example"),
    ];
    w.evidence = Some(evidence("A1", 0));
    let done = store.write_shop_findings(&w).await.expect("write");
    assert_eq!(done.opened.len(), 1);
    let (shop_id, key, rule) = done.opened[0].clone();
    assert_eq!((key.as_str(), rule.as_str()), (SHOP_PRODUCT_KEY, "R1"));
    assert_eq!((done.continued, done.closed, done.queued), (0, 0, 2));
    let pseudo = done.product_ids[SHOP_PRODUCT_KEY];
    assert!(!product_done.product_ids.values().any(|id| *id == pseudo));

    let f = store
        .finding(shop_id)
        .await
        .expect("finding")
        .expect("stored");
    assert!(f.is_shop_level());
    assert_eq!(f.scope, vigie::domain::Scope::Shop);
    assert_eq!((f.rule.as_str(), f.shop.as_str()), ("R1", SHOP));
    assert_eq!(f.brand, format!("{BRAND}, Atelier Brume"));
    assert_eq!(
        (f.product_name.clone(), f.url.as_str()),
        (None, "https://shop.example/p/A1")
    );
    assert_eq!(
        (f.price_minor, f.reference_minor, f.percent),
        (0, None, None)
    );
    assert!(f.evidence_id.is_some());
    // The product's finding of the first batch stays a product's.
    let product_finding = store
        .finding(product_done.opened[0].0)
        .await
        .expect("finding")
        .expect("stored");
    assert_eq!(product_finding.scope, vigie::domain::Scope::Product);
    assert!(!product_finding.is_shop_level());

    // load_shop: the pseudo product, with its open finding and nothing else.
    let snap = store.load_shop(SHOP).await.expect("load");
    assert_eq!(snap.products.len(), 3);
    let k = &snap.products[SHOP_PRODUCT_KEY];
    assert_eq!(
        (k.id, k.baseline.clone(), k.last.clone()),
        (pseudo, None, None)
    );
    assert_eq!(k.open_rules, vec![(Rule::R1, None)]);
    assert_eq!(k.record, w.subject);
    // No observation: not in any price series.
    assert!(
        store
            .history(SHOP_PRODUCT_KEY)
            .await
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .series_after(0, 100)
            .await
            .expect("series")
            .iter()
            .all(|s| s.product_id != pseudo)
    );

    // A second worker raising it again (or the same scan replayed): nothing new.
    let again = store.write_shop_findings(&w).await.expect("write");
    assert_eq!(
        (again.opened.len(), again.continued, again.queued),
        (0, 1, 0)
    );
    // The next scan sees the banner again: the episode goes on.
    let mut w1 = shop_findings(1, "/p/B2");
    w1.continue_rules = vec![Rule::R1];
    let done = store.write_shop_findings(&w1).await.expect("write");
    assert_eq!((done.opened.len(), done.continued, done.closed), (0, 1, 0));
    let f = store
        .finding(shop_id)
        .await
        .expect("finding")
        .expect("stored");
    assert_eq!(
        (f.opened_at, f.last_seen_at, f.closed_at),
        (at(0), at(1), None)
    );
    let shop_rows = store
        .findings(&FindingFilter {
            rule: Some(Rule::R1),
            shop: Some(SHOP.into()),
            ..all()
        })
        .await
        .expect("findings");
    assert_eq!(shop_rows.len(), 1, "one finding for the shop");

    // The banner is gone: closed.
    let mut w2 = shop_findings(2, "/p/B2");
    w2.close_rules = vec![Rule::R1];
    let done = store.write_shop_findings(&w2).await.expect("write");
    assert_eq!((done.opened.len(), done.continued, done.closed), (0, 0, 1));
    let f = store
        .finding(shop_id)
        .await
        .expect("finding")
        .expect("stored");
    assert_eq!(f.closed_at, Some(at(2)));
    assert!(
        store.load_shop(SHOP).await.expect("load").products[SHOP_PRODUCT_KEY]
            .open_rules
            .is_empty()
    );

    // It comes back: a new episode, a new finding and new outbox rows.
    let mut w3 = shop_findings(3, "/p/A1");
    w3.raise = vec![shop_draft()];
    w3.recipients = vec![recipient("Alice", "alice@members.example")];
    w3.evidence = Some(evidence("A1", 3));
    let done = store.write_shop_findings(&w3).await.expect("write");
    assert_eq!((done.opened.len(), done.queued), (1, 1));
    assert!(done.opened[0].0 > shop_id);

    // The outbox hands the shop-level finding over with its scope.
    let due = due_rows(store.as_ref(), at(400), 100).await.expect("due");
    assert_eq!(due.len(), 2 + 2 + 1);
    let shop_rows: Vec<_> = due.iter().filter(|o| o.finding.is_shop_level()).collect();
    assert_eq!(shop_rows.len(), 3);
    assert!(shop_rows.iter().all(|o| o.finding.rule == Rule::R1));
    // The product's, the shop's, the replay's (kept though it opened
    // nothing, as a product's replay does) and the new episode's.
    assert_eq!(
        verify_chain(store.as_ref()).await.expect("verify").records,
        4
    );
}

// ------------------------------------------------- one script, both stores

/// A product's observations, oldest first.
type Points = Vec<(DateTime<Utc>, StoredObservation)>;

/// Everything the trait reads back, in a comparable form.
#[derive(Debug, PartialEq)]
struct Dump {
    results: Vec<BatchResult>,
    products: Vec<(String, KnownProduct)>,
    pages: Vec<(String, PageCache)>,
    findings: Vec<FindingRow>,
    outbox: Vec<(i64, String, String, i64, FindingRow)>,
    history: Vec<(ProductRecord, DateTime<Utc>, StoredObservation)>,
    series: Vec<(i64, ProductRecord, Points)>,
    evidence: Vec<EvidenceRow>,
    verified: u64,
}

/// Four scans (raise, rerun, continue and raise, close) and outbox traffic.
async fn script(store: &dyn Store) -> Dump {
    let mut results = Vec::new();
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let b0 = first_batch(s0);
    results.push(store.write_batch(&b0).await.expect("write"));
    results.push(store.write_batch(&b0).await.expect("rerun"));

    let s1 = store.begin_scan(at(1)).await.expect("scan");
    let mut a = item(s1, 1, "A1", 6000, Some(10000));
    a.continue_rules = vec![Rule::R3];
    let mut c = raising(s1, 1, "C3", "R5");
    c.raise.push(draft("R1", 6000, 10000));
    c.observation.reference_source = Some(Source::ProductBlock);
    c.observation.warnings = two_warnings();
    let b1 = Batch {
        shop: SHOP.into(),
        baseline: false,
        items: vec![c, a, item(s1, 1, "B2", 2400, None)],
        pages: vec![page(
            "https://shop.example/c/lampes",
            1,
            &["sku:B2", "sku:A1", "sku:C3"],
        )],
    };
    results.push(store.write_batch(&b1).await.expect("write"));
    let mut w = shop_findings(1, "/p/C3");
    w.raise = vec![shop_draft()];
    w.recipients = vec![recipient("Alice", "alice@members.example")];
    w.evidence = Some(evidence("C3", 1));
    results.push(store.write_shop_findings(&w).await.expect("shop"));

    let s2 = store.begin_scan(at(2)).await.expect("scan");
    let mut a = item(s2, 2, "A1", 10000, None);
    a.close_rules = vec![Rule::R3];
    results.push(
        store
            .write_batch(&Batch {
                shop: SHOP.into(),
                baseline: false,
                items: vec![a],
                pages: Vec::new(),
            })
            .await
            .expect("write"),
    );

    let due = due_rows(store, at(400), 100).await.expect("due");
    store
        .mark_sent(&[due[0].id], at(3), "test-message")
        .await
        .expect("sent");
    store
        .mark_failed(&[due[1].id], "421", Some(at(3)))
        .await
        .expect("failed");
    store
        .mark_failed(&[due[2].id], "550", None)
        .await
        .expect("dead");

    let snap = store.load_shop(SHOP).await.expect("load");
    let mut products: Vec<_> = snap.products.into_iter().collect();
    products.sort_by(|x, y| x.0.cmp(&y.0));
    let mut pages: Vec<_> = snap.pages.into_iter().collect();
    pages.sort_by(|x, y| x.0.cmp(&y.0));
    Dump {
        results,
        products,
        pages,
        findings: store.findings(&all()).await.expect("findings"),
        outbox: due_rows(store, at(400), 100)
            .await
            .expect("due")
            .into_iter()
            .map(|o| (o.id, o.subscriber, o.email, o.attempts, o.finding))
            .collect(),
        history: store.history("A1").await.expect("history"),
        series: store
            .series_after(0, 100)
            .await
            .expect("series")
            .into_iter()
            .map(|s| (s.product_id, s.product, s.points))
            .collect(),
        evidence: store.evidence_after(0, 100).await.expect("after"),
        verified: verify_chain(store).await.expect("verify").records,
    }
}

#[tokio::test]
async fn same_results_on_sqlite_and_postgres() {
    let Some(from_postgres) =
        with_postgres("same_results_on_sqlite_and_postgres", |url| async move {
            script(open(&url).await.as_ref()).await
        })
        .await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let from_sqlite = script(open(&sqlite_url(dir.path(), "contract.db")).await.as_ref()).await;
    assert_eq!(from_sqlite.verified, 4);
    assert_eq!(from_sqlite.findings.len(), 4);
    assert_eq!(from_postgres, from_sqlite);
}

/// The fleet's shared state: a slot is recorded once, a second slot while
/// the first is unfinished is skipped, one host goes to one worker at a
/// time and rests its interval before the next, a dead worker's run is
/// taken over with its scan (and what that scan already holds), the old
/// holder learns it lost the lease, and a run taken over too often is
/// given up.
async fn fleet_runs_fire_once_lease_hosts_and_are_taken_over(url: String) {
    use std::collections::HashMap;
    use vigie::store::{LeaseRenewal, Queued, RunEnd, RunToQueue};
    let store = open(&url).await;
    let t0 = at(0);
    let secs = Duration::seconds;
    let run = |shop: &str, host: &str, slot: DateTime<Utc>| RunToQueue {
        shop: shop.into(),
        host: host.into(),
        slot,
        due_at: slot,
    };
    let intervals: HashMap<String, i64> =
        HashMap::from([("A".to_string(), 1000), ("B".to_string(), 1000)]);
    assert_eq!(
        store.enqueue_run(&run("A", "h1", t0)).await.unwrap(),
        Queued::Queued
    );
    // A second worker sees the same slot: nothing new.
    assert_eq!(
        store.enqueue_run(&run("A", "h1", t0)).await.unwrap(),
        Queued::AlreadyThere
    );
    // The next slot comes while the first run is still due: skipped.
    assert_eq!(
        store
            .enqueue_run(&run("A", "h1", t0 + secs(60)))
            .await
            .unwrap(),
        Queued::Skipped
    );
    // Shop B lives on the same host.
    assert_eq!(
        store.enqueue_run(&run("B", "h1", t0)).await.unwrap(),
        Queued::Queued
    );
    // Not due yet.
    let none = store
        .claim_runs("w1", t0 - secs(1), t0 + secs(9), 10, t0, &intervals)
        .await
        .unwrap();
    assert!(none.is_empty());

    // w1 claims: one run only, the host being shared.
    let c1 = store
        .claim_runs("w1", t0, t0 + secs(10), 10, t0, &intervals)
        .await
        .unwrap();
    assert_eq!(c1.len(), 1, "{c1:?}");
    let a = c1[0].clone();
    assert_eq!(
        (a.shop.as_str(), a.host.as_str(), a.attempts),
        ("A", "h1", 1)
    );
    assert_eq!(a.scan_clock, t0);
    assert_eq!(a.previous_worker, None);
    // w2 finds the host taken.
    let c2 = store
        .claim_runs("w2", t0 + secs(1), t0 + secs(11), 10, t0, &intervals)
        .await
        .unwrap();
    assert!(c2.is_empty(), "{c2:?}");

    // w1 renews once, observes one product, then dies.
    let held = store
        .renew_runs(
            "w1",
            &[LeaseRenewal {
                run: a.id,
                host_free_at: t0 + secs(14),
            }],
            t0 + secs(13),
        )
        .await
        .unwrap();
    assert_eq!(held, vec![a.id]);
    let mut batch = Batch {
        shop: SHOP.into(),
        ..Batch::default()
    };
    batch.items.push(item(a.scan_id, 0, "A-1", 10_000, None));
    let done = store.write_batch(&batch).await.unwrap();
    let product_id = done.product_ids["sku:A-1"];

    // Lease ended at t0+13, but the host rests until t0+14.
    let early = store
        .claim_runs(
            "w2",
            t0 + secs(13),
            t0 + secs(23),
            10,
            t0 + secs(13),
            &intervals,
        )
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");
    let c3 = store
        .claim_runs(
            "w2",
            t0 + secs(14),
            t0 + secs(24),
            10,
            t0 + secs(14),
            &intervals,
        )
        .await
        .unwrap();
    assert_eq!(c3.len(), 1, "{c3:?}");
    let taken = &c3[0];
    assert_eq!(taken.id, a.id);
    assert_eq!(taken.attempts, 2);
    assert_eq!(taken.scan_id, a.scan_id, "a takeover keeps the run's scan");
    assert_eq!(taken.scan_clock, t0, "and its scan clock");
    assert_eq!(taken.previous_worker.as_deref(), Some("w1"));
    assert_eq!(
        store.observed_in_scan(a.scan_id).await.unwrap(),
        vec![product_id]
    );

    // w1 comes back: its renewal and its end are refused.
    let held = store
        .renew_runs(
            "w1",
            &[LeaseRenewal {
                run: a.id,
                host_free_at: t0 + secs(30),
            }],
            t0 + secs(29),
        )
        .await
        .unwrap();
    assert!(held.is_empty());
    assert!(
        !store
            .end_run("w1", a.id, RunEnd::Done, "{}", t0 + secs(15))
            .await
            .unwrap()
    );

    // w2 ends it; the host rests until t0+16, then B goes.
    assert!(
        store
            .end_run("w2", a.id, RunEnd::Done, "{\"ok\":1}", t0 + secs(16))
            .await
            .unwrap()
    );
    let rest = store
        .claim_runs("w1", t0 + secs(15), t0 + secs(25), 10, t0, &intervals)
        .await
        .unwrap();
    assert!(rest.is_empty(), "the host still rests: {rest:?}");
    // A worker whose watchlists lack shop B leaves it to the others.
    let only_a: HashMap<String, i64> = HashMap::from([("A".to_string(), 1000)]);
    let not_mine = store
        .claim_runs(
            "w5",
            t0 + secs(16),
            t0 + secs(26),
            10,
            t0 + secs(16),
            &only_a,
        )
        .await
        .unwrap();
    assert!(not_mine.is_empty(), "{not_mine:?}");
    let b = store
        .claim_runs(
            "w1",
            t0 + secs(16),
            t0 + secs(26),
            10,
            t0 + secs(16),
            &intervals,
        )
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].shop, "B");
    assert_ne!(b[0].scan_id, a.scan_id, "a new run has a scan of its own");

    // B's workers keep dying: taken over up to MAX_RUN_ATTEMPTS, then given up.
    let mut t = t0 + secs(26);
    for attempt in 2..=vigie::store::MAX_RUN_ATTEMPTS {
        t += secs(1);
        let c = store
            .claim_runs("w3", t, t + secs(10), 10, t, &intervals)
            .await
            .unwrap();
        assert_eq!(c.len(), 1, "attempt {attempt}");
        assert_eq!(c[0].attempts, attempt);
        t += secs(10);
    }
    t += secs(1);
    let gone = store
        .claim_runs("w4", t, t + secs(10), 10, t, &intervals)
        .await
        .unwrap();
    assert!(gone.is_empty(), "{gone:?}");

    let runs = store.runs(10).await.unwrap();
    let status: Vec<(&str, &str, i64)> = runs
        .iter()
        .map(|r| (r.shop.as_str(), r.status.as_str(), r.attempts))
        .collect();
    assert_eq!(
        status,
        vec![
            ("B", "failed", vigie::store::MAX_RUN_ATTEMPTS),
            ("A", "skipped", 0),
            ("A", "done", 2),
        ],
        "{runs:?}"
    );
    assert_eq!(runs[2].worker.as_deref(), Some("w2"));

    // A released run goes back to due, for anyone, at once.
    t += secs(100);
    assert_eq!(
        store.enqueue_run(&run("A", "h1", t)).await.unwrap(),
        Queued::Queued
    );
    let c = store
        .claim_runs("w1", t, t + secs(10), 10, t, &intervals)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert!(
        store
            .end_run("w1", c[0].id, RunEnd::Released, "", t + secs(1))
            .await
            .unwrap()
    );
    let again = store
        .claim_runs("w2", t + secs(1), t + secs(11), 10, t, &intervals)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (c[0].id, 2));
}

// ---------------------------------------------------------------- console

/// A query over every finding, `limit` rows a page.
fn every_finding(limit: i64) -> vigie::store::FindingQuery {
    vigie::store::FindingQuery {
        limit,
        ..Default::default()
    }
}

/// A dismissed finding leaves the open list and shows as dismissed, its
/// pending alerts are cancelled, it is counted per rule, a second
/// dismissal changes nothing, and the episode seen again stays dismissed.
async fn a_dismissed_finding_leaves_the_open_list(url: String) {
    use vigie::store::{Dismissal, FindingState};
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let done = store.write_batch(&first_batch(s0)).await.expect("write");
    let id = done.opened[0].0;
    let open_q = vigie::store::FindingQuery {
        state: Some(FindingState::Open),
        ..every_finding(50)
    };
    let dismissed_q = vigie::store::FindingQuery {
        state: Some(FindingState::Dismissed),
        ..every_finding(50)
    };
    assert_eq!(store.findings_page(&open_q).await.expect("page").total, 1);

    let when = at(1);
    assert_eq!(
        store
            .dismiss_finding(id, "prix vérifié en magasin", when)
            .await
            .expect("dismiss"),
        Dismissal::Dismissed {
            cancelled_alerts: 2
        }
    );
    let open_page = store.findings_page(&open_q).await.expect("page");
    assert_eq!((open_page.total, open_page.rows.len()), (0, 0));
    let dismissed = store.findings_page(&dismissed_q).await.expect("page");
    assert_eq!(dismissed.total, 1);
    let f = &dismissed.rows[0];
    assert_eq!(f.id, id);
    assert_eq!(f.dismissed_at, Some(when));
    assert_eq!(
        f.dismissed_reason.as_deref(),
        Some("prix vérifié en magasin")
    );
    assert_eq!(f.product_id, done.product_ids["sku:A1"]);
    // Its alerts are cancelled, with the reason: none is due.
    let counts = store.outbox_counts().await.expect("counts");
    assert_eq!((counts.pending, counts.cancelled), (0, 2));
    assert!(
        due_rows(store.as_ref(), at(400), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let listed = store.outbox_list(false, 10).await.expect("list");
    assert!(listed.iter().all(|o| {
        o.status == vigie::domain::OutboxStatus::Cancelled
            && o.last_error.as_deref() == Some("dismissed: prix vérifié en magasin")
    }));
    assert_eq!(
        store.dismissals_by_rule().await.expect("by rule"),
        vec![(Rule::R3, 1)]
    );

    // Once only; an unknown finding is said so.
    assert_eq!(
        store
            .dismiss_finding(id, "encore", at(2))
            .await
            .expect("again"),
        Dismissal::AlreadyDismissed
    );
    assert_eq!(
        store
            .dismiss_finding(id + 1000, "x", at(2))
            .await
            .expect("none"),
        Dismissal::NotFound
    );

    // The same episode seen again: confirmed, not reopened, still dismissed.
    let s1 = store.begin_scan(at(2)).await.expect("scan");
    let mut again = raising(s1, 2, "A1", "R3");
    again.continue_rules = vec![Rule::R3];
    let re = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![again],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert!(re.opened.is_empty());
    assert_eq!(re.queued, 0);
    let all_rows = store.findings_page(&every_finding(50)).await.expect("page");
    assert_eq!(all_rows.total, 1);
    assert_eq!(all_rows.rows[0].dismissed_at, Some(when));
    assert_eq!(all_rows.rows[0].last_seen_at, at(2));
}

/// Pages of 40 over 250 findings cover every row exactly once, newest
/// first (ties by id, descending), each with the total; filters narrow
/// the total.
async fn finding_pages_cover_every_row_once_newest_first(url: String) {
    use vigie::store::{FindingQuery, FindingState};
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let items: Vec<BatchItem> = (0..250)
        .map(|i| {
            let mut it = item(scan, i % 7, &format!("K{i:03}"), 6000, Some(10000));
            it.raise = vec![draft(if i % 5 == 0 { "R5" } else { "R3" }, 6000, 10000)];
            it
        })
        .collect();
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: true,
            items,
            pages: Vec::new(),
        })
        .await
        .expect("write");
    assert_eq!(done.opened.len(), 250);

    let mut seen: Vec<(DateTime<Utc>, i64)> = Vec::new();
    let mut q = every_finding(40);
    loop {
        let page = store.findings_page(&q).await.expect("page");
        assert_eq!(page.total, 250);
        assert!(page.rows.len() <= 40);
        let Some(last) = page.rows.last() else { break };
        q.before = Some((last.opened_at, last.id));
        seen.extend(page.rows.iter().map(|f| (f.opened_at, f.id)));
    }
    assert_eq!(seen.len(), 250);
    let mut expected = seen.clone();
    expected.sort_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(seen, expected, "newest first, each row once");

    let r5 = store
        .findings_page(&FindingQuery {
            rule: Some(Rule::R5),
            ..every_finding(10)
        })
        .await
        .expect("page");
    assert_eq!((r5.total, r5.rows.len()), (50, 10));
    assert!(r5.rows.iter().all(|f| f.rule == Rule::R5));
    let day3 = store
        .findings_page(&FindingQuery {
            opened_from: Some(at(3)),
            opened_to: Some(at(4)),
            state: Some(FindingState::Open),
            brand: Some(BRAND.into()),
            shop: Some(SHOP.into()),
            severity: Some(Severity::Violation),
            ..every_finding(100)
        })
        .await
        .expect("page");
    assert_eq!(day3.total, (0..250).filter(|i| i % 7 == 3).count() as i64);
    assert!(day3.rows.iter().all(|f| f.opened_at == at(3)));
    let product = done.product_ids["sku:K007"];
    let one = store
        .findings_page(&FindingQuery {
            product_id: Some(product),
            ..every_finding(10)
        })
        .await
        .expect("page");
    assert_eq!(one.total, 1);
    assert_eq!(one.rows[0].product_id, product);
    let closed = store
        .findings_page(&FindingQuery {
            state: Some(FindingState::Closed),
            ..every_finding(10)
        })
        .await
        .expect("page");
    assert_eq!((closed.total, closed.rows.len()), (0, 0));
}

/// A subscriber's choices read back as saved, by address whatever its
/// case; saving again replaces them.
async fn preferences_round_trip(url: String) {
    use vigie::domain::{Delivery, Language, Preference};
    let store = open(&url).await;
    assert!(store.preferences().await.expect("all").is_empty());
    assert_eq!(store.preference("ana@x.example").await.expect("one"), None);
    let mut ana = Preference::new("Ana@X.example", at(0));
    ana.brands = Some(vec![BRAND.into(), "Atelier Brume".into()]);
    ana.delivery = Some(Delivery::Weekly(
        chrono::Weekday::Mon,
        chrono::NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
    ));
    ana.language = Some(Language::En);
    ana.paused = true;
    ana.link_version = 3;
    store.save_preference(&ana).await.expect("save");
    let bob = Preference::new("bob@x.example", at(1));
    store.save_preference(&bob).await.expect("save");
    assert_eq!(
        store.preference("ANA@x.example").await.expect("one"),
        Some(ana.clone())
    );
    assert_eq!(
        store.preferences().await.expect("all"),
        vec![ana.clone(), bob.clone()]
    );

    let mut changed = ana.clone();
    changed.brands = None;
    changed.delivery = Some(Delivery::Immediate);
    changed.language = None;
    changed.paused = false;
    changed.unsubscribed_at = Some(at(2));
    changed.updated_at = at(2);
    store.save_preference(&changed).await.expect("save");
    assert_eq!(
        store.preference("ana@x.example").await.expect("one"),
        Some(changed)
    );
    assert_eq!(store.preferences().await.expect("all").len(), 2);
}

/// The first key offered under a name is the one every later call gets.
async fn console_keys_are_stable(url: String) {
    let store = open(&url).await;
    let first = store.console_key("link", &[1, 2, 3, 0]).await.expect("key");
    assert_eq!(first, vec![1, 2, 3, 0]);
    let again = store.console_key("link", &[9, 9, 9]).await.expect("key");
    assert_eq!(again, first);
    let session = store.console_key("session", &[7; 32]).await.expect("key");
    assert_eq!(session, vec![7; 32]);
}

/// An immediate alert waits while its scan runs (a digest alert does not),
/// and is released when the scan ends, or half an hour after it was
/// queued; it carries its scan and whether the scan was the shop's first.
async fn claims_hold_an_immediate_alert_until_its_scan_ends(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let now = Utc::now() + Duration::seconds(1);
    let mut it = raising(scan, 0, "H1", "R3");
    let mut carla = recipient("Carla", "carla@members.example");
    carla.digest = Some(vigie::domain::Digest::Daily);
    carla.deliver_at = Utc::now();
    it.recipients = vec![recipient("Alice", "alice@members.example"), carla];
    store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: true,
            items: vec![it],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    let names = |rows: &[vigie::store::OutboxItem]| {
        rows.iter()
            .map(|o| o.subscriber.clone())
            .collect::<Vec<_>>()
    };
    let running = due_rows(store.as_ref(), now, 10).await.expect("due");
    assert_eq!(names(&running), vec!["Carla"]);

    store.finish_scan(scan, &json!({})).await.expect("finish");
    let ended = due_rows(store.as_ref(), now, 10).await.expect("due");
    assert_eq!(names(&ended), vec!["Alice", "Carla"]);
    assert!(ended.iter().all(|o| o.scan_id == Some(scan) && o.baseline));

    // A scan that crashed holds its alerts half an hour at most.
    let crashed = store.begin_scan(at(1)).await.expect("scan");
    let mut it = raising(crashed, 1, "H2", "R3");
    it.recipients = vec![recipient("Bruno", "bruno@members.example")];
    store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![it],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    let held = due_rows(store.as_ref(), now, 10).await.expect("due");
    assert_eq!(names(&held), vec!["Alice", "Carla"]);
    let late = due_rows(store.as_ref(), now + Duration::minutes(31), 10)
        .await
        .expect("due");
    assert_eq!(names(&late), vec!["Alice", "Carla", "Bruno"]);
    assert_eq!(late[2].scan_id, Some(crashed));
    assert!(!late[2].baseline);
}

/// Rows sent in one message count once toward the daily cap; deferred rows
/// wait for their digest; an address's pending rows can be cancelled.
async fn sent_messages_deferred_and_cancelled_alerts(url: String) {
    let store = open(&url).await;
    let scan = store.begin_scan(at(0)).await.expect("scan");
    let items = ["M1", "M2", "M3", "M4"]
        .iter()
        .map(|sku| {
            let mut it = raising(scan, 0, sku, "R3");
            it.recipients = vec![recipient("Alice", "Alice@Members.example")];
            it.evidence = None;
            it
        })
        .collect();
    store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items,
            pages: Vec::new(),
        })
        .await
        .expect("write");
    store.finish_scan(scan, &json!({})).await.expect("finish");
    let now = Utc::now() + Duration::seconds(1);
    let rows = due_rows(store.as_ref(), now, 10).await.expect("due");
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    assert_eq!(ids.len(), 4);
    assert!(rows.iter().all(|o| !o.baseline && o.digest.is_none()));
    let email = rows[0].email.clone();

    store
        .mark_sent(&ids[..2], now, "outbox-1.finding-1")
        .await
        .expect("sent");
    assert_eq!(
        store
            .messages_sent_since(&email, now - Duration::hours(24))
            .await
            .expect("count"),
        1
    );
    store
        .mark_sent(&ids[2..3], now, "outbox-3")
        .await
        .expect("sent");
    assert_eq!(
        store
            .messages_sent_since(&email, now - Duration::hours(24))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .messages_sent_since(&email, now + Duration::seconds(1))
            .await
            .expect("count"),
        0
    );

    // Over the cap: the last row waits for the next daily digest.
    let digest_at = now + Duration::hours(20);
    store
        .defer_outbox(&ids[3..], vigie::domain::Digest::Daily, digest_at)
        .await
        .expect("defer");
    assert!(
        due_rows(store.as_ref(), now, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let deferred = due_rows(store.as_ref(), digest_at, 10).await.expect("due");
    assert_eq!(deferred.len(), 1);
    assert_eq!(deferred[0].id, ids[3]);
    assert_eq!(deferred[0].digest, Some(vigie::domain::Digest::Daily));

    // Unsubscribed: whatever the case of the address, nothing is left to send.
    assert_eq!(
        store
            .cancel_outbox_to("alice@members.EXAMPLE", "unsubscribed")
            .await
            .expect("cancel"),
        1
    );
    assert!(
        due_rows(store.as_ref(), digest_at, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let counts = store.outbox_counts().await.expect("counts");
    assert_eq!(
        (counts.pending, counts.sent, counts.cancelled, counts.dead),
        (0, 3, 1, 0)
    );
}

/// A shop scan as the console's shops page shows it.
fn shop_scan(scan_id: i64, shop: &str, day: i64) -> vigie::store::ShopScanRow {
    vigie::store::ShopScanRow {
        scan_id,
        shop: shop.into(),
        started_at: at(day),
        finished_at: at(day) + Duration::minutes(12),
        pages_fetched: 120,
        pages_unchanged: 30,
        errors: 2,
        robots_refused: 1,
        response_ms_avg: Some(245.5),
        findings: 4,
        failed: None,
    }
}

/// Shop scans (the latest per shop, a record replaced by a later one of
/// the same scan) and a product's page, variants and observations.
async fn shop_scans_and_products_for_the_console(url: String) {
    let store = open(&url).await;
    let s0 = store.begin_scan(at(0)).await.expect("scan");
    let s1 = store.begin_scan(at(1)).await.expect("scan");
    assert!(store.latest_shop_scans().await.expect("latest").is_empty());
    store
        .record_shop_scan(&shop_scan(s0, SHOP, 0))
        .await
        .expect("record");
    let mut failed = shop_scan(s0, "Autre Boutique", 0);
    failed.failed = Some("robots.txt refuses everything".into());
    failed.response_ms_avg = None;
    store.record_shop_scan(&failed).await.expect("record");
    store
        .record_shop_scan(&shop_scan(s1, SHOP, 1))
        .await
        .expect("record");
    // A run taken over records its scan again: the last record wins.
    let mut retaken = shop_scan(s1, SHOP, 1);
    retaken.pages_fetched = 140;
    store.record_shop_scan(&retaken).await.expect("record");
    assert_eq!(
        store.latest_shop_scans().await.expect("latest"),
        vec![failed, retaken]
    );

    // Two variants of one page, observed twice.
    let mut red = item(s0, 0, "V1", 5000, None);
    red.product.variant = Some("rouge".into());
    red.product.url = "https://shop.example/p/V".into();
    let mut blue = item(s0, 0, "V2", 5200, None);
    blue.product.variant = Some("bleu".into());
    blue.product.url = "https://shop.example/p/V".into();
    let mut red_again = item(s1, 1, "V1", 4500, Some(5000));
    red_again.product = red.product.clone();
    let done = store
        .write_batch(&Batch {
            shop: SHOP.into(),
            baseline: false,
            items: vec![red.clone(), blue.clone(), red_again.clone()],
            pages: Vec::new(),
        })
        .await
        .expect("write");
    let red_id = done.product_ids["sku:V1"];
    let p = store
        .product(red_id)
        .await
        .expect("product")
        .expect("stored");
    assert_eq!(
        (p.id, &p.record, p.first_seen, p.last_seen),
        (red_id, &red.product, at(0), at(1))
    );
    assert_eq!(store.product(red_id + 1000).await.expect("product"), None);
    let variants = store
        .products_at(SHOP, "https://shop.example/p/V")
        .await
        .expect("variants");
    assert_eq!(
        variants.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![red_id, done.product_ids["sku:V2"]]
    );
    assert_eq!(
        store.observations_of(red_id).await.expect("observations"),
        vec![
            (at(0), expected_observation(&red)),
            (at(1), expected_observation(&red_again)),
        ]
    );
}
