//! Crawl benchmark: a deterministic fixture network of H hosts × P product
//! pages on loopback addresses, crawled by the real `vigie scan` binary.
//!
//! ```text
//! cargo bench --bench network                                  # 50 × 200, unthrottled
//! cargo bench --bench network -- --hosts 20 --pages 40 --rate 4 # polite mode
//! cargo bench --bench network -- --hosts 1000 --pages 5 --rate 4
//! options: --hosts H --pages P --rate R (polite) --latency-ms L --runs N --keep
//!          --serve-only (serve the network for a profiler, crawl it yourself)
//! ```
//!
//! Host i listens on 127.0.0.(10+i) (then 127.0.1.x, 127.0.2.x… beyond 240
//! hosts) and serves robots.txt, a sitemap and P pages of 60–120 KB with a
//! schema.org Product in JSON-LD (a fifth of them discounted, with a
//! crossed-out price), laid out like a fashion shop's product pages:
//! "Vous aimerez aussi" carousels with cards on sale (`<del>` prices,
//! "-19 %" badges) on every page, a `window.__SHOP_STATE__` whose
//! `recentlyViewed` list carries other products' former prices, reviews,
//! header and footer: see `fixture/mod.rs`, shared with the `fleet` bench.
//! It prints wall time, the child's CPU per product page, its peak RSS,
//! pages/s and, in polite mode, achieved/ideal time and the smallest gap
//! between two requests to one host, all measured server-side.
//!
//! The scan is a first scan, outside the legal sales periods: each really
//! discounted product must open one R3 finding and nothing else may open.
//! After each run the bench reads the findings back from the scan's
//! database and prints them against the fixture's truth:
//! `findings: opened N, expected M, false F, missed K`, by rule, where a
//! false finding is one on a product at its regular price or of a rule not
//! expected, and a missed one an expected finding not opened. A mismatch is
//! printed, not fatal.

mod fixture;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use fixture::{
    HwmSampler, Network, expected_rules, median, page_facts, start_network, write_watchlist,
};
use vigie::domain::calendar::{Calendar, Zone};

/// The scan clock: outside the legal sales periods (checked at start), so
/// that every discounted product declares a reduction outside the soldes.
const NOW: &str = "2026-03-10T09:00:00+01:00";

#[derive(Clone, Debug)]
struct Opts {
    hosts: usize,
    pages: usize,
    rate: Option<f64>,
    latency_ms: u64,
    runs: usize,
    keep: bool,
    serve_only: bool,
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        hosts: 50,
        pages: 200,
        rate: None,
        latency_ms: 0,
        runs: 1,
        keep: false,
        serve_only: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--hosts" => {
                o.hosts = val(i).parse().unwrap_or(o.hosts);
                i += 1;
            }
            "--pages" => {
                o.pages = val(i).parse().unwrap_or(o.pages);
                i += 1;
            }
            "--rate" => {
                o.rate = val(i).parse().ok();
                i += 1;
            }
            "--latency-ms" => {
                o.latency_ms = val(i).parse().unwrap_or(0);
                i += 1;
            }
            "--runs" => {
                o.runs = val(i).parse().unwrap_or(1).max(1);
                i += 1;
            }
            "--unthrottled" => o.rate = None,
            "--keep" => o.keep = true,
            "--serve-only" => o.serve_only = true,
            _ => {} // --bench and anything cargo adds
        }
        i += 1;
    }
    o
}

struct Run {
    /// The scan's database.
    db: String,
    wall: Duration,
    cpu: Duration,
    rss_mb: f64,
    pages: u64,
    summary: serde_json::Value,
}

fn run_child(dir: &Path) -> Run {
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let start = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["scan", "--json", "-q", "--now", NOW])
        .arg("--watchlists")
        .arg(dir.join("watchlists"))
        .args(["--database", &db])
        .arg("--mail-dir")
        .arg(dir.join("mail"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn vigie");
    let pid = child.id() as libc::pid_t;
    let out = std::thread::spawn(move || child.wait_with_output_no_reap());
    let hwm = HwmSampler::start(pid);
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    let (stdout, stderr) = out.join().expect("reader");
    let rss_mb = hwm.finish();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        eprintln!("vigie failed ({status}):\n{stderr}");
        std::process::exit(1);
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        eprintln!("summary is not JSON ({e}): {stdout}\n{stderr}");
        std::process::exit(1);
    });
    Run {
        db,
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        rss_mb,
        pages: summary["pages_fetched"].as_u64().unwrap_or(0),
        summary,
    }
}

/// Findings opened by a scan, against those the fixture's products should
/// open: per rule, [opened, expected, false, missed].
#[derive(Debug, Default)]
struct FindingsCheck {
    by_rule: BTreeMap<String, [usize; 4]>,
    /// Products at their regular price with at least one finding.
    regular_accused: usize,
    regular: usize,
    discounted: usize,
}

impl FindingsCheck {
    /// [opened, expected, false, missed] over every rule.
    fn totals(&self) -> [usize; 4] {
        self.by_rule.values().fold([0; 4], |mut t, c| {
            for (a, b) in t.iter_mut().zip(c) {
                *a += b;
            }
            t
        })
    }

    fn ok(&self) -> bool {
        let [_, _, false_, missed] = self.totals();
        false_ == 0 && missed == 0
    }

    /// The findings line, then one line per rule.
    fn report(&self) -> String {
        let [opened, expected, false_, missed] = self.totals();
        let mut out = format!(
            "findings: opened {opened}, expected {expected}, false {false_}, missed {missed}{}",
            if self.ok() {
                ""
            } else {
                "   <<< MISMATCH (target: 0 false, 0 missed)"
            }
        );
        for (rule, [o, e, f, m]) in &self.by_rule {
            out.push_str(&format!(
                "\n  {rule}: opened {o}, expected {e}, false {f}, missed {m}"
            ));
        }
        out.push_str(&format!(
            "\n  products: {} discounted, {} at their regular price, {} of them with a false finding",
            self.discounted, self.regular, self.regular_accused
        ));
        out
    }

    fn json(&self) -> serde_json::Value {
        let [opened, expected, false_, missed] = self.totals();
        let by_rule: serde_json::Map<String, serde_json::Value> = self
            .by_rule
            .iter()
            .map(|(r, [o, e, f, m])| {
                (
                    r.clone(),
                    serde_json::json!({"opened": o, "expected": e, "false": f, "missed": m}),
                )
            })
            .collect();
        serde_json::json!({
            "opened": opened, "expected": expected, "false": false_, "missed": missed,
            "by_rule": by_rule, "regular_products_accused": self.regular_accused,
        })
    }
}

/// Reads the findings back from the scan's database and sets them against
/// the fixture's truth ([`expected_rules`] of each page).
async fn check_findings(db: &str, net: &Network, pages: usize) -> FindingsCheck {
    let pool = sqlx::SqlitePool::connect(db)
        .await
        .unwrap_or_else(|e| panic!("cannot open {db}: {e}"));
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT rule, url FROM findings")
        .fetch_all(&pool)
        .await
        .expect("read the findings");
    pool.close().await;
    let mut c = FindingsCheck::default();
    let mut expected = HashSet::new();
    for host in 0..net.hosts.len() {
        for page in 0..pages {
            let facts = page_facts(host, page);
            if facts.discounted() {
                c.discounted += 1;
            } else {
                c.regular += 1;
            }
            for rule in expected_rules(&facts) {
                expected.insert((host, page, rule.to_string()));
                c.by_rule.entry(rule.to_string()).or_default()[1] += 1;
            }
        }
    }
    let hosts: HashMap<&str, usize> = net
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.base.as_str(), i))
        .collect();
    let mut matched = HashSet::new();
    let mut accused = HashSet::new();
    for (rule, url) in rows {
        // `http://IP:PORT/p/N`
        let page = url
            .rsplit_once("/p/")
            .and_then(|(base, n)| Some((*hosts.get(base)?, n.parse::<usize>().ok()?)));
        let counts = c.by_rule.entry(rule.clone()).or_default();
        counts[0] += 1;
        match page {
            Some((h, p)) if expected.contains(&(h, p, rule.clone())) => {
                if !matched.insert((h, p, rule)) {
                    counts[2] += 1; // the same finding twice
                }
            }
            _ => {
                counts[2] += 1;
                if let Some((h, p)) = page
                    && !page_facts(h, p).discounted()
                {
                    accused.insert((h, p));
                }
            }
        }
    }
    for (_, _, rule) in expected.difference(&matched) {
        c.by_rule.entry(rule.clone()).or_default()[3] += 1;
    }
    c.regular_accused = accused.len();
    c
}

/// Reads a child's output without reaping it (the benchmark reaps it with wait4).
trait NoReap {
    fn wait_with_output_no_reap(self) -> (String, String);
}

impl NoReap for std::process::Child {
    fn wait_with_output_no_reap(mut self) -> (String, String) {
        use std::io::Read;
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = self.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(mut s) = self.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        std::mem::forget(self);
        (out, err)
    }
}

/// The e-mails a scan wrote (`.eml` files), per recipient: how many
/// messages each subscriber would receive from this first scan.
fn mail_report(dir: &Path) -> String {
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or("?")
            .to_string();
        *per.entry(to).or_default() += 1;
    }
    let total: usize = per.values().sum();
    let each: Vec<String> = per.iter().map(|(to, n)| format!("{n} to {to}")).collect();
    format!("e-mails written: {total} ({})", each.join(", "))
}

fn main() {
    let o = parse_opts();
    let now = chrono::DateTime::parse_from_rfc3339(NOW)
        .expect("the bench's clock")
        .with_timezone(&chrono::Utc);
    assert!(
        Calendar::builtin().period_at(Zone::National, now).is_none(),
        "the bench's clock {NOW} falls in the legal sales: the expected findings assume it does not"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let net = rt.block_on(start_network(o.hosts, o.pages, o.latency_ms));
    let rate = o.rate.unwrap_or(10_000.0);
    let mode = if o.rate.is_some() {
        "polite"
    } else {
        "unthrottled"
    };
    let (smallest, largest, total) = net.page_bytes();
    let discounted = (0..o.hosts)
        .flat_map(|h| (0..o.pages).map(move |p| (h, p)))
        .filter(|&(h, p)| page_facts(h, p).discounted())
        .count();
    println!(
        "fixture: {} hosts × {} pages, {mode} (rate {rate}/s per host), latency {} ms; \
         pages {:.1}–{:.1} kB ({:.1} MB in all), {discounted} discounted products; scan clock {NOW}",
        o.hosts,
        o.pages,
        o.latency_ms,
        smallest as f64 / 1e3,
        largest as f64 / 1e3,
        total as f64 / 1e6
    );
    if o.serve_only {
        // For profiling: serve the network and leave the crawling to you.
        let dir = std::env::temp_dir().join("vigie-network");
        write_watchlist(&dir.join("watchlists"), &net, rate, None);
        println!(
            "serving; watchlists in {} (Ctrl-C to stop)",
            dir.join("watchlists").display()
        );
        rt.block_on(std::future::pending::<()>());
    }
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut rss = Vec::new();
    let mut last = None;
    let mut last_check = None;
    for run in 0..o.runs {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_watchlist(&tmp.path().join("watchlists"), &net, rate, None);
        for h in &net.hosts {
            h.reset();
        }
        let r = run_child(tmp.path());
        let expected = (o.hosts * o.pages) as u64;
        if r.pages != expected {
            eprintln!(
                "fetched {} pages, expected {expected}: {}",
                r.pages, r.summary
            );
            std::process::exit(1);
        }
        let per_page = r.cpu.as_secs_f64() * 1000.0 / r.pages as f64;
        println!(
            "run {}: wall {:.2} s, CPU {:.0} ms ({per_page:.3} ms/page), peak RSS {:.1} MB, {:.0} pages/s",
            run + 1,
            r.wall.as_secs_f64(),
            r.cpu.as_secs_f64() * 1000.0,
            r.rss_mb,
            r.pages as f64 / r.wall.as_secs_f64()
        );
        let check = rt.block_on(check_findings(&r.db, &net, o.pages));
        let [opened, ..] = check.totals();
        if r.summary["findings"].as_u64() != Some(opened as u64) {
            println!(
                "note: the scan's summary says {} findings, its database holds {opened}",
                r.summary["findings"]
            );
        }
        println!("{}", check.report());
        println!("{}", mail_report(&tmp.path().join("mail")));
        last_check = Some(check);
        walls.push(r.wall.as_secs_f64());
        cpus.push(per_page);
        rss.push(r.rss_mb);
        if o.keep {
            println!("kept {}", tmp.keep().display());
        }
        last = Some(r);
    }
    let Some(r) = last else { return };
    let logs: Vec<Vec<Instant>> = net.logs();
    let requests: usize = logs.iter().map(Vec::len).sum();
    let first = logs.iter().flatten().min().copied();
    let lastt = logs.iter().flatten().max().copied();
    let min_gap = fixture::min_gap(&logs);
    let max_in_flight = net.max_in_flight();
    let mut report: HashMap<&str, serde_json::Value> = HashMap::from([
        ("hosts", o.hosts.into()),
        ("pages_per_host", o.pages.into()),
        ("mode", mode.into()),
        ("rate", rate.into()),
        ("runs", o.runs.into()),
        ("wall_s_median", median(walls.clone()).into()),
        ("cpu_ms_per_page_median", median(cpus).into()),
        ("peak_rss_mb_median", median(rss).into()),
        ("pages_per_s", (r.pages as f64 / median(walls)).into()),
        ("requests_total", requests.into()),
        ("min_gap_ms", (min_gap.as_secs_f64() * 1000.0).into()),
        ("max_in_flight_per_host", max_in_flight.into()),
    ]);
    if o.rate.is_some() {
        let interval = 1.0 / rate;
        let ideal = logs
            .iter()
            .map(|l| l.len().saturating_sub(1) as f64 * interval)
            .fold(0.0, f64::max);
        let achieved = match (first, lastt) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        println!(
            "polite: achieved {achieved:.3} s / ideal {ideal:.3} s = {:.4}; smallest gap on one host {:.1} ms (interval {:.1} ms)",
            achieved / ideal,
            min_gap.as_secs_f64() * 1000.0,
            interval * 1000.0
        );
        report.insert("ideal_s", ideal.into());
        report.insert("achieved_s", achieved.into());
        report.insert("achieved_over_ideal", (achieved / ideal).into());
    }
    if let Some(c) = &last_check {
        report.insert("findings", c.json());
    }
    println!("max requests in flight on one host: {max_in_flight}");
    println!("{}", serde_json::to_string(&report).expect("json"));
}
