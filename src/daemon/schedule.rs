//! Crontab lines for shop schedules.
//!
//! Watchlists use standard 5-field crontab lines (`minute hour day-of-month
//! month day-of-week`). The `cron` crate wants a seconds field; this module
//! adds it, so a line means what it means in crontab.

use std::str::FromStr;

/// Parses a 5-field crontab line into a `cron` schedule (seconds = 0).
pub fn parse_crontab(line: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "{line:?} is not a 5-field crontab line (minute hour day-of-month month day-of-week), e.g. \"0 6 * * *\" for 06:00 every day"
        ));
    }
    cron::Schedule::from_str(&format!("0 {}", fields.join(" ")))
        .map_err(|e| format!("{line:?} is not a valid crontab line: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_are_accepted_and_others_refused() {
        assert!(parse_crontab("0 6 * * *").is_ok());
        assert!(parse_crontab("*/15 8-20 * * 1-5").is_ok());
        assert!(parse_crontab("0 0 6 * * *").is_err());
        assert!(parse_crontab("every day").is_err());
        assert!(parse_crontab("61 * * * *").is_err());
    }
}
