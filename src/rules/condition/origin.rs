//! `source` and `host`: where an entry comes from, compared exactly (a host
//! also matches its subdomains).

use super::{hit, non_empty, Condition, RulePath};
use crate::defs::Invalid;
use crate::model::RuleHit;
use crate::rules::subject::Subject;

/// One of these source ids listed the entry.
#[derive(Debug, Clone)]
pub struct SourceCond(Vec<String>);

impl SourceCond {
    pub(super) fn compile(list: &[String]) -> Result<SourceCond, Invalid> {
        non_empty(list, "source").map(|l| SourceCond(l.to_vec()))
    }
}

impl Condition for SourceCond {
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        match s.entry.sources.iter().find(|src| self.0.contains(src)) {
            Some(src) => {
                hits.push(hit(path, "source", "source", src));
                true
            }
            None => false,
        }
    }

    fn describe(&self) -> String {
        format!("source one of {}", self.0.join(", "))
    }

    fn observed(&self, s: &Subject) -> Option<String> {
        Some(format!("sources {}", s.entry.sources.join(", ")))
    }
}

/// The entry's link is on one of these hosts or their subdomains.
#[derive(Debug, Clone)]
pub struct HostCond(Vec<String>);

impl HostCond {
    pub(super) fn compile(list: &[String]) -> Result<HostCond, Invalid> {
        let hosts = non_empty(list, "host")?;
        Ok(HostCond(
            hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        ))
    }
}

impl Condition for HostCond {
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        let h = &s.host;
        let found = self.0.iter().any(|want| {
            h == want || (h.ends_with(want.as_str()) && h[..h.len() - want.len()].ends_with('.'))
        });
        if found {
            hits.push(hit(path, "host", "link", h));
        }
        found
    }

    fn describe(&self) -> String {
        format!("link host one of {}", self.0.join(", "))
    }

    fn observed(&self, s: &Subject) -> Option<String> {
        Some(format!(
            "host {}",
            if s.host.is_empty() { "none" } else { &s.host }
        ))
    }
}
