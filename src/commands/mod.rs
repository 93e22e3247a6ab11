//! The commands of the `feedloom` binary, one module each: [`check`],
//! [`poll`] (`poll --once`), [`export`], [`explain`] (`explain` and
//! `preview`), [`inspect`], [`compact`], [`token`], and the ones that write
//! definitions, [`init`], [`add`] and [`import`] (through [`definitions`]);
//! `serve` is the running service,
//! [`crate::service`], started with the options [`args::ServeArgs`] builds.
//! Each command loads what it needs, runs, and returns its report; `main`
//! only parses arguments, prints and picks the exit code.
//!
//! What the commands share lives here: the [`Settings`] every command
//! takes and opening the definitions and store.

pub mod add;
pub mod args;
pub mod check;
pub mod compact;
pub mod definitions;
pub mod explain;
pub mod export;
pub mod import;
pub mod init;
pub mod inspect;
pub mod poll;
mod table;
pub mod token;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use crate::config::{self, Definitions};
use crate::fetch::Fetcher;
use crate::poll::Poller;
use crate::store::{Store, StoreError};

pub use crate::error::Error;

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_FEEDS_DIR: &str = "./feeds";

/// Logs to stderr at the level `FEEDLOOM_LOG` sets (`info` by default, any
/// `tracing` filter such as `feedloom=debug`), in colour only for a person
/// at a terminal, not in log files.
pub fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("FEEDLOOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Settings shared by the commands, from flags and environment.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Data folder (the sled store).
    #[arg(long, global = true, env = "FEEDLOOM_DATA", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Definitions folder: sources, tags and topics as *.toml.
    #[arg(long, global = true, env = "FEEDLOOM_FEEDS", default_value = DEFAULT_FEEDS_DIR)]
    pub feeds: PathBuf,
    /// Memory the store may keep as its page cache, e.g. 64MiB (sled's
    /// own default would be 1GiB).
    #[arg(long, global = true, env = "FEEDLOOM_CACHE", default_value = "64MiB", value_parser = crate::units::parse_size)]
    pub cache: usize,
}

impl Settings {
    /// Opens the store these settings name.
    pub fn open_store(&self) -> Result<Store, StoreError> {
        Store::open_with(&self.data, self.cache)
    }
}

/// Loads the definitions and opens the store, with the stored tags and
/// memberships brought in step with the rules.
pub(crate) fn open(settings: &Settings) -> Result<(Arc<Definitions>, Poller), Error> {
    let (defs, poller) = open_unsettled(settings)?;
    rules_in_force(&poller.store, &defs)?;
    Ok((defs, poller))
}

/// [`open`] without re-evaluating the store: `serve` does that after it
/// starts listening, so a restart with changed rules never leaves the
/// server unreachable while every entry is re-tagged.
pub(crate) fn open_unsettled(settings: &Settings) -> Result<(Arc<Definitions>, Poller), Error> {
    let defs = Arc::new(config::load(&settings.feeds)?);
    let poller = open_poller(settings, &defs)?;
    Ok((defs, poller))
}

/// The store and a fetcher for `defs` (a host that asked for a pause
/// before a restart still gets it).
pub(crate) fn open_poller(settings: &Settings, defs: &Definitions) -> Result<Poller, Error> {
    std::fs::create_dir_all(&settings.data).map_err(|source| Error::Io {
        action: "create data folder",
        path: settings.data.clone(),
        source,
    })?;
    let opening = std::time::Instant::now();
    let store = settings.open_store()?;
    tracing::info!(
        "store {} opened in {:?}: {} entries",
        settings.data.display(),
        opening.elapsed(),
        store.entry_count()
    );
    let fetcher = Fetcher::new(defs.host_policies())?;
    for (host, until) in store.host_blocks(Utc::now())? {
        fetcher.block_until(&host, until);
    }
    Ok(Poller { store, fetcher })
}

/// Brings the store in step with the definitions' rules (see
/// [`crate::reevaluate`]); logs what changed.
pub(crate) fn rules_in_force(
    store: &Store,
    defs: &Definitions,
) -> Result<crate::reevaluate::Reevaluated, Error> {
    let r = crate::reevaluate::apply(store, &defs.rules)?;
    if r.entries > 0 {
        tracing::info!(
            "rules changed: re-evaluated {} entries in {:?}, {} changed; topics affected: {}",
            r.entries,
            r.took,
            r.changed,
            r.topics.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn the_store_cache_defaults_to_the_documented_size() {
        let parsed = Cli::try_parse_from(["feedloom"]).unwrap().settings;
        assert_eq!(parsed.cache, crate::store::DEFAULT_CACHE_BYTES);
        let small = Cli::try_parse_from(["feedloom", "--cache", "8MiB"]).unwrap();
        assert_eq!(small.settings.cache, 8 << 20);
        assert!(Cli::try_parse_from(["feedloom", "--cache", "lots"]).is_err());
    }
}
