//! HTML pages without a feed, read with the CSS selectors of a source's
//! `[source.select]` table (see [`crate::defs::SelectDef`]).

use scraper::{ElementRef, Selector};

use crate::dates::parse_date;
use crate::defs::Invalid;
use crate::defs::{SelectDef, Selectors};
use crate::depth::{parse_html, TooDeep};
use crate::model::RawEntry;
use crate::text::collapse_ws;

/// One way to read a field: a CSS selector inside the item (none = the item
/// itself), reading an attribute or the text.
#[derive(Debug, Clone)]
struct Alt {
    selector: Option<Selector>,
    attr: Option<String>,
}

impl Alt {
    /// Parses `css@attr`, `css` or `@attr`.
    fn parse(field: &str, spec: &str) -> Result<Alt, Invalid> {
        let (css, attr) = split_attr(spec);
        let selector = if css.is_empty() {
            if attr.is_none() {
                return Err(format!("select.{field}: empty selector").into());
            }
            None
        } else {
            Some(
                Selector::parse(css)
                    .map_err(|e| format!("select.{field}: bad CSS selector `{css}`: {e}"))?,
            )
        };
        Ok(Alt { selector, attr })
    }

    fn elements<'a>(
        &'a self,
        item: ElementRef<'a>,
    ) -> Box<dyn Iterator<Item = ElementRef<'a>> + 'a> {
        match &self.selector {
            Some(sel) => Box::new(item.select(sel)),
            None => Box::new(std::iter::once(item)),
        }
    }

    /// Every non-empty value this alternative selects in `item`.
    fn values(&self, item: ElementRef) -> Vec<String> {
        self.elements(item)
            .filter_map(|el| {
                let value = match &self.attr {
                    Some(a) => el.value().attr(a)?.to_string(),
                    None => el.text().collect::<String>(),
                };
                let value = collapse_ws(&value);
                (!value.is_empty()).then_some(value)
            })
            .collect()
    }

    /// Inner HTML of the first match (or the attribute), for summaries.
    fn first_html(&self, item: ElementRef) -> Option<String> {
        if self.attr.is_some() {
            return self.values(item).into_iter().next();
        }
        let el = self.elements(item).next()?;
        Some(el.inner_html()).filter(|h| !h.trim().is_empty())
    }
}

/// Splits `css@attr` into the selector and the attribute (lower-cased).
/// An `@` inside an attribute selector (`[href^="mailto:a@b"]`) is not an
/// attribute access: only split when the tail is a name and the head's
/// brackets are balanced.
pub(crate) fn split_attr(spec: &str) -> (&str, Option<String>) {
    let spec = spec.trim();
    match spec.rsplit_once('@') {
        Some((css, attr))
            if !attr.is_empty()
                && attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
                && css.matches('[').count() == css.matches(']').count() =>
        {
            (css.trim(), Some(attr.to_ascii_lowercase()))
        }
        _ => (spec, None),
    }
}

/// A field: alternatives tried in order until one yields a value.
#[derive(Debug, Clone)]
struct FieldSel {
    alts: Vec<Alt>,
}

impl FieldSel {
    fn parse(field: &str, specs: &Selectors) -> Result<FieldSel, Invalid> {
        let alts: Vec<Alt> = specs
            .as_slice()
            .iter()
            .map(|s| Alt::parse(field, s))
            .collect::<Result<_, _>>()?;
        if alts.is_empty() {
            return Err(format!("select.{field}: empty list of selectors").into());
        }
        Ok(FieldSel { alts })
    }

    /// Every value of the first alternative that yields any, across the
    /// item's rows.
    fn all(&self, rows: &[ElementRef]) -> Vec<String> {
        self.alts
            .iter()
            .map(|a| rows.iter().flat_map(|r| a.values(*r)).collect::<Vec<_>>())
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    /// The first value: alternatives in order, each tried in every row.
    fn first(&self, rows: &[ElementRef]) -> Option<String> {
        self.alts
            .iter()
            .find_map(|a| rows.iter().find_map(|r| a.values(*r).into_iter().next()))
    }

    fn first_html(&self, rows: &[ElementRef]) -> Option<String> {
        self.alts
            .iter()
            .find_map(|a| rows.iter().find_map(|r| a.first_html(*r)))
    }
}

/// The most rows an item may span (`item_rows`).
pub const MAX_ITEM_ROWS: usize = 10;

/// The first number in `text`, as a count: `"1.2k"` → 1200, `"45
/// comments"` → 45, `"1,234 points"` → 1234, `"3.5M"` → 3500000. Text
/// without digits has none.
pub fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let digits = rest[..end].trim_end_matches(['.', ',']).replace(',', "");
    let n: f64 = digits.parse().ok()?;
    let scale = match rest[end..].chars().next() {
        Some('k' | 'K') => 1e3,
        Some('m' | 'M') if !rest[end..].to_ascii_lowercase().starts_with("min") => 1e6,
        Some('b' | 'B')
            if rest[end..].len() == 1
                || !rest[end + 1..].starts_with(|c: char| c.is_alphabetic()) =>
        {
            1e9
        }
        _ => 1.0,
    };
    Some(n * scale).filter(|n| n.is_finite())
}

/// The compiled `[source.select]` table.
#[derive(Debug, Clone)]
pub struct HtmlSpec {
    item: Selector,
    title: FieldSel,
    link: FieldSel,
    summary: Option<FieldSel>,
    date: Option<FieldSel>,
    date_format: Option<String>,
    author: Option<FieldSel>,
    category: Option<FieldSel>,
    id: Option<FieldSel>,
    comments: Option<FieldSel>,
    metrics: Vec<(String, FieldSel)>,
    /// Elements one item spans: the item and the siblings after it.
    rows: usize,
}

impl HtmlSpec {
    /// Compiles `[source.select]` and `[source.metrics]` (a metric name →
    /// a selector whose text's first number is the value).
    pub fn compile(
        def: &SelectDef,
        metrics: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<HtmlSpec, Invalid> {
        crate::extract::metric_names::check(metrics)?;
        for (field, set) in [
            ("items", def.items.is_some()),
            ("embedded", def.embedded.is_some()),
            ("content", def.content.is_some()),
            ("authors", def.authors.is_some()),
            ("categories", def.categories.is_some()),
            ("image", def.image.is_some()),
        ] {
            if set {
                return Err(format!(
                    "select.{field} applies to kind = \"json\"; an html source uses select.item, select.author and select.category"
                )
                .into());
            }
        }
        let item = def
            .item
            .as_deref()
            .ok_or("select.item is required: the CSS selector of each item element")?;
        let item = Selector::parse(item.trim())
            .map_err(|e| format!("select.item: bad CSS selector `{item}`: {e}"))?;
        let opt = |field: &str, v: &Option<Selectors>| {
            v.as_ref().map(|s| FieldSel::parse(field, s)).transpose()
        };
        Ok(HtmlSpec {
            item,
            title: FieldSel::parse("title", &def.title)?,
            link: match &def.link {
                Some(l) => FieldSel::parse("link", l)?,
                None => FieldSel::parse("link", &Selectors::One("a@href".into()))?,
            },
            summary: opt("summary", &def.summary)?,
            date: opt("date", &def.date)?,
            date_format: def.date_format.clone(),
            author: opt("author", &def.author)?,
            category: opt("category", &def.category)?,
            id: opt("id", &def.id)?,
            comments: opt("comments", &def.comments)?,
            metrics: metrics
                .into_iter()
                .flatten()
                .map(|(name, css)| {
                    Ok((
                        name.clone(),
                        FieldSel::parse(&format!("metrics.{name}"), &Selectors::One(css.clone()))?,
                    ))
                })
                .collect::<Result<_, Invalid>>()?,
            rows: match def.item_rows {
                None => 1,
                Some(n) if (1..=MAX_ITEM_ROWS).contains(&n) => n,
                Some(_) => return Err(format!("select.item_rows: 1 to {MAX_ITEM_ROWS}").into()),
            },
        })
    }

    /// The elements item `item` spans: itself and the `rows - 1` element
    /// siblings after it.
    fn rows<'a>(&self, item: ElementRef<'a>) -> Vec<ElementRef<'a>> {
        std::iter::once(item)
            .chain(item.next_siblings().filter_map(ElementRef::wrap))
            .take(self.rows)
            .collect()
    }
}

impl HtmlSpec {
    /// For `inspect`: how many item elements the page has, and in how many
    /// of them each field selector finds a value.
    pub fn diagnose(&self, page: &str) -> Result<Vec<(&'static str, usize)>, TooDeep> {
        let doc = parse_html(page, "HTML")?;
        let items: Vec<ElementRef> = doc.select(&self.item).collect();
        let mut out = vec![("item", items.len())];
        let fields: [(&'static str, Option<&FieldSel>); 7] = [
            ("title", Some(&self.title)),
            ("link", Some(&self.link)),
            ("summary", self.summary.as_ref()),
            ("date", self.date.as_ref()),
            ("author", self.author.as_ref()),
            ("category", self.category.as_ref()),
            ("", None),
        ];
        for (name, sel) in fields {
            if let Some(sel) = sel {
                out.push((
                    name,
                    items
                        .iter()
                        .filter(|i| sel.first(&self.rows(**i)).is_some())
                        .count(),
                ));
            }
        }
        Ok(out)
    }
}

/// The items of `body`. HTML parsing never fails (browsers' rules recover
/// from anything); a page whose selectors match nothing yields no items. An
/// item element whose title selector matches nothing is a card of another
/// kind (an ad, a teaser) and is skipped. A page nested deeper than
/// [`crate::depth::MAX_NESTING`] once parsed is refused. At most one item
/// past [`crate::extract::cap::MAX_ITEMS`] is built.
pub fn extract(spec: &HtmlSpec, page: &str) -> Result<Vec<RawEntry>, TooDeep> {
    let doc = parse_html(page, "HTML")?;
    Ok(doc
        .select(&spec.item)
        .map(|item| spec.rows(item))
        .filter_map(|rows| Some((spec.title.first(&rows)?, rows)))
        // One past the cap, so the caller knows there were more; the rest
        // are never built.
        .take(crate::extract::cap::MAX_ITEMS + 1)
        .map(|(title, rows)| RawEntry {
            guid: spec.id.as_ref().and_then(|s| s.first(&rows)),
            title: Some(title),
            link: spec.link.first(&rows),
            other_links: Vec::new(),
            summary: spec.summary.as_ref().and_then(|s| s.first_html(&rows)),
            content: None,
            authors: spec
                .author
                .as_ref()
                .map(|s| s.all(&rows))
                .unwrap_or_default(),
            categories: spec
                .category
                .as_ref()
                .map(|s| s.all(&rows))
                .unwrap_or_default(),
            published: spec
                .date
                .as_ref()
                .and_then(|s| s.first(&rows))
                .and_then(|d| parse_date(&d, spec.date_format.as_deref())),
            updated: None,
            discussion: spec.comments.as_ref().and_then(|s| s.first(&rows)),
            metrics: spec
                .metrics
                .iter()
                .filter_map(|(name, s)| Some((name.clone(), first_number(&s.first(&rows)?)?)))
                .collect(),
            ..Default::default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_text() {
        for (text, want) in [
            ("1.2k", Some(1200.0)),
            ("45 comments", Some(45.0)),
            ("1,234 points", Some(1234.0)),
            ("3.5M views", Some(3_500_000.0)),
            ("5 min read", Some(5.0)),
            ("Upvote 323", Some(323.0)),
            ("discuss", None),
            ("-", None),
        ] {
            assert_eq!(first_number(text), want, "{text}");
        }
    }

    #[test]
    fn attribute_access_syntax() {
        let f = Alt::parse("link", "a.more@href").unwrap();
        assert_eq!(f.attr.as_deref(), Some("href"));
        let f = Alt::parse("link", r#"a[href^="mailto:x@y"]"#).unwrap();
        assert_eq!(f.attr, None);
        let f = Alt::parse("link", "@data-url").unwrap();
        assert!(f.selector.is_none());
        assert!(Alt::parse("title", "h2[")
            .unwrap_err()
            .0
            .contains("select.title"));
    }
}
