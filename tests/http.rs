//! The HTTP surface of `feedloom serve`: routes, status codes, content
//! types, HEAD, `?limit=`, conditional requests, the index page.

use feedloom_testkit as common;

use common::*;

fn served() -> (Workspace, Upstream, Server) {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    (ws, up, server)
}

#[test]
fn routes_and_errors() {
    let (_ws, _up, server) = served();

    let health = server.get("/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));

    let missing = server.get("/nope.rss");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        missing.text().contains("unknown topic `nope`"),
        "{}",
        missing.text()
    );
    assert_eq!(server.get("/all.xml").status, 404);
    assert_eq!(server.get("/all").status, 404);

    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = http(server.addr, method, "/all.rss", &[("Content-Length", "0")]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }

    assert_eq!(server.get("/all.rss?limit=0").status, 400);
    assert_eq!(server.get("/all.rss?limit=lots").status, 400);
}

#[test]
fn limit_and_head() {
    let (_ws, _up, server) = served();
    let five = parse_feed(&server.get("/all.atom?limit=5").body);
    assert_eq!(five.entries.len(), 5);
    let all = parse_feed(&server.get("/all.atom?limit=100000").body);
    assert_eq!(
        all.entries.len(),
        FIXTURE_ENTRIES,
        "limit is capped, not refused"
    );
    // The first five of the full list are the five.
    let ids = |f: &feed_rs::model::Feed, n: usize| {
        f.entries
            .iter()
            .take(n)
            .map(|e| e.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&five, 5), ids(&all, 5));
    // Asked twice, a non-default limit comes from the cache: same bytes.
    assert_eq!(
        server.get("/all.atom?limit=5").body,
        server.get("/all.atom?limit=5").body
    );

    let get = server.get("/all.rss");
    let head = http(server.addr, "HEAD", "/all.rss", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(
        get.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        get.body.len()
    );
}

#[test]
fn conditional_requests_get_304() {
    let (_ws, _up, server) = served();
    let first = server.get("/llm.rss");
    let etag = first.header("etag").expect("ETag").to_string();
    let last_modified = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );

    let r = http(server.addr, "GET", "/llm.rss", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));

    let r = http(
        server.addr,
        "GET",
        "/llm.rss",
        &[("If-None-Match", "\"other\", W/".to_string().as_str())],
    );
    assert_eq!(r.status, 200);
    let list = format!("\"other\", {etag}");
    assert_eq!(
        http(server.addr, "GET", "/llm.rss", &[("If-None-Match", &list)]).status,
        304
    );

    let r = http(
        server.addr,
        "GET",
        "/llm.rss",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(r.status, 304);
    let r = http(
        server.addr,
        "GET",
        "/llm.rss",
        &[("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")],
    );
    assert_eq!(r.status, 200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    let r = http(
        server.addr,
        "GET",
        "/llm.rss",
        &[
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", &last_modified),
        ],
    );
    assert_eq!(r.status, 200);

    // Last-Modified is the topic's last change, not the time of the request.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        server.get("/llm.rss").header("last-modified"),
        Some(last_modified.as_str())
    );
}

#[test]
fn the_index_lists_topics_with_autodiscovery() {
    let (_ws, _up, server) = served();
    let index = server.get("/");
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = index.text();
    let base = format!("http://{}/", server.addr);
    for (topic, title) in [("all", "Everything"), ("llm", "LLM"), ("speech", "Speech")] {
        for (ext, mime) in [
            ("rss", "application/rss+xml"),
            ("atom", "application/atom+xml"),
            ("json", "application/feed+json"),
        ] {
            let discovery = format!(
                "<link rel=\"alternate\" type=\"{mime}\" title=\"{title}\" href=\"{base}{topic}.{ext}\">"
            );
            assert!(html.contains(&discovery), "missing {discovery} in {html}");
            let subscribe = format!("<a href=\"{base}{topic}.{ext}\">");
            assert!(html.contains(&subscribe), "missing {subscribe}");
        }
    }
    assert!(
        html.contains(&format!("<small>{FIXTURE_ENTRIES} entries, updated <time")),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{base}all.html\"")),
        "preview link: {html}"
    );
    assert!(
        html.contains(&format!("href=\"{base}opml.xml\"")),
        "OPML link: {html}"
    );
}

#[test]
fn feeds_name_their_public_url() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve_with(&["--base-url", "https://example.org/feeds"]);
    let rss = server.get("/llm.rss").text();
    assert!(
        rss.contains("<atom:link href=\"https://example.org/feeds/llm.rss\" rel=\"self\""),
        "{rss}"
    );
    let atom = server.get("/llm.atom").text();
    assert!(
        atom.contains("href=\"https://example.org/feeds/llm.atom\" rel=\"self\""),
        "{atom}"
    );
}

/// The index's source-health list, and that it changes only on a change of
/// state: a source failing the same way again leaves the page (and its
/// ETag) alone; recovering changes it.
#[test]
fn the_index_shows_source_health_and_changes_only_with_it() {
    let (ws, up) = fixture_workspace();
    let base = ["--base-url", "https://example.org/feeds/"];
    let index = |ws: &Workspace| {
        let server = ws.serve_with(&base);
        let r = server.get("/");
        (
            r.text(),
            r.header("etag").unwrap().to_string(),
            r.header("last-modified").unwrap().to_string(),
        )
    };
    ws.poll_ok();
    up.set("/lab.atom", Reply::status(500, "<h1>oops</h1>"));
    assert!(!ws.run(&["poll", "--once"]).status.success());
    let (failing, etag, _) = index(&ws);
    let lab = failing
        .lines()
        .skip_while(|l| !l.contains("<strong>lab</strong> <small>feed · 127.0.0.1</small>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no lab row in {failing}"));
    assert!(
        lab.contains("<strong class=\"failing\">failing</strong> since <time datetime="),
        "{lab}"
    );
    assert!(
        lab.contains("HTTP 500: the site failed to answer (an error on its side)"),
        "{lab}"
    );
    assert!(!failing.contains("<h1>oops"), "upstream HTML is escaped");
    assert!(
        !failing.contains("/lab.atom"),
        "source URLs (which may hold tokens) stay off the public page"
    );
    let arxiv = failing
        .lines()
        .skip_while(|l| !l.contains("<strong>arxiv</strong> <small>feed · 127.0.0.1</small>"))
        .nth(1)
        .unwrap();
    assert!(arxiv.contains("ok since <time"), "{arxiv}");
    assert!(arxiv.contains("20 entries added"), "{arxiv}");
    assert!(failing.contains("href=\"https://example.org/feeds/status\""));

    // The same failure again: the same page, byte for byte.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(!ws.run(&["poll", "--once"]).status.success());
    let (again, etag_again, last_modified) = index(&ws);
    assert_eq!((&again, &etag_again), (&failing, &etag));

    // Recovery is a change of state: a new page, a later Last-Modified.
    serve_fixtures(&up);
    ws.poll_ok();
    let (recovered, etag_recovered, last_modified_recovered) = index(&ws);
    assert_ne!(etag_recovered, etag);
    assert!(!recovered.contains("class=\"failing\""), "{recovered}");
    let parse = |s: &str| chrono::DateTime::parse_from_rfc2822(s).unwrap();
    assert!(parse(&last_modified_recovered) > parse(&last_modified));
}

/// While serving: the index rendered before a source's first poll ends
/// says so, and the next request after the poll shows the outcome. The
/// failing source changes no topic, so only its change of health can have
/// dropped the cached index.
#[test]
fn the_served_index_follows_source_health() {
    let (ws, up) = fixture_workspace();
    // The group feed's first poll takes a few seconds and then fails: an
    // HTML error page trickles in where a feed was expected. It is on a host
    // of its own, so it holds no other source back (one request per host).
    let slow = Upstream::start_on("127.0.0.2");
    ws.write(
        "sources.toml",
        &fixture_sources(&up).replace(&up.url("/group.rdf"), &slow.url("/group.rdf")),
    );
    let page = format!(
        "<html><body><h1>Service unavailable</h1>{}</body></html>",
        " ".repeat(60)
    );
    slow.set(
        "/group.rdf",
        Reply::ok("text/html", page).misbehaving(Misbehave::Drip(60)),
    );
    let server = ws.serve();
    let row = |html: &str, id: &str| {
        html.lines()
            .skip_while(|l| !l.contains(&format!("<strong>{id}</strong> <small>")))
            .nth(1)
            .unwrap_or_else(|| panic!("no {id} row in {html}"))
            .to_string()
    };
    // Every other source is done while the group's poll still runs: that
    // index is rendered and cached.
    let started = std::time::Instant::now();
    let before = loop {
        let r = server.get("/");
        if ["arxiv", "lab", "robots", "blog"]
            .iter()
            .all(|id| row(&r.text(), id).contains("ok since"))
        {
            break r;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        row(&before.text(), "group").contains("not polled yet"),
        "{}",
        before.text()
    );
    server.wait_ready();
    let after = server.get("/");
    assert_ne!(after.header("etag"), before.header("etag"));
    let html = after.text();
    assert!(
        row(&html, "group").contains("failing</strong> since"),
        "{html}"
    );
    assert!(row(&html, "arxiv").contains("20 entries added"), "{html}");
}
