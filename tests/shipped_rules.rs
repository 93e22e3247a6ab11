//! The shipped tags in `feeds/`, run against real Hugging Face papers (the
//! 50 of the captured trending page): pins the tuning so an edit that
//! breaks a topic is noticed.

use feedloom_testkit as common;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use feedloom::extract::huggingface::{HfSpec, Listing, Mode};
use feedloom::model::Entry;
use feedloom::normalize::normalize;
use url::Url;

/// The 50 papers of the captured trending page, normalized as the poller
/// stores them.
fn real_papers(now: DateTime<Utc>) -> Vec<Entry> {
    let spec = HfSpec {
        listing: Listing::Trending,
        mode: Mode::Page,
        base: Url::parse("https://huggingface.co/").unwrap(),
        max_pages: 1,
    };
    spec.extract(&common::fixture("hf-trending-2026-10-07.html"), now)
        .unwrap()
        .into_iter()
        .map(|raw| normalize(raw, "hf-trending", &spec.base, now).unwrap())
        .collect()
}

#[test]
fn shipped_tags_on_real_papers() {
    let defs =
        feedloom::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")).unwrap();
    let now = Utc::now();
    let papers = real_papers(now);
    let tags_of = |title_start: &str| -> BTreeSet<String> {
        let e = papers
            .iter()
            .find(|e| e.title.starts_with(title_start))
            .unwrap_or_else(|| panic!("no paper titled {title_start}…"));
        defs.rules.tag(e, now).into_keys().collect()
    };
    let has = |title: &str, want: &[&str]| {
        let got = tags_of(title);
        for w in want {
            assert!(got.contains(*w), "{title}: expected tag {w}, got {got:?}");
        }
    };
    let lacks = |title: &str, unwanted: &[&str]| {
        let got = tags_of(title);
        for u in unwanted {
            assert!(!got.contains(*u), "{title}: unexpected tag {u} in {got:?}");
        }
    };
    has("SPEED-Bench", &["efficient-inference", "llm"]);
    has(
        "Efficient Memory Management for Large Language Model Serving",
        &["efficient-inference", "llm"],
    );
    has("FreeToken", &["moe", "efficient-inference", "popular"]);
    has("The Other Half of the Memory Wall", &["moe"]);
    has("Lyra", &["3d", "generative-media"]);
    has("4DCodeBench", &["3d", "agents"]);
    has(
        "Kandinsky 6.0 Video",
        &["generative-media", "speech", "popular"],
    );
    has("Prism", &["generative-media"]);
    has("YuE2", &["generative-media", "speech"]);
    has("Raven", &["agents", "popular"]);
    has("TradingAgents", &["agents", "llm"]);
    has("SmolDocling", &["multimodal"]);
    has(
        "LongCat-Video",
        &["generative-media", "reinforcement-learning"],
    );
    has("Omni Interaction Agent", &["agents", "speech"]);
    lacks("AutoDev", &["robotics"]);
    lacks("VisionHOPE", &["llm", "agents"]);
    lacks(
        "PyTorch Distributed",
        &["llm", "agents", "generative-media"],
    );
    lacks(
        "Hierarchical Continuous Diffusion Language Models",
        &["generative-media"],
    );
    // Every topic of interest has papers in a realistic listing.
    let popular = papers
        .iter()
        .filter(|e| defs.rules.tag(e, now).contains_key("popular"))
        .count();
    let expected = common::hf_entries()
        .iter()
        .filter(|e| e["paper"]["upvotes"].as_f64().unwrap() >= 100.0)
        .count();
    assert_eq!(popular, expected);

    // The shipped organization feed: exactly the papers Hugging Face lists
    // under NVIDIA (three in this capture).
    let by_rule: BTreeSet<&str> = papers
        .iter()
        .filter(|e| defs.rules.tag(e, now).contains_key("nvidia"))
        .map(|e| e.title.as_str())
        .collect();
    let upstream = common::hf_entries();
    let by_upstream: BTreeSet<&str> = upstream
        .iter()
        .filter(|e| {
            let org = e["organization"]
                .get("fullname")
                .or_else(|| e["paper"]["organization"].get("fullname"));
            org.and_then(|o| o.as_str()) == Some("NVIDIA")
        })
        .map(|e| e["paper"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(by_upstream.len(), 3);
    assert_eq!(by_rule, by_upstream);
}

/// `submitter` and `keywords` are rule fields too: each paper's submitter
/// and ai_keywords, as the upstream JSON has them, select that paper.
#[test]
fn paper_fields_are_rule_fields() {
    let now = Utc::now();
    let papers = real_papers(now);
    let upstream = common::hf_entries();
    let first = upstream
        .iter()
        .find(|e| {
            e["paper"]["ai_keywords"][0].is_string() && e["submittedBy"]["fullname"].is_string()
        })
        .unwrap();
    let submitter = first["submittedBy"]["fullname"].as_str().unwrap();
    let keyword = first["paper"]["ai_keywords"][0].as_str().unwrap();
    let title = first["paper"]["title"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sources.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("tags.toml"),
        format!(
            "[[tag]]\nid = \"by\"\nany = [{{ words = [\"{submitter}\"], fields = [\"submitter\"] }}]\n\n\
             [[tag]]\nid = \"kw\"\nany = [{{ words = [\"{keyword}\"], fields = [\"keywords\"] }}]\n\n\
             [[tag]]\nid = \"not-in-title\"\nany = [{{ words = [\"{submitter}\"], fields = [\"title\"] }}]\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("topics.toml"), "").unwrap();
    let defs = feedloom::config::load(dir.path()).unwrap();
    let paper = papers.iter().find(|e| e.title == title).unwrap();
    let tags = defs.rules.tag(paper, now);
    assert!(tags.contains_key("by"), "{tags:?}");
    assert!(tags.contains_key("kw"), "{tags:?}");
    assert!(!tags.contains_key("not-in-title"), "{tags:?}");
    // The submitter rule picks the papers that submitter sent, no others.
    let sent: BTreeSet<&str> = upstream
        .iter()
        .filter(|e| e["submittedBy"]["fullname"].as_str() == Some(submitter))
        .map(|e| e["paper"]["title"].as_str().unwrap())
        .collect();
    let tagged: BTreeSet<&str> = papers
        .iter()
        .filter(|e| defs.rules.tag(e, now).contains_key("by"))
        .map(|e| e.title.as_str())
        .collect();
    assert_eq!(tagged, sent);
}
