//! `kind = "json"` sources: response shapes of well-known public APIs
//! (a code host's releases, a link aggregator's listing, a search API with
//! nested hits, another paged by number), JSON embedded in HTML pages (a
//! Next.js page, JSON-LD, the real Hugging Face page's `data-props`),
//! paging and its bounds, and bad input. Fixtures: `tests/fixtures/json/`.

use feedloom_testkit as common;

use chrono::{DateTime, Utc};
use feedloom::extract::{self, ExtractError, SourceKind};
use feedloom::model::Entry;
use feedloom::normalize::normalize;
use url::Url;

use common::*;

fn json_fixture(name: &str) -> Vec<u8> {
    fixture(&format!("json/{name}"))
}

fn now() -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

/// The compiled kind of the one source `toml` defines (through the real
/// definitions loader, so its checks apply).
fn kind_of(toml: &str) -> SourceKind {
    let ws = Workspace::new();
    ws.write("sources.toml", toml);
    let defs = feedloom::config::load(&ws.feeds).unwrap_or_else(|e| panic!("{e}"));
    defs.sources[0].kind.clone()
}

fn load_error(toml: &str) -> String {
    let ws = Workspace::new();
    ws.write("sources.toml", toml);
    feedloom::config::load(&ws.feeds).unwrap_err().to_string()
}

fn entries(kind: &SourceKind, body: &[u8], ct: &str, page: &str) -> Vec<Entry> {
    let base = Url::parse(page).unwrap();
    extract::extract(kind, body, Some(ct), now())
        .unwrap()
        .entries
        .into_iter()
        .map(|r| normalize(r, "src", &base, now()).unwrap())
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const RELEASES: &str = r#"
[[source]]
id = "shuttle-releases"
kind = "json"
url = "URL"

[source.select]
items = ""
title = ["/name", "/tag_name"]
link = "/html_url"
id = "/id"
summary = "/body"
date = "/published_at"
authors = "/author/login"

[source.metrics]
reactions = "/reactions/total_count"

[[topic]]
id = "releases"
"#;

#[test]
fn a_code_hosts_releases_are_served_as_valid_feeds() {
    let up = Upstream::start();
    up.set(
        "/repos/loomworks/shuttle/releases",
        Reply::ok(
            "application/json; charset=utf-8",
            json_fixture("github-releases.json"),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &RELEASES.replace("URL", &up.url("/repos/loomworks/shuttle/releases")),
    );
    let out = ws.poll_ok();
    assert!(
        out.contains("shuttle-releases: fetched 3 items: 3 new"),
        "{out}"
    );

    let server = ws.serve();
    let atom = server.get("/releases.atom");
    assert_eq!(atom.status, 200);
    jing_atom(ws.dir.path(), "releases.atom", &atom.body).unwrap();
    let feed = parse_feed(&atom.body);
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    // Newest first; the release without a name falls back to its tag.
    assert_eq!(
        titles,
        ["Shuttle 2.4: streaming decoder", "v2.3.1", "Shuttle 2.3"]
    );
    let first = &feed.entries[0];
    assert_eq!(
        first.links[0].href,
        "https://github.com/loomworks/shuttle/releases/tag/v2.4.0"
    );
    assert_eq!(first.authors[0].name, "ann-weaver");
    assert_eq!(first.published, Some(t("2026-11-28T10:15:42Z")));
    // Markdown-ish plain text keeps its paragraphs; the script is gone.
    let text = atom.text();
    assert!(
        !text.contains("<script") && !text.contains("&lt;script"),
        "{text}"
    );
    let summary = entry_text(first);
    assert!(
        summary.contains("streaming decoder for large inputs"),
        "{summary}"
    );

    let json = server.get("/releases.json");
    let doc: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    let ids: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    drop(server);

    // Ids are stable: a second poll of the same API adds nothing.
    let again = ws.poll_ok();
    assert!(again.contains("0 new") || again.contains("304"), "{again}");
}

const REDDIT: &str = r#"
[[source]]
id = "r-rust"
kind = "json"
url = "URL"
max_pages = 4

[source.select]
items = "/data/children"
title = "/data/title"
link = "/data/permalink"
id = "/data/name"
summary = "/data/selftext_html"
date = "/data/created_utc"
authors = "/data/author"
categories = "/data/link_flair_text"
image = "/data/thumbnail"

[source.metrics]
points = "/data/score"
comments = "/data/num_comments"

[source.paging]
cursor = "/data/after"
param = "after"

[[tag]]
id = "popular"
all = [{ metric = "points", gte = 500 }]

[[topic]]
id = "popular"
tags.any = ["popular"]
"#;

#[test]
fn a_link_aggregator_is_read_page_by_page_with_its_cursor() {
    let up = Upstream::start();
    let json = "application/json; charset=UTF-8";
    up.set(
        "/r/rust/new.json",
        Reply::ok(json, json_fixture("reddit-new-page1.json")),
    );
    up.set(
        "/r/rust/new.json?after=t3_1h5c2d3",
        Reply::ok(json, json_fixture("reddit-new-page2.json")),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &REDDIT.replace("URL", &up.url("/r/rust/new.json")),
    );
    let out = ws.poll_ok();
    assert!(out.contains("r-rust: fetched 3 items: 3 new"), "{out}");
    let asked: Vec<String> = up
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    // The second page's cursor was null: two requests, not max_pages.
    assert_eq!(
        asked,
        ["/r/rust/new.json", "/r/rust/new.json?after=t3_1h5c2d3"]
    );

    let server = ws.serve();
    let feed = parse_feed(&server.get("/popular.atom").body);
    let mut titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    titles.sort();
    // Metrics from pointers drive rules: 1412 and 655 points, not 287.
    assert_eq!(
        titles,
        [
            "Announcing Rust 1.99.0",
            "Async closures are stable: what changes for libraries"
        ]
    );
    let atom = server.get("/popular.atom").text();
    assert!(
        atom.contains(&format!(
            "http://{}/r/rust/comments/1h5f9a1/announcing_rust_1990/",
            up.addr
        )),
        "permalinks resolve against the API's origin"
    );
    // A thumbnail that is a URL is an enclosure; `self` is not.
    let rss = server.get("/popular.rss").text();
    assert!(
        rss.contains("https://b.thumbs.redditmedia.com/x9Kq2.jpg"),
        "{rss}"
    );
    assert!(!rss.contains("/self\""), "{rss}");

    // The escaped self-text is markup once unescaped, and is sanitized.
    let kind = kind_of(&REDDIT.replace("URL", "https://www.reddit.com/r/rust/new.json"));
    let es = entries(
        &kind,
        &json_fixture("reddit-new-page1.json"),
        "application/json",
        "https://www.reddit.com/r/rust/new.json",
    );
    let post = es
        .iter()
        .find(|e| e.title.starts_with("How we cut"))
        .unwrap();
    assert!(
        post.summary.contains("<p>We measured every crate."),
        "{}",
        post.summary
    );
    assert!(!post.summary.contains("onerror"), "{}", post.summary);
    assert_eq!(post.metrics["points"], 287.0);
    assert_eq!(post.metrics["comments"], 64.0);
    assert_eq!(post.categories, ["🛠️ project"]);
    assert_eq!(post.published, t("2026-11-30T04:00:00Z"));
    assert_eq!(post.authors, ["ferris_fan"]);
}

const ALGOLIA: &str = r#"
[[source]]
id = "hn-rust"
kind = "json"
url = "URL"
link_template = "https://news.ycombinator.com/item?id={id}"
comments_template = "https://news.ycombinator.com/item?id={id}"

[source.select]
items = "/hits"
title = "/title"
link = "/url"
id = "/objectID"
summary = "/story_text"
date = ["/created_at", "/created_at_i"]
authors = "/author"

[source.metrics]
points = "/points"
comments = "/num_comments"

[source.paging]
param = "page"
start = 0

[[topic]]
id = "hn"
"#;

#[test]
fn a_search_api_is_read_by_page_number_until_a_page_is_empty() {
    let up = Upstream::start();
    let json = "application/json";
    let base = "/api/v1/search_by_date?tags=story&query=rust";
    for p in 0..3 {
        up.set(
            &format!("{base}&page={p}"),
            Reply::ok(json, json_fixture(&format!("algolia-hn-page{p}.json"))),
        );
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &ALGOLIA.replace("URL", &up.url(base)));
    let out = ws.poll_ok();
    assert!(out.contains("hn-rust: fetched 3 items: 3 new"), "{out}");
    // Pages 0 and 1 had hits, page 2 none: three requests of the default 5.
    assert_eq!(up.requests.lock().unwrap().len(), 3);

    let server = ws.serve();
    let feed = parse_feed(&server.get("/hn.atom").body);
    let ask = entry_titled(&feed, "Ask HN");
    // No URL: the link is built from the id.
    assert_eq!(
        ask.links[0].href,
        "https://news.ycombinator.com/item?id=46100871"
    );
    assert!(entry_text(ask).contains("three people writing etl"));
    assert_eq!(ask.published, Some(t("2026-11-30T11:40:27Z")));
    // Every story's discussion, from `comments_template`.
    let kernel = entry_titled(&feed, "Rust in the Linux");
    let replies = link_rel(kernel, "replies").expect("a discussion link");
    assert_eq!(
        replies.href,
        "https://news.ycombinator.com/item?id=46101234"
    );
}

#[test]
fn an_api_that_ignores_the_page_parameter_is_not_walked_to_the_cap() {
    let up = Upstream::start();
    let base = "/api/v1/search_by_date?tags=story&query=rust";
    // Every page answers the same hits.
    for p in 0..10 {
        up.set(
            &format!("{base}&page={p}"),
            Reply::ok("application/json", json_fixture("algolia-hn-page0.json")),
        );
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &ALGOLIA.replace("URL", &up.url(base)));
    let out = ws.poll_ok();
    assert!(out.contains("hn-rust: fetched 2 items: 2 new"), "{out}");
    // Page 1 repeated page 0: paging stopped there.
    assert_eq!(up.requests.lock().unwrap().len(), 2);
}

#[test]
fn a_next_page_url_is_followed_on_the_same_origin_only() {
    let up = Upstream::start();
    let elsewhere = Upstream::start_on("127.0.0.2");
    let json = "application/json";
    up.set(
        "/v2/posts",
        Reply::ok(
            json,
            r#"{"data":[{"t":"first"}],"links":{"next":"posts?cursor=b"}}"#,
        ),
    );
    let hop = elsewhere.url("/steal");
    up.set(
        "/v2/posts?cursor=b",
        Reply::ok(
            json,
            format!(r#"{{"data":[{{"t":"second"}}],"links":{{"next":"{hop}"}}}}"#),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "[[source]]\nid = \"posts\"\nkind = \"json\"\nurl = \"{}\"\n[source.select]\nitems = \"/data\"\ntitle = \"/t\"\n[source.paging]\nnext_url = \"/links/next\"\n",
            up.url("/v2/posts")
        ),
    );
    let out = ws.poll_ok();
    assert!(out.contains("posts: fetched 2 items: 2 new"), "{out}");
    assert_eq!(up.requests.lock().unwrap().len(), 2);
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "a body sent the poller to another host"
    );
}

#[test]
fn a_failing_later_page_cuts_the_listing_and_keeps_no_validators() {
    let up = Upstream::start();
    let json = "application/json";
    up.set(
        "/r/rust/new.json",
        Reply::ok(json, json_fixture("reddit-new-page1.json")).with_header("ETag", "\"p1\""),
    );
    up.set(
        "/r/rust/new.json?after=t3_1h5c2d3",
        Reply::status(500, "oops"),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}{}",
            REDDIT.replace("URL", &up.url("/r/rust/new.json"))
        ),
    );
    // Page 1's two posts are stored; the poll does not fail.
    let out = ws.poll_ok();
    assert!(out.contains("r-rust: fetched 2 items: 2 new"), "{out}");
    // The next poll asks page 1 unconditionally (no 304 hiding page 2),
    // and now reads page 2 too.
    up.set(
        "/r/rust/new.json?after=t3_1h5c2d3",
        Reply::ok(json, json_fixture("reddit-new-page2.json")),
    );
    let out = ws.poll_ok();
    assert!(out.contains("r-rust: fetched 3 items: 1 new"), "{out}");
    let heads = up.requests.lock().unwrap().clone();
    let page1: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("GET /r/rust/new.json HTTP"))
        .collect();
    assert_eq!(page1.len(), 2);
    assert!(
        !page1[1].to_ascii_lowercase().contains("if-none-match"),
        "{}",
        page1[1]
    );
}

#[test]
fn a_search_api_with_nested_hits() {
    let kind = kind_of(
        r#"
[[source]]
id = "kb"
kind = "json"
url = "https://search.example.org/kb/_search?q=ops"

[source.select]
items = "/hits/hits"
title = "/_source/doc/headline"
link = "/_source/doc/path"
id = "/_id"
content = "/_source/body/html"
date = "/_source/published_epoch_ms"
categories = "/_source/labels"
authors = "/_source/contributors"

[source.metrics]
views = "/_source/stats/views"
"#,
    );
    let es = entries(
        &kind,
        &json_fixture("elasticsearch-search.json"),
        "application/json",
        "https://search.example.org/kb/_search?q=ops",
    );
    assert_eq!(es.len(), 2);
    let tls = &es[0];
    assert_eq!(tls.title, "Rotating TLS certificates without downtime");
    assert_eq!(tls.link, "https://search.example.org/kb/tls-rotation");
    assert_eq!(tls.published, t("2026-11-29T08:00:00Z"));
    assert_eq!(tls.categories, ["ops", "tls"]);
    assert_eq!(tls.authors, ["Priya N.", "Jo Brandt"]);
    assert_eq!(tls.metrics["views"], 12408.0);
    assert!(
        tls.summary.contains("<code>SIGHUP</code>"),
        "{}",
        tls.summary
    );
    assert!(!tls.summary.contains("iframe"), "{}", tls.summary);
    // A string where an array was expected is one category.
    assert_eq!(es[1].categories, ["storage"]);
    assert_eq!(es[1].metrics["views"], 907.0);
    // The API's id is the identity: the same hit under another headline is
    // the same entry.
    let renamed = String::from_utf8(json_fixture("elasticsearch-search.json"))
        .unwrap()
        .replace("Sizing the write-ahead log", "Sizing the WAL");
    let again = entries(
        &kind,
        renamed.as_bytes(),
        "application/json",
        "https://search.example.org/kb/_search?q=ops",
    );
    assert_eq!(again[1].id, es[1].id);
}

#[test]
fn json_embedded_in_html_pages() {
    let page = json_fixture("nextjs-blog.html");
    let url = "https://eng.example.org/blog";
    let next = kind_of(
        r#"
[[source]]
id = "eng-blog"
kind = "json"
url = "https://eng.example.org/blog"
link_template = "https://eng.example.org/blog/{id}"

[source.select]
embedded = "script#__NEXT_DATA__"
items = "/props/pageProps/posts"
title = "/title"
id = "/slug"
summary = "/excerpt"
date = "/date"
authors = "/author/name"
categories = "/tags"
image = "/cover/url"
"#,
    );
    let es = entries(&next, &page, "text/html; charset=utf-8", url);
    assert_eq!(es.len(), 2);
    assert_eq!(
        es[0].link,
        "https://eng.example.org/blog/observability-budgets"
    );
    assert_eq!(
        es[0].media.as_ref().unwrap().url,
        "https://eng.example.org/images/budgets.png"
    );
    assert_eq!(es[0].media.as_ref().unwrap().mime, "image/png");
    assert!(es[1].media.is_none(), "a null cover is no image");
    assert_eq!(es[0].categories, ["ops", "tracing"]);
    assert_eq!(es[1].published, t("2026-11-20T00:00:00Z"));

    // JSON-LD: the first block (an Organization) has no item list; the
    // second does, and is the one read.
    let ld = kind_of(
        r#"
[[source]]
id = "eng-ld"
kind = "json"
url = "https://eng.example.org/blog"

[source.select]
embedded = 'script[type="application/ld+json"]'
items = "/itemListElement"
title = "/item/headline"
link = "/item/url"
date = "/item/datePublished"
authors = "/item/author"
"#,
    );
    let ls = entries(&ld, &page, "text/html", url);
    assert_eq!(
        ls.iter().map(|e| &e.link).collect::<Vec<_>>(),
        es.iter().map(|e| &e.link).collect::<Vec<_>>()
    );
    assert_eq!(ls[0].published, t("2026-11-27T07:00:00Z"));
    assert_eq!(ls[0].authors, ["Mara Okafor"]);
}

#[test]
fn the_real_hugging_face_page_read_through_its_data_props_attribute() {
    let kind = kind_of(
        r#"
[[source]]
id = "hf-generic"
kind = "json"
url = "https://huggingface.co/papers/trending"
link_template = "https://huggingface.co/papers/{id}"

[source.select]
embedded = 'div[data-target="DailyPapers"]@data-props'
items = "/dailyPapers"
title = "/paper/title"
id = "/paper/id"
summary = "/paper/summary"
date = "/publishedAt"
authors = "/paper/authors"

[source.metrics]
upvotes = "/paper/upvotes"
"#,
    );
    let es = entries(
        &kind,
        &fixture("hf-trending-2026-10-07.html"),
        "text/html; charset=utf-8",
        "https://huggingface.co/papers/trending",
    );
    let want = hf_upvotes();
    assert_eq!(es.len(), 50);
    assert_eq!(want.len(), 50);
    for (e, (id, upvotes)) in es.iter().zip(&want) {
        assert_eq!(e.link, format!("https://huggingface.co/papers/{id}"));
        assert_eq!(e.metrics["upvotes"], *upvotes, "{id}");
        assert!(!e.authors.is_empty(), "{id}");
    }
    let papers = hf_entries();
    let titles = papers.iter().map(|p| p["paper"]["title"].as_str().unwrap());
    for (e, want) in es.iter().zip(titles) {
        assert_eq!(e.title, feedloom::text::collapse_ws(want));
    }
}

fn releases_kind() -> SourceKind {
    kind_of(&RELEASES.replace(
        "URL",
        "https://api.github.com/repos/loomworks/shuttle/releases",
    ))
}

#[test]
fn bad_bodies_are_clear_errors() {
    let kind = releases_kind();
    let err =
        |body: &[u8]| extract::extract(&kind, body, Some("application/json"), now()).unwrap_err();
    let full = json_fixture("github-releases.json");
    // Truncated.
    let e = err(&full[..full.len() / 2]);
    assert!(
        matches!(e, ExtractError::Malformed { format: "JSON", .. }),
        "{e}"
    );
    // Not JSON at all.
    assert!(matches!(
        err(b"<html>rate limited</html>"),
        ExtractError::Malformed { .. }
    ));
    // Nested past the limit: refused before parsing.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(err(deep.as_bytes()), ExtractError::TooDeep(_)));
    // The wrong type at `items`, and nothing there.
    let obj = err(br#"{"message": "Not Found"}"#).to_string();
    assert!(
        obj.contains("select.items ``") && obj.contains("an object"),
        "{obj}"
    );
    let reddit = kind_of(&REDDIT.replace("URL", "https://www.reddit.com/r/rust/new.json"));
    let missing = extract::extract(&reddit, br#"{"error": 429}"#, None, now())
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nothing at select.items `/data/children`"),
        "{missing}"
    );
    // Wrong types inside items are missing fields: an object for a title
    // skips the item, an array for a date is no date.
    let odd = br#"[{"name": {"x": 1}, "tag_name": ["v1"], "id": 1},
                  {"name": "ok", "published_at": [2026], "id": 2, "author": 7}]"#;
    let es = extract::extract(&kind, odd, None, now()).unwrap().entries;
    assert_eq!(es.len(), 1);
    assert_eq!(es[0].title.as_deref(), Some("ok"));
    assert_eq!(es[0].published, None);
    // An embedded element that is not there names the selector.
    let next = kind_of(
        r#"
[[source]]
id = "x"
kind = "json"
url = "https://x.example/"
[source.select]
embedded = "script#__NEXT_DATA__"
items = "/props/pageProps/posts"
title = "/title"
"#,
    );
    let e = extract::extract(&next, b"<html><body>redesigned</body></html>", None, now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("select.embedded `script#__NEXT_DATA__`"), "{e}");
}

#[test]
fn a_broken_or_huge_response_keeps_what_was_stored() {
    let up = Upstream::start();
    let path = "/repos/loomworks/shuttle/releases";
    let good = json_fixture("github-releases.json");
    up.set(path, Reply::ok("application/json", good.clone()));
    let ws = Workspace::new();
    let def = RELEASES
        .replace("URL", &up.url(path))
        .replace("kind = \"json\"", "kind = \"json\"\nmax_body = \"64KiB\"");
    ws.write("sources.toml", &def);
    ws.poll_ok();

    for (reply, said) in [
        (
            Reply::ok("application/json", good[..good.len() - 40].to_vec()),
            "malformed JSON",
        ),
        (
            Reply::ok("application/json", vec![b' '; 200 * 1024]),
            "larger than 65536 bytes",
        ),
        (
            Reply::ok(
                "application/json",
                br#"{"message":"API rate limit exceeded"}"#.to_vec(),
            ),
            "select.items",
        ),
    ] {
        up.set(path, reply);
        let out = ws.run(&["poll", "--once"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("shuttle-releases") && text.contains(said),
            "{text}"
        );
        let server = ws.serve();
        let feed = parse_feed(&server.get("/releases.atom").body);
        assert_eq!(feed.entries.len(), 3, "stored entries survive: {text}");
    }
}

#[test]
fn definition_mistakes_name_the_file_source_and_field() {
    let base = "[[source]]\nid = \"j\"\nkind = \"json\"\nurl = \"https://api.example.org/x\"\n";
    for (extra, want) in [
        ("[source.select]\ntitle = \"/t\"\n", "select.items is required"),
        ("[source.select]\nitems = \"data\"\ntitle = \"/t\"\n", "select.items: `data` is not a JSON Pointer"),
        ("[source.select]\nitems = \"\"\nitem = \"div\"\ntitle = \"/t\"\n", "select.item applies to kind = \"html\""),
        ("link_template = \"https://x.example/p\"\n[source.select]\nitems = \"\"\ntitle = \"/t\"\nid = \"/id\"\n", "needs `{id}`"),
        ("link_template = \"https://x.example/{id}\"\n[source.select]\nitems = \"\"\ntitle = \"/t\"\n", "link_template needs select.id"),
        ("comments_template = \"https://x.example/c/{id}\"\n[source.select]\nitems = \"\"\ntitle = \"/t\"\n", "comments_template needs select.id"),
        ("max_pages = 3\n[source.select]\nitems = \"\"\ntitle = \"/t\"\n", "max_pages needs a `[source.paging]`"),
        ("max_pages = 500\n[source.select]\nitems = \"\"\ntitle = \"/t\"\n[source.paging]\nparam = \"p\"\n", "max_pages: 1 to 50"),
        ("[source.select]\nitems = \"\"\ntitle = \"/t\"\n[source.paging]\nnext_url = \"/n\"\nparam = \"p\"\n", "paging: give one of"),
        ("[source.select]\nitems = \"\"\ntitle = \"/t\"\n[source.metrics]\n\"Points!\" = \"/p\"\n", "metric names use"),
        ("[source.select]\nitems = \"\"\ntitle = \"/t\"\nembedded = \"div[\"\n", "select.embedded: bad CSS selector"),
    ] {
        let e = load_error(&format!("{base}{extra}"));
        assert!(e.contains("sources.toml") && e.contains("source `j`") && e.contains(want), "{want}: {e}");
    }
    let e = load_error("[[source]]\nid = \"f\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\n[source.paging]\nparam = \"p\"\n");
    assert!(
        e.contains("field `paging` only applies to kind = \"json\""),
        "{e}"
    );
    let e = load_error("[[source]]\nid = \"h\"\nkind = \"html\"\nurl = \"https://x.example/\"\n[source.select]\nitem = \"li\"\nitems = \"\"\ntitle = \"a\"\n");
    assert!(e.contains("select.items applies to kind = \"json\""), "{e}");
}

#[test]
fn inspect_reads_a_json_file_with_pointers() {
    let ws = Workspace::new();
    ws.write("sources.toml", "[[topic]]\nid = \"all\"\n");
    let file = ws.dir.path().join("releases.json");
    std::fs::write(&file, json_fixture("github-releases.json")).unwrap();
    let out = ws.run(&[
        "inspect",
        file.to_str().unwrap(),
        "--kind",
        "json",
        "--select",
        "items=",
        "--select",
        "title=/tag_name",
        "--select",
        "link=/html_url",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 items extracted"), "{text}");
    assert!(text.contains("v2.3.1"), "{text}");
}
