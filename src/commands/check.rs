//! `check`: load and validate the definitions, and say what they define
//! and what looks wrong (rules that can never match, unused tags).

use std::fmt::Write as _;
use std::path::Path;

use super::{table, Error};
use crate::config::{self, Definitions};

/// Loads and validates the definitions in `feeds`; returns the report
/// [`describe`] writes, warnings last.
pub fn check(feeds: &Path) -> Result<String, Error> {
    let defs = config::load(feeds)?;
    let mut out = describe(&defs);
    for w in defs.rules.warnings() {
        let _ = writeln!(out, "warning: {w}");
    }
    Ok(out)
}

/// A readable summary of loaded definitions: counts, then a table each of
/// sources, tags and topics.
pub fn describe(defs: &Definitions) -> String {
    use crate::text::counted;
    let mut out = format!(
        "{}: {}, {}, {}, {}\n",
        defs.dir.display(),
        counted(defs.files.len(), "file", "files"),
        counted(defs.sources.len(), "source", "sources"),
        counted(defs.rules.tags.len(), "tag", "tags"),
        counted(defs.rules.topics.len(), "topic", "topics")
    );
    let sources = defs.sources.iter().map(|s| {
        vec![
            s.id.clone(),
            s.kind.name().to_string(),
            crate::units::human(s.interval),
            s.url.to_string(),
        ]
    });
    out.push('\n');
    out.push_str(&table::render(
        &["source", "kind", "every", "url"],
        sources,
        &[],
    ));
    let tags = defs
        .rules
        .tags
        .iter()
        .map(|t| vec![t.id.clone(), t.title.clone()]);
    out.push('\n');
    out.push_str(&table::render(&["tag", "title"], tags, &[]));
    let topics = defs
        .rules
        .topics
        .iter()
        .map(|t| vec![t.id.clone(), t.title.clone()]);
    out.push('\n');
    out.push_str(&table::render(&["topic", "title"], topics, &[]));
    out
}
