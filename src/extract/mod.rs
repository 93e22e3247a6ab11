//! Extraction: raw response bytes in, [`RawEntry`] values out. One adapter
//! per upstream format; wire types never leave their adapter.
//!
//! Adding a source kind: a module here with its compiled spec (and its
//! `compile` from [`crate::defs::SourceDef`]), a [`SourceKind`] variant, and
//! its arm in [`extract`]; the definition keys go in [`crate::defs`].

pub mod cap;
pub mod discover;
pub mod feed;
pub mod html;
pub mod huggingface;
pub mod json;
pub mod jsonfeed;
pub mod known_sites;
pub mod metric_names;
pub mod suggest;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::RawEntry;

/// The compiled, kind-specific part of a source.
#[derive(Debug, Clone)]
pub enum SourceKind {
    Feed,
    Html(Box<html::HtmlSpec>),
    HuggingFace(Box<huggingface::HfSpec>),
    Json(Box<json::JsonSpec>),
}

impl SourceKind {
    /// The name as written in `kind = "…"`.
    pub fn name(&self) -> &'static str {
        use crate::defs::SourceKindDef;
        match self {
            SourceKind::Feed => SourceKindDef::Feed,
            SourceKind::Html(_) => SourceKindDef::Html,
            SourceKind::HuggingFace(_) => SourceKindDef::HuggingfacePapers,
            SourceKind::Json(_) => SourceKindDef::Json,
        }
        .name()
    }
}

/// Why a response could not be read as the source's kind.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The body is something else entirely (an HTML error page where a feed
    /// was expected, an empty body...).
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// The body nests deeper than [`crate::depth::MAX_NESTING`]; refused
    /// before any recursive parser saw it.
    #[error(transparent)]
    TooDeep(#[from] crate::depth::TooDeep),
    /// The body is the right format but broken (truncated, ill-formed).
    #[error("malformed {format}: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
}

impl ExtractError {
    /// Where in the document reading failed, when it says: a feed the
    /// repair path could not read names the place the strict read
    /// stumbled on first (see [`feed`]). Only the place, for pages that
    /// must not quote what the document says there.
    pub fn location(&self) -> Option<crate::repairs::Location> {
        match self {
            ExtractError::Malformed { message, .. } => crate::repairs::Location::leading(message),
            ExtractError::NotAFeed(_) | ExtractError::TooDeep(_) => None,
        }
    }

    /// An HTML page was served where a feed was expected: a page moved, a
    /// login wall, an error page with status 200.
    pub fn is_html_page(&self) -> bool {
        matches!(self, ExtractError::NotAFeed(why) if why == feed::HTML_PAGE)
    }
}

/// What a response held.
#[derive(Debug, Default)]
pub struct Extracted {
    pub entries: Vec<RawEntry>,
    /// The feed's own minimum refresh interval (RSS `<ttl>`).
    pub ttl: Option<Duration>,
    /// What the body says about its next page (a `json` source's next URL
    /// or cursor), for [`crate::poll`] to follow.
    pub next: Option<String>,
    /// The source is read, but not as well as it should be (a Hugging Face
    /// page read from its cards): what is missing, for `/status`.
    pub degraded: Option<String>,
    /// The response listed more than [`cap::MAX_ITEMS`] items; the first
    /// ones were read.
    pub capped: bool,
    /// Items whose elements past their bound were left out
    /// ([`feed::MAX_ITEM_ELEMENTS`]).
    pub trimmed: usize,
    /// What the document said other than as written, and how it was read
    /// (a bare `&`, a date in the wrong form, a document cut short): a
    /// source read with repairs is *recovered*.
    pub repairs: crate::repairs::Repairs,
    /// A feed's own title, one line (it names the source `add` writes).
    pub title: Option<String>,
}

/// Extracts the items of a response body fetched at `now` (which resolves
/// relative dates such as a year-less "Mar 28"), decoding its charset as
/// the format prescribes (see [`crate::decode`]).
pub fn extract(
    kind: &SourceKind,
    body: &[u8],
    content_type: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Extracted, ExtractError> {
    match kind {
        SourceKind::Feed => feed::extract(body, content_type),
        SourceKind::Html(spec) => {
            let mut entries = html::extract(spec, &crate::decode::html(body, content_type))?;
            let capped = entries.len() > cap::MAX_ITEMS;
            entries.truncate(cap::MAX_ITEMS);
            Ok(Extracted {
                entries,
                capped,
                ..Default::default()
            })
        }
        SourceKind::HuggingFace(spec) => {
            let (entries, degraded) = spec.extract_reporting(body, now)?;
            Ok(Extracted {
                entries,
                degraded,
                ..Default::default()
            })
        }
        SourceKind::Json(spec) => {
            let page = spec.extract(body, content_type)?;
            Ok(Extracted {
                entries: page.entries,
                next: page.next,
                capped: page.capped,
                ..Default::default()
            })
        }
    }
}

/// The MIME type of a media URL, from its extension (what an enclosure
/// must declare); `application/octet-stream` when it says nothing.
pub fn media_mime(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
