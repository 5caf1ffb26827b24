//! The console's words, in French and English.

use crate::domain::{Language, Rule, Severity};

/// Every word a console page shows, in one language.
#[derive(Debug)]
pub struct Texts {
    /// `fr` or `en`, for `<html lang>`.
    pub lang: &'static str,
    /// Navigation: findings.
    pub findings: &'static str,
    /// Navigation: shops.
    pub shops: &'static str,
    /// Navigation: brands.
    pub brands: &'static str,
    /// Navigation: sign out.
    pub sign_out: &'static str,
    /// Sign-in page title.
    pub sign_in: &'static str,
    /// The secret's field.
    pub password: &'static str,
    /// Sign-in refused.
    pub wrong_password: &'static str,
    /// Too many sign-in attempts.
    pub too_many: &'static str,
    /// No operator secret configured.
    pub no_operator: &'static str,
    /// Filter fields.
    pub brand: &'static str,
    /// Shop.
    pub shop: &'static str,
    /// Rule.
    pub rule: &'static str,
    /// Severity.
    pub severity: &'static str,
    /// State.
    pub state: &'static str,
    /// Any value.
    pub any: &'static str,
    /// Open.
    pub open: &'static str,
    /// Closed.
    pub closed: &'static str,
    /// Dismissed.
    pub dismissed: &'static str,
    /// From (date).
    pub from: &'static str,
    /// To (date).
    pub to: &'static str,
    /// The filter button.
    pub filter: &'static str,
    /// "findings" after a count.
    pub n_findings: &'static str,
    /// Nothing matches.
    pub none: &'static str,
    /// Older page.
    pub older: &'static str,
    /// Back to the newest.
    pub newest: &'static str,
    /// Opened.
    pub opened: &'static str,
    /// Last seen.
    pub last_seen: &'static str,
    /// Product.
    pub product: &'static str,
    /// Unnamed product.
    pub no_name: &'static str,
    /// The shop as a whole.
    pub whole_shop: &'static str,
    /// Price.
    pub price: &'static str,
    /// Former (reference) price.
    pub reference: &'static str,
    /// Reduction.
    pub reduction: &'static str,
    /// Legal basis.
    pub basis: &'static str,
    /// In plain words.
    pub plain: &'static str,
    /// Calendar used.
    pub calendar: &'static str,
    /// The 30-day window.
    pub window: &'static str,
    /// Lowest price of the 30 days.
    pub lowest: &'static str,
    /// Share of the window observed.
    pub coverage: &'static str,
    /// The page.
    pub page: &'static str,
    /// Price history.
    pub history: &'static str,
    /// Sales periods (legend).
    pub sales_periods: &'static str,
    /// Observations (legend).
    pub observations: &'static str,
    /// One observation counted ("1 relevé").
    pub reading: &'static str,
    /// Several observations counted ("3 relevés").
    pub readings: &'static str,
    /// Evidence.
    pub evidence: &'static str,
    /// Download the evidence.
    pub download: &'static str,
    /// SHA-256 of the page kept.
    pub page_sha: &'static str,
    /// Chained hash.
    pub chain_hash: &'static str,
    /// The chain verifies.
    pub chain_ok: &'static str,
    /// The chain is broken.
    pub chain_broken: &'static str,
    /// No page kept.
    pub no_evidence: &'static str,
    /// The kept page is not shown.
    pub evidence_note: &'static str,
    /// Dismiss.
    pub dismiss: &'static str,
    /// The dismissal's reason.
    pub reason: &'static str,
    /// Why dismiss.
    pub dismiss_help: &'static str,
    /// Dismissed on.
    pub dismissed_on: &'static str,
    /// Every observation.
    pub every_observation: &'static str,
    /// Date.
    pub date: &'static str,
    /// Badge.
    pub badge: &'static str,
    /// Source.
    pub source: &'static str,
    /// Variant.
    pub variant: &'static str,
    /// Last scan.
    pub last_scan: &'static str,
    /// Next scheduled run.
    pub next_run: &'static str,
    /// Pages read.
    pub pages_read: &'static str,
    /// Pages unchanged.
    pub unchanged: &'static str,
    /// Errors.
    pub errors: &'static str,
    /// Robots refusals.
    pub robots: &'static str,
    /// Mean response time.
    pub response: &'static str,
    /// Never scanned.
    pub never: &'static str,
    /// No schedule.
    pub manual: &'static str,
    /// The brand dossier.
    pub dossier: &'static str,
    /// The dossier's introduction.
    pub dossier_intro: &'static str,
    /// Print it.
    pub print_hint: &'static str,
    /// The PDF link.
    pub pdf: &'static str,
    /// The competition-law notice.
    pub notice: &'static str,
    /// My alerts.
    pub my_alerts: &'static str,
    /// Greeting.
    pub hello: &'static str,
    /// Brands followed.
    pub brands_followed: &'static str,
    /// When to receive alerts.
    pub delivery: &'static str,
    /// Immediate.
    pub immediate: &'static str,
    /// Daily digest.
    pub daily: &'static str,
    /// Weekly digest.
    pub weekly: &'static str,
    /// At (hour).
    pub hour: &'static str,
    /// Day of the week.
    pub day: &'static str,
    /// Language.
    pub language: &'static str,
    /// Pause.
    pub pause: &'static str,
    /// Save.
    pub save: &'static str,
    /// Saved.
    pub saved: &'static str,
    /// Unsubscribe.
    pub unsubscribe: &'static str,
    /// The unsubscribe question.
    pub unsubscribe_confirm: &'static str,
    /// Unsubscribed.
    pub unsubscribed: &'static str,
    /// Subscribe again.
    pub resubscribe: &'static str,
    /// The link is refused.
    pub bad_link: &'static str,
    /// Not found.
    pub not_found: &'static str,
    /// A form without its token.
    pub bad_form: &'static str,
    /// Access refused.
    pub forbidden: &'static str,
    /// Something failed.
    pub failure: &'static str,
    /// Weekday names, Monday first.
    pub weekdays: [&'static str; 7],
}

/// French.
pub static FR: Texts = Texts {
    lang: "fr",
    findings: "Constats",
    shops: "Boutiques",
    brands: "Marques",
    sign_out: "Se déconnecter",
    sign_in: "Connexion de l'opérateur",
    password: "Mot de passe ou jeton",
    wrong_password: "Mot de passe ou jeton incorrect.",
    too_many: "Trop d'essais : réessayez dans une minute.",
    no_operator: "Aucun accès opérateur n'est configuré : définissez VIGIE_OPERATOR_PASSWORD_HASH ou VIGIE_OPERATOR_TOKEN dans l'environnement de vigie serve.",
    brand: "Marque",
    shop: "Boutique",
    rule: "Règle",
    severity: "Gravité",
    state: "État",
    any: "Tous",
    open: "ouvert",
    closed: "clos",
    dismissed: "écarté",
    from: "Du",
    to: "Au",
    filter: "Filtrer",
    n_findings: "constat(s)",
    none: "Aucun constat ne correspond.",
    older: "Plus anciens →",
    newest: "← Les plus récents",
    opened: "Ouvert le",
    last_seen: "Vu pour la dernière fois",
    product: "Produit",
    no_name: "(produit sans nom)",
    whole_shop: "la boutique entière",
    price: "Prix",
    reference: "Prix barré",
    reduction: "Réduction",
    basis: "Base légale",
    plain: "En clair",
    calendar: "Calendrier utilisé",
    window: "Fenêtre des 30 jours",
    lowest: "Prix le plus bas des 30 jours",
    coverage: "Part des 30 jours observée",
    page: "Page",
    history: "Historique des prix",
    sales_periods: "Périodes de soldes",
    observations: "Observations",
    reading: "relevé",
    readings: "relevés",
    evidence: "Preuve",
    download: "Télécharger la preuve (.tar)",
    page_sha: "SHA-256 de la page conservée",
    chain_hash: "Empreinte chaînée",
    chain_ok: "Chaîne de preuves intacte",
    chain_broken: "Chaîne de preuves ROMPUE",
    no_evidence: "Aucune page conservée pour ce constat (la page n'avait pas changé).",
    evidence_note: "La page conservée n'est jamais affichée dans la console : téléchargez-la.",
    dismiss: "Écarter ce constat",
    reason: "Raison",
    dismiss_help: "Une lecture erronée, une promotion annoncée… Le constat reste visible comme écarté et n'est plus signalé pour cet épisode.",
    dismissed_on: "Écarté le",
    every_observation: "Toutes les observations",
    date: "Date",
    badge: "Badge",
    source: "Source",
    variant: "Variante",
    last_scan: "Dernier passage",
    next_run: "Prochain passage",
    pages_read: "Pages lues",
    unchanged: "Inchangées",
    errors: "Erreurs",
    robots: "Refus robots.txt",
    response: "Réponse moyenne",
    never: "jamais",
    manual: "à la demande",
    dossier: "Dossier de marque",
    dossier_intro: "Constats ouverts relevés par Vigie sur les boutiques en ligne, avec leurs chiffres, leur base légale et l'empreinte des pages conservées.",
    print_hint: "Pour l'imprimer ou l'enregistrer en PDF, utilisez l'impression du navigateur.",
    pdf: "Télécharger en PDF",
    notice: crate::notify::templates::COMPETITION_NOTICE,
    my_alerts: "Mes alertes",
    hello: "Bonjour",
    brands_followed: "Marques suivies",
    delivery: "Recevoir les alertes",
    immediate: "dès le passage (un e-mail par boutique)",
    daily: "en résumé quotidien",
    weekly: "en résumé hebdomadaire",
    hour: "à",
    day: "le",
    language: "Langue",
    pause: "Mettre mes alertes en pause",
    save: "Enregistrer",
    saved: "Vos choix sont enregistrés.",
    unsubscribe: "Me désabonner",
    unsubscribe_confirm: "Ne plus recevoir aucune alerte Vigie à cette adresse ?",
    unsubscribed: "Vous êtes désabonné(e) : plus aucune alerte ne sera envoyée à cette adresse.",
    resubscribe: "Me réabonner",
    bad_link: "Ce lien n'est pas ou plus valable. Utilisez le lien d'un e-mail plus récent.",
    not_found: "Page introuvable.",
    bad_form: "Formulaire refusé : rechargez la page et recommencez.",
    forbidden: "Accès refusé.",
    failure: "Une erreur est survenue ; l'opérateur peut la lire dans les journaux.",
    weekdays: [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ],
};

/// English.
pub static EN: Texts = Texts {
    lang: "en",
    findings: "Findings",
    shops: "Shops",
    brands: "Brands",
    sign_out: "Sign out",
    sign_in: "Operator sign-in",
    password: "Password or token",
    wrong_password: "Wrong password or token.",
    too_many: "Too many attempts: try again in a minute.",
    no_operator: "No operator access is configured: set VIGIE_OPERATOR_PASSWORD_HASH or VIGIE_OPERATOR_TOKEN in the environment of vigie serve.",
    brand: "Brand",
    shop: "Shop",
    rule: "Rule",
    severity: "Severity",
    state: "State",
    any: "All",
    open: "open",
    closed: "closed",
    dismissed: "dismissed",
    from: "From",
    to: "To",
    filter: "Filter",
    n_findings: "finding(s)",
    none: "No finding matches.",
    older: "Older →",
    newest: "← Newest",
    opened: "Opened",
    last_seen: "Last seen",
    product: "Product",
    no_name: "(unnamed product)",
    whole_shop: "the whole shop",
    price: "Price",
    reference: "Crossed-out price",
    reduction: "Reduction",
    basis: "Legal basis",
    plain: "In plain words",
    calendar: "Calendar used",
    window: "30-day window",
    lowest: "Lowest price of the 30 days",
    coverage: "Share of the 30 days observed",
    page: "Page",
    history: "Price history",
    sales_periods: "Sales periods",
    observations: "Observations",
    reading: "reading",
    readings: "readings",
    evidence: "Evidence",
    download: "Download the evidence (.tar)",
    page_sha: "SHA-256 of the page kept",
    chain_hash: "Chained hash",
    chain_ok: "Evidence chain intact",
    chain_broken: "Evidence chain BROKEN",
    no_evidence: "No page kept for this finding (the page had not changed).",
    evidence_note: "The page kept is never shown inside the console: download it.",
    dismiss: "Dismiss this finding",
    reason: "Reason",
    dismiss_help: "A false reading, an announced promotion… The finding stays visible as dismissed and is not alerted again for this episode.",
    dismissed_on: "Dismissed on",
    every_observation: "Every observation",
    date: "Date",
    badge: "Badge",
    source: "Source",
    variant: "Variant",
    last_scan: "Last scan",
    next_run: "Next run",
    pages_read: "Pages read",
    unchanged: "Unchanged",
    errors: "Errors",
    robots: "robots.txt refusals",
    response: "Mean response",
    never: "never",
    manual: "on demand",
    dossier: "Brand dossier",
    dossier_intro: "Open findings Vigie recorded on online shops, with their figures, legal basis and the hashes of the pages kept.",
    print_hint: "To print it or save it as PDF, use the browser's print.",
    pdf: "Download as PDF",
    notice: crate::notify::templates::COMPETITION_NOTICE_EN,
    my_alerts: "My alerts",
    hello: "Hello",
    brands_followed: "Brands followed",
    delivery: "Receive alerts",
    immediate: "after each scan (one e-mail per shop)",
    daily: "as a daily digest",
    weekly: "as a weekly digest",
    hour: "at",
    day: "on",
    language: "Language",
    pause: "Pause my alerts",
    save: "Save",
    saved: "Your choices are saved.",
    unsubscribe: "Unsubscribe",
    unsubscribe_confirm: "Stop every Vigie alert to this address?",
    unsubscribed: "You are unsubscribed: no alert will be sent to this address any more.",
    resubscribe: "Subscribe again",
    bad_link: "This link is not valid or has expired. Use the link of a more recent e-mail.",
    not_found: "Page not found.",
    bad_form: "Form refused: reload the page and try again.",
    forbidden: "Access refused.",
    failure: "Something failed; the operator can read it in the logs.",
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
};

/// The words of a language.
pub fn texts(l: Language) -> &'static Texts {
    match l {
        Language::Fr => &FR,
        Language::En => &EN,
    }
}

/// The language a browser asks for first (`Accept-Language`), among
/// French and English; French when it names neither.
pub fn from_accept_language(header: Option<&str>) -> Language {
    let Some(h) = header else {
        return Language::Fr;
    };
    let mut best: Option<(f32, Language)> = None;
    for part in h.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag.starts_with("fr") {
            Language::Fr
        } else if tag.starts_with("en") {
            Language::En
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Language::Fr, |(_, l)| l)
}

/// A rule in plain words.
pub fn rule_plain(rule: Rule, l: Language) -> &'static str {
    let fr = l == Language::Fr;
    match rule {
        Rule::R1 if fr => {
            "Le mot « soldes » est réservé aux deux périodes légales de soldes ; la boutique l'affiche en dehors."
        }
        Rule::R1 => {
            "The word \"soldes\" is reserved to the two legal sales periods; the shop shows it outside them."
        }
        Rule::R2 if fr => {
            "Une vente présentée comme « pré-soldes » ou « vente privée » avec réduction, juste avant les soldes : des soldes déguisées."
        }
        Rule::R2 => {
            "A sale presented as \"pre-sales\" or a \"private sale\" with a reduction, just before the soldes: disguised sales."
        }
        Rule::R3 if fr => {
            "Une réduction affichée hors des périodes de soldes. C'est permis ; la collective demande à le savoir."
        }
        Rule::R3 => {
            "A reduction shown outside the sales periods. It is lawful; the collective asks to know."
        }
        Rule::R4 if fr => {
            "Un pourcentage de réduction sans le prix antérieur à côté, que la loi exige."
        }
        Rule::R4 => "A percentage off with no prior price beside it, which the law requires.",
        Rule::R5 if fr => {
            "Le prix barré est plus haut que le prix le plus bas pratiqué dans les 30 jours avant la réduction : la réduction annoncée est exagérée."
        }
        Rule::R5 => {
            "The crossed-out price is above the lowest price charged in the 30 days before the reduction: the reduction announced is overstated."
        }
        Rule::R6 if fr => {
            "Le pourcentage affiché n'est pas calculé depuis le prix le plus bas des 30 jours précédents."
        }
        Rule::R6 => {
            "The percentage shown is not computed from the lowest price of the previous 30 days."
        }
        Rule::R7 if fr => {
            "Une « promotion » affichée sans interruption depuis des semaines, à un prix barré jamais pratiqué : une promotion permanente."
        }
        Rule::R7 => {
            "A \"promotion\" shown for weeks without a break, against a crossed-out price never charged: a permanent promotion."
        }
        Rule::R8 if fr => {
            "Le prix a été monté peu avant, puis la « réduction » ramène au prix d'avant."
        }
        Rule::R8 => {
            "The price was raised shortly before, and the \"reduction\" brings it back to where it was."
        }
        Rule::R9 if fr => {
            "Le prix a baissé nettement sous le prix habituel, sans réduction annoncée."
        }
        Rule::R9 => "The price fell well below its usual level, with no reduction announced.",
    }
}

/// A rule's short title, as the e-mails name it.
pub fn rule_title(rule: Rule, l: Language) -> &'static str {
    let fr = l == Language::Fr;
    match rule {
        Rule::R1 if fr => "mot « soldes » hors période",
        Rule::R1 => "the word \"soldes\" outside the sales periods",
        Rule::R2 if fr => "pré-soldes déguisées",
        Rule::R2 => "disguised pre-sales",
        Rule::R3 if fr => "réduction hors soldes",
        Rule::R3 => "reduction outside the sales periods",
        Rule::R4 if fr => "prix antérieur absent",
        Rule::R4 => "prior price missing",
        Rule::R5 if fr => "prix de référence fictif",
        Rule::R5 => "fictitious reference price",
        Rule::R6 if fr => "pourcentage mal calculé",
        Rule::R6 => "percentage miscalculated",
        Rule::R7 if fr => "promotion permanente",
        Rule::R7 => "permanent promotion",
        Rule::R8 if fr => "prix gonflé avant promotion",
        Rule::R8 => "price raised before a promotion",
        Rule::R9 if fr => "baisse de prix silencieuse",
        Rule::R9 => "silent price cut",
    }
}

/// A severity's word.
pub fn severity_word(s: Severity, l: Language) -> &'static str {
    match (s, l) {
        (Severity::Violation, Language::Fr) => "infraction",
        (Severity::Violation, Language::En) => "violation",
        (Severity::Report, Language::Fr) => "signalement",
        (Severity::Report, Language::En) => "report",
        (Severity::Announced, Language::Fr) => "annoncée",
        (Severity::Announced, Language::En) => "announced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_is_read_with_its_weights() {
        assert_eq!(from_accept_language(None), Language::Fr);
        assert_eq!(from_accept_language(Some("en-GB,en;q=0.9")), Language::En);
        assert_eq!(
            from_accept_language(Some("de,en;q=0.5,fr;q=0.8")),
            Language::Fr
        );
        assert_eq!(from_accept_language(Some("de")), Language::Fr);
    }
}
