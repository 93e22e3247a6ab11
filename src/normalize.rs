//! From what an extractor saw to what the store keeps: links made absolute
//! and canonical, HTML sanitized, titles made plain, dates settled, identity
//! assigned ([`normalize`]); and how a re-polled or second-source copy of an
//! entry merges into the stored one ([`merge`]).

use chrono::{DateTime, Duration, Utc};
use url::Url;

use crate::identity::{canonical_key, canonical_link, entry_id};
use crate::model::{Entry, Link, Media, RawEntry};
use crate::sanitize::sanitize_html;
use crate::text::{collapse_ws, html_to_text, truncate_words};

/// Longest title made up from a summary when an item has none.
const MAX_DERIVED_TITLE: usize = 100;

/// How far in the future a source date may be before it is taken as wrong
/// (a clock or timezone mistake upstream) and clamped to now; otherwise the
/// entry would sit at the top of every feed until that date.
const FUTURE_TOLERANCE_HOURS: i64 = 24;

/// Why an upstream item was not turned into an entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// Neither a title, a link nor any text: nothing a reader could use.
    Empty,
}

/// Normalizes one extracted item from `source_id`, fetched from `base`.
pub fn normalize(
    raw: RawEntry,
    source_id: &str,
    base: &Url,
    now: DateTime<Utc>,
) -> Result<Entry, Skip> {
    let resolve = |s: &str| -> Option<String> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        base.join(s).ok().and_then(|u| canonical_link(u.as_str()))
    };
    let link = raw.link.as_deref().and_then(resolve);
    let other_links: Vec<String> = raw.other_links.iter().filter_map(|l| resolve(l)).collect();

    let summary_src = raw
        .summary
        .as_deref()
        .or(raw.content.as_deref())
        .unwrap_or("");
    let summary = sanitize_html(summary_src, Some(base));
    let content = match (&raw.summary, &raw.content) {
        (Some(_), Some(c)) => {
            Some(sanitize_html(c, Some(base))).filter(|c| !c.is_empty() && *c != summary)
        }
        _ => None,
    };
    let summary_text = html_to_text(&summary);

    let mut title = raw.title.as_deref().map(html_to_text).unwrap_or_default();
    if title.is_empty() {
        title = truncate_words(&summary_text, MAX_DERIVED_TITLE);
    }
    if title.is_empty() && link.is_none() {
        return Err(Skip::Empty);
    }
    if title.is_empty() {
        title = link.clone().unwrap_or_default();
    }

    let key = canonical_key(
        source_id,
        raw.guid.as_deref(),
        link.as_deref(),
        &other_links,
        &title,
        &summary_text,
    );
    let latest_sane = now + Duration::hours(FUTURE_TOLERANCE_HOURS);
    let sane = |d: DateTime<Utc>| if d > latest_sane { now } else { d };
    let published = raw.published.or(raw.updated).map(sane).unwrap_or(now);
    let updated = raw.updated.map(sane).unwrap_or(published).max(published);

    Ok(Entry {
        id: entry_id(&key),
        key,
        title,
        link: link.unwrap_or_default(),
        summary,
        content,
        authors: dedup(raw.authors.iter().map(|a| collapse_ws(&html_to_text(a)))),
        categories: dedup(raw.categories.iter().map(|c| collapse_ws(c))),
        published,
        updated,
        first_seen: now,
        sources: vec![source_id.to_string()],
        metrics: raw.metrics,
        related: raw
            .related
            .into_iter()
            .filter_map(|l| {
                let href = resolve(&l.href)?;
                Some(Link {
                    label: collapse_ws(&l.label),
                    href,
                })
            })
            .collect(),
        media: raw.media.and_then(|m| {
            Some(Media {
                url: resolve(&m.url)?,
                mime: m.mime,
            })
        }),
        organization: clean_text(raw.organization),
        submitter: clean_text(raw.submitter),
        ai_summary: clean_text(raw.ai_summary),
        listed: raw.listed.map(sane),
        tags: Default::default(),
        topics: Default::default(),
    })
}

fn clean_text(text: Option<String>) -> Option<String> {
    text.map(|t| collapse_ws(&t)).filter(|t| !t.is_empty())
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    out
}

/// Merges a freshly normalized copy into the stored entry.
///
/// - id, key, `published` and `first_seen` never change;
/// - when every copy so far came from this same source, its latest text wins
///   (the upstream edited its item); when several sources carry the entry,
///   the richer (longer) text wins, so a terse listing never overwrites a
///   full abstract;
/// - metrics take the latest values; sources, authors, categories and
///   related links are unioned; tags and topics are left to
///   [`crate::rules`];
/// - `updated` moves (to the upstream's newer date, else to `now`) only when
///   something a reader sees changed, not when only metrics did.
pub fn merge(old: &Entry, new: Entry, source_id: &str, now: DateTime<Utc>) -> Entry {
    let own = old.sources.iter().all(|s| s == source_id);
    let mut m = old.clone();
    let pick = |cur: &mut String, new: String| {
        if !new.is_empty() && (own || new.len() > cur.len()) {
            *cur = new;
        }
    };
    pick(&mut m.title, new.title);
    pick(&mut m.link, new.link);
    pick(&mut m.summary, new.summary);
    match (new.content, own) {
        (Some(c), true) => m.content = Some(c),
        (Some(c), false) if c.len() > m.content.as_ref().map_or(0, String::len) => {
            m.content = Some(c)
        }
        _ => {}
    }
    if own {
        m.authors = new.authors;
        m.categories = new.categories;
    } else {
        m.authors = dedup(m.authors.into_iter().chain(new.authors));
        m.categories = dedup(m.categories.into_iter().chain(new.categories));
    }
    for link in new.related {
        match m.related.iter_mut().find(|l| l.href == link.href) {
            Some(existing) if own => *existing = link,
            Some(_) => {}
            None => m.related.push(link),
        }
    }
    let pick_opt = |cur: &mut Option<String>, new: Option<String>| {
        if new.is_some() && (own || cur.is_none()) {
            *cur = new;
        }
    };
    pick_opt(&mut m.organization, new.organization);
    pick_opt(&mut m.submitter, new.submitter);
    pick_opt(&mut m.ai_summary, new.ai_summary);
    if new.media.is_some() && (own || m.media.is_none()) {
        m.media = new.media;
    }
    // The first listing time is kept, like `published`.
    m.listed = m.listed.or(new.listed);
    if !m.sources.iter().any(|s| s == source_id) {
        m.sources.push(source_id.to_string());
    }
    m.metrics.extend(new.metrics);
    if !m.same_content(old) {
        m.updated = if new.updated > old.updated {
            new.updated
        } else {
            now
        };
        m.updated = m.updated.max(old.updated);
    }
    m
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry_with_title(title: &str) -> Entry {
        let raw = RawEntry {
            title: Some(title.into()),
            link: Some("https://example.org/x".into()),
            ..Default::default()
        };
        normalize(
            raw,
            "s",
            &Url::parse("https://example.org/").unwrap(),
            Utc::now(),
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-01-10T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn relative_links_and_fallback_titles() {
        let base = Url::parse("https://example.org/news/").unwrap();
        let raw = RawEntry {
            link: Some("item-1?utm_source=rss#top".into()),
            summary: Some("<p>A <b>long</b> story</p><script>x()</script>".into()),
            ..Default::default()
        };
        let e = normalize(raw, "s", &base, now()).unwrap();
        assert_eq!(e.link, "https://example.org/news/item-1");
        assert_eq!(e.title, "A long story");
        assert!(!e.summary.contains("script"));
        assert_eq!(e.published, now(), "no date: first seen");
        assert_eq!(e.key, "link:https://example.org/news/item-1");
    }

    #[test]
    fn items_with_nothing_are_skipped() {
        let base = Url::parse("https://example.org/").unwrap();
        assert_eq!(
            normalize(RawEntry::default(), "s", &base, now()),
            Err(Skip::Empty)
        );
    }

    #[test]
    fn future_dates_are_clamped() {
        let base = Url::parse("https://example.org/").unwrap();
        let raw = RawEntry {
            title: Some("t".into()),
            published: Some("2030-01-01T00:00:00Z".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(normalize(raw, "s", &base, now()).unwrap().published, now());
    }

    #[test]
    fn merge_keeps_identity_and_moves_updated_on_change() {
        let mut old = entry_with_title("Old title");
        old.published = "2026-01-01T00:00:00Z".parse().unwrap();
        old.updated = old.published;
        let mut new = old.clone();
        new.title = "New title".into();
        new.published = now();
        new.metrics.insert("upvotes".into(), 5.0);
        let m = merge(&old, new, "s", now());
        assert_eq!(m.id, old.id);
        assert_eq!(m.published, old.published);
        assert_eq!(m.title, "New title");
        assert_eq!(m.updated, now());
        assert_eq!(m.metrics.get("upvotes"), Some(&5.0));

        // Metrics alone do not move `updated`.
        let mut again = m.clone();
        again.metrics.insert("upvotes".into(), 9.0);
        let later = now() + Duration::hours(1);
        let m2 = merge(&m, again, "s", later);
        assert_eq!(m2.updated, m.updated);
        assert_eq!(m2.metrics.get("upvotes"), Some(&9.0));
    }

    #[test]
    fn a_second_source_only_enriches() {
        let mut old = entry_with_title("Title");
        old.summary = "<p>A full abstract with many words.</p>".into();
        let mut other = old.clone();
        other.summary = "<p>Short.</p>".into();
        other.categories = vec!["cs.CL".into()];
        let m = merge(&old, other, "arxiv", now());
        assert_eq!(m.summary, old.summary);
        assert_eq!(m.sources, vec!["s".to_string(), "arxiv".to_string()]);
        assert_eq!(m.categories, vec!["cs.CL".to_string()]);
    }
}
