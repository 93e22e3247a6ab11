//! The shipped tags in `feeds/`, run against real Hugging Face papers (the
//! 50 of the captured trending page): pins the tuning so an edit that
//! breaks a topic is noticed.

use feedloom_testkit as common;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Utc;
use feedloom::extract::huggingface::{HfSpec, Listing, Mode};
use feedloom::normalize::normalize;
use url::Url;

#[test]
fn shipped_tags_on_real_papers() {
    let defs =
        feedloom::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")).unwrap();
    let spec = HfSpec {
        listing: Listing::Trending,
        mode: Mode::Page,
        base: Url::parse("https://huggingface.co/").unwrap(),
        max_pages: 1,
    };
    let now = Utc::now();
    let papers: Vec<_> = spec
        .extract(&common::fixture("hf-trending-2026-10-07.html"), now)
        .unwrap()
        .into_iter()
        .map(|raw| normalize(raw, "hf-trending", &spec.base, now).unwrap())
        .collect();
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
}
