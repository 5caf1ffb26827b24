//! No alert storms, against a real SMTP server on loopback: one e-mail
//! per subscriber, shop and scan; one summary per shop for a first scan;
//! a daily cap whose overflow waits for the next digest; one-click
//! unsubscribe headers; nothing to an address that unsubscribed or paused.

use chrono::{DateTime, Duration, Utc};
use vigie::config::{Overrides, Settings};
use vigie::domain::{Currency, Digest, Money, OutboxStatus, Preference};
use vigie::domain::{ReferenceKind, Rule, Severity, Source};
use vigie::metrics::Metrics;
use vigie::notify::links::{LinkPurpose, Links};
use vigie::notify::{self, Mailer};
use vigie::store::{
    Baseline, Batch, BatchItem, FindingDraft, NewObservation, ProductRecord, Recipient, Store,
};

use crate::support::{SmtpServer, sqlite_url};

const PUBLIC: &str = "https://vigie.example.org/";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn recipient(email: &str, at: DateTime<Utc>) -> Recipient {
    Recipient {
        name: "Ana".into(),
        email: email.parse().expect("an address"),
        language: vigie::domain::Language::Fr,
        digest: None,
        deliver_at: at,
        rules: Vec::new(),
        severities: Vec::new(),
    }
}

fn item(shop: &str, n: usize, scan_id: i64, at: DateTime<Utc>, to: &[Recipient]) -> BatchItem {
    let eur = |m| Money::new(m, Currency::EUR);
    BatchItem {
        product: ProductRecord {
            shop: shop.into(),
            product_key: format!("sku:P{n}"),
            url: format!("https://shop.example/{n}"),
            name: Some(format!("Lampe <script>alert({n})</script>")),
            brand: "Maison Lumière".into(),
            sku: Some(format!("P{n}")),
            gtin: None,
            variant: None,
        },
        observation: NewObservation {
            scan_id,
            observed_at: at,
            price: eur(12900),
            reference: Some(eur(18900)),
            reference_kind: Some(ReferenceKind::Strikethrough),
            percent_badge: Some(32),
            availability: None,
            source: Source::JsonLd,
            promo: Vec::new(),
            reference_source: Some(Source::JsonLd),
            warnings: Vec::new(),
        },
        baseline: Baseline {
            regular: Some(eur(18900)),
            last_price: eur(12900),
            last_observed_at: at,
            observations: 1,
            history: Default::default(),
        },
        raise: vec![FindingDraft {
            rule: if n % 2 == 0 { Rule::R3 } else { Rule::R5 },
            severity: if n % 2 == 0 {
                Severity::Report
            } else {
                Severity::Violation
            },
            legal_basis: "C. com. L310-3".into(),
            price: eur(12900),
            reference: Some(eur(18900)),
            percent: Some(32),
            calendar: "national".into(),
            details: serde_json::json!({}),
        }],
        continue_rules: Vec::new(),
        close_rules: Vec::new(),
        recipients: to.to_vec(),
        evidence: None,
    }
}

/// One finished scan of `shops`, each with `per_shop` findings (products
/// numbered from `first`) for `to`; `baseline`: the shops' first scan.
async fn scan(
    store: &dyn Store,
    shops: &[&str],
    (first, per_shop): (usize, usize),
    baseline: bool,
    at: DateTime<Utc>,
    to: &[Recipient],
) {
    let scan_id = store.begin_scan(at).await.unwrap();
    for (s, shop) in shops.iter().enumerate() {
        let items = (0..per_shop)
            .map(|i| item(shop, first + s * per_shop + i, scan_id, at, to))
            .collect();
        let batch = Batch {
            shop: (*shop).into(),
            items,
            pages: Vec::new(),
            baseline,
        };
        store.write_batch(&batch).await.unwrap();
    }
    store
        .finish_scan(scan_id, &serde_json::json!({}))
        .await
        .unwrap();
}

fn settings(port: u16, o: Overrides) -> Settings {
    Settings::resolve(&Overrides {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        mail_from: Some("vigie@collectif.example".into()),
        ..o
    })
    .unwrap()
}

async fn mailer(store: &dyn Store, s: &Settings) -> Mailer {
    let links = notify::console_links(store, s.public_url.clone())
        .await
        .unwrap();
    Mailer::from_settings(s)
        .unwrap()
        .with_links(links)
        .with_metrics(Metrics::default())
}

fn counter(m: &Metrics, name: &str) -> f64 {
    let text = m.render();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

async fn store(dir: &std::path::Path) -> Box<dyn Store> {
    vigie::store::open(&sqlite_url(dir, "v.db")).await.unwrap()
}

#[tokio::test]
async fn a_scan_of_three_findings_at_one_shop_is_one_message_with_unsubscribe_headers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let server = SmtpServer::start();
    let now = t("2026-03-11T09:00:00Z");
    let s = settings(
        server.port,
        Overrides {
            public_url: Some(PUBLIC.into()),
            ..Default::default()
        },
    );
    let m = mailer(store.as_ref(), &s).await;
    let to = [recipient("ana@lanterne.example", now)];
    scan(store.as_ref(), &["boutique"], (0, 3), false, now, &to).await;
    let d = notify::drain(store.as_ref(), &m, now).await.unwrap();
    assert_eq!((d.sent, d.retrying, d.dead), (1, 0, 0));
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.pending, c.sent), (0, 3));
    let mails = server.mails();
    assert_eq!(mails.len(), 1, "one message for the shop's scan");
    assert_eq!(mails[0].subject(), "[Vigie] 3 constats chez boutique");
    let bodies = mails[0].bodies();
    let (text, html) = (&bodies[0].1, &bodies[1].1);
    for n in 0..3 {
        assert!(
            text.contains(&format!("Lampe <script>alert({n})</script>")),
            "{text}"
        );
        assert!(
            html.contains(&format!("Lampe &lt;script&gt;alert({n})&lt;/script&gt;")),
            "{html}"
        );
    }
    assert!(!html.contains("<script"), "{html}");
    assert_eq!(
        text.matches("Voir le constat : https://vigie.example.org/findings/")
            .count(),
        3
    );
    assert_eq!(text.matches("vigie evidence ").count(), 3);
    assert!(
        text.contains("Gérer mes alertes : https://vigie.example.org/my/"),
        "{text}"
    );
    // RFC 2369 and RFC 8058: the one-click URL, then the sender's mailto.
    let header = mails[0].header("List-Unsubscribe");
    assert_eq!(header.len(), 1, "{header:?}");
    let value: String = header[0].split_whitespace().collect::<Vec<_>>().join(" ");
    let (url, mailto) = value.split_once(", ").expect("two URIs");
    assert_eq!(
        mailto,
        "<mailto:vigie@collectif.example?subject=unsubscribe>"
    );
    let token = url
        .strip_prefix("<https://vigie.example.org/unsubscribe/")
        .and_then(|u| u.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{url}"));
    let links = Links::from_store(store.as_ref(), None).await.unwrap();
    let claims = links
        .verify(LinkPurpose::Unsubscribe, token, Utc::now())
        .expect("a valid unsubscribe token");
    assert_eq!(claims.email, "ana@lanterne.example");
    assert_eq!(
        mails[0].header("List-Unsubscribe-Post"),
        ["List-Unsubscribe=One-Click"]
    );
    assert_eq!(counter(m.metrics(), "vigie_alerts_grouped_total"), 3.0);
}

#[tokio::test]
async fn a_first_scan_is_one_summary_per_shop() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let server = SmtpServer::start();
    let now = t("2026-03-11T09:00:00Z");
    let m = mailer(store.as_ref(), &settings(server.port, Overrides::default())).await;
    let to = [recipient("ana@lanterne.example", now)];
    scan(store.as_ref(), &["alpha", "beta"], (0, 4), true, now, &to).await;
    let d = notify::drain(store.as_ref(), &m, now).await.unwrap();
    assert_eq!(d.sent, 2);
    let mut subjects: Vec<String> = server.mails().iter().map(|x| x.subject()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[Vigie] Première lecture de alpha : 4 constats",
            "[Vigie] Première lecture de beta : 4 constats"
        ]
    );
    let mail = &server.mails()[0];
    let bodies = mail.bodies();
    let (text, html) = (&bodies[0].1, &bodies[1].1);
    assert!(text.contains("- R3 — réduction hors soldes : 2"), "{text}");
    assert!(
        text.contains("- R5 — prix de référence fictif : 2"),
        "{text}"
    );
    // No public URL: the operator's command, no console link.
    assert!(text.contains("vigie findings --shop "), "{text}");
    assert!(!text.contains("https://vigie.example.org"));
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    // Only the mailto, and no one-click promise without a URL.
    assert_eq!(
        mail.header("List-Unsubscribe"),
        ["<mailto:vigie@collectif.example?subject=unsubscribe>"]
    );
    assert!(mail.header("List-Unsubscribe-Post").is_empty());
    assert_eq!(counter(m.metrics(), "vigie_alerts_grouped_total"), 8.0);
}

#[tokio::test]
async fn over_the_daily_cap_alerts_wait_for_the_next_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let server = SmtpServer::start();
    let now = t("2026-03-11T09:00:00Z");
    let s = settings(
        server.port,
        Overrides {
            alerts_daily_cap: Some("2".into()),
            ..Default::default()
        },
    );
    let m = mailer(store.as_ref(), &s).await;
    let to = [recipient("ana@lanterne.example", now)];
    // Three scans, one finding each: three messages, the third over the cap.
    for n in 0..3 {
        scan(store.as_ref(), &["boutique"], (n, 1), false, now, &to).await;
    }
    let d = notify::drain(store.as_ref(), &m, now).await.unwrap();
    assert_eq!((d.sent, d.deferred), (2, 1));
    assert_eq!(server.mails().len(), 2);
    let waiting: Vec<_> = store
        .outbox_list(false, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .collect();
    assert_eq!(waiting.len(), 1, "nothing lost");
    assert_eq!(waiting[0].digest, Some(Digest::Daily));
    // 08:00 in Paris the next morning.
    let morning = t("2026-03-12T07:00:00Z");
    assert_eq!(waiting[0].next_attempt_at, morning);
    assert_eq!(counter(m.metrics(), "vigie_alerts_throttled_total"), 1.0);
    // It goes in the digest, which the cap never holds.
    let d = notify::drain(store.as_ref(), &m, morning).await.unwrap();
    assert_eq!((d.sent, d.deferred), (1, 0));
    let mails = server.mails();
    assert_eq!(mails.len(), 3);
    assert!(
        mails[2].subject().starts_with("[Vigie] résumé du jour"),
        "{}",
        mails[2].subject()
    );
    assert_eq!(store.outbox_counts().await.unwrap().sent, 3);
    // 24 hours after those messages (sent at the wall clock), the cap
    // counts afresh.
    let later = Utc::now() + Duration::hours(25);
    scan(store.as_ref(), &["boutique"], (9, 1), false, later, &to).await;
    let d = notify::drain(store.as_ref(), &m, later).await.unwrap();
    assert_eq!((d.sent, d.deferred), (1, 0));
}

#[tokio::test]
async fn nothing_goes_to_an_address_that_unsubscribed_or_paused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let server = SmtpServer::start();
    let now = t("2026-03-11T09:00:00Z");
    let m = mailer(store.as_ref(), &settings(server.port, Overrides::default())).await;
    let mut gone = Preference::new("ana@lanterne.example", now);
    gone.unsubscribed_at = Some(now);
    store.save_preference(&gone).await.unwrap();
    let mut paused = Preference::new("bea@brume.example", now);
    paused.paused = true;
    store.save_preference(&paused).await.unwrap();
    let to = [
        recipient("Ana@Lanterne.example", now),
        recipient("bea@brume.example", now),
        recipient("cid@ciel.example", now),
    ];
    scan(store.as_ref(), &["boutique"], (0, 2), false, now, &to).await;
    let d = notify::drain(store.as_ref(), &m, now).await.unwrap();
    assert_eq!((d.sent, d.cancelled), (1, 2));
    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["cid@ciel.example"]);
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.pending, c.sent, c.cancelled), (0, 2, 4));
    assert_eq!(counter(m.metrics(), "vigie_outbox_cancelled_total"), 4.0);
}
