//! Detection benchmark on SQLite: 100,000 product variants × 10 scans
//! (1,000,000 observations) are written through the scan's own store path,
//! then it measures, in CPU time of this process (sqlx's SQLite threads
//! included):
//!
//! - one new scan of 1,000 variants: load the shop's state, run the rules
//!   on each observation, commit the batch;
//! - a full re-evaluation: every stored observation replayed through the
//!   rules from an empty history.
//!
//! `cargo bench --bench detect [-- --variants N --scans S --runs R --database URL]`
//!
//! With `--database postgres://…` (an empty database) the same runs go to
//! PostgreSQL; there the server's CPU is not this process's, so wall times
//! are printed too.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie::catalog::Catalog;
use vigie::detect::{self, Context, ObservedOffer};
use vigie::domain::calendar::{Calendar, Zone};
use vigie::domain::{Currency, Money};
use vigie::domain::{ReferenceKind, Source};
use vigie::store::{Batch, BatchItem, NewObservation, ProductRecord, Store};

const PER_SHOP: usize = 1_000;

fn cpu() -> Duration {
    // SAFETY: getrusage fills a plain struct for this process.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What variant `v` shows at scan `s`: mostly regular prices, some
/// reductions, some fake references, some silent cuts.
fn offer(v: usize, s: usize) -> ObservedOffer {
    let regular = 1_000 + (v as i64 * 37) % 50_000;
    let eur = |m| Money::new(m, Currency::EUR);
    let (price, reference) = match v % 20 {
        0 | 1 if s >= 5 => (regular * 8 / 10, Some(regular)),
        2 if s >= 5 => (regular * 9 / 10, Some(regular * 3 / 2)),
        3 if s >= 7 => (regular * 8 / 10, None),
        _ => (regular, None),
    };
    ObservedOffer {
        price: eur(price),
        reference: reference.map(eur),
        reference_kind: reference.map(|_| ReferenceKind::Strikethrough),
        percent_badge: None,
        promo: Vec::new(),
    }
}

/// One scan of one shop through the scan's own path: load the state, assess
/// each observation, commit one batch. Returns the findings opened.
async fn scan_shop(
    store: &dyn Store,
    catalog: &Catalog,
    cal: &Calendar,
    shop: usize,
    scan: usize,
    at: DateTime<Utc>,
) -> usize {
    let name = format!("shop-{shop}");
    let snap = store.load_shop(&name).await.expect("load");
    let ctx = Context {
        calendar: cal,
        zone: Zone::National,
        now: at,
    };
    let scan_id = store.begin_scan(at).await.expect("scan");
    let mut batch = Batch {
        shop: name.clone(),
        ..Batch::default()
    };
    for i in 0..PER_SHOP {
        let v = shop * PER_SHOP + i;
        let key = format!("sku:V{v}");
        let known = snap.products.get(&key);
        let o = offer(v, scan);
        let open = known.map(|k| k.open_rules.clone()).unwrap_or_default();
        let a = detect::assess(&detect::Observed {
            offer: &o,
            baseline: known.and_then(|k| k.baseline.as_ref()),
            open: &open,
            brand: "Maison Lumière",
            shop: &name,
            ctx: &ctx,
            policy: &catalog.policy,
        });
        batch.items.push(BatchItem {
            product: ProductRecord {
                shop: name.clone(),
                product_key: key,
                url: format!("https://{name}.example/p/{v}"),
                name: Some(format!("Produit {v}")),
                brand: "Maison Lumière".into(),
                sku: Some(format!("V{v}")),
                gtin: None,
                variant: None,
            },
            observation: NewObservation {
                scan_id,
                observed_at: at,
                price: o.price,
                reference: o.reference,
                reference_kind: o.reference_kind,
                percent_badge: None,
                availability: Some("InStock".into()),
                source: Source::JsonLd,
                promo: Vec::new(),
                reference_source: o.reference.map(|_| Source::JsonLd),
                warnings: Vec::new(),
            },
            baseline: a.baseline,
            raise: a.decision.raise,
            continue_rules: a.decision.continuing,
            close_rules: a.decision.close,
            recipients: vec![vigie::store::Recipient {
                name: "Bench".into(),
                email: "bench@bench.example".parse().expect("an address"),
                language: vigie::domain::Language::Fr,
                digest: None,
                deliver_at: chrono::Utc::now(),
                rules: Vec::new(),
                severities: Vec::new(),
            }],
            evidence: None,
        });
    }
    store.write_batch(&batch).await.expect("write").opened.len()
}

fn main() {
    let variants = arg("--variants", 100_000);
    let scans = arg("--scans", 10);
    let runs = arg("--runs", 5);
    let shops = variants.div_ceil(PER_SHOP);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tmp = tempfile::tempdir().expect("tempdir");
        let args: Vec<String> = std::env::args().collect();
        let url = args
            .iter()
            .position(|a| a == "--database")
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("detect.db").display()));
        println!("database: {}", vigie::config::redact_url(&url));
        let store = vigie::store::open(&url).await.expect("open");
        let catalog = Catalog::from_sources(&[(
            "bench.toml".into(),
            "[[brand]]\nname = \"Maison Lumière\"\n".into(),
        )])
        .expect("catalog");
        let cal = Calendar::builtin();
        let day0: DateTime<Utc> = "2026-02-05T08:00:00Z".parse().expect("date");
        println!("writing {variants} variants × {scans} scans = {} observations…", variants * scans);
        let t = Instant::now();
        let mut findings = 0;
        for s in 0..scans {
            let at = day0 + chrono::Duration::days(s as i64);
            for shop in 0..shops {
                findings += scan_shop(store.as_ref(), &catalog, &cal, shop, s, at).await;
            }
        }
        println!("  done in {:.1} s ({findings} findings opened)", t.elapsed().as_secs_f64());

        // New scans of one shop (1,000 variants), on later days.
        let mut per_scan = Vec::new();
        let mut per_scan_wall = Vec::new();
        for r in 0..runs {
            let at = day0 + chrono::Duration::days((scans + r) as i64);
            let c = cpu();
            let w = Instant::now();
            scan_shop(store.as_ref(), &catalog, &cal, r % shops, scans + r, at).await;
            per_scan.push((cpu() - c).as_secs_f64() * 1000.0);
            per_scan_wall.push(w.elapsed().as_secs_f64() * 1000.0);
        }
        per_scan.sort_by(f64::total_cmp);
        per_scan_wall.sort_by(f64::total_cmp);
        println!(
            "new scan of {PER_SHOP} variants: median {:.1} ms CPU, {:.1} ms wall (runs: {per_scan:.1?})",
            per_scan[per_scan.len() / 2],
            per_scan_wall[per_scan_wall.len() / 2]
        );

        let mut full = Vec::new();
        let mut last = None;
        for _ in 0..runs.min(3) {
            let c = cpu();
            let w = Instant::now();
            let r = vigie::pipeline::reevaluate(store.as_ref(), &catalog, &cal).await.expect("reevaluate");
            full.push(((cpu() - c).as_secs_f64(), w.elapsed().as_secs_f64()));
            last = Some(r);
        }
        full.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (cpu_s, wall_s) = full[full.len() / 2];
        if let Some(r) = last {
            println!(
                "full re-evaluation of {} observations ({} products): median {cpu_s:.2} s CPU, {wall_s:.2} s wall; findings {:?}",
                r.observations,
                r.products,
                r.findings_by_rule
                    .iter()
                    .map(|(rule, n)| (rule.as_str(), n))
                    .collect::<std::collections::BTreeMap<_, _>>()
            );
        }
    });
}
