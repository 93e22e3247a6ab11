//! What a topic document shows: the topic's newest entries, or for a
//! query feed ([`crate::query`]) those that pass its filter, and the
//! context its renderers need (title and URLs naming the query).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use url::Url;

use super::{topic_max_age, topic_updated, FeedContext, Site};
use crate::config::Definitions;
use crate::model::Entry;
use crate::query::Filter;
use crate::rules::{FeedOf, Topic};
use crate::store::facets::FacetView;
use crate::store::{Scope, Store, StoreError, Tests};

/// Most entries one query reads (see [`Tests::max_read`]): about 30 ms of
/// one core on the reference machine for a query that matches nothing
/// (benches/query.rs: about 2 µs an entry, its card read and tested), however
/// large the store. A query that matches little stops there and says so
/// in its feed's description; `since=` or a narrower topic reaches further
/// back.
pub const MAX_READ: usize = 15_000;
/// Most entries one query decodes to test on their text (see
/// [`Tests::max_decode`]): a word shorter than a trigram passes every
/// card, and decoding 15,000 entries took 0.6 s of a core per request.
pub const MAX_DECODE: usize = 1_000;

/// Queries that stopped at [`MAX_READ`] since start (for `/metrics`).
static CUT: AtomicU64 = AtomicU64::new(0);

/// Queries cut short at [`MAX_READ`] since start.
pub fn queries_cut() -> u64 {
    CUT.load(Ordering::Relaxed)
}

/// The entries a topic (or every entry's) document shows, and the topic
/// as the document names it.
pub(super) struct Selected<'a> {
    pub of: &'a FeedOf,
    pub topic: Topic,
    pub entries: Vec<Entry>,
}

/// The newest `limit` entries of `of` that pass `filter`; `None` for an
/// unknown topic. Reads only the entries it shows, plus, for a query,
/// those it tests.
pub(super) fn select<'a>(
    store: &Store,
    defs: &Definitions,
    of: &'a FeedOf,
    limit: usize,
    filter: Option<&Filter>,
) -> Result<Option<Selected<'a>>, StoreError> {
    let mut t = match of {
        FeedOf::Everything => Topic::everything(),
        FeedOf::Topic(id) => match defs.rules.topic(id) {
            Some(t) => t.clone(),
            None => return Ok(None),
        },
    };
    let mut cut = false;
    let entries = match (filter, of) {
        (None, FeedOf::Topic(id)) => store.topic_entries(id, limit)?,
        (filter, of) => {
            let now = Utc::now();
            let pass_all = Filter::default();
            let f = filter.unwrap_or(&pass_all);
            let head = |tags: &[&str], at| f.head_matches(tags, at, now);
            let facets = |v: &FacetView| f.may_match(v);
            // The sources only private topics take: every entry's
            // documents leave out what comes only from them.
            let (scope, hidden) = match of {
                FeedOf::Topic(id) => (Scope::Topic(id), None),
                FeedOf::Everything => (Scope::All, Some(defs.rules.private_sources())),
            };
            let body = |e: &Entry| {
                f.matches(e) && hidden.as_ref().is_none_or(|h| !only_private(defs, h, e))
            };
            let tests = Tests {
                oldest: f.since_cutoff(now),
                head: &head,
                facets: &facets,
                body: &body,
                max_read: MAX_READ,
                max_decode: MAX_DECODE,
            };
            let found = store.select(scope, limit, &tests)?;
            cut = found.cut;
            found.entries
        }
    };
    if let Some(f) = filter {
        t.title = format!("{}: {}", t.title, f.describe());
        t.description = format!("{} Filtered: {}.", t.description, f.describe());
    }
    if cut {
        CUT.fetch_add(1, Ordering::Relaxed);
        t.description = format!(
            "{} Only the newest entries were searched (at most {MAX_READ} read, {MAX_DECODE} tested on their text): add since=, longer words or a narrower topic to reach older ones.",
            t.description
        );
    }
    Ok(Some(Selected {
        of,
        topic: t,
        entries,
    }))
}

/// Whether `e` is in a private topic and in no public one, or comes only
/// from sources that only private topics take (`hidden`; such an entry may
/// be in no topic at all, when the private topic's tags did not take it):
/// `/search` must not show it, or a private topic's entries, and what it
/// follows, could be found without its token.
fn only_private(defs: &Definitions, hidden: &HashSet<&str>, e: &Entry) -> bool {
    let private = |id: &String| defs.rules.topic(id).is_some_and(|t| t.private);
    let in_private = e.topics.keys().any(private) && e.topics.keys().all(private);
    let from_hidden =
        !e.sources.is_empty() && e.sources.iter().all(|s| hidden.contains(s.as_str()));
    in_private || from_hidden
}

impl Selected<'_> {
    pub(super) fn context<'a>(
        &'a self,
        defs: &Definitions,
        base: &'a Url,
        store: &Store,
        filter: Option<&'a Filter>,
        site: Site<'_>,
    ) -> Result<FeedContext<'a>, StoreError> {
        let topic = self.of.topic();
        let changed = match topic {
            Some(id) => store.topic_changes()?.get(id).copied(),
            None => None,
        };
        Ok(FeedContext {
            of: self.of,
            topic: &self.topic,
            base_url: base,
            updated: topic_updated(&self.entries, topic, changed),
            // Every entry's: [`Topic::everything`] takes every source.
            max_age: topic_max_age(defs, &self.topic),
            hub: match (site, filter) {
                // Query feeds and private topics are not WebSub topics.
                (Site::Served { hub, .. }, None) if !self.topic.private => hub.url(base),
                _ => None,
            },
            query: filter.map(Filter::canonical),
            digest: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture::store_with_entries;

    /// A query that matches nothing stops after testing its limit, in a
    /// topic and over the whole store, and says it was cut; entries that
    /// fail on their facets are never decoded.
    #[test]
    fn a_query_tests_at_most_its_limit() {
        use crate::store::{Scope, Tests};
        use std::cell::Cell;
        let (_dir, store, _defs) = store_with_entries();
        for scope in [Scope::Topic("all"), Scope::All] {
            for (max_read, tests_run, cut) in [(7, 7, true), (100, 30, false)] {
                let tested = Cell::new(0);
                let decoded = Cell::new(0);
                let facets = |_: &crate::store::facets::FacetView| {
                    tested.set(tested.get() + 1);
                    false
                };
                let body = |_: &Entry| {
                    decoded.set(decoded.get() + 1);
                    true
                };
                let tests = Tests {
                    oldest: None,
                    head: &|_, _| true,
                    facets: &facets,
                    body: &body,
                    max_read,
                    max_decode: usize::MAX,
                };
                let found = store.select(scope, 50, &tests).unwrap();
                assert!(found.entries.is_empty());
                assert_eq!(tested.get(), tests_run, "{scope:?}");
                assert_eq!(decoded.get(), 0, "{scope:?}");
                assert_eq!(found.cut, cut, "{scope:?}");
            }
        }
    }
}
