//! Every way an upstream fails, each against a real misbehaving local
//! server: the source records a clear error (kind, HTTP status, message) on
//! `/status` and in metrics, logs it once per change of state, other sources
//! go on, stored entries keep being served, and no junk item appears.

use feedloom_testkit as common;

use common::*;

/// A small valid RSS feed with items named after `tag`.
fn rss(tag: &str, items: usize) -> String {
    let items: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>{tag} item {i}</title><link>https://example.org/{tag}/{i}</link><description>About {tag} {i}.</description><pubDate>Tue, 0{} Oct 2026 10:00:00 GMT</pubDate></item>",
                1 + i % 9
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{tag}</title><link>https://example.org/</link><description>d</description>{items}</channel></rss>")
}

fn source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\ntimeout = \"2s\"\n{extra}\n"
    )
}

/// Sources, each healthy on the first poll and broken afterwards.
const FAULTS: &[&str] = &[
    "drip",
    "cut",
    "truncated",
    "huge",
    "loop",
    "gone404",
    "gone410",
    "err500",
    "down503",
    "htmlpage",
    "bomb",
    "emptied",
];

const BOMB: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<rss version="2.0"><channel><title>t</title><link>https://example.org/</link><description>d</description>
<item><title>&lol9;</title><link>https://example.org/lol</link></item></channel></rss>"#;

fn break_everything(up: &Upstream, limited: &Upstream) {
    let feed = rss("drip", 3);
    up.set(
        "/drip",
        Reply::ok("application/rss+xml", feed.clone()).misbehaving(Misbehave::Drip(100)),
    );
    up.set(
        "/cut",
        Reply::ok("application/rss+xml", rss("cut", 3)).misbehaving(Misbehave::CutAfter(120)),
    );
    let t = rss("truncated", 3);
    up.set(
        "/truncated",
        Reply::ok("application/rss+xml", t[..t.len() - 40].to_string()),
    );
    up.set(
        "/huge",
        Reply::ok("application/rss+xml", "").misbehaving(Misbehave::Huge(50 * 1024 * 1024)),
    );
    up.set(
        "/loop",
        Reply::status(302, "").with_header("Location", "/loop-b"),
    );
    up.set(
        "/loop-b",
        Reply::status(301, "").with_header("Location", "/loop"),
    );
    up.set("/gone404", Reply::status(404, "<h1>Not Found</h1>"));
    up.set("/gone410", Reply::status(410, "<h1>Gone</h1>"));
    up.set("/err500", Reply::status(500, "<h1>oops</h1>"));
    up.set("/down503", Reply::status(503, "<h1>maintenance</h1>"));
    up.set(
        "/htmlpage",
        Reply::ok(
            "text/html",
            "<!DOCTYPE html><html><body><h1>We moved!</h1></body></html>",
        ),
    );
    up.set("/bomb", Reply::ok("application/rss+xml", BOMB));
    up.set(
        "/emptied",
        Reply::ok("application/rss+xml", rss("emptied", 0)),
    );
    limited.set(
        "/limited",
        Reply::status(429, "slow down").with_header("Retry-After", "3600"),
    );
}

#[test]
fn every_upstream_fault_fails_alone_and_loses_nothing() {
    let up = Upstream::start();
    let limited = Upstream::start_on("127.0.0.2");
    let mut defs = String::from(LOCAL_HOST_RULES);
    defs.push_str("\n[[host]]\nname = \"127.0.0.2\"\nmin_spacing = \"0s\"\n");
    defs.push_str(&source("healthy", &up.url("/healthy"), ""));
    up.set(
        "/healthy",
        Reply::ok("application/rss+xml", rss("healthy", 3)),
    );
    for f in FAULTS {
        up.set(
            &format!("/{f}"),
            Reply::ok(
                "application/rss+xml",
                rss(f, if *f == "emptied" { 20 } else { 2 }),
            ),
        );
        defs.push_str(&source(
            f,
            &up.url(&format!("/{f}")),
            if *f == "huge" {
                "max_body = \"5MiB\""
            } else {
                ""
            },
        ));
    }
    limited.set(
        "/limited",
        Reply::ok("application/rss+xml", rss("limited", 2)),
    );
    defs.push_str(&source("limited", &limited.url("/limited"), ""));
    // Refused: nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    defs.push_str(&source("refused", &format!("http://{closed}/feed"), ""));
    defs.push_str("\n[[topic]]\nid = \"all\"\n");
    let ws = Workspace::new();
    ws.write("defs.toml", &defs);

    // First poll: all healthy but the refused one.
    let out = ws.run(&["poll", "--once"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains("healthy: fetched 3 items: 3 new"),
        "{stdout}"
    );
    assert!(
        stdout.contains("emptied: fetched 20 items: 20 new"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refused: error: fetch: connection failed"),
        "{stdout}"
    );
    let stored = 3 + 20 + 2 * (FAULTS.len() - 1) + 2;

    break_everything(&up, &limited);
    let second = ws.run(&["poll", "--once"]);
    assert!(!second.status.success());
    let stdout = String::from_utf8_lossy(&second.stdout).to_string();
    let stderr = String::from_utf8_lossy(&second.stderr).to_string();
    let expect = [
        ("drip", "error: fetch: timed out after 2s (timeout)"),
        ("cut", "error: fetch: body cut off"),
        (
            "huge",
            "error: fetch: body larger than 5242880 bytes (too_large)",
        ),
        ("loop", "error: fetch: redirect loop back to"),
        ("gone404", "error: fetch: HTTP 404 (http_status)"),
        ("gone410", "error: fetch: HTTP 410 (http_status)"),
        ("err500", "error: fetch: HTTP 500 (http_status)"),
        ("down503", "error: fetch: HTTP 503 (http_status)"),
        (
            "htmlpage",
            "error: extract: not a feed: an HTML page was served where a feed was expected",
        ),
        ("bomb", "error: extract: malformed RSS"),
        (
            "emptied",
            "error: extract: found no items where the last good poll listed 20",
        ),
        ("limited", "error: fetch: HTTP 429 (Retry-After: 3600)"),
        ("refused", "error: fetch: connection failed"),
    ];
    for (id, msg) in expect {
        assert!(
            stdout.contains(&format!("{id}: {msg}")),
            "{id}: expected `{msg}` in\n{stdout}"
        );
        // Each failure is logged with its source and URL.
        assert!(
            stderr.contains(&format!("source={id}")) || id == "refused",
            "{id} not logged:\n{stderr}"
        );
    }
    assert!(
        stdout.contains("healthy: fetched 3 items: 0 new"),
        "other sources go on: {stdout}"
    );
    // A feed cut short is read for the items it holds whole (issue 27),
    // not failed: nothing new, nothing lost.
    assert!(
        stdout.contains("truncated: fetched 2 items: 0 new"),
        "a truncated feed is recovered: {stdout}"
    );
    // The table names status and HTTP code per source.
    assert!(
        stdout.lines().any(|l| l.starts_with("err500")
            && l.contains("error (http_status)")
            && l.contains("500")),
        "{stdout}"
    );

    // The same faults again: nothing new to log (once per change of state).
    // (`limited` changes state: from its 429 to "paused until …".)
    let third = ws.run(&["poll", "--once"]);
    let stderr3 = String::from_utf8_lossy(&third.stderr).to_string();
    for (id, _) in expect.iter().filter(|(id, _)| !["limited"].contains(id)) {
        assert!(
            !stderr3.contains(&format!("source={id} ")),
            "{id} logged again:\n{stderr3}"
        );
    }
    // The host that answered 429 with an hour's Retry-After gets no request
    // at all now, in a new process too: the pause is stored.
    let before = limited.requests.lock().unwrap().len();
    let fourth = ws.run(&["poll", "--once"]);
    assert_eq!(
        limited.requests.lock().unwrap().len(),
        before,
        "the 429's Retry-After was not honoured"
    );
    let stdout4 = String::from_utf8_lossy(&fourth.stdout);
    assert!(
        stdout4.contains(
            "limited: error: fetch: rate limited by the upstream host; no request before"
        ),
        "{stdout4}"
    );

    let server = ws.serve();
    let feed = parse_feed(&server.get("/all.atom?limit=500").body);
    assert_eq!(
        feed.entries.len(),
        stored,
        "every stored entry is still served"
    );
    let body = server.get("/all.rss?limit=500").text();
    for junk in [
        "Not Found",
        "oops",
        "maintenance",
        "We moved",
        "lol",
        "Gone",
        "slow down",
    ] {
        assert!(!body.contains(junk), "junk `{junk}` was published");
    }
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    for (id, _) in expect {
        let s = status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap();
        assert_eq!(s["ok"], false, "{id}");
        // Failing the same way for three polls: since the first of them.
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
        assert!(at("health_since") < at("last_attempt"), "{id}: {s:#}");
        assert!(
            s["last_error"]["message"].as_str().unwrap().len() > 5,
            "{id}"
        );
        assert!(
            s["url"].as_str().unwrap().starts_with("http://127.0.0."),
            "{id}"
        );
    }
    let s500 = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "err500")
        .unwrap();
    assert_eq!(s500["last_error"]["status"], 500);
    assert_eq!(s500["last_error"]["kind"], "http_status");
    assert!(s500["consecutive_failures"].as_u64().unwrap() >= 2);
    let emptied = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "emptied")
        .unwrap();
    assert_eq!(emptied["last_error"]["kind"], "empty_listing");
    // The host's pause is visible to the admin, restored from the store.
    let paused = status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "127.0.0.2")
        .unwrap_or_else(|| panic!("no 127.0.0.2 in {:#}", status["hosts"]));
    let until =
        chrono::DateTime::parse_from_rfc3339(paused["blocked_until"].as_str().unwrap()).unwrap();
    assert!(until > chrono::Utc::now() + chrono::Duration::minutes(50));
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("feedloom_source_consecutive_failures{source=\"err500\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "feedloom_host_blocked_until_seconds{{host=\"127.0.0.2\"}} {}\n",
            until.timestamp()
        )),
        "{metrics}"
    );
}

#[test]
fn charsets_are_decoded_not_failed() {
    let up = Upstream::start();
    let latin1_mislabelled =
        b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>https://example.org/</link><description>d</description><item><title>Caf\xE9 in Z\xFCrich</title><link>https://example.org/a</link></item></channel></rss>".to_vec();
    let mut declared =
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><link>https://example.org/</link><description>d</description><item><title>Na\xEFve \x01r\xE9sum\xE9</title><link>https://example.org/b</link></item></channel></rss>".to_vec();
    declared.extend_from_slice(b"\n");
    let mut utf16 = vec![0xFF, 0xFE];
    let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>t</title><link>https://example.org/</link><description>d</description><item><title>Ελληνικά</title><link>https://example.org/c</link></item></channel></rss>";
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    up.set(
        "/mislabelled",
        Reply::ok("application/rss+xml; charset=utf-8", latin1_mislabelled),
    );
    up.set("/declared", Reply::ok("text/xml", declared));
    up.set("/utf16", Reply::ok("application/xml", utf16));
    let ws = Workspace::new();
    let mut defs = String::from(LOCAL_HOST_RULES);
    for id in ["mislabelled", "declared", "utf16"] {
        defs.push_str(&source(id, &up.url(&format!("/{id}")), ""));
    }
    defs.push_str("\n[[topic]]\nid = \"all\"\n");
    ws.write("defs.toml", &defs);
    ws.poll_ok();
    let server = ws.serve();
    let titles: Vec<String> = parse_feed(&server.get("/all.atom").body)
        .entries
        .into_iter()
        .map(|e| e.title.unwrap().content)
        .collect();
    for want in ["Café in Zürich", "Naïve résumé", "Ελληνικά"] {
        assert!(titles.iter().any(|t| t == want), "{want} not in {titles:?}");
    }
}
