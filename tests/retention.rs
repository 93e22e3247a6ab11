//! Retention: the store keeps what the policy allows, pruned entries leave
//! tombstones and never come back, and topics cap their feeds.

use feedloom_testkit as common;

use common::*;

fn count(server: &Server, topic: &str) -> usize {
    parse_feed(&server.get(&format!("/{topic}.atom?limit=500")).body)
        .entries
        .len()
}

#[test]
fn max_entries_prunes_and_tombstones_keep_them_out() {
    let (ws, _up) = fixture_workspace();
    ws.write("retention.toml", "[retention]\nmax_entries = 25\n");
    ws.poll_ok();
    let ids = {
        let server = ws.serve();
        assert_eq!(count(&server, "all"), 25);
        parse_feed(&server.get("/all.atom?limit=500").body)
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    // The upstream still lists all 30: the 5 pruned stay out.
    let again = ws.poll_ok();
    assert!(again.contains("arxiv: fetched 20 items: 0 new"), "{again}");
    let server = ws.serve();
    assert_eq!(count(&server, "all"), 25);
    let now: Vec<String> = parse_feed(&server.get("/all.atom?limit=500").body)
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(now, ids, "the same 25 survive");
}

#[test]
fn max_age_prunes_old_entries() {
    let (ws, _up) = fixture_workspace();
    ws.write("retention.toml", "[retention]\nmax_age = \"1s\"\n");
    ws.poll_ok();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // The next cycle prunes everything first seen over a second ago, and
    // nothing it prunes is ingested again.
    let out = ws.poll_ok();
    assert!(out.contains("arxiv: fetched 20 items: 0 new"), "{out}");
    let server = ws.serve();
    assert_eq!(count(&server, "all"), 0);
}

#[test]
fn a_topic_caps_its_feeds() {
    let (ws, _up) = fixture_workspace();
    ws.write("capped.toml", "[[topic]]\nid = \"capped\"\nmax_items = 3\n");
    ws.poll_ok();
    let server = ws.serve();
    assert_eq!(parse_feed(&server.get("/capped.rss").body).entries.len(), 3);
    assert_eq!(
        parse_feed(&server.get("/capped.json?limit=20").body)
            .entries
            .len(),
        3
    );
    assert_eq!(
        count(&server, "all"),
        FIXTURE_ENTRIES,
        "other topics are not capped"
    );
}

#[test]
fn bad_retention_is_refused() {
    let ws = Workspace::new();
    ws.write("a.toml", "[retention]\nmax_entries = 0\n");
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("a.toml: retention: field `max_entries`: must be at least 1"));
    let ws = Workspace::new();
    ws.write("a.toml", "[retention]\nmax_entries = 5\n");
    ws.write("b.toml", "[retention]\nmax_age = \"30d\"\n");
    let out = ws.run(&["check"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("`[retention]` is defined twice"));
}

#[test]
fn serve_prunes_as_soon_as_a_poll_goes_over_the_limit() {
    let (ws, _up) = fixture_workspace();
    ws.write("retention.toml", "[retention]\nmax_entries = 25\n");
    // An empty store: retention at start has nothing to do, then the
    // first polls bring 30 entries. Retention follows them at once, not
    // at its next hourly run.
    let server = ws.serve();
    server.wait_ready();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&server, "all") != 25 {
        assert!(
            std::time::Instant::now() < deadline,
            "still {} entries",
            count(&server, "all")
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("\nfeedloom_store_entries 25\n"),
        "{metrics}"
    );
}
