//! Email texts. Every scraped string goes through [`html_escape`] in the
//! HTML part and through [`super::mailer::one_line`] in headers.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

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

/// The competition-law notice every email carries.
pub const COMPETITION_NOTICE: &str = "Vigie signale ce qu'une boutique affiche au regard de règles légales ; ce n'est jamais un conseil de prix. \
N'utilisez pas ces constats pour vous entendre sur des prix, des remises ou leur calendrier, ni pour demander à une marque d'agir contre un revendeur (C. com. L442-6, TFUE art. 101).";

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn money(f: &FindingRow, minor: i64) -> String {
    match crate::domain::Currency::new(&f.currency) {
        Ok(c) => crate::domain::Money::new(minor, c).display_fr(),
        Err(_) => format!("{minor} {}", f.currency),
    }
}

fn when(t: DateTime<Utc>) -> String {
    format!(
        "{} (heure de Paris) — {} UTC",
        t.with_timezone(&Paris).format("%d/%m/%Y %H:%M"),
        t.format("%Y-%m-%d %H:%M")
    )
}

fn rule_title(rule: &str) -> &'static str {
    match rule {
        "R1" => "mot « soldes » hors période",
        "R2" => "pré-soldes déguisées",
        "R3" => "réduction hors soldes",
        "R4" => "prix antérieur absent",
        "R5" => "prix de référence fictif",
        "R6" => "pourcentage mal calculé",
        "R7" => "promotion permanente",
        "R8" => "prix gonflé avant promotion",
        "R9" => "baisse de prix silencieuse",
        _ => "constat",
    }
}

fn severity_label(severity: &str) -> &'static str {
    match severity {
        "violation" => "infraction à la règle citée",
        "announced" => "promotion annoncée par la marque (pour information)",
        _ => "constat à signaler (licite ou non selon les cas)",
    }
}

/// The email telling a subscriber about one finding.
pub fn finding_email(item: &OutboxItem) -> Email {
    let f = &item.finding;
    let product = f
        .product_name
        .clone()
        .unwrap_or_else(|| "(produit sans nom)".into());
    let percent = f.percent.map(|p| format!("-{p} %")).unwrap_or_default();
    let announced = f.severity == "announced";
    let subject = format!(
        "[Vigie] {} chez {} : {}{} ({}){}",
        f.brand,
        f.shop,
        if percent.is_empty() {
            String::new()
        } else {
            format!("{percent} ")
        },
        rule_title(&f.rule),
        f.rule,
        if announced {
            " — promotion annoncée par la marque"
        } else {
            ""
        }
    );
    let price = money(f, f.price_minor);
    let reference = f.reference_minor.map(|m| money(f, m));
    let evidence = format!("vigie evidence {} --out preuve-{}", f.id, f.id);
    let safe_url = f.url.starts_with("https://") || f.url.starts_with("http://");

    let mut text = String::new();
    text.push_str(&format!("Bonjour {},\n\n", item.subscriber));
    text.push_str(&format!(
        "Vigie a relevé une {} sur la marque {} chez {}.\n\n",
        rule_title(&f.rule),
        f.brand,
        f.shop
    ));
    text.push_str(&format!("Produit : {product}\n"));
    text.push_str(&format!("Prix affiché : {price}\n"));
    if let Some(r) = &reference {
        text.push_str(&format!("Prix barré / de référence affiché : {r}\n"));
    }
    if !percent.is_empty() {
        text.push_str(&format!("Réduction annoncée : {percent}\n"));
    }
    text.push_str(&format!("Page : {}\n", f.url));
    text.push_str(&format!("Observé le : {}\n", when(f.opened_at)));
    text.push_str(&format!("Calendrier : {}\n", f.calendar));
    text.push_str(&format!("Règle : {} — {}\n", f.rule, rule_title(&f.rule)));
    text.push_str(&format!("Gravité : {}\n", severity_label(&f.severity)));
    text.push_str(&format!("Base : {}\n", f.legal_basis));
    text.push_str(&format!("Preuve : {evidence}\n\n"));
    text.push_str(&format!("-- \n{COMPETITION_NOTICE}\n"));
    text.push_str("Pour ne plus recevoir ces alertes, demandez à l'opérateur de votre collectif de vous retirer de la liste de cette marque.\n");

    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:auto;padding:1em;line-height:1.4\">",
    );
    html.push_str(&format!("<p>Bonjour {},</p>", esc(&item.subscriber)));
    html.push_str(&format!(
        "<p>Vigie a relevé une <strong>{}</strong> sur la marque <strong>{}</strong> chez <strong>{}</strong>.</p>",
        esc(rule_title(&f.rule)),
        esc(&f.brand),
        esc(&f.shop)
    ));
    html.push_str("<table style=\"border-collapse:collapse\">");
    let mut row = |k: &str, v: String| {
        html.push_str(&format!(
            "<tr><th style=\"text-align:left;padding:.2em .6em .2em 0;vertical-align:top\">{}</th><td>{}</td></tr>",
            esc(k),
            v
        ))
    };
    row("Produit", esc(&product));
    row("Prix affiché", esc(&price));
    if let Some(r) = &reference {
        row("Prix barré affiché", format!("<s>{}</s>", esc(r)));
    }
    if !percent.is_empty() {
        row("Réduction annoncée", esc(&percent));
    }
    row(
        "Page",
        if safe_url {
            format!(
                "<a href=\"{}\">{}</a>",
                html_escape::encode_double_quoted_attribute(&f.url),
                esc(&f.url)
            )
        } else {
            esc(&f.url)
        },
    );
    row("Observé le", esc(&when(f.opened_at)));
    row("Calendrier", esc(&f.calendar));
    row(
        "Règle",
        esc(&format!("{} — {}", f.rule, rule_title(&f.rule))),
    );
    row("Base", esc(&f.legal_basis));
    row("Preuve", format!("<code>{}</code>", esc(&evidence)));
    html.push_str("</table>");
    html.push_str(&format!(
        "<hr><p style=\"font-size:smaller;color:#555\">{}<br>Pour ne plus recevoir ces alertes, demandez à l'opérateur de votre collectif de vous retirer de la liste de cette marque.</p></body></html>",
        esc(COMPETITION_NOTICE)
    ));
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
            finding: FindingRow {
                id: 3,
                rule: "R3".into(),
                severity: "report".into(),
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
    fn scraped_markup_is_escaped() {
        let e = finding_email(&item("<script>alert(1)</script>\r\nBcc: x@evil.example"));
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
    }
}
