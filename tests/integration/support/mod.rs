//! The integration tests' harness, one way to do each thing:
//!
//! - [`process`]: the `vigie` binary, run to completion ([`vigie`]) or kept
//!   running as a daemon or a worker ([`Process`]), always with none of the
//!   caller's `VIGIE_*` variables;
//! - [`database`]: SQLite files in temporary folders ([`sqlite_url`]) and
//!   PostgreSQL databases of their own on the server that
//!   `VIGIE_TEST_DATABASE_URL` names ([`with_postgres`]);
//! - [`watchlists`]: watchlist files and their `[[shop]]` entries;
//! - [`smtp`]: a real SMTP server on loopback;
//! - [`browser`]: a real headless Chromium driven through WebDriver.

pub mod browser;
pub mod database;
pub mod process;
pub mod smtp;
pub mod watchlists;

pub use database::{sqlite_url, with_postgres};
pub use process::{Process, command, stderr, stdout, vigie};
pub use smtp::{SmtpServer, tls_dir};
pub use watchlists::{Shop, watchlist, with_brands_and_subscribers};
