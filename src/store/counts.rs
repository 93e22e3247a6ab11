//! How many entries the store and each topic hold: counters in the
//! `counts` tree, changed in the same transaction as the entries and index
//! keys they count (through a [`Tally`]), so the pages, `/status`,
//! `/metrics` and retention read them without a scan;
//! [`Store::count_by_scan`] is what they must always agree with.

use std::collections::BTreeMap;

use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::{corrupt, keys, Store, StoreError};

/// How many entries the store and each topic hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub entries: usize,
    /// Topics with at least one entry.
    pub topics: BTreeMap<String, usize>,
}

/// Changes to the counts made within one transaction, written once at its
/// end (one read and write per counter, however many entries it touched).
#[derive(Default)]
pub(super) struct Tally(BTreeMap<Vec<u8>, i64>);

impl Tally {
    pub(super) fn add(&mut self, key: Vec<u8>, delta: i64) {
        *self.0.entry(key).or_default() += delta;
    }

    pub(super) fn write(
        &self,
        counts: &TransactionalTree,
    ) -> Result<(), UnabortableTransactionError> {
        for (key, delta) in self.0.iter().filter(|(_, d)| **d != 0) {
            let now = counts.get(key)?.map_or(0, |v| keys::count_from_bytes(&v));
            let next = now.saturating_add_signed(*delta);
            counts.insert(key.as_slice(), &next.to_be_bytes())?;
        }
        Ok(())
    }
}

impl Store {
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
}
