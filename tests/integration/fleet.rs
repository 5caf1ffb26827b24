//! Three `vigie worker` processes on one PostgreSQL database crawl a
//! fixture network of 30 hosts on 127.0.0.x, on a shared schedule (one
//! crontab minute made 8 s long). One worker is killed with SIGKILL in the
//! middle of the first run. Checked from the database, the servers' own
//! request logs and a real SMTP server on loopback:
//!
//! - every product is observed exactly once in every completed run, and
//!   each shop has one run per slot;
//! - no host ever has two requests in flight, and no two requests to one
//!   host are closer than its interval, whichever workers sent them;
//! - the killed worker's runs are taken over by the others once its lease
//!   ends, and complete;
//! - every outbox row is sent, and the subscribers receive each email once.
//!
//! Needs `VIGIE_TEST_DATABASE_URL` (`.ci/run` sets it); skipped otherwise,
//! and failed with `CI=true`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use crate::support::{
    Process, Shop, SmtpServer, command, watchlist, with_brands_and_subscribers, with_postgres,
};

const HOSTS: usize = 30;
/// Product pages per host; page 1 shows a sale outside the legal periods.
const PAGES: usize = 4;
/// Requests per second each shop allows.
const RATE: f64 = 5.0;
/// How long each fixture response takes, so overlaps would show.
const SERVICE: Duration = Duration::from_millis(15);
const LEASE_SECONDS: &str = "5";

/// A completed run: id, shop, slot, attempts, worker, scan.
type RunDone = (i64, String, chrono::DateTime<chrono::Utc>, i64, String, i64);

/// One request as the fixture server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    worker: String,
    start: Instant,
    end: Instant,
}

struct Host {
    base: String,
    log: Mutex<Vec<Hit>>,
}

async fn serve(State(h): State<Arc<Host>>, uri: Uri, headers: axum::http::HeaderMap) -> Response {
    let start = Instant::now();
    // The worker's contact URL ends with its name: Vigie/x (+https://…/w1).
    let worker = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.rsplit('/').next())
        .unwrap_or("?")
        .trim_end_matches(')')
        .to_string();
    tokio::time::sleep(SERVICE).await;
    let base = &h.base;
    let host_no = base
        .split('.')
        .nth(3)
        .and_then(|s| s.split(':').next())
        .unwrap_or("0");
    let body = match uri.path() {
        "/robots.txt" => format!("User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n"),
        "/sitemap.xml" => {
            let urls: String = (1..=PAGES)
                .map(|k| format!("<url><loc>{base}/p/{k}</loc></url>"))
                .collect();
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>"
            )
        }
        p => match p.strip_prefix("/p/").and_then(|k| k.parse::<usize>().ok()) {
            Some(k) if (1..=PAGES).contains(&k) => {
                let (price, extra) = if k == 1 {
                    (
                        "70.00",
                        ",\"priceSpecification\":[{\"@type\":\"UnitPriceSpecification\",\"priceType\":\"https://schema.org/StrikethroughPrice\",\"price\":\"100.00\",\"priceCurrency\":\"EUR\"}]",
                    )
                } else {
                    ("45.00", "")
                };
                let banner = if k == 1 {
                    "<p class=\"promo\">SOLDES : -30 % sur la lampe</p>"
                } else {
                    ""
                };
                format!(
                    "<!doctype html><html lang=\"fr\"><head><title>Lampe {host_no}-{k}</title>\
                     <script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\
                     \"name\":\"Lampe {host_no}-{k}\",\"brand\":{{\"@type\":\"Brand\",\"name\":\"Maison Lumière\"}},\
                     \"sku\":\"H{host_no}-P{k}\",\"offers\":{{\"@type\":\"Offer\",\"price\":\"{price}\",\
                     \"priceCurrency\":\"EUR\",\"availability\":\"https://schema.org/InStock\"{extra}}}}}</script>\
                     </head><body><h1>Lampe {host_no}-{k}</h1>{banner}</body></html>"
                )
            }
            _ => {
                record(&h, uri.path(), worker, start);
                return (axum::http::StatusCode::NOT_FOUND, "not found").into_response();
            }
        },
    };
    let ctype = if uri.path().ends_with(".xml") {
        "application/xml"
    } else if uri.path().ends_with(".txt") {
        "text/plain; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    let response = ([("content-type", ctype)], body).into_response();
    record(&h, uri.path(), worker, start);
    response
}

fn record(h: &Host, path: &str, worker: String, start: Instant) {
    h.log.lock().unwrap().push(Hit {
        path: path.to_string(),
        worker,
        start,
        end: Instant::now(),
    });
}

async fn start_host(ip: &str) -> Arc<Host> {
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let host = Arc::new(Host {
        base: format!("http://{addr}"),
        log: Mutex::new(Vec::new()),
    });
    let app = Router::new().fallback(serve).with_state(host.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    host
}

/// A `vigie worker` on the fleet's database and schedule: the crontab
/// minute lasts 8 s from `origin`, and the date is outside the legal sales
/// periods whatever today's date.
fn start_worker(dir: &Path, name: &str, db: &str, wl: &Path, smtp: &str, origin: &str) -> Process {
    let mut cmd = command(
        dir,
        &[
            "worker",
            "--name",
            name,
            "--log-format",
            "json",
            "--lease-seconds",
            LEASE_SECONDS,
            "--max-runs",
            "10",
            "--jitter-seconds",
            "0",
            "--tick-seconds",
            "8",
            "--clock-origin",
            origin,
            "--now",
            "2026-03-10T10:00:00Z",
        ],
    );
    cmd.env("VIGIE_DATABASE", db)
        .env("VIGIE_WATCHLISTS", wl)
        .env("VIGIE_SMTP_URL", smtp)
        .env("VIGIE_CONTACT_URL", format!("https://fleet.test/{name}"))
        // Thirty shops' first scans are thirty summaries to one address:
        // above the default daily cap, the rest would wait for tomorrow's
        // digest. This test counts deliveries, not the cap.
        .env("VIGIE_ALERTS_DAILY_CAP", "1000");
    Process::start(cmd, dir, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_thirty_hosts_politely_and_survive_a_sigkill() {
    with_postgres(
        "three_workers_share_thirty_hosts_politely_and_survive_a_sigkill",
        fleet,
    )
    .await;
}

async fn fleet(db: String) {
    let mut hosts = Vec::new();
    for i in 0..HOSTS {
        hosts.push(start_host(&format!("127.0.0.{}", 100 + i)).await);
    }
    let tmp = tempfile::tempdir().unwrap();
    let shops: Vec<Shop> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| Shop::new(&format!("Boutique {i:02}"), &h.base, RATE).schedule("* * * * *"))
        .collect();
    let wl = watchlist(
        tmp.path(),
        "fleet.toml",
        &with_brands_and_subscribers(&shops),
    );
    let smtp = SmtpServer::start();
    // Every worker reads the schedule on the same fast clock.
    let origin = chrono::Utc::now().to_rfc3339();
    let started = Instant::now();
    let mut workers: Vec<Process> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| start_worker(tmp.path(), n, &db, &wl, &smtp.url(), &origin))
        .collect();

    // Kill w1 once it is crawling: after its first few requests.
    let hits_by = |w: &str| -> usize {
        hosts
            .iter()
            .map(|h| {
                h.log
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|x| x.worker == w)
                    .count()
            })
            .sum()
    };
    while hits_by("w1") < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "w1 never crawled\n{}",
            workers[0].log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers[0].signal(libc::SIGKILL);
    let killed_at = Instant::now();
    workers[0].wait_exit(Duration::from_secs(5));
    let w1_hosts: HashSet<String> = hosts
        .iter()
        .filter(|h| h.log.lock().unwrap().iter().any(|x| x.worker == "w1"))
        .map(|h| h.base.clone())
        .collect();
    assert!(!w1_hosts.is_empty());

    // Wait until every shop has two completed runs.
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    loop {
        let done: Vec<(String, i64)> = sqlx::query_as(
            "SELECT shop, COUNT(*) FROM shop_runs WHERE status = 'done' GROUP BY shop",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if done.len() == HOSTS && done.iter().all(|(_, n)| *n >= 2) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "runs not done in time: {done:?}\n--- w2\n{}\n--- w3\n{}",
            workers[1].log_text(),
            workers[2].log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "fleet: two runs per shop after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Let the outbox settle, then stop the survivors.
    let mut sent_before = -1;
    loop {
        let (pending, sent): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'sent') FROM outbox",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if pending == 0 && sent == sent_before {
            break;
        }
        sent_before = sent;
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "outbox not delivered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for w in &workers[1..] {
        w.signal(libc::SIGTERM);
    }
    for w in &mut workers[1..] {
        assert_eq!(
            w.wait_exit(Duration::from_secs(15)).0,
            Some(0),
            "{}",
            w.log_text()
        );
    }

    // 1. Every completed run observed every product of its shop exactly once.
    let runs: Vec<RunDone> = sqlx::query_as(
        "SELECT id, shop, slot, attempts, worker, scan_id FROM shop_runs WHERE status = 'done' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (id, shop, _, _, _, scan_id) in &runs {
        let per_product: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.product_key, COUNT(*) FROM observations o JOIN products p ON p.id = o.product_id \
             WHERE o.scan_id = $1 GROUP BY p.product_key ORDER BY p.product_key",
        )
        .bind(scan_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            per_product.len(),
            PAGES,
            "run {id} of {shop}: {per_product:?}"
        );
        assert!(
            per_product.iter().all(|(_, n)| *n == 1),
            "run {id}: {per_product:?}"
        );
        let other_shops: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM observations o JOIN products p ON p.id = o.product_id \
             WHERE o.scan_id = $1 AND p.shop <> $2",
        )
        .bind(scan_id)
        .bind(shop)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(other_shops, 0);
    }
    // One run per shop and slot, and no two runs of a shop at once.
    let slots: HashSet<(String, chrono::DateTime<chrono::Utc>)> =
        runs.iter().map(|r| (r.1.clone(), r.2)).collect();
    assert_eq!(slots.len(), runs.len());
    // Observations exist only in the scans of runs.
    let stray: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM observations WHERE scan_id NOT IN (SELECT scan_id FROM shop_runs WHERE scan_id IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stray, 0);

    // 2. w1's runs were taken over and finished by the others.
    let taken_over: Vec<&RunDone> = runs.iter().filter(|r| r.3 >= 2).collect();
    assert!(!taken_over.is_empty(), "no run was taken over: {runs:?}");
    assert!(
        runs.iter().all(|r| r.4 != "w1"),
        "a run is recorded as done by the dead worker"
    );
    let takeovers = workers[1].count("run taken over: resuming it", None)
        + workers[2].count("run taken over: resuming it", None);
    assert_eq!(takeovers, taken_over.len());
    let unfinished: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM shop_runs WHERE status IN ('running', 'failed')")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unfinished, 0, "a run was left running or failed");

    // 3. Politeness, from the servers' logs: one request at a time per host,
    // and never two closer than the interval, across workers and takeovers.
    let interval = Duration::from_secs_f64(1.0 / RATE);
    let mut shared_hosts = 0;
    for h in &hosts {
        let mut log = h.log.lock().unwrap().clone();
        log.sort_by_key(|x| x.start);
        assert!(
            log.len() >= 2 * (PAGES + 1),
            "{}: {} requests",
            h.base,
            log.len()
        );
        for pair in log.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                b.start >= a.end,
                "{}: {} ({}) overlapped {} ({})",
                h.base,
                b.path,
                b.worker,
                a.path,
                a.worker
            );
            let gap = b.start - a.end;
            assert!(
                gap + Duration::from_millis(3) >= interval,
                "{}: {:?} between {} ({}) and {} ({}), below the {:?} interval",
                h.base,
                gap,
                a.path,
                a.worker,
                b.path,
                b.worker,
                interval
            );
        }
        let served_by: HashSet<&str> = log.iter().map(|x| x.worker.as_str()).collect();
        if served_by.len() > 1 {
            shared_hosts += 1;
        }
        // The dead worker sent nothing after its death.
        assert!(
            log.iter()
                .filter(|x| x.worker == "w1")
                .all(|x| x.start < killed_at)
        );
    }
    // w1's hosts were served by another worker afterwards.
    for h in hosts.iter().filter(|h| w1_hosts.contains(&h.base)) {
        let log = h.log.lock().unwrap();
        assert!(
            log.iter().any(|x| x.worker != "w1" && x.start > killed_at),
            "{}",
            h.base
        );
    }
    assert!(shared_hosts >= w1_hosts.len());

    // 4. Every outbox row sent, each email received exactly once.
    let (rows, sent): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'sent') FROM outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    // Page 1 of each host is a sale outside the legal periods, and two
    // subscribers follow the brand.
    let findings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(findings >= HOSTS as i64, "{findings} findings");
    assert_eq!(rows, findings * 2);
    assert_eq!(sent, rows);
    let mails = smtp.mails();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mails {
        let id = m.header("Message-ID").join(",");
        *ids.entry(id).or_default() += 1;
    }
    let dupes: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "emails received twice: {dupes:?}");
    // Rows sent together (one shop's scan, a summary) share a message.
    let messages: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT message_id) FROM outbox WHERE status = 'sent'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(mails.len() as i64, messages, "one email per message sent");
    let per_subscriber: HashMap<String, usize> = mails.iter().fold(HashMap::new(), |mut m, x| {
        *m.entry(x.to.join(",")).or_default() += 1;
        m
    });
    assert_eq!(per_subscriber.len(), 2, "{per_subscriber:?}");
    pool.close().await;
    eprintln!(
        "fleet: {} runs done ({} taken over from w1), {} hosts shared by two workers, {} emails, {:.1} s",
        runs.len(),
        taken_over.len(),
        shared_hosts,
        mails.len(),
        started.elapsed().as_secs_f64()
    );
}
