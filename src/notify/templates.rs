//! Email texts, in French (the default) or English. Every scraped string
//! goes through [`html_escape`] in the HTML part and through
//! [`super::mailer::one_line`] in headers.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

use crate::domain::{Rule, Severity};
use crate::store::{FindingRow, OutboxItem};

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Subject line (made single-line again by the mailer).
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The competition-law notice every French email carries.
pub const COMPETITION_NOTICE: &str = "Vigie signale ce qu'une boutique affiche au regard de règles légales ; ce n'est jamais un conseil de prix. \
N'utilisez pas ces constats pour vous entendre sur des prix, des remises ou leur calendrier, ni pour demander à une marque d'agir contre un revendeur (C. com. L442-6, TFUE art. 101).";

/// The competition-law notice every English email carries.
pub const COMPETITION_NOTICE_EN: &str = "Vigie reports what a shop displays against legal rules; it is never price advice. \
Do not use these findings to agree on prices, discounts or their timing, nor to ask a brand to act against a reseller (French Commercial Code L442-6, TFEU art. 101).";

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
};

fn words(language: &str) -> &'static Words {
    if language == "en" { &EN } else { &FR }
}

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
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
    match (rule.as_str(), fr) {
        ("R1", true) => "mot « soldes » hors période",
        ("R1", false) => "the word \"soldes\" outside the sales periods",
        ("R2", true) => "pré-soldes déguisées",
        ("R2", false) => "disguised pre-sales",
        ("R3", true) => "réduction hors soldes",
        ("R3", false) => "reduction outside the sales periods",
        ("R4", true) => "prix antérieur absent",
        ("R4", false) => "prior price missing",
        ("R5", true) => "prix de référence fictif",
        ("R5", false) => "fictitious reference price",
        ("R6", true) => "pourcentage mal calculé",
        ("R6", false) => "percentage miscalculated",
        ("R7", true) => "promotion permanente",
        ("R7", false) => "permanent promotion",
        ("R8", true) => "prix gonflé avant promotion",
        ("R8", false) => "price raised before a promotion",
        ("R9", true) => "baisse de prix silencieuse",
        ("R9", false) => "silent price cut",
        (_, true) => "constat",
        (_, false) => "finding",
    }
}

fn severity_label(w: &Words, severity: Severity) -> &'static str {
    match (severity.as_str(), w.lang == "fr") {
        ("violation", true) => "infraction à la règle citée",
        ("violation", false) => "breach of the rule cited",
        ("announced", true) => "promotion annoncée par la marque (pour information)",
        ("announced", false) => "promotion announced by the brand (for information)",
        (_, true) => "constat à signaler (licite ou non selon les cas)",
        (_, false) => "finding to report (lawful or not depending on the case)",
    }
}

/// The wording a shop-level finding quotes (untrusted: escape it).
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

/// The lines of one finding: (label, plain value, HTML value).
fn finding_rows(w: &Words, f: &FindingRow) -> Vec<(&'static str, String, String)> {
    let mut rows = Vec::new();
    if f.is_shop_level() {
        // The shop's own wording: no product, no price.
        let quoted = format!("« {} »", matched_text(f));
        rows.push((w.wording, quoted.clone(), esc(&quoted)));
        if !f.brand.is_empty() {
            rows.push((w.brands, f.brand.clone(), esc(&f.brand)));
        }
    } else {
        let product = f.product_name.clone().unwrap_or_else(|| w.no_name.into());
        rows.push((w.product, product.clone(), esc(&product)));
        rows.push((
            w.price,
            money(f, f.price_minor),
            esc(&money(f, f.price_minor)),
        ));
    }
    if let Some(r) = f.reference_minor.map(|m| money(f, m)) {
        rows.push((w.reference, r.clone(), format!("<s>{}</s>", esc(&r))));
    }
    if let Some(p) = f.percent {
        let p = format!("-{p} %");
        rows.push((w.reduction, p.clone(), esc(&p)));
    }
    let safe_url = f.url.starts_with("https://") || f.url.starts_with("http://");
    let url_html = if safe_url {
        format!(
            "<a href=\"{}\">{}</a>",
            html_escape::encode_double_quoted_attribute(&f.url),
            esc(&f.url)
        )
    } else {
        esc(&f.url)
    };
    rows.push((w.page, f.url.clone(), url_html));
    rows.push((w.seen, when(w, f.opened_at), esc(&when(w, f.opened_at))));
    rows.push((w.calendar, f.calendar.clone(), esc(&f.calendar)));
    let rule = format!("{} — {}", f.rule, rule_title(w, f.rule));
    rows.push((w.rule, rule.clone(), esc(&rule)));
    let sev = severity_label(w, f.severity).to_string();
    rows.push((w.severity, sev.clone(), esc(&sev)));
    rows.push((w.basis, f.legal_basis.clone(), esc(&f.legal_basis)));
    let evidence = format!("vigie evidence {} --out {}-{}", f.id, w.evidence_dir, f.id);
    rows.push((
        w.evidence,
        evidence.clone(),
        format!("<code>{}</code>", esc(&evidence)),
    ));
    rows
}

fn html_start(w: &Words) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:auto;padding:1em;line-height:1.4\">",
        w.lang
    )
}

fn html_table(html: &mut String, rows: &[(&'static str, String, String)]) {
    html.push_str("<table style=\"border-collapse:collapse\">");
    for (k, _, v) in rows {
        html.push_str(&format!(
            "<tr><th style=\"text-align:left;padding:.2em .6em .2em 0;vertical-align:top\">{}</th><td>{v}</td></tr>",
            esc(k)
        ));
    }
    html.push_str("</table>");
}

fn footer(w: &Words, text: &mut String, html: &mut String) {
    text.push_str(&format!("-- \n{}\n{}\n", w.notice, w.unsubscribe));
    html.push_str(&format!(
        "<hr><p style=\"font-size:smaller;color:#555\">{}<br>{}</p></body></html>",
        esc(w.notice),
        esc(w.unsubscribe)
    ));
}

/// The email telling a subscriber about one finding, in the subscriber's language.
pub fn finding_email(item: &OutboxItem) -> Email {
    let w = words(&item.language);
    let f = &item.finding;
    let subject = subject_of(w, f);
    let rows = finding_rows(w, f);
    let mut html = html_start(w);
    html.push_str(&format!("<p>{} {},</p>", w.hello, esc(&item.subscriber)));
    let intro = if f.is_shop_level() {
        let text = matched_text(f);
        html.push_str(&format!(
            "<p>{} : {} <strong>{}</strong> {} : « {} ».</p>",
            esc(w.found),
            esc(w.shop_displays),
            esc(&f.shop),
            esc(w.site_wide_out_of_period),
            esc(&text)
        ));
        format!(
            "{} : {} {} {} : « {text} ».",
            w.found, w.shop_displays, f.shop, w.site_wide_out_of_period
        )
    } else {
        html.push_str(&format!(
            "<p>{} : <strong>{}</strong> {} <strong>{}</strong> {} <strong>{}</strong>.</p>",
            esc(w.found),
            esc(rule_title(w, f.rule)),
            esc(w.brand),
            esc(&f.brand),
            esc(w.at),
            esc(&f.shop)
        ));
        format!(
            "{} : {} {} {} {} {}.",
            w.found,
            rule_title(w, f.rule),
            w.brand,
            f.brand,
            w.at,
            f.shop
        )
    };
    let mut text = format!("{} {},\n\n{intro}\n\n", w.hello, item.subscriber);
    for (k, v, _) in &rows {
        text.push_str(&format!("{k} : {v}\n"));
    }
    text.push('\n');
    html_table(&mut html, &rows);
    footer(w, &mut text, &mut html);
    Email {
        subject,
        text,
        html,
    }
}

/// One digest for a subscriber: a short summary first (findings by brand
/// and shop), then each finding, grouped by brand and shop.
pub fn digest_email(rows: &[&OutboxItem], now: DateTime<Utc>) -> Email {
    let Some(first) = rows.first() else {
        return Email {
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        };
    };
    let w = words(&first.language);
    let kind = if first.digest.as_deref() == Some("weekly") {
        w.digest_weekly
    } else {
        w.digest_daily
    };
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&FindingRow>> =
        std::collections::BTreeMap::new();
    for r in rows {
        groups
            .entry((r.finding.brand.as_str(), r.finding.shop.as_str()))
            .or_default()
            .push(&r.finding);
    }
    let brands: std::collections::BTreeSet<&str> = groups.keys().map(|(b, _)| *b).collect();
    let subject = format!(
        "[Vigie] {kind} {} : {} {} — {}",
        now.with_timezone(&Paris).format("%d/%m/%Y"),
        rows.len(),
        w.digest_summary,
        brands.into_iter().collect::<Vec<_>>().join(", ")
    );
    let mut text = format!("{} {},\n\n", w.hello, first.subscriber);
    let mut html = html_start(w);
    html.push_str(&format!(
        "<p>{} {},</p><ul>",
        w.hello,
        esc(&first.subscriber)
    ));
    for ((brand, shop), fs) in &groups {
        text.push_str(&format!(
            "- {brand} {} {shop} : {} {}\n",
            w.at,
            fs.len(),
            w.digest_summary
        ));
        html.push_str(&format!(
            "<li><strong>{}</strong> {} <strong>{}</strong> : {} {}</li>",
            esc(brand),
            esc(w.at),
            esc(shop),
            fs.len(),
            esc(w.digest_summary)
        ));
    }
    html.push_str("</ul>");
    text.push('\n');
    for ((brand, shop), fs) in &groups {
        text.push_str(&format!("== {brand} {} {shop} ==\n\n", w.at));
        html.push_str(&format!(
            "<h2 style=\"font-size:1.1em\">{} {} {}</h2>",
            esc(brand),
            esc(w.at),
            esc(shop)
        ));
        for f in fs {
            let rows = finding_rows(w, f);
            for (k, v, _) in &rows {
                text.push_str(&format!("{k} : {v}\n"));
            }
            text.push('\n');
            html_table(&mut html, &rows);
            html.push_str("<br>");
        }
    }
    footer(w, &mut text, &mut html);
    Email {
        subject,
        text,
        html,
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
            language: "fr".into(),
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
                scope: "product".into(),
            },
        }
    }

    #[test]
    fn the_email_names_brand_shop_discount_and_prices() {
        let e = finding_email(&item("Lampe Opaline"));
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
        a.language = "en".into();
        let e = finding_email(&a);
        assert_eq!(
            e.subject,
            "[Vigie] Maison Lumière at Shop : -31 % reduction outside the sales periods (R3)"
        );
        assert!(e.text.contains("Price shown : 129,00\u{a0}€"), "{}", e.text);
        assert!(e.text.contains("TFEU art. 101"));
        let mut b = item("Vase <b>bleu</b>");
        b.digest = Some("daily".into());
        b.finding.shop = "Autre".into();
        let mut c = b.clone();
        c.digest = Some("daily".into());
        let now = DateTime::parse_from_rfc3339("2026-03-12T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = digest_email(&[&b, &c], now);
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
        it.finding.scope = "shop".into();
        it.finding.product_name = None;
        it.finding.price_minor = 0;
        it.finding.reference_minor = None;
        it.finding.percent = None;
        it.finding.details =
            serde_json::json!({ "scope": "shop", "matched_text": "SOLDES <b>-50 %</b> & plus" })
                .to_string();
        let e = finding_email(&it);
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
        it.language = "en".into();
        let e = finding_email(&it);
        assert!(
            e.text
                .contains("the shop Shop displays the word \"soldes\" across its whole site"),
            "{}",
            e.text
        );
    }

    #[test]
    fn scraped_markup_is_escaped() {
        let e = finding_email(&item("<script>alert(1)</script>\r\nBcc: x@evil.example"));
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
    }
}
