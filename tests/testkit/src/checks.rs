//! Independent checks of what feedloom serves: another parser (feed-rs)
//! and the RFC 4287 schema (jing).

use std::path::Path;
use std::process::Command;

/// Parses a served feed with an independent parser (feed-rs) and checks
/// what every reader needs: each item has an id, a link, a title and a date,
/// and ids are unique. Returns the parsed feed.
pub fn parse_feed(body: &[u8]) -> feed_rs::model::Feed {
    let feed = feed_rs::parser::parse(body).unwrap_or_else(|e| {
        panic!(
            "feed-rs rejects the feed: {e}\n{}",
            String::from_utf8_lossy(body)
        )
    });
    let mut ids = std::collections::HashSet::new();
    for e in &feed.entries {
        assert!(!e.id.is_empty(), "entry without id");
        assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
        assert!(!e.links.is_empty(), "entry {} without link", e.id);
        assert!(
            e.title.as_ref().is_some_and(|t| !t.content.is_empty()),
            "entry {} without title",
            e.id
        );
        assert!(
            e.published.is_some() || e.updated.is_some(),
            "entry {} without date",
            e.id
        );
    }
    feed
}

/// The entry whose title starts with `prefix` (panics when none does).
pub fn entry_titled<'a>(feed: &'a feed_rs::model::Feed, prefix: &str) -> &'a feed_rs::model::Entry {
    feed.entries
        .iter()
        .find(|e| {
            e.title
                .as_ref()
                .is_some_and(|t| t.content.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no entry titled {prefix}…"))
}

/// An entry's link with relation `rel`, if it has one.
pub fn link_rel<'a>(e: &'a feed_rs::model::Entry, rel: &str) -> Option<&'a feed_rs::model::Link> {
    e.links.iter().find(|l| l.rel.as_deref() == Some(rel))
}

/// An entry's title and summary, lowercased: what a test of word
/// matching looks in.
pub fn entry_text(e: &feed_rs::model::Entry) -> String {
    format!(
        "{} {}",
        e.title
            .as_ref()
            .map(|t| t.content.as_str())
            .unwrap_or_default(),
        e.summary
            .as_ref()
            .map(|s| s.content.as_str())
            .unwrap_or_default()
    )
    .to_lowercase()
}

/// Validates an Atom document against RFC 4287's RELAX NG schema with
/// `jing` (Debian package `jing`; `.ci/run` installs it): `Err` with jing's
/// report when it is invalid. A missing jing fails the test.
pub fn jing_atom(dir: &Path, name: &str, atom: &[u8]) -> Result<(), String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/atom.rnc");
    let file = dir.join(name);
    std::fs::write(&file, atom).unwrap();
    let out = Command::new("jing")
        .arg("-c")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("`jing` must be installed (apt-get install jing); .ci/run installs it");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
