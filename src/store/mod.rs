//! The sled store: entries, the per-topic time index, source state, meta.
//! The only module that touches sled; byte layouts live in [`keys`].
//!
//! Writes of one entry (the entry and its index keys) are one transaction,
//! so a crash never leaves an index key without its entry or the reverse.
//! sled flushes on its own every few hundred milliseconds; [`Store::flush`]
//! is called at the end of each poll cycle and at shutdown.

mod articles;
mod codec;
pub mod facets;
mod growth;
pub mod keys;
mod layout;
mod select;
mod subscriptions;
mod tokens;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use crate::fetch::Validators;
use crate::model::{Entry, EntryId};
pub use articles::ArticleJob;
use growth::Baseline;
pub use growth::{COMPACT_GROWTH, MIN_BASELINE_ENTRIES, MIN_COMPACT_BYTES};
pub use select::{Scope, Selection, Tests, Walked};
pub use subscriptions::{Pending, Subscription};
pub use tokens::TOKEN_BYTES;

/// The layout version this build reads and writes. Bump it with a numbered
/// migration in [`Store::open_with`] when a layout changes.
///
/// 1: entries, topic index, source state, tombstones, host blocks, meta.
/// 2: adds the `counts` tree (entries and per-topic sizes).
/// 3: entry values deflated.
/// 4: entry values split into a binary head (first seen, memberships, tags)
///    and a deflated body (`store/codec.rs`), so re-evaluation and pruning do not
///    inflate and deflate text they do not change.
pub const SCHEMA_VERSION: u32 = 5;

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

/// How the last failure of a source looked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceError {
    /// `dns`, `connect`, `timeout`, `http_status`, `html_page`,
    /// `not_a_feed`, `malformed`... (the index words them: see
    /// [`crate::render::failures`]).
    pub kind: String,
    pub status: Option<u16>,
    pub message: String,
    pub at: DateTime<Utc>,
    /// Where in the document reading failed, when the error says: the
    /// index shows the place, never the message (which may quote the
    /// document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::repairs::Location>,
}

/// Counts of one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCounts {
    /// Items the upstream listed.
    pub fetched: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Items dropped as empty.
    pub skipped: u64,
}

/// What feedloom remembers of a source between polls and restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<SourceError>,
    pub consecutive_failures: u32,
    pub last_counts: PollCounts,
    /// The HTTP status the last poll ended with (`304`: the upstream said
    /// nothing changed; none when no response came).
    pub last_status: Option<u16>,
    /// Entries first stored from this source, ever.
    pub entries_added: u64,
    pub validators: Validators,
    /// The source definition the validators were stored under.
    pub validators_for: String,
    /// When the source is due next (interval, upstream freshness, back-off
    /// and `Retry-After` applied); kept across restarts.
    pub next_poll: Option<DateTime<Utc>>,
    /// Items the last poll that listed any listed: an empty listing after
    /// a full one is flagged as a probable extraction breakage.
    pub last_listed: u64,
    /// Where a permanent redirect pointed last (logged once per change).
    pub moved_to: Option<String>,
    /// Since when the source has been healthy, or failing with the current
    /// error: the index shows it, and it moves only on a change of state.
    pub health_since: Option<DateTime<Utc>>,
    /// The last successful poll read the source only in part (a Hugging
    /// Face page from its cards): what is missing. `/status` and the index
    /// show the source as degraded.
    pub degraded: Option<String>,
    /// What the last successful poll had to repair to read the source (a
    /// bare `&`, a date in the wrong form, a document cut short): while
    /// there are any, `/status`, the index and `/metrics` show the source
    /// as *recovered*, so the operator can tell the upstream what to fix.
    pub repairs: SourceRepairs,
    /// `fulltext` was on at the last full listing: the entries listed then,
    /// old ones included, were owed their articles. False while `fulltext`
    /// is off, so switching it on owes the listed entries once.
    pub articles_backfilled: bool,
}

/// The repairs of a source's last successful poll, as kept between polls:
/// all counted, the first few as one line each (see
/// [`crate::repairs::Repairs`] for the full record a poll makes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceRepairs {
    pub count: u64,
    /// The first repairs, each one printable line with its place
    /// (`line 3, col 18: unescaped '&' read as '&amp;'`).
    pub first: Vec<String>,
}

impl SourceRepairs {
    /// The source was read only with repairs.
    pub fn any(&self) -> bool {
        self.count > 0
    }
}

/// Fingerprints of the rules the store's tags and memberships reflect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFingerprints {
    /// Of all tag definitions together.
    pub tags: String,
    /// Topic id → of its definition and the tags it names.
    pub topics: BTreeMap<String, String>,
}

/// Tombstones kept at least, whatever `max_entries` says (see
/// [`Store::prune`]).
pub const MIN_TOMBSTONES: usize = 10_000;

/// What a prune removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub removed: usize,
    /// The oldest tombstones dropped: at most `max_entries` (or
    /// [`MIN_TOMBSTONES`]) are kept.
    pub tombstones_dropped: usize,
    /// Topics that lost entries (their feeds must be re-rendered).
    pub topics: BTreeSet<String>,
}

/// Topic id → when an entry entered it.
type Memberships = BTreeMap<String, DateTime<Utc>>;

/// How many entries the store and each topic hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub entries: usize,
    /// Topics with at least one entry.
    pub topics: BTreeMap<String, usize>,
}

/// The result of an upsert: the entry before and after.
pub struct Upserted {
    pub old: Option<Entry>,
    pub new: Entry,
}

/// An entry's stored value as read by [`Store::entries_after`], for bulk
/// work done elsewhere (on worker threads): decoded there, and written
/// back by [`Store::reroute_many`] only if the entry is still as read.
pub struct Stored {
    pub id: EntryId,
    value: sled::IVec,
}

impl Stored {
    pub fn decode(&self) -> Result<Entry, StoreError> {
        codec::decode(&self.value)
    }

    /// Decodes the entry and lets `f` change its tags and memberships;
    /// when `f` says something changed, the rewrite to store. `f` must
    /// change nothing else: the rest of the entry is written back as it
    /// was stored, its bytes copied (see `store/codec.rs`).
    pub fn reroute(
        &self,
        f: impl FnOnce(&mut Entry) -> bool,
    ) -> Result<Option<Rerouted>, StoreError> {
        let mut entry = self.decode()?;
        let old_topics = entry.topics.clone();
        if !f(&mut entry) {
            return Ok(None);
        }
        let value = match codec::with_head(&self.value, &entry)? {
            Some(value) => value,
            None => codec::encode(&mut entry)?,
        };
        Ok(Some(Rerouted {
            id: self.id,
            read: self.value.clone(),
            old_topics,
            new_topics: entry.topics,
            value,
        }))
    }
}

/// A change of an entry's tags and memberships, ready to write
/// ([`Stored::reroute`], [`Store::reroute_many`]).
pub struct Rerouted {
    id: EntryId,
    /// The value it was computed from: written only over that.
    read: sled::IVec,
    old_topics: Memberships,
    new_topics: Memberships,
    value: Vec<u8>,
}

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

/// Changes to the counts made within one transaction, written once at its
/// end (one read and write per counter, however many entries it touched).
#[derive(Default)]
struct Tally(BTreeMap<Vec<u8>, i64>);

impl Tally {
    fn add(&mut self, key: Vec<u8>, delta: i64) {
        *self.0.entry(key).or_default() += delta;
    }

    fn write(
        &self,
        counts: &TransactionalTree,
    ) -> Result<(), sled::transaction::UnabortableTransactionError> {
        for (key, delta) in self.0.iter().filter(|(_, d)| **d != 0) {
            let now = counts.get(key)?.map_or(0, |v| keys::count_from_bytes(&v));
            let next = now.saturating_add_signed(*delta);
            counts.insert(key.as_slice(), &next.to_be_bytes())?;
        }
        Ok(())
    }
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
    /// `cache_bytes` of pages in memory.
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
        match store.meta.get(keys::SCHEMA_VERSION)? {
            None if store.entries.is_empty() => {
                store
                    .meta
                    .insert(keys::SCHEMA_VERSION, &SCHEMA_VERSION.to_be_bytes())?;
            }
            // Entries without a version: written before versions existed.
            None => {
                store.migrate_to_2()?;
                store.migrate_values()?;
            }
            Some(v) => {
                let found = u32::from_be_bytes(
                    v.as_ref()
                        .try_into()
                        .map_err(|_| corrupt(keys::TREE_META, "schema version"))?,
                );
                if found > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        path: dir.display().to_string(),
                        found,
                    });
                }
                if found < 2 {
                    store.migrate_to_2()?;
                }
                if found < SCHEMA_VERSION {
                    store.migrate_values()?;
                }
            }
        }
        Ok(store)
    }

    /// Schema 1 → 2: counts every entry and each topic's index keys, then
    /// writes the counts and the new version in one transaction. Killed
    /// midway, the store is still at schema 1 and the next open counts
    /// again.
    fn migrate_to_2(&self) -> Result<(), StoreError> {
        let counted = self.count_by_scan()?;
        tracing::info!(
            "store: counting {} entries in {} topics (schema 1 -> 2)",
            counted.entries,
            counted.topics.len()
        );
        (&self.counts, &self.meta).transaction(|(counts, meta)| {
            counts.insert(keys::COUNT_ENTRIES, &(counted.entries as u64).to_be_bytes())?;
            for (topic, n) in &counted.topics {
                counts.insert(keys::topic_count_key(topic), &(*n as u64).to_be_bytes())?;
            }
            meta.insert(keys::SCHEMA_VERSION, &2u32.to_be_bytes())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        self.db.flush()?;
        Ok(())
    }

    /// Schema 2 or 3 → 4: rewrites every entry value not yet in the current
    /// form ([`codec`]), a batch at a time, then writes the new version.
    /// Every form reads, so a migration killed midway leaves a correct
    /// store at the old version, and the next open rewrites what is left.
    /// A value that does not read is left as it is (and logged): reading
    /// it fails as it did before, and the store still opens.
    fn migrate_values(&self) -> Result<(), StoreError> {
        tracing::info!(
            "store: rewriting {} entries in the schema {SCHEMA_VERSION} form",
            self.entry_count()
        );
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for kv in self.entries.iter() {
            let (k, v) = kv?;
            if codec::is_current(&v) {
                continue;
            }
            let value = codec::decode(&v).and_then(|mut e| codec::encode(&mut e));
            match value {
                Ok(value) => batch.insert(k, value),
                Err(e) => {
                    tracing::error!("store: entry {:?} left as it is: {e}", k.as_ref());
                    continue;
                }
            }
            pending += 1;
            if pending == 512 {
                self.entries.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.entries.apply_batch(batch)?;
        self.build_seen_index()?;
        self.db.flush()?;
        self.meta
            .insert(keys::SCHEMA_VERSION, &SCHEMA_VERSION.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Schema 5's first-seen index, each entry's card ([`facets`]) under
    /// its first-seen time, and that time as the value of each of its
    /// topic index keys. Whatever a migration killed midway left of the
    /// index is cleared first. Every entry is decoded once (a few seconds
    /// for 100,000).
    fn build_seen_index(&self) -> Result<(), StoreError> {
        tracing::info!(
            "store: indexing {} entries by first-seen time",
            self.entry_count()
        );
        self.seen_index.clear()?;
        let mut seen_at: HashMap<EntryId, [u8; 8]> = HashMap::new();
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for kv in self.entries.iter() {
            let (k, v) = kv?;
            let Some(id) = keys::entry_id_from_key(&k) else {
                continue;
            };
            match codec::decode(&v) {
                Ok(e) => {
                    batch.insert(keys::seen_key(e.first_seen, &id), facets::card(&e));
                    seen_at.insert(id, keys::time_bytes(e.first_seen));
                }
                Err(e) => {
                    tracing::error!("store: entry {id} left out of the first-seen index: {e}")
                }
            }
            pending += 1;
            if pending == 1024 {
                self.seen_index.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.seen_index.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for key in self.topic_index.iter().keys() {
            let key = key?;
            let at = key
                .len()
                .checked_sub(16)
                .and_then(|i| keys::entry_id_from_key(&key[i..]))
                .and_then(|id| seen_at.get(&id));
            if let Some(at) = at {
                batch.insert(key, &at[..]);
                pending += 1;
            }
            if pending == 4096 {
                self.topic_index.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.topic_index.apply_batch(batch)?;
        Ok(())
    }

    /// The entry count and topic sizes by walking the entries and the
    /// index (what the `counts` tree must always agree with).
    pub fn count_by_scan(&self) -> Result<Counts, StoreError> {
        let mut topics: BTreeMap<String, usize> = BTreeMap::new();
        for key in self.topic_index.iter().keys() {
            let key = key?;
            let topic = keys::topic_of_index_key(&key)
                .ok_or_else(|| corrupt(keys::TREE_TOPIC_INDEX, "key without a topic"))?;
            *topics.entry(topic.to_string()).or_default() += 1;
        }
        Ok(Counts {
            entries: self.entries.len(),
            topics,
        })
    }

    /// The entry count and topic sizes as kept (O(topics) to read).
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut out = Counts {
            entries: self.entry_count(),
            topics: BTreeMap::new(),
        };
        for kv in self.counts.scan_prefix(b"t/") {
            let (k, v) = kv?;
            let n = keys::count_from_bytes(&v) as usize;
            if n > 0 {
                let topic = String::from_utf8_lossy(&k[2..]).into_owned();
                out.topics.insert(topic, n);
            }
        }
        Ok(out)
    }

    pub fn get(&self, id: &EntryId) -> Result<Option<Entry>, StoreError> {
        match self.entries.get(keys::entry_key(id))? {
            Some(v) => Ok(Some(decode_entry(&v)?)),
            None => Ok(None),
        }
    }

    /// Runs `f` in one transaction over the trees an entry write touches
    /// ([`Tx`]), then writes the counts it tallied. `f` may run more than
    /// once on a write conflict.
    fn in_entry_transaction<R>(
        &self,
        f: impl Fn(&Tx<'_>, &mut Tally) -> Result<R, ConflictableTransactionError<StoreError>>,
    ) -> Result<R, StoreError> {
        let trees = (
            &self.entries,
            &self.topic_index,
            &self.seen_index,
            &self.counts,
        );
        let result = trees.transaction(|(entries, index, seen, counts)| {
            let tx = Tx {
                entries,
                index,
                seen,
            };
            let mut tally = Tally::default();
            let out = f(&tx, &mut tally)?;
            tally.write(counts)?;
            Ok(out)
        });
        Ok(result?)
    }

    /// Reads, transforms and writes one entry atomically, keeping the topic
    /// index in step with `entry.topics`. `f` gets the stored entry (if
    /// any) and returns the one to store; it may run more than once on a
    /// write conflict, so it must be pure.
    pub fn upsert<F>(&self, id: &EntryId, f: F) -> Result<Upserted, StoreError>
    where
        F: Fn(Option<Entry>) -> Entry,
    {
        self.in_entry_transaction(|tx, tally| {
            let up = upsert_in(tx, tally, id, &f)?;
            Ok(up)
        })
    }

    /// [`Store::upsert`] for a batch of fresh entries in one transaction
    /// (a poll's items, a few dozen at a time: one commit instead of one
    /// per item). `f` gets each fresh entry and the stored one.
    pub fn upsert_many<F>(&self, fresh: &[Entry], f: F) -> Result<Vec<Upserted>, StoreError>
    where
        F: Fn(&Entry, Option<Entry>) -> Entry,
    {
        self.in_entry_transaction(|tx, tally| {
            let mut out = Vec::with_capacity(fresh.len());
            for e in fresh {
                out.push(upsert_in(tx, tally, &e.id, &|old| f(e, old))?);
            }
            Ok(out)
        })
    }

    /// Applies `f` to many entries in one transaction (sled's per-commit
    /// cost dominates one-entry transactions, so bulk work such as a rule
    /// re-evaluation goes through here, a few hundred entries at a time).
    /// `f` gets the stored entry (if any) and returns the one to store, or
    /// `None` to leave it as it is; it may run more than once on a write
    /// conflict, so it must be pure. Returns how many entries were written.
    pub fn update_many<F>(&self, ids: &[EntryId], f: F) -> Result<usize, StoreError>
    where
        F: Fn(&EntryId, Option<Entry>) -> Option<Entry>,
    {
        self.in_entry_transaction(|tx, tally| {
            let mut written = 0;
            for id in ids {
                let key = keys::entry_key(id);
                let old = match tx.entries.get(key)? {
                    Some(v) => Some(decode_entry(&v).map_err(ConflictableTransactionError::Abort)?),
                    None => None,
                };
                // Only the memberships are needed to update the index: the
                // entry itself goes to `f` without a copy.
                let old_topics = old.as_ref().map(|o| o.topics.clone());
                let Some(mut new) = f(id, old) else {
                    continue;
                };
                write_entry(tx, tally, id, old_topics.as_ref(), &mut new)?;
                written += 1;
            }
            Ok(written)
        })
    }

    /// The newest `limit` entries of a topic, newest first, by the time
    /// each entered the topic.
    pub fn topic_entries(&self, topic: &str, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let prefix = keys::topic_prefix(topic);
        let mut out = Vec::with_capacity(limit.min(512));
        for kv in self.topic_index.scan_prefix(&prefix).rev() {
            if out.len() >= limit {
                break;
            }
            let (k, _) = kv?;
            let (_, id) = keys::parse_topic_key(prefix.len(), &k)
                .ok_or_else(|| corrupt(keys::TREE_TOPIC_INDEX, "bad key length"))?;
            match self.get(&id)? {
                Some(e) => out.push(e),
                // An index key without its entry cannot be written (one
                // transaction), but a reader must not fail on one.
                None => tracing::warn!(topic, %id, "topic index names a missing entry"),
            }
        }
        Ok(out)
    }

    /// How many entries a topic holds (a counter kept with the index).
    pub fn topic_len(&self, topic: &str) -> usize {
        self.count(&keys::topic_count_key(topic))
    }

    /// How many entries the store holds (a counter kept with them).
    pub fn entry_count(&self) -> usize {
        self.count(keys::COUNT_ENTRIES)
    }

    fn count(&self, key: &[u8]) -> usize {
        match self.counts.get(key) {
            Ok(Some(v)) => keys::count_from_bytes(&v) as usize,
            Ok(None) => 0,
            Err(e) => {
                tracing::error!("store: cannot read a count: {e}");
                0
            }
        }
    }

    /// Copies every tree into a new store at `dest` (which must not exist),
    /// written afresh: what sled has not yet reclaimed of removed and
    /// rewritten values stays behind. Returns the bytes on disk of this
    /// store and of the copy.
    ///
    /// SECURITY: the folder is made here, in one step that fails if
    /// anything is at `dest` already (a symlink included, dangling or
    /// not), so nothing planted there between a check and the write can
    /// send the copy elsewhere; it is readable by its owner only.
    pub fn compact_into(&self, dest: &Path) -> Result<(u64, u64), StoreError> {
        // The operator's own path up to it may be made as needed.
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let mut folder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder.create(dest).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::Exists {
                path: dest.display().to_string(),
            },
            _ => StoreError::Io {
                path: dest.display().to_string(),
                source,
            },
        })?;
        self.db.flush()?;
        let copy = sled::Config::new().path(dest).create_new(true).open()?;
        for name in self.db.tree_names() {
            let (from, to) = (self.db.open_tree(&name)?, copy.open_tree(&name)?);
            let mut batch = sled::Batch::default();
            let mut pending = 0;
            for kv in from.iter() {
                let (k, v) = kv?;
                batch.insert(k, v);
                pending += 1;
                if pending == 1024 {
                    to.apply_batch(std::mem::take(&mut batch))?;
                    pending = 0;
                }
            }
            to.apply_batch(batch)?;
        }
        copy.flush()?;
        // What the live data takes on disk, for `needs_compaction`.
        let size = copy.size_on_disk()?;
        let baseline = Baseline {
            bytes: size,
            entries: self.entry_count() as u64,
        };
        copy.open_tree(keys::TREE_META)?
            .insert(keys::COMPACTED, &baseline.to_bytes())?;
        copy.flush()?;
        Ok((self.db.size_on_disk()?, size))
    }

    /// Replaces the store's database with a copy written afresh
    /// ([`Store::compact_into`] a new folder in the data folder, then made
    /// the live one; see `store/layout.rs` for why a crash at any moment
    /// loses nothing). Takes the handle: the caller must hold no other
    /// (anything written through one afterwards would go to the old
    /// database, which is removed). Returns the sizes before and after.
    pub fn compact_in_place(self) -> Result<(u64, u64), StoreError> {
        let copy = layout::next(&self.data, &self.live);
        if copy.exists() {
            // A copy a crash cut short (this handle holds the live lock,
            // so nobody else is writing it).
            std::fs::remove_dir_all(&copy).map_err(|source| StoreError::Io {
                path: copy.display().to_string(),
                source,
            })?;
        }
        let sizes = self.compact_into(&copy)?;
        layout::commit(&self.data, &copy)?;
        let (data, old) = (self.data.clone(), self.live.clone());
        drop(self);
        layout::remove_replaced(&data, &old)?;
        Ok(sizes)
    }

    /// Whether the store takes more than [`COMPACT_GROWTH`] times what its
    /// live data took when last compacted (scaled to the entries it holds
    /// now), and more than [`MIN_COMPACT_BYTES`]: the size on disk and that
    /// expected size when it does. A store never compacted learns its
    /// baseline here, once it holds [`MIN_BASELINE_ENTRIES`].
    pub fn needs_compaction(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let size = self.db.size_on_disk()?;
        let entries = self.entry_count() as u64;
        let baseline = self
            .meta
            .get(keys::COMPACTED)?
            .and_then(|v| Baseline::from_bytes(&v))
            .filter(|b| b.entries >= MIN_BASELINE_ENTRIES);
        let Some(base) = baseline else {
            if entries >= MIN_BASELINE_ENTRIES {
                let now = Baseline {
                    bytes: size,
                    entries,
                };
                self.meta.insert(keys::COMPACTED, &now.to_bytes())?;
            }
            return Ok(None);
        };
        Ok(base
            .outgrown(size, entries)
            .map(|expected| (size, expected)))
    }

    /// Every stored entry, in id order.
    pub fn all_entries(&self) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.entries.iter().map(|kv| {
            kv.map_err(StoreError::from)
                .and_then(|(_, v)| decode_entry(&v))
        })
    }

    pub fn source_state(&self, source: &str) -> Result<SourceState, StoreError> {
        match self.source_state.get(source.as_bytes())? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_SOURCE_STATE, e)),
            None => Ok(SourceState::default()),
        }
    }

    pub fn put_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).map_err(|e| corrupt(keys::TREE_SOURCE_STATE, e))?;
        self.source_state.insert(source.as_bytes(), bytes)?;
        Ok(())
    }

    /// The rule fingerprints the stored tags and memberships were computed
    /// under (see [`crate::reevaluate`]).
    pub fn rule_fingerprints(&self) -> Result<Option<RuleFingerprints>, StoreError> {
        match self.meta.get(keys::RULE_FINGERPRINTS)? {
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(keys::TREE_META, e)),
            None => Ok(None),
        }
    }

    pub fn put_rule_fingerprints(&self, fps: &RuleFingerprints) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(fps).map_err(|e| corrupt(keys::TREE_META, e))?;
        self.meta.insert(keys::RULE_FINGERPRINTS, bytes)?;
        Ok(())
    }

    /// When each topic last changed other than by gaining an entry (see
    /// [`keys::TOPIC_CHANGES`]).
    pub fn topic_changes(&self) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
        match self.meta.get(keys::TOPIC_CHANGES)? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_META, e)),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Records that `topics` changed at `at` (later times win).
    pub fn mark_topics_changed<'a>(
        &self,
        topics: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        let mut marks = self.topic_changes()?;
        let before = marks.clone();
        for (topic, at) in topics {
            let mark = marks.entry(topic.to_string()).or_insert(at);
            *mark = (*mark).max(at);
        }
        if marks != before {
            let bytes = serde_json::to_vec(&marks).map_err(|e| corrupt(keys::TREE_META, e))?;
            self.meta.insert(keys::TOPIC_CHANGES, bytes)?;
        }
        Ok(())
    }

    /// Every stored entry id.
    /// Up to `n` stored entries in id order, after `after` (from the first
    /// when none), not yet decoded: walking the store a batch at a time
    /// holds one batch, and the decoding can happen on other threads.
    pub fn entries_after(
        &self,
        after: Option<&EntryId>,
        n: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(id) => Bound::Excluded(keys::entry_key(id).to_vec()),
            None => Bound::Unbounded,
        };
        self.entries
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .take(n)
            .map(|kv| {
                let (k, value) = kv?;
                let id = keys::entry_id_from_key(&k)
                    .ok_or_else(|| corrupt(keys::TREE_ENTRIES, "bad key length"))?;
                Ok(Stored { id, value })
            })
            .collect()
    }

    /// Writes rewrites prepared by [`Stored::reroute`] in one transaction,
    /// with their index keys and counts. One whose entry changed since it
    /// was read (a poll merged into it meanwhile) is prepared again from
    /// the entry as it is now, with `f`; one whose entry is gone (pruned)
    /// is dropped. Returns how many were written.
    pub fn reroute_many<F>(&self, rewrites: &[Rerouted], f: F) -> Result<usize, StoreError>
    where
        F: Fn(&mut Entry) -> bool,
    {
        self.in_entry_transaction(|tx, tally| {
            let mut written = 0;
            for r in rewrites {
                let Some(now) = tx.entries.get(keys::entry_key(&r.id))? else {
                    continue;
                };
                if now == r.read {
                    write_value(
                        tx,
                        tally,
                        &r.id,
                        Some(&r.old_topics),
                        &r.new_topics,
                        &r.value,
                        None,
                    )?;
                    written += 1;
                    continue;
                }
                let again = Stored {
                    id: r.id,
                    value: now,
                };
                if let Some(r) = again
                    .reroute(&f)
                    .map_err(ConflictableTransactionError::Abort)?
                {
                    let (old, new) = (Some(&r.old_topics), &r.new_topics);
                    write_value(tx, tally, &r.id, old, new, &r.value, None)?;
                    written += 1;
                }
            }
            Ok(written)
        })
    }

    /// Whether `id` was pruned (and must not be ingested again).
    pub fn is_tombstoned(&self, id: &EntryId) -> Result<bool, StoreError> {
        Ok(self.tombstones.contains_key(keys::entry_key(id))?)
    }

    /// Applies the retention policy: entries first seen before `now -
    /// max_age`, then the longest-known beyond `max_entries`, are removed
    /// with their index keys and leave a tombstone, each in one transaction.
    pub fn prune(
        &self,
        max_age: Option<Duration>,
        max_entries: usize,
        now: DateTime<Utc>,
    ) -> Result<Pruned, StoreError> {
        // Nothing to do without an age limit while under the count limit
        // (the count is a counter: no scan).
        if max_age.is_none() && self.entry_count() <= max_entries {
            return Ok(Pruned::default());
        }
        // Only (first seen, id) per entry is held; memberships are read
        // from each entry as it is removed.
        let mut all: Vec<(DateTime<Utc>, EntryId)> = Vec::new();
        for kv in self.entries.iter() {
            let (k, v) = kv?;
            let id = keys::entry_id_from_key(&k)
                .ok_or_else(|| corrupt(keys::TREE_ENTRIES, "bad key length"))?;
            let sk = codec::skeleton(&v)?;
            all.push((sk.first_seen, id));
        }
        all.sort_unstable();
        let cutoff = max_age
            .and_then(|a| chrono::Duration::from_std(a).ok())
            .map(|a| now - a);
        let aged = cutoff.map_or(0, |c| all.iter().take_while(|(seen, _)| *seen < c).count());
        let over = all.len().saturating_sub(max_entries);
        let mut pruned = Pruned::default();
        for (_, id) in all.into_iter().take(aged.max(over)) {
            let key = keys::entry_key(&id);
            let stamp = keys::time_bytes(now);
            let trees = (
                &self.entries,
                &self.topic_index,
                &self.seen_index,
                &self.tombstones,
                &self.counts,
            );
            let topics = trees.transaction(|(entries, index, seen, tombs, counts)| {
                let mut tally = Tally::default();
                let Some(old) = entries.remove(&key)? else {
                    return Ok(Memberships::default());
                };
                tally.add(keys::COUNT_ENTRIES.to_vec(), -1);
                let sk = codec::skeleton(&old).map_err(ConflictableTransactionError::Abort)?;
                seen.remove(keys::seen_key(sk.first_seen, &id))?;
                for (topic, at) in &sk.topics {
                    if index.remove(keys::topic_key(topic, *at, &id))?.is_some() {
                        tally.add(keys::topic_count_key(topic), -1);
                    }
                }
                tombs.insert(&key, &stamp)?;
                tally.write(counts)?;
                Ok::<_, ConflictableTransactionError<StoreError>>(sk.topics)
            })?;
            pruned.removed += 1;
            pruned.topics.extend(topics.into_keys());
        }
        self.mark_topics_changed(pruned.topics.iter().map(|t| (t.as_str(), now)))?;
        if pruned.removed > 0 {
            pruned.tombstones_dropped = self.trim_tombstones(max_entries.max(MIN_TOMBSTONES))?;
        }
        Ok(pruned)
    }

    /// Drops the oldest tombstones beyond `keep`. Tombstones would
    /// otherwise grow with every entry ever pruned; one old enough that
    /// `keep` newer entries were pruned after it names an item its
    /// upstream has long stopped listing.
    fn trim_tombstones(&self, keep: usize) -> Result<usize, StoreError> {
        let mut all: Vec<([u8; 8], sled::IVec)> = Vec::new();
        for kv in self.tombstones.iter() {
            let (k, v) = kv?;
            let stamp = v.as_ref().try_into().unwrap_or([0; 8]);
            all.push((stamp, k));
        }
        if all.len() <= keep {
            return Ok(0);
        }
        all.sort_unstable();
        let drop = all.len() - keep;
        let mut batch = sled::Batch::default();
        for (_, k) in all.into_iter().take(drop) {
            batch.remove(k);
        }
        self.tombstones.apply_batch(batch)?;
        Ok(drop)
    }

    /// Records that `host` asked not to be contacted before `until`.
    pub fn put_host_block(&self, host: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.host_block
            .insert(host.as_bytes(), &keys::time_bytes(until))?;
        Ok(())
    }

    /// Hosts that asked not to be contacted before a time still ahead.
    pub fn host_blocks(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.host_block.iter() {
            let (k, v) = kv?;
            let until = v
                .as_ref()
                .try_into()
                .ok()
                .and_then(keys::time_from_bytes)
                .ok_or_else(|| corrupt(keys::TREE_HOST_BLOCK, "bad time"))?;
            if until > now {
                out.push((String::from_utf8_lossy(&k).into_owned(), until));
            }
        }
        Ok(out)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// One entry's read, transform and write inside a transaction; an entry
/// that comes out as it went in is not written again.
fn upsert_in(
    tx: &Tx<'_>,
    tally: &mut Tally,
    id: &EntryId,
    f: &dyn Fn(Option<Entry>) -> Entry,
) -> Result<Upserted, ConflictableTransactionError<StoreError>> {
    let old = match tx.entries.get(keys::entry_key(id))? {
        Some(v) => Some(decode_entry(&v).map_err(ConflictableTransactionError::Abort)?),
        None => None,
    };
    let mut new = f(old.clone());
    if old.as_ref() != Some(&new) {
        write_entry(tx, tally, id, old.as_ref().map(|o| &o.topics), &mut new)?;
    }
    Ok(Upserted { old, new })
}

/// The trees an entry write touches, inside one transaction.
struct Tx<'a> {
    entries: &'a TransactionalTree,
    index: &'a TransactionalTree,
    seen: &'a TransactionalTree,
}

/// Writes an entry and moves its index keys from `old_topics` (none: a new
/// entry) to its memberships now, noting in `tally` what the counts gain
/// and lose.
fn write_entry(
    tx: &Tx<'_>,
    tally: &mut Tally,
    id: &EntryId,
    old_topics: Option<&Memberships>,
    new: &mut Entry,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let bytes = codec::encode(new).map_err(ConflictableTransactionError::Abort)?;
    let card = facets::card(new);
    write_value(tx, tally, id, old_topics, &new.topics, &bytes, Some(&card))
}

/// [`write_entry`] with the value already encoded.
fn write_value(
    tx: &Tx<'_>,
    tally: &mut Tally,
    id: &EntryId,
    old_topics: Option<&Memberships>,
    new_topics: &Memberships,
    bytes: &[u8],
    card: Option<&[u8]>,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let Tx {
        entries,
        index,
        seen,
    } = tx;
    let abort = ConflictableTransactionError::Abort;
    let first_seen = |v: &[u8]| codec::first_seen(v).map_err(abort);
    let now_seen = first_seen(bytes)?;
    let seen_key = keys::seen_key(now_seen, id);
    let old_card = match entries.insert(&keys::entry_key(id), bytes)? {
        None => {
            tally.add(keys::COUNT_ENTRIES.to_vec(), 1);
            None
        }
        // First-seen times do not move, but the index must follow if one
        // ever did.
        Some(old) => {
            let was_seen = first_seen(&old)?;
            match (was_seen == now_seen, card) {
                // The old card is read only when it is retagged.
                (true, Some(_)) => None,
                (true, None) => seen.get(&seen_key)?,
                (false, _) => seen.remove(keys::seen_key(was_seen, id))?,
            }
        }
    };
    let card = match (card, old_card) {
        (Some(card), _) => card.to_vec(),
        // Only the tags changed: the facets' bytes are kept.
        (None, Some(old)) => {
            let tags = codec::peek(bytes, |tags, _| facets::retag(&old, tags.iter().copied()))
                .map_err(abort)?;
            tags.map_err(|e| abort(corrupt(keys::TREE_SEEN_INDEX, e)))?
        }
        (None, None) => facets::card(&decode_entry(bytes).map_err(abort)?),
    };
    seen.insert(seen_key, card)?;
    // Each index key holds the entry's first-seen time: where its card is.
    let seen_at = keys::time_bytes(now_seen);
    for (topic, at) in old_topics.into_iter().flatten() {
        if new_topics.get(topic) != Some(at)
            && index.remove(keys::topic_key(topic, *at, id))?.is_some()
        {
            tally.add(keys::topic_count_key(topic), -1);
        }
    }
    for (topic, at) in new_topics {
        if old_topics.and_then(|t| t.get(topic)) != Some(at)
            && index
                .insert(keys::topic_key(topic, *at, id), &seen_at)?
                .is_none()
        {
            tally.add(keys::topic_count_key(topic), 1);
        }
    }
    Ok(())
}

fn decode_entry(bytes: &[u8]) -> Result<Entry, StoreError> {
    codec::decode(bytes)
}
