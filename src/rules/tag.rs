//! Tags: named sets of conditions (`all`, `any`, `none`) that label an
//! entry, with the hits that explain each label.

use super::condition::{eval_any, Cond, RulePath, TextCond};
use super::subject::Subject;
use crate::defs::Invalid;
use crate::defs::{ConditionDef, TagDef};
use crate::model::RuleHit;

/// A compiled tag.
#[derive(Debug, Clone)]
pub struct Tag {
    pub id: String,
    pub title: String,
    /// The definition as written, for fingerprints.
    pub(super) repr: String,
    pub(super) all: Vec<Cond>,
    pub(super) any: Vec<Cond>,
    pub(super) none: Vec<Cond>,
}

impl Tag {
    pub fn compile(def: &TagDef) -> Result<Tag, Invalid> {
        if def.all.is_empty() && def.any.is_empty() {
            return Err("needs at least one `all` or `any` condition".into());
        }
        let list = |defs: &[ConditionDef], what: &str| -> Result<Vec<Cond>, Invalid> {
            defs.iter()
                .enumerate()
                .map(|(i, d)| Cond::compile(d).map_err(|m| Invalid(format!("{what}[{i}]: {m}"))))
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

    /// The metrics this tag's conditions compare.
    pub fn metric_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.all.iter().chain(&self.any).chain(&self.none) {
            c.metric_names(&mut out);
        }
        out
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

    /// The conditions a tag lists, for `check`'s lints.
    pub(super) fn conditions(&self) -> impl Iterator<Item = &Cond> {
        self.all.iter().chain(&self.any).chain(&self.none)
    }

    /// Its text conditions, for the matchers to number.
    pub(super) fn text_conditions_mut<'a>(&'a mut self, out: &mut Vec<&'a mut TextCond>) {
        for c in self
            .all
            .iter_mut()
            .chain(self.any.iter_mut())
            .chain(self.none.iter_mut())
        {
            c.text_conditions_mut(out);
        }
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
