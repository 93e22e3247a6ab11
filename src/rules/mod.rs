//! Tag rules and topics: which tags an entry gets, and which topic feeds it
//! is published in.
//!
//! Semantics (the README has examples):
//! - **Tags** are evaluated independently, in definition order, at ingest and
//!   on every merge. A tag applies when every `all` condition holds, at least
//!   one `any` condition holds (if any are given), and no `none` condition
//!   holds. The entry stores, per tag, every rule hit that explains it.
//! - **Conditions**: `words` match case-insensitively (Unicode case folding)
//!   on word boundaries: `LLM` matches "LLM-based" and "llm" but not "LLMs";
//!   list plural forms explicitly. A space in a phrase matches any whitespace
//!   run. A boundary is only required on a side where the word starts or ends
//!   with a letter, digit or `_`, so `C++` works. `regex` is a Rust regex
//!   matched as written (case-sensitive unless it says `(?i)`). Both look in
//!   `fields` (default title and summary; summary and content are matched as
//!   visible text, markup stripped). `source` and `host` compare exactly
//!   (host also matches subdomains). `metric` comparisons never match a
//!   missing metric. `all` / `any` / `none` nest.
//! - **Topics** select on the entry's tags: all of `all`, at least one of
//!   `any` (when given), none of `none`, and, when `sources` is given, at
//!   least one of those sources. A topic with no tag selection takes every
//!   entry (of its sources).
//! - **Membership is sticky at ingest**: once an entry is in a topic it stays
//!   there when a later poll changes it (a paper whose upvotes drop below a
//!   threshold stays in the "popular" feed). It enters a topic at its
//!   listing time (when the source listed it, e.g. the day a paper made
//!   Daily Papers), else its published time, when it is new; and at the
//!   moment it first matches when it was already stored, so it surfaces at
//!   the top of the feed instead of being buried at its old date.
//!
//! Layout: `condition/` (one file per condition kind), `tag`, `topic`,
//! [`matcher`] (all text conditions screened at once), `subject` (the
//! entry as rules see it), `explain`, `lints`, `fingerprint`; the
//! [`RuleSet`] that routes entries is here.

mod condition;
mod explain;
mod fingerprint;
mod lints;
pub mod matcher;
mod subject;
mod tag;
#[cfg(test)]
mod tests;
mod topic;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{Entry, RuleHit};
use matcher::{Matchers, REGEX_SET_FROM};
use topic::TopicIndex;

pub use condition::MAX_WORD_CHARS;
pub use subject::{Field, Subject};
pub use tag::{sources_named, Tag};
pub use topic::{FeedOf, Topic, DEFAULT_LIMIT, MAX_LIMIT, RESERVED_TOPIC_IDS, SEARCH};

/// All tags and topics, compiled.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub tags: Vec<Tag>,
    pub topics: Vec<Topic>,
    /// Every text condition screened at once (see [`matcher`]).
    matchers: Matchers,
    /// Per topic (in order), its tags by position.
    topic_index: Vec<TopicIndex>,
}

impl RuleSet {
    pub fn new(tags: Vec<Tag>, topics: Vec<Topic>) -> Self {
        Self::build(tags, topics, REGEX_SET_FROM)
    }

    /// [`RuleSet::new`] with the `RegexScreen::Set` threshold given, so
    /// tests cover both screens.
    fn build(mut tags: Vec<Tag>, topics: Vec<Topic>, regex_set_from: usize) -> Self {
        let matchers = Matchers::build(&mut tags, regex_set_from);
        let topic_index = topics.iter().map(|t| TopicIndex::new(t, &tags)).collect();
        RuleSet {
            topic_index,
            tags,
            topics,
            matchers,
        }
    }

    /// Re-applies the rules to a stored entry after a rule change: tags are
    /// recomputed; for each topic in `changed`, membership is recomputed (an
    /// entry that newly matches enters at its listing or published time, as
    /// if the rule had always been there, so old entries do not flood a feed
    /// as new; one that stays keeps its place); memberships of topics that
    /// no longer exist are dropped. Other topics are left alone (their
    /// memberships stay sticky).
    ///
    /// Returns whether anything changed, so the caller writes only then
    /// (without keeping a copy of the entry to compare).
    pub fn reevaluate(
        &self,
        entry: &mut Entry,
        changed: &std::collections::HashSet<String>,
        now: DateTime<Utc>,
    ) -> bool {
        let (tags, tagged) = self.tag_indexed(entry, now);
        let mut differs = tags != entry.tags;
        entry.tags = tags;
        let before = entry.topics.len();
        entry.topics.retain(|t, _| self.topic(t).is_some());
        differs |= entry.topics.len() != before;
        for (topic, index) in self.topics.iter().zip(&self.topic_index) {
            if !changed.contains(&topic.id) {
                continue;
            }
            if topic.selects_indexed(entry, index, &tagged) {
                if !entry.topics.contains_key(&topic.id) {
                    let at = entry.listed.unwrap_or(entry.published).min(now);
                    entry.topics.insert(topic.id.clone(), at);
                    differs = true;
                }
            } else {
                differs |= entry.topics.remove(&topic.id).is_some();
            }
        }
        differs
    }

    /// The tag with this id.
    pub fn tag_named(&self, id: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// Every metric some tag's rules compare (query feeds may bound these).
    pub fn metric_names(&self) -> Vec<String> {
        self.tags.iter().flat_map(Tag::metric_names).collect()
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The topic `id` if anyone may find it: a private topic is, to the
    /// public, a topic that does not exist.
    pub fn public_topic(&self, id: &str) -> Option<&Topic> {
        self.topic(id).filter(|t| !t.private)
    }

    /// The topics the index, the OPML, `/search` and `export` show.
    pub fn public_topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.iter().filter(|t| !t.private)
    }

    /// Sources whose entries reach private topics only: named in a private
    /// topic's `sources`, and taken by no public topic (one without a
    /// `sources` list takes every source). The index and `/status` do not
    /// name them: a private topic's sources would say what it follows.
    pub fn private_sources(&self) -> std::collections::HashSet<&str> {
        if self.public_topics().any(|t| t.sources.is_none()) {
            return Default::default();
        }
        let public: std::collections::HashSet<&str> = self
            .public_topics()
            .flat_map(|t| t.sources.iter().flatten())
            .map(String::as_str)
            .collect();
        self.topics
            .iter()
            .filter(|t| t.private)
            .flat_map(|t| t.sources.iter().flatten())
            .map(String::as_str)
            .filter(|s| !public.contains(s))
            .collect()
    }

    /// The text views of `entry`, with the combined matchers' findings.
    pub fn subject<'a>(&self, entry: &'a Entry, now: DateTime<Utc>) -> Subject<'a> {
        let mut s = Subject::new(entry, now);
        s.candidates = self.matchers.candidates(&s);
        s
    }

    /// The tags an entry gets, with the hits that explain each.
    pub fn tag(&self, entry: &Entry, now: DateTime<Utc>) -> BTreeMap<String, Vec<RuleHit>> {
        self.tag_indexed(entry, now).0
    }

    /// [`RuleSet::tag`], and per tag position whether it applies.
    fn tag_indexed(
        &self,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> (BTreeMap<String, Vec<RuleHit>>, Vec<bool>) {
        let subject = self.subject(entry, now);
        let mut tagged = vec![false; self.tags.len()];
        let tags = self
            .tags
            .iter()
            .zip(tagged.iter_mut())
            .filter_map(|(t, applies)| {
                let hits = t.evaluate(&subject)?;
                *applies = true;
                Some((t.id.clone(), hits))
            })
            .collect();
        (tags, tagged)
    }

    /// Recomputes the entry's tags and adds the topics it now belongs to
    /// (membership is sticky; see the module doc). `is_new` says whether the
    /// entry was already stored.
    pub fn route(&self, entry: &mut Entry, is_new: bool, now: DateTime<Utc>) {
        let (tags, tagged) = self.tag_indexed(entry, now);
        entry.tags = tags;
        let entered = if is_new {
            entry.listed.unwrap_or(entry.published).min(now)
        } else {
            now
        };
        for (topic, index) in self.topics.iter().zip(&self.topic_index) {
            let selects = topic.selects_indexed(entry, index, &tagged);
            debug_assert_eq!(selects, topic.selects(entry), "topic {}", topic.id);
            if !entry.topics.contains_key(&topic.id) && selects {
                entry.topics.insert(topic.id.clone(), entered);
            }
        }
    }
}
