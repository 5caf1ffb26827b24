//! The words the stages share: rules, severities, wording classes, kinds of
//! former price, sources and platforms. Each is an enum inside Vigie and a
//! fixed lower-case name (`R3` for rules) in the database, in JSON and in
//! the watchlists; [`std::str::FromStr`] reads that name back and
//! [`Rule::as_str`] (and its siblings) give it.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

/// Declares a vocabulary enum with what every one derives: copy and
/// compare, its name as text both ways (strum) and in JSON (serde).
macro_rules! vocabulary {
    ($(#[$meta:meta])* pub enum $name:ident { $($body:tt)* }) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            Serialize,
            Display,
            EnumString,
            IntoStaticStr,
            EnumIter,
        )]
        $(#[$meta])*
        pub enum $name { $($body)* }
    };
}

/// Declares `as_str`, which every vocabulary enum has: the stored name.
macro_rules! stored_name {
    ($($t:ty),*) => {$(
        impl $t {
            /// The name stored in the database and written in JSON.
            pub fn as_str(&self) -> &'static str {
                self.into()
            }
        }
    )*};
}

vocabulary! {
    /// A detection rule (see `docs/rules.md`).
    #[derive(PartialOrd, Ord)]
    #[strum(ascii_case_insensitive)]
    pub enum Rule {
        /// "Soldes" wording outside the legal periods.
        R1,
        /// A private or pre-sale in the weeks before the soldes.
        R2,
        /// A reduction displayed outside the sales periods (report).
        R3,
        /// A reduction without the lowest price of the previous 30 days.
        R4,
        /// A former price never charged in the previous 30 days.
        R5,
        /// A reduction computed from a base other than the prior price.
        R6,
        /// A promotion that never ends.
        R7,
        /// A price raised shortly before a promotion.
        R8,
        /// A large price cut without any promotion shown (report).
        R9,
    }
}

impl<'de> Deserialize<'de> for Rule {
    /// Reads `"R3"`, `"r3"` or `" R3 "`: watchlists name rules either way.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("unknown rule {text:?}; the rules are R1 to R9"))
        })
    }
}

impl Rule {
    /// The rules a finding is kept open and confirmed for while the price
    /// stays (the "ongoing" rules: a reduction that lasts).
    pub fn lasts(self) -> bool {
        matches!(self, Rule::R3 | Rule::R7 | Rule::R9)
    }
}

vocabulary! {
    /// How serious a finding is.
    #[derive(PartialOrd, Ord, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[strum(serialize_all = "snake_case", ascii_case_insensitive)]
    pub enum Severity {
        /// What the page shows breaks a rule of law.
        Violation,
        /// Worth a look; not a breach by itself.
        Report,
        /// A promotion the brand announced.
        Announced,
    }
}

vocabulary! {
    /// The class of a promotional phrase.
    #[derive(PartialOrd, Ord, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[strum(serialize_all = "snake_case")]
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
}

impl PromoClass {
    /// Whether this is "soldes" wording: "soldes" and its "pré-soldes"
    /// variants, reserved to the legal periods.
    pub fn is_soldes(self) -> bool {
        matches!(self, PromoClass::Soldes | PromoClass::PreSoldes)
    }
}

vocabulary! {
    /// What kind of higher price a page shows next to the price to pay.
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[strum(serialize_all = "snake_case")]
    pub enum ReferenceKind {
        /// A crossed-out former price (`StrikethroughPrice`, `<del>`, `compare_at_price`).
        Strikethrough,
        /// The shop's list price (`ListPrice`, `regular_price`).
        List,
        /// A manufacturer's recommended price (`SRP`, `MSRP`, "prix conseillé", "UVP").
        Recommended,
        /// A previous price stated in words ("au lieu de", "Prix initial",
        /// "Ancien prix", "statt", "was"), not struck through.
        Previous,
    }
}

vocabulary! {
    /// Where an offer was read from, most trusted first.
    #[derive(PartialOrd, Ord, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[strum(serialize_all = "snake_case")]
    pub enum Source {
        /// A platform catalogue API (Shopify, WooCommerce) or platform page data (PrestaShop).
        Platform,
        /// schema.org JSON-LD.
        #[serde(rename = "jsonld")]
        #[strum(serialize = "jsonld")]
        JsonLd,
        /// schema.org microdata (`itemprop`).
        Microdata,
        /// OpenGraph / product meta tags.
        #[serde(rename = "opengraph")]
        #[strum(serialize = "opengraph")]
        OpenGraph,
        /// The shop's own CSS selectors from the watchlist.
        Selector,
        /// Embedded application state (`__NEXT_DATA__`, `window.__…STATE__`,
        /// Shopify's product meta), for the entry that is the page's product only.
        AppState,
        /// The product block's own markup: the element around the displayed
        /// price, inside the main product's region of the page.
        ProductBlock,
        /// A marketplace-style buy box (title, byline, price widgets) on a page
        /// without structured data.
        BuyBox,
        /// The page's visible text alone (its heading and a price element), for
        /// pages with no structured data and no selectors: the least trusted.
        VisibleText,
        /// Not read again: the page was unchanged since the last scan, and its
        /// products are observed as they were then.
        Unchanged,
    }
}

vocabulary! {
    /// The shop platforms Vigie reads natively.
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum Platform {
        /// Shopify: `/products.json?limit=250&page=N`.
        Shopify,
        /// WooCommerce: `/wp-json/wc/store/v1/products?per_page=100&page=N`.
        Woocommerce,
        /// PrestaShop: product pages carry `data-product` JSON.
        Prestashop,
    }
}

vocabulary! {
    /// The language of a subscriber's e-mails.
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum Language {
        /// French (the default).
        #[default]
        Fr,
        /// English.
        En,
    }
}

vocabulary! {
    /// How often a subscriber's digest is sent (no digest: one e-mail per
    /// finding).
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum Digest {
        /// One digest a day.
        Daily,
        /// One digest a week.
        Weekly,
    }
}

vocabulary! {
    /// What a finding is about.
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum Scope {
        /// One product's offer.
        Product,
        /// The shop as a whole (site-wide wording).
        Shop,
    }
}

vocabulary! {
    /// Where an outbox row stands.
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum OutboxStatus {
        /// Waiting to be sent (or retried).
        Pending,
        /// Sent.
        Sent,
        /// Given up after the last attempt.
        Dead,
        /// Not to be sent: its address unsubscribed or paused, or its
        /// finding was dismissed (the reason is its `last_error`).
        Cancelled,
    }
}

vocabulary! {
    /// Where a scheduled shop run stands in `shop_runs`.
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[strum(serialize_all = "lowercase")]
    pub enum RunStatus {
        /// Waiting for a worker (new, or handed back).
        Due,
        /// A worker holds its lease.
        Running,
        /// Finished.
        Done,
        /// Given up.
        Failed,
        /// Not run: the shop's previous run was still due or running.
        Skipped,
    }
}

stored_name!(
    OutboxStatus,
    RunStatus,
    Rule,
    Severity,
    PromoClass,
    ReferenceKind,
    Source,
    Platform,
    Language,
    Digest,
    Scope
);

/// Stores a vocabulary value as its name in a TEXT
/// column, on either backend: binding one binds its name, and reading a
/// column back parses the name, refusing one Vigie does not know.
macro_rules! text_column {
    ($($t:ty => $what:literal),*) => {$(
        impl<DB: sqlx::Database> sqlx::Type<DB> for $t
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $t
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                let name: &'q str = self.as_str();
                <&'q str as sqlx::Encode<'q, DB>>::encode(name, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $t
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let name = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                name.parse::<$t>()
                    .map_err(|_| format!("{name:?} is not {}", $what).into())
            }
        }
    )*};
}

text_column!(
    Rule => "a rule (R1 to R9)",
    Severity => "a severity",
    PromoClass => "a class of promotional wording",
    ReferenceKind => "a kind of former price",
    Source => "a source of an offer",
    Platform => "a platform",
    Language => "a language (fr, en)",
    Digest => "a digest (daily, weekly)",
    Scope => "a finding's scope (product, shop)",
    OutboxStatus => "an outbox status (pending, sent, dead, cancelled)",
    RunStatus => "a run status (due, running, done, failed, skipped)"
);

/// The names an enum accepts, for error messages: `"R1", "R2"…`.
pub fn names<T: strum::IntoEnumIterator + Into<&'static str>>() -> String {
    T::iter()
        .map(|v| format!("\"{}\"", v.into()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_name_reads_back_to_its_value_in_text_and_json() {
        fn round_trip<T>()
        where
            T: IntoEnumIterator
                + Into<&'static str>
                + std::str::FromStr
                + Serialize
                + for<'de> Deserialize<'de>
                + PartialEq
                + std::fmt::Debug
                + Copy,
        {
            for v in T::iter() {
                let name: &'static str = v.into();
                assert_eq!(name.parse::<T>().ok(), Some(v), "{name}");
                let json = serde_json::to_string(&v).expect("serialises");
                assert_eq!(json, format!("\"{name}\""));
                assert_eq!(serde_json::from_str::<T>(&json).expect("reads"), v);
            }
        }
        round_trip::<Rule>();
        round_trip::<Severity>();
        round_trip::<PromoClass>();
        round_trip::<ReferenceKind>();
        round_trip::<Source>();
        round_trip::<Platform>();
        round_trip::<Language>();
        round_trip::<Digest>();
        round_trip::<Scope>();
        round_trip::<OutboxStatus>();
        round_trip::<RunStatus>();
    }

    #[test]
    fn stored_names_are_the_ones_in_existing_databases() {
        assert_eq!(Rule::R3.as_str(), "R3");
        assert_eq!("r7".parse::<Rule>().ok(), Some(Rule::R7));
        assert_eq!(Severity::Violation.as_str(), "violation");
        assert_eq!(PromoClass::PreSoldes.as_str(), "pre_soldes");
        assert_eq!(
            PromoClass::PriorPriceDisclosure.as_str(),
            "prior_price_disclosure"
        );
        assert_eq!(Source::JsonLd.as_str(), "jsonld");
        assert_eq!(Source::OpenGraph.as_str(), "opengraph");
        assert_eq!(Source::AppState.as_str(), "app_state");
        assert_eq!(Source::ProductBlock.as_str(), "product_block");
        assert_eq!(ReferenceKind::Strikethrough.as_str(), "strikethrough");
        assert_eq!(Platform::Woocommerce.as_str(), "woocommerce");
        assert!("R10".parse::<Rule>().is_err());
        assert_eq!(
            names::<Severity>(),
            "\"violation\", \"report\", \"announced\""
        );
    }
}
