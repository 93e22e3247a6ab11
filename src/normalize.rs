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

/// What one entry may hold. An upstream decides how much it sends; these
/// keep one item from filling memory, the store or every rendered feed
/// (a feed holds up to 500 entries). Beyond them a field is cut, visibly
/// where a reader sees it, and the source is not failed.
pub mod caps {
    /// Characters of a title (cut on a word, with an ellipsis).
    pub const MAX_TITLE_CHARS: usize = 1_000;
    /// Bytes of summary HTML before sanitizing (a note marks the cut).
    pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
    /// Bytes of full-content HTML before sanitizing (a note marks the cut).
    pub const MAX_CONTENT_BYTES: usize = 128 * 1024;
    /// Authors kept; the last one kept says how many more there were.
    pub const MAX_AUTHORS: usize = 100;
    /// Upstream categories kept (tags are added on top).
    pub const MAX_CATEGORIES: usize = 50;
    /// Characters of one author or category name, and of the organization,
    /// submitter and AI summary.
    pub const MAX_NAME_CHARS: usize = 500;
    /// Related links and extra links (for identity) read from one item.
    pub const MAX_LINKS: usize = 50;
    /// Bytes of one link or guid; a longer one is dropped.
    pub const MAX_URL_BYTES: usize = 8 * 1024;
}

/// Why an upstream item was not turned into an entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// Neither a title, a link nor any text: nothing a reader could use.
    Empty,
}

/// Normalizes one extracted item from `source_id`, fetched from `base`.
pub fn normalize(
    mut raw: RawEntry,
    source_id: &str,
    base: &Url,
    now: DateTime<Utc>,
) -> Result<Entry, Skip> {
    xml_chars_only(&mut raw);
    let resolve = |s: &str| -> Option<String> {
        let s = s.trim();
        if s.is_empty() || s.len() > caps::MAX_URL_BYTES {
            return None;
        }
        base.join(s).ok().and_then(|u| canonical_link(u.as_str()))
    };
    let link = raw.link.as_deref().and_then(resolve);
    let other_links: Vec<String> = raw
        .other_links
        .iter()
        .take(caps::MAX_LINKS)
        .filter_map(|l| resolve(l))
        .collect();

    let summary_src = raw
        .summary
        .as_deref()
        .or(raw.content.as_deref())
        .unwrap_or("");
    let mut summary = sanitize_capped(summary_src, caps::MAX_SUMMARY_BYTES, base);
    // Sanitizing decodes references: `&amp;#1;` in a description is `&#1;`
    // in its HTML, U+0001 after.
    clean(&mut summary);
    let content = match (&raw.summary, &raw.content) {
        (Some(_), Some(c)) => Some(sanitize_capped(c, caps::MAX_CONTENT_BYTES, base))
            .map(|mut c| {
                clean(&mut c);
                c
            })
            .filter(|c| !c.is_empty() && *c != summary),
        _ => None,
    };
    let summary_text = html_to_text(&summary);

    let mut title = raw
        .title
        .as_deref()
        .map(|t| truncate_words(&html_to_text(t), caps::MAX_TITLE_CHARS))
        .unwrap_or_default();
    if title.is_empty() {
        title = truncate_words(&summary_text, MAX_DERIVED_TITLE);
    }
    clean(&mut title);
    if title.is_empty() && link.is_none() {
        return Err(Skip::Empty);
    }
    if title.is_empty() {
        title = link.clone().unwrap_or_default();
    }

    let key = canonical_key(
        source_id,
        raw.guid
            .as_deref()
            .filter(|g| g.len() <= caps::MAX_URL_BYTES),
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
        authors: cap_authors(dedup(
            raw.authors.iter().map(|a| name(&html_to_text(a))).collect(),
        )),
        categories: dedup(raw.categories.iter().map(|c| name(c)).collect())
            .into_iter()
            .take(caps::MAX_CATEGORIES)
            .collect(),
        published,
        updated,
        first_seen: now,
        sources: vec![source_id.to_string()],
        metrics: raw.metrics,
        related: raw
            .related
            .into_iter()
            .take(caps::MAX_LINKS)
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
        article: None,
        // Absolute, http(s), but with its fragment: a discussion is often
        // a part of a page (`#community`).
        discussion: raw
            .discussion
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty() && d.len() <= caps::MAX_URL_BYTES)
            .and_then(|d| base.join(d).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(String::from),
        tags: Default::default(),
        topics: Default::default(),
    })
}

fn clean_text(text: Option<String>) -> Option<String> {
    text.map(|t| name(&t)).filter(|t| !t.is_empty())
}

/// A short plain-text field: whitespace collapsed, at most
/// [`caps::MAX_NAME_CHARS`].
fn name(text: &str) -> String {
    truncate_words(&collapse_ws(text), caps::MAX_NAME_CHARS)
}

/// Removes from `s` the characters XML 1.0 forbids (see
/// [`xml_chars_only`]).
fn clean(s: &mut String) {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    // The usual case costs one scan and no allocation.
    if s.bytes().any(|b| b < 0x20 || b == 0xEF) && s.chars().any(bad) {
        s.retain(|c| !bad(c));
    }
}

/// Removes, from every text an entry carries, the characters XML 1.0
/// forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF). Whatever
/// the format let through (a base64 Atom content decoding to `\0`, a JSON
/// string's `\u0001`, a character reference), a feed served with one is
/// not XML and readers refuse it whole: lenient in, strict out.
fn xml_chars_only(raw: &mut RawEntry) {
    let RawEntry {
        guid,
        title,
        link,
        other_links,
        summary,
        content,
        authors,
        categories,
        related,
        media,
        organization,
        submitter,
        ai_summary,
        discussion,
        ..
    } = raw;
    for s in [
        guid,
        title,
        link,
        summary,
        content,
        organization,
        submitter,
        ai_summary,
        discussion,
    ]
    .into_iter()
    .flatten()
    {
        clean(s);
    }
    for s in other_links.iter_mut().chain(authors).chain(categories) {
        clean(s);
    }
    for l in related {
        clean(&mut l.label);
        clean(&mut l.href);
    }
    if let Some(m) = media {
        clean(&mut m.url);
        clean(&mut m.mime);
    }
}

/// Sanitized HTML from at most `max` bytes of `html`; a cut one ends with
/// a note saying so (the sanitizer closes whatever the cut left open).
pub(crate) fn sanitize_capped(html: &str, max: usize, base: &Url) -> String {
    if html.len() <= max {
        return sanitize_html(html, Some(base));
    }
    let mut cut = max;
    while !html.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = sanitize_html(&html[..cut], Some(base));
    out.push_str("<p><em>[cut: the original was longer]</em></p>");
    out
}

/// The first [`caps::MAX_AUTHORS`] authors; the last kept one says how many
/// more there were.
fn cap_authors(mut authors: Vec<String>) -> Vec<String> {
    if authors.len() > caps::MAX_AUTHORS {
        let more = authors.len() - (caps::MAX_AUTHORS - 1);
        authors.truncate(caps::MAX_AUTHORS - 1);
        authors.push(format!("and {more} more"));
    }
    authors
}

/// Drops empty items and case-insensitive repeats (ASCII case, as readers
/// compare names), keeping the first spelling. Linear: a hashed set of
/// folded names, not a comparison of every pair (100,000 `dc:creator`
/// names took 10 s that way).
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|item| !item.is_empty() && seen.insert(item.to_ascii_lowercase()))
        .collect()
}

/// The source that owns `entry`'s text: of the sources it came from, the
/// one with the highest priority, the earliest on a tie (so by default the
/// source that created it).
pub fn owner<'a>(entry: &'a Entry, priority: &dyn Fn(&str) -> i32) -> Option<&'a str> {
    let mut best: Option<(&str, i32)> = None;
    for s in &entry.sources {
        let p = priority(s);
        if best.is_none_or(|(_, b)| p > b) {
            best = Some((s, p));
        }
    }
    best.map(|(s, _)| s)
}

/// Merges a freshly normalized copy from `source_id` into the stored entry.
///
/// SECURITY: a source owns the entries it created. Any feed can claim any
/// entry's key (by linking an arXiv paper, or with a URL-shaped guid), so
/// letting the longer text win let one feed replace another's title, link
/// and abstract. Now:
/// - id, key, `published` and `first_seen` never change;
/// - the owner (see [`owner`]; `priority` gives each source's configured
///   priority) updates the text, links, authors and categories: its latest
///   copy wins. A source with a higher priority than the owner takes the
///   entry over;
/// - any other source adds itself to `sources` and fills only fields the
///   entry lacks (an empty summary, no authors, no enclosure...);
/// - metrics take the latest values from any source (only Hugging Face
///   listings carry them); tags and topics are left to [`crate::rules`];
/// - `updated` moves (to the upstream's newer date, else to `now`) only when
///   something a reader sees changed, not when only metrics did.
pub fn merge(
    old: &Entry,
    new: Entry,
    source_id: &str,
    priority: &dyn Fn(&str) -> i32,
    now: DateTime<Utc>,
) -> Entry {
    let own = match owner(old, priority) {
        None => true,
        Some(o) => o == source_id || priority(source_id) > priority(o),
    };
    let mut m = old.clone();
    let pick = |cur: &mut String, new: String| {
        if !new.is_empty() && (own || cur.is_empty()) {
            *cur = new;
        }
    };
    pick(&mut m.title, new.title);
    pick(&mut m.link, new.link);
    pick(&mut m.summary, new.summary);
    let pick_list = |cur: &mut Vec<String>, new: Vec<String>| {
        if own || cur.is_empty() {
            *cur = new;
        }
    };
    pick_list(&mut m.authors, new.authors);
    pick_list(&mut m.categories, new.categories);
    if own || m.related.is_empty() {
        m.related = new.related;
    }
    let pick_opt = |cur: &mut Option<String>, new: Option<String>| {
        if new.is_some() && (own || cur.is_none()) {
            *cur = new;
        }
    };
    pick_opt(&mut m.content, new.content);
    pick_opt(&mut m.discussion, new.discussion);
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
    fn characters_xml_forbids_never_reach_an_entry() {
        let base = Url::parse("https://example.org/").unwrap();
        let raw = RawEntry {
            title: Some("a\u{1}b\u{fffe}c\td".into()),
            summary: Some("<p>x\u{0}y</p>".into()),
            authors: vec!["Jo\u{1f}".into()],
            ..Default::default()
        };
        let e = normalize(raw, "s", &base, now()).unwrap();
        assert_eq!(e.title, "abc d");
        assert_eq!(e.summary, "<p>xy</p>");
        assert_eq!(e.authors, ["Jo"]);
        // References decoded by the sanitizer and the text reader too.
        let raw = RawEntry {
            title: Some("a&amp;#1;b &#2;c".into()),
            summary: Some("<p>x&#1;y</p>".into()),
            ..Default::default()
        };
        let e = normalize(raw, "s", &base, now()).unwrap();
        assert!(!e.title.chars().any(|c| c.is_control()), "{:?}", e.title);
        assert!(
            !e.summary.chars().any(|c| c.is_control()),
            "{:?}",
            e.summary
        );
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
        let m = merge(&old, new, "s", &|_| 0, now());
        assert_eq!(m.id, old.id);
        assert_eq!(m.published, old.published);
        assert_eq!(m.title, "New title");
        assert_eq!(m.updated, now());
        assert_eq!(m.metrics.get("upvotes"), Some(&5.0));

        // Metrics alone do not move `updated`.
        let mut again = m.clone();
        again.metrics.insert("upvotes".into(), 9.0);
        let later = now() + Duration::hours(1);
        let m2 = merge(&m, again, "s", &|_| 0, later);
        assert_eq!(m2.updated, m.updated);
        assert_eq!(m2.metrics.get("upvotes"), Some(&9.0));
    }

    #[test]
    fn a_second_source_only_fills_what_is_missing() {
        let mut old = entry_with_title("Title");
        old.summary = "<p>A full abstract with many words.</p>".into();
        let mut other = old.clone();
        other.title = "Phishing title".into();
        other.link = "https://evil.example/login".into();
        other.summary = "<p>A much longer abstract that tries to take the entry over.</p>".into();
        other.categories = vec!["cs.CL".into()];
        let m = merge(&old, other.clone(), "arxiv", &|_| 0, now());
        assert_eq!(m.title, old.title);
        assert_eq!(m.link, old.link);
        assert_eq!(m.summary, old.summary);
        assert_eq!(m.sources, vec!["s".to_string(), "arxiv".to_string()]);
        assert_eq!(m.categories, vec!["cs.CL".to_string()], "missing: filled");
        assert_eq!(m.updated, old.updated, "nothing the owner said changed");

        // The owner still updates its own text after another source came.
        let mut edited = old.clone();
        edited.title = "Edited title".into();
        assert_eq!(merge(&m, edited, "s", &|_| 0, now()).title, "Edited title");

        // A source with a higher priority takes the entry over.
        let prio = |s: &str| if s == "arxiv" { 10 } else { 0 };
        let m = merge(&old, other, "arxiv", &prio, now());
        assert_eq!(m.title, "Phishing title");
        assert_eq!(owner(&m, &prio), Some("arxiv"));
    }
}
