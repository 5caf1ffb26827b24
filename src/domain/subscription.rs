//! A retailer's own choices, made in the console ("my alerts"): they win
//! over the watchlist's initial values and survive restarts and reloads.

use chrono::{DateTime, NaiveTime, Utc, Weekday};

use super::{Digest, Language};

/// When a subscriber's findings are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One email per shop and scan, as soon as the scan ends.
    Immediate,
    /// One digest a day at this local time.
    Daily(NaiveTime),
    /// One digest a week on this day at this local time.
    Weekly(Weekday, NaiveTime),
}

impl Delivery {
    /// The digest its outbox rows wait for: `None` for immediate delivery.
    pub fn digest(&self) -> Option<Digest> {
        match self {
            Delivery::Immediate => None,
            Delivery::Daily(_) => Some(Digest::Daily),
            Delivery::Weekly(..) => Some(Digest::Weekly),
        }
    }

    /// When something queued at `now` goes out, in time zone `tz`: `now`
    /// for immediate delivery, else the next digest time after `now`. A
    /// time skipped by a daylight-saving change is sent at the first valid
    /// instant after it.
    pub fn next_after(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
        use chrono::{Datelike, Duration, TimeZone};
        let (time, day) = match *self {
            Delivery::Immediate => return now,
            Delivery::Daily(t) => (t, None),
            Delivery::Weekly(d, t) => (t, Some(d)),
        };
        let local = now.with_timezone(&tz).date_naive();
        for offset in 0..=8 {
            let date = local + Duration::days(offset);
            if day.is_some_and(|d| date.weekday() != d) {
                continue;
            }
            let at = (0..4).find_map(|h| {
                tz.from_local_datetime(&date.and_time(time + Duration::hours(h)))
                    .earliest()
            });
            if let Some(at) = at.map(|t| t.with_timezone(&Utc))
                && at > now
            {
                return at;
            }
        }
        now
    }
}

/// `immediate`, `daily 08:00` or `weekly monday 08:00`: how a choice is stored.
impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivery::Immediate => f.write_str("immediate"),
            Delivery::Daily(t) => write!(f, "daily {}", t.format("%H:%M")),
            Delivery::Weekly(d, t) => {
                write!(f, "weekly {} {}", weekday_name(*d), t.format("%H:%M"))
            }
        }
    }
}

/// A stored delivery choice that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a delivery (immediate, daily HH:MM or weekly DAY HH:MM)")]
pub struct DeliveryError(pub String);

impl std::str::FromStr for Delivery {
    type Err = DeliveryError;
    fn from_str(s: &str) -> Result<Delivery, DeliveryError> {
        let bad = || DeliveryError(s.to_string());
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| bad());
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["immediate"] => Ok(Delivery::Immediate),
            ["daily", t] => Ok(Delivery::Daily(time(t)?)),
            ["weekly", d, t] => Ok(Delivery::Weekly(
                d.parse::<Weekday>().map_err(|_| bad())?,
                time(t)?,
            )),
            _ => Err(bad()),
        }
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// A subscriber's choices as stored (table `subscriptions`, one row per
/// address). A field left `None` keeps the watchlist's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    /// The address, lower-case: the key.
    pub email: String,
    /// Brands followed (canonical names), when chosen.
    pub brands: Option<Vec<String>>,
    /// Delivery, when chosen.
    pub delivery: Option<Delivery>,
    /// Language, when chosen.
    pub language: Option<Language>,
    /// No alert is queued while paused.
    pub paused: bool,
    /// When the address unsubscribed: nothing is queued or sent to it.
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// Bumped to revoke every link sent so far.
    pub link_version: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Preference {
    /// No choice made yet for `email`.
    pub fn new(email: &str, now: DateTime<Utc>) -> Preference {
        Preference {
            email: email.to_ascii_lowercase(),
            brands: None,
            delivery: None,
            language: None,
            paused: false,
            unsubscribed_at: None,
            link_version: 0,
            updated_at: now,
        }
    }

    /// Whether alerts may be queued for this address.
    pub fn receives(&self) -> bool {
        !self.paused && self.unsubscribed_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_round_trip_through_their_stored_text() {
        let t = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        for d in [
            Delivery::Immediate,
            Delivery::Daily(t),
            Delivery::Weekly(Weekday::Fri, t),
        ] {
            assert_eq!(d.to_string().parse::<Delivery>(), Ok(d));
        }
        assert_eq!(Delivery::Daily(t).to_string(), "daily 07:30");
        assert!("daily 25:00".parse::<Delivery>().is_err());
        assert!("hourly".parse::<Delivery>().is_err());
    }
}
