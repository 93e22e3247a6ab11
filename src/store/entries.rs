//! Entries: reading them, and writing them with their index keys. Every
//! write of an entry is one transaction over the entries, the topic index,
//! the first-seen index and the counts ([`Store::upsert`] and its batch
//! forms), so a crash never leaves an index key without its entry, a card
//! without its entry, or a count that disagrees with either.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::counts::Tally;
use super::{codec, corrupt, facets, keys, Memberships, Store, StoreError};
use crate::model::{Entry, EntryId};

/// The result of an upsert: the entry before and after.
pub struct Upserted {
    pub old: Option<Entry>,
    pub new: Entry,
}

impl Store {
    pub fn get(&self, id: &EntryId) -> Result<Option<Entry>, StoreError> {
        match self.entries.get(keys::entry_key(id))? {
            Some(v) => Ok(Some(decode_entry(&v)?)),
            None => Ok(None),
        }
    }

    /// Runs `f` in one transaction over the trees an entry write touches
    /// ([`Tx`]), then writes the counts it tallied. `f` may run more than
    /// once on a write conflict.
    pub(super) fn in_entry_transaction<R>(
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

    /// Every stored entry, in id order.
    pub fn all_entries(&self) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.entries.iter().map(|kv| {
            kv.map_err(StoreError::from)
                .and_then(|(_, v)| decode_entry(&v))
        })
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
pub(super) struct Tx<'a> {
    pub(super) entries: &'a TransactionalTree,
    pub(super) index: &'a TransactionalTree,
    pub(super) seen: &'a TransactionalTree,
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
pub(super) fn write_value(
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
