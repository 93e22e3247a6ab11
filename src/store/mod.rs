//! The sled store: entries, the per-topic time index, the first-seen
//! index, source state, meta. The only module that touches sled; byte
//! layouts live in [`keys`].
//!
//! Writes of one entry (the entry and its index keys) are one transaction,
//! so a crash never leaves an index key without its entry or the reverse.
//! sled flushes on its own every few hundred milliseconds; [`Store::flush`]
//! is called at the end of each poll cycle and at shutdown.
//!
//! This file opens the store and holds its trees and its error; every
//! other job is a file of its own, each with its own `impl Store` block and
//! a doc comment saying what it owns, so that `Store`'s API is the sum of
//! them and a change to one job touches one file.

mod articles;
mod codec;
mod compact;
mod counts;
mod entries;
pub mod facets;
mod growth;
pub mod keys;
mod layout;
mod migrate;
mod reroute;
mod retention;
mod select;
mod sources;
mod subscriptions;
mod tokens;
mod topics;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sled::transaction::TransactionError;

pub use articles::ArticleJob;
pub use counts::Counts;
pub use entries::Upserted;
pub use growth::{COMPACT_GROWTH, MIN_BASELINE_ENTRIES, MIN_COMPACT_BYTES};
pub use migrate::SCHEMA_VERSION;
pub use reroute::{Rerouted, Stored};
pub use retention::{Pruned, MIN_TOMBSTONES};
pub use select::{Scope, Selection, Tests, Walked};
pub use sources::{PollCounts, SourceError, SourceRepairs, SourceState};
pub use subscriptions::{Pending, Subscription};
pub use tokens::TOKEN_BYTES;
pub use topics::RuleFingerprints;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt record in {tree}: {message}")]
    Corrupt { tree: &'static str, message: String },
    #[error("store at {path}: written by a newer feedloom (schema {found}, this build knows {SCHEMA_VERSION})")]
    TooNew { path: String, found: u32 },
    #[error("store at {path}: in use by another process (is `feedloom serve` running on it?)")]
    Locked { path: String },
    #[error("{path} exists already: compacting writes a new folder")]
    Exists { path: String },
    #[error("store at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The data folder's `CURRENT` file is unusable (see `store/layout.rs`).
    #[error("{path}: {message}")]
    Layout { path: String, message: String },
}

/// A transaction fails with the error its closure aborted with, or with
/// sled's own.
impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> StoreError {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// Topic id → when an entry entered it.
type Memberships = BTreeMap<String, DateTime<Utc>>;

#[derive(Clone)]
pub struct Store {
    /// The data folder, and the folder in it of the live database (see
    /// `store/layout.rs`).
    data: PathBuf,
    live: PathBuf,
    db: sled::Db,
    entries: sled::Tree,
    topic_index: sled::Tree,
    /// Every entry by first-seen time ([`keys::TREE_SEEN_INDEX`]).
    seen_index: sled::Tree,
    source_state: sled::Tree,
    host_block: sled::Tree,
    tombstones: sled::Tree,
    counts: sled::Tree,
    subscriptions: sled::Tree,
    pending: sled::Tree,
    tokens: sled::Tree,
    /// Article fetches owed ([`keys::TREE_ARTICLES`]).
    articles: sled::Tree,
    meta: sled::Tree,
}

/// How long [`open_db`] waits for the store's file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The page cache sled keeps in memory unless `--cache` says otherwise.
/// sled's own default is 1 GiB, far more than a small VPS should give a
/// feed aggregator; the working set (the newest entries of each topic, the
/// index, source state) fits in much less.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// How long sled may hold writes in memory before writing them out on its
/// own. A crash can lose what was written in this window and not yet
/// flushed; a poll cycle flushes when it ends (see [`Store::flush`]), so
/// entries reported as stored by a finished cycle are on disk.
pub const FLUSH_EVERY_MS: u64 = 500;

/// Opens the sled database, waiting a little for its file lock.
///
/// sled releases the lock only when its background flusher thread lets
/// go of the database, which can be some hundred milliseconds after the
/// last handle is dropped (and after a previous process is told to exit).
/// Reopening in that window must not fail; a lock still held after
/// [`LOCK_WAIT`] means another process owns the store, and the error says so.
fn open_db(dir: &Path, cache_bytes: usize) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes as u64)
        .flush_every_ms(Some(FLUSH_EVERY_MS));
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(StoreError::Locked {
                        path: dir.display().to_string(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

fn corrupt(tree: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree,
        message: e.to_string(),
    }
}

impl Store {
    /// Opens (or creates) the store in `dir` with the default page cache.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store in `dir`, letting sled keep up to
    /// `cache_bytes` of pages in memory, and brings it to
    /// [`SCHEMA_VERSION`] (`store/migrate.rs`).
    pub fn open_with(dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let (db, live) = loop {
            let live = layout::live(dir)?;
            let db = open_db(&live, cache_bytes)?;
            // A compaction may have put a copy in place while this open
            // waited for the lock: then open the copy.
            if layout::live(dir)? == live {
                break (db, live);
            }
        };
        layout::remove_stale(dir, &live)?;
        let meta = db.open_tree(keys::TREE_META)?;
        let store = Store {
            data: dir.to_path_buf(),
            live,
            entries: db.open_tree(keys::TREE_ENTRIES)?,
            topic_index: db.open_tree(keys::TREE_TOPIC_INDEX)?,
            seen_index: db.open_tree(keys::TREE_SEEN_INDEX)?,
            source_state: db.open_tree(keys::TREE_SOURCE_STATE)?,
            host_block: db.open_tree(keys::TREE_HOST_BLOCK)?,
            tombstones: db.open_tree(keys::TREE_TOMBSTONES)?,
            counts: db.open_tree(keys::TREE_COUNTS)?,
            subscriptions: db.open_tree(keys::TREE_SUBSCRIPTIONS)?,
            pending: db.open_tree(keys::TREE_PENDING)?,
            tokens: db.open_tree(keys::TREE_TOKENS)?,
            articles: db.open_tree(keys::TREE_ARTICLES)?,
            meta,
            db,
        };
        store.migrate(dir)?;
        Ok(store)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}
