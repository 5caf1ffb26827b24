//! Promotion wording (`LEGAL_RULES.md` §4), French and English, case- and
//! accent-insensitive, classified and located.
//!
//! The text is folded once (lower case, accents removed) with a map back
//! to the original byte offsets, then scanned once by an Aho-Corasick
//! automaton (leftmost-longest), so that "pré-soldes" is one match, not
//! "soldes" inside it. Matches must stand on word boundaries. Exclusions
//! ("livraison offerte", "2 pour 1", member prices, the banking sense of
//! "solde") remove what they overlap.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Serialize;

/// The class of a promotional phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromoClass {
    /// "soldes", "soldé", "démarque": reserved to the legal periods (L310-3).
    Soldes,
    /// "pré-soldes", "soldes privés", "avant-soldes".
    PreSoldes,
    /// "vente privée", "private sale", "VIP", "accès anticipé".
    PrivateSale,
    /// "vente flash", "flash sale".
    FlashSale,
    /// "code promo", "coupon".
    Coupon,
    /// "déstockage", "fin de série", "outlet", "liquidation".
    Clearance,
    /// "Black Friday", "Cyber Monday", "French Days".
    Event,
    /// "-30 %", "jusqu'à -50 %", "30 % off".
    PercentBadge,
    /// "prix le plus bas des 30 derniers jours", "prix antérieur", "prix conseillé".
    PriorPriceDisclosure,
    /// Generic reduction wording: "remise", "promo", "prix barré", "au lieu de".
    Reduction,
}

impl PromoClass {
    /// The snake_case name used in JSON and in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            PromoClass::Soldes => "soldes",
            PromoClass::PreSoldes => "pre_soldes",
            PromoClass::PrivateSale => "private_sale",
            PromoClass::FlashSale => "flash_sale",
            PromoClass::Coupon => "coupon",
            PromoClass::Clearance => "clearance",
            PromoClass::Event => "event",
            PromoClass::PercentBadge => "percent_badge",
            PromoClass::PriorPriceDisclosure => "prior_price_disclosure",
            PromoClass::Reduction => "reduction",
        }
    }
}

/// One phrase found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoPhrase {
    /// Its class.
    pub class: PromoClass,
    /// The text exactly as in the input.
    pub text: String,
    /// Byte offset of its start in the input.
    pub start: usize,
    /// Byte offset of its end in the input.
    pub end: usize,
    /// The percentage, for a percent badge.
    pub percent: Option<u32>,
}

enum Entry {
    Class(PromoClass),
    Exclude,
}

const PHRASES: &[(&str, PromoClass)] = &[
    // "soldes", "soldés" fold to "soldes"; "soldé" to "solde".
    ("soldes", PromoClass::Soldes),
    ("solde", PromoClass::Soldes),
    ("soldee", PromoClass::Soldes),
    ("soldees", PromoClass::Soldes),
    ("en solde", PromoClass::Soldes),
    ("fin de soldes", PromoClass::Soldes),
    ("demarque", PromoClass::Soldes),
    ("2e demarque", PromoClass::Soldes),
    ("2eme demarque", PromoClass::Soldes),
    ("3e demarque", PromoClass::Soldes),
    ("3eme demarque", PromoClass::Soldes),
    ("derniere demarque", PromoClass::Soldes),
    ("pre-soldes", PromoClass::PreSoldes),
    ("pre soldes", PromoClass::PreSoldes),
    ("presoldes", PromoClass::PreSoldes),
    ("soldes prives", PromoClass::PreSoldes),
    ("soldes privees", PromoClass::PreSoldes),
    ("avant-soldes", PromoClass::PreSoldes),
    ("avant soldes", PromoClass::PreSoldes),
    ("avant-premiere soldes", PromoClass::PreSoldes),
    ("vente privee", PromoClass::PrivateSale),
    ("ventes privees", PromoClass::PrivateSale),
    ("private sale", PromoClass::PrivateSale),
    ("private sales", PromoClass::PrivateSale),
    ("vip", PromoClass::PrivateSale),
    ("acces anticipe", PromoClass::PrivateSale),
    ("early access", PromoClass::PrivateSale),
    ("vente flash", PromoClass::FlashSale),
    ("ventes flash", PromoClass::FlashSale),
    ("flash sale", PromoClass::FlashSale),
    ("code promo", PromoClass::Coupon),
    ("promo code", PromoClass::Coupon),
    ("coupon", PromoClass::Coupon),
    ("bon de reduction", PromoClass::Coupon),
    ("destockage", PromoClass::Clearance),
    ("fin de serie", PromoClass::Clearance),
    ("outlet", PromoClass::Clearance),
    ("liquidation", PromoClass::Clearance),
    ("clearance", PromoClass::Clearance),
    ("black friday", PromoClass::Event),
    ("cyber monday", PromoClass::Event),
    ("french days", PromoClass::Event),
    ("prime day", PromoClass::Event),
    (
        "prix le plus bas des 30 derniers jours",
        PromoClass::PriorPriceDisclosure,
    ),
    (
        "prix le plus bas des 30 jours",
        PromoClass::PriorPriceDisclosure,
    ),
    ("prix anterieur", PromoClass::PriorPriceDisclosure),
    ("prix de reference", PromoClass::PriorPriceDisclosure),
    (
        "lowest price in the last 30 days",
        PromoClass::PriorPriceDisclosure,
    ),
    (
        "lowest price of the last 30 days",
        PromoClass::PriorPriceDisclosure,
    ),
    ("prix conseille", PromoClass::PriorPriceDisclosure),
    ("pvc", PromoClass::PriorPriceDisclosure),
    ("remise", PromoClass::Reduction),
    ("reduction", PromoClass::Reduction),
    ("promo", PromoClass::Reduction),
    ("promotion", PromoClass::Reduction),
    ("promotions", PromoClass::Reduction),
    ("offre speciale", PromoClass::Reduction),
    ("prix barre", PromoClass::Reduction),
    ("au lieu de", PromoClass::Reduction),
    ("ancien prix", PromoClass::Reduction),
    ("on sale", PromoClass::Reduction),
    ("sale price", PromoClass::Reduction),
];

const EXCLUSIONS: &[&str] = &[
    "2 pour 1",
    "deux pour un",
    "1 achete = 1 offert",
    "1 achete 1 offert",
    "1 achete, 1 offert",
    "2 achetes = 1 offert",
    "2 achetes 1 offert",
    "livraison offerte",
    "livraison gratuite",
    "free shipping",
    "free delivery",
    "prix membre",
    "prix membres",
    "prix adherent",
    "prix adherents",
    "member price",
    "members price",
    "prix fidelite",
    "loyalty price",
    "solde de votre compte",
    "solde de ton compte",
    "solde du compte",
    "solde de compte",
    "votre solde",
    "ton solde",
    "solde crediteur",
    "solde debiteur",
    "solde disponible",
    "solde restant",
    "solde de points",
    "solde de la carte",
    "solde de votre carte",
    "solde cadeau",
];

/// Accented spellings of the folded phrases: each folded word listed here
/// is also matched in these forms (lower and upper case).
const ACCENTED: &[(&str, &[&str])] = &[
    ("solde", &["soldé"]),
    ("soldes", &["soldés"]),
    ("soldee", &["soldée"]),
    ("soldees", &["soldées"]),
    ("demarque", &["démarque"]),
    ("2eme", &["2ème"]),
    ("3eme", &["3ème"]),
    ("derniere", &["dernière"]),
    ("pre-soldes", &["pré-soldes", "pré‑soldes"]),
    ("pre", &["pré"]),
    ("presoldes", &["présoldes"]),
    ("prives", &["privés"]),
    ("privees", &["privées"]),
    ("privee", &["privée"]),
    ("avant-premiere", &["avant-première"]),
    ("acces", &["accès"]),
    ("anticipe", &["anticipé"]),
    ("reduction", &["réduction"]),
    ("destockage", &["déstockage"]),
    ("serie", &["série"]),
    ("anterieur", &["antérieur"]),
    ("reference", &["référence"]),
    ("conseille", &["conseillé"]),
    ("speciale", &["spéciale"]),
    ("barre", &["barré"]),
    ("achete", &["acheté"]),
    ("achetes", &["achetés"]),
    ("adherent", &["adhérent"]),
    ("adherents", &["adhérents"]),
    ("fidelite", &["fidélité"]),
    ("crediteur", &["créditeur"]),
    ("debiteur", &["débiteur"]),
];

/// Every spelling of a folded phrase: words swapped for their accented
/// forms (all combinations), each in lower and upper case.
fn spellings(folded: &str) -> Vec<String> {
    let mut forms = vec![String::new()];
    for (i, word) in folded.split(' ').enumerate() {
        let mut alts: Vec<&str> = vec![word];
        if let Some((_, accented)) = ACCENTED.iter().find(|(w, _)| *w == word) {
            alts.extend(accented.iter());
        }
        forms = forms
            .into_iter()
            .flat_map(|f| {
                alts.iter().map(move |a| {
                    if i == 0 {
                        (*a).to_string()
                    } else {
                        format!("{f} {a}")
                    }
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for f in forms {
        let upper = f.to_uppercase();
        // Apostrophes and spaces come in several kinds.
        for v in [f.clone(), upper, f.replace(' ', "\u{a0}")] {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

static MATCHER: LazyLock<Option<(AhoCorasick, Vec<Entry>)>> = LazyLock::new(|| {
    let mut patterns: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    for (p, c) in PHRASES {
        for v in spellings(p) {
            patterns.push(v);
            entries.push(Entry::Class(*c));
        }
    }
    for p in EXCLUSIONS {
        for v in spellings(p) {
            patterns.push(v);
            entries.push(Entry::Exclude);
        }
    }
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(&patterns)
        .ok()
        .map(|ac| (ac, entries))
});

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Finds and classifies every promotional phrase of a text.
pub fn classify(text: &str) -> Vec<PromoPhrase> {
    let Some((ac, entries)) = MATCHER.as_ref() else {
        return Vec::new();
    };
    let tb = text.as_bytes();
    let mut found: Vec<PromoPhrase> = Vec::new();
    let mut excluded: Vec<(usize, usize)> = Vec::new();
    for m in ac.find_iter(text) {
        let (s, e) = (m.start(), m.end());
        let before_ok = s == 0 || !is_word_byte(tb[s - 1]);
        let after_ok = e >= tb.len() || !is_word_byte(tb[e]);
        if !(before_ok && after_ok) {
            continue;
        }
        match &entries[m.pattern().as_usize()] {
            Entry::Exclude => excluded.push((s, e)),
            Entry::Class(c) => found.push(PromoPhrase {
                class: *c,
                text: text[s..e].to_string(),
                start: s,
                end: e,
                percent: None,
            }),
        }
    }
    found.extend(percent_badges(text));
    // Exclusions remove what they overlap; the banking "solde" is not a sale.
    found.retain(|p| !excluded.iter().any(|&(s, e)| p.start < e && s < p.end));
    found.sort_by_key(|p| (p.start, std::cmp::Reverse(p.end)));
    let mut out: Vec<PromoPhrase> = Vec::with_capacity(found.len());
    for p in found {
        if out.last().is_some_and(|l| p.start < l.end) {
            continue;
        }
        out.push(p);
    }
    out
}

/// The character before byte offset `i`, with its start offset.
fn prev_char(text: &str, i: usize) -> Option<(usize, char)> {
    text[..i].char_indices().next_back()
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' | '\t'
    )
}

fn is_minus(c: char) -> bool {
    matches!(c, '-' | '\u{2212}' | '\u{2010}'..='\u{2015}')
}

/// "-30 %", "- 30%", "jusqu'à -50 %", "30 % de réduction", "30% off".
fn percent_badges(text: &str) -> Vec<PromoPhrase> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for pct in memchr::memchr_iter(b'%', b) {
        let mut i = pct;
        while let Some((j, c)) = prev_char(text, i).filter(|(_, c)| is_space(*c)) {
            let _ = c;
            i = j;
        }
        let digits_end = i;
        while i > 0 && b[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i == digits_end || digits_end - i > 3 {
            continue;
        }
        let Ok(n) = text[i..digits_end].parse::<u32>() else {
            continue;
        };
        if !(1..100).contains(&n) {
            continue;
        }
        let mut start = i;
        while let Some((j, _)) = prev_char(text, start).filter(|(_, c)| is_space(*c)) {
            start = j;
        }
        let minus = prev_char(text, start).filter(|(_, c)| is_minus(*c));
        let after_pct = &text[pct + 1..];
        let after = after_pct.trim_start_matches(is_space);
        let lower: String = after.chars().take(16).collect::<String>().to_lowercase();
        let wording = [
            "de réduction",
            "de reduction",
            "de remise",
            "off",
            "de rabais",
        ]
        .iter()
        .find(|w| lower.starts_with(*w));
        let mut end = pct + 1;
        if let Some((j, _)) = minus {
            start = j;
        } else if let Some(w) = wording {
            start = i;
            let skipped = after_pct.len() - after.len();
            end = pct
                + 1
                + skipped
                + after
                    .char_indices()
                    .nth(w.chars().count())
                    .map_or(after.len(), |(k, _)| k);
        } else {
            continue;
        }
        if prev_char(text, start).is_some_and(|(_, c)| c.is_alphanumeric()) {
            continue;
        }
        // "jusqu'à -50 %", "up to 50% off".
        let mut from = start.saturating_sub(12);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let head = &text[from..start];
        for lead in ["jusqu'à ", "jusqu’à ", "jusqu'a ", "up to "] {
            let n = lead.len();
            if head.len() >= n
                && head.is_char_boundary(head.len() - n)
                && head[head.len() - n..].eq_ignore_ascii_case(lead)
            {
                start -= n;
                break;
            }
        }
        out.push(PromoPhrase {
            class: PromoClass::PercentBadge,
            text: text[start..end].to_string(),
            start,
            end,
            percent: Some(n),
        });
    }
    out
}

/// Whether a tag does not break a run of text ("<b>Soldes</b> privés" is one phrase).
fn is_inline_tag(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > 6 {
        return false;
    }
    let mut buf = [0u8; 6];
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    matches!(
        &buf[..name.len()],
        b"a" | b"b"
            | b"i"
            | b"em"
            | b"strong"
            | b"span"
            | b"small"
            | b"u"
            | b"s"
            | b"del"
            | b"ins"
            | b"mark"
            | b"sup"
            | b"sub"
            | b"abbr"
            | b"font"
            | b"strike"
            | b"big"
            | b"time"
            | b"data"
            | b"bdi"
            | b"q"
            | b"cite"
    )
}

/// The runs of visible text of an HTML page, as byte ranges of the page:
/// block tags end a run, inline tags do not (a run may contain them);
/// `<script>`, `<style>`, `<template>` and comments are skipped. A byte
/// scan, no DOM, no copy.
pub fn text_run_ranges(html: &str) -> Vec<(usize, usize)> {
    let b = html.as_bytes();
    let mut runs = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let mut i = 0;
    let push = |run: &mut Option<(usize, usize)>, runs: &mut Vec<(usize, usize)>| {
        if let Some((s, e)) = run.take()
            && b[s..e].iter().any(|c| !c.is_ascii_whitespace())
        {
            runs.push((s, e));
        }
    };
    while i < b.len() {
        let lt = memchr::memchr(b'<', &b[i..]).map_or(b.len(), |p| p + i);
        if lt > i && b[i..lt].iter().any(|c| !c.is_ascii_whitespace()) {
            run = Some(match run {
                Some((s, _)) => (s, lt),
                None => (i, lt),
            });
        }
        if lt >= b.len() {
            break;
        }
        let rest = &b[lt..];
        let skip_past = |needle: &[u8]| {
            memchr::memmem::find(rest, needle)
                .or_else(|| memchr::memmem::find(rest, &needle.to_ascii_uppercase()))
                .map(|p| lt + p + needle.len())
        };
        let starts =
            |tag: &[u8]| rest.len() > tag.len() && rest[..tag.len()].eq_ignore_ascii_case(tag);
        let (next, breaks) = if rest.starts_with(b"<!--") {
            (skip_past(b"-->"), true)
        } else if starts(b"<script") {
            (skip_past(b"</script>"), true)
        } else if starts(b"<style") {
            (skip_past(b"</style>"), true)
        } else if starts(b"<template") {
            (skip_past(b"</template>"), true)
        } else {
            let name_start = (lt + 1 + usize::from(rest.get(1) == Some(&b'/'))).min(b.len());
            let name_end = b[name_start..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(b.len(), |p| p + name_start);
            let name = &b[name_start..name_end];
            let inline = is_inline_tag(name);
            (memchr::memchr(b'>', rest).map(|p| lt + p + 1), !inline)
        };
        if breaks {
            push(&mut run, &mut runs);
        }
        i = next.unwrap_or(b.len());
    }
    push(&mut run, &mut runs);
    runs
}

/// The text of a run: inline tags removed and entities decoded when it has any.
fn run_text(raw: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let mut text: Cow<'_, str> = Cow::Borrowed(raw);
    if raw.contains('<') {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(lt) = rest.find('<') {
            out.push_str(&rest[..lt]);
            rest = rest[lt..].find('>').map_or("", |gt| &rest[lt + gt + 1..]);
        }
        out.push_str(rest);
        text = Cow::Owned(out);
    }
    if text.contains('&')
        && let Cow::Owned(d) = html_escape::decode_html_entities(&text)
    {
        text = Cow::Owned(d);
    }
    text
}

/// The runs of visible text of an HTML page, each with its byte offset in the page.
pub fn text_runs(html: &str) -> Vec<(usize, String)> {
    text_run_ranges(html)
        .into_iter()
        .map(|(s, e)| (s, run_text(&html[s..e]).into_owned()))
        .collect()
}

/// Text runs known to hold no promotional wording, by hash: headers,
/// menus and footers repeat on every page of a shop and are classified once.
#[derive(Debug, Default)]
pub struct PromoCache {
    quiet: rustc_hash::FxHashSet<u64>,
}

impl PromoCache {
    /// Runs remembered at most; past that the cache starts again.
    pub const CAPACITY: usize = 200_000;
}

/// Every promotional phrase of an HTML page, with offsets into the page
/// (approximate where entities were decoded).
pub fn classify_html(html: &str, mut cache: Option<&mut PromoCache>) -> Vec<PromoPhrase> {
    use std::hash::BuildHasher;
    let mut out = Vec::new();
    for (start, end) in text_run_ranges(html) {
        let raw = &html[start..end];
        let key = cache
            .as_ref()
            .map(|_| rustc_hash::FxBuildHasher.hash_one(raw));
        if let (Some(c), Some(k)) = (cache.as_deref(), key)
            && c.quiet.contains(&k)
        {
            continue;
        }
        let text = run_text(raw);
        let found = classify(&text);
        if found.is_empty() {
            if let (Some(c), Some(k)) = (cache.as_deref_mut(), key) {
                if c.quiet.len() >= PromoCache::CAPACITY {
                    c.quiet.clear();
                }
                c.quiet.insert(k);
            }
            continue;
        }
        // Offsets are exact in runs without markup or entities, approximate otherwise.
        let exact = matches!(text, std::borrow::Cow::Borrowed(_));
        out.extend(found.into_iter().map(|mut p| {
            if exact {
                p.start += start;
                p.end += start;
            } else {
                p.start = start;
                p.end = end;
            }
            p
        }));
    }
    out
}

/// The visible text of an HTML page, runs separated by a space.
pub fn visible_text(html: &str) -> String {
    text_runs(html)
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(t: &str) -> Vec<(&'static str, String)> {
        classify(t)
            .into_iter()
            .map(|p| (p.class.as_str(), p.text))
            .collect()
    }

    #[test]
    fn soldes_wording_in_any_case_and_accent() {
        for t in [
            "SOLDES",
            "Soldes d'hiver",
            "article soldé",
            "Robes soldées",
            "en solde",
            "2e démarque",
            "Fin de soldes",
        ] {
            assert_eq!(classify(t)[0].class, PromoClass::Soldes, "{t}");
        }
    }

    #[test]
    fn pre_soldes_take_precedence_over_soldes() {
        assert_eq!(
            classes("PRÉ-SOLDES -30 %")[0],
            ("pre_soldes", "PRÉ-SOLDES".to_string())
        );
        assert_eq!(classes("nos soldes privés")[0].0, "pre_soldes");
        assert_eq!(classes("pre soldes")[0].0, "pre_soldes");
        assert_eq!(classify("Avant-soldes").len(), 1);
    }

    #[test]
    fn private_flash_coupon_clearance_events_and_disclosures() {
        assert_eq!(classes("Ventes Privées")[0].0, "private_sale");
        assert_eq!(classes("VENTE PRIVEE")[0].0, "private_sale");
        assert_eq!(classes("Accès anticipé VIP")[0].0, "private_sale");
        assert_eq!(classes("vente flash")[0].0, "flash_sale");
        assert_eq!(classes("Code promo BIENVENUE")[0].0, "coupon");
        assert_eq!(classes("Déstockage massif")[0].0, "clearance");
        assert_eq!(classes("Black Friday")[0].0, "event");
        assert_eq!(
            classes("Prix le plus bas des 30 derniers jours : 59 €")[0].0,
            "prior_price_disclosure"
        );
        assert_eq!(classes("Prix conseillé")[0].0, "prior_price_disclosure");
        assert_eq!(classes("au lieu de 89 €")[0].0, "reduction");
    }

    #[test]
    fn percent_badges_with_any_dash_and_space() {
        for (t, n) in [
            ("-30 %", 30),
            ("−30%", 30),
            ("– 30\u{a0}%", 30),
            ("jusqu'à -50 %", 50),
            ("Jusqu’à −70 %", 70),
            ("30 % de réduction", 30),
            ("20% off", 20),
            ("up to 40% off", 40),
        ] {
            let p = classify(t);
            assert_eq!(p.len(), 1, "{t}: {p:?}");
            assert_eq!(p[0].class, PromoClass::PercentBadge, "{t}");
            assert_eq!(p[0].percent, Some(n), "{t}");
            assert_eq!(&t[p[0].start..p[0].end], p[0].text);
        }
        assert!(
            classify("TVA 20 %").is_empty(),
            "a plain percentage is not a badge"
        );
        assert!(classify("100 % coton").is_empty());
    }

    #[test]
    fn exclusions_and_banking_sense() {
        for t in [
            "Livraison offerte dès 50 €",
            "2 pour 1",
            "1 acheté = 1 offert",
            "Prix membre",
            "le solde de votre compte",
            "votre solde",
            "solde disponible",
        ] {
            assert!(classify(t).is_empty(), "{t}: {:?}", classify(t));
        }
        assert!(classify("consolider").is_empty());
        assert!(
            classify("promotionnel").is_empty(),
            "a longer word is not the phrase"
        );
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let t = "Été 2026 — Pré-soldes : jusqu’à −40 % sur tout";
        for p in classify(t) {
            assert_eq!(&t[p.start..p.end], p.text);
        }
        assert_eq!(classify(t).len(), 2);
    }

    #[test]
    fn pages_are_classified_run_by_run_with_a_cache() {
        let html = "<nav><a>Nouveautés</a></nav><div class=b><b>Soldes</b> privés</div><p>-20&nbsp;%</p><script>soldes</script>";
        let mut cache = PromoCache::default();
        let found = classify_html(html, Some(&mut cache));
        let classes: Vec<&str> = found.iter().map(|p| p.class.as_str()).collect();
        assert_eq!(classes, vec!["pre_soldes", "percent_badge"]);
        assert_eq!(
            &html[found[0].start..found[0].start + 6],
            "Soldes",
            "offsets point into the page"
        );
        assert_eq!(cache.quiet.len(), 1, "the quiet menu run is remembered");
        assert_eq!(classify_html(html, Some(&mut cache)).len(), 2);
    }

    #[test]
    fn visible_text_skips_markup_scripts_and_comments() {
        let html = "<p>Soldes&nbsp;!</p><script>var soldes = 1;</script><!-- promo --><style>.soldes{}</style><b>fin</b>";
        let t = visible_text(html);
        assert!(t.contains("Soldes\u{a0}!") && t.contains("fin"));
        assert!(!t.contains("var") && !t.contains("promo") && !t.contains(".soldes"));
    }
}
