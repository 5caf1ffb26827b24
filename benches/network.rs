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
//! price). It prints wall time, the child's CPU per product page, its peak
//! RSS, pages/s and, in polite mode, achieved/ideal time and the smallest
//! gap between two requests to one host, all measured server-side.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;

const BRANDS: &[&str] = &[
    "Maison Lumière",
    "Atelier Brume",
    "Nordkapp",
    "Verre & Sable",
    "Les Tisseurs",
    "Céramiques Oré",
    "Bois Dormant",
    "Studio Lin",
];

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

/// A small deterministic hash (FNV-1a) for page sizes and prices.
fn hash(a: usize, b: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in [a as u64, b as u64] {
        for byte in x.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn eur(cents: u64) -> (String, String) {
    let fr = format!("{},{:02}\u{a0}€", cents / 100, cents % 100);
    (format!("{}.{:02}", cents / 100, cents % 100), fr)
}

fn product_page(host: usize, page: usize) -> Vec<u8> {
    let h = hash(host, page);
    let size = 60_000 + (h % 60_000) as usize;
    let brand = BRANDS[(h >> 20) as usize % BRANDS.len()];
    let price = 1_000 + (h >> 8) % 50_000;
    let struck = (h >> 40) % 5 == 0;
    let (price_dec, price_fr) = eur(price);
    let (ref_dec, ref_fr) = eur(price + price / 3);
    let spec = if struck {
        format!(
            r#","priceSpecification":[{{"@type":"UnitPriceSpecification","priceType":"https://schema.org/StrikethroughPrice","price":"{ref_dec}","priceCurrency":"EUR"}}]"#
        )
    } else {
        String::new()
    };
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Produit {host}-{page}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><link rel=\"stylesheet\" href=\"/t.css\">\
         <meta property=\"og:title\" content=\"Produit {host}-{page}\">\
         <script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Produit {host}-{page}\",\
         \"brand\":{{\"@type\":\"Brand\",\"name\":\"{brand}\"}},\"sku\":\"SKU-{host}-{page}\",\"gtin13\":\"{:013}\",\
         \"offers\":{{\"@type\":\"Offer\",\"price\":\"{price_dec}\",\"priceCurrency\":\"EUR\",\"availability\":\"https://schema.org/InStock\"{spec}}}}}</script>\
         </head><body><header><nav><ul>",
        h % 10_000_000_000_000
    );
    for i in 0..120 {
        s.push_str(&format!(
            "<li class=\"menu\"><a href=\"/c/{i}\">Catégorie {i}</a></li>"
        ));
    }
    s.push_str("</ul></nav></header><main><h1>Produit</h1>");
    if struck {
        s.push_str(&format!(
            "<p class=\"prix\"><del>{ref_fr}</del> <ins>{price_fr}</ins></p>"
        ));
    } else {
        s.push_str(&format!("<p class=\"prix\">{price_fr}</p>"));
    }
    while s.len() < size {
        s.push_str(
            "<section class=\"related\"><article class=\"card\"><img src=\"/i.jpg\" alt=\"\" loading=\"lazy\">\
             <h3><a href=\"/p/0\">Produit associé</a></h3><p>Une description assez longue pour ressembler à une fiche, \
             avec matière, dimensions et entretien.</p><span class=\"price\">49,90 €</span></article></section>",
        );
    }
    s.push_str("<script>window.dataLayer=window.dataLayer||[];</script></main></body></html>");
    s.into_bytes()
}

fn host_ip(i: usize) -> String {
    format!("127.0.{}.{}", i / 240, 10 + i % 240)
}

struct HostState {
    base: String,
    pages: Vec<Bytes>,
    log: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    latency: Duration,
}

async fn serve(state: Arc<HostState>, uri: Uri) -> axum::response::Response {
    state.log.lock().expect("log").push(Instant::now());
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let path = uri.path();
    let resp = if path == "/robots.txt" {
        format!(
            "User-agent: *\nAllow: /\nSitemap: {}/sitemap.xml\n",
            state.base
        )
        .into_response()
    } else if path == "/sitemap.xml" {
        let mut x = String::from(
            "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">",
        );
        for n in 0..state.pages.len() {
            x.push_str(&format!("<url><loc>{}/p/{n}</loc></url>", state.base));
        }
        x.push_str("</urlset>");
        ([(header::CONTENT_TYPE, "application/xml")], x).into_response()
    } else if let Some(b) = path
        .strip_prefix("/p/")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| state.pages.get(n))
    {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            b.clone(),
        )
            .into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

struct Network {
    hosts: Vec<Arc<HostState>>,
}

async fn start_network(o: &Opts) -> Network {
    let mut hosts = Vec::new();
    for i in 0..o.hosts {
        let listener = tokio::net::TcpListener::bind((host_ip(i).as_str(), 0))
            .await
            .expect("bind a loopback address");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let state = Arc::new(HostState {
            base: format!("http://{addr}"),
            pages: (0..o.pages)
                .map(|p| Bytes::from(product_page(i, p)))
                .collect(),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            latency: Duration::from_millis(o.latency_ms),
        });
        let st = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| serve(st.clone(), uri));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        hosts.push(state);
    }
    Network { hosts }
}

fn write_watchlist(dir: &Path, net: &Network, rate: f64) {
    let mut t = String::new();
    for (i, h) in net.hosts.iter().enumerate() {
        t.push_str(&format!(
            "[[shop]]\nname = \"host-{i}\"\nurl = \"{}/\"\nrate = {rate}\nallow_private_network = true\n\n",
            h.base
        ));
    }
    for b in BRANDS {
        t.push_str(&format!("[[brand]]\nname = \"{b}\"\n\n"));
    }
    let list: Vec<String> = BRANDS.iter().map(|b| format!("\"{b}\"")).collect();
    t.push_str(&format!(
        "[[subscriber]]\nname = \"Bench\"\nemail = \"bench@bench.example\"\nbrands = [{}]\n",
        list.join(", ")
    ));
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("bench.toml"), t).expect("write watchlist");
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
    // Peak RSS: the child's own VmHWM, sampled until it exits. (wait4's
    // ru_maxrss would count the pages the child shared with this process
    // between fork and exec, i.e. the whole fixture network.)
    let hwm = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let hwm = hwm.clone();
        std::thread::spawn(move || {
            let path = format!("/proc/{pid}/status");
            while let Ok(status) = std::fs::read_to_string(&path) {
                if let Some(kb) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    hwm.fetch_max(kb, Ordering::SeqCst);
                } else {
                    break; // a zombie has no memory lines
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    let (stdout, stderr) = out.join().expect("reader");
    let _ = sampler.join();
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
        rss_mb: hwm.load(Ordering::SeqCst) as f64 / 1024.0,
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let o = parse_opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let net = rt.block_on(start_network(&o));
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
        write_watchlist(&dir.join("watchlists"), &net, rate);
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
        write_watchlist(&tmp.path().join("watchlists"), &net, rate);
        for h in &net.hosts {
            h.log.lock().expect("log").clear();
            h.max_in_flight.store(0, Ordering::SeqCst);
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
    let logs: Vec<Vec<Instant>> = net
        .hosts
        .iter()
        .map(|h| h.log.lock().expect("log").clone())
        .collect();
    let requests: usize = logs.iter().map(Vec::len).sum();
    let first = logs.iter().flatten().min().copied();
    let lastt = logs.iter().flatten().max().copied();
    let min_gap = logs
        .iter()
        .flat_map(|l| l.windows(2).map(|w| w[1].duration_since(w[0])))
        .min()
        .unwrap_or_default();
    let max_in_flight = net
        .hosts
        .iter()
        .map(|h| h.max_in_flight.load(Ordering::SeqCst))
        .max()
        .unwrap_or(0);
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
