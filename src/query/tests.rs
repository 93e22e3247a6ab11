use super::*;
use crate::rules::MAX_LIMIT;

fn defs() -> (tempfile::TempDir, Definitions) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.toml"),
        r#"
[[source]]
id = "a"
kind = "feed"
url = "http://127.0.0.1:9/a"

[[source]]
id = "b"
kind = "feed"
url = "http://127.0.0.1:9/b"

[[tag]]
id = "moe"
any = [{ words = ["mixture of experts"] }]

[[tag]]
id = "llm"
any = [{ words = ["LLM"] }]

[[tag]]
id = "hot"
any = [{ metric = "points", gte = 100 }]

[[topic]]
id = "all"
"#,
    )
    .unwrap();
    let defs = crate::config::load(dir.path()).unwrap();
    (dir, defs)
}

fn parse_q(q: &str) -> Result<Asked, BadQuery> {
    let (_dir, defs) = defs();
    parse(Some(q), &defs, MAX_LIMIT)
}

#[test]
fn equal_queries_share_one_canonical_form() {
    let a = parse_q("min_upvotes=50&tag=moe,llm&q=Routing%20Sparse").unwrap();
    let b = parse_q("q=sparse+routing&tag=llm,moe&min_upvotes=50.0").unwrap();
    let (fa, fb) = (a.filter.unwrap(), b.filter.unwrap());
    assert_eq!(fa, fb);
    assert_eq!(
        fa.canonical(),
        "tag=llm,moe&q=routing+sparse&min_upvotes=50"
    );
    // `limit` is not part of the filter.
    let c = parse_q("limit=5&tag=moe").unwrap();
    assert_eq!(c.limit, Some(5));
    assert_eq!(c.filter.unwrap().canonical(), "tag=moe");
    assert_eq!(parse_q("limit=9999").unwrap().limit, Some(MAX_LIMIT));
    assert_eq!(parse_q("limit=3").unwrap().filter, None);
}

#[test]
fn every_parameter_reaches_the_canonical_form() {
    let f = parse_q(
        "since=7d&author=Ada&org=Qwen&source=b,a&max_comments=9&min_points=100&not=llm&any_tag=moe,hot",
    )
    .unwrap()
    .filter
    .unwrap();
    assert_eq!(
        f.canonical(),
        "any_tag=hot,moe&not=llm&max_comments=9&min_points=100&source=a,b&org=qwen&author=ada&since=7d"
    );
    assert!(f.describe().contains("points ≥ 100"), "{}", f.describe());
}

#[test]
fn a_bad_query_names_its_parameter() {
    for (q, param, says) in [
        ("colour=red", "colour", "unknown parameter"),
        ("tag=nope", "tag", "unknown tag `nope`"),
        ("not=moe,nope", "not", "unknown tag `nope`"),
        ("source=zzz", "source", "unknown source `zzz`"),
        ("min_karma=3", "min_karma", "unknown metric `karma`"),
        ("min_upvotes=lots", "min_upvotes", "not a number"),
        ("min_upvotes=NaN", "min_upvotes", "not a number"),
        ("since=yesterday", "since", "not a duration"),
        ("limit=0", "limit", "from 1"),
        ("tag=moe&tag=llm", "tag", "given twice"),
        ("tag=moe,,llm", "tag", "empty value"),
        ("colour=", "colour", "unknown parameter"),
        ("min_karma=", "min_karma", "unknown metric `karma`"),
    ] {
        let e = parse_q(q).unwrap_err();
        assert_eq!(e.param, param, "{q}: {e}");
        assert!(e.to_string().contains(says), "{q}: {e}");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

#[test]
fn strangers_cannot_ask_for_unbounded_work() {
    let many = (0..=MAX_VALUES)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>();
    let e = parse_q(&format!("q={}", many.join("+"))).unwrap_err();
    assert_eq!(e.param, "q");
    let long = "x".repeat(MAX_VALUE_CHARS + 1);
    assert_eq!(
        parse_q(&format!("author={long}")).unwrap_err().param,
        "author"
    );
    let tags = vec!["moe"; MAX_VALUES + 1].join(",");
    assert_eq!(parse_q(&format!("tag={tags}")).unwrap_err().param, "tag");
}

fn entry() -> Entry {
    let raw = crate::model::RawEntry {
        title: Some("Sparse Routing for LLMs".into()),
        link: Some("https://example.org/1".into()),
        summary: Some("<p>A <b>mixture</b> of experts.</p>".into()),
        authors: vec!["Ada Lovelace".into(), "Alan Turing".into()],
        organization: Some("Qwen Team".into()),
        metrics: [("upvotes".to_string(), 60.0)].into(),
        ..Default::default()
    };
    let base = url::Url::parse("https://example.org/").unwrap();
    crate::normalize::normalize(raw, "a", &base, Utc::now()).unwrap()
}

#[test]
fn the_entry_tests_follow_each_parameter() {
    let e = entry();
    let holds = |q: &str| parse_q(q).unwrap().filter.unwrap().matches(&e);
    assert!(holds("min_upvotes=50"));
    assert!(!holds("min_upvotes=61"));
    assert!(holds("max_upvotes=60"));
    assert!(!holds("min_comments=0"), "a missing metric never matches");
    assert!(holds("q=MIXTURE+routing"));
    assert!(!holds("q=mixture+diffusion"));
    assert!(holds("org=qwen"));
    assert!(!holds("org=deepmind"));
    assert!(holds("author=turing"));
    assert!(!holds("author=hopper"));
    assert!(holds("source=a"));
    assert!(!holds("source=b"));

    // The facets a query reads first agree: never "cannot match" for an
    // entry that matches, and (so few words set few filter bits) no "may"
    // for one that does not.
    let facets = postcard::to_allocvec(&crate::store::facets::Facets::of(&e)).unwrap();
    let view: FacetView = postcard::from_bytes(&facets).unwrap();
    for q in [
        "min_upvotes=50",
        "min_upvotes=61",
        "max_upvotes=60",
        "min_comments=0",
        "q=MIXTURE+routing",
        "q=mixture+diffusion",
        "q=xture+llms",
        "org=qwen",
        "org=deepmind",
        "author=turing",
        "author=n+tur",
        "author=hopper",
        "source=a",
        "source=b",
    ] {
        let filter = parse_q(q).unwrap().filter.unwrap();
        assert_eq!(filter.may_match(&view), holds(q), "{q}");
    }
}

#[test]
fn the_head_tests_follow_tags_and_time() {
    let now = Utc::now();
    let f = |q: &str| parse_q(q).unwrap().filter.unwrap();
    let tags = ["llm", "moe"];
    assert!(f("tag=llm,moe").head_matches(&tags, now, now));
    assert!(!f("tag=llm,hot").head_matches(&tags, now, now));
    assert!(f("any_tag=hot,moe").head_matches(&tags, now, now));
    assert!(!f("not=moe").head_matches(&tags, now, now));
    let week = f("since=7d");
    assert!(week.head_matches(&tags, now - chrono::Duration::days(6), now));
    assert!(!week.head_matches(&tags, now - chrono::Duration::days(8), now));
}

/// What an HTML form sends for empty fields is no condition at all.
#[test]
fn empty_fields_are_no_condition() {
    let with_empties = parse_q("tag=moe&q=&org=+&min_upvotes=&limit=").unwrap();
    assert_eq!(with_empties, parse_q("tag=moe").unwrap());
    assert_eq!(parse_q("q=&org=").unwrap().filter, None);
}

#[test]
fn characters_xml_cannot_hold_are_refused() {
    for q in [
        "q=%00%01",
        "q=a%0Bb",
        "author=%1B%5B31m",
        "org=x%EF%BF%BF",
        "q%01=x",
    ] {
        let err = parse_q(q).unwrap_err();
        assert!(err.reason.contains("control characters"), "{q}: {err}");
    }
    // Tabs and line breaks are whitespace between words.
    assert_eq!(
        parse_q("q=mixture%09of%0Aexperts")
            .unwrap()
            .filter
            .unwrap()
            .words,
        ["experts", "mixture", "of"]
    );
}
