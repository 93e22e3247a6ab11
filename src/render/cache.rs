//! The document cache: rendered bytes in memory, handed out per request,
//! dropped when what they show changes.
//!
//! A topic's feeds are rendered when what they show changes (after a poll
//! that touched the topic, and at start-up), never per request:
//! [`FeedCache::get`] hands out cached bytes, already compressed with gzip
//! and brotli. A variant that is not rendered ahead (another `?limit=`, a
//! preview page, a public base URL given by a trusted proxy) is rendered on
//! its first request and cached until its topic changes, within a byte
//! budget (see [`FeedCache`]). So are the index and the OPML: they depend
//! on every topic (and the index on every source's health), so rendering
//! them ahead after each poll would cost the most for the pages read the
//! least; they are dropped on a change and rendered once, on the next
//! request.
//!
//! Rendering is [`super::render_doc`]'s; what the cache holds and evicts is
//! [`super::lru`]'s; who may render on a miss is [`super::queue`]'s. This
//! file decides when a document is rendered, kept and dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use url::Url;

use super::lru::{CacheStats, Inner, Variant};
use super::queue::{RenderQueue, RenderTicket};
use super::{failures, render_doc, Doc, Format, HubLink, Rendered, Site};
use crate::config::Definitions;
use crate::rules::FeedOf;
use crate::store::{Store, StoreError};

/// Bytes client-chosen variants may take unless `--cache-bytes` says.
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// How long a document whose query is relative to the request's time
/// (`since=`) is served from the cache: its entries age out of the window
/// with no topic change to refresh it, so it is rendered again after this.
pub const RELATIVE_QUERY_TTL: Duration = Duration::from_secs(60);

/// Render timings, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct RenderStats {
    pub renders: u64,
    pub seconds: f64,
}

/// Rendered documents in memory.
///
/// SECURITY: a client chooses `?limit=` and (behind a trusted proxy) the
/// public base, and each choice is a document of its own with two
/// compressed copies: 1,500 such requests once took the process from 24 MB
/// to 1.7 GB. So client-chosen variants share one byte budget
/// (`--cache-bytes`, [`DEFAULT_CACHE_BYTES`]), least recently used out
/// first, and never push out the pinned default documents; a render on a
/// miss runs on the blocking pool, at most [`super::MAX_RENDERS_IN_FLIGHT`] at
/// once (see [`crate::server`]).
pub struct FeedCache {
    default_base: Url,
    inner: RwLock<Inner>,
    /// Bytes the variants may take.
    budget: usize,
    /// Ticks once per variant insert; a hit stamps its entry with the
    /// current tick: the LRU order.
    clock: AtomicU64,
    /// The slots renders on a miss take, and the queue in front of them.
    renders: RenderQueue,
    /// Held by [`FeedCache::refresh`] from reading the store to storing the
    /// bytes. Polls finish concurrently; without it, a refresh that read
    /// the store first could store its (older) bytes last, and the feed
    /// would miss entries until the topic next changed.
    refreshing: std::sync::Mutex<()>,
    /// The ETag each topic feed was last rendered with by
    /// [`FeedCache::refresh`] (kept through [`FeedCache::clear`]): what a
    /// refresh compares against to say which documents changed (for
    /// WebSub subscribers).
    published: std::sync::Mutex<HashMap<(String, Format), String>>,
    /// The WebSub hub feeds name: none, feedloom's own, or another.
    hub: Option<Option<Url>>,
    /// How long a document with a `since=` query is served from the cache.
    relative_ttl: Duration,
    /// The last refused reload, until one succeeds (the index says it).
    rejected: RwLock<Option<Arc<failures::RejectedReload>>>,
}

impl FeedCache {
    pub fn new(default_base: Url, budget: usize) -> FeedCache {
        FeedCache {
            default_base,
            inner: RwLock::new(Inner::default()),
            budget,
            clock: AtomicU64::new(0),
            renders: RenderQueue::new(),
            refreshing: std::sync::Mutex::new(()),
            published: std::sync::Mutex::default(),
            hub: None,
            relative_ttl: RELATIVE_QUERY_TTL,
            rejected: RwLock::default(),
        }
    }

    /// Caches documents with a relative query (`since=`) for `ttl` instead
    /// of [`RELATIVE_QUERY_TTL`] (tests).
    pub fn with_relative_ttl(mut self, ttl: Duration) -> FeedCache {
        self.relative_ttl = ttl;
        self
    }

    /// Feeds rendered here name a WebSub hub: feedloom's own at
    /// `{base}websub` (`Some(None)`), or another (`Some(Some(url))`).
    pub fn with_hub(mut self, hub: Option<Option<Url>>) -> FeedCache {
        self.hub = hub;
        self
    }

    /// The hub feeds rendered here name.
    pub fn hub(&self) -> HubLink<'_> {
        match &self.hub {
            None => HubLink::None,
            Some(None) => HubLink::Here,
            Some(Some(url)) => HubLink::At(url),
        }
    }

    fn site<'a>(&'a self, reload: Option<&'a failures::RejectedReload>) -> Site<'a> {
        Site::Served {
            hub: self.hub(),
            reload,
        }
    }

    /// The last reload of the definitions that was refused, until one
    /// succeeds: the index says so, `/status` too.
    pub fn rejected_reload(&self) -> Option<Arc<failures::RejectedReload>> {
        self.rejected.read().expect("rejected reload lock").clone()
    }

    /// Records a refused reload (`None`: one succeeded), and drops the
    /// index, which says it.
    pub fn set_rejected_reload(&self, rejected: Option<failures::RejectedReload>) {
        *self.rejected.write().expect("rejected reload lock") = rejected.map(Arc::new);
        self.invalidate_index();
    }

    pub fn base_url(&self) -> &Url {
        &self.default_base
    }

    /// The slots renders on a miss take (see [`super::MAX_RENDERS_IN_FLIGHT`]).
    pub fn render_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        self.renders.slots()
    }

    /// A place in the render queue for `client`, or `None` when the queue
    /// or the client's share of it is full (the refusal is counted).
    pub fn queue_for_render(&self, client: std::net::IpAddr) -> Option<RenderTicket> {
        self.renders.enter(client)
    }

    /// Requests waiting for or holding a render slot now, and those
    /// refused since start.
    pub fn render_queue(&self) -> (usize, u64) {
        self.renders.state()
    }

    /// Renders on a miss running now.
    pub fn renders_in_flight(&self) -> usize {
        self.renders.in_flight()
    }

    /// The variants' byte budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Drops every cached document (after the definitions changed).
    pub fn clear(&self) {
        let mut inner = self.inner.write().expect("feed cache lock");
        inner.generation += 1;
        inner.retain(|_| false);
    }

    /// Drops the index (new entries arrived), to be rendered again on its
    /// next request.
    pub fn invalidate_index(&self) {
        let mut inner = self.inner.write().expect("feed cache lock");
        inner.generation += 1;
        inner.retain(|doc| *doc != Doc::Index);
    }

    /// Drops what shows sources' health (a source turned healthy or
    /// failing, or fails differently now): the index, and the topic pages,
    /// which say when all of a topic's sources fail.
    pub fn invalidate_health(&self) {
        let mut inner = self.inner.write().expect("feed cache lock");
        inner.generation += 1;
        inner.retain(|doc| !matches!(doc, Doc::Index | Doc::Preview { .. }));
    }

    pub fn stats(&self) -> RenderStats {
        self.inner.read().expect("feed cache lock").stats
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.inner.read().expect("feed cache lock").held()
    }

    /// Whether `doc` for `base` is one of the pinned defaults.
    fn pinned(&self, base: &Url, doc: &Doc, defs: &Definitions) -> bool {
        base == &self.default_base
            && match doc {
                Doc::Feed {
                    of: FeedOf::Topic(topic),
                    limit,
                    filter: None,
                    ..
                } => defs
                    .rules
                    .topic(topic)
                    .is_some_and(|t| *limit == t.default_limit()),
                Doc::Preview {
                    of: FeedOf::Topic(_),
                    filter: None,
                } => true,
                // The rest are variants, within the budget: a query,
                // another `?limit=`, a digest, every entry's documents.
                Doc::Feed { .. } | Doc::Preview { .. } | Doc::Digest { .. } => false,
                Doc::Index | Doc::Opml => true,
            }
    }

    /// Drops every cached document of `topics` (and the index and OPML,
    /// rendered again on demand) and renders the topics' feeds again for the
    /// default base. Returns the feeds whose bytes changed since they were
    /// last rendered here (a feed rendered for the first time, as at start,
    /// is not a change).
    pub fn refresh<'a>(
        &self,
        store: &Store,
        defs: &Definitions,
        topics: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<(String, Format)>, StoreError> {
        let _one_at_a_time = self.refreshing.lock().expect("refresh lock");
        let topics: Vec<&str> = topics.into_iter().collect();
        let mut docs = Vec::new();
        for t in &topics {
            // A private topic is rendered on request, under its token's
            // base; a default-base copy would never be served, and its
            // change must not reach a WebSub hub under a public URL.
            let Some(topic) = defs.rules.public_topic(t) else {
                continue;
            };
            for format in Format::ALL {
                docs.push(Doc::Feed {
                    of: FeedOf::Topic(t.to_string()),
                    format,
                    limit: topic.default_limit(),
                    filter: None,
                });
            }
        }
        let started = Instant::now();
        let mut rendered = Vec::with_capacity(docs.len());
        for doc in docs {
            if let Some(r) = render_doc(store, defs, &self.default_base, &doc, self.site(None))? {
                rendered.push((doc, Arc::new(r)));
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut changed = Vec::new();
        {
            let mut published = self.published.lock().expect("published lock");
            for (doc, r) in &rendered {
                if let Doc::Feed {
                    of: FeedOf::Topic(topic),
                    format,
                    ..
                } = doc
                {
                    let before = published.insert((topic.clone(), *format), r.etag.clone());
                    if before.is_some_and(|b| b != r.etag) {
                        changed.push((topic.clone(), *format));
                    }
                }
            }
        }
        let mut guard = self.inner.write().expect("feed cache lock");
        let inner = &mut *guard;
        inner.generation += 1;
        // Documents of no one topic go too: the index, the OPML and every
        // entry's documents, which show every topic's entries.
        inner.retain(|doc| doc.topic().is_some_and(|t| !topics.contains(&t)));
        inner.stats.renders += rendered.len() as u64;
        inner.stats.seconds += elapsed;
        for (doc, r) in rendered {
            inner.pin(doc, r);
        }
        Ok(changed)
    }

    /// The cached document, if there is one. `base` is the public base of
    /// the request (`None`: the default). Never renders.
    pub fn lookup(&self, base: Option<&Url>, doc: &Doc) -> Option<Arc<Rendered>> {
        let inner = self.inner.read().expect("feed cache lock");
        match base {
            None => {
                if let Some(r) = inner.pinned(doc) {
                    return Some(r.clone());
                }
            }
            Some(b) if b == &self.default_base => {
                if let Some(r) = inner.pinned(doc) {
                    return Some(r.clone());
                }
            }
            Some(_) => {}
        }
        let base = base.unwrap_or(&self.default_base);
        let v = inner.variant(base.as_str(), doc)?;
        if v.expires.is_some_and(|at| Instant::now() >= at) {
            return None;
        }
        // Recency counts between inserts, the only time anything is
        // evicted: a hit reads the shared clock and writes its own entry
        // at most once per insert, so busy hits do not contend on one
        // counter.
        let now = self.clock.load(Ordering::Relaxed);
        if v.last_used.load(Ordering::Relaxed) < now {
            v.last_used.store(now, Ordering::Relaxed);
        }
        Some(v.doc.clone())
    }

    /// The cached document, rendering (and caching) it on a miss. Blocking
    /// work: the server calls it on the blocking pool, holding a render
    /// slot.
    pub fn get(
        &self,
        store: &Store,
        defs: &Definitions,
        base: Option<&Url>,
        doc: &Doc,
    ) -> Result<Option<Arc<Rendered>>, StoreError> {
        if let Some(r) = self.lookup(base, doc) {
            return Ok(Some(r));
        }
        let base = base.unwrap_or(&self.default_base);
        let generation = self.inner.read().expect("feed cache lock").generation;
        let started = Instant::now();
        let rejected = self.rejected_reload();
        let site = self.site(rejected.as_deref());
        let Some(rendered) = render_doc(store, defs, base, doc, site)? else {
            return Ok(None);
        };
        let rendered = Arc::new(rendered);
        let size = rendered.size();
        let pinned = self.pinned(base, doc, defs);
        let mut guard = self.inner.write().expect("feed cache lock");
        let inner = &mut *guard;
        inner.stats.renders += 1;
        inner.stats.seconds += started.elapsed().as_secs_f64();
        if inner.generation != generation {
            return Ok(Some(rendered));
        }
        if pinned {
            inner.pin(doc.clone(), rendered.clone());
        } else if size <= self.budget {
            let variant = Variant {
                doc: rendered.clone(),
                last_used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed) + 1),
                expires: doc.relative().then(|| Instant::now() + self.relative_ttl),
            };
            inner.insert_variant(base.as_str(), doc.clone(), variant, self.budget);
        }
        Ok(Some(rendered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture::store_with_entries;

    fn variant(limit: usize) -> Doc {
        Doc::Feed {
            of: FeedOf::Topic("all".into()),
            format: Format::Rss,
            limit,
            filter: None,
        }
    }

    /// A `since=` document is served from the cache only for its time to
    /// live: entries age out of its window with no topic change.
    #[test]
    fn a_relative_query_is_rendered_again_once_stale() {
        let (_dir, store, defs) = store_with_entries();
        let filter = |q: &str| crate::query::parse(Some(q), &defs, 1000).unwrap().filter;
        let doc = |q: &str| Doc::Feed {
            of: FeedOf::Topic("all".into()),
            format: Format::Rss,
            limit: 10,
            filter: filter(q),
        };
        let base = Url::parse("https://example.org/").unwrap();
        for (ttl, query, renders) in [
            (Duration::ZERO, "since=7d", 3),
            (RELATIVE_QUERY_TTL, "since=7d", 1),
            (Duration::ZERO, "q=summary", 1),
        ] {
            let cache = FeedCache::new(base.clone(), 1 << 20).with_relative_ttl(ttl);
            for _ in 0..3 {
                assert!(cache
                    .get(&store, &defs, None, &doc(query))
                    .unwrap()
                    .is_some());
            }
            assert_eq!(cache.stats().renders, renders, "{query} with {ttl:?}");
        }
    }

    #[test]
    fn query_feeds_are_cached_until_their_topic_changes() {
        let (_dir, store, defs) = store_with_entries();
        let cache = FeedCache::new(Url::parse("https://feeds.example.org/").unwrap(), 1 << 20);
        let asked = crate::query::parse(Some("q=entry+summary"), &defs, 500).unwrap();
        let query = |of: &FeedOf| Doc::Feed {
            of: of.clone(),
            format: Format::Atom,
            limit: 50,
            filter: asked.filter.clone(),
        };
        let all = FeedOf::Topic("all".into());
        for of in [&all, &FeedOf::Everything] {
            let r = cache.get(&store, &defs, None, &query(of)).unwrap().unwrap();
            let body = String::from_utf8_lossy(&r.body).into_owned();
            assert_eq!(body.matches("<entry>").count(), 30, "{of:?}");
            assert!(
                body.contains(&format!("{}.atom?q=entry+summary", of.name())),
                "{body}"
            );
            assert!(cache.lookup(None, &query(of)).is_some(), "{of:?} cached");
        }
        assert_eq!(cache.cache_stats().variant_entries, 2);
        // Another topic's change leaves `all` alone but drops every
        // entry's feed, which shows every topic.
        cache.refresh(&store, &defs, ["elsewhere"]).unwrap();
        assert!(cache.lookup(None, &query(&all)).is_some());
        assert!(cache.lookup(None, &query(&FeedOf::Everything)).is_none());
        cache.refresh(&store, &defs, ["all"]).unwrap();
        assert!(cache.lookup(None, &query(&all)).is_none());
    }

    #[test]
    fn the_least_recently_used_variant_goes_first() {
        let (_dir, store, defs) = store_with_entries();
        let base = Url::parse("https://feeds.example.org/").unwrap();
        // The bytes of variants 1..=10, measured in an unbounded cache.
        let measure = FeedCache::new(base.clone(), usize::MAX);
        let budget: usize = (1..=10)
            .map(|n| {
                measure
                    .get(&store, &defs, None, &variant(n))
                    .unwrap()
                    .unwrap()
                    .size()
            })
            .sum();
        let cache = FeedCache::new(base, budget);
        for n in 1..=10 {
            cache.get(&store, &defs, None, &variant(n)).unwrap();
        }
        assert_eq!(cache.cache_stats().variant_entries, 10);
        assert_eq!(cache.cache_stats().evictions, 0);
        // Variant 1, the oldest, is read again; then an 11th comes.
        assert!(cache.lookup(None, &variant(1)).is_some());
        cache.get(&store, &defs, None, &variant(11)).unwrap();
        let stats = cache.cache_stats();
        assert!(stats.evictions > 0);
        assert!(stats.variant_bytes <= budget - budget / 8, "{stats:?}");
        assert!(cache.lookup(None, &variant(1)).is_some(), "recently read");
        assert!(cache.lookup(None, &variant(2)).is_none(), "least recent");
        assert!(cache.lookup(None, &variant(11)).is_some());
        // A document larger than the whole budget is served, not cached.
        let small = FeedCache::new(Url::parse("https://x.example/").unwrap(), 10);
        assert!(small
            .get(&store, &defs, None, &variant(5))
            .unwrap()
            .is_some());
        assert_eq!(small.cache_stats().variant_entries, 0);
    }
}
