//! Reading watchlist files into typed values, one section at a time: each
//! validator turns a raw TOML table into a [`Shop`], [`Brand`],
//! [`Subscriber`], policy, announcement or calendar override, or records a
//! [`CatalogIssue`] naming the file and line.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{NaiveTime, Weekday};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{
    Brand, Catalog, CatalogError, CatalogIssue, DEFAULT_RATE, Delivery, Language, Listing,
    Selectors, Shop, Subscriber, line_of,
};
use crate::domain::calendar::{Override, OverrideError, SeasonError, ZoneError};
use crate::domain::policy::{Announced, toml_date};
use crate::domain::{Crontab, Currency, Email, Platform, Policy, Rule, Severity, fold_name};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    shop: Vec<RawShop>,
    #[serde(default)]
    brand: Vec<RawBrand>,
    #[serde(default)]
    subscriber: Vec<RawSubscriber>,
    policy: Option<Spanned<Policy>>,
    #[serde(default)]
    announced: Vec<Spanned<Announced>>,
    #[serde(default)]
    calendar_override: Vec<Spanned<RawOverride>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    zone: String,
    season: String,
    year: i32,
    #[serde(deserialize_with = "toml_date")]
    first_day: chrono::NaiveDate,
    #[serde(deserialize_with = "toml_date")]
    last_day: chrono::NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    name: Spanned<String>,
    url: Spanned<String>,
    sitemap: Option<Spanned<String>>,
    country: Option<String>,
    zone: Option<Spanned<String>>,
    rate: Option<Spanned<f64>>,
    allow_private_network: Option<bool>,
    concurrency: Option<u32>,
    follow_offsite_redirects: Option<bool>,
    schedule: Option<Spanned<String>>,
    max_pages: Option<usize>,
    selectors: Option<Selectors>,
    listing: Option<Spanned<Listing>>,
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrand {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscriber {
    name: Spanned<String>,
    email: Spanned<String>,
    #[serde(default)]
    brands: Vec<Spanned<String>>,
    digest: Option<Spanned<String>>,
    digest_time: Option<Spanned<String>>,
    digest_day: Option<Spanned<String>>,
    time_zone: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    severities: Vec<Spanned<String>>,
    #[serde(default)]
    shops: Vec<Spanned<String>>,
}

/// A day of the week in English or French ("monday", "lundi", "mon").
fn parse_weekday(s: &str) -> Option<Weekday> {
    use chrono::Weekday::*;
    let l = s.trim().to_lowercase();
    let fr = [
        ("lundi", Mon),
        ("mardi", Tue),
        ("mercredi", Wed),
        ("jeudi", Thu),
        ("vendredi", Fri),
        ("samedi", Sat),
        ("dimanche", Sun),
    ];
    fr.iter()
        .find(|(n, _)| *n == l)
        .map(|(_, d)| *d)
        .or_else(|| l.parse().ok())
}

/// The currency a shop in this country displays (ISO 3166 code; the euro
/// unless the country uses another one Vigie reads).
fn currency_of(country: &str) -> Currency {
    match country.trim().to_ascii_uppercase().as_str() {
        "GB" | "UK" => Currency::GBP,
        "CH" | "LI" => Currency::CHF,
        "US" => Currency::USD,
        _ => Currency::EUR,
    }
}

/// One file being read: its path and text, to locate what is wrong.
#[derive(Clone, Copy)]
struct File<'a> {
    path: &'a PathBuf,
    text: &'a str,
}

impl File<'_> {
    fn line(&self, span: std::ops::Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    fn issue(&self, line: usize, message: String) -> CatalogIssue {
        CatalogIssue {
            file: self.path.clone(),
            line: Some(line),
            message,
        }
    }
}

/// The merge of every file read so far, and what is wrong with them.
pub(super) struct Reader {
    catalog: Catalog,
    issues: Vec<CatalogIssue>,
    shop_names: HashMap<String, (PathBuf, usize)>,
    brand_names: HashMap<String, (PathBuf, usize)>,
    alias_owner: HashMap<String, String>,
    subscriber_names: HashMap<String, (PathBuf, usize)>,
    policy_at: Option<(PathBuf, usize)>,
}

impl Reader {
    /// Reads and merges the files: shops, brands and policy first, then
    /// the subscribers, who name them.
    pub(super) fn read(sources: &[(PathBuf, String)]) -> Result<Catalog, CatalogError> {
        let mut reader = Reader {
            catalog: Catalog::default(),
            issues: Vec::new(),
            shop_names: HashMap::new(),
            brand_names: HashMap::new(),
            alias_owner: HashMap::new(),
            subscriber_names: HashMap::new(),
            policy_at: None,
        };
        let mut parsed = Vec::new();
        for (path, text) in sources {
            match toml::from_str::<RawFile>(text) {
                Ok(raw) => parsed.push((File { path, text }, raw)),
                Err(e) => reader.issues.push(CatalogIssue {
                    file: path.clone(),
                    line: e.span().map(|s| line_of(text, s.start)),
                    message: format!("{} (see watchlists/example.toml)", e.message().trim()),
                }),
            }
        }
        for (file, raw) in &parsed {
            reader.catalog.files.push(file.path.clone());
            reader.sections(*file, raw);
        }
        let known: BTreeMap<String, String> = reader
            .catalog
            .brands
            .iter()
            .map(|b| (fold_name(&b.name), b.name.clone()))
            .collect();
        for (file, raw) in &parsed {
            for sub in &raw.subscriber {
                reader.subscriber(*file, sub, &known);
            }
        }
        reader.finish()
    }

    /// Every section of a file but its subscribers.
    fn sections(&mut self, file: File<'_>, raw: &RawFile) {
        for b in &raw.brand {
            self.brand(file, b);
        }
        for s in &raw.shop {
            if let Some(shop) = self.shop(file, s) {
                self.catalog.shops.push(shop);
            }
        }
        if let Some(p) = &raw.policy {
            self.policy(file, p);
        }
        for a in &raw.announced {
            if a.get_ref().to < a.get_ref().from {
                let line = file.line(a.span());
                self.issues
                    .push(file.issue(line, "[[announced]]: `to` is before `from`".into()));
                continue;
            }
            self.catalog.policy.announced.push(a.get_ref().clone());
        }
        for o in &raw.calendar_override {
            match calendar_override(o.get_ref()) {
                Ok(ov) => self.catalog.calendar_overrides.push(ov),
                Err(e) => {
                    let line = file.line(o.span());
                    self.issues
                        .push(file.issue(line, format!("[[calendar_override]]: {e}")));
                }
            }
        }
    }

    fn finish(mut self) -> Result<Catalog, CatalogError> {
        if !self.issues.is_empty() {
            return Err(CatalogError::Invalid(self.issues));
        }
        let brands = &self.catalog.brands;
        self.catalog.brand_index = self
            .alias_owner
            .into_iter()
            .filter_map(|(alias, owner)| {
                brands
                    .iter()
                    .position(|b| b.name == owner)
                    .map(|i| (alias, i))
            })
            .collect();
        Ok(self.catalog)
    }

    fn brand(&mut self, file: File<'_>, b: &RawBrand) {
        let line = file.line(b.name.span());
        let name = b.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.issues
                .push(file.issue(line, "brand `name` is empty".into()));
            return;
        }
        if let Some((f, l)) = self.brand_names.get(&fold_name(&name)) {
            let message = format!(
                "brand `{name}` is defined twice (first at {}:{l}); keep one and merge their aliases",
                f.display()
            );
            self.issues.push(file.issue(line, message));
            return;
        }
        self.brand_names
            .insert(fold_name(&name), (file.path.clone(), line));
        for alias in std::iter::once(&name).chain(b.aliases.iter()) {
            let key = fold_name(alias);
            if key.is_empty() {
                self.issues
                    .push(file.issue(line, format!("brand `{name}` has an empty alias")));
                continue;
            }
            if let Some(owner) = self.alias_owner.get(&key)
                && owner != &name
            {
                let message = format!(
                    "alias `{alias}` of brand `{name}` already names brand `{owner}`; an alias must point to one brand"
                );
                self.issues.push(file.issue(line, message));
                continue;
            }
            self.alias_owner.insert(key, name.clone());
        }
        self.catalog.brands.push(Brand {
            name,
            aliases: b.aliases.clone(),
        });
    }

    /// A shop, or `None` with its problem recorded.
    fn shop(&mut self, file: File<'_>, s: &RawShop) -> Option<Shop> {
        let line = file.line(s.name.span());
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.issues
                .push(file.issue(line, "shop `name` is empty".into()));
            return None;
        }
        if let Some((f, l)) = self.shop_names.get(&name) {
            let message = format!(
                "shop `{name}` is defined twice (first at {}:{l}); shop names must be unique",
                f.display()
            );
            self.issues.push(file.issue(line, message));
            return None;
        }
        self.shop_names
            .insert(name.clone(), (file.path.clone(), line));
        let checked = shop_fields(file, &name, s);
        let (url, sitemap, rate, schedule) = match checked {
            Ok(fields) => fields,
            Err(issue) => {
                self.issues.push(issue);
                return None;
            }
        };
        if let Some(zone) = &s.zone {
            let warning = file.issue(
                file.line(zone.span()),
                format!(
                    "shop `{name}`: `zone` is not read: an online shop follows the national sales dates wherever it is based; remove the line"
                ),
            );
            self.catalog.warnings.push(warning);
        }
        Some(Shop {
            name,
            url,
            sitemap,
            currency: currency_of(s.country.as_deref().unwrap_or("FR")),
            rate,
            allow_private_network: s.allow_private_network.unwrap_or(false),
            concurrency: s.concurrency.unwrap_or(1).clamp(1, 64),
            follow_offsite_redirects: s.follow_offsite_redirects.unwrap_or(false),
            schedule,
            max_pages: s.max_pages.unwrap_or(10_000),
            selectors: s.selectors.clone(),
            listing: s.listing.as_ref().map(|l| l.get_ref().clone()),
            platform: s.platform,
            defined_in: file.path.clone(),
        })
    }

    fn policy(&mut self, file: File<'_>, p: &Spanned<Policy>) {
        let line = file.line(p.span());
        if let Some((f, l)) = &self.policy_at {
            let message = format!(
                "[policy] is defined twice (first at {}:{l}); keep one",
                f.display()
            );
            self.issues.push(file.issue(line, message));
            return;
        }
        self.policy_at = Some((file.path.clone(), line));
        let announced = std::mem::take(&mut self.catalog.policy.announced);
        self.catalog.policy = p.get_ref().clone();
        self.catalog.policy.announced = announced;
    }

    fn subscriber(
        &mut self,
        file: File<'_>,
        sub: &RawSubscriber,
        known: &BTreeMap<String, String>,
    ) {
        let line = file.line(sub.name.span());
        let name = sub.name.get_ref().trim().to_string();
        if let Some((f, l)) = self.subscriber_names.get(&name) {
            let message = format!(
                "subscriber `{name}` is defined twice (first at {}:{l})",
                f.display()
            );
            self.issues.push(file.issue(line, message));
            return;
        }
        self.subscriber_names
            .insert(name.clone(), (file.path.clone(), line));
        let email = match sub.email.get_ref().parse::<Email>() {
            Ok(email) => email,
            Err(e) => {
                let line = file.line(sub.email.span());
                self.issues
                    .push(file.issue(line, format!("subscriber `{name}`: `email` = {e}")));
                return;
            }
        };
        let mut fields = SubscriberFields {
            file,
            name: &name,
            issues: Vec::new(),
        };
        let brands = fields.brands(&sub.brands, known);
        let time_zone = fields.time_zone(sub.time_zone.as_ref());
        let language = fields.language(sub.language.as_ref());
        let delivery = fields.delivery(sub);
        let rules = fields.rules(&sub.rules);
        let severities = fields.severities(&sub.severities);
        let shops = fields.shops(&sub.shops, &self.catalog.shops);
        if !fields.issues.is_empty() {
            self.issues.append(&mut fields.issues);
            return;
        }
        self.catalog.subscribers.push(Subscriber {
            name,
            email,
            brands,
            delivery,
            time_zone,
            language,
            rules,
            severities,
            shops,
        });
    }
}

/// A shop's URL, sitemap, rate and schedule, checked.
fn shop_fields(
    file: File<'_>,
    name: &str,
    s: &RawShop,
) -> Result<(Url, Option<Url>, f64, Option<Crontab>), CatalogIssue> {
    let url = match Url::parse(s.url.get_ref().trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        Ok(_) | Err(_) => {
            return Err(file.issue(
                file.line(s.url.span()),
                format!(
                    "shop `{name}`: `url` = {:?} is not an http(s) URL such as \"https://shop.example/\"",
                    s.url.get_ref()
                ),
            ));
        }
    };
    let sitemap = match &s.sitemap {
        None => None,
        Some(sm) => match url.join(sm.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                return Err(file.issue(
                    file.line(sm.span()),
                    format!("shop `{name}`: `sitemap` = {:?} is not a URL", sm.get_ref()),
                ));
            }
        },
    };
    let rate = match &s.rate {
        None => DEFAULT_RATE,
        Some(r) => {
            let v = *r.get_ref();
            if !(v.is_finite() && v > 0.0 && v <= 10_000.0) {
                return Err(file.issue(
                    file.line(r.span()),
                    format!(
                        "shop `{name}`: `rate` = {v} must be a number of requests per second above 0 and at most 10000 (0.5 = one request every 2 s)"
                    ),
                ));
            }
            v
        }
    };
    let schedule = match &s.schedule {
        None => None,
        Some(sched) => match crate::domain::crontab::parse_crontab(sched.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                return Err(file.issue(
                    file.line(sched.span()),
                    format!("shop `{name}`: `schedule`: {e}"),
                ));
            }
        },
    };
    if let Some(l) = &s.listing {
        let bad: Vec<String> = std::iter::once(("product", Some(&l.get_ref().product)))
            .chain(std::iter::once(("next", l.get_ref().next.as_ref())))
            .filter_map(|(k, v)| {
                let v = v?;
                scraper::Selector::parse(v)
                    .err()
                    .map(|e| format!("`listing.{k}` = {v:?} is not a CSS selector ({e})"))
            })
            .collect();
        if !bad.is_empty() {
            return Err(file.issue(
                file.line(l.span()),
                format!("shop `{name}`: {}", bad.join("; ")),
            ));
        }
    }
    Ok((url, sitemap, rate, schedule))
}

/// Why a `[[calendar_override]]` cannot be read.
#[derive(Debug, thiserror::Error)]
enum BadOverride {
    #[error(transparent)]
    Zone(#[from] ZoneError),
    #[error(transparent)]
    Season(#[from] SeasonError),
    #[error(transparent)]
    Dates(#[from] OverrideError),
}

/// A `[[calendar_override]]`, checked.
fn calendar_override(r: &RawOverride) -> Result<Override, BadOverride> {
    let ov = Override {
        zone: r.zone.parse()?,
        season: r.season.parse()?,
        year: r.year,
        first_day: r.first_day,
        last_day: r.last_day,
    };
    ov.validate()?;
    Ok(ov)
}

/// The checks of one subscriber's fields; each problem is recorded, so
/// that one reading reports them all.
struct SubscriberFields<'a> {
    file: File<'a>,
    name: &'a str,
    issues: Vec<CatalogIssue>,
}

impl SubscriberFields<'_> {
    fn bad(&mut self, v: &Spanned<String>, message: String) {
        let line = self.file.line(v.span());
        let message = format!("subscriber `{}`: {message}", self.name);
        self.issues.push(self.file.issue(line, message));
    }

    fn brands(
        &mut self,
        named: &[Spanned<String>],
        known: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut brands = Vec::new();
        for b in named {
            match known.get(&fold_name(b.get_ref())) {
                Some(canonical) => brands.push(canonical.clone()),
                None => {
                    let names: Vec<&str> = known.values().map(String::as_str).collect();
                    let line = self.file.line(b.span());
                    let message = format!(
                        "subscriber `{}` follows unknown brand `{}`; known brands: {}",
                        self.name,
                        b.get_ref(),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    );
                    self.issues.push(self.file.issue(line, message));
                }
            }
        }
        brands
    }

    fn time_zone(&mut self, v: Option<&Spanned<String>>) -> chrono_tz::Tz {
        let Some(v) = v else {
            return chrono_tz::Europe::Paris;
        };
        v.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            self.bad(
                v,
                format!(
                    "`time_zone` = {:?} is not a time zone name such as \"Europe/Paris\"",
                    v.get_ref()
                ),
            );
            chrono_tz::Europe::Paris
        })
    }

    fn language(&mut self, v: Option<&Spanned<String>>) -> Language {
        match v.map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "fr")) => Language::Fr,
            Some((_, "en")) => Language::En,
            Some((v, other)) => {
                self.bad(v, format!("`language` = {other:?}: use \"fr\" or \"en\""));
                Language::Fr
            }
        }
    }

    fn delivery(&mut self, sub: &RawSubscriber) -> Delivery {
        let time = match &sub.digest_time {
            None => NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            Some(v) => NaiveTime::parse_from_str(v.get_ref(), "%H:%M").unwrap_or_else(|_| {
                self.bad(
                    v,
                    format!(
                        "`digest_time` = {:?} is not a time such as \"08:00\"",
                        v.get_ref()
                    ),
                );
                NaiveTime::default()
            }),
        };
        let day = match &sub.digest_day {
            None => Weekday::Mon,
            Some(v) => parse_weekday(v.get_ref()).unwrap_or_else(|| {
                self.bad(
                    v,
                    format!(
                        "`digest_day` = {:?} is not a day such as \"monday\" or \"lundi\"",
                        v.get_ref()
                    ),
                );
                Weekday::Mon
            }),
        };
        match sub.digest.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "immediate")) => Delivery::Immediate,
            Some((_, "daily")) => Delivery::Daily(time),
            Some((_, "weekly")) => Delivery::Weekly(day, time),
            Some((v, other)) => {
                self.bad(
                    v,
                    format!("`digest` = {other:?}: use \"immediate\", \"daily\" or \"weekly\""),
                );
                Delivery::Immediate
            }
        }
    }

    fn rules(&mut self, named: &[Spanned<String>]) -> Vec<Rule> {
        let mut rules = Vec::new();
        for r in named {
            match r.get_ref().trim().parse::<Rule>() {
                Ok(rule) => rules.push(rule),
                Err(_) => self.bad(
                    r,
                    format!("`rules` names {:?}; the rules are R1 to R9", r.get_ref()),
                ),
            }
        }
        rules
    }

    fn severities(&mut self, named: &[Spanned<String>]) -> Vec<Severity> {
        let mut severities = Vec::new();
        for v in named {
            match v.get_ref().trim().parse::<Severity>() {
                Ok(s) => severities.push(s),
                Err(_) => self.bad(
                    v,
                    format!(
                        "`severities` names {:?}; use {}",
                        v.get_ref(),
                        crate::domain::vocab::names::<Severity>()
                    ),
                ),
            }
        }
        severities
    }

    fn shops(&mut self, named: &[Spanned<String>], known: &[Shop]) -> Vec<String> {
        let shops: Vec<String> = named
            .iter()
            .map(|v| v.get_ref().trim().to_string())
            .collect();
        for (v, shop) in named.iter().zip(&shops) {
            if !known.iter().any(|s| &s.name == shop) {
                self.bad(v, format!("`shops` names unknown shop `{shop}`"));
            }
        }
        shops
    }
}
