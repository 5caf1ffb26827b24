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
//! schema.org Product in JSON-LD (a fifth of them with a crossed-out
//! price): see `fixture/mod.rs`, shared with the `fleet` bench. It prints wall time, the child's CPU per product page, its peak
//! RSS, pages/s and, in polite mode, achieved/ideal time and the smallest
//! gap between two requests to one host, all measured server-side.

mod fixture;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use fixture::{HwmSampler, median, start_network, write_watchlist};

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
        .args(["scan", "--json", "-q", "--now", "2026-03-10T09:00:00+01:00"])
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
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        rss_mb,
        pages: summary["pages_fetched"].as_u64().unwrap_or(0),
        summary,
    }
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

fn main() {
    let o = parse_opts();
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
    println!(
        "fixture: {} hosts × {} pages, {mode} (rate {rate}/s per host), latency {} ms",
        o.hosts, o.pages, o.latency_ms
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
    println!("max requests in flight on one host: {max_in_flight}");
    println!("{}", serde_json::to_string(&report).expect("json"));
}
