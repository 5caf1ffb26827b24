//! Crontab lines for shop schedules, with the meaning Vixie cron gives them.
//!
//! Watchlists use standard 5-field crontab lines (`minute hour day-of-month
//! month day-of-week`) or one of `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight`, `@hourly`. The `cron` crate reads a
//! different dialect (a seconds field, day-of-week 1–7 with 1 = Sunday, the
//! two day fields ANDed), so each field is parsed here, as Vixie cron parses
//! it, into an explicit list the `cron` crate then only iterates over:
//!
//! - day-of-week is 0–7 (0 and 7 are Sunday, 1 is Monday) or `SUN`…`SAT`;
//!   numbers, names, ranges, lists and steps (`*/2`, `1-5/2`) are accepted;
//! - when both day fields are restricted (neither starts with `*`), a day
//!   matches if *either* matches (`0 0 13 * 5`: every 13th and every
//!   Friday); when one starts with `*`, the other alone decides;
//! - a step needs a range or `*` (`5/15` is refused, as in Vixie cron);
//!   ranges do not wrap (`5-1` is refused).
//!
//! Times are read on the wall clock of a time zone ([`DEFAULT_TZ`] unless
//! another is given). Daylight-saving changes follow Vixie cron:
//!
//! - a *fixed-time* line (neither the minute nor the hour field starts with
//!   `*`): a time skipped by the spring change runs once, at the first
//!   instant after the gap (`30 2 * * *` runs at 03:00 on the day clocks go
//!   from 02:00 to 03:00); a time repeated by the autumn change runs once,
//!   the first time;
//! - a *wildcard* line (`*/15 * * * *`, `0 * * * *`, `@hourly`) follows the
//!   new wall clock at once: skipped times do not run, repeated times run
//!   again.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The time zone schedules are read in unless another is configured.
pub const DEFAULT_TZ: Tz = chrono_tz::Europe::Paris;

/// The largest daylight-saving shift searched around a time (all shifts in
/// the tz database are at most 2 hours, date-line changes aside, whose gaps
/// are still handled).
const DST_MARGIN: chrono::Duration = chrono::Duration::hours(3);

/// A parsed crontab line, evaluated in a time zone.
#[derive(Debug, Clone)]
pub struct Crontab {
    line: String,
    tz: Tz,
    /// One schedule, or two (day-of-month alone, day-of-week alone) whose
    /// union is the line when both day fields are restricted. They run on
    /// naive wall-clock times (expressed in UTC, which has no DST).
    schedules: Vec<cron::Schedule>,
    /// Whether the minute or hour field starts with `*` (Vixie's
    /// `MIN_STAR | HR_STAR`): such lines follow the new wall clock at DST
    /// changes instead of catching up.
    wildcard: bool,
}

impl PartialEq for Crontab {
    /// Two crontabs are equal when they read the same line in the same zone.
    fn eq(&self, other: &Crontab) -> bool {
        self.line == other.line && self.tz == other.tz
    }
}

impl Crontab {
    /// The same line, read on the wall clock of `tz`.
    pub fn in_zone(&self, tz: Tz) -> Crontab {
        Crontab { tz, ..self.clone() }
    }
}

/// How a field is read.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names of the values from `min` on (months from 1, days from 0).
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// What is wrong with one field of a crontab line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A number outside the field's range.
    #[error("{field} {value} is out of range ({min}-{max})")]
    OutOfRange {
        /// The field (`minute`, `hour`…).
        field: &'static str,
        /// The number written.
        value: u32,
        /// The smallest value allowed.
        min: u32,
        /// The largest value allowed.
        max: u32,
    },
    /// Text where a number is needed.
    #[error("{field} {text:?} is not a number")]
    NotANumber {
        /// The field.
        field: &'static str,
        /// What was written.
        text: String,
    },
    /// Text that is neither a number nor a month or day name.
    #[error("{field} {text:?} is neither a number nor a name ({examples}…)")]
    NotANumberOrName {
        /// The field.
        field: &'static str,
        /// What was written.
        text: String,
        /// The first names the field accepts.
        examples: String,
    },
    /// A step (`/n`) that is not a positive number.
    #[error("{field} step {step:?} is not a positive number")]
    BadStep {
        /// The field.
        field: &'static str,
        /// The step written.
        step: String,
    },
    /// A range whose end comes before its start.
    #[error("{field} range {range} goes backwards")]
    Backwards {
        /// The field.
        field: &'static str,
        /// The range written.
        range: String,
    },
    /// A step after a single value.
    #[error("{field} {item:?}: a step needs a range or `*` (e.g. \"*/{step}\")")]
    StepWithoutRange {
        /// The field.
        field: &'static str,
        /// The item written.
        item: String,
        /// Its step.
        step: u32,
    },
}

/// Why a crontab line cannot be read; each names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrontabError {
    /// An `@` word other than the shorthands Vigie knows.
    #[error(
        "{line:?} is not a schedule Vigie knows; use a 5-field crontab line or one of @yearly, @monthly, @weekly, @daily, @hourly"
    )]
    UnknownShorthand {
        /// The line.
        line: String,
    },
    /// Not five fields.
    #[error(
        "{line:?} is not a 5-field crontab line (minute hour day-of-month month day-of-week), e.g. \"0 6 * * *\" for 06:00 every day"
    )]
    FieldCount {
        /// The line.
        line: String,
    },
    /// A field that cannot be read.
    #[error("{line:?} is not a valid crontab line: {problem}")]
    Field {
        /// The line.
        line: String,
        /// What is wrong with the field.
        problem: FieldError,
    },
    /// Fields the calendar walk refuses.
    #[error("{line:?} is not a valid crontab line: {reason}")]
    Calendar {
        /// The line.
        line: String,
        /// The calendar's reason.
        reason: String,
    },
    /// A line no date matches (`0 0 31 2 *`).
    #[error("{line:?} never matches a date")]
    NeverMatches {
        /// The line.
        line: String,
    },
}

impl Field {
    fn value(&self, text: &str) -> Result<u32, FieldError> {
        if let Ok(n) = text.parse::<u32>() {
            if (self.min..=self.max).contains(&n) {
                return Ok(n);
            }
            return Err(FieldError::OutOfRange {
                field: self.name,
                value: n,
                min: self.min,
                max: self.max,
            });
        }
        let lower = text.to_ascii_lowercase();
        match self.names.iter().position(|n| *n == lower) {
            Some(i) => Ok(self.min + i as u32),
            None if self.names.is_empty() => Err(FieldError::NotANumber {
                field: self.name,
                text: text.to_string(),
            }),
            None => Err(FieldError::NotANumberOrName {
                field: self.name,
                text: text.to_string(),
                examples: self.names[..3].join(", "),
            }),
        }
    }

    /// The values a field lists, and whether it starts with `*`.
    fn parse(&self, text: &str) -> Result<(BTreeSet<u32>, bool), FieldError> {
        let mut values = BTreeSet::new();
        for item in text.split(',') {
            let (base, step) = match item.split_once('/') {
                Some((b, s)) => {
                    let step = s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(|| {
                        FieldError::BadStep {
                            field: self.name,
                            step: s.to_string(),
                        }
                    })?;
                    (b, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if base == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = base.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(FieldError::Backwards {
                        field: self.name,
                        range: base.to_string(),
                    });
                }
                (a, b)
            } else {
                if step.is_some() {
                    return Err(FieldError::StepWithoutRange {
                        field: self.name,
                        item: item.to_string(),
                        step: step.unwrap_or(1),
                    });
                }
                let v = self.value(base)?;
                (v, v)
            };
            values.extend((lo..=hi).step_by(step.unwrap_or(1) as usize));
        }
        Ok((values, text.starts_with('*')))
    }
}

/// A set of values as the `cron` crate reads it: `*` when full, else a list.
fn cron_list(values: &BTreeSet<u32>, min: u32, max: u32) -> String {
    if values.len() == (max - min + 1) as usize {
        "*".to_string()
    } else {
        values
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The 5-field line a `@` shorthand stands for.
fn expand_shorthand(line: &str) -> Option<&'static str> {
    match line.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Some("0 0 1 1 *"),
        "@monthly" => Some("0 0 1 * *"),
        "@weekly" => Some("0 0 * * 0"),
        "@daily" | "@midnight" => Some("0 0 * * *"),
        "@hourly" => Some("0 * * * *"),
        _ => None,
    }
}

/// Parses a crontab line read in [`DEFAULT_TZ`].
pub fn parse_crontab(line: &str) -> Result<Crontab, CrontabError> {
    Crontab::parse(line, DEFAULT_TZ)
}

impl Crontab {
    /// Parses a 5-field crontab line or a `@` shorthand, to be read on the
    /// wall clock of `tz`. Errors name the line.
    pub fn parse(line: &str, tz: Tz) -> Result<Crontab, CrontabError> {
        let trimmed = line.trim();
        let expanded = if trimmed.starts_with('@') {
            expand_shorthand(trimmed).ok_or_else(|| CrontabError::UnknownShorthand {
                line: line.to_string(),
            })?
        } else {
            trimmed
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CrontabError::FieldCount {
                line: line.to_string(),
            });
        }
        let invalid = |problem: FieldError| CrontabError::Field {
            line: line.to_string(),
            problem,
        };
        let (minutes, min_star) = MINUTE.parse(fields[0]).map_err(invalid)?;
        let (hours, hour_star) = HOUR.parse(fields[1]).map_err(invalid)?;
        let (doms, dom_star) = DAY_OF_MONTH.parse(fields[2]).map_err(invalid)?;
        let (months, _) = MONTH.parse(fields[3]).map_err(invalid)?;
        let (dows, dow_star) = DAY_OF_WEEK.parse(fields[4]).map_err(invalid)?;
        // Crontab's 0–7 (0 and 7 Sunday) to the cron crate's 1–7 (1 Sunday).
        let dows: BTreeSet<u32> = dows.into_iter().map(|d| d % 7 + 1).collect();
        let head = format!(
            "0 {} {}",
            cron_list(&minutes, 0, 59),
            cron_list(&hours, 0, 23)
        );
        let month = cron_list(&months, 1, 12);
        let dom = cron_list(&doms, 1, 31);
        let dow = cron_list(&dows, 1, 7);
        let expressions = if dom_star || dow_star {
            vec![format!("{head} {dom} {month} {dow}")]
        } else {
            // Both restricted: a day matches if either field matches.
            vec![
                format!("{head} {dom} {month} *"),
                format!("{head} * {month} {dow}"),
            ]
        };
        let schedules = expressions
            .iter()
            .map(|e| {
                cron::Schedule::from_str(e).map_err(|err| CrontabError::Calendar {
                    line: line.to_string(),
                    reason: err.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let crontab = Crontab {
            line: line.to_string(),
            tz,
            schedules,
            wildcard: min_star || hour_star,
        };
        let epoch = NaiveDateTime::default();
        if crontab.next_slot(epoch).is_none() {
            return Err(CrontabError::NeverMatches {
                line: line.to_string(),
            });
        }
        Ok(crontab)
    }

    /// The line as written in the watchlist.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The time zone the line is read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The same line read in another time zone.
    pub fn with_tz(mut self, tz: Tz) -> Crontab {
        self.tz = tz;
        self
    }

    /// Whether the minute or hour field starts with `*` (such a line follows
    /// the new wall clock at DST changes rather than catching up).
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The first wall-clock time the line names strictly after `after`.
    fn next_slot(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let after = after.and_utc();
        self.schedules
            .iter()
            .filter_map(|s| s.after(&after).next())
            .min()
            .map(|t| t.naive_utc())
    }

    /// The last wall-clock time the line names strictly before `before`.
    fn prev_slot(&self, before: NaiveDateTime) -> Option<NaiveDateTime> {
        let before = before.and_utc();
        self.schedules
            .iter()
            .filter_map(|s| s.after(&before).next_back())
            .max()
            .map(|t| t.naive_utc())
    }

    /// The instants a wall-clock time fires at (none, one, or two for a
    /// wildcard line in the repeated hour).
    fn instants(&self, slot: NaiveDateTime) -> Vec<DateTime<Utc>> {
        match self.tz.from_local_datetime(&slot) {
            LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
            LocalResult::Ambiguous(first, second) if self.wildcard => {
                vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
            }
            LocalResult::Ambiguous(first, _) => vec![first.with_timezone(&Utc)],
            LocalResult::None if self.wildcard => Vec::new(),
            LocalResult::None => self.after_gap(slot).into_iter().collect(),
        }
    }

    /// The first valid instant after the DST gap `slot` falls in (the gap
    /// ends on a whole minute in every current zone).
    fn after_gap(&self, slot: NaiveDateTime) -> Option<DateTime<Utc>> {
        let mut t = slot;
        // A gap lasts at most a day (date-line changes).
        for _ in 0..=(26 * 60) {
            t += chrono::Duration::minutes(1);
            if let Some(i) = self.tz.from_local_datetime(&t).earliest() {
                return Some(i.with_timezone(&Utc));
            }
        }
        None
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// The first instant the line fires at strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut cursor = self.local(after) - DST_MARGIN;
        let mut best: Option<DateTime<Utc>> = None;
        loop {
            let Some(slot) = self.next_slot(cursor) else {
                return best;
            };
            if let Some(b) = best
                && slot > self.local(b) + DST_MARGIN
            {
                return best;
            }
            for i in self.instants(slot) {
                if i > after && best.is_none_or(|b| i < b) {
                    best = Some(i);
                }
            }
            cursor = slot;
        }
    }

    /// The last instant the line fired at, at or before `at`.
    pub fn prev_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut cursor = self.local(at) + DST_MARGIN + chrono::Duration::seconds(1);
        let mut best: Option<DateTime<Utc>> = None;
        loop {
            let Some(slot) = self.prev_slot(cursor) else {
                return best;
            };
            if let Some(b) = best
                && slot < self.local(b) - DST_MARGIN
            {
                return best;
            }
            for i in self.instants(slot) {
                if i <= at && best.is_none_or(|b| i > b) {
                    best = Some(i);
                }
            }
            cursor = slot;
        }
    }

    /// The instants the line fires at after `after`, in order.
    pub fn upcoming(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after(after), move |t| self.next_after(*t))
    }
}

impl fmt::Display for Crontab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.line, self.tz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn paris(line: &str) -> Crontab {
        parse_crontab(line).unwrap_or_else(|e| panic!("{e}"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The next `n` firings after `from`, as Paris wall-clock strings.
    fn next_n(c: &Crontab, from: &str, n: usize) -> Vec<String> {
        c.upcoming(utc(from))
            .take(n)
            .map(|t| {
                t.with_timezone(&c.tz())
                    .format("%a %F %H:%M %:z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn five_fields_are_accepted_and_others_refused() {
        assert!(parse_crontab("0 6 * * *").is_ok());
        assert!(parse_crontab("*/15 8-20 * * 1-5").is_ok());
        assert!(parse_crontab("0 0 6 * * *").is_err());
        assert!(parse_crontab("every day").is_err());
        assert!(parse_crontab("61 * * * *").is_err());
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        assert_eq!(
            parse_crontab("61 * * * *").unwrap_err(),
            CrontabError::Field {
                line: "61 * * * *".into(),
                problem: FieldError::OutOfRange {
                    field: "minute",
                    value: 61,
                    min: 0,
                    max: 59
                }
            }
        );
        let e = parse_crontab("61 * * * *").unwrap_err().to_string();
        assert!(
            e.contains("\"61 * * * *\"") && e.contains("minute 61"),
            "{e}"
        );
        let e = parse_crontab("0 6 * * 8").unwrap_err().to_string();
        assert!(
            e.contains("\"0 6 * * 8\"") && e.contains("day-of-week 8"),
            "{e}"
        );
        let e = parse_crontab("0 6 * * FUN").unwrap_err().to_string();
        assert!(e.contains("FUN"), "{e}");
        let e = parse_crontab("5/15 * * * *").unwrap_err().to_string();
        assert!(e.contains("step needs a range"), "{e}");
        let e = parse_crontab("0 6 * * 5-1").unwrap_err().to_string();
        assert!(e.contains("backwards"), "{e}");
        let e = parse_crontab("*/0 * * * *").unwrap_err().to_string();
        assert!(e.contains("positive"), "{e}");
        let e = parse_crontab("0 0 30 2 *").unwrap_err().to_string();
        assert!(e.contains("never matches"), "{e}");
        let e = parse_crontab("@reboot").unwrap_err().to_string();
        assert!(e.contains("@reboot") && e.contains("@daily"), "{e}");
        let e = parse_crontab("0 0 6 * * *").unwrap_err().to_string();
        assert!(
            e.contains("\"0 0 6 * * *\"") && e.contains("5-field"),
            "{e}"
        );
    }

    #[test]
    fn weekdays_are_monday_to_friday() {
        // 2026-03-02 is a Monday.
        let c = paris("0 9 * * 1-5");
        assert_eq!(
            next_n(&c, "2026-03-01T00:00:00Z", 6),
            [
                "Mon 2026-03-02 09:00 +01:00",
                "Tue 2026-03-03 09:00 +01:00",
                "Wed 2026-03-04 09:00 +01:00",
                "Thu 2026-03-05 09:00 +01:00",
                "Fri 2026-03-06 09:00 +01:00",
                "Mon 2026-03-09 09:00 +01:00",
            ]
        );
        // Names mean the same.
        let n = paris("0 9 * * mon-FRI");
        assert_eq!(
            next_n(&n, "2026-03-01T00:00:00Z", 6),
            next_n(&c, "2026-03-01T00:00:00Z", 6)
        );
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        for line in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN", "0 9 * * sun"] {
            let c = paris(line);
            let fires: Vec<_> = c.upcoming(utc("2026-03-01T12:00:00Z")).take(4).collect();
            for t in &fires {
                assert_eq!(
                    t.with_timezone(&DEFAULT_TZ).weekday(),
                    Weekday::Sun,
                    "{line}"
                );
            }
            assert_eq!(
                fires[0].with_timezone(&DEFAULT_TZ).date_naive().to_string(),
                "2026-03-08",
                "{line}"
            );
        }
        // 5-7: Friday, Saturday, Sunday.
        let c = paris("0 9 * * 5-7");
        let days: Vec<Weekday> = c
            .upcoming(utc("2026-03-01T12:00:00Z"))
            .take(6)
            .map(|t| t.with_timezone(&DEFAULT_TZ).weekday())
            .collect();
        assert_eq!(
            days,
            [
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun
            ]
        );
    }

    #[test]
    fn day_of_week_lists_and_steps() {
        let weekdays = |line: &str| -> Vec<Weekday> {
            paris(line)
                .upcoming(utc("2026-03-01T12:00:00Z")) // a Sunday, after 9:00
                .take(7)
                .map(|t| t.with_timezone(&DEFAULT_TZ).weekday())
                .collect()
        };
        use Weekday::*;
        // */2 over 0-7: Sunday, Tuesday, Thursday, Saturday.
        assert_eq!(weekdays("0 9 * * */2"), [Tue, Thu, Sat, Sun, Tue, Thu, Sat]);
        // 1-5/2: Monday, Wednesday, Friday.
        assert_eq!(
            weekdays("0 9 * * 1-5/2"),
            [Mon, Wed, Fri, Mon, Wed, Fri, Mon]
        );
        // A list mixing numbers and names, Sunday as 7.
        assert_eq!(
            weekdays("0 9 * * 7,tue,4"),
            [Tue, Thu, Sun, Tue, Thu, Sun, Tue]
        );
    }

    #[test]
    fn both_day_fields_restricted_means_either() {
        // Every 13th AND every Friday (Vixie), not Friday the 13th only.
        let c = paris("0 0 13 * 5");
        assert_eq!(
            next_n(&c, "2026-02-01T00:00:00Z", 8),
            [
                "Fri 2026-02-06 00:00 +01:00",
                "Fri 2026-02-13 00:00 +01:00", // both
                "Fri 2026-02-20 00:00 +01:00",
                "Fri 2026-02-27 00:00 +01:00",
                "Fri 2026-03-06 00:00 +01:00",
                "Fri 2026-03-13 00:00 +01:00", // both again
                "Fri 2026-03-20 00:00 +01:00",
                "Fri 2026-03-27 00:00 +01:00",
            ]
        );
        let c = paris("0 0 13 * 5");
        assert_eq!(
            next_n(&c, "2026-04-01T00:00:00Z", 3),
            [
                "Fri 2026-04-03 00:00 +02:00",
                "Fri 2026-04-10 00:00 +02:00",
                "Mon 2026-04-13 00:00 +02:00", // the 13th, not a Friday
            ]
        );
        // With one field `*` (even `*/2`), the other alone decides.
        let c = paris("0 0 13 * *");
        assert!(
            c.upcoming(utc("2026-01-01T00:00:00Z"))
                .take(12)
                .all(|t| t.with_timezone(&DEFAULT_TZ).day() == 13)
        );
        let c = paris("0 0 * * 5");
        assert!(
            c.upcoming(utc("2026-01-01T00:00:00Z"))
                .take(12)
                .all(|t| t.with_timezone(&DEFAULT_TZ).weekday() == Weekday::Fri)
        );
        // Vixie: a field starting with `*` counts as unrestricted, so
        // `*/2` in day-of-month is ANDed with Friday.
        let c = paris("0 0 */2 * 5");
        for t in c.upcoming(utc("2026-01-01T00:00:00Z")).take(10) {
            let l = t.with_timezone(&DEFAULT_TZ);
            assert_eq!(l.weekday(), Weekday::Fri);
            assert_eq!(l.day() % 2, 1, "{l}");
        }
    }

    #[test]
    fn shorthands() {
        let first = |line: &str| next_n(&paris(line), "2026-05-10T10:20:00Z", 2);
        assert_eq!(
            first("@hourly"),
            ["Sun 2026-05-10 13:00 +02:00", "Sun 2026-05-10 14:00 +02:00"]
        );
        assert_eq!(
            first("@daily"),
            ["Mon 2026-05-11 00:00 +02:00", "Tue 2026-05-12 00:00 +02:00"]
        );
        assert_eq!(first("@midnight"), first("@daily"));
        assert_eq!(
            first("@weekly"),
            ["Sun 2026-05-17 00:00 +02:00", "Sun 2026-05-24 00:00 +02:00"]
        );
        assert_eq!(
            first("@monthly"),
            ["Mon 2026-06-01 00:00 +02:00", "Wed 2026-07-01 00:00 +02:00"]
        );
        assert_eq!(
            first("@yearly"),
            ["Fri 2027-01-01 00:00 +01:00", "Sat 2028-01-01 00:00 +01:00"]
        );
        assert_eq!(first("@annually"), first("@yearly"));
        assert!(paris("@hourly").is_wildcard());
        assert!(!paris("@daily").is_wildcard());
    }

    #[test]
    fn months_by_name_and_steps() {
        let c = paris("0 6 1 jan,JUL *");
        assert_eq!(
            next_n(&c, "2026-03-01T00:00:00Z", 2),
            ["Wed 2026-07-01 06:00 +02:00", "Fri 2027-01-01 06:00 +01:00"]
        );
        let c = paris("*/20 8-9 * * *");
        assert_eq!(
            next_n(&c, "2026-03-02T06:50:00Z", 7),
            [
                "Mon 2026-03-02 08:00 +01:00",
                "Mon 2026-03-02 08:20 +01:00",
                "Mon 2026-03-02 08:40 +01:00",
                "Mon 2026-03-02 09:00 +01:00",
                "Mon 2026-03-02 09:20 +01:00",
                "Mon 2026-03-02 09:40 +01:00",
                "Tue 2026-03-03 08:00 +01:00",
            ]
        );
    }

    #[test]
    fn a_time_skipped_in_spring_runs_once_right_after_the_gap() {
        // 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        let c = paris("30 2 * * *");
        assert_eq!(
            next_n(&c, "2026-03-27T12:00:00Z", 4),
            [
                "Sat 2026-03-28 02:30 +01:00",
                "Sun 2026-03-29 03:00 +02:00", // 02:30 does not exist: at once after the gap
                "Mon 2026-03-30 02:30 +02:00",
                "Tue 2026-03-31 02:30 +02:00",
            ]
        );
        assert_eq!(
            c.next_after(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // Two skipped times (02:00 and 02:30) and 03:00 itself: one run.
        let c = paris("0,30 2,3 * * *");
        assert_eq!(
            next_n(&c, "2026-03-29T00:00:00Z", 3),
            [
                "Sun 2026-03-29 03:00 +02:00",
                "Sun 2026-03-29 03:30 +02:00",
                "Mon 2026-03-30 02:00 +02:00",
            ]
        );
        // A wildcard line follows the new clock: nothing for 02:xx.
        let c = paris("*/30 * * * *");
        assert_eq!(
            next_n(&c, "2026-03-29T00:00:00Z", 3),
            [
                "Sun 2026-03-29 01:30 +01:00",
                "Sun 2026-03-29 03:00 +02:00",
                "Sun 2026-03-29 03:30 +02:00",
            ]
        );
    }

    #[test]
    fn a_time_repeated_in_autumn_runs_once() {
        // 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET (01:00 UTC);
        // 02:30 happens at 00:30 UTC and again at 01:30 UTC.
        let c = paris("30 2 * * *");
        assert_eq!(
            next_n(&c, "2026-10-24T12:00:00Z", 3),
            [
                "Sun 2026-10-25 02:30 +02:00",
                "Mon 2026-10-26 02:30 +01:00",
                "Tue 2026-10-27 02:30 +01:00",
            ]
        );
        // Asked from between the two 02:30s, the next is the next day's.
        assert_eq!(
            c.next_after(utc("2026-10-25T00:45:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
        // A wildcard line runs in both passes of the repeated hour.
        let c = paris("*/30 * * * *");
        assert_eq!(
            next_n(&c, "2026-10-24T23:45:00Z", 5),
            [
                "Sun 2026-10-25 02:00 +02:00",
                "Sun 2026-10-25 02:30 +02:00",
                "Sun 2026-10-25 02:00 +01:00",
                "Sun 2026-10-25 02:30 +01:00",
                "Sun 2026-10-25 03:00 +01:00",
            ]
        );
    }

    #[test]
    fn previous_firing_for_missed_runs() {
        let c = paris("30 6 * * *");
        assert_eq!(
            c.prev_at_or_before(utc("2026-03-10T12:00:00Z")),
            Some(utc("2026-03-10T05:30:00Z"))
        );
        // At the firing instant itself, that firing.
        assert_eq!(
            c.prev_at_or_before(utc("2026-03-10T05:30:00Z")),
            Some(utc("2026-03-10T05:30:00Z"))
        );
        assert_eq!(
            c.prev_at_or_before(utc("2026-03-10T05:29:59Z")),
            Some(utc("2026-03-09T05:30:00Z"))
        );
        // Across the spring gap: the skipped 02:30 ran at 03:00 CEST.
        let c = paris("30 2 * * *");
        assert_eq!(
            c.prev_at_or_before(utc("2026-03-29T06:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // Across the autumn repeat: the first 02:30 only.
        assert_eq!(
            c.prev_at_or_before(utc("2026-10-25T06:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // Both day fields restricted.
        let c = paris("0 0 13 * 5");
        assert_eq!(
            c.prev_at_or_before(utc("2026-04-14T00:00:00Z")),
            Some(utc("2026-04-12T22:00:00Z")) // Mon 13 April, 00:00 CEST
        );
    }

    #[test]
    fn other_time_zones() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let c = Crontab::parse("0 9 * * 1-5", ny).unwrap();
        let t = c.next_after(utc("2026-03-02T00:00:00Z")).unwrap();
        assert_eq!(t, utc("2026-03-02T14:00:00Z"));
        assert_eq!(t.with_timezone(&ny).hour(), 9);
        // New York springs forward on 2026-03-08 at 02:00.
        let c = Crontab::parse("30 2 * * *", ny).unwrap();
        assert_eq!(
            c.next_after(utc("2026-03-07T12:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z")) // 03:00 EDT
        );
        let utc_tab = parse_crontab("0 0 * * *").unwrap().with_tz(chrono_tz::UTC);
        assert_eq!(
            utc_tab.next_after(utc("2026-03-02T10:00:00Z")),
            Some(utc("2026-03-03T00:00:00Z"))
        );
    }

    #[test]
    fn a_year_of_daily_firings_is_one_a_day() {
        // Across both DST changes, a fixed daily line fires 365 times in 2026.
        let c = paris("30 2 * * *");
        let n = c
            .upcoming(utc("2025-12-31T23:00:00Z"))
            .take_while(|t| *t < utc("2026-12-31T23:00:00Z"))
            .count();
        assert_eq!(n, 365);
        // An hourly wildcard line: 24 a day, 23 on the short day, 25 on the long one.
        let c = paris("0 * * * *");
        let count = |from: &str, to: &str| {
            c.upcoming(utc(from) - chrono::Duration::seconds(1))
                .take_while(|t| *t < utc(to))
                .count()
        };
        assert_eq!(count("2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z"), 24);
        assert_eq!(count("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"), 23);
        assert_eq!(count("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"), 25);
    }
}
