//! The polite fetcher against real HTTP servers on 127.0.0.x: robots.txt
//! statuses (RFC 9309), Crawl-delay, Retry-After, concurrency, 304,
//! charsets, size caps, redirects, private addresses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, Uri};
use url::Url;
use vigie::fetch::{FetchConfig, FetchOutcome, HostPolicy, HostPool, Validators};

/// What the scripted server answers: status, headers, body, delay.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>, Duration);
type Script = dyn Fn(&str, &HeaderMap, usize) -> Reply + Send + Sync;

/// A scripted HTTP server on a loopback address; it logs every arrival
/// and the largest number of requests in flight at once.
struct TestServer {
    base: String,
    log: Arc<Mutex<Vec<(String, Instant)>>>,
    max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    async fn start(
        ip: &str,
        script: impl Fn(&str, &HeaderMap, usize) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (l, m, f) = (log.clone(), max_in_flight.clone(), in_flight.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (log, max, in_flight, script) = (l.clone(), m.clone(), f.clone(), script.clone());
            async move {
                let path = uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push((path.clone(), Instant::now()));
                    log.iter().filter(|(p, _)| *p == path).count()
                };
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                let (status, headers, body, delay) = script(&path, &headers, n);
                tokio::time::sleep(delay).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let mut r = Response::builder().status(StatusCode::from_u16(status).unwrap());
                for (k, v) in headers {
                    r = r.header(k, v);
                }
                r.body(Body::from(body)).unwrap()
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer {
            base,
            log,
            max_in_flight,
            task,
        }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).unwrap()
    }

    fn arrivals(&self, path: &str) -> Vec<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| *t)
            .collect()
    }

    fn paths(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
}

fn ok(body: &str) -> Reply {
    (
        200,
        vec![("content-type", "text/html; charset=utf-8".into())],
        body.as_bytes().to_vec(),
        Duration::ZERO,
    )
}

fn status(code: u16) -> Reply {
    (code, vec![], Vec::new(), Duration::ZERO)
}

fn policy(rate: f64) -> HostPolicy {
    HostPolicy {
        rate,
        concurrency: 1,
        allow_private_network: true,
        offsite_redirects: false,
    }
}

fn pool() -> HostPool {
    let mut c = FetchConfig::new("Vigie/test (+https://example.org)".into());
    c.backoff_base = Duration::from_millis(50);
    HostPool::new(c).unwrap()
}

fn min_gap(times: &[Instant]) -> Duration {
    times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .min()
        .unwrap_or(Duration::MAX)
}

#[tokio::test]
async fn robots_txt_statuses_follow_rfc_9309() {
    // 404: allow everything.
    let s = TestServer::start("127.0.0.21", |p, _, _| {
        if p == "/robots.txt" {
            status(404)
        } else {
            ok("x")
        }
    })
    .await;
    assert!(matches!(
        pool().fetch(&s.url("/a"), policy(50.0)).await,
        FetchOutcome::Fetched(_)
    ));
    // 503: disallow everything; the page is never requested.
    let s = TestServer::start("127.0.0.22", |p, _, _| {
        if p == "/robots.txt" {
            status(500)
        } else {
            ok("x")
        }
    })
    .await;
    assert!(matches!(
        pool().fetch(&s.url("/a"), policy(50.0)).await,
        FetchOutcome::Disallowed { .. }
    ));
    assert!(!s.paths().contains(&"/a".to_string()));
    // Rules for our product token win over the `*` group; longest match wins.
    let robots = "User-agent: *\nDisallow: /\n\nUser-agent: vigie\nDisallow: /prive/\nAllow: /prive/public\n";
    let s = TestServer::start("127.0.0.23", move |p, _, _| {
        if p == "/robots.txt" {
            ok(robots)
        } else {
            ok("x")
        }
    })
    .await;
    let pool = pool();
    assert!(matches!(
        pool.fetch(&s.url("/produit"), policy(50.0)).await,
        FetchOutcome::Fetched(_)
    ));
    assert!(matches!(
        pool.fetch(&s.url("/prive/x"), policy(50.0)).await,
        FetchOutcome::Disallowed { .. }
    ));
    assert!(matches!(
        pool.fetch(&s.url("/prive/public"), policy(50.0)).await,
        FetchOutcome::Fetched(_)
    ));
    assert!(
        !s.paths().contains(&"/prive/x".to_string()),
        "a disallowed path is never fetched"
    );
    assert_eq!(s.arrivals("/robots.txt").len(), 1, "robots.txt is cached");
}

#[tokio::test]
async fn crawl_delay_slows_the_host_when_slower_than_the_shop_rate() {
    let s = TestServer::start("127.0.0.24", |p, _, _| {
        if p == "/robots.txt" {
            ok("User-agent: *\nCrawl-delay: 0.3\n")
        } else {
            ok("x")
        }
    })
    .await;
    let pool = pool();
    for i in 0..4 {
        pool.fetch(&s.url(&format!("/p{i}")), policy(50.0)).await;
    }
    let all: Vec<Instant> = s.log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(all.len(), 5);
    assert!(
        min_gap(&all) >= Duration::from_millis(300),
        "gaps {:?}",
        min_gap(&all)
    );
}

#[tokio::test]
async fn retry_after_is_honoured_after_a_429() {
    let s = TestServer::start("127.0.0.25", |p, _, n| match (p, n) {
        ("/robots.txt", _) => status(404),
        ("/busy", 1) => (
            429,
            vec![("retry-after", "1".into())],
            Vec::new(),
            Duration::ZERO,
        ),
        _ => ok("enfin"),
    })
    .await;
    let out = pool().fetch(&s.url("/busy"), policy(50.0)).await;
    assert!(matches!(out, FetchOutcome::Fetched(_)), "{out:?}");
    let times = s.arrivals("/busy");
    assert_eq!(times.len(), 2);
    let gap = times[1].duration_since(times[0]);
    assert!(
        gap >= Duration::from_secs(1),
        "retried after {gap:?}, Retry-After said 1 s"
    );
}

#[tokio::test]
async fn concurrency_never_exceeds_the_limit_with_a_slow_server() {
    let s = TestServer::start("127.0.0.26", |p, _, _| {
        if p == "/robots.txt" {
            status(404)
        } else {
            (200, vec![], b"ok".to_vec(), Duration::from_millis(60))
        }
    })
    .await;
    let pool = Arc::new(pool());
    let pol = HostPolicy {
        concurrency: 2,
        ..policy(1000.0)
    };
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (pool, url) = (pool.clone(), s.url(&format!("/p{i}")));
        tasks.push(tokio::spawn(async move { pool.fetch(&url, pol).await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), FetchOutcome::Fetched(_)));
    }
    assert_eq!(
        s.max_in_flight.load(Ordering::SeqCst),
        2,
        "at most 2 in flight, and the pool used both"
    );
}

#[tokio::test]
async fn a_304_is_not_modified() {
    let s = TestServer::start("127.0.0.27", |p, h, _| {
        if p == "/robots.txt" {
            return status(404);
        }
        if h.get("if-none-match").and_then(|v| v.to_str().ok()) == Some("\"v1\"") {
            return status(304);
        }
        (
            200,
            vec![("etag", "\"v1\"".into())],
            b"page".to_vec(),
            Duration::ZERO,
        )
    })
    .await;
    let pool = pool();
    let FetchOutcome::Fetched(page) = pool.fetch(&s.url("/p"), policy(50.0)).await else {
        panic!()
    };
    let v = page.validators();
    assert_eq!(
        v,
        Validators {
            etag: Some("\"v1\"".into()),
            last_modified: None
        }
    );
    let again = pool
        .fetch_conditional(&s.url("/p"), policy(50.0), Some(&v))
        .await;
    assert!(
        matches!(again, FetchOutcome::NotModified { .. }),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_windows_1252_page_decodes_correctly() {
    let s = TestServer::start("127.0.0.28", |p, _, _| {
        if p == "/robots.txt" {
            return status(404);
        }
        // "Café crème 12,50 €" in windows-1252, declared in the header.
        let body = b"<p>Caf\xe9 cr\xe8me 12,50 \x80</p>".to_vec();
        (
            200,
            vec![("content-type", "text/html; charset=windows-1252".into())],
            body,
            Duration::ZERO,
        )
    })
    .await;
    let FetchOutcome::Fetched(page) = pool().fetch(&s.url("/p"), policy(50.0)).await else {
        panic!()
    };
    assert_eq!(page.text(), "<p>Café crème 12,50 €</p>");
}

#[tokio::test]
async fn an_oversized_body_is_aborted() {
    let s = TestServer::start("127.0.0.29", |p, _, _| {
        if p == "/robots.txt" {
            status(404)
        } else {
            ok(&"x".repeat(64 * 1024))
        }
    })
    .await;
    let mut c = FetchConfig::new("Vigie/test".into());
    c.max_body = 16 * 1024;
    let out = HostPool::new(c)
        .unwrap()
        .fetch(&s.url("/big"), policy(50.0))
        .await;
    match out {
        FetchOutcome::Failed { reason, .. } => assert!(reason.contains("cap"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn redirect_loops_and_offsite_redirects_are_stopped() {
    let s = TestServer::start("127.0.0.30", |p, _, _| match p {
        "/robots.txt" => status(404),
        "/a" => (302, vec![("location", "/b".into())], vec![], Duration::ZERO),
        "/b" => (301, vec![("location", "/a".into())], vec![], Duration::ZERO),
        "/away" => (
            302,
            vec![("location", "http://127.0.0.31:9/x".into())],
            vec![],
            Duration::ZERO,
        ),
        "/moved" => (
            301,
            vec![("location", "/here".into())],
            vec![],
            Duration::ZERO,
        ),
        _ => ok("arrivé"),
    })
    .await;
    let pool = pool();
    match pool.fetch(&s.url("/a"), policy(50.0)).await {
        FetchOutcome::Failed { reason, .. } => {
            assert!(reason.contains("redirect loop"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match pool.fetch(&s.url("/away"), policy(50.0)).await {
        FetchOutcome::Failed { reason, .. } => assert!(reason.contains("another site"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let FetchOutcome::Fetched(page) = pool.fetch(&s.url("/moved"), policy(50.0)).await else {
        panic!()
    };
    assert_eq!(page.url.path(), "/here");
    assert_eq!(page.requested.path(), "/moved");
}

#[tokio::test]
async fn a_private_address_is_refused_without_the_flag() {
    let s = TestServer::start("127.0.0.32", |_, _, _| ok("x")).await;
    let strict = HostPolicy {
        allow_private_network: false,
        ..policy(50.0)
    };
    match pool().fetch(&s.url("/p"), strict).await {
        FetchOutcome::Refused { reason, .. } => {
            assert!(reason.contains("allow_private_network"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.paths().is_empty(), "nothing reached the server");
    // By name too: `localhost` resolves to loopback, refused at resolution.
    let port = s.url("/").port().unwrap();
    let by_name = Url::parse(&format!("http://localhost:{port}/p")).unwrap();
    match pool().fetch(&by_name, strict).await {
        FetchOutcome::Disallowed { reason, .. } | FetchOutcome::Refused { reason, .. } => {
            assert!(reason.contains("allow_private_network"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.paths().is_empty());
    // A refusal is this shop's, not the host's: another shop on the same host
    // that allows private addresses, in the same pool, is served.
    let pool = pool();
    assert!(!pool.robots(&s.url("/"), strict).await.allows(&s.url("/p")));
    assert!(!matches!(
        pool.fetch(&s.url("/p"), strict).await,
        FetchOutcome::Fetched(_)
    ));
    let allowed = policy(50.0);
    assert!(matches!(
        pool.fetch(&s.url("/p"), allowed).await,
        FetchOutcome::Fetched(_)
    ));
}

#[tokio::test]
async fn pacing_holds_server_side_at_the_shop_rate() {
    let s = TestServer::start("127.0.0.33", |p, _, _| {
        if p == "/robots.txt" {
            status(404)
        } else {
            ok("x")
        }
    })
    .await;
    let pool = Arc::new(pool());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (pool, url) = (pool.clone(), s.url(&format!("/p{i}")));
        tasks.push(tokio::spawn(
            async move { pool.fetch(&url, policy(20.0)).await },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all: Vec<Instant> = s.log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(all.len(), 9);
    assert!(
        min_gap(&all) >= Duration::from_millis(50),
        "min gap {:?}",
        min_gap(&all)
    );
}
