//! Hugging Face Daily Papers from real captures: every field, the card
//! fallback against the JSON, duplicate cards, API paging, cross-source
//! identity, and served topic feeds built from a local upstream.

use feedloom_testkit as common;

use chrono::{DateTime, Utc};
use feedloom::extract::huggingface::{cards, HfSpec, Listing, Mode};
use feedloom::extract::SourceKind;
use feedloom::model::{Entry, RawEntry};
use feedloom::normalize::normalize;
use url::Url;

use common::*;

fn fetched_at() -> DateTime<Utc> {
    "2026-10-07T05:05:00Z".parse().unwrap()
}

fn spec(listing: Listing, mode: Mode) -> HfSpec {
    HfSpec {
        max_pages: HfSpec::default_max_pages(&listing),
        listing,
        mode,
        base: Url::parse("https://huggingface.co/").unwrap(),
    }
}

fn normalized(raw: Vec<RawEntry>) -> Vec<Entry> {
    let base = Url::parse("https://huggingface.co/").unwrap();
    raw.into_iter()
        .map(|r| normalize(r, "hf", &base, fetched_at()).unwrap())
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn every_field_of_an_api_item() {
    let s = spec(Listing::Daily(None), Mode::Api);
    let raw = s
        .extract(
            &fixture("hf-api-daily_papers-item-2602.23229.json"),
            fetched_at(),
        )
        .unwrap();
    let e = &normalized(raw)[0];
    assert_eq!(e.key, "arxiv:2602.23229");
    assert_eq!(
        e.title,
        "Large Multimodal Models as General In-Context Classifiers"
    );
    assert_eq!(e.link, "https://huggingface.co/papers/2602.23229");
    assert!(e
        .summary
        .starts_with("<p>Which multimodal model should we use for classification?"));
    assert!(
        e.summary.contains("their \"in-context\" equivalent")
            || e.summary
                .contains("their &quot;in-context&quot; equivalent")
    );
    assert_eq!(
        e.authors,
        [
            "Marco Garosi",
            "Matteo Farina",
            "Alessandro Conti",
            "Massimiliano Mancini",
            "Elisa Ricci"
        ]
    );
    assert_eq!(
        e.organization.as_deref(),
        Some("Multimedia and Human Understanding Group")
    );
    assert_eq!(e.submitter.as_deref(), Some("Marco Garosi"));
    assert_eq!(e.metrics["upvotes"], 10.0);
    assert_eq!(e.metrics["comments"], 1.0);
    assert_eq!(e.metrics["stars"], 9.0);
    assert_eq!(e.categories.len(), 9);
    assert_eq!(e.categories[0], "Vision-Language Models");
    assert!(e
        .ai_summary
        .as_deref()
        .unwrap()
        .starts_with("Large Multimodal Models demonstrate"));
    // The paper's arXiv date, not the entry-level one shifted to US-Eastern.
    assert_eq!(e.published, t("2026-02-26T17:08:18Z"));
    assert_eq!(
        e.listed,
        Some(t("2026-03-06T03:55:12.777Z")),
        "the day it made Daily Papers"
    );
    let links: Vec<(&str, &str)> = e
        .related
        .iter()
        .map(|l| (l.label.as_str(), l.href.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("arXiv", "https://arxiv.org/abs/2602.23229"),
            ("PDF", "https://arxiv.org/pdf/2602.23229"),
            ("GitHub", "https://github.com/marco-garosi/CIRCLE"),
            ("Project page", "https://circle-lmm.github.io/"),
        ]
    );
    let media = e.media.as_ref().unwrap();
    assert_eq!(
        media.url,
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2602.23229.png"
    );
    assert_eq!(media.mime, "image/png");
}

#[test]
fn the_full_trending_page_json() {
    let s = spec(Listing::Trending, Mode::Page);
    let es = normalized(
        s.extract(&fixture("hf-trending-2026-10-07.html"), fetched_at())
            .unwrap(),
    );
    assert_eq!(es.len(), 50);
    let ids: std::collections::HashSet<_> = es.iter().map(|e| e.key.clone()).collect();
    assert_eq!(ids.len(), 50);
    let paged = es.iter().find(|e| e.key == "arxiv:2309.06180").unwrap();
    assert_eq!(
        paged.title,
        "Efficient Memory Management for Large Language Model Serving with PagedAttention",
        "arXiv's hard line break in the title is gone"
    );
    assert!(!paged.summary.contains('\n'), "{}", paged.summary);
    assert_eq!(paged.metrics["stars"], 86094.0);
    // A video thumbnail is published as the enclosure.
    let kandinsky = es.iter().find(|e| e.key == "arxiv:2610.05608").unwrap();
    assert_eq!(kandinsky.media.as_ref().unwrap().mime, "video/mp4");
    // Trending is news when seen: listed at fetch time, a microsecond apart
    // per rank so topic feeds keep the trending order.
    assert_eq!(es[0].listed, Some(fetched_at()));
    assert!(
        es.windows(2).all(|w| w[0].listed > w[1].listed),
        "rank order is kept"
    );
    assert!(fetched_at() - paged.listed.unwrap() < chrono::Duration::milliseconds(1));
    assert_eq!(paged.published, t("2023-09-12T12:50:04Z"));
}

#[test]
fn the_card_fallback_agrees_with_the_json() {
    let page = fixture("hf-trending-2026-10-07.html");
    let base = Url::parse("https://huggingface.co/").unwrap();
    let from_json = normalized(
        spec(Listing::Trending, Mode::Page)
            .extract(&page, fetched_at())
            .unwrap(),
    );
    let from_cards = normalized(cards::extract(&page, &base, fetched_at()).unwrap());
    assert_eq!(
        from_cards.len(),
        50,
        "each card counts once although rendered twice"
    );
    for c in &from_cards {
        let j = from_json
            .iter()
            .find(|j| j.key == c.key)
            .unwrap_or_else(|| panic!("{} only in cards", c.key));
        assert_eq!(c.id, j.id, "same identity either way");
        assert_eq!(c.title, j.title);
        assert_eq!(c.link, j.link);
        assert_eq!(
            c.metrics.get("upvotes"),
            j.metrics.get("upvotes"),
            "{}",
            c.key
        );
        if let Some(stars) = c.metrics.get("stars") {
            // Cards abbreviate (86.1k); the JSON has the exact count.
            let exact = j.metrics["stars"];
            assert!(
                (stars - exact).abs() <= exact * 0.005 + 0.5,
                "{}: {stars} vs {exact}",
                c.key
            );
        }
        assert_eq!(
            c.published.date_naive(),
            j.published.date_naive(),
            "{}",
            c.key
        );
        let gh = |e: &Entry| {
            e.related
                .iter()
                .find(|l| l.label == "GitHub")
                .map(|l| l.href.clone())
        };
        assert_eq!(gh(c), gh(j), "{}", c.key);
        assert_eq!(c.organization, j.organization, "{}", c.key);
    }
}

#[test]
fn a_page_without_its_json_falls_back_to_cards() {
    let page = String::from_utf8(fixture("hf-trending-2026-10-07.excerpt.html"))
        .unwrap()
        .replace("data-target=\"DailyPapers\"", "data-target=\"Renamed\"");
    let es = normalized(
        spec(Listing::Trending, Mode::Page)
            .extract(page.as_bytes(), fetched_at())
            .unwrap(),
    );
    assert_eq!(es.len(), 1, "desktop and mobile blocks are one paper");
    let e = &es[0];
    assert_eq!(e.key, "arxiv:2609.33325");
    assert_eq!(
        e.title,
        "VisionHOPE: Visual Backbones as Self-Modifying Learning Systems"
    );
    assert_eq!(e.metrics["upvotes"], 323.0);
    assert_eq!(e.metrics["stars"], 843.0);
    assert_eq!(e.published, t("2026-09-27T00:00:00Z"));
    assert_eq!(e.organization.as_deref(), Some("Mininglamp Technology"));
    assert_eq!(e.submitter.as_deref(), Some("PSRben"));
    assert!(e.media.as_ref().unwrap().url.ends_with("/2609.33325.png"));

    // The same card pasted twice still counts once.
    let i = page.find("<article").unwrap();
    let j = page.rfind("</article>").unwrap() + "</article>".len();
    let doubled = format!("{}{}{}", &page[..j], &page[i..j], &page[j..]);
    assert_eq!(
        spec(Listing::Trending, Mode::Page)
            .extract(doubled.as_bytes(), fetched_at())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn compact_cards_with_year_less_dates_and_abbreviated_counts() {
    // SYNTHETIC: the compact daily/search card layout as the notes describe
    // it (no capture exists): upvotes "-" before the title, a year-less date,
    // a comment count link, abbreviated stars.
    let page = r##"<html><body><main>
      <article><a href="/login?next=%2Fpapers%2F2612.00001">-</a>
        <h3><a href="/papers/2612.00001">A paper from late December</a></h3>
        <p>Abstract one.</p><span>Dec 30</span><a href="/papers/2612.00001#community">6</a>
        <a class="btn" href="https://github.com/x/y"><span>GitHub</span><span>1.54k</span></a></article>
      <article><a href="/login?next=%2Fpapers%2F2701.00002">12</a>
        <h3><a href="/papers/2701.00002">A paper from January</a></h3><span>Jan 2</span></article>
    </main></body></html>"##;
    let base = Url::parse("https://huggingface.co/").unwrap();
    let jan3: DateTime<Utc> = "2027-01-03T10:00:00Z".parse().unwrap();
    let es = cards::extract(page.as_bytes(), &base, jan3).unwrap();
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].metrics["upvotes"], 0.0, "\"-\" is zero");
    assert_eq!(es[0].metrics["comments"], 6.0);
    assert_eq!(es[0].metrics["stars"], 1540.0);
    assert_eq!(
        es[0].published,
        Some(t("2026-12-30T00:00:00Z")),
        "December seen in January is last year"
    );
    assert_eq!(es[1].published, Some(t("2027-01-02T00:00:00Z")));
    assert_eq!(es[1].metrics["upvotes"], 12.0);
}

#[test]
fn an_api_error_object_is_not_a_feed() {
    let s = spec(Listing::Daily(None), Mode::Api);
    let err = s
        .extract(br#"{"error":"Invalid date"}"#, fetched_at())
        .unwrap_err();
    assert!(err.to_string().contains("Invalid date"), "{err}");
    let err = s.extract(b"<html>busy</html>", fetched_at()).unwrap_err();
    assert!(
        err.to_string().contains("malformed Hugging Face API JSON"),
        "{err}"
    );
    let _ = SourceKind::HuggingFace(Box::new(s));
}

fn hf_source(up: &Upstream, id: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nkind = \"huggingface_papers\"\nbase_url = \"{}\"\n{extra}\n",
        up.url("/")
    )
}

const HF_RULES: &str = r#"
[[tag]]
id = "popular"
any = [{ metric = "upvotes", gte = 100 }]

[[tag]]
id = "agents"
any = [{ words = ["agent", "agents", "agentic"] }]

[[topic]]
id = "popular"
title = "Popular papers"
tags = { any = ["popular"] }

[[topic]]
id = "agents"
tags = { any = ["agents"] }

[[topic]]
id = "all"
"#;

fn requests_for(up: &Upstream, prefix: &str) -> usize {
    up.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with(prefix))
        })
        .count()
}

#[test]
fn api_paging_stops_at_a_short_page() {
    let up = Upstream::start();
    let q = "/api/daily_papers?date=2026-10-07&limit=100";
    up.set(
        &format!("{q}&p=0"),
        Reply::ok("application/json", hf_api_page(0, 100)),
    );
    up.set(
        &format!("{q}&p=1"),
        Reply::ok("application/json", hf_api_page(100, 20)),
    );
    up.set(
        &format!("{q}&p=2"),
        Reply::ok("application/json", hf_api_page(120, 100)),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &hf_source(&up, "hf-day", "listing = \"daily\"\ndate = \"2026-10-07\""),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    let out = ws.poll_ok();
    assert!(out.contains("hf-day: fetched 120 items: 120 new"), "{out}");
    assert_eq!(
        requests_for(&up, "/api/daily_papers"),
        2,
        "a short page ends the listing"
    );
    let ua = up.requests.lock().unwrap()[0].clone();
    assert!(
        ua.to_ascii_lowercase().contains("user-agent: feedloom/"),
        "descriptive User-Agent: {ua}"
    );
}

#[test]
fn api_paging_stops_at_an_empty_page_and_at_max_pages() {
    let up = Upstream::start();
    let q = "/api/daily_papers?week=2026-W41&limit=100";
    up.set(
        &format!("{q}&p=0"),
        Reply::ok("application/json", hf_api_page(0, 100)),
    );
    up.set(&format!("{q}&p=1"), Reply::ok("application/json", "[]"));
    let m = "/api/daily_papers?month=2026-10&limit=100";
    for p in 0..5 {
        up.set(
            &format!("{m}&p={p}"),
            Reply::ok("application/json", hf_api_page(p * 100, 100)),
        );
    }
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &(hf_source(&up, "hf-week", "listing = \"weekly\"\nweek = \"2026-W41\"")
            + &hf_source(
                &up,
                "hf-month",
                "listing = \"monthly\"\nmonth = \"2026-10\"\nmax_pages = 3",
            )),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    let out = ws.poll_ok();
    assert!(out.contains("hf-week: fetched 100 items"), "{out}");
    assert!(out.contains("hf-month: fetched 300 items"), "{out}");
    assert_eq!(requests_for(&up, "/api/daily_papers?week"), 2);
    assert_eq!(requests_for(&up, "/api/daily_papers?month"), 3);
}

#[test]
fn served_topic_feeds_from_a_local_hugging_face() {
    let up = Upstream::start();
    up.set(
        "/api/daily_papers?sort=trending&limit=100&p=0",
        Reply::ok("application/json", hf_api_page(0, 50)),
    );
    up.set(
        "/papers/trending",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("hf-trending-2026-10-07.html"),
        ),
    );
    up.set(
        "/api/papers/search?q=agent+memory&limit=100",
        Reply::ok("application/json", hf_api_page(12, 3)),
    );
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", fixture("arxiv-cs.synthetic.rss")),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &(hf_source(&up, "hf-trending", "listing = \"trending\"")
            + &hf_source(
                &up,
                "hf-trending-page",
                "listing = \"trending\"\nmode = \"page\"",
            )
            + &hf_source(
                &up,
                "hf-search",
                "listing = \"search\"\nquery = \"agent memory\"",
            )
            // Below the Hugging Face sources: whichever is polled first,
            // a paper both carry links to its Hugging Face page.
            + &format!(
                "[[source]]\nid = \"arxiv\"\nkind = \"feed\"\nurl = \"{}\"\npriority = -1\n",
                up.url("/arxiv.rss")
            )),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    let out = ws.poll_ok();
    assert!(out.contains("hf-trending: fetched 50 items"), "{out}");
    assert!(out.contains("hf-trending-page: fetched 50 items"), "{out}");
    assert!(out.contains("hf-search: fetched 3 items"), "{out}");

    let server = ws.serve();
    // The same 50 papers from the API, the page and (20 of them) arXiv are
    // 50 entries.
    let all = parse_feed(&server.get("/all.atom?limit=500").body);
    assert_eq!(all.entries.len(), 50, "one entry per paper across sources");

    let popular = parse_feed(&server.get("/popular.rss").body);
    let expected = hf_entries()
        .iter()
        .filter(|e| e["paper"]["upvotes"].as_f64().unwrap() >= 100.0)
        .count();
    assert_eq!(popular.entries.len(), expected);
    let body = server.get("/popular.rss").text();
    assert!(body.contains("upvotes"), "descriptions show the counts");
    assert!(
        body.contains("https://arxiv.org/pdf/"),
        "descriptions link the PDF"
    );
    assert!(
        body.contains("<enclosure url=\"https://cdn-"),
        "media become enclosures"
    );
    let raven = popular
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content.starts_with("Raven"))
        .expect("Raven (566 upvotes) is popular");
    assert!(
        raven.links[0].href.ends_with("/papers/2609.33439"),
        "{:?}",
        raven.links
    );
    assert!(raven.categories.iter().any(|c| c.term == "popular"));

    if let Err(report) = jing_atom(
        ws.dir.path(),
        "popular.atom",
        &server.get("/popular.atom").body,
    ) {
        panic!("/popular.atom is not valid Atom:\n{report}");
    }
}

#[test]
fn upvotes_update_in_place_and_a_crossing_enters_the_topic_at_the_top() {
    let up = Upstream::start();
    let path = "/api/daily_papers?date=2026-10-07&limit=100&p=0";
    let mut entries = hf_entries();
    entries.truncate(5);
    // 2609.18063 has 25 upvotes: not popular yet.
    up.set(
        path,
        Reply::ok("application/json", serde_json::to_vec(&entries).unwrap()),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &hf_source(&up, "hf", "listing = \"daily\"\ndate = \"2026-10-07\""),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    ws.poll_ok();
    let before = {
        let s = ws.serve();
        parse_feed(&s.get("/all.atom").body)
    };

    entries[1]["paper"]["upvotes"] = 250.into();
    up.set(
        path,
        Reply::ok("application/json", serde_json::to_vec(&entries).unwrap()),
    );
    let out = ws.poll_ok();
    assert!(
        out.contains("hf: fetched 5 items: 0 new, 1 updated, 4 unchanged"),
        "{out}"
    );
    let server = ws.serve();
    let popular = parse_feed(&server.get("/popular.atom").body);
    let crossed_title = entries[1]["paper"]["title"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        popular.entries[0].title.as_ref().unwrap().content,
        crossed_title,
        "the paper that just crossed the threshold is on top"
    );
    assert!(
        popular.entries.len() >= 2,
        "and the older popular papers stay below it"
    );
    let after = parse_feed(&server.get("/all.atom").body);
    let find = |f: &feed_rs::model::Feed| {
        f.entries
            .iter()
            .find(|e| e.links[0].href.ends_with("2609.18063"))
            .cloned()
            .unwrap()
    };
    let (old, new) = (find(&before), find(&after));
    assert_eq!(old.id, new.id);
    assert_eq!(old.published, new.published);
    assert_eq!(
        old.updated, new.updated,
        "a count change is not a content change"
    );
    assert!(new.summary.unwrap().content.contains("250 upvotes"));
}

#[test]
fn an_unchanged_listing_is_one_conditional_request() {
    let up = Upstream::start();
    let q = "/api/daily_papers?date=2026-10-07&limit=100";
    let page = |start, n| {
        Reply::ok("application/json", hf_api_page(start, n)).with_header("ETag", "\"p0-v1\"")
    };
    up.set(&format!("{q}&p=0"), page(0, 100));
    up.set(
        &format!("{q}&p=1"),
        Reply::ok("application/json", hf_api_page(100, 20)).with_header("ETag", "\"p1\""),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &hf_source(&up, "hf-day", "listing = \"daily\"\ndate = \"2026-10-07\""),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    let first = ws.poll_ok();
    assert!(
        first.contains("hf-day: fetched 120 items: 120 new"),
        "{first}"
    );
    assert_eq!(requests_for(&up, "/api/daily_papers"), 2);
    // Unchanged: the first page is asked with its ETag, answers 304, and
    // no other page is fetched.
    let second = ws.poll_ok();
    assert!(
        second.contains("hf-day: unchanged upstream (304 Not Modified)"),
        "{second}"
    );
    let requests = up.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    let third_request = requests[2].to_ascii_lowercase();
    assert!(third_request.contains("&p=0 ") && third_request.contains("if-none-match: \"p0-v1\""));
    assert!(!requests[1].to_ascii_lowercase().contains("if-none-match"));
    let server = ws.serve();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    let source = &status["sources"][0];
    assert_eq!(source["last_status"], 304, "{status:#}");
    assert_eq!(source["unchanged_upstream"], true);
    drop(server);
    // Changed: a new ETag on the first page, and the whole listing is read.
    up.set(
        &format!("{q}&p=0"),
        Reply::ok("application/json", hf_api_page(0, 100)).with_header("ETag", "\"p0-v2\""),
    );
    let third = ws.poll_ok();
    assert!(third.contains("hf-day: fetched 120 items"), "{third}");
}

#[test]
fn an_unchanged_page_is_not_read_again() {
    let up = Upstream::start();
    up.set(
        "/papers/trending",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("hf-trending-2026-10-07.html"),
        )
        .with_header("Last-Modified", "Wed, 07 Oct 2026 06:00:00 GMT")
        .with_header("ETag", "W/\"trending-1\""),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &hf_source(&up, "hf-page", "listing = \"trending\"\nmode = \"page\""),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    assert!(ws.poll_ok().contains("hf-page: fetched 50 items"));
    let second = ws.poll_ok();
    assert!(
        second.contains("hf-page: unchanged upstream (304 Not Modified)"),
        "{second}"
    );
    let asked = up.requests.lock().unwrap()[1].to_ascii_lowercase();
    assert!(asked.contains("if-none-match: w/\"trending-1\""), "{asked}");
    assert!(
        asked.contains("if-modified-since: wed, 07 oct 2026 06:00:00 gmt"),
        "{asked}"
    );
}

/// The real page with its `DailyPapers` JSON emptied (`data-props="{}"`,
/// an upstream rename of the key) or the hydration element gone.
fn redesigned(emptied: bool) -> Vec<u8> {
    let page = String::from_utf8(fixture("hf-trending-2026-10-07.html")).unwrap();
    let target = page.find("data-target=\"DailyPapers\"").unwrap();
    if !emptied {
        return page
            .replace("data-target=\"DailyPapers\"", "data-target=\"PapersV2\"")
            .into_bytes();
    }
    let start = target + page[target..].find("data-props=\"").unwrap() + "data-props=\"".len();
    let end = start + page[start..].find('"').unwrap();
    format!("{}{{}}{}", &page[..start], &page[end..]).into_bytes()
}

#[test]
fn a_redesigned_page_degrades_to_its_cards_and_says_so() {
    for emptied in [true, false] {
        let up = Upstream::start();
        up.set(
            "/papers/trending",
            Reply::ok("text/html; charset=utf-8", redesigned(emptied)),
        );
        let ws = Workspace::new();
        ws.write(
            "s.toml",
            &hf_source(&up, "hf-page", "listing = \"trending\"\nmode = \"page\""),
        );
        ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
        let out = ws.poll_ok();
        // All 50 papers, from the cards, with their counts.
        assert!(out.contains("hf-page: fetched 50 items: 50 new"), "{out}");
        let server = ws.serve();
        let feed = parse_feed(&server.get("/popular.atom").body);
        let popular = hf_upvotes().iter().filter(|(_, u)| *u >= 100.0).count();
        assert!(popular > 0);
        assert_eq!(feed.entries.len(), popular, "upvotes read from the cards");
        // The operator learns of it: /status and the index.
        let status: serde_json::Value =
            serde_json::from_slice(&server.get("/status").body).unwrap();
        let source = &status["sources"][0];
        assert_eq!(source["ok"], true);
        assert_eq!(source["degraded"], true, "{source}");
        let detail = source["degraded_detail"].as_str().unwrap();
        assert!(
            detail.contains("cards") && detail.contains("authors"),
            "{detail}"
        );
        assert!(
            detail.contains(if emptied {
                "holds no papers"
            } else {
                "is gone"
            }),
            "{detail}"
        );
        let index = server.get("/").text();
        assert!(index.contains(">degraded</strong>"), "{index}");
    }
    // The real page as it is: healthy, not degraded.
    let up = Upstream::start();
    up.set(
        "/papers/trending",
        Reply::ok("text/html", fixture("hf-trending-2026-10-07.html")),
    );
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &hf_source(&up, "hf-page", "listing = \"trending\"\nmode = \"page\""),
    );
    ws.write("r.toml", &format!("{HF_RULES}{LOCAL_HOST_RULES}"));
    ws.poll_ok();
    let server = ws.serve();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    assert_eq!(status["sources"][0]["degraded"], false);
}
