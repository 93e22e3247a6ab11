//! Fingerprints of the rules: what decides stored tags and memberships, so
//! a restart or reload re-evaluates the store only for what changed.

use super::RuleSet;

impl RuleSet {
    /// Fingerprints of the tag definitions and of each topic's selection
    /// (its definition and the tags it names): what decides stored tags and
    /// memberships. Titles and descriptions do not count.
    pub fn fingerprints(&self) -> crate::store::RuleFingerprints {
        let hash = |text: &str| crate::identity::short_hash(&[text.as_bytes()], 12);
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
}
