//! `words` and `regex`: text conditions over an entry's fields.
//!
//! `words` match case-insensitively on word boundaries (see the semantics
//! in [`crate::rules`]); each also feeds its words to the rule set's
//! one-pass matcher ([`crate::rules::matcher`]), and `regex` its pattern to
//! the regex screens, so most entries are decided without running the
//! condition's own regex.

use regex::Regex;

use super::{Condition, RulePath, DEFAULT_FIELDS};
use crate::defs::ConditionDef;
use crate::defs::Invalid;
use crate::model::RuleHit;
use crate::rules::subject::{Candidate, Field, Subject};

/// Which text condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Words,
    Regex,
}

impl TextKind {
    pub fn name(self) -> &'static str {
        match self {
            TextKind::Words => "words",
            TextKind::Regex => "regex",
        }
    }
}

/// A compiled `words` or `regex` condition.
#[derive(Debug, Clone)]
pub struct TextCond {
    /// Position among the rule set's text conditions (assigned by the
    /// matchers when the rule set is built; `usize::MAX` before).
    pub id: usize,
    pub kind: TextKind,
    pub fields: Vec<Field>,
    re: Regex,
    /// A cheaper pattern matching at least whatever `re` matches (no word
    /// boundaries), for the regex screens.
    pub prefilter: String,
    /// How the condition reads, for explanations.
    label: String,
    /// `words` only: the words and phrases.
    pub word_list: Vec<String>,
}

impl TextCond {
    pub(super) fn compile(def: &ConditionDef) -> Result<TextCond, Invalid> {
        let fields = match &def.fields {
            Some(names) if names.is_empty() => return Err("`fields` is empty".into()),
            Some(names) => names
                .iter()
                .map(|n| Field::parse(n))
                .collect::<Result<_, _>>()?,
            None => DEFAULT_FIELDS.to_vec(),
        };
        if let Some(words) = &def.words {
            let (re, prefilter) = words_regex(words)?;
            let quoted: Vec<String> = words.iter().map(|w| format!("\"{}\"", w.trim())).collect();
            return Ok(TextCond {
                id: usize::MAX,
                kind: TextKind::Words,
                label: format!("words {}", quoted.join(", ")),
                word_list: words.clone(),
                fields,
                re,
                prefilter,
            });
        }
        let pattern = def
            .regex
            .as_ref()
            .expect("a text condition has words or regex");
        let re = Regex::new(pattern).map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
        if re.is_match("") {
            return Err(format!(
                "regex `{pattern}` matches the empty string, so it matches every entry"
            )
            .into());
        }
        Ok(TextCond {
            id: usize::MAX,
            kind: TextKind::Regex,
            label: format!("regex /{pattern}/"),
            word_list: Vec::new(),
            fields,
            prefilter: pattern.clone(),
            re,
        })
    }
}

impl Condition for TextCond {
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        let mut matched = false;
        for f in &self.fields {
            let found = match s.candidate(*f, self.id) {
                Candidate::No => None,
                Candidate::At(a, b) => s.field(*f).get(a..b),
                Candidate::Verify => self.re.find(s.field(*f)).map(|m| m.as_str()),
            };
            if let Some(m) = found {
                let text = match self.kind {
                    TextKind::Words => trim_guards(m),
                    TextKind::Regex => m,
                };
                hits.push(RuleHit {
                    rule: format!("{path} {}", self.kind.name()),
                    field: f.name().into(),
                    text: text.into(),
                });
                matched = true;
            }
        }
        matched
    }

    fn describe(&self) -> String {
        let f: Vec<&str> = self.fields.iter().map(|f| f.name()).collect();
        format!("{} in {}", self.label, f.join(", "))
    }
}

/// The longest word or phrase in a `words` list, in characters.
pub const MAX_WORD_CHARS: usize = 200;

/// The exact regex for a word list, and its boundary-free prefilter pattern.
fn words_regex(words: &[String]) -> Result<(Regex, String), Invalid> {
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
            )
            .into());
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
pub(in crate::rules) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` lower-cased, and whether every character kept its byte length (so
/// positions in the lower-cased text are positions in `text`).
pub(in crate::rules) fn lowercase_aligned(text: &str) -> (String, bool) {
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
