//! Promotion wording (see `docs/rules.md`), French and English, case- and
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

pub use crate::domain::PromoClass;

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
    /// For a percent badge: whether it stands alone as a label next to
    /// prices ("-25 %"), rather than inside a sentence ("recevez -10 % sur
    /// votre première commande") or as a ceiling ("jusqu'à -40 %"). Only a
    /// badge standing alone can be a product's own.
    pub standalone: bool,
}

enum Entry {
    /// A class, and the folded phrase the pattern spells.
    Class(PromoClass, &'static str),
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
    // WooCommerce's default badge; "sale" alone is also French for "dirty".
    ("sale!", PromoClass::Reduction),
    ("promo !", PromoClass::Reduction),
    ("economisez", PromoClass::Reduction),
    ("economise", PromoClass::Reduction),
    ("vous economisez", PromoClass::Reduction),
    ("you save", PromoClass::Reduction),
    ("save", PromoClass::Reduction),
    // The same wording in the languages of the shops next door.
    ("sie sparen", PromoClass::Reduction),
    ("statt", PromoClass::Reduction),
    ("rabatt", PromoClass::Reduction),
    ("reduziert", PromoClass::Reduction),
    ("ahorra", PromoClass::Reduction),
    ("ahorras", PromoClass::Reduction),
    ("ahorre", PromoClass::Reduction),
    ("descuento", PromoClass::Reduction),
    ("oferta", PromoClass::Reduction),
    ("risparmi", PromoClass::Reduction),
    ("risparmia", PromoClass::Reduction),
    ("sconto", PromoClass::Reduction),
    ("invece di", PromoClass::Reduction),
    ("korting", PromoClass::Reduction),
    ("u bespaart", PromoClass::Reduction),
    ("in plaats van", PromoClass::Reduction),
    ("saldi", PromoClass::Soldes),
    ("rebajas", PromoClass::Soldes),
    ("schlussverkauf", PromoClass::Soldes),
    ("sommerschlussverkauf", PromoClass::Soldes),
    ("winterschlussverkauf", PromoClass::Soldes),
    ("uitverkoop", PromoClass::Soldes),
    ("uvp", PromoClass::PriorPriceDisclosure),
    ("rrp", PromoClass::PriorPriceDisclosure),
    ("srp", PromoClass::PriorPriceDisclosure),
    ("msrp", PromoClass::PriorPriceDisclosure),
    ("prezzo consigliato", PromoClass::PriorPriceDisclosure),
    ("precio recomendado", PromoClass::PriorPriceDisclosure),
    ("adviesprijs", PromoClass::PriorPriceDisclosure),
    (
        "niedrigster preis der letzten 30 tage",
        PromoClass::PriorPriceDisclosure,
    ),
    (
        "prezzo piu basso degli ultimi 30 giorni",
        PromoClass::PriorPriceDisclosure,
    ),
    (
        "precio mas bajo de los ultimos 30 dias",
        PromoClass::PriorPriceDisclosure,
    ),
    (
        "laagste prijs van de afgelopen 30 dagen",
        PromoClass::PriorPriceDisclosure,
    ),
];

/// Abbreviations that name a price only when one follows ("PVC : 49 €",
/// "UVP 1.599,00 €"), not in "sans PVC" or "toile PVC".
const NEEDS_A_PRICE_AFTER: &[&str] = &["pvc", "uvp", "rrp", "srp", "msrp"];

/// Words counted only when an amount or a percentage follows: "Save 20 %",
/// "Économisez 30 €", not "Save to wishlist".
const NEEDS_A_NUMBER_AFTER: &[&str] = &[
    "save",
    "you save",
    "economisez",
    "economise",
    "vous economisez",
    "sie sparen",
    "ahorra",
    "ahorras",
    "ahorre",
    "risparmi",
    "risparmia",
    "u bespaart",
    "statt",
    "invece di",
    "in plaats van",
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
    // Other senses of "coupon" and "remise".
    "coupon de tissu",
    "coupons de tissu",
    "coupon tissu",
    "coupons tissu",
    "coupon de lin",
    "coupon de coton",
    "coupon de laine",
    "coupon de soie",
    "coupon de jersey",
    "coupon de velours",
    "coupon de toile",
    "coupon de cuir",
    "longueur du coupon",
    "taille du coupon",
    "dimensions du coupon",
    "remise en main propre",
    "remise en mains propres",
    "remise en main propres",
    "remise en mains propre",
    "remise en magasin",
    "remise en boutique",
    "remise des cles",
    "remise des prix",
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
    ("economisez", &["économisez"]),
    ("economise", &["économise"]),
    ("piu", &["più"]),
    ("mas", &["más"]),
    ("ultimos", &["últimos"]),
    ("dias", &["días"]),
    ("cles", &["clés"]),
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
        // "Économisez": the matcher folds ASCII case only.
        let mut chars = f.chars();
        let title = chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default();
        // Apostrophes and spaces come in several kinds.
        for v in [f.clone(), upper, title, f.replace(' ', "\u{a0}")] {
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
            entries.push(Entry::Class(*c, p));
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
        let after_ok = e >= tb.len() || !is_word_byte(tb[e]) || !is_word_byte(tb[e - 1]);
        if !(before_ok && after_ok) {
            continue;
        }
        match &entries[m.pattern().as_usize()] {
            Entry::Exclude => excluded.push((s, e)),
            Entry::Class(_, p)
                if NEEDS_A_PRICE_AFTER.contains(p) && !followed_by(&text[e..], false) => {}
            Entry::Class(_, p)
                if NEEDS_A_NUMBER_AFTER.contains(p) && !followed_by(&text[e..], true) => {}
            Entry::Class(c, _) => found.push(PromoPhrase {
                class: *c,
                text: text[s..e].to_string(),
                start: s,
                end: e,
                percent: None,
                standalone: false,
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
    for p in out.iter_mut().filter(|p| p.percent.is_some()) {
        let lead = p
            .text
            .trim_start_matches(|c: char| !c.is_alphabetic() && c != '-');
        let ceiling = ["jusqu", "up to"].iter().any(|w| {
            lead.get(..w.len())
                .is_some_and(|l| l.eq_ignore_ascii_case(w))
        });
        let letters = text[..p.start]
            .chars()
            .chain(text[p.end..].chars())
            .filter(|c| c.is_alphabetic())
            .count();
        p.standalone = !ceiling && letters <= BADGE_CONTEXT_LETTERS;
    }
    out
}

/// Letters a run may hold besides a percent badge for the badge to count
/// as a label ("Promo", "EUR", "Soldes" next to prices), not a sentence.
const BADGE_CONTEXT_LETTERS: usize = 12;

/// Whether an amount comes first after a word: optional spaces, a colon or
/// a currency sign, then a digit; with `words_between`, up to two short
/// words ("jusqu'à", "up to") may stand between.
fn followed_by(rest: &str, words_between: bool) -> bool {
    let mut words = 0;
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            return true;
        }
        if is_space(c) || c == '\n' || matches!(c, ':' | '€' | '£' | '$' | '-' | '\u{2212}') {
            chars.next();
            continue;
        }
        if words_between && words < 2 && c.is_alphabetic() {
            let mut n = 0;
            while chars
                .peek()
                .is_some_and(|c| c.is_alphabetic() || *c == '\'' || *c == '’')
            {
                chars.next();
                n += 1;
            }
            if n > 8 {
                return false;
            }
            words += 1;
            continue;
        }
        return false;
    }
    false
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
            standalone: false,
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

/// The attributes of a start tag (`<div class="a" hidden>`), names lower-cased
/// by the caller's comparisons; quoted values may hold any byte.
pub(crate) fn tag_attributes(tag: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    tag_attributes_into(tag, &mut out);
    out
}

/// [`tag_attributes`] into a buffer the caller reuses.
pub(crate) fn tag_attributes_into<'t>(tag: &'t [u8], out: &mut Vec<(&'t [u8], &'t [u8])>) {
    let end = tag.len().saturating_sub(1);
    let mut i = tag
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(end);
    while i < end {
        while i < end && (tag[i].is_ascii_whitespace() || tag[i] == b'/') {
            i += 1;
        }
        let ns = i;
        while i < end && !tag[i].is_ascii_whitespace() && !matches!(tag[i], b'=' | b'/') {
            i += 1;
        }
        let name = &tag[ns..i];
        while i < end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value: &[u8] = &[];
        if i < end && tag[i] == b'=' {
            i += 1;
            while i < end && tag[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < end && matches!(tag[i], b'"' | b'\'') {
                let q = tag[i];
                let vs = i + 1;
                i = memchr::memchr(q, &tag[vs..end]).map_or(end, |p| vs + p);
                value = &tag[vs..i];
                i += 1;
            } else {
                let vs = i;
                while i < end && !tag[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &tag[vs..i];
            }
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
}

/// Whether a Shopify theme's price block is marked on sale
/// (`class="price price--on-sale"`), which shows its sale badge. Dawn and
/// the themes built on it always render the "Sale"/"Promotion" badge and
/// hide it with CSS unless the price block carries that class.
pub(crate) fn shopify_price_on_sale(b: &[u8]) -> bool {
    memchr::memmem::find_iter(b, b"price--on-sale").any(|at| {
        // Inside a tag, not in a stylesheet rule.
        let lt = memchr::memrchr(b'<', &b[..at]);
        let gt = memchr::memrchr(b'>', &b[..at]);
        lt > gt
    })
}

static HIDING_WORDS: LazyLock<[memchr::memmem::Finder<'static>; 3]> = LazyLock::new(|| {
    [
        memchr::memmem::Finder::new(b"hidden"),
        memchr::memmem::Finder::new(b"none"),
        memchr::memmem::Finder::new(b"price__badge-sale"),
    ]
});

/// The offsets, in order, of the words without which no tag hides its
/// element ("hidden", "none", a Shopify sale badge).
pub(crate) fn hiding_marks(b: &[u8]) -> Vec<usize> {
    let mut marks: Vec<usize> = HIDING_WORDS
        .iter()
        .flat_map(|f| f.find_iter(b).collect::<Vec<_>>())
        .collect();
    marks.sort_unstable();
    marks
}

/// Whether a start tag hides its element from a shopper: the `hidden`
/// attribute, an inline `display: none` or `visibility: hidden`, a
/// `hidden`/`d-none` utility class without a responsive override, or a
/// Shopify theme's sale badge on a price block that is not on sale.
pub(crate) fn is_hidden_tag(tag: &[u8], on_sale: bool) -> bool {
    is_hidden_attrs(&tag_attributes(tag), on_sale)
}

/// [`is_hidden_tag`] on attributes already read.
pub(crate) fn is_hidden_attrs(attrs: &[(&[u8], &[u8])], on_sale: bool) -> bool {
    for &(name, value) in attrs {
        if name.eq_ignore_ascii_case(b"hidden") {
            return true;
        }
        if name.eq_ignore_ascii_case(b"style") {
            let style: Vec<u8> = value
                .iter()
                .filter(|c| !c.is_ascii_whitespace())
                .map(u8::to_ascii_lowercase)
                .collect();
            if memchr::memmem::find(&style, b"display:none").is_some()
                || memchr::memmem::find(&style, b"visibility:hidden").is_some()
            {
                return true;
            }
        }
        if name.eq_ignore_ascii_case(b"class") {
            let classes = || value.split(|c| c.is_ascii_whitespace());
            let utility = classes().any(|c| c == b"hidden" || c == b"d-none");
            let responsive =
                classes().any(|c| c.contains(&b':') || (c.starts_with(b"d-") && c != b"d-none"));
            if utility && !responsive {
                return true;
            }
            if !on_sale && classes().any(|c| c == b"price__badge-sale") {
                return true;
            }
        }
    }
    false
}

/// The end of the element whose start tag ends at `from`: after its
/// matching end tag (same-name elements nested inside are counted), or the
/// end of the page.
fn skip_element(b: &[u8], from: usize, name: &[u8]) -> usize {
    const VOID: [&[u8]; 14] = [
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
        b"source", b"track", b"wbr", b"param",
    ];
    if name.is_empty() || VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) {
        return from;
    }
    let mut depth = 1usize;
    let mut i = from;
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + p;
        let closing = b.get(lt + 1) == Some(&b'/');
        let ns = lt + 1 + usize::from(closing);
        let ne = ns + name.len();
        let same = ne <= b.len()
            && b[ns..ne].eq_ignore_ascii_case(name)
            && b.get(ne)
                .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'-');
        let gt = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |q| lt + q + 1);
        if same {
            if closing {
                depth -= 1;
                if depth == 0 {
                    return gt;
                }
            } else if b[..gt].ends_with(b"/>") {
                // Self-closed.
            } else {
                depth += 1;
            }
        }
        i = gt.max(lt + 1);
    }
    b.len()
}

/// The runs of visible text of an HTML page, as byte ranges of the page:
/// block tags end a run, inline tags do not (a run may contain them);
/// `<script>`, `<style>`, `<template>`, comments and hidden elements (see
/// `is_hidden_tag`) are skipped. A byte scan, no DOM, no copy.
pub fn text_run_ranges(html: &str) -> Vec<(usize, usize)> {
    let b = html.as_bytes();
    let on_sale = shopify_price_on_sale(b);
    // Where a tag may hide its element: found once for the page, so that
    // ordinary tags cost one comparison.
    let marks = hiding_marks(b);
    let mut mark = 0;
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
            let tag_end = memchr::memchr(b'>', rest).map(|p| lt + p + 1);
            let opening = rest.get(1) != Some(&b'/');
            match tag_end {
                Some(te)
                    if opening
                        && {
                            while marks.get(mark).is_some_and(|&m| m < lt) {
                                mark += 1;
                            }
                            marks.get(mark).is_some_and(|&m| m < te)
                        }
                        && is_hidden_tag(&b[lt..te], on_sale) =>
                {
                    (Some(skip_element(b, te, name)), true)
                }
                _ => (tag_end, !inline),
            }
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
    fn other_senses_of_promotion_words_are_not_promotions() {
        for t in [
            "Coupon de tissu Betsy 50 x 140 cm",
            "longueur du coupon : 50 cm",
            "toile enduite sans PVC",
            "Remise en main propre possible à la boutique",
            "Ce mitigeur économise l'eau",
            "Save to wishlist",
            "Linge sale et linge propre",
            "statt Blumen",
        ] {
            assert!(classify(t).is_empty(), "{t}: {:?}", classify(t));
        }
    }

    #[test]
    fn savings_and_neighbouring_languages() {
        for (t, class) in [
            ("Économisez 20%", "reduction"),
            ("ÉCONOMISEZ 5 €", "reduction"),
            ("Save up to 30%", "reduction"),
            ("Sale!", "reduction"),
            (
                "UVP 1.599,00 € – Sie sparen 250,00 €",
                "prior_price_disclosure",
            ),
            ("PVC : 49,00 €", "prior_price_disclosure"),
            ("Ahorra 15%", "reduction"),
            ("Saldi invernali", "soldes"),
            ("Rebajas de invierno", "soldes"),
            (
                "Prezzo più basso degli ultimi 30 giorni",
                "prior_price_disclosure",
            ),
        ] {
            let found = classes(t);
            assert_eq!(found.first().map(|f| f.0), Some(class), "{t}: {found:?}");
        }
        assert_eq!(
            classes("UVP 1.599,00 € – Sie sparen 250,00 €")
                .into_iter()
                .map(|f| f.0)
                .collect::<Vec<_>>(),
            ["prior_price_disclosure", "reduction"]
        );
    }

    #[test]
    fn hidden_elements_are_not_read() {
        let html = r#"<div hidden><p>Soldes</p><div>Promo</div></div>
            <p style="display: none">Vente privée</p><span class="badge hidden">-20 %</span>
            <span class="d-none d-md-block">Outlet</span>
            <div class="price"><span class="badge price__badge-sale">Promotion</span></div>
            <input type="hidden" name="x" value="1"><p>Nouveauté</p>"#;
        let text = visible_text(html);
        assert_eq!(text, "Outlet Nouveauté");
        // The theme shows its sale badge when the price block is on sale.
        let on_sale = r#"<style>.price--on-sale .price__badge-sale{display:inline}</style>
            <div class="price price--on-sale"><span class="badge price__badge-sale">Promotion</span></div>"#;
        assert_eq!(visible_text(on_sale), "Promotion");
        let off = r#"<style>.price--on-sale .price__badge-sale{display:inline}</style>
            <div class="price"><span class="badge price__badge-sale">Promotion</span></div>"#;
        assert_eq!(visible_text(off), "");
    }

    #[test]
    fn a_badge_in_a_sentence_or_a_ceiling_is_not_standalone() {
        let alone = |t: &str| {
            classify(t)
                .into_iter()
                .filter_map(|p| Some((p.percent?, p.standalone)))
                .collect::<Vec<_>>()
        };
        assert_eq!(alone("189,00 € 141,75 € -25 %"), [(25, true)]);
        assert_eq!(alone("Soldes -40 %"), [(40, true)]);
        assert_eq!(alone("jusqu'à -40 %"), [(40, false)]);
        assert_eq!(
            alone("Inscrivez-vous et recevez -10 % sur votre première commande"),
            [(10, false)]
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
