//! Rows as both backends return them, and their conversion to the store's
//! public types: each column becomes a field in one place only.
//!
//! The public types that mirror a table column for column
//! ([`super::FindingRow`], [`super::EvidenceRow`], [`super::OutboxEntry`],
//! [`super::RunRow`], [`ProductRecord`]) are read directly through their
//! own `FromRow`.

use chrono::{DateTime, Utc};

use super::{
    Baseline, FindingRow, OutboxItem, PageCache, ProductRecord, StoreError, StoredObservation,
    warnings_from_json,
};
use crate::domain::{
    Currency, Delivery, Digest, Language, Money, Preference, ReferenceKind, Rule, Source,
};

/// An amount read back from its minor units and currency code.
pub(super) fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    Currency::new(currency)
        .map(|c| Money::new(minor, c))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The observation columns. The ones that are NOT NULL in the table are
/// optional here, because a `LEFT JOIN` that finds no observation leaves
/// them NULL.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ObservationRow {
    price_minor: Option<i64>,
    currency: Option<String>,
    reference_minor: Option<i64>,
    reference_kind: Option<ReferenceKind>,
    percent_badge: Option<i64>,
    availability: Option<String>,
    promo: Option<String>,
    reference_source: Option<Source>,
    warnings: Option<String>,
}

impl ObservationRow {
    /// The observation, or none when the row carries none (a `LEFT JOIN`
    /// that found no observation).
    pub(super) fn into_stored(self) -> Result<Option<StoredObservation>, StoreError> {
        let (Some(price), Some(currency)) = (self.price_minor, self.currency) else {
            return Ok(None);
        };
        Ok(Some(StoredObservation {
            price: money(price, &currency)?,
            reference: self
                .reference_minor
                .map(|m| money(m, &currency))
                .transpose()?,
            reference_kind: self.reference_kind,
            percent_badge: self.percent_badge.and_then(|b| u32::try_from(b).ok()),
            availability: self.availability,
            promo: serde_json::from_str(self.promo.as_deref().unwrap_or("[]")).unwrap_or_default(),
            reference_source: self.reference_source,
            warnings: warnings_from_json(self.warnings.as_deref())?,
        }))
    }
}

impl TryFrom<ObservationRow> for StoredObservation {
    type Error = StoreError;

    fn try_from(row: ObservationRow) -> Result<StoredObservation, StoreError> {
        row.into_stored()?
            .ok_or_else(|| StoreError::Corrupt("an observation without price or currency".into()))
    }
}

/// The baseline columns (`b_currency` for the currency), all optional:
/// a product without a baseline leaves them NULL.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct BaselineRow {
    b_currency: Option<String>,
    regular_minor: Option<i64>,
    last_price_minor: Option<i64>,
    last_observed_at: Option<DateTime<Utc>>,
    observations: Option<i64>,
    history: Option<String>,
}

impl BaselineRow {
    /// The baseline of `product`, or none when it has none.
    fn into_baseline(self, product: i64) -> Result<Option<Baseline>, StoreError> {
        let Some(c) = self.b_currency else {
            return Ok(None);
        };
        let missing = |column: &str| {
            StoreError::Corrupt(format!("baseline of product {product}: no {column}"))
        };
        Ok(Some(Baseline {
            regular: self.regular_minor.map(|m| money(m, &c)).transpose()?,
            last_price: money(
                self.last_price_minor
                    .ok_or_else(|| missing("last_price_minor"))?,
                &c,
            )?,
            last_observed_at: self
                .last_observed_at
                .ok_or_else(|| missing("last_observed_at"))?,
            observations: self.observations.ok_or_else(|| missing("observations"))?,
            history: serde_json::from_str(self.history.as_deref().unwrap_or_default()).map_err(
                |e| StoreError::Corrupt(format!("baseline history of product {product}: {e}")),
            )?,
        }))
    }
}

/// A product of a shop with its baseline and latest observation.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ShopProductRow {
    id: i64,
    #[sqlx(flatten)]
    product: ProductRecord,
    #[sqlx(flatten)]
    baseline: BaselineRow,
    #[sqlx(flatten)]
    last: ObservationRow,
}

/// A product as a scan starts from it: (id, record, baseline, latest
/// observation).
pub(super) type ShopProduct = (
    i64,
    ProductRecord,
    Option<Baseline>,
    Option<StoredObservation>,
);

impl TryFrom<ShopProductRow> for ShopProduct {
    type Error = StoreError;

    fn try_from(row: ShopProductRow) -> Result<ShopProduct, StoreError> {
        Ok((
            row.id,
            row.product,
            row.baseline.into_baseline(row.id)?,
            row.last.into_stored()?,
        ))
    }
}

/// One observation of a product (the product's id, the time, the
/// observation).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PointRow {
    pub(super) id: i64,
    pub(super) observed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub(super) observation: ObservationRow,
}

/// One observation of a product, with the product.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ObservedRow {
    #[sqlx(flatten)]
    pub(super) point: PointRow,
    #[sqlx(flatten)]
    pub(super) product: ProductRecord,
}

/// An open finding of a shop's product: (product id, rule, percent).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct OpenFindingRow {
    pub(super) product_id: i64,
    pub(super) rule: Rule,
    percent: Option<i64>,
}

impl OpenFindingRow {
    /// The finding as a scan sees it: (rule, percent).
    pub(super) fn into_open_rule(self) -> (Rule, Option<u32>) {
        (self.rule, self.percent.and_then(|p| u32::try_from(p).ok()))
    }
}

/// A page's HTTP cache entry.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PageRow {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_at: Option<DateTime<Utc>>,
    product_ids: String,
}

impl TryFrom<PageRow> for (String, PageCache) {
    type Error = StoreError;

    fn try_from(row: PageRow) -> Result<(String, PageCache), StoreError> {
        Ok((
            row.url,
            PageCache {
                etag: row.etag,
                last_modified: row.last_modified,
                fetched_at: row.fetched_at,
                product_ids: serde_json::from_str(&row.product_ids)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            },
        ))
    }
}

/// An outbox row as a claim returns it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct OutboxClaimRow {
    id: i64,
    pub(super) finding_id: i64,
    subscriber: String,
    email: String,
    attempts: i64,
    digest: Option<Digest>,
    language: Language,
    scan_id: Option<i64>,
    baseline: bool,
}

impl OutboxClaimRow {
    /// The claimed row with the finding it tells about.
    pub(super) fn with_finding(self, finding: FindingRow) -> OutboxItem {
        OutboxItem {
            id: self.id,
            subscriber: self.subscriber,
            email: self.email,
            attempts: self.attempts,
            digest: self.digest,
            language: self.language,
            scan_id: self.scan_id,
            baseline: self.baseline,
            finding,
        }
    }
}

/// A subscriber's choices as stored (table `subscriptions`).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PreferenceRow {
    email: String,
    brands: Option<String>,
    delivery: Option<String>,
    language: Option<String>,
    paused: bool,
    unsubscribed_at: Option<DateTime<Utc>>,
    link_version: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PreferenceRow> for Preference {
    type Error = StoreError;

    fn try_from(row: PreferenceRow) -> Result<Preference, StoreError> {
        let email = row.email;
        let corrupt = |column: &str, value: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("subscriptions.{column} of {email}: {value:?}: {e}"))
        };
        let brands = match row.brands.as_deref() {
            None => None,
            Some(b) => Some(serde_json::from_str(b).map_err(|e| corrupt("brands", b, &e))?),
        };
        let delivery = match row.delivery.as_deref() {
            None => None,
            Some(d) => Some(
                d.parse::<Delivery>()
                    .map_err(|e| corrupt("delivery", d, &e))?,
            ),
        };
        let language = match row.language.as_deref() {
            None => None,
            Some(l) => Some(
                l.parse::<Language>()
                    .map_err(|e| corrupt("language", l, &e))?,
            ),
        };
        Ok(Preference {
            email,
            brands,
            delivery,
            language,
            paused: row.paused,
            unsubscribed_at: row.unsubscribed_at,
            link_version: row.link_version,
            updated_at: row.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(delivery: &str, language: &str, brands: &str) -> PreferenceRow {
        PreferenceRow {
            email: "ana@x.example".into(),
            brands: Some(brands.into()),
            delivery: Some(delivery.into()),
            language: Some(language.into()),
            paused: false,
            unsubscribed_at: None,
            link_version: 0,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_stored_choice_that_does_not_parse_is_corrupt_and_named() {
        let ok = Preference::try_from(stored("daily 08:00", "en", "[\"B\"]")).expect("valid");
        assert_eq!(ok.language, Some(Language::En));
        for (row, column) in [
            (stored("hourly", "en", "[]"), "subscriptions.delivery"),
            (
                stored("immediate", "klingon", "[]"),
                "subscriptions.language",
            ),
            (stored("immediate", "fr", "B"), "subscriptions.brands"),
        ] {
            match Preference::try_from(row) {
                Err(StoreError::Corrupt(m)) => {
                    assert!(m.contains(column) && m.contains("ana@x.example"), "{m}")
                }
                other => panic!("{column}: {other:?}"),
            }
        }
    }
}
