//! HTML pages without a feed, read with the CSS selectors of a source's
//! `[source.select]` table (see [`crate::defs::SelectDef`]).

use scraper::{ElementRef, Html, Selector};

use crate::dates::parse_date;
use crate::defs::Invalid;
use crate::defs::{SelectDef, Selectors};
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

    /// Every value of the first alternative that yields any.
    fn all(&self, item: ElementRef) -> Vec<String> {
        self.alts
            .iter()
            .map(|a| a.values(item))
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    fn first(&self, item: ElementRef) -> Option<String> {
        self.alts
            .iter()
            .find_map(|a| a.values(item).into_iter().next())
    }

    fn first_html(&self, item: ElementRef) -> Option<String> {
        self.alts.iter().find_map(|a| a.first_html(item))
    }
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
}

impl HtmlSpec {
    pub fn compile(def: &SelectDef) -> Result<HtmlSpec, Invalid> {
        for (field, set) in [
            ("items", def.items.is_some()),
            ("embedded", def.embedded.is_some()),
            ("id", def.id.is_some()),
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
        })
    }
}

impl HtmlSpec {
    /// For `inspect`: how many item elements the page has, and in how many
    /// of them each field selector finds a value.
    pub fn diagnose(&self, page: &str) -> Vec<(&'static str, usize)> {
        let doc = Html::parse_document(page);
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
                    items.iter().filter(|i| sel.first(**i).is_some()).count(),
                ));
            }
        }
        out
    }
}

/// The items of `body`. HTML parsing never fails (browsers' rules recover
/// from anything); a page whose selectors match nothing yields no items. An
/// item element whose title selector matches nothing is a card of another
/// kind (an ad, a teaser) and is skipped.
pub fn extract(spec: &HtmlSpec, page: &str) -> Vec<RawEntry> {
    let doc = Html::parse_document(page);
    doc.select(&spec.item)
        .filter_map(|item| Some((item, spec.title.first(item)?)))
        .map(|(item, title)| RawEntry {
            guid: None,
            title: Some(title),
            link: spec.link.first(item),
            other_links: Vec::new(),
            summary: spec.summary.as_ref().and_then(|s| s.first_html(item)),
            content: None,
            authors: spec
                .author
                .as_ref()
                .map(|s| s.all(item))
                .unwrap_or_default(),
            categories: spec
                .category
                .as_ref()
                .map(|s| s.all(item))
                .unwrap_or_default(),
            published: spec
                .date
                .as_ref()
                .and_then(|s| s.first(item))
                .and_then(|d| parse_date(&d, spec.date_format.as_deref())),
            updated: None,
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
