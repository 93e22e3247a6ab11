//! A feed that needs repairs to be read is *recovered*: its entries are
//! served, and the operator sees what was repaired and where — on
//! `/status`, the index, `/metrics`, in `inspect` and in the log, once per
//! change — until the upstream is fixed. A document cut short keeps no
//! validators, so the next poll reads it whole instead of taking a 304.

use feedloom_testkit as common;

use common::*;

/// An RSS feed of `site` whose first item's title is `first_title` (as
/// written, on line 3 from column 14) and which ends with `end`.
fn rss(site: &str, first_title: &str, end: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <rss version=\"2.0\"><channel><title>Cartoons</title><link>https://{site}.example/</link><description>Old ones.</description>\n\
         <item><title>{first_title}</title><link>https://{site}.example/tom</link><guid>https://{site}.example/tom</guid><pubDate>Tue, 06 Oct 2026 10:00:00 GMT</pubDate></item>\n\
         <item><title>Road Runner</title><link>https://{site}.example/road</link><guid>https://{site}.example/road</guid><pubDate>Wed, 07 Oct 2026 10:00:00 GMT</pubDate></item>\n\
         {end}"
    )
}

const WHOLE: &str = "</channel></rss>\n";

fn source(id: &str, url: &str) -> String {
    format!("\n[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n")
}

fn defs(sources: &str) -> String {
    format!("{LOCAL_HOST_RULES}{sources}\n[[topic]]\nid = \"all\"\n")
}

/// `poll --once` logging at info level: (stdout, stderr).
fn poll_logged(ws: &Workspace) -> (String, String) {
    let out = ws
        .command()
        .env("FEEDLOOM_LOG", "info")
        .args(["poll", "--once"])
        .output()
        .expect("run feedloom");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "poll failed: {stdout}\n{stderr}");
    (stdout, stderr)
}

fn status_of(server: &Server) -> serde_json::Value {
    let status = server.get("/status");
    assert_eq!(status.status, 200);
    serde_json::from_slice(&status.body).unwrap()
}

fn source_status<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id} in {status}"))
}

/// The value of `feedloom_source_repairs{source="ID"}`.
fn repairs_metric(server: &Server, id: &str) -> f64 {
    let text = server.get("/metrics").text();
    assert!(
        text.contains("# TYPE feedloom_source_repairs gauge\n"),
        "{text}"
    );
    let sample = format!("feedloom_source_repairs{{source=\"{id}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&sample))
        .unwrap_or_else(|| panic!("no {sample} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn a_bare_ampersand_is_read_shown_and_cleared_once_fixed() {
    let up = Upstream::start();
    up.set(
        "/cartoons.rss",
        Reply::ok("application/rss+xml", rss("cartoons", "Tom & Jerry", WHOLE)),
    );
    let ws = Workspace::new();
    ws.write(
        "defs.toml",
        &defs(&source("cartoons", &up.url("/cartoons.rss"))),
    );

    // Read whole, and said once in the log, with the first repair.
    let (stdout, stderr) = poll_logged(&ws);
    assert!(
        stdout.contains("cartoons: fetched 2 items: 2 new"),
        "{stdout}\n{stderr}"
    );
    let warned = |log: &str| {
        log.lines()
            .filter(|l| l.contains("the upstream feed needed repairs to be read"))
            .count()
    };
    assert_eq!(warned(&stderr), 1, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("needed repairs to be read"))
        .unwrap();
    assert!(
        line.contains("cartoons") && line.contains("line 3, col 18"),
        "{line}"
    );

    // `inspect` lists the repair with its place.
    let out = ws.run(&["inspect", "cartoons"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let after = text
        .split_once("2 items extracted from ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{text}"));
    let mut lines = after.lines().skip(1);
    let head = lines.next().unwrap();
    assert!(head.starts_with("recovered: "), "{text}");
    let first = lines.next().unwrap();
    assert!(first.starts_with("  line 3, col 18: "), "{text}");
    assert!(first.contains('&'), "{text}");

    let server = ws.serve();
    // The entries are served, the title as a person reads it.
    let json: serde_json::Value = serde_json::from_slice(&server.get("/all.json").body).unwrap();
    let titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(titles.contains(&"Tom & Jerry"), "{json}");
    assert!(titles.contains(&"Road Runner"), "{json}");
    // `/status`: recovered, with a count and the first repairs.
    let status = status_of(&server);
    let s = source_status(&status, "cartoons");
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["recovered"], true, "{s}");
    assert!(s["repairs"].as_u64().unwrap() >= 1, "{s}");
    let detail = s["repairs_detail"].as_array().unwrap();
    assert!(!detail.is_empty() && detail.len() <= 5, "{s}");
    assert!(
        detail[0].as_str().unwrap().starts_with("line 3, col 18: "),
        "{s}"
    );
    // The index marks it, with where the first repair is (not its text).
    let index = server.get("/").text();
    assert!(index.contains(">recovered</strong>: "), "{index}");
    assert!(index.contains("the first at line 3, col 18"), "{index}");
    assert!(!index.contains("unescaped"), "{index}");
    // `/metrics` counts the repairs.
    assert!(repairs_metric(&server, "cartoons") >= 1.0);
    drop(server);

    // Polled again as it is: not said again.
    let (_, stderr) = poll_logged(&ws);
    assert_eq!(warned(&stderr), 0, "{stderr}");

    // The upstream fixes its feed: no longer recovered, said once.
    up.set(
        "/cartoons.rss",
        Reply::ok(
            "application/rss+xml",
            rss("cartoons", "Tom &amp; Jerry", WHOLE),
        ),
    );
    let (stdout, stderr) = poll_logged(&ws);
    assert!(
        stdout.contains("cartoons: fetched 2 items: 0 new"),
        "{stdout}"
    );
    assert!(stderr.contains("no longer needs repairs"), "{stderr}");
    let out = ws.run(&["inspect", "cartoons"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("recovered"), "{text}");
    let server = ws.serve();
    let status = status_of(&server);
    let s = source_status(&status, "cartoons");
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["recovered"], false, "{s}");
    assert_eq!(s["repairs"], 0, "{s}");
    assert_eq!(s["repairs_detail"], serde_json::json!([]), "{s}");
    let index = server.get("/").text();
    assert!(!index.contains("recovered"), "{index}");
    assert!(index.contains("ok since"), "{index}");
    assert_eq!(repairs_metric(&server, "cartoons"), 0.0);
    let json: serde_json::Value = serde_json::from_slice(&server.get("/all.json").body).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 2, "{json}");
}

/// The `If-None-Match` values sent for `path`, one per request.
fn if_none_match(up: &Upstream, path: &str) -> Vec<Option<String>> {
    up.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|head| head.split_whitespace().nth(1) == Some(path))
        .map(|head| {
            head.lines().find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("if-none-match"))
                    .map(|(_, v)| v.trim().to_string())
            })
        })
        .collect()
}

#[test]
fn a_document_cut_short_is_read_and_fetched_whole_next_time() {
    let up = Upstream::start();
    // The same upstream, once whole and once without its last end tags,
    // both with an ETag.
    up.set(
        "/whole.rss",
        Reply::ok("application/rss+xml", rss("whole", "Whole", WHOLE))
            .with_header("ETag", "\"w1\""),
    );
    up.set(
        "/cut.rss",
        Reply::ok("application/rss+xml", rss("cut", "Cut", "")).with_header("ETag", "\"c1\""),
    );
    let ws = Workspace::new();
    ws.write(
        "defs.toml",
        &defs(&format!(
            "{}{}",
            source("whole", &up.url("/whole.rss")),
            source("cut", &up.url("/cut.rss"))
        )),
    );
    let (stdout, stderr) = poll_logged(&ws);
    assert!(
        stdout.contains("whole: fetched 2 items: 2 new"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("cut: fetched 2 items: 2 new"),
        "{stdout}\n{stderr}"
    );
    let (stdout, _) = poll_logged(&ws);
    // The whole one is asked conditionally and answers 304; the cut one
    // is asked for the whole document again.
    assert_eq!(
        if_none_match(&up, "/whole.rss"),
        [None, Some("\"w1\"".to_string())]
    );
    assert_eq!(if_none_match(&up, "/cut.rss"), [None, None], "{stdout}");
    assert!(stdout.contains("cut: fetched 2 items: 0 new"), "{stdout}");

    let server = ws.serve();
    let status = status_of(&server);
    assert_eq!(source_status(&status, "cut")["recovered"], true, "{status}");
    assert_eq!(
        source_status(&status, "whole")["recovered"],
        false,
        "{status}"
    );
    assert!(repairs_metric(&server, "cut") >= 1.0);
    assert_eq!(repairs_metric(&server, "whole"), 0.0);
}

/// Lenient in, strict out: every messy-web fixture (tests/fixtures/messy/,
/// each needing a repair or two) is polled from a real upstream, and what
/// `serve` publishes from them all is valid: the Atom feed passes RFC
/// 4287's schema (jing), the RSS and Atom parse as XML, and every entry
/// the fixtures hold whole is there once.
#[test]
fn what_is_served_from_messy_feeds_is_valid() {
    let up = Upstream::start();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messy");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".py"))
        .collect();
    names.sort();
    assert!(names.len() > 20, "{names:?}");
    let mut sources = String::new();
    for (i, name) in names.iter().enumerate() {
        let body = std::fs::read(dir.join(name)).unwrap();
        up.set(&format!("/{name}"), Reply::ok("application/xml", body));
        sources.push_str(&source(&format!("m{i}"), &up.url(&format!("/{name}"))));
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &defs(&sources));
    let (stdout, _) = poll_logged(&ws);
    assert!(
        !stdout.contains("error"),
        "every messy feed is read:\n{stdout}"
    );
    let server = ws.serve();
    server.wait_ready();
    let atom = server.get("/all.atom?limit=500");
    assert_eq!(atom.status, 200);
    let tmp = tempfile::tempdir().unwrap();
    jing_atom(tmp.path(), "all.atom", &atom.body).unwrap_or_else(|e| panic!("{e}"));
    let rss = server.get("/all.rss?limit=500");
    let parsed = parse_feed(&rss.body);
    let from_atom = parse_feed(&atom.body);
    assert_eq!(parsed.entries.len(), from_atom.entries.len());
    // Every fixture gave entries, and no title carries an entity left as
    // text or a character XML forbids.
    assert!(
        parsed.entries.len() >= 2 * names.len() - 4,
        "{}",
        parsed.entries.len()
    );
    for e in &parsed.entries {
        let title = e
            .title
            .as_ref()
            .map(|t| t.content.clone())
            .unwrap_or_default();
        assert!(
            !title.contains("&amp;") && !title.contains("&ucirc;"),
            "{title}"
        );
        assert!(!title.chars().any(|c| c.is_control()), "{title:?}");
    }
}
