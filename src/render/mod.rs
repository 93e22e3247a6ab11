//! Rendering documents (topic feeds, previews, the index, the OPML) into
//! bytes: what a document is ([`Doc`]), the formats, the bytes and the
//! headers built once with them ([`Rendered`]), and [`render_doc`], which
//! reads the store and hands the entries to a writer module.
//!
//! Documents are rendered when what they show changes, or on their first
//! request, never per request: the document cache that decides when, and
//! serves the bytes between, is [`FeedCache`] (`cache.rs`, with what it
//! holds in `lru.rs` and who may render on a miss in `queue.rs`).

pub mod atom;
mod cache;
pub mod compress;
pub mod describe;
mod digest;
pub mod failures;
pub mod index;
pub mod json;
mod lru;
pub mod opml;
pub mod preview;
mod queue;
pub mod rss;
mod select;

pub use cache::{FeedCache, RenderStats, DEFAULT_CACHE_BYTES, RELATIVE_QUERY_TTL};
pub use lru::CacheStats;
pub use queue::{
    RenderTicket, MAX_RENDERS_IN_FLIGHT, MAX_RENDERS_QUEUED, MAX_RENDERS_QUEUED_PER_CLIENT,
};
pub use select::{queries_cut, MAX_DECODE, MAX_READ};

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::header::HeaderValue;
use url::Url;

use crate::config::Definitions;
use crate::model::Entry;
use crate::rules::{FeedOf, Topic, DEFAULT_LIMIT};
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
    /// `/{topic}.{rss,atom,json}`, and `/search.{rss,atom,json}` of every
    /// entry.
    Feed {
        of: FeedOf,
        format: Format,
        limit: usize,
        /// Query parameters ([`crate::query`]): a query feed.
        filter: Option<Filter>,
    },
    /// `/{topic}.html` (and `/search.html`): a readable preview.
    Preview { of: FeedOf, filter: Option<Filter> },
    /// `/{topic}.digest.{rss,atom,json}`: one item per closed period
    /// ([`crate::digest`]); only a topic has one.
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

    /// The one topic a document shows; `None` for those that show every
    /// topic's entries: every entry's documents, the index, the OPML.
    pub fn topic(&self) -> Option<&str> {
        match self {
            Doc::Feed { of, .. } | Doc::Preview { of, .. } => of.topic(),
            Doc::Digest { topic, .. } => Some(topic),
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
            Doc::Feed { of, format, .. } => {
                format!("{}.{}{query}", of.name(), format.extension())
            }
            Doc::Preview { of, .. } => format!("{}.html{query}", of.name()),
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
    /// Bytes it holds: the body and its compressed copies.
    pub fn size(&self) -> usize {
        self.body.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + self.br.as_ref().map_or(0, Bytes::len)
    }

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
    /// What the feed is of: its URLs and its Atom id name it.
    pub of: &'a FeedOf,
    /// The topic as the feed describes itself (its title and description,
    /// a query's or a digest's words added; [`Topic::everything`] for
    /// every entry).
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
            self.of.name(),
            if self.digest { ".digest" } else { "" },
            format.extension(),
            self.query_suffix()
        )
    }

    pub fn preview_url(&self) -> String {
        format!(
            "{}{}.html{}",
            self.base_url,
            self.of.name(),
            self.query_suffix()
        )
    }

    /// What the feed's Atom id is made from: the topic, and the query.
    pub fn id_key(&self) -> String {
        match self.digest {
            true => format!("digest:{}", self.of.name()),
            false => format!("topic:{}{}", self.of.name(), self.query_suffix()),
        }
    }
}

/// The last real change among a topic's entries: when one entered or was
/// updated. Stable across restarts and re-renders. `topic` is `None` for
/// every entry: then when one was published or updated.
///
/// `changed` is when the topic last changed otherwise (created, its rules
/// edited, entries pruned: [`Store::topic_changes`]); an empty topic is
/// dated by it, and never by 1970.
pub fn topic_updated(
    entries: &[Entry],
    topic: Option<&str>,
    changed: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    entries
        .iter()
        .flat_map(|e| {
            let entered = topic.and_then(|t| e.topics.get(t)).copied();
            [e.updated, entered.unwrap_or(e.published)]
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
            of,
            format,
            limit,
            filter,
        } => {
            let Some(found) = select(store, defs, of, *limit, filter.as_ref())? else {
                return Ok(None);
            };
            let ctx = found.context(defs, base, store, filter.as_ref(), site)?;
            Some(render_feed(*format, &ctx, &found.entries))
        }
        Doc::Preview { of, filter } => {
            let limit = match of {
                FeedOf::Topic(id) => defs
                    .rules
                    .topic(id)
                    .map_or(DEFAULT_LIMIT, Topic::default_limit),
                FeedOf::Everything => DEFAULT_LIMIT,
            };
            let Some(found) = select(store, defs, of, limit, filter.as_ref())? else {
                return Ok(None);
            };
            let total = match (filter, of) {
                (None, FeedOf::Topic(id)) => store.topic_len(id),
                (None, FeedOf::Everything) => store.entry_count(),
                (Some(_), _) => found.entries.len(),
            };
            let mut ctx = found.context(defs, base, store, filter.as_ref(), site)?;
            ctx.hub = None;
            // Empty because its sources fail, not for want of a poll: said
            // in place of "Nothing here yet".
            let failing = match (total, filter) {
                (0, None) => {
                    let sources = failures::topic_sources(defs, &found.topic);
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
                    .then(|| topic_updated(&newest, Some(&t.id), changed)),
            })
        })
        .collect()
}

/// A real store for the render tests.
#[cfg(test)]
mod fixture {
    use super::*;
    use crate::model::RawEntry;

    /// A real store holding 30 entries in topic `all`.
    pub(super) fn store_with_entries() -> (tempfile::TempDir, Store, Definitions) {
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
}
