//! End to end: a real local upstream serving fixtures, `feedloom poll
//! --once`, then `feedloom serve` and real HTTP requests; feeds parsed back
//! with feed-rs.

use feedloom_testkit as common;

use common::*;

fn entry_ids(feed: &feed_rs::model::Feed) -> Vec<String> {
    let mut ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids
}

#[test]
fn poll_then_serve_publishes_every_source_in_valid_feeds() {
    let (ws, _up) = fixture_workspace();
    let out = ws.poll_ok();
    assert!(out.contains("arxiv: fetched 20 items: 20 new"), "{out}");
    assert!(out.contains("lab: fetched 3 items: 3 new"), "{out}");
    assert!(out.contains("group: fetched 2 items: 2 new"), "{out}");
    assert!(out.contains("robots: fetched 2 items: 2 new"), "{out}");
    assert!(out.contains("blog: fetched 3 items: 3 new"), "{out}");

    let server = ws.serve();
    let rss = server.get("/all.rss?limit=100");
    assert_eq!(rss.status, 200);
    assert_eq!(
        rss.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    let rss_feed = parse_feed(&rss.body);
    assert_eq!(rss_feed.entries.len(), FIXTURE_ENTRIES);

    let atom = server.get("/all.atom?limit=100");
    assert_eq!(atom.status, 200);
    assert_eq!(
        atom.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let atom_feed = parse_feed(&atom.body);
    assert_eq!(
        entry_ids(&atom_feed),
        entry_ids(&rss_feed),
        "both formats carry the same ids"
    );

    // Nothing hostile from upstream reaches a feed.
    for body in [rss.text(), atom.text()] {
        for bad in [
            "<script",
            "&lt;script",
            "javascript:",
            "onerror",
            "onclick",
            "<iframe",
            "&lt;iframe",
        ] {
            assert!(!body.contains(bad), "`{bad}` reached a served feed");
        }
        assert!(
            !body.contains("utm_"),
            "tracking parameters must be stripped"
        );
    }

    // Newest first.
    let dates: Vec<_> = atom_feed
        .entries
        .iter()
        .map(|e| e.published.or(e.updated).unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {dates:?}"
    );

    // Default limit is 50 and the topic feeds select by tags.
    let llm = parse_feed(&server.get("/llm.atom").body);
    assert!(!llm.entries.is_empty());
    for e in &llm.entries {
        let text = entry_text(e);
        assert!(
            text.contains("llm") || text.contains("language model"),
            "{text}"
        );
        assert!(
            e.categories.iter().any(|c| c.term == "llm"),
            "matched tag is a category"
        );
    }
    let speech = parse_feed(&server.get("/speech.rss").body);
    let titles: Vec<_> = speech
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Streaming speech recognition")),
        "{titles:?}"
    );
    assert!(!titles.iter().any(|t| t.contains("laundry")), "{titles:?}");
}

/// The `host:port` a feed's self link names.
fn server_addr_text(resp: &HttpResponse) -> String {
    let text = resp.text();
    let start = text.find("http://127.0.0.1:").expect("self link") + "http://".len();
    text[start..].split('/').next().unwrap().to_string()
}

#[test]
fn repoll_creates_no_duplicates_and_restart_keeps_everything() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let second = ws.poll_ok();
    assert!(
        second.contains("arxiv: fetched 20 items: 0 new, 0 updated, 20 unchanged"),
        "{second}"
    );
    assert!(
        second.contains("blog: fetched 3 items: 0 new, 0 updated, 3 unchanged"),
        "{second}"
    );

    let server = ws.serve();
    server.wait_ready();
    let first = server.get("/all.atom?limit=500");
    let feed = parse_feed(&first.body);
    assert_eq!(
        feed.entries.len(),
        FIXTURE_ENTRIES,
        "re-polling added duplicates"
    );
    assert!(server.terminate(), "SIGTERM must end serve with exit 0");

    let old_addr = server_addr_text(&first);
    let server = ws.serve();
    let again = server.get("/all.atom?limit=500");
    assert_eq!(
        entry_ids(&parse_feed(&again.body)),
        entry_ids(&feed),
        "a restart changed the entries"
    );
    // Only the self links differ (a new port); every byte of every entry,
    // dates included, is the same.
    let same = again.text().replace(&server.addr.to_string(), &old_addr) == first.text();
    assert!(same, "a restart changed the feed beyond its port");
}

#[test]
fn a_changed_upstream_item_updates_in_place() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    let before = {
        let server = ws.serve();
        parse_feed(&server.get("/all.atom?limit=100").body)
    };
    let find = |feed: &feed_rs::model::Feed, link: &str| {
        feed.entries
            .iter()
            .find(|e| e.links.iter().any(|l| l.href == link))
            .cloned()
            .unwrap_or_else(|| panic!("no entry links to {link}"))
    };
    let old = find(&before, "https://arxiv.org/abs/2412.20138");

    let changed = String::from_utf8(fixture("arxiv-cs.synthetic.rss"))
        .unwrap()
        .replace(
            "TradingAgents: Multi-Agents LLM Financial Trading Framework",
            "TradingAgents v2: Multi-Agents LLM Financial Trading Framework",
        );
    up.set("/arxiv.rss", Reply::ok("application/rss+xml", changed));
    let out = ws.poll_ok();
    assert!(
        out.contains("arxiv: fetched 20 items: 0 new, 1 updated, 19 unchanged"),
        "{out}"
    );

    let server = ws.serve();
    let after = parse_feed(&server.get("/all.atom?limit=100").body);
    assert_eq!(after.entries.len(), before.entries.len());
    let new = find(&after, "https://arxiv.org/abs/2412.20138");
    assert_eq!(new.id, old.id, "the id never changes");
    assert_eq!(
        new.published, old.published,
        "the published date never changes"
    );
    assert!(new.title.unwrap().content.starts_with("TradingAgents v2"));
    assert!(
        new.updated > old.updated,
        "updated moves on a content change"
    );
}

#[test]
fn a_broken_upstream_fails_alone_and_keeps_stored_entries() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();

    let full = fixture("arxiv-cs.synthetic.rss");
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", full[..full.len() / 2].to_vec()),
    );
    up.set(
        "/lab.atom",
        Reply::ok(
            "text/html",
            "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
    );
    up.set("/group.rdf", Reply::status(500, "oops"));
    up.set(
        "/robots.json",
        Reply::ok(
            "application/json",
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [",
        ),
    ); // truncated JSON
    let out = ws.run(&["poll", "--once"]);
    assert!(
        !out.status.success(),
        "a failed source must make poll --once fail"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Cut in half, the arXiv feed is read for the items it holds whole
    // (issue 27); the item it ends inside of is left out, so no stored
    // entry is overwritten with cut text.
    assert!(
        stdout.contains("arxiv: fetched 10 items: 0 new, 0 updated, 10 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lab: error: extract: not a feed: an HTML page"),
        "{stdout}"
    );
    assert!(stdout.contains("group: error: fetch: HTTP 500"), "{stdout}");
    assert!(
        stdout.contains("robots: error: extract: malformed JSON Feed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("blog: fetched 3 items: 0 new"),
        "other sources go on: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 of 5 sources failed"), "{stderr}");

    // The serve process polls the broken upstream too; its feeds still hold
    // every stored entry, and no junk item appears.
    let server = ws.serve();
    server.wait_ready();
    let feed = parse_feed(&server.get("/all.rss?limit=100").body);
    assert_eq!(feed.entries.len(), FIXTURE_ENTRIES);
    let body = server.get("/all.rss?limit=100").text();
    assert!(!body.contains("Bad Gateway") && !body.contains("oops"));
}

#[test]
fn the_same_paper_from_two_sources_is_one_entry() {
    let (ws, up) = fixture_workspace();
    // A second feed that links the Hugging Face page of a paper the arXiv
    // feed carries, with a shorter summary and different guid.
    up.set(
        "/hf.json",
        Reply::ok(
            "application/feed+json",
            r#"{"version": "https://jsonfeed.org/version/1.1", "items": [
                {"id": "hf-1", "url": "https://huggingface.co/papers/2412.20138",
                 "title": "TradingAgents: Multi-Agents LLM Financial Trading Framework",
                 "summary": "Short.", "date_published": "2030-01-01T00:00:00Z"}]}"#,
        ),
    );
    ws.write(
        "hf.toml",
        &format!(
            // A lower priority than the arXiv feed's: whichever is polled
            // first, the arXiv abstract owns the entry.
            "[[source]]\nid = \"hf\"\nkind = \"feed\"\nurl = \"{}\"\npriority = -1\n",
            up.url("/hf.json")
        ),
    );
    let out = ws.poll_ok();
    assert!(
        out.contains("hf: fetched 1 items: 0 new, 1 updated")
            || out.contains("hf: fetched 1 items: 1 new"),
        "{out}"
    );
    let server = ws.serve();
    let feed = parse_feed(&server.get("/all.atom?limit=100").body);
    assert_eq!(
        feed.entries.len(),
        FIXTURE_ENTRIES,
        "the HF copy must merge into the arXiv entry"
    );
    let paper = feed
        .entries
        .iter()
        .find(|e| {
            e.title
                .as_ref()
                .unwrap()
                .content
                .starts_with("TradingAgents")
        })
        .unwrap();
    assert!(
        paper.summary.as_ref().unwrap().content.len() > 100,
        "the higher-priority source's abstract wins"
    );
}

#[test]
fn entries_that_vanish_upstream_stay() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    // The upstream now lists only its first two items (a partial page).
    let full = String::from_utf8(fixture("arxiv-cs.synthetic.rss")).unwrap();
    let cut = full.match_indices("<item>").nth(2).unwrap().0;
    let partial = format!("{}</channel>\n</rss>\n", &full[..cut]);
    up.set("/arxiv.rss", Reply::ok("application/rss+xml", partial));
    let out = ws.poll_ok();
    assert!(
        out.contains("arxiv: fetched 2 items: 0 new, 0 updated, 2 unchanged"),
        "{out}"
    );
    let server = ws.serve();
    let feed = parse_feed(&server.get("/all.atom?limit=100").body);
    assert_eq!(feed.entries.len(), FIXTURE_ENTRIES, "feeds never shrink");
}

/// One store, one process: `poll --once` next to a running server waits
/// briefly for the lock, then stops with a message naming the store, and
/// the server goes on serving.
#[test]
fn a_second_process_on_the_same_store_is_refused_by_name() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    let out = ws.run(&["poll", "--once"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another process (is `feedloom serve` running on it?)"),
        "{stderr}"
    );
    assert!(stderr.contains(&ws.data.display().to_string()), "{stderr}");
    assert_eq!(server.get("/all.atom").status, 200);
}
