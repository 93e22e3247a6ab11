//! Rendering documents (topic feeds, previews, the index, the OPML) into
//! bytes, and the cache that serves them.
//!
//! A topic's feeds are rendered when what they show changes (after a poll
//! that touched the topic, and at start-up), never per request:
//! [`FeedCache::get`] hands out cached bytes, already compressed with gzip
//! and brotli. A variant that is not rendered ahead (another `?limit=`, a
//! preview page, a public base URL given by a trusted proxy) is rendered on
//! its first request and cached until its topic changes, within a byte
//! budget (see [`FeedCache`]). So are the index
//! and the OPML: they depend on every topic (and the index on every
//! source's health), so rendering them ahead after each poll would cost
//! the most for the pages read the least; they are dropped on a change and
//! rendered once, on the next request.

pub mod atom;
pub mod compress;
pub mod describe;
mod digest;
pub mod failures;
pub mod index;
pub mod json;
pub mod opml;
pub mod preview;
pub mod rss;
mod select;

pub use select::{queries_cut, MAX_DECODE, MAX_READ};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::header::HeaderValue;
use url::Url;

use crate::config::Definitions;
use crate::model::Entry;
use crate::rules::SEARCH;
use crate::rules::{Topic, DEFAULT_LIMIT};
use crate::store::{Store, StoreError};
use select::select;

pub use crate::query::Filter;

/// Bounds of `Cache-Control: max-age` (and RSS `<ttl>`).
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);
pub const MAX_MAX_AGE: Duration = Duration::from_secs(3600);

/// The feed formats served. Adding one: a variant here (with its extension
/// and content type) and its writer module; the server and `export` serve
/// every format in [`Format::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// The MIME type alone, for `type=` attributes in links.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }
}

/// A document the server can serve.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Doc {
    /// `/{topic}.{rss,atom,json}`; topic [`SEARCH`] is every entry.
    Feed {
        topic: String,
        format: Format,
        limit: usize,
        /// Query parameters ([`crate::query`]): a query feed.
        filter: Option<Filter>,
    },
    /// `/{topic}.html`: a readable preview of a topic.
    Preview {
        topic: String,
        filter: Option<Filter>,
    },
    /// `/{topic}.digest.{rss,atom,json}`: one item per closed period
    /// ([`crate::digest`]).
    Digest {
        topic: String,
        format: Format,
        /// When the newest closed period ended (the current one began),
        /// from the request's time: part of the cache key, so a digest
        /// cached yesterday is not served today.
        closed: DateTime<Utc>,
    },
    /// `/`.
    Index,
    /// `/opml.xml`.
    Opml,
}

impl Doc {
    /// Whether its query is relative to the request's time (`since=`), so
    /// it goes stale without any topic changing.
    pub fn relative(&self) -> bool {
        match self {
            Doc::Feed { filter, .. } | Doc::Preview { filter, .. } => {
                filter.as_ref().is_some_and(|f| f.since.is_some())
            }
            _ => false,
        }
    }

    /// The topic a document shows (`None`: the index, the OPML).
    pub fn topic(&self) -> Option<&str> {
        match self {
            Doc::Feed { topic, .. } | Doc::Preview { topic, .. } | Doc::Digest { topic, .. } => {
                Some(topic)
            }
            Doc::Index | Doc::Opml => None,
        }
    }

    fn filter(&self) -> Option<&Filter> {
        match self {
            Doc::Feed { filter, .. } | Doc::Preview { filter, .. } => filter.as_ref(),
            Doc::Digest { .. } | Doc::Index | Doc::Opml => None,
        }
    }

    /// Path relative to the public base, as the server and `export` use it;
    /// a query feed's with its query in canonical order.
    pub fn path(&self) -> String {
        let query = self
            .filter()
            .map(|f| format!("?{}", f.canonical()))
            .unwrap_or_default();
        match self {
            Doc::Feed { topic, format, .. } => format!("{topic}.{}{query}", format.extension()),
            Doc::Preview { topic, .. } => format!("{topic}.html{query}"),
            Doc::Digest { topic, format, .. } => format!("{topic}.digest.{}", format.extension()),
            Doc::Index => "index.html".into(),
            Doc::Opml => "opml.xml".into(),
        }
    }
}

/// One rendered response body, with its compressed copies and what
/// conditional requests need.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    pub gzip: Option<Bytes>,
    pub br: Option<Bytes>,
    pub content_type: &'static str,
    /// Strong validator over the exact identity bytes; compressed copies
    /// append `-gz` / `-br` inside the quotes (RFC 9110 §8.8.3: each
    /// representation needs its own strong validator).
    pub etag: String,
    /// The last real change of what the document shows (newest entry or
    /// entry update), not the render time.
    pub last_modified: DateTime<Utc>,
    /// `Cache-Control: max-age`, in seconds.
    pub max_age: u64,
    /// The response headers above, built once so serving copies them.
    pub headers: Headers,
}

/// Prebuilt header values of a [`Rendered`] document.
#[derive(Debug)]
pub struct Headers {
    pub content_type: HeaderValue,
    /// ETag of the identity, gzip and brotli representations.
    pub etag: HeaderValue,
    pub etag_gzip: HeaderValue,
    pub etag_br: HeaderValue,
    pub last_modified: HeaderValue,
    pub cache_control: HeaderValue,
}

impl Rendered {
    pub fn new(
        body: Vec<u8>,
        content_type: &'static str,
        last_modified: DateTime<Utc>,
        max_age: Duration,
    ) -> Rendered {
        let etag = format!("\"{}\"", crate::identity::short_hash(&[&body], 12));
        let (gzip, br) = if body.len() >= compress::MIN_COMPRESS {
            let g = compress::gzip(&body);
            let b = compress::brotli(&body);
            (
                (g.len() < body.len()).then(|| Bytes::from(g)),
                (b.len() < body.len()).then(|| Bytes::from(b)),
            )
        } else {
            (None, None)
        };
        let value = |s: &str| HeaderValue::from_str(s).expect("generated header values are ASCII");
        let variant = |suffix: &str| value(&format!("{}-{suffix}\"", etag.trim_end_matches('"')));
        let headers = Headers {
            content_type: HeaderValue::from_static(content_type),
            etag: value(&etag),
            etag_gzip: variant("gz"),
            etag_br: variant("br"),
            last_modified: value(&http_date(last_modified)),
            cache_control: value(&format!("public, max-age={}", max_age.as_secs())),
        };
        Rendered {
            body: body.into(),
            gzip,
            br,
            content_type,
            etag,
            last_modified,
            max_age: max_age.as_secs(),
            headers,
        }
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), the only date format HTTP senders use.
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// What a feed renderer needs besides the entries.
pub struct FeedContext<'a> {
    pub topic: &'a Topic,
    /// The public base URL, ending in `/`.
    pub base_url: &'a Url,
    /// Topic last change, for `lastBuildDate` / `updated`.
    pub updated: DateTime<Utc>,
    /// How long clients may cache the feed (RSS `<ttl>`).
    pub max_age: Duration,
    /// The WebSub hub to name (`rel="hub"`), when there is one.
    pub hub: Option<String>,
    /// A query feed's query, in canonical order: part of every URL the
    /// feed names and of its Atom id.
    pub query: Option<&'a str>,
    /// The topic's digest feed (`{topic}.digest.{ext}`), not its feed.
    pub digest: bool,
}

impl FeedContext<'_> {
    fn query_suffix(&self) -> String {
        self.query.map(|q| format!("?{q}")).unwrap_or_default()
    }

    pub fn feed_url(&self, format: Format) -> String {
        format!(
            "{}{}{}.{}{}",
            self.base_url,
            self.topic.id,
            if self.digest { ".digest" } else { "" },
            format.extension(),
            self.query_suffix()
        )
    }

    pub fn preview_url(&self) -> String {
        format!(
            "{}{}.html{}",
            self.base_url,
            self.topic.id,
            self.query_suffix()
        )
    }

    /// What the feed's Atom id is made from: the topic, and the query.
    pub fn id_key(&self) -> String {
        match self.digest {
            true => format!("digest:{}", self.topic.id),
            false => format!("topic:{}{}", self.topic.id, self.query_suffix()),
        }
    }
}

/// The last real change among a topic's entries: when one entered or was
/// updated. Stable across restarts and re-renders.
///
/// `changed` is when the topic last changed otherwise (created, its rules
/// edited, entries pruned: [`Store::topic_changes`]); an empty topic is
/// dated by it, and never by 1970.
pub fn topic_updated(
    entries: &[Entry],
    topic: &str,
    changed: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    entries
        .iter()
        .flat_map(|e| {
            [
                e.updated,
                e.topics.get(topic).copied().unwrap_or(e.published),
            ]
        })
        .chain(changed)
        .max()
        // Only a store no command has opened yet has no marks.
        .unwrap_or_else(Utc::now)
}

/// How long a client may cache a topic: half the shortest poll interval of
/// the sources that feed it (nothing new can appear faster), within
/// [`MIN_MAX_AGE`] and [`MAX_MAX_AGE`].
pub fn topic_max_age(defs: &Definitions, topic: &Topic) -> Duration {
    defs.sources
        .iter()
        .filter(|s| topic.source_filter().is_none_or(|ids| ids.contains(&s.id)))
        .map(|s| s.interval / 2)
        .min()
        .unwrap_or(MAX_MAX_AGE)
        .clamp(MIN_MAX_AGE, MAX_MAX_AGE)
}

/// Renders one topic feed.
pub fn render_feed(format: Format, ctx: &FeedContext, entries: &[Entry]) -> Rendered {
    let body = match format {
        Format::Rss => rss::render(ctx, entries),
        Format::Atom => atom::render(ctx, entries),
        Format::Json => json::render(ctx, entries),
    };
    Rendered::new(body, format.content_type(), ctx.updated, ctx.max_age)
}

/// Where a rendered document will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site<'a> {
    /// From the running server: `/status` and the rest exist, and the
    /// feeds name the WebSub hub there is. The index says when the last
    /// reload of the definitions was refused, until one succeeds.
    Served {
        hub: HubLink<'a>,
        reload: Option<&'a failures::RejectedReload>,
    },
    /// From files `export` wrote: only the documents themselves exist.
    Exported,
}

/// The WebSub hub feeds name (`rel="hub"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubLink<'a> {
    None,
    /// feedloom's own, at `{base}websub`.
    Here,
    /// Another hub (`--websub-hub`).
    At(&'a Url),
}

impl HubLink<'_> {
    /// The hub's URL for documents under `base`.
    pub fn url(self, base: &Url) -> Option<String> {
        match self {
            HubLink::None => None,
            HubLink::Here => Some(format!("{base}websub")),
            HubLink::At(url) => Some(url.to_string()),
        }
    }
}

/// Renders any document from the store.
pub fn render_doc(
    store: &Store,
    defs: &Definitions,
    base: &Url,
    doc: &Doc,
    site: Site<'_>,
) -> Result<Option<Rendered>, StoreError> {
    Ok(match doc {
        Doc::Feed {
            topic,
            format,
            limit,
            filter,
        } => {
            let Some(found) = select(store, defs, topic, *limit, filter.as_ref())? else {
                return Ok(None);
            };
            let ctx = found.context(defs, base, store, filter.as_ref(), site)?;
            Some(render_feed(*format, &ctx, &found.entries))
        }
        Doc::Preview { topic, filter } => {
            let limit = match defs.rules.topic(topic) {
                Some(t) => t.default_limit(),
                None => DEFAULT_LIMIT,
            };
            let Some(found) = select(store, defs, topic, limit, filter.as_ref())? else {
                return Ok(None);
            };
            let total = match (filter, topic == SEARCH) {
                (None, false) => store.topic_len(topic),
                (None, true) => store.entry_count(),
                (Some(_), _) => found.entries.len(),
            };
            let mut ctx = found.context(defs, base, store, filter.as_ref(), site)?;
            ctx.hub = None;
            // Empty because its sources fail, not for want of a poll: said
            // in place of "Nothing here yet".
            let failing = match (total, filter) {
                (0, None) => {
                    let sources = failures::topic_sources(defs, topic);
                    let states = sources
                        .iter()
                        .map(|s| store.source_state(&s.id))
                        .collect::<Result<Vec<_>, _>>()?;
                    let pairs: Vec<_> = sources.into_iter().zip(&states).collect();
                    failures::all_failing(&pairs)
                }
                _ => None,
            };
            Some(preview::render(
                &ctx,
                defs,
                &found.entries,
                total,
                failing.as_deref(),
            ))
        }
        Doc::Digest {
            topic,
            format,
            closed,
        } => digest::render(store, defs, base, topic, *format, *closed)?,
        Doc::Index => {
            let sources = defs
                .sources
                .iter()
                .map(|s| store.source_state(&s.id))
                .collect::<Result<Vec<_>, _>>()?;
            Some(index::render(
                base,
                defs,
                &site_summary(store, defs)?,
                &sources,
                site,
            ))
        }
        Doc::Opml => Some(opml::render(base, defs, &site_summary(store, defs)?)),
    })
}

/// Per topic: entry count and last change, for the index and the OPML.
pub struct TopicSummary {
    pub entries: usize,
    pub updated: Option<DateTime<Utc>>,
}

fn site_summary(store: &Store, defs: &Definitions) -> Result<Vec<TopicSummary>, StoreError> {
    let changes = store.topic_changes()?;
    defs.rules
        .public_topics()
        .map(|t| {
            let newest = store.topic_entries(&t.id, 1)?;
            let changed = changes.get(&t.id).copied();
            Ok(TopicSummary {
                entries: store.topic_len(&t.id),
                updated: (!newest.is_empty() || changed.is_some())
                    .then(|| topic_updated(&newest, &t.id, changed)),
            })
        })
        .collect()
}

/// Render timings, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct RenderStats {
    pub renders: u64,
    pub seconds: f64,
}

/// What the byte-bounded part of the cache holds, for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CacheStats {
    /// Bytes of every cached document (bodies and compressed copies).
    pub bytes: usize,
    pub entries: usize,
    /// Of those, the client-chosen variants and their bytes.
    pub variant_bytes: usize,
    pub variant_entries: usize,
    /// Variants dropped to stay within the budget, since start.
    pub evictions: u64,
}

/// A client-chosen document and when it was last served (a tick of
/// [`FeedCache::clock`]).
struct Variant {
    doc: Arc<Rendered>,
    last_used: AtomicU64,
    /// When it goes stale though no topic changed: a query relative to the
    /// request's time (`since=7d`) keeps entries that later fall out of it.
    expires: Option<Instant>,
}

#[derive(Default)]
struct Inner {
    /// The documents of the configured base at their default size: each
    /// topic's feeds (rendered ahead) and preview, the index, the OPML.
    /// Their number is fixed by the definitions, so they are never evicted.
    pinned: HashMap<Doc, Arc<Rendered>>,
    pinned_bytes: usize,
    /// Public base → document → bytes, for everything a client chooses:
    /// `?limit=` variants, and any document for another public base (from
    /// trusted proxy headers). Least recently used first out, within
    /// [`FeedCache::budget`] bytes.
    variants: HashMap<Arc<str>, HashMap<Doc, Variant>>,
    variant_bytes: usize,
    variant_entries: usize,
    evictions: u64,
    /// Bumped on every refresh, so a lazily rendered document that raced
    /// with a refresh is not cached stale.
    generation: u64,
    stats: RenderStats,
}

impl Inner {
    /// Drops the documents `keep` refuses, from both parts.
    fn retain(&mut self, keep: impl Fn(&Doc) -> bool) {
        let mut freed = 0;
        self.pinned.retain(|doc, r| {
            let k = keep(doc);
            if !k {
                freed += r.size();
            }
            k
        });
        self.pinned_bytes -= freed;
        let (mut freed, mut dropped) = (0, 0);
        for per_base in self.variants.values_mut() {
            per_base.retain(|doc, v| {
                let k = keep(doc);
                if !k {
                    freed += v.doc.size();
                    dropped += 1;
                }
                k
            });
        }
        self.variants.retain(|_, per_base| !per_base.is_empty());
        self.variant_bytes -= freed;
        self.variant_entries -= dropped;
    }

    /// Over `budget`, evicts least recently used variants until they take
    /// at most seven eighths of it: each pass sorts every variant, so it
    /// frees room for several inserts at once.
    fn evict_to(&mut self, budget: usize) {
        if self.variant_bytes <= budget {
            return;
        }
        let budget = budget - budget / 8;
        let mut by_age: Vec<(u64, Arc<str>, Doc)> = self
            .variants
            .iter()
            .flat_map(|(base, docs)| {
                docs.iter().map(|(doc, v)| {
                    (
                        v.last_used.load(Ordering::Relaxed),
                        base.clone(),
                        doc.clone(),
                    )
                })
            })
            .collect();
        by_age.sort_by_key(|(t, _, _)| *t);
        for (_, base, doc) in by_age {
            if self.variant_bytes <= budget {
                break;
            }
            if let Some(per_base) = self.variants.get_mut(&base) {
                if let Some(v) = per_base.remove(&doc) {
                    self.variant_bytes -= v.doc.size();
                    self.variant_entries -= 1;
                    self.evictions += 1;
                }
                if per_base.is_empty() {
                    self.variants.remove(&base);
                }
            }
        }
    }
}

/// Rendered documents in memory.
///
/// SECURITY: a client chooses `?limit=` and (behind a trusted proxy) the
/// public base, and each choice is a document of its own with two
/// compressed copies: 1,500 such requests once took the process from 24 MB
/// to 1.7 GB. So client-chosen variants share one byte budget
/// (`--cache-bytes`, [`DEFAULT_CACHE_BYTES`]), least recently used out
/// first, and never push out the pinned default documents; a render on a
/// miss runs on the blocking pool, at most [`MAX_RENDERS_IN_FLIGHT`] at
/// once (see [`crate::server`]).
pub struct FeedCache {
    default_base: Url,
    inner: RwLock<Inner>,
    /// Bytes the variants may take.
    budget: usize,
    /// Ticks once per variant insert; a hit stamps its entry with the
    /// current tick: the LRU order.
    clock: AtomicU64,
    /// Renders on a cache miss running now, at most
    /// [`MAX_RENDERS_IN_FLIGHT`].
    render_slots: Arc<tokio::sync::Semaphore>,
    /// Requests waiting for a render slot or holding one, at most
    /// [`MAX_RENDERS_QUEUED`]; and those refused past it.
    render_queue: Arc<AtomicUsize>,
    /// The same queue counted per client ([`MAX_RENDERS_QUEUED_PER_CLIENT`]).
    render_queue_by_client: crate::tally::Tally<std::net::IpAddr>,
    renders_refused: AtomicU64,
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

/// A place in the render queue ([`FeedCache::queue_for_render`]), given
/// back when dropped.
pub struct RenderTicket(
    Arc<AtomicUsize>,
    #[allow(dead_code)] crate::tally::Held<std::net::IpAddr>,
);

impl Drop for RenderTicket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Bytes client-chosen variants may take unless `--cache-bytes` says.
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Renders on a cache miss at once (each runs on the blocking pool; more
/// requests wait for a slot).
pub const MAX_RENDERS_IN_FLIGHT: usize = 2;
/// Requests that may wait for a render slot (or hold one) at once; past
/// it, a request that needs a render is refused with `503` and
/// `Retry-After` instead of queueing without end (64 clients looping
/// fresh queries once made every render wait 20 s).
pub const MAX_RENDERS_QUEUED: usize = 32;
/// Places in that queue one client may hold (its address, IPv6 by /64):
/// one client cannot take the whole queue from the others.
pub const MAX_RENDERS_QUEUED_PER_CLIENT: usize = 8;
/// How long a document whose query is relative to the request's time
/// (`since=`) is served from the cache: its entries age out of the window
/// with no topic change to refresh it, so it is rendered again after this.
pub const RELATIVE_QUERY_TTL: Duration = Duration::from_secs(60);

impl Rendered {
    /// Bytes it holds: the body and its compressed copies.
    pub fn size(&self) -> usize {
        self.body.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + self.br.as_ref().map_or(0, Bytes::len)
    }
}

impl FeedCache {
    pub fn new(default_base: Url, budget: usize) -> FeedCache {
        FeedCache {
            default_base,
            inner: RwLock::new(Inner::default()),
            budget,
            clock: AtomicU64::new(0),
            render_slots: Arc::new(tokio::sync::Semaphore::new(MAX_RENDERS_IN_FLIGHT)),
            render_queue: Arc::default(),
            render_queue_by_client: Default::default(),
            renders_refused: AtomicU64::new(0),
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

    /// The slots renders on a miss take (see [`MAX_RENDERS_IN_FLIGHT`]).
    pub fn render_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.render_slots
    }

    /// A place in the render queue for `client`, or `None` when the queue
    /// or the client's share of it is full (the refusal is counted).
    pub fn queue_for_render(&self, client: std::net::IpAddr) -> Option<RenderTicket> {
        let Some(share) = self
            .render_queue_by_client
            .try_take(crate::tally::unit(client), MAX_RENDERS_QUEUED_PER_CLIENT)
        else {
            self.renders_refused.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let queue = self.render_queue.clone();
        let taken = queue
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_RENDERS_QUEUED).then_some(n + 1)
            })
            .is_ok();
        if taken {
            Some(RenderTicket(queue, share))
        } else {
            self.renders_refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    /// Requests waiting for or holding a render slot now, and those
    /// refused since start.
    pub fn render_queue(&self) -> (usize, u64) {
        (
            self.render_queue.load(Ordering::Acquire),
            self.renders_refused.load(Ordering::Relaxed),
        )
    }

    /// Renders on a miss running now.
    pub fn renders_in_flight(&self) -> usize {
        MAX_RENDERS_IN_FLIGHT - self.render_slots.available_permits()
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
        let inner = self.inner.read().expect("feed cache lock");
        CacheStats {
            bytes: inner.pinned_bytes + inner.variant_bytes,
            entries: inner.pinned.len() + inner.variant_entries,
            variant_bytes: inner.variant_bytes,
            variant_entries: inner.variant_entries,
            evictions: inner.evictions,
        }
    }

    /// Whether `doc` for `base` is one of the pinned defaults.
    fn pinned(&self, base: &Url, doc: &Doc, defs: &Definitions) -> bool {
        base == &self.default_base
            && match doc {
                Doc::Feed {
                    topic,
                    limit,
                    filter: None,
                    ..
                } => defs
                    .rules
                    .topic(topic)
                    .is_some_and(|t| *limit == t.default_limit()),
                Doc::Preview {
                    filter: None,
                    topic,
                } => topic != SEARCH,
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
                    topic: t.to_string(),
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
                if let Doc::Feed { topic, format, .. } = doc {
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
        // Documents without a topic (the index, the OPML) go too, and
        // `/search` documents, which show every topic's entries.
        inner.retain(|doc| {
            doc.topic()
                .is_some_and(|t| t != SEARCH && !topics.contains(&t))
        });
        inner.stats.renders += rendered.len() as u64;
        inner.stats.seconds += elapsed;
        for (doc, r) in rendered {
            inner.pinned_bytes += r.size();
            if let Some(old) = inner.pinned.insert(doc, r) {
                inner.pinned_bytes -= old.size();
            }
        }
        Ok(changed)
    }

    /// The cached document, if there is one. `base` is the public base of
    /// the request (`None`: the default). Never renders.
    pub fn lookup(&self, base: Option<&Url>, doc: &Doc) -> Option<Arc<Rendered>> {
        let inner = self.inner.read().expect("feed cache lock");
        match base {
            None => {
                if let Some(r) = inner.pinned.get(doc) {
                    return Some(r.clone());
                }
            }
            Some(b) if b == &self.default_base => {
                if let Some(r) = inner.pinned.get(doc) {
                    return Some(r.clone());
                }
            }
            Some(_) => {}
        }
        let base = base.unwrap_or(&self.default_base);
        let v = inner.variants.get(base.as_str())?.get(doc)?;
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
            inner.pinned_bytes += size;
            if let Some(old) = inner.pinned.insert(doc.clone(), rendered.clone()) {
                inner.pinned_bytes -= old.size();
            }
        } else if size <= self.budget {
            let variant = Variant {
                doc: rendered.clone(),
                last_used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed) + 1),
                expires: doc.relative().then(|| Instant::now() + self.relative_ttl),
            };
            if !inner.variants.contains_key(base.as_str()) {
                inner
                    .variants
                    .insert(Arc::from(base.as_str()), HashMap::new());
            }
            let replaced = inner
                .variants
                .get_mut(base.as_str())
                .expect("inserted above")
                .insert(doc.clone(), variant)
                .map(|v| v.doc.size());
            inner.variant_bytes += size;
            match replaced {
                Some(old) => inner.variant_bytes -= old,
                None => inner.variant_entries += 1,
            }
            inner.evict_to(self.budget);
        }
        Ok(Some(rendered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawEntry;

    /// A real store holding 30 entries in topic `all`.
    fn store_with_entries() -> (tempfile::TempDir, Store, Definitions) {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds");
        std::fs::create_dir(&feeds).unwrap();
        std::fs::write(
            feeds.join("d.toml"),
            "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/\"\n\n[[topic]]\nid = \"all\"\ntitle = \"All\"\n",
        )
        .unwrap();
        let defs = crate::config::load(&feeds).unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let base = Url::parse("https://example.org/").unwrap();
        let now = Utc::now();
        for i in 0..30 {
            let raw = RawEntry {
                title: Some(format!("Entry {i}")),
                link: Some(format!("https://example.org/{i}")),
                summary: Some("A summary of some length. ".repeat(20)),
                ..Default::default()
            };
            let e = crate::normalize::normalize(raw, "s", &base, now).unwrap();
            store
                .upsert(&e.id.clone(), |old| {
                    let mut e = e.clone();
                    defs.rules.route(&mut e, old.is_none(), now);
                    e
                })
                .unwrap();
        }
        (dir, store, defs)
    }

    fn variant(limit: usize) -> Doc {
        Doc::Feed {
            topic: "all".into(),
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
            topic: "all".into(),
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

    #[test]
    fn query_feeds_are_cached_until_their_topic_changes() {
        let (_dir, store, defs) = store_with_entries();
        let cache = FeedCache::new(Url::parse("https://feeds.example.org/").unwrap(), 1 << 20);
        let asked = crate::query::parse(Some("q=entry+summary"), &defs, 500).unwrap();
        let query = |topic: &str| Doc::Feed {
            topic: topic.into(),
            format: Format::Atom,
            limit: 50,
            filter: asked.filter.clone(),
        };
        for topic in ["all", SEARCH] {
            let r = cache
                .get(&store, &defs, None, &query(topic))
                .unwrap()
                .unwrap();
            let body = String::from_utf8_lossy(&r.body).into_owned();
            assert_eq!(body.matches("<entry>").count(), 30, "{topic}");
            assert!(
                body.contains(&format!("{topic}.atom?q=entry+summary")),
                "{body}"
            );
            assert!(
                cache.lookup(None, &query(topic)).is_some(),
                "{topic} cached"
            );
        }
        assert_eq!(cache.cache_stats().variant_entries, 2);
        // Another topic's change leaves `all` alone but drops `/search`,
        // which shows every topic.
        cache.refresh(&store, &defs, ["elsewhere"]).unwrap();
        assert!(cache.lookup(None, &query("all")).is_some());
        assert!(cache.lookup(None, &query(SEARCH)).is_none());
        cache.refresh(&store, &defs, ["all"]).unwrap();
        assert!(cache.lookup(None, &query("all")).is_none());
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
