//! Vigie's integration tests: one binary, real servers on loopback.

mod corpus;
mod end_to_end;
mod fetch;
mod support;
mod timeline;
mod watchlists;
