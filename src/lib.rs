//! Vigie — a price-and-promotion watchdog for collectives of independent
//! retailers.
//!
//! Vigie politely crawls e-shops, extracts what each shows for the watched
//! brands, keeps the history, diffs every observation against a stored
//! baseline, and emails the retailers subscribed to a brand when a disguised
//! sale appears. The pipeline, one module a stage:
//!
//! `catalog` → `discover` → `fetch` → `extract` → `store` → `detect` → `notify`
//!
//! The `cli` module wires them for the `vigie` binary; `demo` holds the
//! built-in fixture shop.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod daemon;
pub mod demo;
pub mod detect;
pub mod discover;
pub mod domain;
pub mod extract;
pub mod fetch;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod store;

/// The version of Vigie, as recorded in evidence and the User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
