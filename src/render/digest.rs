//! `/{topic}.digest.{rss,atom,json}`: the topic's closed periods as items
//! ([`crate::digest`] makes each item), rendered by the usual writers.

use chrono::{DateTime, Utc};
use url::Url;

use super::{render_feed, topic_max_age, FeedContext, Format, Rendered, MAX_READ};
use crate::config::Definitions;
use crate::digest::{Line, Tally};
use crate::model::Entry;
use crate::rules::FeedOf;
use crate::store::{Store, StoreError};

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
    let oldest = spans.last().map_or(closed, |s| s.start);
    // The entries that entered the topic in the periods shown, by their
    // cards: the topic index is in that order, so the walk stops at the
    // oldest period, and only an entry that may rank among a period's
    // best is decoded (see [`Tally`]).
    let mut tallies: Vec<Tally> = spans.iter().map(|_| Tally::default()).collect();
    let mut reached = None;
    let cut = store.walk_topic(topic, oldest, closed, MAX_READ, &mut |id, walked, card| {
        reached = Some(walked.entered);
        let Some(i) = spans
            .iter()
            .position(|s| s.start <= walked.entered && walked.entered < s.end)
        else {
            return Ok(());
        };
        let tally = &mut tallies[i];
        tally.count(walked.first_seen);
        let up = card.map(|c| crate::digest::upvotes(c.facets.metric("upvotes")));
        if up.is_some_and(|u| !tally.wants(u, digest.size)) {
            return Ok(());
        }
        if let Some(e) = store.get(id)? {
            tally.offer(Line::of(&e), digest.size);
        }
        Ok(())
    })?;
    // A walk cut at the read budget read every entry newer than the
    // oldest it reached, but maybe not all of that one's period: older
    // periods are left out rather than shown short.
    let complete_after = reached.filter(|_| cut);
    let more = format!("{base}{topic}.html");
    let items: Vec<Entry> = spans
        .iter()
        .zip(&tallies)
        .filter(|(s, _)| complete_after.is_none_or(|c| s.start > c))
        .filter_map(|(s, tally)| digest.item(topic, &t.title, s, tally, &more))
        .collect();
    let mut shown = t.clone();
    shown.title = format!("{} ({} digest)", t.title, digest.period.name());
    shown.description = format!(
        "{}: one item per {}, listing what entered the topic, most upvoted first.",
        t.title,
        digest.period.unit()
    );
    let of = FeedOf::Topic(topic.to_string());
    let ctx = FeedContext {
        of: &of,
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
