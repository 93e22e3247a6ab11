//! Re-routing in bulk: the stored entries handed out undecoded, a batch at
//! a time, so that a rule re-evaluation ([`crate::reevaluate`]) decodes and
//! re-tags them on worker threads, then written back only where the entry
//! is still as read. Only the head of a value (tags and memberships)
//! changes; its body's bytes are copied ([`codec::with_head`]).

use std::ops::Bound;

use sled::transaction::ConflictableTransactionError;

use super::entries::write_value;
use super::{codec, corrupt, keys, Memberships, Store, StoreError};
use crate::model::{Entry, EntryId};

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

impl Store {
    /// Up to `n` stored entries in id order, after `after` (from the first
    /// when none), not yet decoded: walking the store a batch at a time
    /// holds one batch, and the decoding can happen on other threads.
    pub fn entries_after(
        &self,
        after: Option<&EntryId>,
        n: usize,
    ) -> Result<Vec<Stored>, StoreError> {
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
}
