//! The rules' semantics, table-driven, over every condition kind and both
//! regex screens.

use super::condition::{Cond, RulePath};
use super::*;
use crate::defs::{ConditionDef, TagDef};

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
        let tag_def: TagDef = toml::from_str(&toml_def).unwrap_or_else(|e| panic!("{def}: {e}"));
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
        toml::from_str("id = \"t\"\nany = [{ older_than = \"1d\", newer_than = \"7d\" }]").unwrap();
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
    assert!(Cond::compile(&both).unwrap_err().0.contains("exactly one"));
    let empty_re = ConditionDef {
        regex: Some("a|".into()),
        ..Default::default()
    };
    assert!(Cond::compile(&empty_re)
        .unwrap_err()
        .0
        .contains("empty string"));
    let bad_field = ConditionDef {
        words: Some(vec!["a".into()]),
        fields: Some(vec!["titel".into()]),
        ..Default::default()
    };
    assert!(Cond::compile(&bad_field)
        .unwrap_err()
        .0
        .contains("unknown field `titel`"));
    let long_word = ConditionDef {
        words: Some(vec!["x".repeat(MAX_WORD_CHARS + 1)]),
        ..Default::default()
    };
    assert!(Cond::compile(&long_word)
        .unwrap_err()
        .0
        .contains("at most 200"));
}
