//! Every supported upstream format, extracted and normalized from fixtures:
//! RSS 2.0, RSS 1.0 (RDF), Atom 1.0, JSON Feed 1.1 and HTML with selectors.

use feedloom_testkit as common;

use chrono::{DateTime, Utc};
use feedloom::defs::{SelectDef, Selectors};
use feedloom::extract::html::HtmlSpec;
use feedloom::extract::SourceKind;
use feedloom::extract::{extract, ExtractError};
use feedloom::model::Entry;
use feedloom::normalize::normalize;
use url::Url;

use common::fixture;

fn now() -> DateTime<Utc> {
    "2026-10-08T00:00:00Z".parse().unwrap()
}

fn entries(kind: &SourceKind, body: &[u8], page: &str) -> Vec<Entry> {
    let base = Url::parse(page).unwrap();
    extract(kind, body, None, now())
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|raw| normalize(raw, "src", &base, now()).ok())
        .collect()
}

fn date(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn rss_2_arxiv_layout() {
    let es = entries(
        &SourceKind::Feed,
        &fixture("arxiv-cs.synthetic.rss"),
        "https://rss.arxiv.org/rss/cs.CL",
    );
    assert_eq!(es.len(), 20);
    let e = es
        .iter()
        .find(|e| e.link == "https://arxiv.org/abs/2309.06180")
        .unwrap();
    assert_eq!(e.key, "arxiv:2309.06180");
    // arXiv's hard line breaks in titles become single spaces.
    assert_eq!(
        e.title,
        "Efficient Memory Management for Large Language Model Serving with PagedAttention"
    );
    assert_eq!(e.published, date("2026-10-07T04:00:00Z"));
    assert_eq!(e.authors.first().map(String::as_str), Some("Woosuk Kwon"));
    assert!(e.authors.len() > 3, "dc:creator lists are split into names");
    assert_eq!(e.categories, vec!["cs.CL".to_string(), "cs.AI".to_string()]);
    assert!(e.summary.contains("PagedAttention"));
    assert!(
        e.summary.starts_with("High throughput serving"),
        "arXiv's preamble is dropped: {}",
        e.summary
    );
}

#[test]
fn rss_1_rdf() {
    let es = entries(
        &SourceKind::Feed,
        &fixture("group-blog.synthetic.rdf"),
        "https://group.example.net/blog",
    );
    assert_eq!(es.len(), 2);
    let e = &es[0];
    assert_eq!(e.title, "Streaming speech recognition at 80 ms latency");
    assert_eq!(e.link, "https://group.example.net/blog/asr-streaming");
    assert_eq!(e.published, date("2026-09-30T15:00:00Z"), "dc:date");
    assert_eq!(e.authors, vec!["Chen Example".to_string()]);
    assert_eq!(e.categories, vec!["speech".to_string()]);
}

#[test]
fn atom_1() {
    let es = entries(
        &SourceKind::Feed,
        &fixture("lab-news.synthetic.atom"),
        "https://lab.example.org/news.atom",
    );
    assert_eq!(es.len(), 3);
    let moe = &es[0];
    assert_eq!(
        moe.title, "Scaling mixture-of-experts inference on one GPU",
        "html title made plain"
    );
    assert_eq!(
        moe.link, "https://lab.example.org/news/moe-one-gpu",
        "relative, tracking stripped"
    );
    assert_eq!(
        moe.key,
        "guid:src:tag:lab.example.org,2026:news/moe-one-gpu"
    );
    assert_eq!(moe.published, date("2026-10-05T07:00:00Z"));
    assert_eq!(moe.updated, date("2026-10-05T08:30:00Z"));
    assert_eq!(
        moe.authors,
        vec!["Ada Example".to_string(), "Bo Sample".to_string()]
    );
    assert_eq!(
        moe.categories,
        vec!["inference".to_string(), "Mixture of experts".to_string()]
    );
    assert!(!moe.summary.contains("script") && !moe.summary.contains("onerror"));
    assert!(
        moe.summary
            .contains("src=\"https://lab.example.org/img/moe.png\""),
        "{}",
        moe.summary
    );
    let content = moe.content.as_deref().unwrap();
    assert!(
        !content.contains("javascript:") && !content.contains("iframe"),
        "{content}"
    );

    let plain = &es[1];
    assert_eq!(
        plain.title,
        "A plain-text title with <angle brackets> & ampersands"
    );
    assert!(
        plain.summary.contains("2 &lt; 3 &amp; 4 &gt; 1"),
        "text summaries are escaped: {}",
        plain.summary
    );
    assert_eq!(
        plain.published,
        date("2026-10-03T08:00:00Z"),
        "no <published>: <updated>"
    );

    assert_eq!(
        es[2].key, "arxiv:2604.09557",
        "an arXiv link is a global id"
    );
}

#[test]
fn json_feed_1_1() {
    let es = entries(
        &SourceKind::Feed,
        &fixture("robotics-digest.synthetic.json"),
        "https://robots.example.com/feed.json",
    );
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].title, "Humanoid robot learns to fold laundry");
    assert_eq!(es[0].published, date("2026-10-02T14:00:00Z"));
    assert_eq!(
        es[0].categories,
        vec!["robotics".to_string(), "manipulation".to_string()]
    );
    assert!(!es[0]
        .content
        .as_deref()
        .unwrap_or_default()
        .contains("script"));
    assert_eq!(es[1].key, "guid:src:102", "numeric ids are accepted");
    assert_eq!(
        es[1].authors,
        vec!["Finn Example".to_string()],
        "JSON Feed 1.0 author"
    );
    assert_eq!(es[1].updated, date("2026-10-03T07:00:00Z"));
}

fn blog_spec() -> SourceKind {
    let one = |s: &str| Some(Selectors::One(s.into()));
    let def = SelectDef {
        item: Some("article.post".into()),
        title: Selectors::One("h2.post-title".into()),
        link: one("h2.post-title a@href"),
        summary: one("div.excerpt"),
        date: Some(Selectors::Many(vec![
            "time@datetime".into(),
            "span.date".into(),
        ])),
        date_format: Some("%d/%m/%Y".into()),
        author: one(".author"),
        category: one(".tag"),
        ..Default::default()
    };
    SourceKind::Html(Box::new(HtmlSpec::compile(&def, None).unwrap()))
}

#[test]
fn html_with_selectors() {
    let es = entries(
        &blog_spec(),
        &fixture("research-blog.synthetic.html"),
        "https://blog.example.org/research/",
    );
    assert_eq!(es.len(), 3, "the card without a title is skipped");
    let a = &es[0];
    assert_eq!(a.title, "Agents that plan before they act");
    assert_eq!(a.link, "https://blog.example.org/posts/agents-that-plan");
    assert_eq!(a.published, date("2026-10-06T08:00:00Z"), "<time datetime>");
    assert_eq!(a.authors, vec!["Gil Example".to_string()]);
    assert_eq!(
        a.categories,
        vec!["agents".to_string(), "planning".to_string()]
    );
    assert!(
        a.summary.contains("<b>LLM agent</b>") && !a.summary.contains("track()"),
        "{}",
        a.summary
    );

    let b = &es[1];
    assert_eq!(
        b.link, "https://blog.example.org/research/posts/diffusion-video",
        "relative to the page"
    );
    assert_eq!(
        b.published,
        date("2026-10-04T00:00:00Z"),
        "day-first date via date_format"
    );
    assert!(!b.summary.contains("onclick"));

    let c = &es[2];
    assert_eq!(c.link, "https://elsewhere.example.org/guest-post");
    assert_eq!(c.published, now(), "no date: first seen");
}

#[test]
fn non_feeds_are_named_for_what_they_are() {
    let cases: [(&[u8], &str); 5] = [
        (
            b"<!DOCTYPE html><html><body>Service Unavailable</body></html>",
            "HTML page",
        ),
        (b"", "empty"),
        (b"Just some text", "neither XML nor JSON"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "unknown root element <svg>",
        ),
        (b"{\"version\": \"1\", \"items\": []}", "not a JSON Feed"),
    ];
    for (body, want) in cases {
        let err = extract(&SourceKind::Feed, body, None, now()).unwrap_err();
        assert!(matches!(err, ExtractError::NotAFeed(_)), "{err}");
        assert!(
            err.to_string().contains(want),
            "{err} should mention {want}"
        );
    }
    // A feed cut short is read for the entries it holds whole, and said
    // to be cut (issue 27: partial beats nothing).
    let whole = fixture("lab-news.synthetic.atom");
    let all = extract(&SourceKind::Feed, &whole, None, now()).unwrap();
    let mut truncated = whole.clone();
    truncated.truncate(truncated.len() - 200);
    let got = extract(&SourceKind::Feed, &truncated, None, now()).unwrap();
    assert!(got.repairs.cut_short);
    assert_eq!(got.entries.len(), all.entries.len() - 1);
    assert!(
        got.repairs.first[0].what.contains("ends inside <entry>"),
        "{:?}",
        got.repairs
    );
    // What holds no item of a feed at all stays an error, with its place.
    let err = extract(
        &SourceKind::Feed,
        b"<rss version=\"2.0\"><chan",
        None,
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("malformed RSS"), "{err}");
}
