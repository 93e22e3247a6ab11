//! Explanations: why a tag does not apply to an entry, or why an entry is
//! not in a topic, in words an admin can act on (`explain`, `preview`,
//! `/admin/explain`). Each condition describes itself
//! ([`super::condition::Condition::describe`]); this file puts the
//! descriptions together.

use chrono::{DateTime, Utc};

use super::condition::{eval_any, Cond, RulePath};
use super::subject::Subject;
use super::tag::Tag;
use super::topic::Topic;
use super::RuleSet;
use crate::model::Entry;

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
}

impl Topic {
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
}
