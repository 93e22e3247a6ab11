//! Selections: the newest entries of a topic, or of the whole store, that
//! pass a caller's tests (query feeds, [`crate::query`]).
//!
//! Each entry is tested in two steps so the costly one runs least: first
//! on what its head holds (tags, and when it entered the scope; no
//! inflating), then, only if that passed, on the decoded entry.

use chrono::{DateTime, Utc};

use super::{codec, corrupt, decode_entry, keys, Store, StoreError};
use crate::model::{Entry, EntryId};

/// Where a selection looks.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// One topic's entries, ordered by when each entered the topic (as
    /// its feed is).
    Topic(&'a str),
    /// Every stored entry, ordered by when it was first seen.
    All,
}

/// The tests a selection applies.
pub struct Tests<'a> {
    /// Nothing that entered the scope before this is taken.
    pub oldest: Option<DateTime<Utc>>,
    /// On the entry's tags and the time it entered the scope.
    pub head: &'a dyn Fn(&[&str], DateTime<Utc>) -> bool,
    /// On the decoded entry.
    pub body: &'a dyn Fn(&Entry) -> bool,
    /// Most entries decoded for the body test: the selection stops there
    /// (decoding is what costs, tens of microseconds an entry, and a
    /// stranger chooses the query).
    pub max_decoded: usize,
}

/// What a selection found.
#[derive(Debug, Default)]
pub struct Selection {
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Whether it stopped at [`Tests::max_decoded`] before reaching
    /// `limit` or the end of its scope: older entries were not looked at.
    pub cut: bool,
}

impl Store {
    /// The newest `limit` entries of `scope` passing `tests`, newest first.
    ///
    /// A topic is walked newest first through its index and the walk
    /// stops at `limit` matches or at `oldest`. The whole store has no
    /// time index: every head is read, and the (time, id) pairs that pass
    /// are sorted (24 bytes an entry, held while the selection runs);
    /// bodies are then decoded newest first until `limit` pass.
    pub fn select(
        &self,
        scope: Scope<'_>,
        limit: usize,
        tests: &Tests<'_>,
    ) -> Result<Selection, StoreError> {
        let mut out = Vec::with_capacity(limit.min(512));
        let mut decoded = 0;
        let mut cut = false;
        match scope {
            Scope::Topic(topic) => {
                let prefix = keys::topic_prefix(topic);
                for kv in self.topic_index.scan_prefix(&prefix).rev() {
                    if out.len() >= limit {
                        break;
                    }
                    let (k, _) = kv?;
                    let (at, id) = keys::parse_topic_key(prefix.len(), &k)
                        .ok_or_else(|| corrupt(keys::TREE_TOPIC_INDEX, "bad key length"))?;
                    if tests.oldest.is_some_and(|o| at < o) {
                        break;
                    }
                    if decoded >= tests.max_decoded {
                        cut = true;
                        break;
                    }
                    decoded += usize::from(self.take_if(&id, at, tests, &mut out)?);
                }
            }
            Scope::All => {
                let mut candidates: Vec<(DateTime<Utc>, EntryId)> = Vec::new();
                for kv in self.entries.iter() {
                    let (k, v) = kv?;
                    let id = keys::entry_id_from_key(&k)
                        .ok_or_else(|| corrupt(keys::TREE_ENTRIES, "bad key length"))?;
                    let seen = codec::peek(&v, |tags, seen| {
                        let recent = tests.oldest.is_none_or(|o| seen >= o);
                        (recent && (tests.head)(tags, seen)).then_some(seen)
                    })?;
                    if let Some(seen) = seen {
                        candidates.push((seen, id));
                    }
                }
                candidates.sort_unstable_by(|a, b| b.cmp(a));
                for (seen, id) in candidates {
                    if out.len() >= limit {
                        break;
                    }
                    if decoded >= tests.max_decoded {
                        cut = true;
                        break;
                    }
                    decoded += usize::from(self.take_if(&id, seen, tests, &mut out)?);
                }
            }
        }
        Ok(Selection { entries: out, cut })
    }

    /// Appends entry `id` to `out` if it passes both tests (`at`: when it
    /// entered the scope). Returns whether it was decoded.
    fn take_if(
        &self,
        id: &EntryId,
        at: DateTime<Utc>,
        tests: &Tests<'_>,
        out: &mut Vec<Entry>,
    ) -> Result<bool, StoreError> {
        let Some(v) = self.entries.get(keys::entry_key(id))? else {
            // An index key without its entry cannot be written (one
            // transaction), but a reader must not fail on one.
            tracing::warn!(%id, "an index names a missing entry");
            return Ok(false);
        };
        if !codec::peek(&v, |tags, _| (tests.head)(tags, at))? {
            return Ok(false);
        }
        let e = decode_entry(&v)?;
        if (tests.body)(&e) {
            out.push(e);
        }
        Ok(true)
    }
}
