//! What the store records of its topics as a whole, in the `meta` tree:
//! the rule fingerprints the stored tags and memberships were computed
//! under (so a change of rules is noticed at start-up or reload, see
//! [`crate::reevaluate`]), and when each topic last changed other than by
//! gaining an entry (an empty topic's feed is dated by it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{corrupt, keys, Store, StoreError};

/// Fingerprints of the rules the store's tags and memberships reflect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFingerprints {
    /// Of all tag definitions together.
    pub tags: String,
    /// Topic id → of its definition and the tags it names.
    pub topics: BTreeMap<String, String>,
}

impl Store {
    /// The rule fingerprints the stored tags and memberships were computed
    /// under (see [`crate::reevaluate`]).
    pub fn rule_fingerprints(&self) -> Result<Option<RuleFingerprints>, StoreError> {
        match self.meta.get(keys::RULE_FINGERPRINTS)? {
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(keys::TREE_META, e)),
            None => Ok(None),
        }
    }

    pub fn put_rule_fingerprints(&self, fps: &RuleFingerprints) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(fps).map_err(|e| corrupt(keys::TREE_META, e))?;
        self.meta.insert(keys::RULE_FINGERPRINTS, bytes)?;
        Ok(())
    }

    /// When each topic last changed other than by gaining an entry (see
    /// [`keys::TOPIC_CHANGES`]).
    pub fn topic_changes(&self) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
        match self.meta.get(keys::TOPIC_CHANGES)? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_META, e)),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Records that `topics` changed at `at` (later times win).
    pub fn mark_topics_changed<'a>(
        &self,
        topics: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        let mut marks = self.topic_changes()?;
        let before = marks.clone();
        for (topic, at) in topics {
            let mark = marks.entry(topic.to_string()).or_insert(at);
            *mark = (*mark).max(at);
        }
        if marks != before {
            let bytes = serde_json::to_vec(&marks).map_err(|e| corrupt(keys::TREE_META, e))?;
            self.meta.insert(keys::TOPIC_CHANGES, bytes)?;
        }
        Ok(())
    }
}
