//! Lints for `check`: definitions that load but cannot do what they say.

use super::RuleSet;

impl RuleSet {
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
                if let Some(why) = c.lint() {
                    out.push(format!("tag `{}` can never match: {why}", tag.id));
                }
            }
        }
        out
    }
}
