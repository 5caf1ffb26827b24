//! Vigie's integration tests: one binary, real servers on loopback.

mod alerts;
mod architecture;
mod browser;
mod console;
mod corpus;
mod daemon;
mod end_to_end;
mod fetch;
mod fleet;
mod neighbours;
mod outbox;
mod preferences;
mod site_wording;
mod store_contract;
mod support;
mod timeline;
mod watchlists;
