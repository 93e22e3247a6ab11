//! Tag rules and topics: which tags an entry gets, and which topic feeds it
//! is published in.
//!
//! Semantics (the README has examples):
//! - **Tags** are evaluated independently, in definition order, at ingest and
//!   on every merge. A tag applies when every `all` condition holds, at least
//!   one `any` condition holds (if any are given), and no `none` condition
//!   holds. The entry stores, per tag, every rule hit that explains it.
//! - **Conditions**: `words` match case-insensitively (Unicode case folding)
//!   on word boundaries: `LLM` matches "LLM-based" and "llm" but not "LLMs";
//!   list plural forms explicitly. A space in a phrase matches any whitespace
//!   run. A boundary is only required on a side where the word starts or ends
//!   with a letter, digit or `_`, so `C++` works. `regex` is a Rust regex
//!   matched as written (case-sensitive unless it says `(?i)`). Both look in
//!   `fields` (default title and summary; summary and content are matched as
//!   visible text, markup stripped). `source` and `host` compare exactly
//!   (host also matches subdomains). `metric` comparisons never match a
//!   missing metric. `all` / `any` / `none` nest.
//! - **Topics** select on the entry's tags: all of `all`, at least one of
//!   `any` (when given), none of `none`, and, when `sources` is given, at
//!   least one of those sources. A topic with no tag selection takes every
//!   entry (of its sources).
//! - **Membership is sticky at ingest**: once an entry is in a topic it stays
//!   there when a later poll changes it (a paper whose upvotes drop below a
//!   threshold stays in the "popular" feed). It enters a topic at its
//!   listing time (when the source listed it, e.g. the day a paper made
//!   Daily Papers), else its published time, when it is new; and at the
//!   moment it first matches when it was already stored, so it surfaces at
//!   the top of the feed instead of being buried at its old date.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use std::time::Duration;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};
use sha2::Digest;

use crate::defs::{ConditionDef, TagDef, TopicDef};
use crate::model::{Entry, RuleHit};
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
}

impl Field {
    fn parse(name: &str) -> Result<Field, String> {
        Ok(match name {
            "title" => Field::Title,
            "summary" => Field::Summary,
            "content" => Field::Content,
            "authors" => Field::Authors,
            "categories" => Field::Categories,
            "link" => Field::Link,
            other => {
                return Err(format!(
                    "unknown field `{other}` (expected title, summary, content, authors, categories or link)"
                ))
            }
        })
    }

    const ALL: [Field; 6] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Authors,
        Field::Categories,
        Field::Link,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Authors => "authors",
            Field::Categories => "categories",
            Field::Link => "link",
        }
    }
}

/// The text views of an entry that rules test, computed once per
/// evaluation (stripping HTML is the expensive part).
pub struct Subject<'a> {
    entry: &'a Entry,
    summary: String,
    content: String,
    authors: String,
    categories: String,
    host: String,
    /// When the rules run (date windows are relative to it).
    now: DateTime<Utc>,
    /// Per field and text condition, what the [`RuleSet`]'s one-pass
    /// matchers found; `None` without them (every text condition is then
    /// checked with its own regex).
    candidates: Option<Vec<Vec<Candidate>>>,
}

/// What the combined matchers know about one condition in one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
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
            content: entry
                .content
                .as_deref()
                .map(html_to_text)
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
    fn candidate(&self, f: Field, id: usize) -> Candidate {
        match &self.candidates {
            Some(c) => c[f.index()].get(id).copied().unwrap_or(Candidate::Verify),
            None => Candidate::Verify,
        }
    }

    fn field(&self, f: Field) -> &str {
        match f {
            Field::Title => &self.entry.title,
            Field::Summary => &self.summary,
            Field::Content => &self.content,
            Field::Authors => &self.authors,
            Field::Categories => &self.categories,
            Field::Link => &self.entry.link,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Gte,
    Gt,
    Lte,
    Lt,
    Eq,
}

/// A compiled condition.
#[derive(Debug, Clone)]
enum Cond {
    Text {
        /// Position in the rule set's prefilter (assigned by
        /// [`RuleSet::new`]).
        id: usize,
        kind: &'static str,
        fields: Vec<Field>,
        re: Regex,
        /// A cheaper pattern matching at least whatever `re` matches (no
        /// word boundaries), for the combined prefilter.
        prefilter: String,
        /// How the condition reads, for explanations.
        label: String,
        /// `words` only: the words and phrases.
        word_list: Vec<String>,
    },
    /// The entry's published date is within `newer_than` of now and/or
    /// longer than `older_than` ago.
    Age {
        newer_than: Option<Duration>,
        older_than: Option<Duration>,
    },
    Source(Vec<String>),
    Host(Vec<String>),
    Metric {
        name: String,
        cmps: Vec<(Cmp, f64)>,
    },
    All(Vec<Cond>),
    Any(Vec<Cond>),
    None(Vec<Cond>),
}

impl Cond {
    fn compile(def: &ConditionDef) -> Result<Cond, String> {
        let set: Vec<&str> = [
            ("words", def.words.is_some()),
            ("regex", def.regex.is_some()),
            ("source", def.source.is_some()),
            ("host", def.host.is_some()),
            ("metric", def.metric.is_some()),
            (
                "newer_than/older_than",
                def.newer_than.is_some() || def.older_than.is_some(),
            ),
            ("all", def.all.is_some()),
            ("any", def.any.is_some()),
            ("none", def.none.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect();
        if set.len() != 1 {
            return Err(format!(
                "a condition needs exactly one of words, regex, source, host, metric, newer_than/older_than, all, any, none (found {})",
                if set.is_empty() { "none".to_string() } else { set.join(", ") }
            ));
        }
        let is_text = def.words.is_some() || def.regex.is_some();
        if def.fields.is_some() && !is_text {
            return Err("`fields` only goes with `words` or `regex`".into());
        }
        let has_cmp = [def.gte, def.gt, def.lte, def.lt, def.eq]
            .iter()
            .any(Option::is_some);
        if has_cmp && def.metric.is_none() {
            return Err("`gte`/`gt`/`lte`/`lt`/`eq` only go with `metric`".into());
        }
        let fields = match &def.fields {
            Some(names) if names.is_empty() => return Err("`fields` is empty".into()),
            Some(names) => names
                .iter()
                .map(|n| Field::parse(n))
                .collect::<Result<_, _>>()?,
            None => vec![Field::Title, Field::Summary],
        };
        if let Some(words) = &def.words {
            let (re, prefilter) = words_regex(words)?;
            let quoted: Vec<String> = words.iter().map(|w| format!("\"{}\"", w.trim())).collect();
            return Ok(Cond::Text {
                id: usize::MAX,
                kind: "words",
                label: format!("words {}", quoted.join(", ")),
                word_list: words.clone(),
                fields,
                re,
                prefilter,
            });
        }
        if let Some(pattern) = &def.regex {
            let re = Regex::new(pattern).map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
            if re.is_match("") {
                return Err(format!(
                    "regex `{pattern}` matches the empty string, so it matches every entry"
                ));
            }
            return Ok(Cond::Text {
                id: usize::MAX,
                kind: "regex",
                label: format!("regex /{pattern}/"),
                word_list: Vec::new(),
                fields,
                prefilter: pattern.clone(),
                re,
            });
        }
        if def.newer_than.is_some() || def.older_than.is_some() {
            let parse = |v: &Option<String>, name: &str| -> Result<Option<Duration>, String> {
                v.as_deref()
                    .map(|t| crate::units::parse_interval(t).map_err(|m| format!("`{name}`: {m}")))
                    .transpose()
            };
            return Ok(Cond::Age {
                newer_than: parse(&def.newer_than, "newer_than")?,
                older_than: parse(&def.older_than, "older_than")?,
            });
        }
        if let Some(list) = &def.source {
            return non_empty(list, "source").map(|l| Cond::Source(l.to_vec()));
        }
        if let Some(list) = &def.host {
            let hosts = non_empty(list, "host")?;
            return Ok(Cond::Host(
                hosts
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect(),
            ));
        }
        if let Some(name) = &def.metric {
            let cmps: Vec<(Cmp, f64)> = [
                (Cmp::Gte, def.gte),
                (Cmp::Gt, def.gt),
                (Cmp::Lte, def.lte),
                (Cmp::Lt, def.lt),
                (Cmp::Eq, def.eq),
            ]
            .into_iter()
            .filter_map(|(c, v)| v.map(|v| (c, v)))
            .collect();
            if cmps.is_empty() {
                return Err(format!(
                    "metric `{name}` needs a comparison: gte, gt, lte, lt or eq"
                ));
            }
            return Ok(Cond::Metric {
                name: name.clone(),
                cmps,
            });
        }
        let nested = |list: &Vec<ConditionDef>, what: &str| -> Result<Vec<Cond>, String> {
            non_empty(list, what)?.iter().map(Cond::compile).collect()
        };
        if let Some(list) = &def.all {
            return nested(list, "all").map(Cond::All);
        }
        if let Some(list) = &def.any {
            return nested(list, "any").map(Cond::Any);
        }
        let list = def.none.as_ref().expect("exactly one kind is set");
        nested(list, "none").map(Cond::None)
    }

    /// How the condition reads, for explanations.
    fn describe(&self) -> String {
        match self {
            Cond::Text { label, fields, .. } => {
                let f: Vec<&str> = fields.iter().map(|f| f.name()).collect();
                format!("{label} in {}", f.join(", "))
            }
            Cond::Age {
                newer_than,
                older_than,
            } => {
                let mut parts = Vec::new();
                if let Some(n) = newer_than {
                    parts.push(format!("published within {}", crate::units::human(*n)));
                }
                if let Some(o) = older_than {
                    parts.push(format!("published over {} ago", crate::units::human(*o)));
                }
                parts.join(" and ")
            }
            Cond::Source(ids) => format!("source one of {}", ids.join(", ")),
            Cond::Host(hosts) => format!("link host one of {}", hosts.join(", ")),
            Cond::Metric { name, cmps } => {
                let c: Vec<String> = cmps
                    .iter()
                    .map(|(c, v)| {
                        let op = match c {
                            Cmp::Gte => "≥",
                            Cmp::Gt => ">",
                            Cmp::Lte => "≤",
                            Cmp::Lt => "<",
                            Cmp::Eq => "=",
                        };
                        format!("{name} {op} {v}")
                    })
                    .collect();
                c.join(" and ")
            }
            Cond::All(l) => format!(
                "all of ({})",
                l.iter().map(Cond::describe).collect::<Vec<_>>().join("; ")
            ),
            Cond::Any(l) => format!(
                "any of ({})",
                l.iter().map(Cond::describe).collect::<Vec<_>>().join("; ")
            ),
            Cond::None(l) => format!(
                "none of ({})",
                l.iter().map(Cond::describe).collect::<Vec<_>>().join("; ")
            ),
        }
    }

    /// What the entry has where the condition looked, for explanations of
    /// a failure (`upvotes = 12`, `published 2026-01-03`).
    fn observed(&self, s: &Subject) -> Option<String> {
        match self {
            Cond::Metric { name, .. } => Some(match s.entry.metrics.get(name) {
                Some(v) => format!("{name} = {v}"),
                None => format!("no {name}"),
            }),
            Cond::Age { .. } => Some(format!(
                "published {}",
                s.entry.published.format("%Y-%m-%d")
            )),
            Cond::Source(_) => Some(format!("sources {}", s.entry.sources.join(", "))),
            Cond::Host(_) => Some(format!(
                "host {}",
                if s.host.is_empty() { "none" } else { &s.host }
            )),
            _ => None,
        }
    }

    /// Assigns ids to the text conditions in this subtree and collects
    /// their patterns: words for the automaton, regexes for the sets.
    fn number(
        &mut self,
        next: &mut usize,
        per_field: &mut [Vec<(usize, String)>],
        words: &mut Vec<(String, WordPattern)>,
        condition_fields: &mut Vec<Vec<Field>>,
    ) {
        match self {
            Cond::Text {
                id,
                fields,
                prefilter,
                kind,
                word_list,
                ..
            } => {
                *id = *next;
                *next += 1;
                condition_fields.push(fields.clone());
                if *kind == "words" {
                    for w in word_list.iter() {
                        let normalized = crate::text::collapse_ws(w);
                        words.push((
                            lowercase_aligned(&normalized).0,
                            WordPattern {
                                condition: *id,
                                start: normalized.starts_with(is_word_char),
                                end: normalized.ends_with(is_word_char),
                            },
                        ));
                    }
                } else {
                    for f in fields.iter() {
                        per_field[f.index()].push((*id, prefilter.clone()));
                    }
                }
            }
            Cond::All(list) | Cond::Any(list) | Cond::None(list) => {
                list.iter_mut()
                    .for_each(|c| c.number(next, per_field, words, condition_fields));
            }
            _ => {}
        }
    }

    /// Whether the condition holds; hits that explain it are pushed.
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        match self {
            Cond::Text {
                id,
                kind,
                fields,
                re,
                ..
            } => {
                let mut matched = false;
                for f in fields {
                    let found = match s.candidate(*f, *id) {
                        Candidate::No => None,
                        Candidate::At(a, b) => s.field(*f).get(a..b),
                        Candidate::Verify => re.find(s.field(*f)).map(|m| m.as_str()),
                    };
                    if let Some(m) = found {
                        let text = if *kind == "words" { trim_guards(m) } else { m };
                        hits.push(RuleHit {
                            rule: format!("{path} {kind}"),
                            field: f.name().into(),
                            text: text.into(),
                        });
                        matched = true;
                    }
                }
                matched
            }
            Cond::Age {
                newer_than,
                older_than,
            } => {
                let age = (s.now - s.entry.published).to_std().unwrap_or_default();
                let ok = newer_than.is_none_or(|n| age <= n) && older_than.is_none_or(|o| age >= o);
                if ok {
                    hits.push(hit(
                        path,
                        "age",
                        "published",
                        &s.entry.published.to_rfc3339(),
                    ));
                }
                ok
            }
            Cond::Source(ids) => match s.entry.sources.iter().find(|src| ids.contains(src)) {
                Some(src) => {
                    hits.push(hit(path, "source", "source", src));
                    true
                }
                None => false,
            },
            Cond::Host(hosts) => {
                let h = &s.host;
                let found = hosts.iter().any(|want| {
                    h == want
                        || (h.ends_with(want.as_str()) && h[..h.len() - want.len()].ends_with('.'))
                });
                if found {
                    hits.push(hit(path, "host", "link", h));
                }
                found
            }
            Cond::Metric { name, cmps } => {
                let Some(&v) = s.entry.metrics.get(name) else {
                    return false;
                };
                let ok = cmps.iter().all(|(c, x)| match c {
                    Cmp::Gte => v >= *x,
                    Cmp::Gt => v > *x,
                    Cmp::Lte => v <= *x,
                    Cmp::Lt => v < *x,
                    Cmp::Eq => v == *x,
                });
                if ok {
                    hits.push(hit(path, "metric", name, &v.to_string()));
                }
                ok
            }
            Cond::All(list) => list
                .iter()
                .enumerate()
                .all(|(i, c)| c.eval(s, &RulePath::Index(&RulePath::Field(path, "all"), i), hits)),
            Cond::Any(list) => eval_any(list, s, &RulePath::Field(path, "any"), hits),
            Cond::None(list) => !eval_any(list, s, &RulePath::Field(path, "none"), &mut Vec::new()),
        }
    }
}

fn hit(path: &RulePath, kind: &str, field: &str, text: &str) -> RuleHit {
    RuleHit {
        rule: format!("{path} {kind}"),
        field: field.into(),
        text: text.into(),
    }
}

/// Where a condition sits in its tag (`any[0].all[1]`), spelled out only
/// when a hit needs naming: evaluation allocates nothing for conditions that
/// do not match.
#[derive(Clone, Copy)]
enum RulePath<'a> {
    Root(&'static str),
    Field(&'a RulePath<'a>, &'static str),
    Index(&'a RulePath<'a>, usize),
}

impl std::fmt::Display for RulePath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulePath::Root(name) => f.write_str(name),
            RulePath::Field(parent, name) => write!(f, "{parent}.{name}"),
            RulePath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Evaluates every branch (not just up to the first hit) so the explanation
/// lists every reason.
fn eval_any(list: &[Cond], s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
    let mut any = false;
    for (i, c) in list.iter().enumerate() {
        any |= c.eval(s, &RulePath::Index(path, i), hits);
    }
    any
}

fn non_empty<'a, T>(list: &'a [T], what: &str) -> Result<&'a [T], String> {
    if list.is_empty() {
        Err(format!("`{what}` is empty"))
    } else {
        Ok(list)
    }
}

/// The longest word or phrase in a `words` list, in characters.
pub const MAX_WORD_CHARS: usize = 200;
/// Bytes of all word patterns up to which the word matcher is a full DFA.
const MAX_DFA_WORD_BYTES: usize = 64 * 1024;

/// One case-insensitive regex for a word list (see the module doc).
/// The exact regex for a word list, and its boundary-free prefilter pattern.
fn words_regex(words: &[String]) -> Result<(Regex, String), String> {
    if words.is_empty() {
        return Err("`words` is empty".into());
    }
    let mut alternatives = Vec::with_capacity(words.len());
    let mut loose = Vec::with_capacity(words.len());
    for w in words {
        let w = w.trim();
        if w.is_empty() {
            return Err("`words` has an empty entry".into());
        }
        let chars = w.chars().count();
        if chars > MAX_WORD_CHARS {
            return Err(format!(
                "`words` has an entry of {chars} characters (at most {MAX_WORD_CHARS})"
            ));
        }
        let body: Vec<String> = w.split_whitespace().map(regex::escape).collect();
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        // A Unicode word boundary, spelled as "start of text or a non-word
        // character" rather than `\b`: the regex crate's fast DFAs give up
        // on `\b` as soon as the text holds one non-ASCII character (most
        // abstracts do), while a character class costs nothing. The
        // guard character is trimmed from the reported hit.
        let start = if w.starts_with(is_word) {
            r"(?:^|\W)"
        } else {
            ""
        };
        let end = if w.ends_with(is_word) {
            r"(?:$|\W)"
        } else {
            ""
        };
        alternatives.push(format!("{start}{}{end}", body.join(r"\s+")));
        loose.push(body.join(r"\s+"));
    }
    let re =
        Regex::new(&format!("(?i)(?:{})", alternatives.join("|"))).map_err(|e| e.to_string())?;
    Ok((re, format!("(?i)(?:{})", loose.join("|"))))
}

/// A letter, digit or `_`: what a word boundary separates.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` lower-cased, and whether every character kept its byte length (so
/// positions in the lower-cased text are positions in `text`).
fn lowercase_aligned(text: &str) -> (String, bool) {
    if text.is_ascii() {
        return (text.to_ascii_lowercase(), true);
    }
    let mut out = String::with_capacity(text.len());
    let mut aligned = true;
    for c in text.chars() {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
            (Some(l), rest) => {
                aligned = false;
                out.push(l);
                out.extend(rest);
                out.extend(lower);
            }
            (None, _) => aligned = false,
        }
    }
    (out, aligned)
}

/// The matched text without a boundary guard character on either side.
fn trim_guards(text: &str) -> &str {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '+' || c == '#';
    let mut t = text;
    if let Some(c) = t.chars().next() {
        if !is_word(c) && t.chars().count() > 1 {
            t = &t[c.len_utf8()..];
        }
    }
    if let Some(c) = t.chars().last() {
        if !is_word(c) && t.chars().count() > 1 {
            t = &t[..t.len() - c.len_utf8()];
        }
    }
    t
}

/// A compiled tag.
#[derive(Debug, Clone)]
pub struct Tag {
    pub id: String,
    pub title: String,
    /// The definition as written, for fingerprints.
    repr: String,
    all: Vec<Cond>,
    any: Vec<Cond>,
    none: Vec<Cond>,
}

impl Tag {
    pub fn compile(def: &TagDef) -> Result<Tag, String> {
        if def.all.is_empty() && def.any.is_empty() {
            return Err("needs at least one `all` or `any` condition".into());
        }
        let list = |defs: &[ConditionDef], what: &str| -> Result<Vec<Cond>, String> {
            defs.iter()
                .enumerate()
                .map(|(i, d)| Cond::compile(d).map_err(|m| format!("{what}[{i}]: {m}")))
                .collect()
        };
        Ok(Tag {
            id: def.id.clone(),
            title: def.title.clone().unwrap_or_else(|| def.id.clone()),
            repr: format!("{def:?}"),
            all: list(&def.all, "all")?,
            any: list(&def.any, "any")?,
            none: list(&def.none, "none")?,
        })
    }

    /// The hits that put this tag on the entry, or `None` when it does not
    /// apply.
    pub fn evaluate(&self, s: &Subject) -> Option<Vec<RuleHit>> {
        let mut hits = Vec::new();
        for (i, c) in self.all.iter().enumerate() {
            if !c.eval(s, &RulePath::Index(&RulePath::Root("all"), i), &mut hits) {
                return None;
            }
        }
        if !self.any.is_empty() && !eval_any(&self.any, s, &RulePath::Root("any"), &mut hits) {
            return None;
        }
        if eval_any(&self.none, s, &RulePath::Root("none"), &mut Vec::new()) {
            return None;
        }
        Some(hits)
    }
}

impl Tag {
    /// Why the tag does not apply: its first failing condition, or `None`
    /// when it does apply.
    pub fn why_not(&self, s: &Subject) -> Option<String> {
        let failed = |c: &Cond, path: String, what: &str| {
            let seen = c.observed(s).map(|o| format!(" ({o})")).unwrap_or_default();
            format!("{path} {}: {what}{seen}", c.describe())
        };
        for (i, c) in self.all.iter().enumerate() {
            if !c.eval(s, &RulePath::Root(""), &mut Vec::new()) {
                return Some(failed(c, format!("all[{i}]"), "did not match"));
            }
        }
        if !self.any.is_empty() && !eval_any(&self.any, s, &RulePath::Root("any"), &mut Vec::new())
        {
            let tried: Vec<String> = self
                .any
                .iter()
                .map(|c| {
                    format!(
                        "{}{}",
                        c.describe(),
                        c.observed(s).map(|o| format!(" ({o})")).unwrap_or_default()
                    )
                })
                .collect();
            return Some(format!("no `any` condition matched: {}", tried.join("; ")));
        }
        for (i, c) in self.none.iter().enumerate() {
            let mut hits = Vec::new();
            if c.eval(s, &RulePath::Root(""), &mut hits) {
                let text = hits
                    .first()
                    .map(|h| format!(" (\"{}\" in {})", h.text, h.field))
                    .unwrap_or_default();
                return Some(format!("none[{i}] {} matched{text}", c.describe()));
            }
        }
        None
    }

    /// The conditions a tag lists, for `check`'s lints.
    fn conditions(&self) -> impl Iterator<Item = &Cond> {
        self.all.iter().chain(&self.any).chain(&self.none)
    }
}

/// Source ids that a tag's conditions name, for validation.
pub fn sources_named(def: &TagDef) -> Vec<String> {
    fn walk(c: &ConditionDef, out: &mut Vec<String>) {
        out.extend(c.source.iter().flatten().cloned());
        for list in [&c.all, &c.any, &c.none].into_iter().flatten() {
            list.iter().for_each(|c| walk(c, out));
        }
    }
    let mut out = Vec::new();
    for c in def.all.iter().chain(&def.any).chain(&def.none) {
        walk(c, &mut out);
    }
    out
}

/// Items in a topic's feed unless `?limit=` asks otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most `?limit=` may ask for.
pub const MAX_LIMIT: usize = 500;

/// A compiled topic.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub description: String,
    any: Vec<String>,
    all: Vec<String>,
    none: Vec<String>,
    sources: Option<Vec<String>>,
    /// Most items its feeds hold.
    pub max_items: usize,
    /// The definition as written, for fingerprints.
    repr: String,
}

impl Topic {
    /// Items a feed of this topic holds without `?limit=`.
    pub fn default_limit(&self) -> usize {
        DEFAULT_LIMIT.min(self.max_items)
    }

    pub fn compile(def: &TopicDef, tags: &[&str], sources: &[&str]) -> Result<Topic, String> {
        for t in def
            .tags
            .any
            .iter()
            .chain(&def.tags.all)
            .chain(&def.tags.none)
        {
            if !tags.contains(&t.as_str()) {
                return Err(format!("unknown tag `{t}`"));
            }
        }
        if let Some(list) = &def.sources {
            if list.is_empty() {
                return Err("`sources` is empty (leave it out to take every source)".into());
            }
            for s in list {
                if !sources.contains(&s.as_str()) {
                    return Err(format!("unknown source `{s}`"));
                }
            }
        }
        let max_items = match def.max_items {
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => return Err(format!("`max_items` = {n} is outside 1 to {}", MAX_LIMIT)),
            None => MAX_LIMIT,
        };
        let title = def.title.clone().unwrap_or_else(|| def.id.clone());
        Ok(Topic {
            id: def.id.clone(),
            description: def.description.clone().unwrap_or_else(|| title.clone()),
            title,
            any: def.tags.any.clone(),
            all: def.tags.all.clone(),
            none: def.tags.none.clone(),
            sources: def.sources.clone(),
            max_items,
            repr: format!(
                "{:?}{:?}{:?}{:?}",
                def.tags.any, def.tags.all, def.tags.none, def.sources
            ),
        })
    }

    /// The sources the topic is limited to, if any.
    pub fn source_filter(&self) -> Option<&[String]> {
        self.sources.as_deref()
    }

    /// Why an entry is not in the topic under these rules: the first
    /// condition that fails, and for a missing tag why the tag does not
    /// apply. `None` when it would be selected.
    pub fn why_not(&self, entry: &Entry, rules: &RuleSet, now: DateTime<Utc>) -> Option<String> {
        let tag_why = |t: &str| {
            let s = rules.subject(entry, now);
            rules
                .tags
                .iter()
                .find(|x| x.id == t)
                .and_then(|tag| tag.why_not(&s))
                .map(|w| format!("; tag `{t}`: {w}"))
                .unwrap_or_default()
        };
        if let Some(sources) = &self.sources {
            if !entry.sources.iter().any(|s| sources.contains(s)) {
                return Some(format!(
                    "not from its sources ({}); the entry came from {}",
                    sources.join(", "),
                    entry.sources.join(", ")
                ));
            }
        }
        if let Some(t) = self.all.iter().find(|t| !entry.tags.contains_key(*t)) {
            return Some(format!(
                "lacks tag `{t}` (needs all of: {}){}",
                self.all.join(", "),
                tag_why(t)
            ));
        }
        if !self.any.is_empty() && !self.any.iter().any(|t| entry.tags.contains_key(t)) {
            let why: String = self.any.iter().map(|t| tag_why(t)).collect();
            return Some(format!("has none of the tags {}{why}", self.any.join(", ")));
        }
        if let Some(t) = self.none.iter().find(|t| entry.tags.contains_key(*t)) {
            return Some(format!("has tag `{t}`, which the topic excludes"));
        }
        None
    }

    /// Whether an entry with these tags and sources belongs in the topic.
    pub fn selects(&self, entry: &Entry) -> bool {
        self.sources_allow(entry)
            && tag_lists_hold(&self.all, &self.any, &self.none, |t| {
                entry.tags.contains_key(t)
            })
    }

    /// [`Topic::selects`] over tag positions: `tagged[i]` says whether the
    /// rule set's `i`th tag applies, and `index` is this topic's
    /// [`TopicIndex`]. Routing uses it to skip the lookups by name.
    fn selects_indexed(&self, entry: &Entry, index: &TopicIndex, tagged: &[bool]) -> bool {
        self.sources_allow(entry)
            && tag_lists_hold(&index.all, &index.any, &index.none, |i| {
                i.is_some_and(|i| tagged[i])
            })
    }

    fn sources_allow(&self, entry: &Entry) -> bool {
        self.sources
            .as_ref()
            .is_none_or(|sources| entry.sources.iter().any(|s| sources.contains(s)))
    }
}

/// A topic's tag condition: every tag of `all`, one of `any` (if it lists
/// any) and none of `none`, by `has`.
fn tag_lists_hold<T>(all: &[T], any: &[T], none: &[T], has: impl Fn(&T) -> bool) -> bool {
    all.iter().all(&has) && (any.is_empty() || any.iter().any(&has)) && !none.iter().any(&has)
}

/// A topic's tag names resolved to positions in the rule set's tags
/// (`None`: no such tag, which never applies).
#[derive(Debug, Clone, Default)]
struct TopicIndex {
    any: Vec<Option<usize>>,
    all: Vec<Option<usize>>,
    none: Vec<Option<usize>>,
}

impl TopicIndex {
    fn new(topic: &Topic, tags: &[Tag]) -> TopicIndex {
        let resolve = |names: &[String]| {
            names
                .iter()
                .map(|n| tags.iter().position(|t| &t.id == n))
                .collect()
        };
        TopicIndex {
            any: resolve(&topic.any),
            all: resolve(&topic.all),
            none: resolve(&topic.none),
        }
    }
}

/// All tags and topics, compiled.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub tags: Vec<Tag>,
    pub topics: Vec<Topic>,
    /// Every word and phrase of every `words` condition in one
    /// Aho-Corasick automaton over lower-cased text: one pass per field finds
    /// them all, and word boundaries are checked at each hit.
    words: Option<(AhoCorasick, Vec<WordPattern>)>,
    /// Per field: how its `regex` conditions are screened before each runs
    /// its own regex.
    prefilter: Vec<RegexScreen>,
    /// Per text condition, the fields it reads.
    condition_fields: Vec<Vec<Field>>,
    text_conditions: usize,
    /// Per topic (in order), its tags by position.
    topic_index: Vec<TopicIndex>,
}

/// How one field's `regex` conditions are screened.
#[derive(Debug, Clone, Default)]
enum RegexScreen {
    /// No regex reads the field.
    #[default]
    Nothing,
    /// A few regexes: each runs on its own (its literal prefilter makes
    /// that cheap), these condition ids.
    Each(Vec<usize>),
    /// Many: one [`RegexSet`] flags the ones that may match, and only those
    /// run their own regex; the condition id of each set member.
    Set(RegexSet, Vec<usize>),
}

/// From this many `regex` conditions on one field, one [`RegexSet`] pass
/// screens them. Below it, a set costs more than it saves: its overlapping
/// search restarts its literal prefilter at every candidate, while each
/// regex alone skips ahead with its own (measured with `cargo bench --bench
/// rules`).
const REGEX_SET_FROM: usize = 24;

/// One word or phrase in the combined automaton.
#[derive(Debug, Clone)]
struct WordPattern {
    condition: usize,
    /// A word boundary is needed before / after it (it starts / ends with a
    /// letter, digit or `_`).
    start: bool,
    end: bool,
}

impl RuleSet {
    pub fn new(tags: Vec<Tag>, topics: Vec<Topic>) -> Self {
        Self::build(tags, topics, REGEX_SET_FROM)
    }

    /// [`RuleSet::new`] with the [`RegexScreen::Set`] threshold given, so
    /// tests cover both screens.
    fn build(mut tags: Vec<Tag>, topics: Vec<Topic>, regex_set_from: usize) -> Self {
        // Number the text conditions and collect their patterns.
        let mut per_field: Vec<Vec<(usize, String)>> = vec![Vec::new(); Field::ALL.len()];
        let mut words: Vec<(String, WordPattern)> = Vec::new();
        let mut condition_fields = Vec::new();
        let mut next = 0;
        for tag in &mut tags {
            for c in tag
                .all
                .iter_mut()
                .chain(tag.any.iter_mut())
                .chain(tag.none.iter_mut())
            {
                c.number(&mut next, &mut per_field, &mut words, &mut condition_fields);
            }
        }
        let words = if words.is_empty() {
            None
        } else {
            let (texts, patterns): (Vec<String>, Vec<WordPattern>) = words.into_iter().unzip();
            // A full DFA: the fastest overlapping search, and a few MB at
            // most for thousands of phrases. Its build grows with states
            // times byte classes, so beyond that size (found by fuzzing the
            // loader: one 48 KB word took 30 s) a contiguous NFA, built in
            // linear time, does the job.
            let total: usize = texts.iter().map(String::len).sum();
            let kind = if total <= MAX_DFA_WORD_BYTES {
                AhoCorasickKind::DFA
            } else {
                AhoCorasickKind::ContiguousNFA
            };
            match AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(kind))
                .build(&texts)
            {
                Ok(ac) => Some((ac, patterns)),
                Err(e) => {
                    tracing::warn!(
                        "word matcher unavailable ({e}); matching condition by condition"
                    );
                    None
                }
            }
        };
        let prefilter = per_field
            .into_iter()
            .map(|conds| {
                if conds.is_empty() {
                    return RegexScreen::Nothing;
                }
                let ids: Vec<usize> = conds.iter().map(|(id, _)| *id).collect();
                if conds.len() < regex_set_from {
                    return RegexScreen::Each(ids);
                }
                let set = RegexSetBuilder::new(conds.iter().map(|(_, p)| p))
                    .size_limit(64 << 20)
                    .dfa_size_limit(64 << 20)
                    .build();
                match set {
                    Ok(set) => RegexScreen::Set(set, ids),
                    Err(e) => {
                        // Correct without it, only slower: every condition is checked.
                        tracing::warn!(
                            "rule prefilter unavailable ({e}); matching condition by condition"
                        );
                        RegexScreen::Each(ids)
                    }
                }
            })
            .collect();
        let topic_index = topics.iter().map(|t| TopicIndex::new(t, &tags)).collect();
        RuleSet {
            topic_index,
            tags,
            topics,
            words,
            prefilter,
            condition_fields,
            text_conditions: next,
        }
    }

    /// Lints for `check`: topics that can never select anything, tags no
    /// topic uses, word lists with repeats. Warnings, not errors: the
    /// definitions still work.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.topics {
            if let Some(x) = t.all.iter().find(|x| t.none.contains(x)) {
                out.push(format!("topic `{}` can never match: tag `{x}` is both required (all) and excluded (none)", t.id));
            }
            if !t.any.is_empty() && t.any.iter().all(|x| t.none.contains(x)) {
                out.push(format!(
                    "topic `{}` can never match: every `any` tag is also excluded (none)",
                    t.id
                ));
            }
        }
        for tag in &self.tags {
            let used = self.topics.iter().any(|t| {
                t.any
                    .iter()
                    .chain(&t.all)
                    .chain(&t.none)
                    .any(|x| *x == tag.id)
            });
            if !used {
                out.push(format!(
                    "tag `{}` is used by no topic (it still shows as a category)",
                    tag.id
                ));
            }
            for c in tag.conditions() {
                if let Cond::Metric { name, cmps } = c {
                    let lo = cmps
                        .iter()
                        .filter(|(c, _)| matches!(c, Cmp::Gte | Cmp::Gt))
                        .map(|(_, v)| *v)
                        .fold(f64::MIN, f64::max);
                    let hi = cmps
                        .iter()
                        .filter(|(c, _)| matches!(c, Cmp::Lte | Cmp::Lt))
                        .map(|(_, v)| *v)
                        .fold(f64::MAX, f64::min);
                    if lo > hi {
                        out.push(format!(
                            "tag `{}` can never match: metric `{name}` must be ≥ {lo} and ≤ {hi}",
                            tag.id
                        ));
                    }
                }
            }
        }
        out
    }

    /// Fingerprints of the tag definitions and of each topic's selection
    /// (its definition and the tags it names): what decides stored tags and
    /// memberships. Titles and descriptions do not count.
    pub fn fingerprints(&self) -> crate::store::RuleFingerprints {
        let hash = |text: &str| {
            let d = sha2::Sha256::digest(text.as_bytes());
            d[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let tag_repr = |id: &str| {
            self.tags
                .iter()
                .find(|t| t.id == id)
                .map_or("", |t| t.repr.as_str())
        };
        let all_tags: String = self
            .tags
            .iter()
            .map(|t| t.repr.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let topics = self
            .topics
            .iter()
            .map(|t| {
                let named: Vec<&str> = t
                    .any
                    .iter()
                    .chain(&t.all)
                    .chain(&t.none)
                    .map(|id| tag_repr(id))
                    .collect();
                (
                    t.id.clone(),
                    hash(&format!("{}\n{}", t.repr, named.join("\n"))),
                )
            })
            .collect();
        crate::store::RuleFingerprints {
            tags: hash(&all_tags),
            topics,
        }
    }

    /// Re-applies the rules to a stored entry after a rule change: tags are
    /// recomputed; for each topic in `changed`, membership is recomputed (an
    /// entry that newly matches enters at its listing or published time, as
    /// if the rule had always been there, so old entries do not flood a feed
    /// as new; one that stays keeps its place); memberships of topics that
    /// no longer exist are dropped. Other topics are left alone (their
    /// memberships stay sticky).
    ///
    /// Returns whether anything changed, so the caller writes only then
    /// (without keeping a copy of the entry to compare).
    pub fn reevaluate(
        &self,
        entry: &mut Entry,
        changed: &std::collections::HashSet<String>,
        now: DateTime<Utc>,
    ) -> bool {
        let (tags, tagged) = self.tag_indexed(entry, now);
        let mut differs = tags != entry.tags;
        entry.tags = tags;
        let before = entry.topics.len();
        entry.topics.retain(|t, _| self.topic(t).is_some());
        differs |= entry.topics.len() != before;
        for (topic, index) in self.topics.iter().zip(&self.topic_index) {
            if !changed.contains(&topic.id) {
                continue;
            }
            if topic.selects_indexed(entry, index, &tagged) {
                if !entry.topics.contains_key(&topic.id) {
                    let at = entry.listed.unwrap_or(entry.published).min(now);
                    entry.topics.insert(topic.id.clone(), at);
                    differs = true;
                }
            } else {
                differs |= entry.topics.remove(&topic.id).is_some();
            }
        }
        differs
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The text views of `entry`, with the combined matchers' findings.
    pub fn subject<'a>(&self, entry: &'a Entry, now: DateTime<Utc>) -> Subject<'a> {
        let mut s = Subject::new(entry, now);
        if self.words.is_none()
            && self
                .prefilter
                .iter()
                .all(|p| matches!(p, RegexScreen::Nothing))
        {
            return s;
        }
        let mut found = vec![vec![Candidate::No; self.text_conditions]; Field::ALL.len()];
        // Conditions the matchers did not cover are verified by their regex.
        if self.words.is_none() {
            for (id, fields) in self.condition_fields.iter().enumerate() {
                for f in fields {
                    found[f.index()][id] = Candidate::Verify;
                }
            }
        }
        for f in Field::ALL {
            let text = s.field(f);
            let row = &mut found[f.index()];
            if let Some((ac, patterns)) = &self.words {
                let (lower, aligned) = lowercase_aligned(text);
                for m in ac.find_overlapping_iter(&lower) {
                    let p = &patterns[m.pattern().as_usize()];
                    if !self.condition_fields[p.condition].contains(&f)
                        || matches!(row[p.condition], Candidate::At(..))
                    {
                        continue;
                    }
                    if !aligned {
                        // Lower-casing moved bytes: let the regex decide.
                        row[p.condition] = Candidate::Verify;
                        continue;
                    }
                    let before = lower[..m.start()].chars().next_back();
                    let after = lower[m.end()..].chars().next();
                    let ok = (!p.start || before.is_none_or(|c| !is_word_char(c)))
                        && (!p.end || after.is_none_or(|c| !is_word_char(c)));
                    if ok {
                        row[p.condition] = Candidate::At(m.start(), m.end());
                    }
                }
            }
            match &self.prefilter[f.index()] {
                RegexScreen::Nothing => {}
                RegexScreen::Each(ids) => {
                    for id in ids {
                        row[*id] = Candidate::Verify;
                    }
                }
                RegexScreen::Set(set, ids) => {
                    for i in set.matches(text).iter() {
                        row[ids[i]] = Candidate::Verify;
                    }
                }
            }
        }
        s.candidates = Some(found);
        s
    }

    /// The tags an entry gets, with the hits that explain each.
    pub fn tag(&self, entry: &Entry, now: DateTime<Utc>) -> BTreeMap<String, Vec<RuleHit>> {
        self.tag_indexed(entry, now).0
    }

    /// [`RuleSet::tag`], and per tag position whether it applies.
    fn tag_indexed(
        &self,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> (BTreeMap<String, Vec<RuleHit>>, Vec<bool>) {
        let subject = self.subject(entry, now);
        let mut tagged = vec![false; self.tags.len()];
        let tags = self
            .tags
            .iter()
            .zip(tagged.iter_mut())
            .filter_map(|(t, applies)| {
                let hits = t.evaluate(&subject)?;
                *applies = true;
                Some((t.id.clone(), hits))
            })
            .collect();
        (tags, tagged)
    }

    /// Recomputes the entry's tags and adds the topics it now belongs to
    /// (membership is sticky; see the module doc). `is_new` says whether the
    /// entry was already stored.
    pub fn route(&self, entry: &mut Entry, is_new: bool, now: DateTime<Utc>) {
        let (tags, tagged) = self.tag_indexed(entry, now);
        entry.tags = tags;
        let entered = if is_new {
            entry.listed.unwrap_or(entry.published).min(now)
        } else {
            now
        };
        for (topic, index) in self.topics.iter().zip(&self.topic_index) {
            let selects = topic.selects_indexed(entry, index, &tagged);
            debug_assert_eq!(selects, topic.selects(entry), "topic {}", topic.id);
            if !entry.topics.contains_key(&topic.id) && selects {
                entry.topics.insert(topic.id.clone(), entered);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(words: &[&str]) -> Cond {
        Cond::compile(&ConditionDef {
            words: Some(words.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        })
        .unwrap()
    }

    fn matches(c: &Cond, title: &str) -> bool {
        let e = crate::normalize::tests::entry_with_title(title);
        c.eval(
            &Subject::new(&e, Utc::now()),
            &RulePath::Root("t"),
            &mut Vec::new(),
        )
    }

    #[test]
    fn words_semantics() {
        let llm = cond(&["LLM", "large language model"]);
        assert!(matches(&llm, "An LLM-based agent"));
        assert!(matches(&llm, "scaling llm training"));
        assert!(matches(&llm, "Large\n  Language   Model reasoning"));
        assert!(
            !matches(&llm, "LLMs everywhere"),
            "plural is a different word"
        );
        assert!(!matches(&llm, "SmaLLM"), "no match inside a word");
        let cpp = cond(&["C++"]);
        assert!(matches(&cpp, "Fast C++ code"));
        assert!(!matches(&cpp, "Fast C code"));
        let unicode = cond(&["über"]);
        assert!(matches(&unicode, "ÜBER alles"));
        assert!(!matches(&unicode, "überall"));
    }

    /// Table-driven semantics: one tag definition (TOML), an entry's title,
    /// summary and upvotes, and whether the tag applies.
    #[test]
    fn rule_semantics_table() {
        let cases: &[(&str, &str, &str, Option<f64>, bool)] = &[
            // Case-insensitive words on word boundaries.
            (
                r#"any = [{ words = ["transformer"] }]"#,
                "TRANSFORMER models",
                "",
                None,
                true,
            ),
            (
                r#"any = [{ words = ["transformer"] }]"#,
                "Transformers",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ words = ["RL"] }]"#,
                "Deep RL-based control",
                "",
                None,
                true,
            ),
            (
                r#"any = [{ words = ["RL"] }]"#,
                "Controlling the world",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ words = ["vision language"] }]"#,
                "Vision\n   Language models",
                "",
                None,
                true,
            ),
            // Unicode letters are word characters.
            (
                r#"any = [{ words = ["café"] }]"#,
                "CAFÉ culture",
                "",
                None,
                true,
            ),
            (r#"any = [{ words = ["café"] }]"#, "cafés", "", None, false),
            (
                r#"any = [{ words = ["naïve"] }]"#,
                "Naïve Bayes",
                "",
                None,
                true,
            ),
            // Lower-casing that changes byte lengths (İ → i̇) still matches.
            (
                r#"any = [{ words = ["agent"] }]"#,
                "İstanbul agent study",
                "",
                None,
                true,
            ),
            (
                r#"any = [{ words = ["agent"] }]"#,
                "İstanbul agents",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ words = ["C++"] }]"#,
                "Fast C++ kernels",
                "",
                None,
                true,
            ),
            // Fields.
            (
                r#"any = [{ words = ["agent"], fields = ["title"] }]"#,
                "A survey",
                "an agent",
                None,
                false,
            ),
            (
                r#"any = [{ words = ["agent"] }]"#,
                "A survey",
                "<p>an <b>agent</b></p>",
                None,
                true,
            ),
            // Regexes are case-sensitive unless they say otherwise.
            (
                r#"any = [{ regex = "GPT-\\d" }]"#,
                "GPT-4 tricks",
                "",
                None,
                true,
            ),
            (
                r#"any = [{ regex = "GPT-\\d" }]"#,
                "gpt-4 tricks",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ regex = "(?i)gpt-\\d" }]"#,
                "gpt-4 tricks",
                "",
                None,
                true,
            ),
            // all / any / none and nesting.
            (
                r#"all = [{ words = ["llm"] }, { words = ["agent"] }]"#,
                "LLM agent",
                "",
                None,
                true,
            ),
            (
                r#"all = [{ words = ["llm"] }, { words = ["agent"] }]"#,
                "LLM only",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ words = ["llm"] }]
none = [{ words = ["survey"] }]"#,
                "An LLM survey",
                "",
                None,
                false,
            ),
            (
                r#"any = [{ all = [{ words = ["robot"] }, { none = [{ words = ["vacuum"] }] }] }]"#,
                "Robot arms",
                "",
                None,
                true,
            ),
            (
                r#"any = [{ all = [{ words = ["robot"] }, { none = [{ words = ["vacuum"] }] }] }]"#,
                "Robot vacuum",
                "",
                None,
                false,
            ),
            // Numbers: edges are inclusive for gte/lte, exclusive for gt/lt.
            (
                r#"any = [{ metric = "upvotes", gte = 50 }]"#,
                "t",
                "",
                Some(50.0),
                true,
            ),
            (
                r#"any = [{ metric = "upvotes", gt = 50 }]"#,
                "t",
                "",
                Some(50.0),
                false,
            ),
            (
                r#"any = [{ metric = "upvotes", gte = 10, lt = 20 }]"#,
                "t",
                "",
                Some(19.0),
                true,
            ),
            (
                r#"any = [{ metric = "upvotes", gte = 10, lt = 20 }]"#,
                "t",
                "",
                Some(20.0),
                false,
            ),
            (
                r#"any = [{ metric = "upvotes", eq = 0 }]"#,
                "t",
                "",
                Some(0.0),
                true,
            ),
            (
                r#"any = [{ metric = "upvotes", lte = 5 }]"#,
                "t",
                "",
                None,
                false,
            ),
        ];
        for (def, title, summary, upvotes, want) in cases {
            let toml_def = format!("id = \"t\"\n{def}\n");
            let tag_def: TagDef =
                toml::from_str(&toml_def).unwrap_or_else(|e| panic!("{def}: {e}"));
            let rules = RuleSet::new(vec![Tag::compile(&tag_def).unwrap()], vec![]);
            let mut e = crate::normalize::tests::entry_with_title(title);
            e.summary = summary.to_string();
            if let Some(u) = upvotes {
                e.metrics.insert("upvotes".into(), *u);
            }
            let got = rules.tag(&e, Utc::now()).contains_key("t");
            assert_eq!(
                got, *want,
                "{def} on title {title:?}, summary {summary:?}, upvotes {upvotes:?}"
            );
            let with_set = RuleSet::build(rules.tags.clone(), vec![], 1);
            assert_eq!(
                with_set.tag(&e, Utc::now()).contains_key("t"),
                *want,
                "with a regex set: {def}"
            );
            // The prefilter changes speed, never results.
            let direct = rules.tags[0]
                .evaluate(&Subject::new(&e, Utc::now()))
                .is_some();
            assert_eq!(direct, *want, "without prefilter: {def}");
        }
    }

    #[test]
    fn date_windows() {
        let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse().unwrap();
        let tag: TagDef = toml::from_str("id = \"t\"\nany = [{ newer_than = \"30d\" }]").unwrap();
        let rules = RuleSet::new(vec![Tag::compile(&tag).unwrap()], vec![]);
        let mut e = crate::normalize::tests::entry_with_title("x");
        e.published = now - chrono::Duration::days(10);
        assert!(rules.tag(&e, now).contains_key("t"));
        e.published = now - chrono::Duration::days(40);
        assert!(!rules.tag(&e, now).contains_key("t"));
        let old: TagDef =
            toml::from_str("id = \"t\"\nany = [{ older_than = \"1d\", newer_than = \"7d\" }]")
                .unwrap();
        let rules = RuleSet::new(vec![Tag::compile(&old).unwrap()], vec![]);
        e.published = now - chrono::Duration::days(3);
        assert!(rules.tag(&e, now).contains_key("t"));
        e.published = now - chrono::Duration::hours(2);
        assert!(!rules.tag(&e, now).contains_key("t"));
    }

    #[test]
    fn condition_shape_errors() {
        let both = ConditionDef {
            words: Some(vec!["a".into()]),
            regex: Some("b".into()),
            ..Default::default()
        };
        assert!(Cond::compile(&both).unwrap_err().contains("exactly one"));
        let empty_re = ConditionDef {
            regex: Some("a|".into()),
            ..Default::default()
        };
        assert!(Cond::compile(&empty_re)
            .unwrap_err()
            .contains("empty string"));
        let bad_field = ConditionDef {
            words: Some(vec!["a".into()]),
            fields: Some(vec!["titel".into()]),
            ..Default::default()
        };
        assert!(Cond::compile(&bad_field)
            .unwrap_err()
            .contains("unknown field `titel`"));
        let long_word = ConditionDef {
            words: Some(vec!["x".repeat(MAX_WORD_CHARS + 1)]),
            ..Default::default()
        };
        assert!(Cond::compile(&long_word)
            .unwrap_err()
            .contains("at most 200"));
    }
}
