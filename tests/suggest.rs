//! `inspect --suggest`: the selectors proposed for a listing page find the
//! right items on a table-row listing (Hacker News' markup), a blog index
//! of `<article>`s, a card grid and the real Hugging Face trending page.
//! Each suggestion is checked the way a user would use it: compiled and run
//! through the real `html` extractor, and compared with what a hand-written
//! selector (or the page's own JSON) says the items are.

use feedloom_testkit as common;

use feedloom::extract::html::{self, HtmlSpec};
use feedloom::extract::suggest::suggest;
use feedloom::model::RawEntry;

use common::*;

fn page(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

/// The best suggestion's entries.
fn suggested(page: &str) -> (feedloom::defs::SelectDef, Vec<RawEntry>) {
    let best = suggest(page, 3)
        .unwrap()
        .into_iter()
        .next()
        .expect("a suggestion");
    let spec = HtmlSpec::compile(&best.select, None).expect("the suggestion compiles");
    let entries = html::extract(&spec, page).unwrap();
    (best.select, entries)
}

/// What a hand-written `[source.select]` reads.
fn by_hand(page: &str, toml: &str) -> Vec<RawEntry> {
    let def: feedloom::defs::SelectDef = toml::from_str(toml).unwrap();
    html::extract(&HtmlSpec::compile(&def, None).unwrap(), page).unwrap()
}

fn titles(es: &[RawEntry]) -> Vec<&str> {
    es.iter().map(|e| e.title.as_deref().unwrap()).collect()
}

fn links(es: &[RawEntry]) -> Vec<&str> {
    es.iter().map(|e| e.link.as_deref().unwrap_or("")).collect()
}

#[test]
fn a_table_row_listing() {
    let p = page("hacker-news-front.synthetic.html");
    let (select, got) = suggested(&p);
    let want = by_hand(
        &p,
        "item = \"tr.athing\"\ntitle = \"span.titleline > a\"\nlink = \"span.titleline > a@href\"",
    );
    assert_eq!(want.len(), 10);
    assert_eq!(titles(&got), titles(&want), "{select:?}");
    assert_eq!(links(&got), links(&want), "{select:?}");
    assert!(
        links(&got).contains(&"item?id=46100871"),
        "Ask HN links to its own item"
    );
    // The date is in the row after each story: the item spans two rows.
    assert_eq!(select.item_rows, Some(2), "{select:?}");
    assert_eq!(
        got[0].published,
        Some("2026-11-30T14:03:11Z".parse().unwrap()),
        "{select:?}"
    );
    assert!(got.iter().all(|e| e.published.is_some()));
}

#[test]
fn a_blog_index_of_articles() {
    let p = page("research-blog.synthetic.html");
    let (select, got) = suggested(&p);
    assert_eq!(
        titles(&got),
        [
            "Agents that plan before they act",
            "Diffusion models for long video",
            "A guest post on quantization"
        ],
        "{select:?}"
    );
    assert_eq!(
        links(&got),
        [
            "/posts/agents-that-plan",
            "posts/diffusion-video?utm_campaign=blog",
            "https://elsewhere.example.org/guest-post"
        ]
    );
    // The excerpt is proposed as the summary.
    assert!(
        got[0].summary.as_deref().unwrap().contains("plans"),
        "{select:?}"
    );
}

#[test]
fn a_card_grid() {
    let p = page("card-grid.synthetic.html");
    let (select, got) = suggested(&p);
    let want = by_hand(
        &p,
        "item = \"div.card\"\ntitle = \"h3\"\nlink = \"h3 a@href\"\ndate = \"time@datetime\"\nsummary = \"p.card-text\"",
    );
    assert_eq!(want.len(), 6);
    assert_eq!(titles(&got), titles(&want), "{select:?}");
    assert_eq!(links(&got), links(&want), "{select:?}");
    let dates: Vec<_> = got.iter().map(|e| e.published).collect();
    assert!(dates.iter().all(Option::is_some), "{select:?}");
    assert_eq!(dates, want.iter().map(|e| e.published).collect::<Vec<_>>());
    assert_eq!(
        got.iter()
            .map(|e| e.summary.is_some())
            .filter(|s| *s)
            .count(),
        6,
        "{select:?}"
    );
    // Navigation, pagination and footer links are not the listing.
    for nav in ["Pricing", "Next", "Privacy"] {
        assert!(!titles(&got).contains(&nav));
    }
}

#[test]
fn the_real_hugging_face_trending_page() {
    let p = page("hf-trending-2026-10-07.html");
    let (select, got) = suggested(&p);
    // The page's own JSON lists the papers in page order.
    let want: Vec<String> = hf_upvotes()
        .into_iter()
        .map(|(id, _)| format!("/papers/{id}"))
        .collect();
    assert_eq!(links(&got), want, "{select:?}");
    let papers = hf_entries();
    for (e, paper) in got.iter().zip(&papers) {
        assert_eq!(
            e.title.as_deref().unwrap(),
            feedloom::text::collapse_ws(paper["paper"]["title"].as_str().unwrap())
        );
    }
}

#[test]
fn a_page_without_a_listing_says_so() {
    let p =
        "<html><body><h1>About us</h1><p>We make looms.</p><a href=\"/\">Home</a></body></html>";
    assert!(suggest(p, 3).unwrap().is_empty());
    let ws = Workspace::new();
    let file = ws.dir.path().join("about.html");
    std::fs::write(&file, p).unwrap();
    let out = ws.run(&["inspect", file.to_str().unwrap(), "--suggest"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no repeated item blocks"));
}

#[test]
fn the_printed_source_polls_as_it_says() {
    let up = Upstream::start();
    up.set(
        "/news",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("card-grid.synthetic.html"),
        ),
    );
    let ws = Workspace::new();
    ws.write("topics.toml", "[[topic]]\nid = \"all\"\n");
    let out = ws.run(&["inspect", &up.url("/news"), "--suggest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("suggestion 1"), "{report}");
    // The ready block, as printed, with only its id chosen.
    let block = &report[report.find("[[source]]").expect("a source block")..];
    ws.write("cards.toml", &block.replace("CHANGE-ME", "cards"));
    let polled = ws.poll_ok();
    assert!(
        polled.contains("cards: fetched 6 items: 6 new"),
        "{polled}\n{block}"
    );
    let server = ws.serve();
    let feed = parse_feed(&server.get("/all.atom").body);
    assert_eq!(feed.entries.len(), 6);
    assert!(feed.entries.iter().all(|e| e.links[0]
        .href
        .starts_with(&format!("http://{}/news/", up.addr))));
}

/// A site's address, not its feed (issue 28): `inspect` names the feeds
/// the page advertises with `<link rel="alternate">`, resolved against the
/// page, and the first one inspected as printed reads as a feed; `--suggest`
/// names them before any selector. Hostile hrefs are not offered.
#[test]
fn a_site_address_names_the_feeds_it_advertises() {
    let up = Upstream::start();
    up.set(
        "/blog/",
        Reply::ok(
            "text/html; charset=utf-8",
            r#"<!DOCTYPE html><html><head><title>Blog</title>
<link rel="alternate" type="application/atom+xml" title="Blog &amp; notes" href="feed.atom">
<link rel="alternate" type="application/rss+xml" href="/blog/rss.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">
</head><body><p>Welcome.</p></body></html>"#,
        ),
    );
    up.set(
        "/blog/feed.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    let ws = Workspace::new();
    let out = ws.run(&["inspect", &up.url("/blog/")]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("it advertises 2 feeds"), "{report}");
    let atom = up.url("/blog/feed.atom");
    assert!(
        report.contains(&format!("Atom    {atom}  Blog & notes")),
        "{report}"
    );
    assert!(report.contains(&up.url("/blog/rss.xml")), "{report}");
    assert!(
        !report.contains("javascript") && !report.contains("passwd"),
        "{report}"
    );
    // As printed, the suggested command reads the feed.
    let next = report
        .lines()
        .find_map(|l| l.strip_prefix("read one with: feedloom inspect "))
        .expect("a command to run next");
    assert_eq!(next, atom);
    let out = ws.run(&["inspect", next]);
    let read = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && read.contains("items extracted from"),
        "{read}"
    );
    // `--suggest` puts them first.
    let out = ws.run(&["inspect", &up.url("/blog/"), "--suggest"]);
    let suggested = String::from_utf8_lossy(&out.stdout);
    assert!(
        suggested.starts_with("this is a web page, not a feed"),
        "{suggested}"
    );
    // A page advertising nothing stays the error it was.
    up.set(
        "/plain",
        Reply::ok("text/html", "<html><body>hi</body></html>"),
    );
    let out = ws.run(&["inspect", &up.url("/plain")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("an HTML page was served where a feed was expected"));
}
