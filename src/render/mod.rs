//! Rendering topics into feed bytes, and the cache that serves them.
//!
//! A topic is rendered when it changes (after a poll that touched it, and at
//! start-up), never per request: [`FeedCache::get`] hands out the cached
//! bytes. A `?limit=` other than the default is rendered on its first request
//! and cached until the topic changes again.

pub mod atom;
pub mod describe;
pub mod index;
pub mod rss;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use crate::model::Entry;
use crate::rules::{RuleSet, Topic};
use crate::store::{Store, StoreError};

/// Items in a feed unless `?limit=` asks otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most `?limit=` may ask for.
pub const MAX_LIMIT: usize = 500;

/// The feed formats served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
        }
    }

    /// The MIME type alone, for `type=` attributes in links.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            _ => None,
        }
    }
}

/// One rendered response body, with what conditional requests need.
#[derive(Debug)]
pub struct Rendered {
    pub body: bytes::Bytes,
    pub content_type: &'static str,
    /// Strong validator over the exact bytes.
    pub etag: String,
    /// The topic's last real change (newest entry or entry update), not the
    /// render time.
    pub last_modified: DateTime<Utc>,
}

impl Rendered {
    pub fn new(
        body: Vec<u8>,
        content_type: &'static str,
        last_modified: DateTime<Utc>,
    ) -> Rendered {
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Rendered {
            body: body.into(),
            content_type,
            etag,
            last_modified,
        }
    }
}

/// What a renderer needs besides the entries.
pub struct FeedContext<'a> {
    pub topic: &'a Topic,
    /// The public base URL, ending in `/`.
    pub base_url: &'a Url,
    /// Topic last change, for `lastBuildDate` / `updated`.
    pub updated: DateTime<Utc>,
}

impl FeedContext<'_> {
    pub fn feed_url(&self, format: Format) -> String {
        format!("{}{}.{}", self.base_url, self.topic.id, format.extension())
    }
}

/// The last real change among a topic's entries: when one entered or was
/// updated. Stable across restarts and re-renders; the epoch for an empty
/// topic.
pub fn topic_updated(entries: &[Entry], topic: &str) -> DateTime<Utc> {
    entries
        .iter()
        .flat_map(|e| {
            [
                e.updated,
                e.topics.get(topic).copied().unwrap_or(e.published),
            ]
        })
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Renders one topic in one format.
pub fn render(format: Format, ctx: &FeedContext, entries: &[Entry]) -> Rendered {
    let body = match format {
        Format::Rss => rss::render(ctx, entries),
        Format::Atom => atom::render(ctx, entries),
    };
    Rendered::new(body, format.content_type(), ctx.updated)
}

type Key = (String, Format, usize);

#[derive(Default)]
struct Inner {
    feeds: HashMap<Key, Arc<Rendered>>,
    /// Bumped on every refresh of a topic, so a lazily rendered variant that
    /// raced with a refresh is not cached stale.
    generation: HashMap<String, u64>,
    index: Option<Arc<Rendered>>,
}

/// Rendered feeds in memory.
pub struct FeedCache {
    base_url: Url,
    inner: RwLock<Inner>,
}

impl FeedCache {
    pub fn new(base_url: Url) -> FeedCache {
        FeedCache {
            base_url,
            inner: RwLock::new(Inner::default()),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Re-renders the default variants of `topics` (and the index), dropping
    /// every other cached variant of them.
    pub fn refresh<'a>(
        &self,
        store: &Store,
        rules: &RuleSet,
        topics: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        for id in topics {
            let Some(topic) = rules.topic(id) else {
                continue;
            };
            let rendered = self.render_topic(store, topic, DEFAULT_LIMIT)?;
            let mut inner = self.inner.write().expect("feed cache lock");
            *inner.generation.entry(id.to_string()).or_default() += 1;
            inner.feeds.retain(|(t, _, _), _| t != id);
            for (format, r) in rendered {
                inner
                    .feeds
                    .insert((id.to_string(), format, DEFAULT_LIMIT), r);
            }
        }
        let index = index::render(&self.base_url, rules, store);
        self.inner.write().expect("feed cache lock").index = Some(Arc::new(index));
        Ok(())
    }

    fn render_topic(
        &self,
        store: &Store,
        topic: &Topic,
        limit: usize,
    ) -> Result<Vec<(Format, Arc<Rendered>)>, StoreError> {
        let entries = store.topic_entries(&topic.id, limit)?;
        let ctx = FeedContext {
            topic,
            base_url: &self.base_url,
            updated: topic_updated(&entries, &topic.id),
        };
        Ok([Format::Rss, Format::Atom]
            .into_iter()
            .map(|f| (f, Arc::new(render(f, &ctx, &entries))))
            .collect())
    }

    /// The cached feed, rendering a non-default `limit` on first use.
    pub fn get(
        &self,
        store: &Store,
        rules: &RuleSet,
        topic: &str,
        format: Format,
        limit: usize,
    ) -> Result<Option<Arc<Rendered>>, StoreError> {
        let key = (topic.to_string(), format, limit);
        let generation = {
            let inner = self.inner.read().expect("feed cache lock");
            if let Some(r) = inner.feeds.get(&key) {
                return Ok(Some(r.clone()));
            }
            inner.generation.get(topic).copied().unwrap_or(0)
        };
        let Some(t) = rules.topic(topic) else {
            return Ok(None);
        };
        let rendered = self.render_topic(store, t, limit)?;
        let mut inner = self.inner.write().expect("feed cache lock");
        let current = inner.generation.get(topic).copied().unwrap_or(0);
        let mut wanted = None;
        for (f, r) in rendered {
            if f == format {
                wanted = Some(r.clone());
            }
            if current == generation {
                inner.feeds.insert((topic.to_string(), f, limit), r);
            }
        }
        Ok(wanted)
    }

    pub fn index(&self) -> Option<Arc<Rendered>> {
        self.inner.read().expect("feed cache lock").index.clone()
    }
}
