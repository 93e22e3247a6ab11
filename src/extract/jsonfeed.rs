//! JSON Feed 1.0 / 1.1 (<https://www.jsonfeed.org/version/1.1/>).

use serde::Deserialize;

use super::cap::{Capped, CappedList};
use super::ExtractError;
use crate::dates::parse_date;
use crate::model::RawEntry;
use crate::sanitize::escape_text;

/// The longest feed title kept (it names a source in `add`, not a page).
pub(crate) const FEED_TITLE_MAX: usize = 200;

#[derive(Deserialize)]
struct Feed {
    version: String,
    /// Read as leniently as an item id (it only names the source).
    #[serde(default)]
    title: Option<Id>,
    /// At most [`super::cap::MAX_ITEMS`] built.
    #[serde(default)]
    items: Capped<Item>,
}

#[derive(Deserialize)]
struct Item {
    /// A string, or a number (the spec says string; some send numbers);
    /// anything else is read past without being built.
    id: Option<Id>,
    url: Option<String>,
    external_url: Option<String>,
    title: Option<String>,
    content_html: Option<String>,
    content_text: Option<String>,
    summary: Option<String>,
    date_published: Option<String>,
    date_modified: Option<String>,
    /// JSON Feed 1.1.
    #[serde(default)]
    authors: CappedList<Author>,
    /// JSON Feed 1.0, deprecated by 1.1 but still common.
    author: Option<Author>,
    #[serde(default)]
    tags: CappedList<String>,
}

/// An item's id as text; `None` for a value of another type.
struct Id(Option<String>);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id")
            }
            fn visit_str<E>(self, v: &str) -> Result<Id, E> {
                Ok(Id(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
                Ok(Id(Some(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
                Ok(Id(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Id, E> {
                Ok(Id(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Id, E> {
                Ok(Id(None))
            }
            fn visit_unit<E>(self) -> Result<Id, E> {
                Ok(Id(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Id, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Id(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Id, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Id(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Author {
    name: Option<String>,
}

/// The entries, and whether items past [`super::cap::MAX_ITEMS`] were
/// left out.
pub fn extract(body: &[u8]) -> Result<super::Extracted, ExtractError> {
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(body);
    crate::depth::check_json(body, "JSON Feed")?;
    let feed: Feed = serde_json::from_slice(body).map_err(|e| ExtractError::Malformed {
        format: "JSON Feed",
        message: e.to_string(),
    })?;
    if !feed.version.starts_with("https://jsonfeed.org/version/") {
        return Err(ExtractError::NotAFeed(format!(
            "JSON document with version `{}`, not a JSON Feed",
            feed.version
        )));
    }
    Ok(super::Extracted {
        capped: feed.items.more,
        title: feed
            .title
            .and_then(|t| t.0)
            .map(|t| crate::text::clean_title(&t, FEED_TITLE_MAX))
            .filter(|t| !t.is_empty()),
        entries: feed.items.items.into_iter().map(from_item).collect(),
        ..Default::default()
    })
}

fn from_item(item: Item) -> RawEntry {
    let guid = item.id.and_then(|id| id.0);
    let content = item
        .content_html
        .or(item.content_text.map(|t| escape_text(&t)));
    RawEntry {
        guid,
        title: item.title.map(|t| escape_text(&t)),
        link: item.url.clone().or(item.external_url.clone()),
        other_links: item.external_url.into_iter().collect(),
        summary: item.summary.map(|s| escape_text(&s)),
        content,
        authors: item
            .authors
            .items
            .into_iter()
            .chain(item.author)
            .filter_map(|a| a.name)
            .collect(),
        categories: item.tags.items,
        published: item
            .date_published
            .as_deref()
            .and_then(|d| parse_date(d, None)),
        updated: item
            .date_modified
            .as_deref()
            .and_then(|d| parse_date(d, None)),
        ..Default::default()
    }
}
