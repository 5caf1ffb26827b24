//! The words that label an amount ("au lieu de", "UVP", "TTC", "/kg",
//! "dont … d'éco-participation"), what each says about it, and on which
//! side its amount is.

use super::FormerKind;
use super::text::{skip_space, word_at};

/// Amounts a text may show that are not what the item costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aside {
    Instalment,
    UnitPrice,
    Component,
    AddOn,
    Shipping,
    Member,
    Saving,
    Voucher,
    Reference,
    MultiBuy,
    LowestRecent,
    Negative,
}

impl Aside {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Aside::Instalment => "an instalment",
            Aside::UnitPrice => "a unit price",
            Aside::Component => "an included part (eco-participation, tax, deposit)",
            Aside::AddOn => "an amount added on top",
            Aside::Shipping => "a shipping cost or threshold",
            Aside::Member => "a member or loyalty price",
            Aside::Saving => "a saving",
            Aside::Voucher => "a voucher or cashback amount",
            Aside::Reference => "a reference, size or pack count",
            Aside::MultiBuy => "a multi-buy offer",
            Aside::LowestRecent => "a reference price of recent days",
            Aside::Negative => "a negative amount",
        }
    }
}

/// What a label says about its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// "à partir de", "ab", "from".
    From,
    /// "now", "Sale price", "Prix promo".
    Current,
    Former(FormerKind),
    /// Tax included: "TTC", "inkl. MwSt.".
    Gross,
    /// Tax excluded: "HT", "zzgl. MwSt.".
    Net,
    Aside(Aside),
    /// "Prix", "Price": starts a label, says nothing.
    Label,
    /// "zzgl. Versand": a note with no amount of its own.
    Note,
    /// "gratuit", "free": the item costs nothing.
    Free,
}

/// Which amount a label belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attach {
    /// The amount after it ("au lieu de 59 €").
    Next,
    /// The amount before it ("12 € / kg", "12 € TTC").
    Prev,
    /// Either ("UVP 59 €", "59 € UVP").
    Either,
}

#[rustfmt::skip]
const FROM: &[&str] = &[
    "a partir de", "des", "from", "ab", "desde", "a partire da", "vanaf", "starting at",
    "starting from", "fran", "fra", "od",
];
#[rustfmt::skip]
const CURRENT: &[&str] = &[
    "now", "maintenant", "jetzt", "jetzt nur", "nur", "nu", "ahora", "ora", "adesso", "sale",
    "sale price", "promo", "prix promo", "prix promotionnel", "prix solde", "prix reduit",
    "prix apres remise", "prix apres reduction", "nouveau prix", "prix actuel", "prix special",
    "aktionspreis", "angebotspreis", "sonderpreis", "unser preis", "ihr preis", "our price",
    "offer price", "deal price", "special price", "your price", "votre prix", "precio oferta",
    "precio rebajado", "precio especial", "oferta", "prezzo scontato", "prezzo offerta",
    "prezzo speciale", "offerta", "reapris", "kampanjpris", "tilbudspris", "tilbud",
];
#[rustfmt::skip]
const PREVIOUS: &[&str] = &[
    "au lieu de", "prix initial", "ancien prix", "prix barre", "prix de reference",
    "prix habituel", "prix normal", "prix d'origine", "prix avant", "avant", "statt", "anstatt",
    "statt bisher", "vorher", "bisher", "ursprunglich", "ursprunglicher preis", "alter preis",
    "fruher", "fruherer preis", "normalpreis", "streichpreis", "regularer preis", "was",
    "previously", "previous price", "regular price", "reg.", "original price", "orig.",
    "old price", "antes", "precio anterior", "precio original", "precio habitual",
    "precio normal", "prima", "invece di", "anziche", "prezzo precedente", "prezzo originale",
    "prezzo iniziale", "prezzo pieno", "prezzo normale", "ord. pris", "ord.pris",
    "ordinarie pris", "ordinarie", "tidigare pris", "normalpris", "voorheen",
];
/// Recommended-price words that also follow their amount ("59,95 € UVP").
#[rustfmt::skip]
const RECOMMENDED_EITHER: &[&str] = &[
    "uvp", "rrp", "msrp", "srp", "pvc", "ppc", "pvpr",
];
#[rustfmt::skip]
const RECOMMENDED: &[&str] = &[
    "prix conseille", "prix de vente conseille", "prix public conseille",
    "unverbindliche preisempfehlung", "unverb. preisempfehlung", "preisempfehlung", "empf. vk",
    "recommended retail price", "recommended price", "suggested retail price",
    "manufacturer's suggested retail price", "pvp recomendado", "precio recomendado",
    "precio de venta recomendado", "prezzo consigliato", "prezzo di vendita consigliato",
    "prezzo al pubblico consigliato", "rek. pris", "rekommenderat pris", "cirkapris", "ca-pris",
    "vejl. pris", "vejledende pris", "veil. pris", "veiledende pris", "adviesprijs",
];
#[rustfmt::skip]
const LIST: &[&str] = &[
    "list price", "list", "listenpreis", "prix catalogue", "prix de liste", "prezzo di listino",
    "prezzo listino", "precio de lista", "precio de catalogo", "listpris",
];
#[rustfmt::skip]
const GROSS: &[&str] = &[
    "ttc", "t.t.c.", "toutes taxes comprises", "inkl. mwst.", "inkl. mwst", "incl. mwst",
    "inkl. gesetzl. mwst.", "inkl. gesetzl. mwst", "inkl. ust.", "inkl. ust",
    "inkl. mehrwertsteuer", "incl. vat", "inc. vat", "incl vat", "inc vat", "including vat",
    "vat included", "iva incluida", "iva incl.", "iva incluido", "iva inclusa", "iva compresa",
    "tva incluse", "tva comprise", "incl. btw", "inkl. moms", "inkl moms",
];
#[rustfmt::skip]
const GROSS_LABELS: &[&str] = &[
    "prix ttc", "bruttopreis",
];
#[rustfmt::skip]
const NET: &[&str] = &[
    "ht", "h.t.", "hors taxes", "hors taxe", "hors tva", "exkl. mwst.", "exkl. mwst",
    "zzgl. mwst.", "zzgl. mwst", "zzgl. ust.", "zzgl. ust", "exkl. ust", "excl. vat", "ex. vat",
    "ex vat", "exc. vat", "excluding vat", "+ vat", "plus vat", "+ iva", "iva excluida",
    "sin iva", "mas iva", "iva esclusa", "+ tva", "excl. btw", "exkl. moms", "netto",
];
#[rustfmt::skip]
const NET_LABELS: &[&str] = &[
    "prix ht", "prix hors taxes", "nettopreis",
];
#[rustfmt::skip]
const COMPONENT_PREFIX: &[&str] = &[
    "dont", "davon", "inkl.", "incl.", "inclus", "including", "incluye", "di cui", "inclusief",
];
#[rustfmt::skip]
const COMPONENT_EITHER: &[&str] = &[
    "eco-participation", "eco participation", "ecoparticipation", "eco-part.", "eco-part",
    "ecopart", "ecotaxe", "eco-taxe", "eco-contribution", "eco-mobilier", "ecomobilier", "deee",
    "d3e", "pfand", "deposit", "consigne", "raee", "contributo raee", "ecotasa",
    "canon digital", "copie privee", "urheberrechtsabgabe",
];
#[rustfmt::skip]
const COMPONENT_SUFFIX: &[&str] = &[
    "d'eco-participation", "d'eco participation", "d'ecoparticipation", "d'eco-part.",
    "d'eco-part", "d'ecopart", "d'ecotaxe", "d'eco-taxe", "d'eco-contribution",
    "d'eco-mobilier", "de consigne", "de deee",
];
#[rustfmt::skip]
const ADD_ON: &[&str] = &[
    "+", "zzgl.", "zzgl", "zuzuglich", "plus", "en plus", "mas",
];
#[rustfmt::skip]
const SHIPPING: &[&str] = &[
    "livraison", "frais de livraison", "frais de port", "frais d'envoi", "port", "shipping",
    "delivery", "postage", "p&p", "versand", "versandkosten", "lieferung", "envio",
    "gastos de envio", "spedizione", "spese di spedizione", "consegna", "frakt", "porto",
    "verzendkosten", "verzending",
];
/// Free shipping: labels the threshold after it ("livraison offerte dès 60 €").
#[rustfmt::skip]
const FREE_SHIPPING: &[&str] = &[
    "livraison offerte", "livraison gratuite", "frais de port offerts",
    "frais de port gratuits", "port offert", "port gratuit", "free shipping", "free delivery",
    "free standard delivery", "kostenloser versand", "versandkostenfrei", "gratis versand",
    "versand kostenlos", "envio gratis", "envio gratuito", "spedizione gratuita",
    "spedizione gratis", "fri frakt", "gratis verzending",
];
#[rustfmt::skip]
const NOTES: &[&str] = &[
    "zzgl. versand", "zzgl. versandkosten", "zuzuglich versand", "zuzuglich versandkosten",
    "zzgl. porto", "inkl. versand", "plus shipping", "+ shipping", "plus postage", "+ p&p",
    "+ versand", "hors frais de port", "hors livraison", "frais de port en sus",
    "plus frais de port", "+ frais de port", "+ frais de livraison", "excl. shipping",
    "incl. shipping", "spedizione esclusa", "envio no incluido", "+ envio", "+ port",
    "retours gratuits", "retour gratuit", "retours offerts", "free returns", "free return",
    "kostenlose rucksendung", "kostenloser ruckversand", "devolucion gratuita",
    "devoluciones gratis", "reso gratuito", "resi gratuiti", "retrait gratuit",
    "retrait en magasin gratuit", "click & collect gratuit", "free click & collect",
    "free collection",
];
#[rustfmt::skip]
const MEMBER: &[&str] = &[
    "prix membre", "prix membres", "prix adherent", "prix adherents", "prix fidelite",
    "prix carte", "prix club", "prix abonne", "prix abonnes", "prix etudiant", "prix pro",
    "prix professionnel", "member price", "members price", "member's price", "members' price",
    "club price", "loyalty price", "student price", "trade price", "mitgliederpreis",
    "mitgliedspreis", "clubpreis", "kundenkartenpreis", "precio socio", "precio socios",
    "precio club", "precio miembro", "prezzo soci", "prezzo socio", "prezzo riservato",
    "prezzo membri", "medlemspris", "klubbpris",
];
#[rustfmt::skip]
const MEMBER_EITHER: &[&str] = &[
    "avec la carte", "avec carte", "avec votre carte", "with card", "for members",
    "pour les membres", "pour les adherents", "fur mitglieder", "para socios", "per i soci",
    "membres", "adherents", "members",
];
#[rustfmt::skip]
const SAVING: &[&str] = &[
    "economisez", "vous economisez", "economie", "soit une economie de", "sie sparen",
    "sparen sie", "ersparnis", "you save", "save", "ahorra", "ahorras", "ahorro", "ahorre",
    "risparmi", "risparmia", "risparmio", "spara", "du sparar", "remise", "remise immediate",
    "reduction", "rabatt", "discount", "descuento", "sconto",
];
#[rustfmt::skip]
const SAVING_SUFFIX: &[&str] = &[
    "off", "de remise", "de reduction", "d'economie", "d'economies", "gespart", "de descuento",
    "di sconto",
];
#[rustfmt::skip]
const VOUCHER: &[&str] = &[
    "carte cadeau", "carte-cadeau", "e-carte cadeau", "cheque cadeau", "bon d'achat",
    "bon de reduction", "gift card", "gift voucher", "e-gift card", "voucher", "gutschein",
    "coupon", "code promo", "code", "cashback", "rembourse", "remboursement", "odr",
    "offre de remboursement", "tarjeta regalo", "cheque regalo", "buono", "buono regalo",
    "carta regalo", "presentkort",
];
#[rustfmt::skip]
const REFERENCE: &[&str] = &[
    "ref.", "ref", "reference", "sku", "ean", "art.-nr.", "art.-nr", "art. nr.",
    "artikelnummer", "artikel-nr.", "modele", "model", "taille", "size", "grosse", "talla",
    "taglia", "pointure", "lot de", "pack de", "pack of", "set of", "set de", "lote de",
    "confezione da", "packung mit", "quantite", "quantity", "menge", "cantidad", "quantita",
    "qte", "qty",
];
#[rustfmt::skip]
const LOWEST_RECENT: &[&str] = &[
    "prix le plus bas", "le prix le plus bas", "lowest price", "niedrigster preis",
    "niedrigster gesamtpreis", "tiefstpreis", "precio mas bajo", "prezzo piu basso",
    "laagste prijs", "lagsta pris", "laveste pris", "typical price", "typical",
];
#[rustfmt::skip]
const UNIT_LABELS: &[&str] = &[
    "grundpreis", "prix au kilo", "prix au kg", "prix au litre", "prix au l", "prix/kg",
    "prix/l", "prix unitaire", "prix a l'unite", "unit price", "price per", "precio por",
    "precio unitario", "prezzo al", "prezzo per", "prezzo unitario", "jamforpris", "literpreis",
    "kilopreis", "stuckpreis", "=",
];
#[rustfmt::skip]
const LABELS: &[&str] = &[
    "only", "seulement", "just", "solo", "solamente", "soltanto", "prix", "price", "preis",
    "precio", "prezzo", "pris", "prijs", "cena", "soit", "tarif",
];
#[rustfmt::skip]
const FREE: &[&str] = &[
    "gratuit", "gratuite", "gratuits", "gratuites", "free", "offert", "offerte", "offerts",
    "offertes", "kostenlos", "kostenlose", "kostenloser", "gratis", "gratuito", "gratuita",
];

/// Every label, with what it says and where its amount is.
const PHRASES: &[(&[&str], Role, Attach)] = &[
    (FROM, Role::From, Attach::Next),
    (CURRENT, Role::Current, Attach::Next),
    (PREVIOUS, Role::Former(FormerKind::Previous), Attach::Next),
    (
        RECOMMENDED,
        Role::Former(FormerKind::Recommended),
        Attach::Next,
    ),
    (
        RECOMMENDED_EITHER,
        Role::Former(FormerKind::Recommended),
        Attach::Either,
    ),
    (LIST, Role::Former(FormerKind::List), Attach::Next),
    (GROSS, Role::Gross, Attach::Prev),
    (GROSS_LABELS, Role::Gross, Attach::Next),
    (NET, Role::Net, Attach::Prev),
    (NET_LABELS, Role::Net, Attach::Next),
    (
        COMPONENT_PREFIX,
        Role::Aside(Aside::Component),
        Attach::Next,
    ),
    (
        COMPONENT_EITHER,
        Role::Aside(Aside::Component),
        Attach::Either,
    ),
    (
        COMPONENT_SUFFIX,
        Role::Aside(Aside::Component),
        Attach::Prev,
    ),
    (ADD_ON, Role::Aside(Aside::AddOn), Attach::Next),
    (SHIPPING, Role::Aside(Aside::Shipping), Attach::Either),
    (FREE_SHIPPING, Role::Aside(Aside::Shipping), Attach::Next),
    (NOTES, Role::Note, Attach::Prev),
    (MEMBER, Role::Aside(Aside::Member), Attach::Next),
    (MEMBER_EITHER, Role::Aside(Aside::Member), Attach::Either),
    (SAVING, Role::Aside(Aside::Saving), Attach::Next),
    (SAVING_SUFFIX, Role::Aside(Aside::Saving), Attach::Prev),
    (VOUCHER, Role::Aside(Aside::Voucher), Attach::Either),
    (REFERENCE, Role::Aside(Aside::Reference), Attach::Next),
    (
        LOWEST_RECENT,
        Role::Aside(Aside::LowestRecent),
        Attach::Next,
    ),
    (UNIT_LABELS, Role::Aside(Aside::UnitPrice), Attach::Next),
    (LABELS, Role::Label, Attach::Next),
    (FREE, Role::Free, Attach::Prev),
];

/// Units of a unit price ("€/kg", "le litre", "pro Stück", "/mois").
#[rustfmt::skip]
const PRICE_UNITS: &[&str] = &[
    "kg", "kilo", "kilogramme", "kilogram", "g", "gr", "gramme", "grammes", "mg", "l", "litre",
    "liter", "litro", "lt", "ltr", "ml", "cl", "dl", "m", "metre", "meter", "metro", "m2", "m3",
    "cm", "mm", "km", "lb", "lbs", "oz", "fl oz", "piece", "pieces", "pc", "pcs", "unite",
    "unit", "u", "ud", "uds", "unidad", "pz", "pezzo", "stuck", "stk", "st", "rouleau", "roll",
    "rolle", "dose", "lavage", "wash", "waschgang", "capsule", "tab", "tablet", "mois", "month",
    "mo", "monat", "mes", "mese", "an", "annee", "year", "yr", "jahr", "semaine", "week",
    "woche", "jour", "day", "tag", "nuit", "night", "nacht", "personne", "person", "pers.",
];
#[rustfmt::skip]
const PER: &[&str] = &[
    "/", "le", "la", "l'", "per", "pro", "al", "el", "par", "por", "the",
];

/// A unit-price tail at `c[i..]`: "/kg", "/ 100 g", "le kg", "pro Stück".
fn unit_phrase_at(c: &[char], i: usize) -> Option<usize> {
    let per = word_at(c, i, PER)?;
    let mut k = skip_space(c, per);
    let num = (k..)
        .take_while(|&x| {
            c.get(x)
                .is_some_and(|ch| ch.is_ascii_digit() || *ch == ',' || *ch == '.')
        })
        .count();
    if num > 0 {
        k = skip_space(c, k + num);
    }
    word_at(c, k, PRICE_UNITS)
}

/// A label found in the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Phrase {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) role: Role,
    pub(super) attach: Attach,
}

pub(super) fn phrase_at(c: &[char], i: usize) -> Option<Phrase> {
    // Labels start a word, with a letter or one of "+", "=", "/".
    let first = *c.get(i)?;
    let mid_word = first.is_alphabetic() && i > 0 && c[i - 1].is_alphabetic();
    if mid_word || !(first.is_alphabetic() || matches!(first, '+' | '=' | '/')) {
        return None;
    }
    let mut best: Option<Phrase> = None;
    let mut consider = |end: usize, role: Role, attach: Attach| {
        if best.is_none_or(|b| end > b.end) {
            best = Some(Phrase {
                start: i,
                end,
                role,
                attach,
            });
        }
    };
    for (words, role, attach) in PHRASES {
        if let Some(end) = word_at(c, i, words) {
            consider(end, *role, *attach);
        }
    }
    if let Some(end) = unit_phrase_at(c, i) {
        consider(end, Role::Aside(Aside::UnitPrice), Attach::Prev);
    }
    best
}
