//! Topics: which entries a published feed holds, selected on their tags
//! (and optionally their sources), and how long the feed is.

use super::tag::Tag;
use crate::defs::Invalid;
use crate::defs::TopicDef;
use crate::digest::Digest;
use crate::model::Entry;

/// Items in a topic's feed unless `?limit=` asks otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most `?limit=` may ask for.
pub const MAX_LIMIT: usize = 500;

/// A compiled topic.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub description: String,
    pub(super) any: Vec<String>,
    pub(super) all: Vec<String>,
    pub(super) none: Vec<String>,
    pub(super) sources: Option<Vec<String>>,
    /// Most items its feeds hold.
    pub max_items: usize,
    /// Served only to holders of its token (see [`crate::defs::TopicDef`]).
    pub private: bool,
    /// Its digest, when it has one.
    pub digest: Option<Digest>,
    /// The definition as written, for fingerprints.
    pub(super) repr: String,
}

/// The name of every entry's documents in paths: `/search.{ext}`. It
/// matters in paths only: the server's path parsing reads it into
/// [`FeedOf::Everything`], [`FeedOf::name`] writes it back into URLs, and
/// config refuses it as a topic id ([`RESERVED_TOPIC_IDS`]); everything
/// between branches on [`FeedOf`].
pub const SEARCH: &str = "search";

/// What a feed (or a topic page) is of: one topic's entries, or every
/// stored entry (`/search.{ext}`).
///
/// Made once, where the server parses the path; selection, the cache's
/// keys and invalidation, and the feed's context match on it. Every entry
/// was once a pseudo-topic named `"search"`, compared as a string in each
/// of those places: a new place that forgot the comparison treated it as
/// a topic that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FeedOf {
    /// A configured topic, by id.
    Topic(String),
    /// Every stored entry, whatever its topics (less what only private
    /// topics hold).
    Everything,
}

impl FeedOf {
    /// The name its documents have in paths and URLs: `{name}.rss`,
    /// `{name}.html`.
    pub fn name(&self) -> &str {
        match self {
            FeedOf::Topic(id) => id,
            FeedOf::Everything => SEARCH,
        }
    }

    /// The topic it is of, if one.
    pub fn topic(&self) -> Option<&str> {
        match self {
            FeedOf::Topic(id) => Some(id),
            FeedOf::Everything => None,
        }
    }
}

/// Topic ids that would collide with (or be confused with) a path the
/// server serves itself: `/{topic}.html` of a topic `index` is the index,
/// `/search.atom` searches every entry. The one list: `config` refuses
/// them, `add` and `import` make ids around them.
pub const RESERVED_TOPIC_IDS: &[&str] = &[
    "index", "opml", "healthz", "readyz", "status", "metrics", "admin", "favicon", "robots", SEARCH,
];

impl Topic {
    /// Items a feed of this topic holds without `?limit=`.
    pub fn default_limit(&self) -> usize {
        DEFAULT_LIMIT.min(self.max_items)
    }

    pub fn compile(def: &TopicDef, tags: &[&str], sources: &[&str]) -> Result<Topic, Invalid> {
        for t in def
            .tags
            .any
            .iter()
            .chain(&def.tags.all)
            .chain(&def.tags.none)
        {
            if !tags.contains(&t.as_str()) {
                return Err(format!("unknown tag `{t}`").into());
            }
        }
        if let Some(list) = &def.sources {
            if list.is_empty() {
                return Err("`sources` is empty (leave it out to take every source)".into());
            }
            for s in list {
                if !sources.contains(&s.as_str()) {
                    return Err(format!("unknown source `{s}`").into());
                }
            }
        }
        let max_items = match def.max_items {
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(format!("`max_items` = {n} is outside 1 to {}", MAX_LIMIT).into())
            }
            None => MAX_LIMIT,
        };
        let digest = Digest::compile(def.digest, def.digest_timezone.as_deref(), def.digest_size)?;
        let title = def.title.clone().unwrap_or_else(|| def.id.clone());
        Ok(Topic {
            id: def.id.clone(),
            description: def.description.clone().unwrap_or_else(|| title.clone()),
            title,
            any: def.tags.any.clone(),
            all: def.tags.all.clone(),
            none: def.tags.none.clone(),
            sources: def.sources.clone(),
            max_items,
            private: def.private,
            digest,
            repr: format!(
                "{:?}{:?}{:?}{:?}",
                def.tags.any, def.tags.all, def.tags.none, def.sources
            ),
        })
    }

    /// How [`FeedOf::Everything`]'s documents describe themselves: every
    /// stored entry, from every source, no source filter, public.
    pub fn everything() -> Topic {
        let title = "Every entry".to_string();
        Topic {
            id: SEARCH.to_string(),
            description: "Every stored entry, from every source.".into(),
            title,
            any: Vec::new(),
            all: Vec::new(),
            none: Vec::new(),
            sources: None,
            max_items: MAX_LIMIT,
            private: false,
            digest: None,
            repr: String::new(),
        }
    }

    /// The sources the topic is limited to, if any.
    pub fn source_filter(&self) -> Option<&[String]> {
        self.sources.as_deref()
    }

    /// Whether an entry with these tags and sources belongs in the topic.
    pub fn selects(&self, entry: &Entry) -> bool {
        self.sources_allow(entry)
            && tag_lists_hold(&self.all, &self.any, &self.none, |t| {
                entry.tags.contains_key(t)
            })
    }

    /// [`Topic::selects`] over tag positions: `tagged[i]` says whether the
    /// rule set's `i`th tag applies, and `index` is this topic's
    /// [`TopicIndex`]. Routing uses it to skip the lookups by name.
    pub(super) fn selects_indexed(
        &self,
        entry: &Entry,
        index: &TopicIndex,
        tagged: &[bool],
    ) -> bool {
        self.sources_allow(entry)
            && tag_lists_hold(&index.all, &index.any, &index.none, |i| {
                i.is_some_and(|i| tagged[i])
            })
    }

    fn sources_allow(&self, entry: &Entry) -> bool {
        self.sources
            .as_ref()
            .is_none_or(|sources| entry.sources.iter().any(|s| sources.contains(s)))
    }
}

/// A topic's tag condition: every tag of `all`, one of `any` (if it lists
/// any) and none of `none`, by `has`.
fn tag_lists_hold<T>(all: &[T], any: &[T], none: &[T], has: impl Fn(&T) -> bool) -> bool {
    all.iter().all(&has) && (any.is_empty() || any.iter().any(&has)) && !none.iter().any(&has)
}

/// A topic's tag names resolved to positions in the rule set's tags
/// (`None`: no such tag, which never applies).
#[derive(Debug, Clone, Default)]
pub(super) struct TopicIndex {
    any: Vec<Option<usize>>,
    all: Vec<Option<usize>>,
    none: Vec<Option<usize>>,
}

impl TopicIndex {
    pub(super) fn new(topic: &Topic, tags: &[Tag]) -> TopicIndex {
        let resolve = |names: &[String]| {
            names
                .iter()
                .map(|n| tags.iter().position(|t| &t.id == n))
                .collect()
        };
        TopicIndex {
            any: resolve(&topic.any),
            all: resolve(&topic.all),
            none: resolve(&topic.none),
        }
    }
}
