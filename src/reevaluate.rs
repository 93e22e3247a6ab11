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

use crate::rules::RuleSet;
use crate::store::{Store, StoreError};

/// Entries re-evaluated per store transaction.
pub const REEVALUATE_BATCH: usize = 256;

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
    // A topic first seen is dated by its newest entry, or by now when it
    // has none: its feed never says 1970.
    let marks = store.topic_changes()?;
    let mut first_seen = Vec::new();
    for t in rules.topics.iter().filter(|t| !marks.contains_key(&t.id)) {
        let newest = store.topic_entries(&t.id, 1)?;
        let at = newest.first().and_then(|e| e.topics.get(&t.id).copied());
        first_seen.push((t.id.as_str(), at.unwrap_or(now)));
    }
    store.mark_topics_changed(first_seen)?;
    let new = rules.fingerprints();
    let old = store.rule_fingerprints()?.unwrap_or_default();
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
    // A few hundred entries per transaction (see `Store::update_many`),
    // read a batch at a time, so memory holds one batch however large the
    // store. Entries a poll changes meanwhile are re-evaluated as read.
    let mut last = None;
    loop {
        let ids = store.entry_ids_after(last.as_ref(), REEVALUATE_BATCH)?;
        let Some(&end) = ids.last() else { break };
        out.entries += ids.len();
        out.changed += store.update_many(&ids, |_, current| {
            let mut entry = current?;
            rules.reevaluate(&mut entry, &changed, now).then_some(entry)
        })?;
        last = Some(end);
    }
    store.mark_topics_changed(changed.iter().map(|t| (t.as_str(), now)))?;
    store.put_rule_fingerprints(&new)?;
    store.flush()?;
    out.took = started.elapsed();
    Ok(out)
}
