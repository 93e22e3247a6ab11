//! JSON APIs, read with the JSON Pointers (RFC 6901) of a source's
//! `[source.select]`: `items` points at the array of items from the
//! document root, every other field inside one item. The same reading
//! applies to JSON embedded in an HTML page (`select.embedded`), so a
//! JavaScript app's hydration data needs no DOM walk.
//!
//! Bad input: a body that is not JSON (truncated, wrong charset) is
//! `Malformed`; a document without an array at `items` names the pointer;
//! a field whose value has the wrong type is a missing field (an item
//! without a title is skipped, like an HTML card of another kind). The
//! body is bounded by the source's `max_body` and its nesting by
//! [`crate::depth`] before it is parsed.

pub mod paging;
pub mod prune;
pub mod value;

use scraper::Selector;
use serde_json::Value;

use super::ExtractError;
use crate::defs::{Invalid, Selectors, SourceDef};
use crate::model::{Media, RawEntry};
use paging::Paging;

/// JSON Pointer checks.
pub(crate) mod pointer {
    use crate::defs::Invalid;

    /// A pointer is `""` (the whole value) or starts with `/`; `~` only
    /// escapes `~0` and `~1`.
    pub fn check(field: &str, p: &str) -> Result<String, Invalid> {
        let ok_escapes = p
            .split('~')
            .skip(1)
            .all(|rest| rest.starts_with('0') || rest.starts_with('1'));
        if !(p.is_empty() || p.starts_with('/')) || !ok_escapes {
            return Err(format!(
                "{field}: `{p}` is not a JSON Pointer: write `/key/0/name` (RFC 6901; `~1` for a `/` in a key), or `\"\"` for the whole value"
            )
            .into());
        }
        Ok(p.to_string())
    }
}

/// One field: pointers tried in order until one yields a value.
#[derive(Debug, Clone)]
struct Field(Vec<String>);

impl Field {
    fn compile(field: &str, specs: &Selectors) -> Result<Field, Invalid> {
        let pointers: Vec<String> = specs
            .as_slice()
            .iter()
            .map(|p| pointer::check(&format!("select.{field}"), p.trim()))
            .collect::<Result<_, _>>()?;
        if pointers.is_empty() {
            return Err(format!("select.{field}: empty list of pointers").into());
        }
        Ok(Field(pointers))
    }

    fn opt(field: &str, specs: &Option<Selectors>) -> Result<Option<Field>, Invalid> {
        specs.as_ref().map(|s| Field::compile(field, s)).transpose()
    }

    /// The first alternative that `read` makes something of.
    fn first<T>(&self, item: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<T> {
        self.0.iter().find_map(|p| item.pointer(p).and_then(&read))
    }
}

/// Where the JSON is in an HTML page.
#[derive(Debug, Clone)]
struct Embedded {
    selector: Selector,
    /// An attribute holding the JSON; `None` reads the element's text.
    attr: Option<String>,
    /// As written, for messages.
    spec: String,
}

/// A compiled `json` source.
#[derive(Debug, Clone)]
pub struct JsonSpec {
    items: String,
    /// What of a document is built: what the pointers reach.
    keep: prune::Keep,
    embedded: Option<Embedded>,
    title: Field,
    link: Option<Field>,
    id: Option<Field>,
    summary: Option<Field>,
    content: Option<Field>,
    date: Option<Field>,
    date_format: Option<String>,
    authors: Option<Field>,
    categories: Option<Field>,
    image: Option<Field>,
    comments: Option<Field>,
    metrics: Vec<(String, Field)>,
    /// `link_template` split at `{id}`.
    link_template: Option<(String, String)>,
    /// `comments_template` split at `{id}`.
    comments_template: Option<(String, String)>,
    pub paging: Option<Paging>,
    /// Most pages per poll (1 without paging).
    pub max_pages: u32,
}

/// What one response held.
#[derive(Debug, Default)]
pub struct JsonPage {
    pub entries: Vec<RawEntry>,
    /// The value at the paging pointer (a next URL or a cursor), if any.
    pub next: Option<String>,
    /// Items past [`crate::extract::cap::MAX_ITEMS`] (or values past
    /// [`prune::MAX_VALUES`]) were left out.
    pub capped: bool,
}

impl JsonSpec {
    pub fn compile(def: &SourceDef) -> Result<JsonSpec, Invalid> {
        let select = def.select.as_ref().ok_or(
            "kind = \"json\" needs a `[source.select]` table with at least `items` and `title`",
        )?;
        for (field, set) in [
            ("item", select.item.is_some()),
            ("item_rows", select.item_rows.is_some()),
            ("author", select.author.is_some()),
            ("category", select.category.is_some()),
        ] {
            if set {
                return Err(format!(
                    "select.{field} applies to kind = \"html\"; a json source uses select.items, select.authors and select.categories"
                )
                .into());
            }
        }
        let items = select
            .items
            .as_deref()
            .ok_or("select.items is required: the JSON Pointer to the array of items (`\"\"` when the document is the array)")?;
        let embedded = select
            .embedded
            .as_deref()
            .map(|spec| {
                let (css, attr) = super::html::split_attr(spec);
                let selector = Selector::parse(css).map_err(|e| {
                    Invalid::from(format!("select.embedded: bad CSS selector `{css}`: {e}"))
                })?;
                Ok::<_, Invalid>(Embedded {
                    selector,
                    attr,
                    spec: spec.to_string(),
                })
            })
            .transpose()?;
        crate::extract::metric_names::check(def.metrics.as_ref())?;
        let mut metrics = Vec::new();
        for (name, p) in def.metrics.iter().flatten() {
            metrics.push((
                name.clone(),
                Field::compile(&format!("metrics.{name}"), &Selectors::One(p.clone()))?,
            ));
        }
        let link_template = def
            .link_template
            .as_deref()
            .map(|t| compile_template("link_template", t))
            .transpose()?;
        let comments_template = def
            .comments_template
            .as_deref()
            .map(|t| compile_template("comments_template", t))
            .transpose()?;
        let paging = def.paging.as_ref().map(Paging::compile).transpose()?;
        let max_pages =
            match (def.max_pages, &paging) {
                (Some(_), None) => return Err(
                    "max_pages needs a `[source.paging]` table saying how to reach the next page"
                        .into(),
                ),
                (Some(n), Some(_)) if n == 0 || n > paging::MAX_PAGES => {
                    return Err(format!("max_pages: 1 to {}", paging::MAX_PAGES).into())
                }
                (Some(n), Some(_)) => n,
                (None, Some(_)) => paging::DEFAULT_MAX_PAGES,
                (None, None) => 1,
            };
        let id = Field::opt("id", &select.id)?;
        for (field, set) in [
            ("link_template", link_template.is_some()),
            ("comments_template", comments_template.is_some()),
        ] {
            if set && id.is_none() {
                return Err(
                    format!("{field} needs select.id, the value that fills `{{id}}`").into(),
                );
            }
        }
        let mut spec = JsonSpec {
            items: pointer::check("select.items", items.trim())?,
            keep: prune::Keep::default(),
            embedded,
            title: Field::compile("title", &select.title)?,
            link: Field::opt("link", &select.link)?,
            id,
            summary: Field::opt("summary", &select.summary)?,
            content: Field::opt("content", &select.content)?,
            date: Field::opt("date", &select.date)?,
            date_format: select.date_format.clone(),
            authors: Field::opt("authors", &select.authors)?,
            categories: Field::opt("categories", &select.categories)?,
            image: Field::opt("image", &select.image)?,
            comments: Field::opt("comments", &select.comments)?,
            metrics,
            link_template,
            comments_template,
            paging,
            max_pages,
        };
        spec.keep = spec.keep();
        Ok(spec)
    }

    /// What of a document the pointers reach (see [`prune`]).
    fn keep(&self) -> prune::Keep {
        let mut each = prune::Keep::default();
        let fields = [
            Some(&self.title),
            self.link.as_ref(),
            self.id.as_ref(),
            self.summary.as_ref(),
            self.content.as_ref(),
            self.date.as_ref(),
            self.authors.as_ref(),
            self.categories.as_ref(),
            self.image.as_ref(),
            self.comments.as_ref(),
        ];
        let metrics = self.metrics.iter().map(|(_, f)| Some(f));
        for field in fields.into_iter().chain(metrics).flatten() {
            for p in &field.0 {
                each.whole(p);
            }
        }
        let mut keep = prune::Keep::default();
        keep.items(&self.items, each);
        if let Some(p) = self.paging.as_ref().and_then(Paging::pointer) {
            keep.whole(p);
        }
        keep
    }

    /// Reads the items (and the next page's token) of one response.
    pub fn extract(
        &self,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<JsonPage, ExtractError> {
        let prune::Pruned { value: doc, capped } = match &self.embedded {
            None => parse(body, "JSON", &self.keep)?,
            Some(e) => self.embedded_document(e, body, content_type)?,
        };
        let items = match doc.pointer(&self.items) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(ExtractError::NotAFeed(format!(
                    "select.items `{}` is {}, not an array of items",
                    self.items,
                    kind_of(other)
                )))
            }
            None => {
                return Err(ExtractError::NotAFeed(format!(
                    "the JSON has nothing at select.items `{}`",
                    self.items
                )))
            }
        };
        let next = self
            .paging
            .as_ref()
            .and_then(Paging::pointer)
            .and_then(|p| doc.pointer(p))
            .and_then(value::text);
        Ok(JsonPage {
            entries: items.iter().filter_map(|i| self.entry(i)).collect(),
            next,
            capped,
        })
    }

    /// The JSON held by the first element matching `select.embedded` whose
    /// JSON has an array at `items` (a page may carry several
    /// `application/ld+json` blocks).
    fn embedded_document(
        &self,
        e: &Embedded,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<prune::Pruned, ExtractError> {
        let page = crate::decode::html(body, content_type);
        let html = crate::depth::parse_html(&page, "HTML")?;
        let mut matched = 0;
        let mut last_error = None;
        for el in html.select(&e.selector) {
            matched += 1;
            let text = match &e.attr {
                Some(a) => match el.value().attr(a) {
                    Some(v) => v.to_string(),
                    None => continue,
                },
                None => el.text().collect::<String>(),
            };
            match parse(text.as_bytes(), "embedded JSON", &self.keep) {
                Ok(doc) if matches!(doc.value.pointer(&self.items), Some(Value::Array(_))) => {
                    return Ok(doc)
                }
                Ok(_) => {}
                Err(err) => last_error = Some(err),
            }
        }
        Err(match (matched, last_error) {
            (0, _) => ExtractError::NotAFeed(format!(
                "no element of the page matches select.embedded `{}`",
                e.spec
            )),
            (_, Some(err)) => err,
            (n, None) => ExtractError::NotAFeed(format!(
                "none of the {n} elements matching select.embedded `{}` holds JSON with an array at select.items `{}`",
                e.spec, self.items
            )),
        })
    }

    /// One item; `None` when it has no title.
    fn entry(&self, item: &Value) -> Option<RawEntry> {
        let title = self.title.first(item, value::text)?;
        let opt_text = |f: &Option<Field>| f.as_ref().and_then(|f| f.first(item, value::text));
        let opt_html = |f: &Option<Field>| f.as_ref().and_then(|f| f.first(item, value::html));
        let list = |f: &Option<Field>| {
            f.as_ref()
                .and_then(|f| f.first(item, |v| Some(value::names(v)).filter(|n| !n.is_empty())))
                .unwrap_or_default()
        };
        let id = opt_text(&self.id);
        let fill = |template: &Option<(String, String)>| {
            let (before, after) = template.as_ref()?;
            Some(format!("{before}{}{after}", encode_segment(id.as_deref()?)))
        };
        let link = opt_text(&self.link).or_else(|| fill(&self.link_template));
        let discussion = opt_text(&self.comments).or_else(|| fill(&self.comments_template));
        let summary = opt_html(&self.summary);
        let content = opt_html(&self.content);
        Some(RawEntry {
            guid: id,
            title: Some(crate::sanitize::escape_text(&title)),
            link,
            // Content alone is both: the summary is cut from it later.
            summary: summary.or_else(|| content.clone()),
            content,
            discussion,
            authors: list(&self.authors),
            categories: list(&self.categories),
            published: self
                .date
                .as_ref()
                .and_then(|f| f.first(item, |v| value::date(v, self.date_format.as_deref()))),
            metrics: self
                .metrics
                .iter()
                .filter_map(|(name, f)| Some((name.clone(), f.first(item, value::number)?)))
                .collect(),
            // Not every value is a URL (Reddit's thumbnail is `self` or
            // `default` when there is none).
            media: opt_text(&self.image)
                .filter(|u| u.contains('/'))
                .map(|url| Media {
                    // An image whose URL does not say which kind.
                    mime: match crate::extract::media_mime(&url) {
                        "application/octet-stream" => "image/*",
                        known => known,
                    }
                    .to_string(),
                    url,
                }),
            ..Default::default()
        })
    }
}

/// Parses what `keep` reaches of a JSON document, after refusing one
/// nested too deep.
fn parse(
    body: &[u8],
    format: &'static str,
    keep: &prune::Keep,
) -> Result<prune::Pruned, ExtractError> {
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(body);
    crate::depth::check_json(body, format)?;
    prune::parse(body, keep).map_err(|e| ExtractError::Malformed {
        format,
        message: e.to_string(),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `https://example.org/post/{id}` → the text before and after `{id}`;
/// the template must be an absolute http(s) URL.
fn compile_template(field: &str, t: &str) -> Result<(String, String), Invalid> {
    let (before, after) = t
        .split_once("{id}")
        .ok_or_else(|| format!("{field} `{t}`: needs `{{id}}` where the item's id goes"))?;
    crate::urls::parse_http_url(&format!("{before}1{after}"))
        .map_err(|m| format!("{field} `{t}`: {m}"))?;
    Ok((before.to_string(), after.to_string()))
}

/// An id as one URL path segment or query value: everything but RFC 3986
/// unreserved characters percent-encoded, so an id cannot add path
/// segments or parameters of its own.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_checked() {
        assert!(pointer::check("f", "").is_ok());
        assert!(pointer::check("f", "/a~1b/0").is_ok());
        assert!(pointer::check("f", "a/b")
            .unwrap_err()
            .0
            .contains("JSON Pointer"));
        assert!(pointer::check("f", "/a~2").is_err());
    }

    #[test]
    fn ids_cannot_escape_their_segment() {
        assert_eq!(encode_segment("a/../b?x=1"), "a%2F..%2Fb%3Fx%3D1");
        assert_eq!(encode_segment("v1.2_3"), "v1.2_3");
    }
}
