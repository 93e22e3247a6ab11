//! The fixture files (`tests/fixtures/`) and the definitions that poll
//! them from a local [`Upstream`].

use std::path::{Path, PathBuf};

use crate::harness::Workspace;
use crate::upstream::{Reply, Upstream};

/// The fixtures folder.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Host rules for the local upstream: tests are not polite to themselves
/// (politeness has its own tests).
pub const LOCAL_HOST_RULES: &str =
    "\n[[host]]\nname = \"127.0.0.1\"\nmin_spacing = \"0s\"\nmax_requests = 100000\n";

/// Definitions for the standard fixture upstream: one source per format.
pub fn fixture_sources(up: &Upstream) -> String {
    fixture_sources_at(&up.url(""))
}

/// The fixture sources at `base` (`http://host:port`, no trailing slash):
/// `/arxiv.rss`, `/lab.atom`, `/group.rdf`, `/robots.json` and `/blog/`.
pub fn fixture_sources_at(base: &str) -> String {
    format!(
        r#"{LOCAL_HOST_RULES}
[[source]]
id = "arxiv"
kind = "feed"
url = "{base}/arxiv.rss"

[[source]]
id = "lab"
kind = "feed"
url = "{base}/lab.atom"

[[source]]
id = "group"
kind = "feed"
url = "{base}/group.rdf"

[[source]]
id = "robots"
kind = "feed"
url = "{base}/robots.json"

[[source]]
id = "blog"
kind = "html"
url = "{base}/blog/"
[source.select]
item = "article.post"
title = "h2.post-title"
link = "h2.post-title a@href"
summary = "div.excerpt"
date = ["time@datetime", "span.date"]
date_format = "%d/%m/%Y"
author = ".author"
category = ".tag"
"#,
    )
}

pub const FIXTURE_RULES: &str = r#"
[[tag]]
id = "llm"
any = [{ words = ["LLM", "LLMs", "language model", "language models", "large language model"] }]

[[tag]]
id = "speech"
any = [{ words = ["speech", "TTS", "ASR"] }]

[[tag]]
id = "agents"
any = [{ words = ["agent", "agents", "agentic"] }]

[[topic]]
id = "all"
title = "Everything"

[[topic]]
id = "llm"
title = "LLM"
tags = { any = ["llm"] }

[[topic]]
id = "speech"
title = "Speech"
tags = { any = ["speech"] }

[[topic]]
id = "agents-not-llm"
tags = { all = ["agents"], none = ["llm"] }
"#;

/// The fixture files behind [`fixture_sources`]: path, content type, file.
pub const FIXTURE_FILES: [(&str, &str, &str); 5] = [
    (
        "/arxiv.rss",
        "application/rss+xml",
        "arxiv-cs.synthetic.rss",
    ),
    (
        "/lab.atom",
        "application/atom+xml",
        "lab-news.synthetic.atom",
    ),
    (
        "/group.rdf",
        "application/rdf+xml",
        "group-blog.synthetic.rdf",
    ),
    (
        "/robots.json",
        "application/feed+json",
        "robotics-digest.synthetic.json",
    ),
    (
        "/blog/",
        "text/html; charset=utf-8",
        "research-blog.synthetic.html",
    ),
];

/// Serves every fixture at the paths [`fixture_sources`] names.
pub fn serve_fixtures(up: &Upstream) {
    for (path, content_type, file) in FIXTURE_FILES {
        up.set(path, Reply::ok(content_type, fixture(file)));
    }
}

/// Entries the fixtures hold in all: 20 arXiv + 3 Atom + 2 RSS 1.0 + 2 JSON
/// Feed + 3 HTML (the fourth card has no title and is skipped).
pub const FIXTURE_ENTRIES: usize = 30;

/// A workspace with the fixture sources and rules, and its upstream.
pub fn fixture_workspace() -> (Workspace, Upstream) {
    let up = Upstream::start();
    serve_fixtures(&up);
    let ws = Workspace::new();
    ws.write("sources.toml", &fixture_sources(&up));
    ws.write("rules.toml", FIXTURE_RULES);
    (ws, up)
}

/// The 50 real entries of the captured trending page's props.
pub fn hf_entries() -> Vec<serde_json::Value> {
    let props: serde_json::Value =
        serde_json::from_slice(&fixture("hf-trending-2026-10-07.props.json")).unwrap();
    props["dailyPapers"].as_array().unwrap().clone()
}

/// (paper id, upvotes) of the 50 real captured entries, in listing order.
pub fn hf_upvotes() -> Vec<(String, f64)> {
    hf_entries()
        .iter()
        .map(|e| {
            (
                e["paper"]["id"].as_str().unwrap().to_string(),
                e["paper"]["upvotes"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// SYNTHETIC: an `/api/daily_papers` response of `n` entries starting at
/// index `start` of an endless list: the 50 real captured entries, then
/// copies of them with ids `2699.NNNNN` and titles marked as copies (no
/// capture of a 100-paper API response exists).
pub fn hf_api_page(start: usize, n: usize) -> Vec<u8> {
    let real = hf_entries();
    let items: Vec<serde_json::Value> = (start..start + n)
        .map(|i| {
            let mut e = real[i % real.len()].clone();
            if i >= real.len() {
                let id = format!("2699.{i:05}");
                let title = format!("{} (copy {i})", e["paper"]["title"].as_str().unwrap());
                e["paper"]["id"] = id.into();
                e["paper"]["title"] = title.clone().into();
                e["title"] = title.into();
            }
            e
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

/// How many entries a store benchmark fills: `FEEDLOOM_BENCH_ENTRIES`, or
/// 100,000 (the size the README's figures are for).
pub fn bench_store_size() -> usize {
    std::env::var("FEEDLOOM_BENCH_ENTRIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// The identity key of a store benchmark's entry `i` (its link, too).
pub fn bench_key(i: usize) -> String {
    format!("link:https://example.org/bench/{i}")
}
