//! A scripted 90-day timeline for the fixture shop, from 2 December 2025
//! (day 0) to 2 March 2026 (day 90), in which each rule of
//! `docs/rules.md` has one product that should trigger it, on a known day.
//! The winter soldes 2026 run from day 36 (7 January) to day 63 (3 February).

use super::catalogue::FixtureProduct;

/// The first day of the timeline, 09:00 in Paris.
pub const START: &str = "2025-12-02T08:00:00Z";
/// Days in the timeline (0 to 90 inclusive).
pub const DAYS: u32 = 91;

/// The timeline's products (all of watched brands).
pub const PRODUCTS: &[FixtureProduct] = &[
    FixtureProduct {
        slug: "t1-remise",
        name: "T1 Remise ordinaire",
        brand: "Maison Lumière",
        sku: "T1",
        gtin: "3760000000011",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t2-banniere",
        name: "T2 Bannière de mars",
        brand: "Maison Lumière",
        sku: "T2",
        gtin: "3760000000028",
        regular: 5000,
    },
    FixtureProduct {
        slug: "t3-vente-privee",
        name: "T3 Vente privée de décembre",
        brand: "Maison Lumière",
        sku: "T3",
        gtin: "3760000000035",
        regular: 12000,
    },
    FixtureProduct {
        slug: "t4-prix-barre-fictif",
        name: "T4 Prix barré fictif",
        brand: "Maison Lumière",
        sku: "T4",
        gtin: "3760000000042",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t5-pourcentage",
        name: "T5 Pourcentage gonflé",
        brand: "Maison Lumière",
        sku: "T5",
        gtin: "3760000000059",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t6-promo-permanente",
        name: "T6 Promotion permanente",
        brand: "Maison Lumière",
        sku: "T6",
        gtin: "3760000000066",
        regular: 12000,
    },
    FixtureProduct {
        slug: "t7-prix-gonfle",
        name: "T7 Prix gonflé puis réduit",
        brand: "Maison Lumière",
        sku: "T7",
        gtin: "3760000000073",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t8-baisse-silencieuse",
        name: "T8 Baisse silencieuse",
        brand: "Maison Lumière",
        sku: "T8",
        gtin: "3760000000080",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t9-annoncee",
        name: "T9 Promotion annoncée",
        brand: "Atelier Brume",
        sku: "T9",
        gtin: "3760000000097",
        regular: 10000,
    },
    FixtureProduct {
        slug: "t10-sage",
        name: "T10 Produit sage",
        brand: "Atelier Brume",
        sku: "T10",
        gtin: "3760000000103",
        regular: 4500,
    },
];

/// What a timeline product shows on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    /// Price to pay, cents.
    pub price: i64,
    /// Crossed-out price, cents.
    pub reference: Option<i64>,
    /// Percent badge.
    pub badge: Option<u32>,
    /// A banner on the page.
    pub banner: Option<&'static str>,
}

/// The script: what product `slug` shows on `day`.
pub fn display(slug: &str, day: u32) -> Display {
    let plain = |price| Display {
        price,
        reference: None,
        badge: None,
        banner: None,
    };
    let struck = |price, reference| Display {
        price,
        reference: Some(reference),
        badge: None,
        banner: None,
    };
    match slug {
        // R3: a crossed-out price outside the soldes, seen 10 times.
        "t1-remise" if (70..80).contains(&day) => struck(8000, 10000),
        // R1: "SOLDES" in a banner in March.
        "t2-banniere" if day >= 89 => Display {
            banner: Some("SOLDES sur toute la collection !"),
            ..plain(5000)
        },
        // R2: "ventes privées", open to all, in the last week of December.
        "t3-vente-privee" if (22..30).contains(&day) => Display {
            banner: Some("Ventes privées : -25 % sur la sélection"),
            ..struck(9000, 12000)
        },
        // R5: a crossed-out price never charged.
        "t4-prix-barre-fictif" if (70..81).contains(&day) => struck(9000, 15000),
        // R6: "-50 %" where the prior price gives 30 %.
        "t5-pourcentage" if (70..81).contains(&day) => Display {
            badge: Some(50),
            ..struck(7000, 10000)
        },
        // R7: a reduction that never ends, its reference never charged.
        "t6-promo-permanente" => struck(8000, 12000),
        // R8: 80 € until day 19, pumped to 100 € from day 20, "reduced" to 80 € from day 70.
        "t7-prix-gonfle" if day < 20 => plain(8000),
        "t7-prix-gonfle" if day < 70 => plain(10000),
        "t7-prix-gonfle" => struck(8000, 10000),
        // R9: a 20 % cut with nothing declared.
        "t8-baisse-silencieuse" if day >= 75 => plain(8000),
        // An announced promotion (20–28 February).
        "t9-annoncee" if (80..89).contains(&day) => struck(8000, 10000),
        _ => plain(
            PRODUCTS
                .iter()
                .find(|p| p.slug == slug)
                .map_or(0, |p| p.regular),
        ),
    }
}
