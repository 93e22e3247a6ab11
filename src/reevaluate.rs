//! Keeping the store in step with the rules when they change (on start-up,
//! and on a reload while serving).
//!
//! The store remembers fingerprints of the rules its tags and memberships
//! were computed under ([`RuleSet::fingerprints`]). When they differ, every
//! stored entry is re-evaluated ([`RuleSet::reevaluate`]): tags recomputed,
//! memberships of changed or new topics recomputed, memberships of removed
//! topics dropped. Ids, dates and every other field stay as they are. A topic
//! that is removed and added back gets its entries back, placed where they
//! would always have been.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::model::Entry;
use crate::rules::RuleSet;
use crate::store::{Rerouted, Store, StoreError, Stored};

/// Entries re-evaluated per store transaction. The writes are the slow
/// part (about 100 µs per rewritten entry: sled reads every key a
/// transaction writes, then writes it, index keys included), and a sled
/// transaction holds the store's one lock while it runs, stalling other
/// readers and writers: 512 keeps each under about 50 ms, with the
/// per-commit cost spread thinly enough.
pub const REEVALUATE_BATCH: usize = 512;
/// Threads that decode and re-evaluate entries (at most; fewer on fewer
/// cores) while the calling thread writes.
const MAX_WORKERS: usize = 4;

/// What a re-evaluation did.
#[derive(Debug, Default, Clone)]
pub struct Reevaluated {
    /// Entries looked at (0 when the rules had not changed).
    pub entries: usize,
    /// Entries whose tags or memberships changed (and were rewritten).
    pub changed: usize,
    /// Topics whose feeds may differ: changed, new or removed.
    pub topics: BTreeSet<String>,
    pub took: Duration,
}

/// Re-evaluates the store if the rules changed since it was last evaluated.
pub fn apply(store: &Store, rules: &RuleSet) -> Result<Reevaluated, StoreError> {
    let started = Instant::now();
    let now = Utc::now();
    date_new_topics(store, rules)?;
    let new = rules.fingerprints();
    let stored = store.rule_fingerprints()?;
    // A store never evaluated before (new, or from before fingerprints)
    // has its topics dated by `date_new_topics`: evaluating it is no change
    // of theirs.
    let first_evaluation = stored.is_none();
    let old = stored.unwrap_or_default();
    if old == new {
        return Ok(Reevaluated::default());
    }
    let changed: HashSet<String> = new
        .topics
        .iter()
        .filter(|(id, fp)| old.topics.get(*id) != Some(*fp))
        .map(|(id, _)| id.clone())
        .collect();
    let removed: BTreeSet<String> = old
        .topics
        .keys()
        .filter(|t| !new.topics.contains_key(*t))
        .cloned()
        .collect();
    let mut out = Reevaluated {
        topics: changed.iter().cloned().chain(removed).collect(),
        ..Default::default()
    };
    let reroute = |entry: &mut Entry| rules.reevaluate(entry, &changed, now);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    // Decode and re-evaluate a batch on the workers while this thread
    // writes the previous one and reads the next (a few hundred entries per
    // transaction, see `Store::reroute_many`): memory holds two batches
    // however large the store. An entry a poll changes between the read
    // and the write is re-evaluated again as it is then.
    let mut batch = store.entries_after(None, REEVALUATE_BATCH)?;
    let mut ready: Vec<Rerouted> = Vec::new();
    while !batch.is_empty() || !ready.is_empty() {
        out.entries += batch.len();
        let (written, prepared, next) = std::thread::scope(|s| {
            let per_worker = batch.len().div_ceil(workers).max(1);
            let jobs: Vec<_> = batch
                .chunks(per_worker)
                .map(|chunk| s.spawn(move || prepare(chunk, &reroute)))
                .collect();
            let written = store.reroute_many(&ready, reroute)?;
            let next = match batch.last() {
                Some(last) => store.entries_after(Some(&last.id), REEVALUATE_BATCH)?,
                None => Vec::new(),
            };
            let mut prepared = Vec::new();
            for job in jobs {
                prepared.extend(job.join().expect("a re-evaluation worker panicked")?);
            }
            Ok::<_, StoreError>((written, prepared, next))
        })?;
        out.changed += written;
        (ready, batch) = (prepared, next);
    }
    if !first_evaluation {
        store.mark_topics_changed(changed.iter().map(|t| (t.as_str(), now)))?;
    }
    store.put_rule_fingerprints(&new)?;
    store.flush()?;
    out.took = started.elapsed();
    Ok(out)
}

/// Dates each topic the store has not seen before: by its newest entry,
/// or by now when it has none, so its feed never says 1970 and says the
/// same date in every rendering (cheap: one index read per new topic).
pub fn date_new_topics(store: &Store, rules: &RuleSet) -> Result<(), StoreError> {
    let now = Utc::now();
    let marks = store.topic_changes()?;
    let mut first_seen = Vec::new();
    for t in rules.topics.iter().filter(|t| !marks.contains_key(&t.id)) {
        let newest = store.topic_entries(&t.id, 1)?;
        let at = newest.first().and_then(|e| e.topics.get(&t.id).copied());
        first_seen.push((t.id.as_str(), at.unwrap_or(now)));
    }
    store.mark_topics_changed(first_seen)
}

/// The rewrites a chunk of stored entries needs.
fn prepare(
    chunk: &[Stored],
    reroute: &(impl Fn(&mut Entry) -> bool + Sync),
) -> Result<Vec<Rerouted>, StoreError> {
    let mut out = Vec::new();
    for stored in chunk {
        out.extend(stored.reroute(reroute)?);
    }
    Ok(out)
}
