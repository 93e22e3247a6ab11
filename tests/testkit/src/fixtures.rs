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
    format!(
        r#"{LOCAL_HOST_RULES}
[[source]]
id = "arxiv"
kind = "feed"
url = "{arxiv}"

[[source]]
id = "lab"
kind = "feed"
url = "{lab}"

[[source]]
id = "group"
kind = "feed"
url = "{group}"

[[source]]
id = "robots"
kind = "feed"
url = "{robots}"

[[source]]
id = "blog"
kind = "html"
url = "{blog}"
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
        arxiv = up.url("/arxiv.rss"),
        lab = up.url("/lab.atom"),
        group = up.url("/group.rdf"),
        robots = up.url("/robots.json"),
        blog = up.url("/blog/"),
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

/// Serves every fixture at the paths [`fixture_sources`] names.
pub fn serve_fixtures(up: &Upstream) {
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", fixture("arxiv-cs.synthetic.rss")),
    );
    up.set(
        "/lab.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    up.set(
        "/group.rdf",
        Reply::ok("application/rdf+xml", fixture("group-blog.synthetic.rdf")),
    );
    up.set(
        "/robots.json",
        Reply::ok(
            "application/feed+json",
            fixture("robotics-digest.synthetic.json"),
        ),
    );
    up.set(
        "/blog/",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("research-blog.synthetic.html"),
        ),
    );
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
