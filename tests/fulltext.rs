//! `fulltext = true`: a link-only feed's entries gain the main article of
//! the pages they link to (real pages from Mozilla Readability's test
//! suite, served locally), politely (robots.txt, Retry-After), once, and
//! without their ids or dates moving; failures keep the entry as it was;
//! hostile article HTML is sanitized; a feed cannot point the article
//! fetcher into the operator's network.

use feedloom_testkit as common;

use std::collections::HashMap;

use common::*;

fn article(name: &str) -> Vec<u8> {
    fixture(&format!("articles/{name}.source.html"))
}

/// Word-level F1 of `got` (HTML) against the reference extraction.
fn f1(got_html: &str, name: &str) -> f64 {
    let words = |html: &str| {
        let text = feedloom::text::html_to_text(html);
        let mut m: HashMap<String, usize> = HashMap::new();
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *m.entry(w.to_lowercase()).or_default() += 1;
        }
        m
    };
    let reference =
        words(&String::from_utf8(fixture(&format!("articles/{name}.expected.html"))).unwrap());
    let got = words(got_html);
    let common: usize = got
        .iter()
        .map(|(w, n)| (*n).min(*reference.get(w).unwrap_or(&0)))
        .sum();
    let p = common as f64 / got.values().sum::<usize>().max(1) as f64;
    let r = common as f64 / reference.values().sum::<usize>().max(1) as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

const HOSTILE: &str = r#"<!DOCTYPE html><html><head><title>Hostile</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>A page that fights back</h1>
<p>This article has enough text to be read as one: it talks at length about looms, shuttles, warps and wefts,
and how the jacquard mechanism let weavers store patterns on punched cards long before computers did.</p>
<p onclick="steal()">The second paragraph carries an event handler and an image with a relative source:
<img src="/img/loom.png" onerror="alert(1)" alt="a loom"> which must come out absolute and without the handler.</p>
<script>document.cookie</script>
<p>A third paragraph links <a href="/history/jacquard">relatively</a> and <a href="javascript:alert(2)">badly</a>.</p>
</article><footer>© Looms</footer></body></html>"#;

fn rss(base: &str, items: &[(&str, &str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(title, path, desc)| {
            format!(
                "<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid><description>{desc}</description><pubDate>Mon, 30 Nov 2026 10:00:00 +0000</pubDate></item>"
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Links</title><link>{base}/</link><description>d</description>{items}</channel></rss>")
}

/// Definitions with one feed source `id` at `url` and `settings` (its
/// `fulltext` lines), the loopback host rules and topic `all`.
fn fulltext_source(id: &str, url: &str, settings: &str) -> String {
    format!(
        "{LOCAL_HOST_RULES}\n[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n{settings}\n[[topic]]\nid = \"all\"\n"
    )
}

/// Topic `topic`'s Atom feed, as `export` writes it.
fn export_feed(ws: &Workspace, topic: &str) -> feed_rs::model::Feed {
    let dir = ws.dir.path().join("export");
    let _ = std::fs::remove_dir_all(&dir);
    let out = ws.run(&["export", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_feed(&std::fs::read(dir.join(format!("{topic}.atom"))).unwrap())
}

/// Each entry of the exported Atom feed: (title, id, published, updated,
/// content).
fn exported(ws: &Workspace) -> HashMap<String, (String, String, String, String)> {
    export_feed(ws, "all")
        .entries
        .iter()
        .map(|e| {
            (
                e.title.as_ref().unwrap().content.clone(),
                (
                    e.id.clone(),
                    format!("{:?}", e.published),
                    format!("{:?}", e.updated),
                    e.content
                        .as_ref()
                        .and_then(|c| c.body.clone())
                        .unwrap_or_default(),
                ),
            )
        })
        .collect()
}

fn asked(up: &Upstream, path: &str) -> usize {
    up.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.split_whitespace().nth(1) == Some(path))
        .count()
}

#[test]
fn a_link_only_feed_gains_its_articles_politely_and_once() {
    let up = Upstream::start();
    let base = up.url("");
    let long = "A description long enough to stand on its own. ".repeat(12);
    up.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(
                &base,
                &[
                    ("Ars", "/2026/ars", "Short teaser."),
                    ("V8", "/blog/v8", ""),
                    ("Private", "/private/df", "Teaser."),
                    ("Hostile", "/hostile", "Teaser."),
                    ("Long", "/long", &long),
                    ("Gone", "/gone", "Teaser."),
                ],
            ),
        ),
    );
    up.set(
        "/robots.txt",
        Reply::ok("text/plain", "User-agent: *\nDisallow: /private/\n"),
    );
    // At first the site is busy: one second, it says.
    let busy = || Reply::status(503, "busy").with_header("Retry-After", "1");
    for path in ["/2026/ars", "/blog/v8", "/hostile", "/long", "/private/df"] {
        up.set(path, busy());
    }
    up.set("/gone", Reply::status(404, "gone"));

    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source("links", &up.url("/feed.xml"), "fulltext = true\n"),
    );
    let first = ws.poll_ok();
    // Five want their article (the long one does not); robots.txt keeps
    // one away; the others met the 503 (or the 404) and wait.
    assert!(first.contains("articles: 5 owed"), "{first}");
    assert!(first.contains("1 robots denied"), "{first}");
    assert_eq!(asked(&up, "/private/df"), 0, "robots.txt was not obeyed");
    assert_eq!(
        asked(&up, "/long"),
        0,
        "an entry with enough text was fetched"
    );
    let before = exported(&ws);
    assert_eq!(before.len(), 6, "every entry is published at once");
    assert!(f1(&before["Ars"].3, "ars-1") < 0.2, "{}", before["Ars"].3);

    // The site is back; the retries fall due after its Retry-After.
    up.set(
        "/2026/ars",
        Reply::ok("text/html; charset=utf-8", article("ars-1")),
    );
    up.set("/blog/v8", Reply::ok("text/html", article("v8-blog")));
    up.set("/hostile", Reply::ok("text/html", HOSTILE));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let second = ws.poll_ok();
    assert!(
        second.contains("3 stored"),
        "{second}\n{:#?}",
        up.requests
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.lines().next().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    let after = exported(&ws);

    // Same entries, same ids and dates; the text arrived.
    for (title, (id, published, updated, _)) in &before {
        let (id2, p2, u2, _) = &after[title];
        assert_eq!((id, published, updated), (id2, p2, u2), "{title} moved");
    }
    let ars = &after["Ars"].3;
    let v8 = &after["V8"].3;
    assert!(f1(ars, "ars-1") > 0.9, "ars F1 {}: {ars}", f1(ars, "ars-1"));
    assert!(f1(v8, "v8-blog") > 0.9, "v8 F1 {}", f1(v8, "v8-blog"));
    // Sanitized, and absolute.
    let hostile = &after["Hostile"].3;
    assert!(hostile.contains("jacquard mechanism"), "{hostile}");
    for bad in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "document.cookie",
    ] {
        assert!(!hostile.contains(bad), "`{bad}` in {hostile}");
    }
    assert!(
        hostile.contains(&format!("{base}/img/loom.png")),
        "{hostile}"
    );
    assert!(
        hostile.contains(&format!("{base}/history/jacquard")),
        "{hostile}"
    );
    // Failed or refused: the entry is as it was.
    assert!(
        !after["Private"].3.contains("Gruber"),
        "{}",
        after["Private"].3
    );
    assert_eq!(after["Gone"].3, before["Gone"].3);
    assert_eq!(after["Long"].3, before["Long"].3);

    // Once: a third poll fetches no article again.
    let fetched = asked(&up, "/2026/ars");
    ws.poll_ok();
    assert_eq!(
        asked(&up, "/2026/ars"),
        fetched,
        "an article was fetched twice"
    );
    // robots.txt: once per run that fetches articles (two), however
    // many articles of the site each fetched at once.
    assert_eq!(
        asked(&up, "/robots.txt"),
        2,
        "robots.txt is fetched once per run"
    );

    // The served feeds carry it in every format.
    let server = ws.serve();
    let rss = server.get("/all.rss").text();
    assert!(rss.contains("content:encoded"), "{rss}");
    let json: serde_json::Value = serde_json::from_slice(&server.get("/all.json").body).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Hostile")
        .unwrap();
    assert!(item["content_html"].as_str().unwrap().contains("jacquard"));
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("feedloom_articles_owed_limit 10000"),
        "{metrics}"
    );
    let atom = server.get("/all.atom");
    jing_atom(ws.dir.path(), "all.atom", &atom.body).unwrap();
}

#[test]
fn robots_false_fetches_what_robots_txt_disallows() {
    let up = Upstream::start();
    up.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&up.url(""), &[("DF", "/private/df", "x")]),
        ),
    );
    up.set(
        "/robots.txt",
        Reply::ok("text/plain", "User-agent: *\nDisallow: /\n"),
    );
    up.set(
        "/private/df",
        Reply::ok("text/html", article("daringfireball-1")),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source(
            "df",
            &up.url("/feed.xml"),
            "fulltext = true\nrobots = false\n",
        ),
    );
    let out = ws.run(&["poll", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("robots = false"),
        "the override is logged: {stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 stored"));
    assert_eq!(asked(&up, "/robots.txt"), 0);
    let after = exported(&ws);
    assert!(
        f1(&after["DF"].3, "daringfireball-1") > 0.9,
        "{}",
        after["DF"].3
    );
}

#[test]
fn the_server_fetches_articles_in_the_background_and_republishes() {
    let up = Upstream::start();
    up.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&up.url(""), &[("V8", "/blog/v8", "")]),
        ),
    );
    up.set("/robots.txt", Reply::status(404, "none"));
    up.set("/blog/v8", Reply::ok("text/html", article("v8-blog")));
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source("v8", &up.url("/feed.xml"), "fulltext = true\n"),
    );
    let server = ws.serve();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let feed = parse_feed(&server.get("/all.atom").body);
        let content = feed
            .entries
            .first()
            .and_then(|e| e.content.as_ref())
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        if f1(&content, "v8-blog") > 0.9 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the served feed never gained the article: {content}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("feedloom_articles_total{outcome=\"stored\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("feedloom_articles_owed 0"), "{metrics}");
}

#[test]
fn a_public_sources_feed_cannot_send_article_fetches_inside() {
    let inside = Upstream::start();
    inside.set("/admin", Reply::ok("text/html", HOSTILE));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fetcher = feedloom::fetch::Fetcher::new(Default::default()).unwrap();
    // A source on a public name (it does not resolve here, so it is not
    // the operator's own network) linking to a loopback address.
    let public = url::Url::parse("https://feeds.example.org/links.xml").unwrap();
    let target = url::Url::parse(&inside.url("/admin")).unwrap();
    let req = feedloom::fetch::FetchRequest {
        linked_from: Some(&public),
        ..feedloom::fetch::FetchRequest::new(&target)
    };
    let got = rt.block_on(fetcher.fetch(&req));
    assert!(
        got.is_err(),
        "fetched an internal address for a public source"
    );
    assert!(inside.requests.lock().unwrap().is_empty());
    // The operator's own source may link inside.
    let local = url::Url::parse(&inside.url("/feed.xml")).unwrap();
    let req = feedloom::fetch::FetchRequest {
        linked_from: Some(&local),
        ..feedloom::fetch::FetchRequest::new(&target)
    };
    assert!(rt.block_on(fetcher.fetch(&req)).is_ok());
}

#[test]
fn pages_without_an_article_leave_the_entry_alone() {
    let page = url::Url::parse("https://example.org/p").unwrap();
    use feedloom::fulltext::article::{extract, NoArticle};
    assert!(matches!(
        extract(b"%PDF-1.7", Some("application/pdf"), &page),
        Err(NoArticle::NotHtml(_))
    ));
    assert!(matches!(
        extract(
            b"<html><body><p>Log in to continue.</p></body></html>",
            Some("text/html"),
            &page
        ),
        Err(NoArticle::TooShort(_) | NoArticle::Failed(_))
    ));
    let deep = format!("<html><body>{}</body></html>", "<div>".repeat(100_000));
    assert!(matches!(
        extract(deep.as_bytes(), None, &page),
        Err(NoArticle::TooDeep(_))
    ));
    // Nesting the depth scan does not see (in `<svg>`, `<td>` nests):
    // this page overflowed the extractor's stack and aborted the process.
    let foreign = format!(
        "<html><body><article><svg>{}</article></body></html>",
        "<td>".repeat(40_000)
    );
    assert!(matches!(
        extract(foreign.as_bytes(), None, &page),
        Err(NoArticle::TooDeep(_))
    ));
    // Many elements: refused past the bound rather than scored.
    let wide = format!(
        "<html><body>{}</body></html>",
        "<p>word</p>".repeat(feedloom::fulltext::MAX_ARTICLE_ELEMENTS + 10)
    );
    assert!(matches!(
        extract(wide.as_bytes(), None, &page),
        Err(NoArticle::Failed(_))
    ));
}

#[test]
fn fulltext_settings_without_fulltext_are_errors() {
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        "[[source]]\nid = \"f\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\nrobots = false\n",
    );
    let e = feedloom::config::load(&ws.feeds).unwrap_err().to_string();
    assert!(
        e.contains("s.toml") && e.contains("source `f`: field `robots` needs `fulltext = true`"),
        "{e}"
    );
}

#[test]
fn one_poll_owes_at_most_200_articles() {
    let up = Upstream::start();
    let paths: Vec<String> = (0..250).map(|i| format!("/a/{i}")).collect();
    let items: Vec<(&str, &str, &str)> = paths.iter().map(|p| ("Story", p.as_str(), "")).collect();
    // 250 new link-only entries in one poll (stored in batches of 64).
    up.set(
        "/feed.xml",
        Reply::ok("application/rss+xml", rss(&up.url(""), &items)),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source("many", &up.url("/feed.xml"), "fulltext = true\n"),
    );
    let out = ws.poll_ok();
    assert!(out.contains("many: fetched 250 items: 250 new"), "{out}");
    assert!(
        out.contains(&format!(
            "articles: {} owed",
            feedloom::fulltext::MAX_OWED_PER_POLL
        )),
        "{out}"
    );
}

/// The value of an unlabelled metric in a `/metrics` text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn article_fetches_run_at_most_four_at_once() {
    use feedloom::fulltext::MAX_CONCURRENT_ARTICLES;
    // Eight sites on eight loopback addresses (each host takes one request
    // at a time, so only separate hosts can show the bound), answering
    // slowly: each page drips out over about a second.
    let busy = std::sync::Arc::new(Busy::default());
    let sites: Vec<Upstream> = (2..=9)
        .map(|i| Upstream::start_sharing(&format!("127.0.0.{i}"), busy.clone()))
        .collect();
    let mut hosts = String::new();
    let mut links = String::new();
    for site in &sites {
        site.set("/robots.txt", Reply::status(404, "none"));
        site.set(
            "/a",
            Reply::ok("text/html", HOSTILE).misbehaving(Misbehave::Drip(1)),
        );
        hosts.push_str(&format!(
            "\n[[host]]\nname = \"{}\"\nmin_spacing = \"0s\"\n",
            site.addr.ip()
        ));
        links.push_str(&format!(
            "<item><title>{0}</title><link>{0}</link></item>",
            site.url("/a")
        ));
    }
    let feed = Upstream::start();
    feed.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Links</title><link>http://x/</link><description>d</description>{links}</channel></rss>"),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            // Its links lead to other hosts of the operator's network.
            "{LOCAL_HOST_RULES}{hosts}\n[[source]]\nid = \"links\"\nkind = \"feed\"\nurl = \"{}\"\nfulltext = true\ninternal = true\n\n[[topic]]\nid = \"all\"\n",
            feed.url("/feed.xml")
        ),
    );
    let server = ws.serve();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut most = 0.0f64;
    let text = loop {
        let text = server.get("/metrics").text();
        most = most.max(metric(&text, "feedloom_articles_in_flight").unwrap_or(0.0));
        let done = metric(&text, "feedloom_articles_owed") == Some(0.0)
            && text.contains("feedloom_articles_total{outcome=\"stored\"} 8");
        if done {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the articles were never all fetched: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    };
    // Seen by the sites: never more than the bound at once, and more than
    // one (the bound is not reached by fetching one by one).
    let at_once = busy.max();
    assert!(
        (2..=MAX_CONCURRENT_ARTICLES).contains(&at_once),
        "{at_once} requests at once"
    );
    // Seen by /metrics: the gauge stays within its limit and ends at 0.
    assert!(
        most >= 1.0 && most <= MAX_CONCURRENT_ARTICLES as f64,
        "{most}"
    );
    assert_eq!(metric(&text, "feedloom_articles_in_flight"), Some(0.0));
    assert_eq!(
        metric(&text, "feedloom_articles_in_flight_limit"),
        Some(MAX_CONCURRENT_ARTICLES as f64)
    );
    // Each site's robots.txt is cached, within its own bound.
    assert_eq!(metric(&text, "feedloom_robots_origins"), Some(8.0));
    assert_eq!(
        metric(&text, "feedloom_robots_origins_limit"),
        Some(feedloom::fulltext::robots::MAX_ORIGINS as f64)
    );
}

#[test]
fn the_robots_cache_holds_at_most_its_capacity() {
    use feedloom::fulltext::robots::Robots;
    let sites: Vec<Upstream> = (2..=6)
        .map(|i| Upstream::start_on(&format!("127.0.0.{i}")))
        .collect();
    for site in &sites {
        site.set(
            "/robots.txt",
            Reply::ok("text/plain", "User-agent: *\nDisallow: /private\n"),
        );
    }
    // The operator's own source, declared internal, so its links may lead
    // to other hosts inside.
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "[[source]]\nid = \"own\"\nkind = \"feed\"\nurl = \"{}\"\nfulltext = true\ninternal = true\n\n[[topic]]\nid = \"all\"\n",
            sites[0].url("/feed.xml")
        ),
    );
    let defs = feedloom::config::load(&ws.feeds).unwrap();
    let source = &defs.sources[0];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fetcher = feedloom::fetch::Fetcher::new(Default::default()).unwrap();
    let robots = Robots::with_capacity(3);
    let ask = |site: &Upstream, path: &str| {
        let url = url::Url::parse(&site.url(path)).unwrap();
        rt.block_on(robots.allowed(&fetcher, source, &url)).unwrap()
    };
    for site in &sites {
        assert!(!ask(site, "/private/a"));
        assert!(ask(site, "/public/a"));
        assert!(robots.origins() <= 3, "{} origins cached", robots.origins());
    }
    // Each origin's file was fetched once for both questions; the cache
    // was emptied when the fourth origin came, so the first is fetched
    // again, while the fifth is still cached.
    for site in &sites {
        assert_eq!(asked(site, "/robots.txt"), 1);
    }
    assert!(!ask(&sites[0], "/private/b"));
    assert_eq!(asked(&sites[0], "/robots.txt"), 2);
    assert!(!ask(&sites[4], "/private/b"));
    assert_eq!(asked(&sites[4], "/robots.txt"), 1);
}

#[test]
fn a_crawl_delay_in_robots_txt_spaces_the_article_fetches() {
    let up = Upstream::start();
    let paths = ["/a/1", "/a/2", "/a/3"];
    let items: Vec<(&str, &str, &str)> = paths.iter().map(|p| ("Story", *p, "")).collect();
    up.set(
        "/feed.xml",
        Reply::ok("application/rss+xml", rss(&up.url(""), &items)),
    );
    up.set(
        "/robots.txt",
        Reply::ok("text/plain", "User-agent: *\nCrawl-delay: 2\nAllow: /\n"),
    );
    for p in paths {
        up.set(p, Reply::ok("text/html", HOSTILE));
    }
    // The host's own rules allow back-to-back requests: only the site's
    // Crawl-delay spaces them.
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source("slow", &up.url("/feed.xml"), "fulltext = true\n"),
    );
    let out = ws.poll_ok();
    assert!(out.contains("3 stored"), "{out}");
    let heads = up.requests.lock().unwrap().clone();
    let times = up.arrivals.lock().unwrap().clone();
    let at = |path: &str| {
        let i = heads
            .iter()
            .position(|h| h.split_whitespace().nth(1) == Some(path))
            .unwrap_or_else(|| panic!("{path} never asked"));
        times[i]
    };
    // Every request after robots.txt was read waits the 2 s it asks for.
    let mut order: Vec<std::time::Instant> = paths.iter().map(|p| at(p)).collect();
    order.insert(0, at("/robots.txt"));
    order.sort();
    for pair in order.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= std::time::Duration::from_millis(1900),
            "requests {gap:?} apart"
        );
    }
}

#[test]
fn switching_fulltext_on_fetches_the_articles_of_entries_already_stored() {
    let up = Upstream::start();
    up.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&up.url(""), &[("V8", "/blog/v8", ""), ("Ars", "/ars", "")]),
        )
        .with_header("ETag", "\"v1\""),
    );
    up.set("/robots.txt", Reply::status(404, "none"));
    up.set("/blog/v8", Reply::ok("text/html", article("v8-blog")));
    up.set("/ars", Reply::ok("text/html", article("ars-1")));
    let ws = Workspace::new();
    let defs = |settings: &str| fulltext_source("links", &up.url("/feed.xml"), settings);
    ws.write("sources.toml", &defs(""));
    ws.poll_ok();
    let before = exported(&ws);
    assert_eq!(asked(&up, "/blog/v8") + asked(&up, "/ars"), 0);
    // Switched on: the next poll reads the listing whole (no 304 hides the
    // stored entries) and owes both their articles, once.
    ws.write("sources.toml", &defs("fulltext = true\n"));
    let out = ws.poll_ok();
    assert!(out.contains("articles: 2 owed: 2 stored"), "{out}");
    let after = exported(&ws);
    for (title, name) in [("V8", "v8-blog"), ("Ars", "ars-1")] {
        assert!(f1(&after[title].3, name) > 0.9, "{title}");
        // Same entry: id and dates unchanged.
        assert_eq!(after[title].0, before[title].0);
        assert_eq!(after[title].1, before[title].1);
    }
    let out = ws.poll_ok();
    assert!(!out.contains("articles:"), "{out}");
    assert_eq!(asked(&up, "/blog/v8"), 1);
    assert_eq!(asked(&up, "/ars"), 1);
    // Off and on again: each entry has its article; nothing is fetched.
    ws.write("sources.toml", &defs(""));
    ws.poll_ok();
    ws.write("sources.toml", &defs("fulltext = true\n"));
    let out = ws.poll_ok();
    assert!(!out.contains("articles:"), "{out}");
    assert_eq!(asked(&up, "/blog/v8"), 1);
}

#[test]
fn tag_rules_on_content_read_the_fetched_article() {
    let up = Upstream::start();
    up.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&up.url(""), &[("V8", "/blog/v8", ""), ("Ars", "/ars", "")]),
        ),
    );
    up.set("/robots.txt", Reply::status(404, "none"));
    up.set("/blog/v8", Reply::ok("text/html", article("v8-blog")));
    up.set("/ars", Reply::ok("text/html", article("ars-1")));
    let ws = Workspace::new();
    // The feed has titles only: only the V8 article says "WebAssembly".
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}\n[[source]]\nid = \"links\"\nkind = \"feed\"\nurl = \"{}\"\nfulltext = true\n\n\
             [[tag]]\nid = \"wasm\"\nany = [{{ words = [\"WebAssembly\"], fields = [\"content\"] }}]\n\n\
             [[topic]]\nid = \"all\"\n\n[[topic]]\nid = \"wasm\"\n[topic.tags]\nany = [\"wasm\"]\n",
            up.url("/feed.xml")
        ),
    );
    let out = ws.poll_ok();
    assert!(out.contains("2 stored"), "{out}");
    let titles: Vec<String> = export_feed(&ws, "wasm")
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, ["V8"]);
    assert_eq!(export_feed(&ws, "all").entries.len(), 2);
}

/// The hostile `robots.txt` of issue #26: as large as is read
/// ([`feedloom::fulltext::robots::MAX_ROBOTS_BODY`]), every line a
/// `$`-anchored wildcard rule (a regex each, to a regex-based parser).
fn robots_bomb() -> String {
    let mut body = String::from("User-agent: *\n");
    for i in 0.. {
        let line = format!("Disallow: /*a*b*c{i}$\n");
        if body.len() + line.len() > feedloom::fulltext::robots::MAX_ROBOTS_BODY {
            break;
        }
        body.push_str(&line);
    }
    body
}

#[test]
fn hostile_robots_txt_files_cost_little_memory_and_never_stall_the_server() {
    const SITES: usize = 6;
    let bomb = robots_bomb();
    assert!(bomb.lines().count() > 18_000, "{}", bomb.lines().count());
    // Six sites, each on its own loopback address (its own origin), each
    // serving the bomb, an article it allows and one its first rule
    // disallows.
    let sites: Vec<Upstream> = (0..SITES)
        .map(|i| Upstream::start_on(&format!("127.0.0.{}", i + 2)))
        .collect();
    let mut hosts = String::new();
    let mut links = String::new();
    for site in &sites {
        site.set("/robots.txt", Reply::ok("text/plain", bomb.clone()));
        site.set("/a", Reply::ok("text/html", HOSTILE));
        site.set("/xabc0", Reply::ok("text/html", HOSTILE));
        hosts.push_str(&format!(
            "\n[[host]]\nname = \"{}\"\nmin_spacing = \"0s\"\n",
            site.addr.ip()
        ));
        for path in ["/a", "/xabc0"] {
            links.push_str(&format!(
                "<item><title>{0}</title><link>{0}</link></item>",
                site.url(path)
            ));
        }
    }
    let feed = Upstream::start();
    feed.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Links</title><link>http://x/</link><description>d</description>{links}</channel></rss>"),
        ),
    );
    feed.set(
        "/quiet.xml",
        Reply::ok(
            "application/rss+xml",
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Quiet</title><link>http://x/</link><description>d</description></channel></rss>",
        ),
    );
    // The server starts with a quiet source only, so its resident memory
    // can be read before any robots.txt arrives.
    let ws = Workspace::new();
    ws.write(
        "a.toml",
        &format!(
            "{LOCAL_HOST_RULES}{hosts}\n[[source]]\nid = \"quiet\"\nkind = \"feed\"\nurl = \"{}\"\n\n[[topic]]\nid = \"all\"\n",
            feed.url("/quiet.xml")
        ),
    );
    let server = ws.serve();
    server.wait_ready();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let baseline = server.rss_kib();
    // Then the link aggregator arrives (the reload polls it at once).
    ws.write(
        "b.toml",
        &format!(
            // Declared internal: its links lead to other loopback hosts.
            "[[source]]\nid = \"links\"\nkind = \"feed\"\nurl = \"{}\"\nfulltext = true\ninternal = true\n",
            feed.url("/feed.xml")
        ),
    );
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let mut slowest = std::time::Duration::ZERO;
    let text = loop {
        let asked = std::time::Instant::now();
        let health = server.get("/healthz");
        slowest = slowest.max(asked.elapsed());
        assert_eq!(health.status, 200);
        let text = server.get("/metrics").text();
        let done = metric(&text, "feedloom_articles_owed") == Some(0.0)
            && text.contains(&format!(
                "feedloom_articles_total{{outcome=\"stored\"}} {SITES}\n"
            ))
            && text.contains(&format!(
                "feedloom_articles_total{{outcome=\"robots_denied\"}} {SITES}\n"
            ));
        if done {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the articles were never all fetched ({} KiB peak, {baseline} KiB before): {text}",
            server.peak_rss_kib()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let peak = server.peak_rss_kib();
    let now = server.rss_kib();
    eprintln!(
        "robots bombs: {baseline} KiB before, {peak} KiB peak, {now} KiB after; /healthz took {slowest:?} at most"
    );
    // Regex-compiled, each origin's rules cost 230–310 MB; parsed as data,
    // within their bound, the six of them cost little.
    assert!(
        peak.saturating_sub(baseline) < 64 * 1024,
        "resident memory grew from {baseline} KiB to a peak of {peak} KiB"
    );
    assert!(
        slowest < std::time::Duration::from_secs(1),
        "/healthz took {slowest:?}"
    );
    // Each origin's file is cached, its kept rules within the per-origin
    // bound, and the cache within its byte bound.
    use feedloom::fulltext::robots::{MAX_CACHE_BYTES, MAX_RULE_BYTES};
    assert_eq!(metric(&text, "feedloom_robots_origins"), Some(SITES as f64));
    let bytes = metric(&text, "feedloom_robots_bytes").expect("feedloom_robots_bytes");
    assert!(
        bytes > 0.0 && bytes <= (SITES * MAX_RULE_BYTES) as f64,
        "{bytes} bytes of robots rules cached"
    );
    assert_eq!(
        metric(&text, "feedloom_robots_bytes_limit"),
        Some(MAX_CACHE_BYTES as f64)
    );
    for site in &sites {
        assert_eq!(asked(site, "/robots.txt"), 1);
        assert_eq!(asked(site, "/xabc0"), 0, "robots.txt was not obeyed");
    }
}

#[test]
fn a_link_into_the_operators_network_is_given_up_at_once() {
    let inside = Upstream::start();
    inside.set("/robots.txt", Reply::status(404, "none"));
    inside.set("/admin", Reply::ok("text/html", HOSTILE));
    // A source on a public name (it does not resolve here, so it is not
    // the operator's own network): its poll fails, but the store owes one
    // article its feed linked, into loopback.
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &fulltext_source(
            "public",
            "https://feeds.example.org/links.xml",
            "fulltext = true\n",
        ),
    );
    {
        let store = feedloom::store::Store::open(&ws.data).unwrap();
        let job = feedloom::store::ArticleJob {
            source: "public".into(),
            link: inside.url("/admin"),
            due: chrono::Utc::now(),
            attempts: 0,
        };
        let id = feedloom::model::EntryId([7; 16]);
        assert!(store
            .owe_article(&id, &job, feedloom::fulltext::MAX_OWED)
            .unwrap());
        store.flush().unwrap();
    }
    let server = ws.serve();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let text = server.get("/metrics").text();
        if metric(&text, "feedloom_articles_owed") == Some(0.0) {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refused link is still owed: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Given up after its first try: counted as refused, never as a failed
    // try (which would be retried for 14 h), and nothing reached inside.
    assert!(
        text.contains("feedloom_articles_total{outcome=\"refused\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("feedloom_articles_total{outcome=\"failed\"} 0\n"),
        "{text}"
    );
    assert!(inside.requests.lock().unwrap().is_empty());
}
