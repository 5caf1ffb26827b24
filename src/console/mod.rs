//! The console: findings, price history and evidence in a browser for the
//! operator, and "my alerts" for each retailer, served by `vigie serve`
//! (and by the daemon and workers given `--listen`).

pub mod auth;
pub mod chart;
pub mod listen;
pub mod text;
pub mod pdf;
