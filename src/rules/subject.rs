//! What rules look at: an entry's fields as text ([`Field`]), computed once
//! per evaluation in a [`Subject`], with what the rule set's combined
//! matchers already found in them.

use chrono::{DateTime, Utc};

use crate::defs::Invalid;
use crate::model::Entry;
use crate::text::html_to_text;

/// Fields a text condition can look in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
    Content,
    Authors,
    Categories,
    Link,
    /// The organization a paper was published under (Hugging Face papers
    /// name one; other entries have none).
    Org,
    /// Who submitted the paper to Hugging Face Daily Papers.
    Submitter,
    /// The entry's keywords: a Hugging Face paper's `ai_keywords`, which
    /// are stored as its categories (so this reads the same text as
    /// `categories`, under the name people know from the upstream).
    Keywords,
}

impl Field {
    pub(super) fn parse(name: &str) -> Result<Field, Invalid> {
        Ok(match name {
            "title" => Field::Title,
            "summary" => Field::Summary,
            "content" => Field::Content,
            "authors" => Field::Authors,
            "categories" => Field::Categories,
            "link" => Field::Link,
            "org" => Field::Org,
            "submitter" => Field::Submitter,
            "keywords" => Field::Keywords,
            other => {
                return Err(format!(
                    "unknown field `{other}` (expected title, summary, content, authors, categories, link, org, submitter or keywords)"
                ).into())
            }
        })
    }

    pub(super) const ALL: [Field; 9] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Authors,
        Field::Categories,
        Field::Link,
        Field::Org,
        Field::Submitter,
        Field::Keywords,
    ];

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Authors => "authors",
            Field::Categories => "categories",
            Field::Link => "link",
            Field::Org => "org",
            Field::Submitter => "submitter",
            Field::Keywords => "keywords",
        }
    }
}

/// The text views of an entry that rules test, computed once per
/// evaluation (stripping HTML is the expensive part).
pub struct Subject<'a> {
    pub(super) entry: &'a Entry,
    summary: String,
    content: String,
    authors: String,
    categories: String,
    pub(super) host: String,
    /// When the rules run (date windows are relative to it).
    pub(super) now: DateTime<Utc>,
    /// Per field and text condition, what the [`RuleSet`](super::RuleSet)'s one-pass
    /// matchers found; `None` without them (every text condition is then
    /// checked with its own regex).
    pub(super) candidates: Option<Vec<Vec<Candidate>>>,
}

/// What the combined matchers know about one condition in one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Candidate {
    /// It cannot match.
    No,
    /// It may match: run its regex.
    Verify,
    /// It matches at this byte range of the field.
    At(usize, usize),
}

impl<'a> Subject<'a> {
    pub fn new(entry: &'a Entry, now: DateTime<Utc>) -> Self {
        Subject {
            entry,
            now,
            candidates: None,
            summary: html_to_text(&entry.summary),
            // The full article once fetched (`fulltext`), else the feed's.
            content: entry
                .full_content()
                .map(|c| html_to_text(c))
                .unwrap_or_default(),
            authors: entry.authors.join("\n"),
            categories: entry.categories.join("\n"),
            host: url::Url::parse(&entry.link)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                .unwrap_or_default(),
        }
    }

    /// Whether text condition `id` may match in field `f`.
    pub(super) fn candidate(&self, f: Field, id: usize) -> Candidate {
        match &self.candidates {
            Some(c) => c[f.index()].get(id).copied().unwrap_or(Candidate::Verify),
            None => Candidate::Verify,
        }
    }

    pub(super) fn field(&self, f: Field) -> &str {
        match f {
            Field::Title => &self.entry.title,
            Field::Summary => &self.summary,
            Field::Content => &self.content,
            Field::Authors => &self.authors,
            Field::Categories => &self.categories,
            Field::Link => &self.entry.link,
            Field::Org => self.entry.organization.as_deref().unwrap_or_default(),
            Field::Submitter => self.entry.submitter.as_deref().unwrap_or_default(),
            Field::Keywords => &self.categories,
        }
    }
}
