//! Legal sales periods ("soldes") by zone, and the pre-sale window used by
//! rule R2 (`docs/rules.md`).
//!
//! Each French period lasts four weeks: it opens at **08:00 local time** on
//! its first day and closes at the end of day 28 (`first_day + 27 days`).
//! Belgium, the second country calendar, opens at 00:00 local time and runs
//! to 31 January / 31 July.
//!
//! Every [`SalesPeriod`] is a half-open interval `[start, end)`: `end` is
//! 00:00 local time on the day after `last_day`, so 23:59:59.999 on the last
//! day is inside and midnight is outside. [`SalesPeriod::contains`] is the one
//! place that tests membership.
//!
//! Dates come from the start-day rules of the zone table, then from one-off
//! overrides (ministerial arrêtés): the known ones are built in
//! ([`Calendar::builtin`]) and the configuration can add or replace them
//! ([`Calendar::with_overrides`]). An override for [`Zone::National`] also
//! applies to every zone that follows the national dates for that season
//! (e.g. Corse in winter, `06`, `973`), unless that zone has its own override.
//!
//! Online shops always use [`Zone::National`] (Europe/Paris), whatever the
//! seller's département.
//!
//! The rules hold for any year chrono can represent; years outside that range
//! simply yield no period. Nothing here panics.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, TimeDelta, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A sales-calendar zone: France's national calendar, a French département or
/// group of départements with its own dates or time zone, or another country.
///
/// The stable id ([`Zone::as_str`], used in configuration and the database) is
/// `national`, `lorraine`, `corse`, `belgium`, or the département code for the
/// single-département zones (`971`, `972`, `974`, `975`, `977`, `978`, `06`,
/// `66`, `973`, `976`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// Metropolitan France and every e-shop (id `national`, Europe/Paris).
    National,
    /// Meurthe-et-Moselle, Meuse, Moselle, Vosges: 54, 55, 57, 88 (id `lorraine`).
    Lorraine,
    /// Corse-du-Sud and Haute-Corse: 2A, 2B (id `corse`).
    Corse,
    /// Guadeloupe, 971 (America/Guadeloupe).
    Guadeloupe,
    /// Martinique, 972 (America/Martinique).
    Martinique,
    /// La Réunion, 974 (Indian/Reunion).
    Reunion,
    /// Saint-Pierre-et-Miquelon, 975 (America/Miquelon).
    SaintPierreEtMiquelon,
    /// Saint-Barthélemy, 977 (America/St_Barthelemy).
    SaintBarthelemy,
    /// Saint-Martin, 978 (America/Marigot).
    SaintMartin,
    /// Alpes-Maritimes, 06: national dates, Europe/Paris.
    AlpesMaritimes,
    /// Pyrénées-Orientales, 66: national dates, Europe/Paris.
    PyreneesOrientales,
    /// Guyane, 973: national dates, America/Cayenne.
    Guyane,
    /// Mayotte, 976: national dates, Indian/Mayotte.
    Mayotte,
    /// Belgium (id `belgium`): 3–31 January and 1–31 July, Europe/Brussels,
    /// with a ban on announcing reductions in the month before each period.
    Belgium,
}

/// An unknown zone name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown zone {0:?}; valid: national (or fr, or any other metropolitan département code), \
     lorraine (54, 55, 57, 88), corse (2A, 2B), 971 (guadeloupe), 972 (martinique), \
     974 (reunion), 975 (saint-pierre-et-miquelon), 977 (saint-barthelemy), \
     978 (saint-martin), 06 (alpes-maritimes), 66 (pyrenees-orientales), 973 (guyane), \
     976 (mayotte), belgium (be)"
)]
pub struct ZoneError(String);

/// How a zone fixes the first day of one season.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The national rule (and national overrides).
    National,
    /// First working day (Mon–Fri) of January after 1 January.
    FirstWorkingDayOfJanuary,
    /// The n-th given weekday of a month.
    Nth(u32, Weekday, u8),
    /// The last given weekday of a month.
    Last(u32, Weekday),
    /// The first given weekday strictly after a day of a month.
    FirstAfter(u32, u32, Weekday),
    /// Belgium: a fixed day of a month, the day before if it is a Sunday.
    FixedUnlessSunday(u32, u32),
}

impl Zone {
    /// Every zone, in declaration order.
    pub const ALL: [Zone; 14] = [
        Zone::National,
        Zone::Lorraine,
        Zone::Corse,
        Zone::Guadeloupe,
        Zone::Martinique,
        Zone::Reunion,
        Zone::SaintPierreEtMiquelon,
        Zone::SaintBarthelemy,
        Zone::SaintMartin,
        Zone::AlpesMaritimes,
        Zone::PyreneesOrientales,
        Zone::Guyane,
        Zone::Mayotte,
        Zone::Belgium,
    ];

    /// Stable id used in configuration and the database: `national`,
    /// `lorraine`, `corse`, `belgium`, or the département code (`971`, `972`,
    /// `974`, `975`, `977`, `978`, `06`, `66`, `973`, `976`). It parses back.
    pub fn as_str(&self) -> &'static str {
        match self {
            Zone::National => "national",
            Zone::Lorraine => "lorraine",
            Zone::Corse => "corse",
            Zone::Guadeloupe => "971",
            Zone::Martinique => "972",
            Zone::Reunion => "974",
            Zone::SaintPierreEtMiquelon => "975",
            Zone::SaintBarthelemy => "977",
            Zone::SaintMartin => "978",
            Zone::AlpesMaritimes => "06",
            Zone::PyreneesOrientales => "66",
            Zone::Guyane => "973",
            Zone::Mayotte => "976",
            Zone::Belgium => "belgium",
        }
    }

    /// The IANA time zone in which the zone's periods open and close.
    pub fn time_zone(&self) -> Tz {
        use chrono_tz::{America, Europe, Indian};
        match self {
            Zone::National
            | Zone::Lorraine
            | Zone::Corse
            | Zone::AlpesMaritimes
            | Zone::PyreneesOrientales => Europe::Paris,
            Zone::Guadeloupe => America::Guadeloupe,
            Zone::Martinique => America::Martinique,
            Zone::Reunion => Indian::Reunion,
            Zone::SaintPierreEtMiquelon => America::Miquelon,
            Zone::SaintBarthelemy => America::St_Barthelemy,
            Zone::SaintMartin => America::Marigot,
            Zone::Guyane => America::Cayenne,
            Zone::Mayotte => Indian::Mayotte,
            Zone::Belgium => Europe::Brussels,
        }
    }

    /// Whether the zone bans announcing reductions in the month before each
    /// period (Belgium's "période d'attente"); see
    /// [`Calendar::in_announcement_ban`].
    pub fn has_announcement_ban(&self) -> bool {
        matches!(self, Zone::Belgium)
    }

    /// Local hour at which a period opens on its first day (8 in France, 0 in Belgium).
    fn opening_hour(&self) -> u32 {
        match self {
            Zone::Belgium => 0,
            _ => 8,
        }
    }

    fn rule(&self, season: Season) -> Rule {
        use Season::{Summer, Winter};
        use Weekday::{Sat, Thu, Wed};
        match (self, season) {
            (Zone::Lorraine, Winter) => Rule::FirstWorkingDayOfJanuary,
            (Zone::Corse, Summer) => Rule::Nth(7, Wed, 2),
            (Zone::Guadeloupe, Winter) => Rule::Nth(1, Sat, 1),
            (Zone::Guadeloupe, Summer) => Rule::Last(9, Sat),
            (Zone::Martinique, Summer) => Rule::Nth(10, Thu, 1),
            (Zone::Reunion, Winter) => Rule::Nth(2, Sat, 1),
            (Zone::Reunion, Summer) => Rule::Nth(9, Sat, 1),
            (Zone::SaintPierreEtMiquelon, Winter) => Rule::FirstAfter(1, 15, Wed),
            (Zone::SaintPierreEtMiquelon, Summer) => Rule::FirstAfter(7, 14, Wed),
            (Zone::SaintBarthelemy | Zone::SaintMartin, Winter) => Rule::Nth(5, Sat, 1),
            (Zone::SaintBarthelemy | Zone::SaintMartin, Summer) => Rule::Nth(10, Sat, 2),
            (Zone::Belgium, Winter) => Rule::FixedUnlessSunday(1, 3),
            (Zone::Belgium, Summer) => Rule::FixedUnlessSunday(7, 1),
            _ => Rule::National,
        }
    }

    /// Last day by rule: 4 weeks in France, the 31st of the month in Belgium.
    fn rule_last_day(&self, season: Season, year: i32, first_day: NaiveDate) -> Option<NaiveDate> {
        match self {
            Zone::Belgium => {
                let month = match season {
                    Season::Winter => 1,
                    Season::Summer => 7,
                };
                NaiveDate::from_ymd_opt(year, month, 31)
            }
            _ => first_day.checked_add_days(Days::new(27)),
        }
    }
}

/// Keeps ASCII letters and digits, lowercased, with common French accents
/// folded, so "Saint-Pierre-et-Miquelon", "La Réunion" and "2a" compare.
fn normalize_zone(s: &str) -> String {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'û' | 'ù' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

impl FromStr for Zone {
    type Err = ZoneError;

    /// Accepts the stable ids, `fr`, département codes (`54`, `2A`, `971`…;
    /// any other metropolitan code `01`–`95` is national) and lowercase
    /// names, with or without accents, spaces or hyphens.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = normalize_zone(s);
        let zone = match n.as_str() {
            "national" | "fr" | "france" | "metropole" | "online" => Zone::National,
            "lorraine" | "54" | "55" | "57" | "88" => Zone::Lorraine,
            "corse" | "corsica" | "2a" | "2b" | "20" => Zone::Corse,
            "971" | "guadeloupe" => Zone::Guadeloupe,
            "972" | "martinique" => Zone::Martinique,
            "974" | "reunion" | "lareunion" => Zone::Reunion,
            "975" | "saintpierreetmiquelon" | "stpierreetmiquelon" | "spm" => {
                Zone::SaintPierreEtMiquelon
            }
            "977" | "saintbarthelemy" | "stbarthelemy" | "stbarth" | "stbarts" => {
                Zone::SaintBarthelemy
            }
            "978" | "saintmartin" | "stmartin" => Zone::SaintMartin,
            "06" | "6" | "alpesmaritimes" => Zone::AlpesMaritimes,
            "66" | "pyreneesorientales" => Zone::PyreneesOrientales,
            "973" | "guyane" | "frenchguiana" => Zone::Guyane,
            "976" | "mayotte" => Zone::Mayotte,
            "belgium" | "be" | "belgique" | "belgie" | "belgien" => Zone::Belgium,
            code if is_metropolitan_code(code) => Zone::National,
            _ => return Err(ZoneError(s.to_string())),
        };
        Ok(zone)
    }
}

/// A metropolitan département code without a zone of its own: `1`–`95`
/// (one or two digits), excluding `20` (Corse).
fn is_metropolitan_code(code: &str) -> bool {
    (1..=2).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .parse::<u8>()
            .is_ok_and(|n| (1..=95).contains(&n) && n != 20)
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The two sales periods of a year. The names follow the national calendar;
/// some zones hold them in other months (e.g. 977/978: May and October).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Season {
    /// The first period of the year (January nationally).
    Winter,
    /// The second period of the year (June–July nationally).
    Summer,
}

/// An unknown season name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown season {0:?}; valid: winter (hiver), summer (ete)")]
pub struct SeasonError(String);

impl Season {
    /// `winter` / `summer`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Season::Winter => "winter",
            Season::Summer => "summer",
        }
    }
}

impl FromStr for Season {
    type Err = SeasonError;

    /// Accepts `winter`/`hiver` and `summer`/`ete`/`été`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalize_zone(s).as_str() {
            "winter" | "hiver" => Ok(Season::Winter),
            "summer" | "ete" => Ok(Season::Summer),
            _ => Err(SeasonError(s.to_string())),
        }
    }
}

impl fmt::Display for Season {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Season {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Season {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One legal sales period, resolved to instants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesPeriod {
    /// Zone.
    pub zone: Zone,
    /// Season.
    pub season: Season,
    /// Year the period belongs to.
    pub year: i32,
    /// First day (local date).
    pub first_day: NaiveDate,
    /// Last day (local date, inclusive).
    pub last_day: NaiveDate,
    /// Opening instant: 08:00 local time on `first_day` (00:00 in Belgium).
    pub start: DateTime<Utc>,
    /// Closing instant, **exclusive**: 00:00 local time on the day after
    /// `last_day` (so the whole of `last_day`, up to 23:59:59.999…, is in).
    pub end: DateTime<Utc>,
}

impl SalesPeriod {
    /// Whether the period is in force at `instant`: `start <= instant < end`.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// Start of the ban on announcing reductions before this period, for
    /// zones that have one ([`Zone::has_announcement_ban`]): 00:00 local
    /// time, one calendar month before `first_day` (3 December for a
    /// 3 January start). The ban runs until [`SalesPeriod::start`].
    pub fn announcement_ban_start(&self) -> Option<DateTime<Utc>> {
        if !self.zone.has_announcement_ban() {
            return None;
        }
        let day = self.first_day.checked_sub_months(Months::new(1))?;
        local_instant(self.zone.time_zone(), day, 0)
    }
}

/// A one-off change of a period's dates (ministerial arrêté), from the
/// built-in list or the configuration, e.g. in TOML:
///
/// ```toml
/// [[calendar.overrides]]
/// zone = "national"
/// season = "winter"
/// year = 2021
/// first_day = "2021-01-20"
/// last_day = "2021-02-16"
/// ```
///
/// An override for [`Zone::National`] also applies to the zones that follow
/// the national dates for that season, unless they have their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Zone (any string [`Zone::from_str`] accepts).
    pub zone: Zone,
    /// Season (`winter` / `summer`).
    pub season: Season,
    /// Year of the period replaced.
    pub year: i32,
    /// New first day (local date; the period opens at the zone's usual hour).
    pub first_day: NaiveDate,
    /// New last day (local date, inclusive).
    pub last_day: NaiveDate,
}

/// An override that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// `last_day` is before `first_day`.
    #[error("override {zone} {season} {year}: last day {last_day} is before first day {first_day}")]
    Reversed {
        /// Zone.
        zone: Zone,
        /// Season.
        season: Season,
        /// Year.
        year: i32,
        /// First day.
        first_day: NaiveDate,
        /// Last day.
        last_day: NaiveDate,
    },
    /// `first_day` is not in the override's year (nor the end of the year before).
    #[error("override {zone} {season} {year}: first day {first_day} is not in {year}")]
    WrongYear {
        /// Zone.
        zone: Zone,
        /// Season.
        season: Season,
        /// Year.
        year: i32,
        /// First day.
        first_day: NaiveDate,
    },
}

impl Override {
    /// Checks that the dates are in order and that `first_day` falls in
    /// `year` (or in December of the year before, for an early winter).
    pub fn validate(&self) -> Result<(), OverrideError> {
        if self.last_day < self.first_day {
            return Err(OverrideError::Reversed {
                zone: self.zone,
                season: self.season,
                year: self.year,
                first_day: self.first_day,
                last_day: self.last_day,
            });
        }
        let y = self.first_day.year();
        let ok =
            y == self.year || (y.checked_add(1) == Some(self.year) && self.first_day.month() == 12);
        if !ok {
            return Err(OverrideError::WrongYear {
                zone: self.zone,
                season: self.season,
                year: self.year,
                first_day: self.first_day,
            });
        }
        Ok(())
    }
}

/// The one-off national arrêtés known when this module was written.
fn builtin_overrides() -> Vec<Override> {
    let d = NaiveDate::from_ymd_opt;
    let mut out = Vec::new();
    // (season, year, first day, last day)
    let known = [
        // Winter 2021 postponed to 20 January (4 weeks).
        (Season::Winter, 2021, d(2021, 1, 20), d(2021, 2, 16)),
        // Summer 2021 postponed to 30 June (4 weeks).
        (Season::Summer, 2021, d(2021, 6, 30), d(2021, 7, 27)),
        // Summer 2023 extended to 1 August; start stays the computed 28 June.
        (Season::Summer, 2023, d(2023, 6, 28), d(2023, 8, 1)),
    ];
    for (season, year, first, last) in known {
        if let (Some(first_day), Some(last_day)) = (first, last) {
            out.push(Override {
                zone: Zone::National,
                season,
                year,
                first_day,
                last_day,
            });
        }
    }
    out
}

/// The sales calendar: start-day rules plus overrides.
///
/// [`Calendar::default`] is [`Calendar::builtin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    overrides: BTreeMap<(Zone, Season, i32), Override>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::builtin()
    }
}

impl Calendar {
    /// The rules with the known one-off national overrides (winter 2021 from
    /// 20 January, summer 2021 from 30 June, summer 2023 to 1 August).
    pub fn builtin() -> Self {
        Calendar::rules_only().with_overrides(builtin_overrides())
    }

    /// The start-day rules alone, without any override.
    pub fn rules_only() -> Self {
        Calendar {
            overrides: BTreeMap::new(),
        }
    }

    /// Adds overrides (e.g. from the configuration); each replaces any
    /// existing override for the same zone, season and year, so the
    /// configuration wins over the built-in list. Overrides that fail
    /// [`Override::validate`] are skipped: validate them first with
    /// [`Calendar::try_with_overrides`] to report them.
    pub fn with_overrides(mut self, overrides: Vec<Override>) -> Self {
        for o in overrides {
            if o.validate().is_ok() {
                self.overrides.insert((o.zone, o.season, o.year), o);
            }
        }
        self
    }

    /// Like [`Calendar::with_overrides`], but fails on the first invalid override.
    pub fn try_with_overrides(self, overrides: Vec<Override>) -> Result<Self, OverrideError> {
        for o in &overrides {
            o.validate()?;
        }
        Ok(self.with_overrides(overrides))
    }

    /// The overrides in force, ordered by zone, season and year.
    pub fn overrides(&self) -> Vec<Override> {
        self.overrides.values().cloned().collect()
    }

    /// The override that fixes a period, if any: the zone's own, else a
    /// national one when the zone follows the national rule for that season.
    fn override_for(&self, zone: Zone, season: Season, year: i32) -> Option<&Override> {
        self.overrides
            .get(&(zone, season, year))
            .or_else(|| match zone.rule(season) {
                Rule::National if zone != Zone::National => {
                    self.overrides.get(&(Zone::National, season, year))
                }
                _ => None,
            })
    }

    /// One period, or `None` when its dates cannot be represented.
    pub fn period(&self, zone: Zone, season: Season, year: i32) -> Option<SalesPeriod> {
        let (first_day, last_day) = match self.override_for(zone, season, year) {
            Some(o) => (o.first_day, o.last_day),
            None => {
                let first_day = rule_first_day(zone.rule(season), season, year)?;
                (first_day, zone.rule_last_day(season, year, first_day)?)
            }
        };
        let tz = zone.time_zone();
        let start = local_instant(tz, first_day, zone.opening_hour())?;
        let end = local_instant(tz, last_day.checked_add_days(Days::new(1))?, 0)?;
        Some(SalesPeriod {
            zone,
            season,
            year,
            first_day,
            last_day,
            start,
            end,
        })
    }

    /// Both periods of a year, sorted by start (empty for years chrono
    /// cannot represent).
    pub fn periods(&self, zone: Zone, year: i32) -> Vec<SalesPeriod> {
        let mut out: Vec<SalesPeriod> = [Season::Winter, Season::Summer]
            .into_iter()
            .filter_map(|s| self.period(zone, s, year))
            .collect();
        out.sort_by_key(|p| p.start);
        out
    }

    /// Periods of the years around `instant` (local year −1 to +2), sorted by start.
    fn periods_around(&self, zone: Zone, instant: DateTime<Utc>) -> Vec<SalesPeriod> {
        let y = instant.with_timezone(&zone.time_zone()).year();
        let mut out: Vec<SalesPeriod> = (y.saturating_sub(1)..=y.saturating_add(2))
            .flat_map(|y| self.periods(zone, y))
            .collect();
        out.sort_by_key(|p| p.start);
        out
    }

    /// The period in force at `instant`, if any.
    pub fn period_at(&self, zone: Zone, instant: DateTime<Utc>) -> Option<SalesPeriod> {
        self.periods_around(zone, instant)
            .into_iter()
            .find(|p| p.contains(instant))
    }

    /// The first period that opens strictly after `instant` (the next one
    /// even when a period is in force).
    pub fn next_period_start_after(
        &self,
        zone: Zone,
        instant: DateTime<Utc>,
    ) -> Option<SalesPeriod> {
        self.periods_around(zone, instant)
            .into_iter()
            .find(|p| p.start > instant)
    }

    /// The next period when `instant` lies within `days` days before its
    /// opening (`start − days <= instant < start`) and no period is in force
    /// at `instant` (rule R2's pre-sale window, 30 days by default).
    /// `None` when `days <= 0`.
    pub fn in_pre_sales_window(
        &self,
        zone: Zone,
        instant: DateTime<Utc>,
        days: i64,
    ) -> Option<SalesPeriod> {
        if days <= 0 || self.period_at(zone, instant).is_some() {
            return None;
        }
        let next = self.next_period_start_after(zone, instant)?;
        let opens_window = TimeDelta::try_days(days).and_then(|d| next.start.checked_sub_signed(d));
        // A window too long to represent reaches back past any instant.
        match opens_window {
            Some(from) if instant < from => None,
            _ => Some(next),
        }
    }

    /// For zones with a pre-sales announcement ban (Belgium), the next
    /// period when `instant` falls in its ban, from
    /// [`SalesPeriod::announcement_ban_start`] up to the period's start.
    pub fn in_announcement_ban(&self, zone: Zone, instant: DateTime<Utc>) -> Option<SalesPeriod> {
        if !zone.has_announcement_ban() {
            return None;
        }
        let next = self.next_period_start_after(zone, instant)?;
        let from = next.announcement_ban_start()?;
        (from <= instant).then_some(next)
    }
}

/// The first day of a season by rule (national rule for [`Rule::National`]).
fn rule_first_day(rule: Rule, season: Season, year: i32) -> Option<NaiveDate> {
    match rule {
        Rule::National => match season {
            // 2nd Wednesday of January; the 1st if the 2nd is after the 12th.
            Season::Winter => {
                let second = NaiveDate::from_weekday_of_month_opt(year, 1, Weekday::Wed, 2)?;
                if second.day() > 12 {
                    second.checked_sub_days(Days::new(7))
                } else {
                    Some(second)
                }
            }
            // Last Wednesday of June; the one before if it is after the 28th.
            Season::Summer => {
                let last = last_weekday(year, 6, Weekday::Wed)?;
                if last.day() > 28 {
                    last.checked_sub_days(Days::new(7))
                } else {
                    Some(last)
                }
            }
        },
        Rule::FirstWorkingDayOfJanuary => {
            let jan2 = NaiveDate::from_ymd_opt(year, 1, 2)?;
            let skip = match jan2.weekday() {
                Weekday::Sat => 2,
                Weekday::Sun => 1,
                _ => 0,
            };
            jan2.checked_add_days(Days::new(skip))
        }
        Rule::Nth(month, wd, n) => NaiveDate::from_weekday_of_month_opt(year, month, wd, n),
        Rule::Last(month, wd) => last_weekday(year, month, wd),
        Rule::FirstAfter(month, day, wd) => {
            let after = NaiveDate::from_ymd_opt(year, month, day)?;
            let ahead =
                (7 + wd.num_days_from_monday() - after.weekday().num_days_from_monday()) % 7;
            let ahead = if ahead == 0 { 7 } else { ahead };
            after.checked_add_days(Days::new(u64::from(ahead)))
        }
        Rule::FixedUnlessSunday(month, day) => {
            let d = NaiveDate::from_ymd_opt(year, month, day)?;
            if d.weekday() == Weekday::Sun {
                d.pred_opt()
            } else {
                Some(d)
            }
        }
    }
}

/// The last `wd` of a month.
fn last_weekday(year: i32, month: u32, wd: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, wd, n))
}

/// `hour`:00 local time on `day` as a UTC instant. An ambiguous local time
/// (DST fall-back) takes its first occurrence; one in a DST gap takes the
/// first valid local minute after it, i.e. the instant of the transition.
fn local_instant(tz: Tz, day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let naive = day.and_hms_opt(hour, 0, 0)?;
    resolve_local(tz, naive)
}

fn resolve_local(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Gaps are at most a day long (e.g. a skipped calendar day); step by minute.
    let mut t = naive;
    for _ in 0..=(48 * 60) {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(dt) => return Some(dt.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => t = t.checked_add_signed(TimeDelta::minutes(1))?,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// A UTC instant from a local wall-clock time in `zone`.
    fn at(zone: Zone, y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        zone.time_zone()
            .with_ymd_and_hms(y, m, day, h, min, s)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, s).single().unwrap()
    }

    fn dates(cal: &Calendar, zone: Zone, season: Season, year: i32) -> (NaiveDate, NaiveDate) {
        let p = cal.period(zone, season, year).unwrap();
        (p.first_day, p.last_day)
    }

    fn first_days(zone: Zone, year: i32) -> (NaiveDate, NaiveDate) {
        let cal = Calendar::rules_only();
        (
            cal.period(zone, Season::Winter, year).unwrap().first_day,
            cal.period(zone, Season::Summer, year).unwrap().first_day,
        )
    }

    #[test]
    fn verified_national_dates() {
        let cal = Calendar::builtin();
        let table = [
            (
                2024,
                (d(2024, 1, 10), d(2024, 2, 6)),
                (d(2024, 6, 26), d(2024, 7, 23)),
            ),
            (
                2025,
                (d(2025, 1, 8), d(2025, 2, 4)),
                (d(2025, 6, 25), d(2025, 7, 22)),
            ),
            (
                2026,
                (d(2026, 1, 7), d(2026, 2, 3)),
                (d(2026, 6, 24), d(2026, 7, 21)),
            ),
            (
                2027,
                (d(2027, 1, 6), d(2027, 2, 2)),
                (d(2027, 6, 23), d(2027, 7, 20)),
            ),
        ];
        for (year, winter, summer) in table {
            assert_eq!(
                dates(&cal, Zone::National, Season::Winter, year),
                winter,
                "{year}"
            );
            assert_eq!(
                dates(&cal, Zone::National, Season::Summer, year),
                summer,
                "{year}"
            );
            let ps = cal.periods(Zone::National, year);
            assert_eq!(ps.len(), 2);
            assert_eq!(ps[0].season, Season::Winter);
            assert_eq!(ps[1].season, Season::Summer);
            assert!(ps.iter().all(|p| p.first_day.weekday() == Weekday::Wed));
        }
    }

    #[test]
    fn start_is_0800_paris_winter_utc_plus_1() {
        let cal = Calendar::builtin();
        let p = cal.period(Zone::National, Season::Winter, 2025).unwrap();
        assert_eq!(p.start, utc(2025, 1, 8, 7, 0, 0));
        let before = at(Zone::National, 2025, 1, 8, 7, 59, 59);
        let open = at(Zone::National, 2025, 1, 8, 8, 0, 0);
        assert_eq!(open, utc(2025, 1, 8, 7, 0, 0));
        assert!(cal.period_at(Zone::National, before).is_none());
        assert_eq!(cal.period_at(Zone::National, open), Some(p));
    }

    #[test]
    fn start_is_0800_paris_summer_utc_plus_2() {
        let cal = Calendar::builtin();
        let p = cal.period(Zone::National, Season::Summer, 2025).unwrap();
        assert_eq!(p.start, utc(2025, 6, 25, 6, 0, 0));
        assert!(!p.contains(utc(2025, 6, 25, 5, 59, 59)));
        assert!(p.contains(utc(2025, 6, 25, 6, 0, 0)));
        // 07:00 UTC would be 08:00 in winter time: already inside in June.
        assert!(p.contains(utc(2025, 6, 25, 6, 30, 0)));
    }

    #[test]
    fn last_day_until_midnight() {
        let cal = Calendar::builtin();
        for (season, m, day) in [(Season::Winter, 2, 4), (Season::Summer, 7, 22)] {
            let p = cal.period(Zone::National, season, 2025).unwrap();
            let last = at(Zone::National, 2025, m, day, 23, 59, 59);
            let next = at(Zone::National, 2025, m, day + 1, 0, 0, 0);
            assert!(p.contains(last));
            assert!(p.contains(last + TimeDelta::milliseconds(999)));
            assert!(!p.contains(next));
            assert_eq!(p.end, next);
            assert_eq!(cal.period_at(Zone::National, last), Some(p));
            assert_eq!(cal.period_at(Zone::National, next), None);
        }
        // Summer 2025 ends 22 July 23:59:59 Paris = 21:59:59 UTC.
        let p = cal.period(Zone::National, Season::Summer, 2025).unwrap();
        assert_eq!(p.end, utc(2025, 7, 22, 22, 0, 0));
    }

    #[test]
    fn year_ends_are_outside_national_periods() {
        let cal = Calendar::builtin();
        for y in 2020..=2040 {
            let dec31 = at(Zone::National, y, 12, 31, 12, 0, 0);
            let jan1 = at(Zone::National, y + 1, 1, 1, 12, 0, 0);
            assert!(cal.period_at(Zone::National, dec31).is_none(), "{y}");
            assert!(cal.period_at(Zone::National, jan1).is_none(), "{y}");
            let next = cal.next_period_start_after(Zone::National, dec31).unwrap();
            assert_eq!((next.season, next.year), (Season::Winter, y + 1));
        }
    }

    #[test]
    fn national_rule_over_supported_years() {
        let cal = Calendar::rules_only();
        for y in 2020..=2040 {
            let w = cal.period(Zone::National, Season::Winter, y).unwrap();
            let s = cal.period(Zone::National, Season::Summer, y).unwrap();
            assert_eq!(w.first_day.weekday(), Weekday::Wed);
            assert!((2..=12).contains(&w.first_day.day()), "{y}");
            assert_eq!(s.first_day.weekday(), Weekday::Wed);
            assert_eq!(s.first_day.month(), 6);
            assert!((22..=28).contains(&s.first_day.day()), "{y}");
            assert_eq!(w.last_day, w.first_day + Days::new(27));
            assert_eq!(s.last_day, s.first_day + Days::new(27));
        }
    }

    #[test]
    fn builtin_overrides() {
        let cal = Calendar::builtin();
        assert_eq!(
            dates(&cal, Zone::National, Season::Winter, 2021),
            (d(2021, 1, 20), d(2021, 2, 16))
        );
        assert_eq!(
            dates(&cal, Zone::National, Season::Summer, 2021),
            (d(2021, 6, 30), d(2021, 7, 27))
        );
        assert_eq!(
            dates(&cal, Zone::National, Season::Summer, 2023),
            (d(2023, 6, 28), d(2023, 8, 1))
        );
        // Without the overrides, the rules give the ordinary dates.
        let rules = Calendar::rules_only();
        assert_eq!(
            dates(&rules, Zone::National, Season::Winter, 2021),
            (d(2021, 1, 6), d(2021, 2, 2))
        );
        assert_eq!(
            dates(&rules, Zone::National, Season::Summer, 2021),
            (d(2021, 6, 23), d(2021, 7, 20))
        );
        assert_eq!(
            dates(&rules, Zone::National, Season::Summer, 2023),
            (d(2023, 6, 28), d(2023, 7, 25))
        );
        // 2021 winter: 6 January is outside, 20 January 08:00 inside.
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2021, 1, 6, 12, 0, 0))
                .is_none()
        );
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2021, 1, 20, 8, 0, 0))
                .is_some()
        );
        // Summer 2023 runs through 1 August.
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2023, 8, 1, 23, 59, 59))
                .is_some()
        );
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2023, 8, 2, 0, 0, 0))
                .is_none()
        );
    }

    #[test]
    fn national_overrides_reach_zones_following_national_dates() {
        let cal = Calendar::builtin();
        // Corse winter, Martinique winter, 06/66/973/976 follow national dates.
        for zone in [
            Zone::Corse,
            Zone::Martinique,
            Zone::AlpesMaritimes,
            Zone::PyreneesOrientales,
            Zone::Guyane,
            Zone::Mayotte,
        ] {
            assert_eq!(
                dates(&cal, zone, Season::Winter, 2021).0,
                d(2021, 1, 20),
                "{zone}"
            );
        }
        // Lorraine summer is national; Lorraine winter has its own rule.
        assert_eq!(
            dates(&cal, Zone::Lorraine, Season::Summer, 2021).0,
            d(2021, 6, 30)
        );
        assert_eq!(
            dates(&cal, Zone::Lorraine, Season::Winter, 2021).0,
            d(2021, 1, 4)
        );
        // Zones with their own rule and Belgium are not touched.
        assert_eq!(
            dates(&cal, Zone::Corse, Season::Summer, 2021).0,
            d(2021, 7, 14)
        );
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Summer, 2021).0,
            d(2021, 7, 1)
        );
    }

    #[test]
    fn config_override_wins() {
        let cal = Calendar::builtin().with_overrides(vec![
            Override {
                zone: Zone::National,
                season: Season::Winter,
                year: 2021,
                first_day: d(2021, 1, 13),
                last_day: d(2021, 2, 9),
            },
            Override {
                zone: Zone::National,
                season: Season::Winter,
                year: 2030,
                first_day: d(2030, 1, 16),
                last_day: d(2030, 2, 19),
            },
            Override {
                zone: Zone::Corse,
                season: Season::Winter,
                year: 2021,
                first_day: d(2021, 1, 27),
                last_day: d(2021, 2, 23),
            },
        ]);
        assert_eq!(
            dates(&cal, Zone::National, Season::Winter, 2021),
            (d(2021, 1, 13), d(2021, 2, 9))
        );
        assert_eq!(
            dates(&cal, Zone::National, Season::Winter, 2030),
            (d(2030, 1, 16), d(2030, 2, 19))
        );
        // A zone's own override beats the national one.
        assert_eq!(
            dates(&cal, Zone::Corse, Season::Winter, 2021).0,
            d(2021, 1, 27)
        );
        // Computed 2030 start would be 9 January: now outside.
        let cal_rules = Calendar::rules_only();
        assert_eq!(
            dates(&cal_rules, Zone::National, Season::Winter, 2030).0,
            d(2030, 1, 9)
        );
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2030, 1, 10, 12, 0, 0))
                .is_none()
        );
        assert!(
            cal.period_at(Zone::National, at(Zone::National, 2030, 2, 19, 20, 0, 0))
                .is_some()
        );
        // Other built-ins stay.
        assert_eq!(
            dates(&cal, Zone::National, Season::Summer, 2023).1,
            d(2023, 8, 1)
        );
        assert_eq!(cal.overrides().len(), 5);
    }

    #[test]
    fn invalid_overrides_are_rejected() {
        let reversed = Override {
            zone: Zone::National,
            season: Season::Summer,
            year: 2030,
            first_day: d(2030, 7, 20),
            last_day: d(2030, 6, 20),
        };
        let wrong_year = Override {
            year: 2031,
            last_day: d(2030, 8, 20),
            ..reversed.clone()
        };
        assert!(matches!(
            reversed.validate(),
            Err(OverrideError::Reversed { .. })
        ));
        assert!(matches!(
            wrong_year.validate(),
            Err(OverrideError::WrongYear { .. })
        ));
        assert!(
            Calendar::builtin()
                .try_with_overrides(vec![reversed.clone()])
                .is_err()
        );
        let cal = Calendar::builtin().with_overrides(vec![reversed]);
        assert_eq!(cal, Calendar::builtin());
    }

    #[test]
    fn lorraine_winter_first_working_day() {
        // 2 Jan 2024 Tuesday; 2 Jan 2021 Saturday → 4th; 2 Jan 2022 Sunday → 3rd.
        assert_eq!(first_days(Zone::Lorraine, 2024).0, d(2024, 1, 2));
        assert_eq!(first_days(Zone::Lorraine, 2021).0, d(2021, 1, 4));
        assert_eq!(first_days(Zone::Lorraine, 2022).0, d(2022, 1, 3));
        assert_eq!(first_days(Zone::Lorraine, 2027).0, d(2027, 1, 4));
        // Summer national.
        assert_eq!(first_days(Zone::Lorraine, 2025).1, d(2025, 6, 25));
        let p = Calendar::builtin()
            .period(Zone::Lorraine, Season::Winter, 2024)
            .unwrap();
        assert_eq!(p.last_day, d(2024, 1, 29));
    }

    #[test]
    fn corse_summer_second_wednesday_of_july() {
        assert_eq!(
            first_days(Zone::Corse, 2024),
            (d(2024, 1, 10), d(2024, 7, 10))
        );
        assert_eq!(
            first_days(Zone::Corse, 2025),
            (d(2025, 1, 8), d(2025, 7, 9))
        );
        assert_eq!(first_days(Zone::Corse, 2026).1, d(2026, 7, 8));
    }

    #[test]
    fn guadeloupe_rules() {
        // 1st Saturday of January; last Saturday of September.
        assert_eq!(
            first_days(Zone::Guadeloupe, 2024),
            (d(2024, 1, 6), d(2024, 9, 28))
        );
        assert_eq!(
            first_days(Zone::Guadeloupe, 2025),
            (d(2025, 1, 4), d(2025, 9, 27))
        );
        assert_eq!(
            first_days(Zone::Guadeloupe, 2022),
            (d(2022, 1, 1), d(2022, 9, 24))
        );
        // 08:00 Guadeloupe (UTC−4) = 12:00 UTC.
        let p = Calendar::builtin()
            .period(Zone::Guadeloupe, Season::Winter, 2025)
            .unwrap();
        assert_eq!(p.start, utc(2025, 1, 4, 12, 0, 0));
    }

    #[test]
    fn martinique_rules() {
        // Winter national; summer 1st Thursday of October.
        assert_eq!(
            first_days(Zone::Martinique, 2024),
            (d(2024, 1, 10), d(2024, 10, 3))
        );
        assert_eq!(
            first_days(Zone::Martinique, 2025),
            (d(2025, 1, 8), d(2025, 10, 2))
        );
        let p = Calendar::builtin()
            .period(Zone::Martinique, Season::Winter, 2025)
            .unwrap();
        assert_eq!(p.start, utc(2025, 1, 8, 12, 0, 0));
    }

    #[test]
    fn reunion_rules() {
        // 1st Saturday of February; 1st Saturday of September.
        assert_eq!(
            first_days(Zone::Reunion, 2024),
            (d(2024, 2, 3), d(2024, 9, 7))
        );
        assert_eq!(
            first_days(Zone::Reunion, 2025),
            (d(2025, 2, 1), d(2025, 9, 6))
        );
        // 08:00 Réunion (UTC+4) = 04:00 UTC.
        let p = Calendar::builtin()
            .period(Zone::Reunion, Season::Winter, 2025)
            .unwrap();
        assert_eq!(p.start, utc(2025, 2, 1, 4, 0, 0));
    }

    #[test]
    fn saint_pierre_et_miquelon_rules() {
        // 1st Wednesday after 15 January / 14 July (strictly after).
        assert_eq!(
            first_days(Zone::SaintPierreEtMiquelon, 2024),
            (d(2024, 1, 17), d(2024, 7, 17))
        );
        assert_eq!(
            first_days(Zone::SaintPierreEtMiquelon, 2025),
            (d(2025, 1, 22), d(2025, 7, 16))
        );
        // 15 January 2025 is a Wednesday: not "after", so the 22nd.
        assert_eq!(d(2025, 1, 15).weekday(), Weekday::Wed);
        // 14 July 2027 is a Wednesday: the 21st.
        assert_eq!(
            first_days(Zone::SaintPierreEtMiquelon, 2027).1,
            d(2027, 7, 21)
        );
        // Miquelon is UTC−3 in winter: 08:00 = 11:00 UTC.
        let p = Calendar::builtin()
            .period(Zone::SaintPierreEtMiquelon, Season::Winter, 2025)
            .unwrap();
        assert_eq!(p.start, utc(2025, 1, 22, 11, 0, 0));
    }

    #[test]
    fn saint_barthelemy_and_saint_martin_rules() {
        for zone in [Zone::SaintBarthelemy, Zone::SaintMartin] {
            // 1st Saturday of May; 2nd Saturday of October.
            assert_eq!(first_days(zone, 2024), (d(2024, 5, 4), d(2024, 10, 12)));
            assert_eq!(first_days(zone, 2025), (d(2025, 5, 3), d(2025, 10, 11)));
        }
        let cal = Calendar::builtin();
        let p = cal.period(Zone::SaintMartin, Season::Winter, 2025).unwrap();
        assert_eq!(p.start, utc(2025, 5, 3, 12, 0, 0));
        assert_eq!(p.last_day, d(2025, 5, 30));
        // Outside in January, unlike the national calendar.
        assert!(
            cal.period_at(Zone::SaintMartin, utc(2025, 1, 20, 12, 0, 0))
                .is_none()
        );
    }

    #[test]
    fn national_date_zones_in_local_time() {
        let cal = Calendar::builtin();
        for (zone, start_utc) in [
            (Zone::AlpesMaritimes, utc(2025, 1, 8, 7, 0, 0)),
            (Zone::PyreneesOrientales, utc(2025, 1, 8, 7, 0, 0)),
            (Zone::Guyane, utc(2025, 1, 8, 11, 0, 0)),
            (Zone::Mayotte, utc(2025, 1, 8, 5, 0, 0)),
        ] {
            for year in [2024, 2026] {
                assert_eq!(
                    cal.periods(zone, year)
                        .iter()
                        .map(|p| (p.first_day, p.last_day))
                        .collect::<Vec<_>>(),
                    cal.periods(Zone::National, year)
                        .iter()
                        .map(|p| (p.first_day, p.last_day))
                        .collect::<Vec<_>>(),
                    "{zone}"
                );
            }
            assert_eq!(
                cal.period(zone, Season::Winter, 2025).unwrap().start,
                start_utc
            );
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(Zone::National.time_zone(), chrono_tz::Europe::Paris);
        assert_eq!(Zone::Guadeloupe.time_zone(), chrono_tz::America::Guadeloupe);
        assert_eq!(Zone::Martinique.time_zone(), chrono_tz::America::Martinique);
        assert_eq!(Zone::Reunion.time_zone(), chrono_tz::Indian::Reunion);
        assert_eq!(
            Zone::SaintPierreEtMiquelon.time_zone(),
            chrono_tz::America::Miquelon
        );
        assert_eq!(
            Zone::SaintBarthelemy.time_zone(),
            chrono_tz::America::St_Barthelemy
        );
        assert_eq!(Zone::SaintMartin.time_zone(), chrono_tz::America::Marigot);
        assert_eq!(Zone::Guyane.time_zone(), chrono_tz::America::Cayenne);
        assert_eq!(Zone::Mayotte.time_zone(), chrono_tz::Indian::Mayotte);
        assert_eq!(Zone::Belgium.time_zone(), chrono_tz::Europe::Brussels);
    }

    #[test]
    fn belgium_periods_and_sunday_exceptions() {
        let cal = Calendar::builtin();
        // 2025: 3 January is a Friday, 1 July a Tuesday.
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Winter, 2025),
            (d(2025, 1, 3), d(2025, 1, 31))
        );
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Summer, 2025),
            (d(2025, 7, 1), d(2025, 7, 31))
        );
        // 3 January 2021 and 2027 are Sundays → 2 January.
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Winter, 2021).0,
            d(2021, 1, 2)
        );
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Winter, 2027).0,
            d(2027, 1, 2)
        );
        // 1 July 2018 and 2029 are Sundays → 30 June; still ends 31 July.
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Summer, 2018),
            (d(2018, 6, 30), d(2018, 7, 31))
        );
        assert_eq!(
            dates(&cal, Zone::Belgium, Season::Summer, 2029).0,
            d(2029, 6, 30)
        );
        // Opens at 00:00 Brussels (UTC+1 in January).
        let p = cal.period(Zone::Belgium, Season::Winter, 2025).unwrap();
        assert_eq!(p.start, utc(2025, 1, 2, 23, 0, 0));
        assert!(!p.contains(utc(2025, 1, 2, 22, 59, 59)));
        assert!(p.contains(at(Zone::Belgium, 2025, 1, 31, 23, 59, 59)));
        assert!(!p.contains(at(Zone::Belgium, 2025, 2, 1, 0, 0, 0)));
    }

    #[test]
    fn belgium_announcement_ban() {
        let cal = Calendar::builtin();
        let b = Zone::Belgium;
        // The month before 3 January 2026: from 3 December 2025 00:00.
        assert!(
            cal.in_announcement_ban(b, at(b, 2025, 12, 2, 23, 59, 59))
                .is_none()
        );
        let p = cal
            .in_announcement_ban(b, at(b, 2025, 12, 3, 0, 0, 0))
            .unwrap();
        assert_eq!((p.season, p.year), (Season::Winter, 2026));
        assert!(
            cal.in_announcement_ban(b, at(b, 2026, 1, 2, 23, 59, 59))
                .is_some()
        );
        // In the period itself, no ban.
        assert!(
            cal.in_announcement_ban(b, at(b, 2026, 1, 3, 0, 0, 0))
                .is_none()
        );
        // Summer: 1 June to 30 June.
        assert!(
            cal.in_announcement_ban(b, at(b, 2025, 5, 31, 12, 0, 0))
                .is_none()
        );
        assert!(
            cal.in_announcement_ban(b, at(b, 2025, 6, 1, 0, 0, 0))
                .is_some()
        );
        // Sunday exception 2027: period opens 2 January; ban from 2 December 2026.
        let p = cal.period(b, Season::Winter, 2027).unwrap();
        assert_eq!(
            p.announcement_ban_start(),
            Some(at(b, 2026, 12, 2, 0, 0, 0))
        );
        // French zones have no such ban.
        assert!(
            cal.in_announcement_ban(Zone::National, utc(2025, 12, 20, 12, 0, 0))
                .is_none()
        );
        let fr = cal.period(Zone::National, Season::Winter, 2025).unwrap();
        assert_eq!(fr.announcement_ban_start(), None);
    }

    #[test]
    fn pre_sales_window() {
        let cal = Calendar::builtin();
        let n = Zone::National;
        // Summer 2025 opens 25 June 08:00 Paris; 30 days before is 26 May 08:00.
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 5, 26, 7, 59, 59), 30)
                .is_none()
        );
        let p = cal
            .in_pre_sales_window(n, at(n, 2025, 5, 26, 8, 0, 0), 30)
            .unwrap();
        assert_eq!((p.season, p.year), (Season::Summer, 2025));
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 6, 25, 7, 59, 59), 30)
                .is_some()
        );
        // During the period: not a pre-sale window.
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 6, 25, 8, 0, 0), 30)
                .is_none()
        );
        // Across the year end: 20 December is within 30 days of 7 January 2026.
        let p = cal
            .in_pre_sales_window(n, at(n, 2025, 12, 20, 12, 0, 0), 30)
            .unwrap();
        assert_eq!((p.season, p.year), (Season::Winter, 2026));
        // Degenerate windows.
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 6, 20, 12, 0, 0), 0)
                .is_none()
        );
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 6, 20, 12, 0, 0), -5)
                .is_none()
        );
        assert!(
            cal.in_pre_sales_window(n, at(n, 2025, 3, 1, 12, 0, 0), i64::MAX)
                .is_some()
        );
    }

    #[test]
    fn next_period_start_after() {
        let cal = Calendar::builtin();
        let n = Zone::National;
        let p = cal
            .next_period_start_after(n, at(n, 2025, 2, 10, 0, 0, 0))
            .unwrap();
        assert_eq!(p.first_day, d(2025, 6, 25));
        // Inside a period: the next one.
        let p = cal
            .next_period_start_after(n, at(n, 2025, 7, 1, 0, 0, 0))
            .unwrap();
        assert_eq!(p.first_day, d(2026, 1, 7));
        // Exactly at a start: strictly after, so the following one.
        let p = cal
            .next_period_start_after(n, at(n, 2025, 1, 8, 8, 0, 0))
            .unwrap();
        assert_eq!(p.first_day, d(2025, 6, 25));
    }

    #[test]
    fn parse_zones() {
        let cases = [
            ("national", Zone::National),
            ("FR", Zone::National),
            ("75", Zone::National),
            ("01", Zone::National),
            ("54", Zone::Lorraine),
            ("55", Zone::Lorraine),
            ("57", Zone::Lorraine),
            ("88", Zone::Lorraine),
            ("lorraine", Zone::Lorraine),
            ("2A", Zone::Corse),
            ("2b", Zone::Corse),
            ("corse", Zone::Corse),
            ("971", Zone::Guadeloupe),
            ("guadeloupe", Zone::Guadeloupe),
            ("972", Zone::Martinique),
            ("martinique", Zone::Martinique),
            ("974", Zone::Reunion),
            ("reunion", Zone::Reunion),
            ("La Réunion", Zone::Reunion),
            ("975", Zone::SaintPierreEtMiquelon),
            ("saint-pierre-et-miquelon", Zone::SaintPierreEtMiquelon),
            ("977", Zone::SaintBarthelemy),
            ("saint-barthélemy", Zone::SaintBarthelemy),
            ("978", Zone::SaintMartin),
            ("saint-martin", Zone::SaintMartin),
            ("06", Zone::AlpesMaritimes),
            ("66", Zone::PyreneesOrientales),
            ("973", Zone::Guyane),
            ("guyane", Zone::Guyane),
            ("976", Zone::Mayotte),
            ("mayotte", Zone::Mayotte),
            ("belgium", Zone::Belgium),
            ("be", Zone::Belgium),
            (" Belgique ", Zone::Belgium),
        ];
        for (s, z) in cases {
            assert_eq!(s.parse::<Zone>(), Ok(z), "{s}");
        }
        // Every stable id parses back, and Display is the id.
        for z in Zone::ALL {
            assert_eq!(z.as_str().parse::<Zone>(), Ok(z));
            assert_eq!(z.to_string(), z.as_str());
        }
    }

    #[test]
    fn parse_zone_errors_list_valid_values() {
        for bad in ["atlantis", "", "96", "00", "20x", "979"] {
            let err = bad.parse::<Zone>().unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("unknown zone"), "{msg}");
            for valid in ["national", "lorraine", "corse", "971", "2A", "belgium"] {
                assert!(msg.contains(valid), "{msg} lacks {valid}");
            }
        }
        assert!(
            "atlantis"
                .parse::<Zone>()
                .unwrap_err()
                .to_string()
                .contains("\"atlantis\"")
        );
    }

    #[test]
    fn seasons() {
        assert_eq!(Season::Winter.as_str(), "winter");
        assert_eq!(Season::Summer.as_str(), "summer");
        assert_eq!("hiver".parse::<Season>(), Ok(Season::Winter));
        assert_eq!("Été".parse::<Season>(), Ok(Season::Summer));
        assert!(
            "spring"
                .parse::<Season>()
                .unwrap_err()
                .to_string()
                .contains("winter")
        );
    }

    #[test]
    fn serde_zone_and_season() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let z: Result<Zone, Error> =
            Zone::deserialize::<StrDeserializer<'_, Error>>("2A".into_deserializer());
        assert_eq!(z, Ok(Zone::Corse));
        let z: Result<Zone, Error> =
            Zone::deserialize::<StrDeserializer<'_, Error>>("nowhere".into_deserializer());
        assert!(z.unwrap_err().to_string().contains("valid:"));
        let s: Result<Season, Error> =
            Season::deserialize::<StrDeserializer<'_, Error>>("summer".into_deserializer());
        assert_eq!(s, Ok(Season::Summer));
    }

    #[test]
    fn no_panic_far_years() {
        let cal = Calendar::builtin();
        for year in [
            1900,
            2200,
            -5000,
            262_142,
            262_143,
            300_000,
            i32::MIN,
            i32::MAX,
        ] {
            for zone in Zone::ALL {
                let ps = cal.periods(zone, year);
                assert!(ps.len() <= 2);
            }
        }
        // Rules still apply outside 2020–2040.
        assert_eq!(
            dates(&cal, Zone::National, Season::Winter, 1900),
            (d(1900, 1, 10), d(1900, 2, 6))
        );
        assert_eq!(cal.periods(Zone::National, 2200).len(), 2);
        assert_eq!(cal.periods(Zone::Belgium, 2200).len(), 2);
        for zone in Zone::ALL {
            for instant in [
                utc(1900, 1, 15, 12, 0, 0),
                utc(2200, 7, 15, 12, 0, 0),
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC,
            ] {
                let _ = cal.period_at(zone, instant);
                let _ = cal.next_period_start_after(zone, instant);
                let _ = cal.in_pre_sales_window(zone, instant, 30);
                let _ = cal.in_announcement_ban(zone, instant);
            }
        }
        assert!(
            cal.period_at(Zone::National, utc(2200, 1, 20, 12, 0, 0))
                .is_some()
        );
        assert!(
            cal.period_at(Zone::National, utc(1900, 1, 20, 12, 0, 0))
                .is_some()
        );
    }

    #[test]
    fn dst_gap_and_overlap_are_resolved() {
        let paris = chrono_tz::Europe::Paris;
        // 30 March 2025 02:30 does not exist in Paris: the transition instant.
        let gap = local_instant(paris, d(2025, 3, 30), 2).unwrap();
        assert_eq!(gap, utc(2025, 3, 30, 1, 0, 0));
        // 26 October 2025 02:00 happens twice: the first one.
        let twice = resolve_local(paris, d(2025, 10, 26).and_hms_opt(2, 30, 0).unwrap()).unwrap();
        assert_eq!(twice, utc(2025, 10, 26, 0, 30, 0));
    }
}
