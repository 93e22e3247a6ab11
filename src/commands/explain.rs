//! Seeing why: `explain` (one stored entry: its fields, sources, every tag
//! with the rule and text that matched, every topic it is in and since when,
//! and for the others the first condition that fails) and `preview` (what a
//! topic would hold under definitions not yet in force, and what would enter
//! and leave). Both read the store and write nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{Error, Settings};
use crate::config::{self, Definitions};
use crate::identity::{canonical_link, id_for_reference};
use crate::model::Entry;
use crate::store::Store;
use crate::text::truncate_words;

/// Finds a stored entry by id (`urn:uuid:…` or bare), link or arXiv id.
pub fn find(store: &Store, reference: &str) -> Result<Option<Entry>, Error> {
    if let Some(id) = id_for_reference(reference) {
        if let Some(e) = store.get(&id)? {
            return Ok(Some(e));
        }
    }
    // Entries keyed by a source's guid are found by their link.
    let link = canonical_link(reference);
    for e in store.all_entries() {
        let e = e?;
        if link.as_deref() == Some(e.link.as_str()) || e.key == reference {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// `explain REFERENCE`.
pub fn explain(settings: &Settings, reference: &str) -> Result<String, Error> {
    let defs = config::load(&settings.feeds)?;
    let store = settings.open_store()?;
    explain_in(&store, &defs, reference)?.ok_or_else(|| Error::NotFound(not_found(reference)))
}

/// The explanation of the entry `reference` names, from an open store
/// (`None`: no such entry). The CLI and the server's admin view share it.
pub fn explain_in(
    store: &Store,
    defs: &Definitions,
    reference: &str,
) -> Result<Option<String>, Error> {
    Ok(find(store, reference)?.map(|e| describe(&e, defs, Utc::now())))
}

/// What to say when nothing matches `reference`.
pub fn not_found(reference: &str) -> String {
    format!("no stored entry matches `{reference}` (an entry id, a link or an arXiv id)")
}

fn describe(e: &Entry, defs: &Definitions, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let date = |d: DateTime<Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    let _ = writeln!(out, "entry {}", e.id.urn());
    let _ = writeln!(out, "  key         {}", e.key);
    let _ = writeln!(out, "  title       {}", e.title);
    let _ = writeln!(
        out,
        "  link        {}",
        if e.link.is_empty() { "(none)" } else { &e.link }
    );
    let _ = writeln!(out, "  published   {}", date(e.published));
    let _ = writeln!(out, "  updated     {}", date(e.updated));
    let _ = writeln!(out, "  first seen  {}", date(e.first_seen));
    if let Some(l) = e.listed {
        let _ = writeln!(out, "  listed      {}", date(l));
    }
    let _ = writeln!(out, "  sources     {}", e.sources.join(", "));
    if !e.authors.is_empty() {
        let _ = writeln!(out, "  authors     {}", e.authors.join(", "));
    }
    if !e.categories.is_empty() {
        let _ = writeln!(out, "  categories  {}", e.categories.join(", "));
    }
    if !e.metrics.is_empty() {
        let m: Vec<String> = e.metrics.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "  metrics     {}", m.join(" "));
    }
    let _ = writeln!(out, "tags");
    if e.tags.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (tag, hits) in &e.tags {
        for h in hits {
            let _ = writeln!(
                out,
                "  {tag}: {} matched \"{}\" in {}",
                h.rule.trim(),
                h.text,
                h.field
            );
        }
        if hits.is_empty() {
            let _ = writeln!(out, "  {tag}");
        }
    }
    let _ = writeln!(out, "topics");
    for t in &defs.rules.topics {
        match e.topics.get(&t.id) {
            Some(since) => {
                let _ = writeln!(out, "  {}: in it since {}", t.id, date(*since));
            }
            None => {
                let why = t.why_not(e, &defs.rules, now).unwrap_or_else(|| {
                    "would match now; it enters on the next poll or rule change".into()
                });
                let _ = writeln!(out, "  {}: not in it: {why}", t.id);
            }
        }
    }
    for (topic, since) in e
        .topics
        .iter()
        .filter(|(t, _)| defs.rules.topic(t).is_none())
    {
        let _ = writeln!(
            out,
            "  {topic}: in it since {} (topic no longer defined)",
            date(*since)
        );
    }
    out
}

/// What `preview` found.
pub struct Preview {
    pub text: String,
}

/// `preview --topic NAME [--feeds DIR]`: the topic under the definitions in
/// `dir` against the current store, compared with the live topic.
pub fn preview(settings: &Settings, topic: &str, dir: &Path) -> Result<Preview, Error> {
    let defs = config::load(dir)?;
    let t = defs
        .rules
        .topic(topic)
        .ok_or_else(|| Error::NotFound(format!("{}: no topic `{topic}`", dir.display())))?;
    let store = settings.open_store()?;
    let now = Utc::now();
    let mut would: Vec<Entry> = Vec::new();
    let mut live_ids = BTreeSet::new();
    for e in store.all_entries() {
        let mut e = e?;
        if e.topics.contains_key(topic) {
            live_ids.insert(e.id);
        }
        e.tags = defs.rules.tag(&e, now);
        if t.selects(&e) {
            would.push(e);
        }
    }
    // Newest first, where they would sit.
    let position = |e: &Entry| {
        e.topics
            .get(topic)
            .copied()
            .unwrap_or(e.listed.unwrap_or(e.published))
    };
    would.sort_by_key(|e| std::cmp::Reverse(position(e)));
    let would_ids: BTreeSet<_> = would.iter().map(|e| e.id).collect();
    let entering: Vec<&Entry> = would.iter().filter(|e| !live_ids.contains(&e.id)).collect();
    let leaving: Vec<Entry> = live_ids
        .difference(&would_ids)
        .filter_map(|id| store.get(id).ok().flatten())
        .collect();
    let line = |e: &Entry| {
        format!(
            "  {}  {}  {}",
            e.published.format("%Y-%m-%d"),
            truncate_words(&e.title, 70),
            e.link
        )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "topic {topic} ({}) under {}: {} entries (live: {})",
        t.title,
        dir.display(),
        would.len(),
        live_ids.len()
    );
    let _ = writeln!(out, "would enter ({}):", entering.len());
    for e in &entering {
        let _ = writeln!(out, "{}", line(e));
    }
    let _ = writeln!(out, "would leave ({}):", leaving.len());
    for e in &leaving {
        let _ = writeln!(out, "{}", line(e));
    }
    let _ = writeln!(
        out,
        "newest {} it would hold:",
        would.len().min(t.default_limit())
    );
    for e in would.iter().take(t.default_limit()) {
        let _ = writeln!(out, "{}", line(e));
    }
    Ok(Preview { text: out })
}
