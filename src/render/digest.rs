//! `/{topic}.digest.{rss,atom,json}`: the topic's closed periods as items
//! ([`crate::digest`] makes each item), rendered by the usual writers.

use chrono::{DateTime, Utc};
use url::Url;

use super::{render_feed, topic_max_age, FeedContext, Format, Rendered, MAX_READ};
use crate::config::Definitions;
use crate::model::Entry;
use crate::store::{Scope, Store, StoreError, Tests};

/// The digest feed of `topic` as of `closed` (the end of its newest closed
/// period); `None` when the topic has no digest.
pub(super) fn render(
    store: &Store,
    defs: &Definitions,
    base: &Url,
    topic: &str,
    format: Format,
    closed: DateTime<Utc>,
) -> Result<Option<Rendered>, StoreError> {
    let Some(t) = defs.rules.topic(topic) else {
        return Ok(None);
    };
    let Some(digest) = &t.digest else {
        return Ok(None);
    };
    let spans = digest.spans(closed);
    // The entries that entered the topic in the periods shown: the topic
    // index is in that order, so the walk stops at the oldest period, and
    // entries of the open period are passed over on their head.
    let head = |_: &[&str], at: DateTime<Utc>| at < closed;
    let tests = Tests {
        oldest: spans.last().map(|s| s.start),
        head: &head,
        facets: &|_| true,
        body: &|_: &Entry| true,
        max_read: MAX_READ,
    };
    let found = store.select(Scope::Topic(topic), MAX_READ, &tests)?;
    let entered = |e: &Entry| e.topics.get(topic).copied();
    // A walk cut at the decode budget read every entry newer than the
    // oldest it reached, but maybe not all of that one's period: older
    // periods are left out rather than shown short.
    let complete_after = match found.cut {
        true => found.entries.iter().filter_map(entered).min(),
        false => None,
    };
    let more = format!("{base}{topic}.html");
    let items: Vec<Entry> = spans
        .iter()
        .filter(|s| complete_after.is_none_or(|c| s.start > c))
        .filter_map(|s| {
            let inside = found
                .entries
                .iter()
                .filter(|e| entered(e).is_some_and(|at| s.start <= at && at < s.end))
                .collect();
            digest.item(topic, &t.title, s, inside, &more)
        })
        .collect();
    let mut shown = t.clone();
    shown.title = format!("{} ({} digest)", t.title, digest.period.name());
    shown.description = format!(
        "{}: one item per {}, listing what entered the topic, most upvoted first.",
        t.title,
        digest.period.unit()
    );
    let ctx = FeedContext {
        topic: &shown,
        base_url: base,
        updated: items.iter().map(|i| i.updated).max().unwrap_or(closed),
        max_age: topic_max_age(defs, t),
        hub: None,
        query: None,
        digest: true,
    };
    Ok(Some(render_feed(format, &ctx, &items)))
}
