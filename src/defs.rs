//! The TOML shapes of `feeds/*.toml`, exactly as an admin writes them.
//!
//! Every struct denies unknown fields, so a typo is an error naming the file
//! and line rather than a silently ignored setting. Semantics are checked
//! after parsing, in [`crate::config::load`], and compiled once by the stage
//! that owns each part (selectors in `extract`, rules in `rules`). Only
//! data lives here, so those stages depend on these shapes and not on one
//! another.

use serde::Deserialize;

/// A value in a definition (or a flag) that does not mean anything: the
/// message says what is wrong and how to write it. Nothing branches on the
/// reason, so it is one readable sentence; [`crate::config::load`] adds the
/// file and the definition it was found in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Invalid {
        Invalid(message.to_string())
    }
}

/// One definitions file. Any file may hold any mix of the three tables; ids
/// are unique across all files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDef {
    #[serde(default)]
    pub source: Vec<SourceDef>,
    #[serde(default)]
    pub tag: Vec<TagDef>,
    #[serde(default)]
    pub topic: Vec<TopicDef>,
    /// Per-host politeness rules.
    #[serde(default)]
    pub host: Vec<HostDef>,
    /// How long entries are kept (at most one `[retention]` in all files).
    pub retention: Option<RetentionDef>,
}

/// `[retention]`: when stored entries are pruned. A pruned entry leaves a
/// tombstone, so the same item is not ingested again while an upstream
/// still lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDef {
    /// Prune entries first seen longer ago than this, e.g. `365d`. Default:
    /// no age limit.
    pub max_age: Option<String>,
    /// Keep at most this many entries, pruning the longest-known first.
    /// Default: 200000.
    pub max_entries: Option<usize>,
}

/// `[[host]]`: how politely one host is polled. Hosts without a table get
/// one request at a time, 1 s apart, at most 120 requests per 5 minutes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    /// The host name as it appears in source URLs (`rss.arxiv.org`).
    pub name: String,
    /// Least time between the end of one request and the start of the next,
    /// e.g. `2s`, `500ms`, `0s`.
    pub min_spacing: Option<String>,
    /// Most requests per `window`.
    pub max_requests: Option<u32>,
    /// The budget window, e.g. `5m`.
    pub window: Option<String>,
}

/// What kind of upstream a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKindDef {
    /// RSS 0.9x/1.0/2.0, Atom 1.0 or JSON Feed, auto-detected.
    Feed,
    /// Any HTML page, read with the CSS selectors in `select`.
    Html,
    /// Hugging Face Daily Papers (`listing`, `mode`, `base_url`...).
    HuggingfacePapers,
    /// A JSON API (or JSON embedded in an HTML page), read with the JSON
    /// Pointers in `select`.
    Json,
}

impl SourceKindDef {
    /// The name as written in `kind = "…"`.
    pub fn name(self) -> &'static str {
        match self {
            SourceKindDef::Feed => "feed",
            SourceKindDef::Html => "html",
            SourceKindDef::HuggingfacePapers => "huggingface_papers",
            SourceKindDef::Json => "json",
        }
    }
}

/// `listing` of a `huggingface_papers` source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingDef {
    /// One day (`date`), or the latest day with papers.
    Daily,
    /// One ISO week (`week = "2026-W41"`), or the current one.
    Weekly,
    /// One month (`month = "2026-10"`), or the current one.
    Monthly,
    Trending,
    /// Papers matching `query`.
    Search,
}

/// `mode` of a `huggingface_papers` source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeDef {
    /// The public JSON API (default).
    Api,
    /// The listing page's embedded JSON, with its cards as the fallback.
    Page,
}

/// `[[source]]`: one upstream to poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    /// Unique id: lower-case letters, digits, `-` and `_`. Part of the ids of
    /// entries whose guid is not a URL, so keep it stable.
    pub id: String,
    pub kind: SourceKindDef,
    /// Absolute http(s) URL to fetch (`feed` and `html`).
    pub url: Option<String>,
    /// Human-readable name; defaults to the id.
    pub title: Option<String>,
    /// Poll interval such as `30m`, `1h`, `1h30m` (at least 1 minute).
    /// Defaults per kind: [`crate::config::DEFAULT_FEED_INTERVAL`],
    /// [`crate::config::DEFAULT_HTML_INTERVAL`].
    pub interval: Option<String>,
    /// Longest time a fetch may take, body included (default 30s).
    pub timeout: Option<String>,
    /// Largest body read, e.g. `10MiB` (the default), `512KiB`.
    pub max_body: Option<String>,
    /// Who owns an entry several sources carry: the source with the highest
    /// priority (default 0) decides its title, link and summary; on a tie
    /// the source that created it. Others only fill missing fields.
    pub priority: Option<i32>,
    /// Follow a redirect from `https` to plain `http` (default: refused).
    pub allow_http_redirect: Option<bool>,
    /// The source is in the operator's own network: it, its redirects and
    /// the links in its items may reach internal addresses (default: only
    /// a URL whose host is an internal address or `localhost` may, and
    /// only on its own origin).
    pub internal: Option<bool>,
    /// `kind = "html"` and `"json"`: the selectors (CSS or JSON Pointers)
    /// that find items and fields.
    pub select: Option<SelectDef>,
    /// Numeric metrics rules can test: `json`, a JSON Pointer inside an
    /// item (`points = "/score"`); `html`, a selector whose text's first
    /// number is taken (`"1.2k"` → 1200, `"45 comments"` → 45).
    pub metrics: Option<std::collections::BTreeMap<String, String>>,
    /// `kind = "json"`: the link of an item without one, built from its id
    /// (`https://example.org/post/{id}`).
    pub link_template: Option<String>,
    /// `kind = "json"`: the discussion link of an item without a
    /// `select.comments`, built from its id
    /// (`https://news.ycombinator.com/item?id={id}`).
    pub comments_template: Option<String>,
    /// `kind = "json"`: how to ask for the next page (`max_pages` bounds it).
    pub paging: Option<PagingDef>,
    /// Fetch each new entry's link and keep the page's main article as its
    /// content, when the source gives less than `fulltext_min_chars` of
    /// text ([`crate::fulltext`]).
    pub fulltext: Option<bool>,
    /// With `fulltext`: entries with at least this many characters of text
    /// are complete already (default 500).
    pub fulltext_min_chars: Option<usize>,
    /// With `fulltext`: `false` fetches articles even where the site's
    /// `robots.txt` disallows it (logged). Default `true`.
    pub robots: Option<bool>,
    /// `huggingface_papers` only: which listing (required).
    pub listing: Option<ListingDef>,
    /// `huggingface_papers` only: `api` (default) or `page`.
    pub mode: Option<ModeDef>,
    /// `huggingface_papers` only: the site to read, default
    /// `https://huggingface.co` (tests and mirrors point it elsewhere).
    pub base_url: Option<String>,
    /// `listing = "daily"`: the day, `YYYY-MM-DD`; default the latest.
    pub date: Option<String>,
    /// `listing = "weekly"`: the ISO week, `YYYY-Www`; default the current.
    pub week: Option<String>,
    /// `listing = "monthly"`: `YYYY-MM`; default the current month.
    pub month: Option<String>,
    /// `listing = "search"`: the query (at most 250 characters).
    pub query: Option<String>,
    /// `huggingface_papers` API mode: most pages per poll (default 1 for
    /// latest / trending / search, 5 for a day or week, 10 for a month).
    /// `json` with `paging`: default 5, at most 50.
    pub max_pages: Option<u32>,
}

/// `[source.paging]` of a `json` source: exactly one way to reach the next
/// page. Paging stops at `max_pages`, at a page without items, at a page
/// that adds no new item, and at a URL already fetched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingDef {
    /// A JSON Pointer (from the document root) to the next page's URL,
    /// absolute or relative to the page (`/links/next`).
    pub next_url: Option<String>,
    /// A JSON Pointer to an opaque cursor (`/data/after`), sent back as the
    /// query parameter `param`.
    pub cursor: Option<String>,
    /// The query parameter that carries the cursor, or the page number when
    /// there is no `cursor` (`page`).
    pub param: Option<String>,
    /// The first page's number, when paging by number (default 1).
    pub start: Option<u32>,
}

/// `[source.select]`: where an item's fields are. For `kind = "html"`, CSS
/// selectors evaluated inside one item element: append `@attr` to read an
/// attribute instead of the text (`a@href`, `time@datetime`), or give
/// `@attr` alone to read the item element's own attribute. For `kind =
/// "json"`, JSON Pointers (RFC 6901) inside one item (`/title`,
/// `/author/login`). A field may also be a list of alternatives, tried in
/// order until one yields a value (`date = ["time@datetime", "span.date"]`).
/// Which fields apply to which kind is checked where each kind compiles
/// them ([`crate::extract::html`], [`crate::extract::json`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectDef {
    /// `html`: selects each item element on the page (required).
    pub item: Option<String>,
    /// `json`: a JSON Pointer from the document root to the array of items
    /// (required; `""` for a document that is the array).
    pub items: Option<String>,
    /// `json`: read the JSON from an element of an HTML page instead of the
    /// body: a CSS selector of the element whose text is the JSON
    /// (`script#__NEXT_DATA__`), or `css@attr` for an attribute
    /// (`div[data-props]@data-props`). The first matching element whose
    /// JSON has `items` is read.
    pub embedded: Option<String>,
    /// The item's title (text). Required; items where it yields nothing are
    /// skipped.
    pub title: Selectors,
    /// The item's link; `html` defaults to `a@href`. Relative links are
    /// resolved against the page URL.
    pub link: Option<Selectors>,
    /// The item's own id, which identifies it across polls (`html`: often
    /// an attribute, `@id`; `json`: also fills `{id}` in `link_template`).
    pub id: Option<Selectors>,
    /// Where readers discuss the item (a comments page), published as
    /// RSS `<comments>`, Atom `rel="replies"`.
    pub comments: Option<Selectors>,
    /// `html`: elements one item spans: the item element and the siblings
    /// after it (2 for Hacker News: the title row, then the row with score,
    /// author, age and comments). Default 1, at most 10.
    pub item_rows: Option<usize>,
    /// The summary; HTML is kept (sanitized), plain text is escaped.
    pub summary: Option<Selectors>,
    /// `json`: the full content (HTML or plain text).
    pub content: Option<Selectors>,
    /// The date: text or attribute, parsed by [`crate::dates`]; in JSON
    /// also a number of seconds or milliseconds since 1970.
    pub date: Option<Selectors>,
    /// A `strftime` format for `date`, tried before the common formats.
    pub date_format: Option<String>,
    /// `html`: author names (every match).
    pub author: Option<Selectors>,
    /// `html`: categories (every match).
    pub category: Option<Selectors>,
    /// `json`: author names: an array (of strings, or of objects with a
    /// `name` or `login`) or one string.
    pub authors: Option<Selectors>,
    /// `json`: categories: an array or one string.
    pub categories: Option<Selectors>,
    /// `json`: an image URL, published as the entry's enclosure.
    pub image: Option<Selectors>,
}

/// One selector or a list of alternatives.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Selectors {
    One(String),
    Many(Vec<String>),
}

/// No selector: what a [`SelectDef`] built in code starts from.
impl Default for Selectors {
    fn default() -> Self {
        Selectors::Many(Vec::new())
    }
}

impl Selectors {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Selectors::One(s) => std::slice::from_ref(s),
            Selectors::Many(v) => v,
        }
    }
}

/// `[[tag]]`: a tag and the rules that put it on an entry. The tag applies
/// when every `all` condition holds, at least one `any` condition holds (if
/// `any` is given), and no `none` condition holds. At least one of `all` /
/// `any` is required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagDef {
    pub id: String,
    /// Shown in the index; defaults to the id.
    pub title: Option<String>,
    #[serde(default)]
    pub all: Vec<ConditionDef>,
    #[serde(default)]
    pub any: Vec<ConditionDef>,
    #[serde(default)]
    pub none: Vec<ConditionDef>,
}

/// One condition. Exactly one of `words`, `regex`, `source`, `host`,
/// `metric`, `newer_than` / `older_than` (together allowed), `all`, `any`,
/// `none` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionDef {
    /// Words or phrases, case-insensitive, matched on word boundaries; a
    /// space in a phrase matches any run of whitespace.
    pub words: Option<Vec<String>>,
    /// A regular expression (Rust `regex` syntax); add `(?i)` for case
    /// insensitivity.
    pub regex: Option<String>,
    /// Fields `words` / `regex` look in: `title`, `summary`, `content`,
    /// `authors`, `categories`, `link`. Default: `title` and `summary`.
    pub fields: Option<Vec<String>>,
    /// The entry came from one of these source ids.
    pub source: Option<Vec<String>>,
    /// The entry's link host is one of these (or a subdomain of one).
    pub host: Option<Vec<String>>,
    /// A numeric metric (`upvotes`, `comments`, `stars`...) compared with
    /// `gte` / `gt` / `lte` / `lt` / `eq`; a missing metric never matches.
    pub metric: Option<String>,
    pub gte: Option<f64>,
    pub gt: Option<f64>,
    pub lte: Option<f64>,
    pub lt: Option<f64>,
    pub eq: Option<f64>,
    /// A date window on the published date: within this long of now
    /// (`30d`)...
    pub newer_than: Option<String>,
    /// ... and/or at least this long ago.
    pub older_than: Option<String>,
    pub all: Option<Vec<ConditionDef>>,
    pub any: Option<Vec<ConditionDef>>,
    pub none: Option<Vec<ConditionDef>>,
}

/// `[[topic]]`: a published feed, a saved query over tags and sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicDef {
    /// Unique id, the feed's path: `/{id}.rss`, `/{id}.atom`.
    pub id: String,
    /// Feed title; defaults to the id.
    pub title: Option<String>,
    /// Feed description.
    pub description: Option<String>,
    /// Which tags select an entry. Empty: every entry (of `sources`, if set).
    #[serde(default)]
    pub tags: TagSelectDef,
    /// Only entries from these sources, when given.
    pub sources: Option<Vec<String>>,
    /// Most items the topic's feeds hold (and `?limit=` may ask for), 1 to
    /// 500; feeds hold the newest 50 by default, or fewer when this is
    /// lower.
    pub max_items: Option<usize>,
    /// Served only at `/p/{token}/{id}.{ext}` (the token is kept in the
    /// store, made by `feedloom token`), and left out of the index, the
    /// OPML, `/search` and `export`.
    #[serde(default)]
    pub private: bool,
    /// Also serve `/{id}.digest.{rss,atom,json}`: one item per closed day
    /// or week ([`crate::digest`]).
    pub digest: Option<Period>,
    /// IANA time zone the digest's days begin in; UTC when left out.
    pub digest_timezone: Option<String>,
    /// Most entries one digest item lists (1 to 100; 20 when left out).
    pub digest_size: Option<usize>,
}

/// How long a digest's period is (`digest = "daily"`); its calendar
/// arithmetic is [`crate::digest`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Daily,
    Weekly,
}

/// `[topic.tags]`: entries with any of `any` (when given), all of `all`,
/// and none of `none`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSelectDef {
    #[serde(default)]
    pub any: Vec<String>,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub none: Vec<String>,
}
