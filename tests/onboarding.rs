//! The way in (issue 28): `init` writes a starter folder, `add URL` finds
//! the feed behind a site's address and writes a checked source and topic,
//! and `serve` publishes it. Every site here is a local upstream; every
//! command is the real binary on a real folder.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use feedloom_testkit as common;

use common::upstream::Misbehave;
use common::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    t
}

fn failed(out: Output) -> String {
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    t
}

/// The folder's files, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const BLOG_PAGE: &str = r#"<!DOCTYPE html><html><head><title>Lab notes</title>
<link rel="alternate" type="application/atom+xml" title="Lab news" href="feed.atom">
<link rel="alternate" type="application/rss+xml" title="arXiv picks" href="/papers.rss">
</head><body><p>Welcome.</p></body></html>"#;

fn blog(up: &Upstream) {
    up.set("/blog/", Reply::ok("text/html; charset=utf-8", BLOG_PAGE));
    up.set(
        "/blog/feed.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    up.set(
        "/papers.rss",
        Reply::ok("application/rss+xml", fixture("arxiv-cs.synthetic.rss")),
    );
}

#[test]
fn from_an_empty_folder_init_then_add_gives_a_folder_serve_publishes() {
    let up = Upstream::start();
    blog(&up);
    let ws = Workspace::new();
    let said = ok(ws.run(&["init"]));
    assert!(said.contains("1 source, 1 tag, 1 topic"), "{said}");
    assert_eq!(files(&ws.feeds), ["feeds.toml"]);
    ok(ws.run(&["check"]));
    // Not twice over.
    let again = failed(ws.run(&["init"]));
    assert!(again.contains("holds definitions already"), "{again}");

    let added = ok(ws.run(&["add", &up.url("/blog/")]));
    assert!(added.contains("the page advertises 2 feeds"), "{added}");
    assert!(
        added.contains(&format!(
            "found: the feed the page advertises (Atom): {} (",
            up.url("/blog/feed.atom")
        )),
        "{added}"
    );
    assert!(added.contains("polled once (nothing stored): "), "{added}");
    assert!(
        added.contains("is an address inside this network"),
        "{added}"
    );
    let files_now = files(&ws.feeds);
    assert_eq!(files_now.len(), 2, "{files_now:?}");
    let new = files_now.iter().find(|f| *f != "feeds.toml").unwrap();
    let written = std::fs::read_to_string(ws.feeds.join(new)).unwrap();
    assert!(written.contains("kind = \"feed\""), "{written}");
    let topic = written
        .lines()
        .skip_while(|l| *l != "[[topic]]")
        .find_map(|l| l.strip_prefix("id = \""))
        .map(|id| id.trim_end_matches('"').to_string())
        .expect("a topic");
    let checked = ok(ws.run(&["check"]));
    assert!(checked.contains("2 sources"), "{checked}");
    // Nothing was stored by `add`.
    assert!(!ws.data.exists() || files(&ws.data).is_empty());

    // The same feed again, by the page or by the feed itself: refused.
    for url in [up.url("/blog/"), up.url("/blog/feed.atom")] {
        let twice = failed(ws.run(&["add", &url]));
        assert!(twice.contains("is already defined as source"), "{twice}");
    }
    // `--pick 2` takes the other one.
    let picked = ok(ws.run(&["add", &up.url("/blog/"), "--pick", "2", "--no-topic"]));
    assert!(picked.contains(&up.url("/papers.rss")), "{picked}");
    assert_eq!(files(&ws.feeds).len(), 3);
    let bad_pick = failed(ws.run(&["add", &up.url("/blog/"), "--pick", "7"]));
    assert!(
        bad_pick.contains("--pick 7: the page advertises 2 feeds"),
        "{bad_pick}"
    );
    ok(ws.run(&["check"]));

    // Another reader's subscriptions, in a folder.
    up.set(
        "/group.rdf",
        Reply::ok("application/rdf+xml", fixture("group-blog.synthetic.rdf")),
    );
    let opml = ws.dir.path().join("subscriptions.opml");
    std::fs::write(
        &opml,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My reader</title></head><body>
<outline text="Research group" title="Research group">
  <outline type="rss" text="Group blog" title="Group blog" xmlUrl="{}" htmlUrl="{}"/>
  <outline type="rss" text="Lab news" title="Lab news" xmlUrl="{}"/>
</outline></body></opml>"#,
            up.url("/group.rdf"),
            up.url("/"),
            up.url("/blog/feed.atom")
        ),
    )
    .unwrap();
    let imported = ok(ws.run(&["import", opml.to_str().unwrap(), "--topics", "--internal"]));
    // The feed `add` wrote already is named, not defined twice.
    assert!(imported.contains("1 source, 1 tag, 1 topic"), "{imported}");
    assert!(
        imported.contains("defined already, as source"),
        "{imported}"
    );
    ok(ws.run(&["check"]));

    // `serve` publishes the added and the imported topics (the starter's
    // arXiv source fails offline; that does not hold the others back).
    let server = ws.serve();
    for path in [format!("/{topic}.atom"), "/research-group.atom".to_string()] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let feed = loop {
            let r = server.get(&path);
            if r.status == 200 && r.text().contains("<entry>") {
                break r.text();
            }
            assert!(
                Instant::now() < deadline,
                "no entries in {path}: {}",
                r.text()
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(!parse_feed(feed.as_bytes()).entries.is_empty(), "{path}");
    }
    server.terminate();
}

#[test]
fn add_tries_the_address_the_usual_paths_known_sites_then_selectors() {
    let up = Upstream::start();
    let ws = Workspace::new();
    // The address is a feed.
    up.set(
        "/a/atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    let out = ok(ws.run(&["add", &up.url("/a/atom"), "--print"]));
    assert!(out.contains("found: the address is a feed"), "{out}");
    assert!(
        out.contains("[[source]]") && out.contains("[[topic]]"),
        "{out}"
    );
    assert!(files(&ws.feeds).is_empty(), "--print writes nothing");

    // A site that advertises nothing, with its feed at a usual path.
    up.set(
        "/",
        Reply::ok("text/html", "<html><body>home</body></html>"),
    );
    up.set(
        "/rss",
        Reply::ok("application/rss+xml", fixture("arxiv-cs.synthetic.rss")),
    );
    let before = up.requests.lock().unwrap().len();
    let out = ok(ws.run(&["add", &up.url("/"), "--id", "guessed"]));
    assert!(out.contains("found: the usual path /rss"), "{out}");
    let asked: Vec<String> = up.requests.lock().unwrap()[before..].to_vec();
    // The page, /feed (404), then /rss: nothing more.
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(ws.feeds.join("guessed.toml").exists());

    // A Mastodon profile (any host): its `/@name.rss`.
    up.set(
        "/@alice.rss",
        Reply::ok(
            "application/rss+xml",
            fixture("arxiv-cs.synthetic.rss").clone(),
        ),
    );
    let out = ok(ws.run(&["add", &up.url("/@alice"), "--print"]));
    assert!(out.contains("found: the Mastodon profile's feed"), "{out}");

    // No feed anywhere, but a listing: an html source with selectors.
    let listing = Upstream::start();
    listing.set(
        "/news/",
        Reply::ok("text/html", fixture("research-blog.synthetic.html")),
    );
    let out = ok(ws.run(&["add", &listing.url("/news/"), "--id", "scraped"]));
    assert!(out.contains("as an html source instead"), "{out}");
    let written = std::fs::read_to_string(ws.feeds.join("scraped.toml")).unwrap();
    assert!(
        written.contains("kind = \"html\"") && written.contains("[source.select]"),
        "{written}"
    );
    assert!(out.contains("Agents that plan before they act"), "{out}");
    ok(ws.run(&["check"]));

    // Nothing at all: one line, nothing written.
    let bare = Upstream::start();
    bare.set(
        "/",
        Reply::ok("text/html", "<html><body><p>hi</p></body></html>"),
    );
    let before = files(&ws.feeds);
    let out = failed(ws.run(&["add", &bare.url("/")]));
    assert!(out.contains("no feed found at"), "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert_eq!(files(&ws.feeds), before);
}

#[test]
fn bad_addresses_are_one_line_and_write_nothing() {
    let up = Upstream::start();
    up.set(
        "/huge",
        Reply::ok("text/html", "").misbehaving(Misbehave::Huge(50 << 20)),
    );
    up.set(
        "/loop",
        Reply::status(302, "").with_header("Location", "/loop2"),
    );
    up.set(
        "/loop2",
        Reply::status(302, "").with_header("Location", "/loop"),
    );
    up.set(
        "/broken.xml",
        Reply::ok("application/rss+xml", "<rss><channel>"),
    );
    let ws = Workspace::new();
    ok(ws.run(&["init"]));
    let before = files(&ws.feeds);
    for (url, says) in [
        (
            "ftp://example.org/feed".to_string(),
            "only http(s) addresses",
        ),
        ("javascript:alert(1)".to_string(), "only http(s) addresses"),
        (up.url("/huge"), "body larger than"),
        (up.url("/loop"), "redirect"),
        (up.url("/missing"), "HTTP 404"),
    ] {
        let started = Instant::now();
        let (out, peak_kib) = ws.run_measured(&["add", &url]);
        let said = failed(out);
        assert!(said.contains(says), "{url}: {said}");
        assert_eq!(said.trim().lines().count(), 1, "{url}: {said}");
        assert!(started.elapsed() < Duration::from_secs(20), "{url}");
        assert!(peak_kib < 100 * 1024, "{url}: peak {peak_kib} KiB");
        assert_eq!(files(&ws.feeds), before, "{url}");
    }
    // A name that resolves inside this network (`.ci/run` puts it in
    // /etc/hosts) is refused unless the operator says it is theirs.
    up.set(
        "/feed.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    let inside = format!(
        "http://rebinding.feedloom.test:{}/feed.atom",
        up.addr.port()
    );
    let said = failed(ws.run(&["add", &inside]));
    assert!(said.contains("add it with --internal"), "{said}");
    assert_eq!(files(&ws.feeds), before);
    ok(ws.run(&["add", &inside, "--internal", "--id", "intranet"]));
    let written = std::fs::read_to_string(ws.feeds.join("intranet.toml")).unwrap();
    assert!(written.contains("internal = true"), "{written}");
    // A folder that does not load is not added to.
    ws.write("broken.toml", "[[source]]\nid = 1\n");
    let said = failed(ws.run(&["add", &up.url("/broken.xml")]));
    assert!(said.contains("broken.toml"), "{said}");
}

#[test]
fn what_a_page_points_at_is_fetched_as_the_poller_would_and_said_plainly() {
    // A page that advertises a feed on another port of this machine: the
    // operator named the page's origin, not that one.
    let inside = Upstream::start();
    inside.set(
        "/admin/feed",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    let page = Upstream::start();
    page.set(
        "/",
        Reply::ok(
            "text/html",
            format!(
                r#"<html><head><link rel="alternate" type="application/atom+xml" href="{}"></head><body>x</body></html>"#,
                inside.url("/admin/feed")
            ),
        ),
    );
    let ws = Workspace::new();
    let said = failed(ws.run(&["add", &page.url("/")]));
    assert!(said.contains("no feed found at"), "{said}");
    assert!(
        inside.requests.lock().unwrap().is_empty(),
        "the other port was asked"
    );
    assert!(files(&ws.feeds).is_empty());

    // A temporary redirect's target (often signed) is not what the source
    // keeps; a feed's title with line breaks and bidi controls is a plain
    // line; secrets in the address stay in `url` only.
    let up = Upstream::start();
    let rss = Reply::ok(
            "application/rss+xml",
            "<rss version=\"2.0\"><channel><title>\n\t\tLab Notes\n\t\t\u{202E}— weekly</title><link>http://x/</link><description>d</description>\
             <item><title>One</title><link>http://x/1</link></item></channel></rss>",
    );
    // The upstream answers by path and query.
    up.set("/feed.xml", rss.clone());
    up.set("/feed.xml?X-Amz-Signature=abcd", rss);
    up.set(
        "/moving?token=SECRET",
        Reply::status(302, "").with_header("Location", "/feed.xml?X-Amz-Signature=abcd"),
    );
    let out = ok(ws.run(&["add", &format!("{}?token=SECRET", up.url("/moving"))]));
    let file = files(&ws.feeds).pop().unwrap();
    assert_eq!(file, "lab-notes-weekly.toml", "{out}");
    let written = std::fs::read_to_string(ws.feeds.join(&file)).unwrap();
    assert!(
        written.contains("title = \"Lab Notes — weekly\""),
        "{written}"
    );
    assert!(
        written.contains(&format!("url = \"{}?token=SECRET\"", up.url("/moving"))),
        "{written}"
    );
    assert!(!written.contains("Signature"), "{written}");
    assert_eq!(written.matches("SECRET").count(), 1, "{written}");
    assert!(!out.contains("SECRET"), "{out}");

    // A topic named by the operator that exists is not quietly renamed;
    // nothing is fetched before that is said.
    let before = up.requests.lock().unwrap().len();
    let said = failed(ws.run(&["add", &up.url("/feed.xml"), "--topic", "lab-notes-weekly"]));
    assert!(
        said.contains("--topic `lab-notes-weekly`: it is defined already"),
        "{said}"
    );
    assert_eq!(up.requests.lock().unwrap().len(), before);
}

#[test]
fn a_page_advertising_many_dead_feeds_costs_a_few_requests() {
    let up = Upstream::start();
    let links: String = (0..20)
        .map(|i| {
            format!(r#"<link rel="alternate" type="application/rss+xml" href="/dead{i}.xml">"#)
        })
        .collect();
    up.set(
        "/",
        Reply::ok(
            "text/html",
            format!("<html><head>{links}</head><body>x</body></html>"),
        ),
    );
    let ws = Workspace::new();
    let said = failed(ws.run(&["add", &up.url("/")]));
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(
        said.contains("not tried: `add` fetches at most 8"),
        "{said}"
    );
    // The page, then eight candidates: four advertised, four usual paths.
    let asked = up.requests.lock().unwrap().len();
    assert_eq!(asked, 9, "{said}");
}
