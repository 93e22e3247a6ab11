//! The shipped `hacker-news` source on Hacker News' real markup
//! (`tests/fixtures/hacker-news-front.synthetic.html`): two rows per story
//! (`item_rows`), the HN id as identity, points and comments as metrics,
//! the date from the age element's `title`, the discussion link in every
//! output format and on the preview page, and the shipped `hn-ai-hot`
//! topic (AI stories with 100+ points).

use feedloom_testkit as common;

use std::path::Path;

use chrono::{DateTime, Utc};
use feedloom::model::Entry;
use feedloom::normalize::normalize;
use url::Url;

use common::*;

fn shipped() -> feedloom::config::Definitions {
    feedloom::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")).unwrap()
}

fn stories(defs: &feedloom::config::Definitions, now: DateTime<Utc>) -> Vec<Entry> {
    let hn = defs.sources.iter().find(|s| s.id == "hacker-news").unwrap();
    let page = fixture("hacker-news-front.synthetic.html");
    let base = Url::parse("https://news.ycombinator.com/").unwrap();
    feedloom::extract::extract(&hn.kind, &page, Some("text/html; charset=utf-8"), now)
        .unwrap()
        .entries
        .into_iter()
        .map(|raw| {
            let mut e = normalize(raw, "hacker-news", &base, now).unwrap();
            defs.rules.route(&mut e, true, now);
            e
        })
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn every_field_hacker_news_shows() {
    let now = t("2026-11-30T17:00:00Z");
    let es = stories(&shipped(), now);
    assert_eq!(es.len(), 10);
    let kernel = &es[0];
    assert_eq!(kernel.title, "Rust in the Linux kernel: two years on");
    assert_eq!(kernel.link, "https://lwn.net/Articles/1001234/");
    assert_eq!(
        kernel.key, "guid:hacker-news:46101234",
        "the HN id is the identity"
    );
    assert_eq!(kernel.metrics["points"], 311.0);
    assert_eq!(kernel.metrics["comments"], 187.0);
    assert_eq!(kernel.published, t("2026-11-30T14:03:11Z"));
    assert_eq!(kernel.authors, ["jgoerz"]);
    assert_eq!(
        kernel.discussion.as_deref(),
        Some("https://news.ycombinator.com/item?id=46101234")
    );
    // An Ask HN links to its own thread.
    let ask = es.iter().find(|e| e.title.starts_with("Ask HN")).unwrap();
    assert_eq!(ask.link, "https://news.ycombinator.com/item?id=46100871");
    // A job has no score and no comments: no metric, not zero.
    let job = es.iter().find(|e| e.title.contains("is hiring")).unwrap();
    assert!(job.metrics.is_empty(), "{:?}", job.metrics);
    assert!(job.authors.is_empty());
    assert_eq!(job.published, t("2026-11-30T16:00:00Z"));
    // "discuss": no comments yet, and none invented; one comment is 1.
    let fresh = es.iter().find(|e| e.title.contains("Antikythera")).unwrap();
    assert_eq!(fresh.metrics.get("comments"), None);
    assert_eq!(fresh.metrics["points"], 3.0);
    let one = es.iter().find(|e| e.title.contains("schematics")).unwrap();
    assert_eq!(one.metrics["comments"], 1.0);
}

#[test]
fn the_shipped_hot_ai_topic_takes_ai_stories_with_100_points() {
    let now = t("2026-11-30T17:00:00Z");
    let es = stories(&shipped(), now);
    let mut hot: Vec<&str> = es
        .iter()
        .filter(|e| e.topics.contains_key("hn-ai-hot"))
        .map(|e| e.title.as_str())
        .collect();
    hot.sort();
    assert_eq!(
        hot,
        [
            "A practical guide to mixture-of-experts LLM inference",
            "Why our AI agents needed a scheduler, not a bigger model"
        ]
    );
    // The AI story under 100 points is in hn-ai only.
    let cold = es.iter().find(|e| e.title.contains("schematics")).unwrap();
    assert!(cold.topics.contains_key("hn-ai") && !cold.topics.contains_key("hn-ai-hot"));
}

/// The shipped `hacker-news` definition, as written, pointed at `url`.
fn shipped_block(url: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds/sources.toml"))
            .unwrap();
    let start = text.find("[[source]]\nid = \"hacker-news\"").unwrap();
    let end = text[start + 1..]
        .find("[[")
        .map(|i| start + 1 + i)
        .unwrap_or(text.len());
    text[start..end].replace("https://news.ycombinator.com/", url)
}

#[test]
fn discussion_links_in_every_format_and_on_the_preview_page() {
    let up = Upstream::start();
    up.set(
        "/",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("hacker-news-front.synthetic.html"),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}\n{}\n[[topic]]\nid = \"hn\"\n",
            shipped_block(&up.url("/"))
        ),
    );
    let out = ws.poll_ok();
    assert!(
        out.contains("hacker-news: fetched 10 items: 10 new"),
        "{out}"
    );
    let server = ws.serve();
    let thread = format!("http://{}/item?id=46101234", up.addr);

    let rss = server.get("/hn.rss").text();
    assert!(
        rss.contains(&format!("<comments>{thread}</comments>")),
        "{rss}"
    );

    let atom = server.get("/hn.atom");
    jing_atom(ws.dir.path(), "hn.atom", &atom.body).unwrap();
    let feed = parse_feed(&atom.body);
    let kernel = entry_titled(&feed, "Rust in the Linux");
    let replies = link_rel(kernel, "replies").expect("rel=replies");
    assert_eq!(replies.href, thread);
    assert_eq!(replies.media_type.as_deref(), Some("text/html"));

    let json: serde_json::Value = serde_json::from_slice(&server.get("/hn.json").body).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["url"] == "https://lwn.net/Articles/1001234/")
        .unwrap();
    assert_eq!(item["_feedloom"]["discussion_url"], thread.as_str());

    let html = server.get("/hn.html").text();
    assert!(html.contains("311 points"), "{html}");
    assert!(html.contains("187 comments"), "{html}");
    assert!(html.contains(&format!("href=\"{thread}\"")), "{html}");
}

#[test]
fn hugging_face_entries_link_their_discussion() {
    let spec = feedloom::extract::huggingface::HfSpec {
        listing: feedloom::extract::huggingface::Listing::Trending,
        mode: feedloom::extract::huggingface::Mode::Page,
        base: Url::parse("https://huggingface.co/").unwrap(),
        max_pages: 1,
    };
    let now = Utc::now();
    for raw in spec
        .extract(&fixture("hf-trending-2026-10-07.html"), now)
        .unwrap()
    {
        let e = normalize(raw, "hf", &spec.base, now).unwrap();
        assert_eq!(e.discussion, Some(format!("{}#community", e.link)));
    }
}

#[test]
fn html_definition_mistakes_name_the_field() {
    let base = "[[source]]\nid = \"h\"\nkind = \"html\"\nurl = \"https://x.example/\"\n";
    for (extra, want) in [
        (
            "[source.select]\nitem = \"tr\"\ntitle = \"a\"\nitem_rows = 0\n",
            "select.item_rows: 1 to 10",
        ),
        (
            "[source.select]\nitem = \"tr\"\ntitle = \"a\"\nitem_rows = 11\n",
            "select.item_rows: 1 to 10",
        ),
        (
            "[source.select]\nitem = \"tr\"\ntitle = \"a\"\n[source.metrics]\nPoints = \"span\"\n",
            "metric names use",
        ),
        (
            "[source.select]\nitem = \"tr\"\ntitle = \"a\"\n[source.metrics]\npoints = \"span[\"\n",
            "metrics.points: bad CSS selector",
        ),
        (
            "[source.select]\nitem = \"tr\"\ntitle = \"a\"\ncomments = \"a[\"\n",
            "select.comments: bad CSS selector",
        ),
    ] {
        let ws = Workspace::new();
        ws.write("s.toml", &format!("{base}{extra}"));
        let e = feedloom::config::load(&ws.feeds).unwrap_err().to_string();
        assert!(
            e.contains("s.toml") && e.contains("source `h`") && e.contains(want),
            "{want}: {e}"
        );
    }
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        "[[source]]\nid = \"f\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\n[source.metrics]\np = \"x\"\n",
    );
    let e = feedloom::config::load(&ws.feeds).unwrap_err().to_string();
    assert!(e.contains("field `metrics` only applies"), "{e}");
}
