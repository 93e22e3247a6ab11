//! Extraction: raw response bytes in, [`RawEntry`] values out. One adapter
//! per upstream format; wire types never leave their adapter.

pub mod feed;
pub mod html;
pub mod huggingface;
pub mod jsonfeed;

use chrono::{DateTime, Utc};

use crate::config::SourceKind;
use crate::model::RawEntry;

/// Why a response could not be read as the source's kind.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The body is something else entirely (an HTML error page where a feed
    /// was expected, an empty body...).
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// The body is the right format but broken (truncated, ill-formed).
    #[error("malformed {format}: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
}

/// Extracts the items of a response body fetched at `now` (which resolves
/// relative dates such as a year-less "Mar 28").
pub fn extract(
    kind: &SourceKind,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<RawEntry>, ExtractError> {
    match kind {
        SourceKind::Feed => feed::extract(body),
        SourceKind::Html(spec) => Ok(html::extract(spec, body)),
        SourceKind::HuggingFace(spec) => spec.extract(body, now),
    }
}
