//! Selectors suggested for a listing page (`feedloom inspect --suggest`):
//! finds the page's repeated item blocks and proposes the `[source.select]`
//! of an `html` source that reads them.
//!
//! How: elements are grouped by their tag and classes within the same kind
//! of container; a group of three or more whose members carry a title (a
//! heading, or a link with text) is a candidate, descended into while each
//! member is only a wrapper around one element (a grid column around its
//! card). Candidates are ranked by how many items they hold, how long their
//! titles are and how much text the items carry, so a navigation bar (few
//! items, one-word links) ranks below a list of stories. Every selector is
//! then *checked by running it*: the item selector must select the group
//! (and little else), and each field selector is the shortest one whose
//! value, read the way [`super::html`] reads it, is the expected one in
//! most items. What a suggestion yields is therefore what the source would
//! yield.
//!
//! Bounds: the page is at most the fetch's `max_body` and its nesting is
//! checked by the caller; candidates are capped at [`MAX_CANDIDATES`] and
//! each is checked on at most [`MAX_SAMPLE`] items.

use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};

use crate::dates::parse_date;
use crate::defs::{SelectDef, Selectors};
use crate::text::collapse_ws;

/// Groups smaller than this are not a listing.
const MIN_ITEMS: usize = 3;
/// Candidate groups checked in full, best first by a cheap score.
const MAX_CANDIDATES: usize = 12;
/// Items of a group a field selector is checked on.
const MAX_SAMPLE: usize = 60;
/// Share of items a field selector must get right.
const FIELD_AGREEMENT: f64 = 0.9;
/// An item selector may select this share of other elements besides the
/// group.
const ITEM_SLACK: f64 = 0.1;

/// One proposed `[source.select]`.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub select: SelectDef,
    /// Elements the item selector matches.
    pub items: usize,
    /// Higher is more likely the page's listing.
    pub score: f64,
}

/// Up to `max` suggestions for `page`, best first; a page nested deeper
/// than [`crate::depth::MAX_NESTING`] once parsed is refused.
pub fn suggest(page: &str, max: usize) -> Result<Vec<Suggestion>, crate::depth::TooDeep> {
    let doc = crate::depth::parse_html(page, "HTML")?;
    let mut out: Vec<Suggestion> = Vec::new();
    for group in candidates(&doc) {
        if let Some(s) = build(&doc, &group) {
            let item = s.select.item.clone();
            if !out.iter().any(|o| o.select.item == item) {
                out.push(s);
            }
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(max);
    Ok(out)
}

/// A repeated block: elements of the same tag and classes.
struct Group<'a> {
    members: Vec<ElementRef<'a>>,
    score: f64,
}

/// An element's tag and safe classes, sorted.
type Signature = (String, Vec<String>);

/// Tag and safe classes: what an item selector can name.
fn signature(el: ElementRef) -> Signature {
    let mut classes: Vec<String> = el
        .value()
        .classes()
        .filter(|c| safe_class(c))
        .map(str::to_string)
        .collect();
    classes.sort();
    classes.dedup();
    (el.value().name().to_string(), classes)
}

/// Classes a selector can name without escaping, and that are not
/// generated per element (`css-1x2y3z`, ids with digits runs).
fn safe_class(c: &str) -> bool {
    let mut chars = c.chars();
    c.len() <= 40
        && chars
            .next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        && c.chars().filter(char::is_ascii_digit).count() < 5
}

/// The container an element's group is keyed by: its nearest ancestor
/// that is not an implied `tbody`, with id and classes.
fn container_key(el: ElementRef) -> String {
    let parent = el
        .ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().name() != "tbody");
    match parent {
        Some(p) => {
            let (tag, classes) = signature(p);
            format!(
                "{tag}#{}.{}",
                p.value().id().unwrap_or(""),
                classes.join(".")
            )
        }
        None => String::new(),
    }
}

fn text_of(el: ElementRef) -> String {
    collapse_ws(&el.text().collect::<String>())
}

/// The title of one item: the text of its first heading, else its longest
/// link text.
fn expected_title(item: ElementRef) -> Option<(ElementRef, String)> {
    let heading = item.descendent_elements().find(|e| {
        matches!(e.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            && !text_of(*e).is_empty()
    });
    if let Some(h) = heading {
        let t = text_of(h);
        return Some((h, t));
    }
    item.descendent_elements()
        .chain(std::iter::once(item))
        .filter(|e| e.value().name() == "a" && e.value().attr("href").is_some())
        .map(|a| (a, text_of(a)))
        .filter(|(_, t)| t.chars().count() >= 2)
        .max_by_key(|(_, t)| t.chars().count())
}

/// Candidate groups, best first by a score read off the members alone.
fn candidates(doc: &Html) -> Vec<Group<'_>> {
    // Siblings of one parent with the same signature...
    let mut by_parent: HashMap<(NodeId, Signature), Vec<ElementRef>> = HashMap::new();
    for el in doc.root_element().descendent_elements() {
        if matches!(
            el.value().name(),
            "script"
                | "style"
                | "head"
                | "meta"
                | "link"
                | "br"
                | "img"
                | "svg"
                | "path"
                | "option"
        ) {
            continue;
        }
        if let Some(parent) = el.parent() {
            by_parent
                .entry((parent.id(), signature(el)))
                .or_default()
                .push(el);
        }
    }
    // ... merged across containers of the same kind (a page rendering its
    // list in two columns).
    let mut merged: HashMap<(String, Signature), Vec<ElementRef>> = HashMap::new();
    for ((_, sig), members) in by_parent {
        if members.len() >= MIN_ITEMS {
            let key = (container_key(members[0]), sig);
            merged.entry(key).or_default().extend(members);
        }
    }
    let mut groups: Vec<Group> = merged
        .into_values()
        .map(|mut members| {
            members.sort_by_key(|m| m.id());
            members = descend(members);
            let score = score(&members);
            Group { members, score }
        })
        .filter(|g| g.score > 0.0)
        .collect();
    groups.sort_by(|a, b| b.score.total_cmp(&a.score));
    groups.truncate(MAX_CANDIDATES);
    groups
}

/// While every member is a wrapper around one element holding all its
/// text (a grid column around a card), the wrapped elements are the items.
fn descend(mut members: Vec<ElementRef>) -> Vec<ElementRef> {
    for _ in 0..3 {
        let inner: Vec<ElementRef> = members
            .iter()
            .filter_map(|m| {
                let mut kids = m.child_elements();
                let only = kids.next()?;
                kids.next().is_none().then_some(only)
            })
            .collect();
        let same = inner.len() == members.len()
            && inner
                .iter()
                .all(|i| signature(*i) == signature(inner[0]) && !signature(*i).1.is_empty());
        if !same {
            break;
        }
        members = inner;
    }
    members
}

fn score(members: &[ElementRef]) -> f64 {
    let n = members.len();
    let titles: Vec<String> = members
        .iter()
        .filter_map(|m| expected_title(*m).map(|(_, t)| t))
        .collect();
    let titled = titles.len() as f64 / n as f64;
    if titles.is_empty() || titled < 0.6 {
        return 0.0;
    }
    let mut distinct = titles.clone();
    distinct.sort();
    distinct.dedup();
    let avg_title = titles
        .iter()
        .map(|t| t.chars().count().min(100))
        .sum::<usize>() as f64
        / titles.len() as f64;
    let avg_text = members
        .iter()
        .map(|m| text_of(*m).chars().count().min(2000))
        .sum::<usize>() as f64
        / n as f64;
    (n as f64).sqrt()
        * avg_title
        * (2.0 + avg_text / 50.0).log2()
        * titled
        * (distinct.len() as f64 / titles.len() as f64)
}

/// The selector (and its match count) that selects the group's members
/// and at most [`ITEM_SLACK`] more, trying the simplest forms first.
fn item_selector(doc: &Html, members: &[ElementRef]) -> Option<(String, usize)> {
    let (tag, classes) = signature(members[0]);
    let mut forms = vec![tag.clone()];
    forms.extend(classes.iter().map(|c| format!("{tag}.{c}")));
    for (i, a) in classes.iter().enumerate() {
        for b in &classes[i + 1..] {
            forms.push(format!("{tag}.{a}.{b}"));
        }
    }
    if !classes.is_empty() {
        forms.push(format!("{tag}.{}", classes.join(".")));
    }
    // With the container, when the tag and classes alone are too common.
    if let Some(parent) = members[0].parent().and_then(ElementRef::wrap) {
        let (ptag, pclasses) = signature(parent);
        let pid = parent.value().id().filter(|i| safe_class(i));
        let own = forms.clone();
        for f in own {
            match (pid, pclasses.first()) {
                (Some(id), _) => forms.push(format!("{ptag}#{id} > {f}")),
                (None, Some(c)) => forms.push(format!("{ptag}.{c} > {f}")),
                (None, None) => forms.push(format!("{ptag} > {f}")),
            }
        }
    }
    let wanted: std::collections::HashSet<NodeId> = members.iter().map(|m| m.id()).collect();
    forms.into_iter().find_map(|f| {
        let sel = Selector::parse(&f).ok()?;
        let got: Vec<NodeId> = doc.select(&sel).map(|e| e.id()).collect();
        let hits = got.iter().filter(|id| wanted.contains(id)).count();
        let extra = got.len() - hits;
        (hits == wanted.len() && (extra as f64) <= ITEM_SLACK * wanted.len() as f64)
            .then_some((f, got.len()))
    })
}

/// Relative selectors for `target` inside `item`, the most telling
/// first: its tag with a class, under its parent's tag and class, then the
/// bare forms (a bare `a` works only while nothing before it has text).
fn relative_forms(item: ElementRef, target: ElementRef) -> Vec<String> {
    let (tag, classes) = signature(target);
    let classed: Vec<String> = classes.iter().map(|c| format!("{tag}.{c}")).collect();
    let parent = target
        .parent()
        .and_then(ElementRef::wrap)
        .filter(|p| p.id() != item.id())
        .map(signature);
    let mut forms = classed.clone();
    if let Some((ptag, pclasses)) = &parent {
        for c in pclasses {
            forms.extend(classed.iter().map(|f| format!("{ptag}.{c} > {f}")));
            forms.push(format!("{ptag}.{c} > {tag}"));
        }
    }
    forms.push(tag.clone());
    if let Some((ptag, _)) = &parent {
        forms.push(format!("{ptag} > {tag}"));
    }
    forms
}

/// The first non-empty value `css` (with `@attr`) reads in `item`, as
/// [`super::html`] reads it.
fn read(item: ElementRef, sel: &Selector, attr: Option<&str>) -> Option<String> {
    item.select(sel).find_map(|el| {
        let v = match attr {
            Some(a) => el.value().attr(a)?.to_string(),
            None => el.text().collect::<String>(),
        };
        let v = collapse_ws(&v);
        (!v.is_empty()).then_some(v)
    })
}

/// The first of `forms` whose value agrees with `expected` in enough of
/// the items that have an expectation.
fn agreeing(
    items: &[ElementRef],
    expected: &[Option<String>],
    forms: &[String],
    attr: Option<&str>,
    agreement: f64,
) -> Option<String> {
    let judged = expected.iter().filter(|e| e.is_some()).count();
    if judged == 0 {
        return None;
    }
    forms.iter().find_map(|f| {
        let sel = Selector::parse(f).ok()?;
        let good = items
            .iter()
            .zip(expected)
            .filter(|(item, want)| want.is_some() && read(**item, &sel, attr) == **want)
            .count();
        (good as f64 >= agreement * judged as f64).then(|| f.clone())
    })
}

/// Counts forms in order of first appearance across items, most common
/// first, so a field's selector is the one most items share.
fn ranked_forms(per_item: Vec<Vec<String>>) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for forms in per_item {
        for f in forms {
            match counts.iter_mut().find(|(g, _)| *g == f) {
                Some((_, n)) => *n += 1,
                None => counts.push((f, 1)),
            }
        }
    }
    // Stable: among equally common forms, the shorter (earlier) first.
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().map(|(f, _)| f).collect()
}

fn build(doc: &Html, group: &Group) -> Option<Suggestion> {
    let (item_css, count) = item_selector(doc, &group.members)?;
    let items: Vec<ElementRef> = group.members.iter().copied().take(MAX_SAMPLE).collect();

    // Title.
    let titles: Vec<Option<(ElementRef, String)>> =
        items.iter().map(|i| expected_title(*i)).collect();
    let expected: Vec<Option<String>> = titles
        .iter()
        .map(|t| t.as_ref().map(|(_, s)| s.clone()))
        .collect();
    let forms = ranked_forms(
        items
            .iter()
            .zip(&titles)
            .filter_map(|(i, t)| Some(relative_forms(*i, t.as_ref()?.0)))
            .collect(),
    );
    let title = agreeing(&items, &expected, &forms, None, FIELD_AGREEMENT)?;

    // Link: the title's own link, the one inside it, or the item's.
    let link_els: Vec<Option<ElementRef>> = titles
        .iter()
        .zip(&items)
        .map(|(t, item)| {
            let (el, _) = t.as_ref()?;
            let a = if el.value().name() == "a" {
                Some(*el)
            } else {
                el.descendent_elements()
                    .find(|d| d.value().name() == "a")
                    .or_else(|| {
                        el.ancestors()
                            .filter_map(ElementRef::wrap)
                            .take_while(|a| a.id() != item.id())
                            .find(|a| a.value().name() == "a")
                    })
                    .or_else(|| (item.value().name() == "a").then_some(*item))
            }?;
            a.value().attr("href").is_some().then_some(a)
        })
        .collect();
    let links: Vec<Option<String>> = link_els
        .iter()
        .map(|a| a.and_then(|a| a.value().attr("href")).map(collapse_ws))
        .collect();
    let link_forms = ranked_forms(
        items
            .iter()
            .zip(&link_els)
            .filter_map(|(i, a)| Some(relative_forms(*i, (*a)?)))
            .collect(),
    );
    let link = agreeing(&items, &links, &link_forms, Some("href"), FIELD_AGREEMENT)
        .map(|f| format!("{f}@href"))
        .or_else(|| {
            (item_css_is_link(&group.members) && links.iter().any(Option::is_some))
                .then(|| "@href".to_string())
        });

    let date = date_selector(&items);
    let summary = summary_selector(&items, &titles);

    let mut select = SelectDef {
        item: Some(item_css),
        title: Selectors::One(title),
        link: link.map(Selectors::One),
        date: date.map(Selectors::One),
        summary: summary.map(Selectors::One),
        ..Default::default()
    };
    if select.date.is_none() {
        with_next_row(doc, &group.members, &mut select);
    }
    Some(Suggestion {
        select,
        items: count,
        score: group.score,
    })
}

/// Table listings put an item's date (and counts) in the row after it
/// (Hacker News: `tr.athing`, then the subtext row). When every item is
/// followed by a sibling of one kind that is no item, and a date is found
/// there, the item spans two rows (`item_rows = 2`); kept only if running
/// the whole suggestion dates at least half the entries.
fn with_next_row(doc: &Html, members: &[ElementRef], select: &mut SelectDef) {
    let member_ids: std::collections::HashSet<NodeId> = members.iter().map(|m| m.id()).collect();
    let next: Vec<ElementRef> = members
        .iter()
        .take(MAX_SAMPLE)
        .filter_map(|m| m.next_siblings().find_map(ElementRef::wrap))
        .collect();
    let sample = members.len().min(MAX_SAMPLE);
    if next.len() != sample
        || next.iter().any(|n| member_ids.contains(&n.id()))
        || next.iter().any(|n| signature(*n) != signature(next[0]))
    {
        return;
    }
    let Some(date) = date_selector(&next) else {
        return;
    };
    let mut trial = select.clone();
    trial.item_rows = Some(2);
    trial.date = Some(Selectors::One(date));
    let Ok(spec) = super::html::HtmlSpec::compile(&trial, None) else {
        return;
    };
    let entries = super::html::extract(&spec, &doc.root_element().html()).unwrap_or_default();
    let dated = entries.iter().filter(|e| e.published.is_some()).count();
    if !entries.is_empty() && dated * 2 >= entries.len() {
        *select = trial;
    }
}

fn item_css_is_link(members: &[ElementRef]) -> bool {
    members.iter().all(|m| m.value().name() == "a")
}

/// A date: a `datetime` attribute, a `title` attribute that is a date, or
/// a short text that is one; the form that parses in the most items (at
/// least half).
fn date_selector(items: &[ElementRef]) -> Option<String> {
    let mut per_item: Vec<Vec<String>> = Vec::new();
    for item in items {
        let mut forms = Vec::new();
        for el in item.descendent_elements() {
            for attr in ["datetime", "title"] {
                if el
                    .value()
                    .attr(attr)
                    .is_some_and(|v| parse_date(v, None).is_some())
                {
                    forms.extend(
                        relative_forms(*item, el)
                            .into_iter()
                            .map(|f| format!("{f}@{attr}")),
                    );
                }
            }
            let text = text_of(el);
            if el.child_elements().next().is_none()
                && text.chars().count() <= 40
                && parse_date(&text, None).is_some()
            {
                forms.extend(relative_forms(*item, el));
            }
        }
        per_item.push(forms);
    }
    let forms = ranked_forms(per_item);
    forms.into_iter().find(|f| {
        let (css, attr) = super::html::split_attr(f);
        let Ok(sel) = Selector::parse(css) else {
            return false;
        };
        let parsed = items
            .iter()
            .filter(|i| {
                read(**i, &sel, attr.as_deref()).is_some_and(|v| parse_date(&v, None).is_some())
            })
            .count();
        parsed * 2 >= items.len()
    })
}

/// A summary: the longest text block (40 characters or more) that is not
/// the title, found in at least half the items.
fn summary_selector(
    items: &[ElementRef],
    titles: &[Option<(ElementRef, String)>],
) -> Option<String> {
    let mut expected = Vec::new();
    let mut per_item = Vec::new();
    for (item, title) in items.iter().zip(titles) {
        // The title and every element around it (found once, not per
        // candidate block: linear in the item).
        let around_title: std::collections::HashSet<NodeId> = title
            .iter()
            .flat_map(|(e, _)| std::iter::once(e.id()).chain(e.ancestors().map(|a| a.id())))
            .collect();
        let title_id = title.as_ref().map(|(e, _)| e.id());
        let best = item
            .descendent_elements()
            .filter(|e| matches!(e.value().name(), "p" | "div" | "span" | "section"))
            .filter(|e| {
                !around_title.contains(&e.id()) && !e.ancestors().any(|a| Some(a.id()) == title_id)
            })
            .map(|e| (e, text_of(e)))
            .filter(|(_, t)| t.chars().count() >= 40)
            // The innermost of equally long blocks: the fewest descendants.
            .min_by_key(|(e, t)| {
                (
                    std::cmp::Reverse(t.chars().count()),
                    e.descendants().count(),
                )
            });
        match best {
            Some((el, text)) => {
                expected.push(Some(text));
                per_item.push(relative_forms(*item, el));
            }
            None => expected.push(None),
        }
    }
    if expected.iter().filter(|e| e.is_some()).count() * 2 < items.len() {
        return None;
    }
    agreeing(items, &expected, &ranked_forms(per_item), None, 0.6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_a_selector_can_name() {
        assert!(safe_class("post-title"));
        assert!(!safe_class("md:flex"));
        assert!(!safe_class("w-[calc(100%-2rem)]"));
        assert!(!safe_class("css-1a2b3c4d5"));
    }
}
