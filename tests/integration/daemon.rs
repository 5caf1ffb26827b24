//! `vigie daemon`, the real binary: two fixture shops on loopback scanned on
//! their schedules (one crontab minute made 3 s long with the test-only
//! `--tick-seconds`), SIGTERM in the middle of a scan, a restart, the lock
//! refusing a second daemon, and `/metrics` parsed as Prometheus text.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vigie::demo::{FixtureOptions, FixtureShop};

use crate::support::{
    Process, Shop, command, sqlite_url, stderr, vigie, watchlist, with_brands_and_subscribers,
};

const FAST: &str = "Boutique Rapide";
const SLOW: &str = "Boutique Lente";
/// Watched products per fixture shop (the Nordkapp candle is not watched).
const WATCHED: i64 = 4;

/// One sample of the text exposition format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A small parser of the Prometheus text format (0.0.4) and of its
/// OpenMetrics form: `# HELP` and `# TYPE` lines, samples
/// `name{label="value",…} number`, label values with `\\`, `\"` and `\n`
/// escapes. Every sample must belong to a family declared by a `# TYPE`
/// line before it (a counter's family may omit the `_total` its samples
/// end in); other comments (`# UNIT`, `# EOF`) are skipped.
fn parse_prometheus(text: &str) -> Result<Vec<Sample>, String> {
    fn is_name(s: &str, colon: bool) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: &str| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) if is_name(name, true) => {}
                (Some("TYPE"), Some(name), Some(kind)) if is_name(name, true) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(err("unknown type"));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(err("family declared twice"));
                    }
                }
                (Some("HELP" | "TYPE"), _, _) => return Err(err("bad HELP/TYPE line")),
                _ => {} // a comment
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| err("no value"))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(err("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(mut l) = rest.strip_prefix('{') {
            loop {
                if let Some(after) = l.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = l.find('=').ok_or_else(|| err("label without ="))?;
                let key = &l[..eq];
                if !is_name(key, false) {
                    return Err(err("bad label name"));
                }
                let mut chars = l[eq + 1..].char_indices();
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(err("label value not quoted"));
                }
                let mut value = String::new();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            _ => return Err(err("bad escape")),
                        },
                        '"' => {
                            end = Some(eq + 1 + i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end.ok_or_else(|| err("unterminated label value"))?;
                labels.insert(key.to_string(), value);
                l = &l[end..];
                l = l.strip_prefix(',').unwrap_or(l);
            }
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| err("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| err("value is not a number"))?,
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp"))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing text"));
        }
        // OpenMetrics declares a counter's family without its `_total`.
        let kind = types
            .get(name)
            .or_else(|| {
                let family = name.strip_suffix("_total")?;
                types.get(family).filter(|k| *k == "counter")
            })
            .ok_or_else(|| err("sample without a # TYPE line before it"))?;
        if kind == "counter" && !name.ends_with("_total") {
            return Err(err("counter not named *_total"));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

#[test]
fn the_prometheus_parser_refuses_what_prometheus_refuses() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\",y=\"2\"} 3\n";
    let s = parse_prometheus(ok).unwrap();
    assert_eq!(s[0].labels["x"], "q\"\\\n");
    assert_eq!(s[0].value, 3.0);
    let open_metrics = "# TYPE a counter\n# UNIT a x\na_total 1\n# EOF\n";
    assert_eq!(parse_prometheus(open_metrics).unwrap()[0].name, "a_total");
    for bad in [
        "a_total 1\n",                                    // no TYPE
        "# TYPE a_total counter\na_total{x=1} 1\n",       // unquoted
        "# TYPE a_total counter\na_total{x=\"1\"} one\n", // value
        "# TYPE a counter\na 1\n",                        // counter name
        "# TYPE a_total counter\na_total{x=\"1} 1\n",     // unterminated
        "# TYPE a_total widget\n",                        // type
    ] {
        assert!(parse_prometheus(bad).is_err(), "{bad}");
    }
}

async fn observations(db: &str, shop: &str) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let row: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT o.scan_id) FROM observations o \
         JOIN products p ON p.id = o.product_id WHERE p.shop = ?",
    )
    .bind(shop)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    row
}

/// Every run in `shop_runs`: shop and status.
async fn shop_runs(db: &str) -> Vec<(String, String)> {
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT shop, status FROM shop_runs ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn the_daemon_exits_2_on_a_configuration_error_and_1_when_the_database_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let scheduled = with_brands_and_subscribers(&[
        Shop::new("Un", "http://127.0.0.1:9", 1.0).schedule("* * * * *")
    ]);
    let wl = watchlist(tmp.path(), "collectif.toml", &scheduled);
    let daemon = |wl: &std::path::Path, db: &str| {
        let (wl, db) = (wl.to_str().unwrap().to_string(), db.to_string());
        let dir = tmp.path().to_path_buf();
        async move {
            let args = [
                "daemon",
                "--watchlists",
                &wl,
                "--database",
                &db,
                "--mail-dir",
                "mail",
            ];
            vigie(&dir, &args).await
        }
    };
    // A database in a folder that does not exist cannot be opened: 1.
    let missing = sqlite_url(&tmp.path().join("no/such/dir"), "v.db");
    let out = daemon(&wl, &missing).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // No shop with a `schedule`: 2.
    let unscheduled = with_brands_and_subscribers(&[Shop::new("Un", "https://un.example", 1.0)]);
    let wl = watchlist(&tmp.path().join("other"), "collectif.toml", &unscheduled);
    let out = daemon(&wl, &sqlite_url(tmp.path(), "v.db")).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no shop has a `schedule`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_scans_on_schedule_stops_on_sigterm_and_resumes_without_loss() {
    let t0 = Instant::now();
    let fast = FixtureShop::start("127.0.0.1:0", FixtureOptions::default())
        .await
        .unwrap();
    let slow = FixtureShop::start("127.0.0.2:0", FixtureOptions::default())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(
        tmp.path(),
        "collectif.toml",
        &with_brands_and_subscribers(&[
            Shop::new(FAST, &fast.base_url(), 20.0).schedule("* * * * *"),
            Shop::new(SLOW, &slow.base_url(), 0.4).schedule("* * * * *"),
        ]),
    );
    let db = sqlite_url(tmp.path(), "vigie.db");
    let mail = tmp.path().join("mail");
    let origin = chrono::Utc::now().to_rfc3339();
    let args = [
        "daemon",
        "--log-format",
        "json",
        "--watchlists",
        wl.to_str().unwrap(),
        "--database",
        &db,
        "--mail-dir",
        mail.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--jitter-seconds",
        "0",
        "--tick-seconds",
        "3",
        // One schedule clock for both daemons, as the wall clock would be.
        "--clock-origin",
        &origin,
    ];

    // A state file of an older version is no longer read, and left alone.
    let old_state = tmp.path().join("vigie.db.daemon-state.json");
    std::fs::write(&old_state, r#"{"last_success":{}}"#).unwrap();

    // First run: no run recorded yet, so both shops are scanned at once
    // (missed runs), then every 3 s ("* * * * *" with a 3-second minute).
    let mut first = Process::start(command(tmp.path(), &args), tmp.path(), "first");
    first.wait_for("a scan of each shop", Duration::from_secs(30), |d| {
        d.count("scan done", Some(FAST)) >= 2 && d.count("scan done", Some(SLOW)) >= 1
    });
    // The fast shop was scanned on its schedule, more than once; the slow
    // one's scan (7 requests at 0.4/s) outlasted its slots, which were skipped.
    assert!(
        first.count(
            "missed run while the daemon was down: scanning once now",
            None
        ) == 2
    );
    assert!(
        first.count(
            "skipping this slot: the previous run of this shop is still due or running",
            Some(SLOW)
        ) >= 1,
        "{}",
        first.log_text()
    );
    assert_eq!(observations(&db, FAST).await.0 % WATCHED, 0);
    let (slow_obs, slow_scans) = observations(&db, SLOW).await;
    assert_eq!((slow_obs, slow_scans), (WATCHED, 1));
    assert_eq!(
        first.count(
            "this file is no longer read (the database records what ran); it can be deleted",
            None
        ),
        1
    );
    assert!(old_state.exists());

    // A second daemon on the same database refuses to start, naming the
    // lock file and the PID that holds it.
    let second = vigie(tmp.path(), &args).await;
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(err.contains("vigie.db.daemon.lock"), "{err}");
    assert!(err.contains(&format!("PID {}", first.pid())), "{err}");

    // SIGTERM as the slow shop's second scan begins: its sitemap and five
    // pages need 12.5 s at 0.4 request/s, more than the 8 s shutdown grace.
    first.wait_for("the slow shop's next scan", Duration::from_secs(10), |d| {
        d.count("run claimed", Some(SLOW)) >= 2
    });
    let committed = observations(&db, SLOW).await.0;
    first.terminate();
    let (code, took) = first.wait_exit(Duration::from_secs(12));
    assert_eq!(code, Some(0), "{}", first.log_text());
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    assert_eq!(
        first.count(
            "run interrupted by the shutdown; what it committed is kept, and it resumes at the next start (or on another worker)",
            Some(SLOW)
        ),
        1,
        "{}",
        first.log_text()
    );
    // Nothing committed was lost.
    assert!(observations(&db, SLOW).await.0 >= committed);
    // shop_runs recorded both shops' finished runs, and the interrupted
    // one handed back.
    let runs = shop_runs(&db).await;
    for (shop, status) in [(FAST, "done"), (SLOW, "done"), (SLOW, "due")] {
        assert!(
            runs.contains(&(shop.to_string(), status.to_string())),
            "{runs:?}"
        );
    }

    // Restart: the interrupted shop missed its run and is scanned once at start.
    let mut again = Process::start(command(tmp.path(), &args), tmp.path(), "again");
    again.wait_for(
        "the interrupted shop's scan",
        Duration::from_secs(40),
        |d| d.count("scan done", Some(SLOW)) >= 1,
    );
    assert_eq!(
        again.count(
            "missed run while the daemon was down: scanning once now",
            Some(SLOW)
        ),
        1,
        "{}",
        again.log_text()
    );
    let (slow_obs, slow_scans) = observations(&db, SLOW).await;
    assert!(slow_scans >= 2, "{slow_scans} scans");
    assert!(slow_obs >= 2 * WATCHED, "{slow_obs} observations");
    assert_eq!(observations(&db, FAST).await.0 % WATCHED, 0);

    // /healthz and /metrics on the address the daemon logged.
    let addr = again
        .lines()
        .iter()
        .find(|l| l["fields"]["message"] == "serving the console, /healthz and /metrics")
        .and_then(|l| l["fields"]["addr"].as_str().map(str::to_string))
        .expect("the listen address is logged");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    // The console's pages are served there too: the sign-in page (which
    // says how to set the operator's secret, none being set here), and the
    // operator's pages send to it without a session.
    let signin = client
        .get(format!("http://{addr}/signin"))
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), 200);
    assert!(
        signin
            .text()
            .await
            .unwrap()
            .contains("VIGIE_OPERATOR_PASSWORD_HASH")
    );
    let findings = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://{addr}/findings"))
        .send()
        .await
        .unwrap();
    assert_eq!(findings.status(), 303);
    let resp = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let text = resp.text().await.unwrap();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    };
    let ok_pages = value("vigie_pages_fetched_total", &[("status", "200")]).unwrap_or(0.0)
        + value("vigie_pages_fetched_total", &[("status", "304")]).unwrap_or(0.0);
    assert!(ok_pages >= 5.0, "{text}");
    assert!(
        value("vigie_observations_total", &[]).unwrap() >= WATCHED as f64,
        "{text}"
    );
    for name in [
        "vigie_robots_refusals_total",
        "vigie_retries_total",
        "vigie_outbox_depth",
        "vigie_outbox_failures_total",
    ] {
        assert!(value(name, &[]).is_some(), "no {name}\n{text}");
    }
    let now = chrono::Utc::now().timestamp() as f64;
    let last = value(
        "vigie_shop_last_success_timestamp_seconds",
        &[("shop", SLOW)],
    )
    .unwrap_or_else(|| panic!("{text}"));
    assert!(now - last < 60.0, "{last} vs {now}");
    assert!(
        value("vigie_shop_runs_total", &[("shop", SLOW), ("result", "ok")]).unwrap() >= 1.0,
        "{text}"
    );

    again.terminate();
    let (code, took) = again.wait_exit(Duration::from_secs(12));
    assert_eq!(code, Some(0), "{}", again.log_text());
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    eprintln!("daemon test took {:?}", t0.elapsed());
}
