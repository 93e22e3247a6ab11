//! Selections: the newest entries of a topic, or of the whole store, that
//! pass a caller's tests (query feeds, [`crate::query`]).
//!
//! Each entry is tested in three steps so the costly ones run least: on
//! what its head holds (tags, and when it entered the scope), then on its
//! facets (words, organization, authors, sources, metrics: [`super::facets`];
//! both read in place, no inflating), and only then, decoded, on the entry.

use chrono::{DateTime, Utc};

use super::facets::{self, Card, FacetView};
use super::{corrupt, keys, Store, StoreError};
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
    /// On the entry's facets.
    pub facets: &'a dyn Fn(&FacetView) -> bool,
    /// On the decoded entry (only those that passed both tests before).
    pub body: &'a dyn Fn(&Entry) -> bool,
    /// Most entries read: the selection stops there (a stranger chooses
    /// the query, and one that matches little would otherwise read the
    /// whole scope, each entry a random read of the store).
    pub max_read: usize,
    /// Most entries decoded (those that passed the head and facet
    /// tests): a query whose words the facets cannot rule out (shorter
    /// than a trigram) would otherwise decode up to `max_read` entries.
    pub max_decode: usize,
}

/// What [`Store::walk_topic`] calls for each entry.
pub type Visit<'a> = dyn FnMut(&EntryId, Walked, Option<&Card>) -> Result<(), StoreError> + 'a;

/// When an entry walked ([`Store::walk_topic`]) entered the topic and was
/// first seen.
#[derive(Debug, Clone, Copy)]
pub struct Walked {
    pub entered: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
}

/// What a selection found.
#[derive(Debug, Default)]
pub struct Selection {
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Whether it stopped at [`Tests::max_read`] or
    /// [`Tests::max_decode`] before reaching `limit` or the end of its
    /// scope: older entries were not looked at.
    pub cut: bool,
}

impl Store {
    /// The newest `limit` entries of `scope` passing `tests`, newest first.
    ///
    /// The scope's index (a topic's, or the first-seen index for the whole
    /// store) is walked newest first; the walk stops at `limit` matches,
    /// at `oldest`, or after reading [`Tests::max_read`] entries.
    pub fn select(
        &self,
        scope: Scope<'_>,
        limit: usize,
        tests: &Tests<'_>,
    ) -> Result<Selection, StoreError> {
        let (tree, tree_name, prefix) = match scope {
            Scope::Topic(topic) => (
                &self.topic_index,
                keys::TREE_TOPIC_INDEX,
                keys::topic_prefix(topic),
            ),
            Scope::All => (&self.seen_index, keys::TREE_SEEN_INDEX, Vec::new()),
        };
        let mut out = Vec::with_capacity(limit.min(512));
        let mut cut = false;
        let mut decoded = 0;
        for (read, kv) in tree.scan_prefix(&prefix).rev().enumerate() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            let (at, id) = keys::parse_topic_key(prefix.len(), &k)
                .ok_or_else(|| corrupt(tree_name, "bad key length"))?;
            if tests.oldest.is_some_and(|o| at < o) {
                break;
            }
            if read >= tests.max_read || decoded >= tests.max_decode {
                cut = true;
                break;
            }
            // A topic index value is the entry's first-seen time, where its
            // card is; the first-seen index's value is the card.
            let card = match scope {
                Scope::All => Some(v),
                Scope::Topic(_) => match <[u8; 8]>::try_from(v.as_ref()) {
                    Ok(seen) => {
                        let mut key = seen.to_vec();
                        key.extend_from_slice(&id.0);
                        self.seen_index.get(key)?
                    }
                    Err(_) => None,
                },
            };
            decoded += usize::from(self.take_if(&id, at, card.as_deref(), tests, &mut out)?);
        }
        Ok(Selection { entries: out, cut })
    }

    /// Walks the cards of `topic`'s entries that entered it before
    /// `before` and from `oldest` on, newest first, handing each to `f`
    /// with when it entered and when it was first seen, without decoding
    /// any entry (`None` for an entry without a card: a store
    /// mid-migration). Stops after `max_read` index keys; says whether it
    /// stopped there.
    pub fn walk_topic(
        &self,
        topic: &str,
        oldest: DateTime<Utc>,
        before: DateTime<Utc>,
        max_read: usize,
        f: &mut Visit<'_>,
    ) -> Result<bool, StoreError> {
        let prefix = keys::topic_prefix(topic);
        let mut end = keys::topic_key(topic, before, &EntryId([0; 16]));
        end.truncate(prefix.len() + 8);
        for (read, kv) in self
            .topic_index
            .range(prefix.clone()..end)
            .rev()
            .enumerate()
        {
            let (k, v) = kv?;
            let (at, id) = keys::parse_topic_key(prefix.len(), &k)
                .ok_or_else(|| corrupt(keys::TREE_TOPIC_INDEX, "bad key length"))?;
            if at < oldest {
                return Ok(false);
            }
            if read >= max_read {
                return Ok(true);
            }
            let Some(seen) = <[u8; 8]>::try_from(v.as_ref())
                .ok()
                .and_then(|b| Some((b, keys::time_from_bytes(b)?)))
            else {
                continue;
            };
            let mut key = seen.0.to_vec();
            key.extend_from_slice(&id.0);
            let card = self.seen_index.get(key)?;
            let walked = Walked {
                entered: at,
                first_seen: seen.1,
            };
            match card {
                Some(bytes) => {
                    let c = facets::read(&bytes).map_err(|e| corrupt(keys::TREE_SEEN_INDEX, e))?;
                    f(&id, walked, Some(&c))?;
                }
                None => f(&id, walked, None)?,
            }
        }
        Ok(false)
    }

    /// Appends entry `id` to `out` if it passes the tests (`at`: when it
    /// entered the scope), tested on its `card` first when there is one;
    /// says whether the entry was decoded.
    fn take_if(
        &self,
        id: &EntryId,
        at: DateTime<Utc>,
        card: Option<&[u8]>,
        tests: &Tests<'_>,
        out: &mut Vec<Entry>,
    ) -> Result<bool, StoreError> {
        let passes = |c: &Card| (tests.head)(&c.tags, at) && (tests.facets)(&c.facets);
        let entry = match card {
            Some(bytes) => {
                let c = facets::read(bytes).map_err(|e| corrupt(keys::TREE_SEEN_INDEX, e))?;
                if !passes(&c) {
                    return Ok(false);
                }
                self.get(id)?
            }
            // No card (a store mid-migration): tested on the entry itself.
            None => match self.get(id)? {
                Some(e) => {
                    let card = facets::card(&e);
                    if !facets::read(&card).is_ok_and(|c| passes(&c)) {
                        return Ok(true);
                    }
                    Some(e)
                }
                None => None,
            },
        };
        let Some(e) = entry else {
            // An index key without its entry cannot be written (one
            // transaction), but a reader must not fail on one.
            tracing::warn!(%id, "an index names a missing entry");
            return Ok(true);
        };
        if (tests.body)(&e) {
            out.push(e);
        }
        Ok(true)
    }
}
