//! Query feeds, served: filter parameters on topic URLs and `/search`,
//! over the 50 real papers of the captured Hugging Face trending listing
//! (served by a local upstream) tagged by the shipped tag rules.

use feedloom_testkit as common;

use std::collections::BTreeSet;

use common::*;

/// The shipped tag rules, as `feeds/` has them.
fn shipped_tags() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/tags.toml")).unwrap()
}

/// A served store of the 50 trending papers (topics `papers`, every
/// paper, and `moe`) and a second source (`lab`, in no topic).
fn served() -> (Workspace, Upstream, Server) {
    let up = Upstream::start();
    up.set(
        "/api/daily_papers?sort=trending&limit=100&p=0",
        Reply::ok("application/json", hf_api_page(0, 50)),
    );
    up.set(
        "/lab.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}
[[source]]
id = \"hf-trending\"
kind = \"huggingface_papers\"
base_url = \"{}\"
listing = \"trending\"

[[source]]
id = \"lab\"
kind = \"feed\"
url = \"{}\"
",
            up.url("/"),
            up.url("/lab.atom")
        ),
    );
    ws.write("tags.toml", &shipped_tags());
    ws.write(
        "topics.toml",
        "[[topic]]\nid = \"papers\"\nsources = [\"hf-trending\"]\n\n[[topic]]\nid = \"moe\"\ntags = { any = [\"moe\"] }\n",
    );
    ws.poll_ok();
    let server = ws.serve();
    (ws, up, server)
}

/// The paper ids (the last segment of each entry's link) of a feed.
fn links(body: &[u8]) -> BTreeSet<String> {
    parse_feed(body)
        .entries
        .iter()
        .map(|e| e.links[0].href.rsplit('/').next().unwrap().to_string())
        .collect()
}

/// The papers of topic `moe`, and those of them with 50 or more upvotes
/// (from the topic feed and the captured upvotes, not from the query code).
fn popular_moe(server: &Server) -> (BTreeSet<String>, BTreeSet<String>) {
    let moe = links(&server.get("/moe.atom?limit=500").body);
    let popular = hf_upvotes()
        .into_iter()
        .filter(|(link, up)| *up >= 50.0 && moe.contains(link))
        .map(|(link, _)| link)
        .collect();
    (moe, popular)
}

#[test]
fn a_topic_query_returns_what_the_topic_and_the_numbers_say() {
    let (ws, _up, server) = served();
    // Expected, from the topic feed and the captured upvotes, not from the
    // query code.
    let (moe, expected) = popular_moe(&server);
    assert!(!expected.is_empty(), "the fixture has popular MoE papers");
    assert!(expected.len() < moe.len(), "the threshold cuts something");

    let r = server.get("/papers.atom?tag=moe&min_upvotes=50");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(links(&r.body), expected);
    jing_atom(ws.dir.path(), "query.atom", &r.body).unwrap();
    let text = r.text();
    let base = format!("http://{}/", server.addr);
    assert!(
        text.contains(&format!(
            "href=\"{base}papers.atom?tag=moe&amp;min_upvotes=50\""
        )),
        "self link with the canonical query:\n{text}"
    );
    let feed = parse_feed(&r.body);
    let title = feed.title.unwrap().content;
    assert!(
        title.contains("moe") && title.contains("upvotes ≥ 50"),
        "{title}"
    );
    // Query feeds are not WebSub topics: no hub named.
    assert!(!text.contains("rel=\"hub\""), "{text}");

    // The same entry ids as in the topic.
    let topic_ids: BTreeSet<String> = parse_feed(&server.get("/papers.atom?limit=500").body)
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(feed.entries.iter().all(|e| topic_ids.contains(&e.id)));

    // Every format answers the same entries.
    for ext in ["rss", "json"] {
        let r = server.get(&format!("/papers.{ext}?min_upvotes=50&tag=moe"));
        assert_eq!(r.status, 200);
        assert_eq!(links(&r.body), expected, "{ext}");
    }
}

#[test]
fn equal_queries_share_one_url_one_etag_and_answer_304() {
    let (_ws, _up, server) = served();
    let a = server.get("/papers.rss?tag=moe&min_upvotes=50&q=MoE");
    let b = server.get("/papers.rss?q=moe&min_upvotes=50.0&tag=moe");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("etag"), b.header("etag"));
    assert_eq!(a.body, b.body);
    assert!(a.header("last-modified").is_some());
    assert!(a.header("cache-control").unwrap().contains("max-age="));
    let etag = a.header("etag").unwrap().to_string();
    let again = http(
        server.addr,
        "GET",
        "/papers.rss?min_upvotes=50&tag=moe&q=moe",
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    let gz = http(
        server.addr,
        "GET",
        "/papers.rss?tag=moe&min_upvotes=50&q=moe",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    // A different query is a different document.
    let c = server.get("/papers.rss?tag=moe&min_upvotes=51");
    assert_ne!(a.header("etag"), c.header("etag"));
}

#[test]
fn a_bad_query_is_a_400_naming_the_parameter() {
    let (_ws, _up, server) = served();
    for (path, says) in [
        ("/papers.atom?colour=red", "`colour`: unknown parameter"),
        ("/papers.atom?tag=nope", "`tag`: unknown tag `nope`"),
        (
            "/papers.json?min_karma=5",
            "`min_karma`: unknown metric `karma`",
        ),
        ("/papers.rss?min_upvotes=many", "`min_upvotes`"),
        ("/papers.html?source=elsewhere", "`source`: unknown source"),
        ("/search.atom?since=soon", "`since`"),
        ("/papers.atom?limit=0", "`limit`"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.text().contains(says), "{path}: {}", r.text());
        assert_eq!(r.text().lines().count(), 1, "one line: {}", r.text());
    }
    // A query that matches nothing is a valid, empty feed.
    let r = server.get("/papers.atom?min_upvotes=1000000");
    assert_eq!(r.status, 200);
    assert!(parse_feed(&r.body).entries.is_empty());
}

#[test]
fn search_looks_in_every_entry() {
    let (ws, _up, server) = served();
    // `papers` holds the Hugging Face papers only; the lab feed's entries
    // are in no topic, yet `/search` finds them.
    let all = parse_feed(&server.get("/search.json?limit=500").body);
    let papers = parse_feed(&server.get("/papers.json?limit=500").body);
    assert!(all.entries.len() > papers.entries.len());
    let from_lab = parse_feed(&server.get("/search.atom?source=lab&limit=500").body);
    assert!(!from_lab.entries.is_empty());
    assert!(from_lab.entries.len() < all.entries.len());

    // Words: every one, case-insensitive, in the title or summary.
    let r = server.get("/search.atom?q=MIXTURE+experts");
    assert_eq!(r.status, 200);
    jing_atom(ws.dir.path(), "search.atom", &r.body).unwrap();
    let found = parse_feed(&r.body);
    assert!(!found.entries.is_empty());
    for e in &found.entries {
        let text = entry_text(e);
        assert!(
            text.contains("mixture") && text.contains("experts"),
            "{text}"
        );
    }
    // Organization and author, case-insensitive substrings.
    let berkeley: Vec<_> = hf_entries()
        .into_iter()
        .filter(|e| {
            e["organization"]["fullname"]
                .as_str()
                .or(e["paper"]["organization"]["fullname"].as_str())
                .is_some_and(|o| o.to_lowercase().contains("berkeley"))
        })
        .collect();
    let r = parse_feed(&server.get("/search.json?org=BERKELEY&limit=500").body);
    assert_eq!(r.entries.len(), berkeley.len(), "organizations");
    assert!(!berkeley.is_empty());
    let author = hf_entries()[0]["paper"]["authors"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let by = parse_feed(
        &server
            .get(&format!(
                "/search.json?author={}",
                author.to_uppercase().replace(' ', "+")
            ))
            .body,
    );
    assert!(!by.entries.is_empty(), "papers by {author}");
    // The HTML view of a query names it and links its feeds.
    let html = server.get("/papers.html?tag=moe&min_upvotes=50").text();
    assert!(
        html.contains("papers.atom?tag=moe&amp;min_upvotes=50"),
        "{html}"
    );
}

#[test]
fn search_is_a_reserved_topic_name() {
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/\"\n\n[[topic]]\nid = \"search\"\n",
    );
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("topic `search`: the name is reserved"),
        "{err}"
    );
}

/// `/search.{ext}` is parsed once, where the path is read, into a feed of
/// every entry; a topic's path into a feed of that topic; under `/p/`
/// (private topics only) the name means nothing.
#[test]
fn a_path_says_what_its_feed_is_of() {
    use feedloom::render::Doc;
    use feedloom::rules::FeedOf;
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/\"\n\n[[topic]]\nid = \"papers\"\n",
    );
    let defs = feedloom::config::load(&ws.feeds).unwrap();
    let of = |path: &str| match feedloom::server::parse_document(&defs, path, Some("q=moe")) {
        Ok(asked) => match asked.doc {
            Doc::Feed { of, .. } | Doc::Preview { of, .. } => Some(of),
            other => panic!("{path}: {other:?}"),
        },
        Err(_) => None,
    };
    assert_eq!(of("/search.atom"), Some(FeedOf::Everything));
    assert_eq!(of("/search.html"), Some(FeedOf::Everything));
    assert_eq!(of("/papers.json"), Some(FeedOf::Topic("papers".into())));
    assert_eq!(of("/p/token/search.atom"), None);
    assert_eq!(of("/nothing.atom"), None);
}

/// The `.html` page's filter form, used in a real browser (Debian's
/// chromium, headless, driven by playwright-core: tests/browser/): filling
/// in tag `moe` and 50 upvotes leads to the filtered page, whose Atom link
/// is the canonical query feed holding what the numbers say.
#[test]
fn the_filter_form_builds_the_query_feed_in_a_browser() {
    let (ws, _up, server) = served();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/filter-form.mjs");
    let modules = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/node_modules");
    assert!(
        std::path::Path::new(modules).is_dir(),
        "playwright-core is missing: `npm ci --prefix tests/browser` (.ci/run does it)"
    );
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(format!("http://{}/papers.html", server.addr))
        .arg(ws.dir.path())
        .output()
        .expect("node runs (the browser test needs Node and Debian's chromium)");
    assert!(
        out.status.success(),
        "the browser script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let base = format!("http://{}/", server.addr);
    // The form sent the browser back to the page with its fields as the query.
    let form_url = seen["formUrl"].as_str().unwrap();
    assert!(
        form_url.starts_with(&format!("{base}papers.html?"))
            && form_url.contains("tag=moe")
            && form_url.contains("min_upvotes=50"),
        "{seen}"
    );
    // The new page starts from the current query.
    assert_eq!(seen["fields"]["tag"], "moe", "{seen}");
    assert_eq!(seen["fields"]["min_upvotes"], "50", "{seen}");
    assert_eq!(seen["failures"], serde_json::json!([]), "{seen}");
    // Its Atom link is the canonical query feed (the empty fields dropped).
    assert_eq!(
        seen["atom"].as_str().unwrap(),
        format!("{base}papers.atom?tag=moe&min_upvotes=50")
    );
    assert_eq!(seen["feedStatus"], 200, "{seen}");
    let feed = seen["feed"].as_str().unwrap().as_bytes();
    let (_, expected) = popular_moe(&server);
    assert!(!expected.is_empty());
    assert_eq!(links(feed), expected);
    jing_atom(ws.dir.path(), "form.atom", feed).unwrap();
    let png = std::fs::read(ws.dir.path().join("form.png")).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

/// The trigram filter a query reads before an entry never says "not
/// there" for a word of the entry's title or abstract or for an author's
/// name, over the 50 real papers (every word, and every author).
#[test]
fn the_word_filter_has_no_false_negatives_on_real_papers() {
    use feedloom::store::facets::{FacetView, Facets};
    let base = url::Url::parse("https://huggingface.co/").unwrap();
    let mut checked = 0;
    for item in hf_entries() {
        let p = &item["paper"];
        let raw = feedloom::model::RawEntry {
            title: p["title"].as_str().map(str::to_string),
            link: Some(format!(
                "https://huggingface.co/papers/{}",
                p["id"].as_str().unwrap()
            )),
            summary: p["summary"].as_str().map(|s| format!("<p>{s}</p>")),
            authors: p["authors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["name"].as_str().map(str::to_string))
                .collect(),
            ..Default::default()
        };
        let e = feedloom::normalize::normalize(raw, "hf", &base, chrono::Utc::now()).unwrap();
        let bytes = postcard::to_allocvec(&Facets::of(&e)).unwrap();
        let view: FacetView = postcard::from_bytes(&bytes).unwrap();
        let text =
            format!("{} {}", e.title, feedloom::text::html_to_text(&e.summary)).to_lowercase();
        for word in text.split_whitespace() {
            assert!(view.may_contain(word), "{word:?} in {}", e.title);
            checked += 1;
        }
        for a in &e.authors {
            assert!(view.may_contain(&a.to_lowercase()), "{a:?}");
        }
    }
    assert!(checked > 5000, "{checked} words");
}
