//! Conditions: the building blocks of a tag. Each kind is one type in its
//! own file that compiles itself from its `ConditionDef` key, evaluates
//! itself against a [`Subject`] (pushing the hits that explain a match),
//! and describes itself for explanations and lints ([`Condition`]).
//!
//! Adding a kind: a file here with a type implementing [`Condition`] and a
//! `compile`, a variant of [`Cond`], its key in [`Cond::compile`], and its
//! arm in [`Cond::leaf`]. The definitions key goes in
//! [`crate::defs::ConditionDef`].

mod age;
mod metric;
mod origin;
pub(super) mod text;

use super::subject::{Field, Subject};
use crate::defs::ConditionDef;
use crate::defs::Invalid;
use crate::model::RuleHit;

pub(super) use age::AgeCond;
pub(super) use metric::MetricCond;
pub(super) use origin::{HostCond, SourceCond};
pub use text::MAX_WORD_CHARS;
pub(super) use text::{TextCond, TextKind};

/// What every leaf condition knows about itself.
pub(super) trait Condition {
    /// Whether it holds; hits that explain it are pushed.
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool;
    /// How it reads, for explanations (`words "llm" in title, summary`).
    fn describe(&self) -> String;
    /// What the entry has where it looked, for explaining a failure
    /// (`upvotes = 12`); `None` where the description says enough.
    fn observed(&self, _s: &Subject) -> Option<String> {
        None
    }
    /// Why it can never hold, for `check` (`upvotes ≥ 10 and ≤ 5`).
    fn lint(&self) -> Option<String> {
        None
    }
}

/// A compiled condition: one of the kinds, or a nesting of conditions.
#[derive(Debug, Clone)]
pub(super) enum Cond {
    Text(TextCond),
    Age(AgeCond),
    Source(SourceCond),
    Host(HostCond),
    Metric(MetricCond),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    None(Vec<Cond>),
}

impl Cond {
    pub(super) fn compile(def: &ConditionDef) -> Result<Cond, Invalid> {
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
            ).into());
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
        if is_text {
            return TextCond::compile(def).map(Cond::Text);
        }
        if def.newer_than.is_some() || def.older_than.is_some() {
            return AgeCond::compile(def).map(Cond::Age);
        }
        if let Some(list) = &def.source {
            return SourceCond::compile(list).map(Cond::Source);
        }
        if let Some(list) = &def.host {
            return HostCond::compile(list).map(Cond::Host);
        }
        if let Some(name) = &def.metric {
            return MetricCond::compile(name, def).map(Cond::Metric);
        }
        let nested = |list: &Vec<ConditionDef>, what: &str| -> Result<Vec<Cond>, Invalid> {
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

    /// Adds the metrics this condition (and any nested in it) compares.
    pub(crate) fn metric_names(&self, out: &mut Vec<String>) {
        match self {
            Cond::Metric(c) => out.push(c.name().to_string()),
            Cond::All(l) | Cond::Any(l) | Cond::None(l) => {
                l.iter().for_each(|c| c.metric_names(out));
            }
            _ => {}
        }
    }

    /// The kind behind a leaf; `None` for a nesting.
    fn leaf(&self) -> Option<&dyn Condition> {
        match self {
            Cond::Text(c) => Some(c),
            Cond::Age(c) => Some(c),
            Cond::Source(c) => Some(c),
            Cond::Host(c) => Some(c),
            Cond::Metric(c) => Some(c),
            Cond::All(_) | Cond::Any(_) | Cond::None(_) => None,
        }
    }

    /// The nested conditions, and how the nesting reads.
    fn nested(&self) -> (&[Cond], &'static str) {
        match self {
            Cond::All(l) => (l, "all"),
            Cond::Any(l) => (l, "any"),
            Cond::None(l) => (l, "none"),
            _ => (&[], ""),
        }
    }

    /// How the condition reads, for explanations.
    pub(super) fn describe(&self) -> String {
        if let Some(c) = self.leaf() {
            return c.describe();
        }
        let (list, name) = self.nested();
        let parts: Vec<String> = list.iter().map(Cond::describe).collect();
        format!("{name} of ({})", parts.join("; "))
    }

    /// What the entry has where the condition looked (leaves only).
    pub(super) fn observed(&self, s: &Subject) -> Option<String> {
        self.leaf().and_then(|c| c.observed(s))
    }

    /// Why this (leaf) condition can never hold.
    pub(super) fn lint(&self) -> Option<String> {
        self.leaf().and_then(Condition::lint)
    }

    /// Every text condition in this subtree, for the rule set's combined
    /// matchers to number and collect.
    pub(super) fn text_conditions_mut<'a>(&'a mut self, out: &mut Vec<&'a mut TextCond>) {
        match self {
            Cond::Text(t) => out.push(t),
            Cond::All(l) | Cond::Any(l) | Cond::None(l) => {
                l.iter_mut().for_each(|c| c.text_conditions_mut(out))
            }
            _ => {}
        }
    }

    /// Whether the condition holds; hits that explain it are pushed.
    pub(super) fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        match self {
            Cond::Text(c) => c.eval(s, path, hits),
            Cond::Age(c) => c.eval(s, path, hits),
            Cond::Source(c) => c.eval(s, path, hits),
            Cond::Host(c) => c.eval(s, path, hits),
            Cond::Metric(c) => c.eval(s, path, hits),
            Cond::All(list) => list
                .iter()
                .enumerate()
                .all(|(i, c)| c.eval(s, &RulePath::Index(&RulePath::Field(path, "all"), i), hits)),
            Cond::Any(list) => eval_any(list, s, &RulePath::Field(path, "any"), hits),
            Cond::None(list) => !eval_any(list, s, &RulePath::Field(path, "none"), &mut Vec::new()),
        }
    }
}

/// A hit of condition `kind` at `path`: what matched, in which field.
pub(super) fn hit(path: &RulePath, kind: &str, field: &str, text: &str) -> RuleHit {
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
pub(super) enum RulePath<'a> {
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
pub(super) fn eval_any(
    list: &[Cond],
    s: &Subject,
    path: &RulePath,
    hits: &mut Vec<RuleHit>,
) -> bool {
    let mut any = false;
    for (i, c) in list.iter().enumerate() {
        any |= c.eval(s, &RulePath::Index(path, i), hits);
    }
    any
}

pub(super) fn non_empty<'a, T>(list: &'a [T], what: &str) -> Result<&'a [T], Invalid> {
    if list.is_empty() {
        Err(format!("`{what}` is empty").into())
    } else {
        Ok(list)
    }
}

/// The default fields of a text condition.
pub(super) const DEFAULT_FIELDS: [Field; 2] = [Field::Title, Field::Summary];
