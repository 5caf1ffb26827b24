//! Console benchmark: the pages an operator opens, served by the real
//! `vigie serve` over a large SQLite database.
//!
//! ```text
//! cargo bench --bench console                 # 100,000 findings, 30 runs per page
//! cargo bench --bench console -- --runs 100 --findings 200000 --keep
//! cargo bench --bench console -- --drop-indexes findings_open_newest,findings_open_by_rule
//! ```
//!
//! `--drop-indexes A,B` drops those indexes after the migrations, to see
//! what they buy; `--keep` keeps the folder (database, watchlist, log).
//!
//! It builds a database in a temporary folder (migrated through the
//! library, then filled with plain INSERTs): `--findings N` findings
//! (100,000) on 25,000 products of 50 shops and 20 brands, over the 9 rules
//! and the 3 severities, opened over the last 2 years, 55 % open, 40 %
//! closed, 5 % dismissed; plus one product observed daily for 2 years (730
//! observations) with an open finding. It starts `vigie serve` on a free
//! loopback port, signs in with `VIGIE_OPERATOR_TOKEN` and times each page
//! `--runs N` times (30) over one kept-alive connection, whole body read:
//!
//! - `/findings` (the first page of open findings),
//! - `/findings?state=all&brand=…`, `/findings?rule=R5&severity=violation`,
//! - the 21st page of open findings (the `rel="next"` link followed 20 times),
//! - `/findings/{id}` and `/products/{id}` of the 2-year product (a chart of
//!   730 points).
//!
//! It prints the median and p90 per page in ms, the server's peak RSS
//! (VmHWM) after every request, its CPU time, and `nproc`.
//! Target: every median under 50 ms, peak RSS under 64 MB.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::SqlitePoolOptions;

const SHOPS: usize = 50;
const BRANDS: usize = 20;
const PRODUCTS: usize = 25_000;
const RULES: [&str; 9] = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"];
const TOKEN: &str = "bench-operator-token-0123456789";
/// Limits the bench: every median under it.
const TARGET_MS: f64 = 50.0;
const TARGET_MB: f64 = 64.0;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The text after an option, if given.
fn text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn shop(i: usize) -> String {
    format!("Boutique {:02}", i + 1)
}

fn brand(i: usize) -> String {
    format!("Marque {:02}", i + 1)
}

fn severity(rule: &str, i: usize) -> &'static str {
    match rule {
        "R3" | "R7" | "R9" => "report",
        _ if i % 10 == 0 => "announced",
        _ => "violation",
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("console bench: {what}: {e}");
    std::process::exit(1);
}

/// The watchlist of the seeded shops and brands.
fn write_watchlist(dir: &Path) {
    let mut text = String::new();
    for s in 0..SHOPS {
        text.push_str(&format!(
            "[[shop]]\nname = \"{}\"\nurl = \"https://boutique-{:02}.example/\"\n\n",
            shop(s),
            s + 1
        ));
    }
    for b in 0..BRANDS {
        text.push_str(&format!("[[brand]]\nname = \"{}\"\n\n", brand(b)));
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|e| fail("watchlists folder", e));
    std::fs::write(dir.join("bench.toml"), text).unwrap_or_else(|e| fail("watchlist", e));
}

/// What the seeding made: the 2-year product and its finding.
struct Seeded {
    product: i64,
    finding: i64,
}

async fn seed(url: &str, findings: usize, now: DateTime<Utc>, drop_indexes: &[String]) -> Seeded {
    drop(
        vigie::store::open(url)
            .await
            .unwrap_or_else(|e| fail("migrate", e)),
    );
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap_or_else(|e| fail("open the database", e));
    for name in drop_indexes {
        sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "")))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| fail(&format!("drop index {name}"), e));
    }
    let two_years = chrono::Duration::days(730);
    let start = now - two_years;
    let mut tx = pool.begin().await.unwrap_or_else(|e| fail("begin", e));
    for p in 0..PRODUCTS {
        sqlx::query(
            "INSERT INTO products (shop, product_key, url, name, brand, sku, first_seen, last_seen) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(shop(p % SHOPS))
        .bind(format!("sku:P{p}"))
        .bind(format!(
            "https://boutique-{:02}.example/produits/p{p}",
            p % SHOPS + 1
        ))
        .bind(format!("Produit {p}"))
        .bind(brand((p / SHOPS) % BRANDS))
        .bind(format!("P{p}"))
        .bind(start)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| fail("insert product", e));
    }
    let step = two_years / findings.max(1) as i32;
    for i in 0..findings {
        let p = i % PRODUCTS;
        // Distinct (rule, product) for every row: findings_one_open holds.
        let rule = RULES[(p + i / PRODUCTS) % RULES.len()];
        let opened = start + step * i as i32;
        let (closed, dismissed) = match i % 20 {
            3 => (None, Some(opened + chrono::Duration::days(2))),
            n if n % 5 == 1 || n % 5 == 2 => (Some(opened + chrono::Duration::days(10)), None),
            _ => (None, None),
        };
        insert_finding(
            &mut tx,
            rule,
            severity(rule, i),
            p as i64 + 1,
            p,
            opened,
            closed,
            dismissed,
        )
        .await;
    }
    // The product observed every day for 2 years, on sale now and then.
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (shop, product_key, url, name, brand, sku, first_seen, last_seen) \
         VALUES (?, 'sku:LONG', 'https://boutique-01.example/produits/long', 'Lampe deux ans', ?, 'LONG', ?, ?) \
         RETURNING id",
    )
    .bind(shop(0))
    .bind(brand(0))
    .bind(now - chrono::Duration::days(729))
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .unwrap_or_else(|e| fail("insert product", e));
    for d in 0..730i64 {
        let at = now - chrono::Duration::days(729 - d);
        let scan: i64 = sqlx::query_scalar(
            "INSERT INTO scans (started_at, wall_started, finished_at, summary) \
             VALUES (?, ?, ?, '{}') RETURNING id",
        )
        .bind(at)
        .bind(at)
        .bind(at + chrono::Duration::minutes(5))
        .fetch_one(&mut *tx)
        .await
        .unwrap_or_else(|e| fail("insert scan", e));
        let regular = 12_900 + (d / 120) * 500;
        let on_sale = d % 90 >= 70 || d >= 725;
        let (price, reference, badge) = if on_sale {
            (regular * 77 / 100, Some(regular), Some(23))
        } else {
            (regular, None, None)
        };
        sqlx::query(
            "INSERT INTO observations (scan_id, product_id, observed_at, price_minor, currency, \
             reference_minor, reference_kind, percent_badge, availability, source, promo, \
             reference_source, warnings) \
             VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, 'InStock', 'jsonld', '[]', ?, '[]')",
        )
        .bind(scan)
        .bind(product)
        .bind(at)
        .bind(price)
        .bind(reference)
        .bind(reference.map(|_| "strikethrough"))
        .bind(badge)
        .bind(reference.map(|_| "jsonld"))
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| fail("insert observation", e));
    }
    let finding = insert_finding(
        &mut tx,
        "R3",
        "report",
        product,
        0,
        now - chrono::Duration::days(4),
        None,
        None,
    )
    .await;
    // No ANALYZE: Vigie never runs it, so the planner works without statistics.
    tx.commit().await.unwrap_or_else(|e| fail("commit", e));
    pool.close().await;
    Seeded { product, finding }
}

#[allow(clippy::too_many_arguments)]
async fn insert_finding(
    tx: &mut sqlx::SqliteConnection,
    rule: &str,
    severity: &str,
    product_id: i64,
    p: usize,
    opened: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
    dismissed: Option<DateTime<Utc>>,
) -> i64 {
    let details = format!(
        "{{\"currency\":\"EUR\",\"episode\":\"opened\",\"evaluated_at\":\"{}\",\"percent_badge\":23,\
         \"price\":\"99.00\",\"reference_kind\":\"strikethrough\",\"reference_price\":\"129.00\",\
         \"zone\":\"national\"}}",
        opened.to_rfc3339()
    );
    sqlx::query_scalar(
        "INSERT INTO findings (rule, severity, legal_basis, product_id, shop, brand, product_name, \
         url, price_minor, reference_minor, currency, percent, calendar, details, opened_at, \
         last_seen_at, closed_at, scope, dismissed_at, dismissed_reason) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 9900, 12900, 'EUR', 23, \
         'national : hors soldes', ?, ?, ?, ?, 'product', ?, ?) RETURNING id",
    )
    .bind(rule)
    .bind(severity)
    .bind("Réduction annoncée hors des périodes légales de soldes (C. com. L310-3)")
    .bind(product_id)
    .bind(shop(p % SHOPS))
    .bind(brand((p / SHOPS) % BRANDS))
    .bind(format!("Produit {p}"))
    .bind(format!(
        "https://boutique-{:02}.example/produits/p{p}",
        p % SHOPS + 1
    ))
    .bind(details)
    .bind(opened)
    .bind(closed.unwrap_or(opened + chrono::Duration::days(1)))
    .bind(closed)
    .bind(dismissed)
    .bind(dismissed.map(|_| "bench"))
    .fetch_one(&mut *tx)
    .await
    .unwrap_or_else(|e| fail("insert finding", e))
}

/// The `vigie serve` child, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail("free port", e))
}

/// A field of /proc/<pid>/status, in kB.
fn proc_status_kb(pid: u32, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// User + system CPU of a process, from /proc/<pid>/stat.
fn proc_cpu(pid: u32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from "state" (field 3).
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

/// The `rel="next"` link of a findings page, unescaped.
fn next_link(html: &str) -> Option<String> {
    let end = html.find("\" rel=\"next\"")?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(
        html[start..end]
            .replace("&#38;", "&")
            .replace("&amp;", "&")
            .replace("&#x26;", "&"),
    )
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    /// GET a page as the operator; fails on anything but 200.
    async fn get(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| fail(path, e));
        let status = r.status();
        let body = r.text().await.unwrap_or_else(|e| fail(path, e));
        if status != reqwest::StatusCode::OK {
            fail(path, format!("{status}: {body}"));
        }
        body
    }
}

fn main() {
    let runs = arg("--runs", 30).max(1);
    let findings = arg("--findings", 100_000).max(1);
    let keep = flag("--keep");
    let drop_indexes: Vec<String> = text_arg("--drop-indexes")
        .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("runtime", e));
    let tmp = tempfile::Builder::new()
        .prefix("vigie-console-bench")
        .tempdir()
        .unwrap_or_else(|e| fail("temporary folder", e));
    let dir = tmp.path().to_path_buf();
    let db = format!("sqlite://{}", dir.join("console.db").display());
    let now = Utc
        .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
        .single()
        .unwrap_or_else(|| fail("clock", "no such time"));

    let t = Instant::now();
    let seeded = rt.block_on(seed(&db, findings, now, &drop_indexes));
    println!(
        "seeded {findings} findings on {PRODUCTS} products ({SHOPS} shops, {BRANDS} brands) \
         and 730 daily observations of product {} in {:.1} s",
        seeded.product,
        t.elapsed().as_secs_f64()
    );
    if !drop_indexes.is_empty() {
        println!("without the indexes {}", drop_indexes.join(", "));
    }
    write_watchlist(&dir.join("watchlists"));

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("serve.log")).unwrap_or_else(|e| fail("log", e));
    let child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("--database")
        .arg(&db)
        .arg("--watchlists")
        .arg(dir.join("watchlists"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("VIGIE_OPERATOR_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| fail("spawn vigie serve", e));
    let pid = child.id();
    let server = Server(child);

    rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .build()
            .unwrap_or_else(|e| fail("client", e));
        let mut up = false;
        for _ in 0..200 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !up {
            let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
            fail("vigie serve did not start", log);
        }
        let r = http
            .post(format!("{base}/signin"))
            .form(&[("secret", TOKEN), ("next", "/findings")])
            .send()
            .await
            .unwrap_or_else(|e| fail("sign in", e));
        let cookie = r
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .unwrap_or_else(|| fail("sign in", format!("no session cookie ({})", r.status())));
        let c = Client { http, base, cookie };

        // The 21st page of open findings, as the operator reaches it.
        let mut deep = "/findings".to_string();
        for i in 0..20 {
            let page = c.get(&deep).await;
            deep = next_link(&page)
                .unwrap_or_else(|| fail("deep page", format!("no next link on page {}", i + 1)));
        }
        let brand_list = format!("/findings?state=all&brand={}", brand(3).replace(' ', "+"));
        let pages = [
            ("/findings (open, first page)", "/findings".to_string()),
            ("/findings?state=all&brand=…", brand_list),
            (
                "/findings?rule=R5&severity=violation",
                "/findings?rule=R5&severity=violation".to_string(),
            ),
            ("/findings, 21st page (before=)", deep),
            (
                "/findings/{id} (730-point chart)",
                format!("/findings/{}", seeded.finding),
            ),
            (
                "/products/{id} (730 observations)",
                format!("/products/{}", seeded.product),
            ),
        ];
        // Every page once, unmeasured, with a check of what it shows.
        for (name, path) in &pages {
            let body = c.get(path).await;
            if path.starts_with("/findings?") || path == "/findings" {
                if next_link(&body).is_none() {
                    fail(name, "a full page (with a next link) was expected");
                }
            } else if !body.contains("<svg") {
                fail(name, "no chart on the page");
            }
        }
        let cpu_before = proc_cpu(pid);
        let mut failed = false;
        println!(
            "{:<38} {:>9} {:>9}   ({runs} runs each)",
            "page", "median", "p90"
        );
        for (name, path) in &pages {
            let mut ms = Vec::with_capacity(runs);
            for _ in 0..runs {
                let t = Instant::now();
                let body = c.get(path).await;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(body);
            }
            let median = percentile(&ms, 0.5);
            let over = median > TARGET_MS;
            failed |= over;
            println!(
                "{name:<38} {median:>6.1} ms {:>6.1} ms{}",
                percentile(&ms, 0.9),
                if over { "   <<< over 50 ms" } else { "" }
            );
        }
        let cpu = match (cpu_before, proc_cpu(pid)) {
            (Some(a), Some(b)) => format!(
                "{:.1} ms per request",
                (b - a).as_secs_f64() * 1e3 / (runs * pages.len()) as f64
            ),
            _ => "unknown".into(),
        };
        let hwm = proc_status_kb(pid, "VmHWM:").map_or(0.0, |kb| kb / 1024.0);
        let over = hwm > TARGET_MB;
        println!(
            "server: peak RSS {hwm:.1} MB{}, CPU {cpu}",
            if over { "   <<< over 64 MB" } else { "" }
        );
        let nproc = Command::new("nproc")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|e| format!("unknown ({e})"));
        println!("nproc: {nproc}");
        if failed || over {
            println!("TARGET MISSED (medians under {TARGET_MS} ms, peak RSS under {TARGET_MB} MB)");
        }
    });
    drop(server);
    if keep {
        let kept = tmp.keep();
        println!("kept {}", kept.display());
    }
}
