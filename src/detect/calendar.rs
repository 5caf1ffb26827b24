//! Legal sales periods (interim: national calendar; zones come with the full module).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// A sales-period zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// Metropolitan France and every e-shop.
    National,
}

/// An unknown zone name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown zone {0:?}; valid: national")]
pub struct ZoneError(String);

impl FromStr for Zone {
    type Err = ZoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "national" | "fr" => Ok(Zone::National),
            _ => Err(ZoneError(s.to_string())),
        }
    }
}

impl Zone {
    /// Stable id.
    pub fn as_str(&self) -> &'static str {
        "national"
    }
    /// Time zone of the zone.
    pub fn time_zone(&self) -> Tz {
        chrono_tz::Europe::Paris
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Winter or summer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Season {
    /// January.
    Winter,
    /// June–July.
    Summer,
}

impl Season {
    /// `winter` / `summer`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Season::Winter => "winter",
            Season::Summer => "summer",
        }
    }
}

/// One legal sales period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesPeriod {
    /// Zone.
    pub zone: Zone,
    /// Season.
    pub season: Season,
    /// Year.
    pub year: i32,
    /// First day (local).
    pub first_day: NaiveDate,
    /// Last day (local, inclusive).
    pub last_day: NaiveDate,
    /// Start instant (08:00 local).
    pub start: DateTime<Utc>,
    /// End instant, exclusive (00:00 local the day after the last day).
    pub end: DateTime<Utc>,
}

/// The calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar;

fn nth_weekday(year: i32, month: u32, wd: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, wd, n)
}

fn last_weekday(year: i32, month: u32, wd: Weekday) -> Option<NaiveDate> {
    (1..=5).rev().find_map(|n| nth_weekday(year, month, wd, n))
}

fn local(tz: Tz, d: NaiveDate, h: u32) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&d.and_hms_opt(h, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

impl Calendar {
    /// The built-in calendar.
    pub fn builtin() -> Self {
        Calendar
    }

    /// Both periods of a year.
    pub fn periods(&self, zone: Zone, year: i32) -> Vec<SalesPeriod> {
        let mut out = Vec::new();
        let winter = nth_weekday(year, 1, Weekday::Wed, 2).and_then(|d| {
            if d.day() > 12 {
                nth_weekday(year, 1, Weekday::Wed, 1)
            } else {
                Some(d)
            }
        });
        let summer = last_weekday(year, 6, Weekday::Wed).map(|d| {
            if d.day() > 28 {
                d - Duration::days(7)
            } else {
                d
            }
        });
        for (season, first) in [(Season::Winter, winter), (Season::Summer, summer)] {
            let Some(first_day) = first else { continue };
            let last_day = first_day + Duration::days(27);
            let tz = zone.time_zone();
            if let (Some(start), Some(end)) = (
                local(tz, first_day, 8),
                local(tz, last_day + Duration::days(1), 0),
            ) {
                out.push(SalesPeriod {
                    zone,
                    season,
                    year,
                    first_day,
                    last_day,
                    start,
                    end,
                });
            }
        }
        out
    }

    /// The period in force at an instant.
    pub fn period_at(&self, zone: Zone, instant: DateTime<Utc>) -> Option<SalesPeriod> {
        let y = instant.with_timezone(&zone.time_zone()).year();
        (y - 1..=y)
            .flat_map(|y| self.periods(zone, y))
            .find(|p| p.start <= instant && instant < p.end)
    }

    /// The next period starting after an instant.
    pub fn next_period_start_after(
        &self,
        zone: Zone,
        instant: DateTime<Utc>,
    ) -> Option<SalesPeriod> {
        let y = instant.with_timezone(&zone.time_zone()).year();
        (y..=y + 1)
            .flat_map(|y| self.periods(zone, y))
            .find(|p| p.start > instant)
    }
}
