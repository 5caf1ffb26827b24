//! Email texts, in French (the default) or English.
//!
//! The bodies are askama templates under `templates/email/` (checked when
//! the crate compiles): `finding.*` for one finding, `shop.*` for the
//! findings of one shop and scan, `baseline.*` for the summary of a shop's
//! first scan, `digest.*` for a digest, each with an HTML and a text part; `layout.html` and
//! `table.html`/`table.txt` are their shared parts. The HTML templates
//! escape every value they print, so scraped text (product names, matched
//! wording, URLs, shop and brand names) cannot add markup; the text parts
//! print it as it is. Subjects are built here and made single-line by
//! [`super::mailer::one_line`] like every header.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

use super::links::Links;
use crate::domain::{Digest, Language, Rule, Severity};
use crate::store::{FindingRow, OutboxItem};

/// The console links an e-mail carries, made for its recipient: none when
/// no public URL is configured.
#[derive(Debug, Clone, Copy)]
pub struct MailLinks<'a> {
    links: Option<&'a Links>,
    email: &'a str,
    version: i64,
    now: DateTime<Utc>,
}

impl<'a> MailLinks<'a> {
    /// Links for `email`, whose current link version is `version`, valid
    /// from `now`.
    pub fn new(links: &'a Links, email: &'a str, version: i64, now: DateTime<Utc>) -> Self {
        MailLinks {
            links: Some(links),
            email,
            version,
            now,
        }
    }

    /// No console link at all.
    pub fn none() -> MailLinks<'static> {
        MailLinks {
            links: None,
            email: "",
            version: 0,
            now: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// The finding's page.
    pub fn finding(&self, id: i64) -> Option<String> {
        self.links?
            .finding_url(id, self.email, self.version, self.now)
    }

    /// The recipient's "my alerts" page.
    pub fn manage(&self) -> Option<String> {
        self.links?.manage_url(self.email, self.version, self.now)
    }

    /// The recipient's one-click unsubscribe URL.
    pub fn unsubscribe(&self) -> Option<String> {
        self.links?
            .unsubscribe_url(self.email, self.version, self.now)
    }

    /// The console's findings list filtered on `shop`.
    pub fn shop_findings(&self, shop: &str) -> Option<String> {
        let base = self.links?.base()?;
        let shop: String = url::form_urlencoded::byte_serialize(shop.as_bytes()).collect();
        Some(format!(
            "{}/findings?shop={shop}",
            base.as_str().trim_end_matches('/')
        ))
    }

    fn footer(&self) -> Footer {
        Footer {
            manage: self.manage(),
            unsubscribe: self.unsubscribe(),
        }
    }
}

/// The links at the foot of every e-mail (`layout.*`).
struct Footer {
    manage: Option<String>,
    unsubscribe: Option<String>,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Subject line (made single-line again by the mailer).
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// The one-click unsubscribe URL, for the `List-Unsubscribe` header
    /// (none without a public URL).
    pub unsubscribe: Option<String>,
}

/// The competition-law notice every French email carries.
pub const COMPETITION_NOTICE: &str = "Vigie signale ce qu'une boutique affiche au regard de règles légales ; ce n'est jamais un conseil de prix. \
N'utilisez pas ces constats pour vous entendre sur des prix, des remises ou leur calendrier, ni pour demander à une marque d'agir contre un revendeur (C. com. L442-6, TFUE art. 101).";

/// The competition-law notice every English email carries.
pub const COMPETITION_NOTICE_EN: &str = "Vigie reports what a shop displays against legal rules; it is never price advice. \
Do not use these findings to agree on prices, discounts or their timing, nor to ask a brand to act against a reseller (French Commercial Code L442-6, TFEU art. 101).";

/// The escaper of the HTML templates (`askama.toml`): `<`, `>`, `&`, `"`
/// and `'` become `&lt;`, `&gt;`, `&amp;`, `&quot;` and `&#39;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, s: &str) -> std::fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'&' => "&amp;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&s[plain..])
    }
}

/// The words of one language.
struct Words {
    lang: &'static str,
    at: &'static str,
    hello: &'static str,
    found: &'static str,
    brand: &'static str,
    product: &'static str,
    no_name: &'static str,
    price: &'static str,
    reference: &'static str,
    reduction: &'static str,
    page: &'static str,
    seen: &'static str,
    calendar: &'static str,
    rule: &'static str,
    severity: &'static str,
    basis: &'static str,
    evidence: &'static str,
    evidence_dir: &'static str,
    announced: &'static str,
    notice: &'static str,
    unsubscribe: &'static str,
    paris_time: &'static str,
    digest_daily: &'static str,
    digest_weekly: &'static str,
    digest_summary: &'static str,
    site_wide: &'static str,
    shop_displays: &'static str,
    site_wide_out_of_period: &'static str,
    wording: &'static str,
    brands: &'static str,
    manage: &'static str,
    unsubscribe_link: &'static str,
    view: &'static str,
    finding_one: &'static str,
    findings: &'static str,
    in_one_scan: &'static str,
    first_reading: &'static str,
    baseline_intro: &'static str,
    baseline_not_news: &'static str,
    by_rule: &'static str,
    most_severe: &'static str,
    all_findings: &'static str,
    all_findings_operator: &'static str,
}

const FR: Words = Words {
    lang: "fr",
    at: "chez",
    hello: "Bonjour",
    found: "Vigie a relevé",
    brand: "sur la marque",
    product: "Produit",
    no_name: "(produit sans nom)",
    price: "Prix affiché",
    reference: "Prix barré / de référence affiché",
    reduction: "Réduction annoncée",
    page: "Page",
    seen: "Observé le",
    calendar: "Calendrier",
    rule: "Règle",
    severity: "Gravité",
    basis: "Base légale",
    evidence: "Preuve",
    evidence_dir: "preuve",
    announced: "promotion annoncée par la marque",
    notice: COMPETITION_NOTICE,
    unsubscribe: "Pour ne plus recevoir ces alertes, demandez à l'opérateur de votre collectif de vous retirer de la liste de cette marque.",
    paris_time: "heure de Paris",
    digest_daily: "résumé du jour",
    digest_weekly: "résumé de la semaine",
    digest_summary: "constat(s)",
    site_wide: "tout le site",
    shop_displays: "la boutique",
    site_wide_out_of_period: "affiche le mot « soldes » sur l'ensemble de son site, hors des périodes légales",
    wording: "Texte affiché",
    brands: "Marques suivies chez cette boutique",
    manage: "Gérer mes alertes",
    unsubscribe_link: "Me désabonner",
    view: "Voir le constat",
    finding_one: "constat",
    findings: "constats",
    in_one_scan: "lors d'un même passage",
    first_reading: "Première lecture de",
    baseline_intro: "Première lecture de la boutique",
    baseline_not_news: "Ces constats décrivent la boutique telle que Vigie l'a trouvée à son premier passage : ils ne sont pas nouveaux, Vigie vous écrira désormais ce qui change.",
    by_rule: "Par règle",
    most_severe: "Les plus graves",
    all_findings: "Tous les constats de cette boutique",
    all_findings_operator: "Tous les constats de cette boutique (commande de l'opérateur)",
};

const EN: Words = Words {
    lang: "en",
    at: "at",
    hello: "Hello",
    found: "Vigie found",
    brand: "on the brand",
    product: "Product",
    no_name: "(unnamed product)",
    price: "Price shown",
    reference: "Crossed-out / reference price shown",
    reduction: "Reduction claimed",
    page: "Page",
    seen: "Seen on",
    calendar: "Calendar",
    rule: "Rule",
    severity: "Severity",
    basis: "Legal basis",
    evidence: "Evidence",
    evidence_dir: "evidence",
    announced: "promotion announced by the brand",
    notice: COMPETITION_NOTICE_EN,
    unsubscribe: "To stop receiving these alerts, ask your collective's operator to remove you from this brand's list.",
    paris_time: "Paris time",
    digest_daily: "daily digest",
    digest_weekly: "weekly digest",
    digest_summary: "finding(s)",
    site_wide: "whole site",
    shop_displays: "the shop",
    site_wide_out_of_period: "displays the word \"soldes\" across its whole site, outside the legal sales periods",
    wording: "Text shown",
    brands: "Watched brands at this shop",
    manage: "Manage my alerts",
    unsubscribe_link: "Unsubscribe",
    view: "View the finding",
    finding_one: "finding",
    findings: "findings",
    in_one_scan: "in one scan",
    first_reading: "First reading of",
    baseline_intro: "First reading of the shop",
    baseline_not_news: "These findings describe the shop as Vigie found it on its first visit: they are not news, and from now on Vigie will write about what changes.",
    by_rule: "By rule",
    most_severe: "The most severe",
    all_findings: "All the findings at this shop",
    all_findings_operator: "All the findings at this shop (operator's command)",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::Fr => &FR,
        Language::En => &EN,
    }
}

fn money(f: &FindingRow, minor: i64) -> String {
    match crate::domain::Currency::new(&f.currency) {
        Ok(c) => crate::domain::Money::new(minor, c).display_fr(),
        Err(_) => format!("{minor} {}", f.currency),
    }
}

fn when(w: &Words, t: DateTime<Utc>) -> String {
    format!(
        "{} ({}) — {} UTC",
        t.with_timezone(&Paris).format("%d/%m/%Y %H:%M"),
        w.paris_time,
        t.format("%Y-%m-%d %H:%M")
    )
}

fn rule_title(w: &Words, rule: Rule) -> &'static str {
    let fr = w.lang == "fr";
    match (rule, fr) {
        (Rule::R1, true) => "mot « soldes » hors période",
        (Rule::R1, false) => "the word \"soldes\" outside the sales periods",
        (Rule::R2, true) => "pré-soldes déguisées",
        (Rule::R2, false) => "disguised pre-sales",
        (Rule::R3, true) => "réduction hors soldes",
        (Rule::R3, false) => "reduction outside the sales periods",
        (Rule::R4, true) => "prix antérieur absent",
        (Rule::R4, false) => "prior price missing",
        (Rule::R5, true) => "prix de référence fictif",
        (Rule::R5, false) => "fictitious reference price",
        (Rule::R6, true) => "pourcentage mal calculé",
        (Rule::R6, false) => "percentage miscalculated",
        (Rule::R7, true) => "promotion permanente",
        (Rule::R7, false) => "permanent promotion",
        (Rule::R8, true) => "prix gonflé avant promotion",
        (Rule::R8, false) => "price raised before a promotion",
        (Rule::R9, true) => "baisse de prix silencieuse",
        (Rule::R9, false) => "silent price cut",
    }
}

fn severity_label(w: &Words, severity: Severity) -> &'static str {
    match (severity, w.lang == "fr") {
        (Severity::Violation, true) => "infraction à la règle citée",
        (Severity::Violation, false) => "breach of the rule cited",
        (Severity::Announced, true) => "promotion annoncée par la marque (pour information)",
        (Severity::Announced, false) => "promotion announced by the brand (for information)",
        (Severity::Report, true) => "constat à signaler (licite ou non selon les cas)",
        (Severity::Report, false) => "finding to report (lawful or not depending on the case)",
    }
}

/// The wording a shop-level finding quotes (scraped text).
fn matched_text(f: &FindingRow) -> String {
    serde_json::from_str::<serde_json::Value>(&f.details)
        .ok()
        .and_then(|d| d["matched_text"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn subject_of(w: &Words, f: &FindingRow) -> String {
    if f.is_shop_level() {
        return format!(
            "[Vigie] {} ({}) : {} ({})",
            f.shop,
            w.site_wide,
            rule_title(w, f.rule),
            f.rule
        );
    }
    let percent = f.percent.map(|p| format!("-{p} % ")).unwrap_or_default();
    format!(
        "[Vigie] {} {} {} : {percent}{} ({}){}",
        f.brand,
        w.at,
        f.shop,
        rule_title(w, f.rule),
        f.rule,
        if f.severity == Severity::Announced {
            format!(" — {}", w.announced)
        } else {
            String::new()
        }
    )
}

/// How a value of the finding table is shown in the HTML part (the text
/// part shows every value as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// As text.
    Plain,
    /// Struck through (a crossed-out price).
    Struck,
    /// A link to itself (an http(s) URL).
    Link,
    /// As code (a command).
    Code,
}

/// One line of a finding's table: its label and its value.
struct Row {
    label: &'static str,
    value: String,
    cell: Cell,
}

impl Row {
    fn new(label: &'static str, value: String) -> Row {
        Row {
            label,
            value,
            cell: Cell::Plain,
        }
    }

    fn shown_as(self, cell: Cell) -> Row {
        Row { cell, ..self }
    }
}

/// The lines of one finding's table; `link` is its page in the console.
fn finding_rows(w: &Words, f: &FindingRow, link: Option<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    if f.is_shop_level() {
        // The shop's own wording: no product, no price.
        rows.push(Row::new(w.wording, format!("« {} »", matched_text(f))));
        if !f.brand.is_empty() {
            rows.push(Row::new(w.brands, f.brand.clone()));
        }
    } else {
        let product = f.product_name.clone().unwrap_or_else(|| w.no_name.into());
        rows.push(Row::new(w.product, product));
        rows.push(Row::new(w.price, money(f, f.price_minor)));
    }
    if let Some(r) = f.reference_minor.map(|m| money(f, m)) {
        rows.push(Row::new(w.reference, r).shown_as(Cell::Struck));
    }
    if let Some(p) = f.percent {
        rows.push(Row::new(w.reduction, format!("-{p} %")));
    }
    let safe_url = f.url.starts_with("https://") || f.url.starts_with("http://");
    let url = Row::new(w.page, f.url.clone());
    rows.push(if safe_url {
        url.shown_as(Cell::Link)
    } else {
        url
    });
    rows.push(Row::new(w.seen, when(w, f.opened_at)));
    rows.push(Row::new(w.calendar, f.calendar.clone()));
    rows.push(Row::new(
        w.rule,
        format!("{} — {}", f.rule, rule_title(w, f.rule)),
    ));
    rows.push(Row::new(
        w.severity,
        severity_label(w, f.severity).to_string(),
    ));
    rows.push(Row::new(w.basis, f.legal_basis.clone()));
    if let Some(link) = link {
        rows.push(Row::new(w.view, link).shown_as(Cell::Link));
    }
    let evidence = format!("vigie evidence {} --out {}-{}", f.id, w.evidence_dir, f.id);
    rows.push(Row::new(w.evidence, evidence).shown_as(Cell::Code));
    rows
}

/// What the email about one finding says; rendered by [`FindingHtml`]
/// and [`FindingText`].
struct FindingMail<'a> {
    w: &'static Words,
    subscriber: &'a str,
    shop: &'a str,
    brand: &'a str,
    /// The rule's title in the email's language.
    title: &'static str,
    /// The shop's wording, for a shop-level finding.
    matched: Option<String>,
    rows: Vec<Row>,
    footer: Footer,
}

/// The HTML part of a finding's email (`templates/email/finding.html`).
#[derive(Template)]
#[template(path = "email/finding.html")]
struct FindingHtml<'a>(&'a FindingMail<'a>);

/// The text part of a finding's email (`templates/email/finding.txt`).
#[derive(Template)]
#[template(path = "email/finding.txt")]
struct FindingText<'a>(&'a FindingMail<'a>);

/// One brand at one shop in a digest, with the tables of its findings.
struct Group<'a> {
    brand: &'a str,
    shop: &'a str,
    tables: Vec<Vec<Row>>,
}

/// What a digest says; rendered by [`DigestHtml`] and [`DigestText`].
struct DigestMail<'a> {
    w: &'static Words,
    subscriber: &'a str,
    groups: Vec<Group<'a>>,
    footer: Footer,
}

/// What the e-mail about several findings of one shop and scan says;
/// rendered by [`ShopHtml`] and [`ShopText`].
struct ShopMail<'a> {
    w: &'static Words,
    subscriber: &'a str,
    shop: &'a str,
    /// "3 constats".
    count: String,
    groups: Vec<Group<'a>>,
    footer: Footer,
}

/// The HTML part of a shop's grouped e-mail (`templates/email/shop.html`).
#[derive(Template)]
#[template(path = "email/shop.html")]
struct ShopHtml<'a>(&'a ShopMail<'a>);

/// The text part of a shop's grouped e-mail (`templates/email/shop.txt`).
#[derive(Template)]
#[template(path = "email/shop.txt")]
struct ShopText<'a>(&'a ShopMail<'a>);

/// What the summary of a shop's first scan says; rendered by
/// [`BaselineHtml`] and [`BaselineText`].
struct BaselineMail<'a> {
    w: &'static Words,
    subscriber: &'a str,
    shop: &'a str,
    /// "12 constats", "1 constat".
    count: String,
    /// Rule, its title, how many findings.
    by_rule: Vec<(Rule, &'static str, usize)>,
    /// The most severe findings: brand and table.
    top: Vec<(&'a str, Vec<Row>)>,
    /// The console's list of the shop's findings, when a public URL is set.
    list_url: Option<String>,
    /// The operator's command listing them otherwise.
    list_command: String,
    footer: Footer,
}

/// The HTML part of a first-scan summary (`templates/email/baseline.html`).
#[derive(Template)]
#[template(path = "email/baseline.html")]
struct BaselineHtml<'a>(&'a BaselineMail<'a>);

/// The text part of a first-scan summary (`templates/email/baseline.txt`).
#[derive(Template)]
#[template(path = "email/baseline.txt")]
struct BaselineText<'a>(&'a BaselineMail<'a>);

/// At most this many findings are shown in a first-scan summary.
pub const BASELINE_SHOWN: usize = 10;

/// The HTML part of a digest (`templates/email/digest.html`).
#[derive(Template)]
#[template(path = "email/digest.html")]
struct DigestHtml<'a>(&'a DigestMail<'a>);

/// The text part of a digest (`templates/email/digest.txt`).
#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a>(&'a DigestMail<'a>);

// The templates read the fields of the mail they render: `{{ w.hello }}`
// is `self.w.hello`, reached through these.
impl<'a> std::ops::Deref for FindingHtml<'a> {
    type Target = FindingMail<'a>;
    fn deref(&self) -> &FindingMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for FindingText<'a> {
    type Target = FindingMail<'a>;
    fn deref(&self) -> &FindingMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for DigestHtml<'a> {
    type Target = DigestMail<'a>;
    fn deref(&self) -> &DigestMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for DigestText<'a> {
    type Target = DigestMail<'a>;
    fn deref(&self) -> &DigestMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for ShopHtml<'a> {
    type Target = ShopMail<'a>;
    fn deref(&self) -> &ShopMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for ShopText<'a> {
    type Target = ShopMail<'a>;
    fn deref(&self) -> &ShopMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for BaselineHtml<'a> {
    type Target = BaselineMail<'a>;
    fn deref(&self) -> &BaselineMail<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for BaselineText<'a> {
    type Target = BaselineMail<'a>;
    fn deref(&self) -> &BaselineMail<'a> {
        self.0
    }
}

/// The email telling a subscriber about one finding, in the subscriber's
/// language, with the console `links`. Fails only if a template cannot be
/// rendered.
pub fn finding_email(item: &OutboxItem, links: &MailLinks<'_>) -> Result<Email, askama::Error> {
    let w = words(item.language);
    let f = &item.finding;
    let mail = FindingMail {
        w,
        subscriber: &item.subscriber,
        shop: &f.shop,
        brand: &f.brand,
        title: rule_title(w, f.rule),
        matched: f.is_shop_level().then(|| matched_text(f)),
        rows: finding_rows(w, f, links.finding(f.id)),
        footer: links.footer(),
    };
    Ok(Email {
        subject: subject_of(w, f),
        text: FindingText(&mail).render()?,
        html: FindingHtml(&mail).render()?,
        unsubscribe: links.unsubscribe(),
    })
}

/// One digest for a subscriber: a short summary first (findings by brand
/// and shop), then each finding, grouped by brand and shop. Fails only if
/// a template cannot be rendered.
pub fn digest_email(
    rows: &[&OutboxItem],
    now: DateTime<Utc>,
    links: &MailLinks<'_>,
) -> Result<Email, askama::Error> {
    let Some(first) = rows.first() else {
        return Ok(empty_email());
    };
    let w = words(first.language);
    let kind = if first.digest == Some(Digest::Weekly) {
        w.digest_weekly
    } else {
        w.digest_daily
    };
    let mut by_group: std::collections::BTreeMap<(&str, &str), Vec<&FindingRow>> =
        std::collections::BTreeMap::new();
    for r in rows {
        by_group
            .entry((r.finding.brand.as_str(), r.finding.shop.as_str()))
            .or_default()
            .push(&r.finding);
    }
    let brands: std::collections::BTreeSet<&str> = by_group.keys().map(|(b, _)| *b).collect();
    let subject = format!(
        "[Vigie] {kind} {} : {} {} — {}",
        now.with_timezone(&Paris).format("%d/%m/%Y"),
        rows.len(),
        w.digest_summary,
        brands.into_iter().collect::<Vec<_>>().join(", ")
    );
    let mail = DigestMail {
        w,
        subscriber: &first.subscriber,
        groups: by_group
            .into_iter()
            .map(|((brand, shop), fs)| Group {
                brand,
                shop,
                tables: fs
                    .iter()
                    .map(|f| finding_rows(w, f, links.finding(f.id)))
                    .collect(),
            })
            .collect(),
        footer: links.footer(),
    };
    Ok(Email {
        subject,
        text: DigestText(&mail).render()?,
        html: DigestHtml(&mail).render()?,
        unsubscribe: links.unsubscribe(),
    })
}

fn empty_email() -> Email {
    Email {
        subject: String::new(),
        text: String::new(),
        html: String::new(),
        unsubscribe: None,
    }
}

/// "3 constats" / "1 finding".
fn count_of(w: &Words, n: usize) -> String {
    format!("{n} {}", if n == 1 { w.finding_one } else { w.findings })
}

/// The findings of `rows` by brand (in brand order, then as given), with
/// their tables.
fn by_brand<'a>(w: &Words, rows: &[&'a OutboxItem], links: &MailLinks<'_>) -> Vec<Group<'a>> {
    let mut groups: std::collections::BTreeMap<&str, Group<'a>> = std::collections::BTreeMap::new();
    for r in rows {
        let f = &r.finding;
        groups
            .entry(f.brand.as_str())
            .or_insert_with(|| Group {
                brand: &f.brand,
                shop: &f.shop,
                tables: Vec::new(),
            })
            .tables
            .push(finding_rows(w, f, links.finding(f.id)));
    }
    groups.into_values().collect()
}

/// One e-mail for several findings of one shop found by one scan (rows of
/// one subscriber): "3 constats chez Boutique X", then each finding's
/// table, grouped by brand. Fails only if a template cannot be rendered.
pub fn shop_email(rows: &[&OutboxItem], links: &MailLinks<'_>) -> Result<Email, askama::Error> {
    let Some(first) = rows.first() else {
        return Ok(empty_email());
    };
    let w = words(first.language);
    let shop = first.finding.shop.as_str();
    let mail = ShopMail {
        w,
        subscriber: &first.subscriber,
        shop,
        count: count_of(w, rows.len()),
        groups: by_brand(w, rows, links),
        footer: links.footer(),
    };
    Ok(Email {
        subject: format!("[Vigie] {} {} {shop}", count_of(w, rows.len()), w.at),
        text: ShopText(&mail).render()?,
        html: ShopHtml(&mail).render()?,
        unsubscribe: links.unsubscribe(),
    })
}

/// How a finding ranks in a first-scan summary: breaches first, then
/// reports, then announced promotions.
fn gravity(s: Severity) -> u8 {
    match s {
        Severity::Violation => 0,
        Severity::Report => 1,
        Severity::Announced => 2,
    }
}

/// The summary of a shop's first scan for one subscriber: how many
/// findings, how many per rule, the [`BASELINE_SHOWN`] most severe, and
/// where to see them all (the console's list when a public URL is set, the
/// operator's command otherwise). Fails only if a template cannot be
/// rendered.
pub fn baseline_email(rows: &[&OutboxItem], links: &MailLinks<'_>) -> Result<Email, askama::Error> {
    let Some(first) = rows.first() else {
        return Ok(empty_email());
    };
    let w = words(first.language);
    let shop = first.finding.shop.as_str();
    let mut counts: std::collections::BTreeMap<Rule, usize> = std::collections::BTreeMap::new();
    for r in rows {
        *counts.entry(r.finding.rule).or_default() += 1;
    }
    let mut ranked: Vec<&FindingRow> = rows.iter().map(|r| &r.finding).collect();
    ranked.sort_by_key(|f| (gravity(f.severity), f.rule, f.id));
    let mail = BaselineMail {
        w,
        subscriber: &first.subscriber,
        shop,
        count: count_of(w, rows.len()),
        by_rule: counts
            .into_iter()
            .map(|(rule, n)| (rule, rule_title(w, rule), n))
            .collect(),
        top: ranked
            .into_iter()
            .take(BASELINE_SHOWN)
            .map(|f| (f.brand.as_str(), finding_rows(w, f, links.finding(f.id))))
            .collect(),
        list_url: links.shop_findings(shop),
        list_command: format!("vigie findings --shop {}", shell_word(shop)),
        footer: links.footer(),
    };
    Ok(Email {
        subject: format!(
            "[Vigie] {} {shop} : {}",
            w.first_reading,
            count_of(w, rows.len())
        ),
        text: BaselineText(&mail).render()?,
        html: BaselineHtml(&mail).render()?,
        unsubscribe: links.unsubscribe(),
    })
}

/// `s` as one shell word: single-quoted unless it is plain.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-_.,/:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> OutboxItem {
        let t = DateTime::parse_from_rfc3339("2026-03-11T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        OutboxItem {
            id: 7,
            subscriber: "Ana".into(),
            email: "ana@shop.example".into(),
            attempts: 0,
            digest: None,
            language: Language::Fr,
            scan_id: Some(2),
            baseline: false,
            finding: FindingRow {
                id: 3,
                rule: Rule::R3,
                severity: Severity::Report,
                legal_basis: "L310-3".into(),
                shop: "Shop".into(),
                brand: "Maison Lumière".into(),
                product_name: Some(name.into()),
                url: "https://shop.example/p?a=1&b=2".into(),
                price_minor: 12900,
                reference_minor: Some(18900),
                currency: "EUR".into(),
                percent: Some(31),
                calendar: "national".into(),
                details: "{}".into(),
                opened_at: t,
                last_seen_at: t,
                closed_at: None,
                evidence_id: Some(1),
                scope: crate::domain::Scope::Product,
                product_id: 5,
                dismissed_at: None,
                dismissed_reason: None,
            },
        }
    }

    #[test]
    fn the_email_names_brand_shop_discount_and_prices() {
        let e = finding_email(&item("Lampe Opaline"), &MailLinks::none()).unwrap();
        assert_eq!(
            e.subject,
            "[Vigie] Maison Lumière chez Shop : -31 % réduction hors soldes (R3)"
        );
        assert!(e.text.contains("Prix affiché : 129,00\u{a0}€"));
        assert!(e.text.contains("189,00\u{a0}€"));
        assert!(e.text.contains("11/03/2026 10:00 (heure de Paris)"));
        assert!(
            e.html
                .contains("href=\"https://shop.example/p?a=1&amp;b=2\"")
        );
    }

    #[test]
    fn english_and_digests() {
        let mut a = item("Lampe Opaline");
        a.language = Language::En;
        let e = finding_email(&a, &MailLinks::none()).unwrap();
        assert_eq!(
            e.subject,
            "[Vigie] Maison Lumière at Shop : -31 % reduction outside the sales periods (R3)"
        );
        assert!(e.text.contains("Price shown : 129,00\u{a0}€"), "{}", e.text);
        assert!(e.text.contains("TFEU art. 101"));
        let mut b = item("Vase <b>bleu</b>");
        b.digest = Some(Digest::Daily);
        b.finding.shop = "Autre".into();
        let mut c = b.clone();
        c.digest = Some(Digest::Daily);
        let now = DateTime::parse_from_rfc3339("2026-03-12T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = digest_email(&[&b, &c], now, &MailLinks::none()).unwrap();
        assert_eq!(
            d.subject,
            "[Vigie] résumé du jour 12/03/2026 : 2 constat(s) — Maison Lumière"
        );
        assert!(
            d.text
                .contains("- Maison Lumière chez Autre : 2 constat(s)")
        );
        assert!(d.html.contains("Vase &lt;b&gt;bleu&lt;/b&gt;"));
        assert!(!d.html.contains("<b>bleu"));
    }

    #[test]
    fn a_shop_level_finding_quotes_the_shops_wording_escaped() {
        let mut it = item("ignored");
        it.finding.rule = Rule::R1;
        it.finding.severity = Severity::Violation;
        it.finding.scope = crate::domain::Scope::Shop;
        it.finding.product_name = None;
        it.finding.price_minor = 0;
        it.finding.reference_minor = None;
        it.finding.percent = None;
        it.finding.details =
            serde_json::json!({ "scope": "shop", "matched_text": "SOLDES <b>-50 %</b> & plus" })
                .to_string();
        let e = finding_email(&it, &MailLinks::none()).unwrap();
        assert_eq!(
            e.subject,
            "[Vigie] Shop (tout le site) : mot « soldes » hors période (R1)"
        );
        assert!(
            e.text.contains(
                "la boutique Shop affiche le mot « soldes » sur l'ensemble de son site, hors des périodes légales : « SOLDES <b>-50 %</b> & plus »"
            ),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains("Texte affiché : « SOLDES <b>-50 %</b> & plus »")
        );
        assert!(!e.text.contains("Prix affiché"), "no price: {}", e.text);
        assert!(!e.text.contains("Produit"), "no product: {}", e.text);
        assert!(
            e.html
                .contains("SOLDES &lt;b&gt;-50 %&lt;/b&gt; &amp; plus"),
            "{}",
            e.html
        );
        assert!(!e.html.contains("<b>-50"));
        it.language = Language::En;
        let e = finding_email(&it, &MailLinks::none()).unwrap();
        assert!(
            e.text
                .contains("the shop Shop displays the word \"soldes\" across its whole site"),
            "{}",
            e.text
        );
    }

    #[test]
    fn scraped_markup_is_escaped() {
        let e = finding_email(
            &item("<script>alert(1)</script>\r\nBcc: x@evil.example"),
            &MailLinks::none(),
        )
        .unwrap();
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn every_scraped_field_is_escaped_in_html_and_verbatim_in_text() {
        const NASTY: &str = "<script>alert(1)</script> \"q\" & 'a'";
        const ESCAPED: &str =
            "&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp; &#39;a&#39;";
        let mut product = item(&format!("name {NASTY}"));
        product.finding.shop = format!("shop {NASTY}");
        product.finding.brand = format!("brand {NASTY}");
        product.finding.url = format!("https://shop.example/p?{NASTY}");
        let mut shop = product.clone();
        shop.finding.rule = Rule::R1;
        shop.finding.scope = crate::domain::Scope::Shop;
        shop.finding.product_name = None;
        shop.finding.details =
            serde_json::json!({ "matched_text": format!("matched {NASTY}") }).to_string();
        let (mut a, mut b) = (product.clone(), shop.clone());
        a.digest = Some(Digest::Daily);
        b.digest = Some(Digest::Daily);
        let now = DateTime::parse_from_rfc3339("2026-03-12T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let emails = [
            (
                finding_email(&product, &MailLinks::none()).unwrap(),
                &["name ", "shop ", "brand ", "p?"][..],
            ),
            (
                finding_email(&shop, &MailLinks::none()).unwrap(),
                &["matched ", "shop ", "brand ", "p?"][..],
            ),
            (
                digest_email(&[&a, &b], now, &MailLinks::none()).unwrap(),
                &["name ", "matched ", "shop ", "brand ", "p?"][..],
            ),
        ];
        for (e, fields) in &emails {
            for field in *fields {
                let verbatim = format!("{field}{NASTY}");
                let escaped = format!("{field}{ESCAPED}");
                assert!(e.html.contains(&escaped), "{escaped} not in\n{}", e.html);
                assert!(e.text.contains(&verbatim), "{verbatim} not in\n{}", e.text);
            }
            assert!(!e.html.contains("<script"), "{}", e.html);
            assert!(!e.html.contains(NASTY), "{}", e.html);
            assert!(
                e.html
                    .contains(&format!("<a href=\"https://shop.example/p?{ESCAPED}\">")),
                "{}",
                e.html
            );
        }
    }

    fn links() -> super::Links {
        super::Links::new(
            Some("https://vigie.example.org/".parse().unwrap()),
            vec![7; 32],
        )
    }

    fn scan_rows(n: i64, name: &str) -> Vec<OutboxItem> {
        (0..n)
            .map(|i| {
                let mut it = item(&format!("{name} {i}"));
                it.id = 10 + i;
                it.finding.id = 100 + i;
                it.finding.shop = "Boutique <X>".into();
                it
            })
            .collect()
    }

    #[test]
    fn a_shops_findings_make_one_email_with_their_links_and_escaped_names() {
        let items = scan_rows(3, "<script>alert(1)</script>");
        let rows: Vec<&OutboxItem> = items.iter().collect();
        let l = links();
        let at = items[0].finding.opened_at;
        let e = shop_email(&rows, &MailLinks::new(&l, "ana@shop.example", 0, at)).unwrap();
        assert_eq!(e.subject, "[Vigie] 3 constats chez Boutique <X>");
        for i in 0..3 {
            assert!(
                e.text.contains(&format!("<script>alert(1)</script> {i}")),
                "{}",
                e.text
            );
            assert!(
                e.html
                    .contains(&format!("&lt;script&gt;alert(1)&lt;/script&gt; {i}"))
            );
            assert!(e.text.contains(&format!("vigie evidence {} ", 100 + i)));
            assert!(
                e.text.contains(&format!(
                    "Voir le constat : https://vigie.example.org/findings/{}?t=",
                    100 + i
                )),
                "{}",
                e.text
            );
        }
        assert!(!e.html.contains("<script"), "{}", e.html);
        assert!(e.html.contains("Boutique &lt;X&gt;"));
        assert!(
            e.text
                .contains("Gérer mes alertes : https://vigie.example.org/my/"),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains("Me désabonner : https://vigie.example.org/unsubscribe/")
        );
        assert!(
            e.html
                .contains("<a href=\"https://vigie.example.org/unsubscribe/"),
            "{}",
            e.html
        );
        assert!(
            e.unsubscribe
                .as_deref()
                .is_some_and(|u| u.contains("/unsubscribe/"))
        );
        // Without a public URL: no console link, the operator's sentence.
        let mut en = items[0].clone();
        en.language = Language::En;
        let e = shop_email(&[&en, &items[1]], &MailLinks::none()).unwrap();
        assert_eq!(e.subject, "[Vigie] 2 findings at Boutique <X>");
        assert!(!e.text.contains("https://vigie.example.org"));
        assert!(
            e.text.contains("ask your collective's operator"),
            "{}",
            e.text
        );
        assert_eq!(e.unsubscribe, None);
    }

    #[test]
    fn a_first_scan_is_one_summary_counted_by_rule_with_the_most_severe() {
        let mut items = scan_rows(12, "<script>x</script>");
        for (i, it) in items.iter_mut().enumerate() {
            it.baseline = true;
            if i == 11 {
                it.finding.rule = Rule::R5;
                it.finding.severity = Severity::Violation;
                it.finding.product_name = Some("Le plus grave".into());
            }
        }
        let rows: Vec<&OutboxItem> = items.iter().collect();
        let e = baseline_email(&rows, &MailLinks::none()).unwrap();
        assert_eq!(
            e.subject,
            "[Vigie] Première lecture de Boutique <X> : 12 constats"
        );
        assert!(
            e.text.contains("- R3 — réduction hors soldes : 11"),
            "{}",
            e.text
        );
        assert!(e.text.contains("- R5 — prix de référence fictif : 1"));
        assert!(
            e.text.contains("vigie findings --shop 'Boutique <X>'"),
            "{}",
            e.text
        );
        assert_eq!(e.text.matches("vigie evidence").count(), BASELINE_SHOWN);
        let grave = e.text.find("Le plus grave").unwrap();
        assert!(
            grave < e.text.find("<script>x</script>").unwrap(),
            "the breach first"
        );
        assert!(!e.html.contains("<script"), "{}", e.html);
        assert!(e.html.contains("&lt;script&gt;x&lt;/script&gt;"));
        let l = links();
        let e = baseline_email(
            &rows,
            &MailLinks::new(&l, "ana@shop.example", 0, Utc::now()),
        )
        .unwrap();
        assert!(
            e.text
                .contains("https://vigie.example.org/findings?shop=Boutique+%3CX%3E"),
            "{}",
            e.text
        );
        assert!(
            e.html
                .contains("href=\"https://vigie.example.org/findings?shop=Boutique+%3CX%3E\"")
        );
        assert!(!e.text.contains("vigie findings --shop"));
    }
}
