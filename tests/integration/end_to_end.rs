//! The real binary, end to end: a fixture shop over HTTP on 127.0.0.1, a
//! real SMTP server on loopback, scans on simulated days.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use vigie::demo::{FixtureOptions, FixtureShop};

use crate::support::{
    Shop, SmtpServer, sqlite_url, stderr, stdout, vigie, watchlist, with_brands_and_subscribers,
};

const RATE: f64 = 10.0;

async fn scan_json(cwd: &std::path::Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = vigie(cwd, args).await;
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}\n{}",
            stdout(&out),
            stderr(&out)
        )
    });
    (out.status.code(), summary, stderr(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discount_outside_the_soldes_reaches_each_subscriber_of_the_brand_exactly_once() {
    let shop = FixtureShop::start(
        "127.0.0.1:0",
        FixtureOptions {
            bad_pages: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let smtp = SmtpServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(
        tmp.path(),
        "collectif.toml",
        &with_brands_and_subscribers(&[Shop::new("Boutique Démo", &shop.base_url(), RATE)]),
    );
    let db = sqlite_url(tmp.path(), "vigie.db");
    let out_file = tmp.path().join("observations.jsonl");
    let smtp_url = smtp.url();
    let base = [
        "scan",
        "--json",
        "--watchlists",
        wl.to_str().unwrap(),
        "--database",
        &db,
        "--smtp-url",
        &smtp_url,
    ];
    let day = |now: &'static str| {
        let mut a = base.to_vec();
        a.extend(["--now", now]);
        a
    };

    // Where each scan's requests start in the shop's log.
    let mut scan_starts = vec![0];

    // Day 1: regular prices. A baseline, no alert.
    let mut args = day("2026-03-10T09:00:00+01:00");
    args.extend(["--output", out_file.to_str().unwrap()]);
    let (code, s, log) = scan_json(tmp.path(), &args).await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(s["observations"], 4, "{s}\n{log}");
    assert_eq!(s["findings"], 0);
    assert_eq!(s["emails_sent"], 0);
    // 5 product pages + broken JSON-LD + no price (the 500 page counts as a problem, not a fetch).
    assert_eq!(s["pages_fetched"], 7, "{s}");
    assert!(smtp.mails().is_empty());

    // --output: one JSON line per observation, prices as decimal strings.
    let lines: Vec<Value> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    let lamp = lines.iter().find(|l| l["sku"] == "ML-OPA-01").unwrap();
    assert_eq!(lamp["price"], "189.00");
    assert_eq!(lamp["currency"], "EUR");
    assert_eq!(lamp["brand"], "Maison Lumière");
    assert_eq!(lamp["shop"], "Boutique Démo");
    assert!(
        lamp["observed_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-10T08:00:00")
    );
    assert!(
        lines.iter().all(|l| l["brand"] != "Nordkapp"),
        "unwatched brands are not stored"
    );

    // Bad input: each bad page has a clear reason, and the scan went on.
    assert!(
        log.contains("vase-casse") && log.contains("JSON-LD"),
        "{log}"
    );
    assert!(
        log.contains("sans-prix") && log.contains("no readable price"),
        "{log}"
    );
    assert!(log.contains("en-panne") && log.contains("500"), "{log}");
    assert!(s["errors"].as_u64().unwrap() >= 3, "{s}");

    // Day 2: Lampe Opaline 129,00 € instead of a crossed-out 189,00 €, in March.
    scan_starts.push(shop.requests().len());
    shop.set_day(2);
    let (code, s, log) = scan_json(tmp.path(), &day("2026-03-11T09:00:00+01:00")).await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(s["findings"], 1, "{s}\n{log}");
    assert_eq!(s["emails_sent"], 2, "{s}\n{log}");
    // Conditional GET: the three product pages that did not change answer 304
    // and are observed again without being downloaded; the lamp, the candle
    // and the two bad pages (no ETag) are downloaded.
    assert_eq!(s["pages_unchanged"], 3, "{s}");
    assert_eq!(s["pages_fetched"], 4, "{s}");
    assert_eq!(s["observations"], 4, "{s}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    let recipients: BTreeSet<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(
        recipients,
        BTreeSet::from([
            "ana@lanterne.example".to_string(),
            "bruno@quais.example".to_string()
        ]),
        "every subscriber of Maison Lumière, and no one else"
    );
    for m in &mails {
        let subject = m.subject();
        assert!(subject.contains("Maison Lumière"), "{subject}");
        assert!(subject.contains("Boutique Démo"), "{subject}");
        assert!(subject.contains("-31 %"), "{subject}");
        let bodies = m.bodies();
        assert_eq!(bodies.len(), 2, "text and HTML parts");
        let (text_type, text) = &bodies[0];
        assert_eq!(text_type, "text/plain");
        assert!(text.contains("Lampe Opaline"), "{text}");
        assert!(text.contains("129,00\u{a0}€"), "{text}");
        assert!(text.contains("189,00\u{a0}€"), "{text}");
        assert!(
            text.contains(&format!("{}/produits/lampe-opaline", shop.base_url())),
            "{text}"
        );
        assert!(
            text.contains("11/03/2026 09:00"),
            "observed time, Paris: {text}"
        );
        assert!(
            text.contains("R3") && text.contains("L310-3"),
            "rule and basis: {text}"
        );
        let (html_type, html) = &bodies[1];
        assert_eq!(html_type, "text/html");
        assert!(html.contains("<s>189,00\u{a0}€</s>"), "{html}");
        assert_eq!(m.header("Message-ID").len(), 1);
    }

    // Day 3: the same promotion, nothing new.
    scan_starts.push(shop.requests().len());
    let (code, s, _) = scan_json(tmp.path(), &day("2026-03-12T09:00:00+01:00")).await;
    assert_eq!(code, Some(0));
    assert_eq!(s["findings"], 0);
    assert_eq!(s["emails_sent"], 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(smtp.mails().len(), 2, "a third scan sends nothing");

    // Politeness, from the server's own log.
    let requests = shop.requests();
    assert!(
        requests.iter().all(|r| !r.path.starts_with("/panier/")),
        "robots.txt disallows /panier/"
    );
    assert!(
        requests.iter().all(|r| r.user_agent.starts_with("Vigie/")),
        "User-Agent names Vigie"
    );
    let interval = Duration::from_secs_f64(1.0 / RATE);
    scan_starts.push(requests.len());
    let scans: Vec<_> = scan_starts
        .windows(2)
        .map(|w| &requests[w[0]..w[1]])
        .collect();
    assert_eq!(scans.len(), 3);
    for pair in scans.iter().flat_map(|s| s.windows(2)) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= interval,
            "requests {} then {} only {:?} apart (limit {:?})",
            pair[0].path,
            pair[1].path,
            gap,
            interval
        );
    }
    // robots.txt is read once per scan, before any page.
    for s in &scans {
        assert_eq!(s[0].path, "/robots.txt");
        assert_eq!(s.iter().filter(|r| r.path == "/robots.txt").count(), 1);
    }

    // The finding is listed, with its figures.
    let out = vigie(tmp.path(), &["findings", "--json", "--database", &db]).await;
    let findings: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(findings.as_array().unwrap().len(), 1);
    assert_eq!(findings[0]["rule"], "R3");
    assert_eq!(findings[0]["price_minor"], 12900);
    assert_eq!(findings[0]["reference_minor"], 18900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_private_shop_fails_alone_and_nothing_stored_is_lost() {
    let shop = FixtureShop::start("127.0.0.1:0", FixtureOptions::default())
        .await
        .unwrap();
    shop.set_day(2);
    let tmp = tempfile::tempdir().unwrap();
    // A loopback address no test listens on: connection refused. (A port
    // freed on 127.0.0.1 could be taken by a test running alongside.)
    let closed_url = "http://127.0.0.250:9".to_string();
    let text = with_brands_and_subscribers(&[
        Shop::new("Boutique Démo", &shop.base_url(), RATE),
        Shop::new("Fermée", &closed_url, RATE),
        Shop::new("Sans drapeau", &shop.base_url(), RATE).public_only(),
    ]);
    let wl = watchlist(tmp.path(), "w.toml", &text);
    let db = sqlite_url(tmp.path(), "v.db");
    let mail_dir = tmp.path().join("mail");
    let args = [
        "scan",
        "--json",
        "--watchlists",
        wl.to_str().unwrap(),
        "--database",
        &db,
        "--mail-dir",
        mail_dir.to_str().unwrap(),
        "--now",
        "2026-03-11T09:00:00+01:00",
    ];
    let (code, s, log) = scan_json(tmp.path(), &args).await;
    assert_eq!(code, Some(3), "some shops failed: {log}");
    let failed: Vec<&str> = s["shops_failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["Fermée", "Sans drapeau"], "{log}");
    assert!(
        log.contains("allow_private_network"),
        "the refusal says how to allow it: {log}"
    );
    assert_eq!(s["observations"], 4, "the reachable shop was scanned");
    assert_eq!(s["findings"], 1);
    // With no SMTP server configured, alerts land as .eml files.
    let emls: Vec<_> = std::fs::read_dir(&mail_dir).unwrap().collect();
    assert_eq!(emls.len(), 2);

    // The next scan fails the same way; the stored finding stays.
    let (code, s, _) = scan_json(tmp.path(), &args).await;
    assert_eq!(code, Some(3));
    assert_eq!(s["findings"], 0);
    let out = vigie(tmp.path(), &["findings", "--json", "--database", &db]).await;
    let findings: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(findings.as_array().unwrap().len(), 1);
    assert_eq!(
        std::fs::read_dir(&mail_dir).unwrap().count(),
        2,
        "no duplicate email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_offline_and_delivers_one_alert_per_subscriber() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vigie(tmp.path(), &["demo"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Day 2 (11/03/2026)"), "{text}");
    assert!(text.contains("1 new finding(s), 2 email(s) sent"), "{text}");
    let mails: Vec<_> = std::fs::read_dir(tmp.path().join("vigie-demo/mail"))
        .unwrap()
        .collect();
    assert_eq!(mails.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_are_walked_when_a_shop_has_no_sitemap() {
    let shop = FixtureShop::start("127.0.0.1:0", FixtureOptions::default())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let entry = Shop::new("Sans plan", &shop.base_url(), RATE)
        .key("sitemap", "/pas-de-plan.xml")
        .listing("/collection", "a.produit", "a[rel=next]");
    let wl = watchlist(tmp.path(), "w.toml", &with_brands_and_subscribers(&[entry]));
    let db = sqlite_url(tmp.path(), "v.db");
    let mail = tmp.path().join("mail");
    let (code, s, log) = scan_json(
        tmp.path(),
        &[
            "scan",
            "--json",
            "--watchlists",
            wl.to_str().unwrap(),
            "--database",
            &db,
            "--mail-dir",
            mail.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(s["pages_fetched"], 5, "{s}\n{log}");
    assert_eq!(s["observations"], 4, "{s}");
    let paths: Vec<String> = shop.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/collection?page=2".to_string()),
        "{paths:?}"
    );
    // Without --json, and not on a terminal: progress as plain lines, then the summary.
    let out = vigie(
        tmp.path(),
        &[
            "scan",
            "--watchlists",
            wl.to_str().unwrap(),
            "--database",
            &db,
            "--mail-dir",
            mail.to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    assert!(err.contains("Sans plan: 5 page(s) to read"), "{err}");
    assert!(err.contains("Sans plan: done,"), "{err}");
    assert!(stdout(&out).contains("observation(s)"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_catalogue_is_read_without_fetching_product_pages() {
    let shop = FixtureShop::start("127.0.0.1:0", FixtureOptions::default())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let entry = Shop::new("Boutique Shopify", &shop.base_url(), RATE).key("platform", "shopify");
    let wl = watchlist(tmp.path(), "w.toml", &with_brands_and_subscribers(&[entry]));
    let db = sqlite_url(tmp.path(), "v.db");
    let mail = tmp.path().join("mail");
    let args = |now: &'static str| {
        vec![
            "scan".to_string(),
            "--json".into(),
            "--watchlists".into(),
            wl.to_str().unwrap().into(),
            "--database".into(),
            db.clone(),
            "--mail-dir".into(),
            mail.to_str().unwrap().into(),
            "--now".into(),
            now.into(),
        ]
    };
    let a1 = args("2026-03-10T09:00:00+01:00");
    let (code, s, log) = scan_json(
        tmp.path(),
        &a1.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(s["observations"], 4, "{s}\n{log}");
    assert_eq!(s["findings"], 0);
    shop.set_day(2);
    let a2 = args("2026-03-11T09:00:00+01:00");
    let (_, s, log) = scan_json(
        tmp.path(),
        &a2.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(s["findings"], 1, "{s}\n{log}");
    assert_eq!(s["emails_sent"], 2);
    let paths: Vec<String> = shop.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().all(|p| !p.starts_with("/produits/")),
        "no product page fetched: {paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/products.json?limit=250&page=1")),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_bundles_are_written_and_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vigie(tmp.path(), &["demo", "--dir", "d"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let db = sqlite_url(tmp.path(), "d/demo.db");

    let out = vigie(
        tmp.path(),
        &["evidence", "1", "--out", "bundle", "--database", &db],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(tmp.path().join("bundle/page.html")).unwrap();
    assert!(page.contains("Lampe Opaline") && page.contains("StrikethroughPrice"));
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("bundle/record.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["finding"]["rule"], "R3");
    assert_eq!(record["evidence"]["http_status"], 200);
    let sums = std::fs::read_to_string(tmp.path().join("bundle/SHA256SUMS")).unwrap();
    assert!(sums.contains(record["evidence"]["body_sha256"].as_str().unwrap()));

    let verify = |db: String| {
        let cwd = tmp.path().to_path_buf();
        async move { vigie(&cwd, &["verify", "--database", &db]).await }
    };
    let out = verify(db.clone()).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("intact: 1 record(s)"),
        "{}",
        stdout(&out)
    );

    // Flip one byte of the stored page.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let (blob,): (Vec<u8>,) = sqlx::query_as("SELECT body_zstd FROM evidence WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut tampered = blob.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x01;
    sqlx::query("UPDATE evidence SET body_zstd = ? WHERE id = 1")
        .bind(&tampered)
        .execute(&pool)
        .await
        .unwrap();
    let out = verify(db.clone()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("evidence record #1 FAILS"),
        "{}",
        stdout(&out)
    );

    // Restore it, then edit the structured record instead.
    sqlx::query("UPDATE evidence SET body_zstd = ? WHERE id = 1")
        .bind(&blob)
        .execute(&pool)
        .await
        .unwrap();
    assert!(verify(db.clone()).await.status.success());
    sqlx::query("UPDATE evidence SET record = replace(record, '12900', '13900') WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap();
    let out = verify(db.clone()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("#1 FAILS") && stdout(&out).contains("hash"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_product_name_arrives_escaped_and_harmless() {
    let hostile =
        "<script>alert(1)</script>\r\nBcc: evil@attacker.example\r\n<img src=x onerror=alert(2)>";
    let shop = FixtureShop::start(
        "127.0.0.1:0",
        FixtureOptions {
            lamp_name: Some(hostile.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let smtp = SmtpServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(
        tmp.path(),
        "w.toml",
        &with_brands_and_subscribers(&[Shop::new("Boutique Démo", &shop.base_url(), RATE)]),
    );
    let db = sqlite_url(tmp.path(), "v.db");
    let smtp_url = smtp.url();
    for (day, now) in [
        (1, "2026-03-10T09:00:00+01:00"),
        (2, "2026-03-11T09:00:00+01:00"),
    ] {
        shop.set_day(day);
        let out = vigie(
            tmp.path(),
            &[
                "scan",
                "--watchlists",
                wl.to_str().unwrap(),
                "--database",
                &db,
                "--smtp-url",
                &smtp_url,
                "--now",
                now,
            ],
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert!(m.to.iter().all(|t| !t.contains("attacker")), "{:?}", m.to);
        assert!(m.header("Bcc").is_empty(), "no Bcc header");
        let raw = String::from_utf8_lossy(&m.raw);
        assert!(
            !raw.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "no header line from scraped text"
        );
        let bodies = m.bodies();
        let html = &bodies[1].1;
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }
}
