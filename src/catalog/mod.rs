//! Watchlists: TOML files describing the shops to crawl, the brands to
//! watch and the retailers to tell.
//!
//! Every `*.toml` file of a directory is read and merged; a shop, brand or
//! subscriber name defined twice is an error. Every error names the file
//! and the line, and says what to fix.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use url::Url;

pub use crate::domain::Language;
use crate::domain::{Crontab, Currency, Email, Recipient, Rule, Severity, fold_name};

mod read;

/// Requests per second per host when a shop sets no `rate`.
pub const DEFAULT_RATE: f64 = 0.5;

/// One problem in a watchlist, located at a file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogIssue {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why watchlists could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The directory could not be read.
    #[error("cannot read the watchlist directory {} (pass --watchlists DIR)", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// One or more files have problems.
    #[error("{} problem(s) in the watchlists:\n{}", .0.len(), .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<CatalogIssue>),
}

/// Listing pages to walk for product links, for shops without a usable sitemap.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// First listing page, absolute or relative to the shop URL.
    pub start: String,
    /// CSS selector of the product links on a listing page.
    pub product: String,
    /// CSS selector of the "next page" link.
    pub next: Option<String>,
    /// Listing pages walked at most (default 50).
    pub max_pages: Option<usize>,
}

/// Per-shop CSS selectors, for shops without structured data.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Selectors {
    /// The repeating product block.
    pub product: Option<String>,
    /// Product name inside the block.
    pub name: Option<String>,
    /// Brand inside the block.
    pub brand: Option<String>,
    /// SKU inside the block.
    pub sku: Option<String>,
    /// Price to pay inside the block.
    pub price: Option<String>,
    /// Crossed-out or former price inside the block.
    pub reference_price: Option<String>,
    /// Promotion badge inside the block.
    pub badge: Option<String>,
    /// Product link inside the block.
    pub url: Option<String>,
}

/// A shop to crawl, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Shop {
    /// Unique name.
    pub name: String,
    /// Base URL (scheme and host, maybe a path).
    pub url: Url,
    /// Explicit sitemap URL; otherwise robots.txt `Sitemap:` lines, else `/sitemap.xml`.
    pub sitemap: Option<Url>,
    /// The currency its prices are in, from its `country` (ISO 3166 code,
    /// default `FR`: the euro).
    pub currency: Currency,
    /// Requests per second to this shop's host.
    pub rate: f64,
    /// Whether the shop may resolve to a private, loopback or link-local address.
    pub allow_private_network: bool,
    /// Requests in flight at once to this shop's host (default 1).
    pub concurrency: u32,
    /// Follow redirects to other sites (default false: same site only).
    pub follow_offsite_redirects: bool,
    /// When the daemon scans it (a crontab line, read in Europe/Paris
    /// unless the daemon is given another time zone).
    pub schedule: Option<Crontab>,
    /// Maximum product pages fetched per run.
    pub max_pages: usize,
    /// CSS selectors, for shops without structured data.
    pub selectors: Option<Selectors>,
    /// Listing pages to walk, in addition to the sitemaps.
    pub listing: Option<Listing>,
    /// The shop's platform, whose catalogue is read instead of its pages.
    pub platform: Option<crate::domain::Platform>,
    /// Where the shop was defined.
    pub defined_in: PathBuf,
}

/// A watched brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The brand's name as the collective writes it.
    pub name: String,
    /// Other spellings shops use.
    pub aliases: Vec<String>,
}

/// A retailer who receives alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: Email,
    /// Names of the brands followed (as in [`Brand::name`]).
    pub brands: Vec<String>,
    /// When findings are sent: one email each, or a daily or weekly digest.
    pub delivery: Delivery,
    /// The subscriber's time zone, for digest times (default Europe/Paris).
    pub time_zone: chrono_tz::Tz,
    /// Language of the emails.
    pub language: Language,
    /// Rules reported (empty: all).
    pub rules: Vec<Rule>,
    /// Severities reported (empty: all).
    pub severities: Vec<Severity>,
    /// Shops reported (empty: all).
    pub shops: Vec<String>,
}

pub use crate::domain::Delivery;

impl Subscriber {
    /// This subscriber as the outbox sees it, for findings made at `now`.
    pub fn recipient(&self, now: chrono::DateTime<chrono::Utc>) -> Recipient {
        Recipient {
            name: self.name.clone(),
            email: self.email.clone(),
            language: self.language,
            digest: self.delivery.digest(),
            deliver_at: self.deliver_at(now),
            rules: self.rules.clone(),
            severities: self.severities.clone(),
        }
    }

    /// This subscriber with the choices the address made in the console:
    /// each choice made wins over the watchlist's value. Brands chosen
    /// that the collective no longer watches are left out (a brand the
    /// watchlists drop is followed by no one).
    pub fn with_preference(&self, p: &crate::domain::Preference, brands: &[Brand]) -> Subscriber {
        let mut s = self.clone();
        if let Some(chosen) = &p.brands {
            s.brands = chosen
                .iter()
                .filter(|b| brands.iter().any(|w| &w.name == *b))
                .cloned()
                .collect();
        }
        if let Some(d) = p.delivery {
            s.delivery = d;
        }
        if let Some(l) = p.language {
            s.language = l;
        }
        s
    }

    /// Whether findings at `shop` are for this subscriber (the rule and
    /// severity filters are applied per finding by the outbox's
    /// [`Recipient::accepts`]).
    pub fn watches_shop(&self, shop: &str) -> bool {
        self.shops.is_empty() || self.shops.iter().any(|s| s == shop)
    }

    /// When a finding made at `now` is to be sent: now, or the next digest
    /// in the subscriber's time zone.
    pub fn deliver_at(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        self.delivery.next_after(now, self.time_zone)
    }
}

/// The merged, validated watchlists.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Shops, in file then definition order.
    pub shops: Vec<Shop>,
    /// Brands.
    pub brands: Vec<Brand>,
    /// Subscribers.
    pub subscribers: Vec<Subscriber>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// Detection policy (`[policy]`, with every `[[announced]]` promotion).
    pub policy: crate::domain::Policy,
    /// What the watchlists set that is not read, each with its file and
    /// line (the files load; `vigie check` prints these, the other
    /// commands log them).
    pub warnings: Vec<CatalogIssue>,
    /// Sales-period overrides (`[[calendar_override]]`), for new arrêtés.
    pub calendar_overrides: Vec<crate::domain::calendar::Override>,
    brand_index: HashMap<String, usize>,
}

impl Catalog {
    /// Loads and merges every `*.toml` file of `dir` (not recursive), in name order.
    pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Dir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CatalogError::Dir {
                dir: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut sources = Vec::new();
        let mut issues = Vec::new();
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((path, text)),
                Err(e) => issues.push(CatalogIssue {
                    file: path,
                    line: None,
                    message: format!("cannot read the file: {e}"),
                }),
            }
        }
        if !issues.is_empty() {
            return Err(CatalogError::Invalid(issues));
        }
        if sources.is_empty() {
            return Err(CatalogError::Invalid(vec![CatalogIssue {
                file: dir.to_path_buf(),
                line: None,
                message: "no *.toml watchlist in this directory (see watchlists/example.toml)"
                    .into(),
            }]));
        }
        Catalog::from_sources(&sources)
    }

    /// Merges already-read watchlist texts, each with the path it came from.
    pub fn from_sources(sources: &[(PathBuf, String)]) -> Result<Catalog, CatalogError> {
        read::Reader::read(sources)
    }

    /// The watched brand a scraped brand string names, if any.
    ///
    /// Case, accents, punctuation and a leading "by" / "par" are ignored.
    pub fn match_brand(&self, scraped: &str) -> Option<&Brand> {
        let folded = fold_name(scraped);
        let trimmed = folded
            .strip_prefix("by ")
            .or_else(|| folded.strip_prefix("par "))
            .unwrap_or(&folded);
        self.brand_index
            .get(trimmed)
            .and_then(|&i| self.brands.get(i))
    }

    /// The subscribers as they are now: the watchlists' with the choices
    /// stored in the database applied ([`Subscriber::with_preference`]),
    /// without the addresses that unsubscribed or paused. Choices stored
    /// for an address no watchlist lists are ignored: a subscriber removed
    /// from the watchlists is gone.
    pub fn effective_subscribers(&self, prefs: &[crate::domain::Preference]) -> Vec<Subscriber> {
        self.subscribers
            .iter()
            .filter_map(|s| {
                match prefs
                    .iter()
                    .find(|p| p.email == s.email.as_str().to_ascii_lowercase())
                {
                    None => Some(s.clone()),
                    Some(p) if p.receives() => Some(s.with_preference(p, &self.brands)),
                    Some(_) => None,
                }
            })
            .collect()
    }

    /// The watchlists' subscriber with this address (any case).
    pub fn subscriber(&self, email: &str) -> Option<&Subscriber> {
        self.subscribers
            .iter()
            .find(|s| s.email.as_str().eq_ignore_ascii_case(email))
    }

    /// The subscribers following `brand` (its canonical name).
    pub fn subscribers_of<'a>(&'a self, brand: &'a str) -> impl Iterator<Item = &'a Subscriber> {
        self.subscribers
            .iter()
            .filter(move |s| s.brands.iter().any(|b| b == brand))
    }

    /// The legal calendar: the built-in one with the watchlists' overrides.
    pub fn calendar(&self) -> crate::domain::calendar::Calendar {
        crate::domain::calendar::Calendar::builtin().with_overrides(self.calendar_overrides.clone())
    }

    /// The shop with this name.
    pub fn shop(&self, name: &str) -> Option<&Shop> {
        self.shops.iter().find(|s| s.name == name)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Digest;

    fn load(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        let sources: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        Catalog::from_sources(&sources)
    }

    fn issues(r: Result<Catalog, CatalogError>) -> Vec<CatalogIssue> {
        match r {
            Err(CatalogError::Invalid(i)) => i,
            other => panic!("expected issues, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
[[shop]]
name = "Boutique"
url = "https://boutique.example/"

[[brand]]
name = "Maison Lumière"
aliases = ["Lumiere Paris"]

[[subscriber]]
name = "Ana"
email = "ana@shop.example"
brands = ["maison lumiere"]
"#;

    #[test]
    fn choices_made_in_the_console_win_and_unsubscribed_addresses_are_gone() {
        use crate::domain::{Delivery, Preference};
        let text = format!(
            "{GOOD}\n[[brand]]\nname = \"Atelier\"\n\n[[subscriber]]\nname = \"Bo\"\nemail = \"bo@shop.example\"\nbrands = [\"Atelier\"]\n"
        );
        let c = load(&[("a.toml", &text)]).unwrap();
        let now = chrono::Utc::now();
        let mut ana = Preference::new("ANA@shop.example", now);
        ana.brands = Some(vec!["Atelier".into(), "Gone Brand".into()]);
        ana.delivery = Some(Delivery::Daily(
            chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        ));
        let mut bo = Preference::new("bo@shop.example", now);
        bo.unsubscribed_at = Some(now);
        let stranger = Preference::new("eve@elsewhere.example", now);
        let subs = c.effective_subscribers(&[ana, bo, stranger]);
        assert_eq!(subs.len(), 1, "Bo unsubscribed; Eve is in no watchlist");
        assert_eq!(subs[0].name, "Ana");
        assert_eq!(
            subs[0].brands,
            vec!["Atelier".to_string()],
            "an unwatched brand is dropped"
        );
        assert_eq!(
            subs[0].delivery.digest(),
            Some(crate::domain::Digest::Daily)
        );
        assert_eq!(c.effective_subscribers(&[]).len(), 2);
        assert!(c.subscriber("Bo@Shop.example").is_some());
    }

    #[test]
    fn a_valid_file_loads_with_defaults() {
        let c = load(&[("a.toml", GOOD)]).unwrap();
        let shop = &c.shops[0];
        assert_eq!(shop.rate, 0.5);
        assert_eq!(shop.currency, Currency::EUR);
        assert!(!shop.allow_private_network);
        assert_eq!(c.subscribers[0].brands, vec!["Maison Lumière".to_string()]);
    }

    #[test]
    fn a_shop_zone_loads_with_a_warning_that_it_is_not_read() {
        let text = GOOD.replace(
            "url = \"https://boutique.example/\"",
            "url = \"https://boutique.example/\"\nzone = \"corse\"",
        );
        let c = load(&[("a.toml", &text)]).unwrap();
        assert_eq!(c.shops.len(), 1);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert_eq!(
            c.warnings[0].to_string(),
            "a.toml:5: shop `Boutique`: `zone` is not read: an online shop follows the national \
             sales dates wherever it is based; remove the line"
        );
        assert!(load(&[("a.toml", GOOD)]).unwrap().warnings.is_empty());
    }

    #[test]
    fn brands_match_by_alias_case_accents_and_prefix() {
        let c = load(&[("a.toml", GOOD)]).unwrap();
        assert_eq!(
            c.match_brand("MAISON LUMIERE").unwrap().name,
            "Maison Lumière"
        );
        assert_eq!(
            c.match_brand("lumière paris").unwrap().name,
            "Maison Lumière"
        );
        assert_eq!(
            c.match_brand("by Maison-Lumière").unwrap().name,
            "Maison Lumière"
        );
        assert!(c.match_brand("Maison").is_none());
    }

    #[test]
    fn a_name_defined_twice_across_files_is_an_error_with_both_places() {
        let i = issues(load(&[("a.toml", GOOD), ("b.toml", GOOD)]));
        assert!(i.iter().any(|i| {
            i.file == Path::new("b.toml")
                && i.line == Some(3)
                && i.message
                    .contains("shop `Boutique` is defined twice (first at a.toml:3)")
        }));
        assert!(i.iter().any(|i| {
            i.message
                .contains("brand `Maison Lumière` is defined twice")
        }));
    }

    #[test]
    fn an_unknown_brand_names_the_line_and_the_known_brands() {
        let text = GOOD.replace("brands = [\"maison lumiere\"]", "brands = [\"Nope\"]");
        let i = issues(load(&[("w.toml", &text)]));
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].line, Some(13));
        assert!(
            i[0].message.contains("unknown brand `Nope`"),
            "{}",
            i[0].message
        );
        assert!(i[0].message.contains("Maison Lumière"));
    }

    #[test]
    fn syntax_errors_and_unknown_keys_name_the_line() {
        let i = issues(load(&[("bad.toml", "[[shop]]\nname = \"x\"\nurl = \n")]));
        assert_eq!(i[0].line, Some(3));
        let i = issues(load(&[(
            "bad.toml",
            "[[shop]]\nname = \"x\"\nurl = \"https://x.example/\"\nspeed = 3\n",
        )]));
        assert_eq!(i[0].line, Some(4));
        assert!(i[0].message.contains("speed"), "{}", i[0].message);
    }

    #[test]
    fn bad_values_are_refused_with_what_to_fix() {
        let text = "[[shop]]\nname = \"x\"\nurl = \"ftp://x\"\n";
        let i = issues(load(&[("s.toml", text)]));
        assert!(i[0].message.contains("not an http(s) URL"));
        let text = "[[shop]]\nname = \"x\"\nurl = \"https://x.example/\"\nrate = 0\n";
        let i = issues(load(&[("s.toml", text)]));
        assert_eq!(i[0].line, Some(4));
        let text =
            "[[shop]]\nname = \"x\"\nurl = \"https://x.example/\"\nschedule = \"every day\"\n";
        let i = issues(load(&[("s.toml", text)]));
        assert_eq!(i[0].line, Some(4));
        let text = "[[subscriber]]\nname = \"x\"\nemail = \"not-an-email\"\n";
        let i = issues(load(&[("s.toml", text)]));
        assert!(i[0].message.contains("not an email address"));
    }

    #[test]
    fn subscribers_choose_digests_language_and_filters() {
        let base =
            "[[brand]]\nname = \"B\"\n[[shop]]\nname = \"S\"\nurl = \"https://s.example/\"\n";
        let text = format!(
            "{base}[[subscriber]]\nname = \"A\"\nemail = \"a@x.example\"\nbrands = [\"B\"]\n\
             digest = \"weekly\"\ndigest_day = \"mercredi\"\ndigest_time = \"07:30\"\n\
             language = \"en\"\nrules = [\"r3\"]\nseverities = [\"violation\"]\nshops = [\"S\"]\n"
        );
        let c = load(&[("w.toml", &text)]).expect("valid");
        let a = &c.subscribers[0];
        assert_eq!(a.language, Language::En);
        assert!(a.watches_shop("S"));
        assert!(!a.watches_shop("T"));
        let now: chrono::DateTime<chrono::Utc> = "2026-03-09T12:00:00Z".parse().unwrap();
        let r = a.recipient(now);
        assert!(r.accepts(Rule::R3, Severity::Violation));
        assert!(!r.accepts(Rule::R1, Severity::Violation));
        assert!(!r.accepts(Rule::R3, Severity::Report));
        assert_eq!((r.language, r.digest), (Language::En, Some(Digest::Weekly)));
        // Wednesday 07:30 in Paris (CET, UTC+1) after Monday 2026-03-09.
        assert_eq!(a.deliver_at(now).to_rfc3339(), "2026-03-11T06:30:00+00:00");
        let text = format!(
            "{base}[[subscriber]]\nname = \"A\"\nemail = \"a@x.example\"\nbrands = [\"B\"]\n\
             digest = \"hourly\"\nrules = [\"R12\"]\n"
        );
        let i = issues(load(&[("w.toml", &text)]));
        assert_eq!(i.len(), 2, "{i:?}");
        assert_eq!(i[0].line, Some(10));
        assert!(
            i[0].message
                .contains("\"immediate\", \"daily\" or \"weekly\""),
            "{}",
            i[0].message
        );
        assert!(i[1].message.contains("R1 to R9"), "{}", i[1].message);
    }
}
