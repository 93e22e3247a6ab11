//! The one entry model every stage between the extractors and the renderers
//! speaks.
//!
//! [`RawEntry`] is what an extractor saw upstream, before identity, sanitizing
//! and dates are settled; [`Entry`] is what the store keeps and the renderers
//! publish.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One upstream item as an extractor found it. Every field is optional or
/// possibly empty: upstreams omit anything, and [`crate::normalize`] decides
/// what a missing field becomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The source's own id for the item (RSS `guid`, Atom `id`, JSON Feed `id`).
    pub guid: Option<String>,
    /// Title; may contain markup or entities, normalized later.
    pub title: Option<String>,
    /// The item's main link, already absolute.
    pub link: Option<String>,
    /// Other links found on the item (absolute), used to find global ids.
    pub other_links: Vec<String>,
    /// Short HTML (or plain text) summary, unsanitized.
    pub summary: Option<String>,
    /// Full HTML content, unsanitized.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// Numeric facts (upvotes, comments, stars...) that rules can test.
    pub metrics: BTreeMap<String, f64>,
    /// Related links worth showing a reader (arXiv, PDF, code, project page).
    pub related: Vec<Link>,
    /// A thumbnail or video to publish as an enclosure.
    pub media: Option<Media>,
    /// The organization behind the item (a lab, a company).
    pub organization: Option<String>,
    /// Who submitted it to the listing (not an author).
    pub submitter: Option<String>,
    /// A machine-written one-line summary, shown as a TL;DR.
    pub ai_summary: Option<String>,
    /// When the item reached the source's listing (Hugging Face: the day it
    /// made Daily Papers), which can be long after `published`. A new entry
    /// enters topics at this time rather than at `published`, so a listing of
    /// old papers does not land at the bottom of a feed.
    pub listed: Option<DateTime<Utc>>,
    /// Where readers discuss the item (a Hugging Face paper's community
    /// tab, a Hacker News thread), when not the item's own link.
    pub discussion: Option<String>,
}

/// A related link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// What it is, shown as the link text: `arXiv`, `PDF`, `GitHub`,
    /// `Project page`.
    pub label: String,
    pub href: String,
}

/// An enclosure: a thumbnail image or a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub url: String,
    /// MIME type, e.g. `image/png`, `video/mp4`.
    pub mime: String,
}

/// The stored identifier of an entry: 16 bytes derived from its canonical key
/// by a fixed-key hash (see [`crate::identity`]). Shown as a UUID (version 8,
/// RFC 9562) so it is a valid Atom id and RSS guid as `urn:uuid:…`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub [u8; 16]);

impl EntryId {
    /// `urn:uuid:xxxxxxxx-xxxx-8xxx-xxxx-xxxxxxxxxxxx`, the form feeds publish.
    pub fn urn(&self) -> String {
        format!("urn:uuid:{self}")
    }

    /// Parses the UUID form, with or without the `urn:uuid:` prefix.
    pub fn parse(s: &str) -> Option<EntryId> {
        let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(EntryId(out))
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({self})")
    }
}

impl Serialize for EntryId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EntryId::parse(&s).ok_or_else(|| serde::de::Error::custom("bad entry id"))
    }
}

/// Why a tag is on an entry: which rule matched, in which field, on what text.
///
/// The store keeps these in postcard, a binary form that relies on field
/// order (see `store::codec`): a new or reordered field needs a schema bump
/// and a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rule's path inside the tag, e.g. `any[0] words`.
    pub rule: String,
    /// The field that matched (`title`, `summary`, `source`...).
    pub field: String,
    /// The matched text, as it stands in the field.
    pub text: String,
}

/// An entry as stored and published. Ids, `key`, `published` and
/// `first_seen` never change once written; the rest is merged on each poll
/// (see [`crate::normalize::merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: EntryId,
    /// The canonical key the id was derived from (`arxiv:2602.23229`,
    /// `link:https://…`, `guid:source:…`, `hash:…`).
    pub key: String,
    /// Plain text, whitespace collapsed.
    pub title: String,
    /// Canonical absolute link; may be empty if no source gave one.
    pub link: String,
    /// Sanitized HTML summary.
    pub summary: String,
    /// Sanitized full HTML content, when a source had more than a summary.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// The source's date, else first-seen time; set once, never moves.
    pub published: DateTime<Utc>,
    /// Moves whenever the content (not the metrics) changes.
    pub updated: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    /// Ids of every source this entry arrived from, in arrival order.
    pub sources: Vec<String>,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub related: Vec<Link>,
    #[serde(default)]
    pub media: Option<Media>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub submitter: Option<String>,
    #[serde(default)]
    pub ai_summary: Option<String>,
    /// See [`RawEntry::listed`].
    #[serde(default)]
    pub listed: Option<DateTime<Utc>>,
    /// The main article of the page the entry links to, fetched and
    /// extracted once ([`crate::fulltext`]), sanitized. Kept apart from
    /// `content` so a later poll of the source never overwrites it, and
    /// outside [`Entry::same_content`]: gaining it moves no date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// See [`RawEntry::discussion`]; canonical and absolute. Like the
    /// metrics, outside [`Entry::same_content`]: gaining one moves no date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discussion: Option<String>,
    /// Tag id → the rules that put it there.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<RuleHit>>,
    /// Topic id → when the entry entered that topic (its position in the
    /// topic's feed).
    #[serde(default)]
    pub topics: BTreeMap<String, DateTime<Utc>>,
}

impl Entry {
    /// Upstream categories then matched tags, without case-insensitive
    /// repeats: what feeds publish as categories.
    pub fn all_categories(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in self.categories.iter().chain(self.tags.keys()) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(c)) {
                out.push(c);
            }
        }
        out
    }

    /// The full content feeds publish: the fetched article, else the
    /// source's own content.
    pub fn full_content(&self) -> Option<&String> {
        self.article.as_ref().or(self.content.as_ref())
    }

    /// Everything a reader can see changed, metrics aside: the test for
    /// whether `updated` moves.
    pub fn same_content(&self, other: &Entry) -> bool {
        self.title == other.title
            && self.link == other.link
            && self.summary == other.summary
            && self.content == other.content
            && self.authors == other.authors
            && self.categories == other.categories
            && self.related == other.related
            && self.media == other.media
            && self.organization == other.organization
            && self.ai_summary == other.ai_summary
    }
}
