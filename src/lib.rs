//! feedloom: turns web pages without feeds and existing RSS/Atom/JSON feeds
//! into clean, stable, per-topic RSS 2.0 and Atom 1.0 feeds.
//!
//! The pipeline, one module per stage (only [`poll`] chains them):
//!
//! ```text
//! feeds/*.toml ─> config (validated, compiled once)
//! poll: fetch ─> extract ─> normalize ─> store (merge) ─> rules (tags, topics) ─> render ─> server
//! ```
//!
//! Wire types (`rss::Item`, `atom_syndication::Entry`, `scraper` nodes) never
//! leave their adapter in [`extract`] or [`render`]; everything in between
//! speaks [`model::Entry`].
//!
//! Around the pipeline: [`commands`] (what the binary runs), [`service`]
//! (`serve`: schedulers, reloads) and [`state`] (what a running server
//! shares, read by [`server`]); leaves every stage uses: [`defs`] (the
//! definitions' TOML shapes), [`units`], [`urls`], [`text`], [`dates`].
//! The README's Layout section maps where a new source kind, rule
//! condition, output format, HTTP route or command goes.
#![forbid(unsafe_code)]

pub mod commands;
pub mod config;
pub mod dates;
pub mod decode;
pub mod defs;
pub mod depth;
pub mod digest;
pub mod error;
pub use error::Error;
pub mod extract;
pub mod fetch;
pub mod fulltext;
pub mod identity;
#[cfg(test)]
mod layering;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod poll;
pub mod query;
pub mod reevaluate;
pub mod render;
pub mod repairs;
pub mod rules;
pub mod sanitize;
pub mod secret;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod tally;
pub mod text;
pub mod units;
pub mod urls;
pub mod websub;
