//! Failures where the user looks: offline, or with upstreams failing, the
//! index says so at its top in words (the host and what went wrong, never
//! upstream bytes or URL secrets), a topic whose sources all fail says so
//! instead of promising entries after the next poll, a topic that never
//! received an entry claims no update time, and a reload refused while
//! serving shows on the index and `/status` until the files are fixed.

use feedloom_testkit as common;

use common::*;

/// Upstream bytes that must never reach a public page.
const MARKER: &str = "UPSTREAM-MARKER-7f3a";

fn source(id: &str, url: &str) -> String {
    format!("\n[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\ntimeout = \"5s\"\n")
}

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The index's top: what comes between the heading and the topics.
fn top(index: &str) -> &str {
    let start = index.find("<h1>feedloom</h1>").expect("the heading");
    let end = index.find("<p>Subscribe").expect("the topics");
    &index[start..end]
}

/// The index's row of topic `id`.
fn topic_row<'a>(index: &'a str, id: &str) -> &'a str {
    let start = index
        .find(&format!("{id}.html\"><strong>"))
        .unwrap_or_else(|| panic!("no {id} row in {index}"));
    let end = index[start..].find("</li>").unwrap() + start;
    &index[start..end]
}

fn status_of(server: &Server) -> serde_json::Value {
    serde_json::from_slice(&server.get("/status").body).unwrap()
}

#[test]
fn offline_the_index_and_the_topic_pages_say_why_in_words() {
    // A name that never resolves (RFC 6761 reserves `.invalid`), and it
    // alone: every source fails its DNS lookup, as offline.
    let ws = Workspace::new();
    let dns = "https://papers.feedloom.invalid/api/daily?token=SECRET-TOKEN";
    ws.write(
        "sources.toml",
        &format!("{}\n[[topic]]\nid = \"papers\"\n", source("papers", dns)),
    );
    let server = ws.serve();
    server.wait_ready();
    let index = server.get("/").text();
    assert!(
        top(&index).contains(
            "<strong>No source could be fetched: DNS lookups fail — is this machine online?</strong><br>\n  papers.feedloom.invalid: DNS lookup failed"
        ),
        "{index}"
    );
    let row = topic_row(&index, "papers");
    assert!(row.contains("<small>no entries yet — "), "{row}");
    assert!(row.contains("none of its sources can be read"), "{row}");
    assert!(
        !row.contains("updated"),
        "a topic with no entry claims no update: {row}"
    );
    assert_eq!(
        status_of(&server)["sources"][0]["last_error"]["kind"],
        "dns"
    );
    for page in [&index, &server.get("/papers.html").text()] {
        assert!(
            !page.contains("SECRET-TOKEN") && !page.contains("/api/daily"),
            "{page}"
        );
    }
    drop(server);

    // And a source on a port nothing listens on: the machine answers, but
    // nothing else does.
    let refused = format!("http://127.0.0.1:{}/feed.xml", closed_port());
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}{}{}\n[[topic]]\nid = \"papers\"\nsources = [\"papers\"]\n\n[[topic]]\nid = \"local\"\nsources = [\"local\"]\n",
            source("papers", dns),
            source("local", &refused)
        ),
    );
    assert!(!ws.run(&["poll", "--once"]).status.success());
    let server = ws.serve();
    let index = server.get("/").text();
    let top = top(&index);
    assert!(
        top.contains("<strong>No source could be fetched: nothing answers — is this machine online?</strong>"),
        "{index}"
    );
    assert!(
        top.contains("<br>\n  papers.feedloom.invalid: DNS lookup failed (the name does not resolve from here)"),
        "{top}"
    );
    assert!(
        top.contains("<br>\n  127.0.0.1: could not connect (refused, or nothing answered)"),
        "{top}"
    );
    for id in ["papers", "local"] {
        let row = topic_row(&index, id);
        assert!(
            row.contains("no entries yet") && !row.contains("updated"),
            "{row}"
        );
    }
    // The bottom rows say it in the same words, not as a bare kind.
    assert!(index.contains("failing</strong> since <time"), "{index}");
    assert!(
        !index.contains(": connect<") && !index.contains(": dns<"),
        "{index}"
    );
    let page = server.get("/local.html").text();
    assert!(
        page.contains("<p class=\"failing\">Nothing yet: none of this topic's sources can be read at the moment. The last error: 127.0.0.1: could not connect"),
        "{page}"
    );
    assert!(!page.contains("Nothing here yet"), "{page}");
    // The page holds still while nothing changes.
    let again = server.get("/");
    assert_eq!(again.text(), index);
}

/// A feed broken beyond repair, an HTML page where a feed was expected, a
/// healthy feed: the index names the two failing hosts' problems in words
/// (the place of the flaw, not what is there), and the topic of the
/// failing ones says so.
#[test]
fn a_broken_feed_and_an_html_page_are_said_without_their_bytes() {
    let up = Upstream::start();
    let broken = Upstream::start_on("127.0.0.2");
    // Not RSS even repaired (no channel), and ill-formed on line 3.
    // The source's URL carries a key: the fetcher asks for it as written.
    let path = "/broken.xml?key=SECRET-KEY";
    broken.set(
        path,
        Reply::ok(
            "application/rss+xml",
            format!("<?xml version=\"1.0\"?>\n<rss version=\"2.0\">\n<nochannel>{MARKER} & co</nochannel></rss>\n"),
        ),
    );
    let page = Upstream::start_on("127.0.0.3");
    page.set(
        "/feed",
        Reply::ok(
            "text/html",
            format!("<!DOCTYPE html><html><body><h1>{MARKER}</h1><script>alert(1)</script></body></html>"),
        ),
    );
    up.set(
        "/good.rss",
        Reply::ok(
            "application/rss+xml",
            "<rss version=\"2.0\"><channel><title>Good</title><link>https://good.example/</link><description>d</description><item><title>Fine</title><link>https://good.example/1</link></item></channel></rss>",
        ),
    );
    let ws = Workspace::new();
    let rules = "\n[[host]]\nname = \"127.0.0.2\"\nmin_spacing = \"0s\"\n\n[[host]]\nname = \"127.0.0.3\"\nmin_spacing = \"0s\"\n";
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}{rules}{}{}{}\n[[topic]]\nid = \"broken\"\nsources = [\"broken\", \"page\"]\n\n[[topic]]\nid = \"good\"\nsources = [\"good\"]\n",
            source("broken", &broken.url(path)),
            source("page", &page.url("/feed")),
            source("good", &up.url("/good.rss")),
        ),
    );
    let server = ws.serve();
    server.wait_ready();
    let index = server.get("/").text();
    let top = top(&index);
    assert!(
        top.contains("<strong>2 of 3 sources are failing:</strong>"),
        "{index}"
    );
    assert!(
        top.contains("127.0.0.2: the feed is not well-formed (line 3, col "),
        "{top}"
    );
    assert!(
        top.contains("127.0.0.3: an HTML page was served where a feed was expected"),
        "{top}"
    );
    assert!(
        !top.contains("127.0.0.1"),
        "the healthy host is not named: {top}"
    );
    let row = topic_row(&index, "broken");
    assert!(row.contains("no entries yet — "), "{row}");
    let row = topic_row(&index, "good");
    assert!(row.contains("1 entry, updated <time"), "{row}");
    assert!(!row.contains("failing"), "{row}");
    let topic = server.get("/broken.html").text();
    assert!(
        topic.contains("Nothing yet: none of this topic's sources can be read at the moment. The last error: 127.0.0."),
        "{topic}"
    );
    for page in [&index, &topic] {
        assert!(!page.contains(MARKER), "upstream bytes quoted: {page}");
        assert!(
            !page.contains("SECRET-KEY") && !page.contains("broken.xml"),
            "{page}"
        );
        assert!(!page.contains("alert(1)"), "{page}");
    }
    // `/status` keeps the detail: the kind, the message, the place.
    let status = status_of(&server);
    let of = |id: &str| {
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("page")["last_error"]["kind"], "html_page");
    let broken = of("broken");
    assert_eq!(broken["last_error"]["kind"], "malformed");
    assert_eq!(broken["last_error"]["place"]["line"], 3, "{broken}");
    assert!(status["reload"].is_null(), "{status}");
}

#[test]
fn a_refused_reload_shows_until_the_files_are_fixed() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    server.wait_ready();
    let before = server.get("/");
    assert!(!before.text().contains("not reloaded"));

    // Saved half-written: the TOML is cut inside a string holding a token.
    ws.write(
        "more.toml",
        "[[source]]\nid = \"more\"\nurl = \"https://more.example/feed?token=SECRET-TOKEN\n",
    );
    eventually("the refused reload on the index", || {
        server
            .get("/")
            .text()
            .contains("The definitions were not reloaded.")
    });
    let index = server.get("/").text();
    assert!(
        top(&index).contains(", the files in feeds/ changed but could not be loaded: more.toml: not valid TOML (line 3, column "),
        "{index}"
    );
    assert!(
        top(&index).contains("the previous definitions stay in force."),
        "{index}"
    );
    assert!(
        !index.contains("SECRET-TOKEN") && !index.contains("more.example"),
        "{index}"
    );
    assert_ne!(server.get("/").header("etag"), before.header("etag"));
    let status = status_of(&server);
    let reload = &status["reload"];
    assert!(reload["rejected_at"].is_string(), "{status}");
    let error = reload["error"].as_str().unwrap();
    assert!(
        error.contains("more.toml: TOML parse error at line 3"),
        "{error}"
    );
    assert!(
        !error.contains("SECRET-TOKEN") && !error.contains('\n'),
        "{error}"
    );

    // Valid TOML, an invalid definition: the index names the file, not the
    // definition (a private topic's name is no one else's business).
    ws.write(
        "more.toml",
        "[[topic]]\nid = \"secret-project\"\nprivate = true\ntags = { any = [\"no-such-tag\"] }\n",
    );
    eventually("the second refusal", || {
        server
            .get("/metrics")
            .text()
            .contains("feedloom_reloads_total{result=\"rejected\"} 2")
    });
    let index = server.get("/").text();
    assert!(
        top(&index).contains("more.toml: a definition in it is invalid"),
        "{index}"
    );
    assert!(
        !index.contains("secret-project") && !index.contains("no-such-tag"),
        "{index}"
    );
    let error = status_of(&server)["reload"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("unknown tag `no-such-tag`"), "{error}");

    // Fixed: the notice goes, from both.
    std::fs::remove_file(ws.feeds.join("more.toml")).unwrap();
    eventually("the successful reload", || {
        server
            .get("/metrics")
            .text()
            .contains("feedloom_reloads_total{result=\"ok\"} 1")
    });
    assert!(status_of(&server)["reload"].is_null());
    let index = server.get("/").text();
    assert!(!index.contains("not reloaded"), "{index}");
    assert_eq!(top(&index), "<h1>feedloom</h1>\n", "nothing else is wrong");
}
