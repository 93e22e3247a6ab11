//! Query feeds: filter parameters on a topic URL (`/papers.atom?tag=moe&
//! min_upvotes=50`) or on `/search.{rss,atom,json,html}` (every stored
//! entry), answered from the store.
//!
//! A query is parsed once per request into a [`Filter`] with a canonical
//! form (parameters in a fixed order, lists sorted, words lowercased):
//! equal queries share one URL, one cache entry and one ETag, whatever
//! order the client wrote them in. Anything the filter cannot honour is a
//! [`BadQuery`] naming the parameter, answered with `400`: an unknown
//! parameter never yields a silently unfiltered feed.
//!
//! SECURITY: the query string comes from a stranger. Lists, words and
//! text values are bounded ([`MAX_VALUES`], [`MAX_VALUE_CHARS`]), so
//! matching costs at most a few comparisons per entry; how many entries a
//! render walks is bounded by the store, and renders on a cache miss by
//! [`crate::render::MAX_RENDERS_IN_FLIGHT`].

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Definitions;
use crate::model::Entry;
use crate::store::facets::FacetView;
use crate::text::html_to_text;

/// Most values one list parameter (`tag`, `any_tag`, `not`, `source`) or
/// `q` may hold.
pub const MAX_VALUES: usize = 16;
/// Longest value (a word, an organization, an author), in characters.
pub const MAX_VALUE_CHARS: usize = 100;
/// Metrics every source kind may report, beyond those rules name.
pub const BUILTIN_METRICS: &[&str] = &["upvotes", "comments", "stars"];

/// Why a query was refused: one line naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{param}`: {reason}")]
pub struct BadQuery {
    pub param: String,
    pub reason: String,
}

fn bad(param: &str, reason: impl Into<String>) -> BadQuery {
    BadQuery {
        param: param.to_string(),
        reason: reason.into(),
    }
}

/// A bound on a metric: `min_<name>` / `max_<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricBound {
    pub name: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A parsed, validated query. Equality and hashing go by the canonical
/// form alone.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Every one of these tags (`tag`).
    pub all_tags: Vec<String>,
    /// At least one of these (`any_tag`).
    pub any_tags: Vec<String>,
    /// None of these (`not`).
    pub not_tags: Vec<String>,
    /// Every word, lowercased, in the title or summary text (`q`).
    pub words: Vec<String>,
    pub metrics: Vec<MetricBound>,
    /// From one of these sources (`source`).
    pub sources: Vec<String>,
    /// Lowercased substring of the organization (`org`).
    pub org: Option<String>,
    /// Lowercased substring of one author (`author`).
    pub author: Option<String>,
    /// Entered the topic (or, for `/search`, was first seen) within this
    /// long before the request (`since`).
    pub since: Option<Duration>,
    canonical: String,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for Filter {}

impl Hash for Filter {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.canonical.hash(h)
    }
}

/// What a query string asks for: how many items, and the filter (`None`
/// when it asks for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub limit: Option<usize>,
    pub filter: Option<Filter>,
}

/// Whether `c` cannot appear in an XML 1.0 document: control characters
/// other than tab and line breaks, and the two non-characters.
fn not_xml_text(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// A comma-separated list, each value trimmed, empty ones refused.
fn list(param: &str, value: &str) -> Result<Vec<String>, BadQuery> {
    let mut out: Vec<String> = Vec::new();
    for v in value.split(',') {
        let v = v.trim();
        if v.is_empty() {
            return Err(bad(param, "an empty value in the list"));
        }
        out.push(v.to_string());
    }
    if out.len() > MAX_VALUES {
        return Err(bad(param, format!("more than {MAX_VALUES} values")));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn text_value(param: &str, value: &str) -> Result<String, BadQuery> {
    let v = value.trim();
    if v.is_empty() {
        return Err(bad(param, "empty"));
    }
    if v.chars().count() > MAX_VALUE_CHARS {
        return Err(bad(
            param,
            format!("longer than {MAX_VALUE_CHARS} characters"),
        ));
    }
    Ok(v.to_lowercase())
}

fn number(param: &str, value: &str) -> Result<f64, BadQuery> {
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(bad(param, format!("`{value}` is not a number"))),
    }
}

/// Metric names a query may bound: the built-in ones and any a rule
/// compares.
pub fn known_metrics(defs: &Definitions) -> Vec<String> {
    let mut out: Vec<String> = BUILTIN_METRICS.iter().map(|s| s.to_string()).collect();
    out.extend(defs.rules.metric_names());
    out.sort();
    out.dedup();
    out
}

/// Whether `k` is a parameter a query may give.
fn known_parameter(k: &str, metrics: &[String]) -> bool {
    let metric = k.strip_prefix("min_").or_else(|| k.strip_prefix("max_"));
    matches!(
        k,
        "limit" | "tag" | "any_tag" | "not" | "source" | "q" | "org" | "author" | "since"
    ) || metric.is_some_and(|m| metrics.iter().any(|x| x == m))
}

/// Who a query is parsed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// Anyone: a source only private topics take is, to them, a source
    /// that does not exist.
    Public,
    /// The holder of a private topic's token: every source is known.
    TokenHolder,
}

/// Parses a request's query string for the public. `max_limit` caps
/// `limit`.
pub fn parse(query: Option<&str>, defs: &Definitions, max_limit: usize) -> Result<Asked, BadQuery> {
    parse_for(query, defs, max_limit, Asker::Public)
}

/// Parses a request's query string for `asker`. `max_limit` caps `limit`.
pub fn parse_for(
    query: Option<&str>,
    defs: &Definitions,
    max_limit: usize,
    asker: Asker,
) -> Result<Asked, BadQuery> {
    let mut asked = Asked {
        limit: None,
        filter: None,
    };
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Ok(asked);
    };
    let mut f = Filter::default();
    let mut seen: Vec<String> = Vec::new();
    let metrics = known_metrics(defs);
    let mut any = false;
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let (k, v) = (k.as_ref(), v.as_ref());
        // Whatever a query holds may be written into XML (the feed's title
        // names the filter), where these characters cannot appear.
        if k.chars().chain(v.chars()).any(not_xml_text) {
            return Err(bad(k, "control characters are not allowed in a query"));
        }
        if seen.iter().any(|s| s == k) {
            return Err(bad(k, "given twice"));
        }
        seen.push(k.to_string());
        // An empty field of an HTML form (the preview page's filter form
        // sends every field) means "no condition", not a malformed one.
        if v.trim().is_empty() && known_parameter(k, &metrics) {
            continue;
        }
        if k == "limit" {
            asked.limit = Some(match v.parse::<usize>() {
                Ok(n) if n >= 1 => n.min(max_limit),
                _ => return Err(bad(k, format!("must be a number from 1 to {max_limit}"))),
            });
            continue;
        }
        any = true;
        match k {
            "tag" | "any_tag" | "not" => {
                let tags = list(k, v)?;
                for t in &tags {
                    if defs.rules.tag_named(t).is_none() {
                        return Err(bad(k, format!("unknown tag `{t}`")));
                    }
                }
                *match k {
                    "tag" => &mut f.all_tags,
                    "any_tag" => &mut f.any_tags,
                    _ => &mut f.not_tags,
                } = tags;
            }
            "source" => {
                let sources = list(k, v)?;
                // SECURITY: `unknown source` for a private topic's own
                // source too, or the answer would confirm what it follows.
                let hidden = match asker {
                    Asker::Public => defs.rules.private_sources(),
                    Asker::TokenHolder => Default::default(),
                };
                for s in &sources {
                    if !defs.sources.iter().any(|d| &d.id == s) || hidden.contains(s.as_str()) {
                        return Err(bad(k, format!("unknown source `{s}`")));
                    }
                }
                f.sources = sources;
            }
            "q" => {
                let mut words: Vec<String> = v.split_whitespace().map(str::to_lowercase).collect();
                if words.is_empty() {
                    return Err(bad(k, "no words"));
                }
                if words.len() > MAX_VALUES {
                    return Err(bad(k, format!("more than {MAX_VALUES} words")));
                }
                if words.iter().any(|w| w.chars().count() > MAX_VALUE_CHARS) {
                    return Err(bad(
                        k,
                        format!("a word longer than {MAX_VALUE_CHARS} characters"),
                    ));
                }
                words.sort();
                words.dedup();
                f.words = words;
            }
            "org" => f.org = Some(text_value(k, v)?),
            "author" => f.author = Some(text_value(k, v)?),
            "since" => {
                f.since =
                    Some(crate::units::parse_interval(v).map_err(|e| bad(k, e.0.to_string()))?);
            }
            _ => {
                let (is_min, name) = match (k.strip_prefix("min_"), k.strip_prefix("max_")) {
                    (Some(name), _) => (true, name),
                    (_, Some(name)) => (false, name),
                    _ => return Err(bad(k, "unknown parameter")),
                };
                if !metrics.iter().any(|m| m == name) {
                    return Err(bad(
                        k,
                        format!("unknown metric `{name}` (known: {})", metrics.join(", ")),
                    ));
                }
                let n = number(k, v)?;
                let at = match f.metrics.iter().position(|m| m.name == name) {
                    Some(i) => i,
                    None => {
                        f.metrics.push(MetricBound {
                            name: name.to_string(),
                            min: None,
                            max: None,
                        });
                        f.metrics.len() - 1
                    }
                };
                let m = &mut f.metrics[at];
                if is_min {
                    m.min = Some(n);
                } else {
                    m.max = Some(n);
                }
            }
        }
    }
    if any {
        f.metrics.sort_by(|a, b| a.name.cmp(&b.name));
        f.canonical = f.canonical_form();
        asked.filter = Some(f);
    }
    Ok(asked)
}

/// A number as a query writes it: no `.0` on whole numbers.
fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Filter {
    /// The query string (without `?`) in canonical order.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    fn canonical_form(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let join = |v: &[String]| v.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",");
        if !self.all_tags.is_empty() {
            parts.push(format!("tag={}", join(&self.all_tags)));
        }
        if !self.any_tags.is_empty() {
            parts.push(format!("any_tag={}", join(&self.any_tags)));
        }
        if !self.not_tags.is_empty() {
            parts.push(format!("not={}", join(&self.not_tags)));
        }
        if !self.words.is_empty() {
            let words: Vec<String> = self.words.iter().map(|w| enc(w)).collect();
            parts.push(format!("q={}", words.join("+")));
        }
        for m in &self.metrics {
            if let Some(n) = m.min {
                parts.push(format!("min_{}={}", m.name, num(n)));
            }
            if let Some(n) = m.max {
                parts.push(format!("max_{}={}", m.name, num(n)));
            }
        }
        if !self.sources.is_empty() {
            parts.push(format!("source={}", join(&self.sources)));
        }
        if let Some(o) = &self.org {
            parts.push(format!("org={}", enc(o)));
        }
        if let Some(a) = &self.author {
            parts.push(format!("author={}", enc(a)));
        }
        if let Some(s) = self.since {
            parts.push(format!("since={}", crate::units::human(s)));
        }
        parts.join("&")
    }

    /// What the filter keeps, for a feed title: `tag moe, upvotes ≥ 50`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.all_tags.is_empty() {
            parts.push(format!("tagged {}", self.all_tags.join(" and ")));
        }
        if !self.any_tags.is_empty() {
            parts.push(format!("tagged {}", self.any_tags.join(" or ")));
        }
        if !self.not_tags.is_empty() {
            parts.push(format!("not tagged {}", self.not_tags.join(" or ")));
        }
        if !self.words.is_empty() {
            parts.push(format!("“{}”", self.words.join(" ")));
        }
        for m in &self.metrics {
            let mut s = String::new();
            match (m.min, m.max) {
                (Some(lo), Some(hi)) => {
                    let _ = write!(s, "{} {}–{}", m.name, num(lo), num(hi));
                }
                (Some(lo), None) => {
                    let _ = write!(s, "{} ≥ {}", m.name, num(lo));
                }
                (None, Some(hi)) => {
                    let _ = write!(s, "{} ≤ {}", m.name, num(hi));
                }
                (None, None) => {}
            }
            parts.push(s);
        }
        if !self.sources.is_empty() {
            parts.push(format!("from {}", self.sources.join(" or ")));
        }
        if let Some(o) = &self.org {
            parts.push(format!("organization “{o}”"));
        }
        if let Some(a) = &self.author {
            parts.push(format!("author “{a}”"));
        }
        if let Some(s) = self.since {
            parts.push(format!("last {}", crate::units::human(s)));
        }
        parts.join(", ")
    }

    /// The test on what an entry's head holds (its tags, and when it
    /// entered the scope): cheap, run before the body is read.
    pub fn head_matches(&self, tags: &[&str], at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let has = |t: &String| tags.contains(&t.as_str());
        self.all_tags.iter().all(has)
            && (self.any_tags.is_empty() || self.any_tags.iter().any(has))
            && !self.not_tags.iter().any(has)
            && self.since_cutoff(now).is_none_or(|c| at >= c)
    }

    /// The earliest time `since` keeps.
    pub fn since_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let s = chrono::Duration::from_std(self.since?).ok()?;
        now.checked_sub_signed(s)
    }

    /// The test on the rest of the entry (after [`Filter::head_matches`]).
    pub fn matches(&self, e: &Entry) -> bool {
        for m in &self.metrics {
            let Some(v) = e.metrics.get(&m.name) else {
                return false;
            };
            if m.min.is_some_and(|lo| *v < lo) || m.max.is_some_and(|hi| *v > hi) {
                return false;
            }
        }
        if !self.sources.is_empty() && !e.sources.iter().any(|s| self.sources.contains(s)) {
            return false;
        }
        if let Some(o) = &self.org {
            if !e
                .organization
                .as_ref()
                .is_some_and(|org| org.to_lowercase().contains(o.as_str()))
            {
                return false;
            }
        }
        if let Some(a) = &self.author {
            if !e
                .authors
                .iter()
                .any(|x| x.to_lowercase().contains(a.as_str()))
            {
                return false;
            }
        }
        if !self.words.is_empty() {
            let text = format!("{}\n{}", e.title, html_to_text(&e.summary)).to_lowercase();
            if !self.words.iter().all(|w| text.contains(w.as_str())) {
                return false;
            }
        }
        true
    }

    /// What [`Filter::matches`] can tell from a stored entry's facets
    /// alone: `false` when the entry cannot match; `true` when it may
    /// (words and authors are checked against a filter of trigrams that
    /// has false positives, never false negatives; the rest exactly).
    pub fn may_match(&self, f: &FacetView) -> bool {
        for m in &self.metrics {
            let Some(v) = f.metric(&m.name) else {
                return false;
            };
            if m.min.is_some_and(|lo| v < lo) || m.max.is_some_and(|hi| v > hi) {
                return false;
            }
        }
        if !self.sources.is_empty()
            && !f
                .sources
                .iter()
                .any(|s| self.sources.iter().any(|x| x == s))
        {
            return false;
        }
        if let Some(o) = &self.org {
            if !f.org.is_some_and(|org| org.contains(o.as_str())) {
                return false;
            }
        }
        if self.author.as_ref().is_some_and(|a| !f.may_contain(a)) {
            return false;
        }
        self.words.iter().all(|w| f.may_contain(w))
    }
}

#[cfg(test)]
mod tests;
