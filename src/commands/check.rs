//! `check`: load and validate the definitions, and say what they define
//! and what looks wrong (rules that can never match, unused tags).

use std::fmt::Write as _;
use std::path::Path;

use super::Error;
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

/// A readable summary of loaded definitions: counts, then one line per
/// source, tag and topic.
pub fn describe(defs: &Definitions) -> String {
    let mut out = format!(
        "{}: {} files, {} sources, {} tags, {} topics\n",
        defs.dir.display(),
        defs.files.len(),
        defs.sources.len(),
        defs.rules.tags.len(),
        defs.rules.topics.len()
    );
    for s in &defs.sources {
        let _ = writeln!(
            out,
            "source {} ({}, every {}): {}",
            s.id,
            s.kind.name(),
            crate::units::human(s.interval),
            s.url
        );
    }
    for t in &defs.rules.tags {
        let _ = writeln!(out, "tag {}: {}", t.id, t.title);
    }
    for t in &defs.rules.topics {
        let _ = writeln!(out, "topic {}: {}", t.id, t.title);
    }
    out
}
