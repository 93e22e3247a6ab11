//! The store's layout versions and the migrations between them: which
//! version a store is at, and bringing an older one to [`SCHEMA_VERSION`]
//! when it is opened. Each migration can be killed at any point and
//! resumed by the next open; the layouts themselves are described in
//! [`keys`] (trees and keys) and [`codec`] (entry values).

use std::collections::HashMap;
use std::path::Path;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::{codec, corrupt, facets, keys, Store, StoreError};
use crate::model::EntryId;

/// The layout version this build reads and writes. Bump it with a numbered
/// migration in this file ([`Store::open_with`] runs them) when a layout
/// changes, and say here what the new version changed.
///
/// 1: entries, topic index, source state, tombstones, host blocks, meta.
/// 2: adds the `counts` tree (entries and per-topic sizes).
/// 3: entry values deflated.
/// 4: entry values split into a binary head (first seen, memberships, tags)
///    and a deflated body (`store/codec.rs`), so re-evaluation and pruning do not
///    inflate and deflate text they do not change.
/// 5: adds the first-seen index (`seentime_id`): each entry's query card
///    (`store/facets.rs`) under its first-seen time; each topic index key's
///    value becomes that time (empty before), so a query reads cards, not
///    entries.
pub const SCHEMA_VERSION: u32 = 5;

impl Store {
    /// Brings a store just opened to [`SCHEMA_VERSION`]: an empty one is
    /// stamped with it, an older one migrated, a newer one refused (`dir`
    /// names it in the error).
    pub(super) fn migrate(&self, dir: &Path) -> Result<(), StoreError> {
        match self.meta.get(keys::SCHEMA_VERSION)? {
            None if self.entries.is_empty() => {
                self.meta
                    .insert(keys::SCHEMA_VERSION, &SCHEMA_VERSION.to_be_bytes())?;
            }
            // Entries without a version: written before versions existed.
            None => {
                self.migrate_to_2()?;
                self.migrate_values()?;
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
                    self.migrate_to_2()?;
                }
                if found < SCHEMA_VERSION {
                    self.migrate_values()?;
                }
            }
        }
        Ok(())
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

    /// Schema 2, 3 or 4 → 5: rewrites every entry value not yet in the
    /// schema 4 form ([`codec`]), a batch at a time, builds the first-seen
    /// index ([`Store::build_seen_index`]), then writes the new version.
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
}
