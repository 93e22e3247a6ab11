//! The matcher engine: every text condition of a rule set screened at once,
//! so routing an entry costs one pass per field rather than one regex per
//! condition.
//!
//! Words and phrases of all `words` conditions go into one Aho-Corasick
//! automaton over lower-cased text (word boundaries checked at each hit);
//! `regex` conditions are screened per field (`RegexScreen`). What they
//! find is a `Candidate` per condition and field in the [`Subject`]; a
//! condition then runs its own regex only where a candidate needs
//! verifying.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

use super::condition::text::{is_word_char, lowercase_aligned};
use super::condition::{TextCond, TextKind};
use super::subject::{Candidate, Field, Subject};
use super::tag::Tag;

/// Bytes of all word patterns up to which the word matcher is a full DFA.
const MAX_DFA_WORD_BYTES: usize = 64 * 1024;

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
pub(super) const REGEX_SET_FROM: usize = 24;

/// One word or phrase in the combined automaton.
#[derive(Debug, Clone)]
struct WordPattern {
    condition: usize,
    /// A word boundary is needed before / after it (it starts / ends with a
    /// letter, digit or `_`).
    start: bool,
    end: bool,
}

/// The combined matchers of a rule set.
#[derive(Debug, Clone, Default)]
pub(super) struct Matchers {
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
}

impl Matchers {
    /// Numbers the text conditions of `tags` and builds the matchers over
    /// them; from `regex_set_from` regexes on one field, a set screens them.
    pub(super) fn build(tags: &mut [Tag], regex_set_from: usize) -> Matchers {
        let mut conds: Vec<&mut TextCond> = Vec::new();
        for tag in tags.iter_mut() {
            tag.text_conditions_mut(&mut conds);
        }
        let mut per_field: Vec<Vec<(usize, String)>> = vec![Vec::new(); Field::ALL.len()];
        let mut words: Vec<(String, WordPattern)> = Vec::new();
        let mut condition_fields = Vec::with_capacity(conds.len());
        for (id, c) in conds.iter_mut().enumerate() {
            c.id = id;
            condition_fields.push(c.fields.clone());
            match c.kind {
                TextKind::Words => {
                    for w in &c.word_list {
                        let normalized = crate::text::collapse_ws(w);
                        words.push((
                            lowercase_aligned(&normalized).0,
                            WordPattern {
                                condition: id,
                                start: normalized.starts_with(is_word_char),
                                end: normalized.ends_with(is_word_char),
                            },
                        ));
                    }
                }
                TextKind::Regex => {
                    for f in &c.fields {
                        per_field[f.index()].push((id, c.prefilter.clone()));
                    }
                }
            }
        }
        let text_conditions = conds.len();
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
        Matchers {
            words,
            prefilter,
            condition_fields,
            text_conditions,
        }
    }

    /// Per field and text condition, what the matchers found in `s`; `None`
    /// when there are no matchers (every condition checks its own regex).
    pub(super) fn candidates(&self, s: &Subject) -> Option<Vec<Vec<Candidate>>> {
        if self.words.is_none()
            && self
                .prefilter
                .iter()
                .all(|p| matches!(p, RegexScreen::Nothing))
        {
            return None;
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
        Some(found)
    }
}
