//! The outbox against a real SMTP server on loopback: immediate and digest
//! delivery, the server down then back (each message exactly once), a
//! worker dying between claim and commit, a rejected recipient given up
//! with its reason, and `vigie outbox` listing and retrying it.

use chrono::{DateTime, Duration, Utc};
use vigie::config::{Overrides, Settings};
use vigie::domain::{Currency, Money};
use vigie::notify::{self, LEASE, MAX_ATTEMPTS, Mailer};
use vigie::store::{
    Baseline, Batch, BatchItem, FindingDraft, NewObservation, ProductRecord, Recipient, Store,
};

use crate::support::{SmtpServer, sqlite_url, stdout, tls_dir, vigie};
use vigie::domain::{ReferenceKind, Rule, Severity, Source};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn recipient(name: &str, email: &str, digest: Option<&str>, at: DateTime<Utc>) -> Recipient {
    Recipient {
        name: name.into(),
        email: email.parse().expect("an address"),
        language: vigie::domain::Language::Fr,
        digest: digest.map(|d| d.parse().expect("a digest")),
        deliver_at: at,
        rules: Vec::new(),
        severities: Vec::new(),
    }
}

/// One product of `shop` at 129 € crossed out 189 € with an R3 finding,
/// for these recipients.
async fn finding(store: &dyn Store, shop: &str, n: usize, at: DateTime<Utc>, to: Vec<Recipient>) {
    let eur = |m| Money::new(m, Currency::EUR);
    let scan_id = store.begin_scan(at).await.unwrap();
    let item = BatchItem {
        product: ProductRecord {
            shop: shop.into(),
            product_key: format!("sku:P{n}"),
            url: format!("https://{shop}.example/p/{n}"),
            name: Some(format!("Lampe <b>{n}</b>\r\nBcc: x@evil.example")),
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
            rule: Rule::R3,
            severity: Severity::Report,
            legal_basis: "C. com. L310-3".into(),
            price: eur(12900),
            reference: Some(eur(18900)),
            percent: Some(32),
            calendar: "national".into(),
            details: serde_json::json!({}),
        }],
        continue_rules: Vec::new(),
        close_rules: Vec::new(),
        recipients: to,
        evidence: None,
    };
    let batch = Batch {
        shop: shop.into(),
        baseline: false,
        items: vec![item],
        pages: Vec::new(),
    };
    store.write_batch(&batch).await.unwrap();
    // A replayed batch opens nothing and queues nothing twice.
    let again = store.write_batch(&batch).await.unwrap();
    assert_eq!(again.queued, 0);
    // Immediate alerts wait for their scan to end.
    store
        .finish_scan(scan_id, &serde_json::json!({}))
        .await
        .unwrap();
}

fn mailer(port: u16) -> Mailer {
    let s = Settings::resolve(&Overrides {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        mail_from: Some("vigie@collectif.example".into()),
        ..Default::default()
    })
    .unwrap();
    Mailer::from_settings(&s).unwrap()
}

async fn store(dir: &std::path::Path) -> (String, Box<dyn Store>) {
    let url = sqlite_url(dir, "v.db");
    let s = vigie::store::open(&url).await.unwrap();
    (url, s)
}

#[tokio::test]
async fn immediate_and_digest_delivery_exactly_once_across_an_smtp_outage() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = store(dir.path()).await;
    let now = t("2026-03-11T09:00:00Z");
    let digest_at = t("2026-03-12T07:00:00Z");
    for n in 0..3 {
        finding(
            store.as_ref(),
            if n == 2 { "autre" } else { "boutique" },
            n,
            now,
            vec![
                recipient("Ana", "ana@lanterne.example", None, now),
                recipient("Bea", "bea@brume.example", Some("daily"), digest_at),
            ],
        )
        .await;
    }
    // The server is down: every attempt fails and waits.
    let port = SmtpServer::free_port();
    let m = mailer(port);
    let d = notify::drain(store.as_ref(), &m, now).await.unwrap();
    assert_eq!((d.sent, d.retrying, d.dead), (0, 3, 0));
    assert_eq!(store.outbox_counts().await.unwrap().pending, 6);
    // Still down a minute later (the first retry).
    let d = notify::drain(store.as_ref(), &m, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(d.retrying, 3);
    // Back: the immediate emails go at their next attempt, each once.
    let server = SmtpServer::start_at(port);
    let later = now + Duration::minutes(5);
    let d = notify::drain(store.as_ref(), &m, later).await.unwrap();
    assert_eq!((d.sent, d.retrying, d.dead), (3, 0, 0));
    assert_eq!(
        notify::drain(store.as_ref(), &m, later).await.unwrap().sent,
        0
    );
    let mails = server.mails();
    assert_eq!(mails.len(), 3);
    assert!(mails.iter().all(|x| x.to == ["ana@lanterne.example"]));
    let subject = mails[0].subject();
    assert!(
        subject
            .starts_with("[Vigie] Maison Lumière chez boutique : -32 % réduction hors soldes (R3)"),
        "{subject}"
    );
    // Scraped text: no extra header, markup escaped.
    assert!(mails.iter().all(|x| x.header("Bcc").is_empty()));
    let html = &mails[0].bodies()[1].1;
    assert!(html.contains("Lampe &lt;b&gt;0&lt;/b&gt;"), "{html}");
    // The digest waits for its time, then is one message with all three.
    assert_eq!(
        notify::drain(store.as_ref(), &m, digest_at - Duration::seconds(1))
            .await
            .unwrap()
            .sent,
        0
    );
    let d = notify::drain(store.as_ref(), &m, digest_at).await.unwrap();
    assert_eq!(d.sent, 1);
    let mails = server.mails();
    assert_eq!(mails.len(), 4);
    let digest = &mails[3];
    assert_eq!(digest.to, ["bea@brume.example"]);
    assert_eq!(
        digest.subject(),
        "[Vigie] résumé du jour 12/03/2026 : 3 constat(s) — Maison Lumière"
    );
    let text = &digest.bodies()[0].1;
    assert!(
        text.contains("- Maison Lumière chez autre : 1 constat(s)"),
        "{text}"
    );
    assert!(
        text.contains("- Maison Lumière chez boutique : 2 constat(s)"),
        "{text}"
    );
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.pending, c.sent, c.dead), (0, 6, 0));
}

#[tokio::test]
async fn a_worker_dying_after_its_claim_loses_nothing_and_the_resend_is_recognisable() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = store(dir.path()).await;
    let server = SmtpServer::start();
    let m = mailer(server.port);
    let now = t("2026-03-11T09:00:00Z");
    finding(
        store.as_ref(),
        "boutique",
        1,
        now,
        vec![recipient("Ana", "ana@lanterne.example", None, now)],
    )
    .await;
    // A worker claims the row, sends it, and dies before recording it.
    let claimed = store.claim_outbox(now, now + LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let email = vigie::notify::templates::finding_email(
        &claimed[0],
        &vigie::notify::templates::MailLinks::none(),
    )
    .unwrap();
    let id = format!("outbox-{}.finding-{}", claimed[0].id, claimed[0].finding.id);
    m.send(&claimed[0], &email, &id).await.unwrap();
    drop(claimed);
    // While its lease runs, nobody else sends it.
    assert_eq!(
        notify::drain(store.as_ref(), &m, now + Duration::minutes(1))
            .await
            .unwrap()
            .sent,
        0
    );
    // After the lease, it is sent again, with the same Message-ID.
    let d = notify::drain(store.as_ref(), &m, now + LEASE + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(d.sent, 1);
    let mails = server.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].header("Message-ID"), mails[1].header("Message-ID"));
    // And never a third time.
    assert_eq!(
        notify::drain(store.as_ref(), &m, now + LEASE * 3)
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(store.outbox_counts().await.unwrap().sent, 1);
}

#[tokio::test]
async fn a_rejected_recipient_is_given_up_with_the_reason_then_retried_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = store(dir.path()).await;
    let server = SmtpServer::start();
    let m = mailer(server.port);
    let mut now = t("2026-03-11T09:00:00Z");
    finding(
        store.as_ref(),
        "boutique",
        1,
        now,
        vec![
            recipient("Zed", "zed@rejected.example", None, now),
            recipient("Ana", "ana@lanterne.example", None, now),
        ],
    )
    .await;
    let mut dead = 0;
    for _ in 0..MAX_ATTEMPTS {
        dead += notify::drain(store.as_ref(), &m, now).await.unwrap().dead;
        now += Duration::hours(2);
    }
    assert_eq!(dead, 1);
    assert_eq!(server.mails().len(), 1, "Ana's email went once");
    let failed = store.outbox_list(true, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].email, "zed@rejected.example");
    assert_eq!(failed[0].attempts, MAX_ATTEMPTS);
    let reason = failed[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("550"), "{reason}");

    // The operator sees it and retries it from the command line.
    let out = vigie(dir.path(), &["outbox", "--failed", "--database", &url]).await;
    let listed = stdout(&out);
    assert!(
        listed.contains("1 dead")
            && listed.contains("zed@rejected.example")
            && listed.contains("550"),
        "{listed}"
    );
    let out = vigie(
        dir.path(),
        &[
            "outbox",
            "retry",
            &failed[0].id.to_string(),
            "--database",
            &url,
            "--smtp-url",
            &server.url(),
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("1 message(s) put back in the queue"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "still rejected: the retry fails again"
    );
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.sent, c.pending), (1, 1));
}

#[tokio::test]
async fn starttls_with_credentials_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = store(dir.path()).await;
    let server = SmtpServer::start_tls_auth("vigie", "s3cret");
    let now = t("2026-03-11T09:00:00Z");
    finding(
        store.as_ref(),
        "boutique",
        1,
        now,
        vec![recipient("Ana", "ana@lanterne.example", None, now)],
    )
    .await;
    let settings = |password: &str| {
        Settings::resolve(&Overrides {
            smtp_url: Some(format!("smtp://localhost:{}?tls=required", server.port)),
            smtp_username: Some("vigie".into()),
            smtp_password: Some(password.into()),
            smtp_ca_file: Some(tls_dir().join("ca.pem")),
            ..Default::default()
        })
        .unwrap()
    };
    // The password never shows in the settings' debug output.
    assert!(!format!("{:?}", settings("s3cret")).contains("s3cret"));
    // A wrong password: refused, kept for a retry.
    let wrong = Mailer::from_settings(&settings("nope")).unwrap();
    let d = notify::drain(store.as_ref(), &wrong, now).await.unwrap();
    assert_eq!((d.sent, d.retrying), (0, 1));
    let failed = store.outbox_list(false, 10).await.unwrap();
    let reason = failed[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("535"), "{reason}");
    assert!(!reason.contains("nope"));
    // The right one, over TLS: delivered.
    let right = Mailer::from_settings(&settings("s3cret")).unwrap();
    let d = notify::drain(store.as_ref(), &right, now + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(d.sent, 1);
    assert_eq!(server.mails().len(), 1);
}
