//! The long-running daemon: cron schedules per shop (in progress: see the
//! README's roadmap). For now it holds the crontab parser the watchlist
//! validator uses.

pub mod schedule;
