//! Retention: entries leave the store only here, by age or by number
//! ([`Store::prune`]), and each leaves a tombstone so that an upstream
//! still listing it cannot bring it back. Tombstones are bounded too
//! ([`MIN_TOMBSTONES`]).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::counts::Tally;
use super::{codec, corrupt, keys, Memberships, Store, StoreError};
use crate::model::EntryId;

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

impl Store {
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
}
