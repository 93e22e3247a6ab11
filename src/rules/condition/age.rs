//! `newer_than` / `older_than`: the entry's published date relative to when
//! the rules run.

use std::time::Duration;

use super::{hit, Condition, RulePath};
use crate::defs::ConditionDef;
use crate::defs::Invalid;
use crate::model::RuleHit;
use crate::rules::subject::Subject;
use crate::units::{human, parse_interval};

/// Published within `newer_than` of now and/or over `older_than` ago.
#[derive(Debug, Clone)]
pub struct AgeCond {
    newer_than: Option<Duration>,
    older_than: Option<Duration>,
}

impl AgeCond {
    pub(super) fn compile(def: &ConditionDef) -> Result<AgeCond, Invalid> {
        let parse = |v: &Option<String>, name: &str| -> Result<Option<Duration>, Invalid> {
            v.as_deref()
                .map(|t| parse_interval(t).map_err(|m| Invalid(format!("`{name}`: {m}"))))
                .transpose()
        };
        Ok(AgeCond {
            newer_than: parse(&def.newer_than, "newer_than")?,
            older_than: parse(&def.older_than, "older_than")?,
        })
    }
}

impl Condition for AgeCond {
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        let age = (s.now - s.entry.published).to_std().unwrap_or_default();
        let ok =
            self.newer_than.is_none_or(|n| age <= n) && self.older_than.is_none_or(|o| age >= o);
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

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.newer_than {
            parts.push(format!("published within {}", human(n)));
        }
        if let Some(o) = self.older_than {
            parts.push(format!("published over {} ago", human(o)));
        }
        parts.join(" and ")
    }

    fn observed(&self, s: &Subject) -> Option<String> {
        Some(format!(
            "published {}",
            s.entry.published.format("%Y-%m-%d")
        ))
    }
}
